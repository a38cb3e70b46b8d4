"""A bucket's nested stack: a private S3 bucket, its policy refusing plain HTTP, and (with `encryption: kms`) its
own KMS key with S3 Bucket Keys (fewer KMS calls). Lifecycle: incomplete multipart uploads go after 7 days, earlier
versions after `noncurrent_days`, objects after `expire_days` when given."""
from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from troposphere import GetAtt, Ref, Sub, s3

from generator import naming
from generator.components import stores
from generator.components.attachments import Attachment
from generator.policies.common import document
from generator.policies.s3 import deny_insecure_transport
from generator.wiring import OutputRef, StackBuilder

if TYPE_CHECKING:
    from generator.config import AppSpec
    from generator.components.bucket.spec import BucketSpec


NAME_SUFFIX = "_BUCKET"


class BucketOutputs(NamedTuple):
    attachment: Attachment
    name: OutputRef
    arn: OutputRef
    key_arn: OutputRef | None   # None with SSE-S3


def skips(*checks: tuple[str, str]) -> dict:
    return {"checkov": {"skip": [{"id": i, "comment": c} for i, c in checks]}}


def build(app: AppSpec, bucket: BucketSpec, stack: StackBuilder) -> BucketOutputs:
    key_arn = stores.store_key(stack, f"{bucket.name} bucket")[1] if bucket.encryption == "kms" else None
    by_default = s3.ServerSideEncryptionByDefault(SSEAlgorithm="aws:kms", KMSMasterKeyID=key_arn) if key_arn \
        else s3.ServerSideEncryptionByDefault(SSEAlgorithm="AES256")
    rule = {"Id": "housekeeping", "Status": "Enabled",
            "AbortIncompleteMultipartUpload": s3.AbortIncompleteMultipartUpload(DaysAfterInitiation=7)}
    if bucket.versioned:
        rule["NoncurrentVersionExpiration"] = s3.NoncurrentVersionExpiration(NoncurrentDays=bucket.noncurrent_days)
    if bucket.expire_days:
        rule["ExpirationInDays"] = bucket.expire_days
    props: dict = {}
    if bucket.cors:
        props["CorsConfiguration"] = s3.CorsConfiguration(CorsRules=[s3.CorsRules(
            AllowedOrigins=list(c.allowed_origins), AllowedMethods=list(c.allowed_methods),
            MaxAge=c.max_age_seconds, **({"AllowedHeaders": list(c.allowed_headers)} if c.allowed_headers else {}))
            for c in bucket.cors])
    checks = [("CKV_AWS_18", "Server access logs would need a log bucket per store bucket; object-level access is "
                             "audited with CloudTrail data events where an account enables them.")]
    if not bucket.versioned:
        checks.append(("CKV_AWS_21", f"versioned: false in app.yaml for the {bucket.name} bucket."))
    if key_arn is None:
        checks.append(("CKV_AWS_145", f"encryption: s3 in app.yaml for the {bucket.name} bucket (SSE-S3)."))
    resource = stack.add(s3.Bucket(
        "Bucket", BucketName=naming.bucket_name(bucket.name, checked=False),
        BucketEncryption=s3.BucketEncryption(ServerSideEncryptionConfiguration=[s3.ServerSideEncryptionRule(
            ServerSideEncryptionByDefault=by_default, BucketKeyEnabled=key_arn is not None)]),
        VersioningConfiguration=s3.VersioningConfiguration(Status="Enabled" if bucket.versioned else "Suspended"),
        PublicAccessBlockConfiguration=s3.PublicAccessBlockConfiguration(
            BlockPublicAcls=True, BlockPublicPolicy=True, IgnorePublicAcls=True, RestrictPublicBuckets=True),
        OwnershipControls=s3.OwnershipControls(Rules=[s3.OwnershipControlsRule(ObjectOwnership="BucketOwnerEnforced")]),
        LifecycleConfiguration=s3.LifecycleConfiguration(Rules=[s3.LifecycleRule(**rule)]),
        Metadata=skips(*checks), **props))
    stack.add(s3.BucketPolicy("BucketPolicy", Bucket=Ref(resource),
                              PolicyDocument=document(deny_insecure_transport(resource))))
    what = f"the {bucket.name} bucket"
    name = stack.output("BucketName", Ref(resource), f"Name of {what}", public=True)
    arn = stack.output("BucketArn", GetAtt(resource, "Arn"), f"ARN of {what}")
    key = stack.output("KeyArn", key_arn, f"KMS key of {what}") if key_arn else None
    return BucketOutputs(attachment(bucket, name, arn, key), name, arn, key)


def attachment(bucket: BucketSpec, name: OutputRef, arn: OutputRef, key: OutputRef | None) -> Attachment:
    """`<NAME>_BUCKET`; `read`: list the bucket, get objects; `write`: put and delete objects (and abort uploads);
    `read-write`: both. With the bucket's own key, reads may decrypt and writes may make data keys (and decrypt:
    a multipart upload reads back its parts' keys)."""
    def grants(reads: bool, writes: bool):
        def statements(ref):
            bucket_arn = ref(arn)
            objects = Sub("${Arn}/*", Arn=bucket_arn)
            found = []
            if reads:
                found += [stores.allow("List", "s3:ListBucket", bucket_arn),
                          stores.allow("Read", "s3:GetObject s3:GetObjectVersion", objects)]
            if writes:
                found.append(stores.allow("Write", "s3:PutObject s3:DeleteObject s3:AbortMultipartUpload", objects))
            if key is not None:
                found.append(stores.allow("Key", "kms:Decrypt" + (" kms:GenerateDataKey" if writes else ""), ref(key)))
            return found
        return statements

    return Attachment(bucket.name, environment={stores.variable(bucket.name, NAME_SUFFIX): name},
                      grants={"read": grants(True, False), "write": grants(False, True),
                              "read-write": grants(True, True)})
