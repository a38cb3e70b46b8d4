"""cfnlint.jsonschema.validators: the Validator's own walk (`descend`, `is_type`), run for every value and keyword of
every schema cfn-lint validates, IAM policy documents included."""
from __future__ import annotations

from dataclasses import fields
from typing import Any

from generator.lint.speedups._support import _defined_in

# The fields of a Validator class made by cfnlint.jsonschema.validators.create (CHECKED_CFN_LINT), in order
_VALIDATOR_FIELDS = ("_type_checker", "format_checker", "schema", "validators", "resolver", "function_filter", "cfn",
                     "context", "fn_resolvers", "_RESOLVE_MAX_YIELDS")
_METHODS = ("descend", "is_type")


def lean_schema_walk(classes: list[type]) -> bool:
    """Every Validator class (those cfn-lint made at import and every one `create` makes afterwards) gets:

    - `descend(instance, schema, path, schema_path, property_path)`: the original makes three copies through three
      calls with keyword arguments, `self.evolve(schema=..., context=self.context.evolve(path=self.context.path
      .descend(path=..., cfn_path=...)))` (fast_evolve's direct copies: 12 % of the default app's lint CPU with the
      descend itself, the commonest caller of all three). The replacement makes the same three objects with the
      same attribute dictionaries in one call: the Path's with each given part appended to a copy of its deque (as
      _path_descend), the Context's a copy of its own fields with the new path (as _direct_evolve: a cached
      property such as module_names not carried over), the Validator's a copy with the new schema and context. It
      runs lazily as the original generator does (nothing before the first `next`), appends `path` and
      `schema_path` to each error as the original does, and goes to the original descend for anything that is
      not as read: another Context or Path class, a `property_path` Path.descend refuses (a function name, an
      integer: the original raises), a copy that would hold a None resolver (__post_init__ fills it), a Validator
      holding an attribute besides its fields (one could shadow `evolve` or `iter_errors`), or a Validator whose
      `evolve` is not fast_evolve's direct copy of this class.
    - `is_type(instance, type)`: through the validator's TypeChecker (`TypeChecker.is_type`, then the checker
      function of the type: two calls more); with cfn-lint's own checker (`cfn_type_checker`, the only one a
      Validator class makes: `_type_checker` is init=False) and the function the checker's table holds for the type
      at the time of the call being cfn-lint's own (is_array, is_bool, is_object, is_null, is_string), the same
      isinstance test inline. Any other type ("number", "integer", "date") or a replaced table entry goes to the
      original, which also raises UnknownType for a type the table does not hold."""
    import cfnlint.jsonschema._types as types
    import cfnlint.jsonschema.validators as validators
    from cfnlint.context import context
    from cfnlint.helpers import FUNCTIONS

    checker = types.cfn_type_checker
    table = checker.type_checkers   # read again on each call (the checker is frozen; its table is not)
    kept_checkers = {"array": types.is_array, "boolean": types.is_bool, "object": types.is_object,
                     "null": types.is_null, "string": types.is_string}
    if (any(table.get(name) is not fn for name, fn in kept_checkers.items())
            or tuple(f.name for f in fields(context.Path)) != ("path", "value_path", "cfn_path")
            or getattr(validators.create, "real", None) is None):   # fast_evolve applied first
        return False
    is_array, is_bool, is_object, is_null, is_string = kept_checkers.values()
    Context, Path = context.Context, context.Path
    context_names = tuple(f.name for f in fields(Context))
    context_count = len(context_names)
    validator_count = len(_VALIDATOR_FIELDS)
    # what the inlined copies replace: fast_evolve's direct Context.evolve (nothing merged when only the path is
    # given) and Path.descend, each made for the class itself
    if ("path" not in context_names or _closure(Context.evolve, "_direct_evolve.<locals>.evolve").get("cls")
            is not Context or _closure(Path.descend, "_path_descend.<locals>.descend").get("cls") is not Path):
        return False
    new_object = object.__new__
    set_attribute = object.__setattr__
    fused: dict[type, tuple[Any, Any, Any]] = {}   # class -> its original descend and is_type, its direct evolve

    def descend(self, instance, schema, path=None, schema_path=None, property_path=None):
        cls = self.__class__
        own = self.__dict__
        current = own.get("context")
        old_path = current.__dict__.get("path") if current.__class__ is Context else None
        entry = fused[cls]
        if (old_path.__class__ is not Path or cls.evolve is not entry[2] or own.get("resolver") is None
                or len(own) != validator_count or property_path in FUNCTIONS or isinstance(property_path, int)):
            yield from entry[0](self, instance, schema, path, schema_path, property_path)
            return
        parts = old_path.__dict__
        # `old + deque([part])` (Path.descend's) is deque_copy of old, then extend: copy() and append() are those
        path_state = {"path": parts["path"], "value_path": parts["value_path"], "cfn_path": parts["cfn_path"]}
        if path is not None:
            path_state["path"] = appended = path_state["path"].copy()
            appended.append(path)
        if property_path is not None:
            path_state["cfn_path"] = appended = path_state["cfn_path"].copy()
            appended.append(property_path)
        new_path = new_object(Path)
        set_attribute(new_path, "__dict__", path_state)
        context_own = current.__dict__
        context_state = (context_own.copy() if len(context_own) == context_count
                         else {name: context_own[name] for name in context_names})
        context_state["path"] = new_path
        new_context = new_object(Context)
        set_attribute(new_context, "__dict__", context_state)
        state = own.copy()   # its fields only (counted above): nothing of the instance's own shadows a method
        state["schema"] = schema
        state["context"] = new_context
        new = new_object(cls)
        set_attribute(new, "__dict__", state)
        for error in new.iter_errors(instance):
            if path is not None:
                error.path.appendleft(path)
            if schema_path is not None:
                error.schema_path.appendleft(schema_path)
            yield error

    def is_type(self, instance, type):
        if self._type_checker is checker:
            found = checker.type_checkers.get(type)
            if found is is_object:
                return isinstance(instance, dict)
            if found is is_string:
                return isinstance(instance, str)
            if found is is_array:
                return isinstance(instance, list)
            if found is is_bool:
                return isinstance(instance, bool)
            if found is is_null:
                return instance is None
        return fused[self.__class__][1](self, instance, type)

    def fuse(cls: type) -> None:
        if cls in fused:
            return
        own = vars(cls)
        evolve = own.get("evolve")
        made_with = _closure(evolve, "_direct_evolve.<locals>.evolve")
        if (tuple(f.name for f in fields(cls)) != _VALIDATOR_FIELDS
                or not all(_defined_in(own.get(name), "jsonschema/validators.py", name) for name in _METHODS)
                or made_with.get("cls") is not cls or made_with.get("merged") != ""
                or made_with.get("not_none") != ("context", "resolver")):
            return
        fused[cls] = (own["descend"], own["is_type"], evolve)
        cls.descend, cls.is_type = descend, is_type

    for value in list(vars(validators).values()):
        if isinstance(value, type) and value.__name__ == "Validator" and hasattr(value, "extend"):
            fuse(value)
    real_create = validators.create

    def create(*args, **kwargs):
        cls = real_create(*args, **kwargs)
        if cls not in fused:
            fuse(cls)
        return cls

    create.real = real_create   # type: ignore[attr-defined]
    create.memoized = getattr(real_create, "memoized", False)   # type: ignore[attr-defined]
    descend.fused, is_type.fused = fused, fused   # type: ignore[attr-defined]
    validators.create = create
    return True


def _closure(function: Any, qualname: str) -> dict[str, Any]:
    """The variables `function`, one of the speed-ups' replacements named `qualname`, was made with ({} for any
    other function)."""
    code = getattr(function, "__code__", None)
    if code is None or code.co_qualname != qualname or getattr(function, "real", None) is None:
        return {}
    return {name: cell.cell_contents for name, cell in zip(code.co_freevars, function.__closure__ or ())}
