"""The data stores (issue 11 items 2, 5 and 6 for caches, queues, tables, buckets and file systems): what each stack
creates, asserted property by property (a careless `make golden` accepts anything), the per-environment settings
their parameter files carry, and the protection every store gets from its type's facts.

AWS facts relied on (docs/data-stores.md has the full list):
- ElastiCache in-transit encryption with an AUTH token, and `TransitEncryptionMode: required` (clients must use TLS):
  https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/in-transit-encryption.html
- Supported Valkey and Redis OSS versions: https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/supported-engine-versions.html
- An ECS task that mounts an EFS access point or uses IAM authorization must turn transit encryption on:
  https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_EFSAuthorizationConfig.html
- SQS redrive (deadLetterTargetArn, maxReceiveCount; the DLQ of a FIFO queue is FIFO):
  https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html
"""
from __future__ import annotations

import json

import pytest

from generator import params, root, stateful
from generator.config import load_app
from tests.support import DEFAULT_APP, FIXTURE_APPS, ROOT


def _build(path):
    app = load_app(path)
    built = root.build(app)
    return app, built, {name: t.to_dict() for name, t in built.templates().items()}


CHAT = _build(FIXTURE_APPS / "chat.yaml")
DJANGO = _build(FIXTURE_APPS / "django-celery.yaml")
DEFAULT = _build(DEFAULT_APP)


def resources(templates: dict, name: str, rtype: str) -> dict[str, dict]:
    return {k: r for k, r in templates[name]["Resources"].items() if r["Type"] == rtype}


def one(templates: dict, name: str, rtype: str) -> dict:
    [found] = resources(templates, name, rtype).values()
    return found


def values(built, env: str, app) -> dict[str, str]:
    return {p.name: p.env_value(app, env) for p in built.parameters}


def _denies_plain_http(statement: dict) -> bool:
    return statement["Effect"] == "Deny" and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


# --- queues ----------------------------------------------------------------------------------------------------------

def test_a_queue_has_a_kms_key_a_dead_letter_queue_and_refuses_plain_http():
    _, _, t = DEFAULT
    queues = resources(t, "queue-jobs.yaml", "AWS::SQS::Queue")
    main, dead = queues["Queue"], queues["DeadLetterQueue"]
    key = {"Fn::GetAtt": ["Key", "Arn"]}
    assert main["Properties"]["KmsMasterKeyId"] == key and dead["Properties"]["KmsMasterKeyId"] == key
    assert main["Properties"]["RedrivePolicy"] == {"deadLetterTargetArn": {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]},
                                                   "maxReceiveCount": 5}
    assert main["Properties"]["VisibilityTimeout"] == 300
    assert dead["Properties"]["MessageRetentionPeriod"] == 14 * 86400
    assert dead["Properties"]["RedriveAllowPolicy"]["redrivePermission"] == "byQueue"
    assert main["Properties"]["QueueName"] == {"Fn::Sub": "${Application}-${EnvironmentName}-jobs"}
    policy = one(t, "queue-jobs.yaml", "AWS::SQS::QueuePolicy")["Properties"]
    assert [_denies_plain_http(s) for s in policy["PolicyDocument"]["Statement"]] == [True]
    assert (main["DeletionPolicy"], main["UpdateReplacePolicy"]) == ("RetainExceptOnCreate", "Retain")
    # alarm-ready: the dead-letter queue's name reaches the root stack
    assert "QueueJobsDeadLetterQueueName" in t["root.yaml"]["Outputs"]


def test_a_fifo_queue_and_its_dead_letter_queue_are_fifo_with_the_suffix_added():
    _, _, t = CHAT
    queues = resources(t, "queue-messages.yaml", "AWS::SQS::Queue")
    assert queues["Queue"]["Properties"]["QueueName"] == {"Fn::Sub": "${Application}-${EnvironmentName}-messages.fifo"}
    assert queues["DeadLetterQueue"]["Properties"]["QueueName"] == {
        "Fn::Sub": "${Application}-${EnvironmentName}-messages-dlq.fifo"}
    for queue in queues.values():
        assert queue["Properties"]["FifoQueue"] is True and queue["Properties"]["ContentBasedDeduplication"] is True
    assert queues["Queue"]["Properties"]["RedrivePolicy"]["maxReceiveCount"] == 3


# --- tables ----------------------------------------------------------------------------------------------------------

