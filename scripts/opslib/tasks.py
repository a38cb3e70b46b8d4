"""`make exec SERVICE=... [CMD=...]` (ECS Exec into a running task) and `make run SERVICE=... CMD=...` (a one-off
task with the service's image, network and secrets: a migration, a shell command), its exit code and its logs."""
from __future__ import annotations

import json
import shlex
import shutil
import signal
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from scripts.deploylib.errors import DeployError, Interrupted
from scripts.opslib.context import Ops

PLUGIN = "session-manager-plugin"
PLUGIN_HINT = ("install the Session Manager plugin: https://docs.aws.amazon.com/systems-manager/latest/userguide/"
               "session-manager-working-with-install-plugin.html")
DEFAULT_SHELL = "/bin/sh"


# --- exec ---------------------------------------------------------------------------------------------------------

def exec_enabled(ops: Ops, service: str) -> bool:
    """Whether this environment turns ECS Exec on for the service (`exec:` in app.yaml, the `<Service>ExecEnabled`
    parameter: the task role's ssmmessages permissions)."""
    return (ops.parameter(service, "ExecEnabled") or "false") == "true"


def running_task(ops: Ops, service: str) -> dict[str, Any]:
    ecs = ops.client("ecs")
    name = ops.ecs_service(service)
    kwargs = {"serviceName": name} if name else {"family": ops.family(service)}
    arns = ecs.list_tasks(cluster=ops.cluster, desiredStatus="RUNNING", **kwargs).get("taskArns", [])
    if not arns:
        hint = (f"start one: `{ops.make('run', SERVICE=service, CMD=repr('sleep 3600'))}`, then exec into it"
                if name is None else f"see `{ops.make('status')}` for why {service} has no tasks")
        raise DeployError(f"{service} has no running task in {ops.env}", hint)
    tasks = ecs.describe_tasks(cluster=ops.cluster, tasks=arns[:100]).get("tasks", [])
    for task in tasks:
        if task.get("enableExecuteCommand") and task.get("lastStatus") == "RUNNING":
            return task
    raise DeployError(f"none of the {len(tasks)} running {service} tasks accepts ECS Exec",
                      "tasks started before exec was turned on keep it off: start new ones with a release, "
                      f"`{ops.make('release', SERVICE=service, IMAGE_TAG='<running tag>')}`")


def exec_(ops: Ops, run: Callable[..., int] | None = None, which: Callable[[str], str | None] = shutil.which) -> int:
    svc = ops.service()
    if not exec_enabled(ops, svc.name):
        raise DeployError(f"ECS Exec is off for {svc.name} in {ops.env}",
                          f"turn it on in app.yaml (environments.{ops.env}.services.{svc.name}.exec: true), then "
                          f"`make templates` and `{ops.make('deploy')}`")
    plugin = which(PLUGIN)
    if plugin is None:
        raise DeployError(f"{PLUGIN} is not installed (ECS Exec talks to the task through it)", PLUGIN_HINT)
    task = running_task(ops, svc.name)
    container = next((c for c in task.get("containers", []) if c.get("name") == svc.name), None)
    if container is None or not container.get("runtimeId"):
        raise DeployError(f"task {task['taskArn']} has no running {svc.name} container yet", "try again in a minute")
    command = ops.options.cmd or DEFAULT_SHELL
    answer = ops.client("ecs").execute_command(cluster=ops.cluster, task=task["taskArn"], container=svc.name,
                                               interactive=True, command=command)
    task_id = task["taskArn"].rsplit("/", 1)[-1]
    ops.console.say(f"{svc.name}: task {task_id}, running {command!r} (exit the shell to end the session)")
    # The AWS CLI's contract with the plugin (`aws ecs execute-command`): session, region, operation, profile,
    # target, endpoint.
    target = {"Target": f"ecs:{ops.cluster}_{task_id}_{container['runtimeId']}"}
    argv = [plugin, json.dumps(answer["session"]), ops.aws.region, "StartSession", ops.aws.session.profile_name or "",
            json.dumps(target), ops.client("ecs").meta.endpoint_url]
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)   # Ctrl-C belongs to the remote shell
    try:
        return (run or _run)(argv)
    finally:
        signal.signal(signal.SIGINT, previous)


def _run(argv: list[str]) -> int:
    return subprocess.call(argv)


# --- run ----------------------------------------------------------------------------------------------------------

def launch_settings(ops: Ops, service: str) -> tuple[str, dict[str, Any]]:
    """(task definition, network configuration) a one-off task of the service uses: what its ECS service runs, or
    for a cron job what its state machine starts."""
    name = ops.ecs_service(service)
    if name:
        described = ops.client("ecs").describe_services(cluster=ops.cluster, services=[name])["services"][0]
        primary = next((d for d in described.get("deployments", []) if d.get("status") == "PRIMARY"), described)
        network = primary.get("networkConfiguration") or described.get("networkConfiguration")
        if not network:
            raise DeployError(f"ECS service {name} has no network configuration to start a task in")
        return primary.get("taskDefinition") or described["taskDefinition"], network
    sfn = ops.client("stepfunctions")
    arn = f"arn:aws:states:{ops.aws.region}:{ops.account()}:stateMachine:{ops.family(service)}"
    definition = json.loads(sfn.describe_state_machine(stateMachineArn=arn)["definition"])
    parameters = definition["States"]["RunTask"]["Parameters"]
    vpc = parameters["NetworkConfiguration"]["AwsvpcConfiguration"]
    network = {"awsvpcConfiguration": {"subnets": _flat(vpc["Subnets"]), "securityGroups": vpc["SecurityGroups"],
                                       "assignPublicIp": vpc.get("AssignPublicIp", "DISABLED")}}
    return parameters["TaskDefinition"], network


