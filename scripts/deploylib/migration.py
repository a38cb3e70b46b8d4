"""The app's `migrate:` step of a deploy (README, docs/database.md): after the stack update succeeded and before any
traffic moves (a release's CodeDeploy deployment starts only after it), one Fargate task of the migrate service's
newest task definition revision (the image the update just registered) runs its `command`, in the service's
network. Production first takes a manual cluster snapshot, whose identifier is printed, so the database can be
restored to the moment before the migration. A non-zero exit stops the deploy with one line, the task's log tail
and the way back.

The task is started by the same code as `make run` (scripts/opslib/tasks.py)."""
from __future__ import annotations

from typing import Any

from scripts.deploylib import database
from scripts.deploylib.errors import DeployError
from scripts.opslib import tasks
from scripts.opslib.context import Ops, OpsOptions

TAIL = 20            # log lines shown when a migration fails
STARTED_BY = "deploy-migrate"


class MigrationFailed(DeployError):
    """The migration task ran and failed, or stopped without an exit code. `code`: its container's exit code (None
    without one); `snapshot_id`: the production snapshot taken before it (None elsewhere). The pipeline's Migrate
    action ends with `code` (scripts/deploylib/pipeline_migration.py); `make deploy` exits 1 like any DeployError."""

    def __init__(self, message: str, *hints: str, code: int | None, snapshot_id: str | None) -> None:
        super().__init__(message, *hints)
        self.code, self.snapshot_id = code, snapshot_id


def migrate(ctx: Any) -> str | None:
    """Run the migration of a deploy that changed the stack; return the production snapshot's identifier (else
    None). Without `migrate:` in app.yaml nothing is called."""
    spec = ctx.target.app.migrate
    if spec is None:
        return None
    ops = Ops(ctx.target, ctx.aws, ctx.console, OpsOptions(poll=ctx.options.event_poll))
    snapshot_id = None
    if ctx.target.production:
        snapshot_id = database.snapshot(ctx, purpose="migration")
        ctx.console.say(f"Pre-migration snapshot: {snapshot_id}")
    _, network = tasks.launch_settings(ops, spec.service)
    command = list(spec.command)
    ctx.console.say(f"Migrating the database with {spec.service}'s new image: {' '.join(command)}")
    result = tasks.one_off(ops, spec.service, command, ops.family(spec.service), network, STARTED_BY)
    if result.code == 0:
        ctx.console.say(f"Migration finished: {spec.service} task {result.task_id} exited with 0.")
        return snapshot_id
    if result.events:
        ctx.console.say(f"The migration's last {min(TAIL, len(result.events))} log lines:")
        for event in result.events[-TAIL:]:
            ctx.console.say(f"  {event.get('message', '').rstrip()}")
    ended = (f"exited with {result.code}" if result.code is not None
             else f"stopped without an exit code: {result.reason}")
    hints = ["the release stops here: no CodeDeploy deployment was started, so web traffic stays on the running "
             "tasks; fix the migration and deploy again",
             f"the task's logs: `{ops.make('logs', SERVICE=spec.service)}`"]
    if snapshot_id:
        hints.append(f"the database before the migration: `{ctx.make('restore')} SNAPSHOT={snapshot_id}` "
                     "(docs/database.md, 'Rolling back a migration')")
    raise MigrationFailed(f"migration failed: {spec.service} task {result.task_id} {ended}", *hints,
                          code=result.code, snapshot_id=snapshot_id)
