"""How the commands talk to a terminal: durations, colour (only on a terminal, never with NO_COLOR), and the progress
lines of a long command's phases. Pure functions and a reporter over an injected clock and stream, so tests use a
fake clock and a StringIO; the build (generator/cli.py) and the deploy commands (scripts/deploylib) share it.

Colour follows https://no-color.org: a `NO_COLOR` environment variable that is set and not empty turns it off;
output that is not a terminal (a pipe, a file, CI logs) never gets escape codes; nor does `TERM=dumb`.
"""
from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import field
from typing import TextIO

from generator.records import record

STYLES = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "cyan": "36"}


def colour_enabled(stream: TextIO, environ: Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    if env.get("NO_COLOR") or env.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (OSError, ValueError):
        return False


def paint(text: str, style: str, enabled: bool) -> str:
    return f"\033[{STYLES[style]}m{text}\033[0m" if enabled and text else text


def status_style(status: str) -> str | None:
    """The colour of a CloudFormation status: failures red, completions green, work in progress yellow."""
    if "FAILED" in status or status.startswith("ROLLBACK") or "_ROLLBACK_" in status:
        return "red"
    if status.endswith("_COMPLETE"):
        return "green"
    if status.endswith("_IN_PROGRESS"):
        return "yellow"
    return None


def duration(seconds: float) -> str:
    """`0.4s`, `12s`, `2m05s`, `1h02m`: short, and precise where it matters."""
    if seconds < 10:
        return f"{max(seconds, 0.0):.1f}s"
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


@record
class Progress:
    """One line when a phase starts and one with its elapsed time when it ends, on `stream` (standard error: standard
    output keeps the result). `quiet`: nothing. Phases shorter than `min_seconds` end without their own line."""
    stream: TextIO = field(default_factory=lambda: sys.stderr)
    quiet: bool = False
    clock: Callable[[], float] = time.monotonic
    colour: bool | None = None
    min_seconds: float = 1.0
    _current: tuple[str, float] | None = None
    _began: float | None = None

    def __post_init__(self) -> None:
        if self.colour is None:
            self.colour = colour_enabled(self.stream)

    def _say(self, text: str) -> None:
        if not self.quiet:
            try:
                print(text, file=self.stream, flush=True)
            except (OSError, ValueError):       # a closed or full standard error: progress is not worth failing for
                self.quiet = True

    def start(self, what: str) -> None:
        self.end()
        now = self.clock()
        if self._began is None:
            self._began = now
        self._current = (what, now)
        self._say(paint("==> ", "cyan", bool(self.colour)) + what)

    def end(self) -> None:
        if self._current is None:
            return
        what, started = self._current
        self._current = None
        took = self.clock() - started
        if took >= self.min_seconds:
            self._say(paint(f"    {what}: {duration(took)}", "dim", bool(self.colour)))

    def total(self) -> float:
        self.end()
        return 0.0 if self._began is None else self.clock() - self._began
