"""The deploy flows against exact CloudFormation/S3/STS responses (botocore Stubber): what the emulator cannot
produce - failed change sets, "no changes", rollbacks with nested root causes, Ctrl-C, stuck stacks, production
protection, destroy refusals, drift results.

Stubber rejects calls the test did not expect and parameters that differ, so each test also pins the exact API
conversation (IncludeNestedStacks, capabilities, tags, parameters...).
"""
from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import boto3
import botocore.session
import pytest
from botocore.stub import ANY, Stubber

from scripts.deploylib import commands, migration, packaging
from scripts.deploylib.aws import Aws
from scripts.deploylib.errors import DeployError, DeploymentFailed, Interrupted
from scripts.deploylib.target import load_target
from scripts.deploylib.ui import Console

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)
REGION = "eu-west-1"
SECRET = "correct-horse-battery"
APP = """\
app: shop
owner: team-a
region: eu-west-1
environments:
  dev: {account_id: "111111111111", cidr: 10.10.0.0/16}
  prod: {production: true, account_id: "222222222222", cidr: 10.30.0.0/16, zones: [euw1-az1, euw1-az2]}
"""
ROOT_T = """\
Parameters:
  EnvironmentName: {Type: String}
  DbPassword: {Type: String, NoEcho: true}
  ApiImageTag: {Type: String}
  WebImageTag: {Type: String}
Resources:
  Network:
    Type: AWS::CloudFormation::Stack
    Properties:
      TemplateURL: ./network.yaml
      Parameters: {EnvironmentName: !Ref EnvironmentName}
Outputs:
  VpcId: {Value: !GetAtt Network.Outputs.VpcId}
"""
NETWORK_T = """\
Parameters:
  EnvironmentName: {Type: String}
Resources:
  Vpc: {Type: AWS::EC2::VPC, Properties: {CidrBlock: 10.0.0.0/16}}
  FlowLogRole: {Type: AWS::IAM::Role, Properties: {AssumeRolePolicyDocument: {}}}
Outputs:
  VpcId: {Value: !Ref Vpc}
"""
# One model loader for the module: service models are parsed once, not once per test.
LOADER = botocore.session.get_session().get_component("data_loader")


def botocore_session() -> botocore.session.Session:
    session = botocore.session.get_session()
    session.register_component("data_loader", LOADER)
    return session


POLICY = {"Statement": [{"Effect": "Deny", "Action": "Update:Replace", "Principal": "*", "Resource": "*"}]}


def stack_id(name: str) -> str:
    return f"arn:aws:cloudformation:{REGION}:111111111111:stack/{name}/0000"


@dataclass
class Harness:
    ctx: commands.Ctx
    cf: Stubber
    s3: Stubber
    sts: Stubber
    out: io.StringIO
    err: io.StringIO
    plan: packaging.PackagePlan
    sleeps: list

    @property
    def name(self) -> str:
        return self.ctx.name

    @property
    def sid(self) -> str:
        return stack_id(self.name)

    def output(self) -> str:
        return self.out.getvalue()

    def done(self) -> None:
        for stub in (self.cf, self.s3, self.sts):
            stub.assert_no_pending_responses()

    # --- canned conversations -------------------------------------------------------------------------------
    def preflight(self, account: str | None = None) -> None:
        account = account or self.ctx.target.spec.account_id
        self.sts.add_response("get_caller_identity", {"Account": account, "UserId": "AIDTEST",
                                                      "Arn": f"arn:aws:iam::{account}:user/ci"}, {})

    def package(self) -> None:
        self.preflight()
        self.s3.add_response("head_bucket", {}, {"Bucket": self.plan.bucket})
        self.s3.add_response("get_bucket_location", {"LocationConstraint": REGION}, {"Bucket": self.plan.bucket})
        for artifact in self.plan.artifacts:  # uploaded a minute ago: reused
            self.s3.add_response("head_object", {"LastModified": datetime.now(timezone.utc) - timedelta(minutes=1)},
                                 {"Bucket": self.plan.bucket, "Key": artifact.key})

    def describe(self, status: str | None, name: str | None = None, running_tag: str | None = None,
                 tagged: tuple[str, ...] = ("ApiImageTag", "WebImageTag"), extra_parameters: tuple = (),
                 **extra) -> None:
        name = name or self.name
        if status is None:
            self.cf.add_client_error("describe_stacks", "ValidationError", f"Stack with id {name} does not exist",
                                     expected_params={"StackName": name})
            return
        stack = {"StackName": self.name, "StackId": self.sid, "CreationTime": T0, "StackStatus": status,
                 "Parameters": [{"ParameterKey": "EnvironmentName", "ParameterValue": "old"},
                                {"ParameterKey": "DbPassword", "ParameterValue": "****"}], **extra}
        if running_tag:  # the services in `tagged` run it; the others are new to the stack
            stack["Parameters"] += [{"ParameterKey": key, "ParameterValue": running_tag} for key in tagged]
        stack["Parameters"] += list(extra_parameters)
        self.cf.add_response("describe_stacks", {"Stacks": [stack]}, {"StackName": name})

    def create_change_set(self, kind: str, purpose: str = "deploy", error: str | None = None,
                          parameters: list | None = None) -> str:
        cs = f"arn:aws:cloudformation:{REGION}:111111111111:changeSet/{purpose}/1"
        params = {"StackName": self.name, "ChangeSetName": f"{purpose}-20260301-120000", "ChangeSetType": kind,
                  "TemplateURL": self.plan.root_url,
                  "Parameters": parameters or self.ctx.target.cfn_parameters(),
                  "Capabilities": ["CAPABILITY_IAM"], "Tags": self.ctx.target.cfn_tags(),
                  "IncludeNestedStacks": True, "Description": f"{purpose} of {self.ctx.target.env} by "
                                                              "scripts/deploy.py"}
        if error:
            self.cf.add_client_error("create_change_set", "ValidationError", error, expected_params=params)
        else:
            self.cf.add_response("create_change_set", {"Id": cs, "StackId": self.sid}, params)
        return cs

    def change_set(self, cs: str, status: str, reason: str = "", changes=(), token=None, expect_token=None,
                   name: str | None = None) -> None:
        response = {"ChangeSetId": cs, "ChangeSetName": "x", "StackId": self.sid, "StackName": name or self.name,
                    "Status": status, "ExecutionStatus": "AVAILABLE" if status == "CREATE_COMPLETE" else
                    "UNAVAILABLE", "Changes": list(changes)}
        if reason:
            response["StatusReason"] = reason
        if token:
            response["NextToken"] = token
        params = {"ChangeSetName": cs, **({"NextToken": expect_token} if expect_token else {})}
        self.cf.add_response("describe_change_set", response, params)

    def events(self, sid: str, *evs) -> None:
        self.cf.add_response("describe_stack_events", {"StackEvents": list(evs)}, {"StackName": sid})


