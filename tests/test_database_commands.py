"""`make snapshot`, `make snapshots` and `make restore` (its deploy: tests/test_database_restore.py) against moto (in process, `mock_aws`): the same boto3 calls
users run. moto implements RDS cluster snapshots and restores (CreateDBClusterSnapshot,
DescribeDBClusterSnapshots, RestoreDBClusterFromSnapshot); its CloudFormation has no AWS::RDS::DBCluster model, so
the restore through a template runs with the rehearsal's [aurora-clusters] workaround, which creates the cluster
through moto's RDS backend."""
from __future__ import annotations

import datetime
import io
import json
import subprocess
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from scripts.deploylib import commands, database
from scripts.deploylib.aws import Aws
from scripts.deploylib.errors import DeployError
from scripts.deploylib.target import load_target
from scripts.deploylib.ui import Console

ROOT = Path(__file__).resolve().parent.parent
from tests.support import DEFAULT_APP, DEFAULT_PARAMS, DEFAULT_TEMPLATES  # noqa: E402
REGION = "eu-west-1"
CLUSTER = "tunecast-dev-database-1a2b3c-cluster-4d5e6f"


@pytest.fixture
def aws(monkeypatch):
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield Aws(boto3.Session(region_name=REGION), REGION)


def _ctx(aws, env="dev", dry_run=False):
    out = io.StringIO()
    target = load_target(DEFAULT_APP, env, DEFAULT_TEMPLATES, DEFAULT_PARAMS, None)
    ctx = commands.Ctx(target, aws, Console(out=out, err=out, interactive=False),
                       commands.Options(dry_run=dry_run))
    return ctx, out


def _environment(aws, stack="tunecast-dev"):
    """The deployed environment as the commands see it: the root stack's DatabaseClusterId output and the cluster."""
    rds = aws.client("rds")
    rds.create_db_cluster(DBClusterIdentifier=CLUSTER, Engine="aurora-postgresql", EngineVersion="16.9",
                          MasterUsername="app_admin", ManageMasterUserPassword=True, DatabaseName="tunecast",
                          ServerlessV2ScalingConfiguration={"MinCapacity": 0, "MaxCapacity": 4})
    template = {"Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
                "Outputs": {"DatabaseClusterId": {"Value": CLUSTER}}}
    aws.client("cloudformation").create_stack(StackName=stack, TemplateBody=json.dumps(template))


def test_snapshot_names_it_after_the_environment_and_the_time(aws):
    _environment(aws)
    ctx, out = _ctx(aws)
    name = database.snapshot(ctx)
    assert name.startswith("tunecast-dev-") and len(name) == len("tunecast-dev-20261130-170000")
    snap = aws.client("rds").describe_db_cluster_snapshots(DBClusterSnapshotIdentifier=name)["DBClusterSnapshots"][0]
    assert (snap["DBClusterIdentifier"], snap["Status"], snap["SnapshotType"]) == (CLUSTER, "available", "manual")
    assert f"Snapshot {name} is available." in out.getvalue()
    assert f"make restore ENV=dev SNAPSHOT={name}" in out.getvalue()


def test_snapshot_name_sorts_by_time():
    at = datetime.datetime(2026, 11, 30, 17, 5, 9, tzinfo=datetime.timezone.utc)
    assert database.snapshot_name("tunecast", "prod", at) == "tunecast-prod-20261130-170509"


def test_a_dry_run_creates_nothing(aws):
    _environment(aws)
    ctx, out = _ctx(aws, dry_run=True)
    database.snapshot(ctx)
    assert "dry run: nothing created" in out.getvalue()
    assert aws.client("rds").describe_db_cluster_snapshots(
        DBClusterIdentifier=CLUSTER, SnapshotType="manual")["DBClusterSnapshots"] == []


def test_snapshots_lists_the_clusters_snapshots(aws):
    _environment(aws)
    ctx, out = _ctx(aws)
    assert database.snapshots(ctx) == 0
    name = database.snapshot(ctx)
    out.truncate(0)
    assert database.snapshots(ctx) == 0
    lines = out.getvalue().strip("\x00").splitlines()
    assert lines[0].split() == ["snapshot", "type", "created", "(UTC)", "status", "GB"]
    assert any(line.startswith(name) and "manual" in line and "available" in line for line in lines)


def test_an_environment_without_a_database_is_told_so(aws):
    template = {"Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}}
    aws.client("cloudformation").create_stack(StackName="tunecast-dev", TemplateBody=json.dumps(template))
    ctx, _ = _ctx(aws)
    with pytest.raises(DeployError, match="has no database"):
        database.snapshots(ctx)


def test_restoring_through_a_template_creates_a_cluster_from_the_snapshot(aws):
    """SnapshotIdentifier on AWS::RDS::DBCluster: the cluster comes from the snapshot (its database name) and gets
    its own new managed secret (aws-reference §6: a restore creates a new secret ARN)."""
    from scripts.deploylib.rehearsal.workarounds import WORKAROUNDS
    _environment(aws)
    ctx, _ = _ctx(aws)
    name = database.snapshot(ctx)
    undo = next(w for w in WORKAROUNDS if w.name == "aurora-clusters").apply()
    try:
        template = {"Resources": {"Cluster": {"Type": "AWS::RDS::DBCluster", "Properties": {
            "Engine": "aurora-postgresql", "SnapshotIdentifier": name, "ManageMasterUserPassword": True,
            "ServerlessV2ScalingConfiguration": {"MinCapacity": 0.5, "MaxCapacity": 4}}}},
            "Outputs": {"Secret": {"Value": {"Fn::GetAtt": ["Cluster", "MasterUserSecret.SecretArn"]}}}}
        aws.client("cloudformation").create_stack(StackName="restored", TemplateBody=json.dumps(template))
    finally:
        undo()
    clusters = {c["DBClusterIdentifier"]: c for c in aws.client("rds").describe_db_clusters()["DBClusters"]}
    restored = [c for i, c in clusters.items() if i != CLUSTER]
    assert len(restored) == 1 and restored[0]["DatabaseName"] == "tunecast"


def test_make_passes_the_snapshot_as_one_quoted_value():
    env = {k: v for k, v in __import__("os").environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    result = subprocess.run(["make", "--no-print-directory", "-n", "restore", "ENV=dev", "SNAPSHOT=tunecast-dev-1"],
                            cwd=ROOT, capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 0, result.stderr
    command = result.stdout.strip().splitlines()[-1]
    assert command.startswith(".venv/bin/python scripts/deploy.py restore --env='dev' ")
    assert "--snapshot='tunecast-dev-1'" in command
