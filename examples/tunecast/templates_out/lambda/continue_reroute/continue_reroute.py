"""Continue, or stop, the held blue/green releases of one environment when the pipeline's gates decide.

A web service's deployment group holds each release after the test traffic shift (`DeploymentReadyOption:
ActionOnTimeout STOP_DEPLOYMENT`, `WaitTimeInMinutes`): the deployment is `Ready`, the test listener serves the new
task set and production the old one, until someone calls ContinueDeployment; when the wait ends, the deployment stops
and rolls back. The CodeDeployToECS action only finishes after traffic moved, so whatever decides runs beside it in
the same stage: the gates, i.e. the integration tests (`IntegrationTests`, in the test environment) and the lead's
approval (`ApproveReroute`, where `wait_for_approval_minutes` is set). An EventBridge rule sends every SUCCEEDED and
FAILED of a gate here, with the environment's targets and the gates each target waits for (`after`):

  * a gate SUCCEEDED: each target behind it whose other gates have succeeded in the same pipeline execution is
    continued (`deploymentWaitType=READY_WAIT`); a target with a gate still open is left to that gate's own event.
    The targets to continue must all be Ready first: an approval can come before the test traffic shift finished,
    so the function waits (bounded by WAIT_SECONDS and its own timeout) and continues none of them until all are
    Ready; if the time runs out it raises `NotReadyYet`, and the asynchronous retries (then the dead-letter queue)
    take over. Continuing nothing before all are Ready keeps a retry exact: a deployment already continued would
    look like one not yet Ready (CodeDeploy reports both as InProgress).
  * a gate FAILED (tests failed, approval rejected): every target behind it is stopped and rolled back now
    (`StopDeployment`, `autoRollbackEnabled`) instead of when its wait expires, and the stage's other open approvals
    are rejected, so the stage ends instead of waiting up to 7 days for a decision that no longer matters.

Event forms accepted by `handler`:
  * the rule's input: {"trigger": {"pipeline", "stage", "action", "state", "executionId"},
    "targets": [{"applicationName", "deploymentGroupName", "after": [gate action, ...]}], "roleArn"}
  * an EventBridge "CodePipeline Action Execution State Change" event as it is (targets from the environment,
    below): SUCCEEDED continues, FAILED stops, other states are ignored;
  * SNS, whose message is one of the forms above. A CodePipeline approval *request* notification (it carries an
    `approval` object with a token) is ignored: it asks for an approval, it is not one;
  * direct invocation (an operator): {"targets": [...]} or {"applicationName", "deploymentGroupName" |
    "deploymentGroupNames"}, optionally "deploymentId" (one target only). It continues without checking gates.

Targets not in the event come from the environment: DEPLOYMENT_TARGETS, whitespace-separated `application/group`
pairs, or APPLICATION_NAME with DEPLOYMENT_GROUP_NAMES (whitespace-separated) or DEPLOYMENT_GROUP_NAME. Optional
filters for raw pipeline events: PIPELINE_NAME, APPROVAL_ACTION_NAME. WAIT_SECONDS (default 600) bounds the wait for
Ready. When the event names a "roleArn" (or ASSUME_ROLE_ARN is set), CodeDeploy is called through that role (the
environment's deploy role, another account); CodePipeline always with the function's own role.

Returns {"ok": bool, "action": "continue" | "stop" | "ignored", "reason": str,
         "results": [{"applicationName", "deploymentGroupName", "deploymentIds", "status", "message"}]}
with status continued | already-continued | too-late | nothing-waiting | waiting-for-gate | gate-failed | refused
(continue), stopped | nothing-active (stop); "ok" is false when a target was refused or came too late (its wait
had expired: the release was already stopped). Logs are JSON lines with names, ids and outcomes; the event itself is
never logged (an approval notification carries a token).
"""
from __future__ import annotations

import json
import logging
import os
import time
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

LOG = logging.getLogger("continue_reroute")
LOG.setLevel(os.environ.get("LOG_LEVEL", "INFO"))

