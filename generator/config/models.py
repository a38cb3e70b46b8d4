"""The app spec (`app.yaml`): pydantic models, frozen, unknown keys rejected, every field described.

Rules that involve more than one field live in `rules.py`, written as sentences.
"""
from __future__ import annotations

from ipaddress import IPv4Network
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

NAME_PATTERN = r"^[a-z][a-z0-9-]{0,18}[a-z0-9]$"
Name = Annotated[str, StringConstraints(pattern=NAME_PATTERN)]
AccountId = Annotated[str, StringConstraints(pattern=r"^\d{12}$")]
Region = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$")]
VpcId = Annotated[str, StringConstraints(pattern=r"^vpc-[0-9a-f]{8,17}$")]
SubnetId = Annotated[str, StringConstraints(pattern=r"^subnet-[0-9a-f]{8,17}$")]
NatMode = Literal["none", "single", "per-az"]
# The values CloudWatch Logs accepts for RetentionInDays.
RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192,
                  2557, 2922, 3288, 3653)
RetentionDays = Literal[RETENTION_DAYS]  # type: ignore[valid-type]
ServiceKind = Literal["web", "worker", "cron"]

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
    model_config = ConfigDict(extra="forbid", frozen=True)


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
    subnet_prefix: int = Field(
        20, ge=16, le=28, description="Prefix length of each subnet carved from the VPC CIDR (20 gives 4,096 addresses).")
    flow_log_retention_days: RetentionDays = Field(  # type: ignore[valid-type]
        30, description="Days VPC flow logs are kept in CloudWatch Logs.")
    interface_endpoints: bool = Field(
        False, description="Create interface endpoints for ECR (api, dkr), CloudWatch Logs and Secrets Manager, "
                           "so tasks in private subnets need no NAT for them.")


class ServiceSpec(Strict):
    """One container workload."""

    name: Name = Field(description="Lowercase service name, used in physical names (e.g. `api`).")
    kind: ServiceKind = Field(description="`web` (behind the load balancer), `worker` (no load balancer) or "
                                          "`cron` (a scheduled task).")
    port: int | None = Field(None, ge=1, le=65535, description="Container port. Required for `web` services.")
    cpu: int = Field(256, description="Fargate CPU units: 256, 512, 1024, 2048, 4096, 8192 or 16384.")
    memory: int = Field(512, description="Fargate memory in MiB; must be a valid combination with `cpu`.")
    schedule: str | None = Field(
        None, description="For `cron` services: an EventBridge expression such as `cron(0 3 * * ? *)` or `rate(1 hour)`.")
    health_check_path: str = Field("/health", pattern=r"^/", description="HTTP path the load balancer checks (web).")
    command: list[str] | None = Field(None, description="Overrides the image's command.")


class DatabaseSpec(Strict):
    """The app's relational database (validated now; its nested stack comes with the data stack)."""

    engine: Literal["aurora-postgresql", "aurora-mysql"] = Field(
        "aurora-postgresql", description="Aurora engine (Serverless v2).")
    engine_version: str = Field("16.4", description="Engine version, e.g. `16.4`.")
    name: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,62}$")] = Field(
        "app", description="Name of the database created in the cluster.")


class EnvironmentSpec(Strict):
    """One deployment target. Only what differs between environments belongs here."""

    production: bool = Field(False, description="Marks a production environment: it gets a stack policy that "
                                                "denies replacing or deleting stateful resources.")
    account_id: AccountId | None = Field(None, description="AWS account this environment lives in (12 digits).")
    cidr: IPv4Network = Field(description="The VPC CIDR (new VPC) or the existing VPC's CIDR, e.g. `10.10.0.0/16`.")
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


class AppSpec(Strict):
    """The whole app, described once; environments differ only through their block in `environments`."""

    app: Name = Field(description="Lowercase app name (2-20 characters), used in physical names and the "
                                  "Application tag.")
    owner: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9 ._:/=+@-]{1,128}$")] = Field(
        description="Team that owns the app; becomes the Owner tag.")
    region: Region = Field(description="AWS region, e.g. `eu-west-1`.")
    network: NetworkSpec = Field(default_factory=NetworkSpec, description="Network layout.")
    services: list[ServiceSpec] = Field(default_factory=list, description="Container workloads.")
    database: DatabaseSpec | None = Field(None, description="Relational database, if the app has one.")
    environments: dict[Name, EnvironmentSpec] = Field(
        min_length=1, description="Deployment targets in promotion order, e.g. dev, staging, prod.")

    def env_value(self, env: str, field: str):
        """An environment's override of a `network` tunable, or the network default."""
        value = getattr(self.environments[env], field)
        return getattr(self.network, field) if value is None else value
