"""Rules that span several fields of the app spec. Each rule's docstring is the sentence the README shows."""
from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterator

from generator.config import aws_facts, credentials, schedules
from generator.config.models import CATCH_ALL_PRIORITY, FARGATE_SIZES, AppSpec, ServiceEnvSpec, ServiceSpec
from generator.errors import Problem

Rule = Callable[[AppSpec], Iterator[Problem]]
RULES: list[Rule] = []


def rule(fn: Rule) -> Rule:
    RULES.append(fn)
    return fn


def check(app: AppSpec) -> list[Problem]:
    return [p for r in RULES for p in r(app)]


@rule
def unique_service_names(app: AppSpec) -> Iterator[Problem]:
    """Service names are unique."""
    seen: set[str] = set()
    for svc in app.services:
        if svc.name in seen:
            yield Problem(f"services.{svc.name}",
                          f"'{svc.name}' names more than one service; give each service its own name")
        seen.add(svc.name)


@rule
def service_kind_fields(app: AppSpec) -> Iterator[Problem]:
    """A `web` service has a `port`; a `cron` service has a `schedule`, and only cron services have one."""
    for svc in app.services:
        loc = f"services.{svc.name}"
        if svc.kind == "web" and svc.port is None:
            yield Problem(f"{loc}.port", "a web service needs the container port the load balancer sends traffic to; "
                                         "add it, e.g. port: 8080")
        if svc.kind == "cron" and not svc.schedule:
            yield Problem(f"{loc}.schedule", "a cron service needs a schedule; add one, e.g. 'cron(0 3 * * ? *)' "
                                             "or 'rate(1 hour)'")
        if svc.kind != "cron" and svc.schedule:
            yield Problem(f"{loc}.schedule", f"only cron services run on a schedule; remove it or set kind: cron")


@rule
def fargate_size(app: AppSpec) -> Iterator[Problem]:
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


@rule
def az_override_within_network(app: AppSpec) -> Iterator[Problem]:
    """An environment's `az_count` is at most `network.az_count`."""
    for name, env in app.environments.items():
        if env.az_count is not None and env.az_count > app.network.az_count:
            yield Problem(f"environments.{name}.az_count",
                          f"{env.az_count} is more than network.az_count ({app.network.az_count}); "
                          f"raise network.az_count or lower this")


@rule
def cidr_fits_subnets(app: AppSpec) -> Iterator[Problem]:
    """Each environment's CIDR is a /16 or smaller network with room for six subnets of `network.subnet_prefix`."""
    largest = app.network.subnet_prefix - 3  # 6 subnets need 8 slots of the subnet size
    for name, env in app.environments.items():
        loc = f"environments.{name}.cidr"
        if env.cidr.prefixlen < 16:
            yield Problem(loc, f"{env.cidr} is larger than a VPC can be; use a /16 to /{largest} network"
                          if app.network.mode == "new" else f"{env.cidr} is larger than a VPC can be; give the "
                                                            "existing VPC's CIDR (a /16 or smaller)")
        elif app.network.mode == "new" and env.cidr.prefixlen > largest:
            yield Problem(loc, f"{env.cidr} has no room for six /{app.network.subnet_prefix} subnets; "
                               f"use a /16 to /{largest} network or raise network.subnet_prefix")


@rule
def existing_vpc_ids(app: AppSpec) -> Iterator[Problem]:
    """In `existing` mode every environment names its VPC and one public and one private subnet per zone;
    in `new` mode none does."""
    ids = ("vpc_id", "public_subnet_ids", "private_subnet_ids")
    for name, env in app.environments.items():
        loc = f"environments.{name}"
        if app.network.mode == "existing":
            for field in ids:
                if getattr(env, field) is None:
                    yield Problem(f"{loc}.{field}", "required when network.mode is 'existing'; add it or set "
                                                    "network.mode: new")
            want = app.env_value(name, "az_count")
            for field in ids[1:]:
                got = getattr(env, field)
                if got is not None and len(got) != want:
                    yield Problem(f"{loc}.{field}", f"give exactly {want} subnet IDs, one per availability zone "
                                                    f"(got {len(got)})")
        else:
            for field in ids:
                if getattr(env, field) is not None:
                    yield Problem(f"{loc}.{field}", "only used when network.mode is 'existing'; remove it "
                                                    "or set network.mode: existing")


