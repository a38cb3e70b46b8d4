"""What the pipeline stack's CloudFormation role may do (pipeline account), and the helpers both CloudFormation roles
share; each environment's execution role `<app>-cloudformation` (target accounts) is in environment_permissions.py.

Actions follow the resource handlers' declared permissions (the CloudFormation registry schemas bundled with
cfn-lint, `handlers.*.permissions`), grouped per service. Resources are named by prefix wherever the ARN holds a name
the templates choose (`<app>-pipeline-*`, `<app>-<env>-*`, `/<app>/<env>/*`); `*` remains only where the ARN holds
an id AWS generates (VPC resources, load balancers, target groups, KMS keys, scalable targets) or the action has no
resource type at all. Each such grant says why (`why_any`), docs/pipeline.md lists them.

"""
from __future__ import annotations

from typing import Any

from awacs.aws import ArnLike, Condition, StringEquals
from troposphere import AWSHelperFn, Ref, Sub, Template, iam

from generator import naming, template_dict
from generator.config import AppSpec
from generator.pipeline import common
from generator.pipeline.grants import Grant, document, grant
# The action sets both CloudFormation roles grant (the environments' role through the components' TypeFacts).
from generator.policies.cfn_actions import (BUCKET_ACTIONS, BUCKET_READS, KEY_ACTIONS, LOG_GROUP_ACTIONS,  # noqa: F401
                                            LOG_GROUP_READS, REPOSITORY_ACTIONS, arn, bucket_grants,
                                            log_group_grants)

MANAGED_POLICY_CHARACTERS = 6_144   # IAM's limit per managed policy (whitespace not counted)
SAM_TRANSFORM = "arn:${AWS::Partition}:cloudformation:${AWS::Region}:aws:transform/Serverless-2016-10-31"


def sam_transform(sid: str) -> Grant:
    """Templates with `Transform: AWS::Serverless-2016-10-31` need CreateChangeSet on the transform itself."""
    return grant(sid, "cloudformation:CreateChangeSet", Sub(SAM_TRANSFORM))


def pass_self(sid: str, role: str) -> Grant:
    """CloudFormation passes the stack's role on to each nested stack it creates or updates (the
    AWS::CloudFormation::Stack handlers declare iam:PassRole), so the role must be allowed to pass itself."""
    return grant(sid, "iam:PassRole", arn("iam", "role/" + naming.role_name(role), region=False),
                 Condition(StringEquals("iam:PassedToService", "cloudformation.amazonaws.com")))


