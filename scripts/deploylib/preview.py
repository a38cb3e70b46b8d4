"""The change preview as text (pure; golden-tested in tests/golden/deploy/).

One block per stack of the nested tree, one row per resource change, then loud sections for replacements and
for stateful resources (databases, buckets, keys, log groups...), then a one-line summary.
"""
from __future__ import annotations

from collections.abc import Callable

from generator.stateful import holds_data
from scripts.deploylib.changesets import Preview, ResourceChange, StackChanges

SYMBOLS = {"Add": "+", "Modify": "~", "Remove": "-", "Import": ">", "Dynamic": "?", "SyncWithActual": "="}
REMOVAL = {"Retain": "kept (DeletionPolicy Retain)", "Snapshot": "snapshot taken, then deleted",
           "Delete": "deleted"}
REPLACEMENT = {"ReplaceAndRetain": "old one kept (Retain)", "ReplaceAndSnapshot": "old one snapshotted",
               "ReplaceAndDelete": "old one deleted"}
MAX_NAMES = 4


def stack_label(root: str, path: tuple[str, ...]) -> str:
    return "/".join((root,) + path)


def _names(names: tuple[str, ...]) -> str:
    shown = ", ".join(names[:MAX_NAMES])
    return shown + (f", +{len(names) - MAX_NAMES} more" if len(names) > MAX_NAMES else "")


def _replaces(change: ResourceChange) -> bool:
    return change.action == "Modify" and change.replacement in ("True", "Conditional")


def _notes(change: ResourceChange, stateful: bool, nested_paths: set[str]) -> str:
    notes: list[str] = []
    if change.is_nested_stack:
        if change.logical_id in nested_paths:
            notes.append("nested stack, changes below")
        elif change.action == "Remove":
            notes.append("nested stack: ALL its resources are deleted")
        elif change.action == "Add":
            notes.append("nested stack (new; contents not itemised)")
        else:
            notes.append("nested stack")
    elif change.action == "Modify":
        if change.replacement == "True":
            notes.append("REPLACE" + (f" ({_names(change.recreate_causes)})" if change.recreate_causes else ""))
        elif change.replacement == "Conditional":
            notes.append("MAY REPLACE" + (f" ({_names(change.recreate_causes)})" if change.recreate_causes else ""))
        elif change.changed:
            notes.append(f"in place: {_names(change.changed)}")
        if change.policy_action in REPLACEMENT and change.replacement in ("True", "Conditional"):
            notes.append(REPLACEMENT[change.policy_action])
    elif change.action == "Remove":
        notes.append(REMOVAL.get(change.policy_action or "", "deleted"))
    if stateful:
        notes.append("[STATEFUL]")
    return "  ".join(notes)


