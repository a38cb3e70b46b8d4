"""The rehearsal: the real deploy code against moto in server mode, for the default app (examples/tunecast: its
app.yaml, templates/ and params/) and for this repository's app.yaml when it holds another app. Slow-marked: it
starts an emulator and deploys the whole nested tree.
"""
from __future__ import annotations

import io
import json
import os
import socket
from urllib.parse import urlparse

import boto3
import pytest

from generator import cfnyaml
from generator.config import load_app
from scripts.deploylib import commands, rehearsal
from scripts.deploylib.aws import Aws
from scripts.deploylib.target import load_target
from scripts.deploylib.ui import Console
from tests.support import (DEFAULT_APP, DEFAULT_PARAMS, DEFAULT_TEMPLATES, REPO_APP, REPO_PARAMS, REPO_TEMPLATES,
                           SCANNED_SETS, app_id)

pytestmark = pytest.mark.slow


def default_target(env: str = "dev"):
    return load_target(DEFAULT_APP, env, DEFAULT_TEMPLATES, DEFAULT_PARAMS, None)


@pytest.fixture(scope="module")
def rehearsed(tmp_path_factory):
    out = io.StringIO()
    report = rehearsal.rehearse(default_target(), Console(out=out, err=out, interactive=False),
                                tmp_path_factory.mktemp("rehearsal"))
    return report, out.getvalue()


def test_the_default_app_rehearses_end_to_end(rehearsed):
    report, text = rehearsed
    assert report.ok, rehearsal.render_report(report)
    assert [step for step, _ in report.steps] == ["package", "diff", "deploy", "migrate", "outputs", "redeploy",
                                                  "drift", "destroy"]
    assert all(result.startswith("ok") for step, result in report.steps if step not in ("drift", "migrate")), \
        report.steps
    assert dict(report.steps)["migrate"].startswith("not run: the emulator runs no containers")   # a named gap
    assert report.steps[-1] == ("destroy", "ok: exit 0, root stack gone")
    # the same deploy code printed the same things it prints against AWS
    assert "Quick-create link" in text and "Change set preview-" in text and "(new stack, eu-west-1)" in text
    assert "Deployed tunecast-dev: CREATE_COMPLETE." in text
    redeploy = text.split("=== rehearsal: redeploy")[1].split("=== rehearsal: destroy")[0]
    assert "No changes: the stacks already match these templates and parameters.\nNothing to deploy." in redeploy


@pytest.mark.parametrize("app", [a for a in SCANNED_SETS if a == REPO_APP], ids=app_id)
def test_this_app_rehearses_end_to_end(app, tmp_path):
    """The root app.yaml, when it is not one of the examples (rehearsed above): whatever it holds, its first
    environment deploys, redeploys without changes and is destroyed by the same deploy code."""
    env = next(iter(load_app(app).environments))
    out = io.StringIO()
    report = rehearsal.rehearse(load_target(app, env, REPO_TEMPLATES, REPO_PARAMS, None),
                                Console(out=out, err=out, interactive=False), tmp_path)
    assert report.ok, rehearsal.render_report(report)
    assert report.steps[-1] == ("destroy", "ok: exit 0, root stack gone")
    assert not report.missing(), [f"{r.stack}/{r.logical_id}" for r in report.missing()]


def test_every_nested_stack_and_its_resources_were_created(rehearsed):
    report, _ = rehearsed
    root = cfnyaml.loads((DEFAULT_TEMPLATES / "root.yaml").read_text())
    nested = [k for k, r in root["Resources"].items() if r["Type"] == "AWS::CloudFormation::Stack"]
    created = report.created_types()
    assert created["AWS::CloudFormation::Stack"] == len(nested)
    assert created["AWS::EC2::VPC"] == 1 and created["AWS::EC2::Subnet"] >= 4
    assert not report.missing(), [f"{r.stack}/{r.logical_id}" for r in report.missing()]
    # created means the service knows it, wherever a cheap describe call exists
    checked = [r for r in report.resources if r.outcome == "created" and r.verified is not None]
    assert checked and all(r.verified for r in checked)
    # outputs flowed from the nested stacks to the root (workarounds nested-stack-outputs, change-set-outputs)
    assert report.outputs["NetworkVpcId"].startswith("vpc-")
    assert set(report.outputs) == set(root.get("Outputs", {}))


