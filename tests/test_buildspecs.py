"""Buildspecs (generator/buildspecs.py + buildspecs/*.yml.j2) and the taskdef helper (scripts/taskdef_from_family.py).

Golden files: tests/golden/buildspecs/<case>.yml, one per entry of CASES. After an intended change regenerate them on
purpose and review the diff:

    .venv/bin/python -m tests.test_buildspecs --update
    git diff tests/golden/buildspecs

The image buildspec is also *executed*: its phase commands run in bash, in order, in one shell (as CodeBuild runs
them), with fake `aws`/`docker` commands and a fake scan gate on PATH, so the files it writes are checked for real.
"""
from __future__ import annotations

import difflib
import json
import shutil
import re
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
import yaml

from generator import buildspecs
ROOT = Path(__file__).resolve().parent.parent

GOLDEN_DIR = ROOT / "tests" / "golden" / "buildspecs"
DOCS = ROOT / "docs" / "pipeline-parts.md"
TASKDEF_SCRIPT = ROOT / "scripts" / "taskdef_from_family.py"

WEB = dict(service="api", container_name="api", container_port=3000, web=True, fail_on="MEDIUM", scan_timeout=600,
           dockerfile="Dockerfile", context_dir=".", scripts_dir="${CODEBUILD_SRC_DIR_InfraSource}/scripts")
WORKER = dict(service="worker", container_name="worker", web=False, fail_on="HIGH", scan_timeout=300,
              dockerfile="docker/worker.Dockerfile", context_dir="services/worker",
              scripts_dir="${CODEBUILD_SRC_DIR_InfraSource}/scripts")
# a web service with an nginx sidecar the pipeline builds (docs/services.md, Sidecars: `build:`)
WEB_SIDECAR = {**WEB, "sidecar_builds": [dict(name="nginx", dockerfile="nginx/Dockerfile", context_dir="nginx")]}
CASES = {
    "image-web": ("image", WEB),
    "image-web-sidecar": ("image", WEB_SIDECAR),
    "image-worker": ("image", WORKER),
    "self-update": ("self_update", dict(python_version="3.11", s3_prefix="tunecast/templates")),
    "integration-tests": ("integration_tests", dict(
        runtime_versions={"nodejs": "20"}, install_commands=["npm ci"],
        test_command="npx jest --ci --testPathPattern=integration --reporters=default --reporters=jest-junit",
        reports_dir="reports/junit", ready_path="/api/health", ready_timeout=300)),
    "promote": ("promote", dict(services=["web", "api", "cron"], sources_file="sources.json",
                                sources=[{"name": "app", "repository": "tunecast/tunecast", "branch": "main"}],
                                service_sources={"web": "app", "api": "app", "cron": "app"})),
    "promote-sidecar": ("promote", dict(services=["web", "api"], sources_file="sources.json",
                                        sources=[{"name": "app", "repository": "tunecast/tunecast", "branch": "main"}],
                                        service_sources={"web": "app", "api": "app"}, sidecar_tags={"web": ["nginx"]})),
    "protect": ("protect", dict(scripts_dir="scripts")),
    "release": ("release", dict(scripts_dir="scripts", releases=[
        dict(service="web", container_name="web", container_port=8080, artifact="StagingWebRelease"),
        dict(service="api", container_name="api", container_port=3000, artifact="StagingApiRelease")])),
    "frontend-build": ("frontend_build", dict(context_dir="frontend", build_command="npm ci && npm run build",
                                              output_dir="build", runtime_versions={"nodejs": "20"})),
    "publish-frontend": ("publish_frontend", dict(scripts_dir="scripts")),
    "migrate": ("migrate", dict(python_version="3.11")),
    "update-pipeline": ("update_pipeline", dict(s3_prefix="tunecast/templates", template="packaged/pipeline.yaml",
                                                config="params/pipeline.config.json")),
}


def rendered(case: str) -> str:
    name, context = CASES[case]
    return buildspecs.render(name, **context)


def load(case: str) -> dict:
    return yaml.safe_load(rendered(case))


def commands(doc: dict) -> list[str]:
    return [c for phase in doc["phases"].values() for c in phase.get("commands", [])]


# --------------------------------------------------------------------------------------------- golden and shape
@pytest.mark.parametrize("case", sorted(CASES))
def test_render_matches_golden(case):
    want_path = GOLDEN_DIR / f"{case}.yml"
    want = want_path.read_text(encoding="utf-8") if want_path.exists() else ""
    got = rendered(case)
    diff = "\n".join(difflib.unified_diff(want.splitlines(), got.splitlines(), f"committed/{case}.yml",
                                          f"rendered/{case}.yml", lineterm="", n=2))
    assert got == want, ("rendered buildspec differs from the golden file; if intended run "
                         f"`.venv/bin/python -m tests.test_buildspecs --update` and review the diff:\n{diff}")


def test_every_buildspec_has_a_golden_case_and_no_golden_file_is_orphaned():
    assert sorted({name for name, _ in CASES.values()}) == buildspecs.names()
    assert sorted(p.stem for p in GOLDEN_DIR.glob("*.yml")) == sorted(CASES)


@pytest.mark.parametrize("case", sorted(CASES))
def test_rendered_buildspec_is_yaml_version_0_2(case):
    doc = load(case)
    assert doc["version"] == 0.2
    assert set(doc["phases"]) <= {"install", "pre_build", "build", "post_build"}
    assert doc["env"]["shell"] == "bash"
    for phase in doc["phases"].values():
        assert phase.get("commands") or phase.get("runtime-versions")   # an install phase may only pick runtimes
        assert all(isinstance(c, str) and c.strip() for c in phase.get("commands", []))
    text = rendered(case)
    assert "{{" not in text and "{%" not in text and "{#" not in text, "left-over jinja syntax"
    assert text.endswith("\n") and not text.endswith("\n\n")


def test_missing_variable_is_an_error_naming_it():
    context = dict(WEB)
    del context["container_port"]
    with pytest.raises(buildspecs.BuildspecError) as exc:
        buildspecs.render("image", **context)
    assert str(exc.value) == "buildspecs/image.yml.j2: 'container_port' is undefined"


def test_variable_only_needed_for_web_services_is_not_required_for_workers():
    assert "container_port" not in WORKER and buildspecs.render("image", **WORKER)


def test_unknown_variable_is_an_error():
    with pytest.raises(buildspecs.BuildspecError) as exc:
        buildspecs.render("self_update", python_version="3.11", s3_prefix="x", s3_prefx="y")
    assert str(exc.value).startswith("buildspecs/self_update.yml.j2: unknown variable(s) s3_prefx (the template "
                                     "uses: python_version, s3_prefix)")


@pytest.mark.parametrize("key, value, message", [
    ("fail_on", "SEVERE", "fail_on: must be one of INFORMATIONAL, LOW, MEDIUM, HIGH, CRITICAL (got 'SEVERE')"),
    ("container_port", "3000", "container_port: must be a port number (1-65535) (got '3000')"),
    ("container_port", True, "container_port: must be a port number (1-65535) (got True)"),
    ("container_name", "api; rm -rf /", "container_name: must be 1-255 letters, digits, '-' or '_'"),
    ("dockerfile", "Dockerfile\"", "dockerfile: must be a relative path of letters, digits, '_./-'"),
    ("scan_timeout", 0, "scan_timeout: must be a positive whole number (got 0)"),
    ("web", "yes", "web: must be true or false (got 'yes')"),
])
def test_bad_values_are_rejected_with_the_rule(key, value, message):
    with pytest.raises(buildspecs.BuildspecError) as exc:
        buildspecs.render("image", **{**WEB, key: value})
    assert str(exc.value).startswith(f"buildspecs/image.yml.j2: {message}")


def test_unknown_buildspec_is_an_error():
    with pytest.raises(buildspecs.BuildspecError) as exc:
        buildspecs.render("deploy", x=1)
    assert str(exc.value) == ("buildspecs/deploy.yml.j2: no such buildspec (known: frontend_build, image, "
                              "integration_tests, migrate, promote, protect, publish_frontend, release, self_update, "
                              "update_pipeline)")


