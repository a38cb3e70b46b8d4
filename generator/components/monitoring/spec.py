"""Monitoring's spec: the alarm thresholds (`monitoring:` in app.yaml, MonitoringSpec: the defaults of every
environment), an environment's overrides of them (`environments.<env>.alerts.thresholds`, the same keys) and who
hears about the alarms (`environments.<env>.alerts`, AlertsEnv). Each threshold an app's alarms use is one
environment-wide root parameter (`Alarm<Field>`, never one per service or store), filled per environment with the
override or the app-level value; docs/monitoring.md says why each threshold and evaluation period is what it is."""
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any, Optional

import annotated_types
from pydantic import Field, computed_field, create_model

from generator.components.base import EnvInputs, NotAParameter, Param
from generator.config.types import EmailAddress, EnvironmentPart, SnsTopicArn, Strict, empty_list
from generator.errors import Problem

if TYPE_CHECKING:
    from generator.config import AppSpec

GROUP = "Alerts"
THRESHOLDS_GROUP = "Alarm thresholds"
THRESHOLD_PREFIX = "Alarm"   # AlarmCpuPercent, AlarmSustainedMinutes, ...
MAX_EMAILS = 10   # one conditional subscription per slot (Fn::Or takes at most ten conditions)
MIB, GIB = 1024 ** 2, 1024 ** 3

# Who uses a threshold (Param.kinds): service kinds (a stack of that kind takes the parameter) and store components.
SERVICES = ("web", "worker")


