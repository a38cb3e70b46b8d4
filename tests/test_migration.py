"""The deploy's migration step (scripts/deploylib/migration.py) against botocore Stubbers: the exact call sequence
(a snapshot in production only, RunTask of the migrate service's newest revision with the command overridden, the
wait, the log tail) and how an exit code ends the deploy. RunTask with a family name and no revision runs the
family's latest ACTIVE revision ("taskDefinition: The family and revision (family:revision) or full ARN of the task
definition to run. If a revision isn't specified, the latest ACTIVE revision is used", ECS API Reference, RunTask)."""
from __future__ import annotations

import dataclasses

import pytest
from botocore.stub import ANY

from scripts.deploylib import commands, migration
from scripts.deploylib.errors import DeployError
from tests.conftest import make_app
from tests.ops_support import ACCOUNT, REGION, SERVICES, T0, harness

MIGRATE = {"service": "web", "command": ["npm", "run", "migrate"]}
APP = make_app(app="shop", services=[{**SERVICES[0], "uses": ["database"]}, *SERVICES[1:]],
               database={"engine": "aurora-postgresql", "name": "shop"}, migrate=MIGRATE,
               environments={"dev": {"account_id": ACCOUNT, "cidr": "10.10.0.0/16"},
                             "prod": {"account_id": ACCOUNT, "cidr": "10.20.0.0/16", "production": True,
                                      "zones": ["euw1-az1", "euw1-az2"]}})
NETWORK = {"awsvpcConfiguration": {"subnets": ["subnet-1", "subnet-2"], "securityGroups": ["sg-web"],
                                   "assignPublicIp": "DISABLED"}}


def setup(env: str, app=APP):
    h = harness(poll=5)
    target = dataclasses.replace(h.ops.target, app=app, env=env, spec=app.environments[env])
    ctx = commands.Ctx(target, h.ops.aws, h.ops.console, commands.Options(event_poll=5))
    return h, ctx


def stack(env: str) -> dict:
    return {"Stacks": [{"StackName": f"shop-{env}", "StackStatus": "UPDATE_COMPLETE", "CreationTime": T0,
                        "Outputs": [{"OutputKey": "ServiceWebServiceName", "OutputValue": f"shop-{env}-web-svc"},
                                    {"OutputKey": "DatabaseClusterId", "OutputValue": f"shop-{env}-db-abc"}]}]}


def expect_task(h, env: str, exit_code: int | None, log: list[str] = ()) -> str:
    cluster = f"shop-{env}"
    h.add("cloudformation", "describe_stacks", stack(env), {"StackName": f"shop-{env}"})
    old_td = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/shop-{env}-web:7"
    h.add("ecs", "describe_services", {"services": [{"serviceName": f"shop-{env}-web-svc", "taskDefinition": old_td,
                                                     "deployments": [{"id": "d", "status": "PRIMARY",
                                                                      "taskDefinition": old_td,
                                                                      "networkConfiguration": NETWORK}]}]},
          {"cluster": cluster, "services": [f"shop-{env}-web-svc"]})
    arn = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/{cluster}/m1gr4te"
    h.add("ecs", "run_task", {"tasks": [{"taskArn": arn}], "failures": []}, {
        "cluster": cluster, "taskDefinition": f"shop-{env}-web", "count": 1, "startedBy": "deploy-migrate",
        "networkConfiguration": NETWORK, "propagateTags": "TASK_DEFINITION",
        "overrides": {"containerOverrides": [{"name": "web", "command": ["npm", "run", "migrate"]}]}})
    h.add("ecs", "describe_tasks", {"tasks": [{"taskArn": arn, "lastStatus": "RUNNING"}]},
          {"cluster": cluster, "tasks": [arn]})
    container = {"name": "web", **({"exitCode": exit_code} if exit_code is not None else
                                   {"reason": "CannotPullContainerError: pull access denied"})}
    h.add("ecs", "describe_tasks", {"tasks": [{"taskArn": arn, "lastStatus": "STOPPED", "containers": [container],
                                               "stoppedReason": "Essential container in task exited"}]}, ANY)
    events = [{"timestamp": i, "message": m} for i, m in enumerate(log)]
    h.add("logs", "get_log_events", {"events": events, "nextForwardToken": "f/1"},
          {"logGroupName": f"/shop/{env}/services/web", "logStreamName": "web/web/m1gr4te", "startFromHead": True})
    if events:
        h.add("logs", "get_log_events", {"events": [], "nextForwardToken": "f/1"}, ANY)
    return arn


