"""The pipeline's Migrate action (issue 11 item 4; docs/database.md, "Migrations in the pipeline"): app.yaml's
`migrate:` run in each environment's stage after its Deploy action and before its releases, with the code `make
deploy` runs (scripts/deploylib/migration.py, through scripts/deploylib/pipeline_migration.py).

    Deploy<Env>: Promote (1), Deploy (2), ProtectNestedStacks / PublishFrontend / PrepareRelease / Migrate (3),
                 the CodeDeployToECS releases and their gates (4)

A failed migration fails the action, so the stage stops before run order 4: no CodeDeploy deployment starts and web
traffic stays on the running tasks. The CodeBuild project (`<app>-pipeline-migrate`, one for every environment) runs
with the pipeline account's release role, which assumes the environment's migrate role `<app>-<env>-migrate` through
an AWS CLI profile (the environment's own stack creates it: generator/components/migrate, with grants on that
environment's resources only; deploy-role.yaml, sent inline, has no room for it). Production
takes a manual cluster snapshot first; its identifier is the action's output variable
`#{Migrate<Env>Variables.SNAPSHOT_ID}` (CodeBuild exported variables), shown with the action in the console and in the
text of the environment's later approval.

Everything here is pure: names, the plan's predicate, the action's variables and the approval's sentence.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from generator import naming

if TYPE_CHECKING:
    from generator.config import AppSpec

ACTION = "Migrate"
PROJECT_NAME = "migrate"              # `<app>-pipeline-migrate`, also its log stream prefix
SNAPSHOT_VARIABLE = "SNAPSHOT_ID"     # the buildspec's exported variable
# A production snapshot waits up to an hour (scripts/deploylib/database.py WAIT), then the task runs.
TIMEOUT_MINUTES = 120


def runs(app: AppSpec, env: str) -> bool:
    """Whether `env`'s stage has a Migrate action: the app has `migrate:` and the environment a database (every
    environment has the app's database today; the predicate is the one place that decides)."""
    return (app.migrate is not None and app.database is not None and env in app.environments
            and any(s.name == app.migrate.service for s in app.services))


def environments(app: AppSpec) -> list[str]:
    return [env for env in app.environments if runs(app, env)]


def needed(app: AppSpec) -> bool:
    return bool(environments(app))


def snapshots(app: AppSpec, env: str) -> bool:
    """Production migrations take a snapshot first (the value of SNAPSHOT_ID is empty elsewhere)."""
    return runs(app, env) and app.environments[env].production


def namespace(env: str) -> str:
    return f"{ACTION}{naming.pascal(env)}Variables"


def snapshot_reference(env: str) -> str:
    """The snapshot identifier as a CodePipeline variable reference, for later actions' configuration."""
    return f"#{{{namespace(env)}.{SNAPSHOT_VARIABLE}}}"


CUSTOM_DATA_CHARACTERS = 500     # a manual approval's CustomData (CodePipeline action configuration reference)


def restore_hint(env: str) -> str:
    """A sentence for the environment's later approval: the snapshot and the command that restores it."""
    ref = snapshot_reference(env)
    return f" Pre-migration snapshot: {ref} (to undo the migration: make restore ENV={env} SNAPSHOT={ref})."


def with_snapshot(message: str, env: str) -> str:
    """`message` with the restore hint, or the snapshot alone, whichever still fits CustomData's 500 characters
    (the variable is counted as written: its value, `<app>-<env>-YYYYmmdd-HHMMSS`, is never longer)."""
    for hint in (restore_hint(env), f" Pre-migration snapshot: {snapshot_reference(env)}."):
        if len(message + hint) <= CUSTOM_DATA_CHARACTERS:
            return message + hint
    return message


def role_arn(env: str) -> str:
    """`env`'s migrate role (generator/components/migrate: `<app>-<env>-migrate`, path `/<app>/<env>/`), in a Sub
    with `${Account}`."""
    return (f"arn:${{AWS::Partition}}:iam::${{Account}}:role/${{{naming.APPLICATION_PARAM}}}/{env}/"
            f"{naming.stack_name_sub(env)}-{naming.MIGRATE_ROLE}")


def action_variables(env: str) -> dict[str, str]:
    """The CodeBuild action's environment variables (buildspecs/migrate.yml.j2)."""
    return {"ENVIRONMENT": env, "MIGRATE_ROLE_ARN": role_arn(env)}
