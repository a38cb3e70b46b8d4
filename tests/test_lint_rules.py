"""The project's cfn-lint rules (generator/lint/rules/, ids E9xxx): good and bad fixture templates per rule.

Each rule has tests/fixtures/lint_rules/<rule id>/good*.yaml (no E9xxx finding) and bad*.yaml (only that rule
fires). A bad fixture states the findings it must produce in `# expect: <message substring>` lines, one per
finding. Every fixture is otherwise lint-clean, so a fixture cannot pass by tripping some unrelated rule.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
from cfnlint.api import ManualArgs, lint_by_config
from cfnlint.helpers import load_plugins

from generator.lint import gate

ROOT = Path(__file__).resolve().parent.parent
RULES_DIR = ROOT / "generator" / "lint" / "rules"
FIXTURES = ROOT / "tests" / "fixtures" / "lint_rules"
FIXTURE_FILES = sorted(FIXTURES.glob("E9*/*.yaml"))
CFN_LINT = Path(sys.executable).parent / "cfn-lint"
REGION = "us-east-1"


def _id(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


def _expected(path: Path) -> list[str]:
    return re.findall(r"^# expect: (.+)$", path.read_text(encoding="utf-8"), flags=re.MULTILINE)


@pytest.fixture(scope="module")
def findings() -> dict[str, list[tuple[str, str]]]:
    """fixture file -> [(rule id, message)], from one in-process cfn-lint run over all fixtures."""
    config = ManualArgs(templates=[str(p) for p in FIXTURE_FILES], regions=[REGION],
                        append_rules=[str(RULES_DIR)])  # type: ignore[typeddict-unknown-key]
    found = defaultdict(list)
    for match in lint_by_config(config):
        found[str(Path(match.filename).resolve())].append((match.rule.id, match.message))
    return found


def _custom(findings, path):
    return [(rule, message) for rule, message in findings[str(path)] if rule.startswith("E9")]


# --- the rules themselves --------------------------------------------------------------------------------------

def test_every_rule_module_holds_one_described_rule_with_fixtures():
    rules = load_plugins(str(RULES_DIR))  # exactly how cfn-lint loads --append-rules directories
    modules = [p for p in RULES_DIR.glob("*.py") if not p.name.startswith("_")]
    assert len(rules) == len(modules), "one rule class per module"
    ids = [rule.id for rule in rules]
    assert len(set(ids)) == len(ids), f"duplicate rule ids: {sorted(ids)}"
    for rule in rules:
        assert re.fullmatch(r"E9\d{3}", rule.id), f"{type(rule).__name__}: ids live in the reserved E9xxx range"
        assert rule.shortdesc and rule.description and rule.source_url and rule.tags, rule.id
        assert sorted(FIXTURES.glob(f"{rule.id}/good*.yaml")), f"{rule.id} has no good fixture"
        assert sorted(FIXTURES.glob(f"{rule.id}/bad*.yaml")), f"{rule.id} has no bad fixture"
    assert sorted(p.name for p in FIXTURES.iterdir()) == sorted(ids), "a fixture directory per rule, no strays"


@pytest.mark.parametrize("path", [p for p in FIXTURE_FILES if p.name.startswith("bad")], ids=_id)
def test_bad_fixture_fires_only_its_rule_with_the_expected_messages(findings, path):
    rule_id, expected = path.parent.name, _expected(path)
    assert expected, f"{_id(path)} states no '# expect:' lines"
    custom = _custom(findings, path)
    assert {rule for rule, _ in custom} == {rule_id}, custom
    messages = [message for _, message in custom]
    assert len(messages) == len(expected), "\n".join(messages)
    for substring in expected:
        assert any(substring in m for m in messages), f"no {rule_id} message contains {substring!r}:\n" + \
            "\n".join(messages)


@pytest.mark.parametrize("path", [p for p in FIXTURE_FILES if p.name.startswith("good")], ids=_id)
def test_good_fixture_has_no_custom_finding(findings, path):
    assert _custom(findings, path) == []


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=_id)
def test_fixture_is_otherwise_lint_clean(findings, path):
    """Only our rules fire (E0002 would mean one of them crashed on this template)."""
    assert [f for f in findings[str(path)] if not f[0].startswith("E9")] == []


# --- the ways users and the build run them ---------------------------------------------------------------------

@pytest.mark.parametrize("args", [
    ["--append-rules", "{rules}", "--", "{template}"],
    ["{template}", "--append-rules", "{rules}"],
], ids=["rules-first", "template-first"])
def test_plain_cli_runs_the_rules_from_any_directory(tmp_path, args):
    """What docs/lint-rules.md tells users to type (from another working directory, so nothing relies on the
    repository being importable). `--append-rules` takes several values: end it with `--` or put it last."""
    template = FIXTURES / "E9005" / "bad.yaml"
    argv = [a.format(rules=RULES_DIR, template=template) for a in args]
    result = subprocess.run([str(CFN_LINT), *argv], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0, result.stdout + result.stderr
    assert "E9005 Nested stack Child: parameter Subnets is !Ref Subnets" in result.stdout, result.stdout + result.stderr


def test_gate_reports_the_custom_rules(tmp_path):
    """The build's validation gate (generator/lint/gate.py) runs the same rules on a staged template directory."""
    shutil.copy(FIXTURES / "E9003" / "bad.yaml", tmp_path / "service.yaml")
    shutil.copy(FIXTURES / "E9003" / "good.yaml", tmp_path / "fine.yaml")
    lines = gate.cfn_lint(tmp_path, "staged", REGION)
    assert len(lines) == 1, lines
    assert lines[0].startswith("staged/service.yaml:")
    assert "E9003 Service Service registers tasks in target group TargetGroup" in lines[0]


def test_the_fargate_rule_uses_the_same_sizes_as_the_app_spec():
    """E9006 keeps its own copy of the Fargate table (it must run with plain cfn-lint); the copy may not drift."""
    import importlib.util

    from generator.config.models import FARGATE_SIZES

    path = Path(__file__).resolve().parent.parent / "generator" / "lint" / "rules" / "fargate_size_parameters.py"
    spec = importlib.util.spec_from_file_location("fargate_size_parameters_copy", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.FARGATE_SIZES == FARGATE_SIZES
