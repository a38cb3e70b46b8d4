"""The network's spec: `network:` in app.yaml (NetworkSpec), its per-environment settings (NetworkEnv: fields of
`environments.<env>`, each a root parameter) and the rules about them."""
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import AfterValidator, Field, computed_field

from generator.components.base import EnvInputs, Param, cidr_pattern
from generator.components.network import zones
from generator.config.types import Cidr, EnvironmentPart, NatMode, RetentionDays, Strict, SubnetId, VpcId, ZoneRef
from generator.errors import Problem

if TYPE_CHECKING:
    from generator.config import AppSpec

GROUP = "Network"
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


def vpc_cidr_pattern(app: "AppSpec") -> str:
    """The masks the subnet layout fits in: six subnets of `network.subnet_prefix` in a new VPC (a rule says so)."""
    largest = app.network.subnet_prefix - 3 if app.network.mode == "new" else 28
    return cidr_pattern(range(16, largest + 1))


ZoneKind = Literal["ids", "names", "region"]


class NetworkEnv(EnvironmentPart):
    """An environment's network (fields of `environments.<env>`)."""

    cidr: Annotated[Cidr, Param(
        "VPC CIDR", name="VpcCidr", pattern=vpc_cidr_pattern,
        constraint="an IPv4 CIDR such as 10.10.0.0/16 with a mask the subnet layout fits in")] = Field(
        description="The VPC CIDR (new VPC: subnets are carved from it) or the existing VPC's CIDR (for security group "
                    "rules), e.g. `10.10.0.0/16`.")
    az_count: Annotated[Literal[2, 3] | None, Param("Availability zones", type="String")] = Field(
        None, description="Availability zones the environment uses, at most `network.az_count` (its default).")
    nat: Annotated[NatMode | None, Param("NAT gateways", name="NatMode")] = Field(
        None, description="Outbound internet for private subnets: `none`, `single` (one NAT gateway) or `per-az` (one "
                          "per zone). Default: `network.nat`.")
    flow_log_retention_days: Annotated[RetentionDays | None,  # type: ignore[valid-type]
                                       Param("Flow log retention (days)")] = Field(
        None, description="Days VPC flow logs are kept. Default: `network.flow_log_retention_days`.")
    interface_endpoints: Annotated[bool | None, Param("Interface endpoints", name="EnableInterfaceEndpoints")] = Field(
        None, description="Create interface endpoints for ECR, CloudWatch Logs and Secrets Manager (private subnets "
                          "then reach them without NAT). Default: `network.interface_endpoints`.")
    vpc_id: Annotated[VpcId | None, Param("Existing VPC", type="AWS::EC2::VPC::Id")] = Field(
        None, description="Existing-VPC mode only: the VPC to deploy into.")
    public_subnet_ids: Annotated[list[SubnetId] | None, Param(
        "Existing public subnets", type="List<AWS::EC2::Subnet::Id>")] = Field(
        None, description="Existing-VPC mode only: one public subnet per availability zone (load balancer).")
    private_subnet_ids: Annotated[list[SubnetId] | None, Param(
        "Existing private subnets", type="List<AWS::EC2::Subnet::Id>")] = Field(
        None, description="Existing-VPC mode only: one private subnet per availability zone (tasks, databases).")
    zones: Annotated[list[ZoneRef] | None, Param("Pinned zones", name="AvailabilityZones", absent="")] = Field(
        None, description="New-VPC mode: the availability zones of the subnets, in order, by zone ID (`euw1-az1`, "
                          "the same in every account) or by name (`eu-west-1a`); one per zone the environment "
                          "uses. Pins them: without it zones come from `Fn::GetAZs` at deploy time (only zones with "
                          "a default subnet, in an order that may change). Required in production.")

    @computed_field(description="How the subnets' zones are chosen: ids or names (pinned, AvailabilityZones lists "
                                "them), or region (Fn::GetAZs at deploy time: only zones with a default subnet, in an "
                                "order that may change).")
    @property
    def zone_kind(self) -> Annotated[ZoneKind, Param("Zones chosen by", name="AvailabilityZoneKind")]:
        return zones.kind(self.zones)


