"""Fill the runbook templates for every environment: {"<env>/deploy.md": text, ...}, and write them."""
from __future__ import annotations

from pathlib import Path

import jinja2

from generator import atomic_file
from generator.config import AppSpec
from generator.runbooks import model

TEMPLATES = Path(__file__).resolve().parent / "templates"
FILES = ("deploy.md", "rollback.md", "secrets.md", "manual-steps.md")


def _environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), undefined=jinja2.StrictUndefined,
                              keep_trailing_newline=True, autoescape=False)


def render(app: AppSpec) -> dict[str, str]:
    env = _environment()
    found = {}
    for name in app.environments:
        runbook = model.build(app, name)
        for file in FILES:
            text = env.get_template(f"{file}.j2").render(rb=runbook)
            found[f"{name}/{file}"] = _tidy(text)
    return found


def _tidy(text: str) -> str:
    """At most one blank line in a row, one newline at the end."""
    lines, blank = [], False
    for line in text.splitlines():
        line = line.rstrip()
        if not line and blank:
            continue
        blank = not line
        lines.append(line)
    return "\n".join(lines).strip("\n") + "\n"


def write(app: AppSpec, out: Path) -> list[Path]:
    """Write every runbook under `out`; a file whose text is unchanged is left alone."""
    written = []
    for relative, text in render(app).items():
        path = out / relative
        if path.is_file() and path.read_text(encoding="utf-8") == text:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_file.replace(path, text)
        written.append(path)
    return written