class MonitoringSpec(Strict):
    """The alarms' thresholds and evaluation periods: the defaults of every environment, which
    `environments.<env>.alerts.thresholds` may override key by key (docs/monitoring.md)."""

    cpu_percent: Annotated[int, Param("CPU %", kinds=SERVICES)] = Field(
        90, ge=50, le=100, description="A service's average CPU % that alarms when it is above it in "
                                       "`breaching_minutes` of the last `sustained_minutes` (autoscaling adds tasks "
                                       "from `cpu_scale_out`, so this means it could not keep up).")
    memory_percent: Annotated[int, Param("Memory %", kinds=SERVICES)] = Field(
        90, ge=50, le=100, description="A service's average memory % that alarms when it is above it in "
                                       "`breaching_minutes` of the last `sustained_minutes` (a task at 100% is killed "
                                       "and counted as a crash).")
    disk_percent: Annotated[int, Param("Ephemeral storage %", kinds=SERVICES)] = Field(
        80, ge=50, le=100, description="The share of its ephemeral storage a service's tasks use (Container "
                                       "Insights) that alarms when it stays above it for 15 minutes.")
    sustained_minutes: Annotated[int, Param("Sustained minutes (CPU, memory, latency)", kinds=SERVICES)] = Field(
        10, ge=3, le=60, description="The window of the CPU, memory and latency alarms, in one-minute datapoints "
                                     "(the alarms' evaluation periods): how long a breach must last before anyone is "
                                     "told.")
    breaching_minutes: Annotated[int | None, Param("Breaching minutes of the window", kinds=SERVICES)] = Field(
        None, ge=1, le=60, description="How many of the `sustained_minutes` datapoints must breach (the alarms' "
                                       "datapoints to alarm; at most `sustained_minutes`). Default: all of them.")
    error_rate_percent: Annotated[int, Param("5xx rate %", kinds=("web",))] = Field(
        5, ge=1, le=50, description="Web services: the share of requests answered 5xx by the tasks (minutes with at "
                                    "least 20 requests) that alarms after 2 minutes; the same alarm rolls a release "
                                    "back.")
    latency_seconds: Annotated[float, Param("p99 latency (s)", kinds=("web",))] = Field(
        2.0, ge=0.1, le=60, description="Web services: the 99th percentile response time (seconds) that alarms when "
                                        "it is above it in `breaching_minutes` of the last `sustained_minutes`.")
    queue_age_minutes: Annotated[int, NotAParameter("passed in seconds, as queue_age_seconds")] = Field(
        15, ge=1, le=1440, description="Queues: the age of the oldest message (minutes) that alarms when it stays "
                                       "above it for 10 minutes (the consumers are down or cannot keep up).")
    database_cpu_percent: Annotated[int, Param("Database CPU %", kinds=("database",))] = Field(
        80, ge=50, le=100, description="The database: the busiest instance's CPU % that alarms when it stays above "
                                       "it for 15 minutes.")
    database_connections_percent: Annotated[int, Param("Database connections %", kinds=("database",))] = Field(
        80, ge=50, le=100, description="The database: connections as a share of the estimated max_connections of "
                                       "its maximum capacity, alarming when above it for 15 minutes.")
    database_free_memory_mb: Annotated[int, NotAParameter("passed in bytes, as database_free_memory_bytes")] = Field(
        256, ge=64, le=65536, description="The database: freeable memory (MiB, at its maximum capacity) below which "
                                          "it alarms for 15 minutes.")
    database_capacity_percent: Annotated[int, Param("Database capacity %", kinds=("database",))] = Field(
        90, ge=50, le=100, description="The database: capacity used (ACUUtilization, % of the maximum ACUs) that "
                                       "alarms when it stays above it for 15 minutes.")
    cache_cpu_percent: Annotated[int, Param("Cache engine CPU %", kinds=("cache",))] = Field(
        80, ge=50, le=100, description="Caches: the engine's CPU % (EngineCPUUtilization, the busiest node) that "
                                       "alarms when it stays above it for 15 minutes.")
    cache_memory_percent: Annotated[int, Param("Cache memory %", kinds=("cache",))] = Field(
        90, ge=50, le=100, description="Caches: memory used (DatabaseMemoryUsagePercentage, the fullest node) that "
                                       "alarms when it stays above it for 15 minutes.")
    cache_evictions: Annotated[int, Param("Cache evictions per 5 minutes", kinds=("cache",))] = Field(
        1000, ge=0, le=10_000_000, description="Caches: keys evicted for lack of memory per 5 minutes that alarm "
                                               "in 3 consecutive windows.")
    table_throttle_events: Annotated[int, Param("Table throttle events per 5 minutes", kinds=("table",))] = Field(
        10, ge=0, le=1_000_000, description="Tables: read and write throttle events per 5 minutes that alarm in 2 of "
                                            "3 windows.")
    filesystem_burst_credits_gib: Annotated[int, NotAParameter(
        "passed in bytes, as filesystem_burst_credits_bytes")] = Field(
        100, ge=1, le=2048, description="File systems in `bursting` mode: the burst credit balance (GiB) below "
                                        "which they alarm for 15 minutes.")
    filesystem_io_percent: Annotated[int, Param("File system I/O limit %", kinds=("filesystem",))] = Field(
        90, ge=50, le=100, description="File systems: PercentIOLimit (how close to the General Purpose mode's I/O "
                                       "limit) that alarms when it stays above it for 15 minutes.")

    # CloudWatch compares the metric's own unit: these thresholds reach the templates converted.
    @computed_field(description="Queues: the age of the oldest message that alarms, in seconds (the metric's unit).")
    @property
    def queue_age_seconds(self) -> Annotated[int, Param("Queue message age (s)", kinds=("queue",))]:
        return self.queue_age_minutes * 60

    @computed_field(description="The database: freeable memory below which it alarms, in bytes (the metric's unit).")
    @property
    def database_free_memory_bytes(self) -> Annotated[int, Param("Database freeable memory (bytes)",
                                                                 kinds=("database",))]:
        return self.database_free_memory_mb * MIB

    @computed_field(description="File systems in bursting mode: the burst credit balance below which they alarm, in "
                                "bytes (the metric's unit).")
    @property
    def filesystem_burst_credits_bytes(self) -> Annotated[int, Param("File system burst credits (bytes)",
                                                                     kinds=("filesystem",))]:
        return self.filesystem_burst_credits_gib * GIB


def _overrides_model() -> type[Strict]:
    """The keys of `monitoring:`, each optional (unset: the app-level value), with the same ranges and descriptions:
    an environment overrides what differs and nothing else."""
    fields: dict[str, Any] = {}
    for name, info in MonitoringSpec.model_fields.items():
        bounds = {k: getattr(m, k) for m in info.metadata if isinstance(m, annotated_types.BaseMetadata)
                  for k in ("ge", "le", "gt", "lt") if hasattr(m, k)}
        fields[name] = (Optional[info.annotation], Field(None, description=info.description, **bounds))
    return create_model("ThresholdsEnv", __base__=Strict, __doc__="This environment's alarm thresholds: any key of "
                        "`monitoring:`, overriding the app-level value.", **fields)


ThresholdsEnv = _overrides_model()


