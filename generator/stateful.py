"""Resource types that hold data: protected by the production stack policy, flagged in deploy previews."""

STATEFUL_TYPES = (
    "AWS::DynamoDB::Table",
    "AWS::ECR::Repository",
    "AWS::EFS::FileSystem",
    "AWS::ElastiCache::ReplicationGroup",
    "AWS::KMS::Key",
    "AWS::Logs::LogGroup",
    "AWS::RDS::DBCluster",
    "AWS::RDS::DBInstance",
    "AWS::S3::Bucket",
    "AWS::SQS::Queue",
    "AWS::SecretsManager::Secret",
)


def is_stateful(resource_type: str) -> bool:
    return resource_type in STATEFUL_TYPES
