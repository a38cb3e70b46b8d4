"""`python -m generator build|schema`. User errors print one line each and exit non-zero, no traceback.

Exit status: 0 success; 2 a bad app spec or command line (e.g. --out naming a file); 1 the generated output failed
validation or could not be written (disk full or read-only, a failed rename, another build running, standard output
closed or full); 130 Ctrl-C, 143 SIGTERM, 129 SIGHUP. A message always says what state the output was left in.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from generator.errors import (
    ConfigError, GeneratorError, Interrupted, Terminated, UsageError, ValidationFailed,
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m generator", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="generate and validate templates and parameter files")
    b.add_argument("--app", default="app.yaml", help="the app spec (default: app.yaml)")
    b.add_argument("--out", default="templates_out", help="template directory (default: templates_out)")
    b.add_argument("--params", default="params", help="parameter file directory (default: params)")
    b.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    s = sub.add_parser("schema", help="print the JSON schema of app.yaml")
    s.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    return parser


class _StdoutFailed(Exception):
    """Standard output is closed (`| head`) or cannot be written (/dev/full)."""


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    with _termination_as_interrupt():
        try:
            if args.command == "schema":
                from generator.config import AppSpec
                _say(json.dumps(AppSpec.model_json_schema(), indent=2, sort_keys=True))
                return 0
            return _build(args)
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
    from generator.lint import workers
    workers.prestart()   # cfn-lint loads in its own process while this one imports the generator and renders
    from generator.build import write
    from generator.config import load_app

    started = time.monotonic()
    app = load_app(args.app)
    out, params = Path(args.out), Path(args.params)
    rendered = write(app, out, params, spec=Path(args.app), note=_err)
    _say(f"wrote {len(rendered.templates)} templates to {args.out}/ and {len(rendered.params)} parameter files "
         f"to {args.params}/ (lint-clean, {time.monotonic() - started:.1f}s)",
         failed=f"the build finished ({args.out}/ and {args.params}/ hold it), but standard output")
    return 0


def _say(text: str, failed: str = "standard output") -> None:
    try:
        print(text, flush=True)
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