READY = "Ready"
BEFORE_READY = ["Created", "Queued", "InProgress"]  # not at the reroute wait yet (or already rerouting)
ACTIVE = [READY, *BEFORE_READY]
WAIT_TYPE = "READY_WAIT"
# ContinueDeployment errors that mean "this deployment is not waiting any more": continued by someone (or an
# earlier invocation), finished, or stopped. GetDeployment then tells which.
NO_LONGER_WAITING = frozenset({"DeploymentIsNotInReadyStateException", "DeploymentAlreadyCompletedException"})
ENDED_WITHOUT_TRAFFIC = frozenset({"Stopped", "Failed"})
NOT_DONE = frozenset({"refused", "too-late"})  # the approval's intent could not be carried out: ok is false
APPROVAL_EVENT = "CodePipeline Action Execution State Change"
CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5})
DEFAULT_WAIT_SECONDS = 600
POLL_SECONDS = 15
MARGIN_SECONDS = 60        # kept from the function's timeout to report and log
SUCCEEDED, FAILED = "SUCCEEDED", "FAILED"

_clients: dict[str, Any] = {}
sleep = time.sleep         # replaced in tests
clock = time.monotonic


class ConfigurationError(ValueError):
    """The function does not know which application or deployment groups to act on."""


class NotReadyYet(RuntimeError):
    """A deployment to continue has not reached the reroute wait in time: raised so that Lambda retries the event."""


def log(message: str, level: int = logging.INFO, **fields: Any) -> None:
    LOG.log(level, json.dumps({"message": message, **fields}, sort_keys=True, default=str))


def client(service: str):
    if service not in _clients:
        _clients[service] = boto3.client(service, config=CLIENT_CONFIG)
    return _clients[service]


def is_role_arn(value: Any) -> bool:
    """arn:<partition>:iam::<12 digits>:role/<name>"""
    parts = value.split(":", 5) if isinstance(value, str) else []
    return (len(parts) == 6 and parts[0] == "arn" and parts[1].startswith("aws") and parts[2] == "iam"
            and parts[3] == "" and len(parts[4]) == 12 and parts[4].isdigit() and parts[5].startswith("role/")
            and len(parts[5]) > len("role/") and " " not in value)


def assumed_codedeploy(role_arn: str, sts=None, session_name: str = "continue-reroute"):
    """A CodeDeploy client acting as `role_arn` (another account's deploy role). Credentials stay in memory."""
    if not is_role_arn(role_arn):
        raise ConfigurationError(f"roleArn must be an IAM role ARN (got {str(role_arn)[:80]!r})")
    sts = sts or boto3.client("sts", config=CLIENT_CONFIG)
    credentials = sts.assume_role(RoleArn=role_arn, RoleSessionName=session_name)["Credentials"]
    return boto3.client("codedeploy", config=CLIENT_CONFIG, aws_access_key_id=credentials["AccessKeyId"],
                        aws_secret_access_key=credentials["SecretAccessKey"],
                        aws_session_token=credentials["SessionToken"])


# --- reading the event (pure) ------------------------------------------------------------------------------------
def classify_event(event: Any) -> tuple[str, str, dict[str, Any]]:
    """('continue' | 'stop' | 'ignored', reason, the fields the event names). Unwraps SNS; never returns the raw
    event."""
    if not isinstance(event, dict):
        return "ignored", "the event is not a JSON object", {}
    records = event.get("Records")
    if isinstance(records, list) and records and isinstance(records[0], dict) and "Sns" in records[0]:
        if len(records) != 1:
            return "ignored", f"expected one SNS record, got {len(records)}", {}
        raw = (records[0].get("Sns") or {}).get("Message", "")
        try:
            inner = json.loads(raw)
        except (TypeError, ValueError):
            return "ignored", "the SNS message is not JSON", {}
        if isinstance(inner, dict) and "approval" in inner:
            return "ignored", "a CodePipeline approval request (not an approval)", {}
        return classify_event(inner)
    if event.get("detail-type") == APPROVAL_EVENT:
        detail = event.get("detail") or {}
        trigger = {"pipeline": detail.get("pipeline"), "stage": detail.get("stage"), "action": detail.get("action"),
                   "state": detail.get("state"), "executionId": detail.get("execution-id")}
        return _classify_trigger(trigger, (detail.get("type") or {}).get("category"), {})
    fields = {k: event[k] for k in ("targets", "applicationName", "deploymentGroupName", "deploymentGroupNames",
                                    "deploymentId", "roleArn") if k in event}
    if isinstance(event.get("trigger"), dict):
        return _classify_trigger(event["trigger"], None, {**fields, "trigger": event["trigger"]})
    return "continue", "direct invocation", fields