@rule
def certificate_in_region_and_account(app: AppSpec) -> Iterator[Problem]:
    """An environment's `certificate_arn` names an ACM certificate in the app's region and, when the environment
    gives `account_id`, in that account (a load balancer cannot use a certificate from anywhere else)."""
    for name, env in app.environments.items():
        if env.certificate_arn is None:
            continue
        _, _, _, region, account, _ = env.certificate_arn.split(":", 5)
        loc = f"environments.{name}.certificate_arn"
        if region != app.region:
            yield Problem(loc, f"the certificate is in {region}, but the load balancer is in {app.region}; "
                               f"request or import the certificate in {app.region}")
        if env.account_id is not None and account != env.account_id:
            yield Problem(loc, f"the certificate belongs to account {account}, not to this environment's account "
                               f"{env.account_id}")


@rule
def test_listener_cidr_is_narrow(app: AppSpec) -> Iterator[Problem]:
    """An environment's `test_listener_cidr` is a /8 or narrower network: the test listener serves releases that are
    not yet approved and is never open to the whole internet."""
    for name, env in app.environments.items():
        cidr = env.test_listener_cidr
        if cidr is not None and cidr.prefixlen < 8:
            yield Problem(f"environments.{name}.test_listener_cidr",
                          f"{cidr} opens the test listener to (a large part of) the internet; give the office or "
                          "VPN network, e.g. 203.0.113.0/24")


@rule
def one_registry_scanning_owner_per_account(app: AppSpec) -> Iterator[Problem]:
    """Within one AWS account at most one environment sets `manage_registry_scanning: true`: the ECR registry
    scanning configuration is account-wide, and two stacks owning it would overwrite (and on delete, reset) it."""
    owners: dict[str, str] = {}
    for name, env in app.environments.items():
        if env.manage_registry_scanning and env.account_id is not None:
            if env.account_id in owners:
                yield Problem(f"environments.{name}.manage_registry_scanning",
                              f"environment '{owners[env.account_id]}' already manages registry scanning in account "
                              f"{env.account_id}; set this one to false")
            owners.setdefault(env.account_id, name)


# --- services (docs/services.md) ---------------------------------------------------------------------------------

# Per-environment settings that only some kinds use.
_KIND_SETTINGS = {
    "web": set(),
    "worker": {"requests_per_target", "deployment_config", "wait_for_approval_minutes", "termination_wait_minutes"},
    "cron": {"desired_count", "min_count", "max_count", "cpu_scale_out", "cpu_scale_in", "requests_per_target",
             "deployment_config", "wait_for_approval_minutes", "termination_wait_minutes"},
}
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


@rule
def web_routing(app: AppSpec) -> Iterator[Problem]:
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


@rule
def service_names_make_distinct_ids(app: AppSpec) -> Iterator[Problem]:
    """Service names stay distinct once hyphens are dropped (`a-1b` and `a1b` would share stack and parameter
    names)."""
    seen: dict[str, str] = {}
    for svc in app.services:
        key = svc.name.replace("-", "")
        other = seen.setdefault(key, svc.name)
        if other != svc.name:
            yield Problem(f"services.{svc.name}", f"'{svc.name}' and '{other}' differ only in hyphens, so their "
                                                  "stacks and parameters would have the same names; rename one")