def test_skipped_types_are_reported_as_skipped_never_as_created(rehearsed):
    report, _ = rehearsed
    for resource in report.resources:
        unsupported = not rehearsal.emulator_supports(resource.resource_type)
        assert (resource.outcome == "skipped") == (unsupported and resource.outcome != "not-applicable"), resource
    text = rehearsal.render_report(report)
    skipped = report.skipped_types()
    assert (f"Skipped by the emulator ({sum(skipped.values())} resources, {len(skipped)} types; moto does not "
            "implement the type; a real deploy creates them):") in text
    # one counter per outcome, summing to every resource of the templates
    outcomes = report.outcomes()
    assert (f"Resources in the templates: {len(report.resources)} = {outcomes['created']} created + "
            f"{outcomes['skipped']} skipped + {outcomes['not-applicable']} not applicable + "
            f"{outcomes['unevaluated']} not evaluated + {outcomes['missing']} missing") in text
    assert sum(outcomes.values()) == len(report.resources)
    for rtype in report.skipped_types():
        assert f"\n  {rtype}" in text


def test_a_resource_whose_condition_is_false_here_is_not_applicable_not_skipped(rehearsed):
    """dev does not own the account's registry scanning configuration (ManageRegistryScanning false): a real deploy
    does not create RegistryScanning there, so the report must not blame the emulator for it (moto has no such
    type either). Conditions are evaluated with the parameters each stack was deployed with."""
    report, _ = rehearsed
    by_id = {(r.stack, r.logical_id): r for r in report.resources}
    scanning = by_id[("tunecast-dev/Registry", "RegistryScanning")]
    assert (scanning.outcome, scanning.condition) == ("not-applicable", "ManagesRegistryScanning")
    third = by_id[("tunecast-dev/Network", "PrivateSubnet3")]          # dev uses 2 of the 3 zones
    assert (third.outcome, third.condition) == ("not-applicable", "ThirdAzEnabled")
    assert not [r for r in report.resources if r.outcome == "unevaluated"]
    text = rehearsal.render_report(report)
    skipped = text.split("Skipped by the emulator")[1].split("\n\n")[0]
    assert "AWS::ECR::RegistryScanningConfiguration" not in skipped
    assert "Not applicable in 'dev' (" in text and "; their Condition is false for its parameter values" in text
    assert "e.g. tunecast-dev/Registry/RegistryScanning" in text


def test_the_report_names_and_explains_every_workaround(rehearsed):
    report, _ = rehearsed
    text = rehearsal.render_report(report)
    assert "Emulator workarounds (in the rehearsal harness only; the deploy code is unchanged):" in text
    for workaround in rehearsal.WORKAROUNDS:
        assert f"  [{workaround.name}] {workaround.gap}." in text
        assert f"      workaround: {workaround.fix}." in text
    assert "drift: moto 5.2.5 has no DetectStackDrift" in text


