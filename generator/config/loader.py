"""Reads `app.yaml` into an AppSpec, or raises ConfigError with one line per problem.

Every line reads `file: field.path: what is wrong; how to fix it`. Services are addressed by name
(`services.api.port`), environments by their key (`environments.prod.cidr`); pydantic's internal labels
(union branches, validator names, `[key]`) never reach the user.
"""
from __future__ import annotations

import difflib
import ipaddress
import json
import re
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import annotated_types
import yaml
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from generator.config import models, rules
from generator.config.models import AppSpec
from generator.errors import ConfigError, Problem

SCHEMA_HINT = "see `python -m generator schema`"


class _DuplicateKey(yaml.constructor.ConstructorError):
    """A key given twice in one mapping (its message already says how to fix it)."""


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that refuses duplicate keys (PyYAML silently keeps the last one)."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            first = seen.get(key)
        except TypeError:
            continue  # an unhashable key: construct_mapping below reports it
        if first is not None:
            raise _DuplicateKey(
                None, None, f"duplicate key '{key}' (first at line {first + 1}); keep one of them",
                key_node.start_mark)
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_app(path: str | Path) -> AppSpec:
    path = Path(path)
    source = str(path)
    if path.is_dir():
        raise ConfigError(source, [Problem("", "is a directory; pass the app spec file with --app PATH")])
    if not path.is_file():
        raise ConfigError(source, [Problem("", "file not found; pass --app PATH or create app.yaml (see README)")])
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(source, [Problem("", f"not UTF-8 text (byte {exc.start}); save the file as UTF-8")]) from exc
    except OSError as exc:
        raise ConfigError(source, [Problem("", f"cannot be read ({exc.strerror or exc}); check the path and "
                                               "its permissions")]) from exc
    raw = _parse_yaml(text, source)
    if raw is None:
        raise ConfigError(source, [Problem("", "the file is empty; start from the example app.yaml in the README")])
    if not isinstance(raw, dict):
        raise ConfigError(source, [Problem("", f"the top level is {_shown(raw)}, not keys; write `key: value` lines "
                                               f"({', '.join(list(AppSpec.model_fields)[:3])}, ...) starting at "
                                               f"column 1")])
    return parse_app(raw, source)


def _parse_yaml(text: str, source: str) -> Any:
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except _DuplicateKey as exc:
        raise ConfigError(source, [Problem(_where(exc.problem_mark), str(exc.problem))]) from exc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        what = exc.problem or "unreadable"
        if exc.context and exc.context_mark and exc.context_mark is not mark:
            what += f" ({exc.context} at {_where(exc.context_mark)})"
        if "'\\t'" in what:
            fix = "indent with spaces, not tabs"
        elif exc.context in ("while parsing a flow sequence", "while parsing a flow mapping"):
            fix = f"close the '{'[' if 'sequence' in exc.context else '{'}' opened there"
        elif isinstance(exc, yaml.constructor.ConstructorError) and "tag" in what:
            fix = "remove the tag (the app spec holds plain values only)"
        elif isinstance(exc, yaml.constructor.ConstructorError):
            fix = "use a plain name as the key"
        else:
            fix = "check the indentation, quotes and brackets here"
        raise ConfigError(source, [Problem(_where(mark), f"not valid YAML: {what}; {fix}")]) from exc
    except yaml.reader.ReaderError as exc:  # a control character; has a position, not a line and column
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        raise ConfigError(source, [Problem(f"line {line}, column {column}", (
            f"not valid YAML: control character #x{exc.character:02x} is not allowed; delete it"
            if isinstance(exc.character, int) else f"not valid YAML: {exc.reason}; delete the character"))]) from exc
    except yaml.YAMLError as exc:
        reason = " ".join(str(exc).split())
        raise ConfigError(source, [Problem("", f"not valid YAML: {reason}; check the file's syntax")]) from exc


def _where(mark: Any) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""


