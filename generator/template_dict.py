"""`Template.to_dict()` in one pass: the same dict (keys in the same order), with the same validation calls.

troposphere's `encode_to_dict(obj)` returns `encode_to_dict(obj.to_dict())`, and an object's `to_dict()` already
returns `encode_to_dict(self.resource)`: every level walks its whole subtree again, so a property nested n deep is
encoded n times (142,000 calls for the default app's 21 templates, a third of rendering them). `encode` is the same
recursion with the known `to_dict` methods inlined: a troposphere object is validated as its `to_dict()` does
(`_validate_props()` then `validate()`, unless built with `validation=False`) and its resource encoded once; a helper
function's data, `Tags`' list likewise. Anything else (a class that overrides `to_dict`, awacs' `JSONrepr`, a subclass
of dict or list) takes troposphere's own path. tests/test_template_dict.py compares the result with `to_dict()` on
every template of every app in the repository.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from troposphere import AWSHelperFn, BaseAWSObject, Tags, Template

_BASE = BaseAWSObject.to_dict
_HELPER = AWSHelperFn.to_dict
_TAGS = Tags.to_dict
_LEAVES = frozenset({str, int, float, bool, type(None)})
# Template.to_dict's sections in its order, each written when not empty (Resources always)
_SECTIONS = (("Description", "description"), ("Metadata", "metadata"), ("Conditions", "conditions"),
             ("Mappings", "mappings"), ("Outputs", "outputs"), ("Parameters", "parameters"),
             ("AWSTemplateFormatVersion", "version"), ("Transform", "transform"), ("Rules", "rules"),
             ("Globals", "globals"))


def _walker(mapping: Callable[[Any, Callable[[Any], Any]], dict], other: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """troposphere's `encode_to_dict` with the known `to_dict` methods inlined; `mapping(obj, walk)` builds each
    mapping's result, `other(obj)` answers a value it does not know (troposphere returns it as it is)."""

    def walk(obj: Any) -> Any:
        kind = type(obj)
        if kind in _LEAVES:
            return obj
        if kind is dict:
            return mapping(obj, walk)
        if kind is list or kind is tuple:
            return [walk(item) for item in obj]
        method = getattr(kind, "to_dict", None)
        if method is _HELPER:
            return walk(obj.data)
        if method is _BASE:   # BaseAWSObject.to_dict(validation=True), its result encoded
            if obj.do_validation:
                obj._validate_props()
                obj.validate()
            if obj.properties:
                return walk(obj.resource)
            if hasattr(obj, "resource_type"):
                return mapping({name: value for name, value in obj.resource.items() if name != "Properties"}, walk)
            return {}
        if method is _TAGS:
            return [walk(tag) for tag in obj.tags]
        # troposphere's encode_to_dict, step for step
        if hasattr(obj, "to_dict"):
            return walk(obj.to_dict())
        if isinstance(obj, (list, tuple)):
            return [walk(item) for item in obj]
        if isinstance(obj, dict):
            return mapping(obj, walk)
        if hasattr(obj, "JSONrepr"):
            return walk(obj.JSONrepr())
        return other(obj)

    return walk


encode = _walker(lambda obj, walk: {name: walk(value) for name, value in obj.items()}, lambda obj: obj)
encode.__doc__ = """troposphere's `encode_to_dict(obj)`."""


class NotPlain(Exception):
    """The template holds a value JSON would convert (a subclass of str or int, a key that is not a string, ...)."""


def plain(template: Template, types: frozenset[str] = frozenset()) -> tuple[dict[str, Any], bool]:
    """`json.loads(json.dumps(to_dict(template), sort_keys=True))` without the text: the same data, every mapping's
    keys sorted, in the same pass as the encoding; raises NotPlain where the round trip would convert a value (then
    the caller makes it). Also says whether some mapping has a "Type" among `types` (cfn-flip's literal parser
    changes only those: generator/template_yaml.py)."""
    seen: list[bool] = []

    def mapping(obj: Any, walk: Callable[[Any], Any]) -> dict:
        for name in obj:
            if type(name) is not str:
                raise NotPlain(f"a {type(name).__name__} key")
        out = {name: walk(obj[name]) for name in sorted(obj)}
        kind = out.get("Type")
        if type(kind) is str and kind in types:
            seen.append(True)
        return out

    def other(obj: Any) -> Any:
        raise NotPlain(f"a {type(obj).__name__} value")

    if type(template).to_dict is not Template.to_dict:
        raise NotPlain("a Template with its own to_dict")
    return _walker(mapping, other)(_sections(template)), bool(seen)


def to_dict(template: Template) -> dict[str, Any]:
    """`template.to_dict()`."""
    if type(template).to_dict is not Template.to_dict:
        return template.to_dict()
    return encode(_sections(template))


def _sections(template: Template) -> dict[str, Any]:
    t = {key: value for key, name in _SECTIONS if (value := getattr(template, name))}
    t["Resources"] = template.resources
    return t
