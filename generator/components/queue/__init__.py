"""The queue component: one SQS queue per `queues[]` entry, with its dead-letter queue and its own KMS key."""
from generator.components.base import Component
from generator.components.queue.spec import RULES, QueueSpec
from generator.components.queue.stack import QueueOutputs, build
from generator.components.queue.types import TYPES

COMPONENT = Component("queue", "one SQS queue and its dead-letter queue", TYPES, RULES, spec_key="queues",
                      spec=QueueSpec)

__all__ = ["COMPONENT", "QueueOutputs", "QueueSpec", "build"]
