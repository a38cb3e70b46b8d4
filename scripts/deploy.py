#!/usr/bin/env python3
"""Deploy one environment's root stack (and its nested stacks) with CloudFormation change sets.

  package   upload the templates to S3 (content-addressed), write build/packaged/<env>/root.yaml,
            print the root template URL and a console quick-create link
  diff      preview the change set across the whole nested tree, then delete it
  deploy    preview, confirm (or --yes), execute, stream events; root cause on failure; then app.yaml's
            migrate: (a production snapshot first, a one-off task; a failed migration fails the deploy)
  watch     resume streaming the events of an operation already running
  destroy   show what is deleted / retained / snapshotted, confirm, delete (production needs --force)
  drift     drift detection on the root and every nested stack, as a table (exit 3 when drifted)
  outputs   the root stack's outputs (URLs, names)
  rehearse  all of the above against a local AWS emulator (moto), then what it really created
  snapshot  a manual snapshot of the database cluster (its identifier printed)
  snapshots the database cluster's snapshots, newest first
  restore   restore the database from --snapshot (default: the newest manual one) through the template:
            RestoreFrom set for that deploy, preview, confirm, a pre-restore snapshot, deploy, what next
  deploy-role  (no --env) the stack <app>-pipeline-access from templates_out/deploy-role.yaml in the account of the
            credentials: uploaded to the templates bucket, then preview, confirm, deploy (docs/pipeline.md, step 3)

Credentials and region: AWS_PROFILE (or --profile), AWS_REGION (or --region, else `region:` in app.yaml),
endpoint override --endpoint-url or AWS_ENDPOINT_URL. See docs/deploy.md.
"""
from __future__ import annotations

import argparse
import dataclasses
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from botocore.exceptions import ClientError  # noqa: E402

from generator.components.database.spec import SNAPSHOT_ID  # noqa: E402
from generator.config.models import NAME_PATTERN  # noqa: E402
from generator.credentials import url_credentials  # noqa: E402
from generator.naming import IMAGE_TAG_PATTERN  # noqa: E402
from scripts.deploylib import commands  # noqa: E402
from scripts.deploylib.command_help import HELP  # noqa: E402
from scripts.deploylib.aws import (  # noqa: E402
    Aws, check_region, endpoint_from, friendly_errors, open_session, resolve_region)
from scripts.deploylib.errors import DeployError  # noqa: E402
from scripts.deploylib.target import Target, load_target  # noqa: E402
from scripts.deploylib.ui import Console  # noqa: E402

COMMANDS = tuple(HELP)
# S3 bucket naming rules: 3-63 characters, lowercase letters, digits, dots and hyphens, a letter or digit at each end.
BUCKET_PATTERN = r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]"


def _value(pattern: str, what: str) -> Callable[[str], str]:
    """An argparse type: the whole value must match (make passes values quoted, so `prod --force` arrives as one
    value and is refused here instead of becoming --force)."""
    def check(value: str) -> str:
        if not re.fullmatch(pattern, value) or ".." in value:
            raise argparse.ArgumentTypeError(f"{value!r} is not {what}")
        return value
    return check


ENV_NAME = _value(NAME_PATTERN, "an environment name from app.yaml (2-20 lowercase letters, digits and '-')")
IMAGE_TAG = _value(IMAGE_TAG_PATTERN, "an image tag (up to 128 letters, digits, '_', '.' and '-', not starting with "
                                      "'.' or '-')")
BUCKET = _value(BUCKET_PATTERN, "an S3 bucket name (3-63 lowercase letters, digits, '.' and '-')")
SNAPSHOT = _value(SNAPSHOT_ID.removeprefix("^").removesuffix("$"), "a cluster snapshot identifier or ARN")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """One line, not the whole usage block (exit 2, as argparse does)."""
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def environment_arguments(common: argparse.ArgumentParser, env: bool = True) -> None:
    """What every deploy and day-2 command takes: the environment, its files, and how to reach AWS."""
    if env:
        common.add_argument("--env", required=True, type=ENV_NAME, help="environment name from app.yaml (e.g. dev)")
    common.add_argument("--app", type=Path, default=ROOT / "app.yaml", help="app spec (default: app.yaml)")
    common.add_argument("--templates", type=Path, default=ROOT / "templates_out",
                        help="generated templates (default: templates_out)")
    common.add_argument("--params", type=Path, default=ROOT / "params", help="parameter files (default: params)")
    common.add_argument("--profile", default=None, help="AWS profile (default: AWS_PROFILE / default chain)")
    common.add_argument("--region", default=None, help="AWS region (default: AWS_REGION, else app.yaml)")
    common.add_argument("--endpoint-url", default=None,
                        help="endpoint override for every service (default: AWS_ENDPOINT_URL)")
    common.add_argument("--debug", action="store_true", help="show tracebacks")