def parse_app(raw: dict, source: str = "app.yaml") -> AppSpec:
    try:
        app = AppSpec.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(source, _one_line([_problem(err, raw) for err in exc.errors()])) from exc
    problems = rules.check(app)
    if problems:
        raise ConfigError(source, _one_line(problems))
    return app


def _one_line(problems: list[Problem]) -> list[Problem]:
    """Values quoted in messages may hold line breaks; each problem still prints as one line."""
    return [Problem(_flat(p.loc), _flat(p.msg)) for p in problems]


def _flat(text: str) -> str:
    return re.sub(r"\s*[\r\n]+\s*", " ", text)


# ---------------------------------------------------------------------------------------------------------
# Where an error is: pydantic's `loc` walked alongside the model types and the raw data.


class _Spot(typing.NamedTuple):
    path: str                      # dotted, user-facing
    field: FieldInfo | None        # the innermost model field on the way (for its description and bounds)
    holder: type[BaseModel] | None  # the model that the last key was looked up in
    annotation: Any                # the type expected at the location (None if unknown)


def _locate(loc: tuple, raw: Any) -> _Spot:
    parts: list[str] = []
    field: FieldInfo | None = None
    holder: type[BaseModel] | None = None
    ann: Any = AppSpec
    node: Any = raw
    for part in loc:
        ann = _unwrap(ann)
        if part == "[key]":
            continue  # pydantic marks an invalid dict key this way; the path already ends with the key
        if _is_union(ann):
            # A union reports which branch failed with a label (a type or class name, a validator, a tag).
            ann = _branch(ann, part)
            continue
        if isinstance(part, int) and isinstance(node, list):
            item = node[part] if 0 <= part < len(node) else None
            name = _item_name(node, part)
            if name is not None:
                parts.append(name)
            elif parts:
                parts[-1] += f"[{part}]"
            else:
                parts.append(f"[{part}]")
            node = item
            ann = _item_type(ann)
            continue
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            holder = ann
            field = ann.model_fields.get(str(part))
            ann = field.annotation if field is not None else None
        elif _origin(ann) in (dict, Mapping):
            args = typing.get_args(ann)
            ann = args[1] if len(args) == 2 else None
        elif ann is None and _looks_like_label(part):
            continue
        else:
            ann = None
        parts.append(str(part))
        node = node.get(part) if isinstance(node, dict) else None
    return _Spot(".".join(parts), field, holder, _unwrap(ann))


def _unwrap(ann: Any) -> Any:
    """Strips Annotated[...] and Optional[...] (a nullable field reports no branch label)."""
    while True:
        if typing.get_origin(ann) is typing.Annotated:
            ann = typing.get_args(ann)[0]
        elif _is_union(ann, count_none=True):
            members = [a for a in typing.get_args(ann) if a is not type(None)]
            if len(members) != 1:
                return ann
            ann = members[0]
        else:
            return ann


def _is_union(ann: Any, count_none: bool = False) -> bool:
    if typing.get_origin(ann) not in (typing.Union, types.UnionType):
        return False
    return count_none or len([a for a in typing.get_args(ann) if a is not type(None)]) > 1


def _branch(ann: Any, label: Any) -> Any:
    """The union member a branch label names: a model by class name or by a Literal tag value, else unknown."""
    for member in (_unwrap(a) for a in typing.get_args(ann) if a is not type(None)):
        if isinstance(member, type) and issubclass(member, BaseModel):
            if label == member.__name__:
                return member
            for f in member.model_fields.values():
                if typing.get_origin(f.annotation) is typing.Literal and label in typing.get_args(f.annotation):
                    return member
        elif isinstance(member, type) and label == member.__name__:
            return member
    return None


def _looks_like_label(part: Any) -> bool:
    return isinstance(part, str) and bool(re.search(r"[\[\]()]", part) or part in {"int", "str", "bool", "float"})


