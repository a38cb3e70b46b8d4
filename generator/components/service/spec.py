"""The services' spec: `services:` in app.yaml (ServiceSpec), their per-environment settings (ServiceEnvSpec under
`environments.<env>.services.<name>`, OffHoursSpec under `environments.<env>.off_hours`: each field a root parameter)
and the rules about them (docs/services.md)."""
import difflib
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Literal, Union

from pydantic import Discriminator, Field, StringConstraints, Tag

from generator.components.attachments import Access
from generator.components.base import NotAParameter, Param, declared_fields
from generator.config import aws_facts, schedules
from generator.config.types import (INT32_MAX, FARGATE_SIZES, EnvironmentPart, Name, NonBlank, RelativePath,
                                    RetentionDays, ServiceKind, Strict, empty_list)
from generator.errors import Problem

if TYPE_CHECKING:
    from generator.config import AppSpec

WEB, SCALED = ("web",), ("web", "worker")   # the kinds a setting applies to (Param.kinds)

# Per-service settings (services.md). Environment variable names as ECS and shells accept them.
EnvVarName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,254}$")]
# `secret-name:json-key` or `secret-name` (the whole secret string); the name may contain ${Application} and
# ${EnvironmentName}, so one app.yaml names each environment's secret. Never a secret value.
SECRET_REF_PATTERN = (r"^(?:[A-Za-z0-9/_+=.@!-]|\$\{(?:Application|EnvironmentName)\})+"
                      r"(?::[A-Za-z0-9_.@/+=-]+)?$")
SecretRef = Annotated[str, StringConstraints(pattern=SECRET_REF_PATTERN, max_length=512)]
# Characters an ALB path-pattern / host-header condition accepts (`*` and `?` are wildcards).
PathPattern = Annotated[str, StringConstraints(pattern=r"^/[A-Za-z0-9_.$/~\"'@:+&*?-]{0,127}$")]
HostPattern = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9*?.-]{1,128}$")]
# A URL path and query (RFC 3986 characters; a space is %20): the load balancer sends `GET <path> HTTP/1.1`, and the
# default container health check puts it into a shell command.
UrlPath = Annotated[str, StringConstraints(
    pattern=r"^/(?:[A-Za-z0-9._~!$&'()*+,;=:@/?-]|%[0-9A-Fa-f]{2}){0,1023}$")]
# The predefined ECS deployment configurations, exactly (case-sensitive; cfn-lint does not check them).
DEPLOYMENT_CONFIGS = (
    "CodeDeployDefault.ECSAllAtOnce",
    "CodeDeployDefault.ECSLinear10PercentEvery1Minutes",
    "CodeDeployDefault.ECSLinear10PercentEvery3Minutes",
    "CodeDeployDefault.ECSCanary10Percent5Minutes",
    "CodeDeployDefault.ECSCanary10Percent15Minutes",
)
DeploymentConfigName = Literal[DEPLOYMENT_CONFIGS]  # type: ignore[valid-type]
CATCH_ALL_PRIORITY = 50000  # the listener rule of the one web service without `routing`, evaluated last


class StickinessSpec(Strict):
    """Load-balancer cookie stickiness: a client's requests keep reaching the task that served its first one."""

    duration_seconds: int = Field(
        86400, ge=1, le=604800,
        description="How long the load balancer's cookie (AWSALB) pins a client to its task, in seconds (1 to "
                    "604800, 7 days). Socket.IO's polling transport needs it whenever a service runs several tasks.")


class RoutingSpec(Strict):
    """Which requests reach a web service: one listener rule on the production and one on the test listener."""

    path_patterns: list[PathPattern] = Field(
        default_factory=empty_list, description="Path patterns, e.g. `/api/*` (case-sensitive; `*` and `?` are wildcards).")
    hosts: list[HostPattern] = Field(
        default_factory=empty_list, description="Host headers, e.g. `api.example.com` or `*.example.com`.")
    priority: int = Field(
        ge=1, le=CATCH_ALL_PRIORITY - 1,
        description="Listener rule priority (1-49999), unique across web services; the lowest matching one wins.")
    stickiness: StickinessSpec | None = Field(
        None, description="Sticky sessions on both target groups (a load balancer cookie), e.g. "
                          "`{duration_seconds: 3600}`. Omitted: each request may reach any task.")


ContainerPath = Annotated[str, StringConstraints(pattern=r"^/[A-Za-z0-9_.-][A-Za-z0-9_./-]{0,254}$")]


class MountSpec(Strict):
    """An EFS file system mounted into a service's container (docs/data-stores.md)."""

    file_system: Name = Field(description="Name of one of the app's `file_systems`.")
    path: ContainerPath = Field(description="Where the container sees it, e.g. `/app/media`.")
    read_only: bool = Field(False, description="Mount it read-only (the task role gets no write access either).")


