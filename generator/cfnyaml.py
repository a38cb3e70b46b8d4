"""CloudFormation YAML in and out: short-form tags (`!Ref`, `!GetAtt a.b`) become long form on load.

Packaged templates are written in long form (`Fn::GetAtt: [a, b]`), which CloudFormation reads exactly like the
short form. Timestamps are not resolved (`2010-09-09` stays a string), so a round trip keeps every value's type.
"""
from __future__ import annotations

from typing import Any

import yaml


# libyaml's parser when PyYAML was built with it (about 10x faster on our templates), else the pure-Python one.
_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):  # type: ignore[valid-type, misc]
    """A safe loader plus CloudFormation tags; dates stay strings."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _tag(loader: _Loader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else ("Condition" if suffix == "Condition" else f"Fn::{suffix}")
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_Loader.add_multi_constructor("!", _tag)


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def loads(text: str) -> dict[str, Any]:
    """A template (YAML or JSON) as plain data; raises ValueError if it is not a mapping."""
    data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    if not isinstance(data, dict):
        raise ValueError("not a CloudFormation template (expected a mapping at the top)")
    return data


def dumps(data: dict[str, Any], header: str = "") -> str:
    """Deterministic long-form YAML (key order kept as loaded)."""
    return header + yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=120,
                              allow_unicode=True)
