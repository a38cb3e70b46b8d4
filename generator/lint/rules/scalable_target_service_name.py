"""E9002: an ECS scalable target's ResourceId is service/<cluster name>/<service name>; Ref of a service is its ARN."""
from pathlib import Path

from cfnlint.helpers import import_filename
from cfnlint.rules import CloudFormationLintRule, RuleMatch

h = import_filename("_helpers", str(Path(__file__).parent))  # rule files load as loose modules; see _helpers.py


class ScalableTargetServiceName(CloudFormationLintRule):
    id = "E9002"
    shortdesc = "Scalable target ResourceId embeds the ECS service name, not its ARN"
    description = (
        "AWS::ApplicationAutoScaling::ScalableTarget ResourceId must read service/<cluster name>/<service name>. "
        "Ref (or ${Service} in Fn::Sub) of an AWS::ECS::Service is the service ARN, and of an AWS::ECS::Cluster "
        "the GetAtt Arn is an ARN: RegisterScalableTarget then fails. Use ${Service.Name} and ${Cluster}."
    )
    source_url = "aws-reference.md §5 (App Auto Scaling), §1a; Top 10 pitfalls #1"
    tags = ["resources", "applicationautoscaling", "ecs"]

    def match(self, cfn):
        matches = []
        for name, target in h.resources(cfn, "AWS::ApplicationAutoScaling::ScalableTarget").items():
            value = h.properties(target).get("ResourceId")
            for source, attribute in h.value_sources(value):
                kind = h.type_of(cfn, source)
                if kind == "AWS::ECS::Service" and attribute is None:
                    wrong, fix = f"the service ARN (Ref {source})", f"${{{source}.Name}} (GetAtt {source}.Name)"
                elif kind == "AWS::ECS::Cluster" and attribute == "Arn":
                    wrong, fix = f"the cluster ARN (GetAtt {source}.Arn)", f"${{{source}}} (Ref {source}, its name)"
                else:
                    continue
                matches.append(RuleMatch(
                    ["Resources", name, "Properties", "ResourceId"],
                    f"ScalableTarget {name}: ResourceId embeds {wrong}; it must read "
                    f"service/<cluster name>/<service name>: use {fix}",
                ))
        return matches
