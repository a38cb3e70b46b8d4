"""Shared test helpers: where things are, and building an app into a dict of files."""
from __future__ import annotations

from pathlib import Path

from generator.build import render_app
from generator.config import load_app

ROOT = Path(__file__).resolve().parent.parent
FIXTURE_APPS = ROOT / "tests" / "fixtures" / "apps"
GOLDEN = ROOT / "tests" / "golden"
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"

# app file -> (templates dir, params dir) holding its committed expected output
GOLDEN_SETS = {
    ROOT / "app.yaml": (ROOT / "templates_out", ROOT / "params"),
    **{app: (GOLDEN / app.stem / "templates", GOLDEN / app.stem / "params")
       for app in sorted(FIXTURE_APPS.glob("*.yaml"))},
}


def rendered_files(app_path: Path) -> tuple[dict[str, str], dict[str, str]]:
    rendered = render_app(load_app(app_path))
    return rendered.templates, rendered.params


def read_dir(path: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(path.glob("*")) if p.is_file()}


def read_tree(path: Path) -> dict[str, str]:
    """Every file under `path`, by relative path (the pipeline's Lambda source sits in templates_out/lambda/)."""
    return {p.relative_to(path).as_posix(): p.read_text(encoding="utf-8")
            for p in sorted(path.rglob("*")) if p.is_file()}
