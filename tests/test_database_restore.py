"""`make restore` (scripts/deploylib/restore.py) against moto, in process (`mock_aws`): the snapshot it picks and
checks, the pre-restore snapshot it takes, the parameters of its deploy, what it prints afterwards, and every way it
refuses.

The deploy itself is the one `make deploy` runs (commands.deploy, rehearsed by tests/test_deploy_flows.py and the
rehearsal); here it is replaced by a stand-in that records what it was asked and does to RDS what CloudFormation does
on that update: a new cluster from the snapshot (RestoreDBClusterFromSnapshot, which moto implements), the old one
deleted after a final snapshot (UpdateReplacePolicy Snapshot). moto's CloudFormation has no AWS::RDS::DBCluster model
(tests/test_database_commands.py restores through a template with the rehearsal's [aurora-clusters] workaround)."""
from __future__ import annotations

import io
import json

import pytest

from scripts.deploylib import commands, database, restore
from scripts.deploylib.errors import DeployError
from scripts.deploylib.target import load_target
from scripts.deploylib.ui import Console
from tests.support import DEFAULT_APP, DEFAULT_PARAMS, DEFAULT_TEMPLATES
from tests.test_database_commands import REGION, aws  # noqa: F401 - the moto fixture

CLUSTER = "tunecast-dev-database-1a2b3c-cluster-4d5e6f"
NEW_CLUSTER = "tunecast-dev-database-1a2b3c-cluster-7g8h9i"


def _ctx(aws, env="dev", **options):
    out = io.StringIO()
    target = load_target(DEFAULT_APP, env, DEFAULT_TEMPLATES, DEFAULT_PARAMS, None)
    ctx = commands.Ctx(target, aws, Console(out=out, err=out, interactive=False), commands.Options(**options))
    ctx._account = target.spec.account_id or "123456789012"     # preflight's account check: tests/test_deploy_flows.py
    return ctx, out


def _template(cluster: str, keys) -> str:
    return json.dumps({"Parameters": {k: {"Type": "String", "Default": ""} for k in keys},
                       "Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
                       "Outputs": {"DatabaseClusterId": {"Value": cluster},
                                   "DatabaseEndpoint": {"Value": f"{cluster}.cluster-abc.{REGION}.rds.amazonaws.com"}}})


def _environment(aws, ctx, running: dict[str, str] | None = None, stack="tunecast-dev"):
    """The deployed environment: the cluster, and a root stack with the parameter file's parameters (some running
    at other values) and the database outputs."""
    # MasterUserPassword, not ManageMasterUserPassword: moto 5.2.5's RestoreDBClusterFromSnapshot fails (KeyError
    # _master_user_password) on a cluster with a managed password; the restore itself is what this file exercises.
    aws.client("rds").create_db_cluster(
        DBClusterIdentifier=CLUSTER, Engine="aurora-postgresql", EngineVersion="16.9", MasterUsername="app_admin",
        MasterUserPassword="only-in-moto-1", DatabaseName="tunecast",
        ServerlessV2ScalingConfiguration={"MinCapacity": 0, "MaxCapacity": 4})
    values = {**dict(ctx.target.parameters), **(running or {})}
    aws.client("cloudformation").create_stack(
        StackName=stack, TemplateBody=_template(CLUSTER, values),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in values.items()])


class FakeDeploy:
    """commands.deploy as CloudFormation would run it for a restore: it records the options, calls the
    before-execute hook, then replaces the cluster."""

    def __init__(self, aws, code=0):
        self.aws, self.code, self.calls = aws, code, []

    def __call__(self, ctx, action="deploy"):
        self.calls.append((ctx.options, action))
        if ctx.options.dry_run:
            return 0
        stack = ctx.cf.describe_stacks(StackName=ctx.name)["Stacks"][0]
        ctx.options.before_execute(stack["StackId"])
        if self.code:
            return self.code
        rds = self.aws.client("rds")
        rds.restore_db_cluster_from_snapshot(DBClusterIdentifier=NEW_CLUSTER, Engine="aurora-postgresql",
                                             SnapshotIdentifier=ctx.options.parameters["RestoreFrom"])
        rds.delete_db_cluster(DBClusterIdentifier=CLUSTER, FinalDBSnapshotIdentifier=f"{CLUSTER}-final")
        params = [{"ParameterKey": p["ParameterKey"], "ParameterValue": p["ParameterValue"]}
                  for p in stack["Parameters"]]
        ctx.cf.update_stack(StackName=ctx.name, TemplateBody=_template(NEW_CLUSTER, [p["ParameterKey"] for p in params]),
                            Parameters=params)
        return 0


def _manual(aws) -> list[str]:
    """The manual snapshots of the old cluster (moto also takes an automated one when it creates a cluster)."""
    found = aws.client("rds").describe_db_cluster_snapshots(DBClusterIdentifier=CLUSTER, SnapshotType="manual")
    return [s["DBClusterSnapshotIdentifier"] for s in found["DBClusterSnapshots"]]


def _snapshot(aws, name="tunecast-dev-20261130-170000"):
    aws.client("rds").create_db_cluster_snapshot(DBClusterSnapshotIdentifier=name, DBClusterIdentifier=CLUSTER)
    return name


