"""`fargate-stacks` (also `python -m generator`): describe the app once in app.yaml, get validated templates.

  init       write a commented app.yaml from flags or a few questions (never overwrites one)
  build      generate and validate the templates and parameter files (what `make templates` runs)
  validate   load and build the app through the same gate, writing nothing
  schema     the JSON schema of app.yaml (for editors: schema/app.schema.json)
  cost       a monthly cost estimate per environment from app.yaml and the dated price table
  diagram    an architecture diagram (SVG, and PNG) drawn from the generated templates
  package, diff, deploy, watch, destroy, drift, outputs, rehearse
             the deploy commands (scripts/deploy.py; `fargate-stacks deploy --help`)
  status, logs, exec, run, build-image, push-image, release, approve, rollback, db-load
             the day-2 commands (scripts/ops.py; `fargate-stacks logs --help`)
  runbooks   write runbooks/<env>/ (deploy, rollback, secrets, manual steps) from app.yaml
  sandbox    write sandbox/compose.yaml (every service, the database and stores, locally) from app.yaml

Exit status: 0 success; 2 a bad app spec or command line (e.g. --out naming a file); 1 the generated output failed
validation or could not be written (disk full or read-only, a failed rename, another build running, standard output
closed or full); 130 Ctrl-C, 143 SIGTERM, 129 SIGHUP. A message always says what state the output was left in.
"""
from __future__ import annotations

import argparse
import atexit
import contextlib
import os
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from typing import NoReturn
from pathlib import Path

from generator import __version__
from generator.lint.trace import event
from generator.terminal import duration
from generator.errors import (
    ConfigError, GeneratorError, Interrupted, Terminated, UsageError, ValidationFailed,
)
from scripts.deploylib.command_help import HELP as DEPLOY_HELP
from scripts.opslib.command_help import HELP as OPS_HELP

PROG = "fargate-stacks"
# Delegated whole to scripts/deploy.py (its own options and --help); listed here for `fargate-stacks --help`.
DEPLOY_COMMANDS = tuple(DEPLOY_HELP)
# scripts/deploy.py defaults to the checkout it lives in; from the installed command, paths are the current
# directory's, like `build`'s. Placed before the user's arguments: a later --app (or --ap) wins.
DEPLOY_DEFAULTS = ("--app=app.yaml", "--templates=templates_out", "--params=params", "--build-dir=build/packaged")
# Delegated whole to scripts/ops.py, with the same paths of the current directory.
OPS_COMMANDS = tuple(OPS_HELP)
OPS_DEFAULTS = DEPLOY_DEFAULTS[:3]
# make bench (scripts/bench.py) sets it to a dict to read a build's phases in wall seconds: import, load, render...
PHASES: dict[str, float] | None = None
# Set by `python -m generator` (generator/__main__.py), which runs one command and exits: a build then lets its lint
# helper end as soon as its verdicts are in (generator/lint/workers.py, release). Left False where one process runs
# many builds (the tests), which share one helper.
ONE_COMMAND = False
# Set by a command that succeeded with everything it wrote in place and closed: `python -m generator` then exits at
# once (exit_with).
_DONE = False


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        return p

    from generator import init_options
    init_options.add_arguments(command("init", "write a commented app.yaml that builds (from flags, or questions)"))
    b = command("build", "generate and validate templates and parameter files")
    _app_argument(b)
    b.add_argument("--out", default="templates_out", help="template directory (default: templates_out)")
    b.add_argument("--params", default="params", help="parameter file directory (default: params)")
    v = command("validate", "load and build the app through the validation gate; write nothing")
    _app_argument(v)
    for p in (b, v):
        p.add_argument("--quiet", "-q", action="store_true",
                       help="no progress lines (standard error), only the result and problems (for CI)")
    s = command("schema", "print (or write) the JSON schema of app.yaml")
    s.add_argument("--output", metavar="PATH", help="write the schema to PATH instead of printing it, e.g. "
                                                    "schema/app.schema.json (what `make schema` does)")
    c = command("cost", "estimate the monthly AWS cost of each environment (docs/cost.md)")
    _app_argument(c)
    c.add_argument("--env", action="append", metavar="ENV", help="only this environment (repeatable; default: all)")
    d = command("diagram", "draw the architecture from the generated templates (SVG, and PNG beside it)")
    d.add_argument("--templates", default="templates_out", help="generated templates (default: templates_out)")
    d.add_argument("--output", default="docs/diagrams/architecture.svg",
                   help="the SVG to write (default: docs/diagrams/architecture.svg); the PNG goes beside it")
    d.add_argument("--no-png", dest="png", action="store_false", help="write only the SVG")
    r = command("runbooks", "write runbooks/<env>/ (deploy, rollback, secrets, manual steps) from app.yaml")
    _app_argument(r)
    r.add_argument("--output", default="runbooks", help="the directory (default: runbooks)")
    x = command("sandbox", "write sandbox/compose.yaml (every service, the database, the proxy) from app.yaml")
    _app_argument(x)
    x.add_argument("--output", default="sandbox", help="the directory (default: sandbox)")
    ps = command("pipeline-support", "print (or write) pipeline-support.yaml, a pipeline's artifact store in another "
                                      "region (the same for every app; needs no app.yaml: docs/pipeline.md)")
    ps.add_argument("--output", metavar="PATH", help="write the template to PATH instead of printing it")
    ls = command("lint-server", "stop the lint servers that builds keep running between builds, or list them "
                                "(README, The lint server)")
    ls.add_argument("action", choices=("stop", "status"))
    for name in DEPLOY_COMMANDS:
        sub.add_parser(name, help=DEPLOY_HELP[name], add_help=False)
    for name in OPS_COMMANDS:
        sub.add_parser(name, help=OPS_HELP[name], add_help=False)
    return parser