def _flat(values: list[str]) -> list[str]:
    """The state machine holds the subnets as one comma-joined string inside a list."""
    return [s for v in values for s in v.split(",") if s]


def run(ops: Ops) -> int:
    svc = ops.service()
    if not ops.options.cmd:
        raise DeployError("no command given", f"pass CMD='...', e.g. `{ops.make('run', SERVICE=svc.name)} "
                                              "CMD='npm run migrate'`")
    task_definition, network = launch_settings(ops, svc.name)
    result = one_off(ops, svc.name, shlex.split(ops.options.cmd), task_definition, network, "make-run")
    for event in result.events:
        ops.console.say(f"  {event.get('message', '').rstrip()}")
    if result.code is None:
        raise DeployError(f"task {result.task_id} stopped without an exit code: {result.reason}")
    ops.console.say(f"{svc.name} task {result.task_id} exited with {result.code}")
    return result.code


@dataclass(frozen=True)
class OneOff:
    task_id: str
    code: int | None           # None: the container never ran to an exit (image pull, secrets, capacity)
    reason: str                # the task's stoppedReason (and the container's reason)
    events: list[dict[str, Any]]


def one_off(ops: Ops, service: str, command: list[str], task_definition: str, network: dict[str, Any],
            started_by: str) -> OneOff:
    """Start one task of the service's task definition with `command` as its container command, wait until it
    stops, and read its log stream. `make run` and the deploy's migration both start tasks through here."""
    ecs = ops.client("ecs")
    started = ecs.run_task(cluster=ops.cluster, taskDefinition=task_definition, count=1, startedBy=started_by,
                           networkConfiguration=network, propagateTags="TASK_DEFINITION",
                           overrides={"containerOverrides": [{"name": service, "command": command}]})
    if not started.get("tasks"):
        reasons = "; ".join(f"{f.get('arn', '')}: {f.get('reason', '')}" for f in started.get("failures", []))
        raise DeployError(f"ECS did not start the task: {reasons or 'no reason given'}")
    arn = started["tasks"][0]["taskArn"]
    task_id = arn.rsplit("/", 1)[-1]
    ops.console.say(f"Started {service} task {task_id} ({task_definition.rsplit('/', 1)[-1]}): {command}")
    try:
        task = wait_stopped(ops, arn)
    except KeyboardInterrupt:
        raise Interrupted(f"\nStopped waiting; task {task_id} keeps running (nothing was stopped).",
                          f"its logs: `{ops.make('logs', SERVICE=service, FOLLOW='1')}`",
                          f"stop it: aws ecs stop-task --cluster {ops.cluster} --task {task_id}") from None
    container = next((c for c in task.get("containers", []) if c.get("name") == service), {})
    reason = task.get("stoppedReason", "?") + (f" ({container['reason']})" if container.get("reason") else "")
    events = task_log(ops, service, f"{service}/{service}/{task_id}")
    code = container.get("exitCode")
    return OneOff(task_id, None if code is None else int(code), reason, events)


def wait_stopped(ops: Ops, arn: str, on_poll: Callable[[], None] | None = None) -> dict[str, Any]:
    """Poll until the task stops; a line when its status changes, a heartbeat otherwise; `on_poll` after each look
    (make db-load prints the new log lines there)."""
    ecs, console = ops.client("ecs"), ops.console
    last, since = None, console.monotonic()
    while True:
        task = ecs.describe_tasks(cluster=ops.cluster, tasks=[arn])["tasks"][0]
        status = task.get("lastStatus")
        if status != last:
            console.say(f"  {status}")
            last, since = status, console.monotonic()
        elif console.monotonic() - since >= ops.options.heartbeat:
            console.say(f"  still {status}")
            since = console.monotonic()
        if status == "STOPPED":
            return task
        if on_poll is not None:
            on_poll()
        console.sleep(ops.options.poll)


def task_log(ops: Ops, service: str, stream: str) -> list[dict[str, Any]]:
    logs = ops.client("logs")
    try:
        events, token = [], None
        while True:
            kwargs = {"logGroupName": ops.log_group(service), "logStreamName": stream, "startFromHead": True}
            if token:
                kwargs["nextToken"] = token
            page = logs.get_log_events(**kwargs)
            events.extend(page.get("events", []))
            if not page.get("events") or page.get("nextForwardToken") == token:
                return events
            token = page.get("nextForwardToken")
    except logs.exceptions.ResourceNotFoundException:
        return []
