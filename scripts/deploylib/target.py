"""What one command acts on: the app, one environment, its stack name, parameter files and templates."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator import credentials, image_tags, naming, swap
from generator.config import AppSpec, EnvironmentSpec, load_app, renamed
from generator.errors import ConfigError
from scripts.deploylib.errors import DeployError

ROOT_TEMPLATE = "root.yaml"


def stack_name(app: str, env: str) -> str:
    """The root stack of an environment (generator/naming.py)."""
    return naming.stack_name(app, env)


@dataclass(frozen=True)
class Target:
    app: AppSpec                                 # as deployed: a renamed service under its old name (renamed_from)
    env: str
    spec: EnvironmentSpec
    region: str
    templates_dir: Path
    params_dir: Path
    parameters: tuple[tuple[str, str], ...]      # params/<env>.json, in file order
    tags: tuple[tuple[str, str], ...]            # params/<env>.config.json "Tags"
    stack_policy: dict[str, Any] | None          # params/<env>.config.json "StackPolicy" (production only)
    renamed: tuple[tuple[str, str], ...] = ()    # (new name, old name) of each service with renamed_from

    @property
    def stack_name(self) -> str:
        return stack_name(self.app.app, self.env)

    @property
    def production(self) -> bool:
        return self.spec.production

    @property
    def root_template(self) -> Path:
        return self.templates_dir / ROOT_TEMPLATE

    def cfn_parameters(self) -> list[dict[str, str]]:
        return [{"ParameterKey": k, "ParameterValue": v} for k, v in self.parameters]

    def cfn_tags(self) -> list[dict[str, str]]:
        return [{"Key": k, "Value": v} for k, v in self.tags]


def secret_parameters(root_template: dict[str, Any], parameters: tuple[tuple[str, str], ...] | list = ()
                      ) -> set[str]:
    """Root parameters whose values must never be printed: NoEcho ones, and any whose value looks like a credential.
    Never by name: a service called `token` makes `TokenImageTag`, whose value is an image tag."""
    found = {name for name, spec in (root_template.get("Parameters") or {}).items()
             if str((spec or {}).get("NoEcho", "false")).lower() == "true"}
    return found | {name for name, value in parameters if credentials.looks_like_secret(str(value))}


def load_target(app_path: Path, env: str, templates_dir: Path, params_dir: Path, region: str | None) -> Target:
    if swap.pending(templates_dir) or swap.pending(params_dir):
        raise DeployError(f"{templates_dir} and {params_dir} are half replaced: a build was killed while swapping "
                          "them in", "run `make templates` again: it finishes or undoes the interrupted swap first")
    try:
        app = load_app(app_path)
    except ConfigError as exc:
        raise DeployError(f"{app_path} is not valid:", *exc.lines()) from exc
    if env not in app.environments:
        raise DeployError(f"unknown environment '{env}'",
                          f"{app_path} defines: {', '.join(app.environments)} (pass ENV=<one of them>)")
    cli_file = params_dir / f"{env}.json"
    config_file = params_dir / f"{env}.config.json"
    for path in (cli_file, config_file, templates_dir / ROOT_TEMPLATE):
        if not path.is_file():
            raise DeployError(f"{path} not found", "run `make templates` to generate templates and parameter files")
    raw_params = _read_json(cli_file)
    if not isinstance(raw_params, list) or not all(
            isinstance(p, dict) and {"ParameterKey", "ParameterValue"} <= set(p) for p in raw_params):
        raise DeployError(f"{cli_file}: expected a list of {{ParameterKey, ParameterValue}} objects",
                          "regenerate it with `make templates`")
    config = _read_json(config_file)
    if not isinstance(config, dict):
        raise DeployError(f"{config_file}: expected an object with Parameters and Tags")
    policy = config.get("StackPolicy")
    if app.environments[env].production and not policy:
        raise DeployError(f"{config_file} has no StackPolicy, but '{env}' is a production environment",
                          "regenerate it with `make templates`")
    return Target(
        app=renamed.deployed(app), renamed=tuple(renamed.renames(app).items()), env=env,
        spec=app.environments[env], region=region or app.region_of(env),
        templates_dir=templates_dir, params_dir=params_dir,
        parameters=tuple((p["ParameterKey"], str(p["ParameterValue"])) for p in raw_params),
        tags=tuple((str(k), str(v)) for k, v in (config.get("Tags") or {}).items()),
        stack_policy=policy)


# The parameter files hold `<Service>ImageTag=bootstrap` for every service: "no image yet" (docs/services.md, "The
# image tag and the first deploy"). On an existing stack a service's running tag is kept instead, since deploying
# bootstrap would scale that service to zero; a service new to the stack (no running value) stays bootstrap.
BOOTSTRAP = image_tags.BOOTSTRAP
LEGACY_IMAGE_TAG = "ImageTag"   # the one tag of every service, before per-service tags
SERVICE_MARKER = "ExecEnabled"  # a per-service parameter every kind has: `<Service>ExecEnabled` on the stack means
                                # the service exists there


def image_tag_overrides(parameters: tuple[tuple[str, str], ...], tag: str | None) -> dict[str, str]:
    """IMAGE_TAG=<tag> (--image-tag) sets every service's `<Service>ImageTag`."""
    if not tag:
        return {}
    found = {k: tag for k, _ in parameters if image_tags.is_parameter(k)}
    if not found:
        raise DeployError("IMAGE_TAG given, but the root template has no <Service>ImageTag parameter (no services)",
                          "drop IMAGE_TAG, or run `make templates` if the template should have services")
    return found


