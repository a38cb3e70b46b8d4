"""The gates of held releases (item 3 of issue 8), end to end offline: what the generator writes into pipeline.yaml
and pipeline-gates.yaml, fed to the two functions as CodePipeline and EventBridge would, against exact API shapes
(botocore Stubber: every call checked against the service model, any unexpected call fails the test).

The AWS facts behind the design:
  * a CodeDeployToECS action finishes only after the deployment finished, i.e. after production traffic moved (and
    the old task set's termination wait): CodePipeline user guide, "Amazon Elastic Container Service and CodeDeploy
    blue-green deploy action reference" (the action runs the whole CodeDeploy deployment) and aws-reference §8. So
    the tests run at the same RunOrder, while the deployment group holds the release (READY_WAIT);
  * a Lambda invoke action answers with PutJobSuccessResult/PutJobFailureResult; a continuationToken keeps it running
    and CodePipeline invokes the function again (CodePipeline user guide, "AWS Lambda invoke action reference" and
    quotas: each answer within 20 minutes, at most 24 hours); its event carries artifact credentials (never log it);
  * EventBridge's InputTransformer fills an unquoted `<variable>` in a JSON InputTemplate with the value as JSON
    (EventBridge API reference, InputTransformer);
  * ContinueDeployment continues a Ready deployment; StopDeployment with autoRollbackEnabled rolls it back
    (CodeDeploy API reference); PutApprovalResult needs the open approval's token from GetPipelineState (CodePipeline
    API reference).

Not shown offline: CodePipeline's real re-invocation timing, EventBridge delivering the events, CodeDeploy's traffic
shifting, and whether ListActionExecutions already shows a gate's new state when its event arrives (the function
treats the triggering gate as done and reads only the others).
"""
from __future__ import annotations

import datetime
import json
import logging

import boto3
import pytest
from botocore.stub import ANY, Stubber

from generator import holds
from generator.build import render_app
from generator.config import AppSpec, load_app, parse_app
from generator.lambdas import continue_reroute as reroute
from generator.lambdas import release_gate as gate
from generator.errors import ConfigError
from generator.pipeline import approvals
from tests.support import DEFAULT_APP
from tests.templates import load

APP = load_app(DEFAULT_APP)
RENDERED = render_app(APP)
PIPELINE = load(RENDERED.templates["pipeline.yaml"])
GATES = load(RENDERED.templates["pipeline-gates.yaml"])
STAGES = {s["Name"]: {a["Name"]: a for a in s["Actions"]} for s in PIPELINE["Resources"]["Pipeline"]["Properties"]["Stages"]}
SUBS = {"${Application}": "tunecast", "${AWS::Partition}": "aws", "${Account}": "111111111111"}
EXECUTION = "3137f7cb-7cf7-4f2f-a9f6-0123456789ab"
STAGING = ["tunecast-staging-web", "tunecast-staging-api", "tunecast-staging-nest"]
D = {name: f"d-{i}AAAAAAAA" for i, name in enumerate(STAGING)}
BUILD = "tunecast-pipeline-tests:4f1c8e8a-1b2c-4d5e-8f90-123456789abc"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def substitute(text: str) -> str:
    for name, value in SUBS.items():
        text = text.replace(name, value)
    return text


def client(service: str):
    return boto3.client(service, region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")


@pytest.fixture
def stubs():
    made = {name: client(name) for name in ("codedeploy", "codepipeline", "codebuild")}
    stubbers = {name: Stubber(c) for name, c in made.items()}
    for s in stubbers.values():
        s.activate()
    yield made, stubbers
    for s in stubbers.values():
        s.assert_no_pending_responses()
        s.deactivate()


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch):
    for module in (reroute, gate):
        monkeypatch.setattr(module, "sleep", lambda seconds: None)
    monkeypatch.setattr(gate, "BUDGET_SECONDS", 0)   # one step per invocation unless a test says otherwise
    monkeypatch.delenv("WAIT_SECONDS", raising=False)


def expect_list(stub, name, ids, statuses):
    stub.add_response("list_deployments", {"deployments": ids}, {
        "applicationName": name, "deploymentGroupName": name, "includeOnlyStatuses": list(statuses)})


