"""The registry component: one ECR repository per service, and the account's registry scanning configuration."""
from generator.components.base import Component
from generator.components.registry.spec import (RULES, RegistryEnv, RegistrySpec, env_inputs,
                                                manages_registry_scanning)
from generator.components.registry.stack import RegistryOutputs, Repository, build
from generator.components.registry.types import TYPES

COMPONENT = Component(
    "registry", "ECR repositories and registry scanning", TYPES, RULES, spec_key="registry", spec=RegistrySpec,
    env=RegistryEnv)

__all__ = ["COMPONENT", "RegistryEnv", "RegistryOutputs", "RegistrySpec", "Repository", "build", "env_inputs",
           "manages_registry_scanning"]