def test_outside_production_the_migration_runs_the_new_revision_with_the_command_and_takes_no_snapshot():
    h, ctx = setup("dev")
    expect_task(h, "dev", 0, ["Migrated 3 files"])
    assert migration.migrate(ctx) is None
    h.done()     # no rds call was stubbed: an unexpected CreateDBClusterSnapshot would have failed the stubber
    assert "rds" not in h.stubs
    text = h.output()
    assert "Migrating the database with web's new image: npm run migrate" in text
    assert "Migration finished: web task m1gr4te exited with 0." in text


def test_production_snapshots_the_cluster_first_and_prints_the_identifier():
    h, ctx = setup("prod")
    h.add("cloudformation", "describe_stacks", stack("prod"), {"StackName": "shop-prod"})
    name = "shop-prod-20260301-120000"
    h.add("rds", "create_db_cluster_snapshot", {"DBClusterSnapshot": {"DBClusterSnapshotIdentifier": name}}, {
        "DBClusterSnapshotIdentifier": name, "DBClusterIdentifier": "shop-prod-db-abc",
        "Tags": [{"Key": "Application", "Value": "shop"}, {"Key": "Environment", "Value": "prod"},
                 {"Key": "Purpose", "Value": "migration"}]})
    h.add("rds", "describe_db_cluster_snapshots", {"DBClusterSnapshots": [
        {"DBClusterSnapshotIdentifier": name, "Status": "available"}]}, {"DBClusterSnapshotIdentifier": name})
    expect_task(h, "prod", 0)
    assert migration.migrate(ctx) == name
    h.done()
    text = h.output()
    assert f"Pre-migration snapshot: {name}" in text
    assert text.index("Pre-migration snapshot") < text.index("Started web task")   # snapshot before the task


def test_a_non_zero_exit_stops_the_deploy_with_one_line_the_log_tail_and_the_restore_command():
    h, ctx = setup("prod")
    h.add("cloudformation", "describe_stacks", stack("prod"), ANY)
    name = "shop-prod-20260301-120000"
    h.add("rds", "create_db_cluster_snapshot", {"DBClusterSnapshot": {}}, ANY)
    h.add("rds", "describe_db_cluster_snapshots", {"DBClusterSnapshots": [{"Status": "available"}]}, ANY)
    log = [f"line {i}" for i in range(25)] + ["ERROR: relation \"tracks\" already exists"]
    expect_task(h, "prod", 1, log)
    with pytest.raises(DeployError) as raised:
        migration.migrate(ctx)
    h.done()
    assert raised.value.message == "migration failed: web task m1gr4te exited with 1"
    assert any(f"make restore ENV=prod SNAPSHOT={name}" in hint for hint in raised.value.hints)
    assert any("no CodeDeploy deployment was started" in hint for hint in raised.value.hints)
    text = h.output()
    assert "The migration's last 20 log lines:" in text
    assert "  line 6\n" in text and "  line 5\n" not in text          # the tail, not the whole log
    assert text.rstrip().endswith('ERROR: relation "tracks" already exists')


def test_a_task_that_never_ran_fails_the_migration_with_its_reason():
    h, ctx = setup("dev")
    expect_task(h, "dev", None)
    with pytest.raises(DeployError) as raised:
        migration.migrate(ctx)
    assert raised.value.message == ("migration failed: web task m1gr4te stopped without an exit code: Essential "
                                    "container in task exited (CannotPullContainerError: pull access denied)")
    assert not any("restore" in hint for hint in raised.value.hints)   # no snapshot outside production


def test_without_migrate_nothing_is_called():
    app = make_app(app="shop", services=SERVICES, environments={"dev": {"account_id": ACCOUNT,
                                                                        "cidr": "10.10.0.0/16"}})
    h, ctx = setup("dev", app)
    assert migration.migrate(ctx) is None
    assert h.stubs == {} and h.output() == ""
