"""`make db-load ENV=... DUMP=s3://bucket/key.sql[.gz] [FORCE=1]` (docs/database.md, "First data load"): loads an SQL
dump from S3 into the environment's database with a one-off Fargate task, in the network of a service that uses the
database (its subnets and security group, which the database admits), with the engine's client image.

The task (a task definition registered for this run, deregistered afterwards) has three containers, each starting
only when the one before it succeeded (dependsOn SUCCESS):

    check     the engine's client: counts the database's user tables; more than none stops here (exit 3) unless
              FORCE=1, before any byte of the dump is read
    download  the AWS CLI image: copies the one object onto the task's ephemeral storage (sized from the object)
    load      the engine's client: the file (through gunzip when it ends in .gz) into psql / mysql, stopping at the
              first error; its exit code is the command's

The official client images carry no AWS CLI, hence the download container and the shared volume.

Least privilege: the credentials come from the environment's RDS-managed master secret, read by the execution role
of the service whose network the task borrows (the same role that hands them to the service's tasks; the values
never reach this machine or the task definition). Read access to the dump is a role created for this one run: ECS
cannot attach a session policy to a task role, and a standing role in the database stack would need its policy
rewritten per dump (drift) or a wildcard. The run's role allows s3:GetObject on exactly `arn:aws:s3:::bucket/key`,
is trusted by ECS tasks of this account only, and is deleted when the task has stopped (also after an error or
Ctrl-C). An object encrypted with a customer-managed KMS key also needs kms:Decrypt on that key, which the role
does not get: the command says so when the download fails.

The task is started and waited for by the code `make run` and the deploy's migration use (scripts/opslib/tasks.py);
the log lines of the three containers are printed as they arrive.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from scripts.deploylib.errors import DeployError, Interrupted
from scripts.opslib import tasks
from scripts.opslib.context import Ops

DUMP_PATTERN = r"s3://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])/([^\s]+\.sql(\.gz)?)"
DUMP_RULE = "DUMP must be s3://bucket/key ending in .sql or .sql.gz"
# The engine's client images (Docker official images through the public ECR mirror: no Docker Hub pull limits), by
# the engine's major version; the AWS CLI image pinned to one release.
CLIENT_IMAGES = {"aurora-postgresql": "public.ecr.aws/docker/library/postgres:{major}-alpine",
                 "aurora-mysql": "public.ecr.aws/docker/library/mysql:{major}"}
AWS_CLI_IMAGE = "public.ecr.aws/aws-cli/aws-cli:2.15.0"
CPU, MEMORY = "1024", "2048"
MIN_STORAGE_GIB, MAX_STORAGE_GIB, STORAGE_SLACK_GIB = 21, 200, 5   # Fargate ephemeral storage: 21-200 GiB
VOLUME, MOUNT = "dump", "/dump"
REFUSED = 3                    # the check container's exit code for a database that has tables
ROLE_WAIT_SECONDS = 10         # a new role reaches ECS's credential service after a few seconds (IAM is eventual)
STARTED_BY = "make-db-load"
POLICY = "read-the-dump"     # the run's role's one inline policy
CHECK, DOWNLOAD, LOAD = "check", "download", "load"


@dataclass(frozen=True)
class Dump:
    bucket: str
    key: str

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    @property
    def gzipped(self) -> bool:
        return self.key.endswith(".gz")

    @property
    def file(self) -> str:
        return f"{MOUNT}/dump.sql" + (".gz" if self.gzipped else "")


class DumpMissing(DeployError):
    exit_code = 2     # a usage error, as argparse's


def parse_dump(value: str) -> Dump:
    """`s3://bucket/key.sql[.gz]`, else ValueError with the rule (the CLI turns it into one line and exit 2)."""
    found = re.fullmatch(DUMP_PATTERN, value or "")
    if not found or ".." in found.group(1):
        raise ValueError(f"{DUMP_RULE} (got {value!r})")
    return Dump(found.group(1), found.group(2))


def client_image(engine: str, version: str) -> str:
    """The client of the engine's major version: Aurora PostgreSQL 16.9 -> postgres:16; Aurora MySQL
    8.0.mysql_aurora.3.08.0 -> mysql:8.0."""
    major = version.split(".mysql_aurora", 1)[0] if engine == "aurora-mysql" else version.split(".", 1)[0]
    return CLIENT_IMAGES[engine].format(major=major)


# --- what the containers run ---------------------------------------------------------------------------------------
_PG_ENV = ('export PGHOST="$DB_HOST" PGPORT="$DB_PORT" PGDATABASE="$DB_NAME" PGUSER="$DB_USER" '
           'PGPASSWORD="$DB_PASSWORD"')
_MYSQL = 'mysql --host="$DB_HOST" --port="$DB_PORT" --user="$DB_USER"'
COUNT = {
    "aurora-postgresql": f"{_PG_ENV}; psql -tAc \"SELECT count(*) FROM information_schema.tables WHERE table_schema "
                         f"NOT IN ('pg_catalog', 'information_schema')\"",
    "aurora-mysql": f"export MYSQL_PWD=\"$DB_PASSWORD\"; {_MYSQL} -N -e \"SELECT COUNT(*) FROM "
                    f"information_schema.tables WHERE table_schema = '$DB_NAME'\"",
}
CLIENT = {"aurora-postgresql": f"{_PG_ENV}; psql -v ON_ERROR_STOP=1 --quiet",
          "aurora-mysql": f"export MYSQL_PWD=\"$DB_PASSWORD\"; {_MYSQL} \"$DB_NAME\""}


def check_script(engine: str) -> str:
    return (f"set -eu; n=\"$({COUNT[engine]})\"; echo \"db-load: $n user tables in $DB_NAME\"; "
            f"if [ \"$n\" != 0 ] && [ \"${{FORCE:-0}}\" != 1 ]; then echo \"db-load: refusing to load into a "
            f"database that has tables (FORCE=1 loads anyway)\"; exit {REFUSED}; fi")


def load_script(engine: str, dump: Dump) -> str:
    read = f"gunzip -c {dump.file}" if dump.gzipped else f"cat {dump.file}"
    client = CLIENT[engine].rsplit("; ", 1)
    return (f"set -eu; set -o pipefail; {client[0]}; echo \"db-load: loading {dump.uri} into $DB_NAME\"; "
            f"{read} | {client[1]}; echo \"db-load: done\"")


# --- the task ------------------------------------------------------------------------------------------------------

def database_service(ops: Ops) -> str:
    """The service whose network, execution role and database settings the task borrows: the migrate service, else
    the first service that uses the database (and is not a cron job: its network lives in a state machine)."""
    from generator.components import attachments
    app = ops.target.app
    if app.database is None:
        raise DeployError("app.yaml has no database", "add a `database:` block, `make templates`, then deploy")
    if app.migrate is not None:
        return app.migrate.service
    users = [s.name for s in app.services if any(n == "database" for n, _ in attachments.requested(s))]
    if not users:
        raise DeployError("no service uses the database, so no network reaches it",
                          "add `database` to a service's `uses` in app.yaml, `make templates`, then deploy")
    return users[0]


def task_definition(ops: Ops, service: str, source: dict[str, Any], dump: Dump, role_arn: str, size: int,
                    force: bool) -> dict[str, Any]:
    """RegisterTaskDefinition's arguments: the source service's execution role, log group and database settings."""
    db = ops.target.app.database
    main = next(c for c in source["containerDefinitions"] if c["name"] == service)
    names = ("DB_HOST", "DB_PORT", "DB_NAME")
    environment = [e for e in main.get("environment", []) if e["name"] in names]
    secrets = [s for s in main.get("secrets", []) if s["name"] in ("DB_USER", "DB_PASSWORD")]
    if len(environment) != len(names) or len(secrets) != 2:
        raise DeployError(f"{service}'s task definition has no database settings (DB_HOST, DB_PORT, DB_NAME, DB_USER, "
                          "DB_PASSWORD)", f"deploy the environment first: `{ops.make('deploy')}`")
    options = dict(main["logConfiguration"]["options"])
    options["awslogs-stream-prefix"] = "db-load"
    logs = {"logDriver": "awslogs", "options": options}
    image = client_image(db.engine, db.engine_version)
    mount = [{"sourceVolume": VOLUME, "containerPath": MOUNT}]
    database = {"environment": [*environment, {"name": "FORCE", "value": "1" if force else "0"}], "secrets": secrets}
    return {
        "family": f"{ops.family('db-load')}", "taskRoleArn": role_arn,
        "executionRoleArn": source["executionRoleArn"], "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"], "cpu": CPU, "memory": MEMORY,
        "ephemeralStorage": {"sizeInGiB": size}, "volumes": [{"name": VOLUME}],
        "containerDefinitions": [
            {"name": CHECK, "image": image, "essential": False, "entryPoint": ["sh", "-c"],
             "command": [check_script(db.engine)], "logConfiguration": logs, **database},
            {"name": DOWNLOAD, "image": AWS_CLI_IMAGE, "essential": False,
             "command": ["s3", "cp", dump.uri, dump.file, "--no-progress"], "mountPoints": mount,
             "dependsOn": [{"containerName": CHECK, "condition": "SUCCESS"}], "logConfiguration": logs},
            {"name": LOAD, "image": image, "essential": True, "entryPoint": ["sh", "-c"],
             "command": [load_script(db.engine, dump)], "mountPoints": mount,
             "dependsOn": [{"containerName": DOWNLOAD, "condition": "SUCCESS"}], "logConfiguration": logs,
             **database}],
        "tags": [{"key": "Application", "value": ops.app}, {"key": "Environment", "value": ops.env},
                 {"key": "Purpose", "value": "db-load"}]}


def storage_gib(size_bytes: int) -> int:
    needed = math.ceil(size_bytes / 2**30) + STORAGE_SLACK_GIB
    if needed > MAX_STORAGE_GIB:
        raise DeployError(f"the dump is {size_bytes / 2**30:.0f} GiB; a Fargate task's storage holds at most "
                          f"{MAX_STORAGE_GIB} GiB", "compress it (.sql.gz), or split it into several dumps")
    return max(MIN_STORAGE_GIB, needed)


def trust_policy(ops: Ops) -> str:
    account = ops.account()
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:SourceAccount": account},
                      "ArnLike": {"aws:SourceArn": f"arn:aws:ecs:{ops.aws.region}:{account}:*"}}}]})


def read_policy(dump: Dump) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{dump.bucket}/{dump.key}"}]})


def role_name(ops: Ops) -> str:
    """`<app>-<env>-db-load-<UTC time>`: at most 64 characters (names are at most 20 each)."""
    return f"{ops.app}-{ops.env}-db-load-{ops.console.now():%Y%m%d%H%M%S}"


def dump_size(ops: Ops, dump: Dump) -> int:
    try:
        return int(ops.client("s3").head_object(Bucket=dump.bucket, Key=dump.key)["ContentLength"])
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in ("404", "NoSuchKey", "NotFound"):
            raise DeployError(f"{dump.uri} does not exist", "check the bucket and key (aws s3 ls)") from None
        raise DeployError(f"cannot read {dump.uri} ({code})",
                          "these credentials need s3:GetObject on it to check its size") from None


def db_load(ops: Ops) -> int:
    if not ops.options.dump:
        raise DumpMissing(DUMP_RULE, f"e.g. `{ops.make('db-load', DUMP='s3://my-bucket/dumps/first.sql.gz')}`")
    dump = parse_dump(ops.options.dump)
    service = database_service(ops)
    size = storage_gib(dump_size(ops, dump))
    task_def, network = tasks.launch_settings(ops, service)
    source = ops.client("ecs").describe_task_definition(taskDefinition=task_def)["taskDefinition"]
    iam, ecs, say = ops.client("iam"), ops.client("ecs"), ops.console.say
    role = role_name(ops)
    role_arn = iam.create_role(
        RoleName=role, Path="/", AssumeRolePolicyDocument=trust_policy(ops),
        Description=f"make db-load: reads {dump.uri} once (deleted after the run)"[:1000],
        Tags=[{"Key": "Application", "Value": ops.app}, {"Key": "Environment", "Value": ops.env},
              {"Key": "Purpose", "Value": "db-load"}])["Role"]["Arn"]
    registered = None
    try:
        iam.put_role_policy(RoleName=role, PolicyName=POLICY, PolicyDocument=read_policy(dump))
        say(f"Role {role}: s3:GetObject on {dump.uri} only (deleted after the run)")
        ops.console.sleep(ROLE_WAIT_SECONDS)
        registered = ecs.register_task_definition(
            **task_definition(ops, service, source, dump, role_arn, size, ops.options.force)
        )["taskDefinition"]["taskDefinitionArn"]
        group = next(c for c in source["containerDefinitions"] if c["name"] == service)["logConfiguration"][
            "options"]["awslogs-group"]
        return _run(ops, dump, registered, network, group)
    finally:
        _clean_up(ops, role, registered)


def _clean_up(ops: Ops, role: str, registered: str | None) -> None:
    """Each step on its own, so one that fails (a policy never attached, a throttled call) neither hides the error
    that brought us here nor leaves the role behind unsaid."""
    iam, ecs = ops.client("iam"), ops.client("ecs")
    steps = [("the role's policy", lambda: iam.delete_role_policy(RoleName=role, PolicyName=POLICY),
              f"aws iam delete-role-policy --role-name {role} --policy-name {POLICY}"),
             ("the role", lambda: iam.delete_role(RoleName=role), f"aws iam delete-role --role-name {role}")]
    if registered:
        steps.insert(0, ("the task definition", lambda: ecs.deregister_task_definition(taskDefinition=registered),
                         f"aws ecs deregister-task-definition --task-definition {registered}"))
    left = []
    for what, call, by_hand in steps:
        try:
            call()
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code != "NoSuchEntity":
                ops.console.say(f"Could not delete {what} ({code}): {by_hand}")
                left.append(what)
    if not left:
        ops.console.say(f"Deleted role {role}" + (" and deregistered the task definition" if registered else ""))


def _run(ops: Ops, dump: Dump, task_def: str, network: dict[str, Any], group: str) -> int:
    ecs, say = ops.client("ecs"), ops.console.say
    started = ecs.run_task(cluster=ops.cluster, taskDefinition=task_def, count=1, startedBy=STARTED_BY,
                           launchType="FARGATE", networkConfiguration=network, propagateTags="TASK_DEFINITION")
    if not started.get("tasks"):
        reasons = "; ".join(f"{f.get('arn', '')}: {f.get('reason', '')}" for f in started.get("failures", []))
        raise DeployError(f"ECS did not start the task: {reasons or 'no reason given'}")
    arn = started["tasks"][0]["taskArn"]
    task_id = arn.rsplit("/", 1)[-1]
    say(f"Started db-load task {task_id}: {dump.uri} into {ops.target.app.database.name} "
        f"({'FORCE: even if it has tables' if ops.options.force else 'only if it has no tables'})")
    log = _LogTail(ops, task_id, group)
    try:
        task = tasks.wait_stopped(ops, arn, on_poll=log.print_new)
    except KeyboardInterrupt:
        ecs.stop_task(cluster=ops.cluster, task=arn, reason="make db-load interrupted")
        raise Interrupted(f"\nStopped db-load task {task_id}; the database may hold part of the dump.",
                          f"look at it before loading again (FORCE=1 loads over it): `{ops.make('db-load')}`") from None
    log.print_new()
    codes = {c.get("name"): c.get("exitCode") for c in task.get("containers", [])}
    if codes.get(CHECK) == REFUSED:
        raise DeployError(f"the {ops.env} database already has tables: nothing was loaded",
                          f"to load over them: `{ops.make('db-load', DUMP=dump.uri, FORCE='1')}`")
    for name, hint in ((CHECK, "the check could not count the tables (its log lines are above): is the database "
                               "running, and does it admit the service's security group?"),
                       (DOWNLOAD, f"the task could not read {dump.uri}: an object encrypted with a customer-managed "
                                  "KMS key needs kms:Decrypt, which the run's role does not get")):
        if codes.get(name) != 0:
            raise DeployError(f"db-load {name} step failed (exit {codes.get(name)}): "
                              f"{task.get('stoppedReason', '?')}; nothing was loaded", hint)
    code = codes.get(LOAD)
    if code is None:
        raise DeployError(f"db-load task {task_id} stopped without an exit code: {task.get('stoppedReason', '?')}")
    say(f"db-load task {task_id}: the client exited with {code}")
    return int(code)


class _LogTail:
    """Prints the containers' new log lines at each poll (streams `db-load/<container>/<task id>`)."""

    def __init__(self, ops: Ops, task_id: str, group: str):
        self.ops, self.task_id, self.group = ops, task_id, group
        self.tokens: dict[str, str | None] = {c: None for c in (CHECK, DOWNLOAD, LOAD)}

    def print_new(self) -> None:
        logs = self.ops.client("logs")
        for container, token in self.tokens.items():
            kwargs: dict[str, Any] = {"logGroupName": self.group, "logStreamName": f"db-load/{container}/{self.task_id}",
                                      "startFromHead": True}
            if token:
                kwargs["nextToken"] = token
            try:
                page = logs.get_log_events(**kwargs)
            except logs.exceptions.ResourceNotFoundException:
                continue
            for event in page.get("events", []):
                self.ops.console.say(f"  {container}: {event.get('message', '').rstrip()}")
            self.tokens[container] = page.get("nextForwardToken", token)
