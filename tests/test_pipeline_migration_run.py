"""What the pipeline's Migrate action runs (scripts/deploylib/pipeline_migration.py), against botocore Stubbers: the
same calls as `make deploy`'s migration (tests/test_migration.py's expectations, reused), the snapshot identifier
written for the buildspec to export, and the exit status the action fails with: the container's exit code, 1 when
the task never ran to an exit or ECS did not start it, 2 for an app.yaml that does not load."""
from __future__ import annotations

import pytest
import yaml
from botocore.stub import ANY

from scripts.deploylib import pipeline_migration
from tests.conftest import app_spec
from tests.ops_support import ACCOUNT, SERVICES, harness
from tests.test_migration import MIGRATE, expect_task, stack

RAW = app_spec(app="shop", services=[{**SERVICES[0], "uses": ["database"]}, *SERVICES[1:]],
               database={"engine": "aurora-postgresql", "name": "shop"}, migrate=MIGRATE,
               environments={"dev": {"account_id": ACCOUNT, "cidr": "10.10.0.0/16"},
                             "prod": {"account_id": ACCOUNT, "cidr": "10.20.0.0/16", "production": True,
                                      "zones": ["euw1-az1", "euw1-az2"]}})
SNAPSHOT = "shop-prod-20260301-120000"      # <app>-<env>-<UTC time> at the harness's clock


@pytest.fixture
def app_file(tmp_path):
    path = tmp_path / "app.yaml"
    path.write_text(yaml.safe_dump(RAW), encoding="utf-8")
    return path


def run(h, app_file, env: str, tmp_path) -> tuple[int, str]:
    snapshot_file = tmp_path / "snapshot"
    code = pipeline_migration.main(["--env", env, "--app", str(app_file), "--snapshot-file", str(snapshot_file)],
                                   aws=h.ops.aws, console=h.ops.console)
    return code, snapshot_file.read_text(encoding="utf-8") if snapshot_file.exists() else "<none>"


def expect_snapshot(h) -> None:
    h.add("cloudformation", "describe_stacks", stack("prod"), {"StackName": "shop-prod"})
    h.add("rds", "create_db_cluster_snapshot", {"DBClusterSnapshot": {"DBClusterSnapshotIdentifier": SNAPSHOT}}, {
        "DBClusterSnapshotIdentifier": SNAPSHOT, "DBClusterIdentifier": "shop-prod-db-abc",
        "Tags": [{"Key": "Application", "Value": "shop"}, {"Key": "Environment", "Value": "prod"},
                 {"Key": "Purpose", "Value": "migration"}]})
    h.add("rds", "describe_db_cluster_snapshots", {"DBClusterSnapshots": [
        {"DBClusterSnapshotIdentifier": SNAPSHOT, "Status": "available"}]}, {"DBClusterSnapshotIdentifier": SNAPSHOT})


def test_production_snapshots_migrates_and_writes_the_snapshot_for_the_export(app_file, tmp_path, capsys):
    h = harness(poll=5)
    expect_snapshot(h)
    expect_task(h, "prod", 0, ["Migrated 3 files"])
    code, written = run(h, app_file, "prod", tmp_path)
    h.done()
    assert (code, written) == (0, SNAPSHOT)
    text = h.output()
    assert f"Pre-migration snapshot: {SNAPSHOT}" in text
    assert text.index("Pre-migration snapshot") < text.index("Started web task")
    assert "Migration finished: web task m1gr4te exited with 0." in text


def test_outside_production_nothing_is_snapshotted_and_the_export_is_empty(app_file, tmp_path):
    h = harness(poll=5)
    expect_task(h, "dev", 0)
    code, written = run(h, app_file, "dev", tmp_path)
    h.done()
    assert (code, written) == (0, "")
    assert "rds" not in h.stubs


def test_a_non_zero_exit_fails_the_action_with_that_code_the_log_tail_and_the_restore_command(
        app_file, tmp_path, capsys):
    h = harness(poll=5)
    expect_snapshot(h)
    expect_task(h, "prod", 3, [f"line {i}" for i in range(25)] + ["ERROR: column \"plays\" does not exist"])
    code, written = run(h, app_file, "prod", tmp_path)
    h.done()
    assert code == 3
    assert written == SNAPSHOT        # still written: the build log and the file name it
    text = h.output()
    assert "The migration's last 20 log lines:" in text and "  line 5\n" not in text
    assert 'ERROR: column "plays" does not exist' in text
    err = capsys.readouterr().err
    assert err.splitlines()[0] == "error: migration failed: web task m1gr4te exited with 3"
    assert f"make restore ENV=prod SNAPSHOT={SNAPSHOT}" in err


def test_a_task_that_never_ran_fails_the_action_with_1_and_its_reason(app_file, tmp_path, capsys):
    h = harness(poll=5)
    expect_task(h, "dev", None)
    code, _ = run(h, app_file, "dev", tmp_path)
    assert code == 1
    assert "stopped without an exit code: Essential container in task exited (CannotPullContainerError" in \
        capsys.readouterr().err


def test_a_task_ecs_did_not_start_fails_the_action_with_1_and_ecs_reason(app_file, tmp_path, capsys):
    h = harness(poll=5)
    h.add("cloudformation", "describe_stacks", stack("dev"), {"StackName": "shop-dev"})
    network = {"awsvpcConfiguration": {"subnets": ["subnet-1"], "securityGroups": ["sg-web"],
                                       "assignPublicIp": "DISABLED"}}
    h.add("ecs", "describe_services", {"services": [{"serviceName": "shop-dev-web-svc", "deployments": [
        {"status": "PRIMARY", "taskDefinition": "td", "networkConfiguration": network}]}]}, ANY)
    h.add("ecs", "run_task", {"tasks": [], "failures": [{"arn": "arn:aws:ecs:::container-instance/x",
                                                         "reason": "RESOURCE:ENI"}]}, ANY)
    code, written = run(h, app_file, "dev", tmp_path)
    h.done()
    assert code == 1 and written == "<none>"
    assert capsys.readouterr().err.strip() == ("error: ECS did not start the task: "
                                               "arn:aws:ecs:::container-instance/x: RESOURCE:ENI")


def test_an_access_denied_is_one_line_naming_the_call(app_file, tmp_path, capsys):
    h = harness(poll=5)
    h.error("cloudformation", "describe_stacks", "AccessDenied", "not authorized to perform DescribeStacks")
    code, _ = run(h, app_file, "dev", tmp_path)
    assert code == 1
    assert capsys.readouterr().err.startswith("error: access denied on DescribeStacks")


@pytest.mark.parametrize("code, status", [(0, 1), (1, 1), (3, 3), (255, 255), (256, 1), (None, 1), (-9, 1)])
def test_the_exit_status_is_the_containers_code_where_a_shell_can_carry_it(code, status):
    assert pipeline_migration.exit_status(code) == status


def test_an_unknown_environment_or_a_bad_app_yaml_exits_2(app_file, tmp_path, capsys):
    h = harness(poll=5)
    assert pipeline_migration.main(["--env", "qa", "--app", str(app_file)], aws=h.ops.aws,
                                   console=h.ops.console) == 2
    assert "unknown environment 'qa'" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text("app: x\n", encoding="utf-8")
    assert pipeline_migration.main(["--env", "dev", "--app", str(bad)], aws=h.ops.aws, console=h.ops.console) == 2
