"""The pipeline account's roles, each limited to what its step does (docs/pipeline.md, "Who may do what"), in
their own nested template (pipeline-roles.yaml): their policies would push pipeline.yaml past the 51,200-byte inline
limit. Resources of pipeline.yaml are named by their fixed names (`<app>-pipeline...`), except the KMS key (a
parameter: its id is random).
"""
from __future__ import annotations

from typing import NamedTuple

from awacs.aws import ArnEquals, Condition, StringEquals
from troposphere import GetAtt, Output, Parameter, Ref, Sub, Template, cloudformation, iam

from generator import naming
from generator.config import AppSpec
from generator.pipeline import common
from generator.pipeline import permissions as perms
from generator.pipeline.grants import Grant, document, grant
from generator.policies import assume_role
from generator.wiring import OutputRef

TEMPLATE = "pipeline-roles.yaml"
LOGICAL_ID = "Roles"
STACK_ROLE_ID = "PipelineStackRole"   # CloudFormation's role for the pipeline stack (the gate checks its grants)
PROJECTS = Sub("arn:${AWS::Partition}:codebuild:${AWS::Region}:${AWS::AccountId}:project/${Application}-pipeline-*")
BUCKET = "arn:${AWS::Partition}:s3:::${Application}-pipeline-${AWS::AccountId}-${AWS::Region}"
LOG_GROUP = "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/codebuild/${Application}-pipeline"


class Roles(NamedTuple):
    """Each role's ARN as pipeline.yaml sees it (an output of the nested stack), None where the app needs none."""

    pipeline: GetAtt
    stack: GetAtt
    self_update: GetAtt
    build: GetAtt | None      # None when the app has no services (nothing to build or promote)
    release: GetAtt | None
    tests: GetAtt | None
    reroute: GetAtt | None


def nested_stack(app: AppSpec, key) -> tuple[cloudformation.Stack, Roles]:
    """The AWS::CloudFormation::Stack of pipeline-roles.yaml inside pipeline.yaml, and the role ARNs it outputs."""
    params = {naming.APPLICATION_PARAM: Ref(naming.APPLICATION_PARAM), naming.OWNER_PARAM: Ref(naming.OWNER_PARAM),
              "PipelineStackName": Ref("AWS::StackName"), "ConnectionArn": Ref("ConnectionArn"),
              "PipelineKeyArn": GetAtt(key, "Arn"),
              **{common.account_parameter(env): Ref(common.account_parameter(env)) for env in app.environments}}
    stack = cloudformation.Stack(LOGICAL_ID, TemplateURL=f"./{TEMPLATE}", Parameters=params, Tags=common.tags())
    from generator.pipeline import approvals  # approvals imports Roles from here
    needed = {"BuildRole": bool(app.services), "ReleaseRole": common.needs_release_role(app),
              "TestsRole": app.test_environment() is not None,
              "RerouteRole": approvals.needed(app)}
    present = {f"{title}Arn" for title in TITLES if needed.get(title, True)}

    def out(name: str) -> GetAtt | None:
        return OutputRef(LOGICAL_ID, name, "String", f"ARN of {name}").value() if name in present else None
    return stack, Roles(*(out(f"{title}Arn") for title in TITLES))


TITLES = ("PipelineRole", "PipelineStackRole", "SelfUpdateRole", "BuildRole", "ReleaseRole", "TestsRole", "RerouteRole")


