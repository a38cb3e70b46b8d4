"""Safe renames (generator/renames.py): a build that drops a stateful resource of the previous build (the template
directory before the swap) says so, names it with its physical name and fate, and says how to keep it."""
from __future__ import annotations

import copy

import pytest
import yaml

from generator import cfnyaml, renames
from generator.build import render_app, write
from generator.config import parse_app, renamed
from tests.support import DEFAULT_APP, FIXTURE_APPS

MINIMAL = yaml.safe_load((FIXTURE_APPS / "minimal.yaml").read_text())


def _templates(raw: dict) -> dict[str, dict]:
    return {name: cfnyaml.loads(text) for name, text in render_app(parse_app(raw)).templates.items()
            if name.endswith(".yaml")}


def _renamed(raw: dict, old: str, new: str) -> dict:
    raw = copy.deepcopy(raw)
    for service in raw["services"]:
        if service["name"] == old:
            service["name"] = new
    for env in raw["environments"].values():
        if old in env.get("services", {}):
            env["services"][new] = env["services"].pop(old)
    return raw


def test_a_renamed_service_names_its_repository_and_log_group_and_how_to_keep_them():
    before, after = _templates(MINIMAL), _templates(_renamed(MINIMAL, "app", "site"))
    assert renames.warnings(before, after, "templates_out") == [
        "warning: templates_out/: this build drops 2 stateful resources that the previous build in templates_out/ "
        "has; the next deploy removes them from the stacks, and what takes their place starts empty:",
        "  registry.yaml: AppRepository (AWS::ECR::Repository, ${Application}-${EnvironmentName}-app): kept in the "
        "account but no longer managed (DeletionPolicy RetainExceptOnCreate)",
        "  service-app.yaml: LogGroup (AWS::Logs::LogGroup, /${Application}/${EnvironmentName}/services/app): kept in "
        "the account but no longer managed (DeletionPolicy RetainExceptOnCreate)",
        "  services renamed? (app -> site): a service's name names its stack, image repository and log group; to "
        "keep them under the new name, add `renamed_from: app` on service site in app.yaml (services[].renamed_from)",
        "  nothing is deployed by a build: review this with `make diff ENV=...` before `make deploy`"]


def test_a_removed_service_is_named_as_removed():
    raw = copy.deepcopy(MINIMAL)
    raw["services"].append({"name": "admin", "kind": "web", "port": 8001,
                            "routing": {"path_patterns": ["/admin/*"], "priority": 5}})
    lines = renames.warnings(_templates(raw), _templates(MINIMAL), "out")
    assert [d.logical_id for d in renames.dropped(_templates(raw), _templates(MINIMAL))] == ["AdminRepository",
                                                                                              "LogGroup"]
    assert "  services removed: admin; if that is not intended, put them back in app.yaml" in lines
    assert not any("renamed?" in line for line in lines)


@pytest.mark.parametrize("change", ["same", "new service", "more memory"])
def test_changes_that_keep_every_stateful_resource_say_nothing(change):
    raw = copy.deepcopy(MINIMAL)
    if change == "new service":
        raw["services"].append({"name": "jobs", "kind": "worker"})
    elif change == "more memory":
        raw["services"][0]["memory"] = 2048
    assert renames.warnings(_templates(MINIMAL), _templates(raw), "templates_out") == []


def test_the_fate_follows_the_deletion_policy():
    before = {"data.yaml": {"Resources": {
        "Jobs": {"Type": "AWS::SQS::Queue", "DeletionPolicy": "Retain", "Properties": {"QueueName": "q"}},
        "Files": {"Type": "AWS::S3::Bucket", "Properties": {}}}}}
    lines = renames.warnings(before, {"data.yaml": {"Resources": {}}}, "templates_out")
    assert lines[1] == "  data.yaml: Files (AWS::S3::Bucket): deleted (DeletionPolicy Delete)"
    assert lines[2] == "  data.yaml: Jobs (AWS::SQS::Queue, q): kept in the account but no longer managed " \
                       "(DeletionPolicy Retain)"


def test_no_previous_build_or_an_unreadable_file_is_no_reference(tmp_path):
    assert renames.previous_templates(tmp_path / "absent") == {}
    (tmp_path / "root.yaml").write_text("Resources: [unclosed")
    (tmp_path / "note.yaml").write_text("just text")
    assert renames.previous_templates(tmp_path) == {}


