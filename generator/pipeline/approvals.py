"""Held releases (seed 004): where a web service waits after the test traffic shift (`wait_for_approval_minutes`),
the environment's stage has a manual approval `ApproveReroute` beside its CodeDeployToECS actions; when the lead
approves, an EventBridge rule invokes the continue-reroute Lambda, which assumes the environment's deploy role and
continues the waiting deployments (generator/lambdas/continue_reroute.py).

The Lambda is 12 KB, over the 4,096-character inline `ZipFile` limit, so it is an `AWS::Serverless::Function` whose
`CodeUri` is a directory next to pipeline.yaml (written by the generator); `aws cloudformation package` zips and
uploads it (the self-update step does, and the first manual deploy does).
"""
from __future__ import annotations

import json
from pathlib import Path

from troposphere import GetAtt, Ref, Sub, Template, awslambda, events, logs, serverless, sqs

from generator.config import AppSpec
from generator.config.models import ServiceEnvSpec
from generator.pipeline import common
from generator.pipeline.roles import Roles
from generator.pipeline.storage import Storage

ACTION = "ApproveReroute"
FUNCTION_SOURCE = Path(__file__).resolve().parent.parent / "lambdas" / "continue_reroute.py"
DAYS = 24 * 3600


def waiting_services(app: AppSpec, env: str) -> list[str]:
    """Web services whose releases wait in `env` for someone to continue them."""
    return [svc.name for svc in app.services if svc.kind == "web"
            and ServiceEnvSpec.of(app.environments[env], svc.name).wait_for_approval_minutes]


def targets(app: AppSpec) -> list[common.Target]:
    return [t for t in common.targets(app) if waiting_services(app, t.env)]


def lambda_files() -> dict[str, str]:
    """Files written next to pipeline.yaml for the function's CodeUri."""
    return {f"{common.LAMBDA_DIR}/continue_reroute.py": FUNCTION_SOURCE.read_text(encoding="utf-8")}


def build(app: AppSpec, t: Template, store: Storage, roles: Roles, stage_of) -> None:
    """`stage_of(env)`: the name of the environment's deploy stage."""
    waiting = targets(app)
    if not waiting:
        return
    dead_letters = common.add(t, sqs.Queue(
        "RerouteDeadLetterQueue", QueueName=common.name("reroute-dlq"), SqsManagedSseEnabled=True,
        MessageRetentionPeriod=14 * DAYS,
        Metadata=common.skip(("CKV_AWS_27", "Encrypted at rest with SSE-SQS (SqsManagedSseEnabled); checkov only "
                                            "recognises KmsMasterKeyId. Messages are failed invocations: names and "
                                            "ids, no application data."))))
    log_group = common.add(t, logs.LogGroup(
        "RerouteLogs", LogGroupName=Sub("/aws/lambda/${Application}-pipeline-continue-reroute"),
        RetentionInDays=common.LOG_RETENTION_DAYS, KmsKeyId=GetAtt(store.key, "Arn")))
    function = common.add(t, serverless.Function(
        "RerouteFunction", FunctionName=common.name("continue-reroute"),
        Description=Sub("${Application} pipeline: continues held blue/green releases when their approval succeeds"),
        CodeUri=f"./{common.LAMBDA_DIR}", Handler="continue_reroute.handler", Runtime=common.LAMBDA_RUNTIME,
        Role=roles.reroute, Timeout=120, MemorySize=128,
        DeadLetterQueue=serverless.DeadLetterQueue(Type="SQS", TargetArn=GetAtt(dead_letters, "Arn")),
        DependsOn=[log_group],
        Metadata=common.skip(
            ("CKV_AWS_117", "The function only calls AWS APIs (STS, CodeDeploy) over the internet endpoints; a VPC "
                            "would add a NAT or endpoints for nothing it needs to reach privately."),
            ("CKV_AWS_115", "Invoked once per approval; reserving concurrency would take from the account's "
                            "unreserved pool (a new account's minimum of 10 can make the deploy fail)."))))
    for target in waiting:
        names = [f"{app.app}-{target.env}-{svc}" for svc in waiting_services(app, target.env)]
        event = {"targets": [{"applicationName": n, "deploymentGroupName": n} for n in names],
                 "roleArn": "arn:${AWS::Partition}:iam::${Account}:role/${Application}-pipeline-deploy"}
        rule = common.add(t, events.Rule(
            f"Reroute{target.pascal}Rule", Name=common.name(f"reroute-{target.env}"), State="ENABLED",
            Description=f"{target.env}: the lead approved the release on the test listener; continue its traffic reroute",
            EventPattern={"source": ["aws.codepipeline"],
                          "detail-type": ["CodePipeline Action Execution State Change"],
                          "detail": {"pipeline": [common.name()], "stage": [stage_of(target.env)],
                                     "action": [ACTION], "state": ["SUCCEEDED"]}},
            Targets=[events.Target(Id="ContinueReroute", Arn=GetAtt(function, "Arn"),
                                   Input=Sub(json.dumps(event, separators=(",", ":")), Account=target.account))]))
        common.add(t, awslambda.Permission(
            f"Reroute{target.pascal}Permission", FunctionName=Ref(function), Action="lambda:InvokeFunction",
            Principal="events.amazonaws.com", SourceArn=GetAtt(rule, "Arn"), SourceAccount=Ref("AWS::AccountId")))
