"""The pipeline's stages and actions as plain data, from the app spec alone (docs/pipeline.md, "Stages and actions").

stages.py turns each step into a CodePipeline action, and the spec rule `pipeline_quotas` (generator/config/rules.py,
through quotas.py) checks this same plan against CodePipeline's quotas, so what the spec refuses is exactly what
would not deploy. CodePipeline user guide, "Quotas in AWS CodePipeline": at most 50 actions in a stage (parallel or
sequential), 500 actions in a pipeline, 50 stages; a CodeBuild action has at most 5 output artifacts ("Number of
input and output artifacts for each action type").

    Source -> UpdatePipeline -> Build[, Build2, ...] -> per environment, in app.yaml's order:
        [Approve<Env> (production)] -> Deploy<Env> [-> Release<Env>]

Build: one action per service, and BuildFrontend (with `frontend.build`: the frontend, built once per run) in the last
Build stage, spread evenly over as few stages as hold them. Deploy<Env>: Promote (1), Deploy (2),
ProtectNestedStacks (3, production), PublishFrontend (3, with `frontend.build`: that one build, published after the
stack update), one PrepareRelease per five web services (3), Migrate (3, with `migrate:`: a failed migration stops the
stage before the releases), a CodeDeployToECS release per web
service and the gates of the held releases beside them (4). When those do not fit one stage, the releases and their
gates move to Release<Env> (run order 1): the gates must share a stage with every release they hold (the tests wait
until all of them are on the test listener), so the releases of one environment are never split further.
"""
from __future__ import annotations

from math import ceil
from typing import TYPE_CHECKING

from generator import holds
from generator.naming import pascal
from generator.pipeline import migrate
from generator.pipeline.common import builds_frontend
from generator.records import record

if TYPE_CHECKING:
    from generator.config import AppSpec

ACTIONS_PER_STAGE = 50
ACTIONS_PER_PIPELINE = 500
STAGES_PER_PIPELINE = 50
OUTPUTS_PER_BUILD_ACTION = 5      # a CodeBuild action's output artifacts: one per web service it prepares

# What each step does (stages.py has one action builder per kind).
SOURCE, SELF_UPDATE, UPDATE_PIPELINE, BUILD = "source", "self-update", "update-pipeline", "build"
APPROVE_RELEASE, PROMOTE, DEPLOY, PROTECT = "approve-release", "promote", "deploy", "protect"
PREPARE_RELEASE, RELEASE, TESTS, APPROVE_REROUTE = "prepare-release", "release", "tests", "approve-reroute"
BUILD_FRONTEND, PUBLISH_FRONTEND = "build-frontend", "publish-frontend"
BUILD_FRONTEND_ACTION, PUBLISH_FRONTEND_ACTION = "BuildFrontend", "PublishFrontend"
MIGRATE = "migrate"     # app.yaml's `migrate:` (generator/pipeline/migrate.py)

SOURCE_STAGE, UPDATE_STAGE = "Source", "UpdatePipeline"
RELEASE_ORDER = 4   # in Deploy<Env>: Promote (1), Deploy (2), ProtectNestedStacks and PrepareRelease (3), releases (4)


@record(frozen=True)
class Step:
    """One action of the pipeline."""

    name: str
    kind: str
    run_order: int
    env: str | None = None
    services: tuple[str, ...] = ()    # BUILD and RELEASE: the service; PREPARE_RELEASE: its group of web services
    group: int = 0                    # PREPARE_RELEASE: 1, 2, ... (its project and action name)
    source: str | None = None         # SOURCE: the source's name (None: the pipeline's own repository)


@record(frozen=True)
class Stage:
    name: str
    steps: tuple[Step, ...]


def deploy_stage(env: str) -> str:
    return f"Deploy{pascal(env)}"


def release_stage(env: str) -> str:
    return f"Release{pascal(env)}"


def approve_stage(env: str) -> str:
    return f"Approve{pascal(env)}"


def build_stage(number: int) -> str:
    """`Build`, then `Build2`, `Build3`, ... (the first keeps its name when an app grows past one stage)."""
    return "Build" if number == 1 else f"Build{number}"


def prepare_release_action(group: int) -> str:
    return "PrepareRelease" if group == 1 else f"PrepareRelease{group}"


