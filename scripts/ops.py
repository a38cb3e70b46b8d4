#!/usr/bin/env python3
"""Day-2 commands for one environment of the app (docs/operations.md):

  status    per service: desired/running/pending tasks, image tag, release in progress and its stage; alarms in
            ALARM; the last service events; the database's state
  logs      CloudWatch Logs of a service, every task (--since 15m, --follow, --filter PATTERN)
  exec      ECS Exec into a running task (--cmd, default /bin/sh; needs the session-manager-plugin)
  run       a one-off task with the service's image, network and secrets (--cmd): exit code and logs
  build-image  docker build of a service's image (--tag, default: the commit's first 12 hex digits)
  push-image   push it to the environment's repository and run the scan gate
  release   release --tag of one service without the pipeline (stack update; blue/green for web services)
  approve   continue a web release held for approval
  rollback  stop a release in progress with rollback, or release the image that ran before
  db-load   an SQL dump from S3 (--dump s3://bucket/key.sql[.gz]) into the database, a one-off task with the
            engine's client; refuses a database that has tables unless --force (docs/database.md)

Credentials and region as the deploy commands: AWS_PROFILE (or --profile), AWS_REGION (or --region, else `region:`
in app.yaml), endpoint override --endpoint-url or AWS_ENDPOINT_URL.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from generator.config.models import NAME_PATTERN  # noqa: E402
from scripts.deploy import IMAGE_TAG, _Parser, _value, connect, environment_arguments, guarded  # noqa: E402
from scripts.deploylib.aws import friendly_errors  # noqa: E402
from scripts.deploylib.ui import Console  # noqa: E402
from scripts.opslib import db_load, images, logs, release, status, tasks  # noqa: E402
from scripts.opslib.command_help import HELP  # noqa: E402
from scripts.opslib.context import Ops, OpsOptions  # noqa: E402

COMMANDS = tuple(HELP)
SERVICE = _value(NAME_PATTERN, "a service name from app.yaml")
SINCE = _value(logs.SINCE_PATTERN, "a duration: 30s, 15m, 2h or 1d")


def DUMP(value: str) -> str:  # noqa: N802 - an argparse type, named like the others
    try:
        return db_load.parse_dump(value).uri
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def parser(prog: str = "scripts/ops.py") -> argparse.ArgumentParser:
    p = _Parser(prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    common = argparse.ArgumentParser(add_help=False)
    environment_arguments(common)
    common.add_argument("--service", type=SERVICE, help="the service (SERVICE=...)")
    common.add_argument("--since", type=SINCE, default="15m", help="logs: how far back (default 15m)")
    common.add_argument("--follow", action="store_true", help="logs: keep printing new events")
    common.add_argument("--filter", help="logs: a CloudWatch Logs filter pattern")
    common.add_argument("--cmd", help="exec, run: the command (exec default: /bin/sh)")
    common.add_argument("--tag", type=IMAGE_TAG, help="build, push, release: the image tag")
    common.add_argument("--yes", action="store_true", help="release, rollback: do not ask for confirmation")
    common.add_argument("--dump", type=DUMP, help="db-load: the SQL dump, s3://bucket/key.sql or .sql.gz (DUMP=...)")
    common.add_argument("--force", action="store_true", help="db-load: load even into a database that has tables")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        sub.add_parser(name, parents=[common], help=HELP[name], description=HELP[name])
    return p


def main(argv: list[str] | None = None, console: Console | None = None, prog: str = "scripts/ops.py") -> int:
    args = parser(prog).parse_args(argv)
    console = console or Console()
    return guarded(args, console, lambda: run(args, console))


def run(args: argparse.Namespace, console: Console) -> int:
    with friendly_errors(args.profile):
        target, aws = connect(args, console)
        ops = Ops(target, aws, console, OpsOptions(service=args.service, since=args.since, follow=args.follow,
                                                   filter=args.filter, cmd=args.cmd, tag=args.tag, yes=args.yes,
                                                   dump=args.dump, force=args.force))
        root = args.app.resolve().parent     # build contexts are relative to the repository root (app.yaml's)
        actions = {
            "status": status.status, "logs": logs.logs, "exec": tasks.exec_, "run": tasks.run,
            "build-image": lambda o: images.build(o, root), "push-image": lambda o: images.push(o, root),
            "release": release.release, "approve": release.approve, "rollback": release.rollback,
            "db-load": db_load.db_load,
        }
        return actions[args.command](ops)


if __name__ == "__main__":
    sys.exit(main())
