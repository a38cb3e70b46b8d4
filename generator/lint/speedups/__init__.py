"""Exact speed-ups of cfn-lint CHECKED_CFN_LINT, applied by the lint helper (generator/lint/zygote.py) to the rules
it has built: each replaces a piece of cfn-lint with code that returns the same results with less work. Another
cfn-lint version is left as it is (apply() does nothing): its code may differ from what was read here.

One module per patched area of cfn-lint; PATCHES lists every patch in the order apply() applies them (a new patch:
its function in the module of its area, one line here, its checks in tests/test_lint_speedups.py). A patch takes the
classes of the rules built and returns False when what it replaces is not as it was read (it then changes nothing).

Where a patch lands matters: cfn-lint loads its rule modules from their files (cfnlint.helpers.load_plugins), so the
class of a rule instance is not the class of the same name in `sys.modules` (`type(rule).__module__ == "CfnLint"`).
Patches of a rule's own method or of a name its module imported therefore go through the instances the helper lints
with (`_rule_classes`); patches of the library modules (validators, context, filter) go to those modules, which the
rule modules import normally.

One module acts earlier: `rule_data.compact_rule_data()` is in place while the helper builds its rules
(zygote._rules), so that the data files the rules load are held compactly (tests/test_lint_rule_data.py).

What proves them: tests/test_lint_speedups.py lints every template of every app in the repository and every project
rule fixture with the patches and in a process without them (cfn-lint's own API) and compares the findings, and
fails if a patched piece of cfn-lint still runs while the helper lints (a patch that does not reach the instances).
"""
from __future__ import annotations

from typing import Any, Callable

from generator.lint.speedups import (conditions, decode, evolve, function_filter, getatts, jsonschema_rules, keywords,
                                     module_names, ref, regex_cache, resolver, rules_runner, schema_walk, search_keys,
                                     sub, validator_classes, yaml_constructor)
from generator.lint.speedups._support import _rule_classes

CHECKED_CFN_LINT = "1.58.0"   # the version whose code each patch was checked against

# Every patch, in the order applied: fast_evolve wraps validators.create before memoize_validator_classes does.
PATCHES: list[Callable[[list[type]], Any]] = [
    decode.share_nested_decodes,
    evolve.fast_evolve,
    validator_classes.memoize_validator_classes,
    schema_walk.lean_schema_walk,   # after both: its `create` wraps theirs
    jsonschema_rules.dispatch_by_keyword,
    jsonschema_rules.direct_extend_validator,
    regex_cache.memoize_regex_compile,
    module_names.keep_module_names,
    function_filter.lean_function_filter,
    resolver.lean_ref_resolver,
    keywords.found_enum,
    conditions.memoize_condition_scenarios,
    ref.known_ref_names,
    yaml_constructor.fast_yaml_constructor,
    rules_runner.skip_idle_resource_rules,
    sub.lean_sub,
    getatts.keep_valid_getatts,
    search_keys.lean_search_deep_keys,
]

APPLIED: list[str] = []       # the names of the patches applied in this process


def template_done() -> None:
    """A template's lint has ended: drop what a patch keeps for that template alone (its objects would otherwise stay
    alive into the next template's lint, raising a worker's peak memory)."""
    sub.forget()


def apply(rules: Any) -> list[str]:
    """Apply every patch (once per process) to cfn-lint and to the classes of `rules`, the rules the helper lints
    with; returns the names of the patches applied (none for another cfn-lint version)."""
    from cfnlint.version import __version__

    if __version__ != CHECKED_CFN_LINT:
        return []
    classes = _rule_classes(rules)
    for patch in PATCHES:
        if patch.__name__ not in APPLIED and patch(classes) is not False:
            APPLIED.append(patch.__name__)
    return list(APPLIED)