def test_the_emulator_is_stopped_and_every_patch_undone(rehearsed):
    report, _ = rehearsed
    from moto.cloudformation import parsing
    from moto.cloudformation.models import ChangeSet, Stack
    from moto.cloudformation.responses import CloudFormationResponse
    assert "get_cfn_attribute" not in Stack.__dict__
    assert parsing.clean_json.__module__ == "moto.cloudformation.parsing"
    assert parsing.parse_and_create_resource.__module__ == "moto.cloudformation.parsing"
    assert ChangeSet.apply.__module__ == "moto.cloudformation.models"
    assert not hasattr(CloudFormationResponse, "update_termination_protection")
    assert "MOTO_ACCOUNT_ID" not in os.environ
    port = urlparse(report.url).port
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_package_against_the_emulator_creates_a_locked_down_bucket(tmp_path):
    target = default_target()
    with rehearsal.emulator(target.spec.account_id or rehearsal.DEFAULT_ACCOUNT) as url:
        session = boto3.Session(aws_access_key_id="x", aws_secret_access_key="y", region_name=target.region)
        aws = Aws(session, target.region, url, retries={"mode": "standard", "max_attempts": 1})
        out = io.StringIO()
        ctx = commands.Ctx(target, aws, Console(out=out, err=out), commands.Options(build_dir=tmp_path))
        packaged = commands.package(ctx)
        bucket = packaged.plan.bucket
        s3 = aws.s3
        assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
        rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
        assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
        block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
        assert all(block.values()) and len(block) == 4
        policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
        assert policy["Statement"][0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"])
        assert keys == sorted(a.key for a in packaged.plan.artifacts)
        # content-addressed: a second run uploads nothing
        out.truncate(0)
        commands.package(ctx)
        assert out.getvalue().count("(already uploaded)") == len(packaged.plan.artifacts)


MINI_APP = """\
app: mini
owner: team-a
region: eu-west-1
environments:
  dev: {account_id: "111111111111", cidr: 10.10.0.0/16}
"""
MINI_ROOT = """\
Parameters:
  VpcCidr: {Type: String}
Resources:
  Network:
    Type: AWS::CloudFormation::Stack
    Properties:
      TemplateURL: ./network.yaml
      Parameters: {VpcCidr: !Ref VpcCidr}
Outputs:
  SubnetCidr: {Value: !GetAtt Network.Outputs.SubnetCidr}
"""
MINI_NETWORK = """\
Parameters:
  VpcCidr: {Type: String}
Resources:
  Vpc: {Type: AWS::EC2::VPC, Properties: {CidrBlock: !Ref VpcCidr}}
  Subnet:
    Type: AWS::EC2::Subnet
    Properties:
      VpcId: !Ref Vpc
      CidrBlock: !Select [1, !Cidr [!Ref VpcCidr, 4, 8]]
  Alarm: {Type: AWS::CloudWatch::Alarm, Properties: {Threshold: 1}}
Outputs:
  SubnetCidr: {Value: !Select [1, !Cidr [!Ref VpcCidr, 4, 8]]}
  AlarmName: {Value: !Ref Alarm}
"""


@pytest.fixture
def mini(tmp_path):
    (tmp_path / "app.yaml").write_text(MINI_APP)
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "root.yaml").write_text(MINI_ROOT)
    (tmp_path / "t" / "network.yaml").write_text(MINI_NETWORK)
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "dev.json").write_text(json.dumps([{"ParameterKey": "VpcCidr",
                                                          "ParameterValue": "10.10.0.0/16"}]))
    (tmp_path / "p" / "dev.config.json").write_text(json.dumps({"Parameters": {"VpcCidr": "10.10.0.0/16"},
                                                                "Tags": {"Environment": "dev"}}))
    target = load_target(tmp_path / "app.yaml", "dev", tmp_path / "t", tmp_path / "p", None)

    def run():
        out = io.StringIO()
        return rehearsal.rehearse(target, Console(out=out, err=out, interactive=False), tmp_path / "build")
    return run


def test_workarounds_turn_emulator_crashes_into_a_full_rehearsal(mini):
    report = mini()
    assert report.ok, rehearsal.render_report(report)
    assert report.outputs == {"SubnetCidr": "10.10.1.0/24"}          # fn-cidr + nested-stack-outputs
    assert report.skipped_types() == {"AWS::CloudWatch::Alarm": 1}   # stood in for, reported as skipped


def test_leaving_a_workaround_out_shows_the_emulator_gap_it_covers(mini, monkeypatch):
    monkeypatch.setenv(rehearsal.WITHOUT_ENV, "fn-cidr")
    report = mini()
    assert not report.ok
    step, result = report.steps[-1]
    assert step == "deploy"
    assert result.startswith("FAILED: the emulator failed (HTTP 500): KeyError")
    assert "moto/cloudformation/parsing.py" in result
    assert "[fn-cidr] (LEFT OUT via REHEARSAL_WITHOUT)" in rehearsal.render_report(report)


