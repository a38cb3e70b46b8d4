"""A web service: behind the load balancer, released blue/green by CodeDeploy.

Who owns what (aws-reference §1a, docs/services.md): the stack creates the service, its two target groups, the
listener rules and the deployment group; CodeDeploy owns which task definition revision runs, which target group
takes traffic and the service's load balancer and network settings after creation. So the service names the task
definition *family* (a new revision never changes the service resource), its only load balancer entry is the
blue target group it starts with, and no property of it depends on a parameter an environment changes
routinely (image tag, counts, settings, Owner): after creation CloudFormation never updates the service at all.
That is stricter than UpdateService's rule (which accepts a new desired count or grace period on a CODE_DEPLOY
service) because CloudFormation's ECS handler sends every property, the task definition included, with any update
of the resource, which ECS rejects (cloudformation-coverage-roadmap#1529), and would reset the task count.
Project rule E9019 and tests/test_codedeploy_invariance.py hold the line.
"""
from __future__ import annotations

from troposphere import Equals, GetAtt, If, Not, Ref, Sub, cloudwatch, codedeploy, ecs, iam
from troposphere import elasticloadbalancingv2 as elbv2

from typing import TYPE_CHECKING

from generator import naming
from generator.components.monitoring import describe
from generator.components.service import alarms as service_alarms
from generator.components.service import scaling as service_scaling
from generator.components.service.common import APPROVAL, Context, network_configuration
from generator.components.service.sidecars import ingress
from generator.components.service.spec import CATCH_ALL_PRIORITY
from generator.policies import assume_role

if TYPE_CHECKING:
    from generator.config import ServiceSpec

MINUTE = 60


def build(ctx: Context) -> dict:
    svc, stack, task = ctx.svc, ctx.stack, ctx.task
    vpc = stack.input(ctx.net.vpc_id)
    blue = stack.add(_target_group("BlueTargetGroup", svc, vpc))
    green = stack.add(_target_group("GreenTargetGroup", svc, vpc))
    rules = [stack.add(_listener_rule(title, stack.input(listener), svc, blue)) for title, listener in (
        ("ProductionRule", ctx.cluster.production_listener_arn), ("TestRule", ctx.cluster.test_listener_arn))]
    service = stack.add(ecs.Service(
        "Service", Cluster=ctx.cluster_name(), TaskDefinition=task.family,
        DeploymentController=ecs.DeploymentController(Type="CODE_DEPLOY"), SchedulingStrategy="REPLICA",
        # A constant: the stack creates the service with no tasks (bootstrap has no image yet) and never updates
        # it; Application Auto Scaling moves the count into [MinCount, MaxCount] whenever the scalable target is
        # registered (scaling.py), at creation and at the first release.
        DesiredCount=0,
        LoadBalancers=[ecs.LoadBalancer(ContainerName=task.container, ContainerPort=ingress(svc)[1],
                                        TargetGroupArn=Ref(blue))],
        NetworkConfiguration=network_configuration(ctx), HealthCheckGracePeriodSeconds=MINUTE,
        # Fixed at creation (UpdateService cannot change it on CODE_DEPLOY services); whether ECS Exec works is
        # decided per environment by the task role's ssmmessages permissions (the ExecEnabled condition).
        EnableExecuteCommand=True, EnableECSManagedTags=True, PropagateTags="SERVICE",
        # A family name does not order the service after its task definition; the rules must exist before
        # CreateService registers tasks in their target group.
        DependsOn=[task.definition, *rules]))
    service_scaling.build(ctx, service, (blue, green))
    rollback = _rollback_alarms(ctx, blue, green)
    application, group = _codedeploy(ctx, service, blue, green, rollback)
    if ctx.alerts is not None:   # the latency alarm only notifies: without monitoring it would only add parameters
        service_alarms.service(ctx, service, [*rollback, service_alarms.web_latency(ctx, blue, green)])
    return {
        "service_name": stack.output("ServiceName", GetAtt(service, "Name"), f"ECS service name of {svc.name}", public=True),
        "codedeploy_application": stack.output("CodeDeployApplication", Ref(application),
                                               f"CodeDeploy application of {svc.name}"),
        "deployment_group": stack.output("DeploymentGroup", Ref(group), f"CodeDeploy deployment group of {svc.name}"),
    }


