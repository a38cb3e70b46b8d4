"""The pipeline's Migrate action (buildspecs/migrate.yml.j2, docs/database.md "Migrations in the pipeline"): `make
deploy`'s migration step, run inside CodeBuild after the environment's Deploy action and before its releases.

    python -m scripts.deploylib.pipeline_migration --env prod [--app app.yaml] [--snapshot-file FILE]

It calls the very function `make deploy` calls (scripts/deploylib/migration.py `migrate`): in production a manual
cluster snapshot first (created, waited for, its identifier printed), then one Fargate task of the migrate service's
newest task definition revision (the one the Deploy action just registered) with app.yaml's command, in the service's
own network (private subnets, its security group), waited for, its log tail printed when it fails.

The snapshot's identifier (empty outside production) is written to `--snapshot-file`, from which the buildspec
exports SNAPSHOT_ID (the action's output variable `#{Migrate<Env>Variables.SNAPSHOT_ID}`). Exit status: 0 when the
migration exited 0; the container's exit code when it exited non-zero (1 when that code is not 1-255, or the task
stopped without one); 1 for any other failure (ECS did not start the task, an AWS error); 2 for an app.yaml that
does not load. Credentials: the environment's migrate role through AWS_PROFILE (the buildspec's profile).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from generator.config import load_app
from generator.errors import ConfigError
from scripts.deploylib import commands, migration
from scripts.deploylib.aws import Aws, friendly_errors, open_session
from scripts.deploylib.errors import DeployError
from scripts.deploylib.target import Target
from scripts.deploylib.ui import Console

POLL = 10.0     # seconds between task status polls (a migration takes minutes; CodeBuild bills by the minute)


def exit_status(code: int | None) -> int:
    """The action's exit status for a failed migration: the container's code where a shell can carry it."""
    return code if code is not None and 1 <= code <= 255 else 1


def target(app_path: Path, env: str, region: str | None = None) -> Target:
    """The environment as `make deploy` sees it, from app.yaml alone: the migration reads no parameter file (the
    Deploy action already applied them), so none is required here."""
    app = load_app(app_path)
    if env not in app.environments:
        raise DeployError(f"unknown environment '{env}'", f"{app_path} defines: {', '.join(app.environments)}")
    return Target(app=app, env=env, spec=app.environments[env], region=region or app.region_of(env),
                  templates_dir=Path("templates_out"), params_dir=Path("params"), parameters=(), tags=(),
                  stack_policy=None)


def _write(path: Path | None, snapshot_id: str | None) -> None:
    if path is not None:
        path.write_text(snapshot_id or "", encoding="utf-8")


def main(argv: list[str] | None = None, *, aws: Any = None, console: Console | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pipeline_migration", description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", required=True, help="the environment's name in app.yaml")
    parser.add_argument("--app", type=Path, default=Path("app.yaml"), help="the app spec (default: app.yaml)")
    parser.add_argument("--region", default=None, help="default: the environment's region in app.yaml")
    parser.add_argument("--snapshot-file", type=Path, default=None,
                        help="where to write the pre-migration snapshot's identifier (empty outside production)")
    args = parser.parse_args(argv)
    console = console or Console()
    try:
        tgt = target(args.app, args.env, args.region)
    except ConfigError as exc:
        print("\n".join(exc.lines()), file=sys.stderr)
        return 2
    except DeployError as exc:
        print("\n".join(exc.lines()), file=sys.stderr)
        return 2
    if tgt.app.migrate is None:
        console.say(f"{args.app} has no `migrate:`; nothing to run")
        _write(args.snapshot_file, None)
        return 0
    ctx = commands.Ctx(tgt, aws or Aws(open_session(), tgt.region), console, commands.Options(event_poll=POLL))
    try:
        with friendly_errors(os.environ.get("AWS_PROFILE")):    # an AWS error: one line, no traceback
            snapshot_id = migration.migrate(ctx)
    except migration.MigrationFailed as exc:
        _write(args.snapshot_file, exc.snapshot_id)
        print("\n".join(exc.lines()), file=sys.stderr)
        return exit_status(exc.code)
    except DeployError as exc:
        print("\n".join(exc.lines()), file=sys.stderr)
        return 1
    except ClientError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    _write(args.snapshot_file, snapshot_id)
    return 0


if __name__ == "__main__":
    sys.exit(main())
