"""Values that would fail at deploy time are refused when the spec is loaded (issue 8 item 8, issue 9 items 2-3).
The corpus (tests/fixtures/invalid/) holds the exact messages; here: the parsers and pattern lists behind them, with
the near misses that must pass, and the AWS facts read from what the pinned packages ship.
"""
from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from generator import buildspecs
from generator.build import render_app
from generator import credentials
from generator.config import aws_facts, load_app, parse_app, schedules
from generator.config.models import DEFAULT_ENGINE_VERSION, DatabaseSpec
from generator.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
APPS = [*sorted((REPO / "tests" / "fixtures" / "apps").glob("*.yaml")), *sorted((REPO / "examples").glob("*/app.yaml")),
        REPO / "app.yaml"]
BASE = {"app": "shop", "owner": "team-a", "region": "eu-west-1", "environments": {"dev": {"cidr": "10.0.0.0/16"}}}


# --- schedules (EventBridge User Guide, "Cron expressions" and "Rate expressions"; Scheduler API reference,
# ScheduleExpression; Application Auto Scaling User Guide, "Schedule recurring scaling actions using cron
# expressions") -------------------------------------------------------------------------------------------------------

VALID = ["cron(0 3 * * ? *)", "cron(15 10 ? * MON-FRI *)", "cron(0/15 * * * ? *)", "cron(*/5 8-17 ? * MON,WED,FRI *)",
         "cron(0 0 L * ? *)", "cron(0 9 LW * ? *)", "cron(0 9 15W * ? *)", "cron(0 8 ? * 2#1 *)", "cron(0 5 ? * 6L *)",
         "cron(0 12 1 JAN-MAR ? 2030)", "cron(0 12 ? * 1-7 2030-2035)", "rate(1 minute)", "rate(5 minutes)",
         "rate(1 hour)", "rate(12 hours)", "rate(1 day)", "rate(7 days)", "at(2030-01-31T09:00:00)"]
INVALID = ["cron()", "cron(0 3 * * *)", "cron(0 3 * * MON *)", "cron(0 3 ? * ? *)", "cron(a b c d e f)",
           "cron(60 3 * * ? *)", "cron(0 24 * * ? *)", "cron(0 3 32 * ? *)", "cron(0 3 ? 13 * *)",
           "cron(0 3 ? * 8 *)", "cron(0 3 ? * MON 1969)", "cron(0/0 3 * * ? *)", "cron(? 3 * * ? *)",
           "cron(0 3 * * ? * *)", "cron(0 3 ? * 2#6 *)", "rate(often)", "rate(0 minutes)", "rate(1 minutes)",
           "rate(2 hour)", "rate(5 weeks)", "rate(-1 minutes)", "rate(5)", "at(2030-02-30T09:00:00)", "at(tomorrow)",
           "0 3 * * *", "every day", "CRON(0 3 * * ? *)", " cron(0 3 * * ? *)", "cron(0 3 * * ? *) ",
           "cron(" + ",".join(["1"] * 130) + " 3 * * ? *)"]


@pytest.mark.parametrize("expression", VALID)
def test_valid_schedules_pass(expression: str) -> None:
    assert schedules.problem(expression) is None


@pytest.mark.parametrize("expression", INVALID)
def test_invalid_schedules_are_refused_with_the_expression_named(expression: str) -> None:
    message = schedules.problem(expression)
    assert message is not None and message.startswith(repr(expression)[:40])


def test_off_hours_take_cron_only_and_suggested_fixes_are_valid() -> None:
    assert schedules.problem("rate(1 hour)", ("cron",)) == "'rate(1 hour)' is not a cron expression; write " \
                                                           "'cron(0 3 * * ? *)'"
    for bad in ("cron(0 3 * * *)", "cron(0 3 * * MON *)", "cron(0 3 ? * ? *)", "0 3 * * *", "30 6 * * 1-5"):
        suggestion = re.search(r"cron\([^)]*\)$", schedules.problem(bad)).group()
        assert schedules.problem(suggestion) is None, (bad, suggestion)


