"""Sidecar containers: more containers in a service's task next to its main one (`services[].sidecars`), e.g. nginx
in front of an app server, a log router or a metrics agent; and `services[].ingress_container`, the container the
load balancer sends traffic to (docs/services.md, Sidecars).

A sidecar runs an image the user names by a full reference with a tag or a digest (`public.ecr.aws/nginx/nginx:1.27`):
the templates are the same in every environment, so a tag that moves (`latest`, or none) would run different code in
production than in the environment it was tested in, and is refused everywhere. The scan gate does not see such an
image: pin a digest for an image you must vouch for. Or the sidecar has `build:` instead, and the pipeline builds its
image with the service's into the service's repository, tagged `<service image tag>-<sidecar>` (built_tag): scanned by
the same gate, promoted with the service's image, and named in the task definition from the same repository and
`ImageTag` parameter as the main container, so a release moves both together.

Containers of one task share its network namespace (awsvpc): a sidecar reaches the main container on localhost.
"""
from __future__ import annotations

import difflib
import re
import shlex
from collections.abc import Iterator
from typing import TYPE_CHECKING, NamedTuple

from troposphere import Sub

from generator.components.service.spec import MOVING_TAGS, health_check_problem
from generator.errors import Problem

if TYPE_CHECKING:
    from generator.config import AppSpec, ServiceSpec

class Container(NamedTuple):
    """A container of a service's task, main or sidecar, as the rules and the stack see it."""

    name: str
    loc: str                    # where app.yaml says it (`services.web` or `services.web.sidecars.nginx`)
    port: int | None
    essential: bool
    environment: dict[str, str]
    secrets: dict[str, str]
    command: list[str] | None
    health_check: list[str] | None   # as given (None: the default)


def containers(svc: ServiceSpec) -> list[Container]:
    """The task's containers: the main one (named after the service) first, then the sidecars in app.yaml order."""
    main = Container(svc.name, f"services.{svc.name}", svc.port, True, svc.environment, svc.secrets, svc.command,
                     svc.health_check_command)
    return [main] + [Container(s.name, f"services.{svc.name}.sidecars.{s.name}", s.port, s.essential, s.environment,
                               s.secrets, s.command, s.health_check) for s in svc.sidecars]


def ingress(svc: ServiceSpec) -> tuple[str, int | None]:
    """(container name, port) the load balancer targets (ServiceSpec.ingress)."""
    return svc.ingress()


# A private ECR image: <account>.dkr.ecr.<region>.amazonaws.com[.cn]/<repository>[:tag][@digest]
PRIVATE_ECR = re.compile(r"^(?P<account>[0-9]{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/"
                         r"(?P<repository>[^:@]+)")


def private_repository_arns(svc: ServiceSpec) -> list[Sub]:
    """The ARNs of the private ECR repositories the sidecars' images are in (the task execution role pulls from
    them, and from nothing else); a repository in another account also needs a repository policy there that lets
    this account pull (docs/services.md)."""
    images = (s.image for s in svc.sidecars if s.image is not None)   # a built one is in the service's repository
    found = {(m["region"], m["account"], m["repository"]) for m in map(PRIVATE_ECR.match, images) if m}
    return [Sub(f"arn:${{AWS::Partition}}:ecr:{region}:{account}:repository/{repository}")
            for region, account, repository in sorted(found)]


def built_tag_suffix(sidecar: str) -> str:
    """What a built sidecar's image tag adds to the service's: `0123456789ab` -> `0123456789ab-nginx`."""
    return f"-{sidecar}"


def built(svc: ServiceSpec) -> list:
    """The sidecars whose image the pipeline builds (`build:`), in app.yaml order."""
    return [s for s in svc.sidecars if s.build is not None]


def health_check_field(svc: ServiceSpec, name: str) -> str:
    return "health_check_command" if name == svc.name else "health_check"


