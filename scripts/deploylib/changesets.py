"""Change sets on the root stack with nested stacks included: create, wait, read the whole tree, delete.

`normalize_change` and `parameter_changes` are pure; the rest calls CloudFormation.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from scripts.deploylib.aws import error_code, error_message
from scripts.deploylib.errors import DeployError
from scripts.deploylib.ui import MASK, Console

NESTED_STACK = "AWS::CloudFormation::Stack"
# How CloudFormation says "nothing to do" (FAILED change set, or a ValidationError on some code paths).
NO_CHANGES_MARKERS = ("didn't contain changes", "No updates are to be performed")


@dataclass(frozen=True)
class ResourceChange:
    action: str                              # Add | Modify | Remove | Import | Dynamic | SyncWithActual
    logical_id: str
    resource_type: str
    physical_id: str | None = None
    replacement: str | None = None           # "True" | "False" | "Conditional"
    policy_action: str | None = None         # Delete | Retain | Snapshot | ReplaceAnd...
    recreate_causes: tuple[str, ...] = ()    # properties whose change forces (or may force) replacement
    changed: tuple[str, ...] = ()            # every property/attribute named in the details
    nested_change_set: str | None = None

    @property
    def is_nested_stack(self) -> bool:
        return self.resource_type == NESTED_STACK


@dataclass(frozen=True)
class StackChanges:
    path: tuple[str, ...]                    # logical ids from the root; () is the root
    stack_name: str
    changes: tuple[ResourceChange, ...]


@dataclass(frozen=True)
class ParameterChange:
    name: str
    old: str | None                          # None: new stack (or new parameter)
    new: str
    secret: bool = False


@dataclass(frozen=True)
class Preview:
    stack_name: str
    change_set_name: str
    change_set_type: str                     # CREATE | UPDATE
    region: str
    capabilities: tuple[str, ...]
    stacks: tuple[StackChanges, ...] = ()
    parameters: tuple[ParameterChange, ...] = ()
    no_changes: bool = False


def is_no_changes(reason: str | None) -> bool:
    return bool(reason) and any(marker in reason for marker in NO_CHANGES_MARKERS)


def _target_name(target: dict[str, Any]) -> str:
    attribute = target.get("Attribute", "")
    name = target.get("Name") or target.get("Path") or ""
    if attribute == "Properties" and name:
        return str(name)
    return str(name or attribute)


def normalize_change(raw: dict[str, Any]) -> ResourceChange | None:
    """One entry of DescribeChangeSet's Changes, reduced to what the preview needs (never property values)."""
    if raw.get("Type", "Resource") != "Resource" or "ResourceChange" not in raw:
        return None
    rc = raw["ResourceChange"]
    causes: list[str] = []
    changed: list[str] = []
    for detail in rc.get("Details") or []:
        target = detail.get("Target") or {}
        name = _target_name(target)
        if name and name not in changed:
            changed.append(name)
        if target.get("RequiresRecreation") in ("Always", "Conditionally") and name and name not in causes:
            causes.append(name)
    return ResourceChange(
        action=rc.get("Action", "?"), logical_id=rc.get("LogicalResourceId", "?"),
        resource_type=rc.get("ResourceType", "?"), physical_id=rc.get("PhysicalResourceId"),
        replacement=rc.get("Replacement"), policy_action=rc.get("PolicyAction"),
        recreate_causes=tuple(causes), changed=tuple(changed), nested_change_set=rc.get("ChangeSetId"))


def parameter_changes(old: dict[str, str] | None, new: list[tuple[str, str]] | tuple, secrets: set[str]
                      ) -> tuple[ParameterChange, ...]:
    """New stack: every parameter; update: only the ones whose value differs. Secret values are never kept."""
    found = []
    for name, value in new:
        secret = name in secrets
        if old is None:
            found.append(ParameterChange(name, None, MASK if secret else value, secret))
        elif secret:
            continue  # CloudFormation only ever returns **** for these, so they cannot be compared
        elif old.get(name) != value:
            found.append(ParameterChange(name, old.get(name), value))
    return tuple(found)


# --- CloudFormation calls ---------------------------------------------------------------------------------------

