"""Held releases (seed 000 D, seed 004; generator/holds.py): where a web service's release waits on the test listener,
its environment's stage has gates beside the CodeDeployToECS actions (the tests `IntegrationTests` in the test
environment, the approval `ApproveReroute` where `wait_for_approval_minutes` is set), and an EventBridge rule sends
every SUCCEEDED or FAILED of a gate to the continue-reroute function, which assumes the environment's deploy role and
continues the releases whose gates have all succeeded, or stops them and rejects the stage's open approvals
(generator/lambdas/continue_reroute.py). The tests themselves are the release-gate function, a Lambda invoke action
(generator/lambdas/release_gate.py).

Both functions are over the 4,096-character inline `ZipFile` limit, so they are `AWS::Serverless::Function`s whose
`CodeUri` is a directory next to the templates (written by the generator, both modules in it); `aws cloudformation
package` zips and uploads it (the self-update step does, and the first manual deploy does). They, their log groups,
the dead-letter queue and the rules live in their own nested template (pipeline-gates.yaml, with the SAM transform),
so that pipeline.yaml needs no transform of its own.
"""
from __future__ import annotations

import json
from pathlib import Path

from troposphere import GetAtt, Ref, Sub, awslambda, events, logs
from troposphere import serverless, sqs

from generator import holds, naming
from generator.config import AppSpec
from generator.pipeline import common, plan
from generator.wiring import OutputRef, ParentValue, StackBuilder

ACTION = holds.APPROVAL
LAMBDA_SOURCES = Path(__file__).resolve().parent.parent / "lambdas"
MODULES = ("continue_reroute.py", "release_gate.py")
TEMPLATE = "pipeline-gates.yaml"
LOGICAL_ID = "Gates"
GATE_FUNCTION = "ReleaseGateFunction"
DAYS = 24 * 3600
GATE_STATES = ["SUCCEEDED", "FAILED"]
INPUT_PATHS = {"pipeline": "$.detail.pipeline", "stage": "$.detail.stage", "action": "$.detail.action",
               "state": "$.detail.state", "execution": "$.detail.execution-id"}
TRIGGER = {"pipeline": "pipeline", "stage": "stage", "action": "action", "state": "state",
           "executionId": "execution"}   # event field -> InputPathsMap variable


def targets(app: AppSpec) -> list[common.Target]:
    """Environments where some release waits on the test listener."""
    return [t for t in common.targets(app) if holds.held_services(app, t.env)]


def has_gate_function(app: AppSpec) -> bool:
    return app.test_environment() is not None


def needed(app: AppSpec) -> bool:
    """Whether the app has gates (and so pipeline-gates.yaml, the functions and their role)."""
    return bool(targets(app)) or has_gate_function(app)


def lambda_files() -> dict[str, str]:
    """Files written next to pipeline.yaml for the functions' CodeUri."""
    return {f"{common.LAMBDA_DIR}/{m}": (LAMBDA_SOURCES / m).read_text(encoding="utf-8") for m in MODULES}


def deploy_role() -> str:
    """The environment's deploy role, in a Sub with `${Account}`."""
    return naming.role_arn(naming.DEPLOY_ROLE, "${Account}")


def gate_parameters(app: AppSpec, env: str, test_url: str) -> str:
    """The IntegrationTests action's UserParameters (JSON text for a Sub with `${Account}`): the web services whose
    deployments (`<prefix><service>`, application = deployment group) it waits for, named once each so that 30 of them
    fit CodePipeline's 1000 characters (generator/pipeline/quotas.py checks the app's)."""
    return json.dumps({"prefix": naming.codedeploy_name("${Application}", env, ""), "services": plan.web_services(app),
                       "roleArn": deploy_role(), "project": "${Application}-pipeline-tests", "testUrl": test_url,
                       "readyMinutes": holds.TESTS_READY_MINUTES}, separators=(",", ":"))


def rule_input(app: AppSpec, env: str) -> str:
    """The reroute rule's InputTemplate for `env` (text for a Sub with `${Account}`): each held release and the gates
    it waits for, with the event's fields as InputTransformer variables."""
    services = holds.held_services(app, env)
    names = {svc: f"${{Application}}-{env}-{svc}" for svc in services}
    text = json.dumps({"trigger": {k: f"<{v}>" for k, v in TRIGGER.items()},
                       "targets": [{"applicationName": n, "deploymentGroupName": n, "after": list(services[svc])}
                                   for svc, n in names.items()],
                       "roleArn": deploy_role()}, separators=(",", ":"))
    for variable in TRIGGER.values():  # unquoted: EventBridge inserts the value as JSON (InputTransformer)
        text = text.replace(f'"<{variable}>"', f"<{variable}>")
    return text


