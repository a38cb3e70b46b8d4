"""The app spec (`app.yaml`): pydantic models, frozen, unknown keys rejected, strict types (no "8080" for a port, no
1 for true), every field described.

Rules that involve more than one field live in `rules.py`, written as sentences.
"""
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StringConstraints

from generator import naming
from generator.components.bucket import BucketSpec
from generator.components.cache import CachesEnv, CacheSpec
from generator.components.access import AccessEnvSpec
from generator.components.cluster import ClusterEnv
from generator.components.database import DatabaseEnvironment, DatabaseSpec
from generator.components.database.spec import DEFAULT_ENGINE_VERSION  # noqa: F401 - schema.py and tests read it
from generator.components.environment import EnvironmentCore
from generator.components.filesystem import FileSystemsEnv, FileSystemSpec
from generator.components.monitoring import MonitoringEnv, MonitoringSpec
from generator.components.frontend import FrontendEnv, FrontendSpec
from generator.components.network import NetworkEnv, NetworkSpec
from generator.components.queue import QueueSpec
from generator.components.registry import RegistryEnv, RegistrySpec
from generator.components.service import ServicesEnv
from generator.components.table import TablesEnv, TableSpec
from generator.components.service.spec import (  # noqa: F401 - also looked up here by messages.py
    CATCH_ALL_PRIORITY, DEPLOYMENT_CONFIGS, SECRET_REF_PATTERN, EnvVarName, HostPattern, OffHoursSpec, PathPattern,
    RoutingSpec, SecretRef, ServiceEnvSpec, ServiceSpec, UrlPath)
from generator.config.types import (  # noqa: F401 - the shared field types, also looked up here by messages.py
    FARGATE_SIZES, INT32_MAX, NAME_PATTERN, RETENTION_DAYS, AccountId, Cidr, DomainName, EmailAddress, IamPrincipal,
    Name, NatMode, NonBlank, RelativePath, SnsTopicArn,
    Region, RetentionDays, ServiceKind, Strict, SubnetId, VpcId, ZoneRef, empty_list)


class EnvironmentSpec(AccessEnvSpec, MonitoringEnv, DatabaseEnvironment, FileSystemsEnv, TablesEnv, CachesEnv,
                      RegistryEnv, ClusterEnv, ServicesEnv, NetworkEnv, EnvironmentCore, defer_build=False):
    """One deployment target. Only what differs between environments belongs here: what every environment says about
    itself (EnvironmentCore) and each component's per-environment settings (network, services, cluster, registry,
    database, caches, tables, file systems), which enter the templates as root parameters."""
    # (The docstring is the JSON schema's description.) Its validator is built when the class is defined
    # (`defer_build=False`): its bases, the EnvironmentParts, defer theirs (generator/config/types.py).

    frontend: FrontendEnv | None = Field(
        None, description="The environment's frontend and CloudFront settings (domains, certificate, DNS zone, "
                          "price class, WAF); only with the app's `frontend` block.")


# The delivery pipeline (docs/pipeline.md).
ConnectionArn = Annotated[str, StringConstraints(
    pattern=r"^arn:aws[a-z-]*:(codestar-connections|codeconnections):[a-z0-9-]+:[0-9]{12}:connection/[0-9a-f-]{36}$")]
RepositoryId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}$")]
KmsKeyArn = Annotated[str, StringConstraints(
    pattern=r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/(mrk-[0-9a-f]{32}|[0-9a-f-]{36})$")]


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
SecurityGroupId = Annotated[str, StringConstraints(pattern=r"^sg-[0-9a-f]{8,17}$")]
Severity = Literal["INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL"]


# A file path pattern of a push filter (CodePipeline V2 triggers: glob patterns, `**` for any depth), relative to
# the repository root.
PathFilter = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.*?{}\[\]-][A-Za-z0-9_.*?{}\[\]/,-]{0,254}$")]
FILE_PATHS_PER_FILTER = 8   # GitFilePathFilterCriteria Includes: at most 8 patterns
MAX_EXTRA_SOURCES = 5       # the Promote action's SOURCE_COMMITS (about 70 characters a source) within 1000


class SourceSpec(Strict):
    """A further GitHub repository of the pipeline (through the same connection): a push to its branch starts a
    release, and builds may take their context from it (`pipeline.builds.<service>.source`)."""

    name: Name = Field(description="The source's name: builds name it in `source`; the pipeline's source action, "
                                   "artifact and variables are `Source<Name>`.")
    repository: RepositoryId = Field(description="The GitHub repository, `owner/name`.")
    branch: BranchName = Field("main", description="The branch whose pushes start the pipeline.")
    paths: list[PathFilter] = Field(
        default_factory=empty_list, max_length=FILE_PATHS_PER_FILTER,
        description="Only a push that changes a file matching one of these glob patterns (relative to the "
                    "repository root, `**` for any depth, at most 8) starts the pipeline. Default: any push.")


class ImageBuildSpec(Strict):
    """Where a service's image is built from, relative to the root of its source's repository."""

    dockerfile: RelativePath | None = Field(
        None, description="The Dockerfile, relative to the repository root. Default: `<service>/Dockerfile`.")
    context: RelativePath | None = Field(
        None, description="The Docker build context directory, relative to the repository root. Default: "
                          "`<service>`.")
    source: Name | None = Field(
        None, description="The pipeline source whose repository holds the Dockerfile and context: `pipeline."
                          "source_name` or a name from `pipeline.sources`. Default: the pipeline's repository.")


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
    paths: list[PathFilter] = Field(
        default_factory=empty_list, max_length=FILE_PATHS_PER_FILTER,
        description="Only a push to `repository` that changes a file matching one of these glob patterns "
                    "(`**` for any depth, at most 8) starts the pipeline. Default: any push.")
    source_name: Name = Field("app", description="The name of the `repository` source (which holds app.yaml: the "
                                                 "self-update reads it there), as builds name it in `source`.")
    sources: list[SourceSpec] = Field(
        default_factory=empty_list, max_length=MAX_EXTRA_SOURCES,
        description="Further GitHub repositories (through the same connection), e.g. the application code when "
                    "app.yaml and the infrastructure live apart: a push to any source starts a release, and each "
                    "release records the commit of every source (sources.json, `make status`). At most 5: the "
                    "Promote action carries every source's commit in one configuration value (1000 characters).")
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
        default_factory=empty_list, description="Commands run before the tests, e.g. `npm ci`.")
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

    artifact_keys: dict[Region, KmsKeyArn] = Field(
        default_factory=dict, description="Per region of an environment outside the app's region: the `KeyArn` "
                                          "output of the pipeline's support stack there (its artifact store's KMS "
                                          "key; docs/pipeline.md, \"Environments in other regions\").")

    def build_of(self, service: str) -> tuple[str, str]:
        """(dockerfile, context) of a service's image."""
        spec = self.builds.get(service) or ImageBuildSpec()
        return spec.dockerfile or f"{service}/Dockerfile", spec.context or service

    def source_of(self, service: str) -> str:
        """The name of the source a service's image is built from."""
        spec = self.builds.get(service)
        return (spec.source if spec is not None else None) or self.source_name


