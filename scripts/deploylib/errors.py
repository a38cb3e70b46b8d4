"""User-facing failures: a message plus what to do about it. The CLI prints them without a traceback."""
from __future__ import annotations


class DeployError(Exception):
    """Something the operator can fix; `hints` say how."""

    exit_code = 1

    def __init__(self, message: str, *hints: str) -> None:
        super().__init__(message)
        self.message = message
        self.hints = tuple(h for h in hints if h)

    def lines(self) -> list[str]:
        return [f"error: {self.message}", *(f"  {h}" for h in self.hints)]


class Interrupted(DeployError):
    """Ctrl-C: whatever CloudFormation was doing carries on; the hints say how to pick it up again."""

    exit_code = 130

    def lines(self) -> list[str]:
        return [self.message, *(f"  {h}" for h in self.hints)]


class DeploymentFailed(DeployError):
    """CloudFormation reported a failed operation; the message already carries the root cause."""

    def lines(self) -> list[str]:
        return [self.message, *(f"  {h}" for h in self.hints)]
