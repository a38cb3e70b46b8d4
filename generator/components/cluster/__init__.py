"""The cluster component: the ECS cluster and its capacity providers, the load balancer and its listeners."""
from generator.components.base import Component
from generator.components.cluster.spec import RULES, ClusterEnv, env_inputs
from generator.components.cluster.stack import ClusterOutputs, build
from generator.components.cluster.types import TYPES

COMPONENT = Component("cluster", "ECS cluster, load balancer and listeners", TYPES, RULES, env=ClusterEnv)

__all__ = ["COMPONENT", "ClusterEnv", "ClusterOutputs", "build", "env_inputs"]
