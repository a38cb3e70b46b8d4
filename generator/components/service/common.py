"""What every per-service stack shares: its image tag parameter, condition names, the build context and the outputs.

An environment's service settings (`environments.<env>.services.<name>`, `off_hours`) enter the templates only as
root parameters (settings.py: one per field of ServiceEnvSpec and OffHoursSpec), so one set of templates serves every
environment. Per service they are kept few (at most ten for a web service, CloudFormation allows 200 root parameters
in all); settings that are the same everywhere (cpu, memory, port, routing, environment, secrets) are literals in the
template.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from troposphere import GetAtt, Ref, Sub, ec2, ecs, iam, logs

from generator import image_tags, naming
from generator.components.base import EnvInputs
from generator.components.cluster import ClusterOutputs
from generator.components.environment import EnvironmentCore
from generator.components.monitoring import MonitoringOutputs
from generator.components.network import NetworkOutputs
from generator.components.service.spec import OffHoursSpec
from generator.records import record
from generator.wiring import OutputRef, RootParameter, StackBuilder

if TYPE_CHECKING:
    from generator.config import AppSpec, ServiceSpec

BOOTSTRAP_TAG = image_tags.BOOTSTRAP

# Condition names, one namespace per service template.
BOOTSTRAPPING = "Bootstrapping"        # the service's image tag is `bootstrap`: no image exists yet, run no tasks
EXEC = "ExecEnabled"                   # ECS Exec allowed in this environment
OFF_HOURS = "OffHours"                 # non-production with off-hours times, and not bootstrapping
APPROVAL = "WaitForApproval"           # web: hold releases until someone continues them
REQUEST_SCALING = "RequestScaling"     # web: request-count target tracking on


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


class Task(NamedTuple):
    """The task definition and what it runs with."""

    definition: ecs.TaskDefinition
    family: Sub                 # the task definition family (a CODE_DEPLOY service names this, never the ARN)
    container: str              # the container the load balancer targets (sidecars.ingress: the main one's by default)
    execution_role: iam.Role
    task_role: iam.Role
    security_group: ec2.SecurityGroup
    log_group: logs.LogGroup


@record(frozen=True)
class Context:
    """Everything a kind module (web, worker, cron) builds on."""

    app: AppSpec
    svc: ServiceSpec
    stack: StackBuilder
    settings: dict[str, Ref]    # ServiceEnvSpec field -> Ref of the child parameter (the settings its kind uses)
    net: NetworkOutputs         # sources: a kind module declares only the inputs it uses (`stack.input`)
    cluster: ClusterOutputs
    task: Task
    off_hours: EnvInputs[OffHoursSpec]
    environment: EnvInputs[EnvironmentCore]
    queue_name: Any = None      # the queue a worker scales on (`scale_on`): its stack's QueueName output
    alerts: MonitoringOutputs | None = None   # where the service's composite alarm notifies (None: no alarms)

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

