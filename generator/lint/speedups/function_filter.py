"""cfnlint.jsonschema._filter.FunctionFilter: what every validated value and schema goes through first (`filter`,
called by every Validator.iter_errors, and `_filter_schemas`, which splits a schema into its standard and its
group keywords: 9-16 % of lint CPU with what they call)."""
from __future__ import annotations

from typing import Any

# FunctionFilter.group_functions's default (cfnlint/jsonschema/_filter.py), checked against the class in the patch
_GROUP_FUNCTIONS = ["dependencies", "dependentExcluded", "dependentRequired", "else", "if", "maxItems",
                    "maxProperties", "minItems", "minProperties", "required", "requiredOr", "requiredXor", "then",
                    "uniqueItems"]


def lean_function_filter(classes: list[type]) -> bool:
    """`filter` and `_filter_schemas` as cfn-lint writes them, statement for statement, with less work per call:
    `"cfnContext" in schema` instead of any() over a one-element list; the instance's string type asked once
    (validator.is_type, a pure type check, was asked twice); the dynamic-reference expressions (REGEX_DYN_REF
    `^.*{{(resolve:.+)}}.*$`, REGEX_DYN_REF_SPACES `\\{\\{\\s+resolve...`) run only on a string that holds `{{`,
    which each of them needs to match; the set of functions a dynamic reference cannot be in made once instead of
    per path element; a function key's Python name (ToPy(k).py, a pure function of k) kept per key; a key looked
    up in a frozenset of the group keywords when the filter's list is cfn-lint's default one (equal, compared per
    call), in the list otherwise. The same values are yielded in the same order, with the same schema dictionaries
    built (the `cfnLint` list a copy, as ensure_list makes it) and nothing else evaluated between yields."""
    from dataclasses import fields

    import cfnlint.jsonschema._filter as module
    from cfnlint.helpers import FUNCTIONS, PSEUDOPARAMS, REGEX_DYN_REF, REGEX_DYN_REF_SPACES, ToPy, ensure_list

    cls = module.FunctionFilter
    if (cls.filter.__code__.co_filename != module.__file__ or cls._filter_schemas.__code__.co_filename
            != module.__file__ or list(f.default_factory() for f in fields(cls) if f.name == "group_functions")
            != [_GROUP_FUNCTIONS] or module._all_types != ["array", "boolean", "integer", "number", "object",
                                                          "string"]):
        return False
    group_default = frozenset(_GROUP_FUNCTIONS)
    not_in_dynamic = set(FUNCTIONS) - set(["Fn::If"])
    all_types = module._all_types
    python_names: dict[Any, str] = {}
    real_filter, real_filter_schemas = cls.filter, cls._filter_schemas

    def _filter_schemas(self, schema, validator):
        path = validator.context.path.path
        if path:
            if path[-1] in ["Fn::If"]:
                return schema, None

        standard_schema = {}
        group_schema = {}
        groups = self.group_functions
        if groups == _GROUP_FUNCTIONS:
            groups = group_default
        for key, value in schema.items():
            if key in groups:
                group_schema[key] = value
            else:
                standard_schema[key] = value
        if self.add_cfn_lint_keyword and "$ref" not in standard_schema:
            standard_schema["cfnLint"] = ensure_list(standard_schema.get("cfnLint", []))
            standard_schema["cfnLint"].append("/".join(validator.context.path.cfn_path))

        if "object" in ensure_list(standard_schema.get("type", [])) and all(
            p not in standard_schema
            for p in ["properties", "additionalProperties", "patternProperties"]
        ):
            standard_schema["patternProperties"] = {
                ".*": {"type": all_types},
            }
        if (
            "array" in standard_schema.get("type", [])
            and "items" not in standard_schema
        ):
            standard_schema["items"] = {"type": all_types}

        return standard_schema, group_schema

    def filter(self, validator, instance, schema):
        if "cfnContext" in schema:
            yield instance, schema, validator
            return

        is_string = validator.is_type(instance, "string")
        if is_string and self.validate_dynamic_references and "{{" in instance:
            if REGEX_DYN_REF.findall(instance):
                if not any(p in not_in_dynamic for p in validator.context.path.path):
                    yield (instance, {"dynamicReference": schema}, validator)
                    return
                return
            elif REGEX_DYN_REF_SPACES.search(instance):
                yield (instance, {"dynamicReferenceSpaces": schema}, validator)
                return

        if is_string and instance in PSEUDOPARAMS and "Ref" not in validator.context.path.path:
            yield (instance, {"rawPseudoParameter": schema}, validator)
            return

        if not validator.context.functions:
            yield instance, schema, validator
            return

        standard_schema, group_schema = self._filter_schemas(schema, validator)

        if group_schema:
            for (
                scenario_instance,
                scenario,
            ) in validator.context.conditions.evolve_from_instance(
                instance,
                context=validator.context,
            ):
                if scenario_instance is None:
                    continue
                scenario_validator = validator.evolve(
                    context=validator.context.evolve(conditions=scenario)
                )
                yield (scenario_instance, group_schema, scenario_validator)

        if validator.is_type(instance, "object"):
            if len(instance) == 1:
                for k, v in instance.items():
                    if k in validator.context.functions:
                        py = python_names.get(k)
                        if py is None:
                            py = python_names[k] = ToPy(k).py
                        k_schema = {
                            py: standard_schema,
                        }
                        yield (instance, k_schema, validator)
                        return

        yield (instance, standard_schema, validator)

    filter.__doc__, _filter_schemas.__doc__ = real_filter.__doc__, real_filter_schemas.__doc__
    filter.real, _filter_schemas.real = real_filter, real_filter_schemas   # type: ignore[attr-defined]
    cls.filter, cls._filter_schemas = filter, _filter_schemas
    return True
