"""Scaling of a web service or worker: step scaling on CPU between a minimum and a maximum, optional request-count
target tracking (web), and off-hours scheduled actions outside production.

Application Auto Scaling owns the task count. A worker states a DesiredCount only while bootstrapping (0); a web
(CODE_DEPLOY) service states a constant 0 and is never updated by the stack after its creation. Either way a stack
update never resets the count autoscaling chose: "anytime ... the RegisterScalableTarget API is called, Application
Auto Scaling retrieves the current capacity and compares it to the minimum and maximum capacity. If it falls
outside of the minimum-maximum range, then the capacity is updated" (Application Auto Scaling user guide,
Concepts, https://docs.aws.amazon.com/autoscaling/application/userguide/getting-started.html). CloudFormation
registers the target when it is created and when its own properties change, e.g. a new MinCount or MaxCount, or
the first release leaving bootstrap ([0, 0] -> [MinCount, MaxCount]).
"""
from __future__ import annotations

from troposphere import And, Condition, Equals, GetAtt, If, Join, Not, NoValue, Ref
from troposphere import applicationautoscaling as aas
from troposphere import cloudwatch, ecs, elasticloadbalancingv2 as elbv2

from generator.components.service.common import BOOTSTRAPPING, OFF_HOURS, REQUEST_SCALING, Context
from generator.components.service.uses import wire

MINUTE = 60


def build(ctx: Context, service: ecs.Service,
          target_groups: tuple[elbv2.TargetGroup, elbv2.TargetGroup] | None = None) -> aas.ScalableTarget:
    s, stack = ctx.settings, ctx.stack
    stack.template.add_condition(OFF_HOURS, And(
        Equals(ctx.environment.input(stack, "production"), "false"),
        Not(Equals(ctx.off_hours.input(stack, "stop"), "")),
        Not(Condition(BOOTSTRAPPING))))
    target = stack.add(aas.ScalableTarget(
        "ScalableTarget", ServiceNamespace="ecs", ScalableDimension="ecs:service:DesiredCount",
        ResourceId=Join("/", ["service", ctx.cluster_name(), GetAtt(service, "Name")]),
        MinCapacity=If(BOOTSTRAPPING, 0, s["min_count"]), MaxCapacity=If(BOOTSTRAPPING, 0, s["max_count"]),
        ScheduledActions=If(OFF_HOURS, _off_hours(ctx), NoValue)))
    if ctx.svc.scale_on is not None:
        _queue_steps(ctx, service, target)
    else:
        _cpu_steps(ctx, service, target)
    if target_groups is not None:
        _requests(ctx, target, target_groups)
    return target


def _off_hours(ctx: Context) -> list[aas.ScheduledAction]:
    """Evening: nothing may run; morning: back to the environment's range. Both in the environment's time zone."""
    zone, s = ctx.off_hours.input(ctx.stack, "timezone"), ctx.settings
    return [
        aas.ScheduledAction(ScheduledActionName="off-hours-stop", Schedule=ctx.off_hours.input(ctx.stack, "stop"),
                            Timezone=zone, ScalableTargetAction=aas.ScalableTargetAction(MinCapacity=0, MaxCapacity=0)),
        aas.ScheduledAction(ScheduledActionName="off-hours-start", Schedule=ctx.off_hours.input(ctx.stack, "start"),
                            Timezone=zone, ScalableTargetAction=aas.ScalableTargetAction(
                                MinCapacity=s["min_count"], MaxCapacity=s["max_count"])),
    ]


