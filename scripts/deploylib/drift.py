"""Drift detection on every stack of the tree (detection on the root skips nested stacks), and its table.

Only property *paths* are shown, never expected/actual values: those can hold secrets.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scripts.deploylib.errors import DeployError
from scripts.deploylib.stacks import StackNode
from scripts.deploylib.ui import Console

MAX_PATHS = 5


@dataclass(frozen=True)
class DriftedResource:
    logical_id: str
    resource_type: str
    status: str                                      # MODIFIED | DELETED
    differences: tuple[tuple[str, str], ...] = ()    # (property path, ADD | REMOVE | NOT_EQUAL)


@dataclass(frozen=True)
class StackDrift:
    label: str
    status: str                                      # IN_SYNC | DRIFTED | UNKNOWN | NOT_CHECKED
    detection: str                                   # DETECTION_COMPLETE | DETECTION_FAILED
    reason: str = ""
    drifted: tuple[DriftedResource, ...] = ()


def render_table(results: list[StackDrift]) -> str:
    width = max([len(r.label) for r in results] + [5])
    lines = [f"{'Stack':<{width}}  {'Drift':<11}  {'Drifted':>7}  Detection"]
    for r in results:
        detection = r.detection + (f" ({r.reason})" if r.reason else "")
        lines.append(f"{r.label:<{width}}  {r.status:<11}  {len(r.drifted):>7}  {detection}")
    drifted = [(r, d) for r in results for d in r.drifted]
    if drifted:
        lines.append("")
        lines.append("Drifted resources (changed outside CloudFormation; values are not shown):")
        for r, d in drifted:
            lines.append(f"  {r.label}/{d.logical_id} ({d.resource_type}) {d.status}")
            for path, kind in d.differences[:MAX_PATHS]:
                lines.append(f"      {kind:<9} {path}")
            if len(d.differences) > MAX_PATHS:
                lines.append(f"      ... {len(d.differences) - MAX_PATHS} more")
    total = sum(len(r.drifted) for r in results)
    stacks = sum(1 for r in results if r.status == "DRIFTED")
    lines.append("")
    if total:
        lines.append(f"DRIFTED: {total} resource{'s' if total != 1 else ''} in {stacks} "
                     f"stack{'s' if stacks != 1 else ''}. Re-deploy to put them back, or change the templates to "
                     "match.")
    elif any(r.status not in ("IN_SYNC",) for r in results):
        lines.append("Not every stack could be checked (see Detection).")
    else:
        lines.append(f"IN SYNC: all {len(results)} stacks match their templates.")
    return "\n".join(lines) + "\n"


def detect(cf: Any, nodes: list[StackNode], console: Console, delay: float = 3.0, timeout: float = 900.0
           ) -> list[StackDrift]:
    """Start detection on every stack at once, then wait for each and read its drifted resources."""
    started = {n.stack_id: cf.detect_stack_drift(StackName=n.stack_id)["StackDriftDetectionId"] for n in nodes}
    clock = console.monotonic()
    results = []
    for node in nodes:
        while True:
            status = cf.describe_stack_drift_detection_status(StackDriftDetectionId=started[node.stack_id])
            if status["DetectionStatus"] != "DETECTION_IN_PROGRESS":
                break
            if console.monotonic() - clock > timeout:
                raise DeployError(f"drift detection on {node.label} still running after {int(timeout)}s",
                                  "run `make drift` again later")
            console.sleep(delay)
        drifted: list[DriftedResource] = []
        if status.get("StackDriftStatus") == "DRIFTED":
            token = None
            while True:
                kwargs = {"StackName": node.stack_id, "StackResourceDriftStatusFilters": ["MODIFIED", "DELETED"]}
                if token:
                    kwargs["NextToken"] = token
                page = cf.describe_stack_resource_drifts(**kwargs)
                for d in page.get("StackResourceDrifts", []):
                    diffs = tuple((p.get("PropertyPath", "?"), p.get("DifferenceType", "?"))
                                  for p in d.get("PropertyDifferences") or [])
                    drifted.append(DriftedResource(d["LogicalResourceId"], d.get("ResourceType", "?"),
                                                   d["StackResourceDriftStatus"], diffs))
                token = page.get("NextToken")
                if not token:
                    break
        results.append(StackDrift(node.label, status.get("StackDriftStatus", "UNKNOWN"), status["DetectionStatus"],
                                  status.get("DetectionStatusReason", "") if status["DetectionStatus"] ==
                                  "DETECTION_FAILED" else "", tuple(drifted)))
    return results
