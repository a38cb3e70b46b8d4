"""cfnlint.rules.functions (E1020, `Ref`): every `{"Ref": name}` met while validating a template (and every `${name}`
of an Fn::Sub, which E1019 validates as a Ref) validates its name against `other/functions/ref.json`, a descent of
a dozen validator copies through `if` (a transform check), `then`/`else`, `cfnContext` and `dynamicValidation`, whose
only possible errors say that the name is not among the template's parameters, resources and pseudo parameters or
not a string: 12-13 % of lint CPU for names that are there (py-spy, default app)."""
from __future__ import annotations

import os
from typing import Any

# other/functions/ref.json as cfn-lint 1.58.0 ships it: the reasoning in known_ref_names holds for this schema only
# (the rule's schema is compared with it before the shortcut is taken).
_REF_SCHEMA = {
    "else": {"cfnContext": {"functions": [], "schema": {"dynamicValidation": {"context": "refs"},
                                                        "type": ["string"]}}},
    "if": {"dynamicValidation": {"transformCheck": "AWS::LanguageExtensions"}},
    "then": {"cfnContext": {"functions": ["Ref", "Fn::Base64", "Fn::FindInMap", "Fn::If", "Fn::Join", "Fn::Sub",
                                          "Fn::ToJsonString"],
                            "schema": {"dynamicValidation": {"context": "refs"}, "type": ["string"]}}},
}


def _code_of(function: Any) -> Any:
    """The code a keyword table's entry runs: a function's, or a rule's bound method's function's."""
    return getattr(getattr(function, "__func__", function), "__code__", None)


def _is_standard_str(value: Any) -> bool:
    """A str (or a subclass such as cfn-lint's str_node) whose equality, str() and lower() are str's own."""
    kind = value.__class__
    return kind is str or (isinstance(value, str) and kind.__eq__ is str.__eq__ and kind.__str__ is str.__str__
                           and kind.lower is str.lower)


