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

Credentials and region as the deploy commands: AWS_PROFILE (or --profile), AWS_REGION (or --region, else `region:`
in app.yaml), endpoint override --endpoint-url or AWS_ENDPOINT_URL.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from botocore.exceptions import ClientError  # noqa: E402

from generator.config.models import NAME_PATTERN  # noqa: E402
from generator.credentials import url_credentials  # noqa: E402
from generator.naming import IMAGE_TAG_PATTERN  # noqa: E402
from scripts.deploy import ENV_NAME, IMAGE_TAG, _Parser, _value  # noqa: E402
from scripts.deploylib import commands  # noqa: E402
from scripts.deploylib.aws import (  # noqa: E402
    Aws, check_region, endpoint_from, friendly_errors, open_session, resolve_region)
from scripts.deploylib.errors import DeployError  # noqa: E402
from scripts.deploylib.target import load_target  # noqa: E402
from scripts.deploylib.ui import Console  # noqa: E402
from scripts.opslib import images, logs, release, status, tasks  # noqa: E402
from scripts.opslib.command_help import HELP  # noqa: E402
from scripts.opslib.context import Ops, OpsOptions  # noqa: E402

COMMANDS = tuple(HELP)
SERVICE = _value(NAME_PATTERN, "a service name from app.yaml")
SINCE = _value(logs.SINCE_PATTERN, "a duration: 30s, 15m, 2h or 1d")
assert IMAGE_TAG_PATTERN  # the --tag type (IMAGE_TAG) checks it


def parser(prog: str = "scripts/ops.py") -> argparse.ArgumentParser:
    p = _Parser(prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--env", required=True, type=ENV_NAME, help="environment name from app.yaml (e.g. dev)")
    common.add_argument("--app", type=Path, default=ROOT / "app.yaml", help="app spec (default: app.yaml)")
    common.add_argument("--templates", type=Path, default=ROOT / "templates_out",
                        help="generated templates (default: templates_out)")
    common.add_argument("--params", type=Path, default=ROOT / "params", help="parameter files (default: params)")
    common.add_argument("--service", type=SERVICE, help="the service (SERVICE=...)")
    common.add_argument("--since", type=SINCE, default="15m", help="logs: how far back (default 15m)")
    common.add_argument("--follow", action="store_true", help="logs: keep printing new events")
    common.add_argument("--filter", help="logs: a CloudWatch Logs filter pattern")
    common.add_argument("--cmd", help="exec, run: the command (exec default: /bin/sh)")
    common.add_argument("--tag", type=IMAGE_TAG, help="build, push, release: the image tag")
    common.add_argument("--profile", default=None, help="AWS profile (default: AWS_PROFILE / default chain)")
    common.add_argument("--region", default=None, help="AWS region (default: AWS_REGION, else app.yaml)")
    common.add_argument("--endpoint-url", default=None,
                        help="endpoint override for every service (default: AWS_ENDPOINT_URL)")
    common.add_argument("--yes", action="store_true", help="release, rollback: do not ask for confirmation")
    common.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        sub.add_parser(name, parents=[common], help=HELP[name], description=HELP[name])
    return p


def main(argv: list[str] | None = None, console: Console | None = None, prog: str = "scripts/ops.py") -> int:
    args = parser(prog).parse_args(argv)
    console = console or Console()
    try:
        return run(args, console)
    except DeployError as exc:
        if args.debug:
            raise
        for line in exc.lines():
            console.err.write(console.redact(line) + "\n")
        return exc.exit_code
    except ClientError as exc:
        if args.debug:
            raise
        console.err.write(console.redact("error: " + commands.describe_error(exc)) + "\n")
        return 1
    except KeyboardInterrupt:
        console.err.write("\nInterrupted; nothing on AWS was changed by the interruption.\n")
        return 130


def open_ops(args: argparse.Namespace, console: Console) -> Ops:
    endpoint = endpoint_from(args.endpoint_url)
    console.add_secrets(url_credentials(endpoint))
    target = load_target(args.app, args.env, args.templates, args.params, None)
    region, source = resolve_region(args.region, target.app.region)
    target = dataclasses.replace(target, region=region)
    session = open_session(args.profile)
    check_region(session, region)
    if source != "app.yaml" and region != target.app.region:
        console.warn(f"using region {region} from {source}; app.yaml says {target.app.region}")
    options = OpsOptions(service=args.service, since=args.since, follow=args.follow, filter=args.filter,
                         cmd=args.cmd, tag=args.tag, yes=args.yes)
    return Ops(target, Aws(session, region, endpoint), console, options)


def run(args: argparse.Namespace, console: Console) -> int:
    with friendly_errors(args.profile):
        ops = open_ops(args, console)
        root = args.app.resolve().parent     # build contexts are relative to the repository root (app.yaml's)
        actions = {
            "status": status.status, "logs": logs.logs, "exec": tasks.exec_, "run": tasks.run,
            "build-image": lambda o: images.build(o, root), "push-image": lambda o: images.push(o, root),
            "release": release.release, "approve": release.approve, "rollback": release.rollback,
        }
        return actions[args.command](ops)


if __name__ == "__main__":
    sys.exit(main())