class UseSpec(Strict):
    """A store a service uses, with the access it needs (docs/attachments.md)."""

    name: Name = Field(description="The store's name (`database`, or a cache, queue, table, bucket of the app).")
    access: Access = Field(
        description="What the service may do: `read`, `write` or `read-write` (tables, buckets), `send` or `consume` "
                    "(queues); each store says which it supports and its default.")


# A `uses` entry: a name, or {name, access}; the discriminator keeps a bad entry to the one error of its own form.
UseEntry = Annotated[Union[Annotated[Name, Tag("name")], Annotated[UseSpec, Tag("mapping")]],
                     Discriminator(lambda v: "name" if isinstance(v, str) else "mapping")]


class ScaleOnSpec(Strict):
    """A worker that scales on the backlog of the queue it consumes, instead of CPU (docs/data-stores.md)."""

    queue: Name = Field(description="A queue of the app that the worker uses with `access: consume`.")
    messages_per_task: int = Field(
        ge=1, le=100000, description="Messages waiting per running task that one task can work off in a few minutes: "
                                     "more add tasks, much fewer remove them (down to `min_count`, which may be 0).")


# --- sidecars: more containers in a service's task (sidecars.py has their rules, docs/services.md) -------------
# An ECS container name (letters, digits, '-', '_'); lowercase like service names, so a log stream reads the same.
ContainerName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,62}$")]
# `[registry[:port]/]path[:tag][@sha256:digest]`, Docker's reference grammar without upper case in the path.
IMAGE_REFERENCE = (r"^(?:[a-z0-9][a-z0-9.-]*(?::[0-9]{1,5})?/)?[a-z0-9]+(?:[._-]+[a-z0-9]+)*"
                   r"(?:/[a-z0-9]+(?:[._-]+[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?"
                   r"(?:@sha256:[0-9a-f]{64})?$")
ImageReference = Annotated[str, StringConstraints(pattern=IMAGE_REFERENCE, max_length=255)]
Condition = Literal["START", "COMPLETE", "SUCCESS", "HEALTHY"]
MOVING_TAGS = ("latest",)
# Docker refuses a container memory limit below 6 MiB.
MIN_CONTAINER_MEMORY = 6


class DependsOnSpec(Strict):
    """A container this one waits for when a task starts."""

    container: ContainerName = Field(description="The main container (the service's name) or another sidecar.")
    condition: Condition = Field(  # type: ignore[valid-type]
        "START", description="`START` (started), `COMPLETE` (exited), `SUCCESS` (exited 0) or `HEALTHY` (passes "
                             "its health check: that container needs one). `COMPLETE` and `SUCCESS` only on a "
                             "container with `essential: false`.")


class SidecarBuildSpec(Strict):
    """A sidecar image the pipeline builds from the service's source, next to the service's own image."""

    dockerfile: RelativePath = Field(description="The Dockerfile, relative to the root of the repository the "
                                                 "service is built from, e.g. `nginx/Dockerfile`.")
    context: RelativePath = Field(description="The Docker build context directory, relative to that root, e.g. "
                                              "`nginx`.")


class SidecarSpec(Strict):
    """One more container in the service's task."""

    name: ContainerName = Field(description="Container name, unique in the task and not the service's name "
                                            "(which is the main container's), e.g. `nginx`.")
    image: ImageReference | None = Field(
        None, description="A full image reference with a tag or a digest, e.g. `public.ecr.aws/nginx/nginx:1.27` or "
                          "`...@sha256:<digest>`; `latest` and untagged references are refused (the same template "
                          "runs in every environment). Not built or scanned by the pipeline. Give `image` or `build`.")
    build: SidecarBuildSpec | None = Field(
        None, description="Instead of `image`: the pipeline builds this image with the service's, pushes it into the "
                          "service's repository tagged `<service image tag>-<sidecar name>`, scans it with the same "
                          "gate and releases it with the service's image, e.g. `{dockerfile: nginx/Dockerfile, "
                          "context: nginx}`.")
    port: int | None = Field(None, ge=1, le=65535, description="Container port, e.g. nginx's 8080; needed when it is "
                                                                "the service's `ingress_container`.")
    command: list[NonBlank] | None = Field(None, description="Overrides the image's command.")
    environment: dict[EnvVarName, str] = Field(
        default_factory=dict, description="Plain environment variables (never secrets), as the main container's.")
    secrets: dict[EnvVarName, SecretRef] = Field(
        default_factory=dict, description="Variables read from Secrets Manager when a task starts, as the main "
                                          "container's `secrets` (`NAME: secret-name:json-key`).")
    essential: bool = Field(True, description="When an essential container stops, the whole task stops (and is "
                                              "replaced). `false` for a container that runs once and exits.")
    depends_on: list[DependsOnSpec] = Field(
        default_factory=empty_list, description="Containers this one waits for at task start, e.g. `[{container: web, "
                                          "condition: HEALTHY}]`.")
    health_check: list[NonBlank] | None = Field(
        None, description="Container health check, Docker form (`[\"CMD-SHELL\", \"...\"]`). Default: none, except "
                          "on the `ingress_container` of a web service, which gets the service's default probe "
                          "of `health_check_path`; `[]` turns that off.")
    cpu: int | None = Field(None, ge=0, le=16384, description="CPU units reserved for this container; the sidecars' "
                                                             "together stay below the task's `cpu`.")
    memory: int | None = Field(None, ge=MIN_CONTAINER_MEMORY, le=122880,
                               description="Hard memory limit of this container in MiB (it is stopped above it); the "
                                           "sidecars' together stay below the task's `memory`.")


