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
"""
from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from troposphere import And, Equals, GetAtt, If, Join, Not, NoValue, Ref, Sub, ec2, iam, kms, rds, scheduler

from generator.components.monitoring import MonitoringOutputs, math_alarm, metric, metric_alarm, search_widget

from generator import naming
from generator.components.attachments import Attachment, Ingress, SecretSource
from generator.components.base import EnvInputs
from generator.components.database import engines
from generator.components.database.spec import MAX_READERS, NAME, DatabaseEnv
from generator.components.environment import EnvironmentCore
from generator.components.network import NetworkOutputs
from generator.policies.common import assume_role
from generator.policies.jobs import stop_and_start_cluster
from generator.policies.kms import database_key_policy
from generator.wiring import OutputRef, StackBuilder

if TYPE_CHECKING:
    from generator.components.service.spec import OffHoursSpec
    from generator.config import AppSpec

RESTORING = "Restoring"
PERFORMANCE_INSIGHTS = "PerformanceInsights"
AUTO_PAUSE = "AutoPause"            # MinCapacity 0: an idle instance pauses
OFF_HOURS = "OffHours"
MASTER_USERNAME = "app_admin"
# What each engine exports to CloudWatch Logs (the MySQL audit log needs server_audit_logging, set below).
LOG_EXPORTS = {"aurora-postgresql": ["postgresql"], "aurora-mysql": ["audit", "error", "slowquery"]}
CLUSTER_PARAMETERS = {
    "aurora-postgresql": {"rds.force_ssl": "1", "log_min_duration_statement": "1000"},
    "aurora-mysql": {"require_secure_transport": "ON", "server_audit_logging": "1",
                     "server_audit_events": "CONNECT,QUERY_DCL,QUERY_DDL", "slow_query_log": "1", "long_query_time": "1"},
}


class DatabaseOutputs(NamedTuple):
    endpoint: OutputRef             # the writer endpoint's host name
    reader_endpoint: OutputRef
    port: OutputRef
    name: OutputRef                 # the database created in the cluster
    cluster_id: OutputRef           # DBClusterIdentifier (snapshots, restores)
    secret_arn: OutputRef           # the RDS-managed master user secret (JSON keys username, password)
    key_arn: OutputRef              # the KMS key of the storage and the secret
    security_group_id: OutputRef    # services that use the database add their ingress here
    attachment: Attachment          # what a service that `uses: [database]` gets (attachment())


def build(app: AppSpec, stack: StackBuilder, env: EnvInputs[DatabaseEnv], environment: EnvInputs[EnvironmentCore],
          off_hours: EnvInputs[OffHoursSpec], *, net: NetworkOutputs, alerts: MonitoringOutputs) -> DatabaseOutputs:
    db = app.database
    assert db is not None, "root.py builds the database stack only for an app with a database"
    t = stack.template
    restore_from = env.input(stack, "restore_from")
    t.add_condition(RESTORING, Not(Equals(restore_from, "")))
    min_capacity = env.input(stack, "min_capacity")
    t.add_condition(AUTO_PAUSE, Equals(min_capacity, "0"))
    t.add_condition(PERFORMANCE_INSIGHTS, Equals(env.input(stack, "performance_insights"), "true"))
    port = db.listen_port
    family = engines.parameter_group_family(db.engine, db.engine_version)

    key = stack.add(kms.Key(
        "DatabaseKey", Description=Sub("Encrypts the ${Application}-${EnvironmentName} database, its secret and "
                                       "Performance Insights"),
        EnableKeyRotation=True, KeyPolicy=database_key_policy()))
    group = stack.add(ec2.SecurityGroup(
        "SecurityGroup", GroupDescription=Sub("${Application}-${EnvironmentName} database"),
        VpcId=stack.input(net.vpc_id),
        # The database opens no connection of its own; services that use it add ingress from their group.
        SecurityGroupEgress=[ec2.SecurityGroupRule(IpProtocol="-1", CidrIp="127.0.0.1/32",
                                                   Description="No outbound traffic")]))
    subnets = stack.add(rds.DBSubnetGroup(
        "SubnetGroup", DBSubnetGroupDescription=Sub("${Application}-${EnvironmentName} database: private subnets"),
        SubnetIds=stack.input(net.private_subnet_ids)))
    cluster_parameters = stack.add(rds.DBClusterParameterGroup(
        "ClusterParameters", Family=family, Parameters=CLUSTER_PARAMETERS[db.engine],
        Description=Sub("${Application}-${EnvironmentName} database cluster: TLS only, slow statements logged")))
    instance_parameters = stack.add(rds.DBParameterGroup(
        "InstanceParameters", Family=family,
        Description=Sub("${Application}-${EnvironmentName} database instances")))

    cluster = stack.add(rds.DBCluster(
        # No DBClusterIdentifier: CloudFormation names it after the stack (`<app>-<env>-database-...`, lowercase),
        # so a restore (`RestoreFrom`) can replace it; a resource with a fixed name cannot be replaced.
        "Cluster", Engine=db.engine, EngineVersion=db.engine_version,
        EngineMode="provisioned", Port=port, DBSubnetGroupName=Ref(subnets),
        VpcSecurityGroupIds=[GetAtt(group, "GroupId")], DBClusterParameterGroupName=Ref(cluster_parameters),
        StorageEncrypted=If(RESTORING, NoValue, True), KmsKeyId=GetAtt(key, "Arn"),
        DatabaseName=If(RESTORING, NoValue, db.name), MasterUsername=If(RESTORING, NoValue, MASTER_USERNAME),
        ManageMasterUserPassword=True, MasterUserSecret=rds.MasterUserSecret(KmsKeyId=GetAtt(key, "Arn")),
        SnapshotIdentifier=If(RESTORING, restore_from, NoValue),
        BackupRetentionPeriod=env.input(stack, "backup_retention_days"),
        PreferredBackupWindow="01:00-02:00", PreferredMaintenanceWindow="sun:02:30-sun:03:30",
        DeletionProtection=env.input(stack, "deletion_protection"), CopyTagsToSnapshot=True,
        EnableIAMDatabaseAuthentication=True, EnableCloudwatchLogsExports=LOG_EXPORTS[db.engine],
        ServerlessV2ScalingConfiguration=rds.ServerlessV2ScalingConfiguration(
            MinCapacity=min_capacity, MaxCapacity=env.input(stack, "max_capacity"),
            SecondsUntilAutoPause=If(AUTO_PAUSE, env.input(stack, "auto_pause_seconds"), NoValue)),
        Metadata={"checkov": {"skip": [{"id": "CKV_AWS_326", "comment": (
            "Backtrack is an Aurora MySQL feature for provisioned clusters that Serverless v2 does not offer; "
            "point-in-time restore (BackupRetentionPeriod) and manual snapshots cover it")}]}}))

    readers = env.input(stack, "readers")
    t.add_condition("HasReader1", Not(Equals(readers, "0")))
    t.add_condition("HasReader2", Equals(readers, "2"))
    assert MAX_READERS == 2, "one HasReader<n> condition per possible reader"
    for index, title in enumerate(["Writer"] + [f"Reader{n}" for n in range(1, MAX_READERS + 1)]):
        stack.add(rds.DBInstance(
            title, Engine=db.engine, DBClusterIdentifier=Ref(cluster), DBInstanceClass="db.serverless",
            DBParameterGroupName=Ref(instance_parameters), PromotionTier=min(index, 1),
            PubliclyAccessible=False, AutoMinorVersionUpgrade=True,
            EnablePerformanceInsights=If(PERFORMANCE_INSIGHTS, True, False),
            PerformanceInsightsKMSKeyId=If(PERFORMANCE_INSIGHTS, GetAtt(key, "Arn"), NoValue),
            PerformanceInsightsRetentionPeriod=If(PERFORMANCE_INSIGHTS, 7, NoValue),
            **({"Condition": f"HasReader{index}"} if index else {}),
            Metadata={"checkov": {"skip": [{"id": "CKV_AWS_118", "comment": (
                "Enhanced Monitoring (per-second OS metrics, a monitoring role, billed as CloudWatch Logs) is left "
                "to the operator; CloudWatch's RDS metrics and Performance Insights (on in production) cover "
                "capacity and load")}]}}))

    if not engines.supports_auto_pause(db.engine, db.engine_version):
        _scheduled_stop_and_start(stack, cluster, environment, off_hours)

    _watch(app, stack, cluster, env, alerts)
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


FIVE_MINUTES = 5


def _watch(app: AppSpec, stack: StackBuilder, cluster: rds.DBCluster, env: EnvInputs[DatabaseEnv],
           alerts: MonitoringOutputs) -> None:
    """The database's alarms (docs/monitoring.md), each over three five-minute windows, all breaching: the busiest
    instance's CPU, connections near the estimated max_connections of the maximum capacity, freeable memory low,
    capacity near the maximum ACUs. AWS/RDS metrics by DBClusterIdentifier ("Amazon CloudWatch metrics for Amazon
    Aurora", Aurora User Guide); a paused or stopped cluster sends none, which is not an incident."""
    db = app.database
    assert db is not None
    where = {"DBClusterIdentifier": Ref(cluster)}

    def alarm(title: str, what: str, name: str, stat: str, threshold: str, comparison: str = "GreaterThanThreshold"):
        return stack.add(metric_alarm(title, alerts.text(stack, f"database: {what} for 15 minutes"), "AWS/RDS", name,
                                      stat, where, threshold=alerts.limit(stack, threshold), minutes=FIVE_MINUTES,
                                      periods=3, comparison=comparison))

    per_acu, cap = engines.CONNECTIONS_PER_ACU[db.engine], engines.CONNECTIONS_CAP
    # max_connections as two series (from the maximum ACUs, and the cap) and their minimum
    steps = {"byacu": Sub(f"FILL(conns, 0) * 0 + ${{Max}} * {per_acu}", Max=env.input(stack, "max_capacity")),
             "capped": f"FILL(conns, 0) * 0 + {cap}", "ceiling": "MIN([byacu, capped])"}
    alarms = [
        alarm("CpuAlarm", "the busiest instance's CPU above {database_cpu_percent}%", "CPUUtilization",
              "Maximum", "database_cpu_percent"),
        stack.add(math_alarm(
            "ConnectionsAlarm", alerts.text(stack, "database: connections above {database_connections_percent}% of "
                                                   "the estimated max_connections for 15 minutes"),
            {"conns": metric("DatabaseConnections", "AWS/RDS", "Maximum", where, FIVE_MINUTES * 60)},
            "100 * FILL(conns, 0) / ceiling", "connections, % of max_connections",
            threshold=alerts.limit(stack, "database_connections_percent"), periods=3, steps=steps)),
        alarm("MemoryAlarm", "freeable memory below {database_free_memory_bytes} bytes", "FreeableMemory",
              "Minimum", "database_free_memory_bytes", "LessThanThreshold"),
        alarm("CapacityAlarm", "capacity above {database_capacity_percent}% of the maximum ACUs",
              "ACUUtilization", "Maximum", "database_capacity_percent"),
    ]
    # The cluster is named after its stack (lowercase): the graphs show the account's clusters in the region.
    clusters = "{AWS/RDS,DBClusterIdentifier}"
    alerts.watch(stack, "database", alarms, "database: one of its alarms is in ALARM (the message names which)",
                 widgets=(search_widget("Database: busiest CPU % and capacity used %", clusters,
                                        ("CPUUtilization", "ACUUtilization"), "Maximum"),
                          search_widget("Database: connections", clusters, ("DatabaseConnections",), "Maximum")))


def attachment(app: AppSpec, outputs: DatabaseOutputs) -> Attachment:
    """What a service that uses the database gets (docs/database.md, "Services that use the database"): the writer's
    host, the port and the database name as variables; the master user's name and password from the RDS-managed
    secret as ECS secrets (JSON keys `username`, `password`: the execution role reads that secret when a task starts,
    and Secrets Manager decrypts it with the database key); ingress on the database's group from the service's group
    on the port. The task role needs nothing: the credentials are the way in."""
    db = app.database
    assert db is not None
    return Attachment(
        NAME, environment={"DB_HOST": outputs.endpoint, "DB_PORT": db.listen_port, "DB_NAME": db.name},
        secrets={"DB_USER": SecretSource(outputs.secret_arn, "username"),
                 "DB_PASSWORD": SecretSource(outputs.secret_arn, "password")},
        grants={"read-write": lambda ref: []},
        ingress=Ingress(outputs.security_group_id, db.listen_port))


def _scheduled_stop_and_start(stack: StackBuilder, cluster: rds.DBCluster, environment: EnvInputs[EnvironmentCore],
                              off_hours: EnvInputs[OffHoursSpec]) -> None:
    """Outside production, with `off_hours`: stop the cluster at the stop time and start it at the start time, with
    EventBridge Scheduler's universal target for the RDS API (StopDBCluster, StartDBCluster)."""
    stop = off_hours.input(stack, "stop")
    stack.template.add_condition(OFF_HOURS, And(Equals(environment.input(stack, "production"), "false"),
                                                Not(Equals(stop, ""))))
    cluster_arn = GetAtt(cluster, "DBClusterArn")
    role = stack.add(iam.Role(
        "OffHoursRole", Condition=OFF_HOURS, AssumeRolePolicyDocument=assume_role("scheduler.amazonaws.com"),
        Policies=[iam.Policy(PolicyName="stop-and-start-the-database",
                             PolicyDocument=stop_and_start_cluster(cluster_arn))]))
    zone = off_hours.input(stack, "timezone")
    for verb, action, when in (("Stop", "stopDBCluster", stop),
                               ("Start", "startDBCluster", off_hours.input(stack, "start"))):
        stack.add(scheduler.Schedule(
            f"{verb}Schedule", Condition=OFF_HOURS, Name=naming.physical_name("db", verb.lower()),
            Description=Sub(f"{verb}s the ${{Application}}-${{EnvironmentName}} database (off_hours)"),
            ScheduleExpression=when, ScheduleExpressionTimezone=zone,
            FlexibleTimeWindow=scheduler.FlexibleTimeWindow(Mode="OFF"),
            Target=scheduler.Target(
                Arn=Sub(f"arn:${{AWS::Partition}}:scheduler:::aws-sdk:rds:{action}"), RoleArn=GetAtt(role, "Arn"),
                Input=Join("", ['{"DbClusterIdentifier": "', Ref(cluster), '"}']))))
