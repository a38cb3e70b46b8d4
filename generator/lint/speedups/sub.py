"""cfnlint.rules.functions.Sub (E1019): the check of each `${Name}` of an Fn::Sub string, which validates a whole
`{"Ref": "Name"}` (E1020's `ref`: the name against other/functions/ref.json through if/then/else, cfnContext and
dynamicValidation with an enum of every parameter, resource and pseudo parameter, then the parameter's type and
E1020's child rules) for every variable of every Sub, every time the Sub is validated: 4,213 such descents for
the default app's 21 templates over 23 distinct names (`${AWS::Partition}`, `${AWS::AccountId}`, `${Application}`
...), 12-15 % of its lint CPU."""
from __future__ import annotations

from typing import Any

from generator.lint.speedups._support import _defined_in

# The fields of cfnlint.context.Context as read in CHECKED_CFN_LINT, each with how it enters the key of a variable's
# check: "value" (its value: booleans, None; a list or set as a tuple or frozenset, so that even a list changed in
# place could not give a stale answer), "same" (the object itself, held while it is a key: parameters, resources,
# conditions, mappings, transforms, parameter sets and ref_values, which cfn-lint builds whole before a Context takes
# them and never writes to afterwards: Context.evolve merges ref_values into a new dictionary), "path" (below).
_CONTEXT_FIELDS = {
    "regions": "value", "functions": "value", "path": "path", "parameters": "same", "resources": "same",
    "conditions": "same", "mappings": "same", "strict_types": "value", "unresolvable_function_mode": "value",
    "pseudo_parameters": "value", "ref_values": "same", "transforms": "same", "is_resolved_value": "value",
    "resolve_pseudo_parameters": "value", "parameter_sets": "same", "is_resolved_from_parameters": "value",
    "allow_exceptions": "value",
}
# The fields of a Validator class: in the key are the keyword table, the function resolvers, the checkers, the
# template, the context and the bound of resolved values (an int); `schema` is replaced by the check's own, and the resolver is never read (ref.json gets
# one of its own in BaseFn.validator; `{"type": ["string"]}` holds no `$ref`).
_VALIDATOR_FIELDS = ("_type_checker", "format_checker", "schema", "validators", "resolver", "function_filter", "cfn",
                     "context", "fn_resolvers", "_RESOLVE_MAX_YIELDS")
_KEPT = 4096   # keys remembered for one template at most (the default app's largest needs about 300)
# The kept keys of the template being linted, and that template (lean_sub's check reads and resets them; forget()
# drops them when the template's lint ends: generator/lint/zygote.py)
_STATE: dict[str, Any] = {"cfn": None, "kept": {}}


def forget() -> None:
    """Drop the kept keys and the template they belong to, once its lint has ended. Without this they stayed alive
    until the next template's first Sub check, i.e. through the next template's parse and graph: 3.4 MB more at the
    50-service app's lint worker peak (docs/performance.md). Only a cache is emptied: the next check runs cfn-lint's
    own descent, as for any key not kept."""
    _STATE["cfn"], _STATE["kept"] = None, {}