def _origin(ann: Any) -> Any:
    return typing.get_origin(ann) or (ann if isinstance(ann, type) else None)


def _item_type(ann: Any) -> Any:
    if _origin(ann) in (list, tuple, set, frozenset):
        args = typing.get_args(ann)
        return args[0] if args else None
    return None


def _item_name(items: list, index: int) -> str | None:
    """A list item's `name`, if it has one and no sibling shares it (so the path is unambiguous)."""
    item = items[index] if 0 <= index < len(items) else None
    name = item.get("name") if isinstance(item, dict) else None
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_-]+", name):
        return None
    same = sum(1 for other in items if isinstance(other, dict) and other.get("name") == name)
    return name if same == 1 else None


# ---------------------------------------------------------------------------------------------------------
# What is wrong and how to fix it.


def _pattern_of(alias: Any) -> str:
    return next(m.pattern for m in typing.get_args(alias)[1:] if getattr(m, "pattern", None))


# pattern -> (what the value is not, how to write it). Unknown patterns fall back to the field description.
PATTERNS: dict[str, tuple[str, str]] = {
    models.NAME_PATTERN: ("is not a valid name", "use 2-20 lowercase letters, digits and '-', starting with a "
                                                 "letter and ending with a letter or digit"),
    r"^[A-Za-z0-9 ._:/=+@-]{1,128}$": ("cannot be a tag value",
                                       "use 1-128 letters, digits, spaces and . _ : / = + @ -"),
    r"^/": ("is not a path", "start it with '/'"),
    r"^[a-z][a-z0-9_]{0,62}$": ("is not a valid database name",
                                "use up to 63 lowercase letters, digits and '_', starting with a letter"),
}


def _add_patterns(*hints: tuple[str, str, str]) -> None:
    """The same for pattern types looked up by name (models.py grows; a missing one just keeps the fallback)."""
    for alias, what, fix in hints:
        try:
            PATTERNS.setdefault(_pattern_of(getattr(models, alias)), (what, fix))
        except (AttributeError, StopIteration, TypeError):
            pass


_add_patterns(
    ("Region", "is not an AWS region code", "use one such as eu-west-1 or us-east-1"),
    ("AccountId", "is not an AWS account ID", "use its 12 digits, in quotes"),
    ("VpcId", "is not a VPC ID", "use one such as vpc-0a1b2c3d4e5f60718"),
    ("SubnetId", "is not a subnet ID", "use one such as subnet-0a1b2c3d4e5f60718"),
    ("EnvVarName", "is not an environment variable name", "use letters, digits and '_', not starting with a digit"),
    ("SecretRef", "is not a secret reference", "write the secret's name, or name:json-key (never its value)"),
    ("PathPattern", "is not a path pattern", "start with '/' and use letters, digits, _ . $ / ~ \" ' @ : + & - "
                                             "and the wildcards * and ?"),
    ("HostPattern", "is not a host name pattern", "use letters, digits, '.' and '-' with * and ? as wildcards, "
                                                  "e.g. api.example.com or *.example.com"),
    ("ScalingCron", "is not a six-field cron expression", "write cron(minutes hours day-of-month month day-of-week "
                                                          "year), e.g. cron(0 20 ? * MON-FRI *)"),
    ("ConnectionArn", "is not a CodeConnections connection ARN", "copy it from the console (Developer Tools > "
                      "Settings > Connections), e.g. arn:aws:codeconnections:eu-west-1:123456789012:connection/"
                      "<36-character id>"),
    ("RepositoryId", "is not a repository id", "write owner/name, e.g. tunecast/tunecast"),
    ("BranchName", "is not a branch name", "use letters, digits and . _ / -, e.g. main"),
    ("EmailAddress", "is not an e-mail address", "write one such as releases@example.com"),
    ("SecurityGroupId", "is not a security group ID", "use one such as sg-0a1b2c3d4e5f60718"),
    ("ZoneRef", "is not an availability zone", "use a zone ID such as euw1-az1 or a zone name such as eu-west-1a"),
    ("DomainName", "is not a DNS name", "use one such as app.example.com (lowercase, no wildcard)"),
    ("RelativePath", "is not a path inside the repository", "use letters, digits and _ . / -, relative to the "
                                                            "repository root, e.g. api/Dockerfile"),
)

