"""The migrate component: the role the pipeline's Migrate action assumes in an environment (docs/database.md)."""
from generator.components.base import Component
from generator.components.migrate.stack import MigrateOutputs, build, wanted
from generator.components.migrate.types import TYPES

COMPONENT = Component("migrate", "the role the pipeline's migration assumes", TYPES)

__all__ = ["COMPONENT", "MigrateOutputs", "build", "wanted"]
