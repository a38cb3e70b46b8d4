"""A template tree and the CloudFormation role that deploys it: what the pipeline declares (generator/pipeline) and
the gate's handler-permissions check reads (generator/lint/handler_permissions.py). Apart from the check so that a
generation, which only declares them, never imports the check (tests/test_generation_imports.py)."""
from __future__ import annotations

from collections.abc import Callable

from generator.records import record


@record(frozen=True)
class Deployer:
    """A template deployed with a CloudFormation role: `template` and its nested templates, the role
    `role_template`:`role`, whose grants are written in `source` (the module a finding sends you to), or, when the
    grants come from the resource types' own facts, in `source_of(resource_type)`."""

    template: str
    role_template: str
    role: str
    source: str
    source_of: Callable[[str], str] | None = None

    def where(self, resource_type: str) -> str:
        """Where to grant what `resource_type` needs."""
        return self.source_of(resource_type) if self.source_of is not None else self.source