def test_the_build_warns_against_the_output_it_replaces_and_still_writes(tmp_path):
    out, params = tmp_path / "templates_out", tmp_path / "params"
    said: list[str] = []
    write(parse_app(MINIMAL), out, params, note=said.append)
    assert said == []                                        # a first build has nothing to compare against
    write(parse_app(_renamed(MINIMAL, "app", "site")), out, params, note=said.append)
    assert said[0].startswith("warning: templates_out/: this build drops 2 stateful resources")
    assert "  services renamed? (app -> site)" in said[3]
    # a warning, not a refusal
    assert (out / "service-site.yaml").is_file() and not (out / "service-app.yaml").exists()
    said.clear()
    write(parse_app(_renamed(MINIMAL, "app", "site")), out, params, note=said.append)
    assert said == []                                        # the reference moved on with the swap


def test_another_app_in_place_of_the_previous_one_is_not_a_rename(tmp_path):
    """Replacing the example app.yaml with your own app is not renaming its services: the previous output was of
    another app, whose stacks (`<other app>-<env>`) deploying this one never touches."""
    out, params = tmp_path / "templates_out", tmp_path / "params"
    write(parse_app(MINIMAL), out, params)
    assert renames.previous_app(params) == "mini"
    said: list[str] = []
    write(parse_app({**_renamed(MINIMAL, "app", "site"), "app": "other"}), out, params, note=said.append)
    assert said == [] and renames.previous_app(params) == "other"
    assert renames.previous_app(tmp_path / "absent") is None


# --- make diff: the same removals against the deployed stacks ---------------------------------------------------------
NESTED_ID = "arn:aws:cloudformation:eu-west-1:111111111111:stack/shop-dev-ServiceApp-X1/2"


def test_diff_itemises_the_stateful_resources_of_a_removed_nested_stack():
    """A change set that removes a nested stack (a renamed service's) does not list that stack's resources; the
    preview reads them from the deployed template and flags the stateful ones with their DeletionPolicy's fate."""
    import boto3
    from botocore.stub import Stubber

    from scripts.deploylib import changesets, preview
    cf = boto3.client("cloudformation", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="y")
    deployed = render_app(parse_app(MINIMAL)).templates["service-app.yaml"]
    with Stubber(cf) as stub:
        stub.add_response("describe_change_set", {"StackName": "shop-dev", "Changes": [
            {"Type": "Resource", "ResourceChange": {"Action": "Remove", "LogicalResourceId": "ServiceApp",
                                                    "PhysicalResourceId": NESTED_ID,
                                                    "ResourceType": "AWS::CloudFormation::Stack"}},
            {"Type": "Resource", "ResourceChange": {"Action": "Add", "LogicalResourceId": "ServiceSite",
                                                    "ResourceType": "AWS::CloudFormation::Stack"}}]},
            {"ChangeSetName": "arn:cs"})
        stub.add_response("get_template", {"TemplateBody": deployed},
                          {"StackName": NESTED_ID, "TemplateStage": "Original"})
        tree = changesets.describe_tree(cf, "arn:cs")
    assert [(s.path, [(c.action, c.logical_id, c.policy_action) for c in s.changes]) for s in tree][1] == (
        ("ServiceApp",), [("Remove", "LogGroup", "Retain")])
    text = preview.render(changesets.Preview("shop-dev", "preview-1", "UPDATE", "eu-west-1", (), tuple(tree)))
    assert "** STATEFUL RESOURCES (1)" in text
    assert "shop-dev/ServiceApp/LogGroup (AWS::Logs::LogGroup) removed: kept (DeletionPolicy Retain)" in text


def test_diff_without_the_removed_stacks_template_still_previews():
    import boto3
    from botocore.stub import Stubber

    from scripts.deploylib import changesets
    cf = boto3.client("cloudformation", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="y")
    with Stubber(cf) as stub:
        stub.add_response("describe_change_set", {"StackName": "shop-dev", "Changes": [
            {"Type": "Resource", "ResourceChange": {"Action": "Remove", "LogicalResourceId": "ServiceApp",
                                                    "PhysicalResourceId": NESTED_ID,
                                                    "ResourceType": "AWS::CloudFormation::Stack"}}]},
            {"ChangeSetName": "arn:cs"})
        stub.add_client_error("get_template", "ValidationError", "Stack does not exist")
        tree = changesets.describe_tree(cf, "arn:cs")
    assert len(tree) == 1


