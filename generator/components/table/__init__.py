"""The table component: one DynamoDB table per `tables[]` entry (on demand, point-in-time recovery, its own KMS
key)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from generator.components import stores
from generator.components.attachments import Offer
from generator.components.base import Component
from generator.components.table.spec import RULES, TableEnv, TablesEnv, TableSpec, env_inputs
from generator.components.table.stack import NAME_SUFFIX, TableOutputs, build
from generator.components.table.types import TYPES

if TYPE_CHECKING:
    from generator.config import AppSpec


def offers(app: AppSpec) -> dict[str, Offer]:
    return {t.name: Offer(modes=("read", "write", "read-write"), default="read-write",
                          variables=(stores.variable(t.name, NAME_SUFFIX),)) for t in app.tables}


COMPONENT = Component("table", "one DynamoDB table", TYPES, RULES, spec_key="tables", spec=TableSpec, env=TablesEnv,
                      settings=(TableEnv,), offers=offers)

__all__ = ["COMPONENT", "TableEnv", "TableOutputs", "TableSpec", "TablesEnv", "build", "env_inputs", "offers"]
