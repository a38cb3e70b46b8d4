"""What every environment says about itself (`environments.<env>`: production, account_id), and the root parameter
the stacks that depend on it take (Production)."""
from typing import TYPE_CHECKING, Annotated

from pydantic import Field

from generator.components.base import EnvInputs, NotAParameter, Param
from generator.config.types import AccountId, EnvironmentPart, Region

if TYPE_CHECKING:
    from generator.config import AppSpec

GROUP = "Environment"


class EnvironmentCore(EnvironmentPart):
    """What every environment says about itself."""

    production: Annotated[bool, Param("Production")] = Field(
        False, description="Marks a production environment: the load balancer gets deletion protection, and a stack "
                           "policy denies replacing or deleting stateful resources.")
    account_id: Annotated[AccountId | None, NotAParameter(
        "the deploy tooling checks its credentials against it and the pipeline deploys into it; templates use "
        "AWS::AccountId")] = Field(None, description="AWS account this environment lives in (12 digits).")
    region: Annotated[Region | None, NotAParameter(  # type: ignore[valid-type]
        "the stack is created in that region; the templates use AWS::Region and are the same everywhere")] = Field(
        None, description="AWS region of this environment, e.g. `us-east-1`. Default: the app's `region`.")


def settings(app: "AppSpec", env: str) -> EnvironmentCore:
    return app.environments[env]


def env_inputs(app: "AppSpec") -> EnvInputs[EnvironmentCore]:
    return EnvInputs(EnvironmentCore, GROUP, settings, app=app)