def test_a_table_is_on_demand_with_point_in_time_recovery_its_own_key_ttl_and_stream():
    app, built, t = CHAT
    table = one(t, "table-conversations.yaml", "AWS::DynamoDB::Table")
    p = table["Properties"]
    assert p["BillingMode"] == "PAY_PER_REQUEST"
    assert p["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert p["SSESpecification"] == {"SSEEnabled": True, "SSEType": "KMS",
                                     "KMSMasterKeyId": {"Fn::GetAtt": ["Key", "Arn"]}}
    assert p["KeySchema"] == [{"AttributeName": "connection_id", "KeyType": "HASH"},
                              {"AttributeName": "sent_at", "KeyType": "RANGE"}]
    assert p["AttributeDefinitions"] == [{"AttributeName": "connection_id", "AttributeType": "S"},
                                         {"AttributeName": "sent_at", "AttributeType": "N"}]
    assert p["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert p["StreamSpecification"] == {"StreamViewType": "NEW_IMAGE"}
    assert p["DeletionProtectionEnabled"] == {"Fn::If": ["DeletionProtected", True, False]}
    assert (table["DeletionPolicy"], table["UpdateReplacePolicy"]) == ("RetainExceptOnCreate", "Retain")
    name = "TableConversationsDeletionProtection"
    assert [values(built, env, app)[name] for env in ("dev", "staging", "prod")] == ["false", "false", "true"]


# --- buckets ---------------------------------------------------------------------------------------------------------

def test_a_bucket_is_private_encrypted_versioned_tls_only_with_lifecycle_and_cors():
    _, _, t = DEFAULT
    bucket = one(t, "bucket-uploads.yaml", "AWS::S3::Bucket")
    p = bucket["Properties"]
    assert p["PublicAccessBlockConfiguration"] == {"BlockPublicAcls": True, "BlockPublicPolicy": True,
                                                   "IgnorePublicAcls": True, "RestrictPublicBuckets": True}
    [rule] = p["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule == {"BucketKeyEnabled": True, "ServerSideEncryptionByDefault": {
        "SSEAlgorithm": "aws:kms", "KMSMasterKeyID": {"Fn::GetAtt": ["Key", "Arn"]}}}
    assert p["VersioningConfiguration"] == {"Status": "Enabled"}
    [lifecycle] = p["LifecycleConfiguration"]["Rules"]
    assert lifecycle["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 7}
    assert lifecycle["NoncurrentVersionExpiration"] == {"NoncurrentDays": 30}
    assert p["CorsConfiguration"]["CorsRules"] == [{"AllowedOrigins": ["https://tunecast.example.com"],
                                                    "AllowedMethods": ["GET", "PUT"], "AllowedHeaders": ["*"],
                                                    "MaxAge": 3000}]
    assert p["BucketName"]["Fn::Sub"][0] == "${Application}-${EnvironmentName}-uploads-${Suffix}"
    policy = one(t, "bucket-uploads.yaml", "AWS::S3::BucketPolicy")["Properties"]["PolicyDocument"]
    assert [_denies_plain_http(s) for s in policy["Statement"]] == [True]
    assert (bucket["DeletionPolicy"], bucket["UpdateReplacePolicy"]) == ("RetainExceptOnCreate", "Retain")


def test_the_longest_bucket_name_fits_exactly_63_characters():
    """The rule counts `<app>-<env>-<name>-<12>`; a name at the limit passes, one character more is refused."""
    from generator.components.bucket.spec import bucket_names_fit
    from generator.config.models import AppSpec
    raw = {"app": "a" * 20, "owner": "o", "region": "eu-west-1", "environments": {"e" * 10: {"cidr": "10.0.0.0/16"}}}
    fits = AppSpec.model_validate({**raw, "buckets": [{"name": "b" * 18}]})     # 20 + 10 + 18 + 12 + 3 = 63
    assert list(bucket_names_fit(fits)) == []
    longer = AppSpec.model_validate({**raw, "buckets": [{"name": "b" * 19}]})
    [problem] = bucket_names_fit(longer)
    assert problem.loc == "buckets." + "b" * 19 + ".name" and "64 characters" in problem.msg


# --- file systems ----------------------------------------------------------------------------------------------------

def test_a_file_system_is_encrypted_in_every_zone_with_one_access_point_per_mounting_service():
    app, built, t = DJANGO
    name = "filesystem-media.yaml"
    fs = one(t, name, "AWS::EFS::FileSystem")
    p = fs["Properties"]
    assert p["Encrypted"] is True and p["KmsKeyId"] == {"Fn::GetAtt": ["Key", "Arn"]}
    assert p["BackupPolicy"] == {"Status": {"Fn::If": ["BackupsEnabled", "ENABLED", "DISABLED"]}}
    assert [_denies_plain_http(s) for s in p["FileSystemPolicy"]["Statement"]] == [True]
    assert (fs["DeletionPolicy"], fs["UpdateReplacePolicy"]) == ("RetainExceptOnCreate", "Retain")
    targets = resources(t, name, "AWS::EFS::MountTarget")
    assert sorted(targets) == ["MountTarget1", "MountTarget2", "MountTarget3"]   # network.az_count: 3
    assert [r.get("Condition") for r in targets.values()] == [None, None, "ThirdZone"]
    assert [r["Properties"]["SubnetId"] for r in targets.values()] == [
        {"Fn::Select": [i, {"Ref": "PrivateSubnetIds"}]} for i in range(3)]
    points = resources(t, name, "AWS::EFS::AccessPoint")
    assert sorted(points) == ["CeleryAccessPoint", "DjangoAccessPoint"]   # beat mounts nothing
    for point in points.values():
        assert point["Properties"]["PosixUser"] == {"Uid": "1000", "Gid": "1000"}
        assert point["Properties"]["RootDirectory"] == {
            "Path": "/media", "CreationInfo": {"OwnerUid": "1000", "OwnerGid": "1000", "Permissions": "0750"}}
    group = one(t, name, "AWS::EC2::SecurityGroup")["Properties"]
    assert "SecurityGroupIngress" not in group   # only the mounting services' rules, on their own (attachments)
    backups = "FileSystemMediaBackups"
    assert [values(built, env, app)[backups] for env in ("staging", "prod")] == ["false", "true"]


# --- caches ----------------------------------------------------------------------------------------------------------

def test_a_cache_requires_tls_and_an_auth_token_from_secrets_manager_encrypted_in_private_subnets():
    app, built, t = DJANGO
    name = "cache-broker.yaml"
    group = one(t, name, "AWS::ElastiCache::ReplicationGroup")
    p = group["Properties"]
    assert (p["Engine"], p["EngineVersion"], p["Port"]) == ("redis", "7.1", 6379)
    assert p["TransitEncryptionEnabled"] is True and p["TransitEncryptionMode"] == "required"
    assert p["AtRestEncryptionEnabled"] is True and p["KmsKeyId"] == {"Fn::GetAtt": ["Key", "Arn"]}
    assert p["AuthToken"] == {"Fn::Sub": ["{{resolve:secretsmanager:${Secret}:SecretString:token}}",
                                          {"Secret": {"Ref": "AuthToken"}}]}
    assert p["AutomaticFailoverEnabled"] == {"Fn::If": ["Replicated", True, False]}
    assert p["MultiAZEnabled"] == {"Fn::If": ["Replicated", True, False]}
    assert (group["DeletionPolicy"], group["UpdateReplacePolicy"]) == ("Snapshot", "Snapshot")
    subnets = one(t, name, "AWS::ElastiCache::SubnetGroup")["Properties"]
    assert subnets["SubnetIds"] == {"Ref": "PrivateSubnetIds"}
    secret = one(t, name, "AWS::SecretsManager::Secret")["Properties"]
    assert secret["GenerateSecretString"]["GenerateStringKey"] == "token"
    assert secret["KmsKeyId"] == {"Fn::GetAtt": ["Key", "Arn"]}
    # the token never passes through a parameter (file): only the dynamic reference above names it
    assert not [p.name for p in built.parameters if "token" in p.name.lower() or "secret" in p.name.lower()]
    prod, staging = values(built, "prod", app), values(built, "staging", app)
    assert (prod["CacheBrokerNodeType"], prod["CacheBrokerNodes"], prod["CacheBrokerSnapshotRetentionDays"]) == (
        "cache.r7g.large", "3", "14")
    assert (staging["CacheBrokerNodeType"], staging["CacheBrokerNodes"],
            staging["CacheBrokerSnapshotRetentionDays"]) == ("cache.t4g.micro", "1", "0")


# --- protection and facts ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("rtype", ["AWS::ElastiCache::ReplicationGroup", "AWS::SQS::Queue", "AWS::DynamoDB::Table",
                                   "AWS::S3::Bucket", "AWS::EFS::FileSystem"])