class ServiceSpec(Strict):
    """One container workload."""

    name: Name = Field(description="Lowercase service name, used in physical names (e.g. `api`).")
    renamed_from: Name | None = Field(
        None, description="The service's previous name, after a rename: its stack, repository, ECS service, log group, "
                          "CodeDeploy names and every other logical id and physical name keep the old name, so the "
                          "rename replaces nothing (docs/services.md). The new `name` is what app.yaml and the day-2 "
                          "commands use.")
    kind: ServiceKind = Field(description="`web` (behind the load balancer), `worker` (no load balancer) or "
                                          "`cron` (a scheduled task).")
    port: int | None = Field(None, ge=1, le=65535, description="Container port. Required for `web` services.")
    cpu: int = Field(256, description="Fargate CPU units: 256, 512, 1024, 2048, 4096, 8192 or 16384.")
    memory: int = Field(512, description="Fargate memory in MiB; must be a valid combination with `cpu`.")
    schedule: str | None = Field(
        None, description="For `cron` services: an EventBridge Scheduler expression such as `cron(0 3 * * ? *)` or "
                          "`rate(1 hour)`.")
    health_check_path: UrlPath = Field("/health", description="HTTP path the load balancer checks (web).")
    command: list[NonBlank] | None = Field(None, description="Overrides the image's command.")
    routing: RoutingSpec | None = Field(
        None, description="Web services: the paths and/or hosts that reach the service. Without it the service is "
                          "the catch-all (`/*`, evaluated last); at most one web service may omit it.")
    environment: dict[EnvVarName, str] = Field(
        default_factory=dict, description="Plain environment variables (never secrets), the same in every environment.")
    secrets: dict[EnvVarName, SecretRef] = Field(
        default_factory=dict,
        description="Environment variables read from Secrets Manager when a task starts: `NAME: secret-name:json-key` "
                    "(or `secret-name` for the whole secret string). The name may contain `${Application}` and "
                    "`${EnvironmentName}`. Names only, never values.")
    ephemeral_storage_gib: int | None = Field(
        None, ge=21, le=200, description="Task ephemeral storage in GiB (21-200); Fargate's default is 20.")
    health_check_command: list[NonBlank] | None = Field(
        None, description="Container health check, Docker form, e.g. `[\"CMD-SHELL\", \"curl -f "
                          "http://localhost:3000/health || exit 1\"]`. Default for web services: fetch "
                          "`health_check_path` on `port` with wget or curl; `[]` turns the container check off.")
    schedule_timezone: str = Field(
        "UTC", description="Cron services: the IANA time zone `schedule` is read in, e.g. `Europe/Berlin`.")
    uses: list[UseEntry] = Field(
        default_factory=empty_list,
        description="The app's data stores this service uses: a name (`database`, `jobs`), or `{name, access}` for "
                    "other than the store's default access. The service gets their connection details as "
                    "environment variables and secrets, a task-role grant limited to each store and access, and "
                    "network access to each store's port (docs/attachments.md).")
    scale_on: ScaleOnSpec | None = Field(
        None, description="Workers: scale on the backlog of a queue they consume (`{queue, messages_per_task}`) "
                          "instead of CPU; with `min_count: 0` the worker stops while the queue is empty.")
    mounts: list[MountSpec] = Field(
        default_factory=empty_list, description="EFS file systems mounted into the container, each through the service's "
                                          "own access point, with IAM authorization and encryption in transit.")
    sidecars: list[SidecarSpec] = Field(
        default_factory=empty_list, description="More containers in the service's task next to the main one (named after "
                                          "the service), e.g. nginx in front of an app server, a log router or a "
                                          "metrics agent. They share the task's network (localhost), roles and log "
                                          "group.")
    ingress_container: ContainerName | None = Field(
        None, description="Web services: the container the load balancer sends traffic to (and the blue/green "
                          "appspec names), e.g. a sidecar `nginx`; its `port` is the target port. Default: the main "
                          "container, on `port`.")

    def ingress(self) -> tuple[str, int | None]:
        """(container name, port) the load balancer targets: `ingress_container`, by default the main container."""
        name = self.ingress_container or self.name
        if name == self.name:
            return name, self.port
        return name, next((s.port for s in self.sidecars if s.name == name), None)


