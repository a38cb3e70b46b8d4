"""The app spec (`app.yaml`): pydantic models, frozen, unknown keys rejected, strict types (no "8080" for a port, no
1 for true), every field described.

Rules that involve more than one field live in `rules.py`, written as sentences.
"""
from __future__ import annotations

import difflib
from ipaddress import IPv4Network
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, Strict as StrictType, \
    StringConstraints

from generator import naming
from generator.config import aws_facts

NAME_PATTERN = naming.NAME_PATTERN
Name = Annotated[str, StringConstraints(pattern=NAME_PATTERN)]
AccountId = Annotated[str, StringConstraints(pattern=r"^[0-9]{12}$")]
INT32_MAX = 2**31 - 1  # counts are 32-bit integers in the ECS and Application Auto Scaling APIs


def _known_region(value: str) -> str:
    """The regions cfn-lint validates templates for (aws_facts); the lint gate would refuse any other."""
    if value in aws_facts.regions():
        return value
    close = difflib.get_close_matches(value, sorted(aws_facts.regions()), n=1, cutoff=0.8)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    raise ValueError(f"{value!r} is not an AWS region code; use one such as eu-west-1 or us-east-1{hint}")


Region = Annotated[str, AfterValidator(_known_region)]
VpcId = Annotated[str, StringConstraints(pattern=r"^vpc-[0-9a-f]{8,17}$")]
SubnetId = Annotated[str, StringConstraints(pattern=r"^subnet-[0-9a-f]{8,17}$")]
# A host name clients use (no wildcard): what a certificate must cover.
DomainName = Annotated[str, StringConstraints(
    max_length=253, pattern=r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")]
# An availability zone by name (`eu-west-1a`, mapped per account) or by zone ID (`euw1-az1`, the same everywhere).
ZoneRef = Annotated[str, StringConstraints(pattern=r"^([a-z]{2}(-[a-z]+)+-\d+[a-z]|[a-z]{2,6}\d+-az\d+)$")]
NatMode = Literal["none", "single", "per-az"]
# The values CloudWatch Logs accepts for RetentionInDays.
RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192,
                  2557, 2922, 3288, 3653)
RetentionDays = Literal[RETENTION_DAYS]  # type: ignore[valid-type]
ServiceKind = Literal["web", "worker", "cron"]


def _explicit_prefix(value: object) -> object:
    # ipaddress reads `10` or `10.0.0.0` as a /32; a CIDR in app.yaml must say its prefix length.
    if not isinstance(value, str) or "/" not in value:
        raise ValueError(f"{value!r} is not a CIDR; write the network with its prefix length, e.g. 10.10.0.0/16")
    return value


Cidr = Annotated[IPv4Network, StrictType(False), BeforeValidator(_explicit_prefix)]


def _not_blank(value: str) -> str:
    # Python's idea of blank (str.strip), the same the buildspec renderer uses: \x1c-\x1f are blank too.
    if not value.strip():
        raise ValueError(f"{value!r} is blank; write the text, or remove the entry")
    return value


# Text with at least one character that is not white space (a command, a list item).
NonBlank = Annotated[str, AfterValidator(_not_blank)]

# Fargate task sizes: cpu units -> the memory values (MiB) Fargate accepts with it.
FARGATE_SIZES: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4097, 1024)),
    1024: tuple(range(2048, 8193, 1024)),
    2048: tuple(range(4096, 16385, 1024)),
    4096: tuple(range(8192, 30721, 1024)),
    8192: tuple(range(16384, 61441, 4096)),
    16384: tuple(range(32768, 122881, 8192)),
}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


MAX_SUBNET_PREFIX = 27


def _load_balancer_subnet(prefix: int) -> int:
    # Elastic Load Balancing: "your subnets must have a CIDR block with at least a /27 bitmask ... and at least 8 free
    # IP addresses" (Application Load Balancers, "Subnets for your load balancer").
    if prefix > MAX_SUBNET_PREFIX:
        raise ValueError(f"/{prefix} subnets have {2 ** (32 - prefix)} addresses, but the load balancer needs a /27 or "
                         f"larger subnet (at least 8 free addresses); use a value from 16 to {MAX_SUBNET_PREFIX}")
    return prefix


