"""deploy-role.yaml: deployed once in every account that hosts an environment (the pipeline account too, when an
environment lives there). It creates the two roles the pipeline uses in that account:

- `<app>-pipeline-deploy`: assumed by the pipeline account's pipeline roles only (its CodePipeline role for the
  CloudFormation and CodeDeployToECS actions, its release role for Promote/PrepareRelease, its reroute Lambda);
  deploys the `<app>-<env>` stacks through the CloudFormation role, pushes images to `<app>-<env>-*` repositories,
  registers task definitions (passing the environment's roles, path `/<app>/<env>/`) and starts/continues CodeDeploy
  deployments of `<app>-<env>-*`.
- `<app>-cloudformation`: CloudFormation's execution role for those stacks (generator/pipeline/environment_permissions.py,
  with the grants each component declares for the types it creates).

Both have explicit names (the pipeline names them across accounts), so the stack needs CAPABILITY_NAMED_IAM.
"""
from __future__ import annotations

from awacs import sts
from awacs.aws import Allow, ArnEquals, Condition, PolicyDocument, Principal, Statement, StringEquals
from troposphere import GetAtt, Output, Ref, Sub, Template, iam

from generator import naming
from generator.config import AppSpec
from generator.pipeline import common, regions
from generator.pipeline import environment_permissions
from generator.pipeline import permissions as perms
from generator.pipeline.grants import Grant, document, grant
from generator.policies import assume_role
from generator.policies.common import VERSION
from generator.root import Build


CLOUDFORMATION_ROLE_ID = "CloudFormationRole"


def build(app: AppSpec, root_build: Build) -> Template:
    t = Template(Description=f"{app.app}: the pipeline's roles in a target account (deploy role, CloudFormation "
                             f"role); deploy once per account that hosts an environment")
    t.set_version()
    common.declare(t, common.deploy_role_parameters(app))
    types = {r.resource_type for tmpl in root_build.templates().values() for r in tmpl.resources.values()}
    cfn_policies = perms.managed_policies(
        t, "CloudFormationPolicy", environment_permissions.environment_stack(app, types),
        "CloudFormation deploys the app's stacks",
        name=Sub(naming.role_name(common.CLOUDFORMATION_ROLE)), skips=ENVIRONMENT_ROLE_SKIPS)
    cfn = common.add(t, iam.Role(
        CLOUDFORMATION_ROLE_ID, RoleName=Sub(naming.role_name(common.CLOUDFORMATION_ROLE)),
        Description=Sub("${Application}: CloudFormation execution role for the ${Application}-<env> stacks"),
        AssumeRolePolicyDocument=assume_role("cloudformation.amazonaws.com"), MaxSessionDuration=3600,
        ManagedPolicyArns=[Ref(p) for p in cfn_policies]))
    deploy = common.add(t, iam.Role(
        "DeployRole", RoleName=Sub(naming.role_name(common.DEPLOY_ROLE)),
        Description=Sub("${Application}: assumed by the pipeline account's pipeline roles to release here"),
        AssumeRolePolicyDocument=_trust_pipeline_account(), MaxSessionDuration=3600,
        Policies=[iam.Policy(PolicyName="release", PolicyDocument=document(deploy_grants(app)))]))
    t.add_output(Output("DeployRoleArn", Value=GetAtt(deploy, "Arn"), Description="Assumed by the pipeline"))
    t.add_output(Output("CloudFormationRoleArn", Value=GetAtt(cfn, "Arn"),
                        Description="CloudFormation execution role of the app's stacks"))
    return t


ENVIRONMENT_ROLE_SKIPS = (
    ("CKV_AWS_111", "Write actions on * are the ones whose resources carry ids AWS generates (VPC resources, load "
                    "balancers, target groups, scalable targets) or that have no resource type (kms:CreateKey, "
                    "ecs:RegisterTaskDefinition, registry scanning); every other write names <app>-<env> resources, "
                    "and each * grant says why (why_any) where it is written: generator/components/shared.py, a "
                    "component's types.py or generator/pipeline/environment_permissions.py."),
)


def _trust_pipeline_account() -> PolicyDocument:
    """Only the pipeline account, and in it only the pipeline's own roles (by ARN condition: the roles need not exist
    when this stack is created, and a recreated role keeps working)."""
    trusted = [Sub(naming.role_arn(role, "${PipelineAccountId}"))
               for role in common.TRUSTED_BY_DEPLOY_ROLE]
    return PolicyDocument(Version=VERSION, Statement=[Statement(
        Sid="PipelineRolesOnly", Effect=Allow, Action=[sts.AssumeRole],
        Principal=Principal("AWS", Sub("arn:${AWS::Partition}:iam::${PipelineAccountId}:root")),
        Condition=Condition(ArnEquals("aws:PrincipalArn", trusted)))])


