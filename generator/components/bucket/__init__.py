"""The bucket component: one private S3 bucket per `buckets[]` entry (encrypted, TLS only, versioned by default)."""
from generator.components.base import Component
from generator.components.bucket.spec import RULES, BucketSpec
from generator.components.bucket.stack import BucketOutputs, build
from generator.components.bucket.types import TYPES

COMPONENT = Component("bucket", "one private S3 bucket", TYPES, RULES, spec_key="buckets", spec=BucketSpec)

__all__ = ["COMPONENT", "BucketOutputs", "BucketSpec", "build"]