def _cpu_steps(ctx: Context, service: ecs.Service, target: aas.ScalableTarget) -> None:
    """Above CpuScaleOut for 3 minutes: +1 task (+2 when 15 points above); below CpuScaleIn for 15 minutes: -1."""
    s, stack = ctx.settings, ctx.stack
    scale_out = stack.add(aas.ScalingPolicy(
        "CpuScaleOutPolicy", PolicyName="cpu-scale-out", PolicyType="StepScaling", ScalingTargetId=Ref(target),
        StepScalingPolicyConfiguration=aas.StepScalingPolicyConfiguration(
            AdjustmentType="ChangeInCapacity", Cooldown=MINUTE, MetricAggregationType="Average",
            StepAdjustments=[
                aas.StepAdjustment(MetricIntervalLowerBound=0, MetricIntervalUpperBound=15, ScalingAdjustment=1),
                aas.StepAdjustment(MetricIntervalLowerBound=15, ScalingAdjustment=2)])))
    scale_in = stack.add(aas.ScalingPolicy(
        "CpuScaleInPolicy", PolicyName="cpu-scale-in", PolicyType="StepScaling", ScalingTargetId=Ref(target),
        StepScalingPolicyConfiguration=aas.StepScalingPolicyConfiguration(
            AdjustmentType="ChangeInCapacity", Cooldown=5 * MINUTE, MetricAggregationType="Average",
            StepAdjustments=[aas.StepAdjustment(MetricIntervalUpperBound=0, ScalingAdjustment=-1)])))
    dimensions = [cloudwatch.MetricDimension(Name="ClusterName", Value=ctx.cluster_name()),
                  cloudwatch.MetricDimension(Name="ServiceName", Value=GetAtt(service, "Name"))]
    for title, policy, threshold, operator, minutes, word in (
            ("CpuHighAlarm", scale_out, s["cpu_scale_out"], "GreaterThanThreshold", 3, "above"),
            ("CpuLowAlarm", scale_in, s["cpu_scale_in"], "LessThanThreshold", 15, "below")):
        stack.add(cloudwatch.Alarm(
            title, AlarmDescription=f"{ctx.svc.name}: average CPU {word} the threshold for {minutes} minutes "
                                    f"(drives {policy.title})",
            Namespace="AWS/ECS", MetricName="CPUUtilization", Dimensions=dimensions, Statistic="Average",
            Period=MINUTE, EvaluationPeriods=minutes, DatapointsToAlarm=minutes, Threshold=threshold,
            ComparisonOperator=operator, AlarmActions=[Ref(policy)],
            # no tasks (scaled to zero, bootstrapping) means no metric: neither add nor remove tasks
            TreatMissingData="notBreaching"))


def _requests(ctx: Context, target: aas.ScalableTarget, target_groups) -> None:
    """Requests per task, summed over both target groups: CodeDeploy moves traffic between them on every release,
    so tracking one target group (the predefined ALBRequestCountPerTarget) would see zero half of the time."""
    s, stack = ctx.settings, ctx.stack
    stack.template.add_condition(REQUEST_SCALING, Not(Equals(s["requests_per_target"], "0")))
    balancer = stack.input(ctx.cluster.load_balancer_full_name)

    def per_target(query_id: str, group: elbv2.TargetGroup) -> aas.TargetTrackingMetricDataQuery:
        return aas.TargetTrackingMetricDataQuery(Id=query_id, ReturnData=False, MetricStat=aas.TargetTrackingMetricStat(
            Stat="Sum", Metric=aas.TargetTrackingMetric(
                Namespace="AWS/ApplicationELB", MetricName="RequestCountPerTarget", Dimensions=[
                    aas.TargetTrackingMetricDimension(Name="LoadBalancer", Value=balancer),
                    aas.TargetTrackingMetricDimension(Name="TargetGroup",
                                                      Value=GetAtt(group, "TargetGroupFullName"))])))

    blue, green = target_groups
    stack.add(aas.ScalingPolicy(
        "RequestCountPolicy", Condition=REQUEST_SCALING, PolicyName="requests-per-task",
        PolicyType="TargetTrackingScaling", ScalingTargetId=Ref(target),
        TargetTrackingScalingPolicyConfiguration=aas.TargetTrackingScalingPolicyConfiguration(
            TargetValue=s["requests_per_target"], ScaleOutCooldown=MINUTE, ScaleInCooldown=5 * MINUTE,
            CustomizedMetricSpecification=aas.CustomizedMetricSpecification(Metrics=[
                per_target("blue", blue), per_target("green", green),
                aas.TargetTrackingMetricDataQuery(Id="requests", Expression="FILL(blue, 0) + FILL(green, 0)",
                                                  Label="Requests per task, both target groups", ReturnData=True),
            ]))))