EXPECTED = {
    "int_type": "a whole number", "int_parsing": "a whole number", "int_from_float": "a whole number",
    "int_parsing_size": "a whole number", "float_type": "a number", "float_parsing": "a number",
    "bool_type": "true or false", "bool_parsing": "true or false", "string_type": "text",
    "list_type": "a list", "tuple_type": "a list", "set_type": "a list",
    "dict_type": "a mapping of keys", "model_type": "a mapping of keys", "model_attributes_type": "a mapping of keys",
}
MAPPINGS = {"dict_type", "model_type", "model_attributes_type"}
RANGE = {"greater_than_equal", "less_than_equal", "greater_than", "less_than"}


def _problem(err: Mapping[str, Any], raw: dict) -> Problem:
    spot = _locate(tuple(err["loc"]), raw)
    kind = err["type"]
    value = err.get("input")
    ctx = err.get("ctx") or {}
    if kind in ("extra_forbidden", "invalid_key"):
        return Problem(spot.path, _unknown_key(err["loc"][-1], spot.holder))
    if err["loc"] and err["loc"][-1] == "[key]" and kind == "string_type":
        return Problem(spot.path, f"YAML read this name as {_yaml_kind(value)} ({_shown(value)}); put it in quotes")
    if kind == "missing":
        return Problem(spot.path, f"required field is missing; add it{_about(spot.field, ' ')}")
    if value is None and ((kind in EXPECTED and kind not in MAPPINGS) or kind.startswith("ip_")):
        return Problem(spot.path, _empty(spot.field, spot.annotation))
    if kind == "string_pattern_mismatch":
        return Problem(spot.path, _pattern_mismatch(value, ctx.get("pattern", ""), spot))
    if kind in ("literal_error", "enum"):
        return Problem(spot.path, _not_allowed(value, ctx.get("expected", ""), spot.annotation))
    if kind in ("ip_v4_network", "ip_v4_interface", "ip_any_network"):
        return Problem(spot.path, _bad_cidr(value))
    if kind in RANGE:
        return Problem(spot.path, _out_of_range(value, spot.field, ctx))
    if kind in ("string_too_short", "string_too_long"):
        short = kind == "string_too_short"
        limit = ctx.get("min_length" if short else "max_length")
        return Problem(spot.path, f"{_shown(value)} is too {'short' if short else 'long'}; use "
                                  f"{'at least' if short else 'at most'} {limit} characters")
    if kind in ("too_short", "too_long"):
        return Problem(spot.path, _wrong_length(value, ctx, spot.field))
    if kind == "string_type" and isinstance(value, (int, float)):
        return Problem(spot.path, f"{_shown(value)} was read as {_yaml_kind(value)}, but text is expected; put it "
                                  f"in quotes so it stays exactly as written")
    if kind == "multiple_of":
        step = ctx.get("multiple_of")
        fix = f"use {value // step * step} or {value // step * step + step}" if isinstance(value, int) and \
            isinstance(step, int) and not isinstance(value, bool) else f"use a multiple of {step}"
        return Problem(spot.path, f"{_shown(value)} is not a multiple of {step}; {fix}")
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return Problem(spot.path, _not_mapping(value, spot.annotation, spot.field))
    if kind in ("list_type", "tuple_type", "set_type"):
        return Problem(spot.path, _not_list(value, spot.annotation))
    if kind in EXPECTED:
        return Problem(spot.path, f"expected {EXPECTED[kind]}, got {_shown(value)}{_about(spot.field)}")
    msg = str(err["msg"])
    if kind == "value_error":  # raised by our own validators, whose message already names the value and the fix
        return Problem(spot.path, msg[len("Value error, "):] if msg.startswith("Value error, ") else msg)
    msg = msg[len("Value error, "):] if msg.startswith("Value error, ") else msg
    if value is not None and not isinstance(value, (dict, list)):
        msg = f"{msg} (got {_shown(value)})"
    return Problem(spot.path, f"{msg}{_about(spot.field)}")


