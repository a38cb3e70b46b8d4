"""The cluster's members: a writer and up to MAX_READERS readers (`db.serverless`), each reader a Condition on the
environment's `Readers`."""
from __future__ import annotations

from troposphere import Equals, GetAtt, If, Not, NoValue, Ref, rds

from generator.components.base import EnvInputs
from generator.components.database.cluster import PERFORMANCE_INSIGHTS, Cluster
from generator.components.database.spec import MAX_READERS, DatabaseEnv, DatabaseSpec
from generator.wiring import StackBuilder


def build_instances(db: DatabaseSpec, stack: StackBuilder, env: EnvInputs[DatabaseEnv], built: Cluster) -> None:
    t = stack.template
    cluster, key = built.cluster, built.key
    instance_parameters = built.instance_parameters
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