def create(cf: Any, *, stack_name: str, name: str, change_set_type: str, template_url: str,
           parameters: list[dict[str, str]], capabilities: list[str], tags: list[dict[str, str]],
           description: str) -> str | None:
    """The change set's id, or None when CloudFormation refuses because nothing would change."""
    try:
        response = cf.create_change_set(
            StackName=stack_name, ChangeSetName=name, ChangeSetType=change_set_type, TemplateURL=template_url,
            Parameters=parameters, Capabilities=capabilities, Tags=tags, IncludeNestedStacks=True,
            Description=description)
    except ClientError as exc:
        if is_no_changes(error_message(exc)):
            return None
        if error_code(exc) == "InsufficientCapabilitiesException":
            raise DeployError(f"CloudFormation wants more capabilities than {capabilities}: {error_message(exc)}",
                              "this is a bug in scripts/deploylib/packaging.py:required_capabilities") from exc
        if error_code(exc) == "ValidationError":
            raise DeployError(f"CloudFormation rejected the change set: {error_message(exc)}") from exc
        raise
    return response["Id"]


def wait_created(cf: Any, change_set_id: str, console: Console, delay: float = 2.0, timeout: float = 900.0
                 ) -> dict[str, Any]:
    """Poll until the change set (and its nested ones) is computed; returns the last DescribeChangeSet page."""
    started = console.monotonic()
    while True:
        response = cf.describe_change_set(ChangeSetName=change_set_id)
        status = response.get("Status", "")
        if status in ("CREATE_COMPLETE", "FAILED", "DELETE_COMPLETE", "DELETE_FAILED"):
            return response
        if console.monotonic() - started > timeout:
            raise DeployError(f"change set {change_set_id} still {status} after {int(timeout)}s",
                              "look at it in the CloudFormation console, then run the command again")
        console.sleep(delay)


def describe_tree(cf: Any, change_set_id: str, path: tuple[str, ...] = ()) -> list[StackChanges]:
    """The root change set and, through each nested stack's ChangeSetId, every nested one (depth first)."""
    changes: list[ResourceChange] = []
    stack_name = ""
    token = None
    while True:
        kwargs = {"ChangeSetName": change_set_id}
        if token:
            kwargs["NextToken"] = token
        response = cf.describe_change_set(**kwargs)
        stack_name = response.get("StackName", stack_name)
        changes.extend(c for c in map(normalize_change, response.get("Changes") or []) if c)
        token = response.get("NextToken")
        if not token:
            break
    found = [StackChanges(path, stack_name, tuple(changes))]
    for change in changes:
        if change.is_nested_stack and change.nested_change_set:
            found.extend(describe_tree(cf, change.nested_change_set, path + (change.logical_id,)))
        elif change.is_nested_stack and change.action == "Remove" and change.physical_id:
            found.extend(removed_with_stack(cf, change.physical_id, path + (change.logical_id,)))
    return found


# What CloudFormation's PolicyAction says for a removed resource, by its DeletionPolicy (the change set reports
# RetainExceptOnCreate as Retain on an update: only the operation that created the resource deletes it).
_POLICY_ACTION = {"Retain": "Retain", "RetainExceptOnCreate": "Retain", "Snapshot": "Snapshot", "Delete": "Delete"}


def removed_with_stack(cf: Any, stack_id: str, path: tuple[str, ...]) -> list[StackChanges]:
    """A nested stack the change set removes has no change set of its own, so its resources are not itemised;
    the stateful ones among them (a renamed service's log group, a removed store) are read from its deployed template
    and listed as removed, with what their DeletionPolicy does (generator/renames.py warns about the same at build
    time, against the previous build). Nothing, when the template cannot be read."""
    from generator import cfnyaml
    from generator.stateful import holds_data
    try:
        body = cf.get_template(StackName=stack_id, TemplateStage="Original").get("TemplateBody")
        template = body if isinstance(body, dict) else cfnyaml.loads(str(body or ""))
    except Exception:   # noqa: BLE001 - (ClientError, a template that does not parse) a preview without it is still one
        return []
    removed = tuple(
        ResourceChange("Remove", logical_id, str(resource.get("Type")),
                       policy_action=_POLICY_ACTION.get(str(resource.get("DeletionPolicy", "Delete")), "Delete"))
        for logical_id, resource in sorted((template.get("Resources") or {}).items())
        if isinstance(resource, dict) and holds_data(str(resource.get("Type"))))
    return [StackChanges(path, stack_id.split("/")[1] if stack_id.count("/") >= 2 else stack_id, removed)] \
        if removed else []


def delete(cf: Any, change_set_id: str) -> None:
    """Deleting the root change set deletes the nested ones with it."""
    try:
        cf.delete_change_set(ChangeSetName=change_set_id)
    except ClientError as exc:
        if error_code(exc) not in ("ChangeSetNotFound", "ChangeSetNotFoundException"):
            raise