class NetworkSpec(Strict):
    """Where the app runs. Values here are the defaults; each environment may override the tunables."""

    mode: Literal["new", "existing"] = Field(
        "new", description="`new` builds a VPC per environment; `existing` uses the VPC and subnets each environment names.")
    az_count: Literal[2, 3] = Field(
        2, description="Availability zones to spread subnets over (picked from the region at deploy time). "
                       "With 3, an environment may still choose 2.")
    nat: NatMode = Field(
        "single", description="Outbound internet for private subnets: `none`, `single` (one shared NAT gateway, "
                              "cheapest) or `per-az` (one per zone, survives a zone outage).")
    subnet_prefix: Annotated[int, AfterValidator(_load_balancer_subnet)] = Field(
        20, ge=16, json_schema_extra={"maximum": MAX_SUBNET_PREFIX},
        description="Prefix length of each subnet carved from the VPC CIDR (16-27; 20 gives 4,096 addresses; the load "
                    "balancer needs a /27 or larger).")
    flow_log_retention_days: RetentionDays = Field(  # type: ignore[valid-type]
        30, description="Days VPC flow logs are kept in CloudWatch Logs.")
    interface_endpoints: bool = Field(
        False, description="Create interface endpoints for ECR (api, dkr), CloudWatch Logs and Secrets Manager, "
                           "so tasks in private subnets need no NAT for them.")


# Per-service settings (services.md). Environment variable names as ECS and shells accept them.
EnvVarName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,254}$")]
# `secret-name:json-key` or `secret-name` (the whole secret string); the name may contain ${Application} and
# ${EnvironmentName}, so one app.yaml names each environment's secret. Never a secret value.
SECRET_REF_PATTERN = (r"^(?:[A-Za-z0-9/_+=.@!-]|\$\{(?:Application|EnvironmentName)\})+"
                      r"(?::[A-Za-z0-9_.@/+=-]+)?$")
SecretRef = Annotated[str, StringConstraints(pattern=SECRET_REF_PATTERN, max_length=512)]
# Characters an ALB path-pattern / host-header condition accepts (`*` and `?` are wildcards).
PathPattern = Annotated[str, StringConstraints(pattern=r"^/[A-Za-z0-9_.$/~\"'@:+&*?-]{0,127}$")]
HostPattern = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9*?.-]{1,128}$")]
# A URL path and query (RFC 3986 characters; a space is %20): the load balancer sends `GET <path> HTTP/1.1`, and the
# default container health check puts it into a shell command.
UrlPath = Annotated[str, StringConstraints(
    pattern=r"^/(?:[A-Za-z0-9._~!$&'()*+,;=:@/?-]|%[0-9A-Fa-f]{2}){0,1023}$")]
# The predefined ECS deployment configurations, exactly (case-sensitive; cfn-lint does not check them).
DEPLOYMENT_CONFIGS = (
    "CodeDeployDefault.ECSAllAtOnce",
    "CodeDeployDefault.ECSLinear10PercentEvery1Minutes",
    "CodeDeployDefault.ECSLinear10PercentEvery3Minutes",
    "CodeDeployDefault.ECSCanary10Percent5Minutes",
    "CodeDeployDefault.ECSCanary10Percent15Minutes",
)
DeploymentConfigName = Literal[DEPLOYMENT_CONFIGS]  # type: ignore[valid-type]
CATCH_ALL_PRIORITY = 50000  # the listener rule of the one web service without `routing`, evaluated last


class RoutingSpec(Strict):
    """Which requests reach a web service: one listener rule on the production and one on the test listener."""

    path_patterns: list[PathPattern] = Field(
        default_factory=list, description="Path patterns, e.g. `/api/*` (case-sensitive; `*` and `?` are wildcards).")
    hosts: list[HostPattern] = Field(
        default_factory=list, description="Host headers, e.g. `api.example.com` or `*.example.com`.")
    priority: int = Field(
        ge=1, le=CATCH_ALL_PRIORITY - 1,
        description="Listener rule priority (1-49999), unique across web services; the lowest matching one wins.")


