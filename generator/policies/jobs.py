"""Scheduled jobs: the state machine that runs one task at a time, and the schedule that starts it."""
from __future__ import annotations

from awacs import ecs, events, iam, rds, sqs, states
from awacs.aws import Allow, ArnEquals, Condition, PolicyDocument, Statement, StringEquals
from troposphere import Sub

from generator.policies.common import document


def run_job(cluster_arn, family, role_arns: list) -> PolicyDocument:
    """List the family's running tasks, run (and follow, `.sync`) a task of that family on one cluster, pass its
    two roles to ECS. ListTasks/StopTask/DescribeTasks take the cluster as a condition, RunTask the task definition
    as resource; the managed rule is the one Step Functions uses to learn when an ECS task stops."""
    on_cluster = Condition(ArnEquals("ecs:cluster", cluster_arn))
    return document(
        Statement(Sid="SeeRunningTasks", Effect=Allow, Action=[ecs.ListTasks, ecs.DescribeTasks, ecs.StopTask],
                  Resource=["*"], Condition=on_cluster),
        Statement(Sid="RunTask", Effect=Allow, Action=[ecs.RunTask], Condition=on_cluster,
                  Resource=[Sub("arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:task-definition/"
                                "${Family}:*", Family=family)]),
        Statement(Sid="TagTask", Effect=Allow, Action=[ecs.TagResource], Resource=["*"],
                  Condition=Condition(StringEquals("ecs:CreateAction", "RunTask"))),
        Statement(Sid="PassTaskRoles", Effect=Allow, Action=[iam.PassRole], Resource=role_arns,
                  Condition=Condition(StringEquals("iam:PassedToService", "ecs-tasks.amazonaws.com"))),
        Statement(Sid="FollowTask", Effect=Allow, Action=[events.PutTargets, events.PutRule, events.DescribeRule],
                  Resource=[Sub("arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/"
                                "StepFunctionsGetEventsForECSTaskRule")]),
    )


def start_job(state_machine_arn, dead_letter_queue_arn) -> PolicyDocument:
    """EventBridge Scheduler: start one state machine, and park undeliverable starts in one queue."""
    return document(
        Statement(Sid="StartJob", Effect=Allow, Action=[states.StartExecution], Resource=[state_machine_arn]),
        Statement(Sid="DeadLetter", Effect=Allow, Action=[sqs.SendMessage], Resource=[dead_letter_queue_arn]),
    )


def stop_and_start_cluster(cluster_arn) -> PolicyDocument:
    """EventBridge Scheduler: stop and start one Aurora cluster (the database's off-hours schedules)."""
    return document(Statement(Sid="StopAndStart", Effect=Allow, Action=[rds.StopDBCluster, rds.StartDBCluster],
                              Resource=[cluster_arn]))
