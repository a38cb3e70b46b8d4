"""Production protection reaches every nested stack (scripts/nested_stack_policy.py, used by scripts/deploy.py and
by the pipeline's ProtectNestedStacks action).

"A stack policy applies only to the stack it is associated with" (CloudFormation user guide, Prevent updates to
stack resources; cloudformation-coverage-roadmap#1512): the root stack holds only AWS::CloudFormation::Stack
resources, so its policy's deny-by-type statement protects nothing below it unless each nested stack has the policy
too. Stubber pins the exact API conversation; the emulator (moto keeps, but never enforces, stack policies) shows
the same code setting the policy on a real nested tree through the deploy command.
"""
from __future__ import annotations

import io
import json

import boto3
import botocore.session
import pytest
from botocore.stub import Stubber

from scripts import nested_stack_policy
from scripts.deploylib import commands, rehearsal
from scripts.deploylib.aws import Aws
from scripts.deploylib.target import load_target
from scripts.deploylib.ui import Console
from tests.support import DEFAULT_PARAMS

POLICY = json.loads((DEFAULT_PARAMS / "prod.config.json").read_text())["StackPolicy"]
REGION = "eu-west-1"


def arn(name: str) -> str:
    return f"arn:aws:cloudformation:{REGION}:222222222222:stack/{name}/0000"


def summary(logical: str, physical: str, rtype: str = "AWS::CloudFormation::Stack",
            status: str = "CREATE_COMPLETE") -> dict:
    return {"LogicalResourceId": logical, "PhysicalResourceId": physical, "ResourceType": rtype,
            "ResourceStatus": status, "LastUpdatedTimestamp": "2026-03-01T12:00:00Z"}


@pytest.fixture
def cf():
    client = botocore.session.get_session().create_client(
        "cloudformation", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="y")
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


def test_every_nested_stack_at_every_depth_gets_the_policy_and_deleted_ones_are_skipped(cf):
    client, stub = cf
    root, net, svc, inner = arn("shop-prod"), arn("shop-prod-Network-A"), arn("shop-prod-ServiceApi-B"), arn("x-C")
    body = json.dumps(POLICY)
    stub.add_response("list_stack_resources", {"StackResourceSummaries": [
        summary("Network", net), summary("ServiceApi", svc),
        summary("Old", arn("shop-prod-Old-D"), status="DELETE_COMPLETE"),
        summary("Topic", "arn:aws:sns:x", rtype="AWS::SNS::Topic")]}, {"StackName": root})
    stub.add_response("set_stack_policy", {}, {"StackName": net, "StackPolicyBody": body})
    stub.add_response("list_stack_resources", {"StackResourceSummaries": [
        summary("LogsKey", "key-1", rtype="AWS::KMS::Key")]}, {"StackName": net})
    stub.add_response("set_stack_policy", {}, {"StackName": svc, "StackPolicyBody": body})
    stub.add_response("list_stack_resources", {"StackResourceSummaries": [summary("Inner", inner)]},
                      {"StackName": svc})
    stub.add_response("set_stack_policy", {}, {"StackName": inner, "StackPolicyBody": body})
    stub.add_response("list_stack_resources", {"StackResourceSummaries": []}, {"StackName": inner})
    logged: list[str] = []
    assert nested_stack_policy.protect(client, root, POLICY, logged.append) == \
        ["Network", "ServiceApi", "ServiceApi/Inner"]
    assert logged[-1] == "stack policy set on ServiceApi/Inner"


def test_the_policy_set_on_nested_stacks_denies_replacing_and_deleting_stateful_types():
    """The one document fits every stack of the tree: its deny-by-type statement is what protects a nested stack's
    repositories, keys, log groups, buckets and queues."""
    from generator.stateful import stateful_types
    by_type = [s for s in POLICY["Statement"] if s["Effect"] == "Deny" and "Condition" in s]
    assert by_type and set(by_type[0]["Action"]) == {"Update:Replace", "Update:Delete"}
    assert set(by_type[0]["Condition"]["StringEquals"]["ResourceType"]) == set(stateful_types())


def test_cli_reads_the_policy_from_the_config_file(cf, tmp_path, capsys):
    client, stub = cf
    root, net = arn("shop-prod"), arn("shop-prod-Network-A")
    stub.add_response("list_stack_resources", {"StackResourceSummaries": [summary("Network", net)]},
                      {"StackName": "shop-prod"})
    stub.add_response("set_stack_policy", {}, {"StackName": net, "StackPolicyBody": json.dumps(POLICY)})
    stub.add_response("list_stack_resources", {"StackResourceSummaries": []}, {"StackName": net})
    code = nested_stack_policy.main(["--stack", "shop-prod", "--config", str(DEFAULT_PARAMS / "prod.config.json")],
                                    client=client)
    assert code == 0
    assert capsys.readouterr().out.splitlines()[-1] == \
        "shop-prod: the production stack policy is on all 1 nested stacks"