class ManualStepSpec(Strict):
    """A step outside this project's reach (an identity provider, a payment provider, a DNS zone someone else owns):
    `make runbooks` writes it into runbooks/<env>/manual-steps.md as a checklist per environment."""

    title: NonBlank = Field(description="What is set up, e.g. `Register the app with the identity provider`.")
    why: NonBlank | None = Field(None, description="Why it is needed and who owns the other side.")
    steps: list[NonBlank] = Field(min_length=1, description="The steps, in order; `{env}`, `{app}` and `{domain}` "
                                                            "are replaced per environment.")
    environments: list[Name] | None = Field(
        None, description="The environments that need it (default: every environment).")
    verify: NonBlank | None = Field(None, description="How to check it worked.")


class MigrateSpec(Strict):
    """The database migration each deploy runs once, with the new image, before traffic moves (docs/database.md)."""

    service: Name = Field(description="The service whose image, task definition and network the migration task uses; "
                                      "it must use the database.")
    command: list[NonBlank] = Field(min_length=1, description="The container command of the one-off task, e.g. "
                                                              "`[npm, run, migrate]`; a non-zero exit stops the "
                                                              "release.")


class AppSpec(Strict):
    """The whole app, described once; environments differ only through their block in `environments`."""

    app: Name = Field(description="Lowercase app name (2-20 characters), used in physical names and the "
                                  "Application tag.")
    owner: Annotated[str, StringConstraints(pattern=naming.TAG_VALUE_PATTERN)] = Field(
        description="Team that owns the app; becomes the Owner tag.")
    region: Region = Field(description="AWS region, e.g. `eu-west-1`: one the pinned cfn-lint validates templates for.")
    network: NetworkSpec = Field(default_factory=NetworkSpec, description="Network layout.")
    services: list[ServiceSpec] = Field(default_factory=empty_list, description="Container workloads.")
    database: DatabaseSpec | None = Field(None, description="Relational database, if the app has one.")
    migrate: MigrateSpec | None = Field(
        None, description="A migration task run once per deploy, after the stack update and before traffic moves; "
                          "production takes a cluster snapshot first.")
    caches: list[CacheSpec] = Field(default_factory=empty_list, description="ElastiCache caches (Valkey or Redis OSS).")
    queues: list[QueueSpec] = Field(default_factory=empty_list, description="SQS queues, each with a dead-letter queue.")
    tables: list[TableSpec] = Field(default_factory=empty_list, description="DynamoDB tables.")
    buckets: list[BucketSpec] = Field(default_factory=empty_list, description="Private S3 buckets.")
    file_systems: list[FileSystemSpec] = Field(default_factory=empty_list, description="EFS file systems services mount.")
    frontend: FrontendSpec | None = Field(
        None, description="A static single-page app on S3 behind CloudFront, which also fronts the web services' "
                          "paths (docs/frontend.md).")
    registry: RegistrySpec = Field(default_factory=RegistrySpec, description="Image repositories and their "
                                                                            "lifecycle.")
    monitoring: MonitoringSpec = Field(default_factory=MonitoringSpec, description="Alarm thresholds, the same in "
                                       "every environment (who is told: `environments.<env>.alerts`).")
    environments: dict[Name, EnvironmentSpec] = Field(
        min_length=1, description="Deployment targets in promotion order, e.g. dev, staging, prod.")
    pipeline: PipelineSpec | None = Field(
        None, description="The delivery pipeline (CodePipeline, one per app) and its cross-account deploy role. "
                          "Without it no pipeline template is generated.")
    manual_steps: list[ManualStepSpec] = Field(
        default_factory=empty_list, description="Third-party setup done by hand, per environment (runbooks/<env>/"
                                          "manual-steps.md).")

    def test_environment(self) -> str | None:
        """The environment whose releases the integration tests gate (None: no test step)."""
        if self.pipeline is None or self.pipeline.test_command is None:
            return None
        if self.pipeline.test_environment is not None:
            return self.pipeline.test_environment
        return "staging" if "staging" in self.environments else None

    def region_of(self, env: str) -> str:
        """An environment's region: its `region`, else the app's."""
        return self.environments[env].region or self.region

    def regions(self) -> list[str]:
        """Every region in use: the app's first, then the environments' own in the order they appear."""
        return list(dict.fromkeys([self.region, *(self.region_of(e) for e in self.environments)]))

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
