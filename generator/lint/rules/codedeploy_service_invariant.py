"""E9019: a CODE_DEPLOY service's properties do not change with a condition or an environment's parameter values."""
from pathlib import Path
from typing import Any, Iterator

from cfnlint.helpers import import_filename
from cfnlint.rules import CloudFormationLintRule, RuleMatch

h = import_filename("_helpers", str(Path(__file__).parent))  # rule files load as loose modules; see _helpers.py

# What UpdateService accepts for a CODE_DEPLOY service (ECS API reference, UpdateService): "only the desired count,
# deployment configuration, health check grace period, task placement constraints and strategies, enable ECS
# managed tags option, and propagate tags can be updated using this API".
UPDATABLE = ("DesiredCount", "DeploymentConfiguration", "HealthCheckGracePeriodSeconds", "PlacementConstraints",
             "PlacementStrategies", "EnableECSManagedTags", "PropagateTags")
# createOnlyProperties of AWS::ECS::Service (registry schema): a new value replaces the service, no UpdateService.
CREATE_ONLY = ("Cluster", "Role", "SchedulingStrategy", "ServiceName")
# The stack's identity in this project: they enter every physical name and the stack's own name (<app>-<env>), so
# they never change for the life of a stack. Override with --configure-rule E9019:stable_parameters=A,B.
STABLE_PARAMETERS = ["Application", "EnvironmentName"]


class CodeDeployServiceInvariant(CloudFormationLintRule):
    id = "E9019"
    shortdesc = "A CODE_DEPLOY service's properties are the same for every parameter value"
    description = (
        "Every property of an AWS::ECS::Service with DeploymentController CODE_DEPLOY must resolve the same way "
        "whatever the parameters are: no Fn::If or AWS::NoValue anywhere, and no Ref/Sub of a parameter other than "
        "the stack's identity (rule option stable_parameters) or an AWS-specific id type (infrastructure another "
        "stack owns). Create-only properties are exempt from the parameter check (a new value replaces the service). "
        "UpdateService rejects a new task definition, load balancer, network configuration or platform version on "
        "such a service, and CloudFormation's ECS handler sends every property with any update of the resource, so "
        "even a property UpdateService accepts (DesiredCount, a tag) makes the update fail; a re-sent DesiredCount "
        "would also reset the count Application Auto Scaling chose."
    )
    source_url = ("https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_UpdateService.html; "
                  "aws-cloudformation/cloudformation-coverage-roadmap#1529; aws/aws-cdk#3919")
    tags = ["resources", "ecs", "codedeploy"]

    def __init__(self) -> None:
        super().__init__()
        self.config_definition = {"stable_parameters": {"default": list(STABLE_PARAMETERS), "type": "list",
                                                        "itemtype": "string"}}
        self.configure()

    def match(self, cfn):
        matches = []
        parameters = cfn.template.get("Parameters", {}) or {}
        stable = set(self.config.get("stable_parameters") or [])
        for name, service in h.resources(cfn, "AWS::ECS::Service").items():
            props = h.properties(service)
            if h.field(props, "DeploymentController", "Type") != "CODE_DEPLOY":
                continue
            for prop, value in sorted(props.items()):
                path = ["Resources", name, "Properties", prop]
                why = _why(prop)
                fix = ("make it a constant (0, and let Application Auto Scaling move the count into range)"
                       if prop == "DesiredCount" else "make it a constant")
                for where, function in _conditional(value, [prop]):
                    matches.append(RuleMatch(path, (
                        f"Service {name} (CODE_DEPLOY): {h.dotted(where)} is {function}, so the property changes "
                        f"with the parameters; {why}: {fix}")))
                if prop in CREATE_ONLY:
                    continue
                for parameter in sorted(_parameters(value) & set(parameters) - stable):
                    declared = str(h.field(parameters, parameter, "Type") or "")
                    if declared.startswith(("AWS::", "List<AWS::")):
                        continue  # an id of infrastructure another stack owns; it changes only when that is replaced
                    matches.append(RuleMatch(path, (
                        f"Service {name} (CODE_DEPLOY): {prop} depends on parameter {parameter}, so a new value of "
                        f"it updates the service; {why}: use a literal, or a parameter that is fixed for the life of "
                        f"the stack (E9019 stable_parameters)")))
        return matches


def _why(prop: str) -> str:
    resent = "CloudFormation sends the task definition and the network settings along with it, which ECS rejects " \
             "for CODE_DEPLOY services"
    if prop == "Tags":
        return f"a tag change is an update of the service too, and {resent}"
    if prop in UPDATABLE:
        return f"UpdateService accepts a new {prop}, but {resent}"
    return f"UpdateService rejects a new {prop} on CODE_DEPLOY services (only a CodeDeploy deployment changes it)"


def _conditional(value: Any, path: list) -> Iterator[tuple[list, str]]:
    """(path, 'Fn::If'|'AWS::NoValue') for every condition-dependent part of `value` (outermost only)."""
    if isinstance(value, list):
        for i, item in enumerate(value):
            yield from _conditional(item, path + [i])
    elif isinstance(value, dict):
        if "Fn::If" in value and len(value) == 1:
            yield path, "Fn::If"
        elif value == {"Ref": "AWS::NoValue"}:
            yield path, "AWS::NoValue"
        else:
            for key, item in value.items():
                yield from _conditional(item, path + [key])


def _parameters(value: Any) -> set[str]:
    """Every name a Ref or a ${Name} of Fn::Sub points at, anywhere in `value` (resources and pseudo parameters
    too; the caller keeps the template's parameters)."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= _parameters(item)
    elif isinstance(value, dict):
        if len(value) == 1 and ("Ref" in value or "Fn::Sub" in value):
            found |= {source for source, attribute in h.value_sources(value) if attribute is None}
        for item in value.values():
            found |= _parameters(item)
    return found