class ServiceSpec(Strict):
    """One container workload."""

    name: Name = Field(description="Lowercase service name, used in physical names (e.g. `api`).")
    kind: ServiceKind = Field(description="`web` (behind the load balancer), `worker` (no load balancer) or "
                                          "`cron` (a scheduled task).")
    port: int | None = Field(None, ge=1, le=65535, description="Container port. Required for `web` services.")
    cpu: int = Field(256, description="Fargate CPU units: 256, 512, 1024, 2048, 4096, 8192 or 16384.")
    memory: int = Field(512, description="Fargate memory in MiB; must be a valid combination with `cpu`.")
    schedule: str | None = Field(
        None, description="For `cron` services: an EventBridge Scheduler expression such as `cron(0 3 * * ? *)` or "
                          "`rate(1 hour)`.")
    health_check_path: UrlPath = Field("/health", description="HTTP path the load balancer checks (web).")
    command: list[NonBlank] | None = Field(None, description="Overrides the image's command.")
    routing: RoutingSpec | None = Field(
        None, description="Web services: the paths and/or hosts that reach the service. Without it the service is "
                          "the catch-all (`/*`, evaluated last); at most one web service may omit it.")
    environment: dict[EnvVarName, str] = Field(
        default_factory=dict, description="Plain environment variables (never secrets), the same in every environment.")
    secrets: dict[EnvVarName, SecretRef] = Field(
        default_factory=dict,
        description="Environment variables read from Secrets Manager when a task starts: `NAME: secret-name:json-key` "
                    "(or `secret-name` for the whole secret string). The name may contain `${Application}` and "
                    "`${EnvironmentName}`. Names only, never values.")
    ephemeral_storage_gib: int | None = Field(
        None, ge=21, le=200, description="Task ephemeral storage in GiB (21-200); Fargate's default is 20.")
    health_check_command: list[NonBlank] | None = Field(
        None, description="Container health check, Docker form, e.g. `[\"CMD-SHELL\", \"curl -f "
                          "http://localhost:3000/health || exit 1\"]`. Default for web services: fetch "
                          "`health_check_path` on `port` with wget or curl; `[]` turns the container check off.")
    schedule_timezone: str = Field(
        "UTC", description="Cron services: the IANA time zone `schedule` is read in, e.g. `Europe/Berlin`.")


class ServiceEnvSpec(Strict):
    """One service's settings in one environment (`environments.<env>.services.<service>`). Each becomes a root
    parameter, so the service templates are the same for every environment."""

    desired_count: int | None = Field(
        None, ge=0, le=INT32_MAX, description="A fixed number of tasks: shorthand for `min_count` = `max_count` = this (0 keeps the "
                                "service stopped). Give either this or `min_count`/`max_count`.")
    min_count: int | None = Field(None, ge=0, le=INT32_MAX, description="Fewest tasks autoscaling keeps (default 1).")
    max_count: int | None = Field(
        None, ge=1, le=INT32_MAX, description="Most tasks autoscaling may run (default: `min_count`, at least 1).")
    cpu_scale_out: int = Field(70, ge=1, le=100, description="Average CPU % above which tasks are added.")
    cpu_scale_in: int = Field(
        30, ge=0, le=99, description="Average CPU % below which a task is removed; lower than `cpu_scale_out`.")
    requests_per_target: int | None = Field(
        None, ge=1, le=INT32_MAX, description="Web services: also scale to keep about this many requests per task and minute "
                                "(target tracking over both blue/green target groups). Off when omitted.")
    exec: bool = Field(
        False, description="Allow ECS Exec (`aws ecs execute-command`) into the service's tasks; applies to tasks "
                           "started after the change.")
    deployment_config: DeploymentConfigName = Field(  # type: ignore[valid-type]
        "CodeDeployDefault.ECSAllAtOnce",
        description="Web services: how CodeDeploy shifts production traffic to a release, e.g. "
                    "`CodeDeployDefault.ECSAllAtOnce` (dev) or `CodeDeployDefault.ECSCanary10Percent5Minutes` (prod).")
    wait_for_approval_minutes: int | None = Field(
        None, ge=1, le=2880,
        description="Web services: hold each release on the test listener until someone continues it "
                    "(`aws deploy continue-deployment`), at most this many minutes; then it stops and rolls back. "
                    "Off when omitted (traffic moves as soon as the new tasks are healthy).")
    termination_wait_minutes: int = Field(
        15, ge=0, le=2880, description="Web services: minutes the previous release keeps running after traffic moved "
                                       "(a rollback in that window is instant).")
    log_retention_days: RetentionDays = Field(  # type: ignore[valid-type]
        30, description="Days the service's container logs are kept.")

    @classmethod
    def of(cls, env: EnvironmentSpec, service: str) -> ServiceEnvSpec:
        """The settings of `service` in `env` (defaults when the environment does not list it)."""
        return env.services.get(service) or cls()

    def capacity(self) -> tuple[int, int]:
        """(min, max) task count."""
        if self.desired_count is not None:
            return self.desired_count, self.desired_count
        low = 1 if self.min_count is None else self.min_count
        return low, self.max_count if self.max_count is not None else max(low, 1)