def deploy_parameters(parameters: tuple[tuple[str, str], ...], running: dict[str, str] | None,
                      overrides: dict[str, str]) -> tuple[list[dict[str, Any]], list[str]]:
    """The Parameters of a change set, and notes for the operator.

    `running` is the existing stack's parameters (None for a new stack). Overrides (e.g. --image-tag) win over the
    file. On an existing stack, a service's image tag that the file leaves at `bootstrap` keeps the running value
    (UsePreviousValue), or takes the stack's former single `ImageTag` if the service ran under it; it stays
    `bootstrap` only for a service new to the stack. An explicit `bootstrap` on an existing stack is refused.
    """
    found: list[dict[str, Any]] = []
    notes: list[str] = []
    unknown = sorted(set(overrides) - {k for k, _ in parameters})
    if unknown:
        raise DeployError(f"the root template has no parameter {', '.join(unknown)}",
                          "drop the override, or run `make templates` if the template should have it")
    legacy = (running or {}).get(LEGACY_IMAGE_TAG)
    for key, value in parameters:
        value = overrides.get(key, value)
        if running is not None and image_tags.is_parameter(key) and value == BOOTSTRAP:
            if key in overrides:
                raise DeployError(f"refusing {key}={value} on the existing stack: it is the first-deploy "
                                  "placeholder and would scale the service to zero",
                                  "pass the tag that is running or a new one (IMAGE_TAG=<tag>)")
            previous = running.get(key)
            if previous not in (None, BOOTSTRAP):
                found.append({"ParameterKey": key, "UsePreviousValue": True})
                notes.append(f"{key}: keeping the running value {previous!r} (the parameter file holds the "
                             f"first-deploy placeholder {value!r}; pass IMAGE_TAG=<tag> to change it)")
                continue
            existed = image_tags.service_prefix(key) + SERVICE_MARKER in running
            if previous is None and existed and legacy not in (None, BOOTSTRAP):
                value = legacy
                notes.append(f"{key}: taking the running {LEGACY_IMAGE_TAG} {legacy!r} (the stack predates "
                             "per-service image tags)")
            elif previous is None:
                notes.append(f"{key}: new to the stack, deployed as {BOOTSTRAP!r} (no tasks until a release "
                             "passes its tag: the next pipeline run, or IMAGE_TAG=<tag>)")
        found.append({"ParameterKey": key, "ParameterValue": value})
    return found, notes


def check_parameters(target: Target, root_template: dict[str, Any]) -> None:
    """The parameter file must fit the root template: every parameter without a default given, nothing extra."""
    declared = root_template.get("Parameters") or {}
    given = {k for k, _ in target.parameters}
    missing = sorted(k for k, spec in declared.items() if k not in given and "Default" not in (spec or {}))
    extra = sorted(given - set(declared))
    if missing or extra:
        detail = "; ".join(filter(None, [missing and f"missing {', '.join(missing)}",
                                         extra and f"unknown {', '.join(extra)}"]))
        raise DeployError(f"{target.params_dir / (target.env + '.json')} does not match {target.root_template}: "
                          f"{detail}", "run `make templates` so both come from the same build")


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DeployError(f"{path}: not valid JSON ({exc})", "regenerate it with `make templates`") from exc
