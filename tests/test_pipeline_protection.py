"""The pipeline protects a production environment's nested stacks, not only its root.

The CloudFormation deploy action applies the template configuration's `StackPolicy` to the stack it deploys, the
root; "a stack policy applies only to the stack it is associated with" (CloudFormation user guide, Prevent updates
to stack resources), and the root holds nothing but nested stacks. So each production Deploy is followed by
ProtectNestedStacks: a CodeBuild action running scripts/nested_stack_policy.py (the code `make deploy` runs, tested
in tests/test_nested_stack_policy.py) through the environment's deploy role. What no test here can show: CodeBuild
assuming the role and the calls succeeding in a real account.
"""
from __future__ import annotations

import json

import yaml

from generator.build import render_app
from generator.config import load_app, parse_app
from tests.support import DEFAULT_APP
from tests.templates import load

APP = load_app(DEFAULT_APP)
RENDERED = render_app(APP)
PIPELINE = load(RENDERED.templates["pipeline.yaml"])
BUILDS = load(RENDERED.templates["pipeline-builds.yaml"])
ROLES = load(RENDERED.templates["pipeline-roles.yaml"])
DEPLOY_ROLE = load(RENDERED.templates["deploy-role.yaml"])
STAGES = {s["Name"]: {a["Name"]: a for a in s["Actions"]}
          for s in PIPELINE["Resources"]["Pipeline"]["Properties"]["Stages"]}


def _variables(action: dict) -> dict[str, str]:
    value = action["Configuration"]["EnvironmentVariables"]
    text = value["Fn::Sub"][0] if isinstance(value, dict) else value
    return {v["name"]: v["value"] for v in json.loads(text)}


def test_every_production_deploy_is_followed_by_protect_nested_stacks_and_only_production():
    production = {env for env, spec in APP.environments.items() if spec.production}
    assert production == {"prod"}
    for env in APP.environments:
        stage = STAGES[f"Deploy{env.capitalize()}"]
        assert ("ProtectNestedStacks" in stage) == (env in production), env
    stage = STAGES["DeployProd"]
    protect, deploy = stage["ProtectNestedStacks"], stage["Deploy"]
    assert protect["RunOrder"] > deploy["RunOrder"]
    assert protect["ActionTypeId"] == {"Category": "Build", "Owner": "AWS", "Provider": "CodeBuild", "Version": "1"}
    assert protect["Configuration"]["ProjectName"] == {"Fn::GetAtt": ["Builds", "Outputs.ProtectProject"]}
    assert [a["Name"] for a in protect["InputArtifacts"]] == ["Source", "Templates"]
    assert protect["Configuration"]["PrimarySource"] == "Source"
    # the same stack policy as the Deploy action's: it reads the Promote step's copy of this very file, which changes
    # only the image tags (tests/test_buildspecs.py, the promote buildspec run)
    assert deploy["Configuration"]["TemplateConfiguration"] == "ProdTags::template-config.json"
    promote = _variables(stage["Promote"])
    assert (promote["TEMPLATES_ARTIFACT"], promote["CONFIG_FILE"]) == ("Templates", "params/prod.config.json")
    assert _variables(protect) == {
        "STACK_NAME": "${Application}-prod", "CONFIG_FILE": "params/prod.config.json", "TEMPLATES_ARTIFACT": "Templates",
        "DEPLOY_ROLE_ARN": "arn:${AWS::Partition}:iam::${Account}:role/${Application}-pipeline-deploy"}
    assert protect["Configuration"]["EnvironmentVariables"]["Fn::Sub"][1] == {"Account": {"Ref": "ProdAccountId"}}


def test_the_project_runs_the_script_through_the_deploy_role_profile():
    project = BUILDS["Resources"]["ProtectProject"]["Properties"]
    assert project["ServiceRole"] == {"Ref": "ReleaseRoleArn"}
    spec = yaml.safe_load(project["Source"]["BuildSpec"])
    commands = "\n".join(c for phase in spec["phases"].values() for c in phase["commands"])
    assert "aws configure set profile.deploy.role_arn \"$DEPLOY_ROLE_ARN\"" in commands
    assert "aws configure set profile.deploy.credential_source EcsContainer" in commands
    assert ('AWS_PROFILE=deploy python3 "scripts/nested_stack_policy.py" --stack "$STACK_NAME" '
            '--config "${!templates_dir:?}/$CONFIG_FILE"') in commands


def test_the_release_role_may_write_its_logs_and_assume_the_deploy_role():
    statements = {s["Sid"]: s for s in
                  ROLES["Resources"]["ReleaseRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]}
    logs = [r["Fn::Sub"] for r in statements["WriteBuildLogs"]["Resource"]]
    assert any(r.endswith(":log-stream:protect/*") for r in logs), logs
    assert "sts:AssumeRole" in statements["ActInEnvironmentAccounts"]["Action"]


def test_the_deploy_role_may_list_and_protect_the_production_nested_stacks_only():
    role = DEPLOY_ROLE["Resources"]["DeployRole"]["Properties"]
    statements = {s["Sid"]: s for s in role["Policies"][0]["PolicyDocument"]["Statement"]}
    protect = statements["ProtectNestedStacks"]
    assert sorted(protect["Action"]) == ["cloudformation:ListStackResources", "cloudformation:SetStackPolicy"]
    assert [r["Fn::Sub"] for r in protect["Resource"]] == [
        "arn:${AWS::Partition}:cloudformation:${AWS::Region}:${AWS::AccountId}:stack/${Application}-prod/*",
        "arn:${AWS::Partition}:cloudformation:${AWS::Region}:${AWS::AccountId}:stack/${Application}-prod-*/*"]


def test_an_app_without_services_still_protects_its_production_nested_stacks():
    spec = yaml.safe_load((DEFAULT_APP).read_text())
    spec["services"] = []
    spec.pop("migrate", None)                 # no service to migrate with
    spec["pipeline"].pop("builds")
    spec["frontend"].pop("build", None)      # nothing to build: no build role (tests/test_pipeline_frontend.py)
    for env in spec["environments"].values():
        env.pop("services", None)
    for key in ("test_command", "test_install_commands", "test_runtime_versions", "test_ready_path",
                "test_reports_dir", "test_network", "test_environment"):
        spec["pipeline"].pop(key, None)
    rendered = render_app(parse_app(spec))
    pipeline = load(rendered.templates["pipeline.yaml"])
    names = [a["Name"] for s in pipeline["Resources"]["Pipeline"]["Properties"]["Stages"] for a in s["Actions"]]
    assert "ProtectNestedStacks" in names and "Promote" not in names
    roles = load(rendered.templates["pipeline-roles.yaml"])["Resources"]
    assert "ReleaseRole" in roles and "BuildRole" not in roles