def _classify_trigger(trigger: dict[str, Any], category: str | None, fields: dict[str, Any]):
    where = f"{trigger.get('pipeline', '?')}/{trigger.get('stage', '?')}/{trigger.get('action', '?')}"
    if category and category not in ("Approval", "Invoke"):
        return "ignored", f"{where} is a {category} action, not a gate", {}
    for env_name, key in (("PIPELINE_NAME", "pipeline"), ("APPROVAL_ACTION_NAME", "action")):
        wanted = os.environ.get(env_name)
        if wanted and trigger.get(key) != wanted:
            return "ignored", f"{where} is not the configured {key} {wanted}", {}
    state = trigger.get("state")
    if state == SUCCEEDED:
        return "continue", f"gate {where} succeeded", {**fields, "trigger": trigger}
    if state == FAILED:
        return "stop", f"gate {where} failed", {**fields, "trigger": trigger}
    return "ignored", f"gate {where} is {state} (SUCCEEDED continues, FAILED stops)", {}


def targets(fields: dict[str, Any]) -> tuple[list[tuple[str, str, tuple[str, ...] | None]], str | None]:
    """([(application, deployment group, gates or None), ...], deployment id or None): the event's names, else the
    environment's. Gates are None where the event does not say (then none are checked).

    Lists in environment variables are separated by whitespace (',' is a legal character in CodeDeploy names)."""
    found: list[tuple[str, str, tuple[str, ...] | None]] = []
    if fields.get("targets"):
        for t in fields["targets"]:
            if isinstance(t, dict):
                after = t.get("after")
                found.append((str(t.get("applicationName", "")), str(t.get("deploymentGroupName", "")),
                              tuple(str(a) for a in after) if isinstance(after, list) else None))
    elif fields.get("applicationName") or fields.get("deploymentGroupName") or fields.get("deploymentGroupNames"):
        application = fields.get("applicationName") or os.environ.get("APPLICATION_NAME", "")
        groups = fields.get("deploymentGroupNames") or fields.get("deploymentGroupName") or _env_groups()
        found = [(application, g, None) for g in ([groups] if isinstance(groups, str) else groups)]
    elif os.environ.get("DEPLOYMENT_TARGETS"):
        for item in os.environ["DEPLOYMENT_TARGETS"].split():
            application, _, group = item.partition("/")
            found.append((application, group, None))
    else:
        found = [(os.environ.get("APPLICATION_NAME", ""), g, None) for g in _env_groups()]
    if not found:
        raise ConfigurationError("no deployment group: set DEPLOYMENT_TARGETS (application/group ...) or "
                                 "APPLICATION_NAME and DEPLOYMENT_GROUP_NAMES, or name them in the event")
    for application, group, _ in found:
        if not application or not group or not isinstance(application, str) or not isinstance(group, str):
            raise ConfigurationError(f"incomplete target {application or '?'}/{group or '?'}: every deployment "
                                     "group needs its CodeDeploy application")
    deployment_id = fields.get("deploymentId") or None
    if deployment_id and len(found) != 1:
        raise ConfigurationError("deploymentId names one deployment: pass exactly one deployment group with it")
    return found, deployment_id


def _env_groups() -> list[str]:
    return (os.environ.get("DEPLOYMENT_GROUP_NAMES") or os.environ.get("DEPLOYMENT_GROUP_NAME") or "").split()


def _result(application: str, group: str, ids: list[str], status: str, message: str) -> dict[str, Any]:
    return {"applicationName": application, "deploymentGroupName": group, "deploymentIds": ids, "status": status,
            "message": message}


# --- talking to CodeDeploy --------------------------------------------------------------------------------------
def deployments(codedeploy, application: str, group: str, statuses: list[str]) -> list[str]:
    """Ids of the group's deployments in one of `statuses` (all pages)."""
    ids: list[str] = []
    for page in codedeploy.get_paginator("list_deployments").paginate(
            applicationName=application, deploymentGroupName=group, includeOnlyStatuses=statuses):
        ids += page.get("deployments", [])
    return ids


def continue_one(codedeploy, deployment_id: str) -> str:
    """'continued'; 'already-continued' when the deployment no longer waits because it was continued or finished;
    'too-late' when it stopped or failed (its wait expired before the approval). Other errors are raised."""
    try:
        codedeploy.continue_deployment(deploymentId=deployment_id, deploymentWaitType=WAIT_TYPE)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code", "") not in NO_LONGER_WAITING:
            raise
        status = codedeploy.get_deployment(deploymentId=deployment_id)["deploymentInfo"].get("status")
        return "too-late" if status in ENDED_WITHOUT_TRAFFIC else "already-continued"
    return "continued"


