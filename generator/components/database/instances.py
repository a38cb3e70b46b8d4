"""The cluster's members: a writer and up to MAX_READERS readers (`db.serverless`), each reader a Condition on the
environment's `Readers`.

Zones: in a VPC of our own the writer is placed in the first private subnet's zone and the first reader in the
second's, so a reader survives the loss of the writer's zone and takes over (promotion tier 1); the second reader
joins the writer's zone. RDS would otherwise pick a zone at random for each instance ("Default: A random,
system-chosen Availability Zone", AWS::RDS::DBInstance AvailabilityZone), possibly the writer's. In an existing
VPC the subnets' zones cannot be looked up by a template (Fn::GetAZs lists the region's zones, not the subnets'),
so RDS picks. AvailabilityZone is not create-only in the registry schema (no replacement when it is added), and
ModifyDBInstance takes no zone: an instance created before stays where it is (docs/database.md)."""
from __future__ import annotations

from troposphere import Equals, GetAtt, If, Not, NoValue, Ref, rds

from generator.components.base import EnvInputs
from generator.components.database.cluster import PERFORMANCE_INSIGHTS, Cluster
from generator.components.database.spec import MAX_READERS, DatabaseEnv, DatabaseSpec
from generator.wiring import OutputRef, StackBuilder


def build_instances(db: DatabaseSpec, stack: StackBuilder, env: EnvInputs[DatabaseEnv], built: Cluster,
                    zones: tuple[OutputRef, ...]) -> None:
    t = stack.template
    cluster, key = built.cluster, built.key
    instance_parameters = built.instance_parameters
    readers = env.input(stack, "readers")
    t.add_condition("HasReader1", Not(Equals(readers, "0")))
    t.add_condition("HasReader2", Equals(readers, "2"))
    assert MAX_READERS == 2, "one HasReader<n> condition per possible reader"
    for index, title in enumerate(["Writer"] + [f"Reader{n}" for n in range(1, MAX_READERS + 1)]):
        # writer: zone 1, Reader1: zone 2, Reader2: zone 1; none in an existing VPC
        zone = {"AvailabilityZone": stack.input(zones[index % 2])} if len(zones) >= 2 else {}
        stack.add(rds.DBInstance(
            title, Engine=db.engine, DBClusterIdentifier=Ref(cluster), DBInstanceClass="db.serverless",
            DBParameterGroupName=Ref(instance_parameters), PromotionTier=min(index, 1),
            PubliclyAccessible=False, AutoMinorVersionUpgrade=True, **zone,
            EnablePerformanceInsights=If(PERFORMANCE_INSIGHTS, True, False),
            PerformanceInsightsKMSKeyId=If(PERFORMANCE_INSIGHTS, GetAtt(key, "Arn"), NoValue),
            PerformanceInsightsRetentionPeriod=If(PERFORMANCE_INSIGHTS, 7, NoValue),
            **({"Condition": f"HasReader{index}"} if index else {}),
            Metadata={"checkov": {"skip": [{"id": "CKV_AWS_118", "comment": (
                "Enhanced Monitoring (per-second OS metrics, a monitoring role, billed as CloudWatch Logs) is left "
                "to the operator; CloudWatch's RDS metrics and Performance Insights (on in production) cover "
                "capacity and load")}]}}))
