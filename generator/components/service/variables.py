"""Per-environment variables (`environments.<env>.services.<name>.environment`, docs/services.md): a plain variable of
a service's main container whose value differs between environments, e.g. LOG_LEVEL or a feature flag.

Each variable that any environment sets becomes one root parameter of that service (`<Service>Env<Variable>`,
labelled `<service>: <VARIABLE>` in the console, in the service's group), filled per environment by its parameter
file: the environment's value, else the value in `services[].environment`, else empty. The template stays the same
for every environment; an empty value leaves the variable out of the container (`Fn::If` with `AWS::NoValue`), so
an environment can also remove a variable the others have. The parameters stay individual and labelled even when the
app is so large that the services' other settings are packed (settings.py): their values may hold any character,
including the packing separator, and there are at most MAX_VARIABLES of them.
"""
from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from troposphere import Equals, If, NoValue, ecs

from generator import naming
from generator.credentials import kind as credential_kind, secret_variable
from generator.errors import Problem
from generator.wiring import OutputRef, RootParameter, StackBuilder

if TYPE_CHECKING:
    from generator.config import AppSpec, ServiceSpec

# CloudFormation allows 200 root parameters; the services' other settings get packed past ROOT_PARAMETER_BUDGET
# (150), and these are counted in that budget, so this many always fit beside them.
MAX_VARIABLES = 40
# Placeholders a per-environment value may use: both are known when the parameter file is written.
FILLED_IN = ("Application", "EnvironmentName")


def variables(app: AppSpec, svc: ServiceSpec) -> list[str]:
    """The variables of `svc` that at least one environment sets, sorted."""
    found: set[str] = set()
    for env in app.environments.values():
        spec = env.services.get(svc.name)
        if spec is not None:
            found |= set(spec.environment)
    return sorted(found)


def parameter_name(svc: str, var: str) -> str:
    return f"{naming.pascal(svc)}Env{''.join(p.capitalize() for p in var.split('_') if p)}"


def parameter(app: AppSpec, svc: ServiceSpec, var: str) -> RootParameter:
    def env_value(a: AppSpec, env: str) -> str:
        spec = a.environments[env].services.get(svc.name)
        if spec is not None and var in spec.environment:
            return fill_in(spec.environment[var], a, env)
        return fill_in(svc.environment.get(var, ""), a, env)

    default = f"default {svc.environment[var]!r} (services[].environment)" if var in svc.environment else \
        "not set where no environment sets it"
    return RootParameter(
        parameter_name(svc.name, var),
        f"{svc.name}: value of the variable {var} in this environment "
        f"(environments.<env>.services.{svc.name}.environment; {default}). Empty: the variable is not set.",
        f"Service {svc.name}", f"{svc.name}: {var}", env_value)


def fill_in(value: str, app: AppSpec, env: str) -> str:
    """`${Application}` and `${EnvironmentName}` filled in, `${!Name}` made the text `${Name}` (a rule allows
    nothing else in a value that enters through a parameter)."""
    value = value.replace("${Application}", app.app).replace("${EnvironmentName}", env)
    return value.replace("${!", "${")


# --- stack outputs in a plain value: `${output:<RootOutputName>}` (docs/services.md) -------------------------------
# The outputs a variable may name, by the name the root stack re-exports them under (`make outputs` shows them), with
# the producing stack (its component's logical id), its output and what the app needs to have it. Resolved in the
# root by GetAtt of that nested stack, so each environment gets its own value; the template stays the same.
OUTPUT_PATTERN = re.compile(r"\$\{output:([A-Za-z0-9]+)\}")
STACK_OUTPUTS = {
    "ClusterLoadBalancerDns": ("Cluster", "LoadBalancerDns", "Load balancer DNS name", None),
    "FrontendDistributionDomainName": ("Frontend", "DistributionDomainName",
                                       "The distribution's own name (d123.cloudfront.net)", "frontend"),
}


def known_outputs(app: AppSpec) -> list[str]:
    """The stack outputs this app's variables may name."""
    return [name for name, (_s, _o, _d, needs) in STACK_OUTPUTS.items() if needs is None or getattr(app, needs)]


def output_source(name: str) -> OutputRef:
    """The nested stack output a `${output:<name>}` reads (known_outputs: checked at load time)."""
    stack, output, description, _needs = STACK_OUTPUTS[name]
    return OutputRef(stack, output, "String", description)


