"""One build: app spec -> rendered files -> staged -> validated -> swapped in (or nothing written)."""
from __future__ import annotations

import gc
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from generator import collector
from generator.records import record

with collector.paused():   # the generator's modules, the spec models, troposphere: all of it stays (collector.py)
    from troposphere import Template

    from generator import params, pipeline, render, root
    from generator.config import AppSpec, renamed
    from generator.errors import Interrupted, ValidationFailed
    from generator.deployer import Deployer
    from generator.pipeline.common import LAMBDA_DIR
    from generator.lint.trace import event
    from generator.wiring import RootParameter

# What only `write` (the gate, the staging and swap, the stamp) uses is imported there: a generation alone
# (render_app: scripts/bench.py, `cost`, the assurance script) never runs it, and importing the lint gate, its workers'
# client (subprocess), the swap (secrets, shutil) and the stamp cost every generation some 15 ms
# (tests/test_generation_imports.py keeps them out).
if TYPE_CHECKING:
    from generator import up_to_date
    from generator.lint import gate
    from generator.swap import OutputSwap
    from generator.terminal import Progress

# Templates sent inline (CloudFormation's 51,200-byte limit: pipeline-support.yaml, created by hand); the rest are read
# from S3 (nested ones, pipeline.yaml and deploy-role.yaml, which their commands send as a TemplateURL:
# generator/pipeline/__init__.py, INLINE).
# The root goes through S3 everywhere: `make deploy` and the console's quick-create link send a TemplateURL (1 MB), and
# the pipeline's CloudFormation action reads it from its artifact (budget 460,800 bytes; docs/performance.md, Size).
# The same for every app.
INLINE_TEMPLATES: tuple[str, ...] = tuple(pipeline.INLINE)


def pipeline_action_templates(app: AppSpec) -> tuple[str, ...]:
    """The templates of this app a CodePipeline CloudFormation action deploys: the root, when there is a pipeline."""
    return (root.ROOT_FILE,) if app.pipeline is not None else ()


# Folders a build writes into the template directory only for some apps: an earlier build may have left them.
OPTIONAL_FOLDERS = frozenset({LAMBDA_DIR.split("/", 1)[0]})


@record(frozen=True)
class Rendered:
    templates: dict[str, str]       # file name (relative to the template directory) -> content
    params: dict[str, str]
    build: root.Build
    # params file stem -> the parameters it fills ("*": every environment's file, against the root template)
    parameter_sets: dict[str, list[RootParameter]] = field(default_factory=dict)
    deployers: tuple[Deployer, ...] = ()    # CloudFormation roles and the template trees they deploy


class _Clock:
    def __init__(self, phases: dict[str, float] | None) -> None:
        self.phases, self.last = phases, time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        if self.phases is not None:
            self.phases[name] = now - self.last
        self.last = now


def render_app(app: AppSpec, ready: Callable[[str, str], None] | None = None) -> Rendered:
    """Pure: the bytes of every output file. With a `pipeline:` block, also the pipeline templates, the reroute
    Lambda's source next to them and their parameter files. A renamed service is built under its old name
    (`renamed_from`: generator/config/renamed.py), so the rename replaces nothing. `ready(name, text)`: called with
    each template as soon as its text exists (a build writes it and sends it to cfn-lint while it renders the rest).

    The cyclic garbage collector is paused meanwhile (and left as it was found): render allocates some 100,000
    troposphere objects, dicts and strings that almost all stay alive to its end, and the collector's passes over them
    (gen 0 every 700 allocations, and a full one at 50 services) were 4 % of a default render and 12 % of a 50-service
    one, freeing almost nothing (some 10,000 objects of short-lived cycles, collected with the rest afterwards).
    The collector only decides when unreachable objects are freed: the output is the same. At the end, what render
    allocated is moved to the oldest generation as it is (generator/collector.py), so the collector's next young pass
    does not walk all of it at once (33 ms at 50 services)."""
    with collector.paused():
        return _render(renamed.deployed(app), ready)


