"""The service component: one stack per service (web: load balancer and CodeDeploy blue/green; worker: ECS rolling
releases; cron: a schedule that starts one task at a time), with its task definition, roles and scaling."""
from generator.components.base import Component
from generator.components.service.common import ServiceOutputs
from generator.components.service.settings import env_inputs, off_hours_inputs
from generator.components.service.spec import RULES, OffHoursSpec, ServiceEnvSpec, ServicesEnv, ServiceSpec
from generator.components.service.sidecars import RULES as SIDECAR_RULES
from generator.components.service.stack import build
from generator.components.service.variables import RULES as VARIABLE_RULES
from generator.components.service.types import TYPES

COMPONENT = Component(
    "service", "one service", TYPES, RULES + SIDECAR_RULES + VARIABLE_RULES, spec_key="services", spec=ServiceSpec, env=ServicesEnv,
    settings=(ServiceEnvSpec, OffHoursSpec))

__all__ = ["COMPONENT", "ServiceOutputs", "ServiceSpec", "ServicesEnv", "build", "env_inputs", "off_hours_inputs"]
