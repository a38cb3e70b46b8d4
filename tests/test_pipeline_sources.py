"""Several pipeline sources (`pipeline.sources`, docs/pipeline.md "Several sources"): a source action and a V2 push
trigger per source, builds from the source their service names, the self-update from the pipeline's own repository,
each release's sources.json and `make status`'s lines about it.

AWS facts: AWS::CodePipeline::Pipeline GitPushFilter (Branches, FilePaths) and GitFilePathFilterCriteria (Includes, at
most 8 patterns), CloudFormation template reference
(https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-codepipeline-pipeline-gitpushfilter.html).
What no test here can show: CodePipeline starting a run on a push (the emulator has no CodePipeline), the source
actions' output variables at run time; the buildspec's Python is run here with the values those variables would
take.
"""
from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import pytest

from generator.build import render_app
from generator.config import parse_app
from generator.pipeline import common
from scripts.opslib import release_sources, status
from tests import ops_support
from tests.templates import load

CONNECTION = "arn:aws:codeconnections:eu-west-1:111111111111:connection/7d3f5c1a-2b4e-4f6a-9c8d-1e2f3a4b5c6d"


def raw_app(**pipeline) -> dict:
    return {
        "app": "chat", "owner": "team", "region": "eu-west-1",
        "services": [{"name": "chat", "kind": "web", "port": 3000}, {"name": "ops", "kind": "worker"}],
        "environments": {"dev": {"account_id": "111111111111", "cidr": "10.0.0.0/16"},
                         "prod": {"account_id": "222222222222", "cidr": "10.1.0.0/16", "production": True,
                                  "zones": ["euw1-az1", "euw1-az2"]}},
        "pipeline": {"account_id": "111111111111", "connection_arn": CONNECTION, "repository": "team/infra",
                     "source_name": "infra", "notification_email": "ops@example.com", **pipeline}}


TWO = raw_app(sources=[{"name": "app-code", "repository": "team/chat-service", "branch": "release",
                        "paths": ["src/**", "Dockerfile"]}],
              builds={"chat": {"source": "app-code", "dockerfile": "Dockerfile", "context": "."}})
APP = parse_app(TWO)
RENDERED = render_app(APP)
PIPELINE = load(RENDERED.templates["pipeline.yaml"])
BUILDS = load(RENDERED.templates["pipeline-builds.yaml"])
STAGES = {s["Name"]: s for s in PIPELINE["Resources"]["Pipeline"]["Properties"]["Stages"]}


def action(stage: str, name: str) -> dict:
    return next(a for a in STAGES[stage]["Actions"] if a["Name"] == name)


def test_the_source_stage_has_an_action_per_source_with_its_own_artifact_variables_and_parameters():
    first, second = STAGES["Source"]["Actions"]
    assert (first["Name"], first["Namespace"], first["OutputArtifacts"]) == (
        "Source", "SourceVariables", [{"Name": "Source"}])
    assert (second["Name"], second["Namespace"], second["OutputArtifacts"]) == (
        "SourceAppCode", "SourceAppCodeVariables", [{"Name": "SourceAppCode"}])
    assert second["Configuration"] == {
        "ConnectionArn": {"Ref": "ConnectionArn"}, "FullRepositoryId": {"Ref": "SourceAppCodeRepository"},
        "BranchName": {"Ref": "SourceAppCodeBranch"}, "OutputArtifactFormat": "CODE_ZIP"}
    assert first["Configuration"]["FullRepositoryId"] == {"Ref": "FullRepositoryId"}
    values = {p.name: p.env_value(APP, None) for p in common.pipeline_parameters(APP)}
    assert values["FullRepositoryId"] == "team/infra" and values["BranchName"] == "main"
    assert values["SourceAppCodeRepository"] == "team/chat-service" and values["SourceAppCodeBranch"] == "release"
    assert {"SourceAppCodeRepository", "SourceAppCodeBranch"} <= set(PIPELINE["Parameters"])