# --- credentials (generator/credentials.py) ------------------------------------------------------------------------

CREDENTIALS = {
    "password=hunter22": "a password, key or token written out",
    'PASSWORD="s3cr3tpw" npm test': "a password, key or token written out",
    "/health?token=abc123def": "a password, key or token written out",
    "mysql --password hunter22 app": "a password, key or token given as an option",
    "--api-key=9f8e7d6c5b4a": "a password, key or token given as an option",
    "curl -fu admin:hunter22 http://localhost/": "a user name and password (curl -u)",
    "postgres://app:s3cret@db:5432/app": "a connection string with a password",
    "redis://:pw12@cache:6379": "a connection string with a password",
    "AKIAIOSFODNN7EXAMPLE": "an AWS access key ID",
    "-----BEGIN RSA PRIVATE KEY-----": "a private key",
    "-----BEGIN OPENSSH PRIVATE KEY-----": "a private key",
    "ghp_" + "a1B2" * 9: "a GitHub token",
    "glpat-" + "x" * 20: "a GitLab token",
    "xoxb-1234567890-abcdef": "a Slack token",
    "sk_live_" + "a" * 24: "a Stripe secret key",
    "npm_" + "a1B2" * 9: "an npm token",
    "Authorization: Bearer abcdefghijklmnopqrstuvwxyz": "a bearer token",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U": "a JSON web token",
}
# Near misses that must pass: a credential's word without a literal value, references to variables and files,
# URLs with a port or a user only, ordinary words.
NOT_CREDENTIALS = [
    "node", "jobs/nightly.js", "npm --prefix e2e run test:ci", "docker login --password-stdin",
    "--password $DB_PASSWORD", "--password=${DB_PASSWORD}", "password=$PASS", "PASSWORD_FILE=/run/secrets/db",
    "--password-file=/run/secrets/pw", "--token-file x", "token=", "secret_name=myapp/db", "max_tokens=4000",
    "TOKEN_TTL=3600", "echo token count", "Bearer $TOKEN", "curl -u \"$USER:$PASS\" x", "curl --user admin:$PW x",
    "useradd -u 1000 app", "http://localhost:3000/health", "https://user@example.com/x",
    "postgres://app:${DB_PASSWORD}@db/app", "curl -f http://localhost:8080/health || exit 1",
    "wget -q -O /dev/null http://localhost:8080/api/v1/status", "cd $(pwd)", "PWD=/app",
    "npx --prefix e2e playwright install --with-deps chromium", "AKIA-not-a-key", "sk_test_" + "a" * 24,
    "pk_live_" + "a" * 24, "-----BEGIN PUBLIC KEY-----", "-----BEGIN CERTIFICATE-----",
]


@pytest.mark.parametrize(("value", "what"), sorted(CREDENTIALS.items()))
def test_credential_shapes_are_recognised(value: str, what: str) -> None:
    assert credentials.kind(value) == what


@pytest.mark.parametrize("value", NOT_CREDENTIALS)
def test_near_misses_are_not_credentials(value: str) -> None:
    assert credentials.kind(value) is None


@pytest.mark.parametrize(("value", "what"), sorted(CREDENTIALS.items()))
def test_a_credential_the_spec_refuses_by_its_shape_is_also_masked_when_printed(value: str, what: str) -> None:
    """One module, generator/credentials.py: the shapes of their own (keys, tokens) serve both the spec checks and the
    deploy scripts' masking, so a token the spec refuses never shows in a deploy's output either."""
    shapes = {credentials.PRIVATE_KEY[0], *(w for w, _ in credentials.TOKENS)}
    if what in shapes:
        assert credentials.looks_like_secret(value) is not None
        assert credentials.mask(value) != value and credentials.MASK in credentials.mask(value)


