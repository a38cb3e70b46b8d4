"""Every generated template is lint-clean and within CloudFormation's limits; the gate's own checks bite."""
from __future__ import annotations

import json

import pytest
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

from generator.build import render_app
from generator.config import load_app
from generator.lint import budgets, gate
from generator.lint.ignored import IGNORED_RULES
from generator.root import ROOT_FILE, build
from generator.tagging import STABLE_KEYS, TAG_KEYS, release_owned
from tests.support import GOLDEN_SETS, SCANNED_SETS, app_id, read_dir
from tests.templates import load

APPS = list(GOLDEN_SETS)


@pytest.mark.parametrize("app_path", list(SCANNED_SETS), ids=app_id)
def test_committed_templates_are_lint_clean(app_path):
    templates, _ = SCANNED_SETS[app_path]
    assert gate.cfn_lint(templates, templates.name, load_app(app_path).region) == []


@pytest.mark.parametrize("app_path", APPS, ids=app_id)
def test_committed_parameter_files_fit_their_templates(app_path):
    """Environment files against the root template; pipeline.json/.config.json and deploy-role.json against theirs."""
    _, params = GOLDEN_SETS[app_path]
    assert gate.parameter_files(params, params.name, render_app(load_app(app_path)).parameter_sets) == []


def test_every_ignored_rule_has_a_reason():
    assert IGNORED_RULES, "the gate documents what it ignores"
    for rule_id, reason in IGNORED_RULES.items():
        assert rule_id[0] in "EWI" and len(reason) > 40, rule_id


def test_lint_findings_are_reported_with_file_and_line(tmp_path):
    (tmp_path / "bad.yaml").write_text(
        "AWSTemplateFormatVersion: '2010-09-09'\nParameters:\n  Unused:\n    Type: String\n"
        "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n")
    findings = gate.cfn_lint(tmp_path, "templates_out", "us-east-1")
    assert findings == ["templates_out/bad.yaml:3: W2001 Parameter Unused not used."]


def test_size_budgets_name_the_limit_and_the_fix():
    body = "Resources:\n" + "".join(f"  Topic{i}:\n    Type: AWS::SNS::Topic\n" for i in range(501))
    found = budgets.check("service-api.yaml", body, is_root=False)
    assert found == ["service-api.yaml: 501 resources is over CloudFormation's limit of 500; split the stack"]
    big_root = "Description: " + "x" * budgets.INLINE_BYTES + "\nResources: {}\n"
    assert "over the 51,200-byte limit for a template sent inline" in budgets.check(ROOT_FILE, big_root, is_root=True)[0]
    assert budgets.check("network.yaml", big_root, is_root=False) == []


def test_the_inline_budget_measures_the_template_as_packaged():
    """`aws cloudformation package` (the pipeline) and scripts/deploy.py send the root with each local TemplateURL
    replaced by an S3 URL and the template written again in long-form YAML (aws-reference §2): a root that fits as
    written can be over the 51,200 bytes once packaged."""
    stacks = "".join(f"  Child{i}:\n    Type: AWS::CloudFormation::Stack\n    Properties:\n"
                     f"      TemplateURL: ./child-{i}.yaml\n      Parameters:\n        Vpc: !GetAtt Net.Outputs.VpcId\n"
                     for i in range(40))
    head = "AWSTemplateFormatVersion: '2010-09-09'\nDescription: "
    body = f"{head}{{}}\nResources:\n{stacks}"
    text = body.format("x" * (budgets.INLINE_BYTES - 2_000 - len(body)))
    assert len(text.encode()) < budgets.INLINE_BYTES
    packaged = budgets.packaged(text, "ap-southeast-4")
    assert "./child-0.yaml" not in packaged and "Fn::GetAtt:" in packaged
    assert f"https://{budgets.WORST_BUCKET}.s3.ap-southeast-4.amazonaws.com/" in packaged
    finding, = budgets.check(ROOT_FILE, text, is_root=True, region="ap-southeast-4")
    size = len(packaged.encode())
    assert finding == (f"{ROOT_FILE}: {size:,} bytes once packaged is over the 51,200-byte limit for a template "
                       "sent inline; move resources into a nested stack")
    other, = budgets.check("deploy-role.yaml", text, is_root=True, region="ap-southeast-4")
    assert other.endswith("sent inline; move resources into a nested stack")
    assert budgets.check("network.yaml", text, is_root=False) == []   # nested templates are fetched from S3
    # a function's local code directory becomes an S3 location too; a template without local paths is sent as is
    function = ("Transform: AWS::Serverless-2016-10-31\nResources:\n  F:\n    Type: AWS::Serverless::Function\n"
                "    Properties:\n      CodeUri: ./lambda/f\n")
    assert f"CodeUri: s3://{budgets.WORST_BUCKET}/" in budgets.packaged(function, "eu-west-1")
    plain = "Resources:\n  T:\n    Type: AWS::SNS::Topic\n"
    assert budgets.packaged(plain, "eu-west-1") == plain


