"""The resource types the database stack creates, and what the rest of the system must know about each."""
from __future__ import annotations

from generator import stateful
from generator.components import monitoring, shared
from generator.components.base import TypeFacts, Verifier
from generator.policies.cfn_actions import arn
from generator.policies.grants import Grant, grant


def databases(each, envs: list[str]) -> list[Grant]:
    """The RDS handlers' actions (registry schemas of AWS::RDS::DBCluster, DBInstance, DBSubnetGroup,
    DBClusterParameterGroup, DBParameterGroup), on the RDS resources of the account and region (`cluster:*`, `db:*`,
    `subgrp:*`, `cluster-pg:*`, `pg:*`, `cluster-snapshot:*`), not on `<app>-<env>-*` names: the cluster, its
    instances and its parameter groups have no name of their own (a restore or an engine upgrade must be able to
    replace them; CloudFormation cannot replace a resource with a custom name), so CloudFormation generates
    `<stack name>-<logical id>-<random>` cut to RDS's 63 characters, and for long app and environment names the cut
    keeps nothing of the prefix (tests/test_generated_names.py). The role is the environments' own, in their
    account; the final snapshot CloudFormation takes on delete is named after the logical id as well."""
    return [
        grant("ManageDatabaseClusters", "rds:CreateDBCluster rds:ModifyDBCluster rds:DeleteDBCluster "
              "rds:AddTagsToResource rds:RemoveTagsFromResource rds:ListTagsForResource "
              "rds:RestoreDBClusterFromSnapshot rds:RestoreDBClusterToPointInTime rds:CreateDBInstance "
              "rds:CreateDBClusterSnapshot rds:AddRoleToDBCluster rds:RemoveRoleFromDBCluster "
              "rds:EnableHttpEndpoint rds:DisableHttpEndpoint rds:RemoveFromGlobalCluster",
              arn("rds", "cluster:*")),
        grant("ManageDatabaseInstances", "rds:CreateDBInstance rds:ModifyDBInstance rds:DeleteDBInstance "
              "rds:RebootDBInstance rds:AddTagsToResource rds:RemoveTagsFromResource rds:ListTagsForResource "
              "rds:CreateDBSnapshot rds:AddRoleToDBInstance rds:RemoveRoleFromDBInstance "
              "rds:CreateDBInstanceReadReplica rds:PromoteReadReplica rds:RestoreDBInstanceFromDBSnapshot "
              "rds:RestoreDBInstanceToPointInTime rds:StartDBInstanceAutomatedBackupsReplication "
              "rds:StopDBInstanceAutomatedBackupsReplication",
              arn("rds", "db:*")),
        grant("ManageDatabaseGroups", "rds:CreateDBSubnetGroup rds:ModifyDBSubnetGroup rds:DeleteDBSubnetGroup "
              "rds:CreateDBClusterParameterGroup rds:ModifyDBClusterParameterGroup rds:DeleteDBClusterParameterGroup "
              "rds:ResetDBClusterParameterGroup rds:CreateDBParameterGroup rds:ModifyDBParameterGroup "
              "rds:DeleteDBParameterGroup rds:ResetDBParameterGroup rds:AddTagsToResource "
              "rds:RemoveTagsFromResource rds:ListTagsForResource rds:CreateDBCluster rds:CreateDBInstance "
              "rds:ModifyDBCluster rds:ModifyDBInstance rds:RestoreDBClusterFromSnapshot",
              [arn("rds", "subgrp:*"), arn("rds", "cluster-pg:*"), arn("rds", "pg:*")]),
        grant("UseDatabaseSnapshots", "rds:CreateDBClusterSnapshot rds:RestoreDBClusterFromSnapshot "
              "rds:AddTagsToResource", arn("rds", "cluster-snapshot:*")),
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
    **monitoring.TYPES_FOR_WATCHERS,   # its alarms and composite alarm (docs/monitoring.md)
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
