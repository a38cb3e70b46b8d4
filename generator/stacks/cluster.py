"""Cluster nested stack: ECS cluster, capacity providers, load balancer, listeners. (build() is being implemented.)"""
from __future__ import annotations

from typing import NamedTuple

from generator.wiring import OutputRef


class ClusterOutputs(NamedTuple):
    cluster_name: OutputRef             # Ref(AWS::ECS::Cluster) is the name
    cluster_arn: OutputRef
    load_balancer_full_name: OutputRef  # GetAtt LoadBalancerFullName (app/<name>/<id>), for request-count scaling
    load_balancer_dns: OutputRef
    production_listener_arn: OutputRef  # HTTPS when a certificate is given, else HTTP
    test_listener_arn: OutputRef        # port 8080, reachable only from the test CIDR
    load_balancer_security_group_id: OutputRef  # services allow ingress from this group only