def test_restore_deploys_with_restore_from_set_and_everything_else_as_running(aws, monkeypatch):
    ctx, out = _ctx(aws)
    _environment(aws, ctx, running={"ApiImageTag": "v42", "MaxCapacity": "8", "WebImageTag": "bootstrap"})
    name = _snapshot(aws)
    deploy = FakeDeploy(aws)
    monkeypatch.setattr(commands, "deploy", deploy)
    assert restore.restore(ctx, name) == 0
    (options, action), = deploy.calls
    assert action == "restore" and options.migrate is False
    assert options.parameters["RestoreFrom"] == name
    # a restore moves nothing else: the running image tags and capacities, not the parameter file's
    assert options.parameters["ApiImageTag"] == "v42" and options.parameters["MaxCapacity"] == "8"
    # the first-deploy placeholder is not passed explicitly (deploy_parameters refuses that on an existing stack)
    assert "WebImageTag" not in options.parameters
    assert set(options.parameters) == {"RestoreFrom", "ApiImageTag", "MaxCapacity"}
    text = out.getvalue()
    assert "THE DATABASE WILL BE REPLACED" in text and "How long" in text
    # the way back was taken before CloudFormation acted, and is named
    pre = [i for i in _manual(aws) if i != name and not i.endswith("-final")]
    assert len(pre) == 1, "a pre-restore snapshot of the old cluster"
    pre_id = pre[0]
    assert f"Pre-restore snapshot (the way back): {pre_id}" in text
    assert f"make restore ENV=dev SNAPSHOT={pre_id}" in text
    # what now
    assert f"New cluster: {NEW_CLUSTER}" in text and f"{NEW_CLUSTER}.cluster-abc" in text
    assert f"environments.dev.database.restore_from: {name}" in text and "EMPTY" in text
    assert f"The old cluster {CLUSTER} was deleted after a final snapshot" in text
    assert "migrate: was not run" in text


def test_without_snapshot_the_newest_manual_one_is_named(aws, monkeypatch):
    ctx, out = _ctx(aws)
    _environment(aws, ctx)
    name = _snapshot(aws)
    deploy = FakeDeploy(aws)
    monkeypatch.setattr(commands, "deploy", deploy)
    assert restore.restore(ctx, None) == 0
    assert f"No SNAPSHOT given: the newest manual snapshot of {CLUSTER} is {name}" in out.getvalue()
    assert deploy.calls[0][0].parameters["RestoreFrom"] == name


def test_without_snapshot_and_without_manual_snapshots_it_refuses(aws, monkeypatch):
    ctx, _ = _ctx(aws)
    _environment(aws, ctx)
    monkeypatch.setattr(commands, "deploy", FakeDeploy(aws))
    with pytest.raises(DeployError, match="has no available manual snapshot") as err:
        restore.restore(ctx, None)
    assert "make snapshot ENV=dev" in " ".join(err.value.hints)


def test_production_is_refused_without_force_before_any_aws_call(aws, monkeypatch):
    ctx, _ = _ctx(aws, env="prod")
    monkeypatch.setattr(commands, "deploy", FakeDeploy(aws))
    with pytest.raises(DeployError, match="refusing to restore the database of production environment 'prod'") as e:
        restore.restore(ctx, "tunecast-prod-1")
    assert "FORCE=1" in e.value.hints[0]


def test_production_with_force_lifts_the_database_stack_policy_for_the_deploy_and_puts_it_back(aws, monkeypatch):
    ctx, out = _ctx(aws, env="prod", force=True)
    _environment(aws, ctx, stack="tunecast-prod")
    aws.client("cloudformation").create_stack(StackName="tunecast-prod-Database", TemplateBody=_template(CLUSTER, []))
    monkeypatch.setattr(restore, "database_stack_id", lambda ctx, root: "tunecast-prod-Database")
    protected = []
    monkeypatch.setattr(commands, "protect", lambda ctx, stack_id: protected.append(stack_id))
    seen = {}

    class Deploy(FakeDeploy):
        def __call__(self, ctx, action="deploy"):
            stack = ctx.cf.describe_stacks(StackName=ctx.name)["Stacks"][0]
            ctx.options.before_execute(stack["StackId"])
            seen["policy"] = json.loads(ctx.cf.get_stack_policy(StackName="tunecast-prod-Database")["StackPolicyBody"])
            return 1        # the update failed: the policy must still be put back

    monkeypatch.setattr(commands, "deploy", Deploy(aws))
    assert restore.restore(ctx, _snapshot(aws)) == 1
    deny = [s for s in seen["policy"]["Statement"] if s["Effect"] == "Deny"]
    by_type = next(s for s in deny if "Condition" in s)
    assert "Resource" not in by_type and set(by_type["NotResource"]) == {
        f"LogicalResourceId/{i}" for i in ("Cluster", "Writer", "Reader1", "Reader2")}
    assert all("LogicalResourceId/Cluster" not in s.get("Resource", []) for s in deny)
    assert protected, "production protection set back after the restore deploy, whatever its outcome"
    assert "policy now allows replacing Cluster, Writer, Reader1, Reader2" in out.getvalue()


