"""Stack events: stream them for the root and every nested stack while an operation runs; find root causes.

`format_event`, `root_causes` and `render_root_causes` are pure. `Watcher` polls CloudFormation; nested stacks
are discovered from the events themselves (an `AWS::CloudFormation::Stack` event carries the nested stack's ARN).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from generator import terminal
from scripts.deploylib.aws import error_message
from scripts.deploylib.ui import Console

NESTED_STACK = "AWS::CloudFormation::Stack"
SUCCESS = frozenset({"CREATE_COMPLETE", "UPDATE_COMPLETE", "DELETE_COMPLETE", "IMPORT_COMPLETE"})
CANCELLED = ("Resource creation cancelled", "Resource update cancelled", "Resource deletion cancelled")
POLL_SECONDS = 5.0
HEARTBEAT_SECONDS = 30.0   # with no new event for this long, a line says the operation is still running


def is_terminal(status: str) -> bool:
    return not status.endswith("_IN_PROGRESS")


def _is_stack_itself(event: dict[str, Any]) -> bool:
    return event.get("PhysicalResourceId") == event.get("StackId") and event.get("ResourceType") == NESTED_STACK


@dataclass(frozen=True)
class Cause:
    stack: str                     # label, e.g. tunecast-dev/Network
    logical_id: str
    resource_type: str
    status: str
    reason: str


def root_causes(events_by_stack: dict[str, list[dict[str, Any]]]) -> list[Cause]:
    """The first failed resource of each stack (chronologically), deepest stacks first.

    A failure whose reason is only "... cancelled" is a consequence; it is used only if nothing better exists.
    """
    causes = []
    for label, events in events_by_stack.items():
        failed = [e for e in sorted(events, key=lambda e: e["Timestamp"])
                  if e.get("ResourceStatus", "").endswith("_FAILED") and not _is_stack_itself(e)]
        real = [e for e in failed if not str(e.get("ResourceStatusReason", "")).startswith(CANCELLED)]
        first = (real or failed or [None])[0]
        if first is not None:
            causes.append(Cause(label, first.get("LogicalResourceId", "?"), first.get("ResourceType", "?"),
                                first["ResourceStatus"], first.get("ResourceStatusReason", "") or "(no reason given)"))
    return sorted(causes, key=lambda c: (-c.stack.count("/"), c.stack))


def render_root_causes(stack: str, status: str, causes: list[Cause]) -> str:
    lines = [f"FAILED: {stack} is {status}."]
    if not causes:
        lines.append("No failed resource events were found; open the stack's Events tab in the CloudFormation "
                     "console.")
        return "\n".join(lines) + "\n"
    lines.append("Root cause (first failed resource of each stack, innermost first):")
    for cause in causes:
        lines.append(f"  {cause.stack}: {cause.logical_id} ({cause.resource_type}) {cause.status}")
        lines.append(f"      {cause.reason}")
    return "\n".join(lines) + "\n"


def elapsed(seconds: float) -> str:
    """`+0:05`, `+12:40`, `+1:02:03`: time since the operation's first event, on every event line."""
    whole = max(int(seconds), 0)
    if whole >= 3600:
        return f"+{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"
    return f"+{whole // 60}:{whole % 60:02d}"


def format_event(event: dict[str, Any], label: str, progress: str = "", began: datetime | None = None,
                 colour: bool = False) -> str:
    """One event line: its time (and the time since `began`, the operation's first event), the progress counter,
    the status (coloured on a terminal), the resource and the reason."""
    when = event["Timestamp"].strftime("%H:%M:%S")
    if began is not None:
        when += " " + elapsed((event["Timestamp"] - began).total_seconds())
    who = label if _is_stack_itself(event) else f"{label}/{event.get('LogicalResourceId', '?')}"
    reason = event.get("ResourceStatusReason") or ""
    status = str(event.get("ResourceStatus", "?"))
    style = terminal.status_style(status)
    shown = terminal.paint(status, style, colour) + " " * (28 - len(status)) if style else f"{status:<28}"
    line = f"{when} {progress}{shown} {who}  {event.get('ResourceType', '')}"
    return f"{line}  {reason}".rstrip() if reason else line