class OffHoursSpec(Strict):
    """Non-production only: web services and workers scale to zero in the evening and back in the morning."""

    stop: str = Field(description="When to scale to zero, e.g. `cron(0 20 ? * MON-FRI *)` (six fields: "
                                          "minutes hours day-of-month month day-of-week year).")
    start: str = Field(description="When to scale back to `min_count`, e.g. `cron(0 7 ? * MON-FRI *)`.")
    timezone: str = Field("UTC", description="IANA time zone both times are read in, e.g. `Europe/Berlin` "
                                             "(daylight saving time is followed).")


DEFAULT_ENGINE_VERSION = "17.7"  # a current Aurora PostgreSQL version (a test checks it against cfn-lint's data)


class DatabaseSpec(Strict):
    """The app's relational database (validated now; its nested stack comes with the data stack)."""

    engine: Literal["aurora-postgresql", "aurora-mysql"] = Field(
        "aurora-postgresql", description="Aurora engine (Serverless v2).")
    engine_version: str = Field(
        DEFAULT_ENGINE_VERSION, description=f"Engine version, e.g. `{DEFAULT_ENGINE_VERSION}`; one RDS offers for new "
                                            "clusters (not deprecated).")
    name: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,62}$")] = Field(
        "app", description="Name of the database created in the cluster.")


class RegistrySpec(Strict):
    """The image registry: one ECR repository per service in every environment."""

    keep_releases: int = Field(
        20, ge=1, le=1000, description="Images kept per repository; older ones expire (rollback reaches this far back).")
    untagged_days: int = Field(
        7, ge=1, le=365, description="Days after push when untagged images (failed or superseded pushes) expire.")
    scan_type: Literal["basic", "enhanced"] = Field(
        "basic", description="Registry scanning on push: `basic` (free, OS packages) or `enhanced` (Amazon Inspector, "
                             "billed by Inspector, also language packages).")


class EnvironmentSpec(Strict):
    """One deployment target. Only what differs between environments belongs here."""

    production: bool = Field(False, description="Marks a production environment: it gets a stack policy that "
                                                "denies replacing or deleting stateful resources.")
    account_id: AccountId | None = Field(None, description="AWS account this environment lives in (12 digits).")
    cidr: Cidr = Field(description="The VPC CIDR (new VPC) or the existing VPC's CIDR, e.g. `10.10.0.0/16`.")
    az_count: Literal[2, 3] | None = Field(None, description="Overrides `network.az_count` (at most that value).")
    nat: NatMode | None = Field(None, description="Overrides `network.nat`.")
    flow_log_retention_days: RetentionDays | None = Field(  # type: ignore[valid-type]
        None, description="Overrides `network.flow_log_retention_days`.")
    interface_endpoints: bool | None = Field(None, description="Overrides `network.interface_endpoints`.")
    vpc_id: VpcId | None = Field(None, description="Existing-VPC mode only: the VPC to deploy into.")
    public_subnet_ids: list[SubnetId] | None = Field(
        None, description="Existing-VPC mode only: one public subnet per availability zone.")
    private_subnet_ids: list[SubnetId] | None = Field(
        None, description="Existing-VPC mode only: one private subnet per availability zone.")
    zones: list[ZoneRef] | None = Field(
        None, description="New-VPC mode: the availability zones of the subnets, in order, by zone ID (`euw1-az1`, "
                          "the same in every account) or by name (`eu-west-1a`); one per zone the environment "
                          "uses. Pins them: without it zones come from `Fn::GetAZs` at deploy time (only zones with "
                          "a default subnet, in an order that may change). Required in production.")
    services: dict[Name, ServiceEnvSpec] = Field(
        default_factory=dict, description="Per-service settings in this environment, keyed by service name: task "
                                          "counts, scaling, ECS Exec, release settings, log retention.")
    off_hours: OffHoursSpec | None = Field(
        None, description="Non-production only: stop web services and workers in the evening, start them in the "
                          "morning.")
    spot_share: int | None = Field(
        None, ge=0, le=100, multiple_of=10,
        description="Percent of tasks placed on FARGATE_SPOT (0-100 in steps of 10; the rest run on FARGATE). "
                    "Default: 0 in production, 50 elsewhere.")
    certificate_arn: Annotated[str, StringConstraints(
        pattern=r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/[0-9a-f-]{36}$")] | None = Field(
        None, description="ACM certificate for the load balancer. Given: HTTPS on 443 and HTTP redirects to it; "
                          "omitted: HTTP only.")
    domain_name: DomainName | None = Field(
        None, description="The DNS name clients use for this environment (a CNAME or alias record pointing at the "
                          "load balancer), covered by `certificate_arn`. The pipeline's test URL and approval "
                          "messages use it (`https://<domain_name>:8080`): the certificate cannot cover the load "
                          "balancer's own DNS name.")
    test_listener_cidr: Cidr | None = Field(
        None, description="The only network that may reach the test listener (port 8080), e.g. an office or VPN "
                          "CIDR. Default: the environment's `cidr`.")
    access_log_retention_days: RetentionDays | None = Field(  # type: ignore[valid-type]
        None, description="Days load balancer access logs are kept. Default: 365 in production, 90 elsewhere.")
    manage_registry_scanning: bool | None = Field(
        None, description="Whether this environment's stack owns the account-wide ECR registry scanning "
                          "configuration. Default: the last environment listed for each account.")


# The delivery pipeline (docs/pipeline.md).
ConnectionArn = Annotated[str, StringConstraints(
    pattern=r"^arn:aws[a-z-]*:(codestar-connections|codeconnections):[a-z0-9-]+:[0-9]{12}:connection/[0-9a-f-]{36}$")]
RepositoryId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}$")]


