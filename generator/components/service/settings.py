"""The services' per-environment settings as root parameters: one set per service (`<Service><Setting>`, only the
settings its kind uses) and the off-hours times every web service and worker shares (`OffHours*`)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from generator import holds, naming
from generator.components.base import EnvInputs
from generator.components.service.spec import NEVER, OffHoursSpec, ServiceEnvSpec

if TYPE_CHECKING:
    from generator.config import AppSpec, ServiceSpec

GROUP = "Services"


def service_settings(app: AppSpec, env: str, service: str) -> ServiceEnvSpec:
    """One service's settings in one environment: task counts resolved (desired_count, defaults), the release hold
    its gates ask for (generator/holds.py)."""
    spec = ServiceEnvSpec.of(app.environments[env], service)
    low, high = spec.capacity()
    return spec.model_copy(update={"min_count": low, "max_count": high,
                                   "wait_for_approval_minutes": holds.hold_minutes(app, env, service) or None})


def env_inputs(app: AppSpec, svc: ServiceSpec, packed: bool = False) -> EnvInputs[ServiceEnvSpec]:
    """One service's settings: a root parameter each (`ApiMinCount` ...), or `packed` into one (`ApiSettings`)."""
    return EnvInputs(ServiceEnvSpec, f"Service {svc.name}", lambda a, e: service_settings(a, e, svc.name), app=app,
                     prefix=naming.pascal(svc.name), owner=svc.name, kind=svc.kind, packed=packed)


def off_hours_inputs(app: AppSpec) -> EnvInputs[OffHoursSpec]:
    return EnvInputs(OffHoursSpec, GROUP, lambda a, e: a.environments[e].off_hours or NEVER, app=app,
                     prefix="OffHours")