def _render(app: AppSpec, ready: Callable[[str, str], None] | None) -> Rendered:
    b = root.build(app)
    templates = _texts(b.templates(), ready)
    files = params.render(app, b)
    sets: dict[str, list[RootParameter]] = {"*": b.parameters}
    extra = pipeline.build(app, b)
    deployers: tuple[Deployer, ...] = ()
    if extra is not None:
        deployers = extra.deployers
        templates.update(_texts(extra.templates, ready))
        templates.update(extra.extra_files)
        files.update(params.pipeline_files(app, extra.parameter_sets))
        sets.update(extra.parameter_sets)
    return Rendered(templates, files, b, sets, deployers)


def _texts(templates: Mapping[str, Template], ready: Callable[[str, str], None] | None) -> dict[str, str]:
    """Each template's text, in the given order, made with the root's last: the root references the others, so its
    lint waits for them, and theirs can start sooner."""
    texts = {}
    for name in sorted(templates, key=lambda n: n == root.ROOT_FILE):
        texts[name] = text = render.template_text(templates[name])
        if ready is not None:
            ready(name, text)
    return {name: texts[name] for name in templates}


def write(app: AppSpec, out: Path, params_dir: Path, spec: Path | None = None,
          note: Callable[[str], None] | None = None, phases: dict[str, float] | None = None,
          progress: Progress | None = None, stamp: up_to_date.Stamp | None = None,
          last: bool = False) -> Rendered:
    """Render, stage, validate and swap in `out` and `params_dir` together (generator/swap.py): on any failure or
    interruption both hold the previous build, and after success both hold this one. `spec`: the app spec's path,
    which the output directories must not contain. `note`: where to say that an interrupted build was recovered,
    and which stateful resources of the previous build this one drops (generator/renames.py).
    `phases`: filled with the wall seconds of each phase (make bench). `progress`: where each phase is announced,
    and its time when it took over a second (generator/terminal.py). `stamp`: recorded once the output is in place,
    with the staged output's state (generator/up_to_date.py). `last`: no other build follows in this process (the
    command line's), so the lint helper's input closes once the verdicts are in (generator/lint/workers.py)."""
    from generator import output_paths, up_to_date
    from generator.lint import gate, workers
    from generator.swap import OutputSwap

    app = renamed.deployed(app)
    clock = _Clock(phases)
    step = progress.start if progress is not None else (lambda _what: None)
    output_paths.check(out, params_dir, spec)
    step(f"rendering the templates of {app.app} (each one linted as soon as it is written)")
    workers.prestart()   # cfn-lint loads in its own process while this one renders and runs the other checks
    swap = OutputSwap([out, params_dir], note)
    freeze = False
    lint: gate.Lint | None = None
    try:
        with swap:
            staged_t = swap.stage(out, lambda _folder: None)   # filled while render goes on
            lint = gate.Lint(staged_t, out.name, app.regions())
            stream = _Stream(swap, out, staged_t, lint)
            rendered = render_app(app, stream.ready)
            output_paths.check(out, params_dir, spec, generated={
                "--out": {name.split("/", 1)[0] for name in rendered.templates} | OPTIONAL_FOLDERS,
                "--params": {name.split("/", 1)[0] for name in rendered.params}})
            clock.lap("render")
            event("build: render done")
            # What render built stays alive to the end of the build: keep the cyclic collector from walking it again
            # and again while the gate allocates (parsing 55 templates took 0.19 s instead of 0.05 at 50 services).
            # Semantics are unchanged; the objects are handed back to the collector when the build ends, however it
            # ends (unless a caller froze objects of its own: those are left as they were).
            freeze = gc.get_freeze_count() == 0
            if freeze:
                gc.freeze()
            step(f"writing {len(rendered.templates)} templates and {len(rendered.params)} parameter files to a "
                 "staging folder")
            stream.rest(rendered.templates)
            staged_p = swap.stage(params_dir, partial(render.write_files, rendered.params))
            clock.lap("write")
            parsed = stream.parsed()
            clock.lap("parse")
            event("build: staged templates parsed")
            step(f"linting {len(parsed)} templates (cfn-lint and the project rules; unchanged ones come from the lint "
                 "cache) while checking template sizes, the CloudFormation roles' permissions and the parameter files")
            ours = gate.Alongside(partial(_own_checks, app, staged_t, staged_p, out, params_dir, rendered, parsed))
            try:
                findings = lint.findings(parsed)
            except BaseException:
                ours.wait()   # it reads the staged folders: let it end before they go
                raise
            event("build: lint verdicts")
            if last:
                # no other build follows in this process (`python -m generator build`): the lint helper ends while
                # the checks finish and the output is swapped in, rather than at exit
                workers.release()
            checks, warnings = ours.result()
            event("build: own checks done")
            if phases is not None:
                phases["checks"] = ours.seconds   # while cfn-lint ran
            clock.lap("lint")
            findings += checks
            if findings:
                raise ValidationFailed(findings)
            for line in warnings:
                (note or _stderr)(line)
            step(f"replacing {out}/ and {params_dir}/")
            # read from the staged folders, which nothing else writes, before they become the output
            written = up_to_date.outputs_digest(staged_t, staged_p) if stamp is not None else b""
            swap.commit()
            if stamp is not None:
                stamp.record(written, len(rendered.templates), len(rendered.params))
            clock.lap("swap")
            event("build: swapped in")
            if progress is not None:
                progress.end()
    except KeyboardInterrupt as exc:   # Ctrl-C, or SIGTERM/SIGHUP raised as Terminated by the command line
        if lint is not None:
            lint.close()
        workers.stop()   # the lint helper runs in its own session: Ctrl-C does not reach it
        import signal
        code = 128 + getattr(exc, "signum", signal.SIGINT)
        if swap.committed:
            raise Interrupted(f"interrupted after the new output was in place: {out}/ and {params_dir}/ hold this "
                              "build", code) from None
        raise Interrupted(f"interrupted; nothing was written: {out}/ and {params_dir}/ were left as they were",
                          code) from None
    finally:
        if lint is not None:
            lint.close()   # a build that failed before the verdicts: its lint job stops (a no-op after them)
        if freeze:
            gc.unfreeze()
    return rendered


