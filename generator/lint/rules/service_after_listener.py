"""E9003: an ECS service behind a load balancer is created after the listener (rule) forwarding to its target group."""
from pathlib import Path

from cfnlint.helpers import import_filename
from cfnlint.rules import CloudFormationLintRule, RuleMatch

h = import_filename("_helpers", str(Path(__file__).parent))  # rule files load as loose modules; see _helpers.py

FORWARDERS = ("AWS::ElasticLoadBalancingV2::Listener", "AWS::ElasticLoadBalancingV2::ListenerRule")


class ServiceAfterListener(CloudFormationLintRule):
    id = "E9003"
    shortdesc = "ECS service depends on the listener or listener rule forwarding to its target group"
    description = (
        "An AWS::ECS::Service with LoadBalancers must be created after a listener or listener rule of the same "
        "template that forwards to its target group (DependsOn), otherwise CreateService fails with 'The target "
        "group ... does not have an associated load balancer'. Any chain of DependsOn/Ref from the service to "
        "one such listener or rule is enough. Target groups forwarded to from another template are not checked."
    )
    source_url = "aws-reference.md §1a (last bullet); Top 10 pitfalls #3"
    tags = ["resources", "ecs", "elasticloadbalancingv2"]

    def match(self, cfn):
        matches = []
        forwarders = h.resources(cfn, *FORWARDERS)
        for name, service in h.resources(cfn, "AWS::ECS::Service").items():
            for i, load_balancer in h.listed(h.properties(service).get("LoadBalancers")):
                arn = h.field(load_balancer, "TargetGroupArn")
                for tg in h.refs_to(cfn, arn, "AWS::ElasticLoadBalancingV2::TargetGroup"):
                    forwarding = sorted(f for f, r in forwarders.items() if h.mentions(h.properties(r), tg))
                    if forwarding and not any(h.depends_on(cfn, name, f) for f in forwarding):
                        them = "it" if len(forwarding) == 1 else "any of them"
                        matches.append(RuleMatch(
                            ["Resources", name, "Properties", "LoadBalancers", i, "TargetGroupArn"],
                            f"Service {name} registers tasks in target group {tg} (forwarded to by "
                            f"{', '.join(forwarding)}) but is not created after {them}: add DependsOn: "
                            f"{forwarding[0]} (else CreateService fails: the target group has no associated "
                            "load balancer)",
                        ))
        return matches