# ----------------------------------------------------------------------------------------------- the pipeline side
def test_integration_tests_run_beside_the_releases_of_the_test_environment_before_traffic_moves():
    stage = STAGES["DeployStaging"]
    order = {name: a["RunOrder"] for name, a in stage.items()}
    # the migration (app.yaml's migrate:) runs after the stack update and before any release moves traffic
    assert order == {"Promote": 1, "Deploy": 2, "PrepareRelease": 3, "PublishFrontend": 3, "Migrate": 3,
                     "ReleaseWeb": 4, "ReleaseApi": 4, "ReleaseNest": 4, "IntegrationTests": 4, "ApproveReroute": 4}
    tests = stage["IntegrationTests"]
    assert tests["ActionTypeId"] == {"Category": "Invoke", "Owner": "AWS", "Provider": "Lambda", "Version": "1"}
    assert tests["Configuration"]["FunctionName"] == {"Fn::GetAtt": ["Gates", "Outputs.ReleaseGateFunction"]}
    assert tests["InputArtifacts"] == [{"Name": "Source"}]
    assert not [a for name, s in STAGES.items() if name != "DeployStaging" for a in s if a == "IntegrationTests"]
    # no action of any stage runs after the releases (nothing can: they finish only after traffic moved)
    for stage in STAGES.values():
        releases = [a["RunOrder"] for n, a in stage.items() if n.startswith("Release")]
        assert all(a["RunOrder"] <= max(releases, default=99) for a in stage.values())


def test_every_web_release_of_the_test_environment_is_held_long_enough_for_the_tests():
    """generator/holds.py: a release held for the tests waits at least as long as the tests project may queue and
    run; where an approval is asked for too, the longer of the two."""
    staging = json.loads(RENDERED.params["staging.config.json"])["Parameters"]
    dev = json.loads(RENDERED.params["dev.config.json"])["Parameters"]
    prod = json.loads(RENDERED.params["prod.config.json"])["Parameters"]
    hold = holds.TESTS_HOLD_MINUTES
    assert {k: staging[k] for k in ("WebApprovalWaitMinutes", "ApiApprovalWaitMinutes", "NestApprovalWaitMinutes")} == {
        "WebApprovalWaitMinutes": str(hold), "NestApprovalWaitMinutes": str(hold),
        "ApiApprovalWaitMinutes": str(max(hold, APP.environments["staging"].services["api"].wait_for_approval_minutes))}
    assert {k: v for k, v in dev.items() if k.endswith("ApprovalWaitMinutes")} == {
        "WebApprovalWaitMinutes": "0", "ApiApprovalWaitMinutes": "0", "NestApprovalWaitMinutes": "0"}
    assert prod["WebApprovalWaitMinutes"] == "0" and prod["ApiApprovalWaitMinutes"] != "0"
    builds = load(RENDERED.templates["pipeline-builds.yaml"])["Resources"]["TestsProject"]["Properties"]
    assert hold > builds["QueuedTimeoutInMinutes"] + builds["TimeoutInMinutes"]
    assert builds["Source"]["Type"] == "NO_SOURCE" and builds["Artifacts"] == {"Type": "NO_ARTIFACTS"}


def test_the_gate_reads_the_user_parameters_the_pipeline_writes():
    text, subs = STAGES["DeployStaging"]["IntegrationTests"]["Configuration"]["UserParameters"]["Fn::Sub"]
    assert subs == {"Account": {"Ref": "StagingAccountId"}}
    assert len(text) <= 1000   # every action configuration value (E9010)
    assert json.loads(text)["services"] == ["web", "api", "nest"]   # each web service named once
    params = gate.parameters({"data": {"actionConfiguration": {"configuration": {
        "UserParameters": substitute(text)}}}})
    assert params["deployments"] == STAGING
    assert {k: v for k, v in params.items() if k not in ("deployments", "prefix", "services")} == {
        "roleArn": "arn:aws:iam::111111111111:role/tunecast-pipeline-deploy", "project": "tunecast-pipeline-tests",
        "testUrl": "http://#{DeployStagingVariables.ClusterLoadBalancerDns}:8080",
        "readyMinutes": holds.TESTS_READY_MINUTES}


def test_the_gate_still_reads_the_earlier_list_of_deployments():
    """A run started before the self-update brought the compact form invokes the updated function with the list."""
    params = gate.parameters({"data": {"actionConfiguration": {"configuration": {"UserParameters": json.dumps({
        "deployments": STAGING, "roleArn": "r", "project": "p", "testUrl": "http://x"})}}}})
    assert params["deployments"] == STAGING


