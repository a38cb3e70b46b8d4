"""E9017: the AWS::CodeDeployBlueGreen transform is not combined with nested stacks or outputs."""
from pathlib import Path

from cfnlint.helpers import import_filename
from cfnlint.rules import CloudFormationLintRule, RuleMatch

h = import_filename("_helpers", str(Path(__file__).parent))  # rule files load as loose modules; see _helpers.py

TRANSFORM = "AWS::CodeDeployBlueGreen"


class CodeDeployBlueGreenTransform(CloudFormationLintRule):
    id = "E9017"
    shortdesc = "No AWS::CodeDeployBlueGreen transform in a template with nested stacks or Outputs"
    description = (
        "CloudFormation rejects the AWS::CodeDeployBlueGreen transform in a template that contains nested stacks "
        "(AWS::CloudFormation::Stack), in a template that is itself a nested stack, and with Outputs; a nested "
        "template always has outputs to pass on, so Outputs is how a nested use is recognized. Use an "
        "AWS::CodeDeploy::DeploymentGroup with a CodeDeployToECS pipeline action, or ECS-native blue/green."
    )
    source_url = "aws-reference.md §1e; Top 10 pitfalls #4"
    tags = ["transforms", "codedeploy", "nested stacks"]

    def match(self, cfn):
        transform = cfn.template.get("Transform")
        if TRANSFORM not in (transform if isinstance(transform, list) else [transform]):
            return []
        matches = [RuleMatch(["Resources", name],
                             f"Nested stack {name} in a template using Transform {TRANSFORM}, which CloudFormation "
                             "rejects: drop the transform (use a CodeDeploy deployment group) or the nested stack")
                   for name in h.resources(cfn, "AWS::CloudFormation::Stack")]
        if cfn.template.get("Outputs"):
            matches.append(RuleMatch(["Outputs"],
                                     f"Outputs in a template using Transform {TRANSFORM}, which CloudFormation "
                                     "rejects (and a nested template needs outputs): drop the transform"))
        return matches
