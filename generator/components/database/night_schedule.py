"""The night-time stop and start of a cluster whose engine version cannot pause at 0 ACUs (docs/database.md,
"Nights: paused or stopped")."""
from __future__ import annotations

from typing import TYPE_CHECKING

from troposphere import And, Equals, GetAtt, Join, Not, Ref, Sub, iam, rds, scheduler

from generator import naming
from generator.components.base import EnvInputs
from generator.components.environment import EnvironmentCore
from generator.policies.common import assume_role
from generator.policies.jobs import stop_and_start_cluster
from generator.wiring import StackBuilder

if TYPE_CHECKING:
    from generator.components.service.spec import OffHoursSpec

OFF_HOURS = "OffHours"


def scheduled_stop_and_start(stack: StackBuilder, cluster: rds.DBCluster, environment: EnvInputs[EnvironmentCore],
                              off_hours: EnvInputs[OffHoursSpec]) -> None:
    """Outside production, with `off_hours`: stop the cluster at the stop time and start it at the start time, with
    EventBridge Scheduler's universal target for the RDS API (StopDBCluster, StartDBCluster)."""
    stop = off_hours.input(stack, "stop")
    stack.template.add_condition(OFF_HOURS, And(Equals(environment.input(stack, "production"), "false"),
                                                Not(Equals(stop, ""))))
    cluster_arn = GetAtt(cluster, "DBClusterArn")
    role = stack.add(iam.Role(
        "OffHoursRole", Condition=OFF_HOURS, AssumeRolePolicyDocument=assume_role("scheduler.amazonaws.com"),
        Policies=[iam.Policy(PolicyName="stop-and-start-the-database",
                             PolicyDocument=stop_and_start_cluster(cluster_arn))]))
    zone = off_hours.input(stack, "timezone")
    for verb, action, when in (("Stop", "stopDBCluster", stop),
                               ("Start", "startDBCluster", off_hours.input(stack, "start"))):
        stack.add(scheduler.Schedule(
            f"{verb}Schedule", Condition=OFF_HOURS, Name=naming.physical_name("db", verb.lower()),
            Description=Sub(f"{verb}s the ${{Application}}-${{EnvironmentName}} database (off_hours)"),
            ScheduleExpression=when, ScheduleExpressionTimezone=zone,
            FlexibleTimeWindow=scheduler.FlexibleTimeWindow(Mode="OFF"),
            Target=scheduler.Target(
                Arn=Sub(f"arn:${{AWS::Partition}}:scheduler:::aws-sdk:rds:{action}"), RoleArn=GetAtt(role, "Arn"),
                Input=Join("", ['{"DbClusterIdentifier": "', Ref(cluster), '"}']))))
