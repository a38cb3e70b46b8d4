"""A cache's nested stack: an ElastiCache replication group (Valkey or Redis OSS) in the private subnets, TLS
required, an auth token Secrets Manager generates (the template holds only a dynamic reference to it), encryption
at rest with its own KMS key, a security group services are let into on 6379, and automatic failover with Multi-AZ
when an environment runs two nodes or more. DeletionPolicy Snapshot (its type's facts): a deleted or replaced cache
leaves a final snapshot."""
from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from troposphere import Equals, GetAtt, If, Not, Ref, Sub, ec2, elasticache, secretsmanager

from generator import naming
from generator.components import stores
from generator.components.attachments import Attachment, Ingress, SecretSource
from generator.components.base import EnvInputs
from generator.components.cache.spec import MAX_NODES, PORT, CacheEnv
from generator.components.monitoring import MonitoringOutputs, math_alarm, metric, search_widget
from generator.wiring import OutputRef, StackBuilder

if TYPE_CHECKING:
    from generator.config import AppSpec
    from generator.components.cache.spec import CacheSpec
    from generator.components.network import NetworkOutputs

REPLICATED = "Replicated"
FIVE_MINUTES = 5
TOKEN_KEY = "token"


URL_SUFFIX = "_URL"
TOKEN_SUFFIX = "_AUTH_TOKEN"


class CacheOutputs(NamedTuple):
    attachment: Attachment
    url: OutputRef
    host: OutputRef
    port: OutputRef
    security_group_id: OutputRef
    secret_arn: OutputRef
    key_arn: OutputRef


def transit_mode(cache: CacheSpec) -> dict:
    """`TransitEncryptionMode: required` where the engine has transit encryption modes: Valkey 7.2 and later, Redis OSS
    7.0 and later ("ElastiCache supports online TLS migration only for clusters with Valkey version 7.2 and above or
    Redis OSS version 7.0 or above", https://docs.aws.amazon.com/AmazonElastiCache/latest/red-ug/
    in-transit-encryption-enable-python.html). On Redis OSS 6.2 encryption in transit, once enabled, is the only way
    in, and the mode is left out."""
    major = int(cache.version.split(".")[0])
    return {"TransitEncryptionMode": "required"} if cache.engine == "valkey" or major >= 7 else {}


def build(app: AppSpec, cache: CacheSpec, stack: StackBuilder, env: EnvInputs[CacheEnv], *,
          net: NetworkOutputs, alerts: MonitoringOutputs) -> CacheOutputs:
    t = stack.template
    settings = {field: env.input(stack, field) for field in env.settings}
    t.add_condition(REPLICATED, Not(Equals(settings["nodes"], "1")))
    _, key_arn = stores.store_key(stack, f"{cache.name} cache and its auth token")
    secret = stack.add(secretsmanager.Secret(
        "AuthToken", Name=naming.physical_name("cache", cache.name, "auth"), KmsKeyId=key_arn,
        Description=f"Auth token of the {cache.name} cache (generated; never in a template or parameter file)",
        # ElastiCache auth tokens: 16-128 printable characters without / " @; letters and digits only is safe.
        GenerateSecretString=secretsmanager.GenerateSecretString(
            SecretStringTemplate="{}", GenerateStringKey=TOKEN_KEY, PasswordLength=64, ExcludePunctuation=True),
        Metadata={"checkov": {"skip": [{"id": "CKV2_AWS_57", "comment": (
            "Rotating an ElastiCache auth token needs a ModifyReplicationGroup with the ROTATE strategy and a "
            "client-side rollover; a rotation Lambda for it is not part of the generator yet.")}]}}))
    group = stack.add(ec2.SecurityGroup(
        "SecurityGroup", GroupDescription=f"The {cache.name} cache, from the services that use it",
        VpcId=stack.input(net.vpc_id),
        SecurityGroupEgress=[ec2.SecurityGroupRule(IpProtocol="icmp", FromPort=-1, ToPort=-1, CidrIp="127.0.0.1/32",
                                                   Description="No egress")]))
    subnets = stack.add(elasticache.SubnetGroup(
        "SubnetGroup", CacheSubnetGroupName=naming.physical_name(cache.name),
        Description=f"Private subnets of the {cache.name} cache", SubnetIds=stack.input(net.private_subnet_ids)))
    group_resource = stack.add(elasticache.ReplicationGroup(
        "ReplicationGroup", ReplicationGroupDescription=f"{cache.name} cache",
        Engine=cache.engine, EngineVersion=cache.version, CacheNodeType=settings["node_type"],
        NumCacheClusters=settings["nodes"], Port=PORT,
        AutomaticFailoverEnabled=If(REPLICATED, True, False), MultiAZEnabled=If(REPLICATED, True, False),
        TransitEncryptionEnabled=True, **transit_mode(cache),
        AuthToken=Sub(f"{{{{resolve:secretsmanager:${{Secret}}:SecretString:{TOKEN_KEY}}}}}", Secret=Ref(secret)),
        AtRestEncryptionEnabled=True, KmsKeyId=key_arn, CacheSubnetGroupName=Ref(subnets),
        SecurityGroupIds=[GetAtt(group, "GroupId")], SnapshotRetentionLimit=settings["snapshot_retention_days"],
        AutoMinorVersionUpgrade=True))
    _watch(app, cache, stack, group_resource, alerts)
    what = f"the {cache.name} cache"
    host = GetAtt(group_resource, "PrimaryEndPoint.Address")
    port = GetAtt(group_resource, "PrimaryEndPoint.Port")
    url = stack.output("Url", Sub("rediss://${Host}:${Port}", Host=host, Port=port),
                       f"URL of {what} (TLS; the auth token is a separate secret)")
    group_id = stack.output("SecurityGroupId", GetAtt(group, "GroupId"), f"Security group of {what}",
                            "AWS::EC2::SecurityGroup::Id")
    secret_arn = stack.output("AuthTokenSecretArn", Ref(secret), f"Secret holding {what}'s auth token")
    return CacheOutputs(
        attachment=Attachment(
            cache.name, environment={stores.variable(cache.name, URL_SUFFIX): url},
            secrets={stores.variable(cache.name, TOKEN_SUFFIX): SecretSource(secret_arn, TOKEN_KEY)},
            # Access is the token and the network path; the cache's data-plane API takes no IAM grant.
            grants={"read-write": lambda ref: []}, ingress=Ingress(group_id, PORT)),
        url=url,
        host=stack.output("Host", host, f"Primary endpoint of {what}", public=True),
        port=stack.output("Port", port, f"Port of {what}"),
        security_group_id=group_id, secret_arn=secret_arn,
        key_arn=stack.output("KeyArn", key_arn, f"KMS key of {what} and its auth token"))