class ServiceEnvSpec(Strict):
    """One service's settings in one environment (`environments.<env>.services.<service>`). Each becomes a root
    parameter of that service, so the service templates are the same for every environment."""

    desired_count: Annotated[int | None, NotAParameter(
        "a fixed count is MinCount = MaxCount", kinds=SCALED)] = Field(
        None, ge=0, le=INT32_MAX, description="A fixed number of tasks: shorthand for `min_count` = `max_count` = this "
                                              "(0 keeps the service stopped). Give either this or "
                                              "`min_count`/`max_count`.")
    min_count: Annotated[int | None, Param("minimum tasks", kinds=SCALED)] = Field(
        None, ge=0, le=INT32_MAX, description="Fewest tasks autoscaling keeps (default 1; off-hours: 0).")
    max_count: Annotated[int | None, Param("maximum tasks", kinds=SCALED)] = Field(
        None, ge=1, le=INT32_MAX, description="Most tasks autoscaling may run (default: `min_count`, at least 1).")
    cpu_scale_out: Annotated[int, Param("CPU scale-out %", kinds=SCALED)] = Field(
        70, ge=1, le=100, description="Average CPU % above which tasks are added.")
    cpu_scale_in: Annotated[int, Param("CPU scale-in %", kinds=SCALED)] = Field(
        30, ge=0, le=99, description="Average CPU % below which a task is removed; lower than `cpu_scale_out`.")
    requests_per_target: Annotated[int | None, Param("requests per task", kinds=WEB, absent="0")] = Field(
        None, ge=1, le=INT32_MAX, description="Web services: also scale to keep about this many requests per task and "
                                              "minute (target tracking over both blue/green target groups). Off "
                                              "when omitted (0).")
    exec: Annotated[bool, Param("ECS Exec", name="ExecEnabled")] = Field(
        False, description="Allow ECS Exec (`aws ecs execute-command`) into the service's tasks; applies to tasks "
                           "started after the change.")
    deployment_config: Annotated[DeploymentConfigName, Param(  # type: ignore[valid-type]
        "deployment configuration", kinds=WEB)] = Field(
        "CodeDeployDefault.ECSAllAtOnce",
        description="Web services: how CodeDeploy shifts production traffic to a release, e.g. "
                    "`CodeDeployDefault.ECSAllAtOnce` (dev) or `CodeDeployDefault.ECSCanary10Percent5Minutes` (prod).")
    wait_for_approval_minutes: Annotated[int | None, Param(
        "release hold (minutes)", name="ApprovalWaitMinutes", kinds=WEB, absent="0")] = Field(
        None, ge=1, le=2880,
        description="Web services: hold each release on the test listener until someone continues it "
                    "(`aws deploy continue-deployment`), at most this many minutes; then it stops and rolls back. "
                    "Off when omitted (0: traffic moves as soon as the new tasks are healthy); the pipeline's test "
                    "environment holds every web release for its integration tests.")
    termination_wait_minutes: Annotated[int, Param("old tasks kept (minutes)", kinds=WEB)] = Field(
        15, ge=0, le=2880, description="Web services: minutes the previous release keeps running after traffic moved "
                                       "(a rollback in that window is instant).")
    log_retention_days: Annotated[RetentionDays, Param(  # type: ignore[valid-type]
        "log retention (days)", name="LogRetention")] = Field(
        30, description="Days the service's container logs are kept.")
    environment: Annotated[dict[EnvVarName, str], NotAParameter(
        "each variable is a root parameter of its own (variables.py)")] = Field(
        default_factory=dict,
        description="Plain variables of the service's main container in this environment, e.g. `{LOG_LEVEL: debug, "
                    "FEATURE_SEARCH: \"on\"}`: each overrides the value in `services[].environment` or adds a "
                    "variable; an empty value removes it here. They enter through the environment's parameter file "
                    "(one labelled parameter per variable), never secrets.")

    @classmethod
    def of(cls, env: "ServicesEnv", service: str) -> "ServiceEnvSpec":
        """The settings of `service` in `env` (defaults when the environment does not list it)."""
        return env.services.get(service) or cls()

    def capacity(self) -> tuple[int, int]:
        """(min, max) task count."""
        if self.desired_count is not None:
            return self.desired_count, self.desired_count
        low = 1 if self.min_count is None else self.min_count
        return low, self.max_count if self.max_count is not None else max(low, 1)


CRON_FIELDS = r"^cron\(\S+( \S+){5}\)$"   # six fields; generator/config/schedules.py checks each at load time