def test_each_source_triggers_the_pipeline_on_a_push_to_its_branch_and_paths():
    triggers = PIPELINE["Resources"]["Pipeline"]["Properties"]["Triggers"]
    assert [t["GitConfiguration"]["SourceActionName"] for t in triggers] == ["Source", "SourceAppCode"]
    assert all(t["ProviderType"] == "CodeStarSourceConnection" for t in triggers)
    assert triggers[0]["GitConfiguration"]["Push"] == [{"Branches": {"Includes": [{"Ref": "BranchName"}]}}]
    assert triggers[1]["GitConfiguration"]["Push"] == [{
        "Branches": {"Includes": [{"Ref": "SourceAppCodeBranch"}]},
        "FilePaths": {"Includes": ["src/**", "Dockerfile"]}}]


def test_a_build_takes_its_context_from_its_source_and_the_scan_gate_from_the_pipelines_repository():
    chat, ops = action("Build", "BuildChat"), action("Build", "BuildOps")
    assert chat["InputArtifacts"] == [{"Name": "SourceAppCode"}, {"Name": "Source"}]
    assert chat["Configuration"]["PrimarySource"] == "SourceAppCode"
    assert json.loads(chat["Configuration"]["EnvironmentVariables"]) == [
        {"name": "COMMIT_ID", "value": "#{SourceAppCodeVariables.CommitId}", "type": "PLAINTEXT"}]
    assert ops["InputArtifacts"] == [{"Name": "Source"}] and "PrimarySource" not in ops["Configuration"]
    assert "#{SourceVariables.CommitId}" in ops["Configuration"]["EnvironmentVariables"]
    chat_spec = BUILDS["Resources"]["BuildChatProject"]["Properties"]["Source"]["BuildSpec"]
    ops_spec = BUILDS["Resources"]["BuildOpsProject"]["Properties"]["Source"]["BuildSpec"]
    assert 'python3 "${CODEBUILD_SRC_DIR_Source}/scripts/scan_gate.py"' in chat_spec
    assert "--file Dockerfile" in chat_spec and '--tag "$REPOSITORY_URI:$IMAGE_TAG" . &&' in chat_spec
    assert 'python3 "scripts/scan_gate.py"' in ops_spec


def test_the_self_update_reads_app_yaml_from_the_pipelines_own_repository():
    assert action("UpdatePipeline", "SelfUpdate")["InputArtifacts"] == [{"Name": "Source"}]


def test_promote_carries_every_sources_commit():
    promote = action("DeployDev", "Promote")
    variables = {v["name"]: v["value"] for v in json.loads(promote["Configuration"]["EnvironmentVariables"]["Fn::Sub"][0])}
    assert json.loads(variables["SOURCE_COMMITS"]) == {"infra": "#{SourceVariables.CommitId}",
                                                       "app-code": "#{SourceAppCodeVariables.CommitId}"}
    approval = action("ApproveProd", "ApproveRelease")["Configuration"]["CustomData"]
    assert approval.startswith("Release commit #{SourceVariables.CommitId} with the latest commit of app-code to prod")


def _promote_script(buildspec: str) -> str:
    """The Promote buildspec's step that writes sources.json and each service's tag (its heredoc)."""
    text = buildspec.split("python3 - \"$SOURCE_SHA\" <<'PY'\n", 1)[1].split("\n        PY\n", 1)[0]
    return "\n".join(line[8:] for line in text.splitlines())


def test_the_release_artifact_records_the_commit_of_each_source_and_tags_each_image_with_its_sources(tmp_path):
    spec = BUILDS["Resources"]["PromoteProject"]["Properties"]["Source"]["BuildSpec"]
    assert "    - sources.json" in spec.split("artifacts:")[-1]
    infra, code = "a" * 40, "b" * 40
    env = {"SOURCE_COMMITS": json.dumps({"infra": infra, "app-code": code}), "PATH": "/usr/bin:/bin"}
    subprocess.run([sys.executable, "-c", _promote_script(spec), infra], cwd=tmp_path, env=env, check=True)
    assert json.loads((tmp_path / "sources.json").read_text()) == {"sources": [
        {"name": "infra", "repository": "team/infra", "branch": "main", "commit": infra},
        {"name": "app-code", "repository": "team/chat-service", "branch": "release", "commit": code}]}
    assert sorted((tmp_path / "service-tags.txt").read_text().splitlines()) == [f"chat {code[:12]}",
                                                                                 f"ops {infra[:12]}"]
    env["SOURCE_COMMITS"] = json.dumps({"infra": infra})
    failed = subprocess.run([sys.executable, "-c", _promote_script(spec), infra], cwd=tmp_path, env=env,
                            capture_output=True, text=True)
    assert failed.returncode == 1 and "no commit SHA of the source app-code in SOURCE_COMMITS" in failed.stderr


