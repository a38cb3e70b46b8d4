"""cfnlint.helpers.load_resource while the lint helper builds its rules: the same data in less memory.

Every lint worker is forked from the helper and starts with the helper's resident set (about 137 MB after its setup
with cfn-lint 1.58.0), so what the helper keeps is in every worker's peak. Of it, about 50 MB were the JSON data files
the rules load when they are built (`load_resource`: 157 calls), and most of that was repeated text: the RDS instance
class schemas of E3025 and E3062 hold 192,865 strings in one file of which 405 differ (15 MB of objects for a 4.9 MB
file), and two IAM rules (W3037 Permissions, I3510 StatementResources) each load their own copy of the 2 MB
Policies.json (9 MB of objects each).

While `compact_rule_data()` is active, `load_resource` reads the same file the same way (importlib.resources, UTF-8,
`json.loads`), and
- each string value (of an object or a list, at any depth) is one object per distinct text for the whole setup, made
  as the parser builds each object, so the copies are freed at once and their memory is reused by the parse;
- a file whose every reader only reads it (`READ_ONLY_SHARED`: Policies.json, read by W3037 and I3510 by `in`,
  `[...]`, `.get`, `.keys()` alone, cfn-lint 1.58.0) is parsed once and the same object handed to each.

Why it is the same: a str is immutable, and equal texts compare, hash and print the same whichever object holds them
(nothing in cfn-lint asks whether two strings are the same object); the documents are equal to json.loads' (same
types, same key order: tests/test_lint_rule_data.py compares them for every file the rules load), and the findings
of every template and rule fixture are the same as cfn-lint's own (tests/test_lint_speedups.py).

When it ends, cfn-lint's own function is back in every module that held it; a rule module loaded from its file by
cfn-lint (not in `sys.modules`) keeps the replacement, which from then on only calls cfn-lint's. Another cfn-lint
version than CHECKED_CFN_LINT is left as it is.
"""
from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

# (package, file name) of the data files every one of whose readers in cfn-lint 1.58.0 only reads what it loaded
READ_ONLY_SHARED = frozenset({("cfnlint.data.AdditionalSpecs", "Policies.json")})


def compact_loads(text: str, texts: dict[str, str]) -> Any:
    """json.loads(text), each string value the one object `texts` holds for its text (added when new)."""

    def strings_of(items: list[Any]) -> None:
        for i, value in enumerate(items):
            if value.__class__ is str:
                items[i] = texts.setdefault(value, value)
            elif value.__class__ is list:
                strings_of(value)

    def strings_in(document: dict[str, Any]) -> dict[str, Any]:
        # called by the parser for each object once its members are built (innermost first): an object member is
        # done already, a list member (of strings, or of lists) is done here
        for key, value in document.items():
            if value.__class__ is str:
                document[key] = texts.setdefault(value, value)
            elif value.__class__ is list:
                strings_of(value)
        return document

    data = json.loads(text, object_hook=strings_in)
    if data.__class__ is list:
        strings_of(data)
    elif data.__class__ is str:
        data = texts.setdefault(data, data)
    return data


def _holding(function: Any) -> list[Any]:
    """The modules of sys.modules whose global `load_resource` is `function` (read from each module's namespace: no
    module's __getattr__ runs)."""
    return [module for module in list(sys.modules.values())
            if getattr(module, "__dict__", {}).get("load_resource") is function]


@contextmanager
def compact_rule_data() -> Iterator[None]:
    """`cfnlint.helpers.load_resource` loading compactly (module docstring) until the block ends."""
    import cfnlint.helpers
    from cfnlint.version import __version__

    from generator.lint.speedups import CHECKED_CFN_LINT

    original = cfnlint.helpers.load_resource
    if __version__ != CHECKED_CFN_LINT:
        yield
        return
    texts: dict[str, str] = {}
    shared: dict[tuple[str, str], Any] = {}
    active = [True]

    def load_resource(package, filename="us-east-1.json"):
        if not active[0]:
            return original(package, filename)
        key = (getattr(package, "__name__", str(package)), filename)
        if key in shared:
            return shared[key]
        # cfn-lint's load_resource reads the file so (cfnlint/helpers.py)
        data = compact_loads(cfnlint.helpers.pkg_resources.files(package).joinpath(filename)
                             .read_text(encoding="utf-8"), texts)
        if key in READ_ONLY_SHARED:
            shared[key] = data
        return data

    load_resource.__doc__ = original.__doc__
    for module in _holding(original):
        module.load_resource = load_resource
    try:
        yield
    finally:
        active[0] = False
        for module in _holding(load_resource):   # with the modules imported meanwhile
            module.load_resource = original
        texts.clear()
        shared.clear()
