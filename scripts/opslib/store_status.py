"""`make status`, the data stores (docs/operations.md): each cache's replication group status, each queue's depth
(waiting, in flight) and its dead-letter queue's count, each table's status and item count, each file system's
lifecycle state. Buckets have no state to show. A store is found through the root stack: its re-exported outputs
(queue URL, dead-letter queue name, table name, file system id), or, for the cache (whose replication group id only
its nested stack knows), the nested stack's `ReplicationGroup` resource."""
from __future__ import annotations

from collections.abc import Callable

from botocore.exceptions import ClientError

from generator import naming
from generator.components.cache import COMPONENT as CACHE
from generator.components.filesystem import COMPONENT as FILE_SYSTEM
from generator.components.queue import COMPONENT as QUEUE
from generator.components.table import COMPONENT as TABLE
from scripts.opslib.context import Ops

NOT_DEPLOYED = "not deployed yet (`{make}` creates it)"
DEPTH = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]


def output(ops: Ops, component, name: str, key: str) -> str | None:
    return ops.outputs().get(naming.root_output(component.logical_id(name), key)) or None


def cache(ops: Ops, name: str) -> str:
    cfn = ops.client("cloudformation")
    try:
        nested = cfn.describe_stack_resource(StackName=ops.stack, LogicalResourceId=CACHE.logical_id(name))
        group_id = cfn.describe_stack_resource(
            StackName=nested["StackResourceDetail"]["PhysicalResourceId"],
            LogicalResourceId="ReplicationGroup")["StackResourceDetail"].get("PhysicalResourceId")
    except ClientError as error:
        if error.response["Error"]["Code"] != "ValidationError":   # "Resource ... does not exist for stack"
            raise
        group_id = None
    if not group_id:
        return NOT_DEPLOYED.format(make=ops.make("deploy"))
    group = ops.client("elasticache").describe_replication_groups(
        ReplicationGroupId=group_id)["ReplicationGroups"][0]
    nodes = len(group.get("MemberClusters", []))
    return f"{group_id}: {group.get('Status', '?')} ({nodes} node{'s' if nodes != 1 else ''}, " \
           f"{group.get('CacheNodeType', '?')})"


def queue(ops: Ops, name: str) -> str:
    url, dead = output(ops, QUEUE, name, "QueueUrl"), output(ops, QUEUE, name, "DeadLetterQueueName")
    if not url or not dead:
        return NOT_DEPLOYED.format(make=ops.make("deploy"))
    sqs = ops.client("sqs")
    depth = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=DEPTH)["Attributes"]
    dead_url = sqs.get_queue_url(QueueName=dead)["QueueUrl"]
    failed = int(sqs.get_queue_attributes(QueueUrl=dead_url, AttributeNames=DEPTH[:1])["Attributes"].get(
        DEPTH[0], "0"))
    line = (f"{url.rsplit('/', 1)[-1]}: {depth.get(DEPTH[0], '0')} waiting, {depth.get(DEPTH[1], '0')} in flight; "
            f"dead-letter queue {dead}: {failed}")
    return line + (" (messages that failed every receive: inspect them, then redrive or purge)" if failed else "")


def table(ops: Ops, name: str) -> str:
    table_name = output(ops, TABLE, name, "TableName")
    if not table_name:
        return NOT_DEPLOYED.format(make=ops.make("deploy"))
    described = ops.client("dynamodb").describe_table(TableName=table_name)["Table"]
    return f"{table_name}: {described.get('TableStatus', '?')} (about {described.get('ItemCount', 0)} items)"


def file_system(ops: Ops, name: str) -> str:
    fs_id = output(ops, FILE_SYSTEM, name, "FileSystemId")
    if not fs_id:
        return NOT_DEPLOYED.format(make=ops.make("deploy"))
    fs = ops.client("efs").describe_file_systems(FileSystemId=fs_id)["FileSystems"][0]
    size = (fs.get("SizeInBytes") or {}).get("Value", 0)
    return (f"{fs_id}: {fs.get('LifeCycleState', '?')} ({fs.get('NumberOfMountTargets', 0)} mount targets, "
            f"{size / 2**20:.1f} MiB)")


READERS: list[tuple[str, str, Callable[[Ops, str], str]]] = [
    ("caches", "cache", cache), ("queues", "queue", queue), ("tables", "table", table),
    ("file_systems", "file system", file_system)]


def lines(ops: Ops) -> list[str]:
    """One line per cache, queue, table and file system of the app, in that order."""
    found = []
    for key, word, read in READERS:
        for store in getattr(ops.target.app, key):
            found.append(f"  {word} {store.name}: {read(ops, store.name)}")
    return found