class _Stream:
    """Render's templates into the staging folder as they come, each one offered to the lint at once (gate.Lint
    sends a template that references no other to cfn-lint before render ends), and parsed once for the whole gate."""

    def __init__(self, swap: OutputSwap, out: Path, staged: Path, lint: gate.Lint) -> None:
        self.swap, self.out, self.staged, self.lint = swap, out, staged, lint
        self.written: set[str] = set()
        self.data: dict[str, dict] = {}

    def ready(self, name: str, text: str) -> None:
        event(f"build: rendered {name}")
        from generator.lint import parsed as parsing

        self.swap.add(self.out, partial(render.write_files, {name: text}))
        self.written.add(name)
        if "/" in name or not name.endswith(".yaml"):
            return
        try:
            data = parsing.load(self.staged / name)
        except Exception:   # noqa: BLE001 - not offered; parsed() raises it as the gate's parse always did
            return
        self.data[name] = data
        self.lint.offer(name, data)

    def rest(self, templates: Mapping[str, str]) -> None:
        """What render made without announcing it (the reroute Lambda's source)."""
        left = {name: text for name, text in templates.items() if name not in self.written}
        if left:
            self.swap.add(self.out, partial(render.write_files, left))
            self.written.update(left)

    def parsed(self) -> dict[str, dict]:
        """Every template of the staging folder as data (gate.staged_templates), the streamed ones parsed once."""
        from generator.lint import gate

        return gate.staged_templates(self.staged, self.data)


def _own_checks(app: AppSpec, staged_t: Path, staged_p: Path, out: Path, params_dir: Path, rendered: Rendered,
                parsed: dict[str, dict]) -> tuple[list[str], list[str]]:
    """The gate's checks besides cfn-lint (findings), and the rename warnings a passed build prints (against the
    previous build in `out`, when it was of this app)."""
    from generator import renames
    from generator.lint import gate

    findings = [*gate.size_budgets(staged_t, out.name, INLINE_TEMPLATES, app.region, parsed,
                                   pipeline_action_templates(app)),
                *gate.handler_permissions(staged_t, out.name, app.region, rendered.deployers, parsed),
                *gate.parameter_files(staged_p, params_dir.name, rendered.parameter_sets)]
    warnings = []
    if renames.previous_app(params_dir) in (None, app.app):
        warnings = renames.warnings(renames.previous_templates(out), parsed, out.name)
    return findings, warnings


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