@rule
def service_container_settings(app: AppSpec) -> Iterator[Problem]:
    """A `health_check_command` is empty or starts with CMD or CMD-SHELL; `schedule_timezone` is for cron services
    and names an IANA time zone; a variable is not both in `environment` and in `secrets`."""
    for svc in app.services:
        loc = f"services.{svc.name}"
        command = svc.health_check_command
        if command and (command[0] not in ("CMD", "CMD-SHELL") or len(command) < 2):
            yield Problem(f"{loc}.health_check_command",
                          "start with CMD (then the program and its arguments) or CMD-SHELL (then one shell command), "
                          "e.g. ['CMD-SHELL', 'curl -f http://localhost:8080/health || exit 1']; [] turns it off")
        if "schedule_timezone" in svc.model_fields_set and svc.kind != "cron":
            yield Problem(f"{loc}.schedule_timezone", "only cron services have a schedule; remove it")
        elif _time_zone_problem(svc.schedule_timezone):
            yield Problem(f"{loc}.schedule_timezone", _time_zone_problem(svc.schedule_timezone))
        for name in sorted(set(svc.environment) & set(svc.secrets)):
            yield Problem(f"{loc}.secrets.{name}", f"{name} is also in environment; keep it in one of them")


@rule
def secret_names_work_as_partial_arns(app: AppSpec) -> Iterator[Problem]:
    """A secret's name does not end in a hyphen and six characters in any environment: tasks name secrets by
    partial ARN (without the random suffix), and Secrets Manager would read those six characters as the suffix."""
    for svc in app.services:
        for var, ref in sorted(svc.secrets.items()):
            template = ref.partition(":")[0]
            for env in app.environments:
                name = template.replace("${Application}", app.app).replace("${EnvironmentName}", env)
                if re.search(r"-[A-Za-z0-9]{6}$", name):
                    yield Problem(f"services.{svc.name}.secrets.{var}",
                                  f"secret name '{name}' ends in '-' and six characters, which Secrets Manager takes "
                                  "for the random suffix of a full ARN, so the task could not find it; rename the "
                                  "secret (e.g. end it in '/' plus a word, or use '_' instead of '-')")
                    break


@rule
def service_settings_per_environment(app: AppSpec) -> Iterator[Problem]:
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
            for field in sorted(spec.model_fields_set & _KIND_SETTINGS[kind]):
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


@rule
def off_hours_outside_production(app: AppSpec) -> Iterator[Problem]:
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
RESERVED_ENVIRONMENTS = ("pipeline", "deploy-role")  # names of the pipeline's stacks, roles and parameter files


@rule
def pipeline_names(app: AppSpec) -> Iterator[Problem]:
    """With a `pipeline`, no environment is called `pipeline` or `deploy-role` (the pipeline's stack, roles,
    repositories and parameter files use these names), and `pipeline.builds` names services of the app with paths
    inside the repository."""
    if app.pipeline is None:
        return
    for name in app.environments:
        if name in RESERVED_ENVIRONMENTS:
            yield Problem(f"environments.{name}", f"'{name}' is taken by the pipeline (its stack, roles and "
                                                  f"params/{name}.json); rename the environment")
    services = [svc.name for svc in app.services]
    for name, build in app.pipeline.builds.items():
        loc = f"pipeline.builds.{name}"
        if name not in services:
            close = difflib.get_close_matches(name, services, n=1, cutoff=0.6)
            hint = f"did you mean '{close[0]}'?" if close else f"services are: {', '.join(services) or 'none'}"
            yield Problem(loc, f"no service is called '{name}'; {hint}")
        for field in ("dockerfile", "context"):
            path = getattr(build, field)
            if path is not None and ".." in path.split("/"):
                yield Problem(f"{loc}.{field}", f"'{path}' leaves the repository; give a path inside it")


@rule
def pipeline_quotas(app: AppSpec) -> Iterator[Problem]:
    """With a `pipeline`, the app fits CodePipeline's quotas: each environment's web releases and the gates that hold
    them fit one stage (50 actions), the whole pipeline 500 actions and 50 stages, the IntegrationTests action's
    UserParameters 1000 characters, and each reroute rule's input EventBridge's 8192 (the pipeline spreads builds
    over stages and release artifacts over as many PrepareRelease actions as needed: generator/pipeline/plan.py)."""
    if app.pipeline is None:
        return
    # Imported here: the pipeline package imports these models, so it cannot load while this module does.
    from generator.pipeline import quotas
    yield from quotas.problems(app)


