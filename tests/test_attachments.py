"""Services attach to what they use (docs/attachments.md): a stand-in producer (tests/conftest.py, `store_component`)
offers the store `jobs`; a service that `uses` it gets its variables and secrets, a task-role policy scoped to the
store's resources and the access asked for, and its own ingress rule on the store's security group."""
from __future__ import annotations

import json

import pytest

from generator import build, root
from generator.components import attachments
from generator.components.attachments import Attachment, Attachments, Offer
from generator.errors import ConfigError
from generator.errors import WiringError  # noqa: E402
from tests.conftest import STORE_PORT, built, make_app, of_type
from tests.support import checkov_failures

API = {"name": "api", "kind": "web", "port": 8080}
WORKER = {"name": "drain", "kind": "worker"}


def _problems(**fields) -> list[str]:
    with pytest.raises(ConfigError) as err:
        make_app(**fields)
    return [p.line("app.yaml") for p in err.value.problems]


def _policy(template: dict, role: str, name: str) -> dict:
    policies = template["Resources"][role]["Properties"]["Policies"]
    found = [p for p in policies if isinstance(p, dict) and p.get("PolicyName") == name]
    return found[0]["PolicyDocument"]


@pytest.fixture
def app(store_component):
    return make_app(services=[{**API, "uses": ["jobs"]}, {**WORKER, "uses": [{"name": "jobs", "access": "consume"}]},
                              {"name": "idle", "kind": "worker"}])


@pytest.fixture
def templates(app):
    return built(app)


def test_variables_and_secrets_reach_the_container(templates):
    container = templates["service-api.yaml"]["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"][0]
    environment = {e["Name"]: e["Value"] for e in container["Environment"]}
    assert environment == {"JOBS_QUEUE_URL": {"Ref": "StoreQueueUrl"}, "JOBS_MODE": "fifo", "JOBS_PORT": "6379"}
    secrets = {s["Name"]: s["ValueFrom"] for s in container["Secrets"]}
    assert secrets == {"JOBS_USER": {"Fn::Sub": ["${Arn}:username::", {"Arn": {"Ref": "StoreCredentialArn"}}]},
                       "JOBS_PASSWORD": {"Ref": "StoreCredentialArn"}}
    execution = _policy(templates["service-api.yaml"], "ExecutionRole", "start-tasks")
    reads = [s for s in execution["Statement"] if s.get("Sid") == "ReadSecrets"]
    assert reads[0]["Resource"] == [{"Ref": "StoreCredentialArn"}]   # once, though two variables read it


def test_the_grant_is_the_access_asked_for_scoped_to_the_store(templates):
    send = _policy(templates["service-api.yaml"], "TaskRole", "uses")["Statement"]
    assert [(s["Sid"], s["Action"], s["Resource"]) for s in send] == [
        ("JobsQueue", ["sqs:SendMessage", "sqs:GetQueueAttributes"], [{"Ref": "StoreQueueArn"}]),
        ("JobsKey", ["kms:Decrypt", "kms:GenerateDataKey"], [{"Ref": "StoreKeyArn"}])]
    consume = _policy(templates["service-drain.yaml"], "TaskRole", "uses")["Statement"]
    assert "sqs:SendMessage" not in consume[0]["Action"] and "sqs:ReceiveMessage" in consume[0]["Action"]
    assert consume[1]["Action"] == ["kms:Decrypt"]
    # ECS Exec stays conditional next to it
    policies = templates["service-api.yaml"]["Resources"]["TaskRole"]["Properties"]["Policies"]
    assert policies[1] == {"Fn::If": ["ExecEnabled", policies[1]["Fn::If"][1], {"Ref": "AWS::NoValue"}]}


def test_the_service_opens_the_store_port_from_its_own_group(templates):
    rules = of_type(templates["service-api.yaml"], "AWS::EC2::SecurityGroupIngress")
    assert rules == {"UsesJobsIngress": {"Type": "AWS::EC2::SecurityGroupIngress", "Properties": {
        "GroupId": {"Ref": "StoreSecurityGroupId"}, "SourceSecurityGroupId": {"Fn::GetAtt": ["SecurityGroup", "GroupId"]},
        "IpProtocol": "tcp", "FromPort": STORE_PORT, "ToPort": STORE_PORT,
        "Description": "From the api tasks to jobs"}}}
    # the store's stack never refers to its consumers: no cycle, and the root wires the store's outputs in
    assert "Service" not in json.dumps(templates["store.yaml"])
    api = templates["root.yaml"]["Resources"]["ServiceApi"]["Properties"]["Parameters"]
    assert api["StoreSecurityGroupId"] == {"Fn::GetAtt": ["Store", "Outputs.SecurityGroupId"]}


def test_a_service_that_uses_nothing_is_unchanged(templates):
    idle = templates["service-idle.yaml"]
    assert not of_type(idle, "AWS::EC2::SecurityGroupIngress")
    assert not any(p.startswith("Store") for p in idle["Parameters"])
    assert "Policies" in idle["Resources"]["TaskRole"]["Properties"]
    assert "uses" not in json.dumps(idle["Resources"]["TaskRole"])


def test_the_app_passes_the_whole_gate_and_checkov(app, tmp_path):
    """cfn-lint (with our rules), the size budgets and the parameter files: build.write raises on any finding."""
    build.write(app, tmp_path / "templates", tmp_path / "params")
    failed, passed = checkov_failures(tmp_path / "templates")
    assert failed == [] and passed > 10


def test_uses_are_checked_when_the_spec_loads(store_component):
    assert _problems(services=[{**API, "uses": ["job", {"name": "jobs", "access": "read"}, "jobs"]}]) == [
        "app.yaml: services.api.uses.job: 'job' is not a data store of this app; did you mean 'jobs'?; known: jobs",
        "app.yaml: services.api.uses.jobs.access: 'jobs' does not support read access; it supports send, consume, "
        "read-write (default: send)",
        "app.yaml: services.api.uses.jobs: 'jobs' is listed twice; list each store once (with the access it needs)"]
    assert _problems(services=[{**API, "uses": ["jobs"], "environment": {"JOBS_MODE": "x"}}]) == [
        "app.yaml: services.api.uses.jobs: 'jobs' sets JOBS_MODE, which the service also sets in environment or "
        "secrets; remove it there"]


def test_without_producers_every_name_is_unknown():
    assert _problems(services=[{**API, "uses": ["database"]}]) == [
        "app.yaml: services.api.uses.database: 'database' is not a data store of this app; known: none (the app "
        "declares no data store)"]


def test_an_attachment_must_keep_its_offer(store_component):
    app = make_app(services=[API])
    stores = Attachments(app, [store_component])
    with pytest.raises(WiringError, match="does not match its offer"):
        stores.add(Attachment("jobs", environment={"OTHER": "x"}))
    with pytest.raises(WiringError, match="no component offers it"):
        stores.add(Attachment("cache"))
    with pytest.raises(WiringError, match="modes are some of"):
        Offer(("read",), "write", ())


def test_the_usable_names_come_from_the_components(store_component):
    app = make_app(services=[API])
    assert {name: owner for name, (owner, _) in attachments.offers(app, [store_component]).items()} == {
        "jobs": "store"}
    assert root.build_stacks is not None