def settings(app: "AppSpec", env: str) -> NetworkEnv:
    """An environment's network settings, defaults from `network:` filled in."""
    spec = app.environments[env]
    return spec.model_copy(update={f: app.env_value(env, f) for f in
                                   ("az_count", "nat", "flow_log_retention_days", "interface_endpoints")})


def env_inputs(app: "AppSpec") -> EnvInputs[NetworkEnv]:
    return EnvInputs(NetworkEnv, GROUP, settings, app=app)


# --- rules -------------------------------------------------------------------------------------------------------

def az_override_within_network(app: "AppSpec") -> Iterator[Problem]:
    """An environment's `az_count` is at most `network.az_count`."""
    for name, env in app.environments.items():
        if env.az_count is not None and env.az_count > app.network.az_count:
            yield Problem(f"environments.{name}.az_count",
                          f"{env.az_count} is more than network.az_count ({app.network.az_count}); "
                          f"raise network.az_count or lower this")


def cidr_fits_subnets(app: "AppSpec") -> Iterator[Problem]:
    """Each environment's CIDR is a /16 or smaller network with room for six subnets of `network.subnet_prefix`."""
    largest = app.network.subnet_prefix - 3  # 6 subnets need 8 slots of the subnet size
    for name, env in app.environments.items():
        loc = f"environments.{name}.cidr"
        if env.cidr.prefixlen < 16:
            yield Problem(loc, f"{env.cidr} is larger than a VPC can be; use a /16 to /{largest} network"
                          if app.network.mode == "new" else f"{env.cidr} is larger than a VPC can be; give the "
                                                            "existing VPC's CIDR (a /16 or smaller)")
        elif app.network.mode == "new" and env.cidr.prefixlen > largest:
            yield Problem(loc, f"{env.cidr} has no room for six /{app.network.subnet_prefix} subnets; "
                               f"use a /16 to /{largest} network or raise network.subnet_prefix")


def existing_vpc_ids(app: "AppSpec") -> Iterator[Problem]:
    """In `existing` mode every environment names its VPC and one public and one private subnet per zone;
    in `new` mode none does."""
    ids = ("vpc_id", "public_subnet_ids", "private_subnet_ids")
    for name, env in app.environments.items():
        loc = f"environments.{name}"
        if app.network.mode == "existing":
            for field in ids:
                if getattr(env, field) is None:
                    yield Problem(f"{loc}.{field}", "required when network.mode is 'existing'; add it or set "
                                                    "network.mode: new")
            want = app.env_value(name, "az_count")
            for field in ids[1:]:
                got = getattr(env, field)
                if got is not None and len(got) != want:
                    yield Problem(f"{loc}.{field}", f"give exactly {want} subnet IDs, one per availability zone "
                                                    f"(got {len(got)})")
        else:
            for field in ids:
                if getattr(env, field) is not None:
                    yield Problem(f"{loc}.{field}", "only used when network.mode is 'existing'; remove it "
                                                    "or set network.mode: existing")


def private_subnets_reach_aws(app: "AppSpec") -> Iterator[Problem]:
    """In a new VPC, an environment with `nat: none` has `interface_endpoints` (without a NAT gateway or the endpoints,
    tasks cannot pull images, write logs or read secrets), and none of its services allows `exec` (ECS Exec needs the
    ssmmessages endpoint, which the network stack does not create)."""
    if app.network.mode != "new" or not app.services:
        return
    for name, env in app.environments.items():
        if app.env_value(name, "nat") != "none":
            continue
        loc = f"environments.{name}.nat" if env.nat is not None else "network.nat"
        if not app.env_value(name, "interface_endpoints"):
            yield Problem(loc, f"nat is none and interface_endpoints is off in {name}: tasks in the private subnets "
                               "could not pull images from ECR, write logs or read secrets; set interface_endpoints: "
                               "true or choose nat: single")
            continue
        for svc, spec in sorted(env.services.items()):
            if spec.exec:
                yield Problem(f"environments.{name}.services.{svc}.exec",
                              f"ECS Exec needs the ssmmessages endpoint, and with nat: none {name} has no other way "
                              "to reach it; remove exec here or choose nat: single")


RULES = (az_override_within_network, cidr_fits_subnets, existing_vpc_ids, private_subnets_reach_aws,
         zones.zones_fit_the_environment, zones.production_pins_zones)