@pytest.mark.parametrize("config, message", [
    ({"Parameters": {}, "Tags": {}}, "no StackPolicy (only production environments have one)"),
    ("not json", "Expecting value"),
])
def test_cli_refuses_a_config_without_a_policy(tmp_path, capsys, config, message):
    path = tmp_path / "dev.config.json"
    path.write_text(config if isinstance(config, str) else json.dumps(config))
    assert nested_stack_policy.main(["--stack", "shop-dev", "--config", str(path)], client=object()) == 1
    err = capsys.readouterr().err
    assert err.startswith("nested_stack_policy.py: ") and message in err and "Traceback" not in err


def test_cli_reports_an_aws_error_in_one_line(cf, capsys):
    client, stub = cf
    stub.add_client_error("list_stack_resources", "ValidationError", "Stack with id shop-prod does not exist",
                          expected_params={"StackName": "shop-prod"})
    code = nested_stack_policy.main(["--stack", "shop-prod", "--config", str(DEFAULT_PARAMS / "prod.config.json")],
                                    client=client)
    assert code == 1
    assert capsys.readouterr().err == ("nested_stack_policy.py: shop-prod: ClientError: An error occurred "
                                       "(ValidationError) when calling the ListStackResources operation: Stack with "
                                       "id shop-prod does not exist\n")


def test_cli_fails_when_there_is_nothing_to_protect(cf, capsys):
    client, stub = cf
    stub.add_response("list_stack_resources", {"StackResourceSummaries": []}, {"StackName": "shop-prod"})
    code = nested_stack_policy.main(["--stack", "shop-prod", "--config", str(DEFAULT_PARAMS / "prod.config.json")],
                                    client=client)
    assert code == 1 and "has no nested stacks" in capsys.readouterr().err


APP = """\
app: mini
owner: team-a
region: eu-west-1
environments:
  prod: {production: true, account_id: "222222222222", cidr: 10.30.0.0/16, zones: [euw1-az1, euw1-az2]}
"""
ROOT_T = """\
Parameters:
  LogRetention: {Type: Number}
Resources:
  Logs:
    Type: AWS::CloudFormation::Stack
    Properties:
      TemplateURL: ./logs.yaml
      Parameters: {LogRetention: !Ref LogRetention}
"""
LOGS_T = """\
Parameters:
  LogRetention: {Type: Number}
Resources:
  Group:
    Type: AWS::Logs::LogGroup
    DeletionPolicy: RetainExceptOnCreate
    UpdateReplacePolicy: Retain
    Properties: {RetentionInDays: !Ref LogRetention}
"""


@pytest.mark.slow
def test_a_production_deploy_against_the_emulator_sets_the_policy_on_root_and_nested_stacks(tmp_path):
    (tmp_path / "app.yaml").write_text(APP)
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "root.yaml").write_text(ROOT_T)
    (tmp_path / "t" / "logs.yaml").write_text(LOGS_T)
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "prod.json").write_text(json.dumps([{"ParameterKey": "LogRetention", "ParameterValue": "30"}]))
    (tmp_path / "p" / "prod.config.json").write_text(json.dumps(
        {"Parameters": {"LogRetention": "30"}, "Tags": {"Environment": "prod"}, "StackPolicy": POLICY}))
    target = load_target(tmp_path / "app.yaml", "prod", tmp_path / "t", tmp_path / "p", None)
    with rehearsal.emulator("222222222222") as url:
        session = boto3.Session(aws_access_key_id="x", aws_secret_access_key="y", region_name=REGION)
        aws = Aws(session, REGION, url, retries={"mode": "standard", "max_attempts": 1})
        out = io.StringIO()
        ctx = commands.Ctx(target, aws, Console(out=out, err=out, interactive=False), commands.Options(
            yes=True, build_dir=tmp_path / "build", event_poll=0.05, change_set_poll=0.05))
        assert commands.deploy(ctx) == 0, out.getvalue()
        root = aws.cf.describe_stacks(StackName="mini-prod")["Stacks"][0]["StackId"]
        nested = [stack_id for _, stack_id in nested_stack_policy.nested_stacks(aws.cf, root)]
        assert len(nested) == 1
        for stack in (root, *nested):
            assert json.loads(aws.cf.get_stack_policy(StackName=stack)["StackPolicyBody"]) == POLICY, stack
        assert "stack policy set on the root and its 1 nested stacks" in out.getvalue()
