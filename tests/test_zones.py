"""Pinned availability zones (`environments.<env>.zones`): the subnets' zones stay put whatever Fn::GetAZs returns.

`Fn::GetAZs` "returns only Availability Zones that have a default subnet unless none of the Availability Zones has
a default subnet; in that case, all Availability Zones are returned", and its order is not guaranteed (CloudFormation
user guide, Fn::GetAZs). AWS::EC2::Subnet takes its zone as `AvailabilityZone` (a name, mapped per account) or
`AvailabilityZoneId` (an ID such as euw1-az1, the same physical zone in every account); both are create-only, so a
different value replaces the subnet, and with it the network settings of every CODE_DEPLOY service (a change the
stack cannot make to such a service). Rendered offline with cloud-radar (its GetAZs table pre-seeded: it would
fetch one from the internet).
"""
from __future__ import annotations

import copy
import json

import pytest
from cloud_radar.cf.unit import Template, functions

from generator.config import parse_app
from generator.components.network.zones import kind, zone_id_prefix
from tests.support import DEFAULT_APP, GOLDEN_SETS, ROOT
from tests.templates import load

DEFAULT = GOLDEN_SETS[DEFAULT_APP]
WORKERS = GOLDEN_SETS[ROOT / "tests" / "fixtures" / "apps" / "workers.yaml"]
ZONE_LISTS = {"eu-west-1": ["eu-west-1a", "eu-west-1b", "eu-west-1c"],
              "eu-central-1": ["eu-central-1a", "eu-central-1b", "eu-central-1c"]}


class Rendered(Template):
    """cloud-radar resolves both branches of an Fn::If before choosing one; CloudFormation resolves only the branch
    its condition selects (aws/aws-sam-cli#9134: "CloudFormation itself only evaluates the selected branch"). The
    unpinned branches select from an empty zone list, so render the way CloudFormation does."""

    def resolve_values(self, data):
        if isinstance(data, dict) and list(data) == ["Fn::If"]:
            name, chosen, other = data["Fn::If"]
            return self.resolve_values(chosen if self.template["Conditions"][name] else other)
        return super().resolve_values(data)


@pytest.fixture
def region_zones(monkeypatch):
    """What Fn::GetAZs returns per region (a list the test may change, as a deleted default subnet does)."""
    zones = copy.deepcopy(ZONE_LISTS)
    monkeypatch.setattr(functions, "REGION_DATA", [{"code": code, "zones": z} for code, z in zones.items()])
    return zones


def _subnets(golden: tuple, env: str, region: str) -> dict[str, dict]:
    templates, params = golden
    root = load((templates / "root.yaml").read_text())
    values = {p["ParameterKey"]: p["ParameterValue"] for p in json.loads((params / f"{env}.json").read_text())}
    child = {}
    for name, source in root["Resources"]["Network"]["Properties"]["Parameters"].items():
        (function, argument), = source.items()
        child[name] = values[argument if function == "Ref" else argument[1]["Ref"]]
    network = load((templates / "network.yaml").read_text())
    rendered = Rendered(network).render(child, region=region)["Resources"]
    return {k: r["Properties"] for k, r in rendered.items() if r["Type"] == "AWS::EC2::Subnet"}


def _zones(subnets: dict[str, dict], key: str) -> dict[str, str]:
    return {name: props.get(key) for name, props in subnets.items()}


def test_production_subnets_are_placed_by_zone_id_and_ignore_get_azs(region_zones):
    pinned = {f"{kind}Subnet{i + 1}": f"euw1-az{i + 1}" for kind in ("Public", "Private") for i in range(3)}
    before = _subnets(DEFAULT, "prod", "eu-west-1")
    assert _zones(before, "AvailabilityZoneId") == pinned
    assert _zones(before, "AvailabilityZone") == dict.fromkeys(pinned)       # never both
    region_zones["eu-west-1"].remove("eu-west-1a")   # a default subnet deleted: GetAZs shifts
    assert _subnets(DEFAULT, "prod", "eu-west-1") == before


