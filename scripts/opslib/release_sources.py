"""`make status`, for an app with a pipeline: which commit of each pipeline source the environment's last release
used (docs/pipeline.md, "Several sources").

The run that last reached the environment's Deploy<Env> stage (GetPipelineState) and that run's source revisions
(GetPipelineExecution's artifactRevisions: one per source action's output artifact, with the commit id and message).
The same commits are in the release's artifact, sources.json (written by the Promote step). The pipeline lives in
the pipeline account: with credentials of an environment account that may not read it, one line says so."""
from __future__ import annotations

import json

from botocore.exceptions import ClientError

from generator.pipeline import common, plan, sources
from scripts.opslib.context import Ops


def pipeline_name(ops: Ops) -> str:
    return f"{ops.app}-{common.PIPELINE}"


def lines(ops: Ops) -> list[str]:
    """The release's sources, one line each (empty without a pipeline)."""
    app = ops.target.app
    if app.pipeline is None:
        return []
    name, stage = pipeline_name(ops), plan.deploy_stage(ops.env)
    client = ops.client("codepipeline")
    try:
        states = client.get_pipeline_state(name=name).get("stageStates", [])
        latest = next((s.get("latestExecution") or {} for s in states if s.get("stageName") == stage), {})
        run = latest.get("pipelineExecutionId")
        if not run:
            return [f"  no run of {name} has reached {stage} yet"]
        execution = client.get_pipeline_execution(pipelineName=name, pipelineExecutionId=run)["pipelineExecution"]
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        return [f"  pipeline {name} not readable here ({code}): it runs in account {app.pipeline.account_id}; "
                f"each release's sources.json (the Promote step's artifact) records the commits"]
    revisions = {r.get("name"): r for r in execution.get("artifactRevisions", [])}
    found = [f"  run {run} ({stage} {latest.get('status', '?')}):"]
    for source in sources.all_sources(app):
        revision = revisions.get(source.artifact, {})
        commit = revision.get("revisionId") or "?"
        summary = _first_line(revision.get("revisionSummary", ""))
        found.append(f"    {source.name}  {source.repository}@{source.branch}  {commit[:12]}"
                     + (f"  {summary}" if summary else ""))
    return found


def _first_line(summary: str) -> str:
    """A CodeStar source revision summary is JSON ({"ProviderType": "GitHub", "CommitMessage": "..."}) or text."""
    try:
        summary = json.loads(summary).get("CommitMessage", "")
    except (ValueError, AttributeError):
        pass
    return summary.strip().splitlines()[0][:72] if summary.strip() else ""