MESSAGES = {
    "continued": "traffic reroute continued",
    "already-continued": "the deployment no longer waits (already continued, or finished); nothing to do",
    "too-late": "the deployment had already stopped (its wait expired, or it failed) and rolled back; the approval "
                "came too late: release again",
    "nothing-waiting": "no deployment is waiting for the reroute (continued already, finished, or stopped when its "
                       "wait expired); nothing to do",
    "stopped": "the held release was stopped and rolls back; production traffic never moved to it",
    "nothing-active": "no deployment of this group is running; nothing to stop",
}


def wait_until_ready(codedeploy, groups: list[tuple[str, str]], deadline: float) -> dict[tuple[str, str], list[str]]:
    """Each group's Ready deployments once every group that has a deployment under way has one Ready (or none is
    under way). Raises NotReadyYet when the deadline passes first."""
    while True:
        ready, early = {}, {}
        for application, group in groups:
            ready[(application, group)] = deployments(codedeploy, application, group, [READY])
            if not ready[(application, group)]:
                early[(application, group)] = deployments(codedeploy, application, group, BEFORE_READY)
        waiting = {k: v for k, v in early.items() if v}
        if not waiting:
            return ready
        if clock() >= deadline:
            names = ", ".join(f"{a}/{g} ({' '.join(ids)})" for (a, g), ids in waiting.items())
            raise NotReadyYet(f"not at the reroute wait in time, nothing continued: {names}; the invocation is "
                              "retried (then the dead-letter queue), the release stops if its wait expires")
        log("waiting for the test traffic shift", groups=[f"{a}/{g}" for a, g in waiting])
        sleep(POLL_SECONDS)


def continue_targets(codedeploy, pairs: list[tuple[str, str]], deployment_id: str | None,
                     deadline: float) -> list[dict[str, Any]]:
    if deployment_id:
        (application, group), = pairs
        status = continue_one(codedeploy, deployment_id)
        return [_result(application, group, [deployment_id], status, MESSAGES[status])]
    ready = wait_until_ready(codedeploy, pairs, deadline)
    results = []
    for (application, group), ids in ready.items():
        if len(ids) > 1:  # CodeDeploy runs one deployment per group at a time: something is wrong
            results.append(_result(application, group, ids, "refused", (
                f"{len(ids)} deployments are waiting; continue none (pass deploymentId to choose one)")))
        elif not ids:
            results.append(_result(application, group, [], "nothing-waiting", MESSAGES["nothing-waiting"]))
        else:
            status = continue_one(codedeploy, ids[0])
            results.append(_result(application, group, ids, status, MESSAGES[status]))
    return results


def stop_targets(codedeploy, pairs: list[tuple[str, str]]) -> list[dict[str, Any]]:
    results = []
    for application, group in pairs:
        ids = deployments(codedeploy, application, group, ACTIVE)
        for deployment_id in ids:
            try:
                codedeploy.stop_deployment(deploymentId=deployment_id, autoRollbackEnabled=True)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code", "") != "DeploymentAlreadyCompletedException":
                    raise
        status = "stopped" if ids else "nothing-active"
        results.append(_result(application, group, ids, status, MESSAGES[status]))
    return results


# --- talking to CodePipeline (the function's own account) ----------------------------------------------------------
def gate_states(codepipeline, trigger: dict[str, Any], gates: set[str]) -> dict[str, str]:
    """The latest status (InProgress | Succeeded | Failed | Abandoned) of each gate action in the trigger's stage and
    pipeline execution; a gate that has not started is missing."""
    found: dict[str, tuple[Any, str]] = {}
    for page in codepipeline.get_paginator("list_action_executions").paginate(
            pipelineName=trigger["pipeline"], filter={"pipelineExecutionId": trigger["executionId"]}):
        for detail in page.get("actionExecutionDetails", []):
            name = detail.get("actionName")
            if detail.get("stageName") != trigger["stage"] or name not in gates:
                continue
            started = detail.get("startTime")
            if name not in found or (started is not None and (found[name][0] is None or started >= found[name][0])):
                found[name] = (started, detail.get("status", ""))  # a retried stage runs a gate again: the latest
    return {name: status for name, (_, status) in found.items()}


