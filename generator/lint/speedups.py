"""Exact speed-ups of cfn-lint CHECKED_CFN_LINT, applied by the lint helper (generator/lint/zygote.py) to the rules
it has built: each replaces a piece of cfn-lint with code that returns the same results with less work. Another
cfn-lint version is left as it is (apply() does nothing): its code may differ from what was read here.

Where a patch lands matters: cfn-lint loads its rule modules from their files (cfnlint.helpers.load_plugins), so the
class of a rule instance is not the class of the same name in `sys.modules` (`type(rule).__module__ == "CfnLint"`).
Patches of a rule's own method or of a name its module imported therefore go through the instances the helper lints
with (`_rule_classes`); patches of the library modules (validators, context, filter) go to those modules, which the
rule modules import normally.

What proves them: tests/test_lint_speedups.py lints every template of every app in the repository and every project
rule fixture with the patches and in a process without them (cfn-lint's own API) and compares the findings, and
fails if a patched piece of cfn-lint still runs while the helper lints (a patch that does not reach the instances).
"""
from __future__ import annotations

import hashlib
import os
from typing import Any

CHECKED_CFN_LINT = "1.58.0"   # the version whose code each patch below was checked against

APPLIED: list[str] = []       # the names of the patches applied in this process


def apply(rules: Any) -> list[str]:
    """Apply every patch (once per process) to cfn-lint and to the classes of `rules`, the rules the helper lints
    with; returns the names of the patches applied (none for another cfn-lint version)."""
    from cfnlint.version import __version__

    if __version__ != CHECKED_CFN_LINT:
        return []
    classes = _rule_classes(rules)
    for patch in (share_nested_decodes, fast_evolve, memoize_validator_classes, dispatch_by_keyword,
                  direct_extend_validator, memoize_regex_compile):
        if patch.__name__ not in APPLIED and patch(classes) is not False:
            APPLIED.append(patch.__name__)
    return list(APPLIED)


def _rule_classes(rules: Any) -> list[type]:
    """The classes (with their bases) of every rule instance built, child rules included, each once."""
    seen: dict[int, Any] = {}
    todo = list(rules.values()) if hasattr(rules, "values") else list(rules)
    while todo:
        rule = todo.pop()
        if rule is None or id(rule) in seen:
            continue
        seen[id(rule)] = rule
        todo.extend(getattr(rule, "child_rules", {}).values())
    classes: dict[type, None] = {}
    for rule in seen.values():
        for cls in type(rule).__mro__:
            classes.setdefault(cls)
    return list(classes)


def _defined_in(function: Any, module_file: str, name: str) -> bool:
    """Whether `function` is cfn-lint's own `name` from cfnlint/<module_file> (not a replacement)."""
    code = getattr(function, "__code__", None)
    return (code is not None and code.co_name == name
            and code.co_filename.replace(os.sep, "/").endswith("cfnlint/" + module_file))


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


def dispatch_by_keyword(classes: list[type]) -> bool:
    """E1101 (CfnLint.cfnLint) runs, for each keyword of a schema, every child rule that declares it, scanning all
    child rules for each keyword of each property it validates: look the rules up by keyword instead, in the same
    order (child rules in order, one run per matching declaration), from a table built on the first call and
    rebuilt whenever the child rules are not the same objects as when it was built. Patched on the class of the
    E1101 instance (loaded from its file), and on the class of the same name in sys.modules."""
    import cfnlint.rules.jsonschema.CfnLint as module
    from cfnlint.jsonschema._utils import Unset

    targets = [cls for cls in {*classes, module.CfnLint}
               if _defined_in(vars(cls).get("cfnLint"), "rules/jsonschema/CfnLint.py", "cfnLint")]
    if not any(cls is not module.CfnLint for cls in targets):
        return False

    def cfnLint(self, validator, keywords, instance, schema):
        validator = validator.evolve(function_filter=validator.function_filter.evolve(add_cfn_lint_keyword=False))
        identities = tuple(map(id, self.child_rules.values()))
        table = self.__dict__.get("_by_keyword")
        # the same rule objects in the same order (the table keeps them alive, so their ids are not reused)
        if table is None or table[0] != identities:
            children = tuple(self.child_rules.values())
            by_keyword: dict[str, list] = {}
            for rule in children:
                if rule is None or not rule.id:
                    continue
                for rule_keyword in rule.keywords:
                    by_keyword.setdefault(rule_keyword, []).append(rule)
            table = self.__dict__["_by_keyword"] = (tuple(map(id, children)), by_keyword, children)
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


def memoize_regex_compile(classes: list[type]) -> bool:
    """cfn-lint matches schema patterns with the `regex` package's module functions (regex.match, findall, ...),
    and each call looks its compiled pattern up in regex's own cache through flag arithmetic on enums and a locale
    check (4 % of lint CPU); that cache holds 500 patterns and is purged past them, so a schema's patterns are
    compiled again. A compiled pattern given with no flags and no named lists is handed back as regex hands it
    back (after those look-ups, which find nothing for it). The replacement keeps each compiled pattern of a plain string with no flags and no named lists,
    once regex has found it locale-insensitive, under the regex version setting it was compiled with: the same
    compiled object regex's cache returns. Anything else goes to regex."""
    import regex
    import regex._main as main

    real = main._compile
    if getattr(real, "memoized", False) or not hasattr(main, "_locale_sensitive"):
        return False
    compiled: dict[tuple[str, Any], Any] = {}
    Pattern = main.Pattern
    locale_sensitive = main._locale_sensitive

    def _compile(pattern, flags, ignore_unused, kwargs, cache_it):
        if flags or kwargs:
            return real(pattern, flags, ignore_unused, kwargs, cache_it)
        if pattern.__class__ is Pattern:   # regex hands a compiled pattern back as it is (no flags, no named lists)
            return pattern
        if not cache_it or pattern.__class__ is not str:
            return real(pattern, flags, ignore_unused, kwargs, cache_it)
        key = (pattern, regex.DEFAULT_VERSION)
        found = compiled.get(key)
        if found is None:
            found = real(pattern, flags, ignore_unused, kwargs, cache_it)
            if locale_sensitive.get((str, pattern), True) is False:
                compiled[key] = found
        return found

    _compile.memoized = True   # type: ignore[attr-defined]
    _compile.real = real   # type: ignore[attr-defined]
    main._compile = _compile
    return True
