"""Cluster nested stack: ECS cluster with Container Insights and a FARGATE/FARGATE_SPOT split; the load balancer
(in `alb.py`): access-log bucket, security group, production and test listeners.

Per-environment differences enter only through root parameters and Conditions: the spot share, the certificate
(empty: HTTP only), the test listener's CIDR, access-log retention and the production flag.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from troposphere import Equals, FindInMap, GetAtt, If, Not, Ref, ecs

from generator import naming
from generator.components.base import EnvInputs
from generator.components.cluster import alb as cluster_alb
from generator.components.cluster.spec import ClusterEnv
from generator.components.environment import EnvironmentCore
from generator.components.network import NetworkOutputs
from generator.wiring import OutputRef, StackBuilder

if TYPE_CHECKING:
    from generator.config import AppSpec

HAS_CERTIFICATE = "HasCertificate"
IS_PRODUCTION = "IsProduction"
SPOT_SHARES = tuple(range(0, 101, 10))


class ClusterOutputs(NamedTuple):
    cluster_name: OutputRef             # Ref(AWS::ECS::Cluster) is the name
    cluster_arn: OutputRef
    load_balancer_full_name: OutputRef  # GetAtt LoadBalancerFullName (app/<name>/<id>), for request-count scaling
    load_balancer_dns: OutputRef
    production_listener_arn: OutputRef  # HTTPS when a certificate is given, else HTTP
    test_listener_arn: OutputRef        # port 8080, reachable only from the test CIDR
    load_balancer_security_group_id: OutputRef  # services allow ingress from this group only
    # Added: the cluster's default capacity provider weights. ECS copies the cluster default into a service only when
    # the service is created; a service that sets these explicitly follows later changes of the spot share.
    fargate_weight: OutputRef | None = None
    fargate_spot_weight: OutputRef | None = None
    load_balancer_zone_id: OutputRef | None = None   # the load balancer's canonical hosted zone, for alias records


def build(app: AppSpec, stack: StackBuilder, env: EnvInputs[ClusterEnv], environment: EnvInputs[EnvironmentCore],
          *, net: NetworkOutputs, edge: EnvInputs | None = None) -> ClusterOutputs:
    """`edge`: the frontend's settings when CloudFront fronts the API (the load balancer then admits only
    CloudFront's origin-facing prefix list on its production port)."""
    t = stack.template
    certificate = env.input(stack, "certificate_arn")
    t.add_condition(HAS_CERTIFICATE, Not(Equals(certificate, "")))
    t.add_condition(IS_PRODUCTION, Equals(environment.input(stack, "production"), "true"))
    t.add_mapping("SpotShares", {str(s): {"Fargate": 100 - s, "FargateSpot": s} for s in SPOT_SHARES})
    share = env.input(stack, "spot_share")
    weights = {provider: FindInMap("SpotShares", share, key)
               for provider, key in (("FARGATE", "Fargate"), ("FARGATE_SPOT", "FargateSpot"))}
    cluster = stack.add(ecs.Cluster(
        "Cluster", ClusterName=naming.physical_name(),
        ClusterSettings=[ecs.ClusterSetting(Name="containerInsights", Value="enabled")],
        CapacityProviders=list(weights),
        # Used by services and scheduled tasks that name neither a launch type nor a capacity provider strategy.
        DefaultCapacityProviderStrategy=[ecs.CapacityProviderStrategyItem(CapacityProvider=p, Weight=w)
                                         for p, w in weights.items()]))

    alb = cluster_alb.build(app, stack, net, cluster_alb.Inputs(
        certificate_arn=certificate, test_cidr=env.input(stack, "test_listener_cidr"),
        retention_days=env.input(stack, "access_log_retention_days"), has_certificate=HAS_CERTIFICATE,
        is_production=IS_PRODUCTION, idle_timeout=env.input(stack, "idle_timeout_seconds"),
        cloudfront_prefix_list=edge.input(stack, "cloudfront_prefix_list_id") if edge is not None else None))

    return ClusterOutputs(
        stack.output("ClusterName", Ref(cluster), "ECS cluster name", public=True),
        stack.output("ClusterArn", GetAtt(cluster, "Arn"), "ECS cluster ARN"),
        stack.output("LoadBalancerFullName", GetAtt(alb.load_balancer, "LoadBalancerFullName"),
                     "Load balancer full name (app/<name>/<id>), for request-count scaling"),
        stack.output("LoadBalancerDns", GetAtt(alb.load_balancer, "DNSName"), "Load balancer DNS name", public=True),
        stack.output("ProductionListenerArn",
                     If(HAS_CERTIFICATE, Ref(alb.https_listener), Ref(alb.http_listener)),
                     "Production listener: HTTPS on 443 with a certificate, else HTTP on 80"),
        stack.output("TestListenerArn", Ref(alb.test_listener), "Test listener on port 8080 (test CIDR only)"),
        stack.output("LoadBalancerSecurityGroupId", GetAtt(alb.security_group, "GroupId"),
                     "Security group of the load balancer; services allow ingress from it",
                     "AWS::EC2::SecurityGroup::Id"),
        stack.output("FargateWeight", weights["FARGATE"], "Capacity provider weight of FARGATE"),
        stack.output("FargateSpotWeight", weights["FARGATE_SPOT"], "Capacity provider weight of FARGATE_SPOT"),
        stack.output("LoadBalancerZoneId", GetAtt(alb.load_balancer, "CanonicalHostedZoneID"),
                     "The load balancer's canonical hosted zone (alias records)"),
    )
