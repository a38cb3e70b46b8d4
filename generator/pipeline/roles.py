"""The pipeline account's roles, each limited to what its step does (docs/pipeline.md, "Who may do what"), in
their own nested template (pipeline-roles.yaml): their policies would make pipeline.yaml large. Resources of
pipeline.yaml are named by their fixed names (`<app>-pipeline...`), except the KMS key (an input: its id is random).
"""
from __future__ import annotations

from awacs.aws import ArnEquals, Condition, StringEquals
from troposphere import GetAtt, Ref, Sub, iam

from generator import naming
from generator.config import AppSpec
from generator.pipeline import approvals, common, migrate, regions
from generator.pipeline import permissions as perms
from generator.pipeline.grants import Grant, document, grant
from generator.policies import assume_role
from generator.records import record
from generator.wiring import OutputRef, ParentValue, StackBuilder

TEMPLATE = "pipeline-roles.yaml"
LOGICAL_ID = "Roles"
STACK_ROLE_ID = "PipelineStackRole"   # CloudFormation's role for the pipeline stack (the gate checks its grants)
PROJECTS = Sub("arn:${AWS::Partition}:codebuild:${AWS::Region}:${AWS::AccountId}:project/${Application}-pipeline-*")
BUCKET = "arn:${AWS::Partition}:s3:::${Application}-pipeline-${AWS::AccountId}-${AWS::Region}"
# Log stream prefixes of the projects the self-update role runs (pipeline-builds.yaml, `Project.name`).
SELF_UPDATE_STREAMS = ("self-update", "update")
LOG_GROUP = "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/codebuild/${Application}-pipeline"


@record(frozen=True)
class RoleArns:
    """Each role's ARN as the other stacks consume it (an output of this stack); None where the app needs no such
    role."""

    pipeline: OutputRef
    stack: OutputRef
    self_update: OutputRef
    build: OutputRef | None      # None when the app has no services (nothing to build or promote)
    release: OutputRef | None
    tests: OutputRef | None
    reroute: OutputRef | None


