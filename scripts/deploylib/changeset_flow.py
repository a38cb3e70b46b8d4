"""The one change-set flow of every command that changes a stack: `make deploy`, `diff` and `restore` (the
environment's root stack, commands.py) and `make deploy-role` (the pipeline's access stack, access.py).

The state of the stack (CREATE or UPDATE), the change set created with nested stacks included, waited for and read
as a whole tree into a preview (printed by preview.py), the confirmation (YES=1, or the expected answer typed at a
terminal), the execution and the event stream (Ctrl-C stops watching, not the operation). Each step deletes the
change set, and the empty REVIEW_IN_PROGRESS stack a first change set leaves behind, when it stops short of
executing. The callers supply what differs: the stack, its packaged template and parameters, the words of their
hints, and what they do before executing and after the outcome.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from scripts.deploylib import changesets, packaging, preview, stacks
from scripts.deploylib.aws import error_code, error_message
from scripts.deploylib.errors import DeployError, Interrupted
from scripts.deploylib.events import Watcher
from scripts.deploylib.target import secret_parameters
from scripts.deploylib.ui import Console


@dataclass(frozen=True)
class Current:
    """The stack as it is, and the kind of change set it takes."""

    stack: dict[str, Any] | None
    step: str                                    # CREATE | UPDATE

    @property
    def parameters(self) -> dict[str, str] | None:
        """The deployed parameter values an update starts from; None for a new stack."""
        if self.stack is None or self.step != "UPDATE":
            return None
        return {p["ParameterKey"]: p.get("ParameterValue", "") for p in self.stack.get("Parameters", [])}

    @property
    def stack_id(self) -> str | None:
        return self.stack and self.stack["StackId"]


def current(cf: Any, stack_name: str, env: str, stuck_hint: str | None = None) -> Current:
    """`stuck_hint` replaces stacks.next_step's hints (they name `make ... ENV=<env>`) for a stack of no
    environment."""
    stack = stacks.describe(cf, stack_name)
    try:
        return Current(stack, stacks.next_step(stack_name, stack and stack["StackStatus"], env))
    except DeployError as exc:
        if stuck_hint is None:
            raise
        raise DeployError(exc.message, stuck_hint) from exc


@dataclass(frozen=True)
class Change:
    """One change set to ask for: which stack, from which packaged template, with which parameters."""

    stack_name: str
    purpose: str                                 # the change set's name is `<purpose>-<UTC time>`
    region: str
    plan: packaging.PackagePlan
    parameters: list[dict[str, str]]             # with UsePreviousValue entries for kept secrets
    tags: list[dict[str, str]]
    description: str
    fix_hint: str                                # what to do when CloudFormation cannot compute the change set


@dataclass
class Prepared:
    preview: changesets.Preview
    change_set_id: str | None                    # None: nothing to change
    stack_id: str | None
    created_review_stack: bool
    stack: dict[str, Any] | None


def _no_changes(base: changesets.Preview) -> changesets.Preview:
    return changesets.Preview(base.stack_name, base.change_set_name, base.change_set_type, base.region,
                              base.capabilities, no_changes=True)


def prepare(cf: Any, console: Console, change: Change, now: Current, delay: float) -> Prepared:
    """Create the change set (nested stacks included), wait for it, read the whole tree into the preview."""
    capabilities = packaging.required_capabilities(change.plan.templates())
    name = f"{change.purpose}-{console.now():%Y%m%d-%H%M%S}"
    base = changesets.Preview(change.stack_name, name, now.step, change.region, tuple(capabilities))
    change_set_id = changesets.create(
        cf, stack_name=change.stack_name, name=name, change_set_type=now.step, template_url=change.plan.root_url,
        parameters=change.parameters, capabilities=capabilities, tags=change.tags, description=change.description)
    if change_set_id is None:
        return Prepared(_no_changes(base), None, now.stack_id, False, now.stack)
    created_review_stack = now.stack is None
    try:
        described = changesets.wait_created(cf, change_set_id, console, delay=delay)
    except KeyboardInterrupt:
        discard(cf, Prepared(base, change_set_id, now.stack_id, False, now.stack))
        raise Interrupted("\nInterrupted while CloudFormation computed the change set; it was deleted and "
                          "nothing was deployed.") from None
    status, reason = described.get("Status", ""), described.get("StatusReason", "") or ""
    stack_id = described.get("StackId")
    if status != "CREATE_COMPLETE":
        discard(cf, Prepared(base, change_set_id, stack_id, created_review_stack, now.stack))
        if changesets.is_no_changes(reason):
            return Prepared(_no_changes(base), None, stack_id, False, now.stack)
        raise DeployError(f"the change set could not be created: {reason or status}", change.fix_hint)
    tree = changesets.describe_tree(cf, change_set_id)
    effective = tuple((p["ParameterKey"], p["ParameterValue"]) for p in change.parameters if "ParameterValue" in p)
    secrets = secret_parameters(change.plan.root.template, effective)
    full = changesets.Preview(change.stack_name, name, now.step, change.region, tuple(capabilities), tuple(tree),
                              changesets.parameter_changes(now.parameters, effective, secrets))
    return Prepared(full, change_set_id, stack_id, created_review_stack, now.stack)


def discard(cf: Any, prepared: Prepared) -> None:
    """Delete the change set, and the empty REVIEW_IN_PROGRESS stack a first change set leaves behind."""
    if prepared.change_set_id:
        changesets.delete(cf, prepared.change_set_id)
    if prepared.created_review_stack and prepared.stack_id:
        current_stack = stacks.describe(cf, prepared.stack_id)
        if current_stack and current_stack["StackStatus"] == "REVIEW_IN_PROGRESS":
            cf.delete_stack(StackName=prepared.stack_id)


def show(console: Console, prepared: Prepared) -> None:
    console.say("")
    console.say(preview.render(prepared.preview).rstrip("\n"))


def confirm(cf: Any, console: Console, prepared: Prepared, *, yes: bool, expected: str, command: str) -> bool:
    """YES=1, or `expected` typed at a terminal; `command` is the make command the refusal tells to run again.
    False (the change set deleted) when declined; without a terminal and without YES=1, an error."""
    if yes:
        return True
    if not console.is_interactive():
        discard(cf, prepared)
        raise DeployError("not deploying: no terminal to confirm on",
                          f"review the preview above, then run `{command} YES=1`")
    try:
        confirmed = console.confirm(f"\nDeploy these changes to {prepared.preview.stack_name}?", expected)
    except KeyboardInterrupt:
        confirmed = False
    if not confirmed:
        discard(cf, prepared)
        console.say("Not deployed; the change set was deleted.")
    return confirmed


def execute(cf: Any, console: Console, prepared: Prepared, *, total: int, poll: float,
            before_execute: Callable[[str], None] | None = None) -> Watcher:
    """Run `before_execute` (with the stack id; its failure deletes the change set), execute the change set and
    return the watcher primed before it, so the stream shows this operation's events only (`total`: the resources
    the progress counts)."""
    assert prepared.change_set_id and prepared.stack_id
    if before_execute:
        try:
            before_execute(prepared.stack_id)
        except BaseException:
            discard(cf, prepared)
            raise
    name = prepared.preview.stack_name
    watcher = Watcher(cf, prepared.stack_id, name, console, total=total, poll=poll)
    watcher.prime()
    try:
        cf.execute_change_set(ChangeSetName=prepared.change_set_id)
    except ClientError as exc:
        discard(cf, prepared)
        raise DeployError(f"CloudFormation did not execute {prepared.preview.change_set_name}: "
                          f"{error_code(exc)}: {error_message(exc)}",
                          "the change set was deleted and nothing was deployed; fix the cause and deploy again"
                          ) from exc
    console.say(f"Executing {prepared.preview.change_set_name}; streaming events (Ctrl-C stops watching, not "
                "the deployment):")
    return watcher


def follow(watcher: Watcher, stack_name: str, operation: str, *resume: str) -> str:
    """The final status of the operation; Ctrl-C stops watching, never the operation, and says how to resume."""
    try:
        return watcher.run()
    except KeyboardInterrupt:
        raise Interrupted(
            f"\nStopped watching. CloudFormation carries on with the {operation} of {stack_name}; nothing was "
            "cancelled.", *resume,
            f"{'or in' if resume else 'watch it in'} the console: CloudFormation > Stacks > {stack_name} > Events"
        ) from None
