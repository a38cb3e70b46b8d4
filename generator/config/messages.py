"""pydantic's validation errors as the spec's one-line problems: where (a dotted path through the user's data) and
what is wrong and how to fix it.

Services are addressed by name (`services.api.port`), environments by their key (`environments.prod.cidr`);
pydantic's internal labels (union branches, validator names, `[key]`) never reach the user.
"""
from __future__ import annotations

import difflib
import ipaddress
import json
import re
import types
import typing
from collections.abc import Mapping
from typing import Any

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from generator import naming
from generator.components.database.spec import SNAPSHOT_ID
from generator.components.cache.spec import NodeType
from generator.config import models
from generator.config.models import AppSpec
from generator.config.yaml_reader import YAML11_BOOL, YAML11_NUMBER
from generator.errors import Problem

SCHEMA_HINT = "see `python -m generator schema`"


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
    naming.TAG_VALUE_PATTERN: ("cannot be a tag value",
                                       "use 1-128 letters, digits, spaces and . _ : / = + @ -"),
    r"^/": ("is not a path", "start it with '/'"),
    r"^[a-z][a-z0-9_]{0,62}$": ("is not a valid database name",
                                "use up to 63 lowercase letters, digits and '_', starting with a letter"),
    SNAPSHOT_ID: ("is not a cluster snapshot identifier",
                  "use the identifier `make snapshots` lists (letters, digits and '-', starting with a letter) or "
                  "a snapshot ARN"),
}


def _add_patterns(*hints: tuple[str, str, str]) -> None:
    """The same for pattern types looked up by name (models.py grows; a missing one just keeps the fallback)."""
    for alias, what, fix in hints:
        try:
            PATTERNS.setdefault(_pattern_of(getattr(models, alias)), (what, fix))
        except (AttributeError, StopIteration, TypeError):
            pass


_add_patterns(
    ("ZoneRef", "is not an availability zone", "use a zone ID such as euw1-az1 or a zone name such as eu-west-1a"),
    ("DomainName", "is not a DNS name", "use one such as app.example.com (lowercase, no wildcard)"),
    ("AccountId", "is not an AWS account ID", "use its 12 digits, in quotes"),
    ("VpcId", "is not a VPC ID", "use one such as vpc-0a1b2c3d4e5f60718"),
    ("SubnetId", "is not a subnet ID", "use one such as subnet-0a1b2c3d4e5f60718"),
    ("EnvVarName", "is not an environment variable name", "use letters, digits and '_', not starting with a digit"),
    ("SecretRef", "is not a secret reference", "write the secret's name, or name:json-key (never its value)"),
    ("PathPattern", "is not a path pattern", "start with '/' and use letters, digits, _ . $ / ~ \" ' @ : + & - "
                                             "and the wildcards * and ?"),
    ("HostPattern", "is not a host name pattern", "use letters, digits, '.' and '-' with * and ? as wildcards, "
                                                  "e.g. api.example.com or *.example.com"),
    ("ConnectionArn", "is not a CodeConnections connection ARN", "copy it from the console (Developer Tools > "
                      "Settings > Connections), e.g. arn:aws:codeconnections:eu-west-1:123456789012:connection/"
                      "<36-character id>"),
    ("RepositoryId", "is not a repository id", "write owner/name, e.g. tunecast/tunecast"),
    ("BranchName", "is not a branch name", "use letters, digits and . _ / -, e.g. main"),
    ("PathFilter", "is not a file path pattern", "write a glob relative to the repository root (no leading '/'), "
                                                 "with letters, digits, . _ - / and the wildcards * ? {} [], e.g. "
                                                 "src/** or Dockerfile"),
    ("EmailAddress", "is not an e-mail address", "write one such as releases@example.com"),
    ("SnsTopicArn", "is not an SNS topic ARN", "copy it from the SNS console, e.g. "
                                               "arn:aws:sns:eu-west-1:123456789012:team-alerts"),
    ("IamPrincipal", "is not an IAM principal", "name an account (123456789012 or arn:aws:iam::123456789012:root), a "
                                                "role (arn:aws:iam::123456789012:role/name, also IAM Identity Center's "
                                                "AWSReservedSSO_ roles) or a user (arn:aws:iam::123456789012:user/name)"),
    ("SecurityGroupId", "is not a security group ID", "use one such as sg-0a1b2c3d4e5f60718"),
    ("UrlPath", "is not a URL path", "start it with '/' and use letters, digits and - . _ ~ ! $ & ' ( ) * + , ; = : "
                                     "@ / ? (a space is %20)"),
    ("RuntimeVersion", "is not a runtime version", "write the version CodeBuild names, in quotes, e.g. \"20\" or "
                                                   "\"3.12\""),
    ("RelativePath", "is not a path inside the repository", "use letters, digits and _ . / -, relative to the "
                                                            "repository root, e.g. api/Dockerfile"),
)

