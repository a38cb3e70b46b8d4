"""Field types the app spec's models share (the central models in models.py and the components' spec modules):
names, ids, CIDRs, retention periods, text that is not blank. Strict pydantic base: frozen, unknown keys rejected,
no "8080" for a port, no 1 for true.
"""
import difflib
from ipaddress import IPv4Network
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Strict as StrictType, StringConstraints

from generator import naming
from generator.config import aws_facts, pydantic_plugins

NAME_PATTERN = naming.NAME_PATTERN
Name = Annotated[str, StringConstraints(pattern=NAME_PATTERN)]
# A path relative to a repository root (a Dockerfile, a build context).
RelativePath = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-][A-Za-z0-9_./-]{0,199}$")]
AccountId = Annotated[str, StringConstraints(pattern=r"^[0-9]{12}$")]
INT32_MAX = 2**31 - 1  # counts are 32-bit integers in the ECS and Application Auto Scaling APIs


def _known_region(value: str) -> str:
    """The regions cfn-lint validates templates for (aws_facts); the lint gate would refuse any other."""
    if value in aws_facts.regions():
        return value
    close = difflib.get_close_matches(value, sorted(aws_facts.regions()), n=1, cutoff=0.8)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    raise ValueError(f"{value!r} is not an AWS region code; use one such as eu-west-1 or us-east-1{hint}")


Region = Annotated[str, AfterValidator(_known_region)]
VpcId = Annotated[str, StringConstraints(pattern=r"^vpc-[0-9a-f]{8,17}$")]
SubnetId = Annotated[str, StringConstraints(pattern=r"^subnet-[0-9a-f]{8,17}$")]
# A host name clients use (no wildcard): what a certificate must cover.
DomainName = Annotated[str, StringConstraints(
    max_length=253, pattern=r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")]
# An availability zone by name (`eu-west-1a`, mapped per account) or by zone ID (`euw1-az1`, the same everywhere).
ZoneRef = Annotated[str, StringConstraints(pattern=r"^([a-z]{2}(-[a-z]+)+-\d+[a-z]|[a-z]{2,6}\d+-az\d+)$")]
NatMode = Literal["none", "single", "per-az"]
# The values CloudWatch Logs accepts for RetentionInDays.
RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192,
                  2557, 2922, 3288, 3653)
RetentionDays = Literal[RETENTION_DAYS]  # type: ignore[valid-type]
ServiceKind = Literal["web", "worker", "cron"]


def _explicit_prefix(value: object) -> object:
    # ipaddress reads `10` or `10.0.0.0` as a /32; a CIDR in app.yaml must say its prefix length.
    if not isinstance(value, str) or "/" not in value:
        raise ValueError(f"{value!r} is not a CIDR; write the network with its prefix length, e.g. 10.10.0.0/16")
    return value


Cidr = Annotated[IPv4Network, StrictType(False), BeforeValidator(_explicit_prefix)]


def _not_blank(value: str) -> str:
    # Python's idea of blank (str.strip), the same the buildspec renderer uses: \x1c-\x1f are blank too.
    if not value.strip():
        raise ValueError(f"{value!r} is blank; write the text, or remove the entry")
    return value


# Text with at least one character that is not white space (a command, a list item).
NonBlank = Annotated[str, AfterValidator(_not_blank)]

# An e-mail address as SNS takes one for an `email` subscription (the pipeline's approvals, the alerts).
EmailAddress = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$",
                                                max_length=254)]
# An SNS topic ARN (e.g. one AWS Chatbot or a paging service subscribes to).
SnsTopicArn = Annotated[str, StringConstraints(
    pattern=r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$")]
# Who an IAM trust policy can name: an account (its 12 digits or its root ARN), a role (IAM Identity Center's
# permission-set roles are roles under aws-reserved/sso.amazonaws.com/) or a user. IAM's names are ASCII: its API's
# `[\w+=,.@-]+` means "upper and lowercase alphanumeric characters" (IAM API Reference, CreateRole RoleName), so the
# class is spelled in ASCII; a Unicode \w would also accept names IAM refuses, and pydantic-core compiled its
# {1,64} repetition in 35-45 ms on every import (2 ms in ASCII).
_IAM_NAME = r"[A-Za-z0-9_+=,.@-]"
IamPrincipal = Annotated[str, StringConstraints(
    pattern=rf"^([0-9]{{12}}|arn:aws[a-z-]*:iam::[0-9]{{12}}:(root|(role|user)/({_IAM_NAME}+/)*{_IAM_NAME}{{1,64}}))$")]

# Fargate task sizes: cpu units -> the memory values (MiB) Fargate accepts with it.
FARGATE_SIZES: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4097, 1024)),
    1024: tuple(range(2048, 8193, 1024)),
    2048: tuple(range(4096, 16385, 1024)),
    4096: tuple(range(8192, 30721, 1024)),
    8192: tuple(range(16384, 61441, 4096)),
    16384: tuple(range(32768, 122881, 8192)),
}


pydantic_plugins.install()   # before the first model's validator is built: no plugin search (pydantic_plugins.py)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class EnvironmentPart(Strict, defer_build=True):
    """A component's fields of `environments.<env>` (NetworkEnv, ClusterEnv, ...): a base of `EnvironmentSpec`, whose
    validator checks them. pydantic builds a model's validator when its class is defined, unless `defer_build`; a
    part's own would never run at a load (EnvironmentSpec builds the same fields' checks again, for itself), so a part
    builds one only when something validates it on its own, e.g. a test (pydantic does it at that first use). Its
    fields are collected at once all the same (`model_fields`); a computed field's return type is evaluated at the
    build (generator/components/base.py reads it without one). 11 parts: 10 M instructions of every import."""


def empty_list() -> list:
    """A field's default of a new empty list, as `default_factory=list` gives. pydantic inspects every default
    factory's signature when it builds a model (does it take the validated data?); for the builtin `list` that parses
    its text signature, about 0.5 ms a field (24 fields), for a Python function a few microseconds."""
    return []
