"""Continue the production traffic reroute of a CodeDeploy ECS blue/green deployment once the lead approves.

The deployment group waits after the test traffic shift (`DeploymentReadyOption: ActionOnTimeout STOP_DEPLOYMENT`,
`WaitTimeInMinutes`): the deployment is `Ready` and nothing moves until someone calls ContinueDeployment. The
pipeline's manual approval runs beside the CodeDeployToECS action and is not connected to that wait, so this
function is the bridge: triggered when the approval succeeds, it finds the waiting deployment of each deployment group
and continues it (`deploymentWaitType=READY_WAIT`).

Triggers (all accepted by `handler`):
  * EventBridge "CodePipeline Action Execution State Change" for the approval action: state SUCCEEDED continues;
    FAILED (rejected), STARTED, CANCELED, ... are ignored.
  * SNS, whose message is either of the other two forms. A CodePipeline approval *request* notification (it carries
    an `approval` object with a token) is ignored: it asks for an approval, it is not one.
  * Direct invocation: {"targets": [{"applicationName", "deploymentGroupName"}, ...]} or {"applicationName": ...,
    "deploymentGroupName": ... | "deploymentGroupNames": [...]}, plus optionally "deploymentId" (one target only)
    to continue exactly that deployment.

Targets not in the event come from the environment: DEPLOYMENT_TARGETS, whitespace-separated `application/group`
pairs (one per web service of the environment; each has its own CodeDeploy application), or APPLICATION_NAME with
DEPLOYMENT_GROUP_NAMES (whitespace-separated) or DEPLOYMENT_GROUP_NAME. Optional filters for pipeline events:
PIPELINE_NAME, APPROVAL_ACTION_NAME.

Cross-account: when the event names a "roleArn" (or ASSUME_ROLE_ARN is set), the function first assumes that IAM role
(the environment's deploy role, in the account whose deployment groups it continues) and talks to CodeDeploy with
the temporary credentials; without one it uses its own role (same account).

Per deployment group: no Ready deployment -> nothing to do ("nothing-waiting"; or "not-yet-waiting" when a
deployment is still Created/Queued/InProgress, i.e. the approval came before the test traffic shift finished);
exactly one -> continue it; several -> refuse (CodeDeploy runs one deployment per group at a time, so several
waiting ones mean something is wrong; name one with `deploymentId` to continue it). Idempotent: a deployment that is no longer waiting (already continued, completed)
counts as done. Any other API error is raised, so the invocation fails and asynchronous retries (safe, see above)
or a dead-letter queue take over. Logs are JSON lines with names, ids and outcomes only; the event itself is never
logged (an approval notification carries a token).

Returns {"ok": bool, "action": "continue" | "ignored", "reason": str,
         "results": [{"applicationName", "deploymentGroupName", "deploymentIds": [...],
                      "status": continued | already-continued | nothing-waiting | not-yet-waiting | refused,
                      "message"}]}
"ok" is false when a group was refused or not yet waiting (the approval was not carried out there).
"""
from __future__ import annotations

import json
import logging
import os
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

LOG = logging.getLogger("continue_reroute")
LOG.setLevel(os.environ.get("LOG_LEVEL", "INFO"))

READY = "Ready"
BEFORE_READY = ["Created", "Queued", "InProgress"]  # a deployment that has not reached the reroute wait yet
WAIT_TYPE = "READY_WAIT"
# ContinueDeployment errors that mean "this deployment is not waiting any more": someone (or an earlier invocation)
# already continued it, or it finished/stopped. Repeating the request is then a no-op, not a failure.
NO_LONGER_WAITING = frozenset({"DeploymentIsNotInReadyStateException", "DeploymentAlreadyCompletedException"})
NOT_DONE = frozenset({"refused", "not-yet-waiting"})  # the approval's intent was not carried out: ok is false
APPROVAL_EVENT = "CodePipeline Action Execution State Change"
CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5})

_client = None


class ConfigurationError(ValueError):
    """The function does not know which application or deployment groups to act on."""


def _log(message: str, **fields: Any) -> None:
    LOG.info(json.dumps({"message": message, **fields}, sort_keys=True, default=str))


