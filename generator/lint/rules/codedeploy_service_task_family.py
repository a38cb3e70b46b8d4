"""E9004: a CODE_DEPLOY service names its task definition family (and is created after the family exists)."""
from pathlib import Path

from cfnlint.helpers import import_filename
from cfnlint.rules import CloudFormationLintRule, RuleMatch

h = import_filename("_helpers", str(Path(__file__).parent))  # rule files load as loose modules; see _helpers.py

TASK_DEFINITION = "AWS::ECS::TaskDefinition"


class CodeDeployServiceTaskFamily(CloudFormationLintRule):
    id = "E9004"
    shortdesc = "CODE_DEPLOY ECS service uses the task definition family, not its ARN"
    description = (
        "An AWS::ECS::Service with DeploymentController CODE_DEPLOY must not Ref/GetAtt an AWS::ECS::TaskDefinition: "
        "that is the ARN with revision, so every new revision becomes a CloudFormation update of the service, which "
        "fails ('Unable to update task definition on services with a CODE_DEPLOY deployment controller'). Give the "
        "family name (a literal, a String parameter or a Sub), as CDK does, and DependsOn the task definition of "
        "that family when it is in the same template, so a revision exists when the service is created."
    )
    source_url = "aws-reference.md §1a (CODE_DEPLOY workaround); Top 10 pitfalls #2; CDK aws-ecs base-service.ts"
    tags = ["resources", "ecs", "codedeploy"]

    def match(self, cfn):
        matches = []
        task_definitions = h.resources(cfn, TASK_DEFINITION)
        for name, service in h.resources(cfn, "AWS::ECS::Service").items():
            props = h.properties(service)
            if h.field(props, "DeploymentController", "Type") != "CODE_DEPLOY":
                continue
            value = props.get("TaskDefinition")
            path = ["Resources", name, "Properties", "TaskDefinition"]
            arns = sorted({i for i, _ in h.value_sources(value) if h.type_of(cfn, i) == TASK_DEFINITION})
            for td in arns:
                matches.append(RuleMatch(path, (
                    f"Service {name} (CODE_DEPLOY) has TaskDefinition {h.show(value)}, the ARN of {td} with its "
                    f"revision: each new revision would update the service and fail. Use the family name instead "
                    f"(the Family of {td}) and add DependsOn: {td}"
                )))
            for td, resource in task_definitions.items():
                family = h.properties(resource).get("Family")
                if not arns and family is not None and family == value and not h.depends_on(cfn, name, td):
                    matches.append(RuleMatch(path, (
                        f"Service {name} (CODE_DEPLOY) names family {h.show(value)} of {td} but is not created after "
                        f"it: add DependsOn: {td} (else the family may have no revision when the service is created)"
                    )))
        return matches
