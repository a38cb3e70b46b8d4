"""Reads `app.yaml` into an AppSpec, or raises ConfigError with one line per problem."""
from __future__ import annotations

import difflib
import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from generator.config import rules
from generator.config.models import AppSpec
from generator.errors import ConfigError, Problem


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that refuses duplicate keys (PyYAML silently keeps the last one)."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key '{key}' (first at line {seen[key] + 1}); keep one of them",
                key_node.start_mark)
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_app(path: str | Path) -> AppSpec:
    path = Path(path)
    source = str(path)
    if not path.is_file():
        raise ConfigError(source, [Problem("", "file not found; pass --app PATH or create app.yaml (see README)")])
    text = path.read_text(encoding="utf-8")
    try:
        raw = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(source, [Problem(where, f"not valid YAML: {exc.problem or exc}")]) from exc
    if raw is None:
        raise ConfigError(source, [Problem("", "the file is empty; start from the example app.yaml in the README")])
    if not isinstance(raw, dict):
        raise ConfigError(source, [Problem("", f"expected a mapping of keys (app, owner, ...), got {type(raw).__name__}")])
    return parse_app(raw, source)


def parse_app(raw: dict, source: str = "app.yaml") -> AppSpec:
    try:
        app = AppSpec.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(source, [_problem(err, raw) for err in exc.errors()]) from exc
    problems = rules.check(app)
    if problems:
        raise ConfigError(source, problems)
    return app


def _problem(err: dict, raw: dict) -> Problem:
    loc = err["loc"]
    path = _dotted(loc, raw)
    kind = err["type"]
    if kind == "extra_forbidden":
        return Problem(path, _unknown_key(loc))
    if kind == "missing":
        return Problem(path, "required field is missing; add it (see `python -m generator schema`)")
    value = err.get("input")
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    if kind == "string_pattern_mismatch":
        msg = f"'{value}' does not match {err['ctx']['pattern']}"
        if path.endswith(("app", "name")) or path.startswith("environments"):
            msg += " (lowercase letters, digits and '-', 2-20 characters, starting with a letter)"
    elif kind == "literal_error":
        msg = f"{value!r} is not allowed; {msg[0].lower()}{msg[1:]}"
    elif not isinstance(value, (dict, list)) and value is not None:
        msg = f"{msg} (got {value!r})"
    return Problem(path, msg)


def _dotted(loc: tuple, raw: Any) -> str:
    """A readable path: list items of named things (services) are shown by name."""
    parts: list[str] = []
    node = raw
    for part in loc:
        if isinstance(part, int) and isinstance(node, list):
            item = node[part] if part < len(node) else None
            name = item.get("name") if isinstance(item, dict) else None
            parts.append(name if isinstance(name, str) and name else f"[{part}]")
            node = item
        else:
            if isinstance(part, str) and part.startswith(("function-", "literal[", "list[")):
                continue  # pydantic's union/validator branch labels are not user keys
            parts.append(str(part))
            node = node.get(part) if isinstance(node, dict) else None
    return ".".join(parts).replace(".[", "[")


def _unknown_key(loc: tuple) -> str:
    key = str(loc[-1])
    model = _model_at(loc[:-1])
    valid = sorted(model.model_fields) if model else []
    close = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
    hint = f"did you mean '{close[0]}'?" if close else f"valid keys are: {', '.join(valid)}"
    return f"unknown key '{key}'; {hint}"


def _model_at(loc: tuple) -> type[BaseModel] | None:
    """The model class that holds the field at `loc` (used to suggest the closest valid key)."""
    model: Any = AppSpec
    for part in loc:
        if isinstance(part, int):
            continue
        if model is None or not (isinstance(model, type) and issubclass(model, BaseModel)):
            return None
        field = model.model_fields.get(str(part))
        if field is None:
            # a dict key (e.g. an environment name): stay on the dict's value type
            continue
        model = _inner_model(field.annotation)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _inner_model(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None
