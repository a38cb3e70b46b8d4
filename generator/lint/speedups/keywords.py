"""cfnlint.jsonschema._keywords: the JSON-schema keyword functions every Validator class maps its keywords to."""
from __future__ import annotations

import os


def enum(validator, enums, instance, schema):
    # The code of cfnlint.jsonschema._keywords.enum after this patch (it runs with that module's globals: only
    # builtins and the names the original uses; `type` there is the keyword function). A string found in a list or
    # tuple of enums by `list.index` (C equality, which for two strings of str's own __eq__ is equality of their
    # text) is equal to that element in cfn-lint's `equal` too: for two strings of the same text it compares str()
    # of both, or, when either is "true"/"false", bool_compare of both, the same boolean either side; and a string
    # instance never takes the original's `instance in (0, 1)` branch. So that case yields nothing, as the
    # original's all(not equal(...)) does. Anything else (not found, another type, a string class that redefines
    # __eq__, __str__ or lower) runs the original's statements below, unchanged.
    if isinstance(instance, str) and enums.__class__ in (list, tuple):
        kind = instance.__class__
        if kind is str or (kind.__eq__ is str.__eq__ and kind.__str__ is str.__str__ and kind.lower is str.lower):
            try:
                found = enums[enums.index(instance)]
            except ValueError:
                found = None
            if isinstance(found, str):
                kind = found.__class__
                if kind is str or (kind.__eq__ is str.__eq__ and kind.__str__ is str.__str__
                                   and kind.lower is str.lower):
                    return
    if instance in (0, 1):
        unbooled = unbool(instance)  # noqa: F821 - cfnlint.jsonschema._keywords's global
        if all(not (equal(unbooled, unbool(each))) for each in enums):  # noqa: F821
            yield ValidationError(f"{instance!r} is not one of {enums!r}")  # noqa: F821
    else:
        if all(not (equal(instance, each)) for each in enums):  # noqa: F821
            yield ValidationError(f"{instance!r} is not one of {enums!r}")  # noqa: F821


def found_enum(classes: list[type]) -> bool:
    """The `enum` keyword (cfnlint.jsonschema._keywords.enum) compares the instance with each allowed value through
    cfn-lint's `equal`, a Python function of several isinstance checks, even when the value is there: for every
    Ref's name that is the list of every parameter, resource and pseudo parameter of the template
    (dynamicValidation's `refs`; 250 names in the 50-service root). A string present in the list is found by
    `list.index` in C instead, and anything else takes the original statements (the function `enum` above says why
    that is the same verdict). The function object stays cfn-lint's (its code is replaced), so every holder of it
    runs the new code: the Validator classes' keyword tables, E3030's and E2015's rule modules (`from
    cfnlint.jsonschema._keywords import enum`, loaded from their files)."""
    import cfnlint.jsonschema._keywords as module

    original = module.enum
    code = original.__code__
    if (code.co_name != "enum" or not code.co_filename.replace(os.sep, "/").endswith("cfnlint/jsonschema/_keywords.py")
            or code.co_freevars or original.__defaults__ or any(
                not hasattr(module, name) for name in ("equal", "unbool", "ValidationError"))
            or any(name in vars(module) for name in ("isinstance", "str", "list", "tuple", "ValueError", "all"))):
        return False
    original.__code__ = enum.__code__
    return True