def change(action, logical, rtype, nested=None, replacement=None):
    rc = {"Action": action, "LogicalResourceId": logical, "ResourceType": rtype, "Details": []}
    if nested:
        rc["ChangeSetId"] = nested
    if replacement:
        rc["Replacement"] = replacement
    return {"Type": "Resource", "ResourceChange": rc}


def ev(sid, logical, status, seconds, rtype="AWS::EC2::VPC", reason=None, physical="phys"):
    event = {"StackId": sid, "EventId": f"{sid[-10:]}-{logical}-{status}-{seconds}", "StackName": "s",
             "LogicalResourceId": logical, "PhysicalResourceId": physical, "ResourceType": rtype,
             "Timestamp": T0 + timedelta(seconds=seconds), "ResourceStatus": status}
    if reason:
        event["ResourceStatusReason"] = reason
    return event


@pytest.fixture
def make(tmp_path: Path):
    (tmp_path / "app.yaml").write_text(APP)
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "root.yaml").write_text(ROOT_T)
    (templates / "network.yaml").write_text(NETWORK_T)
    params = tmp_path / "params"
    params.mkdir()
    for env in ("dev", "prod"):
        values = {"EnvironmentName": env, "DbPassword": SECRET, "ApiImageTag": "bootstrap", "WebImageTag": "bootstrap"}
        (params / f"{env}.json").write_text(json.dumps([{"ParameterKey": k, "ParameterValue": v}
                                                        for k, v in values.items()]))
        config = {"Parameters": values, "Tags": {"Environment": env, "Owner": "team-a"}}
        if env == "prod":
            config["StackPolicy"] = POLICY
        (params / f"{env}.config.json").write_text(json.dumps(config))

    def build(env: str = "dev", yes: bool = True, answers: tuple[str, ...] = (), interactive: bool = False,
              force: bool = False, dry_run: bool = False, interrupt_after: int | None = None) -> Harness:
        target = load_target(tmp_path / "app.yaml", env, templates, params, None)
        session = boto3.Session(aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="not-a-secret",
                                region_name=REGION, botocore_session=botocore_session())
        aws = Aws(session, REGION)
        stubs = {name: Stubber(aws.client(name)) for name in ("cloudformation", "s3", "sts")}
        for stub in stubs.values():
            stub.activate()
        out, err = io.StringIO(), io.StringIO()
        sleeps: list[float] = []

        def sleep(seconds: float) -> None:
            sleeps.append(seconds)
            if interrupt_after is not None and len(sleeps) >= interrupt_after:
                raise KeyboardInterrupt

        replies = iter(answers)
        console = Console(out=out, err=err, ask=lambda prompt: next(replies), interactive=interactive,
                          sleep=sleep, now=lambda: T0, monotonic=lambda: 0.0)
        ctx = commands.Ctx(target, aws, console, commands.Options(
            yes=yes, force=force, dry_run=dry_run, build_dir=tmp_path / "build", event_poll=0, change_set_poll=0,
            drift_poll=0))
        bucket = packaging.default_bucket_name("shop", target.spec.account_id, REGION)
        plan = packaging.plan_package(templates, "root.yaml", bucket, REGION, "shop")
        return Harness(ctx, stubs["cloudformation"], stubs["s3"], stubs["sts"], out, err, plan, sleeps)

    return build


# --- diff / deploy ----------------------------------------------------------------------------------------------

def test_diff_reads_the_nested_change_sets_across_pages_then_deletes_the_change_set(make):
    h = make()
    h.package()
    h.describe("UPDATE_COMPLETE")
    cs = h.create_change_set("UPDATE", "preview")
    nested = "arn:aws:cloudformation:eu-west-1:111111111111:changeSet/nested/2"
    h.change_set(cs, "CREATE_PENDING")
    h.change_set(cs, "CREATE_COMPLETE")
    h.change_set(cs, "CREATE_COMPLETE", changes=[change("Add", "Topic", "AWS::SNS::Topic")], token="page2")
    h.change_set(cs, "CREATE_COMPLETE", changes=[change("Modify", "Network", "AWS::CloudFormation::Stack",
                                                        nested=nested)], expect_token="page2")
    h.change_set(nested, "CREATE_COMPLETE", name="shop-dev-Network-ABC", changes=[
        change("Modify", "Vpc", "AWS::EC2::VPC", replacement="True")])
    h.cf.add_response("delete_change_set", {}, {"ChangeSetName": cs})
    assert commands.diff(h.ctx) == 0
    h.done()
    text = h.output()
    assert "Change set preview-20260301-120000 for shop-dev (update, eu-west-1)" in text
    assert "  ~ EnvironmentName : old -> dev" in text
    assert "shop-dev/Network\n  ~ Modify  Vpc" in text
    assert "!!   shop-dev/Network/Vpc (AWS::EC2::VPC) replaced" in text
    assert "Summary: 1 to add, 1 to modify (1 replaced), 0 to remove, in 2 stacks; nested stacks: 1 modified." \
        in text
    assert SECRET not in text and "DbPassword" not in text   # secrets are neither compared nor printed
    assert h.sleeps == [0]                                     # one wait while CREATE_PENDING


def test_diff_of_a_new_stack_removes_the_review_stack_it_created(make):
    h = make()
    h.package()
    h.describe(None)
    cs = h.create_change_set("CREATE", "preview")
    h.change_set(cs, "CREATE_COMPLETE")
    h.change_set(cs, "CREATE_COMPLETE", changes=[change("Add", "Network", "AWS::CloudFormation::Stack")])
    h.cf.add_response("delete_change_set", {}, {"ChangeSetName": cs})
    h.describe("REVIEW_IN_PROGRESS", name=h.sid)
    h.cf.add_response("delete_stack", {}, {"StackName": h.sid})
    assert commands.diff(h.ctx) == 0
    h.done()
    assert "(new stack, eu-west-1)" in h.output()
    assert f"  + DbPassword      = ****" in h.output() and SECRET not in h.output()


def test_an_existing_stack_keeps_its_running_image_tag_instead_of_the_placeholder(make):
    h = make()
    h.package()
    h.describe("UPDATE_COMPLETE", running_tag="3f2a9c1")
    h.create_change_set("UPDATE", error="No updates are to be performed.", parameters=[
        {"ParameterKey": "EnvironmentName", "ParameterValue": "dev"},
        {"ParameterKey": "DbPassword", "ParameterValue": SECRET},
        {"ParameterKey": "ApiImageTag", "UsePreviousValue": True},
        {"ParameterKey": "WebImageTag", "UsePreviousValue": True}])
    assert commands.deploy(h.ctx) == 0
    h.done()
    for key in ("ApiImageTag", "WebImageTag"):
        assert (f"{key}: keeping the running value '3f2a9c1' (the parameter file holds the first-deploy placeholder "
                "'bootstrap'; pass IMAGE_TAG=<tag> to change it)") in h.output()