def test_severities_match_the_scan_gate():
    import importlib.util
    spec = importlib.util.spec_from_file_location("scan_gate_for_buildspecs", ROOT / "scripts" / "scan_gate.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    assert buildspecs.SEVERITIES == module.THRESHOLDS


# --------------------------------------------------------------------------------------------- image buildspec
@pytest.mark.parametrize("case, threshold, timeout", [("image-web", "MEDIUM", "600"), ("image-worker", "HIGH", "300")])
def test_scan_gate_runs_with_the_configured_threshold_and_fails_the_build(case, threshold, timeout):
    doc = load(case)
    gate = [c for c in doc["phases"]["build"]["commands"] if "scan_gate.py" in c]
    assert len(gate) == 1 and "\n" not in gate[0].strip(), "one command of its own: its exit status fails the phase"
    words = gate[0].split()
    assert words[:2] == ["python3", '"${CODEBUILD_SRC_DIR_InfraSource}/scripts/scan_gate.py"']
    assert words[words.index("--fail-on") + 1] == threshold and words[words.index("--timeout") + 1] == timeout
    assert words[words.index("--tag") + 1] == '"$IMAGE_TAG"'
    # the gate runs after the push and before any deploy artifact is written
    build = doc["phases"]["build"]["commands"]
    idx = build.index(gate[0])
    assert any("docker push" in c for c in build[:idx])
    assert not any("deploy/" in c for c in build[:idx])


def test_web_image_writes_the_blue_green_artifacts():
    doc = load("image-web")
    assert doc["artifacts"] == {"base-directory": "deploy", "files": ["imageDetail.json", "taskdef.json",
                                                                      "appspec.yaml"]}
    assert doc["env"]["exported-variables"] == ["IMAGE_TAG", "IMAGE_DIGEST", "IMAGE_URI"]
    text = rendered("image-web")
    assert "aws ecs describe-task-definition --task-definition \"$TASK_FAMILY\"" in text
    assert "taskdef_from_family.py\" --container api" in text


def test_worker_image_writes_image_definitions_not_blue_green_files():
    doc = load("image-worker")
    assert doc["artifacts"]["files"] == ["imageDetail.json", "imagedefinitions.json"]
    text = rendered("image-worker")
    assert "TASK_FAMILY" not in text and "appspec" not in text


@pytest.mark.parametrize("case", ["image-web", "image-worker"])
def test_image_tags_are_immutable_commit_shas(case):
    text = rendered(case)
    assert "latest" not in "\n".join(commands(load(case)))
    assert 'export IMAGE_TAG="${SOURCE_SHA:0:12}"' in text
    assert "CODEBUILD_RESOLVED_SOURCE_VERSION" in text


@pytest.mark.parametrize("case", sorted(CASES))
def test_no_secrets_or_plain_credentials(case):
    text = rendered(case)
    doc = yaml.safe_load(text)
    assert set(doc.get("env", {})) <= {"shell", "variables", "exported-variables"}
    for pattern in (r"AKIA[0-9A-Z]{16}", r"ASIA[0-9A-Z]{16}", r"(?i)aws_secret_access_key", r"(?i)aws_session_token",
                    r"--password(?!-stdin)", r"(?i)passw(or)?d\s*[=:]", r"(?i)secret\s*[=:]", r"(?i)token\s*[=:]",
                    r"get-login-password\s*\)", r"\bset -x\b"):
        assert not re.search(pattern, text), f"{case}: matches {pattern}"
    if "docker login" in text:
        assert "get-login-password | docker login --username AWS --password-stdin" in text


def test_appspec_in_the_web_buildspec_is_the_ecs_shape():
    text = next(c for c in commands(load("image-web")) if "appspec.yaml" in c)
    body = text.split("<<'EOF'\n", 1)[1].rsplit("EOF", 1)[0]
    assert yaml.safe_load(body) == {"version": 0.0, "Resources": [{"TargetService": {
        "Type": "AWS::ECS::Service", "Properties": {
            "TaskDefinition": "<TASK_DEFINITION>",
            "LoadBalancerInfo": {"ContainerName": "api", "ContainerPort": 3000}}}}]}


# --------------------------------------------------------------------------------------------- other buildspecs
def test_self_update_packages_root_and_pipeline_and_ships_config_files():
    doc = load("self-update")
    assert doc["phases"]["install"]["runtime-versions"] == {"python": "3.11"}
    build = doc["phases"]["build"]["commands"]
    assert build[0] == "make templates PYTHON=python3.11"
    packs = [c for c in build if "aws cloudformation package" in c and "REGIONAL_BUCKETS" not in c]
    assert [re.search(r"--template-file (\S+)", c)[1] for c in packs] == ["templates_out/root.yaml",
                                                                          "templates_out/pipeline.yaml"]
    assert all('--s3-bucket "$ARTIFACT_BUCKET"' in c for c in packs)
    # an environment in another region deploys the root packaged again into that region's artifact bucket
    # (generator/pipeline/regions.py); with no such environment the loop runs zero times
    regional = [c for c in build if "REGIONAL_BUCKETS" in c]
    assert len(regional) == 1 and '--s3-bucket "$bucket"' in regional[0] \
        and '--output-template-file "packaged/$region/root.yaml"' in regional[0]
    packs += regional
    # `package` skips a key that exists already (aws-cli s3uploader.py: head_object, unless force_upload), so an
    # unchanged template would keep its first upload date while the bucket expires objects by age (aws-reference
    # §8): every run uploads again, which restarts the age of what a waiting release points at.
    assert all(" --force-upload " in c for c in packs)
    assert doc["artifacts"] == {"files": ["packaged/**/*", "params/*.config.json"]}


def test_integration_tests_use_test_url_and_publish_junit():
    doc = load("integration-tests")
    assert doc["reports"] == {"integration-tests": {"base-directory": "reports/junit", "files": ["**/*.xml"],
                                                    "file-format": "JUNITXML"}}
    assert doc["phases"]["install"]["runtime-versions"] == {"nodejs": "20"}
    text = rendered("integration-tests")
    assert ': "${TEST_URL:?' in text and '"${TEST_URL%/}"/api/health' in text
    assert ': "${SOURCE_ARTIFACT:?' in text
    assert doc["phases"]["build"]["commands"][-1].strip().startswith("npx jest --ci")


def test_multi_line_test_command_stays_inside_its_block():
    name, context = CASES["integration-tests"]
    text = buildspecs.render(name, **{**context, "test_command": "export BASE_URL=\"$TEST_URL\"\nnpm run test:e2e # ci"})
    assert yaml.safe_load(text)["phases"]["build"]["commands"][-1] == \
        'export BASE_URL="$TEST_URL"\nnpm run test:e2e # ci'


HOSTILE = ['20"\nphases: {}', "x\n  build:\n    commands: [rm -rf /]", "  indented first line\nfoo: bar", "a\u2028b: c",
           "'single' \"double\" \\ back"]


@pytest.mark.parametrize("value", HOSTILE)
def test_quotes_and_newlines_in_values_cannot_add_keys(value):
    """Issue 9: a quote or newline in test_runtime_versions (or a command) used to add keys to the buildspec. Every
    free-text value is a double-quoted YAML scalar now, and comes back exactly."""
    name, context = CASES["integration-tests"]
    benign = load("integration-tests")
    text = buildspecs.render(name, **{**context, "runtime_versions": {"nodejs": value},
                                      "install_commands": [value, "npm ci"], "test_command": value})
    doc = yaml.safe_load(text)
    assert buildspecs._key_paths(doc) == buildspecs._key_paths(benign)
    assert doc["phases"]["install"]["runtime-versions"] == {"nodejs": value}
    assert doc["phases"]["install"]["commands"][2:] == [value, "npm ci"]  # after curl and the source unzip
    assert doc["phases"]["build"]["commands"][-1] == value


def test_an_unquoted_value_that_adds_a_key_is_refused(monkeypatch):
    """The second line of defence: with the yaml filter made a no-op, the same value is caught by the key check."""
    monkeypatch.setitem(buildspecs.environment().filters, "yaml", lambda v: f'"{v}"')
    name, context = CASES["integration-tests"]
    with pytest.raises(buildspecs.BuildspecError) as info:
        buildspecs.render(name, **{**context, "runtime_versions": {"nodejs": '20"\n      python: "3.12'}})
    assert str(info.value) == ("buildspecs/integration_tests.yml.j2: a value adds phases.install.runtime-versions."
                               "python to the buildspec; quote it with the yaml filter")
    assert "\n" not in str(info.value)


def test_docs_list_every_template_variable():
    docs = DOCS.read_text(encoding="utf-8")
    for name in buildspecs.names():
        section = docs.split(f"### `{name}`", 1)[1].split("\n### ", 1)[0]
        documented = set(re.findall(r"^\| `([a-z0-9_]+)` \|", section, flags=re.M))
        assert sorted(buildspecs.variables(name) - documented) == [], f"docs/pipeline-parts.md, section {name}"


# --------------------------------------------------------------------------------------------- running the image buildspec
FAKE_DIGEST = "sha256:" + "5e" * 32
SHA = "0123456789abcdef0123456789abcdef01234567"
REPO_URI = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/tunecast-dev-api"

FAKE_AWS = r'''#!/usr/bin/env python3
import json, os, sys
args = sys.argv[1:]
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write("aws " + " ".join(args) + "\n")
if args[:2] == ["ecr", "get-login-password"]:
    print("not-a-real-token")
elif args[:2] == ["ecr", "describe-images"]:
    if "--query" in args:
        print(os.environ["FAKE_DIGEST"])
    elif os.environ.get("FAKE_IMAGE_EXISTS") != "1":
        print("An error occurred (ImageNotFoundException)", file=sys.stderr)
        sys.exit(254)
elif args[:2] == ["ecs", "describe-task-definition"]:
    print(open(os.environ["FAKE_TASKDEF"]).read())
else:
    print("fake aws: unexpected call", args, file=sys.stderr)
    sys.exit(2)
'''
FAKE_DOCKER = r'''#!/usr/bin/env bash
echo "docker $*" >> "$FAKE_LOG"
if [ "$1" = login ]; then cat > /dev/null; fi
'''
FAKE_GATE = r'''import os, sys
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write("scan_gate " + " ".join(sys.argv[1:]) + "\n")
failing = os.environ.get("FAKE_SCAN_FAIL_TAG")   # findings in this tag's image only
if failing:
    sys.exit(1 if sys.argv[sys.argv.index("--tag") + 1] == failing else 0)
sys.exit(int(os.environ.get("FAKE_SCAN_EXIT", "0")))
'''
RUNNER = r'''
cd "$WORKDIR"
failed=0
for phase in install pre_build build post_build; do
  if [ "$failed" = 1 ] && [ "$phase" != post_build ]; then continue; fi
  [ "$phase" = post_build ] && export CODEBUILD_BUILD_SUCCEEDING=$((1 - failed))
  for cmd in "$CMDS/$phase".*; do
    [ -e "$cmd" ] || continue
    source "$cmd"
    rc=$?
    if [ "$rc" != 0 ]; then echo "PHASE $phase FAILED ($(basename "$cmd"), exit $rc)"; failed=1; break; fi
  done
done
exit "$failed"
'''


def sample_describe_task_definition(family="tunecast-dev-api", container="api"):
    return {"taskDefinition": {
        "taskDefinitionArn": f"arn:aws:ecs:eu-west-1:123456789012:task-definition/{family}:7",
        "family": family, "revision": 7, "status": "ACTIVE",
        "taskRoleArn": "arn:aws:iam::123456789012:role/tunecast-dev-api-task",
        "executionRoleArn": "arn:aws:iam::123456789012:role/tunecast-dev-api-execution",
        "networkMode": "awsvpc", "cpu": "512", "memory": "1024", "requiresCompatibilities": ["FARGATE"],
        "compatibilities": ["EC2", "FARGATE"],
        "requiresAttributes": [{"name": "com.amazonaws.ecs.capability.logging-driver.awslogs"},
                               {"name": "ecs.capability.execution-role-awslogs"}],
        "runtimePlatform": {"cpuArchitecture": "X86_64", "operatingSystemFamily": "LINUX"},
        "containerDefinitions": [
            {"name": container, "image": f"{REPO_URI}@sha256:{'11' * 32}", "essential": True, "cpu": 0,
             "portMappings": [{"containerPort": 3000, "hostPort": 3000, "protocol": "tcp"}],
             "environment": [{"name": "NODE_ENV", "value": "production"}],
             "secrets": [{"name": "DB_SECRET", "valueFrom": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db"}],
             "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/tunecast/dev/api",
                                                                      "awslogs-region": "eu-west-1",
                                                                      "awslogs-stream-prefix": "api"}}},
            {"name": "xray", "image": "public.ecr.aws/xray/aws-xray-daemon:3.3.7", "essential": False}],
        "volumes": [], "placementConstraints": [],
        "registeredAt": "2025-01-01T10:00:00.000000+00:00",
        "registeredBy": "arn:aws:sts::123456789012:assumed-role/cfn/AWSCloudFormation",
        "deregisteredAt": "2025-02-01T10:00:00.000000+00:00"},
        "tags": []}


def run_image_buildspec(tmp_path: Path, context: dict, *, scan_exit=0, image_exists=False, sha=SHA, scan_fail_tag=""):
    """Run the rendered image buildspec's phases; returns (exit code, output, logged calls, workdir)."""
    doc = yaml.safe_load(buildspecs.render("image", **context))
    bin_dir, scripts, cmds, work = (tmp_path / d for d in ("bin", "scripts", "cmds", "work"))
    for d in (bin_dir, scripts, cmds, work):
        d.mkdir()
    for name, body in (("aws", FAKE_AWS), ("docker", FAKE_DOCKER),
                       ("python3", f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')):
        (bin_dir / name).write_text(body)
        (bin_dir / name).chmod(0o755)
    (scripts / "scan_gate.py").write_text(FAKE_GATE)
    (scripts / "taskdef_from_family.py").symlink_to(TASKDEF_SCRIPT)
    taskdef = tmp_path / "described.json"
    taskdef.write_text(json.dumps(sample_describe_task_definition()))
    for phase, body in doc["phases"].items():
        for i, command in enumerate(body["commands"]):
            (cmds / f"{phase}.{i:02d}").write_text(command)
    log = tmp_path / "calls.log"
    log.touch()
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path), "WORKDIR": str(work), "CMDS": str(cmds),
           "FAKE_LOG": str(log), "FAKE_DIGEST": FAKE_DIGEST, "FAKE_TASKDEF": str(taskdef),
           "FAKE_SCAN_EXIT": str(scan_exit), "FAKE_IMAGE_EXISTS": "1" if image_exists else "0",
           "FAKE_SCAN_FAIL_TAG": scan_fail_tag,
           "CODEBUILD_RESOLVED_SOURCE_VERSION": sha, "CODEBUILD_SRC_DIR_InfraSource": str(tmp_path),
           "REPOSITORY_NAME": "tunecast-dev-api", "REPOSITORY_URI": REPO_URI, "TASK_FAMILY": "tunecast-dev-api"}
    proc = subprocess.run(["bash", "-c", RUNNER], env=env, capture_output=True, text=True, timeout=60)
    return proc.returncode, proc.stdout + proc.stderr, log.read_text().splitlines(), work


def test_web_image_buildspec_runs_and_writes_deploy_artifacts(tmp_path):
    code, out, calls, work = run_image_buildspec(tmp_path, WEB)
    assert code == 0, out
    deploy = work / "deploy"
    assert sorted(p.name for p in deploy.iterdir()) == sorted(load("image-web")["artifacts"]["files"])
    assert json.loads((deploy / "imageDetail.json").read_text()) == {"ImageURI": f"{REPO_URI}@{FAKE_DIGEST}"}
    taskdef = json.loads((deploy / "taskdef.json").read_text())
    assert taskdef["containerDefinitions"][0]["image"] == "<IMAGE1_NAME>"
    assert yaml.safe_load((deploy / "appspec.yaml").read_text())["Resources"][0]["TargetService"]["Properties"] == {
        "TaskDefinition": "<TASK_DEFINITION>", "LoadBalancerInfo": {"ContainerName": "api", "ContainerPort": 3000}}
    tag = SHA[:12]
    assert f"docker build --file Dockerfile --label org.opencontainers.image.revision={SHA} " \
           f"--tag {REPO_URI}:{tag} ." in calls
    assert f"docker push {REPO_URI}:{tag}" in calls
    assert "docker login --username AWS --password-stdin 123456789012.dkr.ecr.eu-west-1.amazonaws.com" in calls
    assert f"scan_gate --repository tunecast-dev-api --tag {tag} --fail-on MEDIUM --timeout 600" in calls
    assert "not-a-real-token" not in out
    assert f"api: {REPO_URI}@{FAKE_DIGEST} pushed, scanned and ready to deploy" in out


def test_findings_fail_the_build_before_any_deploy_artifact(tmp_path):
    code, out, calls, work = run_image_buildspec(tmp_path, WEB, scan_exit=1)
    assert code == 1
    assert "PHASE build FAILED" in out and "api: no image for deployment" in out
    assert not (work / "deploy").exists()
    assert not any(c.startswith("aws ecs") for c in calls)


def test_existing_tag_is_reused_not_rebuilt(tmp_path):
    code, out, calls, work = run_image_buildspec(tmp_path, WEB, image_exists=True)
    assert code == 0, out
    assert not any(c.startswith(("docker build", "docker push")) for c in calls)
    assert any(c.startswith("scan_gate ") for c in calls)
    assert "exists already (immutable tags)" in out


def test_missing_commit_sha_stops_in_pre_build(tmp_path):
    code, out, calls, work = run_image_buildspec(tmp_path, WEB, sha="")
    assert code == 1
    assert "PHASE pre_build FAILED" in out and "no commit SHA" in out
    assert not any(c.startswith("docker") for c in calls)


def test_worker_image_buildspec_writes_image_definitions(tmp_path):
    code, out, calls, work = run_image_buildspec(tmp_path, WORKER)
    assert code == 0, out
    assert json.loads((work / "deploy" / "imagedefinitions.json").read_text()) == [
        {"name": "worker", "imageUri": f"{REPO_URI}@{FAKE_DIGEST}"}]
    assert f"scan_gate --repository tunecast-dev-api --tag {SHA[:12]} --fail-on HIGH --timeout 300" in calls
    assert any(c.startswith("docker build --file docker/worker.Dockerfile") and c.endswith(" services/worker")
               for c in calls)


def test_image_buildspec_builds_pushes_and_scans_a_built_sidecar_in_the_services_repository(tmp_path):
    code, out, calls, work = run_image_buildspec(tmp_path, WEB_SIDECAR)
    assert code == 0, out
    tag = SHA[:12]
    builds = [c for c in calls if c.startswith(("docker build", "docker push", "scan_gate"))]
    assert builds == [
        f"docker build --file Dockerfile --label org.opencontainers.image.revision={SHA} --tag {REPO_URI}:{tag} .",
        f"docker push {REPO_URI}:{tag}",
        f"docker build --file nginx/Dockerfile --label org.opencontainers.image.revision={SHA} "
        f"--tag {REPO_URI}:{tag}-nginx nginx",
        f"docker push {REPO_URI}:{tag}-nginx",
        f"scan_gate --repository tunecast-dev-api --tag {tag} --fail-on MEDIUM --timeout 600",
        f"scan_gate --repository tunecast-dev-api --tag {tag}-nginx --fail-on MEDIUM --timeout 600"]
    # the deploy artifacts name the service's image; the sidecar's follows through the task definition's ImageTag
    assert json.loads((work / "deploy" / "imageDetail.json").read_text()) == {"ImageURI": f"{REPO_URI}@{FAKE_DIGEST}"}


def test_findings_in_a_built_sidecar_image_fail_the_build(tmp_path):
    """The scan gate covers every image the pipeline builds: findings above the threshold in the sidecar's image
    stop the build before any deploy artifact, as they do in the service's."""
    code, out, calls, work = run_image_buildspec(tmp_path, WEB_SIDECAR, scan_fail_tag=f"{SHA[:12]}-nginx")
    assert code == 1
    assert "PHASE build FAILED" in out and "api: no image for deployment" in out
    assert not (work / "deploy").exists()


def test_an_existing_sidecar_tag_is_reused_not_rebuilt(tmp_path):
    code, out, calls, work = run_image_buildspec(tmp_path, WEB_SIDECAR, image_exists=True)
    assert code == 0, out
    assert not any(c.startswith(("docker build", "docker push")) for c in calls)
    assert f"tunecast-dev-api:{SHA[:12]}-nginx exists already (immutable tags)" in out
    assert f"scan_gate --repository tunecast-dev-api --tag {SHA[:12]}-nginx --fail-on MEDIUM --timeout 600" in calls


# --------------------------------------------------------------------------------------------- taskdef helper
def _taskdef_module():
    import importlib.util
    spec = importlib.util.spec_from_file_location("taskdef_from_family", TASKDEF_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_taskdef_helper_strips_read_only_fields_and_sets_the_placeholder():
    helper = _taskdef_module()
    described = sample_describe_task_definition()
    doc = helper.taskdef_for_deploy(described, "api")
    register_input = boto3.client("ecs", region_name="eu-west-1").meta.service_model.operation_model(
        "RegisterTaskDefinition").input_shape.members
    assert sorted(set(doc) - set(register_input)) == [], "taskdef.json must be a RegisterTaskDefinition document"
    for key in helper.READ_ONLY:
        assert key not in doc
    api, xray = doc["containerDefinitions"]
    assert api["image"] == "<IMAGE1_NAME>"
    assert xray["image"] == "public.ecr.aws/xray/aws-xray-daemon:3.3.7"  # sidecars untouched
    assert api["secrets"] == described["taskDefinition"]["containerDefinitions"][0]["secrets"]
    assert doc["family"] == "tunecast-dev-api" and doc["executionRoleArn"].endswith("tunecast-dev-api-execution")
    assert described["taskDefinition"]["containerDefinitions"][0]["image"].startswith(REPO_URI)  # input not mutated
    assert helper.taskdef_for_deploy(described["taskDefinition"], "api") == doc  # bare task definition works too


def test_taskdef_helper_cli_and_errors(tmp_path):
    src = tmp_path / "described.json"
    src.write_text(json.dumps(sample_describe_task_definition()))
    out = tmp_path / "taskdef.json"
    ok = subprocess.run([sys.executable, str(TASKDEF_SCRIPT), "--container", "api", "--input", str(src),
                         "--output", str(out)], capture_output=True, text=True, timeout=30)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(out.read_text())["containerDefinitions"][0]["image"] == "<IMAGE1_NAME>"
    piped = subprocess.run([sys.executable, str(TASKDEF_SCRIPT), "--container", "api"], input=src.read_text(),
                           capture_output=True, text=True, timeout=30)
    assert piped.returncode == 0 and json.loads(piped.stdout) == json.loads(out.read_text())
    wrong = subprocess.run([sys.executable, str(TASKDEF_SCRIPT), "--container", "web", "--input", str(src)],
                           capture_output=True, text=True, timeout=30)
    assert wrong.returncode == 1
    assert wrong.stderr.strip() == (f"taskdef_from_family.py: {src}: expected one container named 'web' in family "
                                    "'tunecast-dev-api', found 0 (containers: 'api', 'xray')")
    bad = subprocess.run([sys.executable, str(TASKDEF_SCRIPT), "--container", "api"], input="[]",
                         capture_output=True, text=True, timeout=30)
    assert bad.returncode == 1 and "input is not a JSON object" in bad.stderr


# --------------------------------------------------------------------------------------------- promote and release
# The pipeline (generator/pipeline/stages.py) runs these per environment; they reach the environment's account through
# an AWS CLI profile that assumes its deploy role (credential_source EcsContainer: CodeBuild's own credentials).
FAKE_AWS_ENV = r"""#!/usr/bin/env python3
import json, os, sys
args = sys.argv[1:]
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write("aws " + " ".join(args) + "\n")
profile = None
if args[:1] == ["--profile"]:
    profile, args = args[1], args[2:]
if args[:2] == ["configure", "set"]:
    pass
elif args[:2] == ["ecr", "get-login-password"]:
    print("not-a-real-token")
elif args[:2] == ["ecr", "describe-repositories"]:
    name = args[args.index("--repository-names") + 1]
    if os.environ.get("FAKE_DENIED") == "1":
        print("An error occurred (AccessDeniedException) when calling DescribeRepositories", file=sys.stderr)
        sys.exit(254)
    if name in os.environ.get("FAKE_MISSING_REPOS", "").split():
        print(f"An error occurred (RepositoryNotFoundException) when calling the DescribeRepositories operation: "
              f"The repository with name '{name}' does not exist", file=sys.stderr)
        sys.exit(254)
elif args[:2] == ["ecr", "describe-images"]:
    # FAKE_TARGET_DIGEST_TAG: only that tag's image landed with FAKE_TARGET_DIGEST
    only = os.environ.get("FAKE_TARGET_DIGEST_TAG")
    wrong = profile and (not only or args[args.index("--image-ids") + 1] == "imageTag=" + only)
    if "--query" in args:
        print(os.environ.get("FAKE_TARGET_DIGEST", os.environ["FAKE_DIGEST"]) if wrong else os.environ["FAKE_DIGEST"])
    elif os.environ.get("FAKE_IMAGE_EXISTS") != "1":
        sys.exit(254)
elif args[:2] == ["ecs", "describe-task-definition"]:
    family = args[args.index("--task-definition") + 1]
    print(open(os.path.join(os.environ["FAKE_TASKDEFS"], family + ".json")).read())
elif args[:2] == ["cloudformation", "deploy"]:  # its arguments exactly, one JSON list per call
    with open(os.environ["FAKE_LOG"] + ".json", "a") as log:
        log.write(json.dumps(args) + "\n")
elif args[:2] == ["s3", "cp"]:  # the run's source artifact: a zip with the app's tests
    import zipfile
    source, dest = [a for a in args[2:] if not a.startswith("--")]
    with zipfile.ZipFile(dest, "w") as zf:
        zf.writestr("e2e/suite.txt", "the app's tests")
else:
    print("fake aws: unexpected call", args, file=sys.stderr)
    sys.exit(2)
"""
FAKE_CURL = r"""#!/bin/sh
echo "curl $*" >> "$FAKE_LOG"
"""
TARGET_REGISTRY = "222222222222.dkr.ecr.eu-west-1.amazonaws.com"
SOURCE_REGISTRY = "111111111111.dkr.ecr.eu-west-1.amazonaws.com"
DEPLOY_ROLE = "arn:aws:iam::222222222222:role/tunecast-pipeline-deploy"


def run_buildspec(tmp_path: Path, case: str, env: dict, doc: dict | None = None, setup=None,
                  described: dict | None = None):
    """Run a rendered buildspec's phases in one bash with fake aws/docker/curl; (exit code, output, calls, workdir).
    `setup(workdir)`: puts the input artifact's files in place; `described`: describe-task-definition answers by
    family, instead of the sample's."""
    doc = doc or load(case)
    bin_dir, scripts, cmds, work = (tmp_path / d for d in ("bin", "scripts", "cmds", "work"))
    for d in (bin_dir, scripts, cmds, work):
        d.mkdir()
    if setup is not None:
        setup(work)
    for name, body in (("aws", FAKE_AWS_ENV), ("docker", FAKE_DOCKER), ("curl", FAKE_CURL),
                       ("python3", f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')):
        (bin_dir / name).write_text(body)
        (bin_dir / name).chmod(0o755)
    (work / "scripts").mkdir()
    (work / "scripts" / "taskdef_from_family.py").symlink_to(TASKDEF_SCRIPT)
    taskdefs = tmp_path / "taskdefs"
    taskdefs.mkdir()
    for service in ("web", "api"):
        family = f"tunecast-staging-{service}"
        (taskdefs / f"{family}.json").write_text(json.dumps((described or {}).get(family) or
                                                            sample_describe_task_definition(family, service)))
    for phase, body in doc["phases"].items():
        for i, command in enumerate(body["commands"]):
            (cmds / f"{phase}.{i:02d}").write_text(command)
    log = tmp_path / "calls.log"
    log.touch()
    base = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path), "WORKDIR": str(work), "CMDS": str(cmds),
            "FAKE_LOG": str(log), "FAKE_DIGEST": FAKE_DIGEST, "FAKE_TASKDEFS": str(taskdefs)}
    proc = subprocess.run(["bash", "-c", RUNNER], env={**base, **env}, capture_output=True, text=True, timeout=60)
    return proc.returncode, proc.stdout + proc.stderr, log.read_text().splitlines(), work


PROMOTE_ENV = {"SOURCE_REGISTRY": SOURCE_REGISTRY, "SOURCE_PREFIX": "tunecast-pipeline-",
               "TARGET_REGISTRY": TARGET_REGISTRY, "TARGET_PREFIX": "tunecast-prod-", "DEPLOY_ROLE_ARN": DEPLOY_ROLE,
               "COMMIT_ID": SHA, "TEMPLATES_ARTIFACT": "Templates", "CONFIG_FILE": "params/prod.config.json"}
# The committed params/prod.config.json as the self-update step ships it (the Templates artifact): every service in
# bootstrap, the environment's other parameters, its tags and its stack policy.
PROD_CONFIG = {"Parameters": {"EnvironmentName": "prod", "WebImageTag": "bootstrap", "ApiImageTag": "bootstrap",
                              "CronImageTag": "bootstrap", "ApiMinCount": "2"},
               "Tags": {"Environment": "prod", "Application": "tunecast"},
               "StackPolicy": {"Statement": [{"Effect": "Allow", "Action": "Update:*", "Principal": "*",
                                              "Resource": "*"}]}}


def run_promote(tmp_path: Path, env: dict, config: dict | None = None, doc: dict | None = None):
    """The promote buildspec with the Templates artifact (params/prod.config.json) as its secondary input."""
    templates = tmp_path / "templates"
    (templates / "params").mkdir(parents=True)
    (templates / "params" / "prod.config.json").write_text(json.dumps(PROD_CONFIG if config is None else config))
    return run_buildspec(tmp_path, "promote", {"CODEBUILD_SRC_DIR_Templates": str(templates), **env}, doc=doc)


def test_promote_copies_each_image_into_the_environment_account_with_its_deploy_role(tmp_path):
    code, out, calls, _ = run_promote(tmp_path, PROMOTE_ENV)
    assert code == 0, out
    tag = SHA[:12]
    assert f"aws configure set profile.deploy.role_arn {DEPLOY_ROLE}" in calls
    assert "aws configure set profile.deploy.credential_source EcsContainer" in calls
    assert f"docker login --username AWS --password-stdin {SOURCE_REGISTRY}" in calls
    assert f"docker login --username AWS --password-stdin {TARGET_REGISTRY}" in calls
    assert "aws --profile deploy ecr get-login-password" in calls and "aws ecr get-login-password" in calls
    for service in ("web", "api", "cron"):
        src, dst = f"{SOURCE_REGISTRY}/tunecast-pipeline-{service}:{tag}", f"{TARGET_REGISTRY}/tunecast-prod-{service}:{tag}"
        assert [c for c in calls if c.startswith("docker") and service in c] == [
            f"docker pull {src}", f"docker tag {src} {dst}", f"docker push {dst}"]
    # every call into the environment's account goes through the deploy role's profile
    assert all(c.startswith("aws --profile deploy ") for c in calls if "tunecast-prod-" in c and c.startswith("aws"))
    assert "not-a-real-token" not in out


def test_promote_skips_images_already_in_the_environment(tmp_path):
    code, out, calls, _ = run_promote(tmp_path, {**PROMOTE_ENV, "FAKE_IMAGE_EXISTS": "1"})
    assert code == 0, out
    assert not any(c.startswith(("docker pull", "docker push")) for c in calls)
    assert out.count("exists already (immutable tags)") == 3


def test_promote_skips_a_service_new_to_the_environment_and_writes_each_services_tag(tmp_path):
    code, out, calls, work = run_promote(tmp_path, {**PROMOTE_ENV, "FAKE_MISSING_REPOS": "tunecast-prod-api"})
    assert code == 0, out
    assert "api: tunecast-prod-api does not exist in the environment yet (a new service): not promoted" in out
    assert not any(c.startswith("docker") and "-api:" in c for c in calls)
    assert [c for c in calls if c.startswith("docker push")] == [
        f"docker push {TARGET_REGISTRY}/tunecast-prod-{s}:{SHA[:12]}" for s in ("web", "cron")]
    tags = {"WebImageTag": SHA[:12], "ApiImageTag": "bootstrap", "CronImageTag": SHA[:12]}
    assert json.loads((work / "image-tags.json").read_text()) == tags
    # the Deploy action's whole template configuration: the committed file with the tags set, nothing else changed
    assert json.loads((work / "template-config.json").read_text()) == {
        **PROD_CONFIG, "Parameters": {**PROD_CONFIG["Parameters"], **tags}}
    assert load("promote")["artifacts"] == {"files": ["image-tags.json", "template-config.json", "sources.json"]}
    assert json.loads((work / "sources.json").read_text()) == {"sources": [
        {"name": "app", "repository": "tunecast/tunecast", "branch": "main", "commit": SHA}]}


def test_promote_tags_each_image_with_the_commit_of_its_source(tmp_path):
    """Several pipeline sources (generator/pipeline/sources.py): api is built from the `code` repository, so its image
    carries that commit's tag; sources.json records both commits."""
    other = "c0ffee" * 6 + "beef"
    doc = yaml.safe_load(buildspecs.render(
        "promote", services=["web", "api", "cron"], sources_file="sources.json",
        sources=[{"name": "app", "repository": "tunecast/infra", "branch": "main"},
                 {"name": "code", "repository": "tunecast/api", "branch": "release"}],
        service_sources={"web": "app", "api": "code", "cron": "app"}))
    commits = json.dumps({"app": SHA, "code": other})
    code, out, calls, work = run_promote(tmp_path, {**PROMOTE_ENV, "SOURCE_COMMITS": commits}, doc=doc)
    assert code == 0, out
    assert f"docker push {TARGET_REGISTRY}/tunecast-prod-api:{other[:12]}" in calls
    assert f"docker push {TARGET_REGISTRY}/tunecast-prod-web:{SHA[:12]}" in calls
    assert json.loads((work / "image-tags.json").read_text()) == {
        "WebImageTag": SHA[:12], "ApiImageTag": other[:12], "CronImageTag": SHA[:12]}
    assert [s["commit"] for s in json.loads((work / "sources.json").read_text())["sources"]] == [SHA, other]


def test_promote_writes_the_commit_tag_for_every_service_into_the_template_configuration(tmp_path):
    """generator/image_tags.py: the Deploy action reads CONFIG_FILE (TemplateConfiguration), stack policy and tags
    included; no parameter travels in ParameterOverrides."""
    code, out, calls, work = run_promote(tmp_path, PROMOTE_ENV)
    assert code == 0, out
    tags = {f"{s}ImageTag": SHA[:12] for s in ("Web", "Api", "Cron")}
    assert json.loads((work / "image-tags.json").read_text()) == tags
    config = json.loads((work / "template-config.json").read_text())
    assert config["Parameters"] == {**PROD_CONFIG["Parameters"], **tags}
    assert (config["Tags"], config["StackPolicy"]) == (PROD_CONFIG["Tags"], PROD_CONFIG["StackPolicy"])
    from generator import image_tags
    assert (image_tags.FILE, image_tags.CONFIG_FILE) == ("image-tags.json", "template-config.json")


def test_promote_writes_the_template_configuration_of_a_50_service_app(tmp_path):
    """Issue 10: however many services, the tags travel in the configuration file, not in ParameterOverrides (1000
    characters, which 50 services' Fn::GetParam entries would pass five times over)."""
    from generator import image_tags
    from tests.large_apps import large_pipeline_spec
    names = [s["name"] for s in large_pipeline_spec()["services"]]
    doc = yaml.safe_load(buildspecs.render("promote", services=names, sources_file="sources.json",
                                           sources=[{"name": "app", "repository": "o/r", "branch": "main"}],
                                           service_sources={n: "app" for n in names}))
    config = {**PROD_CONFIG, "Parameters": {"EnvironmentName": "prod", "StorefrontWeb01MinCount": "2",
                                            **{image_tags.parameter(n): "bootstrap" for n in names}}}
    code, out, calls, work = run_promote(tmp_path, {**PROMOTE_ENV, "FAKE_MISSING_REPOS": "tunecast-prod-storefront-cron-05"},
                                         config, doc)
    assert code == 0, out
    written = json.loads((work / "template-config.json").read_text())
    tags = {image_tags.parameter(n): "bootstrap" if n == "storefront-cron-05" else SHA[:12] for n in names}
    assert len(tags) == 50 and written == {**config, "Parameters": {**config["Parameters"], **tags}}
    assert json.loads((work / "image-tags.json").read_text()) == tags
    assert len([c for c in calls if c.startswith("docker push")]) == 49


def test_promote_refuses_a_template_configuration_without_a_services_tag(tmp_path):
    """The configuration and the pipeline come from the same commit's `make templates`; if they disagree, the Deploy
    action would be handed a stack without the service's parameter: stop here instead."""
    config = {**PROD_CONFIG, "Parameters": {k: v for k, v in PROD_CONFIG["Parameters"].items() if k != "CronImageTag"}}
    code, out, calls, work = run_promote(tmp_path, PROMOTE_ENV, config)
    assert code == 1 and "PHASE build FAILED" in out
    assert "params/prod.config.json has no CronImageTag: it and this pipeline were not generated from the same " \
           "commit" in out
    assert not (work / "template-config.json").exists()


def test_promote_needs_the_template_configuration(tmp_path):
    code, out, calls, work = run_buildspec(tmp_path, "promote", {**PROMOTE_ENV, "CODEBUILD_SRC_DIR_Templates": "/x"})
    assert code == 1
    assert "no params/prod.config.json in the input artifact Templates (the self-update step writes it)" in out
    assert not calls


def test_promote_stops_before_pushing_when_the_environment_was_never_deployed(tmp_path):
    code, out, calls, work = run_promote(tmp_path, {
        **PROMOTE_ENV, "FAKE_MISSING_REPOS": "tunecast-prod-web tunecast-prod-api tunecast-prod-cron"})
    assert code == 1
    assert "PHASE pre_build FAILED" in out
    assert "no repository of this app in the environment's account" in out
    assert "make deploy ENV=<env>" in out
    assert not any(c.startswith("docker") for c in calls) and not (work / "image-tags.json").exists()


def test_promote_fails_on_any_other_error_than_a_missing_repository(tmp_path):
    """A denied role must never turn services into new ones (bootstrap would scale them to zero)."""
    code, out, calls, work = run_promote(tmp_path, {**PROMOTE_ENV, "FAKE_DENIED": "1"})
    assert code == 1
    assert "web: cannot read tunecast-prod-web: An error occurred (AccessDeniedException)" in out
    assert not any(c.startswith("docker") for c in calls) and not (work / "image-tags.json").exists()


@pytest.mark.parametrize("missing", ["DEPLOY_ROLE_ARN", "TARGET_PREFIX", "CONFIG_FILE"])
def test_promote_needs_its_variables(tmp_path, missing):
    env = {k: v for k, v in PROMOTE_ENV.items() if k != missing}
    code, out, calls, _ = run_promote(tmp_path, env)
    assert code == 1 and f"{missing} must be set by the pipeline" in out and not calls


RELEASE_ENV = {"TARGET_REGISTRY": TARGET_REGISTRY, "TARGET_PREFIX": "tunecast-staging-",
               "DEPLOY_ROLE_ARN": DEPLOY_ROLE, "IMAGE_TAGS_ARTIFACT": "StagingTags"}


def run_release(tmp_path: Path, tags: dict | None = None, described: dict | None = None, **env):
    """The release buildspec with the Promote step's image-tags.json as its secondary input artifact."""
    promoted = tmp_path / "promoted"
    promoted.mkdir()
    tags = tags or {"WebImageTag": SHA[:12], "ApiImageTag": SHA[:12], "CronImageTag": SHA[:12]}
    (promoted / "image-tags.json").write_text(json.dumps(tags))
    return run_buildspec(tmp_path, "release", {**RELEASE_ENV, "CODEBUILD_SRC_DIR_StagingTags": str(promoted), **env},
                         described=described)


def test_release_writes_one_blue_green_artifact_per_web_service(tmp_path):
    code, out, calls, work = run_release(tmp_path)
    assert code == 0, out
    assert f"aws --profile deploy ecr describe-images --repository-name tunecast-staging-api --image-ids " \
           f"imageTag={SHA[:12]} --query imageDetails[0].imageDigest --output text" in calls
    doc = load("release")
    assert doc["artifacts"] == {"secondary-artifacts": {
        artifact: {"base-directory": f"release/{service}", "files": ["imageDetail.json", "taskdef.json", "appspec.yaml"]}
        for service, artifact in (("web", "StagingWebRelease"), ("api", "StagingApiRelease"))}}
    for service, port in (("web", 8080), ("api", 3000)):
        folder = work / "release" / service
        assert json.loads((folder / "imageDetail.json").read_text()) == {
            "ImageURI": f"{TARGET_REGISTRY}/tunecast-staging-{service}@{FAKE_DIGEST}"}
        assert yaml.safe_load((folder / "appspec.yaml").read_text())["Resources"][0]["TargetService"]["Properties"] == {
            "TaskDefinition": "<TASK_DEFINITION>", "LoadBalancerInfo": {"ContainerName": service, "ContainerPort": port}}
        assert f"aws --profile deploy ecs describe-task-definition --task-definition tunecast-staging-{service} " \
               "--output json" in calls
        taskdef = json.loads((folder / "taskdef.json").read_text())
        assert taskdef["family"] == f"tunecast-staging-{service}" and "revision" not in taskdef
        assert [c["image"] for c in taskdef["containerDefinitions"]] == [
            "<IMAGE1_NAME>", "public.ecr.aws/xray/aws-xray-daemon:3.3.7"]


def test_release_of_a_single_web_service_uses_the_primary_artifact():
    """An action with one output artifact takes it from the buildspec's primary artifact section."""
    text = buildspecs.render("release", scripts_dir="scripts", releases=[
        dict(service="app", container_name="app", container_port=8000, artifact="DevAppRelease")])
    assert yaml.safe_load(text)["artifacts"] == {"base-directory": "release/app",
                                                 "files": ["imageDetail.json", "taskdef.json", "appspec.yaml"]}


def test_release_fails_when_the_promoted_image_has_no_digest(tmp_path):
    code, out, calls, work = run_release(tmp_path, FAKE_DIGEST="None")
    assert code == 1 and "no digest for tunecast-staging-web" in out
    assert not (work / "release" / "web" / "imageDetail.json").exists()


def test_release_of_a_web_service_still_in_bootstrap_redeploys_its_current_task_definition(tmp_path):
    """A service new to the environment has no image yet: its artifacts re-deploy what it runs (no tasks)."""
    code, out, calls, work = run_release(tmp_path, {"WebImageTag": "bootstrap", "ApiImageTag": SHA[:12]})
    assert code == 0, out
    described = sample_describe_task_definition("tunecast-staging-web", "web")["taskDefinition"]
    current = next(c["image"] for c in described["containerDefinitions"] if c["name"] == "web")
    assert json.loads((work / "release" / "web" / "imageDetail.json").read_text()) == {"ImageURI": current}
    assert "web: new in this environment (bootstrap, no tasks, no image yet)" in out
    assert not any("describe-images" in c and "tunecast-staging-web" in c for c in calls)
    assert json.loads((work / "release" / "api" / "imageDetail.json").read_text()) == {
        "ImageURI": f"{TARGET_REGISTRY}/tunecast-staging-api@{FAKE_DIGEST}"}


def test_release_needs_the_promote_steps_image_tags(tmp_path):
    code, out, calls, work = run_buildspec(tmp_path, "release", RELEASE_ENV)
    assert code == 1 and "no image-tags.json in the input artifact StagingTags" in out


# --------------------------------------------------------------------------------------------- update pipeline
PIPELINE_CONFIG = {"Parameters": {"Application": "tunecast", "Owner": "platform team", "BranchName": "main"},
                   "Tags": {"Environment": "pipeline", "Owner": "platform team", "Application": "tunecast"}}
UPDATE_ENV = {"STACK_NAME": "tunecast-pipeline", "STACK_ROLE_ARN": "arn:aws:iam::111111111111:role/tunecast-pipeline-stack",
              "ARTIFACT_BUCKET": "tunecast-pipeline-111111111111-eu-west-1", "ARTIFACT_KMS_KEY_ID": "arn:aws:kms:k"}


def run_update(tmp_path: Path, env: dict, files: bool = True):
    """The update buildspec in the Templates artifact's folder (packaged/pipeline.yaml, params/pipeline.config.json)."""
    doc = load("update-pipeline")
    code, out, calls, work = run_buildspec(tmp_path, "update-pipeline", env, doc=doc, setup=lambda work: files and (
        (work / "packaged").mkdir(), (work / "packaged" / "pipeline.yaml").write_text("Resources: {}\n"),
        (work / "params").mkdir(), (work / "params" / "pipeline.config.json").write_text(json.dumps(PIPELINE_CONFIG))))
    deploys = [json.loads(line) for line in (tmp_path / "calls.log.json").read_text().splitlines()] \
        if (tmp_path / "calls.log.json").exists() else []
    return code, out, deploys


def test_update_pipeline_deploys_the_packaged_template_through_s3_with_its_configuration(tmp_path):
    """`aws cloudformation deploy --s3-bucket` uploads the template and passes a TemplateURL (awscli
    customizations/cloudformation/deployer.py), so pipeline.yaml may grow to 1 MB; parameters and tags come from the
    template configuration, one argument each (a value with a space stays one)."""
    code, out, deploys = run_update(tmp_path, UPDATE_ENV)
    assert code == 0, out
    assert deploys == [[
        "cloudformation", "deploy", "--stack-name", "tunecast-pipeline", "--template-file", "packaged/pipeline.yaml",
        "--s3-bucket", "tunecast-pipeline-111111111111-eu-west-1", "--s3-prefix", "tunecast/templates",
        "--force-upload", "--kms-key-id", "arn:aws:kms:k", "--role-arn", UPDATE_ENV["STACK_ROLE_ARN"],
        "--capabilities", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND",
        "--parameter-overrides", "Application=tunecast", "Owner=platform team", "BranchName=main",
        "--tags", "Environment=pipeline", "Owner=platform team", "Application=tunecast",
        "--no-fail-on-empty-changeset"]]


@pytest.mark.parametrize("missing", ["STACK_NAME", "STACK_ROLE_ARN", "ARTIFACT_BUCKET"])
def test_update_pipeline_needs_its_variables(tmp_path, missing):
    code, out, deploys = run_update(tmp_path, {k: v for k, v in UPDATE_ENV.items() if k != missing})
    assert code == 1 and f"{missing} must be set by the pipeline" in out and not deploys


def test_update_pipeline_needs_the_self_update_steps_files(tmp_path):
    code, out, deploys = run_update(tmp_path, UPDATE_ENV, files=False)
    assert code == 1 and "no packaged/pipeline.yaml in the input artifact (the self-update step writes it)" in out
    assert not deploys


# --------------------------------------------------------------------------------------------- --update
def update_golden() -> None:
    GOLDEN_DIR.mkdir(parents=True, exist_ok=True)
    for case in sorted(CASES):
        path = GOLDEN_DIR / f"{case}.yml"
        text = rendered(case)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            print(f"updated {path.relative_to(ROOT)}")
    for stale in sorted(set(GOLDEN_DIR.glob("*.yml")) - {GOLDEN_DIR / f"{c}.yml" for c in CASES}):
        stale.unlink()
        print(f"removed {stale.relative_to(ROOT)}")


if __name__ == "__main__":
    if sys.argv[1:] != ["--update"]:
        sys.exit("usage: python -m tests.test_buildspecs --update   (rewrites tests/golden/buildspecs/)")
    update_golden()


# --------------------------------------------------------------------------------------------- integration tests
@pytest.mark.skipif(shutil.which("unzip") is None, reason="unzip is not installed here (CodeBuild's image has it)")
def test_integration_tests_unpack_the_runs_source_before_installing_and_testing(tmp_path):
    """Started by the release gate (not a pipeline action), the build has no source of its own: it fetches the run's
    source artifact, so the install commands and the tests find the app's test code."""
    doc = yaml.safe_load(buildspecs.render(
        "integration_tests", runtime_versions={}, install_commands=["test -f e2e/suite.txt"],
        test_command="cat e2e/suite.txt > reports/junit/ran.xml", reports_dir="reports/junit",
        ready_path="/api/health", ready_timeout=30))
    source = "s3://tunecast-pipeline-111111111111-eu-west-1/tunecast-pipeline/Source/AbC"
    code, out, calls, work = run_buildspec(tmp_path, "integration-tests", {
        "TEST_URL": "http://lb.example:8080", "SOURCE_ARTIFACT": source}, doc=doc)
    assert code == 0, out
    assert calls[1].startswith(f"aws s3 cp --only-show-errors {source} ")   # after `curl --version`
    assert "curl --silent --fail --max-time 5 --output /dev/null http://lb.example:8080/api/health" in calls
    assert (work / "reports" / "junit" / "ran.xml").read_text() == "the app's tests"
    (tmp_path / "again").mkdir()
    code, out, calls, _ = run_buildspec(tmp_path / "again", "integration-tests", {"TEST_URL": "http://x"}, doc=doc)
    assert code != 0 and "SOURCE_ARTIFACT must name the source artifact of the run" in out
    assert not [c for c in calls if not c.startswith("curl --version")]


def test_promote_refuses_an_image_whose_digest_is_not_the_scanned_one(tmp_path):
    """The environment deploys the image the Build stage scanned: its digest in the environment's repository must be
    the build repository's (generator/pipeline/regions.py)."""
    code, out, calls, _ = run_promote(tmp_path, {**PROMOTE_ENV, "FAKE_TARGET_DIGEST": "sha256:" + "0" * 64})
    assert code != 0
    assert f"web: {TARGET_REGISTRY}/tunecast-prod-web:{SHA[:12]} has digest 'sha256:{'0' * 64}', not the scanned " \
           f"image's '{FAKE_DIGEST}': not deployed" in out


def test_promote_reaches_an_environment_in_another_region(tmp_path):
    code, out, calls, _ = run_promote(tmp_path, {**PROMOTE_ENV, "TARGET_REGION": "me-south-1"})
    assert code == 0, out
    deploy_calls = [c for c in calls if c.startswith("aws --profile deploy ")]
    assert deploy_calls and all(c.endswith("--region me-south-1") or "--region me-south-1 " in c for c in deploy_calls)
    # the build repository is read in the pipeline's own region
    assert all("--region" not in c for c in calls if c.startswith("aws ecr "))


def test_promote_copies_a_built_sidecars_image_with_its_service_and_checks_its_digest(tmp_path):
    """A sidecar with `build:` has its image in the service's repository as <tag>-<sidecar>: the environment gets it
    with the service's image, and it too must be the digest the Build stage scanned."""
    tag = SHA[:12]
    config = {**PROD_CONFIG, "Parameters": {k: v for k, v in PROD_CONFIG["Parameters"].items() if k != "CronImageTag"}}
    code, out, calls, work = run_promote(tmp_path, PROMOTE_ENV, config, doc=load("promote-sidecar"))
    assert code == 0, out
    assert [c for c in calls if c.startswith("docker push")] == [
        f"docker push {TARGET_REGISTRY}/tunecast-prod-web:{tag}",
        f"docker push {TARGET_REGISTRY}/tunecast-prod-web:{tag}-nginx",
        f"docker push {TARGET_REGISTRY}/tunecast-prod-api:{tag}"]
    assert f"docker pull {SOURCE_REGISTRY}/tunecast-pipeline-web:{tag}-nginx" in calls
    for side in ("aws", "aws --profile deploy"):
        prefix = "tunecast-pipeline-" if side == "aws" else "tunecast-prod-"
        assert f"{side} ecr describe-images --repository-name {prefix}web --image-ids imageTag={tag}-nginx --query " \
               "imageDetails[0].imageDigest --output text" in calls
    # the sidecar's tag is the service's: one parameter moves both
    assert json.loads((work / "image-tags.json").read_text()) == {"WebImageTag": tag, "ApiImageTag": tag}
    (tmp_path / "wrong").mkdir()
    code, out, calls, work = run_promote(tmp_path / "wrong", {
        **PROMOTE_ENV, "FAKE_TARGET_DIGEST": "sha256:" + "0" * 64, "FAKE_TARGET_DIGEST_TAG": f"{tag}-nginx"},
        config, doc=load("promote-sidecar"))
    assert code != 0
    assert f"web: {TARGET_REGISTRY}/tunecast-prod-web:{tag}-nginx has digest 'sha256:{'0' * 64}', not the " \
           f"scanned image's '{FAKE_DIGEST}': not deployed" in out
    assert not (work / "image-tags.json").exists()


def test_release_keeps_the_new_tag_of_a_built_sidecar_in_the_task_definition(tmp_path):
    """The stack update registered the new revision with the new ImageTag in both containers (the sidecar's image
    is `${Uri}:${ImageTag}-nginx`); the release's taskdef.json replaces only the main container's image with the
    placeholder and keeps the sidecar's new image, so CodeDeploy starts both at the new tag."""
    tag = SHA[:12]
    described = sample_describe_task_definition("tunecast-staging-web", "web")
    described["taskDefinition"]["containerDefinitions"][1] = {
        "name": "nginx", "image": f"{TARGET_REGISTRY}/tunecast-staging-web:{tag}-nginx", "essential": True}
    code, out, calls, work = run_release(tmp_path, described={"tunecast-staging-web": described})
    assert code == 0, out
    taskdef = json.loads((work / "release" / "web" / "taskdef.json").read_text())
    assert [(c["name"], c["image"]) for c in taskdef["containerDefinitions"]] == [
        ("web", "<IMAGE1_NAME>"), ("nginx", f"{TARGET_REGISTRY}/tunecast-staging-web:{tag}-nginx")]


@pytest.mark.parametrize("name", buildspecs.names())
def test_one_code_generation_gives_jinja2_s_variables_and_code(name):
    """_compiled collects a buildspec's variables in the code generation that compiles it: the same set as
    jinja2.meta.find_undeclared_variables (a second generation), and the same code as `Environment.compile`."""
    import jinja2.meta

    env = buildspecs.environment()
    filename = name + buildspecs.SUFFIX
    source, path, _ = env.loader.get_source(env, filename)
    template, known = buildspecs._compiled(filename)
    assert known == frozenset(jinja2.meta.find_undeclared_variables(env.parse(source, filename, path)))
    assert known   # not vacuous: every buildspec takes variables
    reference = env.get_template(filename)
    assert template.root_render_func.__code__.co_code == reference.root_render_func.__code__.co_code
    assert template.root_render_func.__code__.co_consts == reference.root_render_func.__code__.co_consts
    assert sorted(template.blocks) == sorted(reference.blocks)