@rule
def pipeline_connection_and_tests(app: AppSpec) -> Iterator[Problem]:
    """`pipeline.connection_arn` is a connection in the app's region and in `pipeline.account_id`; integration tests
    (`pipeline.test_command`) run after `pipeline.test_environment`, an environment of the app (`staging` by
    default), and the test settings are given only with a test command."""
    spec = app.pipeline
    if spec is None:
        return
    _, _, _, region, account, _ = spec.connection_arn.split(":", 5)
    if region != app.region:
        yield Problem("pipeline.connection_arn", f"the connection is in {region}, but the pipeline runs in "
                                                 f"{app.region}; create the connection in {app.region}")
    if account != spec.account_id:
        yield Problem("pipeline.connection_arn", f"the connection belongs to account {account}, not to the pipeline "
                                                 f"account {spec.account_id}; create it there")
    if spec.test_environment is not None and spec.test_environment not in app.environments:
        yield Problem("pipeline.test_environment", f"no environment is called '{spec.test_environment}'; "
                                                   f"environments are: {', '.join(app.environments)}")
    if spec.test_command is None:
        given = sorted(f for f in spec.model_fields_set if f.startswith("test_"))
        for field in given:
            yield Problem(f"pipeline.{field}", "only used with pipeline.test_command; add the test command or "
                                               "remove this")
    elif spec.test_environment is None and "staging" not in app.environments:
        yield Problem("pipeline.test_command", "the tests need an environment to run against: set "
                                               "pipeline.test_environment (there is no 'staging')")


# --- values that would fail at deploy time --------------------------------------------------------------------------


@rule
def schedule_expressions(app: AppSpec) -> Iterator[Problem]:
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


@rule
def private_subnets_reach_aws(app: AppSpec) -> Iterator[Problem]:
    """In a new VPC, an environment with `nat: none` has `interface_endpoints` (without a NAT gateway or the endpoints,
    tasks cannot pull images, write logs or read secrets), and none of its services allows `exec` (ECS Exec needs the
    ssmmessages endpoint, which the network stack does not create)."""
    if app.network.mode != "new" or not app.services:
        return
    for name, env in app.environments.items():
        if app.env_value(name, "nat") != "none":
            continue
        loc = f"environments.{name}.nat" if env.nat is not None else "network.nat"
        if not app.env_value(name, "interface_endpoints"):
            yield Problem(loc, f"nat is none and interface_endpoints is off in {name}: tasks in the private subnets "
                               "could not pull images from ECR, write logs or read secrets; set interface_endpoints: "
                               "true or choose nat: single")
            continue
        for svc, spec in sorted(env.services.items()):
            if spec.exec:
                yield Problem(f"environments.{name}.services.{svc}.exec",
                              f"ECS Exec needs the ssmmessages endpoint, and with nat: none {name} has no other way "
                              "to reach it; remove exec here or choose nat: single")


@rule
def database_engine_version(app: AppSpec) -> Iterator[Problem]:
    """`database.engine_version` is a version RDS offers for the engine and has not deprecated (the lists cfn-lint
    ships), and not a Limitless Database version."""
    db = app.database
    if db is None:
        return
    current = aws_facts.current_engine_versions(db.engine)
    same_major = [v for v in current if v.split(".")[0] == db.engine_version.split(".")[0] and "-" not in v]
    suggest = ", ".join((same_major or [v for v in current if "-" not in v])[-3:])
    loc, shown = "database.engine_version", repr(db.engine_version)
    if db.engine_version not in aws_facts.engine_versions().get(db.engine, ()):
        yield Problem(loc, f"{shown} is not a version of {db.engine}; use one such as {suggest}")
    elif db.engine_version in aws_facts.deprecated_engine_versions().get(db.engine, ()):
        yield Problem(loc, f"{shown} is deprecated: RDS no longer creates {db.engine} clusters with it; use one "
                           f"such as {suggest}")
    elif "limitless" in db.engine_version:
        yield Problem(loc, f"{shown} is for Aurora Limitless Database, which this stack does not create; use one "
                           f"such as {suggest}")


