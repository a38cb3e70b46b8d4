"""Parameter files per environment: CLI format and CodePipeline template-configuration format."""
from __future__ import annotations

import json

from generator.config import AppSpec
from generator.root import Build
from generator.stateful import is_stateful, stateful_types
from generator.tagging import STABLE_KEYS


def environment_values(app: AppSpec, build: Build, env: str) -> dict[str, str]:
    """Every root parameter, filled for one environment (explicit even where a default exists)."""
    return {p.name: str(p.env_value(app, env)) for p in build.parameters}


def environment_tags(app: AppSpec, env: str) -> dict[str, str]:
    """The stack-level tags. CloudFormation copies them onto every resource of the stack and its nested stacks, so
    only the stable ones (tagging.STABLE_KEYS): a changed Owner must not update a CODE_DEPLOY service or a
    listener rule. Owner is a resource-level tag (generator/tagging.py)."""
    return {key: {"Environment": env, "Application": app.app}[key] for key in STABLE_KEYS}


def stack_policy(build: Build) -> dict:
    """Production: everything may update, but stateful resources and the nested stacks holding them may not be
    replaced or deleted. Explicit Deny wins over the Allow."""
    holders = sorted(n.builder.logical_id for n in build.nested
                     if any(is_stateful(r.resource_type) for r in n.builder.template.resources.values()))
    deny = ["Update:Replace", "Update:Delete"]
    statements = [
        {"Effect": "Allow", "Action": "Update:*", "Principal": "*", "Resource": "*"},
        {"Effect": "Deny", "Action": deny, "Principal": "*", "Resource": "*",
         "Condition": {"StringEquals": {"ResourceType": list(stateful_types())}}},
    ]
    if holders:
        statements.append({"Effect": "Deny", "Action": deny, "Principal": "*",
                           "Resource": [f"LogicalResourceId/{h}" for h in holders]})
    return {"Statement": statements}


def render(app: AppSpec, build: Build) -> dict[str, str]:
    """File name -> content for params/."""
    files: dict[str, str] = {}
    for env, spec in app.environments.items():
        values = environment_values(app, build, env)
        cli = [{"ParameterKey": k, "ParameterValue": v} for k, v in values.items()]
        config: dict = {"Parameters": values, "Tags": environment_tags(app, env)}
        if spec.production:
            config["StackPolicy"] = stack_policy(build)
        files[f"{env}.json"] = _json(cli)
        files[f"{env}.config.json"] = _json(config)
    return files


def pipeline_files(app: AppSpec, parameter_sets: dict) -> dict[str, str]:
    """The pipeline templates' parameter files: `pipeline.json` + `pipeline.config.json` (the self-update action's
    template configuration) and `deploy-role.json` (the same in every target account)."""
    files: dict[str, str] = {}
    for stem, parameters in parameter_sets.items():
        values = {p.name: str(p.env_value(app, stem)) for p in parameters}
        files[f"{stem}.json"] = _json([{"ParameterKey": k, "ParameterValue": v} for k, v in values.items()])
        if stem == "pipeline":
            # the pipeline stack holds no CODE_DEPLOY service or listener rule: all three tags
            tags = {"Environment": stem, "Owner": app.owner, "Application": app.app}
            files[f"{stem}.config.json"] = _json({"Parameters": values, "Tags": tags})
    return files


def _json(data) -> str:
    return json.dumps(data, indent=2, sort_keys=False) + "\n"
