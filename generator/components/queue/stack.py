"""A queue's nested stack: the queue, its dead-letter queue, their KMS key and a policy refusing plain HTTP.

Both queues use the stack's own customer-managed key (SSE-KMS), so a service's grant names the key it may use
(docs/data-stores.md). The dead-letter queue keeps what failed for 14 days and accepts messages from its own queue
only (RedriveAllowPolicy); its name is a public output, so an alarm on its depth needs nothing else.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from awacs import sqs as sqs_actions
from awacs.aws import Bool, Condition, Deny, Principal, Statement
from troposphere import GetAtt, Ref, Sub, sqs

from generator import naming
from generator.components import stores
from generator.components.attachments import Attachment
from generator.components.queue.spec import DEAD_LETTER_RETENTION_DAYS, FIFO_SUFFIX
from generator.components.monitoring import MonitoringOutputs, metric_alarm, search_widget
from generator.policies.common import document
from generator.wiring import OutputRef, StackBuilder

if TYPE_CHECKING:
    from generator.config import AppSpec
    from generator.components.queue.spec import QueueSpec

DAY = 86400
FIVE_MINUTES = 5


URL_SUFFIX = "_QUEUE_URL"


class QueueOutputs(NamedTuple):
    attachment: Attachment
    url: OutputRef
    arn: OutputRef
    name: OutputRef
    key_arn: OutputRef
    dead_letter_arn: OutputRef
    dead_letter_name: OutputRef


def physical_name(queue: QueueSpec, dead_letter: bool = False) -> str:
    """The part after `<app>-<env>-`: `jobs`, `jobs-dlq`, `jobs.fifo`, `jobs-dlq.fifo`."""
    return queue.name + ("-dlq" if dead_letter else "") + (FIFO_SUFFIX if queue.fifo else "")


def build(app: AppSpec, queue: QueueSpec, stack: StackBuilder, *, alerts: MonitoringOutputs) -> QueueOutputs:
    _, key_arn = stores.store_key(stack, f"{queue.name} queue and its dead-letter queue")
    fifo = {"FifoQueue": True, "ContentBasedDeduplication": True} if queue.fifo else {}
    encrypted = {"KmsMasterKeyId": key_arn, "KmsDataKeyReusePeriodSeconds": 300}
    # The source queue's ARN by name: a GetAtt would make each queue depend on the other.
    source_arn = Sub(f"arn:${{AWS::Partition}}:sqs:${{AWS::Region}}:${{AWS::AccountId}}:"
                     f"${{Application}}-${{EnvironmentName}}-{physical_name(queue)}")
    dead = stack.add(sqs.Queue(
        "DeadLetterQueue", QueueName=naming.physical_name(physical_name(queue, dead_letter=True)),
        MessageRetentionPeriod=DEAD_LETTER_RETENTION_DAYS * DAY,
        RedriveAllowPolicy={"redrivePermission": "byQueue", "sourceQueueArns": [source_arn]}, **encrypted, **fifo))
    main = stack.add(sqs.Queue(
        "Queue", QueueName=naming.physical_name(physical_name(queue)),
        VisibilityTimeout=queue.visibility_timeout_seconds, MessageRetentionPeriod=queue.retention_days * DAY,
        RedrivePolicy=sqs.RedrivePolicy(deadLetterTargetArn=GetAtt(dead, "Arn"),
                                        maxReceiveCount=queue.max_receive_count),
        **encrypted, **fifo))
    stack.add(sqs.QueuePolicy("QueuePolicy", Queues=[Ref(main), Ref(dead)], PolicyDocument=document(Statement(
        Sid="DenyInsecureTransport", Effect=Deny, Principal=Principal("*"), Action=[sqs_actions.Action("*")],
        Resource=[GetAtt(main, "Arn"), GetAtt(dead, "Arn")], Condition=Condition(Bool("aws:SecureTransport",
                                                                                       "false"))))))
    _watch(app, queue, stack, main, dead, alerts)
    what = f"the {queue.name} queue"
    url = stack.output("QueueUrl", Ref(main), f"URL of {what}", public=True)
    arn = stack.output("QueueArn", GetAtt(main, "Arn"), f"ARN of {what}")
    key = stack.output("KeyArn", key_arn, f"KMS key of {what}")
    return QueueOutputs(
        attachment=attachment(queue, url, arn, key),
        url=url, arn=arn,
        name=stack.output("QueueName", GetAtt(main, "QueueName"), f"Name of {what} (its depth metric's dimension)"),
        key_arn=key,
        dead_letter_arn=stack.output("DeadLetterQueueArn", GetAtt(dead, "Arn"), f"ARN of {what}'s dead-letter queue"),
        dead_letter_name=stack.output("DeadLetterQueueName", GetAtt(dead, "QueueName"),
                                      f"Name of {what}'s dead-letter queue (alarm on its depth)", public=True))


def attachment(queue: QueueSpec, url: OutputRef, arn: OutputRef, key: OutputRef) -> Attachment:
    """`<NAME>_QUEUE_URL`; `send`: SendMessage (the key's data keys to encrypt); `consume`: receive, delete and
    extend the visibility of messages (the key to decrypt). Never the dead-letter queue: redriving is an operator's
    act."""
    def send(ref):
        return [stores.allow("Send", "sqs:SendMessage sqs:GetQueueAttributes sqs:GetQueueUrl", ref(arn)),
                stores.allow("Key", "kms:GenerateDataKey kms:Decrypt", ref(key))]

    def consume(ref):
        return [stores.allow("Consume", "sqs:ReceiveMessage sqs:DeleteMessage sqs:ChangeMessageVisibility "
                                        "sqs:GetQueueAttributes sqs:GetQueueUrl", ref(arn)),
                stores.allow("Key", "kms:Decrypt", ref(key))]

    return Attachment(queue.name, environment={stores.variable(queue.name, URL_SUFFIX): url},
                      grants={"send": send, "consume": consume})


def _watch(app: AppSpec, queue: QueueSpec, stack: StackBuilder, main: sqs.Queue, dead: sqs.Queue,
           alerts: MonitoringOutputs) -> None:
    """The queue's alarms (docs/monitoring.md): the oldest message older than `queue_age_minutes` in two consecutive
    five-minute windows (the consumers are down or cannot keep up), and any message in the dead-letter queue (one
    message that failed `max_receive_count` times is an incident). AWS/SQS metrics by QueueName ("Available
    CloudWatch metrics for Amazon SQS", SQS Developer Guide)."""
    subject = f"queue-{queue.name}"
    alarms = [
        stack.add(metric_alarm(
            "AgeAlarm", alerts.text(stack, f"{subject}: the oldest message is over {{queue_age_seconds}} seconds old "
                                           "for 10 minutes"),
            "AWS/SQS", "ApproximateAgeOfOldestMessage", "Maximum", {"QueueName": GetAtt(main, "QueueName")},
            threshold=alerts.limit(stack, "queue_age_seconds"), minutes=FIVE_MINUTES, periods=2)),
        stack.add(metric_alarm(
            "DeadLettersAlarm", f"{subject}: messages in the dead-letter queue (they failed {queue.max_receive_count} "
                                "times; redrive or delete them)", "AWS/SQS", "ApproximateNumberOfMessagesVisible",
            "Maximum", {"QueueName": GetAtt(dead, "QueueName")}, threshold=0, minutes=FIVE_MINUTES, periods=1)),
    ]
    name = "${Application}-${EnvironmentName}-" + queue.name
    alerts.watch(stack, subject, alarms, f"{subject}: one of its alarms is in ALARM (the message names which)",
                 widgets=(search_widget(f"Queue {queue.name}: age of the oldest message (s), messages visible",
                                        "{AWS/SQS,QueueName}", ("ApproximateAgeOfOldestMessage",
                                                                "ApproximateNumberOfMessagesVisible"),
                                        "Maximum", f'QueueName="{name}"'),))
