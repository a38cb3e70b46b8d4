"""cfnlint.decode: a nested stack's template parsed once for both of its readers while its parent is linted."""
from __future__ import annotations

import hashlib
import os
from typing import Any


def share_nested_decodes(classes: list[type]) -> bool:
    """cfn-lint parses a nested stack's template twice while linting its parent (E3043 NestedStackParameters for its
    parameters, the GetAtt context, context._nested_stack_get_atts, for its outputs; a third of the root's lint time
    with 50 services), and both read only its Parameters and Outputs: they share one parse per template bytes,
    keeping only those two sections (a worker holds them for every nested template at once). E3043 calls the
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
            if isinstance(template, dict):
                template = {k: template[k] for k in ("Parameters", "Outputs") if k in template}
            parsed[key] = (template, matches)
        return parsed[key]

    decode.shared_decode = True   # type: ignore[attr-defined]
    cfnlint.decode.decode = decode
    for module in modules:
        module["decode"] = decode
    return True
