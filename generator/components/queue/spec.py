"""The queues' spec: `queues:` in app.yaml (QueueSpec). Queues have no per-environment settings: what a queue is
(FIFO or not, how long a message may be worked on, how often it is retried) is the same in every environment."""
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated

from pydantic import BeforeValidator, Field

from generator.components.attachments import requested
from generator.config.types import Name, Strict
from generator.errors import Problem

if TYPE_CHECKING:
    from generator.config import AppSpec

FIFO_SUFFIX = ".fifo"
DEAD_LETTER_RETENTION_DAYS = 14   # SQS's longest: time to look at what failed


def _no_fifo_suffix(value: object) -> object:
    if isinstance(value, str) and value.endswith(FIFO_SUFFIX):
        raise ValueError(f"{value!r} ends in {FIFO_SUFFIX}, which SQS requires of FIFO queue names and the generator "
                         f"adds itself; write `name: {value[:-len(FIFO_SUFFIX)]}` and `fifo: true`")
    return value


class QueueSpec(Strict):
    """One SQS queue, encrypted with its own KMS key, with a dead-letter queue for messages that keep failing."""

    name: Annotated[Name, BeforeValidator(_no_fifo_suffix)] = Field(
        description="Lowercase name, unique across all data stores (e.g. `jobs`); services see its URL as "
                    "`<NAME>_QUEUE_URL`. The physical name is `<app>-<env>-<name>` (`.fifo` added for FIFO queues).")
    fifo: bool = Field(False, description="A FIFO queue (exactly-once processing, order kept per message group; "
                                          "content-based deduplication on), and a FIFO dead-letter queue.")
    visibility_timeout_seconds: int = Field(
        30, ge=0, le=43200, description="Seconds a received message stays hidden from other consumers; longer "
                                        "than a consumer takes to process one message.")
    max_receive_count: int = Field(
        5, ge=1, le=1000, description="Receives before a message moves to the dead-letter queue (`<name>-dlq`, kept "
                                      f"{DEAD_LETTER_RETENTION_DAYS} days).")
    retention_days: int = Field(4, ge=1, le=14, description="Days a message stays in the queue (1-14).")


def scale_on_a_consumed_queue(app: "AppSpec") -> Iterator[Problem]:
    """Only workers have `scale_on`, and it names a queue of the app that the worker uses with `access: consume`."""
    queues = [q.name for q in app.queues]
    for svc in app.services:
        if svc.scale_on is None:
            continue
        loc = f"services.{svc.name}.scale_on"
        if svc.kind != "worker":
            yield Problem(loc, f"'{svc.name}' is a {svc.kind} service; only workers scale on a queue (remove "
                               "scale_on, or make it a worker)")
        elif svc.scale_on.queue not in queues:
            yield Problem(f"{loc}.queue", f"no queue is called '{svc.scale_on.queue}'; queues are: "
                                          f"{', '.join(queues) or 'none'}")
        elif (svc.scale_on.queue, "consume") not in set(requested(svc)):
            yield Problem(f"{loc}.queue", f"'{svc.name}' does not consume '{svc.scale_on.queue}'; add "
                                          f"{{name: {svc.scale_on.queue}, access: consume}} to its uses")


RULES = (scale_on_a_consumed_queue,)
