"""What the tests share: an app factory (a small valid spec, changed where a test needs it), building an app and
reading its templates back as data, and stand-in components.

Tests of the generator build their own apps (these helpers, or tests/fixtures/apps/); only the tests about this
repository's own output (golden files, the rehearsal, checkov on templates_out/) read the root app.yaml.

    from tests.conftest import app_spec, make_app, template, of_type, root_parameters, parameter_values
"""
from __future__ import annotations

import copy
import json
import os
from typing import Any

import pytest

from generator import root
from generator.config import AppSpec, parse_app
from generator.params import environment_values

# No lint server (generator/lint/server.py) for the suite: each test process lints with its own helper, stopped at
# its exit, so no test leaves a process behind. tests/test_lint_server.py turns it on for its own tests.
os.environ["FARGATE_STACKS_LINT_SERVER"] = "0"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under pytest-xdist (`make test`), the modules with end-to-end (slow-marked) tests first, then the others by
    their number of tests, each module's tests in their own order. `--dist loadfile --no-loadscope-reorder` hands
    whole modules to the worker processes in this order: the long ones start first and the many short ones fill the
    end, so that no worker is left alone with a long module while the other waits (docs/performance.md, The test
    suite on every core). A run in one process keeps the collection order."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return
    modules: dict[str, list[pytest.Item]] = {}
    for item in items:
        modules.setdefault(item.nodeid.split("::")[0], []).append(item)

    def weight(module: list[pytest.Item]) -> tuple[bool, int]:
        return (not any(item.get_closest_marker("slow") for item in module), -len(module))
    items[:] = [item for module in sorted(modules.values(), key=weight) for item in module]


# The smallest app the factory starts from: one environment, no services.
BASE: dict[str, Any] = {"app": "demo", "owner": "team", "region": "eu-west-1",
                        "environments": {"dev": {"cidr": "10.10.0.0/16"}}}
CERTIFICATE = "arn:aws:acm:eu-west-1:222222222222:certificate/5f1c2a7e-9b3d-4c8e-a6f0-2d7b9e4c1a53"
# A production environment as the rules want it (zones pinned, an account of its own).
PROD = {"account_id": "222222222222", "cidr": "10.30.0.0/16", "production": True, "zones": ["euw1-az1", "euw1-az2"]}


def app_spec(**fields: Any) -> dict[str, Any]:
    """The base app (a deep copy) with top-level `fields` replaced: `app_spec(services=[...], network={...})`."""
    raw = copy.deepcopy(BASE)
    raw.update(copy.deepcopy(fields))
    return raw


def make_app(**fields: Any) -> AppSpec:
    """`app_spec(**fields)`, loaded and checked like app.yaml (rules included)."""
    return parse_app(app_spec(**fields))


def built(app: AppSpec) -> dict[str, dict]:
    """Every template of the environment stacks, by file name, as data."""
    return {name: as_data(t) for name, t in root.build(app).templates().items()}


def template(app: AppSpec, name: str) -> dict:
    """One template of the app (`root.yaml`, `network.yaml`, `service-api.yaml` ...) as data."""
    return as_data(root.build(app).templates()[name])


def as_data(t: Any) -> dict:
    """A troposphere Template as the JSON CloudFormation reads."""
    return json.loads(t.to_json())


def of_type(t: dict, cfn_type: str) -> dict[str, dict]:
    """The resources of one type in a template (as data), by logical id."""
    return {k: r for k, r in (t.get("Resources") or {}).items() if r["Type"] == cfn_type}


def root_parameters(app: AppSpec) -> dict[str, dict]:
    """The root template's parameter declarations."""
    return template(app, root.ROOT_FILE)["Parameters"]


def parameter_values(app: AppSpec, env: str) -> dict[str, str]:
    """What an environment's parameter file gives each root parameter."""
    return environment_values(app, root.build(app), env)


# --- a project the deploy script reads -------------------------------------------------------------------------

DEPLOY_APP = """\
app: shop
owner: team-a
region: eu-west-1
environments:
  dev: {account_id: "111111111111", cidr: 10.10.0.0/16}
"""


@pytest.fixture
def project(tmp_path):
    """An app.yaml with one environment, a one-resource root template and its parameter files: what the deploy
    script's command line needs before any AWS call."""
    (tmp_path / "app.yaml").write_text(DEPLOY_APP)
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "root.yaml").write_text("Resources:\n  Q: {Type: AWS::SQS::Queue}\n")
    (tmp_path / "params").mkdir()
    (tmp_path / "params" / "dev.json").write_text("[]")
    (tmp_path / "params" / "dev.config.json").write_text(json.dumps({"Parameters": {}, "Tags": {}}))
    return tmp_path


# --- stand-in components -----------------------------------------------------------------------------------------

@pytest.fixture
def database_component():
    """The data tier's database component (generator/components/database/): an Aurora cluster is snapshotted on
    delete (CloudFormation's default for a cluster, aws-reference §4), a member instance is not (its data is in the
    cluster's snapshot, and the RDS handler rejects a member's snapshot)."""
    from generator.components import database
    return database.COMPONENT


# --- a stand-in producer: what a data store offers a service that uses it (docs/attachments.md) ---------------------

STORE = "jobs"   # the stand-in store's name in app.yaml (`services[].uses: [jobs]`)
STORE_PORT = 6379


def store_offers(app):
    from generator.components.attachments import Offer
    return {STORE: Offer(("send", "consume", "read-write"), "send",
                         ("JOBS_QUEUE_URL", "JOBS_MODE", "JOBS_PORT", "JOBS_USER", "JOBS_PASSWORD"))}


