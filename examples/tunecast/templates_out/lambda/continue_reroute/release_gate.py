"""The pipeline's IntegrationTests action (a CodePipeline Lambda invoke action) in the test environment's stage: run the
integration tests against the release while it waits on the test listener, before any production traffic moves.

The CodeDeployToECS actions only finish after production traffic moved, so the tests run beside them (same
RunOrder). In the test environment every web service's deployment group holds each release after the test traffic
shift (READY_WAIT), so this job:

  1. waits until every web service's deployment of the stage is `Ready` (the test listener then serves all the new
     task sets, production still the old ones); a deployment that failed, stopped or finished before that fails the
     job (nothing to test, or a group that does not hold releases: its traffic moved untested);
  2. starts the tests project (CodeBuild) with `TEST_URL` and the run's source artifact (`SOURCE_ARTIFACT`), and
     waits for the build;
  3. reports the outcome to CodePipeline. The action's SUCCEEDED or FAILED state goes through EventBridge to the
     continue-reroute function (continue_reroute.py), which continues the held releases whose gates have all
     succeeded, or stops them (rollback) and rejects the stage's open approvals when the tests failed.

CodePipeline re-invokes the function while it answers "in progress" (PutJobSuccessResult with a continuationToken;
each answer must come within 20 minutes, the whole action within 24 hours; CodePipeline user guide, quotas). The
token carries the phase: {"phase": "ready", "since", "seen"} or {"phase": "tests", "since", "build"}. Every
invocation polls for up to BUDGET_SECONDS, then answers. Any error is reported as a job failure (never raised: an
unanswered job only fails after 20 minutes). The event is never logged: CodePipeline puts temporary artifact
credentials in it.

UserParameters (JSON): {"prefix": "<app>-<env>-", "services": ["<service>", ...] (the deployments are
`<prefix><service>`, CodeDeploy application = deployment group; each name once, so that many services fit the 1000
characters of an action configuration value), "roleArn": the environment's deploy role, "project": the tests project,
"testUrl": the test listener's URL, "readyMinutes": how long to wait for the test traffic shift}. The earlier form
{"deployments": ["<app>-<env>-<service>", ...], ...} is read too (a run started before the pipeline was updated).
"""
from __future__ import annotations

import json
import logging
import os
import time
from typing import Any

try:  # in the Lambda package both modules sit side by side
    import continue_reroute as reroute
except ImportError:  # in this repository (tests)
    from generator.lambdas import continue_reroute as reroute

LOG = logging.getLogger("release_gate")
LOG.setLevel(os.environ.get("LOG_LEVEL", "INFO"))

BUDGET_SECONDS = 240        # polling per invocation; the function's timeout leaves room to answer
POLL_SECONDS = 15
TESTS_PASSED = "SUCCEEDED"
BUILD_RUNNING = "IN_PROGRESS"
sleep = time.sleep          # replaced in tests
clock = time.monotonic
now = time.time


class GateFailed(Exception):
    """The release cannot be tested or its tests failed: the job fails with this message."""


def log(message: str, level: int = logging.INFO, **fields: Any) -> None:
    LOG.log(level, json.dumps({"message": message, **fields}, sort_keys=True, default=str))


def parameters(job: dict[str, Any]) -> dict[str, Any]:
    text = (((job.get("data") or {}).get("actionConfiguration") or {}).get("configuration") or {}).get(
        "UserParameters", "")
    try:
        params = json.loads(text)
    except (TypeError, ValueError) as exc:
        raise GateFailed("UserParameters is not JSON") from exc
    if not isinstance(params, dict):
        raise GateFailed("UserParameters is not a JSON object")
    if "deployments" not in params and isinstance(params.get("services"), list):
        params["deployments"] = [f"{params.get('prefix', '')}{service}" for service in params["services"]]
    missing = [k for k in ("deployments", "roleArn", "project", "testUrl") if not params.get(k)]
    if missing:
        raise GateFailed(f"UserParameters lacks {', '.join(missing)}")
    return params


def source_artifact(job: dict[str, Any]) -> str:
    """s3://bucket/key of the action's one input artifact (the run's source)."""
    artifacts = (job.get("data") or {}).get("inputArtifacts") or []
    if len(artifacts) != 1:
        raise GateFailed(f"expected the source as the one input artifact, got {len(artifacts)}")
    location = artifacts[0]["location"]["s3Location"]
    return f"s3://{location['bucketName']}/{location['objectKey']}"


