"""What a service's stack does with the stores it `uses` (docs/attachments.md): their variables and secrets on the
container, one task-role policy with the grants of the access asked for, and an ingress rule of its own on each
store's security group, from the service's group on the store's port (the producer never refers to its consumers, so
there is no ordering cycle between the stacks)."""
from __future__ import annotations

from typing import Any

from troposphere import GetAtt, Sub, ec2, ecs, iam

from generator import naming
from generator.components.attachments import SecretSource, Use, Value
from generator.policies.common import document
from generator.wiring import OutputRef, ParentValue, RootParameter, StackBuilder

POLICY = "uses"


def wire(stack: StackBuilder, value: Value) -> Any:
    """A value inside the service stack: a literal as it is, a source as a parameter of this stack (an output of
    another stack is named `<Stack><Output>`, so two stores' `Endpoint`s stay apart)."""
    if isinstance(value, OutputRef):
        return stack.input(value, name=value.stack + value.name)
    if isinstance(value, (RootParameter, ParentValue)):
        return stack.input(value)
    return value


def environment(stack: StackBuilder, uses: list[Use]) -> list[ecs.Environment]:
    return [ecs.Environment(Name=name, Value=str(value) if isinstance(value, int) else wire(stack, value))
            for use in uses for name, value in sorted(use.attachment.environment.items())]


def secrets(stack: StackBuilder, uses: list[Use]) -> list[ecs.Secret]:
    return [ecs.Secret(Name=name, ValueFrom=_value_from(stack, secret))
            for use in uses for name, secret in sorted(use.attachment.secrets.items())]


def secret_arns(stack: StackBuilder, uses: list[Use]) -> list:
    """The secrets the execution role reads when a task starts (each once)."""
    arns = {secret.arn: None for use in uses for secret in use.attachment.secrets.values()}
    return [wire(stack, arn) for arn in arns]


def _value_from(stack: StackBuilder, secret: SecretSource) -> Any:
    arn = wire(stack, secret.arn)
    # `<arn>:<json-key>::` (the current version's key); the whole secret string without a key
    return Sub("${Arn}:" + secret.key + "::", Arn=arn) if secret.key else arn


def policy(stack: StackBuilder, uses: list[Use]) -> iam.Policy | None:
    """One task-role policy with each store's statements for the access asked for; Sids are made unique per
    store."""
    statements = []
    for use in uses:
        prefix = naming.pascal(use.attachment.name)
        for index, statement in enumerate(use.statements(lambda source: wire(stack, source)), start=1):
            statement.Sid = f"{prefix}{statement.properties.get('Sid') or index}"
            statements.append(statement)
    return iam.Policy(PolicyName=POLICY, PolicyDocument=document(*statements)) if statements else None


def ingress_rules(stack: StackBuilder, uses: list[Use], service: str, security_group: ec2.SecurityGroup) -> None:
    for use in uses:
        ingress = use.attachment.ingress
        if ingress is None:
            continue
        port = wire(stack, ingress.port)
        stack.add(ec2.SecurityGroupIngress(
            f"Uses{naming.pascal(use.attachment.name)}Ingress", GroupId=wire(stack, ingress.security_group_id),
            SourceSecurityGroupId=GetAtt(security_group, "GroupId"), IpProtocol="tcp", FromPort=port, ToPort=port,
            Description=f"From the {service} tasks to {use.attachment.name}"))