def test_a_service_new_to_an_existing_stack_starts_in_bootstrap_while_the_others_keep_running(make):
    h = make()
    h.package()
    h.describe("UPDATE_COMPLETE", running_tag="3f2a9c1", tagged=("ApiImageTag",))
    h.create_change_set("UPDATE", error="No updates are to be performed.", parameters=[
        {"ParameterKey": "EnvironmentName", "ParameterValue": "dev"},
        {"ParameterKey": "DbPassword", "ParameterValue": SECRET},
        {"ParameterKey": "ApiImageTag", "UsePreviousValue": True},
        {"ParameterKey": "WebImageTag", "ParameterValue": "bootstrap"}])
    assert commands.deploy(h.ctx) == 0
    h.done()
    assert "ApiImageTag: keeping the running value '3f2a9c1'" in h.output()
    assert "WebImageTag: new to the stack, deployed as 'bootstrap' (no tasks until a release" in h.output()


def test_a_stack_with_the_former_single_image_tag_keeps_running_it_per_service(make):
    h = make()
    h.package()
    h.describe("UPDATE_COMPLETE", running_tag="3f2a9c1", tagged=("ImageTag",), extra_parameters=[
        {"ParameterKey": "ApiExecEnabled", "ParameterValue": "true"},
        {"ParameterKey": "WebExecEnabled", "ParameterValue": "true"}])
    h.create_change_set("UPDATE", error="No updates are to be performed.", parameters=[
        {"ParameterKey": "EnvironmentName", "ParameterValue": "dev"},
        {"ParameterKey": "DbPassword", "ParameterValue": SECRET},
        {"ParameterKey": "ApiImageTag", "ParameterValue": "3f2a9c1"},
        {"ParameterKey": "WebImageTag", "ParameterValue": "3f2a9c1"}])
    assert commands.deploy(h.ctx) == 0
    h.done()
    assert "WebImageTag: taking the running ImageTag '3f2a9c1' (the stack predates per-service image tags)" \
        in h.output()


def test_an_explicit_image_tag_is_deployed_and_the_placeholder_refused(make):
    h = make()
    h.ctx.options.image_tag = "bootstrap"
    h.package()
    h.describe("UPDATE_COMPLETE", running_tag="3f2a9c1")
    with pytest.raises(DeployError, match="refusing ApiImageTag=bootstrap on the existing stack"):
        commands.deploy(h.ctx)
    h.done()
    h = make()
    h.ctx.options.image_tag = "4b5c6d7"
    h.package()
    h.describe("UPDATE_COMPLETE", running_tag="3f2a9c1")
    cs = h.create_change_set("UPDATE", "preview", parameters=[
        {"ParameterKey": "EnvironmentName", "ParameterValue": "dev"},
        {"ParameterKey": "DbPassword", "ParameterValue": SECRET},
        {"ParameterKey": "ApiImageTag", "ParameterValue": "4b5c6d7"},
        {"ParameterKey": "WebImageTag", "ParameterValue": "4b5c6d7"}])
    h.change_set(cs, "CREATE_COMPLETE")
    h.change_set(cs, "CREATE_COMPLETE", changes=[change("Modify", "Network", "AWS::CloudFormation::Stack")])
    h.cf.add_response("delete_change_set", {}, {"ChangeSetName": cs})
    assert commands.diff(h.ctx) == 0
    h.done()
    assert "  ~ ApiImageTag     : 3f2a9c1 -> 4b5c6d7" in h.output()
    assert "  ~ WebImageTag     : 3f2a9c1 -> 4b5c6d7" in h.output()


def test_no_changes_is_a_normal_successful_outcome(make):
    h = make()
    h.package()
    h.describe("UPDATE_COMPLETE")
    cs = h.create_change_set("UPDATE")
    h.change_set(cs, "FAILED", reason="The submitted information didn't contain changes. Submit different "
                                      "information to create a change set.")
    h.cf.add_response("delete_change_set", {}, {"ChangeSetName": cs})
    assert commands.deploy(h.ctx) == 0
    h.done()
    assert "No changes: the stacks already match these templates and parameters.\nNothing to deploy." in h.output()


def test_no_updates_validation_error_also_means_no_changes(make):
    h = make()
    h.package()
    h.describe("UPDATE_ROLLBACK_COMPLETE")
    h.create_change_set("UPDATE", error="No updates are to be performed.")
    assert commands.deploy(h.ctx) == 0
    h.done()
    assert "Nothing to deploy." in h.output()


def test_a_failed_change_set_reports_its_reason_and_is_deleted(make):
    h = make()
    h.package()
    h.describe("CREATE_COMPLETE")
    cs = h.create_change_set("UPDATE", "preview")
    h.change_set(cs, "FAILED", reason="Nested change set arn:...:changeSet/n/2 was not successfully created: "
                                      "Currently in FAILED. Template format error: Unresolved resource "
                                      "dependencies [Vpcc] in the Resources block of the template")
    h.cf.add_response("delete_change_set", {}, {"ChangeSetName": cs})
    with pytest.raises(DeployError) as err:
        commands.diff(h.ctx)
    h.done()
    assert err.value.message.startswith("the change set could not be created: Nested change set")
    assert "Unresolved resource dependencies [Vpcc]" in err.value.message


@pytest.mark.parametrize("status, words", [
    ("ROLLBACK_COMPLETE", ["first create failed", "make destroy ENV=dev"]),
    ("UPDATE_ROLLBACK_FAILED", ["continue-update-rollback --stack-name shop-dev"]),
    ("UPDATE_IN_PROGRESS", ["busy (UPDATE_IN_PROGRESS)", "make watch ENV=dev"]),
    ("DELETE_FAILED", ["could not be deleted", "make destroy ENV=dev"]),
])
def test_stacks_stuck_in_a_failed_state_say_what_to_do(make, status, words):
    h = make()
    h.package()
    h.describe(status)
    with pytest.raises(DeployError) as err:
        commands.deploy(h.ctx)
    h.done()
    text = "\n".join(err.value.lines())
    for word in words:
        assert word in text


