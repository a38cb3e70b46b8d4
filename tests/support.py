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


STORE_KINDS = ("caches", "queues", "tables", "buckets", "file_systems")


def every_store_app():
    """The default app (its pipeline, hence both CloudFormation roles) with every data store the fixture apps
    declare, one service mounting the file system: one build that holds every store type the generator creates."""
    import yaml

    from generator.config import parse_app
    raw = yaml.safe_load((ROOT / "app.yaml").read_text(encoding="utf-8"))
    for name in ("chat", "django-celery"):
        fixture = yaml.safe_load((FIXTURE_APPS / f"{name}.yaml").read_text(encoding="utf-8"))
        for key in STORE_KINDS:
            known = {s["name"] for s in raw.get(key, [])}
            raw.setdefault(key, []).extend(s for s in fixture.get(key, []) if s["name"] not in known)
    api = next(s for s in raw["services"] if s["name"] == "api")
    api["mounts"] = [{"file_system": "media", "path": "/app/media"}]
    return parse_app(raw, "every-store")