class AlertsEnv(Strict):
    """Who hears about this environment's alarms (`environments.<env>.alerts`), and the thresholds it overrides."""

    emails: Annotated[list[EmailAddress], Param("Alert e-mails", name="AlertEmails")] = Field(
        default_factory=empty_list, max_length=MAX_EMAILS,
        description="E-mail addresses subscribed to the environment's alert topic (each confirms once, from the "
                    "message SNS sends). At most 10.")
    topic_arn: Annotated[SnsTopicArn | None, Param("Extra alert topic", name="AlertTopicArn", absent="")] = Field(
        None, description="An existing SNS topic (e.g. AWS Chatbot's, or a paging service's) that also receives "
                          "every alarm and recovery, in the environment's account and region. Empty: none.")
    notify: Annotated[bool, Param("Alarm notifications", name="AlarmNotifications")] = Field(
        True, description="Whether the alarms notify anyone (false: they still change state, on the dashboard).")
    thresholds: Annotated[ThresholdsEnv | None, NotAParameter(  # type: ignore[valid-type]
        "each threshold is its own root parameter (thresholds_inputs)")] = Field(
        None, description="This environment's alarm thresholds and evaluation periods: any key of `monitoring:`, "
                          "overriding the app-level value (e.g. `{cpu_percent: 95, latency_seconds: 5}` for dev).")

    @computed_field(description="How many of the alert e-mail slots are used.")
    @property
    def email_count(self) -> Annotated[int, Param("Alert e-mail count", name="AlertEmailCount")]:
        return len(self.emails)


class MonitoringEnv(EnvironmentPart):
    """An environment's monitoring settings (a field of `environments.<env>`)."""

    alerts: AlertsEnv | None = Field(
        None, description="Who hears about the environment's alarms (e-mail addresses, an extra SNS topic, on/off) "
                          "and the thresholds it overrides.")


def settings(app: "AppSpec", env: str) -> AlertsEnv:
    return app.environments[env].alerts or AlertsEnv()


def env_inputs(app: "AppSpec") -> EnvInputs[AlertsEnv]:
    return EnvInputs(AlertsEnv, GROUP, settings, app=app)


def thresholds(app: "AppSpec", env: str) -> MonitoringSpec:
    """The environment's thresholds: the app-level ones with the environment's overrides, every default resolved
    (`breaching_minutes` unset: all of `sustained_minutes`)."""
    overrides = settings(app, env).thresholds
    merged = app.monitoring.model_copy(update=overrides.model_dump(exclude_none=True) if overrides else {})
    if merged.breaching_minutes is None:
        merged = merged.model_copy(update={"breaching_minutes": merged.sustained_minutes})
    return merged


def thresholds_inputs(app: "AppSpec") -> EnvInputs[MonitoringSpec]:
    """Every threshold as an environment-wide root parameter (`Alarm<Field>`). Only those some stack takes reach the
    root (a parameter exists when a stack declares it as an input): an app without caches has no cache thresholds."""
    return EnvInputs(MonitoringSpec, THRESHOLDS_GROUP, thresholds, app=app, prefix=THRESHOLD_PREFIX)


def distinct_alert_emails(app: "AppSpec") -> Iterator[Problem]:
    """An environment lists each alert e-mail address once."""
    for name, env in app.environments.items():
        seen: set[str] = set()
        for i, email in enumerate(env.alerts.emails if env.alerts else []):
            if email.lower() in seen:
                yield Problem(f"environments.{name}.alerts.emails[{i}]",
                              f"'{email}' is listed twice (addresses are compared ignoring case); remove the repeat")
            seen.add(email.lower())


def breaching_within_window(app: "AppSpec") -> Iterator[Problem]:
    """`breaching_minutes` is at most `sustained_minutes`, in `monitoring` and in each environment with its overrides
    (CloudWatch's datapoints to alarm, M of N, cannot exceed the evaluation periods)."""
    limits = app.monitoring
    if limits.breaching_minutes is not None and limits.breaching_minutes > limits.sustained_minutes:
        yield Problem("monitoring.breaching_minutes", _too_many(limits.breaching_minutes, limits.sustained_minutes))
    for name, env in app.environments.items():
        overrides = env.alerts.thresholds if env.alerts else None
        if overrides is None or (overrides.breaching_minutes is None and overrides.sustained_minutes is None):
            continue
        merged = thresholds(app, name)
        if merged.breaching_minutes > merged.sustained_minutes:
            inherited = " from monitoring"
            field = "breaching_minutes" if overrides.breaching_minutes is not None else "sustained_minutes"
            yield Problem(f"environments.{name}.alerts.thresholds.{field}", _too_many(
                merged.breaching_minutes, merged.sustained_minutes,
                "" if overrides.breaching_minutes is not None else inherited,
                "" if overrides.sustained_minutes is not None else inherited))


def _too_many(breaching: int, window: int, breaching_from: str = "", window_from: str = "") -> str:
    return (f"breaching_minutes ({breaching}{breaching_from}) exceeds sustained_minutes ({window}{window_from}); "
            "CloudWatch cannot require more breaching datapoints than it evaluates: lower breaching_minutes or raise "
            "sustained_minutes")


RULES = (distinct_alert_emails, breaching_within_window)
