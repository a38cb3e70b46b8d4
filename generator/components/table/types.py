"""The resource types the table stacks create, and what the rest of the system must know about each."""
from __future__ import annotations

from generator.components import monitoring, shared
from generator.components.base import TypeFacts, Verifier
from generator.policies.grants import Grant, grant


def tables(each, envs: list[str]) -> list[Grant]:
    """The table handler's own actions on the app's tables (`table/<app>-<env>-*`, and their streams). The item
    actions it declares serve imports (ImportSourceSpecification) and replicas, which the templates never set, and
    the KMS actions its grants on the table's key, which the shared key family covers."""
    return [
        grant("ManageTables", "dynamodb:CreateTable dynamodb:DeleteTable dynamodb:DescribeTable dynamodb:UpdateTable "
              "dynamodb:DescribeTimeToLive dynamodb:UpdateTimeToLive dynamodb:DescribeContinuousBackups "
              "dynamodb:UpdateContinuousBackups dynamodb:DescribeContributorInsights "
              "dynamodb:UpdateContributorInsights dynamodb:DescribeKinesisStreamingDestination "
              "dynamodb:ListTagsOfResource dynamodb:TagResource dynamodb:UntagResource dynamodb:GetResourcePolicy",
              each("table/${Application}-{env}-*", "dynamodb")),
    ]


TYPES = {
    **monitoring.TYPES_FOR_WATCHERS,   # its alarms and composite alarm (docs/monitoring.md)
    **shared.pick("AWS::KMS::Key"),
    "AWS::DynamoDB::Table": TypeFacts(stateful=True, cfn_grants=tables, verify=Verifier(
        "DescribeTable", lambda client, p: bool(client("dynamodb").describe_table(TableName=p)["Table"]))),
}
