"""The resource types the queue stacks create, and what the rest of the system must know about each."""
from __future__ import annotations

from generator.components import monitoring, shared
from generator.components.base import TypeFacts

TYPES = {
    **monitoring.TYPES_FOR_WATCHERS,   # its alarms and composite alarm (docs/monitoring.md)
    **shared.pick("AWS::KMS::Key", "AWS::SQS::Queue"),
    "AWS::SQS::QueuePolicy": TypeFacts(cfn_grants=shared.jobs),
}