def test_every_store_is_stateful_and_in_production_stack_policies(rtype):
    assert rtype in stateful.stateful_types()
    _, built, _ = CHAT
    config = params.render(load_app(FIXTURE_APPS / "chat.yaml"), built)
    policy = json.loads(config["prod.config.json"])["StackPolicy"]
    denied = [s for s in policy["Statement"] if s["Effect"] == "Deny"]
    assert any(rtype in s["Condition"]["StringEquals"]["ResourceType"] for s in denied)


def test_every_store_stack_is_its_own_nested_stack():
    _, built, _ = CHAT
    stores = ("cache-", "queue-", "table-", "bucket-", "filesystem-")
    assert [n.builder.filename for n in built.nested if n.builder.filename.startswith(stores)] == [
        "queue-messages.yaml", "table-conversations.yaml", "bucket-files.yaml"]
    _, built, _ = DJANGO
    assert [n.builder.filename for n in built.nested if n.builder.filename.startswith(stores)] == [
        "cache-broker.yaml", "filesystem-media.yaml"]


# --- attachments: what a service that uses a store gets (docs/data-stores.md) ---------------------------------------

def container(templates: dict, service: str) -> dict:
    [definition] = resources(templates, f"service-{service}.yaml", "AWS::ECS::TaskDefinition").values()
    [found] = definition["Properties"]["ContainerDefinitions"]
    return found