def longest_names_app(web: int) -> dict:
    """`web` web services with 20-character names, the longest app and environment names, the GovCloud partition."""
    longest = "a" * 20
    return {
        "app": longest, "owner": "o", "region": "us-gov-west-1",
        "services": [{"name": f"{'s' * 18}{i:02d}", "kind": "web", "port": 80,
                      **({"routing": {"path_patterns": [f"/{i}/*"], "priority": 10 + i}} if i else {})}
                     for i in range(web)],
        "environments": {longest: {"cidr": "10.0.0.0/16", "account_id": "111111111111"}},
        "pipeline": {"account_id": "111111111111", "repository": "acme/app", "notification_email": "ops@example.com",
                     "connection_arn": "arn:aws-us-gov:codeconnections:us-gov-west-1:111111111111:connection/"
                                       "7d3f5c1a-2b4e-4f6a-9c8d-1e2f3a4b5c6d",
                     "test_environment": longest, "test_command": "make e2e"}}


@pytest.mark.parametrize("web", [5, 30, 40])
def test_user_parameters_that_would_not_fit_1000_characters_are_refused_when_the_spec_loads(web):
    """UserParameters, like every action configuration value, is at most 1000 characters as deployed (CodePipeline
    user guide, quotas). The rule measures the text the pipeline writes with the app's names, the account and the
    partition substituted: 30 web services with 20-character names fit, 40 do not."""
    raw = longest_names_app(web)
    longest = raw["app"]
    text = approvals.gate_parameters(AppSpec.model_validate(raw), longest, "http://#{Deploy" + "A" * 20 + "Variables.ClusterLoadBalancerDns}:8080")
    resolved = text.replace("${Application}", longest).replace("${AWS::Partition}", "aws-us-gov").replace(
        "${Account}", "1" * 12)
    if len(resolved) <= 1000:
        assert web <= 30
        parse_app(raw)
        return
    assert web == 40
    with pytest.raises(ConfigError) as exc:
        parse_app(raw)
    assert [f"{p.loc}: {p.msg}" for p in exc.value.problems if p.loc == "pipeline.test_environment"] == [
        f"pipeline.test_environment: the IntegrationTests action's UserParameters (the {longest} web services to test, "
        f"its deploy role and test URL) would be {len(resolved)} characters; CodePipeline allows 1000 per action "
        "configuration value: use shorter service names (or a shorter domain_name)"]


def test_the_rules_send_each_gate_decision_of_their_stage_to_the_reroute_function():
    for env, gates in (("staging", ["ApproveReroute", "IntegrationTests"]), ("prod", ["ApproveReroute"])):
        rule = GATES["Resources"][f"Reroute{env.capitalize()}Rule"]["Properties"]
        assert rule["EventPattern"]["detail"] == {
            "pipeline": [{"Fn::Sub": "${Application}-pipeline"}], "stage": [f"Deploy{env.capitalize()}"],
            "action": gates, "state": ["SUCCEEDED", "FAILED"]}
        target, = rule["Targets"]
        assert target["Arn"] == {"Fn::GetAtt": ["RerouteFunction", "Arn"]}
        assert target["InputTransformer"]["InputPathsMap"]["execution"] == "$.detail.execution-id"
    assert "RerouteDevRule" not in GATES["Resources"]


def rule_input(env: str, action: str, state: str) -> dict:
    """What EventBridge hands the function for a gate's state change: the rule's InputTemplate with each
    <variable> replaced by the event's value as JSON."""
    transformer = GATES["Resources"][f"Reroute{env.capitalize()}Rule"]["Properties"]["Targets"][0]["InputTransformer"]
    text, _ = transformer["InputTemplate"]["Fn::Sub"]
    event = {"detail": {"pipeline": "tunecast-pipeline", "stage": f"Deploy{env.capitalize()}", "action": action,
                        "state": state, "execution-id": EXECUTION}}
    for variable, path in transformer["InputPathsMap"].items():
        value = event
        for part in path.removeprefix("$.").split("."):
            value = value[part]
        text = text.replace(f"<{variable}>", json.dumps(value))
    return json.loads(substitute(text))


