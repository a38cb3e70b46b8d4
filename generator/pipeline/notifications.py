"""What the pipeline tells people besides approval requests: every failed action, sent to the pipeline's topic (the
`notification_email` subscription), one message per failure.

One EventBridge rule on "CodePipeline Action Execution State Change" with `state: FAILED` covers the three cases the
team must hear about without a second message for the same incident: a failed scan gate (the scan action fails), a
rejected or expired approval (the approval action fails) and any other failed build or deployment. A failed
execution is always the failure of one of its actions, so a rule on "Pipeline Execution State Change" as well would
send the same incident twice; superseded or stopped executions are not failures. Event shapes: "CodePipeline events"
(CodePipeline User Guide, "Monitoring CodePipeline events"). EventBridge publishes to the KMS-encrypted topic with the
key's permission for events.amazonaws.com (storage.py) and the topic policy below ("Amazon SNS permissions",
EventBridge User Guide).
"""
from __future__ import annotations

from awacs import sns as asns
from awacs.aws import Allow, ArnEquals, Condition, Principal, Statement
from troposphere import GetAtt, Ref, Template, codepipeline, events, sns

from generator.pipeline import common
from generator.policies.common import document

MESSAGE = ('"<pipeline>: <stage> / <action> (<category>) FAILED in execution <execution>. '
           'Details: https://console.aws.amazon.com/codesuite/codepipeline/pipelines/<pipeline>/executions/'
           '<execution>/timeline?region=<region>"')


def build(t: Template, topic: sns.Topic, pipeline: codepipeline.Pipeline) -> events.Rule:
    rule = common.add(t, events.Rule(
        "FailureRule", Name=common.name("failures"), State="ENABLED",
        Description="Any failed action of the pipeline (scan gate, approval rejected or expired, build, release)",
        EventPattern={"source": ["aws.codepipeline"], "detail-type": ["CodePipeline Action Execution State Change"],
                      "detail": {"pipeline": [Ref(pipeline)], "state": ["FAILED"]}},
        Targets=[events.Target(
            Id="PipelineTopic", Arn=Ref(topic),
            InputTransformer=events.InputTransformer(
                InputPathsMap={"pipeline": "$.detail.pipeline", "stage": "$.detail.stage",
                               "action": "$.detail.action", "category": "$.detail.type.category",
                               "execution": "$.detail.execution-id", "region": "$.region"},
                InputTemplate=MESSAGE))]))
    common.add(t, sns.TopicPolicy("TopicPolicy", Topics=[Ref(topic)], PolicyDocument=document(
        Statement(Sid="EventBridgePublishesFailures", Effect=Allow, Principal=Principal("Service", "events.amazonaws.com"),
                  Action=[asns.Publish], Resource=[Ref(topic)],
                  Condition=Condition(ArnEquals("aws:SourceArn", GetAtt(rule, "Arn")))))))
    return rule