def deploy_grants(app: AppSpec) -> list[Grant]:
    envs = list(app.environments)

    def each(service: str, pattern: str, region: bool = True) -> list[Sub]:
        return [perms.arn(service, pattern.replace("{env}", env), region=region) for env in envs]

    return [
        grant("DeployAppStacks", "cloudformation:CreateStack cloudformation:UpdateStack cloudformation:DescribeStacks "
              "cloudformation:DescribeStackEvents cloudformation:GetTemplate cloudformation:SetStackPolicy "
              "cloudformation:GetStackPolicy", each("cloudformation", "stack/${Application}-{env}/*")),
        grant("ValidateTemplates", "cloudformation:ValidateTemplate",
              why_any="cloudformation:ValidateTemplate has no resource type"),
        grant("PassCloudFormationRole", "iam:PassRole", perms.arn("iam", "role/" + naming.role_name(naming.CLOUDFORMATION_ROLE),
                                                                   region=False),
              Condition(StringEquals("iam:PassedToService", "cloudformation.amazonaws.com"))),
        *regions.environment_artifact_grants(app, "ReadPipelineArtifacts", "DecryptPipelineArtifacts"),
        grant("PushReleaseImages", "ecr:BatchCheckLayerAvailability ecr:InitiateLayerUpload ecr:UploadLayerPart "
              "ecr:CompleteLayerUpload ecr:PutImage ecr:BatchGetImage ecr:GetDownloadUrlForLayer ecr:DescribeImages "
              "ecr:DescribeRepositories", each("ecr", "repository/${Application}-{env}-*")),
        grant("EcrLogin", "ecr:GetAuthorizationToken",
              why_any="ecr:GetAuthorizationToken has no resource type; pushes are limited by the grant above"),
        grant("RegisterReleaseTaskDefinitions", "ecs:RegisterTaskDefinition ecs:DescribeTaskDefinition",
              why_any="task definition registration and reads have no resource type"),
        grant("PassTaskRoles", "iam:PassRole", each("iam", naming.role_grant_pattern("{env}"), region=False),
              Condition(StringEquals("iam:PassedToService", "ecs-tasks.amazonaws.com"))),
        grant("ReleaseWithCodeDeploy", "codedeploy:CreateDeployment codedeploy:GetDeployment "
              "codedeploy:GetApplication codedeploy:GetApplicationRevision codedeploy:RegisterApplicationRevision "
              "codedeploy:ListDeployments",
              each("codedeploy", "application:${Application}-{env}-*")
              + each("codedeploy", "deploymentgroup:${Application}-{env}-*/*")),
        grant("ReadDeploymentConfigs", "codedeploy:GetDeploymentConfig", perms.arn("codedeploy", "deploymentconfig:*")),
        grant("ContinueHeldReleases", "codedeploy:ContinueDeployment",
              why_any="codedeploy:ContinueDeployment has no resource type (Service Authorization Reference)"),
        # a failed gate (tests, rejected approval) stops the held release at once (continue_reroute.py)
        grant("StopHeldReleases", "codedeploy:StopDeployment",
              why_any="codedeploy:StopDeployment has no resource type (Service Authorization Reference)"),
        *_protect_nested_stacks(app),
        *_publish_frontend(app),
    ]


def _publish_frontend(app: AppSpec) -> list[Grant]:
    """The pipeline's PublishFrontend action (scripts/deploylib/publish.py): reads the root stack's outputs
    (cloudformation:DescribeStacks on `<app>-<env>`, granted by DeployAppStacks above), lists,
    writes and prunes the site bucket (`<app>-<env>-site-<stack id>`, naming.bucket_name), and invalidates the
    distribution. A distribution's ID is AWS-generated: the grant names this account's distributions."""
    if not common.builds_frontend(app):
        return []
    envs = list(app.environments)
    buckets = [Sub(f"arn:${{AWS::Partition}}:s3:::${{Application}}-{env}-site-*") for env in envs]
    return [
        grant("ListSiteBuckets", "s3:ListBucket", buckets),
        grant("PublishSiteFiles", "s3:GetObject s3:PutObject s3:DeleteObject",
              [Sub(f"arn:${{AWS::Partition}}:s3:::${{Application}}-{env}-site-*/*") for env in envs]),
        grant("InvalidateSite", "cloudfront:CreateInvalidation", perms.arn("cloudfront", "distribution/*", region=False)),
    ]


def _protect_nested_stacks(app: AppSpec) -> list[Grant]:
    """The pipeline's ProtectNestedStacks action (scripts/nested_stack_policy.py) walks a production root stack's
    nested stacks (`<app>-<env>-<LogicalId>-<suffix>`) and sets the root's stack policy on each."""
    production = [env for env, spec in app.environments.items() if spec.production]
    if not production:
        return []
    stacks = [perms.arn("cloudformation", f"stack/${{Application}}-{env}{suffix}/*")
              for env in production for suffix in ("", "-*")]
    return [grant("ProtectNestedStacks", "cloudformation:ListStackResources cloudformation:SetStackPolicy", stacks)]
