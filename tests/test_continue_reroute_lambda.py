"""generator/lambdas/continue_reroute.py against exact CodeDeploy and CodePipeline API shapes (botocore Stubber).

moto cannot be used here: it does not implement continue_deployment, and its deployments never leave "Created".
The Stubber rejects any call that is not expected, so "no continue_deployment call" is asserted by not stubbing one.

What the function relies on (CodeDeploy API reference, ContinueDeployment): a blue/green deployment held after the
test traffic shift (`ActionOnTimeout: STOP_DEPLOYMENT`) is `Ready` until ContinueDeployment with
`deploymentWaitType=READY_WAIT` starts the production reroute; called on a deployment that is not Ready it fails with
DeploymentIsNotInReadyStateException (or DeploymentAlreadyCompletedException once it ended), and when the wait
(`WaitTimeInMinutes`) ends first the deployment is Stopped (AWS::CodeDeploy::DeploymentGroup DeploymentReadyOption).
So an approval can come early (not Ready yet: wait), on time (Ready: continue), late (Stopped: too late) or after the
release finished (nothing to do).
"""
from __future__ import annotations

import json
import logging

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from generator.lambdas import continue_reroute as lam

APP = "tunecast-prod"
GROUP = "tunecast-prod-api"
D1, D2 = "d-ABCDEF123", "d-ZYXWVU987"
TOKEN = "4c7a0b84-3c5f-4d1d-b8c1-approval-token"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in ("APPLICATION_NAME", "DEPLOYMENT_GROUP_NAMES", "DEPLOYMENT_GROUP_NAME", "DEPLOYMENT_TARGETS",
                 "PIPELINE_NAME", "APPROVAL_ACTION_NAME", "ASSUME_ROLE_ARN", "WAIT_SECONDS"):
        monkeypatch.delenv(name, raising=False)


class FakeTime:
    """The function's clock and sleep: sleeping advances the clock, nothing waits."""

    def __init__(self):
        self.now, self.slept = 1000.0, []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture(autouse=True)
def fake_time(monkeypatch):
    fake = FakeTime()
    monkeypatch.setattr(lam, "clock", fake.clock)
    monkeypatch.setattr(lam, "sleep", fake.sleep)
    return fake


