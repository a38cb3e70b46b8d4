"""A table's nested stack: a DynamoDB table on demand, with point-in-time recovery, its own KMS key, and the TTL and
stream the spec asks for. Deletion protection is a per-environment setting (on in production by default); the
table's policies (RetainExceptOnCreate, Retain) come from its type's facts."""
from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from troposphere import Equals, GetAtt, If, Ref, Sub, dynamodb

from generator import naming
from generator.components import stores
from generator.components.attachments import Attachment
from generator.components.base import EnvInputs
from generator.components.table.spec import STREAM_VIEWS, TableEnv
from generator.components.monitoring import MonitoringOutputs, math_alarm, metric, search_widget
from generator.wiring import OutputRef, StackBuilder

if TYPE_CHECKING:
    from generator.config import AppSpec
    from generator.components.table.spec import TableSpec

PROTECTED = "DeletionProtected"
FIVE_MINUTES = 5


NAME_SUFFIX = "_TABLE"


class TableOutputs(NamedTuple):
    attachment: Attachment
    name: OutputRef
    arn: OutputRef
    key_arn: OutputRef
    stream_arn: OutputRef | None


def build(app: AppSpec, table: TableSpec, stack: StackBuilder, env: EnvInputs[TableEnv], *,
          alerts: MonitoringOutputs) -> TableOutputs:
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
    _watch(app, table, stack, resource, alerts)
    what = f"the {table.name} table"
    name = stack.output("TableName", Ref(resource), f"Name of {what}", public=True)
    arn = stack.output("TableArn", GetAtt(resource, "Arn"), f"ARN of {what}")
    key = stack.output("KeyArn", key_arn, f"KMS key of {what}")
    stream = stack.output("StreamArn", GetAtt(resource, "StreamArn"), f"Stream of {what}") if table.stream else None
    return TableOutputs(attachment(table, name, arn, key, stream), name, arn, key, stream)


READS = ("dynamodb:GetItem dynamodb:BatchGetItem dynamodb:Query dynamodb:Scan dynamodb:ConditionCheckItem "
         "dynamodb:DescribeTable")
WRITES = ("dynamodb:PutItem dynamodb:UpdateItem dynamodb:DeleteItem dynamodb:BatchWriteItem "
          "dynamodb:ConditionCheckItem dynamodb:DescribeTable")
STREAM_READS = "dynamodb:DescribeStream dynamodb:GetRecords dynamodb:GetShardIterator"


def attachment(table: TableSpec, name: OutputRef, arn: OutputRef, key: OutputRef,
               stream: OutputRef | None) -> Attachment:
    """`<NAME>_TABLE`; `read`: item reads and queries (its indexes, and its stream when it has one); `write`: item
    writes; `read-write`: both. DynamoDB uses the table's key on the caller's behalf, so each mode includes the key's
    use (decrypt to read, data keys to write)."""
    def grants(reads: bool, writes: bool):
        def statements(ref):
            table_arn = ref(arn)
            found = []
            if reads:
                found.append(stores.allow("Read", READS, table_arn, Sub("${Arn}/index/*", Arn=table_arn)))
                if stream is not None:
                    found.append(stores.allow("ReadStream", STREAM_READS, ref(stream)))
            if writes:
                found.append(stores.allow("Write", WRITES, table_arn))
            found.append(stores.allow("Key", "kms:Decrypt kms:DescribeKey" + (
                " kms:Encrypt kms:GenerateDataKey" if writes else ""), ref(key)))
            return found
        return statements

    return Attachment(table.name, environment={stores.variable(table.name, NAME_SUFFIX): name},
                      grants={"read": grants(True, False), "write": grants(False, True),
                              "read-write": grants(True, True)})


def _watch(app: AppSpec, table: TableSpec, stack: StackBuilder, resource: dynamodb.Table,
           alerts: MonitoringOutputs) -> None:
    """The table's alarm (docs/monitoring.md): read and write throttle events above `table_throttle_events` per five
    minutes in two of three windows. AWS/DynamoDB ReadThrottleEvents and WriteThrottleEvents by TableName (they count
    the table's and its indexes' throttled requests; ThrottledRequests needs an Operation dimension too): "DynamoDB
    metrics and dimensions", DynamoDB Developer Guide."""
    subject = f"table-{table.name}"
    where = {"TableName": Ref(resource)}
    events = {k: metric(n, "AWS/DynamoDB", "Sum", where, FIVE_MINUTES * 60)
              for k, n in (("reads", "ReadThrottleEvents"), ("writes", "WriteThrottleEvents"))}
    alarms = [stack.add(math_alarm(
        "ThrottlesAlarm", alerts.text(stack, f"{subject}: over {{table_throttle_events}} throttled reads and writes "
                                             "per 5 minutes, in 2 of 3 windows"),
        events, "FILL(reads, 0) + FILL(writes, 0)", "throttle events",
        threshold=alerts.limit(stack, "table_throttle_events"), periods=3, datapoints=2))]
    name = "${Application}-${EnvironmentName}-" + table.name
    alerts.watch(stack, subject, alarms, f"{subject}: it throttles reads or writes",
                 widgets=(search_widget(f"Table {table.name}: throttle events", "{AWS/DynamoDB,TableName}",
                                        ("ReadThrottleEvents", "WriteThrottleEvents"), "Sum",
                                        f'TableName="{name}"'),))
