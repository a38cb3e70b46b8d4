"""How a component's stack tells people about its resources: child alarms that notify nobody, and one composite alarm
per subject (a service, a store) that notifies the environment's alert topic. One incident therefore sends one message
(and one when it is over), however many of the subject's alarms it trips.

The hook for components (docs/adding-a-component.md, "Alarms"): in its build function a component makes its
`cloudwatch.Alarm`s with `metric_alarm`/`math_alarm` (no actions) and hands them to `alerts.watch(stack, subject,
alarms, ...)`; the dashboard gets the subject's alarm state and any widgets it passes. Thresholds come from
`alerts.limit(stack, field)`: a Ref to the environment-wide root parameter of that `monitoring:` key (the environment's
override or the app-level value), never a per-resource parameter; `alerts.text(stack, ...)` writes them into an alarm's
description.
"""
from __future__ import annotations

import re
from dataclasses import field
from typing import TYPE_CHECKING, Any

from troposphere import Ref, Sub, cloudwatch

from generator import naming
from generator.records import record
from generator.wiring import OutputRef, RootParameter, StackBuilder

if TYPE_CHECKING:
    from generator.components.base import EnvInputs
    from generator.components.monitoring.spec import MonitoringSpec

MINUTE = 60


@record(frozen=True)
class Watched:
    """A subject the environment's dashboard shows: its composite alarm and its own widgets (dashboard JSON whose
    strings may hold ${Application}, ${EnvironmentName}, ${AWS::Region} and ${AWS::AccountId})."""

    subject: str
    widgets: tuple[dict, ...] = ()

    def alarm_name(self) -> str:
        return f"${{{naming.APPLICATION_PARAM}}}-${{{naming.ENVIRONMENT_PARAM}}}-{self.subject}"


@record
class MonitoringOutputs:
    """What the other stacks take from monitoring: where alarms send (the topic, and an extra one), whether they do,
    the thresholds (environment-wide root parameters), and the register of watched subjects the dashboard is drawn
    from (filled while the stacks are built)."""

    alarm_actions: OutputRef          # the alert topic and the extra topic, if any (a list)
    notifications: RootParameter      # AlarmNotifications: true/false
    thresholds: EnvInputs[MonitoringSpec]   # Alarm<Field>: one root parameter per threshold, whatever the subjects
    dashboard_url: OutputRef | None = None
    watched: list[Watched] = field(default_factory=list)

    def limit(self, stack: StackBuilder, name: str) -> Ref:
        """A threshold or evaluation period (a field of `monitoring:`) as an input of `stack`: a Ref to its Number
        parameter, which CloudFormation resolves to the environment's value."""
        return self.thresholds.input(stack, name)

    def text(self, stack: StackBuilder, template: str) -> Sub:
        return describe(self.thresholds, stack, template)

    def watch(self, stack: StackBuilder, subject: str, alarms: list[cloudwatch.Alarm], description: str,
              widgets: tuple[dict, ...] = ()) -> cloudwatch.CompositeAlarm:
        """The subject's composite alarm over `alarms` (already added to `stack`), notifying the alert topic on ALARM
        and OK. Named `<app>-<env>-<subject>`: the dashboard and the people reading the message find it by name."""
        if not alarms:
            raise ValueError(f"{subject}: nothing to watch")
        rule = " OR ".join(f'ALARM("${{{a.title}.Arn}}")' for a in alarms)
        actions = stack.input(self.alarm_actions)
        composite = stack.add(cloudwatch.CompositeAlarm(
            "Alarm", AlarmName=naming.physical_name(subject), AlarmDescription=description, AlarmRule=Sub(rule),
            ActionsEnabled=stack.input(self.notifications), AlarmActions=actions, OKActions=actions))
        self.watched.append(Watched(subject, widgets))
        return composite


