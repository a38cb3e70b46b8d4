"""E9007: a service deployed by CodeDeploy (or an external controller) carries no ECS-controller-only settings."""
from pathlib import Path

from cfnlint.helpers import import_filename
from cfnlint.rules import CloudFormationLintRule, RuleMatch

h = import_filename("_helpers", str(Path(__file__).parent))  # rule files load as loose modules; see _helpers.py

# Settings ECS honours only when it runs the deployment itself (DeploymentController ECS).
ECS_ONLY = ("DeploymentCircuitBreaker", "Alarms", "BakeTimeInMinutes", "LifecycleHooks")


class CodeDeployServiceEcsOnlySettings(CloudFormationLintRule):
    id = "E9007"
    shortdesc = "No circuit breaker, deployment alarms, bake time or lifecycle hooks on a CODE_DEPLOY/EXTERNAL service"
    description = (
        "DeploymentConfiguration.DeploymentCircuitBreaker, .Alarms, .BakeTimeInMinutes and .LifecycleHooks, and "
        "LoadBalancers[].AdvancedConfiguration (ECS-native blue/green), only work with DeploymentController ECS; "
        "on a CODE_DEPLOY or EXTERNAL service they are rejected (CDK refuses to synthesize them). Roll back with "
        "the CodeDeploy deployment group's AutoRollbackConfiguration/AlarmConfiguration instead."
    )
    source_url = "aws-reference.md §1a (DeploymentCircuitBreaker bullet), §1f; CDK aws-ecs base-service.ts"
    tags = ["resources", "ecs", "codedeploy"]

    def match(self, cfn):
        matches = []
        for name, service in h.resources(cfn, "AWS::ECS::Service").items():
            props = h.properties(service)
            controller = h.field(props, "DeploymentController", "Type")
            if controller not in ("CODE_DEPLOY", "EXTERNAL"):
                continue
            found = [["DeploymentConfiguration", key] for key in ECS_ONLY
                     if h.field(props, "DeploymentConfiguration", key) is not None]
            found += [["LoadBalancers", i, "AdvancedConfiguration"]
                      for i, lb in h.listed(props.get("LoadBalancers")) if h.field(lb, "AdvancedConfiguration")]
            for path in found:
                matches.append(RuleMatch(
                    ["Resources", name, "Properties", *path],
                    f"Service {name} has DeploymentController {controller}, but {h.dotted(path)} only works with "
                    f"the ECS controller: remove it (roll back through the CodeDeploy deployment group instead)",
                ))
        return matches
