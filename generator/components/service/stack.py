"""Per-service nested stacks: one per service in app.yaml, so many services stay within CloudFormation's limits.

This module builds what every kind shares (log group, roles, security group, task definition) and hands the rest
to `web.py` (load balancer, CodeDeploy blue/green), `worker.py` (ECS rolling deployments with the circuit breaker)
or `cron.py` (EventBridge Scheduler starting one task at a time). Scaling: `scaling.py`.
"""
from __future__ import annotations

import re
from collections.abc import Mapping

from typing import TYPE_CHECKING

from troposphere import Equals, GetAtt, If, Join, NoValue, Ref, Sub, ec2, ecs, iam, logs

from generator import naming
from generator.components.attachments import Attachments, Use
from generator.components.base import EnvInputs
from generator.components.cluster import ClusterOutputs
from generator.components.environment import EnvironmentCore
from generator.components.filesystem import FileSystemOutputs
from generator.components.monitoring import MonitoringOutputs
from generator.components.network import NetworkOutputs
from generator.components.queue import QueueOutputs
from generator.components.registry import RegistryOutputs
from generator.components.service import cron as service_cron
from generator.components.service import mounts as service_mounts
from generator.components.service import sidecars
from generator.components.service import variables as service_variables
from generator.components.service import uses as service_uses
from generator.components.service import web as service_web
from generator.components.service import worker as service_worker
from generator.components.service.common import (
    BOOTSTRAP_TAG, BOOTSTRAPPING, EXEC, Context, ServiceOutputs, Task, image_tag,
)
from generator.components.service.spec import OffHoursSpec, ServiceEnvSpec, SidecarSpec
from generator.policies import assume_role, exec_channels, task_execution
from generator.wiring import StackBuilder

if TYPE_CHECKING:
    from generator.config import AppSpec, ServiceSpec

KINDS = {"web": service_web.build, "worker": service_worker.build, "cron": service_cron.build}
HTTPS = 443
CPU_SETTINGS = ("cpu_scale_out", "cpu_scale_in")
IMAGE_TAG_CHILD = "ImageTag"


def build(app: AppSpec, svc: ServiceSpec, stack: StackBuilder, env: EnvInputs[ServiceEnvSpec],
          off_hours: EnvInputs[OffHoursSpec], environment: EnvInputs[EnvironmentCore], *, net: NetworkOutputs,
          cluster: ClusterOutputs, registry: RegistryOutputs, attachments: Attachments,
          file_systems: Mapping[str, FileSystemOutputs] | None = None,
          queues: Mapping[str, QueueOutputs] | None = None,
          alerts: MonitoringOutputs | None = None) -> ServiceOutputs:
    """One service's stack; `attachments`: the stores built before it, of which it applies those it `uses`;
    `file_systems`: those it may mount (`mounts`); `queues`: those a worker may scale on (`scale_on`);
    `alerts`: where its alarms notify (None: no alarms)."""
    t = stack.template
    # a worker that scales on its queue has no use for the CPU thresholds (no unused parameter: cfn-lint W2001)
    unused = CPU_SETTINGS if svc.scale_on is not None else ()
    settings = {field: env.input(stack, field) for field in env.settings if field not in unused}
    # inside the stack the service's own tag (root `<Service>ImageTag`) is simply `ImageTag`
    t.add_condition(BOOTSTRAPPING, Equals(stack.input(image_tag(svc.name), name=IMAGE_TAG_CHILD), BOOTSTRAP_TAG))
    t.add_condition(EXEC, Equals(settings["exec"], "true"))
    task = _task(app, svc, stack, net, cluster, registry, settings, attachments.of(svc),
                 service_mounts.mounts(stack, svc, file_systems or {}))
    queue_name = queues[svc.scale_on.queue].name if svc.scale_on is not None and queues else None
    kind = KINDS[svc.kind](Context(app, svc, stack, settings, net, cluster, task, off_hours, environment,
                                   queue_name=queue_name, alerts=alerts))
    return ServiceOutputs(
        task_definition_arn=stack.output("TaskDefinitionArn", Ref(task.definition),
                                         f"Task definition of {svc.name} (ARN with revision)"),
        task_role_arn=stack.output("TaskRoleArn", GetAtt(task.task_role, "Arn"), f"Task role of {svc.name}"),
        execution_role_arn=stack.output("ExecutionRoleArn", GetAtt(task.execution_role, "Arn"),
                                        f"Task execution role of {svc.name}"),
        security_group_id=stack.output("SecurityGroupId", GetAtt(task.security_group, "GroupId"),
                                       f"Security group of the {svc.name} tasks", "AWS::EC2::SecurityGroup::Id"),
        log_group_name=stack.output("LogGroupName", Ref(task.log_group), f"Container logs of {svc.name}"),
        **kind)