class OffHoursSpec(Strict):
    """Non-production only: web services and workers scale to zero in the evening and back in the morning."""

    stop: Annotated[str, Param(
        "Off-hours stop", absent="", pattern=lambda app: CRON_FIELDS,
        constraint="empty, or cron(minutes hours day-of-month month day-of-week year)")] = Field(
        description="When web services and workers scale to zero, e.g. `cron(0 20 ? * MON-FRI *)` (six fields: "
                    "minutes hours day-of-month month day-of-week year). Empty: never (always in production).")
    start: Annotated[str, Param(
        "Off-hours start", absent="", pattern=lambda app: CRON_FIELDS,
        constraint="empty, or cron(minutes hours day-of-month month day-of-week year)")] = Field(
        description="When web services and workers scale back to their minimum (`min_count`), e.g. "
                    "`cron(0 7 ? * MON-FRI *)`. Empty: "
                    "never.")
    timezone: Annotated[str, Param(
        "Off-hours time zone", pattern=lambda app: TIME_ZONE_NAME,
        constraint="an IANA time zone name such as Europe/Berlin or UTC")] = Field(
        "UTC", description="IANA time zone both times are read in, e.g. `Europe/Berlin` (daylight saving time is "
                           "followed).")


TIME_ZONE_NAME = r"^[A-Za-z][A-Za-z0-9_+/-]{0,63}$"   # the shape of an IANA name; the list is checked at load time
NEVER = OffHoursSpec.model_construct(stop=None, start=None, timezone="UTC")   # an environment without off_hours


class ServicesEnv(EnvironmentPart):
    """An environment's service settings (fields of `environments.<env>`)."""

    services: dict[Name, ServiceEnvSpec] = Field(
        default_factory=dict, description="Per-service settings in this environment, keyed by service name: task "
                                          "counts, scaling, ECS Exec, release settings, log retention.")
    off_hours: OffHoursSpec | None = Field(
        None, description="Non-production only: stop web services and workers in the evening, start them in the "
                          "morning.")


def fields_of(kind: str) -> set[str]:
    """The per-environment settings a kind of service uses (Param.kinds / NotAParameter.kinds; none: every kind)."""
    return {name for name, mark in declared_fields(ServiceEnvSpec).items() if not mark.kinds or kind in mark.kinds}


# --- rules -------------------------------------------------------------------------------------------------------

MAX_CONDITION_VALUES = 5  # an ALB listener rule matches at most five values over all its conditions


def _time_zone_problem(name: str, canonical: bool = False) -> str | None:
    """None for an IANA name (tzdata's list, never this machine's: `localtime` or `posixrules` exist only on some
    machines). `canonical`: Application Auto Scaling takes "the canonical names of the IANA time zones", so an alias
    such as US/Pacific gets its canonical name suggested (UTC, Joda-Time's own name for Etc/UTC, is accepted)."""
    if name not in aws_facts.time_zones():
        close = difflib.get_close_matches(name, sorted(aws_facts.time_zones()), n=1, cutoff=0.8)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return f"'{name}' is not an IANA time zone name; use one such as Europe/Berlin or UTC{hint}"
    target = aws_facts.time_zone_links().get(name)
    if canonical and target is not None and name != "UTC":
        return f"'{name}' is an alias; Application Auto Scaling takes canonical names: use '{target}'"
    return None


def unique_service_names(app: "AppSpec") -> Iterator[Problem]:
    """Service names are unique."""
    seen: set[str] = set()
    for svc in app.services:
        if svc.name in seen:
            yield Problem(f"services.{svc.name}",
                          f"'{svc.name}' names more than one service; give each service its own name")
        seen.add(svc.name)


def renamed_from_is_a_free_name(app: "AppSpec") -> Iterator[Problem]:
    """A service's `renamed_from` differs from its `name`, from every other service's name and from an earlier
    service's `renamed_from`, even once hyphens are dropped (the old name becomes the logical ids)."""
    for i, svc in enumerate(app.services):
        old = svc.renamed_from
        if old is None:
            continue
        loc = f"services.{svc.name}.renamed_from"
        if old == svc.name:
            yield Problem(loc, f"'{old}' is the service's own name; remove renamed_from (it names the previous name)")
            continue
        claims = [(o, o.name) for o in app.services if o is not svc] + \
                 [(o, o.renamed_from) for o in app.services[:i] if o.renamed_from]
        for other, name in claims:
            if name.replace("-", "") == old.replace("-", ""):
                what = "name" if name == other.name else "renamed_from"
                same = "is also" if name == old else f"differs only in hyphens from '{name}',"
                yield Problem(loc, f"'{old}' {same} the {what} of service '{other.name}'; two services cannot keep "
                                   "the same resources")
                break


