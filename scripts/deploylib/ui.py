"""The terminal: output (with secrets redacted), confirmation prompts, and the clock the wait loops use.

Everything the commands print goes through `Console.say`, which replaces every known secret value (NoEcho
parameters, the user name and password of the endpoint URL) with `****`, and then masks whatever looks like a
credential by its value (generator/credentials.py: access keys, passwords in URLs, `password=...`), so a secret
that leaks into an AWS error message or an event reason is still never printed. Tests build a Console over StringIO
with a fake clock and scripted answers.
"""
from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TextIO

from generator import credentials, terminal

MASK = credentials.MASK


@dataclass
class Console:
    out: TextIO = field(default_factory=lambda: sys.stdout)
    err: TextIO = field(default_factory=lambda: sys.stderr)
    ask: Callable[[str], str] = input
    interactive: bool | None = None
    sleep: Callable[[float], None] = time.sleep
    now: Callable[[], datetime] = lambda: datetime.now(timezone.utc)
    monotonic: Callable[[], float] = time.monotonic
    secrets: set[str] = field(default_factory=set)
    colour: bool | None = None      # None: colour when `out` is a terminal and NO_COLOR is not set

    def colours(self) -> bool:
        if self.colour is None:
            self.colour = terminal.colour_enabled(self.out)
        return self.colour

    def redact(self, text: str) -> str:
        for value in sorted(self.secrets, key=len, reverse=True):
            if value:
                text = text.replace(value, MASK)
        return credentials.mask(text)

    def add_secrets(self, values: Iterable[str]) -> None:
        # Very short values (e.g. "1") would mask unrelated text; they are masked where they are printed instead.
        self.secrets.update(v for v in values if v and len(v) >= 4)

    def say(self, text: str = "") -> None:
        print(self.redact(text), file=self.out, flush=True)

    def warn(self, text: str) -> None:
        print(self.redact(f"warning: {text}"), file=self.err, flush=True)

    def is_interactive(self) -> bool:
        if self.interactive is not None:
            return self.interactive
        return sys.stdin.isatty()

    def confirm(self, prompt: str, expected: str = "yes") -> bool:
        """True only if the operator types `expected`. A non-interactive run must pass --yes instead."""
        if not self.is_interactive():
            return False
        try:
            answer = self.ask(self.redact(f"{prompt} Type '{expected}' to continue: "))
        except EOFError:
            return False
        return answer.strip() == expected
