"""`make deploy-role`: the stack `<app>-pipeline-access` (templates_out/deploy-role.yaml: the deploy role the
pipeline assumes and CloudFormation's execution role) in the account of the credentials, through S3.

The template goes to the templates bucket `make deploy` uses (`<app>-templates-<account>-<region>`, created on first
use) and CloudFormation reads it from there (TemplateURL, 1 MB), instead of a hand-typed `create-stack
--template-body`, which caps it at 51,200 bytes. Then the change-set flow of `make deploy` itself
(changeset_flow.py): preview, confirm (--yes skips), execute, stream events.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from generator.config import AppSpec
from generator.pipeline.common import DEPLOY_ROLE_TEMPLATE
from scripts.deploylib import changeset_flow, packaging
from scripts.deploylib.aws import Aws
from scripts.deploylib.commands import templates_bucket
from scripts.deploylib.errors import DeployError, DeploymentFailed
from scripts.deploylib.events import SUCCESS, render_root_causes
from scripts.deploylib.ui import Console

PARAMS_FILE = "deploy-role.json"


def stack_name(app: str) -> str:
    return f"{app}-pipeline-access"


@dataclass
class AccessOptions:
    bucket: str | None = None
    yes: bool = False
    dry_run: bool = False
    change_set_poll: float = 2.0
    event_poll: float = 5.0


def _parameters(params_dir: Path) -> list[dict[str, str]]:
    path = params_dir / PARAMS_FILE
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DeployError(f"{path} not found", "the app needs a `pipeline:` block; then run `make templates`") from None
    except ValueError as exc:
        raise DeployError(f"{path} is not JSON: {exc}", "run `make templates` to write it again") from exc
    if not isinstance(raw, list) or not all(isinstance(p, dict) and {"ParameterKey", "ParameterValue"} <= set(p)
                                            for p in raw):
        raise DeployError(f"{path}: not a list of ParameterKey/ParameterValue objects",
                          "run `make templates` to write it again")
    return [{"ParameterKey": str(p["ParameterKey"]), "ParameterValue": str(p["ParameterValue"])} for p in raw]


def deploy_role(aws: Aws, console: Console, app: AppSpec, templates_dir: Path, params_dir: Path,
                options: AccessOptions | None = None) -> int:
    options = options or AccessOptions()
    name = stack_name(app.app)
    if not (templates_dir / DEPLOY_ROLE_TEMPLATE).is_file():
        raise DeployError(f"{templates_dir / DEPLOY_ROLE_TEMPLATE} not found",
                          "the app needs a `pipeline:` block; then run `make templates`")
    parameters = _parameters(params_dir)
    account = aws.account_id()
    console.say(f"{name}: account {account}, region {aws.region}"
                + (f", endpoint {aws.endpoint_url}" if aws.endpoint_url else ""))
    expected = {e.account_id for e in app.environments.values() if e.account_id}
    if expected and account not in expected:
        console.warn(f"no environment of {app.app} lives in account {account} (app.yaml: "
                     f"{', '.join(sorted(expected))}); the pipeline will not use this deploy role")
    bucket, region = templates_bucket(aws, console, app, account, options.bucket, options.dry_run)
    plan = packaging.plan_package(templates_dir, DEPLOY_ROLE_TEMPLATE, bucket, region, prefix=app.app)
    if options.dry_run:
        console.say(f"Would upload {DEPLOY_ROLE_TEMPLATE} to s3://{bucket}/{plan.root.key} and create a change set "
                    f"for {name}")
        return 0
    packaging.upload(aws, plan, console.say)
    cf = aws.cf
    now = changeset_flow.current(
        cf, name, "pipeline", stuck_hint=(   # next_step's hints name `make watch/destroy ENV=...`, for environments
            "see why in the stack's Events tab (CloudFormation console); a stack in ROLLBACK_COMPLETE holds nothing: "
            f"`aws cloudformation delete-stack --stack-name {name}`, then `make deploy-role` again"))
    change = changeset_flow.Change(
        name, "deploy-role", aws.region, plan, parameters,
        [{"Key": "Application", "Value": app.app}, {"Key": "Owner", "Value": app.owner}],
        description="deploy-role.yaml by scripts/deploy.py deploy-role",
        fix_hint="fix deploy-role.yaml or params/deploy-role.json (`make templates` writes them)")
    prepared = changeset_flow.prepare(cf, console, change, now, options.change_set_poll)
    changeset_flow.show(console, prepared)
    if prepared.preview.no_changes:
        return 0
    if not changeset_flow.confirm(cf, console, prepared, yes=options.yes, expected="yes", command="make deploy-role"):
        return 1
    watcher = changeset_flow.execute(cf, console, prepared, total=plan.resource_count(), poll=options.event_poll)
    result = changeset_flow.follow(watcher, name, "deployment")
    if result in SUCCESS:
        console.say(f"Deployed {name} in account {account}: {result}.")
        return 0
    raise DeploymentFailed(render_root_causes(name, result, watcher.causes()).rstrip("\n"),
                           "fix the cause, then `make deploy-role` again (a stack in ROLLBACK_COMPLETE must be "
                           f"deleted first: aws cloudformation delete-stack --stack-name {name})")