def test_the_rule_input_names_each_release_and_its_gates():
    staging = rule_input("staging", "IntegrationTests", "SUCCEEDED")
    assert staging["trigger"] == {"pipeline": "tunecast-pipeline", "stage": "DeployStaging",
                                  "action": "IntegrationTests", "state": "SUCCEEDED", "executionId": EXECUTION}
    assert [(t["deploymentGroupName"], t["after"]) for t in staging["targets"]] == [
        ("tunecast-staging-web", ["IntegrationTests"]), ("tunecast-staging-api", ["IntegrationTests", "ApproveReroute"]),
        ("tunecast-staging-nest", ["IntegrationTests"])]
    assert staging["roleArn"] == "arn:aws:iam::111111111111:role/tunecast-pipeline-deploy"
    assert [t["after"] for t in rule_input("prod", "ApproveReroute", "FAILED")["targets"]] == [["ApproveReroute"]]


# ----------------------------------------------------------------------------------------- the reroute function
def expect_gates(stub, states: dict[str, str]):
    details = [{"pipelineExecutionId": EXECUTION, "stageName": "DeployStaging", "actionName": name, "status": status,
                "startTime": datetime.datetime(2025, 1, 1, 10, i)} for i, (name, status) in enumerate(states.items())]
    details.append({"pipelineExecutionId": EXECUTION, "stageName": "DeployDev", "actionName": "IntegrationTests",
                    "status": "Failed"})  # another stage's action of the same name is not this gate
    stub.add_response("list_action_executions", {"actionExecutionDetails": details}, {
        "pipelineName": "tunecast-pipeline", "filter": {"pipelineExecutionId": EXECUTION}})


def run_reroute(made, event):
    return reroute.handler(event, None, codedeploy=made["codedeploy"], codepipeline=made["codepipeline"])


def test_tests_passed_continue_the_releases_they_hold_and_leave_the_approved_one_to_its_approval(stubs):
    made, stub = stubs
    expect_gates(stub["codepipeline"], {"ApproveReroute": "InProgress"})
    for name in ("tunecast-staging-web", "tunecast-staging-nest"):
        expect_list(stub["codedeploy"], name, [D[name]], ["Ready"])
    for name in ("tunecast-staging-web", "tunecast-staging-nest"):
        stub["codedeploy"].add_response("continue_deployment", {}, {"deploymentId": D[name],
                                                                    "deploymentWaitType": "READY_WAIT"})
    result = run_reroute(made, rule_input("staging", "IntegrationTests", "SUCCEEDED"))
    assert result["ok"] and result["action"] == "continue"
    assert [(r["deploymentGroupName"], r["status"]) for r in result["results"]] == [
        ("tunecast-staging-api", "waiting-for-gate"), ("tunecast-staging-web", "continued"),
        ("tunecast-staging-nest", "continued")]
    assert "ApproveReroute is still open" in result["results"][0]["message"]


@pytest.mark.parametrize("tests_state, status", [("Succeeded", "continued"), ("InProgress", "waiting-for-gate"),
                                                 ("Failed", "gate-failed")])
def test_an_approval_continues_its_release_only_once_the_tests_passed(stubs, tests_state, status):
    """Approving before the tests finished is safe: the tests' own event continues the release when they pass."""
    made, stub = stubs
    expect_gates(stub["codepipeline"], {"IntegrationTests": tests_state})
    if status == "continued":
        expect_list(stub["codedeploy"], "tunecast-staging-api", [D["tunecast-staging-api"]], ["Ready"])
        stub["codedeploy"].add_response("continue_deployment", {}, {"deploymentId": D["tunecast-staging-api"],
                                                                    "deploymentWaitType": "READY_WAIT"})
    result = run_reroute(made, rule_input("staging", "ApproveReroute", "SUCCEEDED"))
    assert [(r["deploymentGroupName"], r["status"]) for r in result["results"]] == [("tunecast-staging-api", status)]


def test_failed_tests_stop_every_release_they_hold_and_reject_the_open_approval(stubs, caplog):
    made, stub = stubs
    for name in STAGING:
        expect_list(stub["codedeploy"], name, [D[name]], reroute.ACTIVE)
        stub["codedeploy"].add_response("stop_deployment", {"status": "Pending"},
                                        {"deploymentId": D[name], "autoRollbackEnabled": True})
    stub["codepipeline"].add_response("get_pipeline_state", {"pipelineName": "tunecast-pipeline", "stageStates": [
        {"stageName": "DeployStaging", "latestExecution": {"pipelineExecutionId": EXECUTION, "status": "InProgress"},
         "actionStates": [
             {"actionName": "ReleaseApi", "latestExecution": {"status": "InProgress"}},
             {"actionName": "ApproveReroute", "latestExecution": {"status": "InProgress", "token": "t-approval"}}]}]},
        {"name": "tunecast-pipeline"})
    stub["codepipeline"].add_response("put_approval_result", {}, {
        "pipelineName": "tunecast-pipeline", "stageName": "DeployStaging", "actionName": "ApproveReroute",
        "token": "t-approval", "result": {"status": "Rejected", "summary": ANY}})
    with caplog.at_level(logging.INFO, logger="continue_reroute"):
        result = run_reroute(made, rule_input("staging", "IntegrationTests", "FAILED"))
    assert result["action"] == "stop"
    assert [r["status"] for r in result["results"]] == ["stopped"] * 3
    assert "t-approval" not in caplog.text and '"approval rejected"' in caplog.text


