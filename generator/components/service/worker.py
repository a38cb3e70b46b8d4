"""A worker: no load balancer, released by the ECS rolling controller.

A stack update with a new ImageTag registers a new task definition revision and the service rolls to it; the
deployment circuit breaker stops a release whose tasks keep failing to start and rolls back to the last working
revision (CloudFormation then reports the update as failed and rolls the stack back too).
"""
from __future__ import annotations

from troposphere import GetAtt, If, NoValue, Ref, ecs

from generator.components.service import alarms as service_alarms
from generator.components.service import scaling as service_scaling
from generator.components.service.common import BOOTSTRAPPING, EXEC, Context, network_configuration


def build(ctx: Context) -> dict:
    svc, stack = ctx.svc, ctx.stack
    service = stack.add(ecs.Service(
        "Service", Cluster=ctx.cluster_name(), TaskDefinition=Ref(ctx.task.definition),
        DeploymentController=ecs.DeploymentController(Type="ECS"), SchedulingStrategy="REPLICA",
        DesiredCount=If(BOOTSTRAPPING, 0, NoValue),  # otherwise Application Auto Scaling owns the count
        DeploymentConfiguration=ecs.DeploymentConfiguration(
            MinimumHealthyPercent=100, MaximumPercent=200,
            DeploymentCircuitBreaker=ecs.DeploymentCircuitBreaker(Enable=True, Rollback=True)),
        NetworkConfiguration=network_configuration(ctx),
        EnableExecuteCommand=If(EXEC, True, False), EnableECSManagedTags=True, PropagateTags="SERVICE",
        **_capacity(ctx)))
    service_scaling.build(ctx, service)
    service_alarms.service(ctx, service)
    return {"service_name": stack.output("ServiceName", GetAtt(service, "Name"), f"ECS service name of {svc.name}", public=True)}


def _capacity(ctx: Context) -> dict:
    """The cluster's FARGATE/FARGATE_SPOT weights, stated on the service so that a changed spot share reaches it
    (ECS copies the cluster default into a service only when the service is created)."""
    cluster = ctx.cluster
    if cluster.fargate_weight is None or cluster.fargate_spot_weight is None:
        return {}
    return {"CapacityProviderStrategy": [
        ecs.CapacityProviderStrategyItem(CapacityProvider=provider, Weight=ctx.stack.input(weight))
        for provider, weight in (("FARGATE", cluster.fargate_weight), ("FARGATE_SPOT", cluster.fargate_spot_weight))]}