def test_an_app_without_sources_keeps_its_single_source_stage_and_trigger():
    one = load(render_app(parse_app(raw_app())).templates["pipeline.yaml"])
    pipeline = one["Resources"]["Pipeline"]["Properties"]
    source, = next(s for s in pipeline["Stages"] if s["Name"] == "Source")["Actions"]
    assert source["Namespace"] == "SourceVariables" and source["OutputArtifacts"] == [{"Name": "Source"}]
    assert pipeline["Triggers"] == [{"ProviderType": "CodeStarSourceConnection", "GitConfiguration": {
        "SourceActionName": "Source", "Push": [{"Branches": {"Includes": [{"Ref": "BranchName"}]}}]}}]


# --- make status ---------------------------------------------------------------------------------------------------

def _status_harness(monkeypatch):
    h = ops_support.harness()
    h.ops.target = dataclasses.replace(h.ops.target, app=parse_app({**TWO, "app": "shop"}))
    return h


def test_status_prints_the_commit_of_each_source_of_the_last_release(monkeypatch):
    h = _status_harness(monkeypatch)
    h.add("codepipeline", "get_pipeline_state", {"pipelineName": "shop-pipeline", "stageStates": [
        {"stageName": "Source", "latestExecution": {"pipelineExecutionId": "run-2", "status": "Succeeded"}},
        {"stageName": "DeployDev", "latestExecution": {"pipelineExecutionId": "run-1", "status": "Succeeded"}}]},
          {"name": "shop-pipeline"})
    h.add("codepipeline", "get_pipeline_execution", {"pipelineExecution": {
        "pipelineName": "shop-pipeline", "pipelineExecutionId": "run-1", "status": "Succeeded",
        "artifactRevisions": [
            {"name": "Source", "revisionId": "1" * 40,
             "revisionSummary": json.dumps({"ProviderType": "GitHub", "CommitMessage": "Raise the queue timeout\n\nWhy"})},
            {"name": "SourceAppCode", "revisionId": "2" * 40, "revisionSummary": "Fix reconnects"}]}},
          {"pipelineName": "shop-pipeline", "pipelineExecutionId": "run-1"})
    assert release_sources.lines(h.ops) == [
        "  run run-1 (DeployDev Succeeded):",
        f"    infra  team/infra@main  {'1' * 12}  Raise the queue timeout",
        f"    app-code  team/chat-service@release  {'2' * 12}  Fix reconnects"]
    h.done()


def test_status_says_where_the_commits_are_when_the_pipeline_is_not_readable(monkeypatch):
    h = _status_harness(monkeypatch)
    h.error("codepipeline", "get_pipeline_state", "AccessDeniedException", "not authorized")
    assert release_sources.lines(h.ops) == [
        "  pipeline shop-pipeline not readable here (AccessDeniedException): it runs in account 111111111111; "
        "each release's sources.json (the Promote step's artifact) records the commits"]


def test_status_before_any_release_reached_the_environment(monkeypatch):
    h = _status_harness(monkeypatch)
    h.add("codepipeline", "get_pipeline_state", {"pipelineName": "shop-pipeline", "stageStates": [
        {"stageName": "DeployDev"}]}, {"name": "shop-pipeline"})
    assert release_sources.lines(h.ops) == ["  no run of shop-pipeline has reached DeployDev yet"]


def test_status_of_an_app_without_a_pipeline_asks_nothing_of_codepipeline():
    h = ops_support.harness()
    assert release_sources.lines(h.ops) == [] and "codepipeline" not in h.stubs
    assert "release_sources.lines(ops)" in open(status.__file__).read()
