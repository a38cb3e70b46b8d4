"""`make deploy-role`: the stack `<app>-pipeline-access` (templates_out/deploy-role.yaml: the deploy role the
pipeline assumes and CloudFormation's execution role) in the account of the credentials, through S3.

The template goes to the templates bucket `make deploy` uses (`<app>-templates-<account>-<region>`, created on first
use) and CloudFormation reads it from there (TemplateURL, 1 MB), instead of a hand-typed `create-stack
--template-body`, which caps it at 51,200 bytes. Then the same change-set flow as `make deploy`: preview, confirm
(--yes skips), execute, stream events.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from botocore.exceptions import ClientError

from generator.config import AppSpec
from generator.pipeline.common import DEPLOY_ROLE_TEMPLATE
from scripts.deploylib import changesets, packaging, preview, stacks
from scripts.deploylib.aws import Aws, error_code, error_message
from scripts.deploylib.commands import templates_bucket
from scripts.deploylib.errors import DeployError, DeploymentFailed
from scripts.deploylib.events import SUCCESS, Watcher, render_root_causes
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
    stack = stacks.describe(cf, name)
    try:
        step = stacks.next_step(name, stack and stack["StackStatus"], "pipeline")
    except DeployError as exc:    # its hints name `make watch/destroy ENV=...`, which act on environments
        raise DeployError(exc.message, "see why in the stack's Events tab (CloudFormation console); a stack in "
                          f"ROLLBACK_COMPLETE holds nothing: `aws cloudformation delete-stack --stack-name {name}`, "
                          "then `make deploy-role` again") from exc
    capabilities = packaging.required_capabilities(plan.templates())
    change_set = f"deploy-role-{console.now():%Y%m%d-%H%M%S}"
    tags = [{"Key": "Application", "Value": app.app}, {"Key": "Owner", "Value": app.owner}]
    change_set_id = changesets.create(
        cf, stack_name=name, name=change_set, change_set_type=step, template_url=plan.root_url,
        parameters=parameters, capabilities=capabilities, tags=tags,
        description="deploy-role.yaml by scripts/deploy.py deploy-role")
    base = changesets.Preview(name, change_set, step, aws.region, tuple(capabilities))
    no_changes = changesets.Preview(name, change_set, step, aws.region, tuple(capabilities), no_changes=True)
    if change_set_id is None:
        console.say(preview.render(no_changes).rstrip("\n"))
        return 0
    described = changesets.wait_created(cf, change_set_id, console, delay=options.change_set_poll)
    stack_id = described.get("StackId")

    def discard() -> None:
        changesets.delete(cf, change_set_id)
        if stack is None and stack_id:
            current = stacks.describe(cf, stack_id)
            if current and current["StackStatus"] == "REVIEW_IN_PROGRESS":
                cf.delete_stack(StackName=stack_id)

    status, reason = described.get("Status", ""), described.get("StatusReason", "") or ""
    if status != "CREATE_COMPLETE":
        discard()
        if changesets.is_no_changes(reason):
            console.say(preview.render(no_changes).rstrip("\n"))
            return 0
        raise DeployError(f"the change set could not be created: {reason or status}",
                          "fix deploy-role.yaml or params/deploy-role.json (`make templates` writes them)")
    old = ({p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])}
           if stack and step == "UPDATE" else None)
    full = changesets.Preview(name, change_set, step, aws.region, tuple(capabilities),
                              tuple(changesets.describe_tree(cf, change_set_id)),
                              changesets.parameter_changes(
                                  old, [(p["ParameterKey"], p["ParameterValue"]) for p in parameters], set()))
    console.say("")
    console.say(preview.render(full).rstrip("\n"))
    if not options.yes:
        if not console.is_interactive():
            discard()
            raise DeployError("not deploying: no terminal to confirm on",
                              "review the preview above, then run `make deploy-role YES=1`")
        try:
            confirmed = console.confirm(f"\nDeploy these changes to {name}?", "yes")
        except KeyboardInterrupt:
            confirmed = False
        if not confirmed:
            discard()
            console.say("Not deployed; the change set was deleted.")
            return 1
    assert stack_id
    watcher = Watcher(cf, stack_id, name, console, total=plan.resource_count(), poll=options.event_poll)
    watcher.prime()
    try:
        cf.execute_change_set(ChangeSetName=change_set_id)
    except ClientError as exc:
        discard()
        raise DeployError(f"CloudFormation did not execute {change_set}: {error_code(exc)}: {error_message(exc)}",
                          "the change set was deleted and nothing was deployed; fix the cause and run it again"
                          ) from exc
    console.say(f"Executing {change_set}; streaming events (Ctrl-C stops watching, not the deployment):")
    result = watcher.run()
    if result in SUCCESS:
        console.say(f"Deployed {name} in account {account}: {result}.")
        return 0
    raise DeploymentFailed(render_root_causes(name, result, watcher.causes()).rstrip("\n"),
                           "fix the cause, then `make deploy-role` again (a stack in ROLLBACK_COMPLETE must be "
                           f"deleted first: aws cloudformation delete-stack --stack-name {name})")
