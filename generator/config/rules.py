"""Rules that span several fields of the app spec. Each rule's docstring is the sentence the README shows.

The rules about one component's settings live in its spec module (generator/components/<name>/spec.py, listed in
its COMPONENT); the rules here are about the whole app (the pipeline, credentials anywhere in plain values)."""
from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterator

from generator import components, credentials
from generator.components import attachments
from generator.components import stores
from generator.config import aws_facts
from generator.components.service.spec import all_plain_variables
from generator.config.models import AppSpec, ServiceSpec
from generator.errors import Problem

Rule = Callable[[AppSpec], Iterator[Problem]]
RULES: list[Rule] = []   # the rules about the whole app (components.rules(): those of each component)


def rule(fn: Rule) -> Rule:
    RULES.append(fn)
    return fn


def all_rules() -> list[Rule]:
    """Every rule: each component's, in component order, then the rules about the whole app."""
    return [*components.rules(), *RULES]


def check(app: AppSpec) -> list[Problem]:
    return [p for r in all_rules() for p in r(app)]


# --- the delivery pipeline (docs/pipeline.md) ----------------------------------------------------------------------
RESERVED_ENVIRONMENTS = ("pipeline", "deploy-role", "pipeline-support")  # the pipeline's stacks, roles, parameter files


@rule
def pipeline_names(app: AppSpec) -> Iterator[Problem]:
    """With a `pipeline`, no environment is called `pipeline`, `deploy-role` or `pipeline-support` (the pipeline's
    stack, roles, repositories and parameter files use these names), and `pipeline.builds` names services of the app with paths
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
def pipeline_other_regions(app: AppSpec) -> Iterator[Problem]:
    """With a `pipeline`, each region of an environment other than the app's has its artifact store: its KMS key ARN
    in `pipeline.artifact_keys` (the support stack's KeyArn output there, in the pipeline account); no key is given
    for a region no environment uses. Such an environment is not the integration tests' and holds no release for
    approval: the gate functions reach CodeDeploy in the pipeline's region only (generator/pipeline/regions.py)."""
    spec = app.pipeline
    if spec is None:
        return
    used = {app.region_of(name) for name in app.environments} - {app.region}
    for name in app.environments:
        region = app.region_of(name)
        if region != app.region and region not in spec.artifact_keys:
            yield Problem(f"environments.{name}.region",
                          f"the pipeline runs in {app.region} and needs an artifact store in {region}: deploy the "
                          f"pipeline's support stack there (docs/pipeline.md, \"Environments in other regions\") "
                          f"and set pipeline.artifact_keys.{region} to its KeyArn output")
    for region, arn in spec.artifact_keys.items():
        _, _, _, key_region, account, _ = arn.split(":", 5)
        if region not in used:
            yield Problem(f"pipeline.artifact_keys.{region}",
                          f"no environment is in {region} outside the pipeline's region {app.region}; remove it")
        elif key_region != region:
            yield Problem(f"pipeline.artifact_keys.{region}", f"the key is in {key_region}, not in {region}; give "
                                                              f"the KeyArn output of the support stack in {region}")
        elif account != spec.account_id:
            yield Problem(f"pipeline.artifact_keys.{region}", f"the key belongs to account {account}, not to the "
                                                              f"pipeline account {spec.account_id}; deploy the "
                                                              f"support stack there")
    from generator import holds   # the holds module reads these models
    for name in app.environments:
        region = app.region_of(name)
        if region == app.region:
            continue
        if app.test_environment() == name:
            yield Problem("pipeline.test_environment",
                          f"{name} is in {region}, but the integration tests' gate reaches CodeDeploy in the "
                          f"pipeline's region {app.region} only; test an environment in {app.region}")
        if holds.approval_services(app, name):
            yield Problem(f"environments.{name}.region",
                          f"{name} holds releases for approval ({', '.join(holds.approval_services(app, name))}), "
                          f"but the reroute function reaches CodeDeploy in the pipeline's region {app.region} only; "
                          f"release {name} without a hold, or keep it in {app.region}")


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
def services_use_what_the_app_offers(app: AppSpec) -> Iterator[Problem]:
    """Each entry of a service's `uses` names a data store of the app once, with an access mode that store supports;
    a variable the store sets is not also in the service's `environment` or `secrets`."""
    if any(stores.unique_store_names(app)):
        return   # two stores share a name: that rule reports it, and no name can be resolved until it is fixed
    offered = attachments.offers(app, components.COMPONENTS)
    known = ", ".join(sorted(offered)) or "none (the app declares no data store)"
    for svc in app.services:
        seen: set[str] = set()
        for name, access in attachments.requested(svc):
            loc = f"services.{svc.name}.uses.{name}"   # entries addressed by name, as the schema messages do
            if name not in offered:
                close = difflib.get_close_matches(name, list(offered), n=1, cutoff=0.6)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                yield Problem(loc, f"'{name}' is not a data store of this app{hint}; known: {known}")
                continue
            if name in seen:
                yield Problem(loc, f"'{name}' is listed twice; list each store once (with the access it needs)")
                continue
            seen.add(name)
            offer = offered[name][1]
            if access is not None and access not in offer.modes:
                yield Problem(f"{loc}.access", f"'{name}' does not support {access} access; it supports "
                                               f"{', '.join(offer.modes)} (default: {offer.default})")
            for variable in sorted(set(offer.variables) & (set(svc.environment) | set(svc.secrets))):
                yield Problem(loc, f"'{name}' sets {variable}, which the service also sets in environment or "
                                   f"secrets; remove it there")


@rule
def migrate_runs_a_service_that_uses_the_database(app: AppSpec) -> Iterator[Problem]:
    """`migrate` needs a `database`, and its `service` is a service of the app that uses it (the migration task
    runs with that service's task definition: its image, network and database credentials)."""
    if app.migrate is None:
        return
    if app.database is None:
        yield Problem("migrate", "the app has no `database` block to migrate; add one, or remove `migrate`")
        return
    services = {svc.name: svc for svc in app.services}
    name = app.migrate.service
    if name not in services:
        close = difflib.get_close_matches(name, list(services), n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'?" if close else f"services are: {', '.join(services) or 'none'}"
        yield Problem("migrate.service", f"no service is called '{name}'; {hint}")
    elif not _uses_database(services[name]):
        users = [svc.name for svc in app.services if _uses_database(svc)]
        yield Problem("migrate.service", f"'{name}' does not use the database (no DB_HOST or credentials in its tasks); "
                                         f"add `database` to its `uses`, or migrate with one that does: "
                                         f"{', '.join(users) or 'none'}")


def _uses_database(svc: ServiceSpec) -> bool:
    return any(name == "database" for name, _ in attachments.requested(svc))


# `${...}` in a plain environment value: the names filled in per environment (Fn::Sub), and `${!Name}` for the text
# `${Name}` itself.
def _plain_values(svc: ServiceSpec) -> Iterator[tuple[str, str]]:
    loc = f"services.{svc.name}"
    for i, arg in enumerate(svc.command or []):
        yield f"{loc}.command[{i}]", arg
    for i, arg in enumerate(svc.health_check_command or []):
        yield f"{loc}.health_check_command[{i}]", arg
    if "health_check_path" in svc.model_fields_set:
        yield f"{loc}.health_check_path", svc.health_check_path
    for side in svc.sidecars:
        for field in ("command", "health_check"):
            for i, arg in enumerate(getattr(side, field) or []):
                yield f"{loc}.sidecars.{side.name}.{field}[{i}]", arg


@rule
def no_credentials_in_plain_values(app: AppSpec) -> Iterator[Problem]:
    """Plain values hold no credentials: `environment`, `command`, health checks (the sidecars' too), `migrate.command`,
    `pipeline.test_command` and
    `pipeline.test_install_commands` end up in the templates and the console, so a value that looks like a password,
    key, token or connection string with a password is refused (the patterns are in generator/credentials.py);
    it belongs in Secrets Manager."""
    why = "(app.yaml and the templates are readable by anyone with the repository or the stack)"
    to_secrets = f"store it in Secrets Manager and name it under `secrets` instead {why}"
    for svc in app.services:
        for where, var, value in all_plain_variables(svc):
            what = credentials.kind(value) or ("a credential (the variable's name says so)"
                                               if credentials.secret_variable(var, value) else None)
            if what:
                yield Problem(f"{where}.environment.{var}", f"the value looks like {what}; {to_secrets}")
        for loc, value in _plain_values(svc):
            what = credentials.kind(value)
            if what:
                yield Problem(loc, f"looks like it holds {what}; store it in Secrets Manager, name it under "
                                   f"`secrets` and refer to its variable here (e.g. $API_KEY) {why}")
    for i, arg in enumerate(app.migrate.command if app.migrate else []):
        what = credentials.kind(arg)
        if what:
            yield Problem(f"migrate.command[{i}]", f"looks like it holds {what}; the migration task gets the "
                                                   f"service's secrets as environment variables (DB_USER, "
                                                   f"DB_PASSWORD ...): read them there {why}")
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
from generator.config import endpoints as _endpoints  # noqa: E402,F401
from generator.config import pipeline_sources as _pipeline_sources  # noqa: E402,F401


# --- the runbooks (docs/operations.md) -----------------------------------------------------------------------------

@rule
def manual_step_environments(app: AppSpec) -> Iterator[Problem]:
    """Each of `manual_steps[].environments` is an environment of the app, and its steps and check use only the
    placeholders `{env}`, `{app}` and `{domain}`."""
    for i, step in enumerate(app.manual_steps):
        for j, env in enumerate(step.environments or []):
            if env not in app.environments:
                close = difflib.get_close_matches(env, list(app.environments), n=1, cutoff=0.6)
                hint = f"did you mean '{close[0]}'?" if close else f"environments are: {', '.join(app.environments)}"
                yield Problem(f"manual_steps.{i}.environments.{j}", f"no environment is called '{env}'; {hint}")
        texts = [(f"steps.{j}", text) for j, text in enumerate(step.steps)] + \
            ([("verify", step.verify)] if step.verify else [])
        for where, text in texts:
            for name in re.findall(r"\{([^{}]*)\}", text):
                if name not in ("env", "app", "domain"):
                    yield Problem(f"manual_steps.{i}.{where}", f"unknown placeholder {{{name}}}; use {{env}}, "
                                                               "{app} or {domain}")


# --- the data stores (docs/data-stores.md) -------------------------------------------------------------------------
rule(stores.unique_store_names)
