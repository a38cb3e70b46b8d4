"""What every per-service stack shares: its root parameters, condition names, the build context and the outputs.

An environment's service settings (`environments.<env>.services.<name>`, `off_hours`) enter the templates only as
root parameters, so one set of templates serves every environment. Per service they are kept few (at most ten for
a web service, CloudFormation allows 200 root parameters in all); settings that are the same everywhere (cpu,
memory, port, routing, environment, secrets) are literals in the template.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from troposphere import GetAtt, Ref, Sub, ec2, ecs, iam, logs

from generator import holds, image_tags, naming
from generator.config import AppSpec, ServiceSpec
from generator.config.models import DEPLOYMENT_CONFIGS, RETENTION_DAYS, ServiceEnvSpec
from generator.stacks.cluster import ClusterOutputs
from generator.stacks.network import NetworkOutputs
from generator.wiring import OutputRef, RootParameter, StackBuilder

GROUP = "Services"
BOOTSTRAP_TAG = image_tags.BOOTSTRAP

# Condition names, one namespace per service template.
BOOTSTRAPPING = "Bootstrapping"        # the service's image tag is `bootstrap`: no image exists yet, run no tasks
EXEC = "ExecEnabled"                   # ECS Exec allowed in this environment
OFF_HOURS = "OffHours"                 # non-production with off-hours times, and not bootstrapping
APPROVAL = "WaitForApproval"           # web: hold releases until someone continues them
REQUEST_SCALING = "RequestScaling"     # web: request-count target tracking on


def _off_hours(app: AppSpec, env: str, field: str, default: str = "") -> str:
    spec = app.environments[env].off_hours
    return getattr(spec, field) if spec is not None else default


def image_tag(service: str) -> RootParameter:
    """The image tag one service runs. Each service has its own, so a service added to a running environment starts
    in bootstrap (no image yet) while the others keep running theirs."""
    return RootParameter(
        image_tags.parameter(service),
        f"{service}: image tag it runs, normally the commit SHA (the pipeline passes it). '{BOOTSTRAP_TAG}' means no "
        f"image exists yet (first deploy of an environment, or a service new to it): the service then runs no tasks "
        f"and its schedule is off. Never set it on a service that is running.",
        f"Service {service}", f"{service}: image tag", lambda a, e: BOOTSTRAP_TAG, allowed_pattern=naming.IMAGE_TAG_PATTERN,
        constraint="a Docker image tag: letters, digits, '_', '.', '-', at most 128 characters")


OFF_HOURS_STOP = RootParameter(
    "OffHoursStop", "Non-production: when web services and workers scale to zero, e.g. cron(0 20 ? * MON-FRI *). "
    "Empty: never (always empty in production).", GROUP, "Off-hours stop",
    lambda a, e: _off_hours(a, e, "stop"), allowed_pattern=r"^(cron\(\S+( \S+){5}\))?$",
    constraint="empty, or cron(minutes hours day-of-month month day-of-week year)")
OFF_HOURS_START = RootParameter(
    "OffHoursStart", "Non-production: when web services and workers scale back to their minimum, e.g. "
    "cron(0 7 ? * MON-FRI *). Empty: never.", GROUP, "Off-hours start",
    lambda a, e: _off_hours(a, e, "start"), allowed_pattern=r"^(cron\(\S+( \S+){5}\))?$",
    constraint="empty, or cron(minutes hours day-of-month month day-of-week year)")
OFF_HOURS_TIMEZONE = RootParameter(
    "OffHoursTimezone", "IANA time zone of the off-hours times, e.g. Europe/Berlin.", GROUP, "Off-hours time zone",
    lambda a, e: _off_hours(a, e, "timezone", "UTC"), allowed_pattern=r"^[A-Za-z][A-Za-z0-9_+/-]{0,63}$",
    constraint="an IANA time zone name such as Europe/Berlin or UTC")

WEB, SCALED, ALL = ("web",), ("web", "worker"), ("web", "worker", "cron")


@dataclass(frozen=True)
class Setting:
    """One per-service, per-environment value and the root parameter that carries it."""

    suffix: str
    kinds: tuple[str, ...]
    label: str
    description: str
    value: Callable[[ServiceEnvSpec], object]
    type: str = "Number"
    allowed_values: tuple[str, ...] | None = None
    # Where the value depends on more than the service's own settings (the app, the environment): (app, env, service)
    app_value: Callable[[AppSpec, str, str], object] | None = None

    def parameter(self, service: str) -> RootParameter:
        name = naming.service_parameter(service, self.suffix)
        app_value = self.app_value

        def env_value(a: AppSpec, e: str) -> str:
            if app_value is not None:
                return _text(app_value(a, e, service))
            return _text(self.value(ServiceEnvSpec.of(a.environments[e], service)))
        return RootParameter(
            name, f"{service}: {self.description}", f"Service {service}", f"{service}: {self.label}", env_value,
            type=self.type, allowed_values=self.allowed_values)


def _text(value: object) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


SETTINGS = (
    Setting("MinCount", SCALED, "minimum tasks", "Fewest tasks; autoscaling never goes below (off-hours: 0).",
            lambda s: s.capacity()[0]),
    Setting("MaxCount", SCALED, "maximum tasks", "Most tasks autoscaling may run.", lambda s: s.capacity()[1]),
    Setting("CpuScaleOut", SCALED, "CPU scale-out %", "Average CPU % above which tasks are added.",
            lambda s: s.cpu_scale_out),
    Setting("CpuScaleIn", SCALED, "CPU scale-in %", "Average CPU % below which a task is removed.",
            lambda s: s.cpu_scale_in),
    Setting("RequestsPerTarget", WEB, "requests per task", "Requests per task and minute that request-count "
            "scaling aims for; 0 turns it off.", lambda s: s.requests_per_target or 0),
    Setting("ExecEnabled", ALL, "ECS Exec", "Allow ECS Exec into the tasks (tasks started after the change).",
            lambda s: s.exec, "String", ("true", "false")),
    Setting("DeploymentConfig", WEB, "deployment configuration", "How CodeDeploy shifts traffic to a release.",
            lambda s: s.deployment_config, "String", DEPLOYMENT_CONFIGS),
    Setting("ApprovalWaitMinutes", WEB, "release hold (minutes)", "Minutes a release waits on the test listener "
            "for its gates (integration tests, approval) to continue it before it is stopped; 0: no wait.",
            lambda s: s.wait_for_approval_minutes or 0, app_value=holds.hold_minutes),
    Setting("TerminationWaitMinutes", WEB, "old tasks kept (minutes)", "Minutes the previous release keeps running "
            "after traffic moved (instant rollback window).", lambda s: s.termination_wait_minutes),
    Setting("LogRetention", ALL, "log retention (days)", "Days container logs are kept.",
            lambda s: s.log_retention_days, allowed_values=tuple(str(d) for d in RETENTION_DAYS)),
)


def root_parameters(svc: ServiceSpec) -> dict[str, RootParameter]:
    """The service's own root parameters, keyed by setting suffix (`MinCount`, ...)."""
    return {s.suffix: s.parameter(svc.name) for s in SETTINGS if svc.kind in s.kinds}


