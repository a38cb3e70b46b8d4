"""Monitoring's spec: the alarm thresholds (`monitoring:` in app.yaml, MonitoringSpec: the same in every environment,
written into the templates) and who hears about them (`environments.<env>.alerts`, AlertsEnv: each field a root
parameter). docs/monitoring.md says why each threshold and evaluation period is what it is."""
from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated

from pydantic import Field, computed_field

from generator.components.base import EnvInputs, Param
from generator.config.types import EmailAddress, SnsTopicArn, Strict
from generator.errors import Problem

if TYPE_CHECKING:
    from generator.config import AppSpec

GROUP = "Alerts"
MAX_EMAILS = 10   # one conditional subscription per slot (Fn::Or takes at most ten conditions)


class MonitoringSpec(Strict):
    """The alarms' thresholds, the same in every environment (docs/monitoring.md). Which environments notify anyone,
    and whom, is `environments.<env>.alerts`."""

    cpu_percent: int = Field(
        90, ge=50, le=100, description="A service's average CPU % that alarms when it stays above it for "
                                       "`sustained_minutes` (autoscaling adds tasks from `cpu_scale_out`, so this "
                                       "means it could not keep up).")
    memory_percent: int = Field(
        90, ge=50, le=100, description="A service's average memory % that alarms when it stays above it for "
                                       "`sustained_minutes` (a task at 100% is killed and counted as a crash).")
    disk_percent: int = Field(
        80, ge=50, le=100, description="The share of its ephemeral storage a service's tasks use (Container "
                                       "Insights) that alarms when it stays above it for 15 minutes.")
    sustained_minutes: int = Field(
        10, ge=3, le=60, description="How long CPU or memory must stay above its threshold (one-minute datapoints, "
                                     "every one of them breaching) before anyone is told.")
    error_rate_percent: int = Field(
        5, ge=1, le=50, description="Web services: the share of requests answered 5xx by the tasks (minutes with at "
                                    "least 20 requests) that alarms after 2 minutes; the same alarm rolls a release "
                                    "back.")
    latency_seconds: float = Field(
        2.0, ge=0.1, le=60, description="Web services: the 99th percentile response time (seconds) that alarms when "
                                        "it stays above it for `sustained_minutes`.")
    queue_age_minutes: int = Field(
        15, ge=1, le=1440, description="Queues: the age of the oldest message (minutes) that alarms when it stays "
                                       "above it for 10 minutes (the consumers are down or cannot keep up).")
    database_cpu_percent: int = Field(
        80, ge=50, le=100, description="The database: the busiest instance's CPU % that alarms when it stays above "
                                       "it for 15 minutes.")
    database_connections_percent: int = Field(
        80, ge=50, le=100, description="The database: connections as a share of the estimated max_connections of "
                                       "its maximum capacity, alarming when above it for 15 minutes.")
    database_free_memory_mb: int = Field(
        256, ge=64, le=65536, description="The database: freeable memory (MiB, at its maximum capacity) below which "
                                          "it alarms for 15 minutes.")
    database_capacity_percent: int = Field(
        90, ge=50, le=100, description="The database: capacity used (ACUUtilization, % of the maximum ACUs) that "
                                       "alarms when it stays above it for 15 minutes.")
    cache_cpu_percent: int = Field(
        80, ge=50, le=100, description="Caches: the engine's CPU % (EngineCPUUtilization, the busiest node) that "
                                       "alarms when it stays above it for 15 minutes.")
    cache_memory_percent: int = Field(
        90, ge=50, le=100, description="Caches: memory used (DatabaseMemoryUsagePercentage, the fullest node) that "
                                       "alarms when it stays above it for 15 minutes.")
    cache_evictions: int = Field(
        1000, ge=0, le=10_000_000, description="Caches: keys evicted for lack of memory per 5 minutes that alarm "
                                               "in 3 consecutive windows.")
    table_throttle_events: int = Field(
        10, ge=0, le=1_000_000, description="Tables: read and write throttle events per 5 minutes that alarm in 2 of "
                                            "3 windows.")
    filesystem_burst_credits_gib: int = Field(
        100, ge=1, le=2048, description="File systems in `bursting` mode: the burst credit balance (GiB) below "
                                        "which they alarm for 15 minutes.")
    filesystem_io_percent: int = Field(
        90, ge=50, le=100, description="File systems: PercentIOLimit (how close to the General Purpose mode's I/O "
                                       "limit) that alarms when it stays above it for 15 minutes.")


class AlertsEnv(Strict):
    """Who hears about this environment's alarms (`environments.<env>.alerts`)."""

    emails: Annotated[list[EmailAddress], Param("Alert e-mails", name="AlertEmails")] = Field(
        default_factory=list, max_length=MAX_EMAILS,
        description="E-mail addresses subscribed to the environment's alert topic (each confirms once, from the "
                    "message SNS sends). At most 10.")
    topic_arn: Annotated[SnsTopicArn | None, Param("Extra alert topic", name="AlertTopicArn", absent="")] = Field(
        None, description="An existing SNS topic (e.g. AWS Chatbot's, or a paging service's) that also receives "
                          "every alarm and recovery, in the environment's account and region. Empty: none.")
    notify: Annotated[bool, Param("Alarm notifications", name="AlarmNotifications")] = Field(
        True, description="Whether the alarms notify anyone (false: they still change state, on the dashboard).")

    @computed_field(description="How many of the alert e-mail slots are used.")
    @property
    def email_count(self) -> Annotated[int, Param("Alert e-mail count", name="AlertEmailCount")]:
        return len(self.emails)


class MonitoringEnv(Strict):
    """An environment's monitoring settings (a field of `environments.<env>`)."""

    alerts: AlertsEnv | None = Field(
        None, description="Who hears about the environment's alarms: e-mail addresses, an extra SNS topic, on/off.")


def settings(app: AppSpec, env: str) -> AlertsEnv:
    return app.environments[env].alerts or AlertsEnv()


def env_inputs(app: AppSpec) -> EnvInputs[AlertsEnv]:
    return EnvInputs(AlertsEnv, GROUP, settings, app=app)


def distinct_alert_emails(app: AppSpec) -> Iterator[Problem]:
    """An environment lists each alert e-mail address once."""
    for name, env in app.environments.items():
        seen: set[str] = set()
        for i, email in enumerate(env.alerts.emails if env.alerts else []):
            if email.lower() in seen:
                yield Problem(f"environments.{name}.alerts.emails[{i}]",
                              f"'{email}' is listed twice (addresses are compared ignoring case); remove the repeat")
            seen.add(email.lower())


RULES = (distinct_alert_emails,)