def _codedeploy():
    global _client
    if _client is None:
        _client = boto3.client("codedeploy", config=CLIENT_CONFIG)
    return _client


def is_role_arn(value: Any) -> bool:
    """arn:<partition>:iam::<12 digits>:role/<name>"""
    parts = value.split(":", 5) if isinstance(value, str) else []
    return (len(parts) == 6 and parts[0] == "arn" and parts[1].startswith("aws") and parts[2] == "iam"
            and parts[3] == "" and len(parts[4]) == 12 and parts[4].isdigit() and parts[5].startswith("role/")
            and len(parts[5]) > len("role/") and " " not in value)


def assumed_codedeploy(role_arn: str, sts=None):
    """A CodeDeploy client acting as `role_arn` (another account's deploy role). Credentials stay in memory."""
    if not is_role_arn(role_arn):
        raise ConfigurationError(f"roleArn must be an IAM role ARN (got {str(role_arn)[:80]!r})")
    sts = sts or boto3.client("sts", config=CLIENT_CONFIG)
    credentials = sts.assume_role(RoleArn=role_arn, RoleSessionName="continue-reroute")["Credentials"]
    return boto3.client("codedeploy", config=CLIENT_CONFIG, aws_access_key_id=credentials["AccessKeyId"],
                        aws_secret_access_key=credentials["SecretAccessKey"],
                        aws_session_token=credentials["SessionToken"])


# --- reading the event (pure) ------------------------------------------------------------------------------------
def classify_event(event: Any) -> tuple[str, str, dict[str, Any]]:
    """('continue' | 'ignored', reason, the fields the event names). Unwraps SNS; never returns the raw event."""
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
        return _classify_pipeline_event(event.get("detail") or {})
    fields = {k: event[k] for k in ("targets", "applicationName", "deploymentGroupName", "deploymentGroupNames",
                                    "deploymentId", "roleArn") if k in event}
    return "continue", "direct invocation", fields


