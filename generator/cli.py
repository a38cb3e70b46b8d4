"""`python -m generator build|schema`. User errors print one line each and exit non-zero, no traceback."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from generator.errors import ConfigError, GeneratorError, ValidationFailed


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m generator", description=__doc__)
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


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "schema":
            from generator.config import AppSpec
            print(json.dumps(AppSpec.model_json_schema(), indent=2, sort_keys=True))
            return 0
        return _build(args)
    except GeneratorError as exc:
        if args.debug:
            raise
        if isinstance(exc, ValidationFailed):
            print(f"validation failed; nothing was written ({len(exc.findings)} findings):", file=sys.stderr)
        for line in exc.lines():
            print(line, file=sys.stderr)
        return 2 if isinstance(exc, ConfigError) else 1


def _build(args: argparse.Namespace) -> int:
    from generator.build import write
    from generator.config import load_app

    started = time.monotonic()
    app = load_app(args.app)
    rendered = write(app, Path(args.out), Path(args.params))
    print(f"wrote {len(rendered.templates)} templates to {args.out}/ and {len(rendered.params)} parameter files "
          f"to {args.params}/ (lint-clean, {time.monotonic() - started:.1f}s)")
    return 0
