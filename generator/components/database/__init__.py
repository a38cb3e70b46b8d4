"""The database component: one Aurora Serverless v2 cluster (PostgreSQL or MySQL) per environment (docs/database.md)."""
from generator.components.base import Component
from generator.components.database.spec import RULES, DatabaseEnv, DatabaseEnvironment, DatabaseSpec, env_inputs, offers
from generator.components.database.stack import DatabaseOutputs, build
from generator.components.database.types import TYPES

COMPONENT = Component("database", "Aurora Serverless v2 database cluster", TYPES, RULES, spec_key="database",
                      spec=DatabaseSpec, env=DatabaseEnvironment, settings=(DatabaseEnv,), offers=offers)

__all__ = ["COMPONENT", "DatabaseEnv", "DatabaseEnvironment", "DatabaseOutputs", "DatabaseSpec", "build", "env_inputs"]
