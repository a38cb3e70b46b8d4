"""A cron job: EventBridge Scheduler starts a small Step Functions state machine on the schedule; the state machine
runs one task unless a task of the same family is still running. No container runs between runs.

Why not Scheduler -> ECS RunTask directly: Scheduler has no concurrency limit, so a run that outlasts its interval
would overlap the next one. The guard here (ListTasks, then RunTask) needs no Lambda and no code in the image,
and also sees a run someone started by hand. RunTask is followed to the end (`.sync`), so a job that fails to
start or exits non-zero shows as a failed execution. The schedule's retry policy and dead-letter queue cover the
start of an execution; a failed job is not retried (jobs need not be idempotent).
"""
from __future__ import annotations

import json

from troposphere import GetAtt, If, Join, Ref, Sub, iam, scheduler, sqs, stepfunctions

from generator import naming
from generator.components.service import alarms as service_alarms
from generator.components.service.common import BOOTSTRAPPING, EXEC, Context
from generator.policies import assume_role, run_job, start_job

DAYS = 24 * 60 * 60


def definition() -> str:
    """The state machine (Amazon States Language), with ${...} filled in by Fn::Sub."""
    return json.dumps({
        "Comment": "Run the job unless a task of its family is still running",
        "StartAt": "FindRunningTask",
        "States": {
            "FindRunningTask": {
                "Type": "Task", "Resource": "arn:${AWS::Partition}:states:::aws-sdk:ecs:listTasks",
                "Parameters": {"Cluster": "${ClusterArn}", "Family": "${Family}", "DesiredStatus": "RUNNING"},
                "ResultSelector": {"Running.$": "$.TaskArns"}, "Next": "StillRunning"},
            "StillRunning": {
                "Type": "Choice", "Default": "RunTask",
                "Choices": [{"Variable": "$.Running[0]", "IsPresent": True, "Next": "SkipThisRun"}]},
            "SkipThisRun": {"Type": "Succeed", "Comment": "the previous run has not finished"},
            "RunTask": {
                "Type": "Task", "Resource": "arn:${AWS::Partition}:states:::ecs:runTask.sync",
                "Parameters": {
                    "Cluster": "${ClusterArn}", "TaskDefinition": "${TaskDefinition}", "StartedBy": "schedule",
                    "PropagateTags": "TASK_DEFINITION", "EnableExecuteCommand": "${Exec}",
                    "NetworkConfiguration": {"AwsvpcConfiguration": {
                        "Subnets": ["${Subnets}"], "SecurityGroups": ["${SecurityGroup}"],
                        "AssignPublicIp": "DISABLED"}}},
                # capacity errors when the task is placed; a task that ran and failed is not retried
                "Retry": [{"ErrorEquals": ["ECS.AmazonECSException", "AmazonECS.Unknown"],
                           "IntervalSeconds": 60, "MaxAttempts": 2, "BackoffRate": 2}],
                "End": True},
        },
    }, indent=1, sort_keys=False).replace('"${Exec}"', "${Exec}")  # a JSON boolean, not a string


def build(ctx: Context) -> dict:
    svc, stack, task = ctx.svc, ctx.stack, ctx.task
    cluster_arn = stack.input(ctx.cluster.cluster_arn)
    queue = stack.add(sqs.Queue(
        "DeadLetterQueue", QueueName=naming.physical_name(svc.name, "dlq"),  # a generated name can lose <app>-<env>-
        MessageRetentionPeriod=14 * DAYS, SqsManagedSseEnabled=True,
        Metadata={"checkov": {"skip": [{"id": "CKV_AWS_27", "comment": (
            "Encrypted at rest with SSE-SQS (SqsManagedSseEnabled); checkov only recognises KmsMasterKeyId. The "
            "messages are schedule start events, no application data.")}]}}))
    job_role = stack.add(iam.Role(
        "JobRole", AssumeRolePolicyDocument=assume_role("states.amazonaws.com"),
        Policies=[iam.Policy(PolicyName="run-one-task", PolicyDocument=run_job(
            cluster_arn, task.family, [GetAtt(task.task_role, "Arn"), GetAtt(task.execution_role, "Arn")]))]))
    machine = stack.add(stepfunctions.StateMachine(
        "JobStateMachine", StateMachineName=naming.physical_name(svc.name), StateMachineType="STANDARD",
        RoleArn=GetAtt(job_role, "Arn"),
        DefinitionString=Sub(definition(), ClusterArn=cluster_arn, Family=task.family,
                             TaskDefinition=Ref(task.definition), Exec=If(EXEC, "true", "false"),
                             Subnets=Join('","', ctx.subnets()), SecurityGroup=GetAtt(task.security_group, "GroupId")),
        Metadata={"checkov": {"skip": [
            {"id": "CKV_AWS_284", "comment": "No X-Ray tracing: two AWS API calls per run, nothing to trace; the "
                                             "execution history shows each step."},
            {"id": "CKV_AWS_285", "comment": "Step Functions keeps each execution's history (90 days) with every "
                                             "state's input and output; a log group would only repeat it and need "
                                             "account-wide logs:*LogDelivery permissions."},
        ]}}))
    schedule_role = stack.add(iam.Role(
        "ScheduleRole", AssumeRolePolicyDocument=assume_role("scheduler.amazonaws.com"),
        Policies=[iam.Policy(PolicyName="start-job", PolicyDocument=start_job(Ref(machine), GetAtt(queue, "Arn")))]))
    stack.add(scheduler.Schedule(
        "Schedule", Name=naming.physical_name(svc.name), Description=f"Starts the {svc.name} job",
        ScheduleExpression=svc.schedule, ScheduleExpressionTimezone=svc.schedule_timezone,
        FlexibleTimeWindow=scheduler.FlexibleTimeWindow(Mode="OFF"),
        State=If(BOOTSTRAPPING, "DISABLED", "ENABLED"),
        Target=scheduler.Target(
            Arn=Ref(machine), RoleArn=GetAtt(schedule_role, "Arn"), Input="{}",
            RetryPolicy=scheduler.RetryPolicy(MaximumRetryAttempts=3, MaximumEventAgeInSeconds=60 * 60),
            DeadLetterConfig=scheduler.DeadLetterConfig(Arn=GetAtt(queue, "Arn")))))
    service_alarms.cron(ctx, machine, queue)
    return {
        "job_state_machine_arn": stack.output("JobStateMachineArn", Ref(machine),
                                              f"State machine that runs the {svc.name} job"),
        "dead_letter_queue_arn": stack.output("DeadLetterQueueArn", GetAtt(queue, "Arn"),
                                              f"Schedule starts of {svc.name} that could not be delivered", public=True),
    }
