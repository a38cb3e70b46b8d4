"""User-facing errors. Each carries structured fields and renders one line per problem."""
from __future__ import annotations

import re

from generator.records import record

# Characters that would break a line or the terminal: C0/C1 controls and Unicode's line and paragraph separators.
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def printable(text: str) -> str:
    """`text` on one line: control characters and line separators escaped (a newline shows as \\n)."""
    return _UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


@record(frozen=True)
class Problem:
    """One thing wrong with an input: where (a dotted field path) and what to do."""

    loc: str
    msg: str

    def line(self, source: str) -> str:
        return f"{source}: {self.loc}: {self.msg}" if self.loc else f"{source}: {self.msg}"


class GeneratorError(Exception):
    """Base for errors shown to the user without a traceback."""

    def lines(self) -> list[str]:
        return [str(self)]


class ConfigError(GeneratorError):
    """The app spec is unreadable or invalid."""

    def __init__(self, source: str, problems: list[Problem]):
        self.source = printable(source)  # a path may hold a newline; the line format must survive it
        self.problems = [Problem(printable(p.loc), printable(p.msg)) for p in problems]
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        return [p.line(self.source) for p in self.problems]


class ValidationFailed(GeneratorError):
    """Generated output failed the validation gate; nothing was written."""

    def __init__(self, findings: list[str]):
        self.findings = findings
        super().__init__("\n".join(findings))

    def lines(self) -> list[str]:
        return list(self.findings)


class WiringError(GeneratorError):
    """A stack asked for an input that no stack or root parameter provides."""


class UsageError(GeneratorError):
    """The command line asks for something the build must not do (e.g. --out naming a file); exit 2."""

    def __init__(self, lines: list[str]):
        self._lines = lines
        super().__init__("\n".join(lines))

    def lines(self) -> list[str]:
        return list(self._lines)


class OutputError(GeneratorError):
    """The output directories could not be written or swapped (disk full, read-only, another build); exit 1.
    The message says what state the output was left in."""


class Interrupted(GeneratorError):
    """Ctrl-C or SIGTERM/SIGHUP; the message says whether the output is the old or the new build."""

    def __init__(self, message: str, exit_code: int):
        self.exit_code = exit_code
        super().__init__(message)


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised like Ctrl-C so that every clean-up path that handles one handles both."""

    def __init__(self, signum: int):
        self.signum = signum
        super().__init__(signum)
