"""Stack state: what an existing stack allows next, the nested tree, outputs, and the destroy plan.

`next_step`, `render_outputs`, `destroy_plan` and `render_destroy_plan` are pure.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from generator import cfnyaml, components
from generator.stateful import holds_data, policies
from scripts.deploylib.aws import error_code, error_message
from scripts.deploylib.errors import DeployError
from scripts.nested_stack_policy import NESTED_STACK, nested_stacks

def describe(cf: Any, stack: str) -> dict[str, Any] | None:
    """The stack, or None if there is none by that name (deleted stacks do not count)."""
    try:
        found = cf.describe_stacks(StackName=stack)["Stacks"]
    except ClientError as exc:
        if error_code(exc) == "ValidationError" and "does not exist" in error_message(exc):
            return None
        raise
    return found[0] if found and found[0]["StackStatus"] != "DELETE_COMPLETE" else None


def next_step(stack_name: str, status: str | None, env: str) -> str:
    """CREATE or UPDATE for the change set, or a DeployError that says what to do about the stack's state."""
    if status is None or status == "REVIEW_IN_PROGRESS":
        return "CREATE"
    watch = f"make watch ENV={env}"
    if status == "ROLLBACK_COMPLETE":
        raise DeployError(
            f"stack {stack_name} is ROLLBACK_COMPLETE: its first create failed and was rolled back, so it cannot "
            "be updated",
            f"see why: the Events tab, or `make watch ENV={env}`; then delete it with `make destroy ENV={env}` "
            "(it holds no resources) and deploy again")
    if status in ("ROLLBACK_FAILED", "DELETE_FAILED"):
        raise DeployError(
            f"stack {stack_name} is {status}: some resources could not be deleted",
            "find them in the Events tab, fix or remove them by hand, then run "
            f"`make destroy ENV={env}` again (the console can retain resources that cannot be deleted)")
    if status == "UPDATE_ROLLBACK_FAILED":
        raise DeployError(
            f"stack {stack_name} is UPDATE_ROLLBACK_FAILED: the rollback of the last update got stuck",
            f"fix the resource named in the events, then `aws cloudformation continue-update-rollback --stack-name "
            f"{stack_name}` (add --resources-to-skip for ones that cannot recover) and deploy again")
    if status.endswith("_IN_PROGRESS"):
        raise DeployError(f"stack {stack_name} is busy ({status})",
                          f"wait for it to finish (`{watch}` shows its progress), then run the command again")
    if status.endswith("_FAILED"):
        raise DeployError(f"stack {stack_name} is {status}", "look at the Events tab before going further")
    return "UPDATE"


@dataclass(frozen=True)
class StackNode:
    path: tuple[str, ...]      # logical ids from the root
    stack_id: str              # ARN (or name, for emulators that use names)
    label: str


def tree(cf: Any, root_id: str, root_label: str) -> list[StackNode]:
    """The root and every nested stack below it, parents first."""
    return [StackNode((), root_id, root_label)] + [
        StackNode(path, stack_id, "/".join((root_label, *path))) for path, stack_id in nested_stacks(cf, root_id)]


COMPLETE = ("CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE")
FIRST_CREATE_FAILED = ("CREATE_FAILED", "ROLLBACK_IN_PROGRESS", "ROLLBACK_FAILED", "ROLLBACK_COMPLETE")


def outputs_state(stack_name: str, status: str, has_outputs: bool, env: str) -> tuple[DeployError | None, str | None]:
    """Why a stack in this state has no outputs (an error that says what to do), or a warning to print with the
    outputs it has when they may not be current. A stack whose deploy failed must not read as "no outputs"."""
    watch, deploy, destroy = (f"`make {c} ENV={env}`" for c in ("watch", "deploy", "destroy"))
    if status == "REVIEW_IN_PROGRESS":
        return DeployError(
            f"stack {stack_name} is REVIEW_IN_PROGRESS: nothing was deployed yet (a change set was created but not "
            "executed, or its execution failed), so it has no outputs",
            f"deploy it with {deploy}; why an execution failed shows in the console: CloudFormation > Stacks > "
            f"{stack_name} > Change sets"), None
    if not has_outputs:
        if status in FIRST_CREATE_FAILED:
            return DeployError(
                f"stack {stack_name} is {status}: its first deploy failed and was rolled back, so it has no outputs",
                f"see why with {watch} (or the Events tab), then {destroy} (it holds nothing) and {deploy} again"), None
        if status.endswith("_IN_PROGRESS"):
            return DeployError(f"stack {stack_name} is {status}: it has no outputs until that finishes",
                               f"follow it with {watch}, then run this again"), None
        if status.endswith("_FAILED"):
            return DeployError(f"stack {stack_name} is {status} and has no outputs",
                               f"see why with {watch} (or the Events tab) and docs/deploy.md, \"When something goes "
                               "wrong\""), None
        return None, None
    if status in COMPLETE:
        return None, None
    if status.endswith("_IN_PROGRESS"):
        return None, f"stack {stack_name} is {status}: these outputs may change when it finishes ({watch})"
    return None, (f"stack {stack_name} is {status}: its last change did not complete, these outputs are from before "
                  f"it (see why with {watch})")


