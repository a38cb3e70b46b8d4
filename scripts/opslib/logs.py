"""`make logs SERVICE=... [SINCE=15m] [FOLLOW=1] [FILTER=...]`: the service's CloudWatch Logs, every task's stream
interleaved by time (FilterLogEvents over the log group), one colour per task.

Follow mode polls from the newest event seen; events with the same timestamp are told apart by their eventId, so
none prints twice and none is skipped. Ctrl-C ends it (nothing on AWS changes)."""
from __future__ import annotations

import os
import re
from datetime import datetime, timedelta, timezone
from typing import Any

from scripts.deploylib.errors import DeployError
from scripts.opslib.context import Ops

COLOURS = ("36", "33", "35", "32", "34", "91", "96", "93")    # ANSI: cyan, yellow, magenta, green, blue, ...
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
SINCE_PATTERN = r"([1-9][0-9]{0,5})([smhd])"


def since_seconds(value: str) -> int:
    """`15m` -> 900; `30s`, `2h`, `1d`."""
    match = re.fullmatch(SINCE_PATTERN, value or "")
    if not match:
        raise DeployError(f"SINCE={value!r} is not a duration", "write a number and a unit: 30s, 15m, 2h or 1d")
    return int(match[1]) * UNITS[match[2]]


def task_of(stream: str) -> str:
    """`api/api/0123456789abcdef...` (awslogs prefix/container/task id) -> the task id's first 8 characters."""
    return stream.rsplit("/", 1)[-1][:8]


class Printer:
    """Prints events, one colour per log stream (task), in order of first appearance."""

    def __init__(self, ops: Ops, colour: bool) -> None:
        self.ops, self.colour, self.seen_streams = ops, colour, {}

    def line(self, event: dict[str, Any]) -> str:
        stream = event.get("logStreamName", "")
        when = datetime.fromtimestamp(event["timestamp"] / 1000, tz=timezone.utc)
        prefix = f"{when:%H:%M:%S} {task_of(stream)}"
        if self.colour:
            code = self.seen_streams.setdefault(stream, COLOURS[len(self.seen_streams) % len(COLOURS)])
            prefix = f"\033[{code}m{prefix}\033[0m"
        return f"{prefix} {event.get('message', '').rstrip()}"


def fetch(ops: Ops, group: str, start_ms: int, pattern: str | None) -> list[dict[str, Any]]:
    """Every event from `start_ms` on, over every page."""
    kwargs: dict[str, Any] = {"logGroupName": group, "startTime": start_ms}   # always interleaved
    if pattern:
        kwargs["filterPattern"] = pattern
    events = []
    for page in ops.client("logs").get_paginator("filter_log_events").paginate(**kwargs):
        events.extend(page.get("events", []))
    return sorted(events, key=lambda e: (e["timestamp"], e.get("eventId", "")))


def use_colour(ops: Ops) -> bool:
    return not os.environ.get("NO_COLOR") and bool(getattr(ops.console.out, "isatty", lambda: False)())


def logs(ops: Ops, colour: bool | None = None) -> int:
    svc = ops.service()
    group = ops.log_group(svc.name)
    start = ops.console.now() - timedelta(seconds=since_seconds(ops.options.since))
    start_ms = int(start.timestamp() * 1000)
    printer = Printer(ops, use_colour(ops) if colour is None else colour)
    logs_client = ops.client("logs")
    try:
        found = logs_client.describe_log_groups(logGroupNamePrefix=group).get("logGroups", [])
        if not any(g["logGroupName"] == group for g in found):
            raise DeployError(f"log group {group} not found in {ops.aws.region}",
                              f"deploy the environment first: `{ops.make('deploy')}`")
        ops.console.say(f"{group} since {start:%Y-%m-%d %H:%M:%S} UTC"
                        + (f", filter {ops.options.filter!r}" if ops.options.filter else "")
                        + (" (following; Ctrl-C stops)" if ops.options.follow else ""))
        printed: dict[str, int] = {}     # event id -> timestamp, of the events at the newest timestamp
        newest = start_ms
        while True:
            for event in fetch(ops, group, newest, ops.options.filter):
                key = event.get("eventId") or f"{event['timestamp']}{event.get('logStreamName')}{event['message']}"
                if key in printed:
                    continue
                printed[key] = event["timestamp"]
                newest = max(newest, event["timestamp"])
                ops.console.say(printer.line(event))
            if not ops.options.follow:
                return 0
            # the next poll starts at the newest timestamp: only the events there can come again
            printed = {k: t for k, t in printed.items() if t >= newest}
            ops.console.sleep(ops.options.poll)
    except KeyboardInterrupt:
        ops.console.say("")
        return 0