def _app_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--app", default="app.yaml", help="the app spec (default: app.yaml)")


class _StdoutFailed(Exception):
    """Standard output is closed (`| head`) or cannot be written (/dev/full)."""


def main(argv: list[str] | None = None) -> int:
    global _DONE
    _DONE = False
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in DEPLOY_COMMANDS:
        return _deploy(argv[0], argv[1:])
    if argv and argv[0] in OPS_COMMANDS:
        from scripts import ops
        return ops.main([argv[0], *OPS_DEFAULTS, *argv[1:]], prog=PROG)
    args = _parser().parse_args(argv)
    with _termination_as_interrupt():
        try:
            return COMMANDS[args.command](args)
        except GeneratorError as exc:
            if args.debug:
                raise
            if isinstance(exc, ValidationFailed):
                _err(f"validation failed; nothing was written ({len(exc.findings)} findings):")
            for line in exc.lines():
                _err(line)
            if isinstance(exc, Interrupted):
                return exc.exit_code
            return 2 if isinstance(exc, (ConfigError, UsageError)) else 1
        except KeyboardInterrupt as exc:    # before the build started writing: nothing was
            if args.debug:
                raise
            _err("interrupted; nothing was written")
            return 128 + getattr(exc, "signum", signal.SIGINT)
        except _StdoutFailed as exc:
            if str(exc):
                _err(str(exc))
            return 1


