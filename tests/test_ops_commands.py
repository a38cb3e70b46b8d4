"""The day-2 commands against exact AWS responses (botocore Stubber): ECS, CodeDeploy, CloudWatch Logs, ECR, RDS,
CloudWatch. Stubber rejects calls a test did not expect and parameters that differ, so each test also pins the API
conversation (names from generator/naming.py, the CodeDeploy lifecycle, log paging). The emulator (moto) has no
CodeDeploy and no ECS Exec sessions, so these conversations are checked here; tests/test_ops_emulator.py runs the
commands that moto does serve."""
from __future__ import annotations

import base64
import dataclasses
import json
import subprocess
from datetime import timedelta

import pytest
from botocore.stub import ANY

from generator.components.service.spec import SidecarSpec
from scripts.deploylib.errors import DeployError, DeploymentFailed, Interrupted
from scripts.opslib import images, logs, release, status, store_status, tasks
from tests.ops_support import (
    ACCOUNT, CLUSTER, JOBS_SERVICE, REGION, REPO, STACK_ID, T0, WEB_SERVICE, harness, make_app, root_stack,
)

WEB_TD = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/shop-dev-web:7"
JOBS_TD = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/shop-dev-jobs:3"
NIGHTLY_TD = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/shop-dev-nightly:2"
DIGEST = "sha256:" + "ab" * 32


def taskdef(arn: str, container: str, image: str) -> dict:
    family = arn.rsplit("/", 1)[-1].split(":")[0]
    return {"taskDefinition": {"taskDefinitionArn": arn, "family": family, "revision": int(arn.rsplit(":", 1)[-1]),
                               "status": "ACTIVE", "cpu": "256", "memory": "512", "networkMode": "awsvpc",
                               "requiresCompatibilities": ["FARGATE"],
                               "containerDefinitions": [{"name": container, "image": image}]}}


def ecs_service(name: str, td: str, desired: int, running: int, pending: int = 0, deployments=None) -> dict:
    return {"serviceName": name, "taskDefinition": td, "desiredCount": desired, "runningCount": running,
            "pendingCount": pending, "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-1"]}},
            "deployments": deployments or [{"id": "ecs-svc/1", "status": "PRIMARY", "taskDefinition": td,
                                            "desiredCount": desired, "runningCount": running,
                                            "rolloutState": "COMPLETED"}],
            "events": [{"id": "e1", "createdAt": T0, "message": f"({name}) has reached a steady state."}]}


# --- status -------------------------------------------------------------------------------------------------------

def test_status_shows_counts_tags_releases_alarms_events_and_the_database():
    h = harness()
    h.described_stack()
    h.add("ecs", "describe_services", {"services": [
        ecs_service(WEB_SERVICE, WEB_TD, 2, 1, 1),
        ecs_service(JOBS_SERVICE, JOBS_TD, 1, 1, deployments=[
            {"id": "ecs-svc/2", "status": "PRIMARY", "taskDefinition": JOBS_TD, "desiredCount": 1,
             "runningCount": 0, "rolloutState": "IN_PROGRESS"},
            {"id": "ecs-svc/1", "status": "ACTIVE", "taskDefinition": JOBS_TD, "desiredCount": 1,
             "runningCount": 1, "rolloutState": "COMPLETED"}])]},
          {"cluster": CLUSTER, "services": [WEB_SERVICE, JOBS_SERVICE]})
    h.add("ecs", "describe_task_definition", taskdef(WEB_TD, "web", f"{REPO}/shop-dev-web@{DIGEST}"),
          {"taskDefinition": WEB_TD})
    h.add("codedeploy", "list_deployments", {"deployments": ["d-READY1"]},
          {"applicationName": "shop-dev-web", "deploymentGroupName": "shop-dev-web",
           "includeOnlyStatuses": status.ACTIVE_DEPLOYMENTS})
    h.add("codedeploy", "get_deployment", {"deploymentInfo": {"deploymentId": "d-READY1", "status": "Ready"}},
          {"deploymentId": "d-READY1"})
    h.add("ecs", "describe_task_definition", taskdef(JOBS_TD, "jobs", f"{REPO}/shop-dev-jobs:bbb222"),
          {"taskDefinition": JOBS_TD})
    h.add("ecs", "list_tasks", {"taskArns": []}, {"cluster": CLUSTER, "family": "shop-dev-nightly",
                                                  "desiredStatus": "RUNNING"})
    h.add("ecs", "describe_task_definition", taskdef(NIGHTLY_TD, "nightly", f"{REPO}/shop-dev-nightly:ccc333"),
          {"taskDefinition": "shop-dev-nightly"})
    h.add("cloudwatch", "describe_alarms", {"MetricAlarms": [
        {"AlarmName": "shop-dev-ServiceWeb-X-ErrorRateAlarm-1", "StateValue": "ALARM",
         "StateReason": "Threshold Crossed: 2 datapoints [7.0, 9.0] were greater than the threshold (5.0)."}]},
          {"StateValue": "ALARM", "AlarmNamePrefix": "shop-dev-"})
    h.add("rds", "describe_db_clusters", {"DBClusters": [
        {"DBClusterIdentifier": "other-dev-db", "Status": "available", "TagList": [
            {"Key": "Application", "Value": "other"}, {"Key": "Environment", "Value": "dev"}]},
        {"DBClusterIdentifier": "shop-dev-database-1", "Status": "stopped", "Engine": "aurora-postgresql",
         "EngineVersion": "16.9", "ServerlessV2ScalingConfiguration": {"MinCapacity": 0.0, "MaxCapacity": 4.0},
         "TagList": [{"Key": "Application", "Value": "shop"}, {"Key": "Environment", "Value": "dev"}]}]}, {})
    assert status.status(h.ops) == 0
    h.done()
    text = h.output()
    lines = text.splitlines()
    assert lines[0] == "shop-dev (eu-west-1): stack UPDATE_COMPLETE"
    assert lines[1].split() == ["SERVICE", "KIND", "DESIRED", "RUNNING", "PENDING", "IMAGE", "RELEASE"]
    assert lines[2].split()[:7] == ["web", "web", "2", "1", "1", "sha256:abababababab", "CodeDeploy"]
    assert "d-READY1 Ready (waiting for approval" in lines[2]
    assert lines[3].split()[:6] == ["jobs", "worker", "1", "1", "0", "bbb222"]
    assert "rolling ecs-svc/2 IN_PROGRESS: 0/1 new tasks running" in lines[3]
    assert lines[4].split()[:6] == ["nightly", "cron", "-", "0", "-", "ccc333"]
    assert "Alarms in ALARM: 1" in text and "shop-dev-ServiceWeb-X-ErrorRateAlarm-1: Threshold Crossed" in text
    assert "shop-dev-database-1: stopped (aurora-postgresql 16.9, 0.0-4.0 ACU)" in text
    assert "other-dev-db" not in text
    assert f"web  2026-03-01 12:00:00  ({WEB_SERVICE}) has reached a steady state." in text