def parser(prog: str = "scripts/deploy.py") -> argparse.ArgumentParser:
    p = _Parser(prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    common = argparse.ArgumentParser(add_help=False)
    environment_arguments(common)
    common.add_argument("--build-dir", type=Path, default=ROOT / "build" / "packaged",
                        help="where the packaged root template is written (default: build/packaged)")
    common.add_argument("--dir", type=Path, default=ROOT / "frontend" / "build", dest="frontend_dir",
                        help="publish-frontend: the frontend build's output directory (default: frontend/build)")
    common.add_argument("--bucket", default=None, type=BUCKET,
                        help="S3 bucket for templates (default: <app>-templates-<account>-<region>, created "
                             "on first use)")
    common.add_argument("--image-tag", default=None, type=IMAGE_TAG,
                        help="deploy/diff: image tag to deploy for every service (every <Service>ImageTag; "
                             "default: the parameter file's, except that its first-deploy placeholder keeps each "
                             "service's running tag on an existing stack)")
    common.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    common.add_argument("--force", action="store_true",
                        help="destroy: allow a production environment / a stack with termination protection; "
                             "restore: allow a production environment")
    common.add_argument("--dry-run", action="store_true",
                        help="package/deploy/destroy: print what would happen, change nothing")
    common.add_argument("--json", action="store_true", help="outputs: print a JSON object")
    common.add_argument("--snapshot", default=None, type=SNAPSHOT,
                        help="restore: the cluster snapshot to restore (default: the newest manual one; make "
                             "snapshots lists them)")
    # deploy-role acts on an account, not an environment: no --env
    account = argparse.ArgumentParser(add_help=False)
    environment_arguments(account, env=False)
    account.add_argument("--bucket", default=None, type=BUCKET,
                         help="S3 bucket for the template (default: <app>-templates-<account>-<region>, created on "
                              "first use)")
    account.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    account.add_argument("--dry-run", action="store_true", help="print what would happen, change nothing")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        sub.add_parser(name, parents=[account if name == "deploy-role" else common], help=HELP[name],
                       description=HELP[name])
    return p


def main(argv: list[str] | None = None, console: Console | None = None, prog: str = "scripts/deploy.py") -> int:
    """`prog`: the name usage and errors show (`fargate-stacks` when generator/cli.py delegates here)."""
    args = parser(prog).parse_args(argv)
    console = console or Console()

    def dispatch() -> int:
        if args.command == "deploy-role":
            return deploy_role(args, console)
        if args.command == "rehearse":
            from scripts.deploylib import rehearsal
            return rehearsal.main(args, console)
        return run(args, console)
    return guarded(args, console, dispatch)


def guarded(args: argparse.Namespace, console: Console, action: Callable[[], int]) -> int:
    """Run a command: what the operator can fix becomes its message and hints (no traceback unless --debug)."""
    try:
        return action()
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
        console.err.write("\nInterrupted.\n")
        return 130


def connect(args: argparse.Namespace, console: Console) -> tuple[Target, Aws]:
    """The environment (app.yaml, templates, parameter files) and a session for its region and endpoint."""
    endpoint = endpoint_from(args.endpoint_url)
    console.add_secrets(url_credentials(endpoint))    # printed as https://****@host, also when a message decodes it
    target = load_target(args.app, args.env, args.templates, args.params, None)
    region, source = resolve_region(args.region, target.app.region_of(target.env))
    target = dataclasses.replace(target, region=region)
    session = open_session(args.profile)
    check_region(session, region)
    if source != "app.yaml" and region != target.app.region:
        console.warn(f"using region {region} from {source}; app.yaml says {target.app.region}")
    return target, Aws(session, region, endpoint)


def deploy_role(args: argparse.Namespace, console: Console) -> int:
    """The pipeline's deploy role in the account of the credentials (scripts/deploylib/access.py)."""
    from generator.config import load_app
    from generator.errors import ConfigError
    from scripts.deploylib import access
    with friendly_errors(args.profile):
        try:
            app = load_app(args.app)
        except ConfigError as exc:
            raise DeployError(f"{args.app} is not valid:", *exc.lines()) from exc
        endpoint = endpoint_from(args.endpoint_url)
        console.add_secrets(url_credentials(endpoint))
        region, _ = resolve_region(args.region, app.region)
        session = open_session(args.profile)
        check_region(session, region)
        aws = Aws(session, region, endpoint)
        return access.deploy_role(aws, console, app, args.templates, args.params,
                                  access.AccessOptions(bucket=args.bucket, yes=args.yes, dry_run=args.dry_run))


def run(args: argparse.Namespace, console: Console) -> int:
    with friendly_errors(args.profile):
        target, aws = connect(args, console)
        ctx = commands.Ctx(target, aws, console, commands.Options(
            bucket=args.bucket, image_tag=args.image_tag, yes=args.yes, force=args.force, dry_run=args.dry_run,
            build_dir=args.build_dir, frontend_dir=args.frontend_dir))
        if args.command == "package":
            commands.package(ctx)
            return 0
        if args.command == "outputs":
            return commands.outputs(ctx, as_json=args.json)
        if args.command in ("snapshot", "snapshots", "restore"):
            from scripts.deploylib import database
            if args.command == "snapshot":
                database.snapshot(ctx)
                return 0
            return database.snapshots(ctx) if args.command == "snapshots" else database.restore(ctx, args.snapshot)
        return getattr(commands, args.command.replace("-", "_"))(ctx)

if __name__ == "__main__":
    sys.exit(main())