# --- rules (docs/services.md, Sidecars) ----------------------------------------------------------------------------

def sidecar_names(app: AppSpec) -> Iterator[Problem]:
    """Each sidecar has a name of its own in its task, not the service's (the main container's), and
    `ingress_container` names a container of the task with a `port` that is essential, on a web service."""
    for svc in app.services:
        seen = {svc.name}
        for side in svc.sidecars:
            if side.name in seen:
                what = "the main container's name (the service's)" if side.name == svc.name else \
                    "another sidecar's name"
                yield Problem(f"services.{svc.name}.sidecars.{side.name}",
                              f"'{side.name}' is already {what}; give each container of the task its own name")
            seen.add(side.name)
        if svc.ingress_container is None:
            continue
        loc = f"services.{svc.name}.ingress_container"
        by_name = {c.name: c for c in containers(svc)}
        target = by_name.get(svc.ingress_container)
        if svc.kind != "web":
            yield Problem(loc, f"only web services are behind the load balancer; remove it from this {svc.kind} "
                               "service")
        elif target is None:
            yield Problem(loc, f"no container is called '{svc.ingress_container}'; {_hint(svc.ingress_container, by_name)}")
        elif target.port is None:
            yield Problem(loc, f"'{target.name}' has no port for the load balancer to send traffic to; add port to it")
        elif not target.essential:
            yield Problem(loc, f"'{target.name}' is not essential, so tasks would keep running without it and take "
                               "traffic they cannot answer; remove essential: false from it")


def sidecar_dependencies(app: AppSpec) -> Iterator[Problem]:
    """A sidecar's `depends_on` names another container of its task, without a cycle; `HEALTHY` needs a health check
    on that container; `COMPLETE` and `SUCCESS` need it to be non-essential (ECS refuses them on an essential
    container, which must keep running)."""
    for svc in app.services:
        by_name = {c.name: c for c in containers(svc)}
        waits = {s.name: [d.container for d in s.depends_on] for s in svc.sidecars}
        for side in svc.sidecars:
            for i, dep in enumerate(side.depends_on):
                loc = f"services.{svc.name}.sidecars.{side.name}.depends_on.{i}"
                target = by_name.get(dep.container)
                if dep.container == side.name:
                    yield Problem(f"{loc}.container", f"'{side.name}' cannot wait for itself; name another container")
                elif target is None:
                    yield Problem(f"{loc}.container", f"no container is called '{dep.container}' in this task; "
                                                      f"{_hint(dep.container, by_name)}")
                elif dep.condition == "HEALTHY" and not has_health_check(svc, target.name):
                    yield Problem(f"{loc}.condition",
                                  f"HEALTHY waits for the health check of '{target.name}', which has none; add "
                                  f"{health_check_field(svc, target.name)} to it or wait for START")
                elif dep.condition in ("COMPLETE", "SUCCESS") and target.essential:
                    yield Problem(f"{loc}.condition",
                                  f"{dep.condition} waits for '{target.name}' to exit, but it is essential (the task "
                                  "stops when it exits); set essential: false on it or wait for START or HEALTHY")
        cycle = _cycle(waits)
        if cycle:
            yield Problem(f"services.{svc.name}.sidecars.{cycle[0]}.depends_on",
                          f"the containers wait for each other in a circle ({' -> '.join(cycle)}), so none would "
                          "start; remove one of these dependencies")


def sidecar_sizes(app: AppSpec) -> Iterator[Problem]:
    """The sidecars' `cpu` and `memory` together stay below the task's, leaving some to the main container."""
    for svc in app.services:
        for field, unit, total in (("cpu", "CPU units", svc.cpu), ("memory", "MiB", svc.memory)):
            sizes = [(s.name, getattr(s, field)) for s in svc.sidecars if getattr(s, field) is not None]
            used = sum(size for _n, size in sizes)
            if sizes and used >= total:
                listed = ", ".join(f"{n} {size}" for n, size in sizes)
                yield Problem(f"services.{svc.name}.sidecars",
                              f"the sidecars take {used} of the task's {total} {unit} ({listed}), leaving none to the "
                              f"main container '{svc.name}'; raise the service's {field} or lower the sidecars'")


