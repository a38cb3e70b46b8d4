"""The JSON schema of app.yaml for editors (`fargate-stacks schema`, committed as schema/app.schema.json).

pydantic writes the schema from the spec models: types, titles, descriptions, defaults, patterns, ranges. This adds
what the models check in code rather than in their types (the Fargate cpu/memory values, the regions cfn-lint
knows) as enums, and an example for the fields where one helps. Both are keyed by the field's path in app.yaml
(`services[].cpu`: an item of a list; `environments.*.cidr`: any key of a map), so they survive a model's move or
rename; a path that no longer resolves fails the build of the schema (tests/test_schema.py builds it).
"""
from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from generator import atomic_file
from generator.config import AppSpec, aws_facts
from generator.config.models import DEFAULT_ENGINE_VERSION, FARGATE_SIZES

DRAFT = "https://json-schema.org/draft/2020-12/schema"
COMMITTED = Path("schema") / "app.schema.json"     # relative to the repository root (and to app.yaml)
# The first line of app.yaml and of every fixture app: editors with the YAML language server (VS Code's YAML
# extension, JetBrains, Neovim) then complete and check the file as it is typed. Relative to the YAML file.
MODELINE = "# yaml-language-server: $schema={path}"

_ARN_ACCOUNT = "111111111111"
EXAMPLES: dict[str, list[Any]] = {
    "app": ["tunecast"],
    "owner": ["platform-team"],
    "region": ["eu-west-1", "us-east-1"],
    "network.subnet_prefix": [20],
    "services[].name": ["api", "web", "worker"],
    "services[].port": [3000, 8080],
    "services[].cpu": [256, 1024],
    "services[].memory": [512, 2048],
    "services[].schedule": ["cron(0 3 * * ? *)", "rate(1 hour)"],
    "services[].schedule_timezone": ["Europe/Berlin"],
    "services[].health_check_path": ["/api/health"],
    "services[].command": [["node", "jobs/nightly.js"]],
    "services[].health_check_command": [["CMD-SHELL", "curl -f http://localhost:3000/health || exit 1"]],
    "services[].routing": [{"path_patterns": ["/api/*"], "priority": 10}],
    "services[].environment": [{"NODE_ENV": "production"}],
    "services[].secrets": [{"DATABASE_PASSWORD": "${Application}/${EnvironmentName}/db:password"}],
    "services[].sidecars": [[{"name": "nginx", "image": "public.ecr.aws/nginx/nginx:1.27", "port": 8080, "cpu": 128,
                              "memory": 128, "depends_on": [{"container": "web", "condition": "START"}]}]],
    "services[].ingress_container": ["nginx"],
    "services[].sidecars[].image": ["public.ecr.aws/nginx/nginx:1.27",
                                    "123456789012.dkr.ecr.eu-west-1.amazonaws.com/proxy:1.27-3"],
    "services[].sidecars[].build": [{"dockerfile": "nginx/Dockerfile", "context": "nginx"}],
    "services[].sidecars[].depends_on": [[{"container": "web", "condition": "HEALTHY"}]],
    "database.engine_version": [DEFAULT_ENGINE_VERSION],
    "database.name": ["tunecast"],
    "environments.*.database": [{"min_capacity": 0.5, "max_capacity": 16, "readers": 1}],
    "environments.*.database.restore_from": ["tunecast-prod-20261130-170509"],
    "environments.*.account_id": [_ARN_ACCOUNT],
    "environments.*.cidr": ["10.10.0.0/16"],
    "environments.*.zones": [["euw1-az1", "euw1-az2"], ["eu-west-1a", "eu-west-1b"]],
    "environments.*.vpc_id": ["vpc-0a1b2c3d4e5f60718"],
    "environments.*.public_subnet_ids": [["subnet-0aa1111111111111a", "subnet-0bb2222222222222b"]],
    "environments.*.private_subnet_ids": [["subnet-0cc3333333333333c", "subnet-0dd4444444444444d"]],
    "environments.*.spot_share": [80],
    "environments.*.certificate_arn": [
        f"arn:aws:acm:eu-west-1:{_ARN_ACCOUNT}:certificate/5f1c2a7e-9b3d-4c8e-a6f0-2d7b9e4c1a53"],
    "environments.*.domain_name": ["app.example.com"],
    "environments.*.test_listener_cidr": ["203.0.113.0/24"],
    "environments.*.off_hours": [{"stop": "cron(0 20 ? * MON-FRI *)", "start": "cron(0 7 ? * MON-FRI *)",
                                  "timezone": "Europe/Berlin"}],
    "environments.*.services": [{"api": {"min_count": 1, "max_count": 3, "exec": True}}],
    "environments.*.services.*.deployment_config": ["CodeDeployDefault.ECSCanary10Percent5Minutes"],
    "environments.*.services.*.environment": [{"LOG_LEVEL": "DEBUG", "FEATURE_SEARCH": "on"}],
    "pipeline.account_id": [_ARN_ACCOUNT],
    "pipeline.connection_arn": [
        f"arn:aws:codeconnections:eu-west-1:{_ARN_ACCOUNT}:connection/7d3f5c1a-2b4e-4f6a-9c8d-1e2f3a4b5c6d"],
    "pipeline.repository": ["my-org/my-app"],
    "pipeline.notification_email": ["release-approvals@example.com"],
    "pipeline.builds": [{"api": {"dockerfile": "backend/Dockerfile", "context": "backend"}},
                        {"chat": {"source": "app", "dockerfile": "Dockerfile", "context": "."}}],
    "pipeline.source_name": ["infrastructure"],
    "pipeline.paths": [["app.yaml", "generator/**", "scripts/**"]],
    "pipeline.sources": [[{"name": "app", "repository": "my-org/my-app-service", "branch": "main",
                           "paths": ["src/**", "package.json", "Dockerfile"]}]],
    "pipeline.test_command": ["npm --prefix e2e run test:ci"],
    "pipeline.test_install_commands": [["npm --prefix e2e ci"]],
    "pipeline.test_runtime_versions": [{"nodejs": "20"}],
}