def secret_arn(name: str, suffix: str) -> Sub:
    """A Secrets Manager ARN without the random suffix, plus `suffix` (`-??????` in IAM, `:key::` in ValueFrom)."""
    return Sub(f"arn:${{AWS::Partition}}:secretsmanager:${{AWS::Region}}:${{AWS::AccountId}}:secret:{name}{suffix}")


def _task(app: AppSpec, svc: ServiceSpec, stack: StackBuilder, net: NetworkOutputs, cluster: ClusterOutputs,
          registry: RegistryOutputs, settings: dict, uses: list[Use], mounted: service_mounts.Mounts) -> Task:
    repository = registry.repositories[svc.name]
    log_group = stack.add(logs.LogGroup(
        "LogGroup", LogGroupName=naming.log_group_name(naming.SERVICE_LOGS, svc.name),
        RetentionInDays=settings["log_retention_days"], KmsKeyId=stack.input(net.logs_key_arn)))
    secret_names = sorted({ref.partition(":")[0] for c in sidecars.containers(svc) for ref in c.secrets.values()})
    granted = uses + mounted.uses   # a mount's grant and ingress are applied like a store's
    execution_role = stack.add(iam.Role(
        "ExecutionRole", AssumeRolePolicyDocument=assume_role("ecs-tasks.amazonaws.com"),
        Policies=[iam.Policy(PolicyName="start-tasks", PolicyDocument=task_execution(
            stack.input(repository.arn), GetAtt(log_group, "Arn"),
            [secret_arn(n, "-??????") for n in secret_names] + service_uses.secret_arns(stack, uses),
            sidecars.private_repository_arns(svc)))]))
    exec_policy = iam.Policy(PolicyName="ecs-exec", PolicyDocument=exec_channels())
    uses_policy = service_uses.policy(stack, granted)
    task_role = stack.add(iam.Role(
        "TaskRole", AssumeRolePolicyDocument=assume_role("ecs-tasks.amazonaws.com"),
        Policies=[uses_policy, If(EXEC, exec_policy, NoValue)] if uses_policy else If(EXEC, [exec_policy], NoValue)))
    security_group = stack.add(_security_group(svc, stack, net, cluster))
    service_uses.ingress_rules(stack, granted, svc.name, security_group)
    family = naming.physical_name(svc.name)
    definition = stack.add(ecs.TaskDefinition(
        "TaskDefinition", Family=family, Cpu=str(svc.cpu), Memory=str(svc.memory), NetworkMode="awsvpc",
        RequiresCompatibilities=["FARGATE"], ExecutionRoleArn=GetAtt(execution_role, "Arn"),
        TaskRoleArn=GetAtt(task_role, "Arn"),
        ContainerDefinitions=[_container(app, svc, stack, repository, log_group, uses, mounted.mount_points),
                              *(_sidecar(svc, side, stack, repository, log_group) for side in svc.sidecars)],
        **({"Volumes": mounted.volumes} if mounted.volumes else {}),
        **({"EphemeralStorage": ecs.EphemeralStorage(SizeInGiB=svc.ephemeral_storage_gib)}
           if svc.ephemeral_storage_gib else {})))
    return Task(definition, family, sidecars.ingress(svc)[0], execution_role, task_role, security_group, log_group)


def _container(app: AppSpec, svc: ServiceSpec, stack: StackBuilder, repository, log_group, uses: list[Use],
               mount_points: list[ecs.MountPoint]) -> ecs.ContainerDefinition:
    props: dict = {
        "Name": svc.name, "Essential": True,
        "Image": Sub("${Uri}:${ImageTag}", Uri=stack.input(repository.uri)),
        "LogConfiguration": _logs(svc, log_group),
    }
    if svc.port:
        props["PortMappings"] = [ecs.PortMapping(ContainerPort=svc.port, Protocol="tcp")]
    if svc.command:
        props["Command"] = list(svc.command)
    per_env, overridden = service_variables.container_environment(app, svc, stack)
    environment = [ecs.Environment(Name=k, Value=_environment_value(v, stack)) for k, v in sorted(svc.environment.items())
                   if k not in overridden]
    environment += [per_env[k] for k in sorted(per_env)]
    environment += service_uses.environment(stack, uses)
    if environment:
        props["Environment"] = environment
    secrets = [ecs.Secret(Name=k, ValueFrom=_value_from(ref)) for k, ref in sorted(svc.secrets.items())]
    secrets += service_uses.secrets(stack, uses)
    if secrets:
        props["Secrets"] = secrets
    if mount_points:
        props["MountPoints"] = mount_points
    props.update(_health_check(svc, svc.name))
    return ecs.ContainerDefinition(**props)


