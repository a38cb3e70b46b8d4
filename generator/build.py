"""One build: app spec -> rendered files -> staged -> validated -> swapped in (or nothing written)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from generator import params, render, root
from generator.config import AppSpec
from generator.errors import ValidationFailed
from generator.lint import gate


@dataclass(frozen=True)
class Rendered:
    templates: dict[str, str]
    params: dict[str, str]
    build: root.Build


def render_app(app: AppSpec) -> Rendered:
    """Pure: the bytes of every output file."""
    b = root.build(app)
    templates = {name: render.template_text(t) for name, t in b.templates().items()}
    return Rendered(templates, params.render(app, b), b)


def write(app: AppSpec, out: Path, params_dir: Path) -> Rendered:
    rendered = render_app(app)
    staged_t = render.stage(rendered.templates, out)
    staged_p = render.stage(rendered.params, params_dir)
    try:
        findings = (gate.cfn_lint(staged_t, out.name, app.region)
                    + gate.size_budgets(staged_t, out.name, root.ROOT_FILE)
                    + gate.parameter_files(staged_p, params_dir.name, rendered.build.parameters))
        if findings:
            raise ValidationFailed(findings)
        render.swap_in([(staged_t, out), (staged_p, params_dir)])
    finally:
        render.discard(staged_t, staged_p)
    return rendered
