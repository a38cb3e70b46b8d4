"""A service's alarms (docs/monitoring.md): what tells people that a service is in trouble, one composite alarm per
service notifying the environment's alert topic (`MonitoringOutputs.watch`).

Every service with an ECS service (web, worker): CPU and memory above `monitoring.*_percent` in
`breaching_minutes` of `sustained_minutes` one-minute datapoints (AWS/ECS; by default every one breaching); ephemeral
storage used as a share of what the tasks have, above `disk_percent` for 15 minutes (Container Insights: EphemeralStorageUtilized /
EphemeralStorageReserved); tasks that stopped because their essential container exited, failed to start or failed a
health check, in two of three five-minute windows (ECS task state-change events matched by an EventBridge rule,
counted by the rule's AWS/Events MatchedEvents metric); fewer running tasks than desired for 15 minutes (Container
Insights RunningTaskCount vs DesiredTaskCount: desired follows autoscaling and off-hours, so a service stopped at
night is not an incident). Web services add the p99 response time and reuse the two release-rollback alarms (5xx
rate, unhealthy targets in either target group). Cron jobs: a failed, timed-out or aborted run, and a start the
schedule could not deliver (anything in its dead-letter queue).

Thresholds and the CPU/memory/latency window are environment-wide root parameters (`Alarm<Field>`, the environment's
`alerts.thresholds` or `monitoring:`): the alarms Ref them, so every environment has the same template.
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING

from troposphere import GetAtt, Ref, Sub, cloudwatch, ecs, events, sqs, stepfunctions
from troposphere import elasticloadbalancingv2 as elbv2

from generator import naming
from generator.components.monitoring import describe, math_alarm, metric, metric_alarm, thresholds_inputs

if TYPE_CHECKING:
    from generator.components.base import EnvInputs
    from generator.components.monitoring import MonitoringSpec
    from generator.components.service.common import Context

FIVE_MINUTES = 5
# Why a task stopped, as ECS task state-change events say it: the essential container exited (a crash, an OOM kill)
# or the task could not start (stopCode), or the scheduler replaced it after a failed health check (stoppedReason
# "Task failed ELB health checks in ..." / "Task failed container health checks"). Deployments, scale-in and Spot
# interruptions stop tasks with other codes and reasons, so they are not counted.
STOP_CODES = ("EssentialContainerExited", "TaskFailedToStart")
HEALTH_CHECK_STOP = "Task failed"


def service(ctx: Context, ecs_service: ecs.Service, extra: list[cloudwatch.Alarm] | None = None) -> None:
    """The alarms of a web service or worker, and its composite alarm."""
    if ctx.alerts is None:
        return
    svc, stack = ctx.svc, ctx.stack
    limits = thresholds(ctx)
    minutes, breaching = limits.input(stack, "sustained_minutes"), limits.input(stack, "breaching_minutes")
    where = {"ClusterName": ctx.cluster_name(), "ServiceName": GetAtt(ecs_service, "Name")}
    insights = {k: metric(n, "ECS/ContainerInsights", s, where, FIVE_MINUTES * 60)
                for k, n, s in (("used", "EphemeralStorageUtilized", "Average"),
                                ("reserved", "EphemeralStorageReserved", "Average"))}
    counts = {k: metric(n, "ECS/ContainerInsights", s, where, FIVE_MINUTES * 60)
              for k, n, s in (("desired", "DesiredTaskCount", "Minimum"), ("running", "RunningTaskCount", "Maximum"))}
    stops = stack.add(_stopped_tasks_rule(ctx, ecs_service))
    window = "in {breaching_minutes} of the last {sustained_minutes} minutes"
    alarms = [
        metric_alarm("CpuAlarm", describe(limits, stack, f"{svc.name}: average CPU above {{cpu_percent}}% {window}"),
                     "AWS/ECS", "CPUUtilization", "Average", where, threshold=limits.input(stack, "cpu_percent"),
                     minutes=1, periods=minutes, datapoints=breaching),
        metric_alarm("MemoryAlarm", describe(limits, stack, f"{svc.name}: average memory above {{memory_percent}}% "
                                                            f"{window}"),
                     "AWS/ECS", "MemoryUtilization", "Average", where, threshold=limits.input(stack, "memory_percent"),
                     minutes=1, periods=minutes, datapoints=breaching),
        math_alarm("DiskAlarm", describe(limits, stack, f"{svc.name}: tasks use over {{disk_percent}}% of their "
                                                        "ephemeral storage for 15 minutes"),
                   insights, "IF(FILL(reserved, 0) > 0, 100 * FILL(used, 0) / reserved, 0)",
                   "ephemeral storage %", threshold=limits.input(stack, "disk_percent"), periods=3),
        metric_alarm("StoppedTasksAlarm", f"{svc.name}: tasks crashed, failed to start or failed health checks in "
                                          "2 of the last 3 five-minute windows",
                     "AWS/Events", "MatchedEvents", "Sum", {"RuleName": Ref(stops)}, threshold=0,
                     minutes=FIVE_MINUTES, periods=3, datapoints=2),
        math_alarm("RunningTasksAlarm", f"{svc.name}: fewer tasks running than desired for 15 minutes", counts,
                   "FILL(desired, 0) - FILL(running, 0)", "tasks missing", threshold=0, periods=3),
        *(extra or []),
    ]
    for alarm in alarms:
        if alarm.title not in stack.template.resources:
            stack.add(alarm)
    ctx.alerts.watch(stack, svc.name, alarms, f"{svc.name} ({svc.kind}): one of its alarms is in ALARM (the "
                                               "message names which)")


def web_latency(ctx: Context, blue: elbv2.TargetGroup, green: elbv2.TargetGroup) -> cloudwatch.Alarm:
    """p99 response time of the tasks, the slower of the two target groups (one of them takes production traffic)."""
    limits, stack = thresholds(ctx), ctx.stack
    balancer = stack.input(ctx.cluster.load_balancer_full_name)
    groups = {f"l{i}": metric("TargetResponseTime", "AWS/ApplicationELB", "p99", {
        "LoadBalancer": balancer, "TargetGroup": GetAtt(group, "TargetGroupFullName")}) for i, group in
        enumerate((blue, green), 1)}
    return math_alarm("LatencyAlarm", describe(limits, stack, f"{ctx.svc.name}: p99 response time above "
                                                              "{latency_seconds} s in {breaching_minutes} of the "
                                                              "last {sustained_minutes} minutes"),
                      groups, "MAX([FILL(l1, 0), FILL(l2, 0)])", "p99 response time (s)",
                      threshold=limits.input(stack, "latency_seconds"),
                      periods=limits.input(stack, "sustained_minutes"),
                      datapoints=limits.input(stack, "breaching_minutes"))


def thresholds(ctx: Context) -> EnvInputs[MonitoringSpec]:
    """The environment-wide threshold parameters (the monitoring stack's; the rollback alarms need them even when
    a test builds a service without monitoring)."""
    return ctx.alerts.thresholds if ctx.alerts is not None else thresholds_inputs(ctx.app)


def cron(ctx: Context, machine: stepfunctions.StateMachine, queue: sqs.Queue) -> None:
    """A cron job's alarms: a run failed, timed out or was aborted; a start could not be delivered. Each is one
    event, so one five-minute window suffices (a daily job offers no second datapoint)."""
    if ctx.alerts is None:
        return
    svc, stack = ctx.svc, ctx.stack
    runs = {k: metric(k, "AWS/States", "Sum", {"StateMachineArn": Ref(machine)}, FIVE_MINUTES * 60)
            for k in ("ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted")}
    alarms = [
        stack.add(math_alarm("FailedRunsAlarm", f"{svc.name}: a run failed, timed out or was aborted",
                             {k.lower(): m for k, m in runs.items()},
                             "FILL(executionsfailed, 0) + FILL(executionstimedout, 0) + FILL(executionsaborted, 0)",
                             "failed runs", threshold=0, periods=1)),
        stack.add(metric_alarm("UndeliveredStartsAlarm", f"{svc.name}: the schedule could not start a run (see its "
                                                         "dead-letter queue)", "AWS/SQS",
                               "ApproximateNumberOfMessagesVisible", "Maximum",
                               {"QueueName": GetAtt(queue, "QueueName")}, threshold=0, minutes=FIVE_MINUTES,
                               periods=1)),
    ]
    ctx.alerts.watch(stack, svc.name, alarms, f"{svc.name} (cron): a run failed or could not start (the message "
                                               "names which)")


def _stopped_tasks_rule(ctx: Context, ecs_service: ecs.Service) -> events.Rule:
    """Matches the service's tasks stopping for a failure (STOP_CODES, HEALTH_CHECK_STOP). No target: the rule exists
    for its MatchedEvents metric (AWS/Events, dimension RuleName). Named `<app>-<env>-<service>` (at most 62 of the
    64 characters a rule name may have) so the environment role's grant on `rule/<app>-<env>-*` covers it."""
    pattern = {
        "source": ["aws.ecs"], "detail-type": ["ECS Task State Change"],
        "detail": {"clusterArn": ["${Cluster}"], "group": ["service:${Service}"], "lastStatus": ["STOPPED"],
                   "$or": [{"stopCode": list(STOP_CODES)}, {"stoppedReason": [{"prefix": HEALTH_CHECK_STOP}]}]}}
    return events.Rule(
        "StoppedTasksRule", Name=naming.physical_name(ctx.svc.name),
        Description=f"{ctx.svc.name}: tasks stopped by a failure (counted by the StoppedTasksAlarm)",
        State="ENABLED", EventPattern=_sub_json(pattern, Cluster=ctx.stack.input(ctx.cluster.cluster_arn),
                                                Service=GetAtt(ecs_service, "Name")))


def _sub_json(value: dict, **variables) -> dict:
    """A JSON pattern whose strings reference `variables`: each such string becomes a Sub."""
    def walk(v):
        if isinstance(v, dict):
            return {k: walk(x) for k, x in v.items()}
        if isinstance(v, list):
            return [walk(x) for x in v]
        if isinstance(v, str) and "${" in v:
            return Sub(v, **{k: x for k, x in variables.items() if f"${{{k}}}" in v})
        return v
    return walk(json.loads(json.dumps(value)))