PATTERNS.setdefault(_pattern_of(NodeType), ("is not an ElastiCache node type",
                                            "use one such as cache.t4g.micro or cache.r7g.large"))

EXPECTED = {
    "int_type": "a whole number", "int_parsing": "a whole number", "int_from_float": "a whole number",
    "int_parsing_size": "a whole number", "float_type": "a number", "float_parsing": "a number",
    "bool_type": "true or false", "bool_parsing": "true or false", "string_type": "text",
    "list_type": "a list", "tuple_type": "a list", "set_type": "a list",
    "dict_type": "a mapping of keys", "model_type": "a mapping of keys", "model_attributes_type": "a mapping of keys",
}
MAPPINGS = {"dict_type", "model_type", "model_attributes_type"}
RANGE = {"greater_than_equal", "less_than_equal", "greater_than", "less_than"}


def problem(err: Mapping[str, Any], raw: dict) -> Problem:
    spot = _locate(tuple(err["loc"]), raw)
    kind = err["type"]
    value = err.get("input")
    ctx = err.get("ctx") or {}
    if kind in ("extra_forbidden", "invalid_key"):
        return Problem(spot.path, _unknown_key(err["loc"][-1], spot.holder))
    if err["loc"] and err["loc"][-1] == "[key]" and kind == "string_type":
        return Problem(spot.path, f"YAML read this name as {_yaml_kind(value)} ({shown(value)}); put it in quotes")
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
        return Problem(spot.path, f"{shown(value)} is too {'short' if short else 'long'}; use "
                                  f"{'at least' if short else 'at most'} {limit} characters")
    if kind in ("too_short", "too_long"):
        return Problem(spot.path, _wrong_length(value, ctx, spot.field))
    if kind == "string_type" and isinstance(value, (int, float)):
        return Problem(spot.path, f"{shown(value)} was read as {_yaml_kind(value)}, but text is expected; put it "
                                  f"in quotes so it stays exactly as written")
    if kind == "multiple_of":
        step = ctx.get("multiple_of")
        fix = f"use {value // step * step} or {value // step * step + step}" if isinstance(value, int) and \
            isinstance(step, int) and not isinstance(value, bool) else f"use a multiple of {step}"
        return Problem(spot.path, f"{shown(value)} is not a multiple of {step}; {fix}")
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return Problem(spot.path, _not_mapping(value, spot.annotation, spot.field))
    if kind in ("list_type", "tuple_type", "set_type"):
        return Problem(spot.path, _not_list(value, spot.annotation))
    if kind in ("int_type", "int_parsing") and isinstance(value, str) and YAML11_NUMBER.fullmatch(value):
        return Problem(spot.path, _yaml11_number(value))
    if kind == "bool_type" and isinstance(value, str) and YAML11_BOOL.fullmatch(value):
        return Problem(spot.path, f"expected true or false, got {shown(value)} (YAML 1.1 read yes/no/on/off as "
                                  "true/false; this spec does not guess); write true or false")
    if kind in EXPECTED:
        return Problem(spot.path, f"expected {EXPECTED[kind]}, got {shown(value)}{_about(spot.field)}")
    msg = str(err["msg"])
    if kind == "value_error":  # raised by our own validators, whose message already names the value and the fix
        return Problem(spot.path, msg[len("Value error, "):] if msg.startswith("Value error, ") else msg)
    msg = msg[len("Value error, "):] if msg.startswith("Value error, ") else msg
    if value is not None and not isinstance(value, (dict, list)):
        msg = f"{msg} (got {shown(value)})"
    return Problem(spot.path, f"{msg}{_about(spot.field)}")


