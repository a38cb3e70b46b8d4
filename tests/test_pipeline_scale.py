"""The pipeline of a 50-service app (30 web with routing, 15 workers, 5 cron) in three environments (issue 10, item 4):
stages and actions within CodePipeline's quotas, release artifacts over as many PrepareRelease actions as needed, the
whole template configuration from the Promote step, templates within their budgets measured as sent, lint- and
checkov-clean.

The app comes from tests/large_apps.py. Its root template is stream D's (the 200-parameter budget): until that lands
root.build refuses 50 services, so these tests render the pipeline templates with generator.pipeline.build over the
environment's nested stacks (what the pipeline reads of them: resource types, for its capabilities and the
CloudFormation role's grants), not through the full `make templates`.

CodePipeline quotas (user guide, "Quotas in AWS CodePipeline"): 50 actions per stage, 500 per pipeline, 50 stages,
1000 characters per action configuration value; a CodeBuild action has at most five output artifacts.
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from generator import pipeline, render
from generator.config import AppSpec
from generator.lint import budgets, gate
from generator.pipeline import approvals, plan, quotas
from tests.large_apps import environment_stacks, large_pipeline_app, large_pipeline_spec
from tests.support import CHECKOV
from tests.templates import load

LARGE = large_pipeline_app()
WEB = [s.name for s in LARGE.services if s.kind == "web"]
INVALID = Path(__file__).parent / "fixtures" / "invalid"


_RENDERED: dict[int, tuple[AppSpec, dict[str, str]]] = {}


def rendered(app: AppSpec = LARGE) -> dict[str, str]:
    """The pipeline's files for `app`, rendered once per app (about 3 s for 50 services)."""
    if id(app) not in _RENDERED:
        files = pipeline.build(app, environment_stacks(app))
        _RENDERED[id(app)] = (app, {**{name: render.template_text(t) for name, t in files.templates.items()},
                                    **files.extra_files})
    return _RENDERED[id(app)][1]


def stages(app: AppSpec = LARGE) -> list[dict]:
    return load(rendered(app)["pipeline.yaml"])["Resources"]["Pipeline"]["Properties"]["Stages"]


def sub_text(value) -> str:
    if isinstance(value, dict) and "Fn::Sub" in value:
        sub = value["Fn::Sub"]
        return sub if isinstance(sub, str) else sub[0]
    return value


# ------------------------------------------------------------------------------------------------- stages and actions
def test_the_stages_of_a_50_service_app_fit_codepipelines_quotas():
    """Builds: 50 actions, one stage (the quota exactly). Per environment: Promote, Deploy, six PrepareRelease (five
    web services each), 30 releases, and the gates beside them; production adds ProtectNestedStacks."""
    table = [(s["Name"], len(s["Actions"])) for s in stages()]
    assert table == [("Source", 1), ("UpdatePipeline", 2), ("Build", 50), ("DeployDev", 38), ("DeployStaging", 40),
                     ("ApproveProd", 1), ("DeployProd", 40)]
    assert all(count <= plan.ACTIONS_PER_STAGE for _, count in table)
    assert sum(count for _, count in table) == 172 <= plan.ACTIONS_PER_PIPELINE
    staging = {a["Name"]: a["RunOrder"] for a in stages()[4]["Actions"]}
    assert {staging[f"PrepareRelease{n}" if n > 1 else "PrepareRelease"] for n in range(1, 7)} == {3}
    assert staging["IntegrationTests"] == staging["ApproveReroute"] == staging["ReleaseStorefrontWeb30"] == 4


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_release_artifacts_spread_over_prepare_release_actions_of_five(env):
    """Each PrepareRelease writes at most five artifacts (its project's buildspec names exactly those, as CodeBuild
    matches secondary artifacts to the action's outputs by name), and every release reads one written before it."""
    stage = next(s for s in stages() if s["Name"] == f"Deploy{env.capitalize()}")
    builds = load(rendered()["pipeline-builds.yaml"])["Resources"]
    written: dict[str, int] = {}
    projects = set()
    for a in stage["Actions"]:
        if not a["Name"].startswith("PrepareRelease"):
            continue
        outputs = [o["Name"] for o in a["OutputArtifacts"]]
        assert 1 <= len(outputs) <= plan.OUTPUTS_PER_BUILD_ACTION
        _, output = a["Configuration"]["ProjectName"]["Fn::GetAtt"]
        title = output.removeprefix("Outputs.")
        projects.add(title)
        spec = yaml.safe_load(builds[title]["Properties"]["Source"]["BuildSpec"])
        assert sorted(spec["artifacts"]["secondary-artifacts"]) == sorted(outputs), title
        written.update({o: a["RunOrder"] for o in outputs})
    assert len(projects) == 6 and len(written) == 30
    releases = [a for a in stage["Actions"] if a["ActionTypeId"]["Provider"] == "CodeDeployToECS"]
    assert len(releases) == len(WEB)
    for a in releases:
        artifact, = [i["Name"] for i in a["InputArtifacts"]]
        assert written[artifact] < a["RunOrder"]


