"""Monitoring nested stack: the environment's alert topic (KMS-encrypted, e-mail subscriptions from
`environments.<env>.alerts`) and its CloudWatch dashboard. The alarms live beside what they watch (each service stack
adds its own through `MonitoringOutputs.watch`, generator/components/monitoring/alarms.py) and notify this topic.

The e-mail addresses are one root parameter (a list) and their count another: subscription slot i exists when the
count exceeds i (a condition over Ref and Fn::FindInMap only, the functions CloudFormation documents for conditions),
so every environment has the same template whatever number of addresses it lists.
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING

from awacs import kms as akms
from awacs.aws import Allow, Condition, Principal, Statement, StringEquals
from troposphere import Equals, FindInMap, GetAtt, If, Not, Ref, Select, Sub, cloudwatch, kms, sns

from generator import naming
from generator.components.base import EnvInputs
from generator.components.cluster import ClusterOutputs
from generator.components.monitoring.alarms import MonitoringOutputs
from generator.components.monitoring.spec import MAX_EMAILS, AlertsEnv, thresholds_inputs
from generator.policies.common import document
from generator.wiring import StackBuilder

if TYPE_CHECKING:
    from generator.config import AppSpec

HAS_EXTRA_TOPIC = "HasExtraTopic"
WIDTH, HEIGHT = 12, 6      # a dashboard row holds two graphs (24 grid units)


def build(app: AppSpec, stack: StackBuilder, env: EnvInputs[AlertsEnv], *,
          cluster: ClusterOutputs) -> MonitoringOutputs:
    t = stack.template
    key = stack.add(kms.Key(
        "AlertKey", Description=Sub("Encrypts the ${Application}-${EnvironmentName} alert topic"),
        EnableKeyRotation=True, KeyPolicy=_key_policy()))
    topic = stack.add(sns.Topic(
        "AlertTopic", TopicName=naming.physical_name("alerts"), KmsMasterKeyId=GetAtt(key, "Arn"),
        DisplayName=Sub("${Application} ${EnvironmentName} alerts")))
    emails = env.input(stack, "emails")
    count = env.input(stack, "email_count")
    # slot i is used when the count exceeds i: a mapping from the count (conditions may look values up in one)
    t.add_mapping("EmailSlots", {str(n): {f"Slot{i + 1}": str(n > i).lower() for i in range(MAX_EMAILS)}
                                 for n in range(MAX_EMAILS + 1)})
    for slot in range(MAX_EMAILS):
        condition = f"HasAlertEmail{slot + 1}"
        t.add_condition(condition, Equals(FindInMap("EmailSlots", count, f"Slot{slot + 1}"), "true"))
        stack.add(sns.SubscriptionResource(f"AlertEmail{slot + 1}", Condition=condition, TopicArn=Ref(topic),
                                           Protocol="email", Endpoint=Select(slot, emails)))
    extra = env.input(stack, "topic_arn")
    t.add_condition(HAS_EXTRA_TOPIC, Not(Equals(extra, "")))
    # two lists rather than AWS::NoValue inside one: a list element that vanishes is not what Fn::Join documents
    actions = stack.output("AlarmActions", If(HAS_EXTRA_TOPIC, [Ref(topic), extra], [Ref(topic)]),
                           "Where the alarms send their notifications: the alert topic (and the extra one)",
                           "CommaDelimitedList")
    stack.output("AlertTopicArn", Ref(topic), "The environment's alert topic (subscribe more endpoints here)",
                 public=True)
    return MonitoringOutputs(actions, env["notify"], thresholds_inputs(app), _dashboard_url(stack))


def _key_policy():
    """Account administrators manage the key; CloudWatch may use it to publish this account's alarms to the topic
    (an encrypted topic needs it: "Encrypting Amazon SNS topics", compatible AWS services)."""
    return document(
        Statement(Sid="AccountAdministers", Effect=Allow,
                  Principal=Principal("AWS", Sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")),
                  Action=[akms.Action("*")], Resource=["*"]),
        Statement(Sid="CloudWatchAlarmsPublish", Effect=Allow, Principal=Principal("Service", "cloudwatch.amazonaws.com"),
                  Action=[akms.Decrypt, akms.GenerateDataKey], Resource=["*"],
                  Condition=Condition(StringEquals("aws:SourceAccount", Ref("AWS::AccountId")))))


def _dashboard_url(stack: StackBuilder):
    """The dashboard's console address (the dashboard itself is added by `dashboard`, once every stack has said what
    it watches)."""
    return stack.output("DashboardUrl", Sub(
        "https://${AWS::Region}.console.aws.amazon.com/cloudwatch/home?region=${AWS::Region}#dashboards/dashboard/"
        "${Application}-${EnvironmentName}"), "The environment's CloudWatch dashboard", public=True)


def dashboard(app: AppSpec, stack: StackBuilder, alerts: MonitoringOutputs, *, cluster: ClusterOutputs) -> None:
    """The environment's dashboard, drawn from the same spec as the alarms: every service's CPU, memory, ephemeral
    storage, running tasks, requests, 5xx and p99 latency (SEARCH expressions over this cluster and load balancer, so
    the dashboard needs no input per service), each watched subject's alarm state and the widgets it contributed."""
    load_balancer = stack.input(cluster.load_balancer_full_name)
    name = "${Application}-${EnvironmentName}"
    ecs = f'ClusterName="{name}"'

    def search(space: str, where: str, metric_name: str, stat: str, period: int = 60) -> list:
        return [{"expression": f"SEARCH('{{{space}}} MetricName=\"{metric_name}\" {where}', '{stat}', {period})",
                 "label": "", "id": metric_name.lower().replace("_", "")}]

    def graph(title: str, expressions: list, unit: str = "") -> dict:
        props = {"title": title, "region": "${AWS::Region}", "view": "timeSeries", "stat": "Average", "period": 60,
                 "metrics": [[e] for e in expressions]}
        if unit:
            props["yAxis"] = {"left": {"label": unit, "showUnits": False}}
        return {"type": "metric", "width": WIDTH, "height": HEIGHT, "properties": props}

    services = "AWS/ECS,ClusterName,ServiceName"
    insights = "ECS/ContainerInsights,ClusterName,ServiceName"
    targets = "AWS/ApplicationELB,LoadBalancer,TargetGroup"
    balancer = 'LoadBalancer="${LoadBalancer}"'
    widgets: list[dict] = [
        {"type": "alarm", "width": 24, "height": 3, "properties": {
            "title": "Alarms (one per service and store)", "sortBy": "stateUpdatedTimestamp",
            "alarms": [f"arn:${{AWS::Partition}}:cloudwatch:${{AWS::Region}}:${{AWS::AccountId}}:alarm:"
                       f"{w.alarm_name()}" for w in alerts.watched]}}] if alerts.watched else []
    widgets += [
        graph("CPU % per service", search(services, ecs, "CPUUtilization", "Average"), "%"),
        graph("Memory % per service", search(services, ecs, "MemoryUtilization", "Average"), "%"),
        graph("Ephemeral storage used per service (GB)",
              search(insights, ecs, "EphemeralStorageUtilized", "Average"), "GB"),
        graph("Running tasks per service", search(insights, ecs, "RunningTaskCount", "Average"), "tasks"),
        graph("Requests per target group", search(targets, balancer, "RequestCount", "Sum"), "requests"),
        graph("5xx from the tasks per target group", search(targets, balancer, "HTTPCode_Target_5XX_Count", "Sum"),
              "responses"),
        graph("p99 response time per target group (s)", search(targets, balancer, "TargetResponseTime", "p99"), "s"),
    ]
    for w in alerts.watched:
        widgets += [dict(widget, width=WIDTH, height=HEIGHT) for widget in w.widgets]
    body = json.dumps({"widgets": _placed(widgets)}, separators=(",", ":"))
    stack.add(cloudwatch.Dashboard("Dashboard", DashboardName=naming.physical_name(),
                                   DashboardBody=Sub(body, LoadBalancer=load_balancer)))


def _placed(widgets: list[dict]) -> list[dict]:
    """Explicit positions, left to right and top to bottom, so the layout does not depend on the console's."""
    x = y = row = 0
    placed = []
    for w in widgets:
        if x + w["width"] > 24:
            x, y, row = 0, y + row, 0
        placed.append({**w, "x": x, "y": y})
        x, row = x + w["width"], max(row, w["height"])
    return placed
