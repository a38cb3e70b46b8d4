"""Availability zones an environment pins (`environments.<env>.zones`): what a zone reference is, and the rules.

`Fn::GetAZs` "returns only Availability Zones that have a default subnet unless none of the Availability Zones has
a default subnet", and the order it returns them in can change (CloudFormation user guide, Fn::GetAZs). A subnet
built on `Select(i, GetAZs)` is replaced when the i-th zone changes (AvailabilityZone is create-only), which moves
the private subnets of every `CODE_DEPLOY` service: a change CloudFormation cannot make to such a service. Zone
*names* are mapped to physical zones per account; zone *IDs* (`euw1-az1`) name the same physical zone in every
account. Subnets accept either (AWS::EC2::Subnet AvailabilityZone or AvailabilityZoneId, both create-only).
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from generator.errors import Problem

if TYPE_CHECKING:
    from generator.config import AppSpec

ZONE_ID = re.compile(r"^(?P<prefix>[a-z]{2,6}\d+)-az\d+$")
# How a region's zone IDs abbreviate it: us-east-1 -> use1, ap-southeast-2 -> apse2, us-gov-west-1 -> usgw1.
_ABBREVIATIONS = {"east": "e", "west": "w", "north": "n", "south": "s", "central": "c", "northeast": "ne",
                  "northwest": "nw", "southeast": "se", "southwest": "sw", "gov": "g", "iso": "iso", "isob": "isob"}

KIND_REGION, KIND_NAMES, KIND_IDS = "region", "names", "ids"


def is_zone_id(zone: str) -> bool:
    return ZONE_ID.match(zone) is not None


def kind(zones: list[str] | None) -> str:
    """How the templates find an environment's zones: `region` (Fn::GetAZs), `names` or `ids`."""
    if not zones:
        return KIND_REGION
    return KIND_IDS if is_zone_id(zones[0]) else KIND_NAMES


def zone_id_prefix(region: str) -> str | None:
    """The prefix of a region's zone IDs (`eu-west-1` -> `euw1`), or None for a region name of an unknown shape."""
    geo, *words, number = region.split("-")
    if not number.isdigit() or any(w not in _ABBREVIATIONS for w in words):
        return None
    return geo + "".join(_ABBREVIATIONS[w] for w in words) + number


def zones_fit_the_environment(app: AppSpec) -> Iterator[Problem]:
    """An environment's `zones` (only in `new` mode) names as many distinct zones as it uses (`az_count`), either all
    by zone ID (`euw1-az1`) or all by name (`eu-west-1a`), in the environment's region."""
    for name, env in app.environments.items():
        if env.zones is None:
            continue
        region = app.region_of(name)
        prefix = zone_id_prefix(region)
        loc = f"environments.{name}.zones"
        if app.network.mode != "new":
            yield Problem(loc, "only used when network.mode is 'new' (an existing VPC's subnets already fix the "
                               "zones); remove it")
            continue
        want = app.env_value(name, "az_count")
        if len(env.zones) != want:
            yield Problem(loc, f"give exactly {want} zones, one per availability zone the environment uses "
                               f"(az_count {want}), got {len(env.zones)}")
        for zone in sorted({z for z in env.zones if env.zones.count(z) > 1}):
            yield Problem(loc, f"{zone} is listed twice; each zone holds one public and one private subnet")
        ids = [z for z in env.zones if is_zone_id(z)]
        if ids and len(ids) != len(env.zones):
            named = next(z for z in env.zones if not is_zone_id(z))
            yield Problem(loc, f"mixes zone names ({named}) and zone IDs ({ids[0]}); use one kind: zone IDs name "
                               f"the same zone in every account, names are mapped per account")
            continue
        for i, zone in enumerate(env.zones):
            if is_zone_id(zone):
                found = ZONE_ID.match(zone)["prefix"]
                if prefix is not None and found != prefix:
                    yield Problem(f"{loc}[{i}]", f"zone ID {zone} is not in {region} (the environment's region); "
                                                 f"its zone IDs look like {prefix}-az1")
            elif not (zone.startswith(region) and re.fullmatch(r"[a-z]", zone[len(region):])):
                yield Problem(f"{loc}[{i}]", f"{zone} is not a zone of {region} (the environment's region); use "
                                             f"{region}a, {region}b, ...")


def production_pins_zones(app: AppSpec) -> Iterator[Problem]:
    """A production environment in `new` mode pins its `zones`: `Fn::GetAZs` lists only zones with a default subnet,
    in an order that may change, and a zone that moves replaces subnets a blue/green service cannot follow."""
    if app.network.mode != "new":
        return
    for name, env in app.environments.items():
        region = app.region_of(name)
        prefix = zone_id_prefix(region) or "use1"
        if env.production and env.zones is None:
            count = app.env_value(name, "az_count")
            example = ", ".join(f"{prefix}-az{i + 1}" for i in range(count))
            yield Problem(f"environments.{name}.zones", f"a production environment pins its availability zones; add "
                                                        f"e.g. zones: [{example}] (your account's zone IDs: aws ec2 "
                                                        f"describe-availability-zones --region {region})")