def _target_group(title: str, svc: ServiceSpec, vpc) -> elbv2.TargetGroup:
    """IP targets (awsvpc). Unnamed: CloudFormation generates a name within the 32-character limit. Both groups get
    the same stickiness, so a release that moves traffic to the other group keeps clients pinned there too."""
    attributes = [elbv2.TargetGroupAttribute(Key="deregistration_delay.timeout_seconds", Value="30")]
    sticky = svc.routing.stickiness if svc.routing is not None else None
    if sticky is not None:
        attributes += [elbv2.TargetGroupAttribute(Key="stickiness.enabled", Value="true"),
                       elbv2.TargetGroupAttribute(Key="stickiness.type", Value="lb_cookie"),
                       elbv2.TargetGroupAttribute(Key="stickiness.lb_cookie.duration_seconds",
                                                  Value=str(sticky.duration_seconds))]
    return elbv2.TargetGroup(
        title, TargetType="ip", Protocol="HTTP", Port=ingress(svc)[1], VpcId=vpc,
        HealthCheckProtocol="HTTP", HealthCheckPath=svc.health_check_path, Matcher=elbv2.Matcher(HttpCode="200-399"),
        HealthCheckIntervalSeconds=15, HealthCheckTimeoutSeconds=5, HealthyThresholdCount=2,
        UnhealthyThresholdCount=3,
        TargetGroupAttributes=attributes)


def _listener_rule(title: str, listener, svc: ServiceSpec, group: elbv2.TargetGroup) -> elbv2.ListenerRule:
    """The same conditions and priority on the production and the test listener. CodeDeploy re-points both
    actions during releases; the stack sets them only when the rule is created or its routing changes. Its tags are
    the stable ones (tagging.release_owned): a tag-only update would send the template's action (the blue target
    group) again and move production traffic to whichever group is idle."""
    routing = svc.routing
    conditions = []
    if routing is None or routing.path_patterns:
        paths = routing.path_patterns if routing else ["/*"]
        conditions.append(elbv2.Condition(Field="path-pattern", PathPatternConfig=elbv2.PathPatternConfig(
            Values=list(paths))))
    if routing is not None and routing.hosts:
        conditions.append(elbv2.Condition(Field="host-header", HostHeaderConfig=elbv2.HostHeaderConfig(
            Values=list(routing.hosts))))
    return elbv2.ListenerRule(
        title, ListenerArn=listener, Priority=routing.priority if routing else CATCH_ALL_PRIORITY,
        Conditions=conditions, Actions=[elbv2.ListenerRuleAction(Type="forward", TargetGroupArn=Ref(group))])


def _rollback_alarms(ctx: Context, blue: elbv2.TargetGroup, green: elbv2.TargetGroup) -> list[cloudwatch.Alarm]:
    """Watched by CodeDeploy during a release (a breach stops and rolls it back). Each adds up both target groups,
    since a release moves traffic from one to the other; no requests or no tasks is not a breach."""
    balancer = ctx.stack.input(ctx.cluster.load_balancer_full_name)

    def metric(query_id: str, name: str, stat: str, group: elbv2.TargetGroup) -> cloudwatch.MetricDataQuery:
        return cloudwatch.MetricDataQuery(Id=query_id, ReturnData=False, MetricStat=cloudwatch.MetricStat(
            Stat=stat, Period=MINUTE, Metric=cloudwatch.Metric(
                Namespace="AWS/ApplicationELB", MetricName=name, Dimensions=[
                    cloudwatch.MetricDimension(Name="LoadBalancer", Value=balancer),
                    cloudwatch.MetricDimension(Name="TargetGroup", Value=GetAtt(group, "TargetGroupFullName"))])))

    requests = "(FILL(r1, 0) + FILL(r2, 0))"
    limits = service_alarms.thresholds(ctx)
    errors = ctx.stack.add(cloudwatch.Alarm(
        "ErrorRateAlarm", AlarmDescription=describe(limits, ctx.stack, f"{ctx.svc.name}: over {{error_rate_percent}}% "
                                                    "of requests answered 5xx by the tasks for 2 minutes (minutes "
                                                    "with at least 20 requests); rolls a release back"),
        Metrics=[metric("e1", "HTTPCode_Target_5XX_Count", "Sum", blue),
                 metric("e2", "HTTPCode_Target_5XX_Count", "Sum", green),
                 metric("r1", "RequestCount", "Sum", blue), metric("r2", "RequestCount", "Sum", green),
                 cloudwatch.MetricDataQuery(
                     Id="rate", Label="5xx % of requests", ReturnData=True,
                     Expression=f"IF({requests} >= 20, 100 * (FILL(e1, 0) + FILL(e2, 0)) / {requests}, 0)")],
        EvaluationPeriods=2, DatapointsToAlarm=2, Threshold=limits.input(ctx.stack, "error_rate_percent"),
        ComparisonOperator="GreaterThanThreshold",
        TreatMissingData="notBreaching"))
    unhealthy = ctx.stack.add(cloudwatch.Alarm(
        "UnhealthyTasksAlarm", AlarmDescription=f"{ctx.svc.name}: a task failed the load balancer health check for "
                                                "3 minutes; rolls a release back",
        Metrics=[metric("u1", "UnHealthyHostCount", "Maximum", blue),
                 metric("u2", "UnHealthyHostCount", "Maximum", green),
                 cloudwatch.MetricDataQuery(Id="unhealthy", Label="Unhealthy tasks", ReturnData=True,
                                            Expression="FILL(u1, 0) + FILL(u2, 0)")],
        EvaluationPeriods=3, DatapointsToAlarm=3, Threshold=0, ComparisonOperator="GreaterThanThreshold",
        TreatMissingData="notBreaching"))
    return [errors, unhealthy]


