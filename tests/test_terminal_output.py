"""Readable terminal output (generator/terminal.py): durations, colour only on a terminal and never with NO_COLOR,
a line per build phase with its time, elapsed times on stack events and a heartbeat while nothing happens. Clocks are
fake: the tests say what a wait of minutes prints without waiting."""
from __future__ import annotations

import io
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from generator import terminal
from scripts.deploylib import events
from scripts.deploylib.ui import Console
from tests.support import FIXTURE_APPS, ROOT

T0 = datetime(2026, 11, 30, 12, 0, 0, tzinfo=timezone.utc)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("seconds, shown", [(0, "0.0s"), (0.44, "0.4s"), (9.96, "10.0s"), (12.7, "12s"),
                                            (125, "2m05s"), (3725, "1h02m")])
def test_durations_are_short(seconds, shown):
    assert terminal.duration(seconds) == shown


@pytest.mark.parametrize("stream, environ, expected", [
    (Tty(), {}, True),
    (io.StringIO(), {}, False),                         # piped or captured: never escape codes
    (Tty(), {"NO_COLOR": "1"}, False),
    (Tty(), {"NO_COLOR": ""}, True),                    # no-color.org: set *and not empty*
    (Tty(), {"TERM": "dumb"}, False),
])
def test_colour_only_on_a_terminal_without_no_color(stream, environ, expected):
    assert terminal.colour_enabled(stream, environ) is expected
    assert (terminal.paint("x", "red", terminal.colour_enabled(stream, environ)) != "x") is expected


def test_each_phase_is_announced_and_timed_when_it_took_over_a_second():
    clock, out = FakeClock(), io.StringIO()
    progress = terminal.Progress(stream=out, clock=clock, colour=False)
    progress.start("rendering")
    clock.sleep(0.3)
    progress.start("linting 15 templates")
    clock.sleep(12.5)
    progress.start("replacing templates_out/")
    clock.sleep(0.1)
    assert progress.total() == pytest.approx(12.9)
    assert out.getvalue().splitlines() == ["==> rendering", "==> linting 15 templates",
                                           "    linting 15 templates: 12s", "==> replacing templates_out/"]


def test_quiet_progress_prints_nothing_and_colour_wraps_only_the_marker():
    quiet = io.StringIO()
    terminal.Progress(stream=quiet, quiet=True, clock=FakeClock()).start("rendering")
    assert quiet.getvalue() == ""
    tty = Tty()
    terminal.Progress(stream=tty, clock=FakeClock()).start("rendering")
    assert tty.getvalue() == "\033[36m==> \033[0mrendering\n"


def _event(second: int, status: str, logical: str = "Vpc", reason: str = "") -> dict:
    return {"EventId": f"{logical}-{second}-{status}", "StackId": "arn:root", "PhysicalResourceId": f"{logical}-id",
            "LogicalResourceId": logical, "ResourceType": "AWS::EC2::VPC", "ResourceStatus": status,
            "Timestamp": T0 + timedelta(seconds=second), "ResourceStatusReason": reason}


def test_event_lines_carry_the_time_since_the_operation_began_and_colour_on_a_terminal():
    line = events.format_event(_event(754, "CREATE_FAILED", reason="nope"), "shop-dev/Network", "[  1/9] ", T0)
    assert line == ("12:12:34 +12:34 [  1/9] CREATE_FAILED                shop-dev/Network/Vpc  AWS::EC2::VPC  nope")
    coloured = events.format_event(_event(3725, "CREATE_COMPLETE"), "s", "", T0, colour=True)
    assert coloured == "13:02:05 +1:02:05 \033[32mCREATE_COMPLETE\033[0m              s/Vpc  AWS::EC2::VPC"
    assert "\033" not in events.format_event(_event(1, "CREATE_IN_PROGRESS"), "s", "", T0, colour=False)
    assert [terminal.status_style(s) for s in ("UPDATE_ROLLBACK_COMPLETE", "DELETE_COMPLETE", "CREATE_IN_PROGRESS",
                                               "REVIEW_IN_PROGRESS", "UPDATE_FAILED")] == [
        "red", "green", "yellow", "yellow", "red"]