def _build(args: argparse.Namespace) -> int:
    from generator import output_paths, up_to_date

    started = time.monotonic()
    event("build: start")
    spec, out, params = Path(args.app), Path(args.out), Path(args.params)
    # Before anything heavy is imported: the output is exactly what a passed build of these inputs wrote
    stamp = up_to_date.stamp(spec, out, params)
    if stamp is not None and (done := stamp.matches(out, params)) is not None:
        output_paths.check(out, params, spec)
        _say(f"{args.out}/ and {args.params}/ are up to date with {args.app} ({done.get('templates')} templates and "
             f"{done.get('params')} parameter files, lint-clean when built; nothing changed since, nothing written, "
             f"{duration(time.monotonic() - started)})")
        return 0
    event("build: stamp checked")
    from generator.lint import workers
    workers.prestart()   # cfn-lint loads in its own process while this one imports the generator and renders
    event("build: lint helper or server started")
    lap = time.perf_counter()
    from generator.build import write
    from generator.config import load_app

    if PHASES is not None:
        PHASES["import"], lap = time.perf_counter() - lap, time.perf_counter()
    event("build: generator imported")
    app = load_app(args.app)
    event("build: app loaded")
    if PHASES is not None:
        PHASES["load"] = time.perf_counter() - lap
    rendered = write(app, out, params, spec=spec, note=_err, progress=_progress(args), stamp=stamp, phases=PHASES,
                     last=ONE_COMMAND)
    _say(f"wrote {len(rendered.templates)} templates to {args.out}/ and {len(rendered.params)} parameter files "
         f"to {args.params}/ (lint-clean, {duration(time.monotonic() - started)})",
         failed=f"the build finished ({args.out}/ and {args.params}/ hold it), but standard output")
    global _DONE
    _DONE = True   # the output swapped in, the stamp recorded (both renamed into place whole), the result said
    return 0


def exit_with(code: int) -> NoReturn:
    """The process's exit (`python -m generator`). After a build that succeeded, without the interpreter's teardown:
    freeing every object of the generator (and of pydantic, troposphere...) one by one took 0.1-0.15 s of every
    build, and nothing of it is needed by then: the output and the stamp are in place, each written whole and
    renamed (the swap's journal fsynced), the staging folders and locks are gone, the checks' thread has ended.
    What remains is done here as at a normal exit: the exit handlers (they stop this build's lint helper:
    generator/lint/workers.py), then standard output and error are flushed. If either cannot be flushed, or
    anything else is unusual (a failed command, an error here), the normal exit runs, with its messages."""
    event(f"build: exit {code}")
    if code == 0 and _DONE:
        try:
            atexit._run_exitfuncs()
            sys.stdout.flush()
            sys.stderr.flush()
        except BaseException:   # noqa: BLE001 - the normal exit says what went wrong
            sys.exit(code)
        os._exit(0)
    sys.exit(code)


def _validate(args: argparse.Namespace) -> int:
    """The build's own path (render, stage, gate, swap) into a throw-away directory: the same checks as `build`,
    and nothing of the user's is touched."""
    from generator.build import write
    from generator.config import load_app

    started = time.monotonic()
    app = load_app(args.app)
    with tempfile.TemporaryDirectory(prefix="fargate-stacks-validate-") as scratch:
        rendered = write(app, Path(scratch) / "templates_out", Path(scratch) / "params", spec=Path(args.app),
                         progress=_progress(args))
    _say(f"{args.app}: valid: {len(rendered.templates)} templates and {len(rendered.params)} parameter files pass "
         f"the gate (lint-clean, {duration(time.monotonic() - started)}); nothing was written")
    return 0


def _progress(args: argparse.Namespace):
    from generator.terminal import Progress
    return Progress(quiet=args.quiet)


def _schema(args: argparse.Namespace) -> int:
    from generator import schema
    return _print_or_write(schema.text(), args.output, schema.write)


def _pipeline_support(args: argparse.Namespace) -> int:
    from generator import atomic_file
    from generator.pipeline import regions
    from generator.template_yaml import to_yaml
    return _print_or_write(to_yaml(regions.support_template()), args.output, atomic_file.replace)


def _print_or_write(text: str, output: str | None, write) -> int:
    """A generated file on standard output, or written (atomically) to `output`."""
    if output is None:
        _say(text, end="")
        return 0
    write(Path(output), text)
    _say(f"wrote {output}")
    return 0


