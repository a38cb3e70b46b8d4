"""cfnlint.rules._rules.Rules.run: the per-resource dispatch skips, without two generators per rule, the rules whose
`matchall_resource_properties` would return at once."""
from __future__ import annotations

from typing import Any

from generator.lint.speedups._support import _defined_in


def skip_idle_resource_rules(classes: list[type]) -> bool:
    """After every rule's `matchall`, `Rules.run` calls, for each resource with a string Type and a Properties
    mapping, every one of the ~350 rules' `matchall_resource_properties` through `run_check` and `_filter_matches`
    (two generators and the `@matching` wrapper's, about 1,000 per resource, 3 % of a 50-service app's lint CPU).
    The wrapper's first statement returns when the resource's type is not in the rule's `resource_property_types`,
    which is empty for all but a dozen rules; what `run_check` does before (records the rule in `_used_rules` when
    enabled) the matchall loop already did for every rule, with the same key and value, and is done again here. So
    such a rule is skipped after that same record, its test (`type not in rule.resource_property_types`) made at
    the moment the wrapper would make it, for a rule whose `matchall_resource_properties` is the decorated
    CloudFormationLintRule's (none of cfn-lint CHECKED_CFN_LINT's or the project's rules overrides it) and whose
    `resource_property_types` is its own plain attribute. Every other rule, and everything else `run` does, runs as
    cfn-lint's code does it; the child-rule wiring's `any(key == r for r in self.data.keys())` is `key in self.data`
    for a string key (rule ids: the same equality, hashed)."""
    from cfnlint.rules import _rule, _rules

    rules_cls, base = _rules.Rules, _rule.CloudFormationLintRule
    if (not _defined_in(rules_cls.run, "rules/_rules.py", "run")
            or not _defined_in(rules_cls.run_check, "rules/_rules.py", "run_check")
            or not _defined_in(rules_cls._filter_matches, "rules/_rules.py", "_filter_matches")
            or not _defined_in(base.matchall_resource_properties, "rules/_rule.py", "wrapper")):
        return False
    decorated = base.matchall_resource_properties
    plain_classes: dict[type, bool] = {}   # a rule class with the decorated method, no class attribute for the list

    def idle(rule: Any, resource_type: Any) -> bool:
        """Whether the rule's matchall_resource_properties would return before doing anything."""
        cls = type(rule)
        plain = plain_classes.get(cls)
        if plain is None:
            plain = plain_classes[cls] = (cls.matchall_resource_properties is decorated
                                          and not hasattr(cls, "resource_property_types"))
        own = vars(rule)
        if not plain or "matchall_resource_properties" in own:
            return False
        types = own.get("resource_property_types")
        return type(types) is list and all(type(t) is str for t in types) and resource_type not in types

    def run(self, filename: str | None, cfn: Any, config: Any):
        """Run rules"""
        # Build enabled rules set once to avoid repeated is_rule_enabled calls
        enabled_rule_ids = set()
        for rule_id, rule in self.data.items():
            rule.configure(
                config.configure_rules.get(rule_id, None), config.include_experimental
            )
            rule.initialize(cfn)
            if self.is_rule_enabled(rule_id, config):
                enabled_rule_ids.add(rule_id)

        for rule_id, rule in self.data.items():
            for key in rule.child_rules.keys():
                if type(key) is str:
                    if key not in self.data:
                        continue
                elif not any(key == r for r in self.data.keys()):
                    continue
                rule.child_rules[key] = self.data.get(key)
            for parent_rule in rule.parent_rules:
                if parent_rule in self.data:
                    self.data[parent_rule].child_rules[rule_id] = rule

        for rule_id, rule in self.data.items():
            yield from self._filter_matches(
                enabled_rule_ids,
                self.run_check(
                    rule.matchall,
                    filename,
                    rule_id,
                    config,
                    enabled_rule_ids,
                    filename,
                    cfn,
                ),
            )

        for resource_name, resource_attributes in cfn.get_resources().items():
            resource_type = resource_attributes.get("Type")
            resource_properties = resource_attributes.get("Properties")
            if isinstance(resource_type, str) and isinstance(resource_properties, dict):
                path = ["Resources", resource_name, "Properties"]
                for rule_id, rule in self.data.items():
                    if idle(rule, resource_type):
                        if rule_id in enabled_rule_ids:   # as run_check does first
                            self._used_rules[rule_id] = self.data[rule_id]
                        continue
                    yield from self._filter_matches(
                        enabled_rule_ids,
                        self.run_check(
                            rule.matchall_resource_properties,
                            filename,
                            rule_id,
                            config,
                            enabled_rule_ids,
                            filename,
                            cfn,
                            resource_properties,
                            resource_type,
                            path,
                        ),
                    )

    run.real = rules_cls.run   # type: ignore[attr-defined]
    rules_cls.run = run
    return True
