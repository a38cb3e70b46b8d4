"""One build: app spec -> rendered files -> staged -> validated -> swapped in (or nothing written)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from generator import params, pipeline, render, root
from generator.config import AppSpec
from generator.errors import ValidationFailed
from generator.lint import gate
from generator.lint.handler_permissions import Deployer
from generator.wiring import RootParameter

# Templates sent inline (CloudFormation's 51,200-byte limit); the rest are nested and fetched from S3.
INLINE_TEMPLATES = (root.ROOT_FILE, "pipeline.yaml", "deploy-role.yaml")


@dataclass(frozen=True)
class Rendered:
    templates: dict[str, str]       # file name (relative to the template directory) -> content
    params: dict[str, str]
    build: root.Build
    # params file stem -> the parameters it fills ("*": every environment's file, against the root template)
    parameter_sets: dict[str, list[RootParameter]] = field(default_factory=dict)
    deployers: tuple[Deployer, ...] = ()    # CloudFormation roles and the template trees they deploy


def render_app(app: AppSpec) -> Rendered:
    """Pure: the bytes of every output file. With a `pipeline:` block, also the pipeline templates, the reroute
    Lambda's source next to them and their parameter files."""
    b = root.build(app)
    templates = {name: render.template_text(t) for name, t in b.templates().items()}
    files = params.render(app, b)
    sets: dict[str, list[RootParameter]] = {"*": b.parameters}
    extra = pipeline.build(app, b)
    deployers: tuple[Deployer, ...] = ()
    if extra is not None:
        deployers = extra.deployers
        templates.update({name: render.template_text(t) for name, t in extra.templates.items()})
        templates.update(extra.extra_files)
        files.update(params.pipeline_files(app, extra.parameter_sets))
        sets.update(extra.parameter_sets)
    return Rendered(templates, files, b, sets, deployers)


def write(app: AppSpec, out: Path, params_dir: Path) -> Rendered:
    rendered = render_app(app)
    staged_t = render.stage(rendered.templates, out)
    staged_p = render.stage(rendered.params, params_dir)
    try:
        parsed = gate.staged_templates(staged_t)
        findings = (gate.cfn_lint(staged_t, out.name, app.region)
                    + gate.size_budgets(staged_t, out.name, INLINE_TEMPLATES, app.region, parsed)
                    + gate.handler_permissions(staged_t, out.name, app.region, rendered.deployers, parsed)
                    + gate.parameter_files(staged_p, params_dir.name, rendered.parameter_sets))
        if findings:
            raise ValidationFailed(findings)
        render.swap_in([(staged_t, out), (staged_p, params_dir)])
    finally:
        render.discard(staged_t, staged_p)
    return rendered
