"""The registry's spec: `registry:` in app.yaml (RegistrySpec), its per-environment setting (RegistryEnv) and rule."""
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field

from generator.components.base import EnvInputs, Param
from generator.config.types import EnvironmentPart, Strict
from generator.errors import Problem

if TYPE_CHECKING:
    from generator.config import AppSpec

GROUP = "Registry"


class RegistrySpec(Strict):
    """The image registry: one ECR repository per service in every environment."""

    keep_releases: int = Field(
        20, ge=1, le=1000, description="Images kept per repository; older ones expire (rollback reaches this far back).")
    untagged_days: int = Field(
        7, ge=1, le=365, description="Days after push when untagged images (failed or superseded pushes) expire.")
    scan_type: Literal["basic", "enhanced"] = Field(
        "basic", description="Registry scanning on push: `basic` (free, OS packages) or `enhanced` (Amazon Inspector, "
                             "billed by Inspector, also language packages).")


class RegistryEnv(EnvironmentPart):
    """An environment's registry setting (a field of `environments.<env>`)."""

    manage_registry_scanning: Annotated[bool | None, Param("Own registry scanning")] = Field(
        None, description="Whether this environment's stack owns the account-wide ECR registry scanning "
                          "configuration (exactly one environment per account and region should). Default: the last "
                          "environment listed for each account.")


def manages_registry_scanning(app: "AppSpec", env: str) -> bool:
    """The environment's explicit choice; otherwise the last environment listed for its account (the longest-lived
    one in promotion order), among those not set to false. Environments without `account_id` count as one account."""
    explicit = app.environments[env].manage_registry_scanning
    if explicit is not None:
        return explicit
    account = app.environments[env].account_id
    same_account = [n for n, e in app.environments.items() if e.account_id == account]
    if any(app.environments[n].manage_registry_scanning for n in same_account):
        return False
    candidates = [n for n in same_account if app.environments[n].manage_registry_scanning is None]
    return candidates[-1] == env


def settings(app: "AppSpec", env: str) -> RegistryEnv:
    return RegistryEnv.model_construct(manage_registry_scanning=manages_registry_scanning(app, env))


def env_inputs(app: "AppSpec") -> EnvInputs[RegistryEnv]:
    return EnvInputs(RegistryEnv, GROUP, settings, app=app)


def one_registry_scanning_owner_per_account(app: "AppSpec") -> Iterator[Problem]:
    """Within one AWS account at most one environment sets `manage_registry_scanning: true`: the ECR registry
    scanning configuration is account-wide, and two stacks owning it would overwrite (and on delete, reset) it."""
    owners: dict[str, str] = {}
    for name, env in app.environments.items():
        if env.manage_registry_scanning and env.account_id is not None:
            if env.account_id in owners:
                yield Problem(f"environments.{name}.manage_registry_scanning",
                              f"environment '{owners[env.account_id]}' already manages registry scanning in account "
                              f"{env.account_id}; set this one to false")
            owners.setdefault(env.account_id, name)


RULES = (one_registry_scanning_owner_per_account,)