def test_an_approval_of_a_newer_run_is_not_rejected(stubs):
    made, stub = stubs
    for name in STAGING:
        expect_list(stub["codedeploy"], name, [], reroute.ACTIVE)
    stub["codepipeline"].add_response("get_pipeline_state", {"stageStates": [
        {"stageName": "DeployStaging", "latestExecution": {"pipelineExecutionId": "0" * 8 + EXECUTION[8:],
                                                           "status": "InProgress"},
         "actionStates": [{"actionName": "ApproveReroute",
                           "latestExecution": {"status": "InProgress", "token": "t-newer"}}]}]},
        {"name": "tunecast-pipeline"})
    result = run_reroute(made, rule_input("staging", "IntegrationTests", "FAILED"))
    assert [r["status"] for r in result["results"]] == ["nothing-active"] * 3


def test_a_rejected_approval_stops_only_the_release_it_holds(stubs):
    """The tests have no token (not an approval): nothing else is rejected; web and nest wait for their tests."""
    made, stub = stubs
    expect_list(stub["codedeploy"], "tunecast-staging-api", [D["tunecast-staging-api"]], reroute.ACTIVE)
    stub["codedeploy"].add_response("stop_deployment", {"status": "Pending"},
                                    {"deploymentId": D["tunecast-staging-api"], "autoRollbackEnabled": True})
    stub["codepipeline"].add_response("get_pipeline_state", {"stageStates": [
        {"stageName": "DeployStaging", "latestExecution": {"pipelineExecutionId": EXECUTION, "status": "InProgress"},
         "actionStates": [{"actionName": "IntegrationTests", "latestExecution": {"status": "InProgress"}}]}]},
        {"name": "tunecast-pipeline"})
    result = run_reroute(made, rule_input("staging", "ApproveReroute", "FAILED"))
    assert [(r["deploymentGroupName"], r["status"]) for r in result["results"]] == [("tunecast-staging-api", "stopped")]


def test_production_approval_needs_no_other_gate(stubs):
    made, stub = stubs
    expect_list(stub["codedeploy"], "tunecast-prod-api", ["d-PROD"], ["Ready"])
    stub["codedeploy"].add_response("continue_deployment", {}, {"deploymentId": "d-PROD",
                                                                "deploymentWaitType": "READY_WAIT"})
    result = run_reroute(made, rule_input("prod", "ApproveReroute", "SUCCEEDED"))
    assert result["results"][0]["status"] == "continued"


# -------------------------------------------------------------------------------------------- the release gate
def job(token: dict | None = None, params: dict | None = None) -> dict:
    params = params or {"deployments": STAGING, "roleArn": "arn:aws:iam::111111111111:role/tunecast-pipeline-deploy",
                        "project": "tunecast-pipeline-tests", "testUrl": "http://lb.example:8080", "readyMinutes": 60}
    data = {"actionConfiguration": {"configuration": {"FunctionName": "tunecast-pipeline-release-gate",
                                                      "UserParameters": json.dumps(params)}},
            "inputArtifacts": [{"name": "Source", "location": {"type": "S3", "s3Location": {
                "bucketName": "tunecast-pipeline-111111111111-eu-west-1", "objectKey": "tunecast-pipeline/Source/AbC"}}}],
            "outputArtifacts": [],
            "artifactCredentials": {"accessKeyId": "ASIAEXAMPLE", "secretAccessKey": SECRET, "sessionToken": "tok"}}
    if token is not None:
        data["continuationToken"] = json.dumps(token)
    return {"CodePipeline.job": {"id": "job-1", "accountId": "111111111111", "data": data}}


def run_gate(made, event):
    return gate.handler(event, None, codepipeline=made["codepipeline"], codedeploy=made["codedeploy"],
                        codebuild=made["codebuild"])