def output_problem(app: AppSpec, value: str) -> str | None:
    """Why a `${output:...}` in `value` cannot be resolved, or None."""
    known = known_outputs(app)
    for name in OUTPUT_PATTERN.findall(value):
        if name not in known:
            close = difflib.get_close_matches(name, list(STACK_OUTPUTS), n=1, cutoff=0.6)
            hint = f"did you mean '{close[0]}'?" if close and close[0] in known else \
                f"this app's are: {', '.join(known)}"
            needs = STACK_OUTPUTS.get(name, (None, None, None, None))[3]
            if name in STACK_OUTPUTS and needs:
                return f"the stack output '{name}' exists only with a `{needs}` block; this app's are: " \
                       f"{', '.join(known)}"
            return f"'{name}' is not a stack output a variable can name; {hint}"
    return None


def container_environment(app: AppSpec, svc: ServiceSpec, stack: StackBuilder) -> tuple[dict[str, object], set[str]]:
    """(variable -> its entry in the container's Environment, the variables this replaces in `environment`)."""
    entries: dict[str, object] = {}
    for var in variables(app, svc):
        ref = stack.input(parameter(app, svc, var))
        condition = f"No{parameter_name(svc.name, var)}"
        stack.template.add_condition(condition, Equals(ref, ""))
        entries[var] = If(condition, NoValue, ecs.Environment(Name=var, Value=ref))
    return entries, set(entries)


def count(app: AppSpec) -> int:
    """How many root parameters the per-environment variables take."""
    return sum(len(variables(app, svc)) for svc in app.services)


# --- rules (docs/services.md, Per-environment variables) ------------------------------------------------------------

def per_environment_variables(app: AppSpec) -> Iterator[Problem]:
    """`environments.<env>.services.<name>.environment` sets plain variables of services of the app: none looks like
    a credential, none is also the service's secret or set by a store it uses, `${...}` in them is only
    `${Application}`, `${EnvironmentName}` or `${!Name}` (filled in when the parameter file is written), an overridden
    variable's default in `services[].environment` uses no `${AWS::...}`, and the app has at most 40 such variables
    in all (each is a root parameter)."""
    services = {svc.name: svc for svc in app.services}
    for env_name, env in app.environments.items():
        for name, spec in env.services.items():
            svc = services.get(name)
            if svc is None or not spec.environment:
                continue   # an unknown service: service_settings_per_environment says so
            taken = set(svc.secrets) | _store_variables(app, svc)
            for var, value in sorted(spec.environment.items()):
                loc = f"environments.{env_name}.services.{name}.environment.{var}"
                what = credential_kind(value) or ("a credential (the variable's name says so)"
                                                  if secret_variable(var, value) else None)
                if what:
                    yield Problem(loc, f"the value looks like {what}; store it in Secrets Manager and name it under "
                                       f"services.{name}.secrets instead (parameter files and the console show "
                                       "these values)")
                elif var in taken:
                    yield Problem(loc, f"{var} is a secret of {name} or set by a store it uses; choose another name "
                                       "or remove it")
                elif OUTPUT_PATTERN.search(value):
                    yield Problem(loc, "a stack output is already per environment: name it in "
                                       f"services.{name}.environment (e.g. {var}: "
                                       f"'{OUTPUT_PATTERN.search(value).group(0)}'), not here")
                else:
                    bad = _placeholder_problem(value)
                    if bad:
                        yield Problem(loc, bad)
    for svc in app.services:
        for var in variables(app, svc):
            if re.search(r"\$\{AWS::", svc.environment.get(var, "")):
                yield Problem(f"services.{svc.name}.environment.{var}",
                              f"{var} is set per environment, so its default enters through the parameter files, "
                              "where ${AWS::...} is not filled in; give its value in each environment instead")
    total = count(app)
    if total > MAX_VARIABLES:
        yield Problem("environments", f"{total} variables are set per environment, each a root parameter; at most "
                                      f"{MAX_VARIABLES} fit beside the other settings: move the ones that are the "
                                      "same everywhere to services[].environment")


def _store_variables(app: AppSpec, svc: ServiceSpec) -> set[str]:
    """The variables the stores `svc` uses set (unknown stores: another rule's)."""
    from generator import components   # the component list imports this module
    from generator.components import attachments, stores
    if any(stores.unique_store_names(app)):
        return set()
    offered = attachments.offers(app, components.COMPONENTS)
    return {v for name, _access in attachments.requested(svc) if name in offered for v in offered[name][1].variables}


def _placeholder_problem(value: str) -> str | None:
    for match in re.finditer(r"\$\{([^}]*)(\}?)", value):
        name, closed = match.groups()
        if closed and (name in FILLED_IN or name.startswith("!")):
            continue
        if not closed:
            return f"'${{{name}' is never closed; close it with '}}' (or write '${{!' for the text '${{')"
        return (f"'${{{name}}}' would not be filled in: a per-environment value may use ${{Application}} and "
                f"${{EnvironmentName}}; for the text itself write '${{!{name}}}'")
    return None


RULES = (per_environment_variables,)
