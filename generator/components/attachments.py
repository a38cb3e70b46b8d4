"""Attachments: what a producer (a database, a cache, a queue ...) offers a service that `uses` it (docs/attachments.md).

Two halves, one per phase:

- `Offer` (load time): what a producer component says about each store the app declares, from the spec alone: the
  access modes it supports and its default, and the environment variable names a service gets. `Component.offers`
  returns them; the spec rule `services_use_what_the_app_offers` refuses an unknown name, an access mode the store
  does not support and a variable the service already sets, one line each.
- `Attachment` (build time): the same store with the values wired in: environment variables and secrets (sources
  of the producer's stack, or literals), task-role grants per access mode scoped to the producer's resources, and
  the producer's security group and port. The service stack applies them (generator/components/service/uses.py):
  variables and secrets on its container, the grants of the access asked for as one task-role policy, and its own
  `AWS::EC2::SecurityGroupIngress` on the producer's group from the service's group, so the producer never depends
  on its consumers and there is no ordering cycle.

`Attachments` collects the build's attachments by name in root.py (dependency order: producers before services) and
checks each one against its offer, so the load-time promise and the built template cannot drift apart.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import field
from typing import TYPE_CHECKING, Any, Literal, Union

from awacs.aws import Statement

from generator.errors import WiringError
from generator.records import record
from generator.wiring import OutputRef, ParentValue, RootParameter, Source

if TYPE_CHECKING:
    from generator.config import AppSpec

Access = Literal["read", "write", "read-write", "send", "consume"]
ACCESS_MODES: tuple[str, ...] = ("read", "write", "read-write", "send", "consume")

# A value a service receives: a source wired into its stack (an output of the producer's stack, a root parameter),
# or a literal (a port, a name chosen at generation time).
Value = Union[RootParameter, OutputRef, ParentValue, str, int]
# `ref(source)` declares the source as a parameter of the service stack and returns its Ref.
Wire = Callable[[Source], Any]
GrantFn = Callable[[Wire], list[Statement]]


@record(frozen=True)
class Offer:
    """What a store promises at load time: the access modes a service may ask for (`default` when it names none) and
    every environment variable (secrets included) a service that uses it gets."""

    modes: tuple[str, ...]
    default: str
    variables: tuple[str, ...]

    def __post_init__(self) -> None:
        unknown = [m for m in (*self.modes, self.default) if m not in ACCESS_MODES]
        if unknown or self.default not in self.modes:
            raise WiringError(f"an offer's modes are some of {', '.join(ACCESS_MODES)} and its default one of them "
                              f"(got modes {self.modes}, default {self.default!r})")


@record(frozen=True)
class SecretSource:
    """An environment variable read from Secrets Manager when a task starts: the secret's ARN (a source, e.g. the
    producer's output of its managed secret) and optionally the JSON key (ECS `ValueFrom` `<arn>:<key>::`)."""

    arn: Value
    key: str | None = None


@record(frozen=True)
class Ingress:
    """The producer's security group and the port its clients connect to."""

    security_group_id: Value
    port: Value


@record(frozen=True)
class Attachment:
    """What one store gives a service that uses it (the store's `name` in app.yaml).

    `grants`: access mode -> a function of `ref` returning the task-role statements for that mode, scoped to the
    producer's resources (ARNs as sources turned into Refs by `ref`), including the use of its KMS key."""

    name: str
    environment: Mapping[str, Value] = field(default_factory=dict)
    secrets: Mapping[str, SecretSource] = field(default_factory=dict)
    grants: Mapping[str, GrantFn] = field(default_factory=dict)
    ingress: Ingress | None = None

    def variables(self) -> set[str]:
        return set(self.environment) | set(self.secrets)


@record(frozen=True)
class Use:
    """One store a service uses, with the access it asked for (or the store's default)."""

    attachment: Attachment
    access: str

    def statements(self, ref: Wire) -> list[Statement]:
        return self.attachment.grants[self.access](ref)


def offers(app: AppSpec, components: Any) -> dict[str, tuple[str, Offer]]:
    """Every store the app declares, by name: (the component offering it, its offer). Names are unique across
    stores (each producer's spec rules keep them so); a name two components offer is a build error here."""
    found: dict[str, tuple[str, Offer]] = {}
    for component in components:
        for name, offer in component.produces(app).items():
            if name in found:
                raise WiringError(f"'{name}' is offered by the {found[name][0]} and the {component.name} components; "
                                  "store names are unique across the app (a spec rule of theirs must refuse it)")
            found[name] = (component.name, offer)
    return found


def requested(svc: Any) -> Iterator[tuple[str, str | None]]:
    """(name, access asked for or None) of each entry of a service's `uses`."""
    for entry in svc.uses:
        if isinstance(entry, str):
            yield entry, None
        else:
            yield entry.name, entry.access


class Attachments:
    """The attachments of one build, by name: producers add theirs in root.py, services look up what they use."""

    def __init__(self, app: AppSpec, components: Any):
        self.offered = offers(app, components)
        self.by_name: dict[str, Attachment] = {}

    def add(self, *attachments: Attachment) -> None:
        for attachment in attachments:
            if attachment.name not in self.offered:
                raise WiringError(f"attachment '{attachment.name}' was built but no component offers it "
                                  "(Component.offers)")
            owner, offer = self.offered[attachment.name]
            if attachment.name in self.by_name:
                raise WiringError(f"attachment '{attachment.name}' added twice")
            if attachment.variables() != set(offer.variables) or set(attachment.grants) != set(offer.modes):
                raise WiringError(
                    f"the {owner} component's attachment '{attachment.name}' does not match its offer: variables "
                    f"{sorted(attachment.variables())} vs {sorted(offer.variables)}, modes {sorted(attachment.grants)} "
                    f"vs {sorted(offer.modes)}")
            self.by_name[attachment.name] = attachment

    def of(self, svc: Any) -> list[Use]:
        """What `svc` uses, in its `uses` order (the spec rules have refused unknown names and modes)."""
        uses = []
        for name, access in requested(svc):
            if name not in self.by_name:
                raise WiringError(f"service {svc.name} uses '{name}', which no stack built before it attached "
                                  "(root.py: build the producer and add its attachment before the services)")
            uses.append(Use(self.by_name[name], access or self.offered[name][1].default))
        return uses