def uses_policy(templates: dict, service: str) -> dict[str, dict]:
    role = resources(templates, f"service-{service}.yaml", "AWS::IAM::Role")["TaskRole"]["Properties"]
    [policy] = [p for p in role["Policies"] if isinstance(p, dict) and p.get("PolicyName") == "uses"]
    return {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}


def test_the_default_apps_api_sends_jobs_and_reads_and_writes_uploads_with_their_keys_only():
    _, _, t = DEFAULT
    env = {e["Name"]: e["Value"] for e in container(t, "api")["Environment"]}
    assert env["UPLOADS_BUCKET"] == {"Ref": "BucketUploadsBucketName"}
    assert env["JOBS_QUEUE_URL"] == {"Ref": "QueueJobsQueueUrl"}
    grants = uses_policy(t, "api")
    assert grants["JobsSend"]["Action"] == ["sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"]
    assert grants["JobsSend"]["Resource"] == [{"Ref": "QueueJobsQueueArn"}]
    assert grants["JobsKey"] == {"Sid": "JobsKey", "Effect": "Allow", "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
                                 "Resource": [{"Ref": "QueueJobsKeyArn"}]}
    assert grants["UploadsList"]["Resource"] == [{"Ref": "BucketUploadsBucketArn"}]
    assert grants["UploadsWrite"]["Action"] == ["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
    assert grants["UploadsKey"]["Resource"] == [{"Ref": "BucketUploadsKeyArn"}]
    assert not any("sqs:ReceiveMessage" in s["Action"] for s in grants.values())   # send only
    assert all(r != "*" for s in grants.values() for r in s["Resource"])


def test_the_jobs_worker_consumes_its_queue_and_scales_on_its_backlog_from_zero_in_dev():
    app, built, t = DEFAULT
    grants = uses_policy(t, "jobs")
    assert grants["JobsConsume"]["Action"] == ["sqs:ReceiveMessage", "sqs:DeleteMessage",
                                               "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes",
                                               "sqs:GetQueueUrl"]
    assert grants["JobsKey"]["Action"] == ["kms:Decrypt"]
    alarms = resources(t, "service-jobs.yaml", "AWS::CloudWatch::Alarm")
    scaling = sorted(a for a in alarms if a.startswith(("Queue", "CpuHigh", "CpuLow")))
    assert scaling == ["QueueBacklogHighAlarm", "QueueBacklogLowAlarm"]   # no CPU steps (monitoring's alarms aside)
    high = alarms["QueueBacklogHighAlarm"]["Properties"]
    [backlog] = [m for m in high["Metrics"] if m.get("ReturnData")]
    assert backlog["Expression"] == ("IF(FILL(running, 0) < 1, (visible > 0) * 21, "
                                     "visible / IF(FILL(running, 0) < 1, 1, FILL(running, 0)))")
    assert (high["Threshold"], high["ComparisonOperator"]) == (20, "GreaterThanThreshold")
    [visible] = [m for m in high["Metrics"] if m["Id"] == "visible"]
    assert visible["MetricStat"]["Metric"]["Dimensions"] == [{"Name": "QueueName",
                                                             "Value": {"Ref": "QueueJobsQueueName"}}]
    assert alarms["QueueBacklogLowAlarm"]["Properties"]["Threshold"] == 10
    assert "JobsCpuScaleOut" not in {p.name for p in built.parameters}
    assert values(built, "dev", app)["JobsMinCount"] == "0"


def test_a_cache_user_gets_its_url_token_secret_and_ingress_on_6379():
    _, _, t = DJANGO
    c = container(t, "django")
    assert {e["Name"]: e["Value"] for e in c["Environment"]}["BROKER_URL"] == {"Ref": "CacheBrokerUrl"}
    assert c["Secrets"] == [{"Name": "BROKER_AUTH_TOKEN", "ValueFrom": {
        "Fn::Sub": ["${Arn}:token::", {"Arn": {"Ref": "CacheBrokerAuthTokenSecretArn"}}]}}]
    ingress = resources(t, "service-django.yaml", "AWS::EC2::SecurityGroupIngress")["UsesBrokerIngress"]["Properties"]
    assert (ingress["GroupId"], ingress["FromPort"], ingress["ToPort"]) == ({"Ref": "CacheBrokerSecurityGroupId"},
                                                                           6379, 6379)


def test_a_mount_uses_the_services_access_point_with_iam_and_transit_encryption():
    _, _, t = DJANGO
    [definition] = resources(t, "service-celery.yaml", "AWS::ECS::TaskDefinition").values()
    assert definition["Properties"]["Volumes"] == [{"Name": "media", "EFSVolumeConfiguration": {
        "FilesystemId": {"Ref": "FilesystemMediaFileSystemId"}, "TransitEncryption": "ENABLED",
        "AuthorizationConfig": {"AccessPointId": {"Ref": "FilesystemMediaCeleryAccessPointId"}, "IAM": "ENABLED"}}}]
    assert container(t, "celery")["MountPoints"] == [{"SourceVolume": "media", "ContainerPath": "/app/media",
                                                      "ReadOnly": False}]
    mount = uses_policy(t, "celery")["MediaMount"]
    assert mount["Action"] == ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"]
    assert mount["Resource"] == [{"Ref": "FilesystemMediaFileSystemArn"}]
    assert mount["Condition"] == {"StringEquals": {
        "elasticfilesystem:AccessPointArn": {"Ref": "FilesystemMediaCeleryAccessPointArn"}}}
    ingress = resources(t, "service-celery.yaml", "AWS::EC2::SecurityGroupIngress")["UsesMediaIngress"]["Properties"]
    assert (ingress["GroupId"], ingress["FromPort"]) == ({"Ref": "FilesystemMediaSecurityGroupId"}, 2049)
    assert "Volumes" not in resources(t, "service-beat.yaml", "AWS::ECS::TaskDefinition")["TaskDefinition"][
        "Properties"]


def test_a_table_reader_cannot_write_and_a_writer_cannot_read():
    _, _, t = CHAT
    reader, writer = uses_policy(t, "chat"), uses_policy(t, "writer")
    assert "ConversationsRead" in reader and "ConversationsWrite" not in reader
    assert "ConversationsReadStream" in reader   # the table has a stream
    assert "ConversationsWrite" in writer and "ConversationsRead" not in writer
    assert reader["ConversationsRead"]["Resource"][1] == {
        "Fn::Sub": ["${Arn}/index/*", {"Arn": {"Ref": "TableConversationsTableArn"}}]}


def test_redis_6_gets_tls_without_a_transit_mode_it_does_not_know():
    """Transit encryption modes exist from Redis OSS 7.0 and Valkey 7.2 (generator/components/cache/stack.py)."""
    from generator.components.cache.spec import CacheSpec
    from generator.components.cache.stack import transit_mode
    assert transit_mode(CacheSpec(name="old", engine="redis", engine_version="6.2")) == {}
    assert transit_mode(CacheSpec(name="new", engine="redis", engine_version="7.0")) == {
        "TransitEncryptionMode": "required"}
    assert transit_mode(CacheSpec(name="vk")) == {"TransitEncryptionMode": "required"}
