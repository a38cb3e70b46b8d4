"""The network component: a new VPC across 2 or 3 zones, or an existing one; flow logs and VPC endpoints."""
from generator.components.base import Component
from generator.components.network.spec import RULES, NetworkEnv, NetworkSpec, env_inputs
from generator.components.network.stack import NetworkOutputs, build
from generator.components.network.types import TYPES

COMPONENT = Component(
    "network", "VPC, subnets, NAT, flow logs and endpoints", TYPES, RULES, spec_key="network", spec=NetworkSpec,
    env=NetworkEnv)

__all__ = ["COMPONENT", "NetworkEnv", "NetworkOutputs", "NetworkSpec", "build", "env_inputs"]
