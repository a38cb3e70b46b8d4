from __future__ import annotations

from awacs import kms
from awacs.aws import Allow, ArnLike, Condition, Principal, Statement
from troposphere import Sub

from generator.policies.common import document


def logs_key_policy():
    """Account administrators manage the key; CloudWatch Logs may use it for this account's log groups only."""
    return document(
        Statement(Sid="AccountAdministers", Effect=Allow, Principal=Principal("AWS", Sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")),
                  Action=[kms.Action("*")], Resource=["*"]),
        Statement(Sid="CloudWatchLogsUse", Effect=Allow,
                  Principal=Principal("Service", Sub("logs.${AWS::Region}.amazonaws.com")),
                  # the action set the CloudWatch Logs guide prescribes for encrypted log groups
                  Action=[kms.Action(a) for a in ("Encrypt*", "Decrypt*", "ReEncrypt*", "GenerateDataKey*", "Describe*")],
                  Resource=["*"],
                  Condition=Condition(ArnLike("kms:EncryptionContext:aws:logs:arn",
                                              Sub("arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:*")))),
    )


def database_key_policy():
    """Account administrators manage the key; IAM policies decide who uses it. RDS encrypts the cluster's storage,
    its Performance Insights data and (through Secrets Manager) the master user's secret with grants it creates with
    the credentials of whoever creates the cluster; a task that reads the secret needs kms:Decrypt on the key
    (its execution role's grant)."""
    return document(
        Statement(Sid="AccountAdministers", Effect=Allow,
                  Principal=Principal("AWS", Sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")),
                  Action=[kms.Action("*")], Resource=["*"]))