def expect_answer(stub, token):
    """'Still running': the state for the next invocation in the continuation token."""
    stub.add_response("put_job_success_result", {}, {
        "jobId": "job-1", "executionDetails": ANY,
        "continuationToken": token if token is ANY else json.dumps(token, separators=(",", ":"))})


def expect_ready_states(stub, states: dict[str, str | None]):
    """Per deployment group: 'Ready', 'InProgress' (under way) or None (no deployment running)."""
    for name, state in states.items():
        expect_list(stub, name, [D[name]] if state == "Ready" else [], ["Ready"])
        if state != "Ready":
            expect_list(stub, name, [D[name]] if state else [], reroute.BEFORE_READY)


def test_the_gate_waits_while_a_release_has_not_reached_the_test_listener(stubs, monkeypatch):
    made, stub = stubs
    monkeypatch.setattr(gate, "now", lambda: 5000.0)
    expect_ready_states(stub["codedeploy"], {STAGING[0]: "Ready", STAGING[1]: "InProgress", STAGING[2]: None})
    expect_answer(stub["codepipeline"], {"phase": "ready", "since": 5000.0,
                                         "seen": [D[STAGING[0]], D[STAGING[1]], None]})
    run_gate(made, job())


def test_once_every_release_waits_there_the_tests_start_with_the_runs_source(stubs, monkeypatch):
    made, stub = stubs
    monkeypatch.setattr(gate, "now", lambda: 5100.0)
    expect_ready_states(stub["codedeploy"], {name: "Ready" for name in STAGING})
    stub["codebuild"].add_response("start_build", {"build": {"id": BUILD}}, {
        "projectName": "tunecast-pipeline-tests", "environmentVariablesOverride": [
            {"name": "TEST_URL", "value": "http://lb.example:8080", "type": "PLAINTEXT"},
            {"name": "SOURCE_ARTIFACT", "value": "s3://tunecast-pipeline-111111111111-eu-west-1/"
                                                 "tunecast-pipeline/Source/AbC", "type": "PLAINTEXT"}]})
    expect_answer(stub["codepipeline"], {"phase": "tests", "since": 5000.0, "seen": None, "build": BUILD})
    run_gate(made, job({"phase": "ready", "since": 5000.0, "seen": [D[n] for n in STAGING]}))


@pytest.mark.parametrize("status", ["FAILED", "FAULT", "TIMED_OUT", "STOPPED"])
def test_tests_that_do_not_pass_fail_the_action(stubs, status, caplog):
    made, stub = stubs
    stub["codebuild"].add_response("batch_get_builds", {"builds": [{"id": BUILD, "buildStatus": status}]},
                                   {"ids": [BUILD]})
    stub["codepipeline"].add_response("put_job_failure_result", {}, {"jobId": "job-1", "failureDetails": {
        "type": "JobFailed", "message": f"the integration tests ended {status} (build {BUILD}); the releases on the "
                                        "test listener are stopped and rolled back, production traffic never moved"}})
    with caplog.at_level(logging.INFO, logger="release_gate"):
        run_gate(made, job({"phase": "tests", "since": 1.0, "build": BUILD}))
    assert SECRET not in caplog.text


def test_passing_tests_succeed_the_action_without_a_token(stubs):
    made, stub = stubs
    stub["codebuild"].add_response("batch_get_builds", {"builds": [{"id": BUILD, "buildStatus": "IN_PROGRESS"}]},
                                   {"ids": [BUILD]})
    expect_answer(stub["codepipeline"], {"phase": "tests", "since": 1.0, "build": BUILD})
    run_gate(made, job({"phase": "tests", "since": 1.0, "build": BUILD}))
    stub["codebuild"].add_response("batch_get_builds", {"builds": [{"id": BUILD, "buildStatus": "SUCCEEDED"}]},
                                   {"ids": [BUILD]})
    stub["codepipeline"].add_response("put_job_success_result", {}, {"jobId": "job-1", "executionDetails": {
        "summary": f"integration tests passed (build {BUILD})", "externalExecutionId": BUILD}})
    run_gate(made, job({"phase": "tests", "since": 1.0, "build": BUILD}))