def _yaml_kind(value: Any) -> str:
    return "true/false" if isinstance(value, bool) else "a number"


def _shown(value: Any) -> str:
    """A value as the user wrote it in YAML."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return "a mapping" if isinstance(value, dict) else "a list"
    if isinstance(value, str):
        return repr(value if len(value) <= 60 else value[:50] + "...")
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _about(field: FieldInfo | None, sep: str = "; ") -> str:
    """The field's description as the hint: what the field is and the values it takes."""
    desc = (field.description or "").strip() if field is not None else ""
    if not desc:
        return f"{sep}({SCHEMA_HINT})" if sep == " " else f"{sep}{SCHEMA_HINT}"
    desc = desc.rstrip(".")
    return f"{sep}({desc})" if sep == " " else f"{sep}{desc}"


def _unknown_key(key: Any, model: type[BaseModel] | None) -> str:
    valid = list(model.model_fields) if model else []
    close = difflib.get_close_matches(str(key), valid, n=1, cutoff=0.6)
    if close:
        return f"unknown key '{key}'; did you mean '{close[0]}'?"
    if valid:
        return f"unknown key '{key}'; remove it or use one of: {', '.join(valid)}"
    return f"unknown key '{key}'; remove it ({SCHEMA_HINT})"


def _pattern_mismatch(value: Any, pattern: str, spot: _Spot) -> str:
    what, fix = PATTERNS.get(pattern, (f"does not match {pattern}", ""))
    if pattern.startswith("^arn:") and ":acm:" in pattern:
        what, fix = "is not an ACM certificate ARN", ("copy the ARN from the ACM console, e.g. arn:aws:acm:eu-west-1:"
                                                      "123456789012:certificate/<36-character id>")
    if not fix:
        fix = _about(spot.field, "")
    if pattern == r"^/" and isinstance(value, str):
        fix += f", e.g. '/{value}'"
    hint = ""
    if isinstance(value, str):
        guesses = [value.strip(), value.strip().lower()]
        if pattern == models.NAME_PATTERN:
            guesses.append(value.strip().lower().replace("_", "-").replace(" ", "-"))
        elif pattern == r"^[a-z][a-z0-9_]{0,62}$":
            guesses.append(value.strip().lower().replace("-", "_").replace(" ", "_"))
        elif pattern.startswith("^/") and pattern != r"^/":
            guesses.append(f"/{value.strip()}")
        guess = next((g for g in guesses if g and g != value and re.search(pattern, g)), None)
        hint = f" (did you mean '{guess}'?)" if guess else ""
    return f"{_shown(value)} {what}; {fix}{hint}"


def _not_allowed(value: Any, expected: str, ann: Any) -> str:
    options = [a for a in typing.get_args(ann)] if typing.get_origin(ann) is typing.Literal else []
    close = difflib.get_close_matches(str(value), [str(o) for o in options], n=1, cutoff=0.6) if options else []
    hint = f" (did you mean '{close[0]}'?)" if close and isinstance(value, str) else ""
    choose = f"one of {expected}" if len(options) > 2 else expected
    if value is None:
        return f"is empty; use {choose}"
    return f"{_shown(value)} is not allowed; use {choose}{hint}"


