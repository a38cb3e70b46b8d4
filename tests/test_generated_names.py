"""Every physical name, chosen or generated, falls inside the grant that lets CloudFormation create it (issue #8,
item 7), for the longest app and environment names the spec allows.

CloudFormation names a resource without an explicit name `<stack name>-<logical id>-<random>` cut to the service's
limit (64 characters for an IAM role, 63 for a bucket, 80 for a queue), and nested stacks are named
`<app>-<env>-<LogicalId>-<random>`: with 20-character app and environment names the `<app>-<env>-` prefix does not
survive the cut, and a grant on `<app>-<env>-*` stops matching (aws-reference §8 "Generated physical names are
truncated"; observed in public issue threads, e.g. aws-samples/sample-autonomous-cloud-coding-agents#865). So the
templates give every role the path `/<app>/<env>/` (grants match the path, whatever the name) and name buckets and
queues explicitly, and this test proves, for drawn app/environment names and regions, that:

- each resource whose name the templates choose resolves to a name within the service's length limit that the
  grant for its create action matches (the CloudFormation role of deploy-role.yaml for the environment stacks, the
  pipeline stack's role for pipeline.yaml);
- each resource whose name CloudFormation generates is matched whatever that name is (modelled as an arbitrary
  string of the service's maximum length that does not start with the prefix);
- each resource addressed by an id AWS generates is granted on `*`;
- the pipeline stack's IAM grants reach neither the deploy role, the environments' CloudFormation role, nor the
  environments' roles (issue #8, item 10), even when the pipeline account hosts an environment.

IAM evaluation itself is not available offline; matching is IAM's glob semantics (`*`, `?`) on the resolved ARN.
"""
from __future__ import annotations

import fnmatch
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from troposphere import encode_to_dict

from generator import naming, pipeline, root
from generator.config import load_app
from generator.config.models import NAME_PATTERN
from generator.pipeline import common, deploy_role, environment_permissions
from generator.pipeline.grants import document
from tests.support import DEFAULT_APP, ROOT

BASE = load_app(DEFAULT_APP)
ACCOUNT, PIPELINE_ACCOUNT = "123456789012", "111111111111"
LONGEST_REGIONS = ("ap-southeast-2", "ap-northeast-3", "eu-central-2", "us-gov-west-1")
GENERATED = object()    # a name CloudFormation generates

