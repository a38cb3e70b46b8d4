"""The frontend's buckets: the site bucket the build is published to and the bucket CloudFront writes its standard
logs to. Both private, SSE-S3 and versioned.

- The site bucket: only this environment's distribution reads it (origin access control, the bucket policy's
  `AWS:SourceArn`: the stack adds that policy once the distribution exists). A publish overwrites objects, and the
  previous release's assets stay readable as noncurrent versions for `ASSET_GRACE_DAYS`.
- The log bucket: ACLs enabled, as CloudFront's standard logs need.
"""
from __future__ import annotations

from troposphere import Ref, s3

from generator import naming
from generator.components.base import EnvInputs
from generator.components.frontend.spec import FrontendEnv
from generator.components.shared import checkov_skip
from generator.policies.common import document
from generator.policies.s3 import deny_insecure_transport
from generator.wiring import StackBuilder

ASSET_GRACE_DAYS = 30      # noncurrent versions (the previous releases' assets) stay this long


def site_bucket(stack: StackBuilder) -> s3.Bucket:
    return stack.add(s3.Bucket(
        "SiteBucket", BucketName=naming.bucket_name("site"),
        BucketEncryption=_sse_s3(),
        VersioningConfiguration=s3.VersioningConfiguration(Status="Enabled"),
        PublicAccessBlockConfiguration=_private(),
        OwnershipControls=s3.OwnershipControls(Rules=[s3.OwnershipControlsRule(ObjectOwnership="BucketOwnerEnforced")]),
        LifecycleConfiguration=s3.LifecycleConfiguration(Rules=[s3.LifecycleRule(
            Id="expire-previous-releases", Status="Enabled",
            NoncurrentVersionExpiration=s3.NoncurrentVersionExpiration(NoncurrentDays=ASSET_GRACE_DAYS),
            AbortIncompleteMultipartUpload=s3.AbortIncompleteMultipartUpload(DaysAfterInitiation=1))]),
        Metadata=checkov_skip(("CKV_AWS_18", "Only CloudFront reads this bucket, and its standard logs (LogBucket) record "
                                      "every request for the site's objects.")),
    ))


def log_bucket(stack: StackBuilder, env: EnvInputs[FrontendEnv]) -> s3.Bucket:
    """CloudFront's standard logs need a bucket with ACLs enabled (CloudFront grants its log-delivery account
    through the bucket ACL); SSE-S3 (Doc: "Configure standard logging (legacy)", Amazon CloudFront developer
    guide). TLS only (its bucket policy)."""
    logs = stack.add(s3.Bucket(
        "LogBucket", BucketName=naming.bucket_name("cdn-logs"), BucketEncryption=_sse_s3(),
        VersioningConfiguration=s3.VersioningConfiguration(Status="Enabled"), PublicAccessBlockConfiguration=_private(),
        OwnershipControls=s3.OwnershipControls(Rules=[s3.OwnershipControlsRule(ObjectOwnership="BucketOwnerPreferred")]),
        LifecycleConfiguration=s3.LifecycleConfiguration(Rules=[s3.LifecycleRule(
            Id="expire-access-logs", Status="Enabled", ExpirationInDays=env.input(stack, "log_retention_days"),
            NoncurrentVersionExpiration=s3.NoncurrentVersionExpiration(NoncurrentDays=7),
            AbortIncompleteMultipartUpload=s3.AbortIncompleteMultipartUpload(DaysAfterInitiation=1))]),
        Metadata=checkov_skip(
            ("CKV_AWS_18", "This bucket receives the access logs; logging it to itself would be circular."))))
    stack.add(s3.BucketPolicy("LogBucketPolicy", Bucket=Ref(logs), PolicyDocument=document(deny_insecure_transport(logs))))
    return logs


def _sse_s3() -> s3.BucketEncryption:
    return s3.BucketEncryption(ServerSideEncryptionConfiguration=[s3.ServerSideEncryptionRule(
        ServerSideEncryptionByDefault=s3.ServerSideEncryptionByDefault(SSEAlgorithm="AES256"))])


def _private() -> s3.PublicAccessBlockConfiguration:
    return s3.PublicAccessBlockConfiguration(BlockPublicAcls=True, BlockPublicPolicy=True, IgnorePublicAcls=True,
                                             RestrictPublicBuckets=True)
