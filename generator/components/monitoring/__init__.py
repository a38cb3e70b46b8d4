"""The monitoring component: the environment's alert topic and dashboard, and the hook through which other components'
stacks add their alarms (`MonitoringOutputs.watch`: one composite alarm per service or store notifies the topic)."""
from generator.components.base import Component
from generator.components.monitoring.alarms import (MonitoringOutputs, Watched, describe, math_alarm, metric,
                                                    metric_alarm, search_widget)
from generator.components.monitoring.spec import (RULES, AlertsEnv, MonitoringEnv, MonitoringSpec, ThresholdsEnv,
                                                  env_inputs, thresholds, thresholds_inputs)
from generator.components.monitoring.stack import build, dashboard
from generator.components.monitoring.types import TYPES, TYPES_FOR_WATCHERS

COMPONENT = Component(
    "monitoring", "alert topic and dashboard", TYPES, RULES, spec_key="monitoring", spec=MonitoringSpec,
    env=MonitoringEnv, settings=(AlertsEnv, MonitoringSpec))

__all__ = ["COMPONENT", "AlertsEnv", "MonitoringEnv", "MonitoringOutputs", "MonitoringSpec", "ThresholdsEnv", "Watched",
           "build", "TYPES_FOR_WATCHERS", "dashboard", "describe", "env_inputs", "math_alarm", "metric", "metric_alarm",
           "search_widget", "thresholds", "thresholds_inputs"]
