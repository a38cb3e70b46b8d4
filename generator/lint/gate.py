"""Runs every check over a staged build; returns findings as readable lines (empty means deployable)."""
from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from pathlib import Path

from cfnlint.api import ManualArgs, lint_by_config

from generator import cfnyaml
from generator.lint import budgets
from generator.lint import handler_permissions as handlers
from generator.lint.ignored import IGNORED_RULES
from generator.wiring import RootParameter

RULES_DIR = Path(__file__).parent / "rules"


def cfn_lint(template_dir: Path, shown_as: str, region: str) -> list[str]:
    files = sorted(str(p) for p in template_dir.glob("*.yaml"))
    config = ManualArgs(templates=files, regions=[region], ignore_checks=sorted(IGNORED_RULES))
    if any(RULES_DIR.glob("*.py")):
        config["append_rules"] = [str(RULES_DIR)]  # type: ignore[typeddict-unknown-key]
    findings = []
    for m in lint_by_config(config):
        where = Path(m.filename).name if m.filename else "?"
        findings.append(f"{shown_as}/{where}:{m.linenumber}: {m.rule.id} {m.message}")
    return sorted(set(findings))


def size_budgets(template_dir: Path, shown_as: str, inline: str | Collection[str], region: str = "us-east-1",
                 parsed: Mapping[str, dict] | None = None) -> list[str]:
    """`inline`: the template(s) sent in the API request (root.yaml, deploy-role.yaml), measured as packaged for
    `region`; the rest are nested. `parsed`: the templates already parsed (staged_templates), so a build parses
    each file once."""
    inline = {inline} if isinstance(inline, str) else set(inline)
    return [f"{shown_as}/{line}" for p in sorted(template_dir.glob("*.yaml"))
            for line in budgets.check(p.name, p.read_text(encoding="utf-8"), is_root=p.name in inline, region=region,
                                      data=parsed.get(p.name) if parsed else None)]


def handler_permissions(template_dir: Path, shown_as: str, region: str, deployers: Collection[handlers.Deployer],
                        parsed: Mapping[str, dict] | None = None) -> list[str]:
    """Each CloudFormation role allows what the resource handlers of the templates it deploys declare."""
    if not deployers:
        return []
    return handlers.check(parsed if parsed is not None else staged_templates(template_dir), shown_as, region,
                          deployers)


def staged_templates(template_dir: Path) -> dict[str, dict]:
    """Every template of the directory as data (YAML parsing is most of the structural checks' time: parse once)."""
    return {p.name: cfnyaml.loads(p.read_text(encoding="utf-8")) for p in sorted(template_dir.glob("*.yaml"))}


def parameter_files(params_dir: Path, shown_as: str,
                    parameters: list[RootParameter] | Mapping[str, list[RootParameter]]) -> list[str]:
    """Each parameter file names exactly its template's parameters, with values the template accepts.

    `parameters`: the root template's (every file), or a map from a file's stem (`pipeline` for pipeline.json and
    pipeline.config.json) to its template's parameters, with "*" for all other files (the root template)."""
    sets = {"*": parameters} if not isinstance(parameters, Mapping) else parameters
    findings = []
    for path in sorted(params_dir.glob("*.json")):
        stem = path.name.removesuffix(".json").removesuffix(".config")
        template = stem if stem in sets and stem != "*" else "root"
        declared = {p.name: p for p in sets.get(stem, sets["*"])}
        if path.name.endswith(".config.json"):
            values = json.loads(path.read_text())["Parameters"]
        else:
            values = {i["ParameterKey"]: i["ParameterValue"] for i in json.loads(path.read_text())}
        where = f"{shown_as}/{path.name}"
        for name in sorted(set(values) - set(declared)):
            findings.append(f"{where}: {name} is not a parameter of the {template} template")
        for name, p in declared.items():
            if name not in values:
                if p.default is None:
                    findings.append(f"{where}: {name} has no value and no default")
                continue
            value = values[name]
            if p.allowed_values and value not in p.allowed_values:
                findings.append(f"{where}: {name}={value!r} is not one of {', '.join(p.allowed_values)}")
            if p.allowed_pattern and not re.fullmatch(p.allowed_pattern, value):
                findings.append(f"{where}: {name}={value!r} does not match {p.allowed_pattern}")
    return findings