@pytest.mark.parametrize(("name", "value", "secret"), [
    ("DB_PASSWORD", "hunter2", True), ("DB_PASS", "x1", True), ("JWT_SECRET", "abc", True), ("API_KEY", "k", True),
    ("GITHUB_TOKEN", "t", True), ("NEXT_PUBLIC_API_KEY", "pk_live_x", False), ("TOKEN_TTL", "3600", False),
    ("PASSWORD_MIN_LENGTH", "12", False), ("API_TOKEN", "${TOKEN}", False), ("SECRET_NAME", "myapp/db", False),
    ("PASSWORD", "/run/secrets/pw", False), ("AUTH_TOKEN", "", False), ("BYPASS", "yes", False),
    ("SESSION_SECRET", "${Application}-session", False), ("USE_TOKEN", "true", False),
])
def test_variable_names_that_mark_a_credential(name: str, value: str, secret: bool) -> None:
    assert credentials.secret_variable(name, value) is secret


def test_no_credential_message_echoes_the_value() -> None:
    spec = copy.deepcopy(BASE)
    spec["services"] = [{"name": "api", "kind": "web", "port": 80, "environment": {"DB_PASSWORD": "hunter2-zz",
                                                                                  "URL": "postgres://a:pw-zz@db/x"},
                         "command": ["node", "--api-key=key-zz-123"]}]
    with pytest.raises(ConfigError) as info:
        parse_app(spec)
    assert len(info.value.lines()) == 3
    assert not any("zz" in line for line in info.value.lines())


@pytest.mark.parametrize("path", APPS, ids=lambda p: p.relative_to(REPO).as_posix())
def test_the_example_apps_hold_no_credentials(path: Path) -> None:
    load_app(path)  # raises ConfigError on a false positive


# --- AWS facts from the pinned packages ----------------------------------------------------------------------------


def test_regions_are_the_ones_cfn_lint_validates_for() -> None:
    from cfnlint.helpers import REGIONS
    assert aws_facts.regions() == frozenset(REGIONS)
    assert {"eu-west-1", "us-east-1", "eusc-de-east-1", "cn-north-1", "us-gov-west-1"} <= aws_facts.regions()


def test_time_zones_are_read_from_the_pinned_tzdata_package() -> None:
    """Read from the package's files on disk (no importlib.resources in a generation): the same text
    importlib.resources reads, so the same names and links."""
    import importlib.resources

    for name in ("zones", "zoneinfo/tzdata.zi"):
        assert aws_facts._tzdata_text(name) == importlib.resources.files("tzdata").joinpath(name).read_text("utf-8")
    assert {"UTC", "Europe/Berlin", "America/New_York"} <= aws_facts.time_zones()
    assert aws_facts.time_zone_links()["US/Pacific"] == "America/Los_Angeles"


def test_the_default_engine_version_is_current() -> None:
    """It was 16.4, which cfn-lint 1.58 marks deprecated (W3690 on an AWS::RDS::DBCluster)."""
    assert DatabaseSpec().engine_version == DEFAULT_ENGINE_VERSION
    assert DEFAULT_ENGINE_VERSION in aws_facts.current_engine_versions("aurora-postgresql")
    assert "16.4" in aws_facts.deprecated_engine_versions()["aurora-postgresql"]
    parse_app({**BASE, "database": {}})
    parse_app({**BASE, "database": {"engine": "aurora-mysql", "engine_version": "8.0.mysql_aurora.3.08.0"}})


def test_engine_versions_come_from_cfn_lint_schemas() -> None:
    """What the cluster rule reads is what cfn-lint checks a DBCluster's EngineVersion against."""
    import cfnlint
    base = Path(cfnlint.__file__).parent / "data" / "schemas" / "extensions" / "aws_rds_dbcluster"
    text = (base / "engine_version.json").read_text()
    for engine in ("aurora-postgresql", "aurora-mysql"):
        versions = aws_facts.engine_versions()[engine]
        assert len(versions) > 50 and all(f'"{v}"' in text for v in versions)
        assert aws_facts.deprecated_engine_versions()[engine] < versions


