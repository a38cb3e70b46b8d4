"""`make db-load` (scripts/opslib/db_load.py) against botocore Stubbers: the exact call sequence (the dump's size, the
borrowed service's network and task definition, the run's role scoped to the one object, the registered task
definition, RunTask, the wait with the log lines as they arrive, and the cleanup of the role and the task definition
whatever happened), the refusal of a database that has tables, and the DUMP rule (exit 2).

The emulator (moto) registers task definitions but does not run containers, so nothing here shows the containers'
scripts against a real PostgreSQL or MySQL, the dependsOn chain, or IAM's propagation delay before ECS can assume a
new role (ROLE_WAIT_SECONDS): the stubs give ECS's answers as its API reference documents them."""
from __future__ import annotations

import dataclasses
import io
import json
from contextlib import redirect_stderr

import pytest
from botocore.stub import ANY

from scripts import ops as ops_cli
from scripts.deploylib.errors import DeployError
from scripts.opslib import db_load
from tests.conftest import make_app
from tests.ops_support import ACCOUNT, REGION, SERVICES, T0, harness

APP = make_app(app="shop", services=[{**SERVICES[0], "uses": ["database"]}, *SERVICES[1:]],
               database={"engine": "aurora-postgresql", "name": "shop", "engine_version": "16.9"},
               environments={"dev": {"account_id": ACCOUNT, "cidr": "10.10.0.0/16"}})
NETWORK = {"awsvpcConfiguration": {"subnets": ["subnet-1"], "securityGroups": ["sg-web"], "assignPublicIp": "DISABLED"}}
WEB_TD = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/shop-dev-web:7"
EXEC_ROLE = f"arn:aws:iam::{ACCOUNT}:role/shop-dev-web-exec"
SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:rds!cluster-abc"
ROLE = "shop-dev-db-load-20260301120000"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{ROLE}"
LOAD_TD = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/shop-dev-db-load:1"
TASK = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/shop-dev/l0ad"
GROUP = "/shop/dev/web"
DUMP = "s3://shop-dumps/first/shop.sql.gz"


def setup(**options):
    h = harness(poll=5, **options)
    h.ops.target = dataclasses.replace(h.ops.target, app=APP)
    return h


def source_task_definition() -> dict:
    return {"taskDefinition": {
        "taskDefinitionArn": WEB_TD, "family": "shop-dev-web", "executionRoleArn": EXEC_ROLE,
        "containerDefinitions": [{
            "name": "web", "image": "x",
            "environment": [{"name": "DB_HOST", "value": "db.internal"}, {"name": "DB_PORT", "value": "5432"},
                            {"name": "DB_NAME", "value": "shop"}, {"name": "OTHER", "value": "kept out"}],
            "secrets": [{"name": "DB_USER", "valueFrom": f"{SECRET}:username::"},
                        {"name": "DB_PASSWORD", "valueFrom": f"{SECRET}:password::"},
                        {"name": "API_KEY", "valueFrom": f"{SECRET}-other"}],
            "logConfiguration": {"logDriver": "awslogs", "options": {
                "awslogs-group": GROUP, "awslogs-region": REGION, "awslogs-stream-prefix": "web"}}}]}}


def expect_start(h, size: int = 3 * 2**30) -> None:
    h.add("s3", "head_object", {"ContentLength": size}, {"Bucket": "shop-dumps", "Key": "first/shop.sql.gz"})
    h.described_stack()
    h.add("ecs", "describe_services", {"services": [{"serviceName": "shop-dev-ServiceWeb-Service-AbC",
                                                     "taskDefinition": WEB_TD, "deployments": [
                                                         {"id": "d", "status": "PRIMARY", "taskDefinition": WEB_TD,
                                                          "networkConfiguration": NETWORK}]}]}, ANY)
    h.add("ecs", "describe_task_definition", source_task_definition(), {"taskDefinition": WEB_TD})
    h.add("iam", "create_role", {"Role": {"Path": "/", "RoleName": ROLE, "RoleId": "AROAEXAMPLE0000000000",
                                          "Arn": ROLE_ARN, "CreateDate": T0}}, ANY)
    h.add("iam", "put_role_policy", {}, ANY)
    h.add("ecs", "register_task_definition", {"taskDefinition": {"taskDefinitionArn": LOAD_TD}}, ANY)
    h.add("ecs", "run_task", {"tasks": [{"taskArn": TASK}], "failures": []}, {
        "cluster": "shop-dev", "taskDefinition": LOAD_TD, "count": 1, "startedBy": "make-db-load",
        "launchType": "FARGATE", "networkConfiguration": NETWORK, "propagateTags": "TASK_DEFINITION"})


def logs(h, lines: dict[str, list[str]]) -> None:
    """One round of the three containers' log streams (a missing stream: the container has not started)."""
    for container in ("check", "download", "load"):
        expected = {"logGroupName": GROUP, "logStreamName": f"db-load/{container}/l0ad", "startFromHead": True}
        if container in lines:
            h.add("logs", "get_log_events", {"events": [{"timestamp": 1, "message": m} for m in lines[container]],
                                             "nextForwardToken": f"f/{container}"}, expected)
        else:
            h.error("logs", "get_log_events", "ResourceNotFoundException", "no stream", expected)


