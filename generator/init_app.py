"""`fargate-stacks init`: a commented app.yaml that builds, from flags or a few questions.

The answers become a `Choices`; `render(choices)` writes the YAML text (pure); `run` checks that text with the same
loader `build` uses before anything is written, so init never leaves a file that does not load, and it never
overwrites a file. Without a terminal (a script, CI) or with `--yes` it asks nothing: flags and defaults decide.
"""
from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from pathlib import Path

from generator import atomic_file, schema
from generator.components.network import zones
from generator.config.models import NAME_PATTERN
from generator.errors import ConfigError, Problem, UsageError
from generator.init_options import (DEFAULT_ENVIRONMENTS, DEFAULT_PORT, DEFAULT_REGION, DEFAULT_SERVICES, KINDS,
                                    PRODUCTION_NAMES, add_arguments)
from generator.records import record

# Obvious placeholders that pass the spec's checks (the AWS documentation's example account, an all-zero
# connection id); the file says to replace them before the pipeline is deployed.
PLACEHOLDER_ACCOUNT = "123456789012"
PLACEHOLDER_CONNECTION = "00000000-0000-0000-0000-000000000000"


@record(frozen=True)
class Service:
    name: str
    kind: str
    port: int | None = None


@record(frozen=True)
class Choices:
    name: str
    region: str = DEFAULT_REGION
    services: tuple[Service, ...] = (Service("web", "web", DEFAULT_PORT),)
    database: bool = False
    environments: tuple[str, ...] = ("dev", "prod")
    pipeline: bool = False
    owner: str | None = None
    repository: str | None = None


# ------------------------------------------------------------------------------------------------ answers
def parse_services(text: str) -> tuple[Service, ...]:
    """`web:web:8080,worker:worker,cron:cron` -> services; a web service without a port gets 8080."""
    services = []
    for item in [i.strip() for i in text.split(",") if i.strip()]:
        parts = item.split(":")
        if len(parts) not in (2, 3):
            raise ValueError(f"{item!r} is not NAME:KIND or NAME:KIND:PORT (e.g. api:web:3000, jobs:worker)")
        name, kind = parts[0].strip(), parts[1].strip()
        if kind not in KINDS:
            raise ValueError(f"{item!r}: kind {kind!r} is not one of {', '.join(KINDS)}")
        port = None
        if len(parts) == 3:
            if kind != "web":
                raise ValueError(f"{item!r}: only web services have a port")
            if not parts[2].strip().isdigit() or not 1 <= int(parts[2]) <= 65535:
                raise ValueError(f"{item!r}: the port is a number from 1 to 65535")
            port = int(parts[2])
        elif kind == "web":
            port = DEFAULT_PORT
        services.append(Service(name, kind, port))
    if not services:
        raise ValueError("name at least one service, e.g. web:web:8080")
    return tuple(services)