def test_within_one_invocation_the_gate_polls_until_its_budget_is_spent(stubs, monkeypatch):
    made, stub = stubs
    ticks = iter(range(0, 1000, 15))
    monkeypatch.setattr(gate, "clock", lambda: float(next(ticks)))
    monkeypatch.setattr(gate, "BUDGET_SECONDS", 40)
    for _ in range(2):
        stub["codebuild"].add_response("batch_get_builds", {"builds": [{"id": BUILD, "buildStatus": "IN_PROGRESS"}]},
                                       {"ids": [BUILD]})
    expect_answer(stub["codepipeline"], {"phase": "tests", "since": 1.0, "build": BUILD})
    run_gate(made, job({"phase": "tests", "since": 1.0, "build": BUILD}))


@pytest.mark.parametrize("status, message", [
    ("Stopped", "the release of tunecast-staging-api (d-1AAAAAAAA) is Stopped before the tests ran: alarm"),
    ("Succeeded", "the release of tunecast-staging-api (d-1AAAAAAAA) moved production traffic without waiting for "
                  "the tests: its deployment group does not hold releases (deploy the current templates to this "
                  "environment)")])
def test_a_release_that_ended_before_the_tests_fails_the_action(stubs, status, message):
    made, stub = stubs
    expect_ready_states(stub["codedeploy"], {STAGING[0]: "Ready", STAGING[1]: None})
    stub["codedeploy"].add_response("get_deployment", {"deploymentInfo": {
        "status": status, **({"errorInformation": {"message": "alarm"}} if status == "Stopped" else {})}},
        {"deploymentId": D[STAGING[1]]})
    stub["codepipeline"].add_response("put_job_failure_result", {}, {"jobId": "job-1", "failureDetails": {
        "type": "JobFailed", "message": message}})
    run_gate(made, job({"phase": "ready", "since": 1.0, "seen": [D[n] for n in STAGING]}))


def test_releases_that_never_reach_the_test_listener_fail_the_action_after_the_ready_time(stubs, monkeypatch):
    made, stub = stubs
    monkeypatch.setattr(gate, "now", lambda: 1.0 + 61 * 60)
    expect_ready_states(stub["codedeploy"], {STAGING[0]: "Ready", STAGING[1]: "InProgress", STAGING[2]: "Ready"})
    stub["codepipeline"].add_response("put_job_failure_result", {}, {"jobId": "job-1", "failureDetails": {
        "type": "JobFailed", "message": "not on the test listener after 60 minutes: tunecast-staging-api"}})
    run_gate(made, job({"phase": "ready", "since": 1.0, "seen": None}))


def test_any_error_is_reported_to_codepipeline_not_raised(stubs):
    """An unanswered job would only fail after CodePipeline's 20 minutes."""
    made, stub = stubs
    stub["codedeploy"].add_client_error("list_deployments", "AccessDeniedException", "no", 400)
    stub["codepipeline"].add_response("put_job_failure_result", {}, {"jobId": "job-1", "failureDetails": {
        "type": "JobFailed", "message": ANY}})
    run_gate(made, job())
    bad = job()
    bad["CodePipeline.job"]["data"]["actionConfiguration"]["configuration"]["UserParameters"] = "{not json"
    stub["codepipeline"].add_response("put_job_failure_result", {}, {"jobId": "job-1", "failureDetails": {
        "type": "JobFailed", "message": "UserParameters is not JSON"}})
    run_gate(made, bad)


def test_the_gate_assumes_the_environments_deploy_role_for_codedeploy(monkeypatch, stubs):
    made, stub = stubs
    sts = client("sts")
    calls = []
    monkeypatch.setattr(reroute, "assumed_codedeploy", lambda role, sts_client, name: calls.append((role, name))
                        or made["codedeploy"])
    expect_ready_states(stub["codedeploy"], {name: "InProgress" for name in STAGING})
    expect_answer(stub["codepipeline"], ANY)
    gate.handler(job(), None, codepipeline=made["codepipeline"], codebuild=made["codebuild"], sts=sts)
    assert calls == [("arn:aws:iam::111111111111:role/tunecast-pipeline-deploy", "release-gate")]


def test_the_gate_module_needs_only_the_standard_library_boto3_and_its_sibling():
    import ast
    from pathlib import Path
    tree = ast.parse(Path(gate.__file__).read_text(encoding="utf-8"))
    imported = {(n.module or "").split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)} | \
               {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    # `generator` only as the fallback when the two modules are not side by side (here, in the repository)
    assert imported <= {"__future__", "json", "logging", "os", "time", "typing", "continue_reroute", "generator"}