def test_status_without_a_stack_says_how_to_create_it():
    h = harness()
    h.error("cloudformation", "describe_stacks", "ValidationError", "Stack with id shop-dev does not exist")
    with pytest.raises(DeployError) as caught:
        status.status(h.ops)
    assert caught.value.lines() == ["error: stack shop-dev does not exist in eu-west-1",
                                    "  deploy it first: `make deploy ENV=dev`"]


# --- logs ---------------------------------------------------------------------------------------------------------

def log_event(ms: int, stream: str, message: str, event_id: str) -> dict:
    return {"timestamp": ms, "logStreamName": stream, "message": message, "eventId": event_id, "ingestionTime": ms}


START_MS = int((T0 - timedelta(minutes=15)).timestamp() * 1000)


def test_logs_reads_every_page_of_every_task_and_colours_each_task():
    h = harness(service="web", filter="ERROR")
    h.add("logs", "describe_log_groups", {"logGroups": [{"logGroupName": "/shop/dev/services/web"}]},
          {"logGroupNamePrefix": "/shop/dev/services/web"})
    first = {"logGroupName": "/shop/dev/services/web", "startTime": START_MS,
             "filterPattern": "ERROR"}
    h.add("logs", "filter_log_events", {"events": [log_event(START_MS + 1000, "web/web/aaaaaaaa1111", "ERROR one\n",
                                                             "1")], "nextToken": "page2"}, first)
    h.add("logs", "filter_log_events", {"events": [log_event(START_MS + 2000, "web/web/bbbbbbbb2222", "ERROR two",
                                                             "2")]}, {**first, "nextToken": "page2"})
    assert logs.logs(h.ops, colour=True) == 0
    h.done()
    lines = h.output().splitlines()
    assert lines[0] == "/shop/dev/services/web since 2026-03-01 11:45:00 UTC, filter 'ERROR'"
    assert lines[1] == "\033[36m11:45:01 aaaaaaaa\033[0m ERROR one"
    assert lines[2] == "\033[33m11:45:02 bbbbbbbb\033[0m ERROR two"


def test_logs_follow_prints_each_event_once_and_ctrl_c_ends_quietly():
    h = harness(service="web", follow=True, since="1h")
    start = int((T0 - timedelta(hours=1)).timestamp() * 1000)
    h.add("logs", "describe_log_groups", {"logGroups": [{"logGroupName": "/shop/dev/services/web"}]}, ANY)
    a = log_event(start + 5000, "web/web/aaaaaaaa", "one", "1")
    b = log_event(start + 5000, "web/web/aaaaaaaa", "two (same millisecond)", "2")
    c = log_event(start + 9000, "web/web/aaaaaaaa", "three", "3")
    h.add("logs", "filter_log_events", {"events": [a]}, {"logGroupName": ANY, "startTime": start})
    # the next poll starts at the newest timestamp: `a` comes again and is not printed twice
    h.add("logs", "filter_log_events", {"events": [a, b, c]}, {"logGroupName": ANY, "startTime": start + 5000})

    calls = {"n": 0}

    def sleep(_seconds: float) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
    h.ops.console.sleep = sleep
    assert logs.logs(h.ops, colour=False) == 0
    h.done()
    assert [line.split(" ", 2)[2] for line in h.output().splitlines()[1:] if line] == [
        "one", "two (same millisecond)", "three"]


