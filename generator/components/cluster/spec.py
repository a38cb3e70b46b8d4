"""The cluster's per-environment settings (ClusterEnv: fields of `environments.<env>`, each a root parameter unless
marked) and the rules about them. The cluster has no block of its own in app.yaml: the web services' ports come from
`services`."""
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated

from pydantic import Field, StringConstraints

from generator.components.base import EnvInputs, NotAParameter, Param, cidr_pattern
from generator.config.types import Cidr, DomainName, EnvironmentPart, RetentionDays
from generator.errors import Problem

if TYPE_CHECKING:
    from generator.config import AppSpec

GROUP = "Cluster and load balancer"
CertificateArn = Annotated[str, StringConstraints(
    pattern=r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/[0-9a-f-]{36}$")]
TEST_LISTENER_MASKS = range(8, 33)   # never wider than a /8 (a rule), never the whole internet


class ClusterEnv(EnvironmentPart):
    """An environment's cluster and load balancer (fields of `environments.<env>`)."""

    spot_share: Annotated[int | None, Param("Spot share (%)")] = Field(
        None, ge=0, le=100, multiple_of=10,
        description="Percent of tasks placed on FARGATE_SPOT (interruptible, cheaper; 0-100 in steps of 10); the rest "
                    "run on FARGATE. Default: 0 in production, 50 elsewhere.")
    certificate_arn: Annotated[CertificateArn | None, Param(
        "Certificate ARN", absent="", default="", constraint="empty, or an ACM certificate ARN in this region")] = Field(
        None, description="ACM certificate for the load balancer. Given: HTTPS on 443 and HTTP redirects to it; "
                          "omitted (empty): HTTP only.")
    domain_name: Annotated[DomainName | None, NotAParameter(
        "the pipeline's test URL and approval messages use it; no template does")] = Field(
        None, description="The DNS name clients use for this environment (a CNAME or alias record pointing at the "
                          "load balancer), covered by `certificate_arn`. The pipeline's test URL and approval "
                          "messages use it (`https://<domain_name>:8080`): the certificate cannot cover the load "
                          "balancer's own DNS name.")
    test_listener_cidr: Annotated[Cidr | None, Param(
        "Test listener CIDR", pattern=lambda app: cidr_pattern(TEST_LISTENER_MASKS),
        constraint="an IPv4 CIDR with a mask of /8 to /32 (never 0.0.0.0/0)")] = Field(
        None, description="The only network that may reach the test listener (port 8080), e.g. an office or VPN "
                          "CIDR. Default: the environment's `cidr`.")
    idle_timeout_seconds: Annotated[int, Param("Load balancer idle timeout (s)")] = Field(
        60, ge=1, le=4000,
        description="Seconds the load balancer keeps an idle connection open (1-4000). Raise it for long polling "
                    "and WebSockets (Socket.IO) that stay quiet longer than a minute.")
    access_log_retention_days: Annotated[RetentionDays | None,  # type: ignore[valid-type]
                                         Param("Access log retention (days)")] = Field(
        None, description="Days load balancer access logs are kept. Default: 365 in production, 90 elsewhere.")


def spot_share(app: "AppSpec", env: str) -> int:
    spec = app.environments[env]
    return spec.spot_share if spec.spot_share is not None else (0 if spec.production else 50)


def access_log_retention_days(app: "AppSpec", env: str) -> int:
    spec = app.environments[env]
    return spec.access_log_retention_days or (365 if spec.production else 90)


def settings(app: "AppSpec", env: str) -> ClusterEnv:
    """An environment's cluster settings with their defaults filled in."""
    spec = app.environments[env]
    return spec.model_copy(update={
        "spot_share": spot_share(app, env), "access_log_retention_days": access_log_retention_days(app, env),
        "test_listener_cidr": spec.test_listener_cidr or spec.cidr})


def env_inputs(app: "AppSpec") -> EnvInputs[ClusterEnv]:
    return EnvInputs(ClusterEnv, GROUP, settings, app=app)


# --- rules -------------------------------------------------------------------------------------------------------

def certificate_in_region_and_account(app: "AppSpec") -> Iterator[Problem]:
    """An environment's `certificate_arn` names an ACM certificate in the environment's region and, when the
    environment gives `account_id`, in that account (a load balancer cannot use a certificate from anywhere else)."""
    for name, env in app.environments.items():
        if env.certificate_arn is None:
            continue
        _, _, _, region, account, _ = env.certificate_arn.split(":", 5)
        loc = f"environments.{name}.certificate_arn"
        here = app.region_of(name)
        if region != here:
            yield Problem(loc, f"the certificate is in {region}, but the load balancer is in {here}; "
                               f"request or import the certificate in {here}")
        if env.account_id is not None and account != env.account_id:
            yield Problem(loc, f"the certificate belongs to account {account}, not to this environment's account "
                               f"{env.account_id}")


def test_listener_cidr_is_narrow(app: "AppSpec") -> Iterator[Problem]:
    """An environment's `test_listener_cidr` is a /8 or narrower network: the test listener serves releases that are
    not yet approved and is never open to the whole internet."""
    for name, env in app.environments.items():
        cidr = env.test_listener_cidr
        if cidr is not None and cidr.prefixlen < TEST_LISTENER_MASKS.start:
            yield Problem(f"environments.{name}.test_listener_cidr",
                          f"{cidr} opens the test listener to (a large part of) the internet; give the office or "
                          "VPN network, e.g. 203.0.113.0/24")


RULES = (certificate_in_region_and_account, test_listener_cidr_is_narrow)