def build_store(app, stack, *, net):
    """A queue encrypted with its own key, a generated credential and a security group on STORE_PORT: every part of
    an attachment (variables from outputs and literals, secrets with and without a JSON key, scoped grants per access
    mode with the key's use, ingress)."""
    from awacs import kms as kms_actions, sqs as sqs_actions
    from awacs.aws import Allow, Principal, Statement
    from troposphere import GetAtt, Ref, Sub, ec2, kms, secretsmanager, sqs

    from generator.components.attachments import Attachment, Ingress, SecretSource
    from generator.policies.common import document

    key = stack.add(kms.Key("Key", Description="stand-in store key", EnableKeyRotation=True, KeyPolicy=document(
        Statement(Sid="AccountAdministers", Effect=Allow, Action=[kms_actions.Action("*")], Resource=["*"],
                  Principal=Principal("AWS", Sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root"))))))
    queue = stack.add(sqs.Queue("Queue", KmsMasterKeyId=Ref(key)))
    secret = stack.add(secretsmanager.Secret(
        "Credential", KmsKeyId=Ref(key), GenerateSecretString=secretsmanager.GenerateSecretString(
            SecretStringTemplate='{"username": "app"}', GenerateStringKey="password", ExcludePunctuation=True),
        Metadata={"checkov": {"skip": [{"id": "CKV2_AWS_57", "comment": "a test stand-in: a real store's credential "
                                                                        "rotates (issue 11)"}]}}))
    group = stack.add(ec2.SecurityGroup(
        "SecurityGroup", GroupDescription="stand-in store", VpcId=stack.input(net.vpc_id),
        SecurityGroupEgress=[ec2.SecurityGroupRule(IpProtocol="-1", CidrIp="127.0.0.1/32",
                                                   Description="no outbound traffic")]))
    url = stack.output("QueueUrl", Ref(queue), "stand-in queue URL")
    queue_arn = stack.output("QueueArn", GetAtt(queue, "Arn"), "stand-in queue ARN")
    key_arn = stack.output("KeyArn", GetAtt(key, "Arn"), "stand-in key ARN")
    secret_arn = stack.output("CredentialArn", Ref(secret), "stand-in credential ARN")
    group_id = stack.output("SecurityGroupId", GetAtt(group, "GroupId"), "stand-in group",
                            "AWS::EC2::SecurityGroup::Id")

    def grant(*actions, encrypt):
        key_use = [kms_actions.Decrypt] + ([kms_actions.GenerateDataKey] if encrypt else [])
        return lambda ref: [Statement(Sid="Queue", Effect=Allow, Action=list(actions), Resource=[ref(queue_arn)]),
                            Statement(Sid="Key", Effect=Allow, Action=key_use, Resource=[ref(key_arn)])]

    send = (sqs_actions.SendMessage, sqs_actions.GetQueueAttributes)
    consume = (sqs_actions.ReceiveMessage, sqs_actions.DeleteMessage, sqs_actions.ChangeMessageVisibility,
               sqs_actions.GetQueueAttributes)
    return Attachment(
        STORE, environment={"JOBS_QUEUE_URL": url, "JOBS_MODE": "fifo", "JOBS_PORT": STORE_PORT},
        secrets={"JOBS_USER": SecretSource(secret_arn, "username"), "JOBS_PASSWORD": SecretSource(secret_arn)},
        grants={"send": grant(*send, encrypt=True), "consume": grant(*consume, encrypt=False),
                "read-write": grant(*send, *consume[:3], encrypt=True)},
        ingress=Ingress(group_id, STORE_PORT))


@pytest.fixture
def store_component(monkeypatch):
    """The stand-in producer as a component of the app (its store `jobs` may be used), and root.build_stacks with
    its line added after the cluster, where a producer's line goes."""
    from generator import components
    from generator.components import cluster, environment, network, registry, service, shared
    from generator.components.attachments import Attachments
    from generator.components.base import Component, TypeFacts

    store = Component("store", "stand-in store", {
        **shared.pick("AWS::KMS::Key", "AWS::SQS::Queue", "AWS::EC2::SecurityGroup", "AWS::SecretsManager::Secret")},
        offers=store_offers)

    def build_stacks(app):
        stacks = []

        def nested(component, instance=None, description=None):
            builder = component.builder(app, instance, description)
            stacks.append(root.Nested(builder))
            return builder

        env = environment.env_inputs(app)
        net = network.build(app, nested(network.COMPONENT), network.env_inputs(app))
        images = registry.build(app, nested(registry.COMPONENT), registry.env_inputs(app))
        ecs = cluster.build(app, nested(cluster.COMPONENT), cluster.env_inputs(app), env, net=net)
        stores = Attachments(app, components.COMPONENTS)
        stores.add(build_store(app, nested(store), net=net))
        off_hours = service.off_hours_inputs(app)
        for svc in app.services:
            service.build(app, svc, nested(service.COMPONENT, svc.name), service.env_inputs(app, svc), off_hours,
                          env, net=net, cluster=ecs, registry=images, attachments=stores)
        return stacks

    monkeypatch.setattr(components, "COMPONENTS", (*components.COMPONENTS[:3], store, *components.COMPONENTS[3:]))
    monkeypatch.setattr(root, "build_stacks", build_stacks)
    components.type_facts.cache_clear()
    yield store
    monkeypatch.undo()
    components.type_facts.cache_clear()