def build(app: AppSpec, b: StackBuilder, key: ParentValue, stack_name: ParentValue) -> RoleArns:
    """pipeline-roles.yaml. `key`: the pipeline's KMS key ARN; `stack_name`: the pipeline's own stack."""
    own_stack = Sub("arn:${AWS::Partition}:cloudformation:${AWS::Region}:${AWS::AccountId}:stack/${Name}/*",
                    Name=b.input(stack_name))
    connection = b.input(common.parameter(app, "ConnectionArn"))
    for env in app.environments:
        b.input(common.parameter(app, common.account_parameter(env)))
    for region in common.other_regions(app):
        b.input(common.parameter(app, common.key_parameter(region)))
    key = b.input(key)
    t = b.template
    waiting = approvals.targets(app)
    tests = app.test_environment() is not None
    gate = approvals.has_gate_function(app)
    objects = Sub(f"{BUCKET}/*")
    deploy_roles = [target.deploy_role() for target in common.targets(app)]
    build_repositories = [perms.arn("ecr", f"repository/${{Application}}-pipeline-{svc.name}") for svc in app.services]

    def role(title: str, name: str, service: str, grants: list[Grant], description: str) -> iam.Role:
        return b.add(iam.Role(
            title, RoleName=Sub(naming.role_name(name)), Description=Sub(f"${{Application}} pipeline: {description}"),
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
        *regions.store_grants(app, write=True),
        grant("UseConnection", "codestar-connections:UseConnection codeconnections:UseConnection", connection),
        grant("RunBuilds", "codebuild:StartBuild codebuild:BatchGetBuilds codebuild:StopBuild", PROJECTS),
        grant("ActInEnvironmentAccounts", "sts:AssumeRole", deploy_roles),
        grant("NotifyApprovers", "sns:Publish", perms.arn("sns", "${Application}-pipeline-approvals")),
        *([grant("RunTheReleaseGate", "lambda:InvokeFunction", perms.arn("lambda", "function:${Application}-pipeline-"
                                                                            "release-gate")),
           grant("FindTheReleaseGate", "lambda:ListFunctions",
                 why_any="lambda:ListFunctions has no resource type; CodePipeline's Lambda invoke action lists the "
                         "functions (as CDK's LambdaInvokeAction grants it)")] if gate else []),
    ], "runs the pipeline; assumes each environment's deploy role for its actions there")
    stack = b.add(iam.Role(
        STACK_ROLE_ID, RoleName=Sub(f"${{Application}}-{common.STACK_ROLE}"),
        Description=Sub("${Application} pipeline: CloudFormation role that updates the pipeline's own stack"),
        AssumeRolePolicyDocument=assume_role("cloudformation.amazonaws.com"), MaxSessionDuration=3600,
        ManagedPolicyArns=[Ref(p) for p in perms.managed_policies(
            t, "PipelineStackPolicy", perms.pipeline_stack(app), "updates the pipeline stack",
            name=Sub(f"${{Application}}-{common.STACK_ROLE}"))]))
    # The UpdatePipeline step deploys the packaged pipeline.yaml with `aws cloudformation deploy --s3-bucket`, which
    # uploads it and passes a TemplateURL (awscli customizations/cloudformation/deployer.py): the calls it makes on
    # the stack, reading the template it uploaded, and handing the stack's own role to CloudFormation.
    self_update = role("SelfUpdateRole", common.SELF_UPDATE_ROLE, "codebuild.amazonaws.com", [
        build_logs(*SELF_UPDATE_STREAMS), rw_artifacts, use_key, *regions.store_grants(app, write=True),
        grant("UpdateOwnStack", "cloudformation:DescribeStacks cloudformation:GetTemplateSummary "
              "cloudformation:CreateChangeSet cloudformation:DescribeChangeSet cloudformation:ExecuteChangeSet",
              own_stack),
        perms.sam_transform("ExpandServerlessTransform"),
        grant("PassStackRole", "iam:PassRole", common.role_arn(common.STACK_ROLE),
              Condition(StringEquals("iam:PassedToService", "cloudformation.amazonaws.com"))),
    ], "regenerates and packages the templates, then deploys the pipeline's own stack (self-update)")
    frontend = common.builds_frontend(app)
    builder = role("BuildRole", common.BUILD_ROLE, "codebuild.amazonaws.com", [
        # the frontend's build writes its output artifact; image builds only read the source
        build_logs("build-*"), rw_artifacts if frontend else read_artifacts, use_key,
        *([ecr_login, grant("PushAndScanBuildImages", "ecr:BatchGetImage ecr:GetDownloadUrlForLayer "
                            "ecr:BatchCheckLayerAvailability ecr:InitiateLayerUpload ecr:UploadLayerPart "
                            "ecr:CompleteLayerUpload ecr:PutImage ecr:DescribeImages ecr:DescribeImageScanFindings",
                            build_repositories)] if app.services else []),
    ], "builds, pushes and scans the images" + (" and builds the frontend" if frontend else "")
    ) if app.services or frontend else None
    release = role("ReleaseRole", common.RELEASE_ROLE, "codebuild.amazonaws.com", [
        build_logs("promote", "release-*", "protect", *(["publish-frontend"] if frontend else []),
                   *([migrate.PROJECT_NAME] if migrate.needed(app) else [])), rw_artifacts, use_key,
        *([ecr_login, grant("PullBuildImages", "ecr:BatchGetImage ecr:GetDownloadUrlForLayer "
                            "ecr:BatchCheckLayerAvailability ecr:DescribeImages", build_repositories)]
          if app.services else []),
        grant("ActInEnvironmentAccounts", "sts:AssumeRole", deploy_roles),
        *([grant("MigrateInEnvironmentAccounts", "sts:AssumeRole", [
            Sub(migrate.role_arn(env), Account=Ref(common.account_parameter(env))) for env in migrate.environments(app)])]
          if migrate.needed(app) else []),
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

    def out(title: str, role: iam.Role | None) -> OutputRef | None:
        return None if role is None else b.output(f"{title}Arn", GetAtt(role, "Arn"), f"ARN of {title}")
    return RoleArns(pipeline=out("PipelineRole", pipeline), stack=out(STACK_ROLE_ID, stack),
                    self_update=out("SelfUpdateRole", self_update), build=out("BuildRole", builder),
                    release=out("ReleaseRole", release), tests=out("TestsRole", tester),
                    reroute=out("RerouteRole", reroute))


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