# --- the pipeline stack's role ------------------------------------------------------------------------------------
def pipeline_stack(app: AppSpec) -> list[Grant]:
    """Create, update and delete what pipeline.yaml declares (and nothing named otherwise).

    Its roles are named one by one, not by a `<app>-pipeline-*` prefix: that prefix would also match the deploy role
    `<app>-pipeline-deploy` of a target account that is the pipeline account too."""
    roles = [arn("iam", "role/" + naming.role_name(name), region=False) for name in common.PIPELINE_ACCOUNT_ROLES]
    policies = arn("iam", f"policy/${{Application}}-{common.STACK_ROLE}-*", region=False)
    keys = arn("kms", "key/*")
    log_groups = [arn("logs", f"log-group:{g}{suffix}") for g in (
        "/aws/codebuild/${Application}-pipeline", "/aws/lambda/${Application}-pipeline-*") for suffix in ("", ":*")]
    return [
        grant("ManageRoles", "iam:CreateRole iam:DeleteRole iam:GetRole iam:UpdateRole iam:UpdateRoleDescription "
              "iam:UpdateAssumeRolePolicy iam:PutRolePolicy iam:GetRolePolicy iam:DeleteRolePolicy "
              "iam:ListRolePolicies iam:ListAttachedRolePolicies iam:TagRole iam:UntagRole", roles),
        grant("AttachOwnPolicies", "iam:AttachRolePolicy iam:DetachRolePolicy", roles,
              Condition(ArnLike("iam:PolicyARN", policies))),
        grant("ManagePolicies", "iam:CreatePolicy iam:DeletePolicy iam:GetPolicy iam:GetPolicyVersion "
              "iam:CreatePolicyVersion iam:DeletePolicyVersion iam:ListPolicyVersions iam:ListEntitiesForPolicy",
              policies),
        grant("PassRoles", "iam:PassRole", roles, Condition(StringEquals("iam:PassedToService", [
            "codepipeline.amazonaws.com", "codebuild.amazonaws.com", "lambda.amazonaws.com"]))),
        pass_self("PassSelfToNestedStacks", common.STACK_ROLE),
        grant("ManagePipeline", "codepipeline:CreatePipeline codepipeline:DeletePipeline codepipeline:GetPipeline "
              "codepipeline:UpdatePipeline codepipeline:GetPipelineState codepipeline:StartPipelineExecution "
              "codepipeline:EnableStageTransition codepipeline:DisableStageTransition codepipeline:TagResource "
              "codepipeline:UntagResource codepipeline:ListTagsForResource", arn("codepipeline", "${Application}-pipeline")),
        grant("PassConnection", "codestar-connections:PassConnection codeconnections:PassConnection",
              Ref("ConnectionArn")),
        grant("ManageProjects", "codebuild:CreateProject codebuild:UpdateProject codebuild:DeleteProject "
              "codebuild:BatchGetProjects", arn("codebuild", "project/${Application}-pipeline-*")),
        *log_group_grants("ManageLogGroups", log_groups),
        *bucket_grants("ManageArtifactBucket", [
            Sub("arn:${AWS::Partition}:s3:::${Application}-pipeline-${AWS::AccountId}-${AWS::Region}")]),
        grant("ReadPackagedArtifacts", "s3:GetObject s3:GetObjectVersion",
              Sub("arn:${AWS::Partition}:s3:::${Application}-pipeline-${AWS::AccountId}-${AWS::Region}/*")),
        grant("ManageNestedStacks", "cloudformation:CreateStack cloudformation:UpdateStack cloudformation:DeleteStack "
              "cloudformation:DescribeStacks cloudformation:DescribeStackEvents cloudformation:GetTemplate "
              "cloudformation:GetStackPolicy cloudformation:SetStackPolicy cloudformation:UpdateTerminationProtection "
              "cloudformation:TagResource cloudformation:UntagResource",
              arn("cloudformation", "stack/${PipelineStackName}-*/*")),
        grant("CreateKeys", "kms:CreateKey kms:ListAliases",
              why_any="kms:CreateKey and kms:ListAliases have no resource type"),
        grant("ManageKeys", f"{KEY_ACTIONS} kms:Decrypt kms:GenerateDataKey", keys),
        grant("ManageKeyAlias", "kms:CreateAlias kms:DeleteAlias kms:UpdateAlias",
              [arn("kms", "alias/${Application}-pipeline"), keys]),
        grant("ManageTopic", "sns:CreateTopic sns:DeleteTopic sns:GetTopicAttributes sns:SetTopicAttributes "
              "sns:Subscribe sns:TagResource sns:UntagResource sns:ListTagsForResource sns:ListSubscriptionsByTopic "
              "sns:GetDataProtectionPolicy", arn("sns", "${Application}-pipeline-*")),
        grant("ManageSubscription", "sns:Unsubscribe sns:GetSubscriptionAttributes sns:SetSubscriptionAttributes",
              why_any="SNS subscription actions have no resource type (subscriptions have random ids)"),
        grant("ManageBuildRepositories", REPOSITORY_ACTIONS, arn("ecr", "repository/${Application}-pipeline-*")),
        grant("ManageRules", "events:PutRule events:DeleteRule events:DescribeRule events:PutTargets "
              "events:RemoveTargets events:ListTargetsByRule events:EnableRule events:DisableRule events:TagResource "
              "events:UntagResource events:ListTagsForResource", arn("events", "rule/${Application}-pipeline-*")),
        grant("ManageFunction", "lambda:CreateFunction lambda:DeleteFunction lambda:GetFunction "
              "lambda:GetFunctionConfiguration lambda:UpdateFunctionCode lambda:UpdateFunctionConfiguration "
              "lambda:TagResource lambda:UntagResource lambda:ListTags lambda:AddPermission lambda:RemovePermission "
              "lambda:GetPolicy lambda:GetRuntimeManagementConfig lambda:PutRuntimeManagementConfig "
              "lambda:GetFunctionCodeSigningConfig lambda:GetFunctionRecursionConfig lambda:PutFunctionRecursionConfig "
              "lambda:GetFunctionScalingConfig lambda:DeleteFunctionConcurrency lambda:DeleteFunctionCodeSigningConfig",
              arn("lambda", "function:${Application}-pipeline-*")),
        grant("ManageQueue", "sqs:CreateQueue sqs:DeleteQueue sqs:GetQueueAttributes sqs:SetQueueAttributes "
              "sqs:GetQueueUrl sqs:TagQueue sqs:UntagQueue sqs:ListQueueTags", arn("sqs", "${Application}-pipeline-*")),
        sam_transform("ExpandServerlessTransform"),
    ]


def managed_policies(t: Template, title: str, grants: list[Grant], purpose: str,
                     name: Sub | None = None, skips: tuple = ()) -> list[iam.ManagedPolicy]:
    """The grants as few managed policies as fit IAM's 6,144-character limit each (in order, so a role's policies
    read like its grant list). Names `<name>-1`, `-2`, ... when `name` is given."""
    chunks: list[list[Grant]] = [[]]
    empty = _size([])
    size = empty   # _size(chunks[-1]), summed statement by statement (measuring each chunk again was quadratic)
    for g in grants:
        statement = _statement_size(g)
        if chunks[-1] and size + 1 + statement > MANAGED_POLICY_CHARACTERS - 400:  # margin: Subs resolve longer
            chunks.append([])
            size = empty
        size += statement + (1 if chunks[-1] else 0)   # and the comma before it
        chunks[-1].append(g)
    policies = []
    for i, chunk in enumerate(chunks, 1):
        props = {"PolicyDocument": document(chunk), "Description": Sub(f"${{Application}}: {purpose} ({i}/{len(chunks)})")}
        if name is not None:
            props["ManagedPolicyName"] = Sub("${Base}-" + str(i), Base=name)
        if skips:
            props["Metadata"] = common.skip(*skips)
        policies.append(t.add_resource(iam.ManagedPolicy(f"{title}{i}", **props)))
    return policies


def _size(grants: list[Grant]) -> int:
    """Characters of the policy without whitespace, counting each Sub by its template text."""
    return _characters(document(grants))


def _statement_size(g: Grant) -> int:
    """What `g` adds to _size of a document (with a comma when it is not the first statement): the compact JSON of a
    document is `{"Version":...,"Statement":[` + its statements' texts joined by "," + `]}`, each statement's text the
    same wherever it stands, and dropping whitespace drops it from each part alone."""
    return _characters(g.statement())


def _characters(value: Any) -> int:
    import json

    def plain(value):
        if isinstance(value, AWSHelperFn):
            return plain(value.to_dict())
        if isinstance(value, dict):
            if "Fn::Sub" in value:
                sub = value["Fn::Sub"]
                return sub if isinstance(sub, str) else sub[0]
            if "Ref" in value:
                return "x" * 40
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value
    text = json.dumps(plain(template_dict.encode(value)), separators=(",", ":"))
    return len("".join(text.split()))