def describe(thresholds: EnvInputs[MonitoringSpec], stack: StackBuilder, template: str) -> Sub:
    """`template` with each `{field}` replaced by that threshold's value in the environment (a Sub over the stack's
    parameter): an alarm's description states the threshold the environment really has."""
    return Sub(re.sub(r"\{([a-z_]+)\}", lambda m: "${" + thresholds.input(stack, m.group(1)).data["Ref"] + "}",
                      template))


def metric(name: str, namespace: str, stat: str, dimensions: dict[str, Any], period: int = MINUTE) -> cloudwatch.MetricStat:
    return cloudwatch.MetricStat(Metric=cloudwatch.Metric(
        Namespace=namespace, MetricName=name,
        Dimensions=[cloudwatch.MetricDimension(Name=k, Value=v) for k, v in dimensions.items()]),
        Period=period, Stat=stat)


def metric_alarm(title: str, description: str | Sub, namespace: str, name: str, stat: str,
                 dimensions: dict[str, Any], *, threshold: float | Ref, minutes: int, periods: int | Ref,
                 datapoints: int | Ref | None = None,
                 comparison: str = "GreaterThanThreshold") -> cloudwatch.Alarm:
    """One metric over `periods` windows of `minutes` minutes, `datapoints` of them breaching (default: all);
    threshold, periods and datapoints may be Refs to Number parameters (`MonitoringOutputs.limit`). Missing
    data is not breaching: ECS sends no utilisation while a service has no task (off-hours, a stopped
    non-production service), and event counts are sent only when non-zero."""
    return cloudwatch.Alarm(
        title, AlarmDescription=description, Namespace=namespace, MetricName=name, Statistic=stat,
        Dimensions=[cloudwatch.MetricDimension(Name=k, Value=v) for k, v in dimensions.items()],
        Period=minutes * MINUTE, EvaluationPeriods=periods, DatapointsToAlarm=datapoints or periods,
        Threshold=threshold, ComparisonOperator=comparison, TreatMissingData="notBreaching")


def math_alarm(title: str, description: str | Sub, metrics: dict[str, cloudwatch.MetricStat], expression: str,
               label: str, *, threshold: float | Ref, periods: int | Ref, datapoints: int | Ref | None = None,
               comparison: str = "GreaterThanThreshold", steps: dict[str, Any] | None = None) -> cloudwatch.Alarm:
    """An alarm on metric math over `metrics` (id -> MetricStat); the expression is the one value it evaluates.
    `steps` (id -> expression, a string or a Sub) are intermediate expressions the final one may name."""
    queries = [cloudwatch.MetricDataQuery(Id=i, MetricStat=m, ReturnData=False) for i, m in metrics.items()]
    queries += [cloudwatch.MetricDataQuery(Id=i, Expression=e, ReturnData=False) for i, e in (steps or {}).items()]
    queries.append(cloudwatch.MetricDataQuery(Id="value", Expression=expression, Label=label, ReturnData=True))
    return cloudwatch.Alarm(
        title, AlarmDescription=description, Metrics=queries, EvaluationPeriods=periods,
        DatapointsToAlarm=datapoints or periods, Threshold=threshold, ComparisonOperator=comparison,
        TreatMissingData="notBreaching")


def search_widget(title: str, schema: str, metrics: tuple[str, ...], stat: str, where: str = "",
                  period: int = 5 * MINUTE) -> dict:
    """A dashboard graph of `metrics` found by a SEARCH over `schema` (`{Namespace,Dimension...}`) narrowed by `where`
    (more search terms, e.g. a name prefix): a watcher's widget needs no input from the monitoring stack."""
    terms = f" {where}" if where else ""
    return {"type": "metric", "properties": {
        "title": title, "region": "${AWS::Region}", "view": "timeSeries", "period": period,
        "metrics": [[{"expression": f"SEARCH('{schema} MetricName=\"{m}\"{terms}', '{stat}', {period})",
                      "id": m.lower(), "label": ""}] for m in metrics]}}
