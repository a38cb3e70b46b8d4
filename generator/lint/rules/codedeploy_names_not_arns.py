"""E9001: a CodeDeploy ECS deployment group takes target group, service and cluster names; Ref of the first two is
an ARN."""
from pathlib import Path

from cfnlint.helpers import import_filename
from cfnlint.rules import CloudFormationLintRule, RuleMatch

h = import_filename("_helpers", str(Path(__file__).parent))  # rule files load as loose modules; see _helpers.py

TARGET_GROUP = "AWS::ElasticLoadBalancingV2::TargetGroup"
SERVICE = "AWS::ECS::Service"
CLUSTER = "AWS::ECS::Cluster"


class CodeDeployNamesNotArns(CloudFormationLintRule):
    id = "E9001"
    shortdesc = "CodeDeploy deployment groups take names, not ARNs"
    description = (
        "AWS::CodeDeploy::DeploymentGroup TargetGroups[].Name needs !GetAtt <TargetGroup>.TargetGroupName and "
        "ECSServices[].ServiceName needs !GetAtt <Service>.Name: Ref of both returns the ARN and the deployment "
        "group fails to create. ECSServices[].ClusterName takes !Ref <Cluster> (the name), not its Arn."
    )
    source_url = "aws-reference.md §1b, §1a; Top 10 pitfalls #1"
    tags = ["resources", "codedeploy", "ecs"]

    def match(self, cfn):
        matches = []
        for name, group in h.resources(cfn, "AWS::CodeDeploy::DeploymentGroup").items():
            props = h.properties(group)
            for path, value in self._target_group_names(props):
                for tg in h.refs_to(cfn, value, TARGET_GROUP):
                    matches.append(self._match(name, path, value, "the target group ARN",
                                               f"!GetAtt {tg}.TargetGroupName"))
            for i, ecs in h.listed(props.get("ECSServices")):
                service_name, cluster_name = h.field(ecs, "ServiceName"), h.field(ecs, "ClusterName")
                for service in h.refs_to(cfn, service_name, SERVICE):
                    matches.append(self._match(name, ["ECSServices", i, "ServiceName"], service_name,
                                               "the service ARN", f"!GetAtt {service}.Name"))
                for cluster, attribute in h.value_sources(cluster_name):
                    if attribute == "Arn" and h.type_of(cfn, cluster) == CLUSTER:
                        matches.append(self._match(name, ["ECSServices", i, "ClusterName"], cluster_name,
                                                   "the cluster ARN", f"!Ref {cluster}"))
        return matches

    @staticmethod
    def _target_group_names(props):
        load_balancer_info = props.get("LoadBalancerInfo")
        for i, pair in h.listed(h.field(load_balancer_info, "TargetGroupPairInfoList")):
            for j, tg in h.listed(h.field(pair, "TargetGroups")):
                yield ["LoadBalancerInfo", "TargetGroupPairInfoList", i, "TargetGroups", j, "Name"], h.field(tg, "Name")
        for i, tg in h.listed(h.field(load_balancer_info, "TargetGroupInfoList")):
            yield ["LoadBalancerInfo", "TargetGroupInfoList", i, "Name"], h.field(tg, "Name")

    @staticmethod
    def _match(group, path, value, what, fix):
        return RuleMatch(
            ["Resources", group, "Properties", *path],
            f"DeploymentGroup {group}: {h.dotted(path)} is {h.show(value)}, which is {what}; "
            f"CodeDeploy wants the name there: use {fix}",
        )
