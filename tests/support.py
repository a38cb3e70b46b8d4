"""Shared test helpers: where things are, and building an app into a dict of files.

Three kinds of app have committed output:
- REPO_APP, the root app.yaml: whatever app this repository's user keeps there, with templates_out/ and params/.
  Tests about it (output in sync, lint, checkov, rehearsal) assert only what holds for any valid app, so that
  replacing app.yaml and running `make templates` keeps `make test` green (tests/test_any_app.py proves it).
- the examples (examples/<name>/app.yaml), each with its output beside it (templates_out/, params/, cost.txt,
  architecture.svg). DEFAULT_APP, the example app.yaml starts as, is the full-featured app the generator's own
  tests read by name (its services, its pipeline, its accounts).
- the fixture apps (tests/fixtures/apps/<name>.yaml), output in tests/golden/<name>/.
"""
from __future__ import annotations

import re
from pathlib import Path

from generator.build import render_app
from generator.config import load_app

ROOT = Path(__file__).resolve().parent.parent
FIXTURE_APPS = ROOT / "tests" / "fixtures" / "apps"
EXAMPLES = ROOT / "examples"
GOLDEN = ROOT / "tests" / "golden"
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"


def checkov_failures(directory: Path) -> tuple[list[str], int]:
    """checkov over a template directory: (`<check id> <resource>` of each failed check, how many checks passed)."""
    import json
    import subprocess

    import pytest
    if not CHECKOV.exists():
        pytest.fail(f"{CHECKOV} is missing: run `make test`")
    proc = subprocess.run([str(CHECKOV), "-d", str(directory), "--framework", "cloudformation", "--quiet",
                           "--compact", "--skip-download", "-o", "json"], capture_output=True, text=True, timeout=300)
    reports = json.loads(proc.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    return ([c["check_id"] + " " + c["resource"] for r in reports for c in r["results"]["failed_checks"]],
            sum(r["summary"]["passed"] for r in reports))

REPO_APP = ROOT / "app.yaml"
REPO_TEMPLATES, REPO_PARAMS = ROOT / "templates_out", ROOT / "params"
DEFAULT_APP = EXAMPLES / "tunecast" / "app.yaml"
DEFAULT_TEMPLATES, DEFAULT_PARAMS = DEFAULT_APP.parent / "templates_out", DEFAULT_APP.parent / "params"
EXAMPLE_APPS = sorted(EXAMPLES.glob("*/app.yaml"))

# app file -> (templates dir, params dir) holding its committed expected output
GOLDEN_SETS = {
    REPO_APP: (REPO_TEMPLATES, REPO_PARAMS),
    **{app: (app.parent / "templates_out", app.parent / "params") for app in EXAMPLE_APPS},
    **{app: (GOLDEN / app.stem / "templates", GOLDEN / app.stem / "params")
       for app in sorted(FIXTURE_APPS.glob("*.yaml"))},
}


def app_id(app: Path) -> str:
    """A test id for an app file: `this-app` (the root app.yaml), `example-<name>`, or the fixture's name."""
    if app == REPO_APP:
        return "this-app"
    if app.parent.parent == EXAMPLES:
        return f"example-{app.parent.name}"
    return app.stem


def _same_as_an_example(app: Path) -> bool:
    spec = load_app(app)
    return any(load_app(example) == spec for example in EXAMPLE_APPS)


# The sets the slow whole-output checks (cfn-lint, checkov) scan: the root app is left out while it is the same app
# as an example (as it is in this repository), whose output test_golden proves equal and which is scanned already.
SCANNED_SETS = {app: dirs for app, dirs in GOLDEN_SETS.items() if app != REPO_APP or not _same_as_an_example(app)}


def rendered_files(app_path: Path) -> tuple[dict[str, str], dict[str, str]]:
    rendered = render_app(load_app(app_path))
    return rendered.templates, rendered.params


def troposphere_templates(app) -> dict:
    """Every template of an app (the environment's and, with a `pipeline:` block, the pipeline's) as troposphere
    Templates, before rendering."""
    from generator import pipeline, root
    b = root.build(app)
    templates = dict(b.templates())
    extra = pipeline.build(app, b)
    if extra is not None:
        templates.update(extra.templates)
    return templates


def read_dir(path: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(path.glob("*")) if p.is_file()}


def read_tree(path: Path) -> dict[str, str]:
    """Every file under `path`, by relative path (the pipeline's Lambda source sits in templates_out/lambda/)."""
    return {p.relative_to(path).as_posix(): p.read_text(encoding="utf-8")
            for p in sorted(path.rglob("*")) if p.is_file()}


STORE_KINDS = ("caches", "queues", "tables", "buckets", "file_systems")


def every_store_app():
    """The default app (its pipeline, hence both CloudFormation roles) with every data store the fixture apps
    declare, one service mounting the file system: one build that holds every store type the generator creates."""
    import yaml

    from generator.config import parse_app
    raw = yaml.safe_load((DEFAULT_APP).read_text(encoding="utf-8"))
    for name in ("chat", "django-celery"):
        fixture = yaml.safe_load((FIXTURE_APPS / f"{name}.yaml").read_text(encoding="utf-8"))
        for key in STORE_KINDS:
            known = {s["name"] for s in raw.get(key, [])}
            raw.setdefault(key, []).extend(s for s in fixture.get(key, []) if s["name"] not in known)
    api = next(s for s in raw["services"] if s["name"] == "api")
    api["mounts"] = [{"file_system": "media", "path": "/app/media"}]
    return parse_app(raw, "every-store")


_PROGRESS = re.compile(r"^(==> .*|    \S.*: [\dhms.]+)$")


def problem_lines(stderr: str) -> list[str]:
    """A command's standard error without the build's progress lines (`==> phase`, `    phase: 12s`:
    generator/terminal.py): what it said about problems, one line each."""
    return [line for line in stderr.splitlines() if not _PROGRESS.match(line)]


def lint_by(findings):
    """A stand-in for generator.lint.gate.Lint (what a build lints with) whose verdicts come from `findings(template_dir,
    shown_as, region, parsed)`, gate.cfn_lint's signature, once the staged directory is complete: nothing is streamed
    to cfn-lint. Tests inject lint findings (or hold a build) with it: `monkeypatch.setattr(gate, "Lint", lint_by(f))`."""
    class Lint:
        def __init__(self, template_dir: Path, shown_as: str, region) -> None:
            self.args = (template_dir, shown_as, region)

        def offer(self, name: str, data: dict) -> None:
            pass

        def findings(self, parsed=None) -> list[str]:
            return findings(*self.args, parsed)

        def close(self) -> None:
            pass

    return Lint


def collections_during(fn) -> list[int]:
    """The generations of the cyclic collector's passes while `fn()` runs."""
    import gc

    seen: list[int] = []

    def callback(phase: str, info: dict) -> None:
        if phase == "start":
            seen.append(info["generation"])

    gc.callbacks.append(callback)
    try:
        fn()
    finally:
        gc.callbacks.remove(callback)
    return seen
