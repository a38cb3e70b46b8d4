"""IAM statements as data: actions, resources, an optional condition, and why a resource stays `*`.

Every policy of the pipeline templates is built from `Grant`s, so a test can check each one against the IAM
reference (tests/test_pipeline_iam.py: every action exists and supports the resource it is scoped to) and the
statements stay readable in one place per role.
"""
from __future__ import annotations

from dataclasses import field
from typing import Any

from awacs.aws import Action, Allow, Condition, PolicyDocument, Statement

from generator.policies.common import VERSION
from generator.records import record

ANY = "*"


@record(frozen=True)
class Grant:
    sid: str
    actions: tuple[str, ...]
    resources: tuple[Any, ...] = (ANY,)
    condition: Any = None          # an awacs Condition
    why_any: str = field(default="", compare=False)   # required when resources are `*`: why no ARN can be named

    def statement(self) -> Statement:
        if self.resources == (ANY,) and not self.why_any:
            raise ValueError(f"{self.sid}: a grant on * needs its reason (why_any)")
        props: dict[str, Any] = {"Sid": self.sid, "Effect": Allow,
                                 "Action": [Action(*a.split(":", 1)) for a in self.actions],
                                 "Resource": list(self.resources)}
        if self.condition is not None:
            props["Condition"] = self.condition
        return Statement(**props)


def grant(sid: str, actions: str, resources: Any = ANY, condition: Condition | None = None,
          why_any: str = "") -> Grant:
    """`actions` as one whitespace-separated string ("s3:GetObject s3:PutObject"); resources one or a list."""
    res = tuple(resources) if isinstance(resources, (list, tuple)) else (resources,)
    return Grant(sid, tuple(actions.split()), res, condition, why_any)


def document(grants: list[Grant]) -> PolicyDocument:
    return PolicyDocument(Version=VERSION, Statement=[g.statement() for g in grants])