def check_ready(codedeploy, names: list[str], state: dict[str, Any], ready_minutes: float) -> str | None:
    """None while waiting; 'ready' once every deployment is Ready. Raises GateFailed when one ended or time ran out."""
    seen = list(state.get("seen") or [None] * len(names))
    pending = []
    for i, name in enumerate(names):
        ready = reroute.deployments(codedeploy, name, name, [reroute.READY])
        early = [] if ready else reroute.deployments(codedeploy, name, name, reroute.BEFORE_READY)
        if ready or early:
            seen[i] = (ready or early)[0]
            if not ready:
                pending.append(name)
            continue
        if seen[i]:  # it was under way and is not any more
            info = codedeploy.get_deployment(deploymentId=seen[i])["deploymentInfo"]
            status, why = info.get("status"), (info.get("errorInformation") or {}).get("message", "")
            if status == "Succeeded":
                raise GateFailed(f"the release of {name} ({seen[i]}) moved production traffic without waiting for "
                                 "the tests: its deployment group does not hold releases (deploy the current "
                                 "templates to this environment)")
            raise GateFailed(f"the release of {name} ({seen[i]}) is {status} before the tests ran"
                             + (f": {why}" if why else ""))
        pending.append(name)  # the CodeDeployToECS action has not created it yet
    state["seen"] = seen
    if not pending:
        return "ready"
    if now() - state["since"] > ready_minutes * 60:
        raise GateFailed(f"not on the test listener after {ready_minutes:g} minutes: {', '.join(pending)}")
    return None


def check_tests(codebuild, state: dict[str, Any]) -> str | None:
    build = codebuild.batch_get_builds(ids=[state["build"]])["builds"][0]
    status = build.get("buildStatus")
    if status == BUILD_RUNNING:
        return None
    if status == TESTS_PASSED:
        return "passed"
    raise GateFailed(f"the integration tests ended {status} (build {state['build']}); the releases on the test "
                     "listener are stopped and rolled back, production traffic never moved")


def step(params: dict[str, Any], state: dict[str, Any], source: str, clients: dict[str, Any]) -> str | None:
    """Advance the state once: None (still running) or 'passed'."""
    if state["phase"] == "ready":
        if check_ready(clients["codedeploy"], params["deployments"], state,
                       float(params.get("readyMinutes", 60))) is None:
            return None
        build = clients["codebuild"].start_build(projectName=params["project"], environmentVariablesOverride=[
            {"name": "TEST_URL", "value": params["testUrl"], "type": "PLAINTEXT"},
            {"name": "SOURCE_ARTIFACT", "value": source, "type": "PLAINTEXT"}])["build"]["id"]
        log("every release waits on the test listener: tests started", build=build,
            deployments=state.get("seen"))
        state.update(phase="tests", build=build, seen=None)
        return None
    return check_tests(clients["codebuild"], state)


def handler(event: Any, context: Any = None, codepipeline=None, codedeploy=None, codebuild=None, sts=None) -> None:
    job = (event or {}).get("CodePipeline.job") or {}
    job_id = job.get("id")
    pipeline = codepipeline or reroute.client("codepipeline")
    try:
        params = parameters(job)
        source = source_artifact(job)
        token = (job.get("data") or {}).get("continuationToken")
        state = json.loads(token) if token else {"phase": "ready", "since": now()}
        clients = {"codedeploy": codedeploy or reroute.assumed_codedeploy(params["roleArn"], sts, "release-gate"),
                   "codebuild": codebuild or reroute.client("codebuild")}
        deadline = clock() + BUDGET_SECONDS
        while (outcome := step(params, state, source, clients)) is None and clock() + POLL_SECONDS < deadline:
            sleep(POLL_SECONDS)
    except Exception as exc:  # noqa: BLE001 - every failure must reach CodePipeline, never a silent timeout
        message = str(exc) if isinstance(exc, GateFailed) else f"release gate error: {type(exc).__name__}: {exc}"
        log("gate failed", logging.ERROR, job=job_id, reason=message)
        pipeline.put_job_failure_result(jobId=job_id, failureDetails={"type": "JobFailed", "message": message[:4900]})
        return
    if outcome is None:
        summary = ("waiting for the test traffic shift" if state["phase"] == "ready"
                   else f"integration tests running (build {state['build']})")
        pipeline.put_job_success_result(jobId=job_id, continuationToken=json.dumps(state, separators=(",", ":")),
                                        executionDetails={"summary": summary})
        return
    log("integration tests passed", job=job_id, build=state["build"])
    pipeline.put_job_success_result(jobId=job_id, executionDetails={
        "summary": f"integration tests passed (build {state['build']})", "externalExecutionId": state["build"]})
