"""What the speed-ups share: the classes of the rules the helper built, and whether a method is still cfn-lint's."""
from __future__ import annotations

import os
from typing import Any


def _rule_classes(rules: Any) -> list[type]:
    """The classes (with their bases) of every rule instance built, child rules included, each once."""
    seen: dict[int, Any] = {}
    todo = list(rules.values()) if hasattr(rules, "values") else list(rules)
    while todo:
        rule = todo.pop()
        if rule is None or id(rule) in seen:
            continue
        seen[id(rule)] = rule
        todo.extend(getattr(rule, "child_rules", {}).values())
    classes: dict[type, None] = {}
    for rule in seen.values():
        for cls in type(rule).__mro__:
            classes.setdefault(cls)
    return list(classes)


def _defined_in(function: Any, module_file: str, name: str) -> bool:
    """Whether `function` is cfn-lint's own `name` from cfnlint/<module_file> (not a replacement)."""
    code = getattr(function, "__code__", None)
    return (code is not None and code.co_name == name
            and code.co_filename.replace(os.sep, "/").endswith("cfnlint/" + module_file))
