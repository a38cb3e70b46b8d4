"""The local sandbox (`make sandbox`): sandbox/compose.yaml validated against the Compose Specification schema
(offline: tests/fixtures/compose/), equal to the committed files (sandbox/ for app.yaml, tests/golden/<app>/sandbox/
for each fixture app; `make golden` rewrites them), and built from the spec: every service from its build context,
the environment variable names of its task definition, the database container when the app has one, the proxy's
rules in the load balancer's order, the cron jobs on their schedule behind a profile.

Docker is not available where these tests run: nothing here starts a container (`make sandbox-up` is not run)."""
from __future__ import annotations

import json
import re

import jsonschema
import pytest
import yaml

from generator.config import load_app
from generator.sandbox import compose
from tests.conftest import make_app, template
from tests.support import DEFAULT_APP, GOLDEN_SETS, ROOT, app_id, read_tree
from tests.update_tool_golden import TOOL_GOLDEN_APPS, sandbox_dir

SCHEMA = json.loads((ROOT / "tests" / "fixtures" / "compose" / "compose_spec.json").read_text())


def validate(text: str) -> dict:
    document = yaml.safe_load(text)
    jsonschema.Draft201909Validator(SCHEMA).validate(document)
    return document


@pytest.mark.parametrize("app_path", TOOL_GOLDEN_APPS, ids=app_id)
def test_the_sandbox_is_valid_compose_and_matches_the_committed_one(app_path):
    found = compose.files(load_app(app_path))
    validate(found["compose.yaml"])
    assert found == read_tree(sandbox_dir(app_path)), \
        "the sandbox changed; if intended run `make golden` and review the diff"


def test_the_schema_catches_a_bad_file():
    with pytest.raises(jsonschema.ValidationError):
        validate("services:\n  web:\n    depends_on: {database: {condition: when_ready}}\n")


SERVICES = [
    {"name": "web", "kind": "web", "port": 8080},
    {"name": "api", "kind": "web", "port": 3000, "routing": {"path_patterns": ["/api/*", "/v?/items"], "priority": 5},
     "environment": {"BASE_URL": "https://${Application}-${EnvironmentName}.example.com", "LITERAL": "${!HOME}"},
     "secrets": {"DB_PASSWORD": "${Application}/${EnvironmentName}/db:password", "TOKEN": "shared/token"}},
    {"name": "admin", "kind": "web", "port": 4000, "routing": {"hosts": ["admin.example.com"], "priority": 1}},
    {"name": "jobs", "kind": "worker", "command": ["python", "-m", "jobs"]},
    {"name": "nightly", "kind": "cron", "schedule": "cron(30 2 ? * MON-FRI *)", "command": ["python", "-m", "report"]},
]


def test_services_keep_their_aws_environment_names_with_local_values():
    app = make_app(services=SERVICES, database={"engine": "aurora-postgresql", "engine_version": "16.9",
                                                "name": "shop"})
    document = validate(compose.files(app)["compose.yaml"])
    services = document["services"]
    assert set(services) == {"database", "web", "api", "admin", "jobs", "nightly", "proxy", "scheduler"}
    task = template(app, "service-api.yaml")["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"][0]
    aws_names = {e["Name"] for e in task["Environment"]} | {s["Name"] for s in task["Secrets"]}
    assert set(services["api"]["environment"]) == aws_names
    assert services["api"]["environment"] == {
        "BASE_URL": "https://demo-local.example.com", "LITERAL": "$${HOME}",
        "DB_PASSWORD": "${DB_PASSWORD:-local}", "TOKEN": "${TOKEN:-local-token}"}
    assert services["api"]["build"] == {"context": "../api", "dockerfile": "Dockerfile"}
    assert services["api"]["depends_on"] == {"database": {"condition": "service_healthy"}}
    assert services["database"]["image"] == "postgres:16"
    assert services["database"]["healthcheck"]["test"] == ["CMD-SHELL", "pg_isready -U app -d shop"]
    assert services["web"]["healthcheck"]["test"][0] == "CMD-SHELL"
    assert services["jobs"]["command"] == ["python", "-m", "jobs"] and "healthcheck" not in services["jobs"]
    assert document["volumes"] == {"database": {}}


def test_cron_jobs_run_on_their_schedule_only_under_the_cron_profile():
    services = validate(compose.files(make_app(services=SERVICES))["compose.yaml"])["services"]
    nightly = services["nightly"]
    assert nightly["profiles"] == ["cron"] and services["scheduler"]["profiles"] == ["cron"]
    assert nightly["labels"] == {"ofelia.enabled": "true", "ofelia.job-exec.nightly.schedule": "0 30 2 * * MON-FRI",
                                 "ofelia.job-exec.nightly.no-overlap": "true",
                                 "ofelia.job-exec.nightly.command": "python -m report"}
    assert all("profiles" not in services[name] for name in ("web", "api", "jobs", "proxy"))
    assert compose.cron_schedule("rate(5 minutes)") == "@every 5m"
    assert compose.cron_schedule("rate(1 day)") == "@every 24h"


def test_the_proxy_routes_like_the_load_balancer():
    conf = compose.files(make_app(services=SERVICES))["proxy.conf"]
    default = conf.split("server {")[1]
    # regex locations in priority order (nginx tries them in order), the catch-all as the prefix location
    assert re.findall(r"location (.*?) \{ proxy_pass (\S+); \}", default) == [
        ('~ "^/api/.*$"', "http://api:3000"), ('~ "^/v./items$"', "http://api:3000"), ("/", "http://web:8080")]
    hosts = conf.split("server {")[2]
    assert "server_name admin.example.com;" in hosts and "location / { proxy_pass http://admin:4000; }" in hosts


def test_without_a_database_or_web_services_there_is_neither_container_nor_proxy():
    found = compose.files(make_app(services=[SERVICES[3]]))
    services = validate(found["compose.yaml"])["services"]
    assert set(services) == {"jobs"} and "depends_on" not in services["jobs"]
    assert "proxy.conf" not in found


def test_mysql_engine_versions_pick_the_matching_image():
    for version, image in (("8.0.mysql_aurora.3.08.2", "mysql:8.0"), ("8.4", "mysql:8.4")):
        app = make_app(services=[], database={"engine": "aurora-mysql", "engine_version": version})
        assert compose.database_service(app)["image"] == image
