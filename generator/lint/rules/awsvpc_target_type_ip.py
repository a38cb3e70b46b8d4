"""E9018: target groups that receive awsvpc (Fargate) tasks have TargetType ip."""
from pathlib import Path

from cfnlint.helpers import import_filename
from cfnlint.rules import CloudFormationLintRule, RuleMatch

h = import_filename("_helpers", str(Path(__file__).parent))  # rule files load as loose modules; see _helpers.py

TARGET_GROUP = "AWS::ElasticLoadBalancingV2::TargetGroup"


def target_type(cfn, tg):
    """The literal TargetType of a target group (instance when absent), or None when it is not a literal."""
    value = h.field(cfn.template["Resources"][tg], "Properties", "TargetType")
    return "instance" if value is None else value if isinstance(value, str) else None


class AwsvpcTargetTypeIp(CloudFormationLintRule):
    id = "E9018"
    shortdesc = "Target groups of awsvpc/Fargate services, and both of a CodeDeploy pair, have TargetType ip"
    description = (
        "Tasks in awsvpc network mode (every Fargate task) register by IP address, so their target group needs "
        "TargetType: ip; the default is instance, and CreateService then fails. The blue and green target groups "
        "of a CodeDeploy TargetGroupPairInfo receive the same tasks, so they need the same TargetType."
    )
    source_url = "aws-reference.md §1a (two target groups, TargetType ip with awsvpc)"
    tags = ["resources", "ecs", "elasticloadbalancingv2", "codedeploy"]

    def match(self, cfn):
        matches = []
        for name, service in h.resources(cfn, "AWS::ECS::Service").items():
            if not self._is_awsvpc(cfn, h.properties(service)):
                continue
            for i, lb in h.listed(h.properties(service).get("LoadBalancers")):
                for tg in h.refs_to(cfn, h.field(lb, "TargetGroupArn"), TARGET_GROUP):
                    if target_type(cfn, tg) not in ("ip", None):
                        matches.append(RuleMatch(
                            ["Resources", name, "Properties", "LoadBalancers", i, "TargetGroupArn"],
                            f"Service {name} runs awsvpc tasks, but its target group {tg} has TargetType "
                            f"{target_type(cfn, tg)}: set TargetType: ip on {tg}",
                        ))
        for name, group in h.resources(cfn, "AWS::CodeDeploy::DeploymentGroup").items():
            pairs = h.field(h.properties(group), "LoadBalancerInfo", "TargetGroupPairInfoList")
            for i, pair in h.listed(pairs):
                tgs = [s for _, t in h.listed(h.field(pair, "TargetGroups"))
                       for s, _ in h.value_sources(h.field(t, "Name")) if h.type_of(cfn, s) == TARGET_GROUP]
                types = {tg: target_type(cfn, tg) for tg in tgs}
                if "ip" in types.values() and any(t not in ("ip", None) for t in types.values()):
                    listing = ", ".join(f"{tg} {t}" for tg, t in types.items())
                    matches.append(RuleMatch(
                        ["Resources", name, "Properties", "LoadBalancerInfo", "TargetGroupPairInfoList", i],
                        f"DeploymentGroup {name}: the target groups of pair {i} differ in TargetType ({listing}); "
                        "both receive the same tasks: set TargetType: ip on all of them",
                    ))
        return matches

    @staticmethod
    def _is_awsvpc(cfn, props):
        """Fargate launch type or capacity provider, a network configuration, or an awsvpc task definition."""
        providers = [h.field(s, "CapacityProvider") for _, s in h.listed(props.get("CapacityProviderStrategy"))]
        if props.get("LaunchType") == "FARGATE" or props.get("NetworkConfiguration") is not None or any(
                p in ("FARGATE", "FARGATE_SPOT") for p in providers):
            return True
        for td in h.refs_to(cfn, props.get("TaskDefinition"), "AWS::ECS::TaskDefinition"):
            if h.field(cfn.template["Resources"][td], "Properties", "NetworkMode") == "awsvpc":
                return True
        return False