def test_time_zones_come_from_tzdata_not_this_machine() -> None:
    zones = aws_facts.time_zones()
    assert {"UTC", "Europe/Berlin", "America/Los_Angeles", "US/Pacific", "Etc/GMT+9", "Pacific/Tahiti"} <= zones
    assert not {"localtime", "posixrules", "Factory", "right/UTC", "posix/Europe/Berlin"} & zones
    assert aws_facts.time_zone_links()["US/Pacific"] == "America/Los_Angeles"
    import tzdata
    assert set(Path(tzdata.__file__).parent.joinpath("zones").read_text().split()) - {"Factory"} == zones


# --- environment placeholders are filled in per environment ----------------------------------------------------------


def test_environment_placeholders_render_as_sub_and_literals_as_text() -> None:
    spec = copy.deepcopy(BASE)
    spec["services"] = [{"name": "api", "kind": "web", "port": 80, "environment": {
        "BUCKET": "${Application}-${EnvironmentName}-uploads", "REGION": "${AWS::Region}", "LITERAL": "${!HOME}/x",
        "PLAIN": "a $b c"}}]
    rendered = render_app(parse_app(spec)).templates["service-api.yaml"]
    env = {e["Name"]: e["Value"] for e in _container(rendered)["Environment"]}
    assert env == {"BUCKET": {"Fn::Sub": "${Application}-${EnvironmentName}-uploads"},
                   "REGION": {"Fn::Sub": "${AWS::Region}"},
                   "LITERAL": {"Fn::Join": ["$", ["", "{HOME}/x"]]}, "PLAIN": "a $b c"}


def _container(text: str) -> dict:
    from cfnlint.decode import cfn_yaml
    template = json.loads(json.dumps(cfn_yaml.loads(text)))
    return template["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"][0]


# --- pipeline test settings: the spec refuses what the buildspec renderer would --------------------------------------

PIPELINE = {"account_id": "123456789012", "repository": "team-a/shop", "notification_email": "ops@example.com",
            "connection_arn": "arn:aws:codeconnections:eu-west-1:123456789012:connection/"
                              "7d3f5c1a-2b4e-4f6a-9c8d-1e2f3a4b5c6d"}
text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=20) | st.sampled_from(
    ["\x1c", " \t\x1f", "\u2028", "\u200b", "npm test", " leading\nfoo: bar", '"', "a\u0085b"])


@settings(max_examples=150, derandomize=True, database=None, deadline=None)
@given(command=text, installs=st.lists(text, max_size=3), versions=st.dictionaries(
    st.sampled_from(["nodejs", "python", "java"]), text | st.sampled_from(["20", "3.12", "corretto21", "latest"]),
    max_size=2), ready=st.sampled_from(["/", "/api/health", "/a b", "health", "/x?y"]),
    reports=st.sampled_from(["reports/junit", "e2e/reports", "../up", "a b", "/abs"]))
def test_test_settings_the_spec_accepts_always_render(command, installs, versions, ready, reports) -> None:
    """Issue 9: a test setting the spec accepted used to fail first inside the buildspec renderer (exit 1, a
    buildspecs/... location, a multi-line YAML error). Now whatever the spec accepts renders, and comes back exactly."""
    spec = {**BASE, "environments": {"staging": {"cidr": "10.0.0.0/16"}}, "pipeline": {
        **PIPELINE, "test_command": command, "test_install_commands": installs, "test_runtime_versions": versions,
        "test_ready_path": ready, "test_reports_dir": reports}}
    try:
        app = parse_app(spec)
    except ConfigError as exc:
        assert all(line.startswith("app.yaml: pipeline.test_") for line in exc.lines()), exc.lines()
        return
    p = app.pipeline
    rendered = buildspecs.render("integration_tests", runtime_versions=dict(p.test_runtime_versions),
                                 install_commands=list(p.test_install_commands), test_command=p.test_command,
                                 reports_dir=p.test_reports_dir, ready_path=p.test_ready_path, ready_timeout=300)
    doc = yaml.safe_load(rendered)
    assert doc["phases"]["build"]["commands"][-1] == command
    assert doc["phases"]["install"]["commands"][2:] == installs  # after curl and the source unzip
    assert doc["phases"]["install"].get("runtime-versions", {}) == versions