def test_parameter_file_problems_are_named(tmp_path):
    app = load_app(APPS[0])
    params = build(app).parameters
    (tmp_path / "dev.json").write_text(json.dumps(
        [{"ParameterKey": "NatMode", "ParameterValue": "two"}, {"ParameterKey": "Bogus", "ParameterValue": "x"}]))
    found = gate.parameter_files(tmp_path, "params", params)
    assert "params/dev.json: Bogus is not a parameter of the root template" in found
    assert "params/dev.json: NatMode='two' is not one of none, single, per-az" in found
    assert "params/dev.json: VpcCidr has no value and no default" in found


def test_pipeline_parameter_files_are_checked_against_the_pipeline_template(tmp_path):
    sets = render_app(load_app(APPS[0])).parameter_sets
    assert {"*", "pipeline", "deploy-role"} <= set(sets)
    (tmp_path / "pipeline.json").write_text(json.dumps(
        [{"ParameterKey": "VpcCidr", "ParameterValue": "10.0.0.0/16"},
         {"ParameterKey": "BranchName", "ParameterValue": "-bad"}]))
    (tmp_path / "dev.json").write_text(json.dumps([{"ParameterKey": "BranchName", "ParameterValue": "main"}]))
    found = gate.parameter_files(tmp_path, "params", sets)
    assert "params/pipeline.json: VpcCidr is not a parameter of the pipeline template" in found
    assert any(f.startswith("params/pipeline.json: BranchName='-bad' does not match") for f in found)
    assert "params/pipeline.json: ConnectionArn has no value and no default" in found
    assert "params/dev.json: BranchName is not a parameter of the root template" in found


def _taggable(resource_type: str, region: str) -> bool:
    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(region, resource_type).schema
    return "Tags" in schema.get("properties", {})


@pytest.mark.parametrize("app_path", APPS, ids=app_id)
def test_every_taggable_resource_carries_the_three_tags(app_path):
    region = load_app(app_path).region
    templates, _ = GOLDEN_SETS[app_path]
    checked = 0
    for name, text in read_dir(templates).items():
        for logical_id, res in load(text)["Resources"].items():
            if not _taggable(res["Type"], region):
                continue
            tags = res.get("Properties", {}).get("Tags")
            keys = set(tags) if isinstance(tags, dict) else {t["Key"] for t in tags or []}
            controller = res.get("Properties", {}).get("DeploymentController", {}).get("Type")
            if release_owned(res["Type"], controller) or (res["Type"] == "AWS::CloudFormation::Stack"
                                                          and name == "root.yaml"):
                # never Owner: a tag change would update them (generator/tagging.py)
                assert keys == set(STABLE_KEYS), f"{name}: {logical_id} ({res['Type']}) has {keys}"
            else:
                assert set(TAG_KEYS) <= keys, f"{name}: {logical_id} ({res['Type']}) lacks {set(TAG_KEYS) - keys}"
            checked += 1
    assert checked > 5