# ------------------------------------------------------------------------------------------------ renamed_from
def _renamed_from(raw: dict, old: str, new: str) -> dict:
    """The rename as a user writes it: the new name everywhere app.yaml names the service, the old one kept as
    `renamed_from`."""
    raw = _renamed(raw, old, new)
    next(s for s in raw["services"] if s["name"] == new)["renamed_from"] = old
    if (raw.get("migrate") or {}).get("service") == old:
        raw["migrate"]["service"] = new
    builds = (raw.get("pipeline") or {}).get("builds") or {}
    if old in builds:
        builds[new] = builds.pop(old)
    return raw


def test_a_service_renamed_with_renamed_from_builds_the_same_templates_and_parameters():
    """Renaming `api` to `backend` in the default app (web service behind CodeDeploy, migrations, per-environment
    settings, pipeline builds) with `renamed_from: api` writes byte-identical templates, parameter files and
    buildspecs: every logical id and physical name (repository, ECS service, log group, task family, CodeDeploy
    application and group, target groups, alarms, parameters, container name) is the old one, so nothing is
    replaced; and the build's rename warning stays silent."""
    raw = yaml.safe_load(DEFAULT_APP.read_text())
    before, after = render_app(parse_app(raw)), render_app(parse_app(_renamed_from(raw, "api", "backend")))
    assert after.templates == before.templates
    assert after.params == before.params
    parsed = {name: cfnyaml.loads(text) for name, text in after.templates.items() if name.endswith(".yaml")}
    assert "service-api.yaml" in parsed and "service-backend.yaml" not in parsed
    assert renames.warnings({n: cfnyaml.loads(t) for n, t in before.templates.items() if n.endswith(".yaml")},
                            parsed, "templates_out") == []


def test_a_renamed_service_image_is_built_from_the_new_name_folder_by_default():
    """Only where the image is built from follows app.yaml's new name: `jobs` renamed `worker` (no
    `pipeline.builds` entry) builds `worker/Dockerfile` in `worker/`, under its old name."""
    raw = yaml.safe_load(DEFAULT_APP.read_text())
    app = parse_app(_renamed_from(raw, "jobs", "worker"))
    deployed = renamed.deployed(app)
    assert [s.name for s in deployed.services] == [s["name"] for s in raw["services"]]
    assert all(s.renamed_from is None for s in deployed.services)
    assert renamed.deployed_name(app, "worker") == "jobs" and renamed.deployed_name(app, "api") == "api"
    assert deployed.pipeline.build_of("jobs") == ("worker/Dockerfile", "worker")
    assert deployed.pipeline.build_of("api") == app.pipeline.build_of("api")
    assert renamed.deployed(parse_app(raw)) == parse_app(raw)        # nothing renamed: the app itself


def test_renamed_from_in_the_runbooks_and_the_day2_commands():
    """The runbooks name the service by its new name and its resources by the old one; `SERVICE=<new name>`
    finds the service under its old name."""
    from generator.runbooks import model as runbooks
    from scripts.deploylib.target import Target
    from scripts.opslib.context import Ops, OpsOptions
    app = parse_app(_renamed_from(copy.deepcopy(MINIMAL), "app", "site"))
    env = next(iter(app.environments))
    service = runbooks.build(app, env).services[0]
    assert (service.name, service.repository, service.log_group) == (
        "site", f"{app.app}-{env}-app", f"/{app.app}/{env}/services/app")
    target = Target(app=renamed.deployed(app), env=env, spec=app.environments[env], region=app.region,
                    templates_dir=None, params_dir=None, parameters=(), tags=(), stack_policy=None,
                    renamed=tuple(renamed.renames(app).items()))
    ops = Ops(target, aws=None, console=None, options=OpsOptions(service="site"))
    assert ops.service().name == "app" and ops.log_group(ops.service().name) == f"/{app.app}/{env}/services/app"