def deploy_until_execute(h: Harness, kind: str = "UPDATE") -> str:
    h.package()
    h.describe("UPDATE_COMPLETE" if kind == "UPDATE" else None)
    cs = h.create_change_set(kind)
    h.change_set(cs, "CREATE_COMPLETE")
    h.change_set(cs, "CREATE_COMPLETE", changes=[change("Add", "Topic", "AWS::SNS::Topic")])
    return cs


def successful_update(h: Harness, cs: str) -> None:
    """The events and descriptions of an update that completes (the root and its Network stack)."""
    net = stack_id("shop-dev-Network-ABC")
    old = ev(h.sid, h.name, "UPDATE_COMPLETE", -600, "AWS::CloudFormation::Stack", physical=h.sid)
    h.events(h.sid, old)                                              # prime: what is already there
    h.cf.add_response("execute_change_set", {}, {"ChangeSetName": cs})
    h.events(h.sid,                                                   # newest first, as the API returns them
             ev(h.sid, "Network", "UPDATE_IN_PROGRESS", 2, "AWS::CloudFormation::Stack", physical=net),
             ev(h.sid, h.name, "UPDATE_IN_PROGRESS", 1, "AWS::CloudFormation::Stack", "User Initiated", h.sid),
             old)
    h.describe("UPDATE_IN_PROGRESS", name=h.sid)
    h.events(h.sid, old)    # nothing new at the root
    h.events(net, ev(net, "Vpc", "UPDATE_COMPLETE", 4), ev(net, "Vpc", "UPDATE_IN_PROGRESS", 3))
    h.describe("UPDATE_COMPLETE", name=h.sid)
    h.events(h.sid, ev(h.sid, h.name, "UPDATE_COMPLETE", 6, "AWS::CloudFormation::Stack", physical=h.sid),
             ev(h.sid, "Network", "UPDATE_COMPLETE", 5, "AWS::CloudFormation::Stack", physical=net), old)
    h.events(net, ev(net, "Vpc", "UPDATE_COMPLETE", 4))
    h.describe("UPDATE_COMPLETE", name=h.sid, Outputs=[{"OutputKey": "VpcId", "OutputValue": "vpc-123"}])


def test_deploy_streams_root_and_nested_events_and_prints_outputs(make):
    h = make()
    cs = deploy_until_execute(h)
    successful_update(h, cs)
    assert commands.deploy(h.ctx) == 0
    h.done()
    lines = h.output().splitlines()
    streamed = [line for line in lines if line.startswith("12:00:")]
    assert streamed == [
        "12:00:01 +0:00 [  0/3] UPDATE_IN_PROGRESS           shop-dev  AWS::CloudFormation::Stack  User Initiated",
        "12:00:02 +0:01 [  0/3] UPDATE_IN_PROGRESS           shop-dev/Network  AWS::CloudFormation::Stack",
        "12:00:03 +0:02 [  0/3] UPDATE_IN_PROGRESS           shop-dev/Network/Vpc  AWS::EC2::VPC",
        "12:00:04 +0:03 [  1/3] UPDATE_COMPLETE              shop-dev/Network/Vpc  AWS::EC2::VPC",
        "12:00:05 +0:04 [  2/3] UPDATE_COMPLETE              shop-dev/Network  AWS::CloudFormation::Stack",
        "12:00:06 +0:05 [  2/3] UPDATE_COMPLETE              shop-dev  AWS::CloudFormation::Stack",
    ]
    assert "  VpcId  vpc-123" in lines
    assert lines[-1] == "Deployed shop-dev: UPDATE_COMPLETE."


def test_the_migration_runs_after_a_successful_update_and_its_failure_fails_the_deploy(make, monkeypatch):
    """`migrate:` (scripts/deploylib/migration.py, tests/test_migration.py) runs once the stack update succeeded,
    before the deploy reports success; a failed migration is the deploy's failure (make release then starts no
    CodeDeploy deployment)."""
    calls = []
    monkeypatch.setattr(migration, "migrate", lambda ctx: calls.append(ctx.console.out.getvalue()))
    h = make()
    successful_update(h, deploy_until_execute(h))
    assert commands.deploy(h.ctx) == 0
    assert len(calls) == 1 and "Deployed" not in calls[0] and "vpc-123" in calls[0]   # after the outputs
    assert h.output().splitlines()[-1] == "Deployed shop-dev: UPDATE_COMPLETE."

    def failing(ctx):
        raise DeployError("migration failed: api task t1 exited with 1")
    monkeypatch.setattr(migration, "migrate", failing)
    h = make()
    successful_update(h, deploy_until_execute(h))
    with pytest.raises(DeployError, match="migration failed"):
        commands.deploy(h.ctx)
    assert "Deployed shop-dev" not in h.output()


def test_a_failed_deploy_prints_the_first_failure_of_each_stack_and_exits_non_zero(make):
    h = make()
    cs = deploy_until_execute(h, kind="CREATE")
    net = stack_id("shop-dev-Network-ABC")
    h.events(h.sid, ev(h.sid, h.name, "REVIEW_IN_PROGRESS", -5, "AWS::CloudFormation::Stack", physical=h.sid))
    h.cf.add_response("execute_change_set", {}, {"ChangeSetName": cs})
    h.events(h.sid,
             ev(h.sid, h.name, "ROLLBACK_COMPLETE", 30, "AWS::CloudFormation::Stack", physical=h.sid),
             ev(h.sid, "Network", "CREATE_FAILED", 20, "AWS::CloudFormation::Stack",
                "Embedded stack was not successfully created: The following resource(s) failed to create: "
                f"[FlowLogRole]. (password {SECRET} rejected)", physical=net),
             ev(h.sid, "Network", "CREATE_IN_PROGRESS", 2, "AWS::CloudFormation::Stack", physical=net),
             ev(h.sid, h.name, "CREATE_IN_PROGRESS", 1, "AWS::CloudFormation::Stack", "User Initiated", h.sid))
    h.describe("ROLLBACK_COMPLETE", name=h.sid)
    h.events(h.sid)
    h.events(net,
             ev(net, "Vpc", "CREATE_FAILED", 11, reason="Resource creation cancelled"),
             ev(net, "FlowLogRole", "CREATE_FAILED", 10, "AWS::IAM::Role",
                "Resource handler returned message: \"User is not authorized to perform: iam:CreateRole\""))
    with pytest.raises(DeploymentFailed) as err:
        commands.deploy(h.ctx)
    h.done()
    lines = "\n".join(err.value.lines()).splitlines()
    assert lines[:6] == [
        "FAILED: shop-dev is ROLLBACK_COMPLETE.",
        "Root cause (first failed resource of each stack, innermost first):",
        "  shop-dev/Network: FlowLogRole (AWS::IAM::Role) CREATE_FAILED",
        "      Resource handler returned message: \"User is not authorized to perform: iam:CreateRole\"",
        "  shop-dev: Network (AWS::CloudFormation::Stack) CREATE_FAILED",
        "      Embedded stack was not successfully created: The following resource(s) failed to create: "
        "[FlowLogRole]. (password **** rejected)",
    ]
    assert "`make destroy ENV=dev`" in lines[-1]
    assert err.value.exit_code == 1
    # the event stream went through the console, which never prints a secret value
    assert SECRET not in h.output() and "(password **** rejected)" in h.output()


