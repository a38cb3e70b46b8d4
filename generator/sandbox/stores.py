"""The sandbox's data stores: what a service that `uses` (or `mounts`) a store gets locally, and the containers
behind them (docs/operations.md, "The sandbox").

- caches: a Valkey or Redis container per cache (`cache-<name>`), the image of the cache's engine and version,
  asking for the same auth token the service gets; TLS is off locally, so `<NAME>_URL` is `redis://` where AWS
  gives `rediss://`;
- queues, tables, buckets: one AWS emulator (moto in server mode, the version the rehearsal uses) and a one-shot
  `aws-init` container that creates them with the names the services get (`<app>-local-<name>`), queues with their
  dead-letter queue and redrive policy (FIFO when asked), tables with their keys and TTL; a service that uses one
  gets `AWS_ENDPOINT_URL` and dummy credentials;
- file systems: a named volume per file system, mounted at each service's path (read-only when asked), its root
  owned by the file system's uid/gid with mode 0750 like the access points' directory (`file-systems-init`).

Pure, like compose.py: data in, dictionaries and text out.
"""
from __future__ import annotations

import json
from typing import Any

from generator.components import stores
from generator.components.cache.stack import TOKEN_SUFFIX, URL_SUFFIX as CACHE_URL
from generator.components.bucket.stack import NAME_SUFFIX as BUCKET_NAME
from generator.components.queue.stack import URL_SUFFIX as QUEUE_URL, physical_name as queue_name
from generator.components.table.stack import NAME_SUFFIX as TABLE_NAME
from generator.config import AppSpec, ServiceSpec

ENV = "local"                       # ${EnvironmentName} in the sandbox
ACCOUNT = "000000000000"            # ${AWS::AccountId}; the emulator's account too
# moto in server mode, the version tests/ and the rehearsal run (a test keeps it equal to requirements-test.lock)
MOTO_VERSION = "5.2.5"
EMULATOR_IMAGE = f"motoserver/moto:{MOTO_VERSION}"
EMULATOR = "aws"                       # the emulator's service name, host name of AWS_ENDPOINT_URL
EMULATOR_PORT = 5000
ENDPOINT = f"http://{EMULATOR}:{EMULATOR_PORT}"
INIT = "aws-init"
FS_INIT = "file-systems-init"
FS_INIT_IMAGE = "busybox:1.36.1"
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}   # moto accepts any
DEAD_LETTER_RETENTION = 14 * 86400     # the queue component's DLQ retention
# ElastiCache's Redis OSS 7.1 has no open-source image: 7.2 is the nearest release with its commands.
REDIS_IMAGE_VERSION = {"7.1": "7.2"}


def physical(name: str, app: AppSpec) -> str:
    """`<app>-local-<name>`: the name CloudFormation gives a store (a bucket's random suffix left out)."""
    return f"{app.app}-{ENV}-{name}"


def used(svc: ServiceSpec) -> list[str]:
    return [u if isinstance(u, str) else u.name for u in svc.uses]


def kind_of(app: AppSpec) -> dict[str, str]:
    return stores.stores_of(app)


def uses_aws(svc: ServiceSpec, app: AppSpec) -> bool:
    kinds = kind_of(app)
    return any(kinds.get(n) in ("queues", "tables", "buckets") for n in used(svc))


def cache_host(name: str) -> str:
    return f"cache-{name}"


def token(name: str) -> str:
    """The cache's auth token as Compose interpolates it: sandbox/.env (or the shell) overrides the default."""
    var = stores.variable(name, TOKEN_SUFFIX)
    return f"${{{var}:-local-{name}-auth-token}}"


def queue_url(queue: Any, app: AppSpec, dead_letter: bool = False) -> str:
    """moto answers `<endpoint>/<account>/<name>`; MOTO_ACCOUNT_ID pins the account to the sandbox's."""
    return f"{ENDPOINT}/{ACCOUNT}/{physical(queue_name(queue, dead_letter), app)}"


