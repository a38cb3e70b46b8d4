"""The resource types the database stack creates, and what the rest of the system must know about each."""
from __future__ import annotations

from generator import stateful
from generator.components import shared
from generator.components.base import TypeFacts, Verifier
from generator.policies.cfn_actions import arn
from generator.policies.grants import Grant, grant


def databases(each, envs: list[str]) -> list[Grant]:
    """The RDS handlers' actions (registry schemas of AWS::RDS::DBCluster, DBInstance, DBSubnetGroup,
    DBClusterParameterGroup, DBParameterGroup), scoped to the names the database stack chooses: the cluster
    `<app>-<env>-db`, its snapshots `<app>-<env>-*` (the final snapshot CloudFormation takes on delete is named
    after the stack's logical id, so any snapshot name is allowed for create and describe). Instances, subnet groups
    and parameter groups get names CloudFormation generates from the stack name (`<app>-<env>-database-...`,
    lowercased)."""
    return [
        grant("ManageDatabaseClusters", "rds:CreateDBCluster rds:ModifyDBCluster rds:DeleteDBCluster "
              "rds:AddTagsToResource rds:RemoveTagsFromResource rds:ListTagsForResource "
              "rds:RestoreDBClusterFromSnapshot rds:RestoreDBClusterToPointInTime rds:CreateDBInstance "
              "rds:CreateDBClusterSnapshot rds:AddRoleToDBCluster rds:RemoveRoleFromDBCluster "
              "rds:EnableHttpEndpoint rds:DisableHttpEndpoint rds:RemoveFromGlobalCluster",
              each("cluster:${Application}-{env}-*", "rds")),
        grant("ManageDatabaseInstances", "rds:CreateDBInstance rds:ModifyDBInstance rds:DeleteDBInstance "
              "rds:RebootDBInstance rds:AddTagsToResource rds:RemoveTagsFromResource rds:ListTagsForResource "
              "rds:CreateDBSnapshot rds:AddRoleToDBInstance rds:RemoveRoleFromDBInstance "
              "rds:CreateDBInstanceReadReplica rds:PromoteReadReplica rds:RestoreDBInstanceFromDBSnapshot "
              "rds:RestoreDBInstanceToPointInTime rds:StartDBInstanceAutomatedBackupsReplication "
              "rds:StopDBInstanceAutomatedBackupsReplication",
              each("db:${Application}-{env}-*", "rds")),
        grant("ManageDatabaseGroups", "rds:CreateDBSubnetGroup rds:ModifyDBSubnetGroup rds:DeleteDBSubnetGroup "
              "rds:CreateDBClusterParameterGroup rds:ModifyDBClusterParameterGroup rds:DeleteDBClusterParameterGroup "
              "rds:ResetDBClusterParameterGroup rds:CreateDBParameterGroup rds:ModifyDBParameterGroup "
              "rds:DeleteDBParameterGroup rds:ResetDBParameterGroup rds:AddTagsToResource "
              "rds:RemoveTagsFromResource rds:ListTagsForResource rds:CreateDBCluster rds:CreateDBInstance "
              "rds:ModifyDBCluster rds:ModifyDBInstance rds:RestoreDBClusterFromSnapshot",
              each("subgrp:${Application}-{env}-*", "rds") + each("cluster-pg:${Application}-{env}-*", "rds")
              + each("pg:${Application}-{env}-*", "rds")),
        grant("UseDatabaseSnapshots", "rds:CreateDBClusterSnapshot rds:RestoreDBClusterFromSnapshot "
              "rds:AddTagsToResource", each("cluster-snapshot:*", "rds")),
        grant("ReadDatabases", "rds:Describe* ec2:DescribeAccountAttributes ec2:DescribeAvailabilityZones "
              "ec2:DescribeInternetGateways ec2:DescribeSecurityGroups ec2:DescribeSubnets ec2:DescribeVpcAttribute "
              "ec2:DescribeVpcs iam:ListRoles",
              why_any="RDS describe calls (engine versions, events, snapshots, parameters) and the EC2 reads of the "
                      "RDS handlers take no resource ARN, or one AWS generates"),
        # ManageMasterUserPassword: RDS creates the secret `rds!cluster-<uuid>` with the caller's rights.
        grant("CreateManagedSecrets", "secretsmanager:CreateSecret secretsmanager:TagResource",
              arn("secretsmanager", "secret:rds!cluster-*")),
    ]


def _member_instance(properties) -> tuple[str, str] | None:
    return stateful.MEMBER_INSTANCE if properties.get("DBClusterIdentifier") is not None else None


def _cluster_exists(client, physical: str) -> bool:
    return bool(client("rds").describe_db_clusters(DBClusterIdentifier=physical)["DBClusters"])


def _instance_exists(client, physical: str) -> bool:
    return bool(client("rds").describe_db_instances(DBInstanceIdentifier=physical)["DBInstances"])


TYPES = {
    **shared.pick("AWS::KMS::Key", "AWS::EC2::SecurityGroup", "AWS::IAM::Role", "AWS::Scheduler::Schedule"),
    "AWS::RDS::DBCluster": TypeFacts(stateful=True, snapshot_on_delete=True, cfn_grants=databases,
                                     service_linked=("rds.amazonaws.com",),
                                     verify=Verifier("DescribeDBClusters", _cluster_exists)),
    # Delete, not Snapshot, for a member of a cluster: its data is the cluster's (generator/stateful.py).
    "AWS::RDS::DBInstance": TypeFacts(stateful=True, snapshot_on_delete=True, cfn_grants=databases,
                                      service_linked=("rds.amazonaws.com",), policy_override=_member_instance,
                                      verify=Verifier("DescribeDBInstances", _instance_exists)),
    "AWS::RDS::DBSubnetGroup": TypeFacts(cfn_grants=databases, service_linked=("rds.amazonaws.com",)),
    "AWS::RDS::DBClusterParameterGroup": TypeFacts(cfn_grants=databases, service_linked=("rds.amazonaws.com",)),
    "AWS::RDS::DBParameterGroup": TypeFacts(cfn_grants=databases, service_linked=("rds.amazonaws.com",)),
}