def test_ctrl_c_while_waiting_leaves_the_stack_deploying_and_says_how_to_resume(make):
    h = make(interrupt_after=1)
    cs = deploy_until_execute(h)
    h.events(h.sid)
    h.cf.add_response("execute_change_set", {}, {"ChangeSetName": cs})
    h.events(h.sid, ev(h.sid, h.name, "UPDATE_IN_PROGRESS", 1, "AWS::CloudFormation::Stack", "User Initiated",
                       h.sid))
    h.describe("UPDATE_IN_PROGRESS", name=h.sid)
    with pytest.raises(Interrupted) as err:
        commands.deploy(h.ctx)
    h.done()       # execute_change_set was called; nothing cancelled it
    text = "\n".join(err.value.lines())
    assert "Stopped watching. CloudFormation carries on with the deployment of shop-dev; nothing was cancelled." \
        in text
    assert "resume watching: make watch ENV=dev" in text
    assert err.value.exit_code == 130


def test_declining_the_prompt_deletes_the_change_set(make):
    h = make(yes=False, interactive=True, answers=("no",))
    cs = deploy_until_execute(h)
    h.cf.add_response("delete_change_set", {}, {"ChangeSetName": cs})
    assert commands.deploy(h.ctx) == 1
    h.done()
    assert h.output().endswith("Not deployed; the change set was deleted.\n")


def test_without_a_terminal_deploy_needs_yes(make):
    h = make(yes=False, interactive=False)
    cs = deploy_until_execute(h)
    h.cf.add_response("delete_change_set", {}, {"ChangeSetName": cs})
    with pytest.raises(DeployError) as err:
        commands.deploy(h.ctx)
    h.done()
    assert err.value.hints == ("review the preview above, then run `make deploy ENV=dev YES=1`",)


def test_deploy_and_deploy_role_go_through_the_one_change_set_flow(make, tmp_path, monkeypatch):
    """`make deploy` (commands.py) and `make deploy-role` (access.py) create, wait for, read, preview, confirm and
    discard their change sets through changeset_flow.py: the same replacement, declined at the prompt, prints the
    same preview and the same words for both, their stack and change set names aside."""
    from scripts.deploylib import access, changeset_flow

    calls: list[tuple[str, str]] = []
    for step in ("prepare", "show", "confirm"):
        real = getattr(changeset_flow, step)

        def spy(*args, _real=real, _step=step, **kwargs):   # the stack of the Change or Prepared it was given
            stack, = {a.stack_name if isinstance(a, changeset_flow.Change) else a.preview.stack_name
                      for a in args if isinstance(a, (changeset_flow.Change, changeset_flow.Prepared))}
            calls.append((_step, stack))
            return _real(*args, **kwargs)
        monkeypatch.setattr(changeset_flow, step, spy)

    def changes_with_a_replacement(h: Harness, cs: str, stack: str) -> None:
        nested = f"arn:aws:cloudformation:{REGION}:111111111111:changeSet/nested-of-{stack}/2"
        h.change_set(cs, "CREATE_COMPLETE", name=stack)
        h.change_set(cs, "CREATE_COMPLETE", name=stack, changes=[
            change("Modify", "Network", "AWS::CloudFormation::Stack", nested=nested)])
        h.change_set(nested, "CREATE_COMPLETE", name=f"{stack}-Network-ABC", changes=[
            change("Modify", "Vpc", "AWS::EC2::VPC", replacement="True")])
        h.cf.add_response("delete_change_set", {}, {"ChangeSetName": cs})

    # make deploy ENV=dev, answered "no"
    h = make(yes=False, interactive=True, answers=("no",))
    h.package()
    h.describe("UPDATE_COMPLETE", running_tag="3f2a9c1")
    cs = h.create_change_set("UPDATE", parameters=[
        {"ParameterKey": "EnvironmentName", "ParameterValue": "dev"},
        {"ParameterKey": "DbPassword", "ParameterValue": SECRET},
        {"ParameterKey": "ApiImageTag", "UsePreviousValue": True},
        {"ParameterKey": "WebImageTag", "UsePreviousValue": True}])
    changes_with_a_replacement(h, cs, "shop-dev")
    assert commands.deploy(h.ctx) == 1
    h.done()

    # make deploy-role, answered "no": its template (one IAM role: CAPABILITY_IAM too) through the same bucket
    role_templates, role_params = tmp_path / "role-templates", tmp_path / "role-params"
    role_templates.mkdir()
    role_params.mkdir()
    (role_templates / "deploy-role.yaml").write_text(NETWORK_T)
    (role_params / "deploy-role.json").write_text(json.dumps([{"ParameterKey": "EnvironmentName",
                                                               "ParameterValue": "dev"}]))
    r = make(yes=False, interactive=True, answers=("no",))
    r.plan = packaging.plan_package(role_templates, "deploy-role.yaml", r.plan.bucket, REGION, "shop")
    r.package()
    name, role_cs = "shop-pipeline-access", f"arn:aws:cloudformation:{REGION}:111111111111:changeSet/deploy-role/1"
    r.cf.add_response("describe_stacks", {"Stacks": [{
        "StackName": name, "StackId": stack_id(name), "CreationTime": T0, "StackStatus": "UPDATE_COMPLETE",
        "Parameters": [{"ParameterKey": "EnvironmentName", "ParameterValue": "old"}]}]}, {"StackName": name})
    r.cf.add_response("create_change_set", {"Id": role_cs, "StackId": stack_id(name)}, {
        "StackName": name, "ChangeSetName": "deploy-role-20260301-120000", "ChangeSetType": "UPDATE",
        "TemplateURL": r.plan.root_url, "Parameters": [{"ParameterKey": "EnvironmentName", "ParameterValue": "dev"}],
        "Capabilities": ["CAPABILITY_IAM"], "Tags": [{"Key": "Application", "Value": "shop"},
                                                      {"Key": "Owner", "Value": "team-a"}],
        "IncludeNestedStacks": True, "Description": "deploy-role.yaml by scripts/deploy.py deploy-role"})
    changes_with_a_replacement(r, role_cs, name)
    assert access.deploy_role(r.ctx.aws, r.ctx.console, r.ctx.target.app, role_templates, role_params,
                              access.AccessOptions(change_set_poll=0, event_poll=0)) == 1
    r.done()

    assert calls == [("prepare", "shop-dev"), ("show", "shop-dev"), ("confirm", "shop-dev"),
                     ("prepare", name), ("show", name), ("confirm", name)]

    def shape(output: str, stack: str, change_set: str) -> str:
        text = output[output.index("Change set "):]
        return text.replace(change_set, "<change set>").replace(stack, "<stack>")
    deployed = shape(h.output(), "shop-dev", "deploy-20260301-120000")
    assert deployed == shape(r.output(), name, "deploy-role-20260301-120000")
    assert "!!   <stack>/Network/Vpc (AWS::EC2::VPC) replaced" in deployed
    assert "  ~ EnvironmentName : old -> dev" in deployed
    assert deployed.endswith("1 to modify (1 replaced), 0 to remove, in 2 stacks; nested stacks: 1 modified.\n"
                             "Not deployed; the change set was deleted.\n")


