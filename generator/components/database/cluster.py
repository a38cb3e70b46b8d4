"""The Aurora Serverless v2 cluster and what it stands on: its KMS key, security group, subnet group and parameter
groups (docs/database.md, "What database.yaml creates")."""
from __future__ import annotations

from typing import NamedTuple

from troposphere import Equals, GetAtt, If, Not, NoValue, Ref, Sub, ec2, kms, rds

from generator.components.base import EnvInputs
from generator.components.database import engines
from generator.components.database.spec import DatabaseEnv, DatabaseSpec
from generator.components.network import NetworkOutputs
from generator.policies.kms import database_key_policy
from generator.wiring import StackBuilder

RESTORING = "Restoring"
AUTO_PAUSE = "AutoPause"            # MinCapacity 0: an idle instance pauses
PERFORMANCE_INSIGHTS = "PerformanceInsights"
MASTER_USERNAME = "app_admin"
# What each engine exports to CloudWatch Logs (the MySQL audit log needs server_audit_logging, set below).
LOG_EXPORTS = {"aurora-postgresql": ["postgresql"], "aurora-mysql": ["audit", "error", "slowquery"]}
CLUSTER_PARAMETERS = {
    "aurora-postgresql": {"rds.force_ssl": "1", "log_min_duration_statement": "1000"},
    "aurora-mysql": {"require_secure_transport": "ON", "server_audit_logging": "1",
                     "server_audit_events": "CONNECT,QUERY_DCL,QUERY_DDL", "slow_query_log": "1", "long_query_time": "1"},
}


class Cluster(NamedTuple):
    cluster: rds.DBCluster
    key: kms.Key
    group: ec2.SecurityGroup
    instance_parameters: rds.DBParameterGroup


def build_cluster(db: DatabaseSpec, stack: StackBuilder, env: EnvInputs[DatabaseEnv], net: NetworkOutputs) -> Cluster:
    t = stack.template
    restore_from = env.input(stack, "restore_from")
    t.add_condition(RESTORING, Not(Equals(restore_from, "")))
    min_capacity = env.input(stack, "min_capacity")
    t.add_condition(AUTO_PAUSE, Equals(min_capacity, "0"))
    # Here rather than in instances.py, which uses it: the order of these inputs is the order of the parameters.
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
    return Cluster(cluster, key, group, instance_parameters)