def _git_branch(name: str) -> str:
    """The rules of `git check-ref-format` that the character pattern leaves open."""
    parts = name.split("/")
    if ".." in name or "//" in name or name.endswith(("/", ".")) or \
            any(p.startswith(".") or p.endswith(".lock") for p in parts):
        raise ValueError(f"{name!r} is not a name git allows for a branch (no '..', '//', component starting with '.' "
                         "or ending in '.lock', and no '/' or '.' at the end); write the branch as `git branch` "
                         "shows it, e.g. main or release/2.1")
    return name


BranchName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$"),
                       AfterValidator(_git_branch)]
# A CodeBuild runtime version as the buildspec's runtime-versions take it: "20", "3.12", "corretto21", "latest".
RuntimeVersion = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")]
EmailAddress = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$",
                                                max_length=254)]
SecurityGroupId = Annotated[str, StringConstraints(pattern=r"^sg-[0-9a-f]{8,17}$")]
RelativePath = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-][A-Za-z0-9_./-]{0,199}$")]
Severity = Literal["INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL"]


class ImageBuildSpec(Strict):
    """Where a service's image is built from, relative to the repository root."""

    dockerfile: RelativePath | None = Field(
        None, description="The Dockerfile, relative to the repository root. Default: `<service>/Dockerfile`.")
    context: RelativePath | None = Field(
        None, description="The Docker build context directory, relative to the repository root. Default: "
                          "`<service>`.")


class TestNetworkSpec(Strict):
    """The network the integration tests run in (a VPC of the pipeline account)."""

    vpc_id: VpcId = Field(description="VPC of the test runner (CodeBuild) in the pipeline account.")
    subnet_ids: list[SubnetId] = Field(
        min_length=1, description="Private subnets of that VPC whose outbound traffic (NAT, VPN) comes from an "
                                  "address the test environment's `test_listener_cidr` admits.")
    security_group_ids: list[SecurityGroupId] = Field(
        min_length=1, max_length=5, description="Security groups of the test runner (outbound HTTP/HTTPS).")