def _protection(h: Harness, nested: str, created: str | None = None) -> None:
    """The production protection conversation: the root's policy, then the same policy on every nested stack found
    by walking ListStackResources (a stack policy covers only its own stack), then termination protection."""
    body = json.dumps(POLICY)
    h.cf.add_response("set_stack_policy", {}, {"StackName": h.sid, "StackPolicyBody": body})
    children = [("Network", nested)] + ([("Registry", created)] if created else [])
    h.cf.add_response("list_stack_resources", {"StackResourceSummaries": [
        {"LogicalResourceId": logical, "PhysicalResourceId": physical, "LastUpdatedTimestamp": T0,
         "ResourceType": "AWS::CloudFormation::Stack", "ResourceStatus": "UPDATE_COMPLETE"}
        for logical, physical in children]}, {"StackName": h.sid})
    for _, physical in children:
        h.cf.add_response("set_stack_policy", {}, {"StackName": physical, "StackPolicyBody": body})
        h.cf.add_response("list_stack_resources", {"StackResourceSummaries": [
            {"LogicalResourceId": "Logs", "PhysicalResourceId": "/a", "LastUpdatedTimestamp": T0,
             "ResourceType": "AWS::Logs::LogGroup", "ResourceStatus": "CREATE_COMPLETE"}]}, {"StackName": physical})
    h.cf.add_response("update_termination_protection", {"StackId": h.sid},
                      {"StackName": h.sid, "EnableTerminationProtection": True})


def test_production_gets_stack_policy_on_every_stack_and_termination_protection_before_and_after_an_update(make):
    """Before the update (the current policies govern it) and after it (a nested stack the update created has none
    yet): the root and each nested stack get params/prod.config.json's StackPolicy."""
    h = make("prod", yes=False, interactive=True, answers=("shop-prod",))
    cs = deploy_until_execute(h)
    net, registry = stack_id("shop-prod-Network-ABC"), stack_id("shop-prod-Registry-DEF")
    _protection(h, net)
    h.events(h.sid)
    h.cf.add_response("execute_change_set", {}, {"ChangeSetName": cs})
    h.events(h.sid, ev(h.sid, h.name, "UPDATE_COMPLETE", 3, "AWS::CloudFormation::Stack", physical=h.sid))
    h.describe("UPDATE_COMPLETE", name=h.sid)
    h.events(h.sid)
    _protection(h, net, created=registry)
    h.describe("UPDATE_COMPLETE", name=h.sid)
    assert commands.deploy(h.ctx) == 0
    h.done()
    assert "stack policy set on the root and its 1 nested stacks" in h.output()
    assert "stack policy set on the root and its 2 nested stacks" in h.output()
    assert "termination protection on" in h.output()


def test_a_first_production_deploy_protects_the_tree_once_it_exists(make):
    h = make("prod", yes=True)
    cs = deploy_until_execute(h, "CREATE")
    net = stack_id("shop-prod-Network-ABC")
    h.events(h.sid)
    h.cf.add_response("execute_change_set", {}, {"ChangeSetName": cs})
    h.events(h.sid, ev(h.sid, h.name, "CREATE_COMPLETE", 3, "AWS::CloudFormation::Stack", physical=h.sid))
    h.describe("CREATE_COMPLETE", name=h.sid)
    h.events(h.sid)
    _protection(h, net)
    h.describe("CREATE_COMPLETE", name=h.sid)
    assert commands.deploy(h.ctx) == 0
    h.done()
    assert "stack policy set on the root and its 1 nested stacks" in h.output()


def test_the_wrong_account_is_refused_before_anything_happens(make):
    h = make("prod")
    h.preflight(account="111111111111")
    with pytest.raises(DeployError) as err:
        commands.deploy(h.ctx)
    h.done()
    assert err.value.message == ("these credentials are for account 111111111111, but environment 'prod' lives "
                                 "in account 222222222222 (app.yaml)")


def test_a_missing_explicit_bucket_is_a_clear_error(make):
    h = make()
    h.ctx.options.bucket = "no-such-bucket"
    h.preflight()
    h.s3.add_client_error("head_bucket", "404", "Not Found", http_status_code=404,
                          expected_params={"Bucket": "no-such-bucket"})
    with pytest.raises(DeployError) as err:
        commands.package(h.ctx)
    h.done()
    assert err.value.message == "S3 bucket 'no-such-bucket' does not exist"
    assert "leave it out to let `make package` create the default bucket" in err.value.hints[0]


def test_package_creates_the_default_bucket_locked_down(make):
    h = make()
    bucket = h.plan.bucket
    h.preflight()
    h.s3.add_client_error("head_bucket", "404", "Not Found", http_status_code=404, expected_params={"Bucket": bucket})
    h.s3.add_response("create_bucket", {}, {"Bucket": bucket,
                                            "CreateBucketConfiguration": {"LocationConstraint": REGION}})
    h.s3.add_response("put_public_access_block", {}, {"Bucket": bucket, "PublicAccessBlockConfiguration": {
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}})
    h.s3.add_response("put_bucket_encryption", {}, {"Bucket": bucket, "ServerSideEncryptionConfiguration": ANY})
    h.s3.add_response("put_bucket_versioning", {}, {"Bucket": bucket,
                                                    "VersioningConfiguration": {"Status": "Enabled"}})
    h.s3.add_response("put_bucket_policy", {}, {"Bucket": bucket, "Policy": ANY})
    h.s3.add_response("put_bucket_lifecycle_configuration", {}, {"Bucket": bucket, "LifecycleConfiguration": ANY})
    h.s3.add_response("put_bucket_tagging", {}, {"Bucket": bucket, "Tagging": ANY})
    for artifact in h.plan.artifacts:
        h.s3.add_client_error("head_object", "404", "Not Found", http_status_code=404,
                              expected_params={"Bucket": bucket, "Key": artifact.key})
        h.s3.add_response("put_object", {}, {"Bucket": bucket, "Key": artifact.key, "Body": artifact.body,
                                             "ContentType": "application/x-yaml",
                                             "Metadata": {"source": artifact.source}})
    packaged = commands.package(h.ctx)
    h.done()
    text = h.output()
    assert f"Created bucket s3://{bucket} in eu-west-1 (versioned, SSE-S3 encrypted, public access blocked" in text
    assert f"Root template URL: {h.plan.root_url}" in text
    assert "Quick-create link (3 parameters filled in, secrets left out):" in text
    assert packaged.quick_create_url in text and SECRET not in text
    assert packaged.packaged_root.read_bytes() == h.plan.root.body