def service_kind_fields(app: "AppSpec") -> Iterator[Problem]:
    """A `web` service has a `port` (or an `ingress_container` sidecar with one); a `cron` service has a `schedule`,
    and only cron services have one."""
    for svc in app.services:
        loc = f"services.{svc.name}"
        if svc.kind == "web" and svc.port is None and svc.ingress_container in (None, svc.name):
            yield Problem(f"{loc}.port", "a web service needs the container port the load balancer sends traffic to; "
                                         "add it, e.g. port: 8080")
        if svc.kind == "cron" and not svc.schedule:
            yield Problem(f"{loc}.schedule", "a cron service needs a schedule; add one, e.g. 'cron(0 3 * * ? *)' "
                                             "or 'rate(1 hour)'")
        if svc.kind != "cron" and svc.schedule:
            yield Problem(f"{loc}.schedule", "only cron services run on a schedule; remove it or set kind: cron")


def fargate_size(app: "AppSpec") -> Iterator[Problem]:
    """`cpu` and `memory` form a combination Fargate accepts."""
    for svc in app.services:
        loc = f"services.{svc.name}"
        if svc.cpu not in FARGATE_SIZES:
            choices = ", ".join(str(c) for c in FARGATE_SIZES)
            yield Problem(f"{loc}.cpu", f"{svc.cpu} is not a Fargate CPU size; choose one of {choices}")
        elif svc.memory not in FARGATE_SIZES[svc.cpu]:
            mems = FARGATE_SIZES[svc.cpu]
            choices = ", ".join(str(m) for m in mems) if len(mems) <= 8 else f"{mems[0]} to {mems[-1]} in steps of {mems[1] - mems[0]}"
            yield Problem(f"{loc}.memory", f"{svc.memory} MiB does not fit cpu {svc.cpu}; with cpu {svc.cpu} choose {choices}")


def web_routing(app: "AppSpec") -> Iterator[Problem]:
    """Only web services have `routing`; each routing names at least one path or host (five values at most, an ALB
    limit) and a `priority` no other web service uses; at most one web service omits `routing` (the catch-all)."""
    owners: dict[int, str] = {}
    catch_all: list[str] = []
    for svc in app.services:
        loc = f"services.{svc.name}.routing"
        if svc.routing is None:
            if svc.kind == "web":
                catch_all.append(svc.name)
            continue
        if svc.kind != "web":
            yield Problem(loc, f"only web services are behind the load balancer; remove routing from this "
                               f"{svc.kind} service")
            continue
        values = len(svc.routing.path_patterns) + len(svc.routing.hosts)
        if values == 0:
            yield Problem(loc, "give path_patterns and/or hosts, e.g. path_patterns: ['/api/*']; or remove routing "
                               "to make this the catch-all web service")
        elif values > MAX_CONDITION_VALUES:
            yield Problem(loc, f"{values} path patterns and hosts; a listener rule matches at most "
                               f"{MAX_CONDITION_VALUES}: use wildcards (e.g. '/api/*') or fewer values")
        priority = svc.routing.priority
        if priority in owners:
            yield Problem(f"{loc}.priority", f"priority {priority} is already used by service '{owners[priority]}'; "
                                             "give each web service its own priority")
        owners.setdefault(priority, svc.name)
    for name in catch_all[1:]:
        yield Problem(f"services.{name}.routing",
                      f"web services {', '.join(repr(n) for n in catch_all)} have no routing, but only one can be the "
                      f"catch-all (priority {CATCH_ALL_PRIORITY}); give this one routing with path_patterns or hosts "
                      "and a priority")


def service_names_make_distinct_ids(app: "AppSpec") -> Iterator[Problem]:
    """Service names stay distinct once hyphens are dropped (`a-1b` and `a1b` would share stack and parameter
    names)."""
    seen: dict[str, str] = {}
    for svc in app.services:
        key = svc.name.replace("-", "")
        other = seen.setdefault(key, svc.name)
        if other != svc.name:
            yield Problem(f"services.{svc.name}", f"'{svc.name}' and '{other}' differ only in hyphens, so their "
                                                  "stacks and parameters would have the same names; rename one")


def health_check_problem(command: list[str] | None) -> str | None:
    """What is wrong with a container health check in Docker form (a service's or a sidecar's), or None."""
    if command and (command[0] not in ("CMD", "CMD-SHELL") or len(command) < 2):
        return ("start with CMD (then the program and its arguments) or CMD-SHELL (then one shell command), "
                "e.g. ['CMD-SHELL', 'curl -f http://localhost:8080/health || exit 1']; [] turns it off")
    return None


