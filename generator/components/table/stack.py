"""A table's nested stack: a DynamoDB table on demand, with point-in-time recovery, its own KMS key, and the TTL and
stream the spec asks for. Deletion protection is a per-environment setting (on in production by default); the
table's policies (RetainExceptOnCreate, Retain) come from its type's facts."""
from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from troposphere import Equals, GetAtt, If, Ref, dynamodb

from generator import naming
from generator.components import stores
from generator.components.base import EnvInputs
from generator.components.table.spec import STREAM_VIEWS, TableEnv
from generator.wiring import OutputRef, StackBuilder

if TYPE_CHECKING:
    from generator.config import AppSpec
    from generator.components.table.spec import TableSpec

PROTECTED = "DeletionProtected"


class TableOutputs(NamedTuple):
    name: OutputRef
    arn: OutputRef
    key_arn: OutputRef
    stream_arn: OutputRef | None


def build(app: AppSpec, table: TableSpec, stack: StackBuilder, env: EnvInputs[TableEnv]) -> TableOutputs:
    _, key_arn = stores.store_key(stack, f"{table.name} table")
    stack.template.add_condition(PROTECTED, Equals(env.input(stack, "deletion_protection"), "true"))
    keys = [(table.partition_key, "HASH")] + ([(table.sort_key, "RANGE")] if table.sort_key else [])
    props: dict = {}
    if table.ttl_attribute:
        props["TimeToLiveSpecification"] = dynamodb.TimeToLiveSpecification(
            AttributeName=table.ttl_attribute, Enabled=True)
    if table.stream:
        props["StreamSpecification"] = dynamodb.StreamSpecification(StreamViewType=STREAM_VIEWS[table.stream])
    resource = stack.add(dynamodb.Table(
        "Table", TableName=naming.physical_name(table.name), BillingMode="PAY_PER_REQUEST",
        KeySchema=[dynamodb.KeySchema(AttributeName=k.name, KeyType=role) for k, role in keys],
        AttributeDefinitions=[dynamodb.AttributeDefinition(AttributeName=k.name, AttributeType=k.type)
                              for k, _ in keys],
        PointInTimeRecoverySpecification=dynamodb.PointInTimeRecoverySpecification(PointInTimeRecoveryEnabled=True),
        SSESpecification=dynamodb.SSESpecification(SSEEnabled=True, SSEType="KMS", KMSMasterKeyId=key_arn),
        DeletionProtectionEnabled=If(PROTECTED, True, False), **props))
    what = f"the {table.name} table"
    return TableOutputs(
        name=stack.output("TableName", Ref(resource), f"Name of {what}", public=True),
        arn=stack.output("TableArn", GetAtt(resource, "Arn"), f"ARN of {what}"),
        key_arn=stack.output("KeyArn", key_arn, f"KMS key of {what}"),
        stream_arn=stack.output("StreamArn", GetAtt(resource, "StreamArn"), f"Stream of {what}")
        if table.stream else None)