def test_every_deploy_reads_the_promote_steps_template_configuration_and_nothing_is_overridden():
    deploys = [a for s in stages() for a in s["Actions"] if a["ActionTypeId"]["Provider"] == "CloudFormation"]
    assert [a["Configuration"]["TemplateConfiguration"] for a in deploys] == [
        "DevTags::template-config.json", "StagingTags::template-config.json", "ProdTags::template-config.json"]
    assert not [a for a in deploys if "ParameterOverrides" in a["Configuration"]]
    promote = yaml.safe_load(load(rendered()["pipeline-builds.yaml"])["Resources"]["PromoteProject"]["Properties"][
        "Source"]["BuildSpec"])
    text = "\n".join(promote["phases"]["build"]["commands"])
    assert all(f"{name}={name.replace('-', ' ').title().replace(' ', '')}ImageTag" in text
               for name in (s.name for s in LARGE.services))


def test_every_action_configuration_value_fits_1000_characters_as_deployed():
    """The app's names, its accounts and the partition substituted, as CloudFormation hands them to CodePipeline."""
    for stage in stages():
        for a in stage["Actions"]:
            env = next((e for e in LARGE.environments if stage["Name"].endswith(e.capitalize())), "dev")
            for key, value in a["Configuration"].items():
                text = sub_text(value)
                if isinstance(text, str):
                    assert len(quotas.deployed(LARGE, env, text)) <= quotas.CONFIGURATION_VALUE, (a["Name"], key)
    approval = next(a for a in stages()[4]["Actions"] if a["Name"] == "ApproveReroute")
    assert "storefront-web-02, storefront-web-07 waits" in approval["Configuration"]["CustomData"]


def test_the_reroute_rules_name_every_held_release_within_eventbridges_limit():
    gates = load(rendered()["pipeline-gates.yaml"])["Resources"]
    staging = gates["RerouteStagingRule"]["Properties"]
    assert staging["EventPattern"]["detail"]["stage"] == ["DeployStaging"]
    text, _ = staging["Targets"][0]["InputTransformer"]["InputTemplate"]["Fn::Sub"]
    assert len(quotas.deployed(LARGE, "staging", text)) <= quotas.RULE_INPUT
    assert len(json.loads(text.replace("<", '"<').replace(">", '>"'))["targets"]) == 30


# ------------------------------------------------------------------------------------------------- sizes and the gate
def test_the_pipeline_templates_fit_their_budgets_measured_as_sent():
    """pipeline.yaml is deployed through S3 (the UpdatePipeline step's `aws cloudformation deploy --s3-bucket`), its
    nested templates too (1 MB each), and deploy-role.yaml (`make deploy-role` passes a TemplateURL: 1 MB). Measured
    packaged, with room to grow."""
    texts = {n: t for n, t in rendered().items() if n.endswith(".yaml")}
    for name, text in texts.items():
        assert budgets.check(name, text, is_root=name in pipeline.INLINE, region=LARGE.region) == [], name
    sent = {n: len(budgets.packaged(t, LARGE.region).encode()) for n, t in texts.items()}
    assert sent["pipeline.yaml"] < 0.3 * budgets.S3_BYTES
    assert sent["pipeline-builds.yaml"] < 0.5 * budgets.S3_BYTES
    assert max(sent["pipeline-roles.yaml"], sent["pipeline-gates.yaml"]) < 0.1 * budgets.S3_BYTES
    # The deploy role grows with resource types and environments, not services (about 50 KB for the default app with
    # three environments): sent from S3 like pipeline.yaml, so far from its 1 MB.
    assert sent["deploy-role.yaml"] < 0.1 * budgets.S3_BYTES
    assert "pipeline.yaml" not in pipeline.INLINE and "deploy-role.yaml" not in pipeline.INLINE


def test_the_pipeline_templates_of_a_50_service_app_are_lint_clean(tmp_path):
    """cfn-lint with the project rules, and the pipeline stack role against the resource handlers of what it deploys
    (the environment's CloudFormation role needs the root template, which is stream D's)."""
    render.write_files(rendered(), tmp_path)
    assert gate.cfn_lint(tmp_path, "t", LARGE.region) == []
    parsed = gate.staged_templates(tmp_path)
    files = pipeline.build(LARGE, environment_stacks(LARGE))
    assert gate.handler_permissions(tmp_path, "t", LARGE.region, files.deployers, parsed) == []