def test_unknown_workaround_names_are_refused(monkeypatch):
    monkeypatch.setenv(rehearsal.WITHOUT_ENV, "fn-cidr,no-such-thing")
    with pytest.raises(rehearsal.DeployError, match="REHEARSAL_WITHOUT names unknown workarounds: no-such-thing"):
        rehearsal.active_workarounds()


def test_the_certificate_a_person_would_create_is_provided_under_its_own_arn(mini, tmp_path):
    import dataclasses
    arn = "arn:aws:acm:eu-west-1:111111111111:certificate/5f1c2a7e-9b3d-4c8e-a6f0-2d7b9e4c1a53"
    target = load_target(tmp_path / "app.yaml", "dev", tmp_path / "t", tmp_path / "p", None)
    target = dataclasses.replace(target, parameters=target.parameters + (("CertificateArn", arn),
                                                                         ("Other", "not-an-arn")))
    with rehearsal.emulator("111111111111") as url:
        aws = Aws(boto3.Session(aws_access_key_id="x", aws_secret_access_key="y", region_name="eu-west-1"),
                  "eu-west-1", url)
        provided = rehearsal.provide_prerequisites(aws, target)
        assert provided == [f"ACM certificate {arn} (parameter CertificateArn; request and DNS-validate it in the "
                            "real account)"]
        assert aws.client("acm").describe_certificate(CertificateArn=arn)["Certificate"]["CertificateArn"] == arn


def test_a_cloudfront_certificate_is_provided_in_us_east_1_for_an_environment_elsewhere(mini, tmp_path):
    """frontend.certificate_arn is in us-east-1 (CloudFront reads certificates only there) while the environment is
    in eu-west-1: the stand-in is made in the certificate's region (it used to be looked for in the wrong one, a
    KeyError for examples/geo-api's production)."""
    import dataclasses
    arn = "arn:aws:acm:us-east-1:111111111111:certificate/0b7c6d5e-4f3a-4b2c-9d1e-8f7a6b5c4d3e"
    target = load_target(tmp_path / "app.yaml", "dev", tmp_path / "t", tmp_path / "p", None)
    target = dataclasses.replace(target, parameters=target.parameters + (("FrontendCertificateArn", arn),))
    with rehearsal.emulator("111111111111") as url:
        session = boto3.Session(aws_access_key_id="x", aws_secret_access_key="y", region_name="eu-west-1")
        provided = rehearsal.provide_prerequisites(Aws(session, "eu-west-1", url), target)
        assert provided == [f"ACM certificate {arn} (parameter FrontendCertificateArn; request and DNS-validate it "
                            "in the real account)"]
        us_east_1 = session.client("acm", region_name="us-east-1", endpoint_url=url)
        assert us_east_1.describe_certificate(CertificateArn=arn)["Certificate"]["CertificateArn"] == arn


def test_the_database_cluster_and_its_writer_are_created_and_described(rehearsed):
    """moto's RDS API creates Aurora clusters though its CloudFormation has no model for them: the [aurora-clusters]
    workaround creates the cluster through moto's RDS backend, so DescribeDBClusters finds it (verified) and the
    member instance joins it; dev has no readers (HasReader1 false)."""
    report, _ = rehearsed
    by_id = {(r.stack.rsplit("/", 1)[-1], r.logical_id): r for r in report.resources}
    cluster, writer = by_id[("Database", "Cluster")], by_id[("Database", "Writer")]
    assert (cluster.outcome, cluster.verified) == ("created", True)
    assert cluster.physical_id.startswith("tunecast-dev-database-")   # named after the stack: replaceable
    assert (writer.outcome, writer.verified) == ("created", True)
    assert by_id[("Database", "Reader1")].outcome == "not-applicable"
    assert "aurora-clusters" in report.workarounds
