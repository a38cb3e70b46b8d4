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


def encode(obj: Any) -> Any:
    """troposphere's `encode_to_dict(obj)`."""
    kind = type(obj)
    if kind in _LEAVES:
        return obj
    if kind is dict:
        return {name: encode(value) for name, value in obj.items()}
    if kind is list or kind is tuple:
        return [encode(item) for item in obj]
    method = getattr(kind, "to_dict", None)
    if method is _HELPER:
        return encode(obj.data)
    if method is _BASE:   # BaseAWSObject.to_dict(validation=True), its result encoded
        if obj.do_validation:
            obj._validate_props()
            obj.validate()
        if obj.properties:
            return encode(obj.resource)
        if hasattr(obj, "resource_type"):
            return {name: encode(value) for name, value in obj.resource.items() if name != "Properties"}
        return {}
    if method is _TAGS:
        return [encode(tag) for tag in obj.tags]
    # troposphere's encode_to_dict, step for step
    if hasattr(obj, "to_dict"):
        return encode(obj.to_dict())
    if isinstance(obj, (list, tuple)):
        return [encode(item) for item in obj]
    if isinstance(obj, dict):
        return {name: encode(value) for name, value in obj.items()}
    if hasattr(obj, "JSONrepr"):
        return encode(obj.JSONrepr())
    return obj


def to_dict(template: Template) -> dict[str, Any]:
    """`template.to_dict()`."""
    if type(template).to_dict is not Template.to_dict:
        return template.to_dict()
    t = {key: value for key, name in _SECTIONS if (value := getattr(template, name))}
    t["Resources"] = template.resources
    return encode(t)