def service_container_settings(app: "AppSpec") -> Iterator[Problem]:
    """A `health_check_command` is empty or starts with CMD or CMD-SHELL; `schedule_timezone` is for cron services
    and names an IANA time zone; a variable is not both in `environment` and in `secrets`."""
    for svc in app.services:
        loc = f"services.{svc.name}"
        problem = health_check_problem(svc.health_check_command)
        if problem:
            yield Problem(f"{loc}.health_check_command", problem)
        if "schedule_timezone" in svc.model_fields_set and svc.kind != "cron":
            yield Problem(f"{loc}.schedule_timezone", "only cron services have a schedule; remove it")
        elif _time_zone_problem(svc.schedule_timezone):
            yield Problem(f"{loc}.schedule_timezone", _time_zone_problem(svc.schedule_timezone))
        for name in sorted(set(svc.environment) & set(svc.secrets)):
            yield Problem(f"{loc}.secrets.{name}", f"{name} is also in environment; keep it in one of them")


def all_plain_variables(svc: ServiceSpec) -> Iterator[tuple[str, str, str]]:
    """(where, name, value) of every plain variable of the service's containers: the main one's, then each
    sidecar's (`services.<name>` or `services.<name>.sidecars.<sidecar>`)."""
    yield from ((f"services.{svc.name}", k, v) for k, v in sorted(svc.environment.items()))
    for side in svc.sidecars:
        yield from ((f"services.{svc.name}.sidecars.{side.name}", k, v) for k, v in sorted(side.environment.items()))


def _all_secrets(svc: ServiceSpec) -> Iterator[tuple[str, str, str]]:
    yield from ((f"services.{svc.name}", k, v) for k, v in sorted(svc.secrets.items()))
    for side in svc.sidecars:
        yield from ((f"services.{svc.name}.sidecars.{side.name}", k, v) for k, v in sorted(side.secrets.items()))


def secret_names_work_as_partial_arns(app: "AppSpec") -> Iterator[Problem]:
    """A secret's name does not end in a hyphen and six characters in any environment: tasks name secrets by
    partial ARN (without the random suffix), and Secrets Manager would read those six characters as the suffix."""
    for svc in app.services:
        for loc, var, ref in _all_secrets(svc):
            template = ref.partition(":")[0]
            for env in app.environments:
                name = template.replace("${Application}", app.app).replace("${EnvironmentName}", env)
                if re.search(r"-[A-Za-z0-9]{6}$", name):
                    yield Problem(f"{loc}.secrets.{var}",
                                  f"secret name '{name}' ends in '-' and six characters, which Secrets Manager takes "
                                  "for the random suffix of a full ARN, so the task could not find it; rename the "
                                  "secret (e.g. end it in '/' plus a word, or use '_' instead of '-')")
                    break


def service_settings_per_environment(app: "AppSpec") -> Iterator[Problem]:
    """`environments.<env>.services` names services of the app and sets only what their kind uses; it gives either
    `desired_count` or `min_count`/`max_count`, with `min_count` at most `max_count` and `cpu_scale_in` below
    `cpu_scale_out`."""
    kinds = {svc.name: svc.kind for svc in app.services}
    for env_name, env in app.environments.items():
        for name, spec in env.services.items():
            loc = f"environments.{env_name}.services.{name}"
            if name not in kinds:
                close = difflib.get_close_matches(name, list(kinds), n=1, cutoff=0.6)
                hint = f"did you mean '{close[0]}'?" if close else f"services are: {', '.join(kinds) or 'none'}"
                yield Problem(loc, f"no service is called '{name}'; {hint}")
                continue
            kind = kinds[name]
            for field in sorted(spec.model_fields_set - fields_of(kind)):
                yield Problem(f"{loc}.{field}", f"'{name}' is a {kind} service, which does not use {field}; remove it")
            yield from _capacity_problems(loc, spec)


def _capacity_problems(loc: str, spec: ServiceEnvSpec) -> Iterator[Problem]:
    if spec.desired_count is not None and (spec.min_count is not None or spec.max_count is not None):
        yield Problem(f"{loc}.desired_count", "give either desired_count (a fixed count) or min_count/max_count "
                                              "(autoscaling), not both")
    elif spec.min_count is not None and spec.max_count is not None and spec.min_count > spec.max_count:
        yield Problem(f"{loc}.min_count", f"min_count {spec.min_count} is above max_count {spec.max_count}")
    if spec.cpu_scale_in >= spec.cpu_scale_out:
        yield Problem(f"{loc}.cpu_scale_in", f"cpu_scale_in ({spec.cpu_scale_in}) must be below cpu_scale_out "
                                             f"({spec.cpu_scale_out}), or tasks would be added and removed in turn")


