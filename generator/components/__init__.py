"""The components, in dependency order (one line each), and the registries derived from what they declare.

    network -> registry -> cluster -> monitoring -> database (when the app has one)
            -> cache, queue, table, bucket, filesystem (one stack per store) -> service (one stack per service)
            -> migrate (with a pipeline and `migrate:`) -> frontend -> access

generator/root.py calls their build functions in this order; everything the rest of the system must know about the
resource types they create is read from their TypeFacts here: which types hold data (generator/stateful.py), what
the destroy plan says is snapshotted, which describe call the rehearsal verifies a type with, and which grants the
environments' CloudFormation role needs (generator/pipeline/environment_permissions.py). Adding a component:
docs/adding-a-component.md.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
import functools

from generator.components import (access, bucket, cache, cluster, database, filesystem, frontend, migrate, monitoring,
                                   network, queue, registry, service, shared, table)
from generator.components.base import Component, GrantFactory, Rule, TypeFacts, Verifier
from generator.errors import WiringError

NESTED_STACK = "AWS::CloudFormation::Stack"
EVERY_ENVIRONMENT_ROLE = "generator/pipeline/environment_permissions.py"

COMPONENTS: tuple[Component, ...] = (
    network.COMPONENT,
    registry.COMPONENT,
    cluster.COMPONENT,
    monitoring.COMPONENT,
    database.COMPONENT,
    cache.COMPONENT,
    queue.COMPONENT,
    table.COMPONENT,
    bucket.COMPONENT,
    filesystem.COMPONENT,
    service.COMPONENT,
    migrate.COMPONENT,
    frontend.COMPONENT,
    access.COMPONENT,
)


@functools.cache
def type_facts() -> Mapping[str, TypeFacts]:
    """Every declared type with its facts. Two components that create one type declare the same facts (they take
    them from generator/components/shared.py), so a type means one thing everywhere."""
    found: dict[str, TypeFacts] = dict(shared.TYPES)
    owners: dict[str, str] = {t: "shared" for t in shared.TYPES}
    for component in COMPONENTS:
        for rtype, facts in component.types.items():
            known = found.setdefault(rtype, facts)
            if known is not facts and known != facts:
                raise WiringError(f"{rtype}: the {component.name} and {owners[rtype]} components declare different "
                                  "facts; declare them once in generator/components/shared.py and pick them")
            owners.setdefault(rtype, component.name)
    return found


def owners(resource_type: str) -> list[Component]:
    return [c for c in COMPONENTS if resource_type in c.types]


def grants_source(resource_type: str) -> str:
    """Where the environments' CloudFormation role gets its grants for a type: the module of the grant family its
    TypeFacts name (the file a missing action sends a developer to)."""
    facts = type_facts().get(resource_type)
    if resource_type == NESTED_STACK or (facts is not None and facts.cfn_grants is None):
        return f"{EVERY_ENVIRONMENT_ROLE} (what every environment role has, which covers {resource_type})"
    if facts is None:
        return (f"the TypeFacts of {resource_type} (cfn_grants) in the types.py of the component that creates it "
                "(generator/components/<name>/types.py)")
    family = facts.cfn_grants
    return f"{family.__module__.replace('.', '/')}.py ({family.__name__}, the cfn_grants of {resource_type})"


def grant_families(resource_types: Iterable[str]) -> list[GrantFactory]:
    """The grant families the stacks' types need: the shared ones in shared.FAMILIES order, then each component's
    own in component order."""
    wanted = {facts.cfn_grants for t in resource_types if (facts := type_facts().get(t)) and facts.cfn_grants}
    ordered = [f for f in shared.FAMILIES if f in wanted]
    for component in COMPONENTS:
        for facts in component.types.values():
            if facts.cfn_grants in wanted and facts.cfn_grants not in ordered:
                ordered.append(facts.cfn_grants)
    return ordered


def verifiers() -> dict[str, Verifier]:
    """Type -> how the rehearsal checks the emulator created it."""
    return {t: facts.verify for t, facts in type_facts().items() if facts.verify is not None}


def snapshot_types() -> tuple[str, ...]:
    """Types whose delete takes a snapshot (DeletionPolicy Snapshot; the destroy plan says so)."""
    return tuple(sorted(t for t, facts in type_facts().items() if facts.snapshot_on_delete))


def rules() -> list[Rule]:
    """Every component's cross-field rules, in component order."""
    return [r for c in COMPONENTS for r in c.rules]