def build(app: AppSpec) -> Template:
    """pipeline-roles.yaml."""
    from generator.pipeline import approvals  # approvals imports Roles from here
    t = Template(Description=f"{app.app}: the pipeline's IAM roles (nested in pipeline.yaml)")
    t.set_version()
    for name, description in (
            (naming.APPLICATION_PARAM, "Application name (physical names)."),
            (naming.OWNER_PARAM, "Team that owns the resources (Owner tag)."),
            ("PipelineStackName", "The pipeline's own stack (the self-update deploys it)."),
            ("ConnectionArn", "The GitHub connection."), ("PipelineKeyArn", "The pipeline's KMS key."),
            *((common.account_parameter(env), f"Account of {env}.") for env in app.environments)):
        t.add_parameter(Parameter(name, Type="String", Description=description))
    waiting = approvals.targets(app)
    tests = app.test_environment() is not None
    gate = approvals.has_gate_function(app)
    key = Ref("PipelineKeyArn")
    objects = Sub(f"{BUCKET}/*")
    deploy_roles = [target.deploy_role() for target in common.targets(app)]
    build_repositories = [perms.arn("ecr", f"repository/${{Application}}-pipeline-{svc.name}") for svc in app.services]

    def role(title: str, name: str, service: str, grants: list[Grant], description: str) -> iam.Role:
        return common.add(t, iam.Role(
            title, RoleName=Sub(f"${{Application}}-{name}"), Description=Sub(f"${{Application}} pipeline: {description}"),
            AssumeRolePolicyDocument=assume_role(service), MaxSessionDuration=3600,
            Policies=[iam.Policy(PolicyName="least-privilege", PolicyDocument=document(grants))]))

    def build_logs(*streams: str) -> Grant:
        """Streams are `<project short name>/<build id>` (the projects' LogsConfig)."""
        return grant("WriteBuildLogs", "logs:CreateLogStream logs:PutLogEvents",
                     [Sub(f"{LOG_GROUP}:log-stream:{s}/*") for s in streams])

    read_artifacts = grant("ReadArtifacts", "s3:GetObject s3:GetObjectVersion", objects)
    rw_artifacts = grant("ReadWriteArtifacts", "s3:GetObject s3:GetObjectVersion s3:PutObject", objects)
    use_key = grant("UseArtifactKey", "kms:Decrypt kms:Encrypt kms:GenerateDataKey kms:DescribeKey", key)
    ecr_login = grant("EcrLogin", "ecr:GetAuthorizationToken",
                      why_any="ecr:GetAuthorizationToken has no resource type; the token only works with the "
                              "repository permissions granted separately")

    pipeline = role("PipelineRole", common.PIPELINE_ROLE, "codepipeline.amazonaws.com", [
        rw_artifacts,
        grant("ArtifactBucket", "s3:GetBucketVersioning s3:GetBucketLocation", Sub(BUCKET)),
        use_key,
        grant("UseConnection", "codestar-connections:UseConnection codeconnections:UseConnection",
              Ref("ConnectionArn")),
        grant("RunBuilds", "codebuild:StartBuild codebuild:BatchGetBuilds codebuild:StopBuild", PROJECTS),
        grant("UpdateOwnStack", "cloudformation:CreateStack cloudformation:UpdateStack cloudformation:DescribeStacks "
              "cloudformation:DescribeStackEvents cloudformation:GetTemplate", _own_stack()),
        grant("ReadTemplates", "cloudformation:ValidateTemplate",
              why_any="cloudformation:ValidateTemplate has no resource type"),
        perms.sam_transform("ExpandServerlessTransform"),
        grant("PassStackRole", "iam:PassRole", common.role_arn(common.STACK_ROLE),
              Condition(StringEquals("iam:PassedToService", "cloudformation.amazonaws.com"))),
        grant("ActInEnvironmentAccounts", "sts:AssumeRole", deploy_roles),
        grant("NotifyApprovers", "sns:Publish", perms.arn("sns", "${Application}-pipeline-approvals")),
        *([grant("RunTheReleaseGate", "lambda:InvokeFunction", perms.arn("lambda", "function:${Application}-pipeline-"
                                                                            "release-gate")),
           grant("FindTheReleaseGate", "lambda:ListFunctions",
                 why_any="lambda:ListFunctions has no resource type; CodePipeline's Lambda invoke action lists the "
                         "functions (as CDK's LambdaInvokeAction grants it)")] if gate else []),
    ], "runs the pipeline; assumes each environment's deploy role for its actions there")
    stack = common.add(t, iam.Role(
        STACK_ROLE_ID, RoleName=Sub(f"${{Application}}-{common.STACK_ROLE}"),
        Description=Sub("${Application} pipeline: CloudFormation role that updates the pipeline's own stack"),
        AssumeRolePolicyDocument=assume_role("cloudformation.amazonaws.com"), MaxSessionDuration=3600,
        ManagedPolicyArns=[Ref(p) for p in perms.managed_policies(
            t, "PipelineStackPolicy", perms.pipeline_stack(app), "updates the pipeline stack",
            name=Sub(f"${{Application}}-{common.STACK_ROLE}"))]))
    self_update = role("SelfUpdateRole", common.SELF_UPDATE_ROLE, "codebuild.amazonaws.com", [
        build_logs("self-update"), rw_artifacts, use_key,
    ], "regenerates and packages the templates (self-update)")
    builder = role("BuildRole", common.BUILD_ROLE, "codebuild.amazonaws.com", [
        build_logs("build-*"), read_artifacts, use_key, ecr_login,
        grant("PushAndScanBuildImages", "ecr:BatchGetImage ecr:GetDownloadUrlForLayer ecr:BatchCheckLayerAvailability "
              "ecr:InitiateLayerUpload ecr:UploadLayerPart ecr:CompleteLayerUpload ecr:PutImage ecr:DescribeImages "
              "ecr:DescribeImageScanFindings", build_repositories),
    ], "builds, pushes and scans the images") if app.services else None
    release = role("ReleaseRole", common.RELEASE_ROLE, "codebuild.amazonaws.com", [
        build_logs("promote", "release-*", "protect"), rw_artifacts, use_key,
        *([ecr_login, grant("PullBuildImages", "ecr:BatchGetImage ecr:GetDownloadUrlForLayer "
                            "ecr:BatchCheckLayerAvailability ecr:DescribeImages", build_repositories)]
          if app.services else []),
        grant("ActInEnvironmentAccounts", "sts:AssumeRole", deploy_roles),
    ], "copies images into an environment, prepares its blue/green artifacts and protects its nested stacks"
    ) if common.needs_release_role(app) else None
    tester = role("TestsRole", common.TESTS_ROLE, "codebuild.amazonaws.com", [
        build_logs("tests"), read_artifacts, use_key,
        grant("PublishTestReports", "codebuild:CreateReportGroup codebuild:CreateReport codebuild:UpdateReport "
              "codebuild:BatchPutTestCases", Sub("arn:${AWS::Partition}:codebuild:${AWS::Region}:${AWS::AccountId}:"
                                                "report-group/${Application}-pipeline-tests-*")),
        *_vpc_grants(app),
    ], "runs the integration tests against the test listener") if tests else None
    pipeline_arn = Sub("arn:${AWS::Partition}:codepipeline:${AWS::Region}:${AWS::AccountId}:${Application}-pipeline")
    reroute = role("RerouteRole", common.REROUTE_ROLE, "lambda.amazonaws.com", [
        grant("WriteLogs", "logs:CreateLogStream logs:PutLogEvents", [Sub(
            "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/${Application}-"
            f"pipeline-{short}:log-stream:*") for short in ("continue-reroute", "release-gate")]),
        grant("ActInEnvironmentAccounts", "sts:AssumeRole", [target.deploy_role() for target in waiting]),
        grant("DeadLetters", "sqs:SendMessage", Sub("arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:"
                                                    "${Application}-pipeline-reroute-dlq")),
        # continue_reroute.py: which gates of the run succeeded; reject the stage's open approvals when one failed
        grant("ReadGateStates", "codepipeline:ListActionExecutions codepipeline:GetPipelineState", pipeline_arn),
        grant("RejectOpenApprovals", "codepipeline:PutApprovalResult",
              Sub(f"arn:${{AWS::Partition}}:codepipeline:${{AWS::Region}}:${{AWS::AccountId}}:${{Application}}-"
                  f"pipeline/*/{approvals.ACTION}")),
        *([grant("RunTests", "codebuild:StartBuild codebuild:BatchGetBuilds", Sub(
              "arn:${AWS::Partition}:codebuild:${AWS::Region}:${AWS::AccountId}:project/${Application}-pipeline-tests")),
           grant("AnswerCodePipeline", "codepipeline:PutJobSuccessResult codepipeline:PutJobFailureResult",
                 why_any="PutJobSuccessResult and PutJobFailureResult have no resource type (a job id is not an ARN)")]
          if gate else []),
    ], "runs the integration tests of held releases, then continues or stops them") if waiting or gate else None
    for title, role in zip(TITLES, (pipeline, stack, self_update, builder, release, tester, reroute)):
        if role is not None:
            t.add_output(Output(f"{title}Arn", Value=GetAtt(role, "Arn"), Description=f"ARN of {title}"))
    return t


