"""cfnlint.decode: a nested stack's template parsed once for both of its readers while its parent is linted, and only
what they read of it kept."""
from __future__ import annotations

import hashlib
import os
from typing import Any


def share_nested_decodes(classes: list[type]) -> bool:
    """cfn-lint parses a nested stack's template twice while linting its parent (E3043 NestedStackParameters for its
    parameters, the GetAtt context, context._nested_stack_get_atts, for its outputs; a third of the root's lint time
    with 50 services): they share one parse per template bytes. A worker holds that for every nested template at
    once (the context reads them all when the parent's Template is built, E3043 later), so what is kept is only what
    the two readers read (`interface`): with the parsed Parameters and Outputs kept instead, the 54 nested templates
    of a 50-service root held 9.3 MB in the worker that lints it, the largest process of the build. E3043 calls the
    `decode` its module imported, a module loaded from its file: the patch replaces that name in the module of the
    rule instance, and `cfnlint.decode.decode`, which the context imports when it runs."""
    import cfnlint.decode

    real = cfnlint.decode.decode
    modules = [vars(cls)["_get_template_parameters"].__globals__ for cls in classes
               if "_get_template_parameters" in vars(cls) and getattr(cls, "id", "") == "E3043"]
    if getattr(real, "shared_decode", False) or not modules or any(m.get("decode") is not real for m in modules):
        return False
    parsed: dict[tuple[str, bytes], Any] = {}

    def decode(filename: str | None):
        try:
            with open(filename, "rb") as f:   # type: ignore[arg-type]
                key = (os.path.abspath(filename), hashlib.sha256(f.read()).digest())   # type: ignore[arg-type]
        except (OSError, TypeError):
            return real(filename)
        if key not in parsed:
            template, matches = real(filename)
            parsed[key] = (interface(template), matches)
        return parsed[key]

    decode.shared_decode = True   # type: ignore[attr-defined]
    decode.parsed = parsed        # type: ignore[attr-defined] - what a worker keeps (tests/test_lint_memory.py)
    cfnlint.decode.decode = decode
    for module in modules:
        module["decode"] = decode
    return True


def interface(template: Any) -> Any:
    """What cfn-lint CHECKED_CFN_LINT reads of a nested template, and nothing else of the parse (its nodes carry two
    marks each, several times the size of their text):

    - E3043 (`_get_template_parameters`, `_compare_objects`): `template.get("Parameters", {})`, then that mapping's
      keys, and for each of its own keys `.get(key, {}).get("Default") is None`;
    - the context (`_nested_stack_get_atts`): `template.get("Outputs")`, whether it is a mapping, and its keys, in
      order (it names them `Outputs.<name>`).

    So: the Parameters mapping with each parameter that is a mapping reduced to its Default (the same object) when it
    has one, any other parameter value as parsed (E3043's `.get` then fails as it did); the Outputs mapping with its
    keys only; either section that is not a mapping as parsed. Keys that are strings become plain strings (equal,
    same hash: the same set arithmetic, the same text in messages). A template that is not a mapping (None after a
    parse error) is returned as it is."""
    if not isinstance(template, dict):
        return template
    kept: dict[str, Any] = {}
    if "Parameters" in template:
        parameters = template["Parameters"]
        if isinstance(parameters, dict):
            parameters = {_plain(name): ({"Default": value["Default"]} if "Default" in value else {})
                          if isinstance(value, dict) else value for name, value in parameters.items()}
        kept["Parameters"] = parameters
    if "Outputs" in template:
        outputs = template["Outputs"]
        if isinstance(outputs, dict):
            outputs = dict.fromkeys(map(_plain, outputs))
        kept["Outputs"] = outputs
    return kept


def _plain(key: Any) -> Any:
    return str.__str__(key) if isinstance(key, str) else key
