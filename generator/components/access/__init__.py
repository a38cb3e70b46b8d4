"""The access component: the environment's Viewer, Developer and DevOps roles (docs/access.md)."""
from generator.components.access.policies import Persona, personas
from generator.components.access.spec import RULES, AccessEnv, AccessEnvSpec, env_inputs, wanted
from generator.components.access.stack import AccessOutputs, build
from generator.components.access.types import TYPES
from generator.components.base import Component

COMPONENT = Component("access", "Viewer, Developer and DevOps roles", TYPES, RULES, env=AccessEnvSpec,
                      settings=(AccessEnv,))

__all__ = ["COMPONENT", "AccessEnv", "AccessEnvSpec", "AccessOutputs", "Persona", "build", "env_inputs", "personas", "wanted"]