def _codedeploy(ctx: Context, service: ecs.Service, blue: elbv2.TargetGroup, green: elbv2.TargetGroup,
                alarms: list[cloudwatch.Alarm]) -> tuple[codedeploy.Application, codedeploy.DeploymentGroup]:
    svc, stack, s = ctx.svc, ctx.stack, ctx.settings
    stack.template.add_condition(APPROVAL, Not(Equals(s["wait_for_approval_minutes"], "0")))
    application = stack.add(codedeploy.Application(
        "CodeDeployApplication", ApplicationName=naming.physical_name(svc.name), ComputePlatform="ECS"))
    role = stack.add(iam.Role(
        "CodeDeployRole", AssumeRolePolicyDocument=assume_role("codedeploy.amazonaws.com"),
        # The managed policy AWS maintains for ECS blue/green (as CDK attaches it). Its ecs/elasticloadbalancing
        # actions are not resource-scoped, and it passes any role to ecs-tasks; the Limited variant would only
        # pass roles named ecsTaskExecutionRole/ECSTaskExecution*, which ours are not (generated names).
        ManagedPolicyArns=[Sub("arn:${AWS::Partition}:iam::aws:policy/AWSCodeDeployRoleForECS")]))
    group = stack.add(codedeploy.DeploymentGroup(
        "DeploymentGroup", ApplicationName=Ref(application), DeploymentGroupName=naming.physical_name(svc.name),
        ServiceRoleArn=GetAtt(role, "Arn"), DeploymentConfigName=s["deployment_config"],
        DeploymentStyle=codedeploy.DeploymentStyle(DeploymentType="BLUE_GREEN",
                                                   DeploymentOption="WITH_TRAFFIC_CONTROL"),
        ECSServices=[codedeploy.ECSService(ClusterName=ctx.cluster_name(), ServiceName=GetAtt(service, "Name"))],
        LoadBalancerInfo=codedeploy.LoadBalancerInfo(TargetGroupPairInfoList=[codedeploy.TargetGroupPairInfo(
            TargetGroups=[codedeploy.TargetGroupInfo(Name=GetAtt(blue, "TargetGroupName")),
                          codedeploy.TargetGroupInfo(Name=GetAtt(green, "TargetGroupName"))],
            ProdTrafficRoute=codedeploy.TrafficRoute(ListenerArns=[stack.input(ctx.cluster.production_listener_arn)]),
            TestTrafficRoute=codedeploy.TrafficRoute(ListenerArns=[stack.input(ctx.cluster.test_listener_arn)]))]),
        BlueGreenDeploymentConfiguration=codedeploy.BlueGreenDeploymentConfiguration(
            DeploymentReadyOption=codedeploy.DeploymentReadyOption(
                ActionOnTimeout=If(APPROVAL, "STOP_DEPLOYMENT", "CONTINUE_DEPLOYMENT"),
                WaitTimeInMinutes=If(APPROVAL, s["wait_for_approval_minutes"], 0)),
            TerminateBlueInstancesOnDeploymentSuccess=codedeploy.BlueInstanceTerminationOption(
                Action="TERMINATE", TerminationWaitTimeInMinutes=s["termination_wait_minutes"])),
        AutoRollbackConfiguration=codedeploy.AutoRollbackConfiguration(
            Enabled=True, Events=["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]),
        AlarmConfiguration=codedeploy.AlarmConfiguration(
            Enabled=True, Alarms=[codedeploy.Alarm(Name=Ref(alarm)) for alarm in alarms])))
    return application, group
