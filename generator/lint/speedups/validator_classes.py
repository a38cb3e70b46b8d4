"""cfnlint.jsonschema.validators.create: one Validator class per set of arguments."""
from __future__ import annotations

from typing import Any


def memoize_validator_classes(classes: list[type]) -> bool:
    """Every schema rule extends its validator per validated value (BaseJsonSchema.extend_validator ->
    Validator.extend -> validators.create), and each call of `create` makes a new dataclass (dataclasses'
    _process_class and exec of its methods: 7-8 % of lint CPU). A class depends only on its three arguments, which it
    keeps and hands to every instance: the same arguments (equal validator functions, each the same function or
    the same rule's bound method; an equal FunctionFilter; equal function resolvers) give back the class made the
    first time. Nothing in cfn-lint modifies those arguments or a class after `create` (read in CHECKED_CFN_LINT).
    Arguments that cannot be compared this way (not hashable, another filter class) make a new class, as before."""
    from dataclasses import fields

    import cfnlint.jsonschema.validators as validators
    from cfnlint.jsonschema._filter import FunctionFilter

    filter_fields = tuple(f.name for f in fields(FunctionFilter))
    if filter_fields != ("group_functions", "add_cfn_lint_keyword", "validate_dynamic_references"):
        return False
    inner = validators.create
    if getattr(inner, "memoized", False):
        return False
    made: dict[Any, type] = {}

    def create(validators=None, function_filter=None, fn_resolvers=None):
        try:
            if function_filter is None:
                filter_key: Any = None
            elif function_filter.__class__ is FunctionFilter:
                filter_key = (function_filter.add_cfn_lint_keyword, function_filter.validate_dynamic_references,
                              tuple(function_filter.group_functions))
            else:
                raise TypeError("another filter class")
            key = (tuple(validators.items()) if validators else (), filter_key,
                   tuple(fn_resolvers.items()) if fn_resolvers else ())
            cls = made.get(key)
        except TypeError:
            return inner(validators=validators, function_filter=function_filter, fn_resolvers=fn_resolvers)
        if cls is None:
            cls = made[key] = inner(validators=validators, function_filter=function_filter,
                                    fn_resolvers=fn_resolvers)
        return cls

    create.memoized = True   # type: ignore[attr-defined]
    create.real = inner   # type: ignore[attr-defined]
    validators.create = create
    return True
