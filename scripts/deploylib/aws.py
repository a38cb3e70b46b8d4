"""Session, clients and error translation: the only module that decides how we talk to AWS.

Every client gets the same retry configuration (adaptive mode, 10 attempts): botocore then retries throttling
(`Throttling`, `ThrottlingException`, `RequestLimitExceeded`, ...) and transient errors with exponential backoff
and a client-side rate limiter. The endpoint override (`--endpoint-url` or `AWS_ENDPOINT_URL`) is the only way
the rehearsal differs from a real deploy.
"""
from __future__ import annotations

import difflib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    SSOError,
    TokenRetrievalError,
)

from scripts.deploylib.errors import DeployError

RETRIES: dict[str, Any] = {"mode": "adaptive", "max_attempts": 10}
USER_AGENT_EXTRA = "fargate-stacks-deploy/1"

THROTTLING_CODES = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
    "TooManyRequestsException", "RequestLimitExceeded", "SlowDown", "PriorRequestNotComplete",
})
EXPIRED_CODES = frozenset({"ExpiredToken", "ExpiredTokenException", "RequestExpired"})
BAD_CREDENTIAL_CODES = frozenset({"InvalidClientTokenId", "UnrecognizedClientException", "SignatureDoesNotMatch",
                                  "AuthFailure", "InvalidAccessKeyId"})
CREDENTIALS_HINT = ("set AWS_PROFILE to a profile in ~/.aws/config (for SSO: `aws sso login --profile NAME`), "
                    "or export AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN")


@dataclass
class Aws:
    """A session bound to one region (and optionally an endpoint), handing out configured clients."""

    session: boto3.Session
    region: str
    endpoint_url: str | None = None
    retries: dict[str, Any] = field(default_factory=lambda: dict(RETRIES))
    _clients: dict[str, Any] = field(default_factory=dict, init=False, repr=False)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            config = Config(region_name=self.region, retries=dict(self.retries), user_agent_extra=USER_AGENT_EXTRA)
            self._clients[service] = self.session.client(
                service, region_name=self.region, endpoint_url=self.endpoint_url, config=config)
        return self._clients[service]

    @property
    def cf(self) -> Any:
        return self.client("cloudformation")

    @property
    def s3(self) -> Any:
        return self.client("s3")

    def account_id(self) -> str:
        return self.client("sts").get_caller_identity()["Account"]


def endpoint_from(cli_value: str | None, environ: dict[str, str] | None = None) -> str | None:
    environ = os.environ if environ is None else environ
    return cli_value or environ.get("AWS_ENDPOINT_URL") or None


def resolve_region(cli_value: str | None, app_region: str, environ: dict[str, str] | None = None) -> tuple[str, str]:
    """(region, where it came from): --region, then AWS_REGION, then app.yaml. AWS_DEFAULT_REGION is a shell-wide
    default, so app.yaml wins over it."""
    environ = os.environ if environ is None else environ
    if cli_value:
        return cli_value, "--region"
    if environ.get("AWS_REGION"):
        return environ["AWS_REGION"], "AWS_REGION"
    return app_region, "app.yaml"


def known_regions(session: boto3.Session) -> set[str]:
    """Regions of every partition, from the endpoint data bundled with botocore (no network)."""
    regions: set[str] = set()
    for partition in session.get_available_partitions():
        regions.update(session.get_available_regions("cloudformation", partition_name=partition))
    return regions


def check_region(session: boto3.Session, region: str) -> None:
    known = known_regions(session)
    if region in known:
        return
    close = difflib.get_close_matches(region, sorted(known), n=3, cutoff=0.6)
    hint = f"did you mean {', '.join(close)}?" if close else "see `aws ec2 describe-regions` for valid names"
    raise DeployError(f"unknown AWS region '{region}'",
                      f"{hint} (the region comes from --region, AWS_REGION or `region:` in app.yaml)")


def open_session(profile: str | None = None) -> boto3.Session:
    """A session for AWS_PROFILE (or --profile); credentials are resolved lazily by botocore."""
    try:
        return boto3.Session(profile_name=profile or None)
    except ProfileNotFound as exc:
        raise DeployError(f"AWS profile '{exc.kwargs.get('profile', profile)}' is not configured",
                          "check AWS_PROFILE / --profile against `aws configure list-profiles`") from exc


def error_code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")


def error_message(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Message", "") or str(exc)


@contextmanager
def friendly_errors(profile: str | None = None) -> Iterator[None]:
    """Turn credential, region, network and throttling failures into DeployError with what to do."""
    who = f"profile '{profile}'" if profile else "the default credential chain"
    try:
        yield
    except (NoCredentialsError, PartialCredentialsError) as exc:
        raise DeployError(f"no usable AWS credentials ({who}): {exc}", CREDENTIALS_HINT) from exc
    except (TokenRetrievalError, SSOError) as exc:
        raise DeployError(f"the SSO session of {who} has expired or is missing",
                          f"run `aws sso login{' --profile ' + profile if profile else ''}` and try again") from exc
    except ProfileNotFound as exc:
        raise DeployError(f"AWS profile '{profile}' is not configured",
                          "check AWS_PROFILE against `aws configure list-profiles`") from exc
    except NoRegionError as exc:
        raise DeployError("no AWS region", "set `region:` in app.yaml, AWS_REGION or --region") from exc
    except EndpointConnectionError as exc:
        raise DeployError(f"cannot reach AWS at {exc.kwargs.get('endpoint_url', 'the endpoint')}",
                          "check the network/proxy, the region and any --endpoint-url / AWS_ENDPOINT_URL") from exc
    except ClientError as exc:
        code = error_code(exc)
        if code in EXPIRED_CODES:
            raise DeployError(f"the AWS credentials of {who} have expired",
                              f"refresh them (e.g. `aws sso login{' --profile ' + profile if profile else ''}`)"
                              ) from exc
        if code in BAD_CREDENTIAL_CODES:
            raise DeployError(f"AWS rejected the credentials of {who} ({code})", CREDENTIALS_HINT) from exc
        if code in THROTTLING_CODES:
            raise DeployError(f"AWS kept throttling {exc.operation_name} through {RETRIES['max_attempts']} retries "
                              f"with backoff ({code})",
                              "another tool may be hammering the API; wait a minute and run the command again"
                              ) from exc
        if code in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation"):
            raise DeployError(f"access denied on {exc.operation_name}: {error_message(exc)}",
                              f"the identity behind {who} needs that permission") from exc
        raise
    except BotoCoreError as exc:
        raise DeployError(f"AWS SDK error: {exc}") from exc