# type -> (name property, ARN format, create action, the service's name length limit)
NAMED = {
    "AWS::IAM::Role": ("RoleName", "arn:aws:iam::{account}:role{path}{name}", "iam:CreateRole", 64),
    "AWS::IAM::ManagedPolicy": ("ManagedPolicyName", "arn:aws:iam::{account}:policy{path}{name}", "iam:CreatePolicy",
                                128),
    "AWS::S3::Bucket": ("BucketName", "arn:aws:s3:::{name}", "s3:CreateBucket", 63),
    "AWS::SQS::Queue": ("QueueName", "arn:aws:sqs:{region}:{account}:{name}", "sqs:CreateQueue", 80),
    "AWS::Logs::LogGroup": ("LogGroupName", "arn:aws:logs:{region}:{account}:log-group:{name}", "logs:CreateLogGroup",
                            512),
    "AWS::ECR::Repository": ("RepositoryName", "arn:aws:ecr:{region}:{account}:repository/{name}",
                             "ecr:CreateRepository", 256),
    "AWS::ECS::Cluster": ("ClusterName", "arn:aws:ecs:{region}:{account}:cluster/{name}", "ecs:CreateCluster", 255),
    "AWS::ECS::Service": ("ServiceName", "arn:aws:ecs:{region}:{account}:service/{cluster}/{name}",
                          "ecs:CreateService", 255),
    "AWS::ECS::TaskDefinition": ("Family", "arn:aws:ecs:{region}:{account}:task-definition/{name}:1",
                                 "ecs:TagResource", 255),
    "AWS::StepFunctions::StateMachine": ("StateMachineName", "arn:aws:states:{region}:{account}:stateMachine:{name}",
                                         "states:CreateStateMachine", 80),
    "AWS::Scheduler::Schedule": ("Name", "arn:aws:scheduler:{region}:{account}:schedule/default/{name}",
                                 "scheduler:CreateSchedule", 64),
    "AWS::CodeDeploy::Application": ("ApplicationName", "arn:aws:codedeploy:{region}:{account}:application:{name}",
                                     "codedeploy:CreateApplication", 100),
    "AWS::CodeDeploy::DeploymentGroup": (
        "DeploymentGroupName", "arn:aws:codedeploy:{region}:{account}:deploymentgroup:{application}/{name}",
        "codedeploy:CreateDeploymentGroup", 100),
    "AWS::CloudWatch::Alarm": ("AlarmName", "arn:aws:cloudwatch:{region}:{account}:alarm:{name}",
                               "cloudwatch:PutMetricAlarm", 255),
    "AWS::CloudWatch::CompositeAlarm": ("AlarmName", "arn:aws:cloudwatch:{region}:{account}:alarm:{name}",
                                        "cloudwatch:PutCompositeAlarm", 255),
    "AWS::CloudWatch::Dashboard": ("DashboardName", "arn:aws:cloudwatch::{account}:dashboard/{name}",
                                   "cloudwatch:PutDashboard", 255),
    "AWS::CloudFormation::Stack": (None, "arn:aws:cloudformation:{region}:{account}:stack/{name}/{uuid}",
                                   "cloudformation:CreateStack", 128),
    "AWS::SNS::Topic": ("TopicName", "arn:aws:sns:{region}:{account}:{name}", "sns:CreateTopic", 256),
    "AWS::Events::Rule": ("Name", "arn:aws:events:{region}:{account}:rule/{name}", "events:PutRule", 64),
    "AWS::Serverless::Function": ("FunctionName", "arn:aws:lambda:{region}:{account}:function:{name}",
                                  "lambda:CreateFunction", 64),
    "AWS::Lambda::Permission": ("FunctionName", "arn:aws:lambda:{region}:{account}:function:{name}",
                                "lambda:AddPermission", 64),
    "AWS::CodeBuild::Project": ("Name", "arn:aws:codebuild:{region}:{account}:project/{name}",
                                "codebuild:CreateProject", 150),
    "AWS::CodePipeline::Pipeline": ("Name", "arn:aws:codepipeline:{region}:{account}:{name}",
                                    "codepipeline:CreatePipeline", 100),
    "AWS::KMS::Alias": ("AliasName", "arn:aws:kms:{region}:{account}:{name}", "kms:CreateAlias", 256),
    # The database's resources have no name of their own (a restore or an engine upgrade replaces them), so their
    # grants cover the account's RDS resources of each kind (generator/components/database/types.py).
    "AWS::RDS::DBCluster": ("DBClusterIdentifier", "arn:aws:rds:{region}:{account}:cluster:{name}",
                            "rds:CreateDBCluster", 63),
    "AWS::RDS::DBInstance": ("DBInstanceIdentifier", "arn:aws:rds:{region}:{account}:db:{name}",
                             "rds:CreateDBInstance", 63),
    "AWS::RDS::DBSubnetGroup": ("DBSubnetGroupName", "arn:aws:rds:{region}:{account}:subgrp:{name}",
                                "rds:CreateDBSubnetGroup", 255),
    "AWS::RDS::DBClusterParameterGroup": ("DBClusterParameterGroupName",
                                          "arn:aws:rds:{region}:{account}:cluster-pg:{name}",
                                          "rds:CreateDBClusterParameterGroup", 255),
    "AWS::RDS::DBParameterGroup": ("DBParameterGroupName", "arn:aws:rds:{region}:{account}:pg:{name}",
                                   "rds:CreateDBParameterGroup", 255),
    "AWS::CloudFront::Function": ("Name", "arn:aws:cloudfront::{account}:function/{name}", "cloudfront:CreateFunction",
                                  64),
}
# Types addressed by ids AWS generates (vpc-…, sg-…, a load balancer's or key's id): their create action is granted
# on every resource ("*", or key/* for keys), so no name can fall outside it.
ID_ADDRESSED = {
    "AWS::EC2::VPC": "ec2:CreateVpc", "AWS::EC2::Subnet": "ec2:CreateSubnet",
    "AWS::EC2::InternetGateway": "ec2:CreateInternetGateway", "AWS::EC2::VPCGatewayAttachment":
        "ec2:AttachInternetGateway", "AWS::EC2::EIP": "ec2:AllocateAddress", "AWS::EC2::NatGateway":
        "ec2:CreateNatGateway", "AWS::EC2::RouteTable": "ec2:CreateRouteTable", "AWS::EC2::Route": "ec2:CreateRoute",
    "AWS::EC2::SubnetRouteTableAssociation": "ec2:AssociateRouteTable",
    "AWS::EC2::SecurityGroup": "ec2:CreateSecurityGroup", "AWS::EC2::SecurityGroupIngress":
        "ec2:AuthorizeSecurityGroupIngress", "AWS::EC2::VPCEndpoint": "ec2:CreateVpcEndpoint",
    "AWS::EC2::FlowLog": "ec2:CreateFlowLogs",
    "AWS::ElasticLoadBalancingV2::LoadBalancer": "elasticloadbalancing:CreateLoadBalancer",
    "AWS::ElasticLoadBalancingV2::TargetGroup": "elasticloadbalancing:CreateTargetGroup",
    "AWS::ElasticLoadBalancingV2::Listener": "elasticloadbalancing:CreateListener",
    "AWS::ElasticLoadBalancingV2::ListenerRule": "elasticloadbalancing:CreateRule",
    "AWS::ApplicationAutoScaling::ScalableTarget": "application-autoscaling:RegisterScalableTarget",
    "AWS::ApplicationAutoScaling::ScalingPolicy": "application-autoscaling:PutScalingPolicy",
    "AWS::ECR::RegistryScanningConfiguration": "ecr:PutRegistryScanningConfiguration",
    "AWS::KMS::Key": "kms:CreateKey",
    "AWS::S3::BucketPolicy": "s3:PutBucketPolicy",   # on its bucket, whose name is checked above
    "AWS::SQS::QueuePolicy": "sqs:SetQueueAttributes",   # on its queues, whose names are checked above
    "AWS::SNS::Subscription": "sns:Subscribe",       # on its topic, whose name is checked above
    "AWS::SNS::TopicPolicy": "sns:SetTopicAttributes",   # the same
    # CloudFront ARNs end in ids it generates (E2ABC...): granted on <type>/* in the account
    "AWS::CloudFront::Distribution": "cloudfront:CreateDistribution",
    "AWS::CloudFront::OriginAccessControl": "cloudfront:CreateOriginAccessControl",
    "AWS::CloudFront::ResponseHeadersPolicy": "cloudfront:CreateResponseHeadersPolicy",
    "AWS::Route53::RecordSet": "route53:ChangeResourceRecordSets",   # in the environment's hosted zone
}
ID_PREFIXES = {"AWS::CloudFront::Distribution": ":distribution/*",
               "AWS::CloudFront::OriginAccessControl": ":origin-access-control/*",
               "AWS::CloudFront::ResponseHeadersPolicy": ":response-headers-policy/*",
               "AWS::Route53::RecordSet": ":hostedzone/*"}
