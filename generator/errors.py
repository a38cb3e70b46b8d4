"""User-facing errors. Each carries structured fields and renders one line per problem."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
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
        self.source = source
        self.problems = problems
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