def off_hours_outside_production(app: "AppSpec") -> Iterator[Problem]:
    """Only non-production environments have `off_hours`, in a canonical IANA time zone (`America/Los_Angeles`, not
    the alias `US/Pacific`)."""
    for name, env in app.environments.items():
        if env.off_hours is None:
            continue
        loc = f"environments.{name}.off_hours"
        if env.production:
            yield Problem(loc, "production never scales to zero on a timetable; remove off_hours here")
        zone_problem = _time_zone_problem(env.off_hours.timezone, canonical=True)
        if zone_problem:
            yield Problem(f"{loc}.timezone", zone_problem)


# --- the delivery pipeline (docs/pipeline.md) ----------------------------------------------------------------------

def schedule_expressions(app: "AppSpec") -> Iterator[Problem]:
    """A cron service's `schedule` is an expression EventBridge Scheduler accepts and the `off_hours` times are cron
    expressions Application Auto Scaling accepts: `cron(...)` has six valid fields with exactly one of day-of-month and
    day-of-week `?`, and `rate(...)` is a whole number of at least 1 and a unit (singular for 1)."""
    for svc in app.services:
        problem = schedules.problem(svc.schedule) if svc.schedule else None
        if problem:
            yield Problem(f"services.{svc.name}.schedule", problem)
    for name, env in app.environments.items():
        for field in ("stop", "start"):
            problem = schedules.problem(getattr(env.off_hours, field), ("cron",)) if env.off_hours else None
            if problem:
                yield Problem(f"environments.{name}.off_hours.{field}", problem)


ENVIRONMENT_PLACEHOLDERS = ("Application", "EnvironmentName", "AWS::Region", "AWS::AccountId", "AWS::Partition",
                            "AWS::URLSuffix")


def environment_placeholders(app: "AppSpec") -> Iterator[Problem]:
    """A `${...}` in an `environment` value (of the main container or a sidecar) is `${Application}`, `${EnvironmentName}`, `${AWS::Region}`,
    `${AWS::AccountId}`, `${AWS::Partition}` or `${AWS::URLSuffix}` (filled in per environment), `${output:Name}` for
    a stack output the app has (`ClusterLoadBalancerDns`, with a frontend `FrontendDistributionDomainName`), or
    `${!Name}` for the text `${Name}`."""
    from generator.components.service import variables   # it imports this module
    for svc in app.services:
        for loc, var, value in all_plain_variables(svc):
            problem = variables.output_problem(app, value)
            if problem:
                yield Problem(f"{loc}.environment.{var}", problem)
                continue
            for match in re.finditer(r"\$\{([^}]*)(\}?)", value):
                name, closed = match.groups()
                if closed and (name in ENVIRONMENT_PLACEHOLDERS or name.startswith("!") or name.startswith("output:")):
                    continue
                loc = f"{loc}.environment.{var}"
                if not closed:
                    yield Problem(loc, f"'${{{name}' is never closed; close it with '}}' (or write '${{!' for the "
                                       "text '${')")
                else:
                    known = ", ".join(f"${{{n}}}" for n in ENVIRONMENT_PLACEHOLDERS[:-1])
                    yield Problem(loc, f"'${{{name}}}' would not be filled in: only {known} and "
                                       f"${{{ENVIRONMENT_PLACEHOLDERS[-1]}}} are; for the text itself write "
                                       f"'${{!{name}}}'")
                break


# Elastic Load Balancing quotas (docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-limits.html):
# 100 target groups per Application Load Balancer (not adjustable) and 100 rules (default rules not counted). A web
# service takes two of each: its blue and green target groups, its rules on the production and the test listener.
TARGET_GROUPS_PER_LOAD_BALANCER = 100
RULES_PER_LOAD_BALANCER = 100


def web_services_fit_one_load_balancer(app: "AppSpec") -> Iterator[Problem]:
    """At most 50 web services: each takes two target groups (blue and green) and two listener rules (production and
    test listener) on the app's one load balancer, which holds at most 100 target groups and 100 rules."""
    web = [svc.name for svc in app.services if svc.kind == "web"]
    most = min(TARGET_GROUPS_PER_LOAD_BALANCER, RULES_PER_LOAD_BALANCER) // 2
    if len(web) > most:
        yield Problem("services", f"{len(web)} web services need {2 * len(web)} target groups and {2 * len(web)} "
                                  f"listener rules, and one Application Load Balancer holds at most "
                                  f"{TARGET_GROUPS_PER_LOAD_BALANCER} target groups (a fixed quota) and "
                                  f"{RULES_PER_LOAD_BALANCER} rules: keep at most {most} web services in this app "
                                  "(make a background service a worker, or split the app in two)")


RULES = (unique_service_names, renamed_from_is_a_free_name, service_kind_fields, fargate_size, web_routing, service_names_make_distinct_ids,
         service_container_settings, secret_names_work_as_partial_arns, service_settings_per_environment,
         off_hours_outside_production, schedule_expressions, environment_placeholders,
         web_services_fit_one_load_balancer)