def expect_stop(h, codes: dict[str, int | None]) -> None:
    h.add("ecs", "describe_tasks", {"tasks": [{"taskArn": TASK, "lastStatus": "RUNNING"}]},
          {"cluster": "shop-dev", "tasks": [TASK]})
    logs(h, {"check": ["db-load: 0 user tables in shop"]})
    containers = [{"name": n, **({"exitCode": c} if c is not None else {})} for n, c in codes.items()]
    h.add("ecs", "describe_tasks", {"tasks": [{"taskArn": TASK, "lastStatus": "STOPPED", "containers": containers,
                                               "stoppedReason": "Essential container in task exited"}]}, ANY)


def expect_cleanup(h) -> None:
    h.add("ecs", "deregister_task_definition", {}, {"taskDefinition": LOAD_TD})
    h.add("iam", "delete_role_policy", {}, {"RoleName": ROLE, "PolicyName": "read-the-dump"})
    h.add("iam", "delete_role", {}, {"RoleName": ROLE})


def test_db_load_runs_the_dump_through_the_client_and_returns_its_exit_code():
    h = setup(dump=DUMP)
    expect_start(h)
    expect_stop(h, {"check": 0, "download": 0, "load": 0})
    h.add("logs", "get_log_events", {"events": [], "nextForwardToken": "f/check"}, ANY)
    h.add("logs", "get_log_events", {"events": [{"timestamp": 2, "message": "download: s3://..."}],
                                                   "nextForwardToken": "f/download2"}, ANY)
    h.add("logs", "get_log_events", {"events": [{"timestamp": 3, "message": "db-load: done"}],
                                                   "nextForwardToken": "f/load2"}, ANY)
    expect_cleanup(h)
    assert db_load.db_load(h.ops) == 0
    h.done()
    out = h.output()
    assert f"Role {ROLE}: s3:GetObject on {DUMP} only (deleted after the run)" in out
    assert "Started db-load task l0ad: s3://shop-dumps/first/shop.sql.gz into shop (only if it has no tables)" in out
    assert out.index("  check: db-load: 0 user tables in shop") < out.index("  load: db-load: done")
    assert "db-load task l0ad: the client exited with 0" in out
    assert f"Deleted role {ROLE} and deregistered the task definition" in out
    assert db_load.ROLE_WAIT_SECONDS in h.sleeps


def test_the_client_exit_code_is_the_commands():
    h = setup(dump=DUMP)
    expect_start(h)
    expect_stop(h, {"check": 0, "download": 0, "load": 3})
    for _ in range(3):
        h.add("logs", "get_log_events", {"events": []}, ANY)
    expect_cleanup(h)
    assert db_load.db_load(h.ops) == 3
    assert "the client exited with 3" in h.output()


def test_db_load_refuses_a_database_that_has_tables_and_still_cleans_up():
    h = setup(dump=DUMP)
    expect_start(h)
    expect_stop(h, {"check": 3, "download": None, "load": None})
    for _ in range(3):
        h.add("logs", "get_log_events", {"events": []}, ANY)
    expect_cleanup(h)
    with pytest.raises(DeployError) as caught:
        db_load.db_load(h.ops)
    h.done()
    assert caught.value.lines() == [
        "error: the dev database already has tables: nothing was loaded",
        f"  to load over them: `make db-load ENV=dev DUMP={DUMP} FORCE=1`"]


def test_a_failed_download_names_the_kms_case():
    h = setup(dump=DUMP)
    expect_start(h)
    expect_stop(h, {"check": 0, "download": 1, "load": None})
    for _ in range(3):
        h.add("logs", "get_log_events", {"events": []}, ANY)
    expect_cleanup(h)
    with pytest.raises(DeployError) as caught:
        db_load.db_load(h.ops)
    assert caught.value.message.startswith("db-load download step failed (exit 1)")
    assert "kms:Decrypt" in caught.value.hints[0]


