"""Environments in more than one region (issue 14, item 6, the parts done): an environment's `region`, the rules that
read it, one template for every region (the ELB log-delivery account from a mapping by AWS::Region), cfn-lint over
every region in use, and the deploy tooling in the environment's region. The pipeline stays single-region (a rule)."""
from __future__ import annotations

import json

import pytest

from generator.build import write
from generator.config import parse_app
from generator.errors import ConfigError
from scripts.deploylib.target import load_target
from tests.conftest import app_spec, template

WEB = [{"name": "api", "kind": "web", "port": 3000}]
TWO = {"dev": {"cidr": "10.10.0.0/16"},
       "us": {"cidr": "10.20.0.0/16", "region": "us-east-1", "zones": ["use1-az1", "use1-az2"]}}


def _app(envs=TWO, **extra):
    return parse_app(app_spec(services=WEB, environments=envs, **extra))


def test_an_environment_takes_its_own_region_else_the_apps():
    app = _app()
    assert (app.region_of("dev"), app.region_of("us")) == ("eu-west-1", "us-east-1")
    assert app.regions() == ["eu-west-1", "us-east-1"]


def test_the_load_balancer_log_policy_reads_the_regional_account_by_aws_region():
    """Doc: "Enable access logs for your Application Load Balancer": regions opened before August 2022 deliver from a
    regional Elastic Load Balancing account (us-east-1: 127311923021, eu-west-1: 156460612806)."""
    t = template(_app(), "cluster.yaml")
    assert t["Mappings"]["ElbLogDeliveryAccounts"] == {"eu-west-1": {"Account": "156460612806"},
                                                       "us-east-1": {"Account": "127311923021"}}
    statements = t["Resources"]["AccessLogBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    regional = statements[1]["Fn::If"]
    assert regional[0] == "HasRegionalElbLogAccount"
    assert regional[1]["Principal"]["AWS"]["Fn::Sub"][1]["Account"] == {
        "Fn::FindInMap": ["ElbLogDeliveryAccounts", {"Ref": "AWS::Region"}, "Account"]}
    assert json.dumps(t).count("156460612806") == 1      # in the mapping only, never written into the policy


def test_a_single_region_app_keeps_its_regional_account_written_in():
    t = template(_app({"dev": {"cidr": "10.10.0.0/16"}}), "cluster.yaml")
    assert "Mappings" not in t or "ElbLogDeliveryAccounts" not in t["Mappings"]
    statements = t["Resources"]["AccessLogBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert statements[1]["Principal"]["AWS"] == {"Fn::Sub": "arn:${AWS::Partition}:iam::156460612806:root"}


def test_zones_and_certificates_are_checked_against_the_environments_region():
    with pytest.raises(ConfigError, match=r"environments\.us\.zones\[0\]: zone ID euw1-az1 is not in us-east-1"):
        _app({"us": {"cidr": "10.20.0.0/16", "region": "us-east-1", "zones": ["euw1-az1", "euw1-az2"]}})
    cert = "arn:aws:acm:eu-west-1:111111111111:certificate/5f1c2a7e-9b3d-4c8e-a6f0-2d7b9e4c1a53"
    with pytest.raises(ConfigError, match="the certificate is in eu-west-1, but the load balancer is in us-east-1"):
        _app({"us": {"cidr": "10.20.0.0/16", "region": "us-east-1", "certificate_arn": cert}})


def test_an_unknown_region_is_refused_at_load_time():
    with pytest.raises(ConfigError, match=r"environments\.us\.region"):
        _app({"us": {"cidr": "10.20.0.0/16", "region": "mars-north-1"}})


def test_the_gate_lints_in_every_region_and_the_deploy_tooling_uses_the_environments(tmp_path):
    app = _app()
    write(app, tmp_path / "t", tmp_path / "p")       # cfn-lint for eu-west-1 and us-east-1: lint-clean
    (tmp_path / "app.yaml").write_text(json.dumps(app_spec(services=WEB, environments=TWO)))
    target = load_target(tmp_path / "app.yaml", "us", tmp_path / "t", tmp_path / "p", None)
    assert target.region == "us-east-1"
    assert load_target(tmp_path / "app.yaml", "dev", tmp_path / "t", tmp_path / "p", None).region == "eu-west-1"
    assert load_target(tmp_path / "app.yaml", "us", tmp_path / "t", tmp_path / "p", "us-west-2").region == "us-west-2"
