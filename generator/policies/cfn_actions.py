"""What CloudFormation needs to manage resource types both CloudFormation roles create (the pipeline stack's role,
generator/pipeline/permissions.py, and each environment's role, from the components' TypeFacts): ARNs in a `Sub`,
and the action sets of log groups, keys, repositories and buckets, spelled once.

Each follows its type's registry handlers (create, read, update, delete); the gate checks that nothing is missing
(generator/lint/handler_permissions.py). The read handler runs after every create and update, so its actions are
never left out, even for settings the templates do not use.
"""
from __future__ import annotations

from troposphere import Sub

from generator.policies.grants import Grant, grant


def arn(service: str, resource: str, region: bool = True, account: bool = True, **values) -> Sub:
    where = f"{'${AWS::Region}' if region else ''}:{'${AWS::AccountId}' if account else ''}"
    return Sub(f"arn:${{AWS::Partition}}:{service}:{where}:{resource}", **values)


LOG_GROUP_ACTIONS = (
    "logs:CreateLogGroup logs:DeleteLogGroup logs:PutRetentionPolicy logs:DeleteRetentionPolicy logs:AssociateKmsKey "
    "logs:DisassociateKmsKey logs:TagResource logs:UntagResource logs:ListTagsForResource logs:TagLogGroup "
    "logs:UntagLogGroup logs:ListTagsLogGroup logs:GetDataProtectionPolicy")
LOG_GROUP_READS = "logs:DescribeLogGroups logs:DescribeIndexPolicies logs:DescribeResourcePolicies"
KEY_ACTIONS = (
    "kms:DescribeKey kms:EnableKeyRotation kms:DisableKeyRotation kms:GetKeyRotationStatus kms:GetKeyPolicy "
    "kms:PutKeyPolicy kms:ListResourceTags kms:TagResource kms:UntagResource kms:UpdateKeyDescription kms:EnableKey "
    "kms:DisableKey kms:ScheduleKeyDeletion kms:CreateGrant kms:RetireGrant")
REPOSITORY_ACTIONS = (
    "ecr:CreateRepository ecr:DeleteRepository ecr:DescribeRepositories ecr:PutLifecyclePolicy ecr:GetLifecyclePolicy "
    "ecr:DeleteLifecyclePolicy ecr:PutImageScanningConfiguration ecr:PutImageTagMutability ecr:SetRepositoryPolicy "
    "ecr:GetRepositoryPolicy ecr:DeleteRepositoryPolicy ecr:TagResource ecr:UntagResource ecr:ListTagsForResource")
# What the buckets set, everything the read handler reads, and the update handler's removals of settings the template
# does not declare (S3 authorizes DeleteBucketCors with s3:PutBucketCORS, and so on), all on the stack's own buckets.
BUCKET_ACTIONS = (
    "s3:CreateBucket s3:DeleteBucket s3:ListBucket s3:GetBucketLocation s3:PutBucketPolicy s3:GetBucketPolicy "
    "s3:DeleteBucketPolicy s3:PutEncryptionConfiguration s3:GetEncryptionConfiguration s3:PutBucketVersioning "
    "s3:GetBucketVersioning s3:PutBucketPublicAccessBlock s3:GetBucketPublicAccessBlock s3:PutBucketOwnershipControls "
    "s3:GetBucketOwnershipControls s3:PutLifecycleConfiguration s3:GetLifecycleConfiguration s3:PutBucketTagging "
    "s3:GetBucketTagging s3:PutBucketLogging s3:GetBucketLogging s3:PutBucketNotification s3:GetBucketNotification "
    "s3:PutBucketAcl s3:GetBucketAcl s3:GetAccelerateConfiguration s3:GetAnalyticsConfiguration s3:GetBucketCORS "
    "s3:GetInventoryConfiguration s3:GetMetricsConfiguration s3:GetReplicationConfiguration s3:GetBucketWebsite "
    "s3:GetBucketObjectLockConfiguration s3:GetIntelligentTieringConfiguration s3:GetBucketAbac "
    "s3:GetBucketMetadataTableConfiguration s3:PutBucketCORS s3:PutAnalyticsConfiguration s3:PutMetricsConfiguration "
    "s3:PutReplicationConfiguration s3:DeleteBucketWebsite s3:DeleteBucketMetadataTableConfiguration")
BUCKET_READS = "s3:ListTagsForResource"   # the IAM reference lists no bucket resource type for it


def bucket_grants(sid: str, buckets: list) -> list[Grant]:
    return [grant(sid, BUCKET_ACTIONS, buckets),
            grant(f"{sid}Tags", BUCKET_READS + " s3:TagResource s3:UntagResource",
                  why_any="the IAM reference lists no bucket resource type for bucket tag listing and tagging")]


def log_group_grants(sid: str, groups: list) -> list[Grant]:
    return [grant(sid, LOG_GROUP_ACTIONS, groups),
            grant("FindLogGroups", LOG_GROUP_READS, why_any="these CloudWatch Logs reads have no resource type")]
