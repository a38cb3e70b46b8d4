"""Resource types that hold data, and how each is protected. Which types hold data is a fact each component declares
about the types it creates (`TypeFacts.stateful`, generator/components/); this module applies it:

- every resource of these types gets an explicit DeletionPolicy and UpdateReplacePolicy (`apply`/`protect`, where
  resources are added: `StackBuilder.add` with its component's facts, and the pipeline's `common.add` with the facts
  of every component; tests/test_stateful_policies.py checks every generated template);
- the production stack policy denies replacing or deleting them, on the root and on every nested stack
  (generator/params.py, scripts/nested_stack_policy.py);
- deploy previews and the destroy plan flag them (scripts/deploylib).

Policies (CloudFormation user guide, DeletionPolicy and UpdateReplacePolicy attributes):
- `RetainExceptOnCreate` on delete: kept when a stack update removes the resource or the stack is deleted, but
  deleted when the stack operation that created it rolls back, so a failed first deploy leaves no named leftovers
  (log groups, repositories, queues) that would make the retry fail with "already exists" (2023 attribute value;
  "behaves like Retain for stack operations, except for the stack operation that initially created the resource").
  `Snapshot` for the types that support it (databases, caches).
- `Retain` on replacement (UpdateReplacePolicy has no RetainExceptOnCreate): the old physical resource stays when
  an update replaces it. Resources with a fixed name cannot be replaced at all (CloudFormation refuses); the
  production stack policy refuses it first.
- The exception: an Aurora member DBInstance (has DBClusterIdentifier) is `Delete`: its data lives in the cluster,
  which is snapshotted, and the RDS handler rejects a snapshot of a member (project rule E9008); a retained member
  would keep the cluster from being deleted. A type with such an exception says so in its facts
  (`TypeFacts.policy_override`, `MEMBER_INSTANCE` below).
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

from troposphere import AWSObject

from generator.errors import WiringError
from generator.lint import cfnlint_dir

if TYPE_CHECKING:
    from generator.components.base import TypeFacts

MEMBER_INSTANCE = ("Delete", "Delete")
NESTED_STACK = "AWS::CloudFormation::Stack"   # cfn-lint calls it stateful; ours are not retained (their resources are)
# What a DeletionPolicy / UpdateReplacePolicy set by hand may be on a stateful resource.
PROTECTIVE = {"DeletionPolicy": ("Retain", "RetainExceptOnCreate", "Snapshot"),
              "UpdateReplacePolicy": ("Retain", "Snapshot")}


def registry() -> Mapping[str, TypeFacts]:
    """Every resource type a component declares, with its facts (generator/components/__init__.py)."""
    from generator import components   # the components build on StackBuilder, which applies this module
    return components.type_facts()


def stateful_types() -> tuple[str, ...]:
    """The types that hold data, sorted (the production stack policy denies replacing or deleting them)."""
    return tuple(sorted(t for t, facts in registry().items() if facts.stateful))


def is_stateful(resource_type: str) -> bool:
    facts = registry().get(resource_type)
    return facts is not None and facts.stateful


@cache
def _cfn_lint_stateful() -> frozenset[str]:
    """cfn-lint's list, read from its data file as its own `load_resource(AdditionalSpecs, ...)` reads it, without
    importing cfn-lint (sympy and networkx: most of a second, and 60 MB, in every build that had a previous output)."""
    text = (cfnlint_dir() / "data" / "AdditionalSpecs" / "StatefulResources.json").read_text(encoding="utf-8")
    return frozenset(json.loads(text)["ResourceTypes"]) - {NESTED_STACK}


def holds_data(resource_type: str) -> bool:
    """For what a deployed stack shows (the deploy preview, the destroy plan): a type a component declares stateful,
    or one cfn-lint's list calls stateful (the data behind its rule I3011), so a stack holding a type no component
    declares yet (a store of a later version, one added by hand) is still flagged."""
    return is_stateful(resource_type) or resource_type in _cfn_lint_stateful()


def policies(resource_type: str, properties: Mapping[str, Any]) -> tuple[str, str] | None:
    """(DeletionPolicy, UpdateReplacePolicy) for a resource, or None when its type holds no data."""
    facts = registry().get(resource_type)
    return facts.policies(properties) if facts is not None else None


def protect(resource: AWSObject) -> None:
    """Give a stateful resource its policies, from the facts of whichever component declares its type."""
    apply(resource, policies(resource.resource_type, resource.properties))


def apply(resource: AWSObject, wanted: tuple[str, str] | None) -> None:
    """Set (DeletionPolicy, UpdateReplacePolicy) on a resource that holds data. A policy a stack module states itself
    must be at least as protective (Retain, RetainExceptOnCreate, Snapshot): anything else is a build error, not a
    quiet data loss."""
    if wanted is None:
        return
    for attribute, value in zip(("DeletionPolicy", "UpdateReplacePolicy"), wanted):
        stated = resource.resource.get(attribute)
        if stated is None:
            setattr(resource, attribute, value)
        elif stated != value and (value == "Delete" or stated not in PROTECTIVE[attribute]):
            raise WiringError(f"{resource.title} ({resource.resource_type}) holds data: {attribute} {stated} would "
                              f"lose it; leave it to the facts of its type (TypeFacts, generator/components/), which "
                              f"say {value}")
