from __future__ import annotations

from awacs import logs
from awacs.aws import Allow, Statement
from troposphere import Sub

from generator.policies.common import document


def write_log_group(log_group_arn) -> object:
    """Create streams in, and write to, one log group (VPC flow logs, ECS tasks)."""
    return document(Statement(
        Effect=Allow,
        Action=[logs.CreateLogStream, logs.PutLogEvents, logs.DescribeLogStreams],
        Resource=[log_group_arn, Sub("${Arn}:*", Arn=log_group_arn)],
    ))
