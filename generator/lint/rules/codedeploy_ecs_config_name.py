"""E9009: an ECS deployment group's predefined deployment configuration is spelled exactly."""
import difflib
from pathlib import Path

from cfnlint.helpers import import_filename
from cfnlint.rules import CloudFormationLintRule, RuleMatch

h = import_filename("_helpers", str(Path(__file__).parent))  # rule files load as loose modules; see _helpers.py

# The predefined ECS configurations (case-sensitive); aws-reference.md §1b (CD-UG deployment-configurations.md).
ECS_CONFIGS = (
    "CodeDeployDefault.ECSAllAtOnce",
    "CodeDeployDefault.ECSLinear10PercentEvery1Minutes",
    "CodeDeployDefault.ECSLinear10PercentEvery3Minutes",
    "CodeDeployDefault.ECSCanary10Percent5Minutes",
    "CodeDeployDefault.ECSCanary10Percent15Minutes",
)


class CodeDeployEcsConfigName(CloudFormationLintRule):
    id = "E9009"
    shortdesc = "ECS deployment groups use an exact predefined CodeDeployDefault.ECS* configuration name"
    description = (
        "A DeploymentConfigName that starts with CodeDeployDefault. names a predefined configuration; on an ECS "
        "deployment group (ECSServices set, or an ECS application) it must be one of "
        + ", ".join(ECS_CONFIGS)
        + " exactly (case-sensitive). cfn-lint does not check it, and a misspelled or non-ECS name fails when the "
        "deployment group is created. A Ref to a parameter is checked through its AllowedValues. Custom "
        "configurations (AWS::CodeDeploy::DeploymentConfig, or names without the prefix) are not checked."
    )
    source_url = "aws-reference.md §1b (predefined ECS configs)"
    tags = ["resources", "codedeploy", "ecs"]

    def match(self, cfn):
        matches = []
        for name, group in h.resources(cfn, "AWS::CodeDeploy::DeploymentGroup").items():
            props = h.properties(group)
            if not self._is_ecs(cfn, props):
                continue
            for config, what in self._candidates(cfn, props.get("DeploymentConfigName")):
                if not str(config).lower().startswith("codedeploydefault.") or config in ECS_CONFIGS:
                    continue  # a custom configuration, or a correct name
                close = difflib.get_close_matches(str(config), ECS_CONFIGS, n=1, cutoff=0.6)
                matches.append(RuleMatch(
                    ["Resources", name, "Properties", "DeploymentConfigName"],
                    f"DeploymentGroup {name}: {what} {config!r}, which is not a predefined ECS configuration; "
                    + (f"did you mean {close[0]!r}? " if close else "")
                    + f"use one of {', '.join(ECS_CONFIGS)}",
                ))
        return matches

    @staticmethod
    def _candidates(cfn, value):
        """(name, how the message calls it) for a literal name, or each AllowedValue of a Ref'd parameter."""
        if isinstance(value, str):
            return [(value, "DeploymentConfigName is")]
        parameter = h.field(value, "Ref")
        allowed = h.field(h.parameter(cfn, parameter), "AllowedValues") if isinstance(parameter, str) else None
        return [(v, f"DeploymentConfigName parameter {parameter} allows") for _, v in h.listed(allowed)]

    @staticmethod
    def _is_ecs(cfn, props):
        if props.get("ECSServices") is not None:
            return True
        applications = h.refs_to(cfn, props.get("ApplicationName"), "AWS::CodeDeploy::Application")
        return any(h.field(cfn.template["Resources"][a], "Properties", "ComputePlatform") == "ECS"
                   for a in applications)
