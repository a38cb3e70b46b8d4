"""ECS task roles: what the execution role needs to start one service's tasks, and ECS Exec for the task role."""
from __future__ import annotations

from awacs import ecr, kms, logs, secretsmanager, ssmmessages
from awacs.aws import Allow, Condition, PolicyDocument, Statement, StringEquals
from troposphere import Sub

from generator.policies.common import document


def task_execution(repository_arn, log_group_arn, secret_arns: list, more_repositories: list = ()) -> PolicyDocument:
    """Pull from one repository (and the private ECR repositories of sidecar images), write to one log group, read the
    named secrets (and nothing else).

    The ECR login token cannot be scoped (GetAuthorizationToken has no resource); pulls can. Repository KMS keys
    need no grant here: ECR decrypts layers through its own grant. Secrets may use a customer managed key, so
    kms:Decrypt is allowed, but only when Secrets Manager in this region asks on the role's behalf.
    """
    statements = [
        Statement(Sid="EcrLogin", Effect=Allow, Action=[ecr.GetAuthorizationToken], Resource=["*"]),
        Statement(Sid="PullImage", Effect=Allow, Resource=[repository_arn, *more_repositories],
                  Action=[ecr.BatchCheckLayerAvailability, ecr.GetDownloadUrlForLayer, ecr.BatchGetImage]),
        # GetAtt LogGroup.Arn ends in ":*", so it covers the group's streams (what CDK grants the awslogs driver).
        Statement(Sid="WriteLogs", Effect=Allow, Action=[logs.CreateLogStream, logs.PutLogEvents],
                  Resource=[log_group_arn]),
    ]
    if secret_arns:
        statements += [
            Statement(Sid="ReadSecrets", Effect=Allow, Action=[secretsmanager.GetSecretValue], Resource=secret_arns),
            Statement(Sid="DecryptSecrets", Effect=Allow, Action=[kms.Decrypt], Resource=["*"],
                      Condition=Condition(StringEquals("kms:ViaService",
                                                       Sub("secretsmanager.${AWS::Region}.amazonaws.com")))),
        ]
    return document(*statements)


def exec_channels() -> PolicyDocument:
    """ECS Exec: the SSM agent in the task opens its channels with the task role. The ssmmessages actions have no
    resource type, so `*` is the only possible Resource."""
    return document(Statement(
        Sid="EcsExec", Effect=Allow, Resource=["*"],
        Action=[ssmmessages.CreateControlChannel, ssmmessages.CreateDataChannel,
                ssmmessages.OpenControlChannel, ssmmessages.OpenDataChannel]))