def web_services(app: AppSpec) -> list[str]:
    return [svc.name for svc in app.services if svc.kind == "web"]


def release_groups(app: AppSpec) -> list[tuple[str, ...]]:
    """The web services in app.yaml's order, five per PrepareRelease action (its output artifacts)."""
    web = web_services(app)
    return [tuple(web[i:i + OUTPUTS_PER_BUILD_ACTION]) for i in range(0, len(web), OUTPUTS_PER_BUILD_ACTION)]


def build_groups(app: AppSpec) -> list[tuple[str, ...]]:
    """The services in app.yaml's order, spread evenly over as few Build stages as hold them with the frontend's
    build (which joins the last one; its place is counted here)."""
    names = [svc.name for svc in app.services] + ([""] if builds_frontend(app) else [])
    if not names:
        return []
    count = ceil(len(names) / ACTIONS_PER_STAGE)
    size, extra = divmod(len(names), count)
    groups, start = [], 0
    for i in range(count):
        end = start + size + (1 if i < extra else 0)
        groups.append(tuple(names[start:end]))
        start = end
    return groups


def _environment_stages(app: AppSpec, env: str) -> list[Stage]:
    spec = app.environments[env]
    prepare = [Step("Promote", PROMOTE, 1, env)] if app.services else []
    prepare.append(Step("Deploy", DEPLOY, 2, env))
    if spec.production:
        prepare.append(Step("ProtectNestedStacks", PROTECT, 3, env))
    if builds_frontend(app):
        prepare.append(Step(PUBLISH_FRONTEND_ACTION, PUBLISH_FRONTEND, 3, env))
    prepare += [Step(prepare_release_action(i), PREPARE_RELEASE, 3, env, group, i)
                for i, group in enumerate(release_groups(app), 1)]
    if migrate.runs(app, env):    # after the stack update, before any release moves traffic
        prepare.append(Step(migrate.ACTION, MIGRATE, 3, env))
    web = web_services(app)
    releases = [Step(f"Release{pascal(name)}", RELEASE, RELEASE_ORDER, env, (name,)) for name in web]
    gate_order = RELEASE_ORDER if web else RELEASE_ORDER - 1
    if app.test_environment() == env:
        releases.append(Step(holds.TESTS, TESTS, gate_order, env))
    if holds.approval_services(app, env):
        releases.append(Step(holds.APPROVAL, APPROVE_REROUTE, gate_order, env))
    stages = [Stage(approve_stage(env), (Step("ApproveRelease", APPROVE_RELEASE, 1, env),))] if spec.production else []
    if len(prepare) + len(releases) <= ACTIONS_PER_STAGE:
        return [*stages, Stage(deploy_stage(env), tuple(prepare + releases))]
    moved = tuple(Step(s.name, s.kind, 1, s.env, s.services, s.group) for s in releases)
    return [*stages, Stage(deploy_stage(env), tuple(prepare)), Stage(release_stage(env), moved)]


def stages(app: AppSpec) -> tuple[Stage, ...]:
    """Every stage of the app's pipeline, in order."""
    extra = [] if app.pipeline is None else app.pipeline.sources
    found = [Stage(SOURCE_STAGE, (Step("Source", SOURCE, 1),
                                  *(Step(f"Source{pascal(s.name)}", SOURCE, 1, source=s.name) for s in extra))),
             Stage(UPDATE_STAGE, (Step("SelfUpdate", SELF_UPDATE, 1), Step("UpdatePipeline", UPDATE_PIPELINE, 2)))]
    for number, group in enumerate(build_groups(app), 1):
        found.append(Stage(build_stage(number), tuple(
            Step(f"Build{pascal(name)}", BUILD, 1, None, (name,)) if name else
            Step(BUILD_FRONTEND_ACTION, BUILD_FRONTEND, 1) for name in group)))
    for env in app.environments:
        found += _environment_stages(app, env)
    return tuple(found)


def gate_stage(app: AppSpec, env: str) -> str:
    """The stage where `env`'s releases and their gates run (the reroute rule listens to it)."""
    names = {s.name for s in stages(app)}
    return release_stage(env) if release_stage(env) in names else deploy_stage(env)
