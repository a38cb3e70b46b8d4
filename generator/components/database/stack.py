"""Database nested stack: one Aurora Serverless v2 cluster (PostgreSQL or MySQL) in the private subnets.

- Encrypted with the stack's own KMS key, which also encrypts the master user's secret (created and rotated by RDS:
  `ManageMasterUserPassword`, so no password exists in a template, parameter file or log) and Performance Insights.
- A writer and up to MAX_READERS readers (`db.serverless`), each a Condition on the environment's `Readers`.
- Cluster and instance parameter groups of the engine's family; the cluster refuses unencrypted connections
  (`rds.force_ssl` / `require_secure_transport`); its logs go to CloudWatch Logs.
- The cluster is snapshotted when deleted or replaced; its member instances are not (their data is the cluster's:
  generator/stateful.py, project rule E9008).
- Nights: where the engine version can pause at 0 ACUs the environment's `MinCapacity` is 0 (outside production),
  so the cluster pauses once the services stop at night (`off_hours`) and nothing connects. Where it cannot, two
  EventBridge Scheduler schedules stop the cluster at the `off_hours` stop time and start it at the start time
  (RDS starts a cluster stopped for seven days by itself; the start schedule fires first, a rule checks it does).
- `RestoreFrom` (a snapshot): the cluster is created from it. Setting or changing it replaces the cluster.

The security group admits nobody: each service that uses the database adds its own ingress rule (attachments).

Modules: cluster.py (the cluster, its key, groups and parameter groups), instances.py (writer and readers),
night_schedule.py (stop and start at night), alarms.py, attachment.py (outputs and what a service gets).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from troposphere import GetAtt, Ref

from generator.components.base import EnvInputs
from generator.components.database import engines
from generator.components.database.alarms import watch
from generator.components.database.attachment import DatabaseOutputs, attachment
from generator.components.database.cluster import build_cluster
from generator.components.database.instances import build_instances
from generator.components.database.night_schedule import scheduled_stop_and_start
from generator.components.database.spec import DatabaseEnv
from generator.components.environment import EnvironmentCore
from generator.components.monitoring import MonitoringOutputs
from generator.components.network import NetworkOutputs
from generator.wiring import StackBuilder

if TYPE_CHECKING:
    from generator.components.service.spec import OffHoursSpec
    from generator.config import AppSpec

__all__ = ["DatabaseOutputs", "build"]


def build(app: AppSpec, stack: StackBuilder, env: EnvInputs[DatabaseEnv], environment: EnvInputs[EnvironmentCore],
          off_hours: EnvInputs[OffHoursSpec], *, net: NetworkOutputs, alerts: MonitoringOutputs) -> DatabaseOutputs:
    db = app.database
    assert db is not None, "root.py builds the database stack only for an app with a database"
    built = build_cluster(db, stack, env, net)
    build_instances(db, stack, env, built, net.private_subnet_zones)
    if not engines.supports_auto_pause(db.engine, db.engine_version):
        scheduled_stop_and_start(stack, built.cluster, environment, off_hours)
    watch(app, stack, built.cluster, env, alerts)
    cluster, key, group = built.cluster, built.key, built.group
    host = GetAtt(cluster, "Endpoint.Address")
    outputs = DatabaseOutputs(
        stack.output("Endpoint", host, "Writer endpoint of the database cluster", public=True),
        stack.output("ReaderEndpoint", GetAtt(cluster, "ReadEndpoint.Address"), "Reader endpoint of the database"),
        stack.output("Port", GetAtt(cluster, "Endpoint.Port"), "Port of the database"),
        stack.output("Name", db.name, "Database created in the cluster"),
        stack.output("ClusterId", Ref(cluster), "Identifier of the database cluster (snapshots, restores)",
                     public=True),
        stack.output("SecretArn", GetAtt(cluster, "MasterUserSecret.SecretArn"),
                     "The RDS-managed secret of the master user (JSON keys username, password)", public=True),
        stack.output("KeyArn", GetAtt(key, "Arn"), "KMS key of the database and its secret"),
        stack.output("SecurityGroupId", GetAtt(group, "GroupId"), "Security group of the database",
                     "AWS::EC2::SecurityGroup::Id"),
        None,  # type: ignore[arg-type] - filled in below, from the outputs
    )
    return outputs._replace(attachment=attachment(app, outputs))