def environment(svc: ServiceSpec, app: AppSpec, database: dict[str, str]) -> dict[str, str]:
    """The variables the service's task definition gets from the stores it uses, with local values (`database`: the
    local database's values, compose.database_values)."""
    kinds, found = kind_of(app), {}
    by_name = {s.name: s for key in ("queues", "tables", "buckets") for s in getattr(app, key)}
    for name in used(svc):
        kind = kinds.get(name)
        if kind == "database":
            found.update({"DB_HOST": database["host"], "DB_PORT": database["port"], "DB_NAME": database["dbname"],
                          "DB_USER": f"${{DB_USER:-{database['username']}}}",
                          "DB_PASSWORD": f"${{DB_PASSWORD:-{database['password']}}}"})
        elif kind == "caches":
            found[stores.variable(name, CACHE_URL)] = f"redis://{cache_host(name)}:6379"   # TLS off locally
            found[stores.variable(name, TOKEN_SUFFIX)] = token(name)
        elif kind == "queues":
            found[stores.variable(name, QUEUE_URL)] = queue_url(by_name[name], app)
        elif kind == "tables":
            found[stores.variable(name, TABLE_NAME)] = physical(name, app)
        elif kind == "buckets":
            found[stores.variable(name, BUCKET_NAME)] = physical(name, app)
    if uses_aws(svc, app):
        found.update({"AWS_ENDPOINT_URL": ENDPOINT, "AWS_REGION": app.region, "AWS_DEFAULT_REGION": app.region,
                      **LOCAL_CREDENTIALS})
    return found


def depends_on(svc: ServiceSpec, app: AppSpec) -> dict[str, dict[str, str]]:
    kinds, found = kind_of(app), {}
    for name in used(svc):
        if kinds.get(name) == "caches":
            found[cache_host(name)] = {"condition": "service_healthy"}
    if uses_aws(svc, app):
        found[INIT] = {"condition": "service_completed_successfully"}
    if svc.mounts:
        found[FS_INIT] = {"condition": "service_completed_successfully"}
    return found


def volume(name: str) -> str:
    return f"filesystem-{name}"


def mounts(svc: ServiceSpec) -> list[str]:
    return [f"{volume(m.file_system)}:{m.path}" + (":ro" if m.read_only else "") for m in svc.mounts]


def cache_service(cache: Any) -> dict[str, Any]:
    version = REDIS_IMAGE_VERSION.get(cache.version, cache.version) if cache.engine == "redis" else cache.version
    image, server, cli = ((f"valkey/valkey:{version}-alpine", "valkey-server", "valkey-cli") if cache.engine == "valkey"
                          else (f"redis:{version}-alpine", "redis-server", "redis-cli"))
    secret = token(cache.name)
    return {"image": image,
            # the auth token as in AWS; no TLS (ElastiCache requires it; here the traffic stays on the host)
            "command": [server, "--requirepass", secret, "--save", "", "--appendonly", "no"],
            "healthcheck": {"test": ["CMD-SHELL", f"{cli} --no-auth-warning -a '{secret}' ping | grep -q PONG"],
                            "interval": "5s", "timeout": "5s", "retries": 30}}


def emulator_service() -> dict[str, Any]:
    probe = f"import urllib.request; urllib.request.urlopen('http://localhost:{EMULATOR_PORT}/moto-api/')"
    return {"image": EMULATOR_IMAGE, "environment": {"MOTO_ACCOUNT_ID": ACCOUNT},
            "ports": [f"${{SANDBOX_AWS_PORT:-{EMULATOR_PORT}}}:{EMULATOR_PORT}"],
            "healthcheck": {"test": ["CMD", "python", "-c", probe], "interval": "5s", "timeout": "5s",
                            "retries": 30}}


def init_service(app: AppSpec) -> dict[str, Any]:
    """One shot: the moto image has boto3; aws-init.py creates what aws-init.json lists, then exits 0."""
    return {"image": EMULATOR_IMAGE, "entrypoint": ["python", "/sandbox/aws-init.py", "/sandbox/aws-init.json"],
            "environment": {"AWS_ENDPOINT_URL": ENDPOINT, "AWS_REGION": app.region,
                            "AWS_DEFAULT_REGION": app.region, **LOCAL_CREDENTIALS},
            "volumes": ["./aws-init.py:/sandbox/aws-init.py:ro", "./aws-init.json:/sandbox/aws-init.json:ro"],
            "restart": "no", "depends_on": {EMULATOR: {"condition": "service_healthy"}}}


def file_systems_init(app: AppSpec) -> dict[str, Any]:
    """The access points' root directory: owned by the file system's uid/gid, mode 0750 (a fresh named volume is
    root's)."""
    script = " && ".join(f"chown {fs.uid}:{fs.gid} /mnt/{fs.name} && chmod 0750 /mnt/{fs.name}"
                         for fs in app.file_systems)
    return {"image": FS_INIT_IMAGE, "command": ["sh", "-c", script], "restart": "no",
            "volumes": [f"{volume(fs.name)}:/mnt/{fs.name}" for fs in app.file_systems]}