def test_lifting_keeps_every_other_denial():
    policy = {"Statement": [
        {"Effect": "Allow", "Action": "Update:*", "Principal": "*", "Resource": "*"},
        {"Effect": "Deny", "Action": ["Update:Replace"], "Principal": "*", "Resource": "*",
         "Condition": {"StringEquals": {"ResourceType": ["AWS::RDS::DBCluster", "AWS::S3::Bucket"]}}},
        {"Effect": "Deny", "Action": ["Update:Replace"], "Principal": "*",
         "Resource": ["LogicalResourceId/Cluster", "LogicalResourceId/Network"]},
        {"Effect": "Deny", "Action": ["Update:Delete"], "Principal": "*", "Resource": "LogicalResourceId/Writer"}]}
    out = restore.lifted(policy, ("Cluster", "Writer"))
    assert out["Statement"][0] == policy["Statement"][0]
    assert out["Statement"][1]["NotResource"] == ["LogicalResourceId/Cluster", "LogicalResourceId/Writer"]
    assert out["Statement"][1]["Condition"] == policy["Statement"][1]["Condition"]
    assert out["Statement"][2]["Resource"] == ["LogicalResourceId/Network"]
    assert len(out["Statement"]) == 3
    assert policy["Statement"][1]["Resource"] == "*", "the original is left alone"


@pytest.mark.parametrize("case, expected", [
    ("missing", "snapshot nope-1 does not exist"),
    ("creating", "is creating, not available"),
    ("engine", "is of aurora-mysql, the database is aurora-postgresql"),
    ("already", "already created from"),
])
def test_a_snapshot_that_cannot_be_restored_is_refused_before_any_change(aws, monkeypatch, case, expected):
    ctx, _ = _ctx(aws)
    _environment(aws, ctx)
    name = _snapshot(aws)
    deploy = FakeDeploy(aws)
    monkeypatch.setattr(commands, "deploy", deploy)
    snap = {"DBClusterSnapshotIdentifier": name, "Status": "available", "Engine": "aurora-postgresql"}
    if case == "missing":
        name = "nope-1"
    elif case in ("creating", "engine"):
        snap = {**snap, **({"Status": "creating"} if case == "creating" else {"Engine": "aurora-mysql"})}
        ctx.aws._clients["rds"] = _Snapshots(aws.client("rds"), snap)
    else:
        aws.client("cloudformation").update_stack(
            StackName="tunecast-dev", TemplateBody=_template(CLUSTER, dict(ctx.target.parameters)),
            Parameters=[{"ParameterKey": k, "ParameterValue": name if k == "RestoreFrom" else v}
                        for k, v in ctx.target.parameters])
    with pytest.raises(DeployError, match=expected):
        restore.restore(ctx, name)
    assert deploy.calls == []
    assert len(_manual(aws)) == 1, "no pre-restore snapshot either"


class _Snapshots:
    """The RDS client with DescribeDBClusterSnapshots answering one given snapshot (moto's are always available)."""

    def __init__(self, client, snap):
        self.client, self.snap = client, snap

    def describe_db_cluster_snapshots(self, **kwargs):
        return {"DBClusterSnapshots": [self.snap]}

    def __getattr__(self, name):
        return getattr(self.client, name)


def test_a_dry_run_previews_and_takes_no_snapshot(aws, monkeypatch):
    ctx, _ = _ctx(aws, dry_run=True)
    _environment(aws, ctx)
    name = _snapshot(aws)
    deploy = FakeDeploy(aws)
    monkeypatch.setattr(commands, "deploy", deploy)
    assert restore.restore(ctx, name) == 0
    assert deploy.calls[0][0].dry_run
    assert _manual(aws) == [name]


@pytest.mark.parametrize("running, new, overrides, refused", [
    ("snap-1", "", {}, "an EMPTY one"),              # the parameter file forgot the restore
    ("snap-1", "snap-0", {}, "one restored from snap-0"),   # a parameter file older than the restore
    ("snap-1", "snap-1", {}, None),                  # app.yaml keeps restore_from: nothing replaced
    ("", "snap-2", {}, None),                        # a first restore through app.yaml: the preview shouts
    ("", "", {}, None),                              # never restored
    ("snap-1", "snap-2", {"RestoreFrom": "snap-2"}, None),  # make restore's own deploy
])
def test_a_plain_deploy_that_would_change_a_restored_clusters_restore_from_is_refused(running, new, overrides,
                                                                                        refused):
    parameters = [{"ParameterKey": "RestoreFrom", "ParameterValue": new}]
    check = lambda: database.check_restore_kept("dev", {"RestoreFrom": running}, parameters, overrides)  # noqa: E731
    if refused:
        with pytest.raises(DeployError, match=f"replace the restored cluster with {refused}") as err:
            check()
        assert "environments.dev.database.restore_from: snap-1" in err.value.hints[0]
        assert "make restore ENV=dev SNAPSHOT=<identifier>" in err.value.hints[0]
    else:
        check()