def test_package_dry_run_uploads_nothing(make):
    h = make(dry_run=True)
    h.preflight()
    h.s3.add_client_error("head_bucket", "404", "Not Found", http_status_code=404,
                          expected_params={"Bucket": h.plan.bucket})
    commands.package(h.ctx)
    h.done()
    assert f"Would create bucket s3://{h.plan.bucket}" in h.output()
    assert f"Would upload network.yaml to s3://{h.plan.bucket}/{h.plan.by_source('network.yaml').key}" in h.output()


# --- destroy -------------------------------------------------------------------------------------------------------

def test_destroy_refuses_production_without_force(make):
    h = make("prod")     # refused before any AWS call
    with pytest.raises(DeployError) as err:
        commands.destroy(h.ctx)
    h.done()
    assert err.value.message == "refusing to destroy production environment 'prod'"
    assert "make destroy ENV=prod FORCE=1" in err.value.hints[0]


def test_destroy_production_with_force_shows_the_plan_and_lifts_termination_protection(make):
    h = make("prod", yes=False, interactive=True, answers=("shop-prod",), force=True)
    net = stack_id("shop-prod-Network-ABC")
    h.preflight()
    h.describe("UPDATE_COMPLETE", EnableTerminationProtection=True)
    root_res = [{"LogicalResourceId": "Network", "PhysicalResourceId": net, "LastUpdatedTimestamp": T0,
                 "ResourceType": "AWS::CloudFormation::Stack", "ResourceStatus": "CREATE_COMPLETE"}]
    net_res = [{"LogicalResourceId": "Vpc", "PhysicalResourceId": "vpc-1", "ResourceType": "AWS::EC2::VPC",
                "LastUpdatedTimestamp": T0, "ResourceStatus": "CREATE_COMPLETE"},
               {"LogicalResourceId": "Logs", "PhysicalResourceId": "/a", "ResourceType": "AWS::Logs::LogGroup",
                "LastUpdatedTimestamp": T0, "ResourceStatus": "CREATE_COMPLETE"}]
    net_template = NETWORK_T.replace("Outputs:", "  Logs: {Type: AWS::Logs::LogGroup, DeletionPolicy: Retain}\n"
                                                 "Outputs:")
    # stacks.tree walks root then Network; destroy then lists and reads each stack's template
    h.cf.add_response("list_stack_resources", {"StackResourceSummaries": root_res}, {"StackName": h.sid})
    h.cf.add_response("list_stack_resources", {"StackResourceSummaries": net_res}, {"StackName": net})
    h.cf.add_response("list_stack_resources", {"StackResourceSummaries": root_res}, {"StackName": h.sid})
    h.cf.add_response("get_template", {"TemplateBody": ROOT_T}, {"StackName": h.sid, "TemplateStage": "Original"})
    h.cf.add_response("list_stack_resources", {"StackResourceSummaries": net_res}, {"StackName": net})
    h.cf.add_response("get_template", {"TemplateBody": net_template}, {"StackName": net, "TemplateStage": "Original"})
    h.cf.add_response("update_termination_protection", {"StackId": h.sid},
                      {"StackName": h.sid, "EnableTerminationProtection": False})
    h.events(h.sid)
    h.cf.add_response("delete_stack", {}, {"StackName": h.sid})
    h.events(h.sid, ev(h.sid, h.name, "DELETE_COMPLETE", 9, "AWS::CloudFormation::Stack", physical=h.sid))
    h.describe("DELETE_COMPLETE", name=h.sid)
    h.events(h.sid)
    assert commands.destroy(h.ctx) == 0
    h.done()
    text = h.output()
    assert "Destroying shop-prod (PRODUCTION) deletes the root stack and every nested stack in it." in text
    assert "Deleted (1):\n  shop-prod/Network/Vpc  AWS::EC2::VPC  vpc-1" in text
    assert ("RETAINED: left in the account after the stack is gone (delete by hand when done) (1):\n"
            "  shop-prod/Network/Logs  AWS::Logs::LogGroup  /a") in text
    assert "Termination protection turned off." in text
    assert "Destroyed shop-prod. 1 retained/snapshotted item(s) remain, listed above." in text


def test_destroy_of_a_missing_stack_is_a_no_op(make):
    h = make()
    h.preflight()
    h.describe(None)
    assert commands.destroy(h.ctx) == 0
    h.done()
    assert "Nothing to destroy: stack shop-dev does not exist in eu-west-1." in h.output()


# --- drift, outputs -----------------------------------------------------------------------------------------------

