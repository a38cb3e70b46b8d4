"""Reads `app.yaml` into an AppSpec, or raises ConfigError with one line per problem.

Every line reads `file: field.path: what is wrong; how to fix it`. The parts: `spec_file` (the path is a readable,
regular file of sensible size), `yaml_reader` (YAML without YAML 1.1's guesses, one line per syntax problem),
the pydantic models (`models`, one field at a time; `messages` words their errors), then the rules that span
several fields (`rules`).
"""
from __future__ import annotations

import re
from pathlib import Path

from pydantic import ValidationError

from generator import collector
from generator.config import rules, spec_file, yaml_reader
from generator.config.models import AppSpec
from generator.errors import ConfigError, Problem


def load_app(path: str | Path) -> AppSpec:
    """The app spec in `path`, validated (the collector paused meanwhile: the spec stays, generator/collector.py)."""
    with collector.paused():
        return _load_app(path)


def _load_app(path: str | Path) -> AppSpec:
    path = Path(path)
    source = str(path)
    text = spec_file.read_text(path, source)
    try:
        raw = yaml_reader.read(text)
    except yaml_reader.SpecYAMLError as exc:
        raise ConfigError(source, [Problem(exc.where, exc.message)]) from exc
    if raw is None:
        raise ConfigError(source, [Problem("", "the file is empty; start from the example app.yaml in the README")])
    if not isinstance(raw, dict):
        from generator.config import messages   # only a refused spec needs its words (a load that passes: not imported)
        raise ConfigError(source, [Problem("", f"the top level is {messages.shown(raw)}, not keys; write `key: value` "
                                               f"lines ({', '.join(list(AppSpec.model_fields)[:3])}, ...) starting "
                                               f"at column 1")])
    return parse_app(raw, source)


def parse_app(raw: dict, source: str = "app.yaml") -> AppSpec:
    try:
        app = AppSpec.model_validate(raw)
    except ValidationError as exc:
        from generator.config import messages
        raise ConfigError(source, _one_line([messages.problem(err, raw) for err in exc.errors()])) from exc
    problems = rules.check(app)
    if problems:
        raise ConfigError(source, _one_line(problems))
    return app


def _one_line(problems: list[Problem]) -> list[Problem]:
    """Values quoted in messages may hold line breaks; each problem still prints as one line."""
    return [Problem(_flat(p.loc), _flat(p.msg)) for p in problems]


def _flat(text: str) -> str:
    return re.sub(r"\s*[\r\n]+\s*", " ", text)
