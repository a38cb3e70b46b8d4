"""cfnlint.rules.jsonschema (CfnLint's E1101 and the BaseJsonSchema of every schema rule): child rules looked up by
keyword, a rule's validator constructed once."""
from __future__ import annotations

from typing import Any

from generator.lint.speedups._support import _defined_in


def dispatch_by_keyword(classes: list[type]) -> bool:
    """E1101 (CfnLint.cfnLint) runs, for each keyword of a schema, every child rule that declares it, scanning all
    child rules for each keyword of each property it validates: look the rules up by keyword instead, in the same
    order (child rules in order, one run per matching declaration), from a table built on the first call and
    rebuilt whenever the child rules are not the same objects as when it was built (compared by identity in C,
    operator.is_ over both sequences: the tuple of their ids it made per call was 5 % of lint CPU). That
    comparison runs only when the dictionary may have changed since: the rule's dictionary is replaced by an equal
    one that counts its changes (_Counted), and a table built at the current count is used as it is. Patched on the
    class of the E1101 instance (loaded from its file), and on the class of the same name in sys.modules."""
    from operator import is_

    import cfnlint.rules.jsonschema.CfnLint as module
    from cfnlint.jsonschema._utils import Unset

    targets = [cls for cls in {*classes, module.CfnLint}
               if _defined_in(vars(cls).get("cfnLint"), "rules/jsonschema/CfnLint.py", "cfnLint")]
    if not any(cls is not module.CfnLint for cls in targets):
        return False

    def cfnLint(self, validator, keywords, instance, schema):
        validator = validator.evolve(function_filter=validator.function_filter.evolve(add_cfn_lint_keyword=False))
        rules = self.child_rules
        table = self.__dict__.get("_by_keyword")
        # unchanged since the table was built: the same counting dictionary, not changed since (see _Counted)
        if table is None or table[2] is not rules or rules.__class__ is not _Counted or table[3] != rules.changes:
            current = rules.values()
            # the same rule objects in the same order, compared by identity in C (rules' own == compares their ids)
            if table is None or len(table[0]) != len(current) or not all(map(is_, current, table[0])):
                children = tuple(current)
                by_keyword: dict[str, list] = {}
                for rule in children:
                    if rule is None or not rule.id:
                        continue
                    for rule_keyword in rule.keywords:
                        by_keyword.setdefault(rule_keyword, []).append(rule)
            else:
                children, by_keyword = table[0], table[1]
            if rules.__class__ is dict and self.__dict__.get("_child_rules") is rules:
                rules = self.__dict__["_child_rules"] = _Counted(rules)   # equal, the same order
            table = self.__dict__["_by_keyword"] = (children, by_keyword, rules,
                                                    rules.changes if rules.__class__ is _Counted else None)
        by_keyword = table[1]
        for keyword in keywords:
            for rule in by_keyword.get(keyword, ()):
                for err in rule.validate(validator, keyword, instance, schema):
                    if err.rule is None:
                        if isinstance(err.validator, Unset):
                            err.rule = rule
                    yield err

    for cls in targets:
        cfnLint.__doc__ = cls.cfnLint.__doc__
        cls.cfnLint = cfnLint
    return True


class _Counted(dict):
    """E1101's child rules (its `_child_rules`, which cfnlint.rules.Rules.run fills again before every template
    with `rule.child_rules[key] = ...`), counting every call that can change them: while the count is the one its
    keyword table was built at, the dictionary holds the same rules in the same order, and the table is used
    without comparing every rule (that comparison on every call was 3 % of lint CPU). Every mutating method of dict
    counts first (a change that fails counts too: a rebuild, never a stale table); the dictionary is otherwise a
    dict, equal to the one it replaced, in the same order."""

    __slots__ = ("changes",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        try:
            self.changes += 1   # __init__ called again on the dictionary changes it too
        except AttributeError:
            self.changes = 0
        super().__init__(*args, **kwargs)


def _counting(name: str) -> Any:
    method = getattr(dict, name)

    def counted(self, *args, **kwargs):
        self.changes += 1
        return method(self, *args, **kwargs)

    counted.__name__ = counted.__qualname__ = name
    return counted


for _name in ("__setitem__", "__delitem__", "__ior__", "update", "setdefault", "pop", "popitem", "clear"):
    setattr(_Counted, _name, _counting(_name))


def direct_extend_validator(classes: list[type]) -> bool:
    """BaseJsonSchema.extend_validator builds its validator twice: `Validator(schema=schema)`, whose defaults make a
    throw-away empty Template (cfnlint.template.Template(None, {})), a context from it and a resolver, then
    `.evolve(cfn=..., context=..., resolver=RefResolver.from_schema(schema))`. The replacement calls the
    constructor once with those final values: the same fields (the class's validators, filter and resolvers, the
    schema, the caller's template and context, a new resolver of the schema), and __post_init__ fills a None context
    from the caller's template as the second construction did. Patched on every rule class that inherits cfn-lint's
    own method (rule modules are loaded from their files) and on the class in sys.modules."""
    from cfnlint.rules.jsonschema import Base
    from cfnlint.schema.resolver import RefResolver

    targets = [cls for cls in {*classes, Base.BaseJsonSchema}
               if _defined_in(vars(cls).get("extend_validator"), "rules/jsonschema/Base.py", "extend_validator")]
    if not targets:
        return False

    def extend_validator(self, validator, schema, context, validators=None):
        all_validators = self._get_validators()
        if validators:
            all_validators.update(validators)
        return validator.extend(validators=all_validators)(
            schema=schema, cfn=validator.cfn, context=context, resolver=RefResolver.from_schema(schema))

    for cls in targets:
        extend_validator.__doc__ = cls.extend_validator.__doc__
        cls.extend_validator = extend_validator
    return True