def _watch(app: AppSpec, cache: CacheSpec, stack: StackBuilder, group: elasticache.ReplicationGroup,
           alerts: MonitoringOutputs) -> None:
    """The cache's alarms (docs/monitoring.md): the engine's CPU, memory used and evictions, each the worst of its
    nodes over three five-minute windows, all breaching. ElastiCache publishes per node, by CacheClusterId: the
    members of a replication group are `<group id>-001` to `-00<n>` ("Metrics for Valkey and Redis OSS", ElastiCache
    User Guide); a node an environment does not run sends nothing (FILL 0)."""
    subject = f"cache-{cache.name}"

    def worst(name: str, stat: str, title: str, what: str, threshold: str):
        nodes = {f"n{i}": metric(name, "AWS/ElastiCache", stat, {"CacheClusterId": Sub(
            f"${{Group}}-{i:03d}", Group=Ref(group))}, FIVE_MINUTES * 60) for i in range(1, MAX_NODES + 1)}
        return stack.add(math_alarm(
            title, alerts.text(stack, f"{subject}: {what} for 15 minutes"), nodes,
            "MAX([" + ", ".join(f"FILL({k}, 0)" for k in nodes) + "])", alerts.text(stack, what),
            threshold=alerts.limit(stack, threshold), periods=3))

    alarms = [
        worst("EngineCPUUtilization", "Maximum", "CpuAlarm",
              "the engine's CPU above {cache_cpu_percent}% on a node", "cache_cpu_percent"),
        worst("DatabaseMemoryUsagePercentage", "Maximum", "MemoryAlarm",
              "memory used above {cache_memory_percent}% on a node", "cache_memory_percent"),
        worst("Evictions", "Sum", "EvictionsAlarm",
              "over {cache_evictions} keys evicted per 5 minutes on a node", "cache_evictions"),
    ]
    # The replication group is named by CloudFormation: the graph shows the account's cache nodes in the region.
    nodes = "{AWS/ElastiCache,CacheClusterId}"
    alerts.watch(stack, subject, alarms, f"{subject}: one of its alarms is in ALARM (the message names which)",
                 widgets=(search_widget(f"Cache {cache.name}: engine CPU % and memory used %", nodes,
                                        ("EngineCPUUtilization", "DatabaseMemoryUsagePercentage"), "Maximum"),))
