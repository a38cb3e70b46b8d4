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
from generator.sandbox import compose, stores
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


# --- data stores ---------------------------------------------------------------------------------------------------

CHAT = ROOT / "tests" / "fixtures" / "apps" / "chat.yaml"
DJANGO = ROOT / "tests" / "fixtures" / "apps" / "django-celery.yaml"


def task_variables(app, stack: str) -> set[str]:
    container = template(app, stack)["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"][0]
    return {e["Name"] for e in container.get("Environment", [])} | {s["Name"] for s in container.get("Secrets", [])}


@pytest.mark.parametrize("app_path,service", [(CHAT, "chat"), (CHAT, "writer"), (DJANGO, "django"),
                                              (DEFAULT_APP, "api"), (DEFAULT_APP, "jobs")])
def test_a_service_gets_every_store_variable_of_its_task_definition(app_path, service):
    """The variables from `uses` (the database's DB_*, <NAME>_URL/_AUTH_TOKEN, _QUEUE_URL, _TABLE, _BUCKET) are the
    task definition's; the AWS ones (endpoint, region, dummy credentials) are the sandbox's own."""
    app = load_app(app_path)
    services = validate(compose.files(app)["compose.yaml"])["services"]
    local = set(services[service]["environment"]) - {"AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION",
                                                     "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}
    assert local == task_variables(app, f"service-{service}.yaml")


def test_chat_gets_the_emulator_with_its_queue_table_and_bucket():
    app = load_app(CHAT)
    found = compose.files(app)
    services = validate(found["compose.yaml"])["services"]
    assert services["aws"]["image"] == "motoserver/moto:5.2.5"
    assert services["aws-init"]["depends_on"] == {"aws": {"condition": "service_healthy"}}
    chat = services["chat"]
    assert chat["environment"]["MESSAGES_QUEUE_URL"] == "http://aws:5000/000000000000/zidyia-chat-local-messages.fifo"
    assert chat["environment"]["CONVERSATIONS_TABLE"] == "zidyia-chat-local-conversations"
    assert chat["environment"]["FILES_BUCKET"] == "zidyia-chat-local-files"
    assert chat["environment"]["AWS_ENDPOINT_URL"] == "http://aws:5000"
    assert chat["environment"]["AWS_ACCESS_KEY_ID"] == "local"
    assert chat["depends_on"] == {"aws-init": {"condition": "service_completed_successfully"}}
    assert "Queues, tables, buckets: moto in server mode" in found["compose.yaml"]


def test_django_gets_its_redis_cache_without_tls_and_the_media_volume():
    found = compose.files(load_app(DJANGO))
    document = validate(found["compose.yaml"])
    services = document["services"]
    cache = services["cache-broker"]
    assert cache["image"] == "redis:7.2-alpine"        # ElastiCache's Redis OSS 7.1: the nearest open-source release
    assert cache["command"][:3] == ["redis-server", "--requirepass", "${BROKER_AUTH_TOKEN:-local-broker-auth-token}"]
    django = services["django"]
    assert django["environment"]["BROKER_URL"] == "redis://cache-broker:6379"
    assert django["environment"]["BROKER_AUTH_TOKEN"] == "${BROKER_AUTH_TOKEN:-local-broker-auth-token}"
    assert django["volumes"] == ["filesystem-media:/app/media"]
    assert django["depends_on"] == {"cache-broker": {"condition": "service_healthy"},
                                    "file-systems-init": {"condition": "service_completed_successfully"}}
    assert services["file-systems-init"]["command"][-1] == "chown 1000:1000 /mnt/media && chmod 0750 /mnt/media"
    assert "filesystem-media" in document["volumes"] and "aws" not in services
    assert "TLS is off locally" in found["compose.yaml"]


def test_valkey_caches_take_the_valkey_image_of_their_version():
    app = make_app(services=[{"name": "jobs", "kind": "worker", "uses": ["sessions"]}],
                   caches=[{"name": "sessions", "engine": "valkey", "engine_version": "8.0"}])
    service = compose.compose(app)["services"]["cache-sessions"]
    assert service["image"] == "valkey/valkey:8.0-alpine" and service["command"][0] == "valkey-server"


def test_the_emulator_is_the_moto_the_tests_run():
    lock = (ROOT / "requirements-test.lock").read_text()
    assert f"moto=={stores.MOTO_VERSION}\n" in lock


@pytest.mark.slow
def test_aws_init_creates_the_queues_tables_and_buckets_the_services_are_given(tmp_path):
    """The generated aws-init.py against moto in server mode (as the aws-init container runs it): the FIFO queue and
    its dead-letter queue with the redrive policy, the table's keys and TTL, the bucket with versioning and CORS;
    run twice, as `make sandbox-up` does on every start."""
    import os
    import subprocess
    import sys

    import boto3
    from moto.server import ThreadedMotoServer

    found = compose.files(load_app(CHAT))
    for name in ("aws-init.py", "aws-init.json"):
        (tmp_path / name).write_text(found[name])
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        env = {**os.environ, "AWS_ENDPOINT_URL": f"http://{host}:{port}", "AWS_ACCESS_KEY_ID": "local",
               "AWS_SECRET_ACCESS_KEY": "local", "AWS_DEFAULT_REGION": "eu-west-1"}
        for _ in range(2):
            run = subprocess.run([sys.executable, str(tmp_path / "aws-init.py"), str(tmp_path / "aws-init.json")],
                                 env=env, capture_output=True, text=True, timeout=120)
            assert run.returncode == 0, run.stderr
        kwargs = dict(endpoint_url=env["AWS_ENDPOINT_URL"], region_name="eu-west-1", aws_access_key_id="local",
                      aws_secret_access_key="local")
        sqs, ddb, s3 = (boto3.client(n, **kwargs) for n in ("sqs", "dynamodb", "s3"))
        url = sqs.get_queue_url(QueueName="zidyia-chat-local-messages.fifo")["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        assert attributes["FifoQueue"] == "true" and attributes["VisibilityTimeout"] == "60"
        redrive = json.loads(attributes["RedrivePolicy"])
        assert redrive["deadLetterTargetArn"].endswith(":zidyia-chat-local-messages-dlq.fifo")
        assert int(redrive["maxReceiveCount"]) == 3
        table = ddb.describe_table(TableName="zidyia-chat-local-conversations")["Table"]
        assert {(k["AttributeName"], k["KeyType"]) for k in table["KeySchema"]} == {("connection_id", "HASH"),
                                                                                  ("sent_at", "RANGE")}
        ttl = ddb.describe_time_to_live(TableName="zidyia-chat-local-conversations")["TimeToLiveDescription"]
        assert ttl["AttributeName"] == "expires_at" and ttl["TimeToLiveStatus"] == "ENABLED"
        assert s3.get_bucket_versioning(Bucket="zidyia-chat-local-files")["Status"] == "Enabled"
        assert s3.get_bucket_cors(Bucket="zidyia-chat-local-files")["CORSRules"][0]["AllowedOrigins"] == [
            "https://lms.example.com"]
    finally:
        server.stop()