class PipelineSpec(Strict):
    """The delivery pipeline: CodePipeline in the pipeline (tools) account, releasing to every environment in order.
    Without this block no pipeline template is generated."""

    account_id: AccountId = Field(description="AWS account the pipeline runs in (the tools account, 12 digits); "
                                              "environments may live in other accounts.")
    connection_arn: ConnectionArn = Field(
        description="ARN of an AVAILABLE CodeConnections (CodeStar) connection to GitHub in the pipeline account and "
                    "the app's region (the one-time console handshake: docs/pipeline.md).")
    repository: RepositoryId = Field(description="The GitHub repository, `owner/name` (app source, app.yaml and "
                                                 "this generator).")
    branch: BranchName = Field("main", description="The branch whose pushes start the pipeline.")
    notification_email: EmailAddress = Field(
        description="Receives the production approval requests (an SNS e-mail subscription, confirmed once).")
    fail_on: Severity = Field(  # type: ignore[valid-type]
        "MEDIUM", description="The scan gate fails a build when a finding has this severity or a higher one: "
                              "INFORMATIONAL, LOW, MEDIUM, HIGH or CRITICAL.")
    scan_timeout: int = Field(600, ge=60, le=3600, description="Seconds the scan gate waits for the scan result.")
    builds: dict[Name, ImageBuildSpec] = Field(
        default_factory=dict, description="Per service, where its image is built from (Dockerfile and context); "
                                          "services not listed use `<service>/Dockerfile` and `<service>`.")
    test_environment: Name | None = Field(
        None, description="The environment whose releases the integration tests gate (they run while its web "
                          "releases wait on the test listener). Default: `staging` when the app has one.")
    test_command: NonBlank | None = Field(
        None, description="The integration/UI test command (may span lines); reads `$TEST_URL` (the "
                                        "test listener) and writes JUnit XML under `test_reports_dir`. Without it "
                                        "no test step is generated.")
    test_install_commands: list[NonBlank] = Field(
        default_factory=list, description="Commands run before the tests, e.g. `npm ci`.")
    test_runtime_versions: dict[Annotated[str, StringConstraints(pattern=r"^[a-z]+$")], RuntimeVersion] = Field(
        default_factory=dict, description="CodeBuild runtime versions for the tests, e.g. `{nodejs: \"20\"}`.")
    test_ready_path: Annotated[str, StringConstraints(pattern=r"^/[A-Za-z0-9_./-]*$")] = Field(
        "/", description="Path polled on the test listener until it answers, before the tests start.")
    test_reports_dir: RelativePath = Field(
        "reports/junit", description="Directory of the JUnit XML files the tests write (published as a CodeBuild "
                                     "report).")
    test_network: TestNetworkSpec | None = Field(
        None, description="Run the tests inside a VPC of the pipeline account, so their traffic comes from an "
                          "address the test listener admits. Without it they run on CodeBuild's public addresses.")

    def build_of(self, service: str) -> tuple[str, str]:
        """(dockerfile, context) of a service's image."""
        spec = self.builds.get(service) or ImageBuildSpec()
        return spec.dockerfile or f"{service}/Dockerfile", spec.context or service


class AppSpec(Strict):
    """The whole app, described once; environments differ only through their block in `environments`."""

    app: Name = Field(description="Lowercase app name (2-20 characters), used in physical names and the "
                                  "Application tag.")
    owner: Annotated[str, StringConstraints(pattern=naming.TAG_VALUE_PATTERN)] = Field(
        description="Team that owns the app; becomes the Owner tag.")
    region: Region = Field(description="AWS region, e.g. `eu-west-1`: one the pinned cfn-lint validates templates for.")
    network: NetworkSpec = Field(default_factory=NetworkSpec, description="Network layout.")
    services: list[ServiceSpec] = Field(default_factory=list, description="Container workloads.")
    database: DatabaseSpec | None = Field(None, description="Relational database, if the app has one.")
    registry: RegistrySpec = Field(default_factory=RegistrySpec, description="Image repositories and their "
                                                                            "lifecycle.")
    environments: dict[Name, EnvironmentSpec] = Field(
        min_length=1, description="Deployment targets in promotion order, e.g. dev, staging, prod.")
    pipeline: PipelineSpec | None = Field(
        None, description="The delivery pipeline (CodePipeline, one per app) and its cross-account deploy role. "
                          "Without it no pipeline template is generated.")

    def test_environment(self) -> str | None:
        """The environment whose releases the integration tests gate (None: no test step)."""
        if self.pipeline is None or self.pipeline.test_command is None:
            return None
        if self.pipeline.test_environment is not None:
            return self.pipeline.test_environment
        return "staging" if "staging" in self.environments else None

    def account_of(self, env: str) -> str:
        """An environment's account: its `account_id`, else the pipeline's account."""
        explicit = self.environments[env].account_id
        if explicit is not None:
            return explicit
        if self.pipeline is None:
            raise ValueError(f"environment {env} names no account_id and the app has no pipeline")
        return self.pipeline.account_id

    def env_value(self, env: str, field: str):
        """An environment's override of a `network` tunable, or the network default."""
        value = getattr(self.environments[env], field)
        return getattr(self.network, field) if value is None else value
