"""Names and the conventions they follow, in one place: the generator, the pipeline and the deploy scripts import
them from here, so a mismatch fails the build, never the deploy.

Templates are environment-agnostic, so a physical name is a `Sub` over the Application and
EnvironmentName parameters; both are lowercase by constraint, so names stay valid for ECR and S3.
"""
from __future__ import annotations

from troposphere import Ref, Select, Split, Sub

ENVIRONMENT_PARAM = "EnvironmentName"
APPLICATION_PARAM = "Application"
OWNER_PARAM = "Owner"

NAME_PATTERN = r"^[a-z][a-z0-9-]{0,18}[a-z0-9]$"
MAX_NAME_LENGTH = 20
# What a tag value may hold (the Owner tag): the characters AWS tagging allows, 1-128 of them.
TAG_VALUE_PATTERN = r"^[A-Za-z0-9 ._:/=+@-]{1,128}$"
# A Docker image tag (the `<Service>ImageTag` parameters, `make deploy IMAGE_TAG=...`).
IMAGE_TAG_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"
BUCKET_NAME_LENGTH = 63           # S3's limit
STACK_ID_SUFFIX_LENGTH = 12       # the last group of the stack id's UUID


def physical_name(*parts: str, sep: str = "-") -> Sub:
    """`<application>-<environment>-<parts...>`, e.g. physical_name("vpc-flow-logs")."""
    suffix = sep.join(parts)
    return Sub(sep.join([f"${{{APPLICATION_PARAM}}}", f"${{{ENVIRONMENT_PARAM}}}"] + ([suffix] if suffix else [])))


def bucket_name_length(app: str, env: str, part: str) -> int:
    """The length of `bucket_name(part)` for one app and environment."""
    return len(app) + len(env) + len(part) + STACK_ID_SUFFIX_LENGTH + 3


def bucket_name(part: str, checked: bool = True) -> Sub:
    """`<application>-<environment>-<part>-<12 hex digits of this stack's id>`: an explicit, globally unique bucket
    name that keeps the `<app>-<env>-` prefix its grants match. A name CloudFormation generates starts with the nested
    stack's name cut to fit 63 characters, which loses the prefix with long app and environment names; the stack id
    part makes it unique per stack (a recreated stack does not collide with a retained bucket)."""
    longest = bucket_name_length("a" * MAX_NAME_LENGTH, "e" * MAX_NAME_LENGTH, part)
    if checked and longest > BUCKET_NAME_LENGTH:
        raise ValueError(f"bucket name part {part!r} is too long: names could reach {longest} characters")
    suffix = Select(4, Split("-", Select(2, Split("/", Ref("AWS::StackId")))))
    return Sub(f"${{{APPLICATION_PARAM}}}-${{{ENVIRONMENT_PARAM}}}-{part}-${{Suffix}}", Suffix=suffix)


def role_path() -> Sub:
    """`/<application>/<environment>/`: the path of every role an environment's stacks create.

    Those roles are unnamed, so CloudFormation names them `<stack>-<logical id>-<random>` cut to IAM's 64 characters;
    with long app and environment names the nested stack's name loses its `<app>-<env>-` prefix and a grant on
    `role/<app>-<env>-*` stops matching. A path survives any generated name, so grants name these roles by path
    (`role_grant_pattern`)."""
    return Sub(f"/${{{APPLICATION_PARAM}}}/${{{ENVIRONMENT_PARAM}}}/")


def role_grant_pattern(env: str) -> str:
    """The ARN resource part that matches every role of `env` (a Sub template: `${Application}` stays)."""
    return f"role/${{{APPLICATION_PARAM}}}/{env}/*"


SERVICE_LOGS = "services"         # service log groups: /<app>/<env>/services/<service>


def log_group_name(*parts: str) -> Sub:
    """CloudWatch log groups live under one prefix per app and environment."""
    return Sub("/".join([f"/${{{APPLICATION_PARAM}}}", f"${{{ENVIRONMENT_PARAM}}}", *parts]))


def pascal(name: str) -> str:
    """`my-svc` -> `MySvc`: a lowercase name as it enters logical IDs and parameter names."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("-"))


def service_stack(service: str) -> str:
    """Logical ID of a service's nested stack: `api` -> `ServiceApi`."""
    return f"Service{pascal(service)}"


def service_parameter(service: str, setting: str) -> str:
    """A per-service root parameter: `service_parameter("api", "MinCount")` -> `ApiMinCount`."""
    return f"{pascal(service)}{setting}"


# --- stacks and what operators and the pipeline find on them ---------------------------------------------------------

def stack_name(app: str, env: str) -> str:
    """The root stack of an environment: `<app>-<env>`. CloudFormation names its nested stacks
    `<root>-<LogicalId>-<suffix>`."""
    return f"{app}-{env}"


def stack_name_sub(env: str) -> str:
    """The same name in a `Sub` template of the pipeline's templates (Application is their parameter)."""
    return stack_name(f"${{{APPLICATION_PARAM}}}", env)


def root_output(stack_logical_id: str, output: str) -> str:
    """A nested stack's output as the root stack re-exports it: `Cluster` + `LoadBalancerDns`."""
    return f"{stack_logical_id}{output}"


def codedeploy_name(app: str, env: str, service: str) -> str:
    """A web service's CodeDeploy application and deployment group (the same name): `<app>-<env>-<service>`, what
    `physical_name(service)` gives inside the service stack."""
    return f"{app}-{env}-{service}"


def resource_name(app: str, env: str, part: str) -> str:
    """What `physical_name(part)` gives in environment `env`: a service's ECR repository, task definition family,
    cron state machine (`<app>-<env>-<service>`), as the day-2 commands look them up."""
    return f"{app}-{env}-{part}"


def cluster_name(app: str, env: str) -> str:
    """The ECS cluster, `physical_name()`: `<app>-<env>`."""
    return f"{app}-{env}"


def service_log_group(app: str, env: str, service: str) -> str:
    """A service's log group, `log_group_name(SERVICE_LOGS, service)` in environment `env`."""
    return f"/{app}/{env}/{SERVICE_LOGS}/{service}"


def template_bucket(app: str, account: str, region: str) -> str:
    """The bucket `make package` uploads templates to: one per app, account and region."""
    return f"{app}-templates-{account}-{region}"


# --- the pipeline's roles (named by convention, so the two accounts' templates name each other) -------------------
DEPLOY_ROLE = "pipeline-deploy"          # in each target account, assumed by the pipeline's roles
CLOUDFORMATION_ROLE = "cloudformation"   # in each target account: CloudFormation's role for the <app>-<env> stacks
RELEASE_ROLE = "pipeline-release"        # in the pipeline account: runs the CodeBuild steps that act in environments
MIGRATE_ROLE = "migrate"                 # `<app>-<env>-migrate`, path /<app>/<env>/: the pipeline's Migrate action


def role_name(role: str) -> str:
    """A role named by convention, in a `Sub` template: `${Application}-<role>`."""
    return f"${{{APPLICATION_PARAM}}}-{role}"


def role_arn(role: str, account: str = "${AWS::AccountId}") -> str:
    """Its ARN in a `Sub` template; `account` is a Sub variable such as `${Account}` or `${AWS::AccountId}`."""
    return f"arn:${{AWS::Partition}}:iam::{account}:role/{role_name(role)}"
