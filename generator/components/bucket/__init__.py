"""The bucket component: one private S3 bucket per `buckets[]` entry (encrypted, TLS only, versioned by default).
Services `use` a bucket to `read`, `write` or `read-write` (the default)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from generator.components import stores
from generator.components.attachments import Offer
from generator.components.base import Component
from generator.components.bucket.spec import RULES, BucketSpec
from generator.components.bucket.stack import NAME_SUFFIX, BucketOutputs, build
from generator.components.bucket.types import TYPES

if TYPE_CHECKING:
    from generator.config import AppSpec


def offers(app: AppSpec) -> dict[str, Offer]:
    return {b.name: Offer(modes=("read", "write", "read-write"), default="read-write",
                          variables=(stores.variable(b.name, NAME_SUFFIX),)) for b in app.buckets}


COMPONENT = Component("bucket", "one private S3 bucket", TYPES, RULES, spec_key="buckets", spec=BucketSpec,
                      offers=offers)

__all__ = ["COMPONENT", "BucketOutputs", "BucketSpec", "build", "offers"]