# `${...}` in a plain environment value: the names filled in per environment (Fn::Sub), and `${!Name}` for the text
# `${Name}` itself.
ENVIRONMENT_PLACEHOLDERS = ("Application", "EnvironmentName", "AWS::Region", "AWS::AccountId", "AWS::Partition",
                            "AWS::URLSuffix")


@rule
def environment_placeholders(app: AppSpec) -> Iterator[Problem]:
    """A `${...}` in an `environment` value is `${Application}`, `${EnvironmentName}`, `${AWS::Region}`,
    `${AWS::AccountId}`, `${AWS::Partition}` or `${AWS::URLSuffix}` (filled in per environment), or `${!Name}` for the
    text `${Name}`."""
    for svc in app.services:
        for var, value in sorted(svc.environment.items()):
            for match in re.finditer(r"\$\{([^}]*)(\}?)", value):
                name, closed = match.groups()
                if closed and (name in ENVIRONMENT_PLACEHOLDERS or name.startswith("!")):
                    continue
                loc = f"services.{svc.name}.environment.{var}"
                if not closed:
                    yield Problem(loc, f"'${{{name}' is never closed; close it with '}}' (or write '${{!' for the "
                                       "text '${')")
                else:
                    known = ", ".join(f"${{{n}}}" for n in ENVIRONMENT_PLACEHOLDERS[:-1])
                    yield Problem(loc, f"'${{{name}}}' would not be filled in: only {known} and "
                                       f"${{{ENVIRONMENT_PLACEHOLDERS[-1]}}} are; for the text itself write "
                                       f"'${{!{name}}}'")
                break


def _plain_values(svc: ServiceSpec) -> Iterator[tuple[str, str]]:
    loc = f"services.{svc.name}"
    for i, arg in enumerate(svc.command or []):
        yield f"{loc}.command[{i}]", arg
    for i, arg in enumerate(svc.health_check_command or []):
        yield f"{loc}.health_check_command[{i}]", arg
    if "health_check_path" in svc.model_fields_set:
        yield f"{loc}.health_check_path", svc.health_check_path


@rule
def no_credentials_in_plain_values(app: AppSpec) -> Iterator[Problem]:
    """Plain values hold no credentials: `environment`, `command`, health checks, `pipeline.test_command` and
    `pipeline.test_install_commands` end up in the templates and the console, so a value that looks like a password,
    key, token or connection string with a password is refused (the patterns are in generator/config/credentials.py);
    it belongs in Secrets Manager."""
    why = "(app.yaml and the templates are readable by anyone with the repository or the stack)"
    to_secrets = f"store it in Secrets Manager and name it under `secrets` instead {why}"
    for svc in app.services:
        for var, value in sorted(svc.environment.items()):
            what = credentials.kind(value) or ("a credential (the variable's name says so)"
                                               if credentials.secret_variable(var, value) else None)
            if what:
                yield Problem(f"services.{svc.name}.environment.{var}", f"the value looks like {what}; {to_secrets}")
        for loc, value in _plain_values(svc):
            what = credentials.kind(value)
            if what:
                yield Problem(loc, f"looks like it holds {what}; store it in Secrets Manager, name it under "
                                   f"`secrets` and refer to its variable here (e.g. $API_KEY) {why}")
    if app.pipeline is None:
        return
    values = [("pipeline.test_command", app.pipeline.test_command or "")]
    values += [(f"pipeline.test_install_commands[{i}]", c) for i, c in enumerate(app.pipeline.test_install_commands)]
    for loc, value in values:
        what = credentials.kind(value)
        if what:
            yield Problem(loc, f"looks like it holds {what}; store it in Secrets Manager and have the tests read it "
                               f"at run time {why}")


# Rules kept in their own modules (imported last: they register with @rule above).
from generator.config import endpoints as _endpoints, zones as _zones  # noqa: E402,F401