def _sidecar(svc: ServiceSpec, side: SidecarSpec, stack: StackBuilder, repository,
             log_group) -> ecs.ContainerDefinition:
    """A sidecar: its image as given, or built into the service's repository (tagged `<ImageTag>-<sidecar>`, from
    the same parameter as the main container's, so a release moves both), its own variables and secrets (read with
    the task's execution role), its logs in the service's log group (streams `<service>/<sidecar>/<task id>`), the
    task's network (localhost)."""
    image = side.image if side.image is not None else \
        Sub(f"${{Uri}}:${{ImageTag}}{sidecars.built_tag_suffix(side.name)}", Uri=stack.input(repository.uri))
    props: dict = {"Name": side.name, "Essential": side.essential, "Image": image,
                   "LogConfiguration": _logs(svc, log_group)}
    if side.port:
        props["PortMappings"] = [ecs.PortMapping(ContainerPort=side.port, Protocol="tcp")]
    if side.command:
        props["Command"] = list(side.command)
    if side.environment:
        props["Environment"] = [ecs.Environment(Name=k, Value=_environment_value(v, stack))
                                for k, v in sorted(side.environment.items())]
    if side.secrets:
        props["Secrets"] = [ecs.Secret(Name=k, ValueFrom=_value_from(ref)) for k, ref in sorted(side.secrets.items())]
    if side.depends_on:
        props["DependsOn"] = [ecs.ContainerDependency(ContainerName=d.container, Condition=d.condition)
                                  for d in side.depends_on]
    if side.cpu is not None:
        props["Cpu"] = side.cpu
    if side.memory is not None:
        props["Memory"] = side.memory
    props.update(_health_check(svc, side.name))
    return ecs.ContainerDefinition(**props)


def _logs(svc: ServiceSpec, log_group) -> ecs.LogConfiguration:
    """Every container of the task logs to the service's log group under the service's prefix; awslogs names each
    stream `<prefix>/<container>/<task id>`, so each container has streams of its own."""
    return ecs.LogConfiguration(LogDriver="awslogs", Options={
        "awslogs-group": Ref(log_group), "awslogs-region": Ref("AWS::Region"), "awslogs-stream-prefix": svc.name,
        # a full log buffer drops lines instead of blocking the application
        "mode": "non-blocking", "max-buffer-size": "25m"})


def _health_check(svc: ServiceSpec, container: str) -> dict:
    command = sidecars.health_check(svc, container)
    if not command:
        return {}
    return {"HealthCheck": ecs.HealthCheck(Command=command, Interval=30, Timeout=5, Retries=3, StartPeriod=60)}


def _environment_value(value: str, stack: StackBuilder | None = None):
    """`${Application}`, `${EnvironmentName}` and `${AWS::...}` are filled in per environment (a config rule allows only
    those, and `${!Name}` for the text `${Name}`). A value with only the latter becomes that text, joined at each `$`
    so that no `${...}` is left for cfn-lint to take for a reference outside a Sub (E1029)."""
    if "${" not in value:
        return value
    outputs = service_variables.OUTPUT_PATTERN.findall(value)
    if outputs and stack is not None:
        # `${output:Name}` -> `${Name}`, a Sub variable fed by the child parameter that carries that stack output
        text = service_variables.OUTPUT_PATTERN.sub(lambda m: "${" + m.group(1) + "}", value)
        return Sub(text, **{name: stack.input(service_variables.output_source(name)) for name in outputs})
    if re.search(r"\$\{(?!!)", value):
        return Sub(value)
    return Join("$", value.replace("${!", "${").split("$"))


def _value_from(ref: str) -> Sub:
    """`name:key` -> `arn:...:secret:name:key::` (JSON key, current version); `name` -> the whole secret string."""
    name, _, key = ref.partition(":")
    return secret_arn(name, f":{key}::" if key else "")


def health_check_command(svc: ServiceSpec) -> list[str]:
    """The main container's health check (sidecars.health_check): as given, or on a web service whose load balancer
    targets it, a probe of `health_check_path` on `port`."""
    return sidecars.health_check(svc, svc.name)


def _security_group(svc: ServiceSpec, stack: StackBuilder, net: NetworkOutputs,
                    cluster: ClusterOutputs) -> ec2.SecurityGroup:
    ingress = []
    if svc.kind == "web":
        container, port = sidecars.ingress(svc)
        ingress.append(ec2.SecurityGroupRule(
            IpProtocol="tcp", FromPort=port, ToPort=port,
            SourceSecurityGroupId=stack.input(cluster.load_balancer_security_group_id),
            Description=f"From the load balancer to the {container} container port"))
    return ec2.SecurityGroup(
        "SecurityGroup", GroupDescription=f"{svc.name} tasks", VpcId=stack.input(net.vpc_id),
        **({"SecurityGroupIngress": ingress} if ingress else {}),
        SecurityGroupEgress=[
            ec2.SecurityGroupRule(IpProtocol="tcp", FromPort=HTTPS, ToPort=HTTPS, CidrIp="0.0.0.0/0",
                                  Description="HTTPS: ECR, Secrets Manager, CloudWatch Logs, external APIs"),
            ec2.SecurityGroupRule(IpProtocol="tcp", FromPort=0, ToPort=65535, CidrIp=stack.input(net.vpc_cidr),
                                  Description="Anything inside the VPC: database, caches, other services"),
        ])