def test_zones_pinned_by_name_are_used_as_written(region_zones):
    subnets = _subnets(WORKERS, "prod", "eu-central-1")
    assert _zones(subnets, "AvailabilityZone") == {"PublicSubnet1": "eu-central-1a", "PrivateSubnet1": "eu-central-1a",
                                                   "PublicSubnet2": "eu-central-1b", "PrivateSubnet2": "eu-central-1b"}
    assert _zones(subnets, "AvailabilityZoneId") == dict.fromkeys(subnets)


def test_unpinned_zones_follow_get_azs_which_is_what_pinning_protects_against(region_zones):
    """dev keeps today's behaviour (non-production may): the i-th zone GetAZs returns. When that list changes, the
    subnets' zones change, i.e. CloudFormation would replace them."""
    before = _zones(_subnets(DEFAULT, "dev", "eu-west-1"), "AvailabilityZone")
    assert before == {"PublicSubnet1": "eu-west-1a", "PrivateSubnet1": "eu-west-1a",
                      "PublicSubnet2": "eu-west-1b", "PrivateSubnet2": "eu-west-1b"}   # dev uses 2 of 3 zones
    region_zones["eu-west-1"].remove("eu-west-1a")
    after = _zones(_subnets(DEFAULT, "dev", "eu-west-1"), "AvailabilityZone")
    assert after["PrivateSubnet1"] == "eu-west-1b" != before["PrivateSubnet1"]


def test_parameter_files_carry_the_kind_and_the_zones():
    _, params = DEFAULT
    for env, want_kind, want_zones in (("prod", "ids", "euw1-az1,euw1-az2,euw1-az3"), ("dev", "region", "")):
        values = {p["ParameterKey"]: p["ParameterValue"] for p in json.loads((params / f"{env}.json").read_text())}
        assert (values["AvailabilityZoneKind"], values["AvailabilityZones"]) == (want_kind, want_zones), env


def test_root_parameters_constrain_the_kind():
    root = load((DEFAULT[0] / "root.yaml").read_text())
    assert root["Parameters"]["AvailabilityZoneKind"]["AllowedValues"] == ["ids", "names", "region"]
    assert root["Parameters"]["AvailabilityZones"]["Type"] == "CommaDelimitedList"
    assert root["Resources"]["Network"]["Properties"]["Parameters"]["AvailabilityZones"] == {
        "Fn::Join": [",", {"Ref": "AvailabilityZones"}]}


@pytest.mark.parametrize("region, prefix", [("us-east-1", "use1"), ("eu-west-1", "euw1"), ("ap-southeast-2", "apse2"),
                                            ("us-gov-west-1", "usgw1"), ("ap-northeast-3", "apne3"),
                                            ("me-central-1", "mec1"), ("sa-east-1", "sae1"), ("xx-nowhere-1", None)])
def test_zone_id_prefixes_follow_the_region_code(region, prefix):
    assert zone_id_prefix(region) == prefix


def test_kind_is_read_from_the_first_zone():
    assert (kind(None), kind([]), kind(["euw1-az1"]), kind(["eu-west-1a"])) == ("region", "region", "ids", "names")


def test_existing_vpc_mode_has_no_zone_parameters():
    app = parse_app({"app": "demo", "owner": "team", "region": "eu-west-1", "network": {"mode": "existing"},
                     "environments": {"prod": {
                         "production": True, "cidr": "10.1.0.0/16", "vpc_id": "vpc-0123456789abcdef0",
                         "public_subnet_ids": ["subnet-0123456789abcdef1", "subnet-0123456789abcdef2"],
                         "private_subnet_ids": ["subnet-0123456789abcdef3", "subnet-0123456789abcdef4"]}}})
    from generator.root import build
    assert not {"AvailabilityZones", "AvailabilityZoneKind"} & set(json.loads(build(app).root.to_json())["Parameters"])
