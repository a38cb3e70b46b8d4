"""The resource types the cluster stack creates, and what the rest of the system must know about each."""
from __future__ import annotations

from generator.components import shared
from generator.components.base import TypeFacts, Verifier

TYPES = {
    **shared.pick("AWS::S3::Bucket", "AWS::S3::BucketPolicy", "AWS::EC2::SecurityGroup",
                  "AWS::EC2::SecurityGroupIngress"),
    "AWS::ECS::Cluster": TypeFacts(cfn_grants=shared.containers, service_linked=("ecs.amazonaws.com",), verify=Verifier(
        "DescribeClusters", lambda client, p: any(
            c["status"] == "ACTIVE" for c in client("ecs").describe_clusters(clusters=[p])["clusters"]))),
    "AWS::ElasticLoadBalancingV2::LoadBalancer": TypeFacts(
        cfn_grants=shared.load_balancing, service_linked=("elasticloadbalancing.amazonaws.com",), verify=Verifier(
            "DescribeLoadBalancers", lambda client, p: bool(
                client("elbv2").describe_load_balancers(LoadBalancerArns=[p])["LoadBalancers"]))),
    "AWS::ElasticLoadBalancingV2::Listener": TypeFacts(cfn_grants=shared.load_balancing, verify=Verifier(
        "DescribeListeners", lambda client, p: bool(
            client("elbv2").describe_listeners(ListenerArns=[p])["Listeners"]))),
}
