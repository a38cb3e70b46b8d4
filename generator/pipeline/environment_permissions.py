"""What each environment's CloudFormation execution role `<app>-cloudformation` may do (deploy-role.yaml, target
accounts): create, update and delete the `<app>-<env>` root and nested stacks.

The grants for the resource types come from the components that create them: each type's TypeFacts names its grant
family (`cfn_grants`, most in generator/components/shared.py), the services it passes roles to and the service-linked
roles it needs; a family is granted only when the stacks create one of its types. Here: what every environment role
needs whatever the stacks hold (its stacks, their roles, the packaged templates). Resources are named by prefix where
the ARN holds a name the templates choose (`<app>-<env>-*`, `/<app>/<env>/*`), roles by their path `/<app>/<env>/`
(CloudFormation generates, and truncates, their names); `*` remains where the ARN holds an id AWS generates or the
action has no resource type, each with its reason (`why_any`). A type no component declares fails the build, so a
new nested stack cannot silently outgrow the role; an action a handler needs and the role lacks fails the gate
(generator/lint/handler_permissions.py), naming the types.py to add it to.
"""
from __future__ import annotations

from awacs.aws import ArnLike, Condition, StringEquals
from troposphere import Sub

from generator import components, naming
from generator.config import AppSpec
from generator.errors import WiringError
from generator.pipeline import common, regions
from generator.pipeline.grants import Grant, grant
from generator.pipeline.permissions import arn, pass_self


def environment_stack(app: AppSpec, resource_types: set[str]) -> list[Grant]:
    """Create, update and delete an environment's root and nested stacks (`<app>-<env>`, resources `<app>-<env>-*`).

    `resource_types`: every type the root and nested templates declare; one without a grant here fails the build."""
    envs = list(app.environments)

    def each(pattern: str, service: str, region: bool = True) -> list[Sub]:
        return [arn(service, pattern.replace("{env}", env), region=region) for env in envs]

    facts = components.type_facts()
    uncovered = sorted(t for t in resource_types if t not in facts and t not in ALWAYS)
    if uncovered:
        raise WiringError(f"no component declares {', '.join(uncovered)}, so the environments' CloudFormation role "
                          "has no grants for it: declare its TypeFacts (cfn_grants) in the types.py of the component "
                          "that creates it (generator/components/<name>/types.py)")
    roles = each(naming.role_grant_pattern("{env}"), "iam", region=False)
    declared = [facts[t] for t in sorted(resource_types) if t in facts]
    pass_to = sorted({s for f in declared for s in f.passed_to})
    linked = sorted({s for f in declared for s in f.service_linked})
    grants = [
        grant("ManageStacks", "cloudformation:CreateStack cloudformation:UpdateStack cloudformation:DeleteStack "
              "cloudformation:DescribeStacks cloudformation:DescribeStackEvents cloudformation:DescribeStackResource "
              "cloudformation:DescribeStackResources cloudformation:GetTemplate cloudformation:GetStackPolicy "
              "cloudformation:SetStackPolicy cloudformation:UpdateTerminationProtection cloudformation:TagResource "
              "cloudformation:UntagResource cloudformation:CreateChangeSet cloudformation:DescribeChangeSet "
              "cloudformation:ExecuteChangeSet cloudformation:DeleteChangeSet cloudformation:ListStackResources",
              each("stack/${Application}-{env}/*", "cloudformation")
              + each("stack/${Application}-{env}-*/*", "cloudformation")),
        grant("ReadStacks", "cloudformation:ListStacks cloudformation:ValidateTemplate "
              "cloudformation:GetTemplateSummary", why_any="these CloudFormation reads have no resource type"),
        *regions.environment_artifact_grants(app, "ReadPackagedTemplates", "DecryptPackagedTemplates"),
        grant("ManageRoles", "iam:CreateRole iam:DeleteRole iam:GetRole iam:UpdateRole iam:UpdateRoleDescription "
              "iam:UpdateAssumeRolePolicy iam:PutRolePolicy iam:GetRolePolicy iam:DeleteRolePolicy "
              "iam:ListRolePolicies iam:ListAttachedRolePolicies iam:TagRole iam:UntagRole", roles),
        pass_self("PassSelfToNestedStacks", common.CLOUDFORMATION_ROLE),
    ]
    # The AWS::IAM::Role handlers declare attach/detach whatever the role holds; the one managed policy any of the
    # environment's roles attaches is the CodeDeploy role's.
    grants.append(grant(
        "AttachCodeDeployPolicy", "iam:AttachRolePolicy iam:DetachRolePolicy", roles,
        Condition(ArnLike("iam:PolicyARN", Sub("arn:${AWS::Partition}:iam::aws:policy/AWSCodeDeployRoleForECS")))))
    if pass_to:
        grants.append(grant("PassRoles", "iam:PassRole", roles,
                            Condition(StringEquals("iam:PassedToService", pass_to))))
    if linked:
        grants.append(grant("CreateServiceLinkedRoles", "iam:CreateServiceLinkedRole",
                            arn("iam", "role/aws-service-role/*", region=False),
                            Condition(StringEquals("iam:AWSServiceName", linked))))
    for family in components.grant_families(resource_types):
        grants += family(each, envs)
    return grants


# Types every environment role covers whatever the components declare: the nested stacks (ManageStacks) and the
# roles (ManageRoles, PassRoles).
ALWAYS = frozenset({"AWS::CloudFormation::Stack", "AWS::IAM::Role"})


def covered() -> frozenset[str]:
    """Every type the environment role has grants for."""
    return ALWAYS | frozenset(components.type_facts())