ON_A_NAMED_RESOURCE = ("AWS::S3::BucketPolicy", "AWS::SQS::QueuePolicy", "AWS::SNS::Subscription",
                       "AWS::SNS::TopicPolicy")
BUCKET_POLICY_TARGET = "Bucket"

names = st.from_regex(NAME_PATTERN, fullmatch=True)
longest = "a" * 18 + "z9"


class Unresolvable(Exception):
    pass


def resolve(value: Any, ctx: dict[str, str], resources: dict[str, dict]) -> str:
    """A property as the string CloudFormation makes of it, for the intrinsic functions names use."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        (fn, arg), = value.items()
        if fn == "Ref":
            if arg in ctx:
                return ctx[arg]
            if arg in resources and resources[arg]["Type"] in NAMED:
                name = physical(resources[arg], ctx, resources)
                if name is not GENERATED:
                    return name
            raise Unresolvable(arg)
        if fn == "Fn::Sub":
            text, variables = (arg, {}) if isinstance(arg, str) else arg
            local = {k: resolve(v, ctx, resources) for k, v in variables.items()}
            return re.sub(r"\$\{([^}!]+)\}", lambda m: local.get(m[1]) or resolve({"Ref": m[1]}, ctx, resources), text)
        if fn == "Fn::Select":
            index, items = arg
            items = resolve(items, ctx, resources) if isinstance(items, dict) else items
            return resolve(items[int(index)], ctx, resources) if isinstance(items, list) else items.split(",")[int(index)]
        if fn == "Fn::Split":
            delimiter, source = arg
            return resolve(source, ctx, resources).split(delimiter)  # type: ignore[return-value]
        if fn == "Fn::Join":
            delimiter, items = arg
            return delimiter.join(resolve(i, ctx, resources) for i in items)
    raise Unresolvable(repr(value))


def physical(resource: dict, ctx: dict[str, str], resources: dict[str, dict]) -> Any:
    prop = NAMED[resource["Type"]][0]
    value = (resource.get("Properties") or {}).get(prop) if prop else None
    return GENERATED if value is None else resolve(value, ctx, resources)


def glob(pattern: str, text: str) -> bool:
    return fnmatch.fnmatchcase(text, pattern.replace("[", "[[]"))


def statements(grants) -> list[dict]:
    return encode_to_dict(document(grants))["Statement"]


def allowing(stmts: list[dict], action: str, ctx: dict[str, str]) -> list[str]:
    """The resolved resource patterns of every Allow statement that allows `action`."""
    found = []
    for st_ in stmts:
        actions = st_["Action"] if isinstance(st_["Action"], list) else [st_["Action"]]
        if st_["Effect"] == "Allow" and any(glob(a.lower(), action.lower()) for a in actions):
            found += [resolve(r, ctx, {}) for r in st_["Resource"]]
    return found


def context(app: str, env: str, region: str, account: str) -> dict[str, str]:
    return {"Application": app, "EnvironmentName": env, "AWS::Region": region, "AWS::AccountId": account,
            "AWS::Partition": "aws", "PipelineAccountId": PIPELINE_ACCOUNT,
            "AWS::StackId": f"arn:aws:cloudformation:{region}:{account}:stack/{app}-{env}-Nested-1A2B3C4D5E6F7/"
                            "c3f1e2d4-5a6b-4c7d-8e9f-0a1b2c3d4e5f"}


def long_service_names() -> dict[str, str]:
    """Each service of the default app under a 20-character name (the longest the spec allows)."""
    return {svc.name: f"{svc.name}-{'x' * (18 - len(svc.name))}{i}" for i, svc in enumerate(BASE.services)}


def renamed(app: str, envs: list[str], services: dict[str, str] | None = None):
    """The default app with other app, environment (and service) names."""
    services = services or {svc.name: svc.name for svc in BASE.services}
    specs = list(BASE.environments.values())
    environments = {name: specs[i % len(specs)].model_copy(update={"services": {
        services[k]: v for k, v in specs[i % len(specs)].services.items()}}) for i, name in enumerate(envs)}
    pipe = BASE.pipeline.model_copy(update={"test_environment": envs[min(1, len(envs) - 1)],
                                            "builds": {services[k]: v for k, v in BASE.pipeline.builds.items()}})
    return BASE.model_copy(update={"app": app, "environments": environments, "pipeline": pipe, "services": [
        svc.model_copy(update={"name": services[svc.name]}) for svc in BASE.services]})


def arn_of(resource: dict, name: str, ctx: dict[str, str], resources: dict[str, dict], cluster: str) -> str:
    rtype = resource["Type"]
    props = resource.get("Properties") or {}
    path = resolve(props["Path"], ctx, resources) if "Path" in props else "/"
    application = ""
    if rtype == "AWS::CodeDeploy::DeploymentGroup":
        application = resolve(props["ApplicationName"], ctx, resources)
    return NAMED[rtype][1].format(account=ctx["AWS::AccountId"], region=ctx["AWS::Region"], path=path, name=name,
                                  cluster=cluster, application=application, uuid="c3f1e2d4")


RANDOM = "1A2B3C4D5E6F7"    # the 13-character suffix CloudFormation appends


def worst_generated(rtype: str, logical_id: str, ctx: dict[str, str], stack: str = "") -> str:
    """The name CloudFormation generates: `<stack name>-<logical id>-<random>`; where that exceeds the service's
    limit it is cut in ways AWS does not document, so the worst case is a name that keeps nothing of the prefix."""
    limit = NAMED[rtype][3]
    if rtype == "AWS::CloudFormation::Stack":   # nested stacks: <root stack>-<LogicalId>-<random>
        stack = f"{ctx['Application']}-{ctx['EnvironmentName']}"
    name = f"{stack}-{logical_id}-{RANDOM}"
    return name if stack and len(name) <= limit else ("GeneratedName-" + "x" * limit)[:limit]


def stack_names(templates: dict[str, dict], top: str, name: str) -> dict[str, str]:
    """File -> the name CloudFormation gives the stack made from it (`top` is deployed as `name`)."""
    names = {top: name}
    for parent in list(names):
        for lid, r in (templates[parent].get("Resources") or {}).items():
            url = (r.get("Properties") or {}).get("TemplateURL", "")
            if r["Type"] == "AWS::CloudFormation::Stack" and isinstance(url, str) and url.startswith("./"):
                names[url[2:]] = f"{name}-{lid}-{RANDOM}"
    return names


def problems_of_tree(templates: dict[str, dict], stmts: list[dict], ctx: dict[str, str], cluster: str,
                     who: str, stacks: dict[str, str] | None = None) -> list[str]:
    found = []
    for file, template in sorted(templates.items()):
        stack = (stacks or {}).get(file, "")
        resources = template.get("Resources") or {}
        for lid, resource in resources.items():
            rtype = resource["Type"]
            where = f"{file}:{lid} ({rtype})"
            if rtype in ID_ADDRESSED:
                patterns = allowing(stmts, ID_ADDRESSED[rtype], ctx)
                ends = (":key/*", ID_PREFIXES.get(rtype, ":key/*"))
                if not any(p == "*" or p.endswith(ends) for p in patterns) and rtype not in ON_A_NAMED_RESOURCE:
                    found.append(f"{where}: {who} grants {ID_ADDRESSED[rtype]} only on {patterns}")
                continue
            if rtype not in NAMED:
                found.append(f"{where}: no rule for this type in tests/test_generated_names.py")
                continue
            try:
                name = physical(resource, ctx, resources)
            except Unresolvable as e:
                found.append(f"{where}: cannot resolve its name ({e})")
                continue
            if name is GENERATED:
                name = worst_generated(rtype, lid, ctx, stack)
            elif len(name) > NAMED[rtype][3]:
                found.append(f"{where}: {name!r} is {len(name)} characters, over the limit of {NAMED[rtype][3]}")
            if rtype == "AWS::IAM::Role":
                path = resolve(resource["Properties"].get("Path", "/"), ctx, resources)
                if not re.fullmatch(r"/([\x21-\x7e]*/)?", path) or len(path) > 512:
                    found.append(f"{where}: path {path!r} is not a valid IAM path")
            arn = arn_of(resource, name, ctx, resources, cluster)
            action = NAMED[rtype][2]
            if not any(glob(p, arn) for p in allowing(stmts, action, ctx)):
                found.append(f"{where}: {arn} is outside every grant of {action} by {who}")
    return found


def environment_problems(app: str, envs: list[str], region: str, long_services: bool = False) -> list[str]:
    spec = renamed(app, envs, long_service_names() if long_services else None)
    build = root.build(spec)
    templates = {name: t.to_dict() for name, t in build.templates().items()}
    types = {r["Type"] for t in templates.values() for r in (t.get("Resources") or {}).values()}
    stmts = statements(environment_permissions.environment_stack(spec, types))
    found = []
    for env in envs:
        ctx = context(app, env, region, ACCOUNT)
        cluster = next(resolve(r["Properties"]["ClusterName"], ctx, {}) for t in templates.values()
                       for r in (t.get("Resources") or {}).values() if r["Type"] == "AWS::ECS::Cluster")
        stacks = stack_names(templates, root.ROOT_FILE, f"{app}-{env}")
        found += problems_of_tree(templates, stmts, ctx, cluster, f"the CloudFormation role ({env})", stacks)
        # the deploy role passes the environment's task roles to ECS when it registers a release's task definition
        passed = allowing(statements(deploy_role.deploy_grants(spec)), "iam:PassRole", ctx)
        role_arn = f"arn:aws:iam::{ACCOUNT}:role/{app}/{env}/{worst_generated('AWS::IAM::Role', 'TaskRole', ctx)}"
        if not any(glob(p, role_arn) for p in passed):
            found.append(f"deploy role ({env}): cannot pass {role_arn}")
    return found


SETTINGS = settings(max_examples=12, derandomize=True, database=None, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(app=names, envs=st.lists(names, min_size=1, max_size=3, unique=True), region=st.sampled_from(LONGEST_REGIONS),
       long_services=st.booleans())
@example(app=longest, envs=["e" * 19 + "1", "f" * 19 + "2", "g" * 19 + "3"], region="ap-southeast-2",
         long_services=True)
@example(app="ab", envs=["ab"], region="us-east-1", long_services=False)
def test_every_environment_name_falls_inside_its_grant(app, envs, region, long_services):
    assert environment_problems(app, envs, region, long_services) == []


@settings(max_examples=4, derandomize=True, database=None, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(app=names, envs=st.lists(names, min_size=2, max_size=3, unique=True))
@example(app=longest, envs=["e" * 19 + "1", "f" * 19 + "2", "g" * 19 + "3"])
def test_every_pipeline_name_falls_inside_the_pipeline_stack_roles_grants(app, envs):
    spec = renamed(app, envs, long_service_names())
    files = pipeline.build(spec, root.build(spec))
    templates = {name: t.to_dict() for name, t in files.templates.items() if name != common.DEPLOY_ROLE_TEMPLATE}
    from generator.pipeline import permissions
    stmts = statements(permissions.pipeline_stack(spec))
    ctx = {**context(app, "pipeline", "ap-southeast-2", PIPELINE_ACCOUNT), "PipelineStackName": f"{app}-pipeline",
           "ConnectionArn": spec.pipeline.connection_arn, "AWS::StackName": f"{app}-pipeline"}
    stacks = stack_names(templates, common.TEMPLATE, f"{app}-pipeline")
    assert problems_of_tree(templates, stmts, ctx, "", "the pipeline stack's role", stacks) == []


@pytest.mark.parametrize("app", [longest, "ab"])
def test_the_pipeline_stack_role_reaches_no_role_of_a_target_account(app):
    """In an account that hosts both the pipeline and an environment, the pipeline stack's role (whose stack the
    branch controls through the self-update) can neither change nor pass the deploy role, the environments'
    CloudFormation role or any role of an environment (issue #8, item 10)."""
    from generator.pipeline import permissions
    spec = renamed(app, ["e" * 19 + "1", "dev"])
    ctx = context(app, "pipeline", "eu-west-1", PIPELINE_ACCOUNT)
    stmts = [s for s in statements(permissions.pipeline_stack(spec))
             if any(a.startswith("iam:") for a in s["Action"])]
    targets = [f"arn:aws:iam::{PIPELINE_ACCOUNT}:role/{app}-{common.DEPLOY_ROLE}",
               f"arn:aws:iam::{PIPELINE_ACCOUNT}:role/{app}-{common.CLOUDFORMATION_ROLE}",
               f"arn:aws:iam::{PIPELINE_ACCOUNT}:role/{app}/dev/{app}-dev-ServiceApi-TaskRole-ABC",
               f"arn:aws:iam::{PIPELINE_ACCOUNT}:policy/{app}-{common.CLOUDFORMATION_ROLE}-1"]
    reach = [(s["Sid"], t) for s in stmts for t in targets
             if any(glob(resolve(r, ctx, {}), t) for r in s["Resource"])]
    assert reach == []
    # while every role the pipeline stack creates stays within reach
    own = [f"arn:aws:iam::{PIPELINE_ACCOUNT}:role/{app}-{r}" for r in common.PIPELINE_ACCOUNT_ROLES]
    manage = next(s for s in stmts if s["Sid"] == "ManageRoles")
    assert all(any(glob(resolve(r, ctx, {}), t) for r in manage["Resource"]) for t in own)


def test_a_role_without_the_path_falls_outside_its_grant_with_long_names():
    """The check finds what the path fixes: the same role without `Path` has a generated name that a grant on
    `role/<app>-<env>-*` or on the path does not match."""
    spec = renamed(longest, ["e" * 19 + "1"])
    build = root.build(spec)
    templates = {name: t.to_dict() for name, t in build.templates().items()}
    del templates["network.yaml"]["Resources"]["FlowLogRole"]["Properties"]["Path"]
    types = {r["Type"] for t in templates.values() for r in (t.get("Resources") or {}).values()}
    stmts = statements(environment_permissions.environment_stack(spec, types))
    ctx = context(longest, "e" * 19 + "1", "eu-west-1", ACCOUNT)
    stacks = stack_names(templates, root.ROOT_FILE, f"{longest}-{'e' * 19}1")
    found = problems_of_tree({"network.yaml": templates["network.yaml"]}, stmts, ctx, "", "the role", stacks)
    generated = worst_generated("AWS::IAM::Role", "FlowLogRole", ctx, stacks["network.yaml"])
    assert generated.startswith("GeneratedName-")    # 41 + 8 + 13 + 12 + 3 characters do not fit in 64
    assert found == [f"network.yaml:FlowLogRole (AWS::IAM::Role): arn:aws:iam::{ACCOUNT}:role/{generated} is outside "
                     "every grant of iam:CreateRole by the role"]


def test_every_role_of_an_environment_stack_has_the_environment_path():
    for name, template in root.build(BASE).templates().items():
        for lid, resource in template.resources.items():
            if resource.resource_type == "AWS::IAM::Role":
                assert resource.properties["Path"].to_dict() == {"Fn::Sub": "/${Application}/${EnvironmentName}/"}, \
                    (name, lid)
    assert naming.role_grant_pattern("dev") == "role/${Application}/dev/*"


def test_a_bucket_name_part_that_could_overflow_is_refused():
    assert naming.bucket_name("alb-logs")   # 20 + 20 + 8 + 12 + 3 = 63
    with pytest.raises(ValueError, match="could reach 64 characters"):
        naming.bucket_name("alb-logs1")
