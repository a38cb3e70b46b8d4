"""Safe renames: a build that drops a stateful resource the previous build had says so, names it, and says how to
keep it, before the new output replaces the old.

What the build compares against: the previous build, i.e. the template directory as it is before the swap
(generator/swap.py replaces it only after the gate passes). That is what `make templates` wrote last and, in a
repository that commits templates_out/, what was reviewed and deployed; it needs no AWS account and no extra state.
A resource is identified as CloudFormation identifies it: by its nested stack (the template file) and its logical id.
When a (file, logical id) of a stateful type (generator/stateful.py: repositories, log groups, buckets, queues,
tables, databases, file systems, caches ...) is in the previous build and not in this one, the next deploy removes it
from its stack. Its DeletionPolicy decides what happens to the data (RetainExceptOnCreate and Retain keep it in
the account, no longer managed; Snapshot leaves a snapshot; Delete deletes it), and whatever took its place starts
empty under a new name. A renamed service is the common case (`services[].name` names its stack, its repository
and its log group), so the warning pairs the services that disappeared with the ones that appeared and suggests
`renamed_from:` (generator/config/renamed.py), which builds the renamed service under its old name.

`make diff ENV=...` compares against the deployed stacks instead and flags the same removals in its STATEFUL
section, including those inside a nested stack the change set removes whole (a renamed service's), read from that
stack's deployed template (scripts/deploylib/changesets.py, `removed_with_stack`). The production stack policy
refuses them at deploy time.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from generator.lint import parsed
from generator.records import record
from generator.stateful import holds_data

SERVICE_PREFIX = "service-"


@record(frozen=True)
class Dropped:
    """A stateful resource of the previous build that this build no longer has."""
    template: str
    logical_id: str
    resource_type: str
    name: str | None          # its physical name as the template spells it, when it sets one
    deletion_policy: str      # what a deploy does to it (CloudFormation's default is Delete)


def previous_templates(template_dir: Path) -> dict[str, dict]:
    """The previous build's templates as data ({} when there is none, or a file is not a template). A text the
    previous build parsed (all of them, unless edited since) comes from the parse cache (generator/lint/parsed.py)."""
    previous: dict[str, dict] = {}
    if not template_dir.is_dir():
        return previous
    for path in sorted(template_dir.glob("*.yaml")):
        try:
            data = parsed.load(path)
        except Exception:   # noqa: BLE001 - an unreadable or broken old file is no reference
            continue
        if isinstance(data, dict):
            previous[path.name] = data
    return previous


def previous_app(params_dir: Path) -> str | None:
    """The app the previous build was of (the Application value of its parameter files), or None when unknown.
    Another app's output is no reference: its stacks are `<other app>-<env>`, which deploying this app never touches
    (a new user replacing the example app.yaml with their own is not renaming anything)."""
    for path in sorted(params_dir.glob("*.config.json")) if params_dir.is_dir() else []:
        try:
            value = json.loads(path.read_text(encoding="utf-8")).get("Parameters", {}).get("Application")
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(value, str):
            return value
    return None


def _stateful(templates: Mapping[str, dict]) -> dict[tuple[str, str], dict[str, Any]]:
    found = {}
    for name, data in templates.items():
        resources = data.get("Resources") or {}
        for logical_id, resource in resources.items():
            if isinstance(resource, dict) and holds_data(str(resource.get("Type"))):
                found[(name, logical_id)] = resource
    return found


def _physical_name(resource: dict[str, Any]) -> str | None:
    for key, value in sorted((resource.get("Properties") or {}).items()):
        if key.endswith("Name") and key != "KeyName":
            if isinstance(value, str):
                return value
            if isinstance(value, dict) and isinstance(value.get("Fn::Sub"), str):
                return value["Fn::Sub"]
    return None


def dropped(previous: Mapping[str, dict], current: Mapping[str, dict]) -> list[Dropped]:
    """The stateful resources of `previous` that `current` lacks, by template and logical id."""
    now = _stateful(current)
    return [Dropped(template, logical_id, str(resource["Type"]), _physical_name(resource),
                    str(resource.get("DeletionPolicy", "Delete")))
            for (template, logical_id), resource in sorted(_stateful(previous).items())
            if (template, logical_id) not in now]


def _services(templates: Mapping[str, dict]) -> set[str]:
    return {n.removeprefix(SERVICE_PREFIX).removesuffix(".yaml") for n in templates if n.startswith(SERVICE_PREFIX)}


_FATE = {"Delete": "deleted", "Snapshot": "deleted after a final snapshot",
         "Retain": "kept in the account but no longer managed", "RetainExceptOnCreate":
         "kept in the account but no longer managed"}


def warnings(previous: Mapping[str, dict], current: Mapping[str, dict], shown_as: str) -> list[str]:
    """The lines a build prints (empty when nothing stateful is dropped)."""
    lost = dropped(previous, current)
    if not lost:
        return []
    plural = len(lost) > 1
    lines = [f"warning: {shown_as}/: this build drops {len(lost)} stateful resource{'s' if plural else ''} that the "
             f"previous build in {shown_as}/ has; the next deploy removes {'them' if plural else 'it'} from the "
             f"stacks, and what takes {'their' if plural else 'its'} place starts empty:"]
    for d in lost:
        name = f", {d.name}" if d.name else ""
        lines.append(f"  {d.template}: {d.logical_id} ({d.resource_type}{name}): "
                     f"{_FATE.get(d.deletion_policy, d.deletion_policy)} (DeletionPolicy {d.deletion_policy})")
    gone, new = sorted(_services(previous) - _services(current)), sorted(_services(current) - _services(previous))
    if gone and new:
        pairs = list(zip(gone, new))
        keep = "; ".join(f"`renamed_from: {old}` on service {n}" for old, n in pairs)
        lines.append(f"  services renamed? ({', '.join(f'{old} -> {n}' for old, n in pairs)}): a service's name names "
                     f"its stack, image repository and log group; to keep them under the new name, add {keep} in "
                     f"app.yaml (services[].renamed_from)")
    elif gone:
        lines.append(f"  services removed: {', '.join(gone)}; if that is not intended, put them back in app.yaml")
    lines.append("  nothing is deployed by a build: review this with `make diff ENV=...` before `make deploy`")
    return lines