def render_outputs(stack_name: str, outputs: list[dict[str, Any]]) -> str:
    if not outputs:
        return f"{stack_name} has no outputs.\n"
    rows = sorted(outputs, key=lambda o: o["OutputKey"])
    width = max(len(o["OutputKey"]) for o in rows)
    lines = [f"Outputs of {stack_name}:"]
    for o in rows:
        lines.append(f"  {o['OutputKey']:<{width}}  {o.get('OutputValue', '')}")
        if o.get("Description"):
            lines.append(f"  {'':<{width}}  ({o['Description']})")
    return "\n".join(lines) + "\n"


# --- destroy plan -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Fate:
    stack: str
    logical_id: str
    resource_type: str
    physical_id: str
    action: str                # Delete | Retain | Snapshot


def deletion_policy(resource: dict[str, Any]) -> str:
    policy = resource.get("DeletionPolicy")
    if isinstance(policy, str):
        return "Retain" if policy == "RetainExceptOnCreate" else policy
    # Without a stated policy: the types whose facts say their delete takes a snapshot (CloudFormation's default for
    # RDS clusters and DB instances outside a cluster, aws-reference §4) minus their exceptions (a cluster member).
    rtype = resource.get("Type", "")
    if rtype in components.snapshot_types():
        return (policies(rtype, resource.get("Properties") or {}) or ("Delete",))[0]
    return "Delete"


def destroy_plan(stacks: list[tuple[str, dict[str, Any], list[dict[str, Any]]]]) -> list[Fate]:
    """(label, deployed template, resource summaries) per stack -> what deleting the root does to each resource."""
    fates = []
    for label, template, resources in stacks:
        declared = template.get("Resources") or {}
        for res in resources:
            if res.get("ResourceStatus") == "DELETE_COMPLETE":
                continue
            rtype = res.get("ResourceType", "")
            if rtype == NESTED_STACK:
                continue   # its resources are listed under its own label
            action = deletion_policy(declared.get(res["LogicalResourceId"], {"Type": rtype}))
            fates.append(Fate(label, res["LogicalResourceId"], rtype, res.get("PhysicalResourceId", ""), action))
    return fates


def render_destroy_plan(stack_name: str, fates: list[Fate], production: bool) -> str:
    lines = [f"Destroying {stack_name}{' (PRODUCTION)' if production else ''} deletes the root stack and every "
             "nested stack in it."]
    groups = [("Delete", "Deleted"), ("Snapshot", "Snapshotted, then deleted (the snapshot stays and is billed)"),
              ("Retain", "RETAINED: left in the account after the stack is gone (delete by hand when done)")]
    for action, title in groups:
        chosen = [f for f in fates if f.action == action]
        if not chosen:
            continue
        lines.append("")
        lines.append(f"{title} ({len(chosen)}):")
        for f in chosen:
            flag = "  [STATEFUL: data is lost]" if action == "Delete" and holds_data(f.resource_type) else ""
            if f.resource_type == "AWS::S3::Bucket" and action == "Delete":
                flag += "  (must be empty, or the delete fails)"
            lines.append(f"  {f.stack}/{f.logical_id}  {f.resource_type}  {f.physical_id}{flag}".rstrip())
    if not fates:
        lines.append("  (no resources)")
    return "\n".join(lines) + "\n"


def deployed_template(cf: Any, stack_id: str) -> dict[str, Any]:
    """The template a stack runs ({} if CloudFormation has none to give, e.g. REVIEW_IN_PROGRESS)."""
    try:
        body = cf.get_template(StackName=stack_id, TemplateStage="Original")["TemplateBody"]
    except ClientError:
        return {}
    if isinstance(body, dict):   # botocore parses JSON bodies into dicts
        return body
    try:
        return cfnyaml.loads(body)
    except ValueError:
        return {}
