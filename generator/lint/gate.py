"""Runs every check over a staged build; returns findings as readable lines (empty means deployable)."""
from __future__ import annotations

import json
import re
from pathlib import Path

from cfnlint.api import ManualArgs, lint_by_config

from generator.lint import budgets
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


def size_budgets(template_dir: Path, shown_as: str, root_file: str) -> list[str]:
    return [f"{shown_as}/{line}" for p in sorted(template_dir.glob("*.yaml"))
            for line in budgets.check(p.name, p.read_text(encoding="utf-8"), is_root=p.name == root_file)]


def parameter_files(params_dir: Path, shown_as: str, parameters: list[RootParameter]) -> list[str]:
    """Each CLI parameter file names exactly the root parameters, with values the root accepts."""
    declared = {p.name: p for p in parameters}
    findings = []
    for path in sorted(params_dir.glob("*.json")):
        if path.name.endswith(".config.json"):
            values = json.loads(path.read_text())["Parameters"]
        else:
            values = {i["ParameterKey"]: i["ParameterValue"] for i in json.loads(path.read_text())}
        where = f"{shown_as}/{path.name}"
        for name in sorted(set(values) - set(declared)):
            findings.append(f"{where}: {name} is not a parameter of the root template")
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
