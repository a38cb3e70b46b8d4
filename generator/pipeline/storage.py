"""What the pipeline keeps: one KMS key, the artifact bucket, the build repositories, the log groups, the approval
topic.

Cross-account reads (aws-reference §2, pitfall 6): each target account's deploy role reads the pipeline's input
artifacts, and its CloudFormation role reads the packaged nested templates, from this bucket in the pipeline
account, both encrypted with this key. So the key policy and the bucket policy admit exactly those two roles per
target account: the account root as principal (it always exists, so the pipeline can be created before or after the
target roles) narrowed by `aws:PrincipalArn` to the two role ARNs.
"""
from __future__ import annotations

from typing import NamedTuple

from awacs import kms, s3
from awacs.aws import Allow, ArnEquals, ArnLike, Condition, Principal, Statement
from troposphere import GetAtt, Ref, Sub, Template, ecr, logs, sns
from troposphere import kms as tkms
from troposphere import s3 as ts3

from generator.config import AppSpec
from generator.components.service.sidecars import built as built_sidecars
from generator.naming import pascal
from generator.pipeline import common
from generator.policies.common import document
from generator.policies.ecr import lifecycle_policy
from generator.policies.s3 import deny_insecure_transport

ARTIFACT_DAYS = 90     # packaged templates and artifacts are needed while a run lasts; stacks keep their own copy


class Storage(NamedTuple):
    key: tkms.Key
    bucket: ts3.Bucket
    log_group: logs.LogGroup           # CodeBuild (one stream prefix per project)
    topic: sns.Topic
    repositories: dict[str, ecr.Repository]   # build repositories, by service


def build(app: AppSpec, t: Template) -> Storage:
    key = common.add(t, tkms.Key(
        "PipelineKey", Description=Sub("${Application} pipeline: artifacts, build logs, images, approvals"),
        EnableKeyRotation=True, KeyPolicy=_key_policy(app)))
    common.add(t, tkms.Alias("PipelineKeyAlias", AliasName=Sub("alias/${Application}-pipeline"), TargetKeyId=Ref(key)))
    bucket = common.add(t, artifact_bucket(key, "Pipeline artifacts are written and read only by the pipeline's own "
                                                "roles; who did what is in CloudTrail and the pipeline's execution "
                                                "history, and a second bucket for access logs would only log that."))
    common.add(t, ts3.BucketPolicy("ArtifactBucketPolicy", Bucket=Ref(bucket), PolicyDocument=_bucket_policy(app, bucket)))
    log_group = common.add(t, logs.LogGroup(
        "BuildLogs", LogGroupName=Sub("/aws/codebuild/${Application}-pipeline"),
        RetentionInDays=common.LOG_RETENTION_DAYS, KmsKeyId=GetAtt(key, "Arn")))
    topic = common.add(t, sns.Topic(
        "ApprovalTopic", TopicName=common.name("approvals"), KmsMasterKeyId=GetAtt(key, "Arn"),
        DisplayName=Sub("${Application} releases"),
        Subscription=[sns.Subscription(Protocol="email", Endpoint=Ref("NotificationEmail"))]))
    repositories = {}
    for svc in app.services:
        repositories[svc.name] = common.add(t, ecr.Repository(
            f"{pascal(svc.name)}BuildRepository", RepositoryName=common.name(svc.name),
            ImageTagMutability="IMMUTABLE",
            ImageScanningConfiguration=ecr.ImageScanningConfiguration(ScanOnPush=True),
            EncryptionConfiguration=ecr.EncryptionConfiguration(EncryptionType="KMS", KmsKey=GetAtt(key, "Arn")),
            LifecyclePolicy=ecr.LifecyclePolicy(LifecyclePolicyText=lifecycle_policy(
                app.registry.keep_releases, app.registry.untagged_days, 1 + len(built_sidecars(svc)))),
            EmptyOnDelete=False))
    return Storage(key, bucket, log_group, topic, repositories)


