"""cfnlint.context.context.Context.module_names: computed once per resources dictionary instead of once per
Context copy."""
from __future__ import annotations

from typing import Any

from generator.lint.speedups._support import _defined_in

_KEPT = 64   # resources dictionaries remembered at once (a template has a few; an empty one is never kept)


def keep_module_names(classes: list[type]) -> bool:
    """Context.module_names, a cached property (the logical ids of the MODULE and AWS::Serverless resources of
    `self.resources`), is a function of the context's `resources` dictionary alone, but every Context copy (and
    cfn-lint copies them on nearly every step) computed it again, walking every resource of the template
    (dynamicValidation asks for it on each Ref, GetAtt resolution too: 726 computations over 3 dictionaries for a
    root and a service template; 1 % of the 50-service app's lint CPU). The replacement keeps the value per
    dictionary (by identity, the dictionary itself held so that its id is not reused; at most _KEPT at once, an
    empty one never) and computes it with cfn-lint's own function on a dictionary not seen. What proves it: cfn-lint
    builds a context's resources dictionary and each Resource's `type` completely before the Context is made
    (context.create_context_for_template: _init_resources, then the SAM injections; Resource.type is set in
    Resource.__post_init__ only; a rule's or cfnContext's other `resources` are new dictionaries, `{}`) and never
    writes to them afterwards (read in CHECKED_CFN_LINT: no other assignment to a resources dictionary or a
    Resource's type anywhere in cfnlint; the project's rules never touch a context's resources)."""
    from functools import cached_property

    from cfnlint.context import context

    current = vars(context.Context).get("module_names")
    if not isinstance(current, cached_property) or not _defined_in(current.func, "context/context.py",
                                                                   "module_names"):
        return False
    compute = current.func
    kept: dict[int, tuple[Any, tuple[str, ...]]] = {}

    def module_names(self) -> tuple[str, ...]:
        resources = self.resources
        found = kept.get(id(resources))
        if found is not None and found[0] is resources:
            return found[1]
        value = compute(self)
        if isinstance(resources, dict) and resources:
            if len(kept) >= _KEPT:
                kept.clear()
            kept[id(resources)] = (resources, value)
        return value

    module_names.__doc__ = compute.__doc__
    module_names.real = compute   # type: ignore[attr-defined]
    replacement = cached_property(module_names)
    replacement.__set_name__(context.Context, "module_names")
    context.Context.module_names = replacement
    return True