def _enums() -> dict[str, list[Any]]:
    return {
        "services[].cpu": sorted(FARGATE_SIZES),
        "services[].memory": sorted(set().union(*FARGATE_SIZES.values())),
        "region": sorted(aws_facts.regions()),
    }


class SchemaPathError(KeyError):
    """An EXAMPLES or enum path names no field of the spec."""


@functools.cache
def build() -> dict[str, Any]:
    schema = AppSpec.model_json_schema()
    schema = {
        "$schema": DRAFT,
        "$comment": "Generated by `make schema` (fargate-stacks schema --output schema/app.schema.json) from the spec "
                    "models; do not edit by hand.",
        **schema,
        "title": "fargate-stacks app spec (app.yaml)",
    }
    _closed_maps(schema)
    for node in (schema, *schema["$defs"].values()):
        for name, prop in node.get("properties", {}).items():
            prop.setdefault("title", name.replace("_", " ").title())      # pydantic leaves $ref fields untitled
    for path, values in _enums().items():
        field = _field(schema, path)
        field["enum"] = values
        field.pop("type", None)         # the enum says it all (and a mixed type list would only confuse editors)
    for path, values in EXAMPLES.items():
        _field(schema, path)["examples"] = values
    return schema


def text() -> str:
    return json.dumps(build(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write(path: Path, content: str | None = None) -> None:
    atomic_file.replace(path, text() if content is None else content)


def modeline(yaml_file: Path, schema_file: Path) -> str:
    """The `# yaml-language-server` line for `yaml_file`, pointing at `schema_file` by a relative path."""
    import os
    relative = os.path.relpath(schema_file.resolve(), yaml_file.resolve().parent)
    return MODELINE.format(path=Path(relative).as_posix())


def _closed_maps(node: object) -> None:
    """A map keyed by a pattern (`environments`, `services` of an environment, `environment` variables) admits no
    other key, as the models refuse one: pydantic leaves `additionalProperties` open there."""
    if isinstance(node, dict):
        if "patternProperties" in node and "additionalProperties" not in node:
            node["additionalProperties"] = False
        for value in node.values():
            _closed_maps(value)
    elif isinstance(node, list):
        for value in node:
            _closed_maps(value)


def _field(schema: dict[str, Any], path: str) -> dict[str, Any]:
    """The schema node of the field at `path` (a dotted app.yaml path; `[]` a list item, `*` a map value)."""
    node = schema
    for part in path.split("."):
        name, items = (part[:-2], True) if part.endswith("[]") else (part, False)
        node = _resolve(schema, node)
        if name == "*":
            values = list((node.get("patternProperties") or {}).values())
            node = values[0] if len(values) == 1 else node.get("additionalProperties")
        else:
            node = (node.get("properties") or {}).get(name)
        if not isinstance(node, dict):
            raise SchemaPathError(f"{path}: no field {part!r} in the spec")
        if items:
            node = _resolve(schema, node).get("items")
            if not isinstance(node, dict):
                raise SchemaPathError(f"{path}: {name!r} is not a list")
    return node


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """Follow `$ref` and the `anyOf [X, null]` of an optional field to X's schema."""
    while True:
        if "$ref" in node:
            node = schema["$defs"][node["$ref"].rsplit("/", 1)[1]]
        elif "anyOf" in node:
            real = [n for n in node["anyOf"] if n.get("type") != "null"]
            if len(real) != 1:
                return node
            node = real[0]
        else:
            return node

