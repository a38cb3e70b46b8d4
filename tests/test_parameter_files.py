"""Parameter files: both formats per environment, complete, tagged, no secrets, a stack policy for production."""
from __future__ import annotations

import json

from generator.config import load_app
from generator.root import build
from generator.stateful import stateful_types
from tests.support import DEFAULT_APP, DEFAULT_PARAMS, read_dir

PARAMS = DEFAULT_PARAMS
APP = load_app(DEFAULT_APP)


def test_each_environment_has_both_formats():
    names = set(read_dir(PARAMS))
    pipeline = {"pipeline.json", "pipeline.config.json", "deploy-role.json"} if APP.pipeline else set()
    assert names == {f"{env}{suffix}" for env in APP.environments for suffix in (".json", ".config.json")} | pipeline


def test_cli_and_pipeline_formats_carry_the_same_values():
    for env in APP.environments:
        cli = {i["ParameterKey"]: i["ParameterValue"] for i in json.loads((PARAMS / f"{env}.json").read_text())}
        config = json.loads((PARAMS / f"{env}.config.json").read_text())
        assert cli == config["Parameters"]
        assert cli["EnvironmentName"] == env
        # stack tags reach every resource of the tree: only the stable ones (a new Owner must not update them)
        assert config["Tags"] == {"Environment": env, "Application": APP.app}


def test_every_root_parameter_has_a_value_in_every_environment():
    names = [p.name for p in build(APP).parameters]
    for env in APP.environments:
        cli = json.loads((PARAMS / f"{env}.json").read_text())
        assert [i["ParameterKey"] for i in cli] == names


def test_environment_differences_enter_only_through_values():
    dev = json.loads((PARAMS / "dev.config.json").read_text())["Parameters"]
    prod = json.loads((PARAMS / "prod.config.json").read_text())["Parameters"]
    assert (dev["VpcCidr"], prod["VpcCidr"]) == ("10.10.0.0/16", "10.30.0.0/16")
    assert (dev["NatMode"], prod["NatMode"]) == ("single", "per-az")
    assert (dev["AzCount"], prod["AzCount"]) == ("2", "3")


def test_only_production_gets_a_stack_policy_protecting_stateful_resources():
    for env, spec in APP.environments.items():
        config = json.loads((PARAMS / f"{env}.config.json").read_text())
        assert ("StackPolicy" in config) == spec.production
    policy = json.loads((PARAMS / "prod.config.json").read_text())["StackPolicy"]["Statement"]
    assert policy[0] == {"Effect": "Allow", "Action": "Update:*", "Principal": "*", "Resource": "*"}
    deny_types = policy[1]["Condition"]["StringEquals"]["ResourceType"]
    assert policy[1]["Effect"] == "Deny" and set(policy[1]["Action"]) == {"Update:Replace", "Update:Delete"}
    assert {"AWS::S3::Bucket", "AWS::ECR::Repository", "AWS::Logs::LogGroup"} <= set(deny_types) == set(stateful_types())
    assert "LogicalResourceId/Network" in policy[2]["Resource"]


def test_no_parameter_is_secret_shaped():
    root = build(APP).root.to_dict()
    assert not [n for n, p in root["Parameters"].items() if p.get("NoEcho")]
    for text in read_dir(PARAMS).values():
        lowered = text.lower()
        assert "password" not in lowered and "secretstring" not in lowered