def _classify_pipeline_event(detail: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    where = f"{detail.get('pipeline', '?')}/{detail.get('stage', '?')}/{detail.get('action', '?')}"
    category = (detail.get("type") or {}).get("category")
    if category and category != "Approval":
        return "ignored", f"{where} is a {category} action, not an approval", {}
    for env_name, key in (("PIPELINE_NAME", "pipeline"), ("APPROVAL_ACTION_NAME", "action")):
        wanted = os.environ.get(env_name)
        if wanted and detail.get(key) != wanted:
            return "ignored", f"{where} is not the configured {key} {wanted}", {}
    state = detail.get("state")
    if state != "SUCCEEDED":
        return "ignored", f"approval {where} is {state} (only SUCCEEDED continues the deployment)", {}
    return "continue", f"approval {where} succeeded", {}


def targets(fields: dict[str, Any]) -> tuple[list[tuple[str, str]], str | None]:
    """([(application, deployment group), ...], deployment id or None): the event's names, else the environment's.

    Lists in environment variables are separated by whitespace (',' is a legal character in CodeDeploy names)."""
    pairs: list[tuple[str, str]] = []
    if fields.get("targets"):
        pairs = [(str(t.get("applicationName", "")), str(t.get("deploymentGroupName", "")))
                 for t in fields["targets"] if isinstance(t, dict)]
    elif fields.get("applicationName") or fields.get("deploymentGroupName") or fields.get("deploymentGroupNames"):
        application = fields.get("applicationName") or os.environ.get("APPLICATION_NAME", "")
        groups = fields.get("deploymentGroupNames") or fields.get("deploymentGroupName") or _env_groups()
        pairs = [(application, g) for g in ([groups] if isinstance(groups, str) else groups)]
    elif os.environ.get("DEPLOYMENT_TARGETS"):
        for item in os.environ["DEPLOYMENT_TARGETS"].split():
            application, _, group = item.partition("/")
            pairs.append((application, group))
    else:
        pairs = [(os.environ.get("APPLICATION_NAME", ""), g) for g in _env_groups()]
    if not pairs:
        raise ConfigurationError("no deployment group: set DEPLOYMENT_TARGETS (application/group ...) or "
                                 "APPLICATION_NAME and DEPLOYMENT_GROUP_NAMES, or name them in the event")
    for application, group in pairs:
        if not application or not group or not isinstance(application, str) or not isinstance(group, str):
            raise ConfigurationError(f"incomplete target {application or '?'}/{group or '?'}: every deployment "
                                     "group needs its CodeDeploy application")
    deployment_id = fields.get("deploymentId") or None
    if deployment_id and len(pairs) != 1:
        raise ConfigurationError("deploymentId names one deployment: pass exactly one deployment group with it")
    return pairs, deployment_id


def _env_groups() -> list[str]:
    return (os.environ.get("DEPLOYMENT_GROUP_NAMES") or os.environ.get("DEPLOYMENT_GROUP_NAME") or "").split()


# --- talking to CodeDeploy --------------------------------------------------------------------------------------
def deployments(client, application: str, group: str, statuses: list[str]) -> list[str]:
    """Ids of the group's deployments in one of `statuses` (all pages)."""
    ids: list[str] = []
    for page in client.get_paginator("list_deployments").paginate(
            applicationName=application, deploymentGroupName=group, includeOnlyStatuses=statuses):
        ids += page.get("deployments", [])
    return ids


def continue_one(client, deployment_id: str) -> str:
    """'continued', or 'already-continued' when the deployment no longer waits; other errors are raised."""
    try:
        client.continue_deployment(deploymentId=deployment_id, deploymentWaitType=WAIT_TYPE)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in NO_LONGER_WAITING:
            return "already-continued"
        raise
    return "continued"


def continue_group(client, application: str, group: str, deployment_id: str | None = None) -> dict[str, Any]:
    ids = [deployment_id] if deployment_id else deployments(client, application, group, [READY])
    result: dict[str, Any] = {"applicationName": application, "deploymentGroupName": group, "deploymentIds": ids}
    if not ids:
        early = deployments(client, application, group, BEFORE_READY)
        if early:
            result.update(status="not-yet-waiting", deploymentIds=early, message=(
                "the approval came before the deployment reached the reroute wait; nothing continued (invoke "
                "again once it is Ready, or it stops when the wait times out)"))
        else:
            result.update(status="nothing-waiting", message="no deployment is waiting for the reroute; nothing to do")
    elif len(ids) > 1:
        result.update(status="refused", message=f"{len(ids)} deployments are waiting; continue none (pass "
                                                "deploymentId to choose one)")
    else:
        status = continue_one(client, ids[0])
        result.update(status=status, message="traffic reroute continued" if status == "continued" else
                      "the deployment no longer waits (already continued or finished); nothing to do")
    _log(result["message"], **{k: v for k, v in result.items() if k != "message"})
    return result


def handler(event: Any, context: Any = None, codedeploy=None, sts=None) -> dict[str, Any]:
    action, reason, fields = classify_event(event)
    request_id = getattr(context, "aws_request_id", None)
    if action == "ignored":
        _log("event ignored", reason=reason, request_id=request_id)
        return {"ok": True, "action": "ignored", "reason": reason, "results": []}
    pairs, deployment_id = targets(fields)
    role_arn = fields.get("roleArn") or os.environ.get("ASSUME_ROLE_ARN") or None
    _log("continuing the traffic reroute", reason=reason, targets=[f"{a}/{g}" for a, g in pairs],
         deploymentId=deployment_id, roleArn=role_arn, request_id=request_id)
    client = codedeploy or (assumed_codedeploy(role_arn, sts) if role_arn else _codedeploy())
    results = [continue_group(client, application, group, deployment_id) for application, group in pairs]
    not_done = [r for r in results if r["status"] in NOT_DONE]
    if not_done:
        LOG.error(json.dumps({"message": "some deployment groups were not continued", "groups": [
            f"{r['applicationName']}/{r['deploymentGroupName']}: {r['status']}" for r in not_done]}))
    ok = not not_done
    return {"ok": ok, "action": "continue", "reason": reason, "results": results}