def _lint_server(args: argparse.Namespace) -> int:
    from generator.lint import server, server_control
    try:
        answers = server_control.control(args.action)
    except server.Failed as exc:
        raise UsageError(str(exc)) from None
    if not answers:
        _say("no lint server is running")
    for a in answers:
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(a.get("since", 0)))
        _say(f"{'stopped' if args.action == 'stop' else 'running'}: lint server {a.get('pid')} at {a['socket']}, "
             f"started {started}, {a.get('jobs', 0)} connections, exits after {a.get('idle', 0):.0f} s idle")
    return 0


def _init(args: argparse.Namespace) -> int:
    from generator import init_app
    return init_app.run(args, say=_say)


def _cost(args: argparse.Namespace) -> int:
    from generator.config import load_app
    from generator.cost import estimate, report
    app = load_app(args.app)
    _say(report.text(estimate.estimate(app, environments=args.env, source=args.app)), end="")
    return 0


def _diagram(args: argparse.Namespace) -> int:
    from generator.diagram import draw
    written = draw.write(Path(args.templates), Path(args.output), png=args.png)
    _say("wrote " + " and ".join(str(p) for p in written))
    return 0


def _runbooks(args: argparse.Namespace) -> int:
    from generator.config import load_app
    from generator.runbooks import render
    app = load_app(args.app)
    written = render.write(app, Path(args.output))
    _say(f"runbooks for {len(app.environments)} environments in {args.output}/ ({len(written)} files changed)")
    return 0


def _sandbox(args: argparse.Namespace) -> int:
    from generator.config import load_app
    from generator.sandbox import compose
    written = compose.write(load_app(args.app), Path(args.output))
    _say(f"sandbox in {args.output}/ ({len(written)} files changed); start it with `make sandbox-up`")
    return 0


COMMANDS = {"sandbox": _sandbox, "runbooks": _runbooks, "init": _init, "build": _build, "validate": _validate, "schema": _schema, "cost": _cost,
            "diagram": _diagram, "pipeline-support": _pipeline_support, "lint-server": _lint_server}


def _deploy(command: str, rest: list[str]) -> int:
    """The deploy and day-2 commands are scripts/deploy.py's, imported (botocore loads only for them)."""
    if command == "rehearse" and not _importable("moto"):
        _err("rehearse needs the emulator (moto), which is not installed: pip install 'fargate-stacks[test]' "
             "(or run `make rehearse`)")
        return 2
    from scripts import deploy
    defaults = DEPLOY_DEFAULTS[:3] if command == "deploy-role" else DEPLOY_DEFAULTS   # it packages nothing
    return deploy.main([command, *defaults, *rest], prog=PROG)


def _importable(module: str) -> bool:
    import importlib.util
    return importlib.util.find_spec(module) is not None


def _say(text: str, failed: str = "standard output", end: str = "\n") -> None:
    try:
        print(text, end=end, flush=True)
    except OSError as exc:
        # Point the descriptor at /dev/null: otherwise Python's final flush at exit fails again, with a traceback.
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
        if isinstance(exc, BrokenPipeError):     # the reader stopped reading (`| head`): say nothing
            raise _StdoutFailed("") from exc
        raise _StdoutFailed(f"{failed} cannot be written ({exc.strerror or exc})") from exc


def _err(line: str) -> None:
    with contextlib.suppress(OSError):      # stderr closed or full: nothing better to do than to exit
        print(line.replace("\n", "\\n"), file=sys.stderr, flush=True)


@contextlib.contextmanager
def _termination_as_interrupt() -> Iterator[None]:
    """SIGTERM and SIGHUP unwind like Ctrl-C (as Terminated), so the build's clean-up runs for them too."""
    def raise_terminated(signum: int, _frame: object) -> None:
        raise Terminated(signum)

    previous = {}
    with contextlib.suppress(ValueError):    # not the main thread (an embedding caller): leave signals alone
        for name in ("SIGTERM", "SIGHUP"):
            signum = getattr(signal, name, None)
            if signum is not None:
                previous[signum] = signal.signal(signum, raise_terminated)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
