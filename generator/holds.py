"""Which web-service releases wait on the test listener, for which gates, and for how long (docs/pipeline.md,
"Gates").

A CodeDeployToECS action finishes only after production traffic moved (CodePipeline user guide, "Amazon ECS and
CodeDeploy blue-green deploy action reference": the deployment, traffic shift included, is the action), so anything
that must judge the new task set runs beside the action while the deployment group holds the release after the
test traffic shift (READY_WAIT: `ActionOnTimeout STOP_DEPLOYMENT`, `WaitTimeInMinutes`). Two gates hold a release:

  * `IntegrationTests`: in the pipeline's test environment, every web service's release waits for the integration
    tests, which run against the test listener while all of them wait there;
  * `ApproveReroute`: where a service has `wait_for_approval_minutes`, its release also waits for the lead.

The service stacks take the hold (`<Service>ApprovalWaitMinutes`, a root parameter: 0 means no hold) from here, and
the pipeline takes the gates (its actions and the rule that continues or stops the held releases).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from generator.components.service.spec import ServiceEnvSpec

if TYPE_CHECKING:
    from generator.config import AppSpec

APPROVAL = "ApproveReroute"
TESTS = "IntegrationTests"
# The tests project's limits (pipeline-builds.yaml). A release held for the tests waits at least as long as the
# tests can take from the moment it is Ready: queued, run, plus a margin for the gate's polling and the function that
# continues the releases. If nothing continues it by then, it stops and rolls back.
TESTS_QUEUED_MINUTES = 30
TESTS_TIMEOUT_MINUTES = 60
TESTS_HOLD_MINUTES = TESTS_QUEUED_MINUTES + TESTS_TIMEOUT_MINUTES + 15
TESTS_READY_MINUTES = 60   # how long the tests wait for every release to reach the test listener


def gates(app: AppSpec, env: str, service: str) -> tuple[str, ...]:
    """The gates a web service's release waits for in `env` (empty: traffic moves once the new tasks are healthy)."""
    svc = next(s for s in app.services if s.name == service)
    if svc.kind != "web":
        return ()
    found = (TESTS,) if app.test_environment() == env else ()
    if ServiceEnvSpec.of(app.environments[env], service).wait_for_approval_minutes:
        found += (APPROVAL,)
    return found


def held_services(app: AppSpec, env: str) -> dict[str, tuple[str, ...]]:
    """Web services whose releases wait in `env`, with their gates, in app.yaml's order."""
    return {svc.name: g for svc in app.services if (g := gates(app, env, svc.name))}


def approval_services(app: AppSpec, env: str) -> list[str]:
    """Web services whose releases wait in `env` for someone to approve them."""
    return [name for name, g in held_services(app, env).items() if APPROVAL in g]


def hold_minutes(app: AppSpec, env: str, service: str) -> int:
    """Minutes a release waits on the test listener before it stops (0: no hold)."""
    g = gates(app, env, service)
    approval = ServiceEnvSpec.of(app.environments[env], service).wait_for_approval_minutes or 0
    return max(approval, TESTS_HOLD_MINUTES) if TESTS in g else approval