def parse_environments(text: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    if not names:
        raise ValueError("name at least one environment, e.g. dev,prod")
    return names


def parse_yes_no(text: str) -> bool:
    answer = text.strip().lower()
    if answer in ("y", "yes", "true", "1"):
        return True
    if answer in ("n", "no", "false", "0"):
        return False
    raise ValueError(f"{text!r}: answer yes or no")


def default_name(directory: Path) -> str:
    """The directory's name as an app name when it is one (`My Shop` -> `my-shop`), else `myapp`."""
    name = re.sub(r"[^a-z0-9-]+", "-", directory.name.lower()).strip("-")[:20].strip("-")
    return name if re.fullmatch(NAME_PATTERN, name) else "myapp"


# ------------------------------------------------------------------------------------------------ the text
def render(c: Choices) -> str:
    """The commented app.yaml for `c` (pure)."""
    owner = c.owner or f"{c.name}-team"
    lines = [
        schema.MODELINE.format(path=schema.COMMITTED.as_posix()),
        "# The app, described once (written by `fargate-stacks init`; every field is described in README.md and in",
        "# schema/app.schema.json, which editors with the YAML language server use to complete and check this file).",
        "# `fargate-stacks build` (or `make templates`) turns it into one set of templates plus a parameter file per",
        "# environment; `fargate-stacks validate` checks it without writing anything.",
        f"app: {c.name}" + _pad(f"app: {c.name}") + "# lowercase, 2-20 characters: physical names, the Application tag",
        f"owner: {owner}" + _pad(f"owner: {owner}") + "# the Owner tag",
        f"region: {c.region}",
        "",
        "network:",
        "  mode: new                # a VPC per environment (`existing`: each environment names its VPC and subnets)",
        "  az_count: 2              # availability zones (2 or 3)",
        "  nat: single              # one shared NAT gateway (cheapest); `per-az` survives a zone outage",
        "",
        "services:",
    ]
    web = [s for s in c.services if s.kind == "web"]
    for s in c.services:
        lines += [f"  - name: {s.name}", f"    kind: {s.kind}" + _pad(f"    kind: {s.kind}") + _KIND_NOTE[s.kind]]
        if s.kind == "web":
            lines.append(f"    port: {s.port}")
        lines += ["    cpu: 256" + _pad("    cpu: 256") + "# Fargate CPU units; memory fits them (the schema lists both)",
                  "    memory: 512"]
        if s.kind == "web":
            if s is web[0]:
                lines.append("    health_check_path: /health" + _pad("    health_check_path: /health") +
                             "# no routing: the catch-all for paths the others do not take")
            else:
                lines += ["    health_check_path: /health",
                          f"    routing: {{path_patterns: [\"/{s.name}/*\"], priority: {10 * web.index(s)}}}"]
        if s.kind == "cron":
            lines.append("    schedule: cron(0 3 * * ? *)" + _pad("    schedule: cron(0 3 * * ? *)") +
                         "# 03:00 UTC every day (EventBridge Scheduler syntax)")
    if c.database:
        lines += ["", "database:                  # Aurora Serverless v2",
                  "  engine: aurora-postgresql", f"  name: {c.name.replace('-', '_')}"]
    lines += ["", "environments:              # in promotion order"]
    for i, env in enumerate(c.environments):
        lines += _environment(c, env, i)
    if c.pipeline:
        repository = c.repository or f"my-org/{c.name}"
        lines += [
            "",
            "pipeline:                  # CodePipeline releasing to each environment in order (docs/pipeline.md)",
            "  # Placeholders: replace the account, the connection (created once in the console), the repository and",
            "  # the e-mail address before you deploy the pipeline.",
            f"  account_id: \"{PLACEHOLDER_ACCOUNT}\"",
            f"  connection_arn: arn:aws:codeconnections:{c.region}:{PLACEHOLDER_ACCOUNT}:connection/"
            f"{PLACEHOLDER_CONNECTION}",
            f"  repository: {repository}      # owner/name on GitHub; each image builds from <service>/Dockerfile",
            "  notification_email: releases@example.com   # receives the production approval requests",
        ]
    return "\n".join(lines) + "\n"


_KIND_NOTE = {"web": "# behind the load balancer",
              "worker": "# no load balancer (e.g. reads a queue)",
              "cron": "# a scheduled task, never an always-on container"}


def _pad(text: str, column: int = 27) -> str:
    return " " * max(1, column - len(text))


def _environment(c: Choices, env: str, index: int) -> list[str]:
    production = env in PRODUCTION_NAMES
    lines = [f"  {env}:"]
    if production:
        lines.append("    production: true         # a stack policy protects stateful resources; no off-hours")
    lines.append(f"    cidr: 10.{10 * (index + 1)}.0.0/16")
    if production:
        prefix = zones.zone_id_prefix(c.region) or "use1"
        lines += [f"    zones: [{prefix}-az1, {prefix}-az2]   # pinned by zone ID: check that your account has them "
                  f"(aws ec2 describe-availability-zones)",
                  "    nat: per-az              # a NAT gateway per zone: survives a zone outage",
                  "    # certificate_arn: arn:aws:acm:...   # HTTPS on 443 (HTTP only without it)"]
        counted = [s for s in c.services if s.kind != "cron"]
        if counted:
            lines.append("    services:                # task counts per service (docs/services.md)")
            for s in counted:
                low, high = (2, 4) if s.kind == "web" else (1, 2)
                lines.append(f"      {s.name}: {{min_count: {low}, max_count: {high}}}")
    else:
        spot = 80 if index == 0 else 50
        lines += [f"    spot_share: {spot}           # percent of tasks on FARGATE_SPOT (cheaper, may be interrupted)",
                  "    off_hours: {stop: \"cron(0 20 ? * MON-FRI *)\", start: \"cron(0 7 ? * MON-FRI *)\", "
                  "timezone: UTC}"]
    return lines


# ------------------------------------------------------------------------------------------------ command line
Ask = Callable[[str], str]


def choices_from(args: argparse.Namespace, ask: Ask | None, directory: Path) -> Choices:
    """Flags first; for what they leave open, a question (when `ask`) or the default."""
    def value(given, question: str, default: str, parse: Callable[[str], object]):
        if given is not None:
            try:
                return parse(given)
            except ValueError as exc:
                raise UsageError([f"init: {exc}"]) from None
        if ask is None:
            return parse(default)
        while True:
            answer = ask(f"{question} [{default}]: ").strip() or default
            try:
                return parse(answer)
            except ValueError as exc:
                print(f"  {exc}", file=sys.stderr)

    def yes_no(flag: bool | None, question: str) -> bool:
        given = None if flag is None else ("yes" if flag else "no")
        return bool(value(given, question + " (yes/no)", "no", parse_yes_no))

    name = str(value(args.name, "App name", default_name(directory), str))
    return Choices(
        name=name,
        region=str(value(args.region, "AWS region", DEFAULT_REGION, str)),
        services=value(args.services, "Services as NAME:KIND[:PORT], comma-separated (KIND: web, worker, cron)",
                       DEFAULT_SERVICES, parse_services),
        database=yes_no(args.database, "An Aurora PostgreSQL database?"),
        environments=value(args.environments, "Environments in promotion order (prod is production)",
                           DEFAULT_ENVIRONMENTS, parse_environments),
        pipeline=yes_no(args.pipeline, "A delivery pipeline (CodePipeline)?"),
        owner=args.owner,
        repository=args.repository,
    )


def run(args: argparse.Namespace, say: Callable[[str], None], ask: Ask | None = None,
        interactive: bool | None = None) -> int:
    out = Path(args.output)
    if out.exists() or out.is_symlink():
        raise UsageError([f"{out}: already exists; init never overwrites a file: move it away or pass --output PATH"])
    if interactive is None:
        interactive = not args.yes and sys.stdin.isatty()
    choices = choices_from(args, (ask or input) if interactive else None, out.resolve().parent)
    text = render(choices)
    check(text, str(out))
    try:
        atomic_file.create(out, text)
    except FileExistsError:
        raise UsageError([f"{out}: already exists; init never overwrites a file: move it away or pass --output "
                          "PATH"]) from None
    except OSError as exc:
        raise UsageError([f"{out}: cannot be written ({exc.strerror or exc}); nothing was written"]) from None
    written = [str(out)]
    schema_file = out.resolve().parent / schema.COMMITTED
    if not schema_file.exists():
        schema.write(schema_file)
        written.append(str(out.parent / schema.COMMITTED))
    say(f"wrote {' and '.join(written)}; next: fargate-stacks validate --app {out} (or build)")
    return 0


def check(text: str, source: str) -> None:
    """`text` loads as an app spec (the loader `build` uses), or ConfigError naming each problem with `source`."""
    from generator.config import yaml_reader
    from generator.config.loader import parse_app
    try:
        raw = yaml_reader.read(text)
    except yaml_reader.SpecYAMLError as exc:      # never expected: render writes plain YAML
        raise ConfigError(source, [Problem(exc.where, exc.message)]) from exc
    parse_app(raw, source)