class QuietStack:
    """A stack whose operation takes `polls` status checks and prints one event at the start."""

    def __init__(self, polls: int) -> None:
        self.polls, self.served = polls, False

    def describe_stack_events(self, StackName, NextToken=None):   # noqa: N803 - boto3's names
        if self.served:
            return {"StackEvents": []}
        self.served = True
        return {"StackEvents": [_event(0, "UPDATE_IN_PROGRESS", "Network")]}

    def describe_stacks(self, StackName):   # noqa: N803
        self.polls -= 1
        return {"Stacks": [{"StackStatus": "UPDATE_IN_PROGRESS" if self.polls > 0 else "UPDATE_COMPLETE"}]}


def test_a_wait_without_events_prints_a_heartbeat_every_half_minute():
    clock, out = FakeClock(), io.StringIO()
    console = Console(out=out, err=out, sleep=clock.sleep, monotonic=clock, colour=False)
    watcher = events.Watcher(QuietStack(polls=20), "arn:root", "shop-dev", console, total=9, poll=5.0)
    assert watcher.run() == "UPDATE_COMPLETE"
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("12:00:00 +0:00 [  0/9] UPDATE_IN_PROGRESS")
    beats = [line for line in lines if "still" in line]
    assert beats == [
        "         ... shop-dev still UPDATE_IN_PROGRESS: 30s so far, 0/9 resources settled, no new event for 30s",
        "         ... shop-dev still UPDATE_IN_PROGRESS: 1m00s so far, 0/9 resources settled, no new event for 30s",
        "         ... shop-dev still UPDATE_IN_PROGRESS: 1m30s so far, 0/9 resources settled, no new event for 30s"]


def test_the_build_shows_its_phases_on_stderr_without_colour_when_piped(tmp_path):
    """A build run through a pipe (as here, or in CI): every phase on standard error, no escape codes; with --quiet
    only the result, on standard output."""
    args = [sys.executable, "-m", "generator", "build", "--app", str(FIXTURE_APPS / "minimal.yaml"),
            "--out", str(tmp_path / "templates_out"), "--params", str(tmp_path / "params")]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("NO_COLOR", None)
    loud = subprocess.run(args, capture_output=True, text=True, env=env, timeout=300)
    assert loud.returncode == 0, loud.stderr
    phases = [line for line in loud.stderr.splitlines() if line.startswith("==> ")]
    # the size, permission and parameter-file checks run while cfn-lint lints: one phase, which names both
    assert [p.split(" ")[1] for p in phases] == ["rendering", "writing", "linting", "replacing"]
    assert " while checking template sizes, " in phases[2]
    assert "\033" not in loud.stderr + loud.stdout
    # other folders: the same ones would be up to date (generator/up_to_date.py), with nothing to write
    quiet = subprocess.run([*args[:-4], "--out", str(tmp_path / "quiet_out"), "--params", str(tmp_path / "quiet_p"),
                            "--quiet"], capture_output=True, text=True, env=env, timeout=300)
    assert quiet.returncode == 0 and quiet.stderr == ""
    written = len(list((tmp_path / "quiet_out").glob("*.yaml")))
    assert written > 1 and quiet.stdout.startswith(f"wrote {written} templates to ")
    again = subprocess.run([*args, "--quiet"], capture_output=True, text=True, env=env, timeout=300)
    assert again.returncode == 0 and again.stderr == "" and " are up to date with " in again.stdout


def test_the_rehearsal_report_counts_every_outcome_the_same_way():
    from scripts.deploylib.rehearsal.inventory import Resource
    from scripts.deploylib.rehearsal.report import Report, render_report
    report = Report("shop-dev", "dev", resources=[
        Resource("shop-dev/Network", "Vpc", "AWS::EC2::VPC", "created", "vpc-1", True),
        Resource("shop-dev/Network", "Subnet1", "AWS::EC2::Subnet", "created", "subnet-1", True),
        Resource("shop-dev/Network", "Subnet3", "AWS::EC2::Subnet", "not-applicable", condition="ThirdAz"),
        Resource("shop-dev/Cluster", "Insights", "AWS::ECS::ClusterCapacityProviderAssociations", "skipped")])
    text = render_report(report)
    assert "Resources in the templates: 4 = 2 created + 1 skipped + 1 not applicable + 0 not evaluated + 0 missing" \
        in text
    assert "Created by the emulator (2 resources, 2 types):" in text
    assert "Skipped by the emulator (1 resource, 1 type; moto does not implement the type" in text
    assert "Not applicable in 'dev' (1 resource, 1 type; their Condition is false" in text
