"""Access's spec: who may assume the environment's Viewer, Developer and DevOps roles (`environments.<env>.access`,
AccessEnv: each field a root parameter). What each role may do is docs/access.md (generated from the policies)."""
from typing import TYPE_CHECKING, Annotated

from pydantic import Field, computed_field

from generator.components.base import EnvInputs, Param
from generator.config.types import EnvironmentPart, IamPrincipal, Strict, empty_list

if TYPE_CHECKING:
    from generator.config import AppSpec

GROUP = "Access"
PERSONAS = ("viewer", "developer", "devops")
MAX_PRINCIPALS = 20    # per role: a trust policy stays far below IAM's 2,048-character default quota
PRINCIPALS = ("An account (its 12 digits, or arn:aws:iam::<account>:root: its users need MFA, its roles must be "
              "allowed by their own policies), a role (e.g. an IAM Identity Center permission set's "
              "AWSReservedSSO_ role) or a user (MFA required)")


class AccessEnv(Strict):
    """Who may assume this environment's access roles (`environments.<env>.access`). A role whose list is empty is
    not created."""

    viewer: Annotated[list[IamPrincipal], Param("Viewer principals", name="ViewerPrincipals")] = Field(
        default_factory=empty_list, max_length=MAX_PRINCIPALS,
        description=f"Who may assume the Viewer role (read-only: stacks, services, logs, metrics, alarms, "
                    f"dashboards). {PRINCIPALS}.")
    developer: Annotated[list[IamPrincipal], Param("Developer principals", name="DeveloperPrincipals")] = Field(
        default_factory=empty_list, max_length=MAX_PRINCIPALS,
        description="Who may assume the Developer role (Viewer, plus Logs Insights, ECS Exec and reading queues and "
                    "tables outside production). Same forms as `viewer`.")
    devops: Annotated[list[IamPrincipal], Param("DevOps principals", name="DevOpsPrincipals")] = Field(
        default_factory=empty_list, max_length=MAX_PRINCIPALS,
        description="Who may assume the DevOps role (Developer, plus releases and rollbacks, ECS Exec everywhere, "
                    "database snapshots, writing the app's secrets). Same forms as `viewer`.")
    session_hours: Annotated[int, Param("Access session (hours)", name="AccessSessionHours")] = Field(
        4, ge=1, le=12, description="The longest session the access roles grant, in hours (1-12).")

    @computed_field(description="Whether the Viewer role exists (someone may assume it).")
    @property
    def viewer_role(self) -> Annotated[bool, Param("Viewer role", name="ViewerRoleEnabled")]:
        return bool(self.viewer)

    @computed_field(description="Whether the Developer role exists (someone may assume it).")
    @property
    def developer_role(self) -> Annotated[bool, Param("Developer role", name="DeveloperRoleEnabled")]:
        return bool(self.developer)

    @computed_field(description="Whether the DevOps role exists (someone may assume it).")
    @property
    def devops_role(self) -> Annotated[bool, Param("DevOps role", name="DevOpsRoleEnabled")]:
        return bool(self.devops)


class AccessEnvSpec(EnvironmentPart):
    """An environment's access roles (a field of `environments.<env>`)."""

    access: AccessEnv | None = Field(
        None, description="Who may assume the environment's Viewer, Developer and DevOps roles, and for how long.")


def wanted(app: "AppSpec") -> bool:
    """Whether the app has an access stack: some environment names someone for some role."""
    return any(settings(app, env).viewer_role or settings(app, env).developer_role or settings(app, env).devops_role
               for env in app.environments)


def settings(app: "AppSpec", env: str) -> AccessEnv:
    return app.environments[env].access or AccessEnv()


def env_inputs(app: "AppSpec") -> EnvInputs[AccessEnv]:
    return EnvInputs(AccessEnv, GROUP, settings, app=app)


RULES = ()
