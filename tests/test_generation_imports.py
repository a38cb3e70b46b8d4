"""Generation alone (what `make bench` times as "generation alone": import, load app.yaml, render, write) imports only
what the app needs: never cfn-lint or what it pulls in (sympy, networkx), the AWS SDK, or the diagram, cost and
runbook commands, nor what only a build's gate and swap use (the lint gate and its workers' client, the
handler-permissions check, subprocess, signal, the output swap, the build stamp); jinja2 (the buildspecs) only for an
app with a `pipeline:` block. Each of these was, or would be, tenths or hundredths of a second on every build
(docs/performance.md). The pipeline package itself is imported for every app: its modules import each other at the
top only (tests/test_pipeline_wiring.py), which keeps import cycles visible."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.support import FIXTURE_APPS, ROOT

NEVER = ("cfnlint", "sympy", "networkx", "boto3", "botocore", "checkov", "generator.diagram", "generator.cost",
         "generator.runbooks", "generator.lint.zygote",
         # what only a build's gate, staging and swap use (generator/build.py imports them in `write`)
         "generator.lint.gate", "generator.lint.workers", "generator.lint.server_client", "generator.lint.cache",
         "generator.swap", "generator.up_to_date", "generator.renames", "generator.terminal", "subprocess",
         # the gate's handler-permissions check (the pipeline declares its deployers in generator/deployer.py), and
         # what only an interrupted build reads
         "generator.lint.handler_permissions", "signal",
         # the time zone check reads tzdata's files from disk (generator/config/aws_facts.py)
         "importlib.resources")
PIPELINE_ONLY = ("jinja2",)

# scripts/bench.py's _child_generate, then the names of every module imported
GENERATE = """
import json, sys
from pathlib import Path
from generator import render
from generator.build import render_app
from generator.config import load_app
rendered = render_app(load_app(sys.argv[1]))
render.write_files(rendered.templates, Path(sys.argv[2]) / "templates")
render.write_files(rendered.params, Path(sys.argv[2]) / "params")
print(json.dumps(sorted(sys.modules)))
"""


def _imported(app, out) -> set[str]:
    proc = subprocess.run([sys.executable, "-c", GENERATE, str(app), str(out)], cwd=ROOT, capture_output=True,
                          text=True, check=True)
    return set(json.loads(proc.stdout))


def _loaded(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(n for n in names if n in modules or any(m.startswith(n + ".") for m in modules))


@pytest.mark.parametrize("app, has_pipeline", [(FIXTURE_APPS / "minimal.yaml", False),
                                               (FIXTURE_APPS / "monitored.yaml", True)],
                         ids=["no-pipeline", "pipeline"])
def test_generation_imports_only_what_the_app_needs(app, has_pipeline, tmp_path):
    assert ("\npipeline:" in app.read_text(encoding="utf-8")) == has_pipeline
    modules = _imported(app, tmp_path)
    assert (tmp_path / "templates" / "root.yaml").is_file()
    assert _loaded(modules, NEVER) == []
    if has_pipeline:
        assert _loaded(modules, PIPELINE_ONLY) == sorted(PIPELINE_ONLY)   # the check below is not vacuous
    else:
        assert _loaded(modules, PIPELINE_ONLY) == []