def reject_open_approvals(codepipeline, trigger: dict[str, Any], gates: set[str]) -> list[str]:
    """Reject the stage's approvals among `gates` that are still waiting in the trigger's execution."""
    state = codepipeline.get_pipeline_state(name=trigger["pipeline"])
    rejected = []
    for stage in state.get("stageStates", []):
        if stage.get("stageName") != trigger["stage"]:
            continue
        if (stage.get("latestExecution") or {}).get("pipelineExecutionId") != trigger["executionId"]:
            continue  # a newer run entered the stage: its approvals are not ours to reject
        for action in stage.get("actionStates", []):
            latest = action.get("latestExecution") or {}
            name = action.get("actionName")
            if name not in gates or latest.get("status") != "InProgress" or not latest.get("token"):
                continue
            try:
                codepipeline.put_approval_result(
                    pipelineName=trigger["pipeline"], stageName=trigger["stage"], actionName=name,
                    token=latest["token"], result={"status": "Rejected", "summary": (
                        f"Rejected automatically: {trigger['action']} failed, so the release it gates was stopped "
                        "and rolled back.")})
                rejected.append(name)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code", "") not in (
                        "ApprovalAlreadyCompletedException", "InvalidApprovalTokenException"):
                    raise
    return rejected


# --- the handler --------------------------------------------------------------------------------------------------
def handler(event: Any, context: Any = None, codedeploy=None, sts=None, codepipeline=None) -> dict[str, Any]:
    action, reason, fields = classify_event(event)
    request_id = getattr(context, "aws_request_id", None)
    if action == "ignored":
        log("event ignored", reason=reason, request_id=request_id)
        return {"ok": True, "action": "ignored", "reason": reason, "results": []}
    found, deployment_id = targets(fields)
    trigger = fields.get("trigger")
    role_arn = fields.get("roleArn") or os.environ.get("ASSUME_ROLE_ARN") or None
    log(f"{action} requested", reason=reason, targets=[f"{a}/{g}" for a, g, _ in found], deploymentId=deployment_id,
        roleArn=role_arn, request_id=request_id)
    gated = trigger is not None and any(after is not None for _, _, after in found)
    if gated:  # only the targets behind the gate that changed state
        found = [t for t in found if t[2] is None or trigger["action"] in t[2]]
    codedeploy = codedeploy or (assumed_codedeploy(role_arn, sts) if role_arn else client("codedeploy"))
    if action == "stop":
        results = stop_targets(codedeploy, [(a, g) for a, g, _ in found])
        if gated:
            others = {gate for _, _, after in found for gate in (after or ())} - {trigger["action"]}
            pipeline = codepipeline or client("codepipeline")
            for name in reject_open_approvals(pipeline, trigger, others) if others else []:
                log("approval rejected", action=name, because=trigger["action"])
    else:
        results, ready = [], []
        others = {gate for _, _, after in found for gate in (after or ())} - {trigger["action"]} if gated else set()
        states = gate_states(codepipeline or client("codepipeline"), trigger, others) if others else {}
        for application, group, after in found:
            open_gates = [g for g in (after or ()) if g != (trigger or {}).get("action")
                          and states.get(g) != "Succeeded"]
            failed = [g for g in open_gates if states.get(g) in ("Failed", "Abandoned")]
            if failed:
                results.append(_result(application, group, [], "gate-failed", (
                    f"{', '.join(failed)} did not succeed in this run; the release is not continued (a failed "
                    "gate stops it, otherwise it stops when its hold ends)")))
            elif open_gates:
                results.append(_result(application, group, [], "waiting-for-gate", (
                    f"{', '.join(open_gates)} is still open; its own event continues this release")))
            else:
                ready.append((application, group))
        if ready:
            remaining = getattr(context, "get_remaining_time_in_millis", None)
            budget = float(os.environ.get("WAIT_SECONDS", DEFAULT_WAIT_SECONDS))
            if remaining is not None:
                budget = min(budget, remaining() / 1000 - MARGIN_SECONDS)
            results += continue_targets(codedeploy, ready, deployment_id, clock() + budget)
    for r in results:
        level = logging.ERROR if r["status"] in NOT_DONE else logging.INFO
        log(r["message"], level, **{k: v for k, v in r.items() if k != "message"})
    return {"ok": not any(r["status"] in NOT_DONE for r in results), "action": action, "reason": reason,
            "results": results}
