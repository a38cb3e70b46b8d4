"""cfnlint.context, cfnlint.jsonschema._filter and the Validator classes: `evolve` and `Path.descend` copy their
object without `dataclasses.fields()` and the constructor."""
from __future__ import annotations

from typing import Any


def fast_evolve(classes: list[type]) -> bool:
    """cfn-lint copies its Context, Path, FunctionFilter and Validator objects with `evolve` a few hundred thousand
    times per build, each through `dataclasses.fields()` and the dataclass constructor (a fifth of a template's lint
    time). The replacement builds the copy's attribute dictionary directly: every field the caller does not give
    is the same object the original passes to the constructor (`getattr(self, name)`), a field the constructor
    does not take (init=False) is the one the class's default factory gives (the same object for every instance of
    a Validator class; a copy of FunctionFilter.group_functions, never modified, is shared instead of copied),
    Context.ref_values is merged as the original merges it, and a cached property (Context.module_names) is not
    carried over. Anything else (an unknown argument, a subclass, a Validator whose __post_init__ would fill a
    None context or resolver) takes the original method. Path.descend, which appends to the paths, likewise
    (_path_descend)."""
    from dataclasses import fields

    import cfnlint.jsonschema.validators as validators
    from cfnlint.context import context
    from cfnlint.jsonschema._filter import FunctionFilter

    expected = {
        context.Path: ("path", "value_path", "cfn_path"),
        FunctionFilter: ("group_functions", "add_cfn_lint_keyword", "validate_dynamic_references"),
    }
    for cls, names in expected.items():
        if tuple(f.name for f in fields(cls)) != names or hasattr(cls, "__post_init__"):
            return False
    if hasattr(context.Context, "__post_init__") or not all(f.init for f in fields(context.Context)):
        return False

    context.Path.evolve = _direct_evolve(context.Path, context.Path.evolve)
    FunctionFilter.evolve = _direct_evolve(FunctionFilter, FunctionFilter.evolve)
    context.Context.evolve = _direct_evolve(context.Context, context.Context.evolve, merged="ref_values")
    context.Path.descend = _path_descend(context.Path)
    for value in list(vars(validators).values()):
        if isinstance(value, type) and value.__name__ == "Validator" and hasattr(value, "extend"):
            _validator_evolve(value)
    real_create = validators.create

    def create(*args, **kwargs):
        cls = real_create(*args, **kwargs)
        _validator_evolve(cls)
        return cls

    create.real = real_create   # type: ignore[attr-defined]
    validators.create = create   # what Validator.extend calls
    return True


def _direct_evolve(cls: type, real: Any, merged: str = "", not_none: tuple[str, ...] = ()) -> Any:
    """`real` (cls.evolve) without the constructor: the copy's attributes are the original's fields, those given
    replacing them (`merged`: a dictionary merged into the original's, as Context.evolve does with ref_values); a
    copy that would hold None in a `not_none` field (which __post_init__ fills) goes through `real`."""
    from dataclasses import fields

    names = tuple(f.name for f in fields(cls))
    count = len(names)
    allowed = frozenset(f.name for f in fields(cls) if f.init)
    new_object = object.__new__
    set_attribute = object.__setattr__

    def evolve(self, **kwargs):
        if self.__class__ is not cls or not allowed.issuperset(kwargs):
            return real(self, **kwargs)
        own = self.__dict__
        state = own.copy() if len(own) == count else {name: own[name] for name in names}
        if merged and merged in kwargs:
            value = own[merged].copy()
            value.update(kwargs[merged])
            kwargs[merged] = value
        state.update(kwargs)
        for name in not_none:
            if state[name] is None:
                return real(self, **kwargs)
        new = new_object(cls)
        set_attribute(new, "__dict__", state)   # frozen classes too
        return new

    evolve.__doc__ = real.__doc__
    evolve.real = real   # type: ignore[attr-defined]
    return evolve


def _validator_evolve(cls: type) -> None:
    """A Validator class made by cfnlint.jsonschema.validators.create: its __post_init__ fills a None context or
    resolver, so a copy that would hold one goes through the constructor."""
    if getattr(cls.evolve, "real", None) is None:
        cls.evolve = _direct_evolve(cls, cls.evolve, not_none=("context", "resolver"))


def _path_descend(cls: type) -> Any:
    """Path.descend appends each given (not None) part to a copy of its path (a new deque), as the original does
    through `dataclasses.fields()` and the constructor; a refused `cfn_path` (a function name, an integer) or an
    unknown argument goes to the original, which raises."""
    from collections import deque

    from cfnlint.helpers import FUNCTIONS

    real = cls.descend
    new_object = object.__new__
    set_attribute = object.__setattr__

    def descend(self, **kwargs):
        if self.__class__ is not cls or not _PATH_PARTS.issuperset(kwargs):
            return real(self, **kwargs)
        cfn_path = kwargs.get("cfn_path")
        if cfn_path in FUNCTIONS or isinstance(cfn_path, int):
            return real(self, **kwargs)
        own = self.__dict__
        path, value_path = kwargs.get("path"), kwargs.get("value_path")
        state = {"path": own["path"] if path is None else own["path"] + deque([path]),
                 "value_path": own["value_path"] if value_path is None else own["value_path"] + deque([value_path]),
                 "cfn_path": own["cfn_path"] if cfn_path is None else own["cfn_path"] + deque([cfn_path])}
        new = new_object(cls)
        set_attribute(new, "__dict__", state)
        return new

    descend.__doc__ = real.__doc__
    descend.real = real   # type: ignore[attr-defined]
    return descend


_PATH_PARTS = frozenset(("path", "value_path", "cfn_path"))