def sidecar_images(app: AppSpec) -> Iterator[Problem]:
    """A sidecar has exactly one of `image` and `build`; its `image` has a tag or a digest, and the tag is not
    `latest`: the same template runs in every environment, so a moving tag would run untested code in production."""
    for svc in app.services:
        for side in svc.sidecars:
            loc = f"services.{svc.name}.sidecars.{side.name}"
            if (side.image is None) == (side.build is None):
                yield Problem(loc, "has neither image nor build; give one: image (a reference the task pulls) or "
                                   "build (an image the pipeline builds into the service's repository)"
                                   if side.image is None else "has both image and build; keep one of them")
                continue
            if side.image is None:
                continue
            path = side.image.split("@", 1)[0].rsplit("/", 1)[-1]
            tag = path.partition(":")[2]
            if "@" in side.image:
                continue
            loc = f"services.{svc.name}.sidecars.{side.name}.image"
            if not tag:
                yield Problem(loc, f"'{side.image}' has no tag, which means latest; name a version, e.g. "
                                   f"'{side.image}:1.27', or a digest ('@sha256:...')")
            elif tag in MOVING_TAGS:
                yield Problem(loc, f"'{tag}' moves whenever its publisher pushes; name a version, e.g. "
                                   f"'{side.image.rsplit(':', 1)[0]}:1.27', or a digest ('@sha256:...')")


def sidecar_container_settings(app: AppSpec) -> Iterator[Problem]:
    """A sidecar's `health_check` is empty or starts with CMD or CMD-SHELL, and a variable is not both in its
    `environment` and its `secrets`."""
    for svc in app.services:
        for side in svc.sidecars:
            loc = f"services.{svc.name}.sidecars.{side.name}"
            problem = health_check_problem(side.health_check)
            if problem:
                yield Problem(f"{loc}.health_check", problem)
            for name in sorted(set(side.environment) & set(side.secrets)):
                yield Problem(f"{loc}.secrets.{name}", f"{name} is also in environment; keep it in one of them")


def has_health_check(svc: ServiceSpec, container: str) -> bool:
    return bool(health_check(svc, container))


def health_check(svc: ServiceSpec, container: str) -> list[str]:
    """A container's health check: as given, else on a web service's ingress container the default probe of
    `health_check_path` on its port with wget (busybox, Alpine images) or curl; an image with neither needs its own
    check (or `[]`)."""
    found = next(c for c in containers(svc) if c.name == container)
    if found.health_check is not None:
        return list(found.health_check)
    name, port = ingress(svc)
    if svc.kind != "web" or container != name or port is None:
        return []
    url = shlex.quote(f"http://localhost:{port}{svc.health_check_path}")
    return ["CMD-SHELL", f"wget -q -O /dev/null {url} || curl -fsS -o /dev/null {url} || exit 1"]


def _hint(name: str, by_name) -> str:
    close = difflib.get_close_matches(name, list(by_name), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else f"containers are: {', '.join(by_name)}"


def _cycle(waits: dict[str, list[str]]) -> list[str] | None:
    """A circle of sidecars waiting for each other, as a path from its first container back to it; None if none."""
    def visit(node: str, path: list[str]) -> list[str] | None:
        for nxt in waits.get(node, []):
            if nxt in path:
                return path[path.index(nxt):] + [nxt]
            if nxt in waits and nxt != node:
                found = visit(nxt, path + [nxt])
                if found:
                    return found
        return None

    for start in waits:
        found = visit(start, [start])
        if found:
            return found
    return None


RULES = (sidecar_names, sidecar_dependencies, sidecar_sizes, sidecar_images, sidecar_container_settings)