@pytest.fixture
def codedeploy():
    client = boto3.client("codedeploy", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


def expect_ready(stub, ids, group=GROUP, token=None, next_token=None, app=APP, statuses=("Ready",)):
    params = {"applicationName": app, "deploymentGroupName": group, "includeOnlyStatuses": list(statuses)}
    if token:
        params["nextToken"] = token
    response = {"deployments": ids, **({"nextToken": next_token} if next_token else {})}
    stub.add_response("list_deployments", response, params)


def expect_none_ready(stub, group=GROUP, app=APP, before_ready=()):
    """No Ready deployment; then the check for one that has not reached the wait yet."""
    expect_ready(stub, [], group=group, app=app)
    expect_ready(stub, list(before_ready), group=group, app=app, statuses=("Created", "Queued", "InProgress"))


def expect_continue(stub, deployment_id):
    stub.add_response("continue_deployment", {}, {"deploymentId": deployment_id, "deploymentWaitType": "READY_WAIT"})


def expect_no_longer_waiting(stub, deployment_id, code, status):
    """ContinueDeployment refuses (the deployment left Ready); GetDeployment then says how it ended."""
    stub.add_client_error("continue_deployment", code, "not waiting", 400,
                          expected_params={"deploymentId": deployment_id, "deploymentWaitType": "READY_WAIT"})
    stub.add_response("get_deployment", {"deploymentInfo": {"deploymentId": deployment_id, "status": status}},
                      {"deploymentId": deployment_id})


def direct(**extra):
    return {"applicationName": APP, "deploymentGroupName": GROUP, **extra}


def approval_event(state="SUCCEEDED", category="Approval", action="ApproveRelease"):
    return {"version": "0", "id": "e1", "source": "aws.codepipeline", "account": "222222222222",
            "detail-type": "CodePipeline Action Execution State Change", "region": "eu-west-1",
            "detail": {"pipeline": "tunecast-pipeline", "execution-id": "x-1", "stage": "Prod", "action": action,
                       "state": state, "region": "eu-west-1",
                       "type": {"owner": "AWS", "provider": "Manual", "category": category, "version": "1"}}}


def sns(message):
    return {"Records": [{"EventSource": "aws:sns", "Sns": {"Message": json.dumps(message)}}]}


# ------------------------------------------------------------------------------------------------------ behaviour
def test_continues_the_one_ready_deployment(codedeploy):
    client, stub = codedeploy
    expect_ready(stub, [D1])
    expect_continue(stub, D1)
    result = lam.handler(direct(), None, codedeploy=client)
    assert result == {"ok": True, "action": "continue", "reason": "direct invocation",
                      "results": [{"applicationName": APP, "deploymentGroupName": GROUP, "deploymentIds": [D1],
                                   "status": "continued", "message": "traffic reroute continued"}]}
    json.dumps(result)  # a small JSON result


def test_no_ready_deployment_is_a_clear_no_op(codedeploy):
    client, stub = codedeploy
    expect_none_ready(stub)
    result = lam.handler(direct(), None, codedeploy=client)
    assert result["ok"] is True
    assert result["results"] == [{"applicationName": APP, "deploymentGroupName": GROUP, "deploymentIds": [],
                                  "status": "nothing-waiting", "message": lam.MESSAGES["nothing-waiting"]}]


# ------------------------------------------------------------------ early, on-time, late, already finished approvals
def test_an_early_approval_waits_until_the_release_is_ready_then_continues_it(codedeploy, fake_time):
    """Approved while the new tasks were still starting: the function polls until the deployment is Ready."""
    client, stub = codedeploy
    expect_none_ready(stub, before_ready=[D1])
    expect_none_ready(stub, before_ready=[D1])
    expect_ready(stub, [D1])
    expect_continue(stub, D1)
    result = lam.handler(direct(), None, codedeploy=client)
    assert result["ok"] is True and result["results"][0]["status"] == "continued"
    assert fake_time.slept == [lam.POLL_SECONDS, lam.POLL_SECONDS]


def test_an_early_approval_that_outlasts_the_wait_raises_for_the_retries_and_continues_nothing(codedeploy, fake_time,
                                                                                              monkeypatch):
    """Lambda retries a failed asynchronous invocation (twice), then the dead-letter queue keeps the event: the
    approval is never dropped silently. Nothing was continued, so a retry starts from the same state."""
    client, stub = codedeploy
    monkeypatch.setenv("WAIT_SECONDS", "30")
    for _ in range(3):  # at 0, 15 and 30 seconds
        expect_none_ready(stub, before_ready=[D1])
    with pytest.raises(lam.NotReadyYet) as exc:
        lam.handler(direct(), None, codedeploy=client)
    assert f"{APP}/{GROUP} ({D1})" in str(exc.value) and "nothing continued" in str(exc.value)
    assert fake_time.slept == [lam.POLL_SECONDS, lam.POLL_SECONDS]


def test_the_wait_ends_before_the_function_times_out(codedeploy, fake_time):
    """The bound is the smaller of WAIT_SECONDS and the invocation's remaining time minus a margin."""
    client, stub = codedeploy

    class Context:
        aws_request_id = "r-1"

        @staticmethod
        def get_remaining_time_in_millis():
            return (lam.MARGIN_SECONDS + 20) * 1000
    for _ in range(3):  # 20 seconds left for waiting: polls at 0, 15 and 30 (past the deadline)
        expect_none_ready(stub, before_ready=[D1])
    with pytest.raises(lam.NotReadyYet):
        lam.handler(direct(), Context(), codedeploy=client)
    assert fake_time.slept == [lam.POLL_SECONDS, lam.POLL_SECONDS]


def test_an_on_time_approval_continues_at_once(codedeploy, fake_time):
    client, stub = codedeploy
    expect_ready(stub, [D1])
    expect_continue(stub, D1)
    assert lam.handler(direct(), None, codedeploy=client)["results"][0]["status"] == "continued"
    assert fake_time.slept == []


@pytest.mark.parametrize("status", ["Stopped", "Failed"])
def test_a_late_approval_is_reported_too_late_not_retried(codedeploy, caplog, status):
    """Listed Ready, but the wait expired (or an alarm failed it) before ContinueDeployment: the release already
    rolled back. Retrying cannot help, so the function returns (ok false, logged as an error) instead of raising."""
    client, stub = codedeploy
    expect_ready(stub, [D1])
    expect_no_longer_waiting(stub, D1, "DeploymentIsNotInReadyStateException", status)
    with caplog.at_level(logging.INFO, logger="continue_reroute"):
        result = lam.handler(direct(), None, codedeploy=client)
    assert result["ok"] is False and result["results"][0]["status"] == "too-late"
    assert "came too late" in result["results"][0]["message"]
    assert any(r.levelno == logging.ERROR and "too-late" in r.getMessage() for r in caplog.records)


def test_a_late_approval_after_the_release_was_rolled_back_finds_nothing_waiting(codedeploy):
    client, stub = codedeploy
    expect_none_ready(stub)  # the stopped deployment is neither Ready nor under way
    result = lam.handler(direct(), None, codedeploy=client)
    assert result["results"][0]["status"] == "nothing-waiting"
    assert "stopped when its wait expired" in result["results"][0]["message"]


@pytest.mark.parametrize("code, status", [("DeploymentAlreadyCompletedException", "Succeeded"),
                                          ("DeploymentIsNotInReadyStateException", "InProgress")])
def test_an_approval_after_the_release_was_continued_or_finished_is_a_no_op(codedeploy, code, status):
    client, stub = codedeploy
    expect_ready(stub, [D1])
    expect_no_longer_waiting(stub, D1, code, status)
    result = lam.handler(direct(), None, codedeploy=client)
    assert result["ok"] is True and result["results"][0]["status"] == "already-continued"


def test_a_second_invocation_after_the_reroute_is_idempotent(codedeploy):
    client, stub = codedeploy
    expect_ready(stub, [D1])
    expect_continue(stub, D1)
    expect_none_ready(stub)  # the deployment left Ready
    assert lam.handler(direct(), None, codedeploy=client)["results"][0]["status"] == "continued"
    assert lam.handler(direct(), None, codedeploy=client)["results"][0]["status"] == "nothing-waiting"


def test_api_error_on_continue_is_raised(codedeploy):
    client, stub = codedeploy
    expect_ready(stub, [D1])
    stub.add_client_error("continue_deployment", "UnsupportedActionForDeploymentTypeException",
                          "not a blue/green deployment", 400)
    with pytest.raises(ClientError) as exc:
        lam.handler(direct(), None, codedeploy=client)
    assert exc.value.response["Error"]["Code"] == "UnsupportedActionForDeploymentTypeException"


def test_api_error_on_list_is_raised(codedeploy):
    client, stub = codedeploy
    stub.add_client_error("list_deployments", "DeploymentGroupDoesNotExistException", "no such group", 400)
    with pytest.raises(ClientError, match="DeploymentGroupDoesNotExistException"):
        lam.handler(direct(), None, codedeploy=client)


def test_several_ready_deployments_are_refused(codedeploy, caplog):
    client, stub = codedeploy
    expect_ready(stub, [D1, D2])  # no continue_deployment stubbed: calling it would fail the test
    with caplog.at_level(logging.INFO, logger="continue_reroute"):
        result = lam.handler(direct(), None, codedeploy=client)
    assert result["ok"] is False
    assert result["results"][0]["status"] == "refused" and result["results"][0]["deploymentIds"] == [D1, D2]
    assert "2 deployments are waiting; continue none" in result["results"][0]["message"]
    assert any(r.levelno == logging.ERROR and GROUP in r.getMessage() for r in caplog.records)


def test_a_named_deployment_is_continued_without_listing(codedeploy):
    client, stub = codedeploy
    expect_continue(stub, D2)
    result = lam.handler(direct(deploymentId=D2), None, codedeploy=client)
    assert result["results"][0]["status"] == "continued" and result["results"][0]["deploymentIds"] == [D2]


def test_list_pagination_is_followed(codedeploy):
    client, stub = codedeploy
    expect_ready(stub, [], next_token="page-2")
    expect_ready(stub, [D1], token="page-2")
    expect_continue(stub, D1)
    assert lam.handler(direct(), None, codedeploy=client)["results"][0]["status"] == "continued"


def test_every_web_service_of_the_environment_is_continued(codedeploy, monkeypatch):
    """One CodeDeploy application and deployment group per web service (generator/components/service/web.py)."""
    client, stub = codedeploy
    names = ["tunecast-prod-web", "tunecast-prod-api", "tunecast-prod-nest"]
    monkeypatch.setenv("DEPLOYMENT_TARGETS", "\n".join(f"{n}/{n}" for n in names))
    expect_ready(stub, [D1], app=names[0], group=names[0])
    expect_none_ready(stub, app=names[1], group=names[1])
    expect_ready(stub, [D2], app=names[2], group=names[2])
    expect_continue(stub, D1)  # only once every group was looked at
    expect_continue(stub, D2)
    result = lam.handler(approval_event(), None, codedeploy=client)
    assert result["ok"] and result["reason"] == "gate tunecast-pipeline/Prod/ApproveRelease succeeded"
    assert [(r["applicationName"], r["status"]) for r in result["results"]] == [
        (names[0], "continued"), (names[1], "nothing-waiting"), (names[2], "continued")]


def test_one_application_with_several_groups(codedeploy, monkeypatch):
    client, stub = codedeploy
    monkeypatch.setenv("APPLICATION_NAME", APP)
    monkeypatch.setenv("DEPLOYMENT_GROUP_NAMES", "tunecast-prod-api tunecast-prod-web")
    expect_none_ready(stub, group="tunecast-prod-api")
    expect_ready(stub, [D1], group="tunecast-prod-web")
    expect_continue(stub, D1)
    result = lam.handler(approval_event(), None, codedeploy=client)
    assert [r["status"] for r in result["results"]] == ["nothing-waiting", "continued"]


def test_targets_in_a_direct_event(codedeploy):
    client, stub = codedeploy
    expect_ready(stub, [D1], app="a1", group="g1")
    expect_continue(stub, D1)
    result = lam.handler({"targets": [{"applicationName": "a1", "deploymentGroupName": "g1"}]}, None,
                         codedeploy=client)
    assert result["results"][0]["status"] == "continued"


# ------------------------------------------------------------------------------------------------------ cross-account
DEPLOY_ROLE = "arn:aws:iam::222222222222:role/tunecast-pipeline-deploy"


@pytest.fixture
def sts():
    client = boto3.client("sts", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


def expect_assume(stub, role=DEPLOY_ROLE):
    stub.add_response("assume_role", {"Credentials": {
        "AccessKeyId": "ASIAEXAMPLEEXAMPLE00", "SecretAccessKey": "s" * 40, "SessionToken": "t" * 100,
        "Expiration": "2030-01-01T00:00:00Z"}}, {"RoleArn": role, "RoleSessionName": "continue-reroute"})


@pytest.mark.parametrize("how", ["event", "environment"])
def test_another_accounts_deployment_is_continued_through_its_deploy_role(codedeploy, sts, monkeypatch, caplog, how):
    """The pipeline (tools account) continues a release in the production account: the EventBridge rule's input names
    the environment's deploy role (generator/pipeline/approvals.py), or ASSUME_ROLE_ARN does."""
    client, stub = codedeploy
    sts_client, sts_stub = sts
    expect_assume(sts_stub)
    expect_ready(stub, [D1])
    expect_continue(stub, D1)
    made = []

    def fake_client(service, **kwargs):
        made.append((service, kwargs))
        return client
    monkeypatch.setattr(lam.boto3, "client", fake_client)
    event = {"targets": [{"applicationName": APP, "deploymentGroupName": GROUP}]}
    if how == "event":
        event["roleArn"] = DEPLOY_ROLE
    else:
        monkeypatch.setenv("ASSUME_ROLE_ARN", DEPLOY_ROLE)
    with caplog.at_level(logging.INFO, logger="continue_reroute"):
        result = lam.handler(event, None, sts=sts_client)
    assert result["ok"] and result["results"][0]["status"] == "continued"
    assert [(s, k["aws_access_key_id"], k["aws_session_token"]) for s, k in made] == [
        ("codedeploy", "ASIAEXAMPLEEXAMPLE00", "t" * 100)]
    assert "s" * 40 not in caplog.text and "t" * 100 not in caplog.text and DEPLOY_ROLE in caplog.text


@pytest.mark.parametrize("role", ["tunecast-pipeline-deploy", "arn:aws:iam::2222:role/x",
                                  "arn:aws:s3:::tunecast-bucket", "arn:aws:iam::222222222222:user/bob"])
def test_a_role_that_is_not_an_iam_role_arn_is_refused_before_any_call(sts, role):
    sts_client, _ = sts
    with pytest.raises(lam.ConfigurationError) as exc:
        lam.handler({"applicationName": APP, "deploymentGroupName": GROUP, "roleArn": role}, None, sts=sts_client)
    assert str(exc.value).startswith("roleArn must be an IAM role ARN")


# ------------------------------------------------------------------------------------------------------ triggers
@pytest.mark.parametrize("state", ["STARTED", "CANCELED", "ABANDONED"])
def test_a_gate_that_neither_succeeded_nor_failed_does_nothing(codedeploy, monkeypatch, state):
    client, _ = codedeploy
    monkeypatch.setenv("APPLICATION_NAME", APP)
    monkeypatch.setenv("DEPLOYMENT_GROUP_NAMES", GROUP)
    result = lam.handler(approval_event(state), None, codedeploy=client)
    assert result == {"ok": True, "action": "ignored", "results": [],
                      "reason": f"gate tunecast-pipeline/Prod/ApproveRelease is {state} (SUCCEEDED continues, "
                                "FAILED stops)"}


def test_a_rejected_approval_stops_the_held_release_now(codedeploy, monkeypatch):
    """Rejected: the release rolls back at once instead of waiting on the test listener until its wait expires."""
    client, stub = codedeploy
    monkeypatch.setenv("APPLICATION_NAME", APP)
    monkeypatch.setenv("DEPLOYMENT_GROUP_NAMES", GROUP)
    expect_ready(stub, [D1], statuses=lam.ACTIVE)
    stub.add_response("stop_deployment", {"status": "Pending", "statusMessage": "stopping"},
                      {"deploymentId": D1, "autoRollbackEnabled": True})
    result = lam.handler(approval_event("FAILED"), None, codedeploy=client)
    assert result["action"] == "stop" and result["results"][0]["status"] == "stopped"


def test_other_pipeline_actions_and_other_approvals_are_ignored(codedeploy, monkeypatch):
    client, _ = codedeploy
    monkeypatch.setenv("APPLICATION_NAME", APP)
    monkeypatch.setenv("DEPLOYMENT_GROUP_NAMES", GROUP)
    assert lam.handler(approval_event(category="Build"), None, codedeploy=client)["action"] == "ignored"
    monkeypatch.setenv("APPROVAL_ACTION_NAME", "ApproveProd")
    result = lam.handler(approval_event(action="ApproveStaging"), None, codedeploy=client)
    assert result["action"] == "ignored" and "not the configured action ApproveProd" in result["reason"]


def test_sns_wrapped_approval_event_continues(codedeploy, monkeypatch):
    client, stub = codedeploy
    monkeypatch.setenv("APPLICATION_NAME", APP)
    monkeypatch.setenv("DEPLOYMENT_GROUP_NAME", GROUP)
    expect_ready(stub, [D1])
    expect_continue(stub, D1)
    assert lam.handler(sns(approval_event()), None, codedeploy=client)["results"][0]["status"] == "continued"


def test_approval_request_notification_is_not_an_approval_and_its_token_is_not_logged(codedeploy, monkeypatch,
                                                                                       caplog):
    client, _ = codedeploy
    monkeypatch.setenv("APPLICATION_NAME", APP)
    monkeypatch.setenv("DEPLOYMENT_GROUP_NAMES", GROUP)
    request = {"region": "eu-west-1", "consoleLink": "https://console.aws.amazon.com/...",
               "approval": {"pipelineName": "tunecast-pipeline", "stageName": "Prod", "actionName": "ApproveRelease",
                            "token": TOKEN, "expires": "2025-01-08T10:00Z", "customData": "Promote?"}}
    with caplog.at_level(logging.DEBUG, logger="continue_reroute"):
        result = lam.handler(sns(request), None, codedeploy=client)
    assert result["action"] == "ignored" and result["reason"] == "a CodePipeline approval request (not an approval)"
    assert TOKEN not in caplog.text and TOKEN not in json.dumps(result)


def test_logs_are_json_lines_with_names_and_ids_only(codedeploy, caplog):
    client, stub = codedeploy
    expect_ready(stub, [D1])
    expect_continue(stub, D1)
    with caplog.at_level(logging.INFO, logger="continue_reroute"):
        lam.handler(direct(secretLooking="do-not-log-me"), None, codedeploy=client)
    lines = [json.loads(r.getMessage()) for r in caplog.records]
    assert [ln["message"] for ln in lines] == ["continue requested", "traffic reroute continued"]
    assert lines[1]["deploymentIds"] == [D1] and lines[1]["status"] == "continued"
    assert "do-not-log-me" not in caplog.text


def test_event_names_win_over_the_environment(codedeploy, monkeypatch):
    client, stub = codedeploy
    monkeypatch.setenv("APPLICATION_NAME", "other-app")
    monkeypatch.setenv("DEPLOYMENT_GROUP_NAMES", "other-group")
    monkeypatch.setenv("DEPLOYMENT_TARGETS", "other-app/other-group")
    expect_none_ready(stub)
    assert lam.handler(direct(), None, codedeploy=client)["results"][0]["applicationName"] == APP


@pytest.mark.parametrize("event, message", [
    ({}, "no deployment group: set DEPLOYMENT_TARGETS (application/group ...) or APPLICATION_NAME and "
         "DEPLOYMENT_GROUP_NAMES, or name them in the event"),
    ({"deploymentGroupName": GROUP}, "incomplete target ?/tunecast-prod-api: every deployment group needs its "
                                     "CodeDeploy application"),
    ({"applicationName": APP}, "no deployment group: set DEPLOYMENT_TARGETS (application/group ...) or "
                               "APPLICATION_NAME and DEPLOYMENT_GROUP_NAMES, or name them in the event"),
    ({"applicationName": APP, "deploymentGroupNames": ["a", "b"], "deploymentId": D1},
     "deploymentId names one deployment: pass exactly one deployment group with it"),
])
def test_missing_configuration_fails_loudly(codedeploy, event, message):
    client, _ = codedeploy
    with pytest.raises(lam.ConfigurationError) as exc:
        lam.handler(event, None, codedeploy=client)
    assert str(exc.value) == message


@pytest.mark.parametrize("event, reason", [
    ("continue", "the event is not a JSON object"),
    ({"Records": [{"Sns": {"Message": "please continue"}}]}, "the SNS message is not JSON"),
])
def test_unreadable_events_are_ignored(codedeploy, event, reason):
    client, _ = codedeploy
    assert lam.handler(event, None, codedeploy=client) == {"ok": True, "action": "ignored", "reason": reason,
                                                           "results": []}


def test_handler_module_needs_only_stdlib_and_boto3():
    import ast
    from pathlib import Path
    tree = ast.parse(Path(lam.__file__).read_text(encoding="utf-8"))
    imported = {(n.module or "").split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)} | \
               {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert imported <= {"__future__", "json", "logging", "os", "time", "typing", "boto3", "botocore"}