@pytest.mark.slow
def test_the_pipeline_templates_of_a_50_service_app_are_checkov_clean(tmp_path):
    if not CHECKOV.exists():
        pytest.fail(f"{CHECKOV} is missing: run `make test`, which installs it from requirements-checkov.lock")
    render.write_files({n: t for n, t in rendered().items() if n.endswith(".yaml")}, tmp_path)
    proc = subprocess.run([str(CHECKOV), "-d", str(tmp_path), "--framework", "cloudformation", "--quiet", "--compact",
                           "--skip-download", "-o", "json"], capture_output=True, text=True, timeout=300)
    reports = json.loads(proc.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    assert [c["check_id"] for r in reports for c in r["results"]["failed_checks"]] == []
    assert sum(r["summary"]["passed"] for r in reports) > 100


def test_more_environments_add_stages_within_the_quotas_and_the_budgets():
    """Five environments of the same 50 services: a Deploy stage each (40 or fewer actions), within 500 actions and
    50 stages; pipeline.yaml grows by about 55 KB per environment, still far inside the 1 MB it is sent in."""
    app = large_pipeline_app(environments=("dev", "qa", "staging", "preprod", "prod"))
    table = [(s["Name"], len(s["Actions"])) for s in stages(app)]
    assert table == [("Source", 1), ("UpdatePipeline", 2), ("Build", 50), ("DeployDev", 38), ("DeployQa", 38),
                     ("DeployStaging", 40), ("DeployPreprod", 38), ("ApproveProd", 1), ("DeployProd", 40)]
    assert sum(count for _, count in table) == 248
    for name, text in rendered(app).items():
        if name.endswith(".yaml"):
            assert budgets.check(name, text, is_root=name in pipeline.INLINE, region=app.region) == [], name
    assert len(budgets.packaged(rendered(app)["pipeline.yaml"], app.region)) < 0.4 * budgets.S3_BYTES


# ------------------------------------------------------------------------------------------------- further growth
def test_past_50_services_the_builds_spread_evenly_over_stages():
    app = AppSpec.model_validate(large_pipeline_spec(web=30, workers=40, cron=31))
    builds = [s for s in plan.stages(app) if s.name.startswith("Build")]
    assert [(s.name, len(s.steps)) for s in builds] == [("Build", 34), ("Build2", 34), ("Build3", 33)]
    assert [step.services[0] for s in builds for step in s.steps] == [svc.name for svc in app.services]


def test_releases_that_do_not_fit_beside_the_deploy_move_into_their_own_stage():
    """40 web services: with Promote, Deploy, ProtectNestedStacks and eight PrepareRelease actions the environment
    needs 53 actions, so its releases and their gates run in Release<Env>, all in one stage (the tests wait for every
    release), and the rule that continues them listens to that stage."""
    app = AppSpec.model_validate(large_pipeline_spec(web=40, workers=5, cron=5))
    table = [(s["Name"], len(s["Actions"])) for s in stages(app)]
    assert table == [("Source", 1), ("UpdatePipeline", 2), ("Build", 50), ("DeployDev", 50), ("DeployStaging", 10),
                     ("ReleaseStaging", 42), ("ApproveProd", 1), ("DeployProd", 11), ("ReleaseProd", 41)]
    release = next(s for s in stages(app) if s["Name"] == "ReleaseStaging")
    assert {a["RunOrder"] for a in release["Actions"]} == {1}
    assert {"IntegrationTests", "ApproveReroute"} <= {a["Name"] for a in release["Actions"]}
    gates = load(rendered(app)["pipeline-gates.yaml"])["Resources"]
    assert gates["RerouteStagingRule"]["Properties"]["EventPattern"]["detail"]["stage"] == ["ReleaseStaging"]
    assert gates["RerouteProdRule"]["Properties"]["EventPattern"]["detail"]["stage"] == ["ReleaseProd"]


@pytest.mark.parametrize("case, template, measured", [
    ("pipeline-gate-inputs-too-long", "pipeline.yaml", "UserParameters"),
    ("pipeline-gate-inputs-too-long", "pipeline-gates.yaml", "InputTemplate"),
])
def test_the_quota_rule_measures_what_the_templates_would_hold(case, template, measured):
    """The lengths the spec rule reports (tests/fixtures/invalid/<case>/error.txt) are those of the values the
    pipeline templates would hold for that app, deployed."""
    raw = yaml.safe_load((INVALID / case / "app.yaml").read_text())
    app = AppSpec.model_validate(raw)
    env = app.test_environment()
    found = []

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == measured:
                    found.append(len(quotas.deployed(app, env, sub_text(value))))
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
    walk(load(rendered(app)[template]))
    reported = [int(w) for line in (INVALID / case / "error.txt").read_text().splitlines()
                for w in line.split() if w.isdigit() and int(w) > 1000 and w not in ("8192", "1000")]
    assert found and max(found) in reported
    assert approvals.needed(app)