def _yaml11_number(value: str) -> str:
    """A number in a form YAML 1.1 reads differently from what it shows ('010' is 8 there); this spec keeps it as text."""
    digits = value.lstrip("+-")
    if ":" in digits:
        why = "YAML 1.1 reads a:b as a number in base 60"
    elif digits[:2].lower() in ("0x", "0o", "0b"):
        why = "a hexadecimal, octal or binary number"
    elif digits.startswith("0") and len(digits) > 1:
        why = "YAML 1.1 reads a leading 0 as octal"
    else:
        why = "YAML 1.1 drops the '_' in numbers"
    plain = value.replace("_", "")
    guess = f" (did you mean {int(plain)}?)" if re.fullmatch(r"[-+]?[0-9]+", plain) else ""
    return f"{shown(value)} is not a plain whole number ({why}; this spec does not guess); write it in decimal " \
           f"digits{guess}"


def _yaml_kind(value: Any) -> str:
    return "true/false" if isinstance(value, bool) else "a number"


def shown(value: Any) -> str:
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


# Names people give data stores, by the AWS service (`redis` read as a typo of `registry` was misleading).
STORE_ALIASES = {
    "redis": "caches", "valkey": "caches", "elasticache": "caches", "cache": "caches", "memcached": "caches",
    "sqs": "queues", "queue": "queues", "dynamodb": "tables", "dynamo": "tables", "table": "tables",
    "s3": "buckets", "bucket": "buckets", "storage": "buckets", "efs": "file_systems", "volumes": "file_systems",
    "file_system": "file_systems", "filesystems": "file_systems", "nfs": "file_systems",
}


def _unknown_key(key: Any, model: type[BaseModel] | None) -> str:
    valid = list(model.model_fields) if model else []
    alias = STORE_ALIASES.get(str(key).lower())
    if alias in valid:
        return f"unknown key '{key}'; the data stores of that kind are a list under '{alias}' (docs/data-stores.md)"
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
    return f"{shown(value)} {what}; {fix}{hint}"


def _not_allowed(value: Any, expected: str, ann: Any) -> str:
    options = [a for a in typing.get_args(ann)] if typing.get_origin(ann) is typing.Literal else []
    close = difflib.get_close_matches(str(value), [str(o) for o in options], n=1, cutoff=0.6) if options else []
    hint = f" (did you mean '{close[0]}'?)" if close and isinstance(value, str) else ""
    choose = f"one of {expected}" if len(options) > 2 else expected
    if value is None:
        return f"is empty; use {choose}"
    return f"{shown(value)} is not allowed; use {choose}{hint}"


def _bad_cidr(value: Any) -> str:
    example = "e.g. 10.10.0.0/16"
    if not isinstance(value, str):
        return f"expected an IPv4 CIDR, got {shown(value)}; write it as address/prefix, {example}"
    try:
        net = ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        return f"{shown(value)} is not an IPv4 CIDR; write it as address/prefix, {example}"
    if net.version != 4:
        return f"{shown(value)} is an IPv6 network; use an IPv4 CIDR, {example}"
    return f"{shown(value)} has bits set after the /{net.prefixlen} prefix; use the network address {net}"


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
        return f"{shown(value)} is out of range; use a value {limit}"
    if low is not None and high is not None:
        return f"{shown(value)} is out of range; use a value from {low} to {high}"
    return f"{shown(value)} is out of range; use a value " + (f"of at least {low}" if low is not None
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
        return f"expected settings such as {listed}, got {shown(value)}; write them as `key: value` lines " \
               f"indented below it"
    if value is None:
        return f"is empty; add entries below it{remove}"
    return (f"expected a mapping, got {shown(value)}; write one `name:` line per entry with its settings "
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
        return f"expected a list, got {shown(value)}; write it as a list, e.g. {json.dumps(value.split())}"
    if isinstance(item, type) and issubclass(item, BaseModel):
        first = next(iter(item.model_fields), "key")
        return f"expected a list, got {shown(value)}; start each entry with `- {first}: ...`"
    return f"expected a list, got {shown(value)}; write it as [a, b] or one `- item` line per entry"