def test_logs_refuses_a_bad_duration_and_an_unknown_service():
    with pytest.raises(DeployError, match=r"SINCE='15 minutes' is not a duration"):
        logs.since_seconds("15 minutes")
    assert logs.since_seconds("2h") == 7200
    with pytest.raises(DeployError) as caught:
        logs.logs(harness(service="api").ops)
    assert caught.value.lines() == ["error: unknown service 'api'",
                                    "  app.yaml defines: web, jobs, nightly (pass SERVICE=<name>)"]


# --- exec ---------------------------------------------------------------------------------------------------------

def test_exec_says_when_exec_is_off_for_the_environment():
    with pytest.raises(DeployError) as caught:
        tasks.exec_(harness(service="jobs").ops, which=lambda _: "/usr/bin/session-manager-plugin")
    assert caught.value.lines() == [
        "error: ECS Exec is off for jobs in dev",
        "  turn it on in app.yaml (environments.dev.services.jobs.exec: true), then `make templates` and "
        "`make deploy ENV=dev`"]


def test_exec_says_when_the_session_manager_plugin_is_missing():
    with pytest.raises(DeployError, match="session-manager-plugin is not installed") as caught:
        tasks.exec_(harness(service="web").ops, which=lambda _: None)
    assert "session-manager-working-with-install-plugin" in caught.value.lines()[1]


def test_exec_starts_the_session_and_hands_it_to_the_plugin():
    h = harness(service="web", cmd="rails console")
    h.described_stack()
    task_arn = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/{CLUSTER}/0123456789abcdef"
    h.add("ecs", "list_tasks", {"taskArns": [task_arn]}, {"cluster": CLUSTER, "desiredStatus": "RUNNING",
                                                          "serviceName": WEB_SERVICE})
    h.add("ecs", "describe_tasks", {"tasks": [{"taskArn": task_arn, "lastStatus": "RUNNING",
                                               "enableExecuteCommand": True,
                                               "containers": [{"name": "web", "runtimeId": "0123-999"}]}]},
          {"cluster": CLUSTER, "tasks": [task_arn]})
    session = {"sessionId": "ecs-execute-command-1", "streamUrl": "wss://ssmmessages", "tokenValue": "t0k3n-value"}
    h.add("ecs", "execute_command", {"clusterArn": CLUSTER, "containerName": "web", "taskArn": task_arn,
                                     "interactive": True, "session": session},
          {"cluster": CLUSTER, "task": task_arn, "container": "web", "interactive": True, "command": "rails console"})
    ran = []
    assert tasks.exec_(h.ops, run=lambda argv: ran.append(argv) or 0, which=lambda _: "/bin/smp") == 0
    h.done()
    argv = ran[0]
    assert argv[0] == "/bin/smp" and json.loads(argv[1]) == session and argv[2:4] == [REGION, "StartSession"]
    assert json.loads(argv[5]) == {"Target": f"ecs:{CLUSTER}_0123456789abcdef_0123-999"}
    assert argv[6] == f"https://ecs.{REGION}.amazonaws.com"
    assert "t0k3n-value" not in h.output()


# --- run ----------------------------------------------------------------------------------------------------------

def test_run_starts_a_one_off_task_waits_prints_its_logs_and_returns_its_exit_code():
    h = harness(service="jobs", cmd="npm run migrate -- --to 'v 2'", poll=5, heartbeat=10)
    h.described_stack()
    network = {"awsvpcConfiguration": {"subnets": ["subnet-1", "subnet-2"], "securityGroups": ["sg-1"],
                                       "assignPublicIp": "DISABLED"}}
    h.add("ecs", "describe_services", {"services": [{**ecs_service(JOBS_SERVICE, JOBS_TD, 1, 1, deployments=[
        {"id": "ecs-svc/1", "status": "PRIMARY", "taskDefinition": JOBS_TD, "networkConfiguration": network}])}]},
          {"cluster": CLUSTER, "services": [JOBS_SERVICE]})
    arn = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/{CLUSTER}/feedc0de"
    h.add("ecs", "run_task", {"tasks": [{"taskArn": arn}], "failures": []},
          {"cluster": CLUSTER, "taskDefinition": JOBS_TD, "count": 1, "startedBy": "make-run",
           "networkConfiguration": network, "propagateTags": "TASK_DEFINITION",
           "overrides": {"containerOverrides": [{"name": "jobs",
                                                 "command": ["npm", "run", "migrate", "--", "--to", "v 2"]}]}})
    for state in ("PROVISIONING", "RUNNING", "RUNNING", "RUNNING"):
        h.add("ecs", "describe_tasks", {"tasks": [{"taskArn": arn, "lastStatus": state}]},
              {"cluster": CLUSTER, "tasks": [arn]})
    h.add("ecs", "describe_tasks", {"tasks": [{"taskArn": arn, "lastStatus": "STOPPED", "stoppedReason": "done",
                                               "containers": [{"name": "jobs", "exitCode": 3}]}]}, ANY)
    h.add("logs", "get_log_events", {"events": [{"timestamp": 1, "message": "migrating"}],
                                     "nextForwardToken": "f/1"},
          {"logGroupName": "/shop/dev/services/jobs", "logStreamName": "jobs/jobs/feedc0de", "startFromHead": True})
    h.add("logs", "get_log_events", {"events": [], "nextForwardToken": "f/1"}, ANY)
    assert tasks.run(h.ops) == 3
    h.done()
    text = h.output()
    assert "  PROVISIONING\n  RUNNING\n  still RUNNING\n  STOPPED\n" in text   # a heartbeat every 10s
    assert "  migrating\n" in text and text.endswith("jobs task feedc0de exited with 3\n")