def test_the_task_definition_checks_first_reads_only_the_object_and_borrows_the_services_secret():
    h = setup(dump=DUMP, force=True)
    expect_start(h)
    expect_stop(h, {"check": 0, "download": 0, "load": 0})
    for _ in range(3):
        h.add("logs", "get_log_events", {"events": []}, ANY)
    expect_cleanup(h)
    sent: dict[str, dict] = {}
    for client in ("iam", "ecs"):
        h.ops.client(client).meta.events.register(
            f"provide-client-params.{client}.*", lambda params, model, **_: sent.__setitem__(model.name, params))
    assert db_load.db_load(h.ops) == 0
    policy = json.loads(sent["PutRolePolicy"]["PolicyDocument"])
    assert policy["Statement"] == [{"Effect": "Allow", "Action": "s3:GetObject",
                                    "Resource": "arn:aws:s3:::shop-dumps/first/shop.sql.gz"}]
    trust = json.loads(sent["CreateRole"]["AssumeRolePolicyDocument"])["Statement"][0]
    assert trust["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}
    td = sent["RegisterTaskDefinition"]
    assert (td["family"], td["taskRoleArn"], td["executionRoleArn"]) == ("shop-dev-db-load", ROLE_ARN, EXEC_ROLE)
    assert td["ephemeralStorage"] == {"sizeInGiB": 21}           # 3 GiB + 5, at least Fargate's minimum of 21
    check, download, load = td["containerDefinitions"]
    assert [c["name"] for c in (check, download, load)] == ["check", "download", "load"]
    assert check["image"] == load["image"] == "public.ecr.aws/docker/library/postgres:16-alpine"
    assert download["image"] == db_load.AWS_CLI_IMAGE and download["command"][:4] == [
        "s3", "cp", DUMP, "/dump/dump.sql.gz"]
    assert download["dependsOn"] == [{"containerName": "check", "condition": "SUCCESS"}]
    assert load["dependsOn"] == [{"containerName": "download", "condition": "SUCCESS"}]
    assert [c["essential"] for c in (check, download, load)] == [False, False, True]
    assert {s["name"] for s in check["secrets"]} == {"DB_USER", "DB_PASSWORD"}        # not API_KEY
    assert {"name": "FORCE", "value": "1"} in check["environment"]
    assert "OTHER" not in json.dumps(td) and "secrets" not in download
    assert "gunzip -c /dump/dump.sql.gz | psql -v ON_ERROR_STOP=1" in load["command"][0]
    assert "information_schema.tables" in check["command"][0] and "exit 3" in check["command"][0]
    assert check["logConfiguration"]["options"]["awslogs-stream-prefix"] == "db-load"


def test_client_images_follow_the_engines_major_version():
    assert db_load.client_image("aurora-postgresql", "17.7") == "public.ecr.aws/docker/library/postgres:17-alpine"
    assert db_load.client_image("aurora-mysql", "8.0.mysql_aurora.3.08.0") == \
        "public.ecr.aws/docker/library/mysql:8.0"


def test_a_dump_too_big_for_the_tasks_storage_is_refused_before_anything_is_created():
    h = setup(dump=DUMP)
    h.add("s3", "head_object", {"ContentLength": 250 * 2**30}, ANY)
    with pytest.raises(DeployError, match="at most 200 GiB"):
        db_load.db_load(h.ops)
    assert "iam" not in h.stubs


def test_a_missing_dump_object_is_named():
    h = setup(dump="s3://shop-dumps/none.sql")
    h.error("s3", "head_object", "404", "Not Found", status=404)
    with pytest.raises(DeployError, match="s3://shop-dumps/none.sql does not exist"):
        db_load.db_load(h.ops)


@pytest.mark.parametrize("dump", ["shop.sql", "s3://shop-dumps/first.csv", "s3://shop-dumps/", "https://x/y.sql",
                                  "s3://Bad_Bucket/x.sql", "s3://shop-dumps/x.sql.zip", ""])
def test_dump_must_be_an_s3_sql_or_sql_gz_object(dump):
    err = io.StringIO()
    with redirect_stderr(err), pytest.raises(SystemExit) as caught:
        ops_cli.main(["db-load", "--env", "dev", f"--dump={dump}"])
    assert caught.value.code == 2
    assert "DUMP must be s3://bucket/key ending in .sql or .sql.gz" in err.getvalue()


def test_db_load_without_a_dump_is_a_usage_error():
    h = setup()
    with pytest.raises(DeployError) as caught:
        db_load.db_load(h.ops)
    assert caught.value.exit_code == 2 and caught.value.message == db_load.DUMP_RULE


def test_a_failure_before_the_task_still_deletes_the_role_and_says_what_it_could_not():
    h = setup(dump=DUMP)
    h.add("s3", "head_object", {"ContentLength": 10}, ANY)
    h.described_stack()
    h.add("ecs", "describe_services", {"services": [{"serviceName": "s", "taskDefinition": WEB_TD, "deployments": [
        {"id": "d", "status": "PRIMARY", "taskDefinition": WEB_TD, "networkConfiguration": NETWORK}]}]}, ANY)
    h.add("ecs", "describe_task_definition", source_task_definition(), ANY)
    h.add("iam", "create_role", {"Role": {"Path": "/", "RoleName": ROLE, "RoleId": "AROAEXAMPLE0000000000",
                                          "Arn": ROLE_ARN, "CreateDate": T0}}, ANY)
    h.error("iam", "put_role_policy", "MalformedPolicyDocument", "bad")
    h.error("iam", "delete_role_policy", "NoSuchEntity", "none", {"RoleName": ROLE, "PolicyName": "read-the-dump"})
    h.error("iam", "delete_role", "Throttling", "slow down", {"RoleName": ROLE})
    with pytest.raises(Exception, match="MalformedPolicyDocument"):
        db_load.db_load(h.ops)
    h.done()
    assert f"Could not delete the role (Throttling): aws iam delete-role --role-name {ROLE}" in h.output()
    assert "Deleted role" not in h.output()
