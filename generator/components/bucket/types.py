"""The resource types the bucket stacks create, and what the rest of the system must know about each."""
from __future__ import annotations

from generator.components import shared

TYPES = shared.pick("AWS::KMS::Key", "AWS::S3::Bucket", "AWS::S3::BucketPolicy")