def _own_stack() -> Sub:
    return Sub("arn:${AWS::Partition}:cloudformation:${AWS::Region}:${AWS::AccountId}:stack/${PipelineStackName}/*")


def _vpc_grants(app: AppSpec) -> list[Grant]:
    """CodeBuild in a VPC creates a network interface per build (CodeBuild user guide, VPC permissions)."""
    net = app.pipeline.test_network
    if net is None:
        return []
    interfaces = Sub("arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:network-interface/*")
    subnets = [Sub(f"arn:${{AWS::Partition}}:ec2:${{AWS::Region}}:${{AWS::AccountId}}:subnet/{s}") for s in net.subnet_ids]
    groups = [Sub(f"arn:${{AWS::Partition}}:ec2:${{AWS::Region}}:${{AWS::AccountId}}:security-group/{g}")
              for g in net.security_group_ids]
    return [
        grant("DescribeNetwork", "ec2:DescribeNetworkInterfaces ec2:DescribeDhcpOptions ec2:DescribeSubnets "
              "ec2:DescribeSecurityGroups ec2:DescribeVpcs", why_any="EC2 Describe actions have no resource type"),
        grant("UseTestSubnets", "ec2:CreateNetworkInterface", [interfaces, *subnets, *groups]),
        grant("RemoveInterfaces", "ec2:DeleteNetworkInterface", interfaces),
        grant("AttachToTestSubnets", "ec2:CreateNetworkInterfacePermission", interfaces,
              Condition([StringEquals("ec2:AuthorizedService", "codebuild.amazonaws.com"),
                         ArnEquals("ec2:Subnet", subnets)])),
    ]