@dataclass
class Watcher:
    """Streams events of the root and its nested stacks until the root reaches a terminal status."""

    cf: Any
    root_id: str                   # stack ARN (names stop resolving once a stack is deleted)
    root_label: str
    console: Console
    total: int | None = None       # resources expected (for the progress counter), if known
    poll: float = POLL_SECONDS
    heartbeat: float = HEARTBEAT_SECONDS
    labels: dict[str, str] = field(default_factory=dict)       # stack id/name -> label
    seen: dict[str, set[str]] = field(default_factory=dict)    # stack id -> event ids already handled
    events: dict[str, list[dict[str, Any]]] = field(default_factory=dict)   # label -> events of this operation
    done: set[tuple[str, str]] = field(default_factory=set)
    since: datetime | None = None  # server time of the operation's first event
    began: datetime | None = None  # the first event this watcher printed (elapsed times count from it)

    def __post_init__(self) -> None:
        self.labels.setdefault(self.root_id, self.root_label)

    def prime(self) -> None:
        """Mark every existing root event as seen, so only this operation's events are shown."""
        self.seen[self.root_id] = {e["EventId"] for e in self._first_page(self.root_id)}

    def start_from_last_operation(self) -> None:
        """For `watch`: show the running operation from its "User Initiated" event on."""
        events = self._first_page(self.root_id)
        start = next((e for e in events if _is_stack_itself(e) and
                      e.get("ResourceStatusReason") == "User Initiated"), None)
        self.since = start["Timestamp"] - timedelta(seconds=1) if start else None

    def _first_page(self, stack_id: str) -> list[dict[str, Any]]:
        try:
            return self.cf.describe_stack_events(StackName=stack_id).get("StackEvents", [])
        except ClientError:
            return []

    def _new_events(self, stack_id: str) -> list[dict[str, Any]]:
        seen = self.seen.setdefault(stack_id, set())
        fresh: list[dict[str, Any]] = []
        token = None
        while True:
            kwargs = {"StackName": stack_id}
            if token:
                kwargs["NextToken"] = token
            try:
                page = self.cf.describe_stack_events(**kwargs)
            except ClientError as exc:
                if "does not exist" in error_message(exc):
                    return []
                raise
            stop = False
            for event in page.get("StackEvents", []):
                if event["EventId"] in seen or (self.since and event["Timestamp"] < self.since):
                    stop = True
                    break
                fresh.append(event)
            token = page.get("NextToken")
            if stop or not token:
                break
        seen.update(e["EventId"] for e in fresh)
        return sorted(fresh, key=lambda e: e["Timestamp"])

    def progress(self) -> str:
        if self.total:
            return f"[{min(len(self.done), self.total):>3}/{self.total}] "
        return f"[{len(self.done):>3}] "

    def poll_once(self) -> int:
        """Print the new events of every stack known so far; returns how many."""
        printed = 0
        for stack_id in list(self.labels):
            label = self.labels[stack_id]
            for event in self._new_events(stack_id):
                if self.since is None:
                    self.since = event["Timestamp"] - timedelta(seconds=1)
                self.events.setdefault(label, []).append(event)
                status = event.get("ResourceStatus", "")
                nested = event.get("ResourceType") == NESTED_STACK and not _is_stack_itself(event)
                if nested and event.get("PhysicalResourceId") and event["PhysicalResourceId"] not in self.labels:
                    self.labels[event["PhysicalResourceId"]] = f"{label}/{event['LogicalResourceId']}"
                if not _is_stack_itself(event) and is_terminal(status) and status != "REVIEW_IN_PROGRESS":
                    self.done.add((label, event.get("LogicalResourceId", "")))
                if self.began is None:
                    self.began = event["Timestamp"]
                self.console.say(format_event(event, label, self.progress(), self.began, self.console.colours()))
                printed += 1
        return printed

    def root_status(self) -> str:
        stack = self.cf.describe_stacks(StackName=self.root_id)["Stacks"][0]
        return stack["StackStatus"]

    def run(self) -> str:
        """Poll until the root stack settles; returns its final status. Ctrl-C propagates (the caller explains)."""
        started = last = self.console.monotonic()
        while True:
            printed = self.poll_once()
            status = self.root_status()
            if is_terminal(status) and status != "REVIEW_IN_PROGRESS":
                self.poll_once()   # flush the last events
                return status
            now = self.console.monotonic()
            if printed:
                last = now
            elif now - last >= self.heartbeat:
                self.console.say(self.heartbeat_line(status, now - started, now - last))
                last = now
            self.console.sleep(self.poll)

    def heartbeat_line(self, status: str, running: float, quiet: float) -> str:
        """What a wait with no new events prints: the stack's status, the time so far and the counter."""
        done = f"{min(len(self.done), self.total)}/{self.total}" if self.total else f"{len(self.done)}"
        return (f"         ... {self.root_label} still {status}: {terminal.duration(running)} so far, {done} "
                f"resources settled, no new event for {terminal.duration(quiet)}")

    def causes(self) -> list[Cause]:
        return root_causes(self.events)
