"""The database's alarms and dashboard widgets, through the monitoring component's hook (docs/monitoring.md)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from troposphere import Ref, Sub, rds

from generator.components.base import EnvInputs
from generator.components.database import engines
from generator.components.database.spec import DatabaseEnv
from generator.components.monitoring import MonitoringOutputs, math_alarm, metric, metric_alarm, search_widget
from generator.wiring import StackBuilder

if TYPE_CHECKING:
    from generator.config import AppSpec

FIVE_MINUTES = 5
MIB = 1024 * 1024


def watch(app: AppSpec, stack: StackBuilder, cluster: rds.DBCluster, env: EnvInputs[DatabaseEnv],
           alerts: MonitoringOutputs) -> None:
    """The database's alarms (docs/monitoring.md), each over three five-minute windows, all breaching: the busiest
    instance's CPU, connections near the default max_connections of the maximum capacity (AWS's table), freeable memory low,
    capacity near the maximum ACUs. AWS/RDS metrics by DBClusterIdentifier ("Amazon CloudWatch metrics for Amazon
    Aurora", Aurora User Guide); a paused or stopped cluster sends none, which is not an incident."""
    db = app.database
    assert db is not None
    limits = app.monitoring
    where = {"DBClusterIdentifier": Ref(cluster)}

    def alarm(title: str, what: str, name: str, stat: str, threshold: float, comparison: str = "GreaterThanThreshold"):
        return stack.add(metric_alarm(title, f"database: {what} for 15 minutes", "AWS/RDS", name, stat, where,
                                      threshold=threshold, minutes=FIVE_MINUTES, periods=3, comparison=comparison))

    # max_connections from the documented table (engines.MAX_CONNECTIONS): the first row's value plus, for each
    # further row, its increase times (MaxCapacity >= that row's ACUs); metric math compares a series with a number.
    # `FILL(conns, 0) * 0 + x` turns a number into a series.
    rows = engines.MAX_CONNECTIONS[db.engine]
    table = " + ".join([str(rows[0][1])] + [f"(FILL(conns, 0) * 0 + ${{Max}} >= {acu}) * {value - previous}"
                                            for (acu, value), (_, previous) in zip(rows[1:], rows)])
    by_acu = Sub(f"FILL(conns, 0) * 0 + {table}", Max=env.input(stack, "max_capacity"))
    steps: dict[str, Any] = {"ceiling": by_acu}
    if db.engine == "aurora-postgresql":     # capped at 2,000 below a minimum of 1 ACU
        low, top = engines.POSTGRESQL_LOW_MINIMUM_CAP, rows[-1][1]
        steps = {"byacu": by_acu,
                 "capped": Sub(f"FILL(conns, 0) * 0 + {low} + (FILL(conns, 0) * 0 + ${{Min}} >= 1) * {top - low}",
                               Min=env.input(stack, "min_capacity")),
                 "ceiling": "MIN([byacu, capped])"}
    alarms = [
        alarm("CpuAlarm", f"the busiest instance's CPU above {limits.database_cpu_percent}%", "CPUUtilization",
              "Maximum", limits.database_cpu_percent),
        stack.add(math_alarm(
            "ConnectionsAlarm", f"database: connections above {limits.database_connections_percent}% of the "
                                "default max_connections for 15 minutes",
            {"conns": metric("DatabaseConnections", "AWS/RDS", "Maximum", where, FIVE_MINUTES * 60)},
            "100 * FILL(conns, 0) / ceiling", "connections, % of max_connections",
            threshold=limits.database_connections_percent, periods=3, steps=steps)),
        alarm("MemoryAlarm", f"freeable memory below {limits.database_free_memory_mb} MiB", "FreeableMemory",
              "Minimum", limits.database_free_memory_mb * MIB, "LessThanThreshold"),
        alarm("CapacityAlarm", f"capacity above {limits.database_capacity_percent}% of the maximum ACUs",
              "ACUUtilization", "Maximum", limits.database_capacity_percent),
    ]
    # The cluster is named after its stack (lowercase): the graphs show the account's clusters in the region.
    clusters = "{AWS/RDS,DBClusterIdentifier}"
    alerts.watch(stack, "database", alarms, "database: one of its alarms is in ALARM (the message names which)",
                 widgets=(search_widget("Database: busiest CPU % and capacity used %", clusters,
                                        ("CPUUtilization", "ACUUtilization"), "Maximum"),
                          search_widget("Database: connections", clusters, ("DatabaseConnections",), "Maximum")))