def build(app: AppSpec, b: StackBuilder, role: OutputRef, key: ParentValue) -> OutputRef | None:
    """pipeline-gates.yaml; returns the release-gate function's name (None without integration tests), which the
    pipeline's IntegrationTests action invokes."""
    held = targets(app)
    t = b.template
    t.set_transform("AWS::Serverless-2016-10-31")
    key_arn, role_arn = b.input(key, "PipelineKeyArn"), b.input(role, "RoleArn")
    accounts = {target.env: b.input(common.parameter(app, common.account_parameter(target.env))) for target in held}

    no_vpc = ("CKV_AWS_117", "The function only calls AWS APIs (STS, CodeDeploy, CodePipeline, CodeBuild) over the "
                             "internet endpoints; a VPC would add a NAT or endpoints for nothing it needs to reach "
                             "privately.")
    no_reserve = ("CKV_AWS_115", "Invoked a few times per release; reserving concurrency would take from the "
                                 "account's unreserved pool (a new account's minimum of 10 can make the deploy fail).")

    def function(title: str, short: str, handler: str, timeout: int, description: str, skips=(), **extra):
        log_group = b.add(logs.LogGroup(
            f"{title}Logs", LogGroupName=Sub(f"/aws/lambda/${{Application}}-pipeline-{short}"),
            RetentionInDays=common.LOG_RETENTION_DAYS, KmsKeyId=key_arn))
        return b.add(serverless.Function(
            f"{title}Function", FunctionName=common.name(short), Description=Sub(f"${{Application}} pipeline: {description}"),
            CodeUri=f"./{common.LAMBDA_DIR}", Handler=handler, Runtime=common.LAMBDA_RUNTIME, Role=role_arn,
            Timeout=timeout, MemorySize=128, DependsOn=[log_group], Metadata=common.skip(no_vpc, no_reserve, *skips),
            **extra))

    gate_name = None
    if has_gate_function(app):
        # Each invocation polls for up to 4 minutes, then answers CodePipeline (release_gate.BUDGET_SECONDS).
        gate = function("ReleaseGate", "release-gate", "release_gate.handler", 300,
                        "runs the integration tests while the releases wait on the test listener",
                        skips=[("CKV_AWS_116", "CodePipeline invokes it with a job that carries temporary artifact "
                                               "credentials; it reports every failure to CodePipeline itself "
                                               "(PutJobFailureResult) and an unanswered job fails after 20 minutes, "
                                               "so a dead-letter queue would only store those credentials.")])
        gate_name = b.output(GATE_FUNCTION, Ref(gate), "Name of the release-gate function")
    if not held:
        return gate_name
    dead_letters = b.add(sqs.Queue(
        "RerouteDeadLetterQueue", QueueName=common.name("reroute-dlq"), SqsManagedSseEnabled=True,
        MessageRetentionPeriod=14 * DAYS,
        Metadata=common.skip(("CKV_AWS_27", "Encrypted at rest with SSE-SQS (SqsManagedSseEnabled); checkov only "
                                            "recognises KmsMasterKeyId. Messages are failed invocations: names and "
                                            "ids, no application data."))))
    # Waits up to 10 minutes for an early approval's release to reach the test listener (continue_reroute.py).
    reroute = function("Reroute", "continue-reroute", "continue_reroute.handler", 900,
                       "continues or stops the held releases when their gates decide",
                       DeadLetterQueue=serverless.DeadLetterQueue(Type="SQS", TargetArn=GetAtt(dead_letters, "Arn")))
    for target in held:
        gates = sorted({g for after in holds.held_services(app, target.env).values() for g in after})
        rule = b.add(events.Rule(
            f"Reroute{target.pascal}Rule", Name=common.name(f"reroute-{target.env}"), State="ENABLED",
            Description=f"{target.env}: a gate of the held releases ({', '.join(gates)}) succeeded or failed",
            EventPattern={"source": ["aws.codepipeline"],
                          "detail-type": ["CodePipeline Action Execution State Change"],
                          "detail": {"pipeline": [common.name()], "stage": [plan.gate_stage(app, target.env)],
                                     "action": gates, "state": GATE_STATES}},
            Targets=[events.Target(Id="ContinueReroute", Arn=GetAtt(reroute, "Arn"),
                                   InputTransformer=events.InputTransformer(
                                       InputPathsMap=INPUT_PATHS,
                                       InputTemplate=Sub(rule_input(app, target.env),
                                                         Account=accounts[target.env])))]))
        b.add(awslambda.Permission(
            f"Reroute{target.pascal}Permission", FunctionName=Ref(reroute), Action="lambda:InvokeFunction",
            Principal="events.amazonaws.com", SourceArn=GetAtt(rule, "Arn"), SourceAccount=Ref("AWS::AccountId")))
    return gate_name