class Task(NamedTuple):
    """The task definition and what it runs with."""

    definition: ecs.TaskDefinition
    family: Sub                 # the task definition family (a CODE_DEPLOY service names this, never the ARN)
    container: str              # the one container's name (the service name)
    execution_role: iam.Role
    task_role: iam.Role
    security_group: ec2.SecurityGroup
    log_group: logs.LogGroup


@dataclass(frozen=True)
class Context:
    """Everything a kind module (web, worker, cron) builds on."""

    app: AppSpec
    svc: ServiceSpec
    stack: StackBuilder
    settings: dict[str, Ref]    # setting suffix -> Ref of the child parameter
    net: NetworkOutputs         # sources: a kind module declares only the inputs it uses (`stack.input`)
    cluster: ClusterOutputs
    task: Task

    def subnets(self) -> Ref:
        """The private subnets (tasks never get public IPs)."""
        return self.stack.input(self.net.private_subnet_ids)

    def cluster_name(self) -> Ref:
        return self.stack.input(self.cluster.cluster_name)


def network_configuration(ctx: Context) -> ecs.NetworkConfiguration:
    """Tasks in the private subnets with the service's security group and no public IP."""
    return ecs.NetworkConfiguration(AwsvpcConfiguration=ecs.AwsvpcConfiguration(
        Subnets=ctx.subnets(), SecurityGroups=[GetAtt(ctx.task.security_group, "GroupId")],
        AssignPublicIp="DISABLED"))


class ServiceOutputs(NamedTuple):
    task_definition_arn: OutputRef
    task_role_arn: OutputRef        # other stacks may grant the service access (S3, queues ...)
    execution_role_arn: OutputRef   # the pipeline passes both roles when it registers a release's task definition
    security_group_id: OutputRef    # e.g. for the database's ingress rule
    log_group_name: OutputRef
    service_name: OutputRef | None = None            # web and worker
    codedeploy_application: OutputRef | None = None  # web
    deployment_group: OutputRef | None = None        # web
    job_state_machine_arn: OutputRef | None = None   # cron
    dead_letter_queue_arn: OutputRef | None = None   # cron: schedule starts that could not be delivered

