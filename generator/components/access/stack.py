"""Access nested stack: the environment's Viewer, Developer and DevOps roles (`<app>-<env>-viewer`, ...), assumable
only by the principals `environments.<env>.access` names.

Trust: a role session of a named principal (an IAM Identity Center permission-set role, a role of a named account)
may assume the role as it is (`aws:PrincipalType` AssumedRole: the session's own sign-in carried the MFA); every other
caller (an IAM user, named or in a named account) only with MFA (`aws:MultiFactorAuthPresent`). Both keys are global
condition keys present in every signed request ("AWS global condition context keys", IAM User Guide). The session
lasts at most `session_hours`. A role nobody may assume is not created (its Condition).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from awacs import sts
from awacs.aws import Allow, Bool, Condition, Principal, Statement, StringEquals
from troposphere import Equals, FindInMap, GetAtt, If, Not, iam

from generator import naming
from generator.components.access.policies import personas
from generator.components.access.spec import AccessEnv
from generator.components.base import EnvInputs
from generator.components.environment import EnvironmentCore
from generator.policies.common import document
from generator.policies.grants import document as grants_document
from generator.wiring import OutputRef, StackBuilder

if TYPE_CHECKING:
    from generator.config import AppSpec

NON_PRODUCTION = "NonProduction"
HOUR = 3600


class AccessOutputs(NamedTuple):
    role_arns: dict[str, OutputRef]    # persona -> role ARN (empty string where the role is not created)


def build(app: AppSpec, stack: StackBuilder, env: EnvInputs[AccessEnv],
          environment: EnvInputs[EnvironmentCore]) -> AccessOutputs:
    t = stack.template
    t.add_condition(NON_PRODUCTION, Not(Equals(environment.input(stack, "production"), "true")))
    t.add_mapping("SessionSeconds", {str(h): {"Seconds": h * HOUR} for h in range(1, 13)})
    session = FindInMap("SessionSeconds", env.input(stack, "session_hours"), "Seconds")
    arns = {}
    for persona in personas(app):
        exists = f"{persona.title}RoleExists"
        t.add_condition(exists, Equals(env.input(stack, f"{persona.name}_role"), "true"))
        policies = [iam.Policy(PolicyName=persona.name, PolicyDocument=grants_document(persona.grants))]
        if persona.non_production:   # two whole lists: no AWS::NoValue inside a list (moto keeps it as null)
            policies = If(NON_PRODUCTION, [*policies, iam.Policy(
                PolicyName=f"{persona.name}-outside-production",
                PolicyDocument=grants_document(persona.non_production))], policies)
        role = stack.add(iam.Role(
            f"{persona.title}Role", Condition=exists, RoleName=naming.physical_name(persona.name),
            Description=f"{persona.title} of this app and environment (docs/access.md)",
            AssumeRolePolicyDocument=trust(env.input(stack, persona.name)), MaxSessionDuration=session,
            Policies=policies))
        arns[persona.name] = stack.output(f"{persona.title}RoleArn", If(exists, GetAtt(role, "Arn"), ""),
                                          f"The {persona.title} role (empty: nobody may assume it here)", public=True)
    return AccessOutputs(arns)


def trust(principals):
    """Role sessions of the named principals as they are; everyone else (IAM users) with MFA only."""
    named = Principal("AWS", principals)
    return document(
        Statement(Sid="RoleSessions", Effect=Allow, Principal=named, Action=[sts.AssumeRole],
                  Condition=Condition(StringEquals("aws:PrincipalType", "AssumedRole"))),
        Statement(Sid="UsersWithMfa", Effect=Allow, Principal=named, Action=[sts.AssumeRole],
                  Condition=Condition(Bool("aws:MultiFactorAuthPresent", "true"))))
