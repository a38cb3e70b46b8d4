"""Physical names and the parameters they are built from, in one place.

Templates are environment-agnostic, so a physical name is a `Sub` over the Application and
EnvironmentName parameters; both are lowercase by constraint, so names stay valid for ECR and S3.
"""
from __future__ import annotations

from troposphere import Sub

ENVIRONMENT_PARAM = "EnvironmentName"
APPLICATION_PARAM = "Application"
OWNER_PARAM = "Owner"

NAME_PATTERN = r"^[a-z][a-z0-9-]{0,18}[a-z0-9]$"
MAX_NAME_LENGTH = 20


def physical_name(*parts: str, sep: str = "-") -> Sub:
    """`<application>-<environment>-<parts...>`, e.g. physical_name("vpc-flow-logs")."""
    suffix = sep.join(parts)
    return Sub(sep.join([f"${{{APPLICATION_PARAM}}}", f"${{{ENVIRONMENT_PARAM}}}"] + ([suffix] if suffix else [])))


def log_group_name(*parts: str) -> Sub:
    """CloudWatch log groups live under one prefix per app and environment."""
    return Sub("/".join([f"/${{{APPLICATION_PARAM}}}", f"${{{ENVIRONMENT_PARAM}}}", *parts]))


def pascal(name: str) -> str:
    """`my-svc` -> `MySvc`: a lowercase name as it enters logical IDs and parameter names."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("-"))


def service_stack(service: str) -> str:
    """Logical ID of a service's nested stack: `api` -> `ServiceApi`."""
    return f"Service{pascal(service)}"


def service_parameter(service: str, setting: str) -> str:
    """A per-service root parameter: `service_parameter("api", "MinCount")` -> `ApiMinCount`."""
    return f"{pascal(service)}{setting}"