def test_drift_runs_on_every_stack_and_exits_3_when_drifted(make):
    h = make()
    net = stack_id("shop-dev-Network-ABC")
    h.preflight()
    h.describe("UPDATE_COMPLETE")
    h.cf.add_response("list_stack_resources", {"StackResourceSummaries": [
        {"LogicalResourceId": "Network", "PhysicalResourceId": net, "ResourceType": "AWS::CloudFormation::Stack",
         "LastUpdatedTimestamp": T0, "ResourceStatus": "CREATE_COMPLETE"}]}, {"StackName": h.sid})
    h.cf.add_response("list_stack_resources", {"StackResourceSummaries": []}, {"StackName": net})
    h.cf.add_response("detect_stack_drift", {"StackDriftDetectionId": "d-root"}, {"StackName": h.sid})
    h.cf.add_response("detect_stack_drift", {"StackDriftDetectionId": "d-net"}, {"StackName": net})
    status = {"StackId": h.sid, "Timestamp": T0}
    h.cf.add_response("describe_stack_drift_detection_status", {**status, "StackDriftDetectionId": "d-root",
                      "DetectionStatus": "DETECTION_IN_PROGRESS"}, {"StackDriftDetectionId": "d-root"})
    h.cf.add_response("describe_stack_drift_detection_status", {**status, "StackDriftDetectionId": "d-root",
                      "DetectionStatus": "DETECTION_COMPLETE", "StackDriftStatus": "IN_SYNC"},
                      {"StackDriftDetectionId": "d-root"})
    h.cf.add_response("describe_stack_drift_detection_status", {**status, "StackDriftDetectionId": "d-net",
                      "DetectionStatus": "DETECTION_COMPLETE", "StackDriftStatus": "DRIFTED",
                      "DriftedStackResourceCount": 1}, {"StackDriftDetectionId": "d-net"})
    h.cf.add_response("describe_stack_resource_drifts", {"StackResourceDrifts": [{
        "StackId": net, "LogicalResourceId": "Vpc", "ResourceType": "AWS::EC2::VPC", "Timestamp": T0,
        "StackResourceDriftStatus": "MODIFIED", "ExpectedProperties": '{"EnableDnsHostnames": true}',
        "ActualProperties": f'{{"EnableDnsHostnames": false, "Secret": "{SECRET}"}}',
        "PropertyDifferences": [{"PropertyPath": "/EnableDnsHostnames", "ExpectedValue": "true",
                                 "ActualValue": "false", "DifferenceType": "NOT_EQUAL"}]}]},
        {"StackName": net, "StackResourceDriftStatusFilters": ["MODIFIED", "DELETED"]})
    assert commands.drift(h.ctx) == commands.DRIFTED_EXIT == 3
    h.done()
    text = h.output()
    assert "Detecting drift on 2 stacks" in text
    assert "shop-dev/Network  DRIFTED            1  DETECTION_COMPLETE" in text
    assert "  shop-dev/Network/Vpc (AWS::EC2::VPC) MODIFIED\n      NOT_EQUAL /EnableDnsHostnames" in text
    assert SECRET not in text and "false" not in text    # values are never printed


def test_outputs_of_a_missing_stack_say_deploy_first(make):
    h = make()
    h.describe(None)
    with pytest.raises(DeployError) as err:
        commands.outputs(h.ctx)
    h.done()
    assert err.value.message == "stack shop-dev does not exist in eu-west-1"
    assert err.value.hints == ("deploy it first: `make deploy ENV=dev`",)


def test_watch_resumes_from_the_running_operation(make):
    h = make()
    h.preflight()
    h.describe("UPDATE_IN_PROGRESS")
    older = ev(h.sid, h.name, "UPDATE_COMPLETE", -900, "AWS::CloudFormation::Stack", physical=h.sid)
    started = ev(h.sid, h.name, "UPDATE_IN_PROGRESS", 1, "AWS::CloudFormation::Stack", "User Initiated", h.sid)
    vpc = ev(h.sid, "Topic", "UPDATE_IN_PROGRESS", 2, "AWS::SNS::Topic")
    h.events(h.sid, vpc, started, older)                       # find where the operation began
    h.events(h.sid, vpc, started, older)                       # first poll: shows it from there on
    h.describe("UPDATE_IN_PROGRESS", name=h.sid)
    h.events(h.sid, ev(h.sid, h.name, "UPDATE_ROLLBACK_COMPLETE", 9, "AWS::CloudFormation::Stack",
                       physical=h.sid),
             ev(h.sid, "Topic", "UPDATE_FAILED", 3, "AWS::SNS::Topic", "Topic name already exists"), vpc)
    h.describe("UPDATE_ROLLBACK_COMPLETE", name=h.sid)
    h.events(h.sid)
    with pytest.raises(DeploymentFailed) as err:
        commands.watch(h.ctx)
    h.done()
    streamed = [line for line in h.output().splitlines() if line.startswith("12:")]
    assert [line.split("] ", 1)[1].split()[0] for line in streamed] == ["UPDATE_IN_PROGRESS", "UPDATE_IN_PROGRESS",
                                                                         "UPDATE_FAILED", "UPDATE_ROLLBACK_COMPLETE"]
    assert "  shop-dev: Topic (AWS::SNS::Topic) UPDATE_FAILED\n      Topic name already exists" in err.value.message
    assert "the stack is back on its previous version" in err.value.hints[0]


def test_secret_values_are_masked_in_every_command_not_only_after_packaging(make):
    h = make()
    assert SECRET in h.ctx.console.secrets          # registered when the context is built
    h.preflight()
    h.describe("UPDATE_IN_PROGRESS")
    events = (ev(h.sid, "Db", "UPDATE_FAILED", 2, "AWS::RDS::DBCluster", f"Invalid master password {SECRET}"),
              ev(h.sid, h.name, "UPDATE_IN_PROGRESS", 1, "AWS::CloudFormation::Stack", "User Initiated", h.sid))
    h.events(h.sid, *events)     # where the operation began
    h.events(h.sid, *events)     # the first poll
    h.describe("UPDATE_ROLLBACK_COMPLETE", name=h.sid)
    h.events(h.sid)
    with pytest.raises(DeploymentFailed) as err:
        commands.watch(h.ctx)
    h.done()
    assert SECRET not in h.output() and SECRET not in "\n".join(err.value.lines())
    assert "Invalid master password ****" in h.output()


def test_the_before_execute_hook_runs_after_the_confirmation_and_a_failure_in_it_deploys_nothing(make):
    """`make restore` takes its pre-restore snapshot (and lifts production's policy) in this hook: after the
    operator confirmed, before ExecuteChangeSet. If it fails, the change set is deleted and nothing runs."""
    h = make()
    cs = deploy_until_execute(h)
    h.cf.add_response("delete_change_set", {}, {"ChangeSetName": cs})
    seen = []

    def hook(stack: str) -> None:
        seen.append(stack)
        raise DeployError("snapshot failed")

    h.ctx.options.before_execute = hook
    with pytest.raises(DeployError, match="snapshot failed"):
        commands.deploy(h.ctx)
    h.done()                                     # no execute_change_set was called
    assert seen == [h.sid]


def test_without_a_terminal_a_restore_needs_yes_and_says_so(make):
    h = make(yes=False, interactive=False)
    h.package()
    h.describe("UPDATE_COMPLETE")
    cs = h.create_change_set("UPDATE", purpose="restore")
    h.change_set(cs, "CREATE_COMPLETE")
    h.change_set(cs, "CREATE_COMPLETE", changes=[change("Modify", "Database", "AWS::CloudFormation::Stack")])
    h.cf.add_response("delete_change_set", {}, {"ChangeSetName": cs})
    h.ctx.options.before_execute = lambda stack: pytest.fail("the hook runs only after a confirmation")
    with pytest.raises(DeployError) as err:
        commands.deploy(h.ctx, action="restore")
    h.done()
    assert err.value.hints == ("review the preview above, then run `make restore ENV=dev YES=1`",)
