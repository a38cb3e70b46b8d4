"""Cluster nested stack: ECS cluster with Container Insights and a FARGATE/FARGATE_SPOT split; the load balancer
(in `cluster_alb`): access-log bucket, security group, production and test listeners.

Per-environment differences enter only through root parameters and Conditions: the spot share, the certificate
(empty: HTTP only), the test listener's CIDR, access-log retention and the production flag.
"""
from __future__ import annotations

from typing import NamedTuple

from troposphere import Equals, FindInMap, GetAtt, If, Not, Ref, ecs

from generator import naming
from generator.config import AppSpec
from generator.config.models import RETENTION_DAYS
from generator.stacks import cluster_alb
from generator.stacks.network import NetworkOutputs
from generator.wiring import OutputRef, RootParameter, StackBuilder

GROUP = "Cluster and load balancer"
HAS_CERTIFICATE = "HasCertificate"
IS_PRODUCTION = "IsProduction"
SPOT_SHARES = tuple(range(0, 101, 10))
_OCTET = r"(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"


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


def _env(app: AppSpec, env: str):
    return app.environments[env]


def spot_share(app: AppSpec, env: str) -> int:
    spec = _env(app, env)
    return spec.spot_share if spec.spot_share is not None else (0 if spec.production else 50)


def access_log_retention_days(app: AppSpec, env: str) -> int:
    spec = _env(app, env)
    return spec.access_log_retention_days or (365 if spec.production else 90)


PRODUCTION = RootParameter(
    "Production", "Production environment: the load balancer gets deletion protection.", "Environment",
    "Production", lambda a, e: "true" if _env(a, e).production else "false", allowed_values=("true", "false"))
SPOT_SHARE = RootParameter(
    "SpotShare", "Percent of tasks placed on FARGATE_SPOT (interruptible, cheaper); the rest run on FARGATE.",
    GROUP, "Spot share (%)", lambda a, e: str(spot_share(a, e)), type="Number",
    allowed_values=tuple(str(s) for s in SPOT_SHARES))
CERTIFICATE_ARN = RootParameter(
    "CertificateArn", "ACM certificate ARN for HTTPS (HTTP then redirects to HTTPS). Empty: HTTP only.", GROUP,
    "Certificate ARN", lambda a, e: _env(a, e).certificate_arn or "", default="",
    allowed_pattern=r"^(arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f-]{36})?$",
    constraint="empty, or an ACM certificate ARN in this region")
TEST_LISTENER_CIDR = RootParameter(
    "TestListenerCidr", "The only network that may reach the test listener on port 8080 (office or VPN CIDR).",
    GROUP, "Test listener CIDR", lambda a, e: str(_env(a, e).test_listener_cidr or _env(a, e).cidr),
    allowed_pattern=rf"^{_OCTET}(\.{_OCTET}){{3}}/([89]|[12]\d|3[0-2])$",
    constraint="an IPv4 CIDR with a mask of /8 to /32 (never 0.0.0.0/0)")
ACCESS_LOG_RETENTION_DAYS = RootParameter(
    "AccessLogRetentionDays", "Days load balancer access logs are kept.", GROUP, "Access log retention (days)",
    lambda a, e: str(access_log_retention_days(a, e)), type="Number",
    allowed_values=tuple(str(d) for d in RETENTION_DAYS))


def build(app: AppSpec, stack: StackBuilder, net: NetworkOutputs) -> ClusterOutputs:
    t = stack.template
    certificate = stack.input(CERTIFICATE_ARN)
    t.add_condition(HAS_CERTIFICATE, Not(Equals(certificate, "")))
    t.add_condition(IS_PRODUCTION, Equals(stack.input(PRODUCTION), "true"))
    t.add_mapping("SpotShares", {str(s): {"Fargate": 100 - s, "FargateSpot": s} for s in SPOT_SHARES})
    share = stack.input(SPOT_SHARE)
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
        certificate_arn=certificate, test_cidr=stack.input(TEST_LISTENER_CIDR),
        retention_days=stack.input(ACCESS_LOG_RETENTION_DAYS), has_certificate=HAS_CERTIFICATE,
        is_production=IS_PRODUCTION))

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
    )