def lean_sub(classes: list[type]) -> bool:
    """Sub._validate_string as cfn-lint writes it, statement for statement, with two differences:

    - the `${...}` variables of a string (`regex.findall(REGEX_SUB_PARAMETERS, s)`, a pure function of its text)
      found once per text (str and cfn-lint's str_node, which compare and hash as str; anything else is searched);
    - a variable checked as `{"Ref": name}` whose check yielded no error is not checked again within the same
      template under the same key: the name, the validator's class and keyword table (which `ref` runs, with its
      rule's child rules), its resolvers of functions, type and format checkers, the template, the function filter's settings, every field of the Context (see
      _CONTEXT_FIELDS) and, of its path, what the check reads: the generic `cfn_path` (E1020's child rules run by
      it: E1041, W1011, W2506), and the first and third elements of the path with its length up to 3 (W2010,
      NoEcho, reads path[0] and path[2]). Why the rest of the path cannot change the verdict: the check descends
      `{"Ref": name}` at the path the Sub descended to (ending in "Fn::Sub"), then `name` at that path plus "Ref",
      and every filter on the way reads the path only to ask whether its last element is "Fn::If" (it is
      "Fn::Sub" or "Ref"), whether "Ref" is in it (it is, for the string), or, for a string holding `{{`, whether
      it is inside a function (such a name is never kept); W1011 and W2506 return at once inside a function
      ("Fn::Sub" is in the path); an error's path is the only other reader, and only a check with no error is
      kept. Nothing else the check reads varies: the schemas (ref.json, `{"type": ["string"]}`) are fixed, the
      resolver of the Sub's validator is never read (ref.json gets its own), and what the check writes is only
      cfn-lint's and these speed-ups' caches. A check that yielded an error, raised, or was not run to its end is
      never kept, so every error is made again by cfn-lint's own code, in the same order.

    The kept keys are held (the objects in them alive, so no id is reused) and dropped when a new template starts.
    The `Fn::GetAtt` variables (`${Res.Attr}`) take cfn-lint's path every time."""
    from dataclasses import fields

    import cfnlint.jsonschema.validators as validators
    import regex
    from cfnlint.context import context
    from cfnlint.decode.node import str_node
    from cfnlint.helpers import REGEX_SUB_PARAMETERS
    from cfnlint.jsonschema._filter import FunctionFilter

    subs = [cls for cls in classes if cls.__name__ == "Sub" and "_validate_string" in vars(cls)
            and _defined_in(vars(cls)["_validate_string"], "rules/functions/Sub.py", "_validate_string")]
    if not subs:
        return False
    original = vars(subs[0])["_validate_string"]
    module_globals = original.__globals__
    if (module_globals.get("re") is not regex or module_globals.get("REGEX_SUB_PARAMETERS") is not REGEX_SUB_PARAMETERS
            or {f.name: f.init for f in fields(context.Context)} != dict.fromkeys(_CONTEXT_FIELDS, True)
            or tuple(f.name for f in fields(context.Path)) != ("path", "value_path", "cfn_path")
            or tuple(f.name for f in fields(FunctionFilter)) != ("group_functions", "add_cfn_lint_keyword",
                                                                "validate_dynamic_references")
            or tuple(f.name for f in fields(validators.CfnTemplateValidator)) != _VALIDATOR_FIELDS
            or str_node.__eq__ is not str.__eq__ or str_node.__hash__ is not str.__hash__):
        return False

    by_value = tuple(name for name, how in _CONTEXT_FIELDS.items() if how == "value")
    by_object = tuple(name for name, how in _CONTEXT_FIELDS.items() if how == "same")
    found_in: dict[str, tuple[str, ...]] = {}
    state = _STATE

    def variables(instance: Any) -> Any:
        if instance.__class__ is not str and instance.__class__ is not str_node:
            return regex.findall(REGEX_SUB_PARAMETERS, instance)
        params = found_in.get(instance)
        if params is None:
            if len(found_in) >= _KEPT:
                found_in.clear()
            params = found_in[instance] = tuple(regex.findall(REGEX_SUB_PARAMETERS, instance))
        return params

    def ref_key(validator: Any, name: str) -> tuple[Any, ...] | None:
        if "{{" in name:
            return None
        ctx = validator.context
        function_filter = validator.function_filter
        path = ctx.path
        where = path.path
        # the keyword table, resolvers of functions and type and format checkers (init=False fields: the class's, but
        # an instance may be given its own), the template, then the Context's objects
        held = [validator.validators, validator.fn_resolvers, validator._type_checker, validator.format_checker,
                validator.cfn, *[getattr(ctx, f) for f in by_object]]
        key = (name, validator.__class__, validator._RESOLVE_MAX_YIELDS, function_filter.__class__,
               function_filter.add_cfn_lint_keyword, function_filter.validate_dynamic_references,
               tuple(function_filter.group_functions), path.__class__, tuple(path.cfn_path),
               min(len(where), 3), where[0] if where else None, where[2] if len(where) > 2 else None,
               *(_value(getattr(ctx, f)) for f in by_value), *map(id, held))
        try:
            hash(key)
        except TypeError:   # a field of an unforeseen kind: the check runs as cfn-lint's
            return None
        return key, held

    def _validate_string(self, validator, key, instance, sub_values):
        params = variables(instance)
        validator = validator.evolve(
            context=validator.context.evolve(
                path=validator.context.path.descend(
                    path=key,
                ),
                strict_types=True,
            ),
            function_filter=validator.function_filter.evolve(
                add_cfn_lint_keyword=False,
            ),
        )
        for param in params:
            param = param.strip()
            if "." in param:
                if self._is_sam_stage_ref(param, validator):
                    continue
                for err in validator.descend(
                    instance={"Fn::GetAtt": param},
                    schema={"type": ["string"]},
                ):
                    yield self._clean_error_sub(err, {"Fn::GetAtt": param}, param)
            else:
                if param not in sub_values:
                    if state["cfn"] is not validator.cfn:
                        state["cfn"], state["kept"] = validator.cfn, {}
                    kept = state["kept"]
                    keyed = ref_key(validator, param)
                    if keyed is not None and keyed[0] in kept:
                        continue
                    clean = True
                    for err in validator.descend(
                        instance={"Ref": param},
                        schema={"type": ["string"]},
                    ):
                        clean = False
                        yield self._clean_error_sub(err, {"Ref": param}, param)
                    if clean and keyed is not None and len(kept) < _KEPT:
                        kept[keyed[0]] = (validator.cfn, keyed[1])

    _validate_string.__doc__ = original.__doc__
    _validate_string.real = original   # type: ignore[attr-defined]
    for cls in subs:
        cls._validate_string = _validate_string
    return True


def _value(value: Any) -> Any:
    """A context field by value: a list as a tuple, a set as a frozenset, anything else (booleans, None) as it is."""
    if value.__class__ is list:
        return tuple(value)
    if isinstance(value, (set, frozenset)):
        return frozenset(value)
    return value
