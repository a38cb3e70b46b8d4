"""The table component: one DynamoDB table per `tables[]` entry (on demand, point-in-time recovery, its own KMS
key)."""
from generator.components.base import Component
from generator.components.table.spec import RULES, TableEnv, TablesEnv, TableSpec, env_inputs
from generator.components.table.stack import TableOutputs, build
from generator.components.table.types import TYPES

COMPONENT = Component("table", "one DynamoDB table", TYPES, RULES, spec_key="tables", spec=TableSpec, env=TablesEnv,
                      settings=(TableEnv,))

__all__ = ["COMPONENT", "TableEnv", "TableOutputs", "TableSpec", "TablesEnv", "build", "env_inputs"]
