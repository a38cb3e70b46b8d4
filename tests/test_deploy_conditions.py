"""The offline condition evaluator the rehearsal uses (scripts/deploylib/conditions.py): a resource whose Condition is
false for an environment's parameter values is reported "not applicable", not as something the emulator skipped."""
from __future__ import annotations

import json

from scripts.deploylib import conditions
from tests.support import DEFAULT_PARAMS, DEFAULT_TEMPLATES
from tests.templates import load


def _values(env: str) -> dict[str, str]:
    return {p["ParameterKey"]: p["ParameterValue"] for p in json.loads((DEFAULT_PARAMS / f"{env}.json").read_text())}


def test_the_generated_conditions_evaluate_for_each_environment():
    network = load((DEFAULT_TEMPLATES / "network.yaml").read_text())
    dev, prod = conditions.evaluate(network, _values("dev")), conditions.evaluate(network, _values("prod"))
    assert (dev["ThirdAzEnabled"], prod["ThirdAzEnabled"]) == (False, True)
    assert (dev["NatPerAz"], prod["NatPerAz"]) == (False, True)
    assert (dev["ZonesById"], prod["ZonesById"]) == (False, True)
    assert (dev["ThirdAzNatPerAz"], prod["ThirdAzNatPerAz"]) == (False, True)    # And over Condition
    assert None not in dev.values() and None not in prod.values()
    registry = load((DEFAULT_TEMPLATES / "registry.yaml").read_text())
    assert conditions.evaluate(registry, _values("dev"))["ManagesRegistryScanning"] is False
    assert conditions.evaluate(registry, _values("prod"))["ManagesRegistryScanning"] is True


def test_functions_and_unknowns():
    template = {
        "Parameters": {"Zones": {"Type": "CommaDelimitedList"}, "Kind": {"Type": "String", "Default": "ids"},
                       "Unset": {"Type": "String"}},
        "Conditions": {
            "Second": {"Fn::Equals": [{"Fn::Select": [1, {"Ref": "Zones"}]}, "b"]},
            "Joined": {"Fn::Equals": [{"Fn::Join": ["-", {"Ref": "Zones"}]}, "a-b"]},
            "Defaulted": {"Fn::Equals": [{"Ref": "Kind"}, "ids"]},
            "Either": {"Fn::Or": [{"Condition": "Defaulted"}, {"Condition": "Unknown"}]},
            "Both": {"Fn::And": [{"Condition": "Defaulted"}, {"Condition": "Unknown"}]},
            "Neither": {"Fn::And": [{"Fn::Not": [{"Condition": "Defaulted"}]}, {"Condition": "Unknown"}]},
            "Region": {"Fn::Equals": [{"Ref": "AWS::Region"}, "eu-west-1"]},
            "Unknown": {"Fn::Equals": [{"Ref": "Unset"}, "x"]},
            "Loop": {"Fn::Not": [{"Condition": "Loop"}]},
            "Odd": {"Fn::Equals": [{"Fn::GetAZs": ""}, "x"]},
        }}
    found = conditions.evaluate(template, {"Zones": "a,b"}, {"AWS::Region": "eu-west-1"})
    assert found == {"Second": True, "Joined": True, "Defaulted": True, "Either": True, "Both": None,
                     "Neither": False, "Region": True,
                     "Unknown": None, "Loop": None, "Odd": None}
