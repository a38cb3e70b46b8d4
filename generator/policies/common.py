from __future__ import annotations

from awacs import sts
from awacs.aws import Allow, Condition, PolicyDocument, Principal, Statement, StringEquals
from troposphere import Ref

VERSION = "2012-10-17"

# Services whose documentation shows `aws:SourceAccount` in the trust policy of the roles they assume, so the key is
# in the request context when they call AssumeRole. A condition on a key the service does not send denies every
# AssumeRole: a release or deploy then fails at its first step. The others (CodeDeploy, CloudFormation, CodePipeline,
# Lambda: their service-role pages show trust policies without conditions) get none; their roles can only be handed
# to them by a principal of this account (iam:PassRole does not cross accounts), which is what the condition guards.
SOURCE_ACCOUNT_DOCUMENTED = {
    "ecs-tasks.amazonaws.com": "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html",
    "vpc-flow-logs.amazonaws.com": "https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-iam-role.html",
    "states.amazonaws.com": "https://docs.aws.amazon.com/step-functions/latest/dg/procedure-create-iam-role.html"
                            "#prevent-cross-service-confused-deputy",
    "scheduler.amazonaws.com": "https://docs.aws.amazon.com/scheduler/latest/UserGuide/setting-up.html"
                               "#setting-up-execution-role",
    "codebuild.amazonaws.com": "https://docs.aws.amazon.com/codebuild/latest/userguide/setting-up-service-role.html",
}


def document(*statements: Statement) -> PolicyDocument:
    return PolicyDocument(Version=VERSION, Statement=list(statements))


def assume_role(service: str) -> PolicyDocument:
    """Trust one AWS service; on behalf of this account only (confused-deputy guard) where the service is documented
    to send `aws:SourceAccount` (SOURCE_ACCOUNT_DOCUMENTED)."""
    props = {"Effect": Allow, "Action": [sts.AssumeRole], "Principal": Principal("Service", [service])}
    if service in SOURCE_ACCOUNT_DOCUMENTED:
        props["Condition"] = Condition(StringEquals("aws:SourceAccount", Ref("AWS::AccountId")))
    return document(Statement(**props))
