"""The flows behind each subcommand. The rehearsal calls exactly these functions, against the emulator.

Each takes a `Ctx` (target environment, AWS clients, console, options) and returns an exit code or raises
DeployError. AWS calls go through `ctx.aws`, printing through `ctx.console`.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from generator import cfnyaml
from generator.config import AppSpec
from scripts import nested_stack_policy
from scripts.deploylib import changeset_flow, database, migration, packaging, stacks
from scripts.deploylib.aws import Aws, error_code, error_message
from scripts.deploylib.drift import detect, render_table
from scripts.deploylib.errors import DeployError, DeploymentFailed
from scripts.deploylib.events import SUCCESS, Watcher, render_root_causes
from scripts.deploylib.target import (
    ROOT_TEMPLATE, Target, check_parameters, deploy_parameters, image_tag_overrides, secret_parameters,
)
from scripts.deploylib.ui import Console

DRIFTED_EXIT = 3


@dataclass
class Options:
    bucket: str | None = None
    image_tag: str | None = None
    yes: bool = False
    force: bool = False
    dry_run: bool = False
    parameters: dict[str, str] = field(default_factory=dict)   # root parameters to set (`make release`: one tag)
    migrate: bool = True       # run app.yaml's `migrate:` after an update (the rehearsal cannot: moto runs no containers)
    # called with the stack id after the confirmation, just before the change set runs (`make restore`: the
    # pre-restore snapshot and the production policy lift, scripts/deploylib/restore.py)
    before_execute: Callable[[str], None] | None = None
    build_dir: Path = Path("build/packaged")
    frontend_dir: Path = Path("frontend/build")
    event_poll: float = 5.0
    change_set_poll: float = 2.0
    drift_poll: float = 3.0


@dataclass
class Ctx:
    target: Target
    aws: Aws
    console: Console
    options: Options = field(default_factory=Options)
    _account: str | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        """Register the environment's secret parameter values, so no command can print them."""
        try:
            root = cfnyaml.loads(self.target.root_template.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        secrets = secret_parameters(root, self.target.parameters)
        self.console.add_secrets(v for k, v in self.target.parameters if k in secrets)

    @property
    def cf(self) -> Any:
        return self.aws.cf

    @property
    def name(self) -> str:
        return self.target.stack_name

    def make(self, command: str) -> str:
        return f"make {command} ENV={self.target.env}"


@dataclass(frozen=True)
class Packaged:
    plan: packaging.PackagePlan
    packaged_root: Path | None
    quick_create_url: str


def preflight(ctx: Ctx) -> str:
    """The caller's account, checked against the environment's `account_id` in app.yaml."""
    if ctx._account is None:
        account = ctx.aws.account_id()
        expected = ctx.target.spec.account_id
        if expected and account != expected:
            raise DeployError(
                f"these credentials are for account {account}, but environment '{ctx.target.env}' lives in account "
                f"{expected} (app.yaml)", "switch AWS_PROFILE to a profile for that account")
        ctx._account = account
        ctx.console.say(f"{ctx.name}: account {account}, region {ctx.aws.region}"
                        + (f", endpoint {ctx.aws.endpoint_url}" if ctx.aws.endpoint_url else ""))
    return ctx._account


# --- package ------------------------------------------------------------------------------------------------------

def templates_bucket(aws: Aws, console: Console, app: AppSpec, account: str, explicit: str | None, dry_run: bool
                     ) -> tuple[str, str]:
    """The bucket the templates are uploaded to (BUCKET, else `<app>-templates-<account>-<region>`, created locked
    down on first use) and its region. Shared by `make package`/`deploy` and `make deploy-role`."""
    bucket = explicit or packaging.default_bucket_name(app.app, account, aws.region)
    region = packaging.bucket_region(aws, bucket, bool(explicit))
    if region is None:
        region = aws.region
        if dry_run:
            console.say(f"Would create bucket s3://{bucket} (versioned, encrypted, public access blocked)")
        else:
            packaging.create_bucket(aws, bucket, [{"Key": "Application", "Value": app.app},
                                                  {"Key": "Owner", "Value": app.owner}])
            console.say(f"Created bucket s3://{bucket} in {region} (versioned, SSE-S3 encrypted, public access "
                        "blocked, TLS only)")
    elif region != aws.region:
        console.warn(f"bucket {bucket} is in {region}, the stack in {aws.region}; CloudFormation reads "
                     "the templates across regions, but keep both in one region when you can")
    return bucket, region


def package(ctx: Ctx, verbose: bool = True) -> Packaged:
    target, console = ctx.target, ctx.console
    account = preflight(ctx)
    bucket, region = templates_bucket(ctx.aws, console, target.app, account, ctx.options.bucket, ctx.options.dry_run)
    plan = packaging.plan_package(target.templates_dir, ROOT_TEMPLATE, bucket, region, prefix=target.app.app)
    check_parameters(target, plan.root.template)
    secrets = secret_parameters(plan.root.template, target.parameters)
    url = packaging.quick_create_url(ctx.aws.region, ctx.name, plan.root_url, target.parameters, secrets)
    packaged_root = None
    if ctx.options.dry_run:
        for artifact in plan.artifacts:
            console.say(f"Would upload {artifact.source} to s3://{bucket}/{artifact.key}")
    else:
        if verbose:
            console.say(f"Uploading {len(plan.artifacts)} templates to s3://{bucket}/{target.app.app}/:")
        uploaded, present = packaging.upload(ctx.aws, plan, console.say if verbose else None)
        if not verbose:
            console.say(f"Packaged {len(plan.artifacts)} templates into s3://{bucket} ({uploaded} uploaded, "
                        f"{present} already there)")
        packaged_root = packaging.write_packaged_root(plan, ctx.options.build_dir, target.env)
    if verbose:
        if packaged_root:
            console.say(f"Packaged root template: {packaged_root}")
        console.say(f"Root template URL: {plan.root_url}")
        filled = [k for k, _ in target.parameters if k not in secrets]
        console.say(f"Quick-create link ({len(filled)} parameters filled in"
                    f"{', secrets left out' if len(filled) < len(target.parameters) else ''}):")
        console.say(f"  {url}")
    return Packaged(plan, packaged_root, url)


# --- change sets (the one flow: changeset_flow.py) ---------------------------------------------------------------

def prepare(ctx: Ctx, packaged: Packaged, purpose: str) -> changeset_flow.Prepared:
    """The environment's change set: its parameters from the parameter file, the running image tags and the
    overrides, then the shared flow (create, wait, read the whole tree)."""
    target = ctx.target
    now = changeset_flow.current(ctx.cf, ctx.name, target.env)
    old = now.parameters
    overrides = {**image_tag_overrides(target.parameters, ctx.options.image_tag), **ctx.options.parameters}
    parameters, notes = deploy_parameters(target.parameters, old, overrides)
    database.check_restore_kept(target.env, old, parameters, overrides)
    for note in notes:
        ctx.console.say(note)
    change = changeset_flow.Change(
        ctx.name, purpose, ctx.aws.region, packaged.plan, parameters, target.cfn_tags(),
        description=f"{purpose} of {target.env} by scripts/deploy.py",
        fix_hint="fix the template or parameters it names (templates come from `make templates`)")
    return changeset_flow.prepare(ctx.cf, ctx.console, change, now, ctx.options.change_set_poll)


def discard(ctx: Ctx, prepared: changeset_flow.Prepared) -> None:
    changeset_flow.discard(ctx.cf, prepared)


def diff(ctx: Ctx) -> int:
    packaged = package(ctx, verbose=False)
    prepared = prepare(ctx, packaged, "preview")
    try:
        changeset_flow.show(ctx.console, prepared)
    finally:
        discard(ctx, prepared)
    return 0


# --- deploy -------------------------------------------------------------------------------------------------------

def protect(ctx: Ctx, stack_id: str) -> None:
    """Production: the stack policy from params/<env>.config.json on the root and on every nested stack (a stack
    policy protects only its own stack, and the root holds nothing but nested stacks), and termination protection
    on the root (it covers the nested stacks)."""
    ctx.cf.set_stack_policy(StackName=stack_id, StackPolicyBody=json.dumps(ctx.target.stack_policy))
    nested = nested_stack_policy.protect(ctx.cf, stack_id, ctx.target.stack_policy)
    ctx.cf.update_termination_protection(StackName=stack_id, EnableTerminationProtection=True)
    ctx.console.say(f"Production protection: stack policy set on the root and its {len(nested)} nested stacks (no "
                    "replacing/deleting stateful resources), termination protection on.")


def deploy(ctx: Ctx, action: str = "deploy") -> int:
    """`action`: the make target the prompts and hints name (`restore` runs this with its parameter override)."""
    packaged = package(ctx, verbose=False)
    prepared = prepare(ctx, packaged, action)
    changeset_flow.show(ctx.console, prepared)
    if prepared.preview.no_changes:
        if ctx.target.production and prepared.stack_id:
            protect(ctx, prepared.stack_id)
        ctx.console.say("Nothing to deploy.")
        return 0
    if ctx.options.dry_run:
        discard(ctx, prepared)
        ctx.console.say("Dry run: change set deleted, nothing deployed.")
        return 0
    if not changeset_flow.confirm(ctx.cf, ctx.console, prepared, yes=ctx.options.yes,
                                  expected=ctx.name if ctx.target.production else "yes", command=ctx.make(action)):
        return 1

    def before_execute(stack_id: str) -> None:
        if ctx.target.production and prepared.preview.change_set_type == "UPDATE":
            protect(ctx, stack_id)    # the current policy governs this very update
        if ctx.options.before_execute:
            ctx.options.before_execute(stack_id)
    watcher = changeset_flow.execute(ctx.cf, ctx.console, prepared, total=packaged.plan.resource_count(),
                                     poll=ctx.options.event_poll, before_execute=before_execute)
    status = follow(ctx, watcher, "deployment")
    if status in SUCCESS:
        if ctx.target.production:    # again after an update: nested stacks it created have no policy yet
            protect(ctx, prepared.stack_id)
        stack = stacks.describe(ctx.cf, prepared.stack_id) or {}
        ctx.console.say("")
        ctx.console.say(stacks.render_outputs(ctx.name, stack.get("Outputs", [])).rstrip("\n"))
        if ctx.options.migrate:
            migration.migrate(ctx)   # app.yaml's `migrate:`: before any release moves traffic to the new image
        ctx.console.say(f"Deployed {ctx.name}: {status}.")
        return 0
    raise _failed(ctx, watcher, status)


def _failed(ctx: Ctx, watcher: Watcher, status: str) -> DeploymentFailed:
    text = ctx.console.redact(render_root_causes(ctx.name, status, watcher.causes()).rstrip("\n"))
    hints = []
    if status == "ROLLBACK_COMPLETE":
        hints.append(f"nothing was kept; fix the cause, then `{ctx.make('destroy')}` (removes the empty stack) and "
                     f"`{ctx.make('deploy')}` again")
    elif status == "UPDATE_ROLLBACK_COMPLETE":
        hints.append("the stack is back on its previous version and still works; fix the cause and deploy again")
    elif status.endswith("_FAILED"):
        hints.append("the stack needs attention before the next deploy (see the stack state messages in "
                     "docs/deploy.md)")
    if "stack policy" in text.lower():
        hints.append("the production stack policy blocked replacing/deleting a stateful resource; that is its job")
    return DeploymentFailed(text, *hints)


def follow(ctx: Ctx, watcher: Watcher, operation: str) -> str:
    return changeset_flow.follow(watcher, ctx.name, operation, f"resume watching: {ctx.make('watch')}")


def watch(ctx: Ctx) -> int:
    preflight(ctx)
    stack = stacks.describe(ctx.cf, ctx.name)
    if stack is None:
        raise DeployError(f"stack {ctx.name} does not exist", f"create it with `{ctx.make('deploy')}`")
    watcher = Watcher(ctx.cf, stack["StackId"], ctx.name, ctx.console, poll=ctx.options.event_poll)
    watcher.start_from_last_operation()
    status = follow(ctx, watcher, "current operation")
    if status in SUCCESS or status == "REVIEW_IN_PROGRESS":
        ctx.console.say(f"{ctx.name} is {status}.")
        return 0
    raise _failed(ctx, watcher, status)


# --- destroy ------------------------------------------------------------------------------------------------------

def destroy(ctx: Ctx) -> int:
    target, cf, console = ctx.target, ctx.cf, ctx.console
    if target.production and not ctx.options.force:
        raise DeployError(f"refusing to destroy production environment '{target.env}'",
                          f"if you really mean it: `{ctx.make('destroy')} FORCE=1` (you will still be asked to "
                          "type the stack name)")
    preflight(ctx)
    stack = stacks.describe(cf, ctx.name)
    if stack is None:
        console.say(f"Nothing to destroy: stack {ctx.name} does not exist in {ctx.aws.region}.")
        return 0
    stack_id = stack["StackId"]
    if stack["StackStatus"].endswith("_IN_PROGRESS") and stack["StackStatus"] != "REVIEW_IN_PROGRESS":
        raise DeployError(f"stack {ctx.name} is busy ({stack['StackStatus']})",
                          f"wait for it (`{ctx.make('watch')}`), then run destroy again")
    per_stack = []
    for node in stacks.tree(cf, stack_id, ctx.name):
        resources = [r for page in cf.get_paginator("list_stack_resources").paginate(StackName=node.stack_id)
                     for r in page["StackResourceSummaries"]]
        per_stack.append((node.label, stacks.deployed_template(cf, node.stack_id), resources))
    fates = stacks.destroy_plan(per_stack)
    console.say(stacks.render_destroy_plan(ctx.name, fates, target.production).rstrip("\n"))
    if ctx.options.dry_run:
        console.say("Dry run: nothing was deleted.")
        return 0
    protected = bool(stack.get("EnableTerminationProtection"))
    if protected and not ctx.options.force:
        raise DeployError(f"stack {ctx.name} has termination protection on",
                          f"pass FORCE=1 to turn it off and delete: `{ctx.make('destroy')} FORCE=1`")
    if not ctx.options.yes:
        if not console.is_interactive():
            raise DeployError("not destroying: no terminal to confirm on",
                              f"run `{ctx.make('destroy')} YES=1` once you have read the list above")
        if not console.confirm(f"\nDelete {ctx.name} and everything listed above?", ctx.name):
            console.say("Not destroyed.")
            return 1
    if protected:
        cf.update_termination_protection(StackName=stack_id, EnableTerminationProtection=False)
        console.say("Termination protection turned off.")
    watcher = Watcher(cf, stack_id, ctx.name, console, total=len(fates) + len(per_stack) - 1,
                      poll=ctx.options.event_poll)
    watcher.prime()
    cf.delete_stack(StackName=stack_id)
    console.say(f"Deleting {ctx.name}; streaming events (Ctrl-C stops watching, not the delete):")
    status = follow(ctx, watcher, "deletion")
    if status == "DELETE_COMPLETE":
        retained = [f for f in fates if f.action != "Delete"]
        console.say(f"Destroyed {ctx.name}."
                    + (f" {len(retained)} retained/snapshotted item(s) remain, listed above." if retained else ""))
        return 0
    raise _failed(ctx, watcher, status)


# --- drift, outputs -----------------------------------------------------------------------------------------------

def drift(ctx: Ctx) -> int:
    preflight(ctx)
    stack = stacks.describe(ctx.cf, ctx.name)
    if stack is None:
        raise DeployError(f"stack {ctx.name} does not exist", f"deploy it first: `{ctx.make('deploy')}`")
    nodes = stacks.tree(ctx.cf, stack["StackId"], ctx.name)
    ctx.console.say(f"Detecting drift on {len(nodes)} stacks (root detection skips nested stacks, so each is "
                    "checked)...")
    results = detect(ctx.cf, nodes, ctx.console, delay=ctx.options.drift_poll)
    ctx.console.say(render_table(results).rstrip("\n"))
    return DRIFTED_EXIT if any(r.status == "DRIFTED" for r in results) else 0


def outputs(ctx: Ctx, as_json: bool = False) -> int:
    stack = stacks.describe(ctx.cf, ctx.name)
    if stack is None:
        raise DeployError(f"stack {ctx.name} does not exist in {ctx.aws.region}",
                          f"deploy it first: `{ctx.make('deploy')}`")
    found = stack.get("Outputs", [])
    problem, warning = stacks.outputs_state(ctx.name, stack["StackStatus"], bool(found), ctx.target.env)
    if problem:
        raise problem
    if warning:
        ctx.console.warn(warning)
    if as_json:
        ctx.console.say(json.dumps({o["OutputKey"]: o.get("OutputValue", "") for o in found}, indent=2,
                                   sort_keys=True))
    else:
        ctx.console.say(stacks.render_outputs(ctx.name, found).rstrip("\n"))
    return 0


def describe_error(exc: ClientError) -> str:
    return f"AWS {exc.operation_name} failed: {error_code(exc)}: {error_message(exc)}"


def publish_frontend(ctx: Ctx) -> int:
    """One build, every environment: the runtime config from this environment's stack outputs, then the upload with
    cache headers, the pruning of old assets after their grace period and the invalidation of what changed
    (scripts/deploylib/publish.py)."""
    from scripts.deploylib import publish
    from generator.components.frontend.spec import settings as frontend_settings
    if ctx.target.app.frontend is None:
        raise DeployError("the app has no `frontend` block", "add `frontend: {}` to app.yaml (docs/frontend.md)")
    stack = stacks.describe(ctx.cf, ctx.name)
    found = {o["OutputKey"]: o.get("OutputValue", "") for o in (stack or {}).get("Outputs", [])}
    missing = [name for name in publish.OUTPUTS.values() if not found.get(name)]
    if stack is None or missing:
        raise DeployError(f"stack {ctx.name} has no {', '.join(missing) or 'outputs'} in {ctx.aws.region}",
                          f"deploy the frontend stack first: `{ctx.make('deploy')}`")
    domains = frontend_settings(ctx.target.app, ctx.target.env).domain_names
    uploads = publish.plan(ctx.options.frontend_dir, publish.runtime_config(ctx.target.env, found, domains))
    paths = publish.publish(ctx.aws.client("s3"), ctx.aws.client("cloudfront"), found[publish.OUTPUTS["bucket"]],
                            found[publish.OUTPUTS["distribution"]], uploads, ctx.console.say,
                            dry_run=ctx.options.dry_run)
    ctx.console.say(("Would invalidate: " if ctx.options.dry_run else "Invalidated: ") + (", ".join(paths) or "nothing"))
    return 0
