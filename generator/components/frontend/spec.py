"""The frontend's spec: `frontend:` in app.yaml (FrontendSpec), its per-environment settings
(`environments.<env>.frontend`, FrontendEnv, each a root parameter) and the rules about them (docs/frontend.md)."""
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field, StringConstraints

from generator.components.base import EnvInputs, Param
from generator.components.service.spec import PathPattern
from generator.config.types import DomainName, RetentionDays, Strict, empty_list
from generator.errors import Problem

if TYPE_CHECKING:
    from generator.config import AppSpec

GROUP = "Frontend and CloudFront"
# CloudFront's default quota is 25 cache behaviours per distribution; one is the static default behaviour.
MAX_API_PATHS = 24
CLOUDFRONT_REGION = "us-east-1"   # where CloudFront reads its ACM certificates and global WAF web ACLs from
CloudFrontCertificateArn = Annotated[str, StringConstraints(
    pattern=r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/[0-9a-f-]{36}$")]
WebAclArn = Annotated[str, StringConstraints(
    pattern=r"^arn:aws[a-z-]*:wafv2:[a-z0-9-]+:[0-9]{12}:global/webacl/[A-Za-z0-9_-]{1,128}/[0-9a-f-]{36}$")]
HostedZoneId = Annotated[str, StringConstraints(pattern=r"^Z[A-Z0-9]{1,32}$")]
PrefixListId = Annotated[str, StringConstraints(pattern=r"^pl-[0-9a-f]{8,17}$")]
PriceClass = Literal["PriceClass_100", "PriceClass_200", "PriceClass_All"]
# A directory of the repository (the build's working directory, its output): letters, digits, '_.-/' (no `..`
# segment: a rule), as the buildspec checks them too (generator/buildspecs.py).
BuildPath = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-][A-Za-z0-9_./-]{0,199}$")]


class FrontendBuild(Strict):
    """How the pipeline builds the frontend, once per commit (docs/frontend.md, "Publishing the build")."""

    context: BuildPath = Field(
        description="The frontend's directory in the repository, where `command` runs, e.g. `frontend`.")
    command: str = Field(
        min_length=1, max_length=4000,
        description="The shell command that builds it, e.g. `npm ci && npm run build`.")
    output_dir: BuildPath = Field(
        description="The build's output directory, relative to `context` (it holds `index.html`), e.g. `build` or "
                    "`dist`. Every environment publishes this same output.")
    runtime_versions: dict[Annotated[str, StringConstraints(pattern=r"^[a-z]+$")], str] = Field(
        default_factory=lambda: {"nodejs": "20"},
        description="CodeBuild runtime versions of the build (default `{nodejs: '20'}`).")


class FrontendSpec(Strict):
    """A static single-page app on S3 behind CloudFront, which also fronts the web services' paths."""

    api_paths: list[PathPattern] | None = Field(
        None, max_length=MAX_API_PATHS,
        description="Path patterns CloudFront sends to the load balancer (uncached, the viewer's headers, cookies and "
                    "query strings forwarded, WebSockets working), e.g. `/api/*`. Default: the `path_patterns` of the "
                    "web services' `routing`; `[]`: CloudFront serves only the static site and the load balancer "
                    "stays open to the internet.")
    spa_routing: bool = Field(
        True, description="Unknown paths of the static site (no file extension) return `index.html` (a CloudFront "
                          "Function on the static behaviour only; API errors reach clients unchanged).")
    build: FrontendBuild | None = Field(
        None, description="How the pipeline builds the frontend (`{context, command, output_dir}`): once per commit, "
                          "then each environment's release publishes that same build after its stack update. "
                          "Omitted: the pipeline leaves the site alone (`make publish-frontend` publishes it).")


class FrontendEnv(Strict):
    """An environment's frontend and CloudFront settings (`environments.<env>.frontend`)."""

    domain_names: Annotated[list[DomainName], Param("Site domain names")] = Field(
        default_factory=empty_list, max_length=10,
        description="Domain names of the site (CloudFront aliases), covered by `certificate_arn`. Empty: the "
                    "distribution's own name (d123.cloudfront.net).")
    certificate_arn: Annotated[CloudFrontCertificateArn | None, Param(
        "CloudFront certificate ARN", name="CloudFrontCertificateArn", absent="",
        constraint="empty, or an ACM certificate ARN in us-east-1")] = Field(
        None, description="ACM certificate in us-east-1 (CloudFront reads certificates only there) covering "
                          "`domain_names`. Required with `domain_names`.")
    hosted_zone_id: Annotated[HostedZoneId | None, Param("Route 53 hosted zone", absent="")] = Field(
        None, description="A Route 53 hosted zone of this account: alias records (A and AAAA) are created in it for "
                          "`domain_names` and, when the environment has a `domain_name`, an A record for the load "
                          "balancer. Omitted: manage DNS yourself.")
    price_class: Annotated[PriceClass | None, Param("CloudFront price class")] = Field(  # type: ignore[valid-type]
        None, description="CloudFront price class: `PriceClass_100` (North America, Europe), `PriceClass_200` or "
                          "`PriceClass_All`. Default: `PriceClass_All` in production, `PriceClass_100` elsewhere.")
    web_acl_arn: Annotated[WebAclArn | None, Param("WAF web ACL ARN", absent="")] = Field(
        None, description="A WAF (v2) web ACL with CLOUDFRONT scope (created in us-east-1) attached to the "
                          "distribution. Omitted: none.")
    cloudfront_prefix_list_id: Annotated[PrefixListId | None, Param("CloudFront prefix list", name="CloudFrontPrefixListId", absent="")] = Field(
        None, description="ID of the managed prefix list `com.amazonaws.global.cloudfront.origin-facing` in the "
                          "environment's region (`aws ec2 describe-managed-prefix-lists --filters "
                          "Name=prefix-list-name,Values=com.amazonaws.global.cloudfront.origin-facing`): the load "
                          "balancer's production port admits only CloudFront. Required when the frontend fronts the "
                          "API.")
    api_origin_domain: Annotated[DomainName | None, Param("API origin name", absent="")] = Field(
        None, description="The name CloudFront reaches the load balancer by over HTTPS (TLS 1.2), covered by the "
                          "environment's `certificate_arn`. Default: the environment's `domain_name` when it has a "
                          "`certificate_arn`; without one CloudFront uses the load balancer's own name over HTTP.")
    log_retention_days: Annotated[RetentionDays | None, Param("CloudFront log retention (days)")] = Field(  # type: ignore[valid-type]
        None, description="Days CloudFront access logs are kept. Default: 365 in production, 90 elsewhere.")


def api_paths(app: "AppSpec") -> list[str]:
    """The paths CloudFront sends to the load balancer: `frontend.api_paths`, else every web service's path patterns
    (services routed by host only are not reachable through CloudFront: it sends the origin's own host name)."""
    if app.frontend is None:
        return []
    if app.frontend.api_paths is not None:
        return list(app.frontend.api_paths)
    return [p for svc in app.services if svc.kind == "web" and svc.routing is not None and not svc.routing.hosts
            for p in svc.routing.path_patterns]


def fronts_api(app: "AppSpec") -> bool:
    """CloudFront fronts the API: the load balancer's production port admits only CloudFront."""
    return bool(api_paths(app))


def settings(app: "AppSpec", env: str) -> FrontendEnv:
    spec = app.environments[env]
    own = spec.frontend or FrontendEnv()
    production = spec.production
    origin = own.api_origin_domain
    if origin is None and spec.certificate_arn is not None:
        origin = spec.domain_name
    return own.model_copy(update={
        "price_class": own.price_class or ("PriceClass_All" if production else "PriceClass_100"),
        "log_retention_days": own.log_retention_days or (365 if production else 90),
        "api_origin_domain": origin})


def env_inputs(app: "AppSpec") -> EnvInputs[FrontendEnv]:
    return EnvInputs(FrontendEnv, GROUP, settings, app=app)


# --- rules -------------------------------------------------------------------------------------------------------

def _frontends(app: "AppSpec") -> Iterator[tuple[str, FrontendEnv]]:
    if app.frontend is None:
        return
    for name, env in app.environments.items():
        yield name, env.frontend or FrontendEnv()


def frontend_settings_need_a_frontend(app: "AppSpec") -> Iterator[Problem]:
    """An environment gives `frontend` settings only when the app has a `frontend` block."""
    if app.frontend is not None:
        return
    for name, env in app.environments.items():
        if env.frontend is not None:
            yield Problem(f"environments.{name}.frontend", "the app has no `frontend` block; add `frontend: {}` at "
                                                           "the top level or remove these settings")


def cloudfront_certificate_in_us_east_1(app: "AppSpec") -> Iterator[Problem]:
    """An environment's `frontend.certificate_arn` names an ACM certificate in us-east-1 (CloudFront uses
    certificates only from there), and `domain_names` come with a certificate that covers them."""
    for name, env in _frontends(app):
        loc = f"environments.{name}.frontend"
        if env.certificate_arn is not None:
            region = env.certificate_arn.split(":")[3]
            if region != CLOUDFRONT_REGION:
                yield Problem(f"{loc}.certificate_arn",
                              f"the certificate is in {region}, but CloudFront uses certificates only from "
                              f"{CLOUDFRONT_REGION}; request or import it in {CLOUDFRONT_REGION}")
        if env.domain_names and env.certificate_arn is None:
            yield Problem(f"{loc}.certificate_arn", "required with domain_names: CloudFront serves a custom name only "
                                                    "with a us-east-1 ACM certificate that covers it")
        if env.certificate_arn is not None and not env.domain_names:
            yield Problem(f"{loc}.domain_names", "a certificate without domain names is never used; list the names it "
                                                 "covers, e.g. [www.example.com]")


def fronted_api_needs_the_cloudfront_prefix_list(app: "AppSpec") -> Iterator[Problem]:
    """When the frontend fronts the API, every environment gives `frontend.cloudfront_prefix_list_id`: the load
    balancer then admits only CloudFront's origin-facing servers on its production port."""
    if not fronts_api(app):
        return
    for name, env in _frontends(app):
        if env.cloudfront_prefix_list_id is None:
            yield Problem(f"environments.{name}.frontend.cloudfront_prefix_list_id",
                          "required when the frontend fronts the API (frontend.api_paths); give the ID of "
                          "com.amazonaws.global.cloudfront.origin-facing in this region (aws ec2 "
                          "describe-managed-prefix-lists), or set frontend.api_paths: [] to keep the API off CloudFront")


def https_origin_needs_a_name(app: "AppSpec") -> Iterator[Problem]:
    """When the frontend fronts the API of an environment whose load balancer has a `certificate_arn`, CloudFront
    reaches it by a name that certificate covers (`domain_name` or `frontend.api_origin_domain`): the load
    balancer's own DNS name is never on a certificate, and its plain-HTTP port only redirects."""
    if not fronts_api(app):
        return
    for name, env in _frontends(app):
        spec = app.environments[name]
        if spec.certificate_arn is not None and env.api_origin_domain is None and spec.domain_name is None:
            yield Problem(f"environments.{name}.frontend.api_origin_domain",
                          "required when the load balancer has certificate_arn and the environment no domain_name; "
                          "give the load balancer's DNS name its certificate covers, e.g. origin.example.com")


def api_paths_are_distinct(app: "AppSpec") -> Iterator[Problem]:
    """The paths CloudFront sends to the load balancer are distinct and never `/*` (the static site's default
    behaviour)."""
    paths = api_paths(app)
    loc = "frontend.api_paths"
    if len(paths) > MAX_API_PATHS:
        yield Problem(loc, f"{len(paths)} API paths exceed CloudFront's {MAX_API_PATHS} cache behaviours beside the "
                           "static one; give frontend.api_paths with fewer, wider patterns, e.g. /api/*")
    if len(set(paths)) != len(paths):
        yield Problem(loc, "a path pattern appears twice; list each once")
    if "/*" in paths or "*" in paths:
        yield Problem(loc, "/* is the static site's default behaviour; route the API under a prefix, e.g. /api/*")


def build_paths_stay_in_the_repository(app: "AppSpec") -> Iterator[Problem]:
    """`frontend.build.context` and `output_dir` are directories inside the repository: no `..` segment, no
    absolute path (the pattern refuses a leading `/`), and a build command that is not blank."""
    build = app.frontend.build if app.frontend is not None else None
    if build is None:
        return
    for key in ("context", "output_dir"):
        if ".." in getattr(build, key).split("/"):
            yield Problem(f"frontend.build.{key}", "must stay inside the repository (no `..`); give a path like "
                                                   "`frontend` or `build`")
    if not build.command.strip():
        yield Problem("frontend.build.command", "is blank; give the command that builds the frontend, e.g. "
                                                "`npm ci && npm run build`")


RULES = (frontend_settings_need_a_frontend, build_paths_stay_in_the_repository, cloudfront_certificate_in_us_east_1,
         fronted_api_needs_the_cloudfront_prefix_list, https_origin_needs_a_name, api_paths_are_distinct)