def environment_roles(app: AppSpec) -> tuple[list[Sub], list[Sub]]:
    """(account roots, role ARNs) of the target accounts' deploy and CloudFormation roles, one account each."""
    roots, roles = [], []
    for target in common.distinct_accounts(app):
        roots.append(Sub("arn:${AWS::Partition}:iam::${Account}:root", Account=target.account))
        roles += [target.deploy_role(), target.cloudformation_role()]
    return roots, roles


def _key_policy(app: AppSpec):
    roots, roles = environment_roles(app)
    return document(
        Statement(Sid="AccountAdministers", Effect=Allow,
                  Principal=Principal("AWS", Sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")),
                  Action=[kms.Action("*")], Resource=["*"]),
        Statement(Sid="CloudWatchLogsUse", Effect=Allow,
                  Principal=Principal("Service", Sub("logs.${AWS::Region}.amazonaws.com")),
                  Action=[kms.Action(a) for a in ("Encrypt*", "Decrypt*", "ReEncrypt*", "GenerateDataKey*",
                                                  "Describe*")],
                  Resource=["*"],
                  Condition=Condition(ArnLike("kms:EncryptionContext:aws:logs:arn", Sub(
                      "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:*")))),
        # EventBridge publishes the pipeline's failures to the encrypted topic (notifications.py).
        Statement(Sid="EventBridgePublishes", Effect=Allow, Principal=Principal("Service", "events.amazonaws.com"),
                  Action=[kms.Decrypt, kms.GenerateDataKey], Resource=["*"]),
        # Objects in the artifact bucket: the deploy role reads input artifacts, the CloudFormation role reads the
        # packaged nested templates (S3 decrypts on their behalf).
        Statement(Sid="EnvironmentRolesReadArtifacts", Effect=Allow, Principal=Principal("AWS", roots),
                  Action=[kms.Decrypt, kms.DescribeKey], Resource=["*"],
                  Condition=Condition(ArnEquals("aws:PrincipalArn", roles))),
    )


def _bucket_policy(app: AppSpec, bucket: ts3.Bucket):
    roots, roles = environment_roles(app)
    return document(
        deny_insecure_transport(bucket),
        Statement(Sid="EnvironmentRolesReadArtifacts", Effect=Allow, Principal=Principal("AWS", roots),
                  Action=[s3.GetObject, s3.GetObjectVersion], Resource=[Sub("${Arn}/*", Arn=GetAtt(bucket, "Arn"))],
                  Condition=Condition(ArnEquals("aws:PrincipalArn", roles))),
    )


def artifact_bucket(key: tkms.Key, why_no_access_logs: str) -> ts3.Bucket:
    """The artifact bucket of a region (this one, or another region's in pipeline-support.yaml: regions.py):
    encrypted by `key`, versioned, private, owner-enforced, artifacts expiring after ARTIFACT_DAYS."""
    return ts3.Bucket(
        "ArtifactBucket", BucketName=common.artifact_bucket_name(),
        BucketEncryption=ts3.BucketEncryption(ServerSideEncryptionConfiguration=[ts3.ServerSideEncryptionRule(
            BucketKeyEnabled=True, ServerSideEncryptionByDefault=ts3.ServerSideEncryptionByDefault(
                SSEAlgorithm="aws:kms", KMSMasterKeyID=GetAtt(key, "Arn")))]),
        VersioningConfiguration=ts3.VersioningConfiguration(Status="Enabled"),
        PublicAccessBlockConfiguration=ts3.PublicAccessBlockConfiguration(
            BlockPublicAcls=True, BlockPublicPolicy=True, IgnorePublicAcls=True, RestrictPublicBuckets=True),
        OwnershipControls=ts3.OwnershipControls(Rules=[ts3.OwnershipControlsRule(ObjectOwnership="BucketOwnerEnforced")]),
        LifecycleConfiguration=ts3.LifecycleConfiguration(Rules=[ts3.LifecycleRule(
            Id="ExpireOldArtifacts", Status="Enabled", ExpirationInDays=ARTIFACT_DAYS,
            NoncurrentVersionExpiration=ts3.NoncurrentVersionExpiration(NoncurrentDays=30),
            AbortIncompleteMultipartUpload=ts3.AbortIncompleteMultipartUpload(DaysAfterInitiation=7))]),
        Metadata=common.skip(("CKV_AWS_18", why_no_access_logs)))
