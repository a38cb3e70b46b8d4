from __future__ import annotations

from awacs import sts
from awacs.aws import Allow, Condition, PolicyDocument, Principal, Statement, StringEquals
from troposphere import Ref

VERSION = "2012-10-17"


def document(*statements: Statement) -> PolicyDocument:
    return PolicyDocument(Version=VERSION, Statement=list(statements))


def assume_role(service: str) -> PolicyDocument:
    """Trust one AWS service, and only on behalf of this account (confused-deputy guard)."""
    return document(Statement(
        Effect=Allow, Action=[sts.AssumeRole], Principal=Principal("Service", [service]),
        Condition=Condition(StringEquals("aws:SourceAccount", Ref("AWS::AccountId"))),
    ))