def _bad_cidr(value: Any) -> str:
    example = "e.g. 10.10.0.0/16"
    if not isinstance(value, str):
        return f"expected an IPv4 CIDR, got {_shown(value)}; write it as address/prefix, {example}"
    try:
        net = ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        return f"{_shown(value)} is not an IPv4 CIDR; write it as address/prefix, {example}"
    if net.version != 4:
        return f"{_shown(value)} is an IPv6 network; use an IPv4 CIDR, {example}"
    return f"{_shown(value)} has bits set after the /{net.prefixlen} prefix; use the network address {net}"


def _bounds(field: FieldInfo | None, ctx: Mapping[str, Any]) -> tuple[Any, Any]:
    low, high = ctx.get("ge", ctx.get("gt")), ctx.get("le", ctx.get("lt"))
    for m in field.metadata if field is not None else []:
        if isinstance(m, annotated_types.Ge) and low is None:
            low = m.ge
        if isinstance(m, annotated_types.Le) and high is None:
            high = m.le
    return low, high


def _out_of_range(value: Any, field: FieldInfo | None, ctx: Mapping[str, Any]) -> str:
    low, high = _bounds(field, ctx)
    if "gt" in ctx or "lt" in ctx:
        limit = f"more than {ctx['gt']}" if "gt" in ctx else f"less than {ctx['lt']}"
        return f"{_shown(value)} is out of range; use a value {limit}"
    if low is not None and high is not None:
        return f"{_shown(value)} is out of range; use a value from {low} to {high}"
    return f"{_shown(value)} is out of range; use a value " + (f"of at least {low}" if low is not None
                                                               else f"of at most {high}")


def _wrong_length(value: Any, ctx: Mapping[str, Any], field: FieldInfo | None) -> str:
    actual = ctx.get("actual_length", len(value) if isinstance(value, (list, dict, str)) else "?")
    if "min_length" in ctx:
        n = ctx["min_length"]
        what = "is empty" if actual == 0 else f"has {actual} entries"
        return f"{what}; add at least {n}{_about(field, ' ')}"
    return f"has {actual} entries; keep at most {ctx.get('max_length')}{_about(field, ' ')}"


def _not_mapping(value: Any, ann: Any, field: FieldInfo | None) -> str:
    remove = "" if field is not None and field.is_required() else " or remove the key"
    model = ann if isinstance(ann, type) and issubclass(ann, BaseModel) else None
    if model is not None:
        required = [n for n, f in model.model_fields.items() if f.is_required()]
        keys = required or list(model.model_fields)[:3]
        listed = f"{', '.join(keys)}{'' if required else ', ...'}"
        if value is None:
            if required:
                return f"is empty; add its settings below it (required: {listed})"
            return f"is empty; add its settings below it ({listed}){remove}"
        return f"expected settings such as {listed}, got {_shown(value)}; write them as `key: value` lines " \
               f"indented below it"
    if value is None:
        return f"is empty; add entries below it{remove}"
    return (f"expected a mapping, got {_shown(value)}; write one `name:` line per entry with its settings "
            f"indented below it (not `- ` list items)")


def _empty(field: FieldInfo | None, ann: Any) -> str:
    """A key with nothing after it (`port:`)."""
    remove = "" if field is not None and field.is_required() else " or remove the key"
    item = _unwrap(_item_type(ann))
    if isinstance(item, type) and issubclass(item, BaseModel):
        return f"is empty; add entries starting with `- {next(iter(item.model_fields), 'key')}: ...`{remove}"
    return f"is empty; fill it in{remove}{_about(field, ' ')}"


def _not_list(value: Any, ann: Any) -> str:
    item = _unwrap(_item_type(ann))
    if isinstance(value, str) and item is str:
        return f"expected a list, got {_shown(value)}; write it as a list, e.g. {json.dumps(value.split())}"
    if isinstance(item, type) and issubclass(item, BaseModel):
        first = next(iter(item.model_fields), "key")
        return f"expected a list, got {_shown(value)}; start each entry with `- {first}: ...`"
    return f"expected a list, got {_shown(value)}; write it as [a, b] or one `- item` line per entry"