def test_run_of_a_cron_job_takes_the_network_of_its_state_machine():
    h = harness(service="nightly", cmd="node jobs/nightly.js")
    definition = {"States": {"RunTask": {"Parameters": {
        "TaskDefinition": NIGHTLY_TD, "NetworkConfiguration": {"AwsvpcConfiguration": {
            "Subnets": ["subnet-1,subnet-2"], "SecurityGroups": ["sg-9"], "AssignPublicIp": "DISABLED"}}}}}}
    h.add("stepfunctions", "describe_state_machine", {
        "stateMachineArn": "x", "name": "shop-dev-nightly", "definition": json.dumps(definition),
        "roleArn": "arn:aws:iam::111111111111:role/r", "type": "STANDARD", "creationDate": T0},
        {"stateMachineArn": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:shop-dev-nightly"})
    assert tasks.launch_settings(h.ops, "nightly") == (NIGHTLY_TD, {"awsvpcConfiguration": {
        "subnets": ["subnet-1", "subnet-2"], "securityGroups": ["sg-9"], "assignPublicIp": "DISABLED"}})


def test_run_ctrl_c_leaves_the_task_running_and_says_how_to_follow_and_stop_it():
    h = harness(service="jobs", cmd="sleep 100")
    h.described_stack()
    h.add("ecs", "describe_services", {"services": [ecs_service(JOBS_SERVICE, JOBS_TD, 1, 1)]}, ANY)
    arn = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/{CLUSTER}/feedc0de"
    h.add("ecs", "run_task", {"tasks": [{"taskArn": arn}]}, ANY)
    h.add("ecs", "describe_tasks", {"tasks": [{"taskArn": arn, "lastStatus": "PENDING"}]}, ANY)

    def interrupt(_s):
        raise KeyboardInterrupt
    h.ops.console.sleep = interrupt
    with pytest.raises(Interrupted) as caught:
        tasks.run(h.ops)
    assert caught.value.lines()[1:] == ["  its logs: `make logs ENV=dev SERVICE=jobs FOLLOW=1`",
                                        f"  stop it: aws ecs stop-task --cluster {CLUSTER} --task feedc0de"]


# --- build, push --------------------------------------------------------------------------------------------------

class Recorder:
    def __init__(self, codes=None):
        self.calls, self.codes = [], dict(codes or {})

    def __call__(self, argv, **kwargs):
        self.calls.append((argv, kwargs))
        stdout = "0123456789abcdef0123456789abcdef01234567\n" if argv[:2] == ["git", "-C"] else ""
        return subprocess.CompletedProcess(argv, self.codes.get(argv[1], 0), stdout, "")


def test_build_runs_the_pipelines_docker_build_tagged_with_the_commit(tmp_path):
    h = harness(service="web")
    run = Recorder()
    assert images.build(h.ops, tmp_path, run=run, which=lambda _: "/usr/bin/docker") == 0
    argv = run.calls[-1][0]
    assert argv == ["docker", "build", "--file", str(tmp_path / "web/Dockerfile"), "--label",
                    "org.opencontainers.image.revision=0123456789abcdef0123456789abcdef01234567",
                    "--tag", f"{REPO}/shop-dev-web:0123456789ab", str(tmp_path / "web")]
    assert "`make push ENV=dev SERVICE=web TAG=0123456789ab`" in h.output()


def test_build_without_docker_says_what_to_install(tmp_path):
    with pytest.raises(DeployError, match="docker is not installed"):
        images.build(harness(service="web").ops, tmp_path, run=Recorder(), which=lambda _: None)


def test_push_logs_in_through_stdin_pushes_and_runs_the_scan_gate(tmp_path):
    h = harness(service="web", tag="v1.2.3")
    h.error("ecr", "describe_images", "ImageNotFoundException", expected={
        "repositoryName": "shop-dev-web", "imageIds": [{"imageTag": "v1.2.3"}]})
    token = base64.b64encode(b"AWS:s3cr3t-password-value").decode()
    h.add("ecr", "get_authorization_token", {"authorizationData": [{"authorizationToken": token}]}, {})
    run, gated = Recorder(), []
    code = images.push(h.ops, tmp_path, run=run, which=lambda _: "docker",
                       gate=lambda argv, client, log: gated.append(argv) or 0)
    assert code == 0
    h.done()
    login, push = run.calls
    assert login[0] == ["docker", "login", "--username", "AWS", "--password-stdin", REPO]
    assert login[1]["input"] == "s3cr3t-password-value"
    assert push[0] == ["docker", "push", f"{REPO}/shop-dev-web:v1.2.3"]
    assert gated == [["--repository", "shop-dev-web", "--tag", "v1.2.3", "--fail-on", "MEDIUM", "--timeout", "600",
                      "--region", REGION]]
    assert "s3cr3t" not in h.output()
    assert "`make release ENV=dev SERVICE=web IMAGE_TAG=v1.2.3`" in h.output()


def _with_built_sidecar(h):
    """The harness's app with a sidecar built from the repository on `web` (docs/services.md, Sidecars)."""
    app = h.ops.target.app
    web = next(s for s in app.services if s.name == "web")
    web = web.model_copy(update={"sidecars": [SidecarSpec(name="nginx", port=8080, build={
        "dockerfile": "nginx/Dockerfile", "context": "nginx"})]})
    services = [web if s.name == "web" else s for s in app.services]
    h.ops.target = dataclasses.replace(h.ops.target, app=app.model_copy(update={"services": services}))
    return h


def test_build_and_push_include_a_built_sidecar_tagged_after_the_service(tmp_path):
    h = _with_built_sidecar(harness(service="web", tag="v1"))
    run = Recorder()
    assert images.build(h.ops, tmp_path, run=run, which=lambda _: "docker") == 0
    assert [c[0] for c in run.calls] == [
        ["docker", "build", "--file", str(tmp_path / "web/Dockerfile"), "--tag", f"{REPO}/shop-dev-web:v1",
         str(tmp_path / "web")],
        ["docker", "build", "--file", str(tmp_path / "nginx/Dockerfile"), "--tag", f"{REPO}/shop-dev-web:v1-nginx",
         str(tmp_path / "nginx")]]
    h.add("ecr", "describe_images", {"imageDetails": [{"imageDigest": DIGEST}]},
          {"repositoryName": "shop-dev-web", "imageIds": [{"imageTag": "v1"}]})
    h.error("ecr", "describe_images", "ImageNotFoundException", expected={
        "repositoryName": "shop-dev-web", "imageIds": [{"imageTag": "v1-nginx"}]})
    token = base64.b64encode(b"AWS:s3cr3t-password-value").decode()
    h.add("ecr", "get_authorization_token", {"authorizationData": [{"authorizationToken": token}]}, {})
    run, gated = Recorder(), []
    # findings in the sidecar's image stop the push as they stop the pipeline
    with pytest.raises(DeployError, match=r"the scan gate did not pass .*shop-dev-web:v1-nginx \(exit 1\)"):
        images.push(h.ops, tmp_path, run=run, which=lambda _: "docker",
                    gate=lambda argv, client, log: gated.append(argv[3]) or int(argv[3] == "v1-nginx"))
    h.done()
    assert [c[0][:2] for c in run.calls] == [["docker", "login"], ["docker", "push"]]
    assert run.calls[1][0] == ["docker", "push", f"{REPO}/shop-dev-web:v1-nginx"]
    assert gated == ["v1", "v1-nginx"]


def test_push_fails_when_the_scan_gate_does_not_pass(tmp_path):
    h = harness(service="web", tag="v1")
    h.add("ecr", "describe_images", {"imageDetails": [{"imageDigest": DIGEST}]}, ANY)
    with pytest.raises(DeployError, match=r"the scan gate did not pass .*shop-dev-web:v1 \(exit 1\)"):
        images.push(h.ops, tmp_path, run=Recorder(), which=lambda _: "docker", gate=lambda argv, client, log: 1)


# --- release, approve, rollback -----------------------------------------------------------------------------------

def lifecycle(*states: str) -> dict:
    names = ["BeforeInstall", "Install", "AfterInstall", "AllowTestTraffic", "AfterAllowTestTraffic",
             "BeforeAllowTraffic", "AllowTraffic", "AfterAllowTraffic"]
    return {"deploymentTarget": {"deploymentTargetType": "ECSTarget", "ecsTarget": {"lifecycleEvents": [
        {"lifecycleEventName": n, "status": s} for n, s in zip(names, states)]}}}


def test_release_of_a_web_service_updates_the_stack_then_deploys_blue_green_and_streams_the_lifecycle():
    h = harness(service="web", tag="v2", yes=True, poll=5, heartbeat=60)
    h.add("ecr", "describe_images", {"imageDetails": [{"imageDigest": DIGEST}]},
          {"repositoryName": "shop-dev-web", "imageIds": [{"imageTag": "v2"}]})
    h.add("codedeploy", "list_deployments", {"deployments": []}, ANY)
    updates = []

    def stack_update(ctx):
        updates.append(dict(ctx.options.parameters))
        assert ctx.options.yes
        return 0
    family = taskdef(WEB_TD, "web", f"{REPO}/shop-dev-web:v2")
    family["taskDefinition"]["registeredAt"] = T0
    h.add("ecs", "describe_task_definition", {**family, "tags": [{"key": "Application", "value": "shop"}]},
          {"taskDefinition": "shop-dev-web", "include": ["TAGS"]})
    new_td = WEB_TD.replace(":7", ":8")
    h.add("ecs", "register_task_definition", {"taskDefinition": {"taskDefinitionArn": new_td}}, {
        "family": "shop-dev-web", "cpu": "256", "memory": "512", "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "containerDefinitions": [{"name": "web", "image": f"{REPO}/shop-dev-web@{DIGEST}"}],
        "tags": [{"key": "Application", "value": "shop"}]})
    h.add("codedeploy", "create_deployment", {"deploymentId": "d-NEW"}, {
        "applicationName": "shop-dev-web", "deploymentGroupName": "shop-dev-web",
        "description": f"make release web ({REPO}/shop-dev-web@{DIGEST})",
        "revision": {"revisionType": "AppSpecContent",
                     "appSpecContent": {"content": release.appspec(new_td, "web", 8080)}}})
    h.described_stack()
    target = {"deploymentId": "d-NEW", "targetId": f"{CLUSTER}:{WEB_SERVICE}"}
    for state, events in [("InProgress", lifecycle("Succeeded", "InProgress")),
                          ("InProgress", lifecycle("Succeeded", "InProgress")),
                          ("InProgress", lifecycle("Succeeded", "Succeeded", "Succeeded", "Succeeded", "Succeeded",
                                                   "Succeeded", "InProgress")),
                          ("Succeeded", lifecycle(*["Succeeded"] * 8))]:
        h.add("codedeploy", "get_deployment", {"deploymentInfo": {"deploymentId": "d-NEW", "status": state}},
              {"deploymentId": "d-NEW"})
        h.add("codedeploy", "get_deployment_target", events, target)
    assert release.release(h.ops, stack_update=stack_update) == 0
    h.done()
    assert updates == [{"WebImageTag": "v2"}]
    text = h.output()
    assert "Step 1: the stack update of WebImageTag only" in text
    assert "deployment d-NEW: InProgress\n    BeforeInstall: Succeeded\n    Install: InProgress\n" in text
    assert "    AllowTraffic: InProgress\n  deployment d-NEW: Succeeded\n" in text
    assert text.endswith("Released web: d-NEW succeeded.\n")


def test_a_release_replaces_the_main_containers_image_and_names_the_ingress_sidecar_in_the_appspec():
    """Sidecars (docs/services.md): `make release` registers the family's revision with the new image in the main
    container only (nginx keeps its image) and deploys with an appspec that names the load balancer's container."""
    h = harness(service="web")
    family = taskdef(WEB_TD, "web", f"{REPO}/shop-dev-web:v1")
    nginx = {"name": "nginx", "image": "public.ecr.aws/nginx/nginx:1.27", "portMappings": [{"containerPort": 8080}]}
    family["taskDefinition"]["containerDefinitions"].append(nginx)
    h.add("ecs", "describe_task_definition", family, {"taskDefinition": "shop-dev-web", "include": ["TAGS"]})
    new_td = WEB_TD.replace(":7", ":8")
    h.add("ecs", "register_task_definition", {"taskDefinition": {"taskDefinitionArn": new_td}}, {
        "family": "shop-dev-web", "cpu": "256", "memory": "512", "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "containerDefinitions": [{"name": "web", "image": f"{REPO}/shop-dev-web@{DIGEST}"}, nginx]})
    h.add("codedeploy", "create_deployment", {"deploymentId": "d-NEW"}, {
        "applicationName": "shop-dev-web", "deploymentGroupName": "shop-dev-web",
        "description": f"make release web ({REPO}/shop-dev-web@{DIGEST})",
        "revision": {"revisionType": "AppSpecContent",
                     "appSpecContent": {"content": release.appspec(new_td, "nginx", 8080)}}})
    assert release.create_deployment(h.ops, "web", 8080, f"{REPO}/shop-dev-web@{DIGEST}", "nginx") == "d-NEW"
    h.done()


def test_the_appspec_is_the_pipelines():
    """buildspecs/release.yml.j2 writes this document with printf (the placeholder there, the ARN here)."""
    import yaml
    from pathlib import Path
    printf = Path("buildspecs/release.yml.j2").read_text().split("printf '")[-1].split("' \"$container\"")[0]
    pipeline = yaml.safe_load(printf.replace("\\n", "\n").replace("%s", "web", 1).replace("%s", "8080"))
    ours = yaml.safe_load(release.appspec("<TASK_DEFINITION>", "web", 8080))
    assert ours == pipeline


def test_release_waits_at_the_approval_hold_and_says_how_to_continue_or_stop():
    h = harness(service="web")
    h.described_stack()
    for state in ("Ready", "Ready", "Stopped"):
        h.add("codedeploy", "get_deployment", {"deploymentInfo": {
            "deploymentId": "d-1", "status": state, **({"errorInformation": {"message": "stopped by user"},
                                                         "rollbackInfo": {}} if state == "Stopped" else {})}}, ANY)
        h.add("codedeploy", "get_deployment_target", lifecycle("Succeeded"), ANY)
    with pytest.raises(DeploymentFailed) as caught:
        release.follow(h.ops, "web", "d-1")
    text = h.output()
    assert text.count("Waiting for approval") == 1
    assert "Continue: `make approve ENV=dev SERVICE=web`; stop and roll back: `make rollback ENV=dev SERVICE=web`" \
        in text
    assert caught.value.lines() == ["web: deployment d-1 Stopped: stopped by user",
                                    "  CodeDeploy rolled back to the tasks that ran before"]


def test_release_ctrl_c_leaves_the_deployment_running_and_says_how_to_resume():
    h = harness(service="web")
    h.described_stack()
    h.add("codedeploy", "get_deployment", {"deploymentInfo": {"deploymentId": "d-1", "status": "InProgress"}}, ANY)
    h.add("codedeploy", "get_deployment_target", lifecycle("InProgress"), ANY)

    def interrupt(_s):
        raise KeyboardInterrupt
    h.ops.console.sleep = interrupt
    with pytest.raises(Interrupted) as caught:
        release.follow(h.ops, "web", "d-1")
    assert caught.value.lines() == [
        "\nStopped watching. CodeDeploy carries on with d-1; nothing was stopped.",
        "  see where it is: `make status ENV=dev`",
        "  stop it and roll back: `make rollback ENV=dev SERVICE=web`"]


def test_release_refuses_an_image_the_repository_does_not_have():
    h = harness(service="web", tag="nope")
    h.error("ecr", "describe_images", "ImageNotFoundException", "not found")
    with pytest.raises(DeployError) as caught:
        release.release(h.ops, stack_update=lambda ctx: pytest.fail("no stack update"))
    assert caught.value.lines() == [
        "error: shop-dev-web has no image tagged 'nope'",
        "  build and push it: `make build ENV=dev SERVICE=web TAG=nope` then `make push ENV=dev SERVICE=web TAG=nope`"]


def test_release_refuses_a_tag_whose_built_sidecar_image_is_missing():
    """The sidecar's image `<tag>-<sidecar>` moves with the service's ImageTag (docs/services.md, Sidecars)."""
    h = _with_built_sidecar(harness(service="web", tag="v3"))
    h.add("ecr", "describe_images", {"imageDetails": [{"imageDigest": DIGEST}]}, ANY)
    h.error("ecr", "describe_images", "ImageNotFoundException", "not found",
            expected={"repositoryName": "shop-dev-web", "imageIds": [{"imageTag": "v3-nginx"}]})
    with pytest.raises(DeployError) as caught:
        release.release(h.ops, stack_update=lambda ctx: pytest.fail("no stack update"))
    assert caught.value.lines() == [
        "error: shop-dev-web has no image tagged 'v3-nginx' (the nginx sidecar's, which moves with v3)",
        "  build and push it with the service's image (docs/services.md, Sidecars)"]


def test_release_of_a_worker_is_the_stack_update_alone():
    h = harness(service="jobs", tag="v3")
    h.add("ecr", "describe_images", {"imageDetails": [{"imageDigest": DIGEST}]}, ANY)
    seen = []
    assert release.release(h.ops, stack_update=lambda ctx: seen.append(ctx.options.parameters) or 0) == 0
    assert seen == [{"JobsImageTag": "v3"}]
    assert "the rolling deployment finished with the stack update" in h.output()


def test_rollback_stops_a_web_release_in_progress_with_rollback():
    h = harness(service="web")
    h.described_stack()
    h.add("codedeploy", "list_deployments", {"deployments": ["d-1"]}, ANY)
    h.add("codedeploy", "stop_deployment", {"status": "Pending"}, {"deploymentId": "d-1",
                                                                   "autoRollbackEnabled": True})
    h.add("codedeploy", "get_deployment", {"deploymentInfo": {"deploymentId": "d-1", "status": "Stopped"}}, ANY)
    h.add("codedeploy", "get_deployment_target", lifecycle("Succeeded"), ANY)
    assert release.rollback(h.ops) == 0
    h.done()
    assert "Stopped d-1 with rollback: production traffic goes back" in h.output()


def test_rollback_during_a_stack_update_cancels_it():
    h = harness(service="jobs")
    h.described_stack(status="UPDATE_IN_PROGRESS")
    h.add("cloudformation", "cancel_update_stack", {}, {"StackName": "shop-dev"})
    assert release.rollback(h.ops) == 0
    assert "`make watch ENV=dev`" in h.output()


def test_rollback_after_a_finished_release_re_releases_the_image_that_ran_before():
    h = harness(service="web")
    h.described_stack()
    arns = [WEB_TD.replace(":7", f":{n}") for n in (9, 8, 7)]
    h.add("ecs", "list_task_definitions", {"taskDefinitionArns": arns},
          {"familyPrefix": "shop-dev-web", "sort": "DESC"})
    h.add("ecs", "describe_services", {"services": [ecs_service(WEB_SERVICE, arns[1], 2, 2)]}, ANY)
    # revision 9 is newer than what runs (a release that was rolled back); 8 runs, pinned by digest; 7 ran before
    h.add("ecs", "describe_task_definition", taskdef(arns[1], "web", f"{REPO}/shop-dev-web@{DIGEST}"),
          {"taskDefinition": arns[1]})
    h.add("ecr", "describe_images", {"imageDetails": [{"imageDigest": DIGEST, "imageTags": ["v2"]}]},
          {"repositoryName": "shop-dev-web", "imageIds": [{"imageDigest": DIGEST}]})
    h.add("ecs", "describe_task_definition", taskdef(arns[2], "web", f"{REPO}/shop-dev-web:v1"),
          {"taskDefinition": arns[2]})
    assert release.previous_image(h.ops, "web") == ("v2", "v1")
    h.done()


# --- status: the data stores --------------------------------------------------------------------------------------

STORE_APP = make_app(app="shop", services=[{"name": "jobs", "kind": "worker", "uses": ["broker", "orders",
                                                                                       "carts", "files"],
                                            "mounts": [{"file_system": "media", "path": "/media"}]}],
                     caches=[{"name": "broker"}], queues=[{"name": "orders"}, {"name": "emails", "fifo": True}],
                     tables=[{"name": "carts", "partition_key": {"name": "id"}}], buckets=[{"name": "files"}],
                     file_systems=[{"name": "media"}],
                     environments={"dev": {"account_id": ACCOUNT, "cidr": "10.10.0.0/16"}})
ORDERS_URL = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/shop-dev-orders"
ORDERS_DLQ_URL = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/shop-dev-orders-dlq"
CACHE_STACK = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/shop-dev-CacheBroker-1AB/1111"


def store_harness():
    h = harness()
    h.ops.target = dataclasses.replace(h.ops.target, app=STORE_APP)
    h.add("cloudformation", "describe_stacks", {"Stacks": [{
        "StackName": "shop-dev", "StackId": STACK_ID, "StackStatus": "UPDATE_COMPLETE", "CreationTime": T0,
        "Outputs": [{"OutputKey": "QueueOrdersQueueUrl", "OutputValue": ORDERS_URL},
                    {"OutputKey": "QueueOrdersDeadLetterQueueName", "OutputValue": "shop-dev-orders-dlq"},
                    {"OutputKey": "TableCartsTableName", "OutputValue": "shop-dev-carts"},
                    {"OutputKey": "FilesystemMediaFileSystemId", "OutputValue": "fs-0123"}]}]},
          {"StackName": "shop-dev"})
    h.ops.root_stack()          # `make status` describes it first (its first line)
    return h


def resource(stack: str, logical: str, physical: str) -> dict:
    return {"StackResourceDetail": {"StackName": stack, "LogicalResourceId": logical, "PhysicalResourceId": physical,
                                    "ResourceType": "AWS::CloudFormation::Stack", "LastUpdatedTimestamp": T0,
                                    "ResourceStatus": "UPDATE_COMPLETE"}}


def test_status_shows_each_cache_queue_table_and_file_system_with_its_state():
    """ElastiCache DescribeReplicationGroups (Status), SQS GetQueueAttributes (ApproximateNumberOfMessages, ...
    NotVisible) on the queue and its dead-letter queue, DynamoDB DescribeTable (TableStatus), EFS
    DescribeFileSystems (LifeCycleState); the FIFO queue `emails` is not deployed yet (no output)."""
    h = store_harness()
    h.add("cloudformation", "describe_stack_resource", resource("shop-dev", "CacheBroker", CACHE_STACK),
          {"StackName": "shop-dev", "LogicalResourceId": "CacheBroker"})
    h.add("cloudformation", "describe_stack_resource", resource(CACHE_STACK, "ReplicationGroup", "sh1abc2def3"),
          {"StackName": CACHE_STACK, "LogicalResourceId": "ReplicationGroup"})
    h.add("elasticache", "describe_replication_groups", {"ReplicationGroups": [
        {"ReplicationGroupId": "sh1abc2def3", "Status": "modifying", "MemberClusters": ["a", "b"],
         "CacheNodeType": "cache.t4g.micro"}]}, {"ReplicationGroupId": "sh1abc2def3"})
    h.add("sqs", "get_queue_attributes", {"Attributes": {"ApproximateNumberOfMessages": "12",
                                                         "ApproximateNumberOfMessagesNotVisible": "3"}},
          {"QueueUrl": ORDERS_URL, "AttributeNames": store_status.DEPTH})
    h.add("sqs", "get_queue_url", {"QueueUrl": ORDERS_DLQ_URL}, {"QueueName": "shop-dev-orders-dlq"})
    h.add("sqs", "get_queue_attributes", {"Attributes": {"ApproximateNumberOfMessages": "2"}},
          {"QueueUrl": ORDERS_DLQ_URL, "AttributeNames": ["ApproximateNumberOfMessages"]})
    h.add("dynamodb", "describe_table", {"Table": {"TableName": "shop-dev-carts", "TableStatus": "ACTIVE",
                                                   "ItemCount": 42}}, {"TableName": "shop-dev-carts"})
    h.add("efs", "describe_file_systems", {"FileSystems": [{
        "FileSystemId": "fs-0123", "LifeCycleState": "available", "NumberOfMountTargets": 3,
        "SizeInBytes": {"Value": 3 * 2**20}, "OwnerId": ACCOUNT, "CreationToken": "t", "CreationTime": T0,
        "PerformanceMode": "generalPurpose", "Tags": []}]}, {"FileSystemId": "fs-0123"})
    found = store_status.lines(h.ops)
    h.done()
    assert found == [
        "  cache broker: sh1abc2def3: modifying (2 nodes, cache.t4g.micro)",
        "  queue orders: shop-dev-orders: 12 waiting, 3 in flight; dead-letter queue shop-dev-orders-dlq: 2 "
        "(messages that failed every receive: inspect them, then redrive or purge)",
        "  queue emails: not deployed yet (`make deploy ENV=dev` creates it)",
        "  table carts: shop-dev-carts: ACTIVE (about 42 items)",
        "  file system media: fs-0123: available (3 mount targets, 3.0 MiB)"]


def test_status_of_a_cache_not_in_the_stack_yet_says_so():
    h = store_harness()
    h.error("cloudformation", "describe_stack_resource", "ValidationError",
            "Resource CacheBroker does not exist for stack shop-dev",
            expected={"StackName": "shop-dev", "LogicalResourceId": "CacheBroker"})
    assert store_status.cache(h.ops, "broker") == "not deployed yet (`make deploy ENV=dev` creates it)"
    h.done()


def test_status_without_stores_prints_no_store_section():
    h = harness()
    assert store_status.lines(h.ops) == []
