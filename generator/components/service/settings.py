"""The services' per-environment settings as root parameters: one set per service (`<Service><Setting>`, only the
settings its kind uses) and the off-hours times every web service and worker shares (`OffHours*`)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from generator import holds, naming
from generator.components.base import EnvInputs
from generator.components.service import variables
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


def settings_inputs(app: AppSpec, room: int) -> dict[str, EnvInputs[ServiceEnvSpec]]:
    """Every service's settings, by service name. A root parameter per setting keeps the console form labelled, and
    is the choice while the services' parameters (image tags, settings, off-hours times) fit `room`; past it every
    service's settings are packed into one parameter (image tags stay their own: the pipeline and the deploy script
    set them). Deterministic: the spec alone decides (docs/performance.md, Scale)."""
    individual = {svc.name: env_inputs(app, svc) for svc in app.services}
    # the per-environment variables keep a parameter each in both modes (variables.py), so they count here
    count = len(off_hours_inputs(app).parameters()) + sum(1 + len(e.parameters()) for e in individual.values()) \
        + variables.count(app)
    if count <= room:
        return individual
    return {svc.name: env_inputs(app, svc, packed=True) for svc in app.services}


def off_hours_inputs(app: AppSpec) -> EnvInputs[OffHoursSpec]:
    return EnvInputs(OffHoursSpec, GROUP, lambda a, e: a.environments[e].off_hours or NEVER, app=app,
                     prefix="OffHours")
