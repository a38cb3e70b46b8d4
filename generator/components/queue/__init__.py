"""The queue component: one SQS queue per `queues[]` entry, with its dead-letter queue and its own KMS key. Services
`use` a queue to `send` (the default) or `consume` (docs/data-stores.md)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from generator.components import stores
from generator.components.attachments import Offer
from generator.components.base import Component
from generator.components.queue.spec import RULES, QueueSpec
from generator.components.queue.stack import URL_SUFFIX, QueueOutputs, build
from generator.components.queue.types import TYPES

if TYPE_CHECKING:
    from generator.config import AppSpec


def offers(app: AppSpec) -> dict[str, Offer]:
    return {q.name: Offer(modes=("send", "consume"), default="send", variables=(stores.variable(q.name, URL_SUFFIX),))
            for q in app.queues}


COMPONENT = Component("queue", "one SQS queue and its dead-letter queue", TYPES, RULES, spec_key="queues",
                      spec=QueueSpec, offers=offers)

__all__ = ["COMPONENT", "QueueOutputs", "QueueSpec", "build", "offers"]
