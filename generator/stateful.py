"""Resource types that hold data, and how each is protected. The one place that decides:

- every resource of these types gets an explicit DeletionPolicy and UpdateReplacePolicy (`protect`, applied where
  resources are added: `StackBuilder.add` and the pipeline's `common.add`; tests/test_stateful_policies.py checks
  every generated template);
- the production stack policy denies replacing or deleting them, on the root and on every nested stack
  (generator/params.py, scripts/nested_stack_policy.py);
- deploy previews and the destroy plan flag them (scripts/deploylib).

Policies (CloudFormation user guide, DeletionPolicy and UpdateReplacePolicy attributes):
- `RetainExceptOnCreate` on delete: kept when a stack update removes the resource or the stack is deleted, but
  deleted when the stack operation that created it rolls back, so a failed first deploy leaves no named leftovers
  (log groups, repositories, queues) that would make the retry fail with "already exists" (2023 attribute value;
  "behaves like Retain for stack operations, except for the stack operation that initially created the resource").
  `Snapshot` for the types that support it (databases, caches).
- `Retain` on replacement (UpdateReplacePolicy has no RetainExceptOnCreate): the old physical resource stays when
  an update replaces it. Resources with a fixed name cannot be replaced at all (CloudFormation refuses); the
  production stack policy refuses it first.
- The exception: an Aurora member DBInstance (has DBClusterIdentifier) is `Delete`: its data lives in the cluster,
  which is snapshotted, and the RDS handler rejects a snapshot of a member (project rule E9008); a retained member
  would keep the cluster from being deleted.
"""
from __future__ import annotations

from typing import Any

from troposphere import AWSObject

from generator.errors import WiringError

RETAIN = ("RetainExceptOnCreate", "Retain")    # (DeletionPolicy, UpdateReplacePolicy)
SNAPSHOT = ("Snapshot", "Snapshot")
MEMBER_INSTANCE = ("Delete", "Delete")

POLICIES: dict[str, tuple[str, str]] = {
    "AWS::DynamoDB::Table": RETAIN,
    "AWS::ECR::Repository": RETAIN,
    "AWS::EFS::FileSystem": RETAIN,
    "AWS::ElastiCache::ReplicationGroup": SNAPSHOT,
    "AWS::KMS::Key": RETAIN,          # retained data (logs, images) stays readable only with its key
    "AWS::Logs::LogGroup": RETAIN,
    "AWS::RDS::DBCluster": SNAPSHOT,
    "AWS::RDS::DBInstance": SNAPSHOT,  # a standalone instance; a cluster member: MEMBER_INSTANCE
    "AWS::S3::Bucket": RETAIN,
    "AWS::SQS::Queue": RETAIN,        # a dead-letter queue holds the only record of what failed
    "AWS::SecretsManager::Secret": RETAIN,
}
STATEFUL_TYPES = tuple(sorted(POLICIES))
# What a DeletionPolicy / UpdateReplacePolicy set by hand may be on a stateful resource.
PROTECTIVE = {"DeletionPolicy": ("Retain", "RetainExceptOnCreate", "Snapshot"),
              "UpdateReplacePolicy": ("Retain", "Snapshot")}


def is_stateful(resource_type: str) -> bool:
    return resource_type in POLICIES


def policies(resource_type: str, properties: dict[str, Any]) -> tuple[str, str] | None:
    """(DeletionPolicy, UpdateReplacePolicy) for a resource, or None when its type holds no data."""
    if resource_type == "AWS::RDS::DBInstance" and properties.get("DBClusterIdentifier") is not None:
        return MEMBER_INSTANCE
    return POLICIES.get(resource_type)


def protect(resource: AWSObject) -> None:
    """Give a stateful resource its policies. A policy a stack module states itself must be at least as protective
    (Retain, RetainExceptOnCreate, Snapshot): anything else is a build error, not a quiet data loss."""
    wanted = policies(resource.resource_type, resource.properties)
    if wanted is None:
        return
    for attribute, value in zip(("DeletionPolicy", "UpdateReplacePolicy"), wanted):
        stated = resource.resource.get(attribute)
        if stated is None:
            setattr(resource, attribute, value)
        elif stated != value and (value == "Delete" or stated not in PROTECTIVE[attribute]):
            raise WiringError(f"{resource.title} ({resource.resource_type}) holds data: {attribute} {stated} would "
                              f"lose it; leave it to generator/stateful.py ({value})")