def known_ref_names(classes: list[type]) -> bool:
    """BaseFn.validate (cfnlint/rules/functions/_BaseFn.py), which every function rule runs, statement for statement,
    except that for E1020's Ref rule it does not descend into ref.json when that descent is known to yield nothing:
    the name is a string of str's own equality without `{{`, found (by `list.index`, as the found_enum patch finds
    it) in `validator.context.refs` (the list dynamicValidation builds the `enum` from), the rule's schema is
    ref.json as read here, the Ref's key is `Ref`, and the keyword table of the validator's class (which every copy
    made by evolve gets) maps `if`, `cfnContext`, `dynamicValidation`, `anyOf`, `type` and `enum` to the functions
    read here (`then` and `else` to nothing). What the skipped descent does, read in CHECKED_CFN_LINT:

    - BaseFn.validator's copy (strict_types False, no cfnLint keyword, a new RefResolver of ref.json) descends with
      path "Ref", so "Ref" is in the path: the filter's raw pseudo parameter branch is never taken; its dynamic
      reference branches need `{{`. The filter then yields ref.json whole, or (when the context allows functions)
      its group keywords `else`/`if`/`then` once per condition scenario of a string (any number of times, each the
      same verdict: nothing below depends on conditions), and an empty schema.
    - `if` (_keywords.if_) checks the transform (dynamicValidation's transformCheck: an error or none, never an
      unknown one) and descends into `then` or `else`: both are a `cfnContext` that only sets the context's
      functions (nothing a string's validation reads but the filter's choice between ref.json's two schema shapes,
      which hold the same keywords) and descends into {dynamicValidation: {context: refs}, type: [string]}.
    - dynamicValidation: `enum` of `context.refs` (the parameters, resources, pseudo parameters and ref_values the
      incoming context holds: no copy on the way changes them), wrapped in `anyOf` with one `pattern` per module
      name when the template has modules; anyOf stops at its first valid subschema, the enum, so no pattern runs.
      `enum` is _keywords.enum, or E3030's or W2030's, which call it: a found string is `equal` to the element found
      (the found_enum patch's reasoning), so no error.
    - `type` [string] (cfn_type, _keywords.type or E3012's, which calls cfn_type): a str is a string, strict or not.

    So the descent yields nothing, and it has no effect but objects it drops (validator, context, path and resolver
    copies; cached answers of pure questions). Everything else, and every other function rule, runs cfn-lint's
    statements: the unknown error of unresolvable mode, the output types, the resolution against the property's
    schema (BaseFn.resolve), Ref.ref's parameter, pseudo-parameter and resource checks and child rules."""
    from dataclasses import fields

    import cfnlint.jsonschema._keywords as keywords
    import cfnlint.jsonschema._keywords_cfn as keywords_cfn
    import cfnlint.rules.functions._BaseFn as module

    def defined(function: Any, file: str, name: str) -> bool:
        code = _code_of(function)
        return (code is not None and code.co_name == name
                and code.co_filename.replace(os.sep, "/").endswith("cfnlint/" + file))

    ref_classes = [cls for cls in classes if cls.__name__ == "Ref" and defined(cls.__dict__.get("ref"),
                                                                               "rules/functions/Ref.py", "ref")]
    base = module.BaseFn
    real = base.validate
    if (not ref_classes or not defined(real, "rules/functions/_BaseFn.py", "validate")
            or any(not issubclass(cls, base) or cls.schema is not base.schema or cls.validator is not base.validator
                   or cls.key_value is not base.key_value for cls in ref_classes)):
        return False
    # the rule modules that define the keyword functions a Ref's descent may meet, with the function's name
    allowed_rules = {"type": [("rules/resources/properties/Type.py", "type")],
                     "enum": [("rules/resources/properties/Enum.py", "enum"), ("rules/parameters/Enum.py", "enum")]}
    allowed = {"if": {keywords.if_.__code__}, "cfnContext": {keywords_cfn.cfnContext.__code__},
               "dynamicValidation": {keywords_cfn.dynamicValidation.__code__}, "anyOf": {keywords.anyOf.__code__},
               "type": {keywords_cfn.cfn_type.__code__, keywords.type.__code__},
               "enum": {keywords.enum.__code__}}
    for keyword, places in allowed_rules.items():
        for cls in classes:
            function = cls.__dict__.get(keyword)
            if any(defined(function, file, name) for file, name in places):
                allowed[keyword].add(function.__code__)
    ref_class_set = frozenset(ref_classes)
    ValidationError = module.ValidationError
    verdicts: dict[type, bool] = {}   # per Validator class: its keyword table is one the reasoning covers
    schemas: list[Any] = []           # the rule's schema object, once compared with ref.json as read

    def table_as_read(cls: type) -> bool:
        try:
            table = [f.default_factory() for f in fields(cls) if f.name == "validators" and not f.init]
        except Exception:   # noqa: BLE001 - not a Validator class made by cfn-lint's create: not read here
            return False
        if len(table) != 1 or not isinstance(table[0], dict):
            return False
        table = table[0]
        return ("then" not in table and "else" not in table
                and all(_code_of(table.get(keyword)) in codes for keyword, codes in allowed.items()))

    def name_known(rule: Any, validator: Any, key: Any, value: Any, fn_schema: Any) -> bool:
        if type(rule) not in ref_class_set or key != "Ref" or not _is_standard_str(value) or "{{" in value:
            return False
        if not schemas:
            if fn_schema != _REF_SCHEMA:
                return False
            schemas.append(fn_schema)
        if fn_schema is not schemas[0]:
            return False
        cls = type(validator)
        verdict = verdicts.get(cls)
        if verdict is None:
            verdict = verdicts[cls] = table_as_read(cls)
        if not verdict:
            return False
        try:   # anything unexpected here (which dynamicValidation would report) takes cfn-lint's descent
            names = validator.context.refs
            found = names[names.index(value)]
        except Exception:   # noqa: BLE001
            return False
        return _is_standard_str(found)

    def validate(self, validator, s, instance, schema):
        # If in unresolvable mode, return unknown error immediately
        if validator.context.unresolvable_function_mode:
            yield ValidationError(
                f"Cannot resolve {self.fn.name} in composite validation",
                unknown=True,
            )
            return

        # validate this function will return the correct type
        errs = list(
            self.fix_errors(self.validate_fn_output_types(validator, s, instance))
        )

        key, value = self.key_value(instance)
        fn_schema = self.schema(validator, instance)
        if not name_known(self, validator, key, value, fn_schema):
            errs.extend(
                list(
                    self.fix_errors(
                        self.validator(validator, fn_schema).descend(
                            value,
                            fn_schema,
                            path=key,
                        )
                    )
                )
            )

        if errs:
            yield from iter(errs)
            return

        yield from self.resolve(validator, s, instance, schema)

    validate.__doc__, validate.real = real.__doc__, real   # type: ignore[attr-defined]
    base.validate = validate
    return True