def _queue_steps(ctx: Context, service: ecs.Service, target: aas.ScalableTarget) -> None:
    """A worker with `scale_on`: the backlog per running task (messages visible, divided by RunningTaskCount from
    Container Insights) against `messages_per_task`. Above it for 2 minutes: +1 task (+2 at twice the backlog, +4 at
    five times); with no task running, any visible message counts as above it, so a worker at zero starts. The
    messages waiting or in flight per task below half of it for 15 minutes: -1 task, down to `min_count` (0 where the
    environment sets it). Workers finish their message after SIGTERM (ECS's stopTimeout) or it returns to the queue."""
    stack, per_task = ctx.stack, ctx.svc.scale_on.messages_per_task
    queue = wire(stack, ctx.queue_name)   # `<QueueStack>QueueName`, as for a store it uses

    def sqs(query_id: str, metric: str) -> cloudwatch.MetricDataQuery:
        return cloudwatch.MetricDataQuery(Id=query_id, ReturnData=False, MetricStat=cloudwatch.MetricStat(
            Period=MINUTE, Stat="Maximum", Metric=cloudwatch.Metric(
                Namespace="AWS/SQS", MetricName=metric,
                Dimensions=[cloudwatch.MetricDimension(Name="QueueName", Value=queue)])))

    running = cloudwatch.MetricDataQuery(Id="running", ReturnData=False, MetricStat=cloudwatch.MetricStat(
        Period=MINUTE, Stat="Average", Metric=cloudwatch.Metric(
            Namespace="ECS/ContainerInsights", MetricName="RunningTaskCount", Dimensions=[
                cloudwatch.MetricDimension(Name="ClusterName", Value=ctx.cluster_name()),
                cloudwatch.MetricDimension(Name="ServiceName", Value=GetAtt(service, "Name"))])))
    tasks = "FILL(running, 0)"
    at_least_one = f"IF({tasks} < 1, 1, {tasks})"   # never a division by zero, whichever branch IF takes
    out_expression = f"IF({tasks} < 1, (visible > 0) * {per_task + 1}, visible / {at_least_one})"
    in_expression = f"(visible + inflight) / {at_least_one}"
    scale_out = stack.add(aas.ScalingPolicy(
        "QueueScaleOutPolicy", PolicyName="queue-scale-out", PolicyType="StepScaling", ScalingTargetId=Ref(target),
        StepScalingPolicyConfiguration=aas.StepScalingPolicyConfiguration(
            AdjustmentType="ChangeInCapacity", Cooldown=MINUTE, MetricAggregationType="Maximum",
            StepAdjustments=[
                aas.StepAdjustment(MetricIntervalLowerBound=0, MetricIntervalUpperBound=per_task, ScalingAdjustment=1),
                aas.StepAdjustment(MetricIntervalLowerBound=per_task, MetricIntervalUpperBound=4 * per_task,
                                   ScalingAdjustment=2),
                aas.StepAdjustment(MetricIntervalLowerBound=4 * per_task, ScalingAdjustment=4)])))
    scale_in = stack.add(aas.ScalingPolicy(
        "QueueScaleInPolicy", PolicyName="queue-scale-in", PolicyType="StepScaling", ScalingTargetId=Ref(target),
        StepScalingPolicyConfiguration=aas.StepScalingPolicyConfiguration(
            AdjustmentType="ChangeInCapacity", Cooldown=5 * MINUTE, MetricAggregationType="Maximum",
            StepAdjustments=[aas.StepAdjustment(MetricIntervalUpperBound=0, ScalingAdjustment=-1)])))
    name = ctx.svc.scale_on.queue
    for title, policy, expression, threshold, operator, minutes, word in (
            ("QueueBacklogHighAlarm", scale_out, out_expression, per_task, "GreaterThanThreshold", 2, "above"),
            ("QueueBacklogLowAlarm", scale_in, in_expression, per_task / 2, "LessThanThreshold", 15, "below")):
        stack.add(cloudwatch.Alarm(
            title, AlarmDescription=f"{ctx.svc.name}: messages of the {name} queue per task {word} "
                                    f"{threshold:g} for {minutes} minutes (drives {policy.title})",
            Metrics=[sqs("visible", "ApproximateNumberOfMessagesVisible"),
                     sqs("inflight", "ApproximateNumberOfMessagesNotVisible"), running,
                     cloudwatch.MetricDataQuery(Id="backlog", Expression=expression, ReturnData=True,
                                                Label=f"{name} messages per {ctx.svc.name} task")],
            EvaluationPeriods=minutes, DatapointsToAlarm=minutes, Threshold=threshold,
            ComparisonOperator=operator, AlarmActions=[Ref(policy)], TreatMissingData="notBreaching"))