def resources(app: AppSpec) -> dict[str, Any]:
    """What aws-init.py creates: the same names, keys and settings as the stores' stacks (encryption left out:
    moto's SSE is not the point locally)."""
    queues = []
    for q in app.queues:
        fifo = {"FifoQueue": "true", "ContentBasedDeduplication": "true"} if q.fifo else {}
        queues.append({"name": physical(queue_name(q, dead_letter=True), app),
                       "attributes": {"MessageRetentionPeriod": str(DEAD_LETTER_RETENTION), **fifo}})
        queues.append({"name": physical(queue_name(q), app), "dead_letter": physical(queue_name(q, True), app),
                       "max_receive_count": q.max_receive_count,
                       "attributes": {"VisibilityTimeout": str(q.visibility_timeout_seconds),
                                      "MessageRetentionPeriod": str(q.retention_days * 86400), **fifo}})
    tables = []
    for t in app.tables:
        keys = [(t.partition_key, "HASH")] + ([(t.sort_key, "RANGE")] if t.sort_key else [])
        tables.append({"name": physical(t.name, app),
                       "keys": [{"AttributeName": k.name, "KeyType": kind} for k, kind in keys],
                       "attributes": [{"AttributeName": k.name, "AttributeType": k.type} for k, _ in keys],
                       "ttl_attribute": t.ttl_attribute})
    buckets = [{"name": physical(b.name, app), "versioned": b.versioned,
                "cors": [{"AllowedOrigins": list(c.allowed_origins), "AllowedMethods": list(c.allowed_methods),
                          "AllowedHeaders": list(c.allowed_headers), "MaxAgeSeconds": c.max_age_seconds}
                         for c in b.cors]} for b in app.buckets]
    return {"region": app.region, "queues": queues, "tables": tables, "buckets": buckets}


def init_json(app: AppSpec) -> str:
    return json.dumps(resources(app), indent=2, sort_keys=True) + "\n"


def uses_emulator(app: AppSpec) -> bool:
    return bool(app.queues or app.tables or app.buckets)


INIT_SCRIPT = '''\
"""Generated by `make sandbox`: creates the sandbox's queues, tables and buckets in the local AWS emulator with the
names the services get (the list: aws-init.json). Safe to run again: what exists is left as it is."""
import json
import sys

import boto3

spec = json.load(open(sys.argv[1]))
sqs, dynamodb, s3 = (boto3.client(n, region_name=spec["region"]) for n in ("sqs", "dynamodb", "s3"))
for q in spec["queues"]:       # each dead-letter queue comes before its queue
    attributes = dict(q["attributes"])
    if q.get("dead_letter"):
        dlq = sqs.get_queue_url(QueueName=q["dead_letter"])["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        attributes["RedrivePolicy"] = json.dumps({"deadLetterTargetArn": arn,
                                                  "maxReceiveCount": q["max_receive_count"]})
    sqs.create_queue(QueueName=q["name"], Attributes=attributes)
    print("queue", q["name"])
existing = set(dynamodb.list_tables()["TableNames"])
for t in spec["tables"]:
    if t["name"] not in existing:
        dynamodb.create_table(TableName=t["name"], KeySchema=t["keys"], AttributeDefinitions=t["attributes"],
                              BillingMode="PAY_PER_REQUEST")
        dynamodb.get_waiter("table_exists").wait(TableName=t["name"])
    ttl = dynamodb.describe_time_to_live(TableName=t["name"])["TimeToLiveDescription"]
    if t["ttl_attribute"] and ttl.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
        dynamodb.update_time_to_live(TableName=t["name"], TimeToLiveSpecification={
            "AttributeName": t["ttl_attribute"], "Enabled": True})
    print("table", t["name"])
existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
for b in spec["buckets"]:
    if b["name"] not in existing:
        location = {} if spec["region"] == "us-east-1" else {
            "CreateBucketConfiguration": {"LocationConstraint": spec["region"]}}
        s3.create_bucket(Bucket=b["name"], **location)
    if b["versioned"]:
        s3.put_bucket_versioning(Bucket=b["name"], VersioningConfiguration={"Status": "Enabled"})
    if b["cors"]:
        s3.put_bucket_cors(Bucket=b["name"], CORSConfiguration={"CORSRules": b["cors"]})
    print("bucket", b["name"])
'''