def render(preview: Preview, stateful: Callable[[str], bool] = holds_data) -> str:
    kind = "new stack" if preview.change_set_type == "CREATE" else "update"
    lines = [f"Change set {preview.change_set_name} for {preview.stack_name} ({kind}, {preview.region})"]
    if preview.no_changes:
        lines.append("No changes: the stacks already match these templates and parameters.")
        return "\n".join(lines) + "\n"
    if preview.capabilities:
        lines.append(f"Capabilities: {', '.join(preview.capabilities)}")
    if preview.parameters:
        lines.append("")
        lines.append("Parameters:" if preview.change_set_type == "CREATE" else "Parameters changed:")
        width = max(len(p.name) for p in preview.parameters)
        for p in preview.parameters:
            if p.old is None:
                lines.append(f"  + {p.name:<{width}} = {p.new}")
            else:
                lines.append(f"  ~ {p.name:<{width}} : {p.old} -> {p.new}")

    rows = [c for s in preview.stacks for c in s.changes]
    id_w = max([len(c.logical_id) for c in rows] + [10])
    type_w = max([len(c.resource_type) for c in rows] + [10])
    with_children = {s.path for s in preview.stacks if s.path}
    replaced: list[tuple[StackChanges, ResourceChange]] = []
    touched_stateful: list[tuple[StackChanges, ResourceChange]] = []
    counts = {"Add": 0, "Modify": 0, "Remove": 0, "other": 0}
    nested_counts = {"Add": 0, "Modify": 0, "Remove": 0, "other": 0}
    # The loud sections (replacements, stateful resources) lead, right after the parameters: the per-stack listing
    # that follows can be long, and what destroys data must not scroll out of sight above it.
    header, lines = lines, []
    for stack in preview.stacks:
        lines.append("")
        lines.append(stack_label(preview.stack_name, stack.path) + (" (root stack)" if not stack.path else ""))
        if not stack.changes:
            lines.append("  (no resource changes)")
        children = {p[len(stack.path)] for p in with_children if len(p) == len(stack.path) + 1
                    and p[:len(stack.path)] == stack.path}
        for change in stack.changes:
            is_data = stateful(change.resource_type)
            symbol = SYMBOLS.get(change.action, "?")
            notes = _notes(change, is_data, children)
            lines.append(f"  {symbol} {change.action:<6}  {change.logical_id:<{id_w}}  {change.resource_type:<{type_w}}"
                         f"  {notes}".rstrip())
            if change.is_nested_stack:
                nested_counts[change.action if change.action in nested_counts else "other"] += 1
                continue
            counts[change.action if change.action in counts else "other"] += 1
            if _replaces(change):
                replaced.append((stack, change))
            if is_data and change.action in ("Modify", "Remove", "Import", "Dynamic"):
                touched_stateful.append((stack, change))

    listing, lines = lines, header
    if replaced:
        lines.append("")
        lines.append(f"!! REPLACEMENTS ({len(replaced)}): a new resource is created, then the old one is removed; "
                     "its physical ID and anything stored in it change")
        for stack, change in replaced:
            why = f" because of {_names(change.recreate_causes)}" if change.recreate_causes else ""
            maybe = "may be replaced" if change.replacement == "Conditional" else "replaced"
            lines.append(f"!!   {stack_label(preview.stack_name, stack.path + (change.logical_id,))} "
                         f"({change.resource_type}) {maybe}{why}")
    if touched_stateful:
        lines.append("")
        lines.append(f"** STATEFUL RESOURCES ({len(touched_stateful)}): they hold data; check backups before "
                     "deploying")
        for stack, change in touched_stateful:
            if change.action == "Remove":
                what = ("removed and DELETED: its data is lost" if change.policy_action in (None, "Delete")
                        else f"removed: {REMOVAL.get(change.policy_action, 'deleted')}")
            elif _replaces(change):
                what = ("REPLACED" if change.replacement == "True" else "MAY BE REPLACED") + \
                    ": data is not carried over to the new resource"
                if change.policy_action in REPLACEMENT:
                    what += f" ({REPLACEMENT[change.policy_action]})"
            else:
                what = "modified in place"
            lines.append(f"**   {stack_label(preview.stack_name, stack.path + (change.logical_id,))} "
                         f"({change.resource_type}) {what}")
    lines.extend(listing)

    lines.append("")
    modified = f"{counts['Modify']} to modify" + (f" ({len(replaced)} replaced)" if replaced else "")
    summary = f"Summary: {counts['Add']} to add, {modified}, {counts['Remove']} to remove"
    if counts["other"]:
        summary += f", {counts['other']} other"
    stacks = len(preview.stacks)
    summary += f", in {stacks} stack{'s' if stacks != 1 else ''}"
    verbs = {"Add": "added", "Modify": "modified", "Remove": "removed", "other": "other"}
    nested = [f"{n} {verbs[k]}" for k, n in nested_counts.items() if n]
    if nested:
        summary += f"; nested stacks: {', '.join(nested)}"
    if touched_stateful:
        summary += f"; {len(touched_stateful)} stateful resource{'s' if len(touched_stateful) != 1 else ''} affected"
    lines.append(summary + ".")
    return "\n".join(lines) + "\n"
