"""The facts a runbook states about one environment, computed from the app spec. Every command is built by
`make_command`, from the Makefile's own target and variable names (a test runs each through `make -n`)."""
from __future__ import annotations

import re
import shlex
from dataclasses import field

from generator import naming
from generator.components.cluster import spec as cluster_spec
from generator.components.cluster.alb import TEST_PORT
from generator.components.service.settings import service_settings
from generator.config import AppSpec, renamed
from generator.records import record

# Commands of the data tier (the database component's branch): the runbooks name them as that branch defines them.
DATA_TIER_TARGETS = ("snapshot", "snapshots", "restore")


def make_command(target: str, env: str, **variables: str) -> str:
    extra = "".join(f" {k}={v}" for k, v in variables.items())
    return f"make {target} ENV={env}{extra}"


def _one_quoted_word(command: list[str]) -> str:
    """The command as the text of one single-quoted CMD=... word, or a placeholder when it holds a quote itself."""
    text = shlex.join(command)
    return "<the migrate command in app.yaml>" if "'" in text else text


def shift_minutes(config: str) -> int:
    """Minutes CodeDeploy takes to move all traffic under a deployment configuration (its name says it)."""
    canary = re.search(r"Canary\d+Percent(\d+)Minutes?", config)
    if canary:
        return int(canary[1])
    linear = re.search(r"Linear(\d+)PercentEvery(\d+)Minutes?", config)
    if linear:
        return (100 // int(linear[1]) - 1) * int(linear[2])
    return 0


def resolve(text: str, app: str, env: str) -> str:
    """`${Application}` and `${EnvironmentName}` of a secret name, as the environment's stack fills them in."""
    return text.replace(f"${{{naming.APPLICATION_PARAM}}}", app).replace(f"${{{naming.ENVIRONMENT_PARAM}}}", env)


@record(frozen=True)
class Secret:
    name: str
    keys: tuple[str, ...]                  # JSON keys; () for a plain string secret
    used_by: tuple[str, ...]               # "service: ENV_VAR"


@record(frozen=True)
class Service:
    name: str
    kind: str
    cpu: int
    memory: int
    min_count: int
    max_count: int
    exec: bool
    deployment_config: str
    approval_minutes: int
    termination_minutes: int
    shift_minutes: int
    schedule: str | None
    dockerfile: str
    context: str
    repository: str
    log_group: str
    secrets: tuple[str, ...]               # env var names
    environment: tuple[str, ...]           # plain env var names


@record(frozen=True)
class ManualStep:
    title: str
    why: str | None
    steps: tuple[str, ...]
    verify: str | None


@record(frozen=True)
class Runbook:
    app: str
    owner: str
    env: str
    account: str
    region: str
    stack: str
    production: bool
    domain: str | None
    https: bool
    test_cidr: str | None
    test_port: int
    pipeline: bool
    test_environment: str | None
    environments: tuple[str, ...]
    services: tuple[Service, ...]
    database: dict | None
    secrets: tuple[Secret, ...]
    manual_steps: tuple[ManualStep, ...]
    vcpu_at_max: float
    commands: dict[str, str] = field(default_factory=dict)
    sources: tuple[str, ...] = ()     # the pipeline's sources by name (pipeline.source_name, then pipeline.sources)

    @property
    def web(self) -> tuple[Service, ...]:
        return tuple(s for s in self.services if s.kind == "web")

    def make(self, target: str, **variables: str) -> str:
        return make_command(target, self.env, **variables)


def build(app: AppSpec, env: str) -> Runbook:
    spec = app.environments[env]
    services = []
    vcpu = 0.0
    for svc in app.services:
        s = service_settings(app, env, svc.name)
        low, high = (s.min_count or 0, s.max_count or 0) if svc.kind != "cron" else (0, 1)
        dockerfile, context = app.pipeline.build_of(svc.name) if app.pipeline else (f"{svc.name}/Dockerfile",
                                                                                   svc.name)
        services.append(Service(
            name=svc.name, kind=svc.kind, cpu=svc.cpu, memory=svc.memory, min_count=low, max_count=high,
            exec=s.exec, deployment_config=s.deployment_config, approval_minutes=s.wait_for_approval_minutes or 0,
            termination_minutes=s.termination_wait_minutes, shift_minutes=shift_minutes(s.deployment_config),
            schedule=svc.schedule, dockerfile=dockerfile, context=context,
            repository=naming.resource_name(app.app, env, renamed.deployed_name(app, svc.name)),
            log_group=naming.service_log_group(app.app, env, renamed.deployed_name(app, svc.name)),
            secrets=tuple(sorted(svc.secrets)), environment=tuple(sorted(svc.environment))))
        vcpu += high * svc.cpu / 1024
    secrets: dict[str, tuple[set[str], list[str]]] = {}
    for svc in app.services:
        for var, ref in sorted(svc.secrets.items()):
            name, _, key = resolve(ref, app.app, env).partition(":")
            keys, users = secrets.setdefault(name, (set(), []))
            if key:
                keys.add(key)
            users.append(f"{svc.name}: {var}")
    domain = spec.domain_name
    steps = []
    for step in app.manual_steps:
        if step.environments is None or env in step.environments:
            fill = {"env": env, "app": app.app, "domain": domain or f"<{env} load balancer DNS name>"}
            steps.append(ManualStep(step.title, step.why, tuple(t.format(**fill) for t in step.steps),
                                    step.verify.format(**fill) if step.verify else None))
    database = None
    if app.database is not None:
        database = {"engine": app.database.engine, "name": app.database.name,
                    "port": 3306 if app.database.engine == "aurora-mysql" else 5432,
                    # the one-off migration make deploy runs (`migrate:`), or a placeholder to fill in
                    "migrate_service": app.migrate.service if app.migrate else (services[0].name if services
                                                                               else "<service>"),
                    "migrate_command": _one_quoted_word(app.migrate.command) if app.migrate else "<migration command>",
                    "migrate_in_deploy": app.migrate is not None,
                    # the pipeline's Migrate action (generator/pipeline/migrate.py) runs the same migration
                    "migrate_in_pipeline": app.migrate is not None and app.pipeline is not None}
    return Runbook(
        app=app.app, owner=app.owner, env=env, account=app.account_of(env) if (spec.account_id or app.pipeline)
        else "<the account of your AWS_PROFILE>", region=app.region, stack=naming.stack_name(app.app, env),
        production=spec.production, domain=domain, https=bool(spec.certificate_arn),
        test_cidr=cluster_spec.settings(app, env).test_listener_cidr, test_port=TEST_PORT,
        pipeline=app.pipeline is not None, test_environment=app.test_environment(),
        sources=() if app.pipeline is None else (app.pipeline.source_name, *(s.name for s in app.pipeline.sources)),
        environments=tuple(app.environments), services=tuple(services), database=database,
        secrets=tuple(Secret(n, tuple(sorted(k)), tuple(u)) for n, (k, u) in sorted(secrets.items())),
        manual_steps=tuple(steps), vcpu_at_max=vcpu)
