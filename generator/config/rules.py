"""Rules that span several fields of the app spec. Each rule's docstring is the sentence the README shows."""
from __future__ import annotations

from collections.abc import Callable, Iterator

from generator.config.models import FARGATE_SIZES, AppSpec
from generator.errors import Problem

Rule = Callable[[AppSpec], Iterator[Problem]]
RULES: list[Rule] = []


def rule(fn: Rule) -> Rule:
    RULES.append(fn)
    return fn


def check(app: AppSpec) -> list[Problem]:
    return [p for r in RULES for p in r(app)]


@rule
def unique_service_names(app: AppSpec) -> Iterator[Problem]:
    """Service names are unique."""
    seen: set[str] = set()
    for svc in app.services:
        if svc.name in seen:
            yield Problem(f"services.{svc.name}", f"duplicate service name '{svc.name}': give each service its own name")
        seen.add(svc.name)


@rule
def service_kind_fields(app: AppSpec) -> Iterator[Problem]:
    """A `web` service has a `port`; a `cron` service has a `schedule`, and only cron services have one."""
    for svc in app.services:
        loc = f"services.{svc.name}"
        if svc.kind == "web" and svc.port is None:
            yield Problem(f"{loc}.port", "a web service needs the container port the load balancer sends traffic to")
        if svc.kind == "cron" and not svc.schedule:
            yield Problem(f"{loc}.schedule", "a cron service needs a schedule, e.g. 'cron(0 3 * * ? *)' or 'rate(1 hour)'")
        if svc.kind != "cron" and svc.schedule:
            yield Problem(f"{loc}.schedule", f"only cron services run on a schedule; remove it or set kind: cron")
        if svc.schedule and not (svc.schedule.startswith(("cron(", "rate(", "at(")) and svc.schedule.endswith(")")):
            yield Problem(f"{loc}.schedule", f"'{svc.schedule}' is not an EventBridge expression; "
                                             "write 'cron(m h dom mon dow yr)' or 'rate(n unit)'")


@rule
def fargate_size(app: AppSpec) -> Iterator[Problem]:
    """`cpu` and `memory` form a combination Fargate accepts."""
    for svc in app.services:
        loc = f"services.{svc.name}"
        if svc.cpu not in FARGATE_SIZES:
            choices = ", ".join(str(c) for c in FARGATE_SIZES)
            yield Problem(f"{loc}.cpu", f"{svc.cpu} is not a Fargate CPU size; choose one of {choices}")
        elif svc.memory not in FARGATE_SIZES[svc.cpu]:
            mems = FARGATE_SIZES[svc.cpu]
            choices = ", ".join(str(m) for m in mems) if len(mems) <= 8 else f"{mems[0]} to {mems[-1]} in steps of {mems[1] - mems[0]}"
            yield Problem(f"{loc}.memory", f"{svc.memory} MiB does not fit cpu {svc.cpu}; with cpu {svc.cpu} choose {choices}")


@rule
def az_override_within_network(app: AppSpec) -> Iterator[Problem]:
    """An environment's `az_count` is at most `network.az_count`."""
    for name, env in app.environments.items():
        if env.az_count is not None and env.az_count > app.network.az_count:
            yield Problem(f"environments.{name}.az_count",
                          f"{env.az_count} is more than network.az_count ({app.network.az_count}); "
                          f"raise network.az_count or lower this")


@rule
def cidr_fits_subnets(app: AppSpec) -> Iterator[Problem]:
    """Each environment's CIDR is a /16 or smaller network with room for six subnets of `network.subnet_prefix`."""
    largest = app.network.subnet_prefix - 3  # 6 subnets need 8 slots of the subnet size
    for name, env in app.environments.items():
        loc = f"environments.{name}.cidr"
        if env.cidr.prefixlen < 16:
            yield Problem(loc, f"{env.cidr} is larger than a VPC can be; use a /16 to /{largest} network")
        elif app.network.mode == "new" and env.cidr.prefixlen > largest:
            yield Problem(loc, f"{env.cidr} has no room for six /{app.network.subnet_prefix} subnets; "
                               f"use a /16 to /{largest} network or raise network.subnet_prefix")


@rule
def existing_vpc_ids(app: AppSpec) -> Iterator[Problem]:
    """In `existing` mode every environment names its VPC and one public and one private subnet per zone;
    in `new` mode none does."""
    ids = ("vpc_id", "public_subnet_ids", "private_subnet_ids")
    for name, env in app.environments.items():
        loc = f"environments.{name}"
        if app.network.mode == "existing":
            for field in ids:
                if getattr(env, field) is None:
                    yield Problem(f"{loc}.{field}", "required when network.mode is 'existing'")
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
