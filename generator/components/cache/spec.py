"""The caches' spec: `caches:` in app.yaml (CacheSpec), their per-environment settings (CacheEnv under
`environments.<env>.caches.<name>`, each a root parameter of that cache) and rules."""
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field, StringConstraints

from generator.components import stores
from generator.components.base import EnvInputs, Param
from generator.config.types import EnvironmentPart, Name, Strict
from generator.errors import Problem

if TYPE_CHECKING:
    from generator.config import AppSpec

PORT = 6379
# The versions node-based ElastiCache clusters offer for new replication groups, by engine. Source: "Supported engines
# and versions", Amazon ElastiCache user guide (https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/
# supported-engine-versions.html): Valkey 7.2 and later (7.2, 8.0, 8.1, 8.2), Redis OSS 7.1 and earlier (TLS with
# an auth token needs 6.0 or later, and only 6.2, 7.0 and 7.1 remain in standard support). Neither botocore nor
# cfn-lint ships the list, so a new version is added here.
ENGINE_VERSIONS = {"valkey": ("7.2", "8.0", "8.1", "8.2"), "redis": ("6.2", "7.0", "7.1")}
DEFAULT_VERSION = {"valkey": "8.1", "redis": "7.1"}
NodeType = Annotated[str, StringConstraints(pattern=r"^cache\.[a-z0-9]+\.[a-z0-9]+$")]


class CacheSpec(Strict):
    """One ElastiCache cache: a Valkey or Redis OSS replication group with TLS, an auth token and encryption at rest,
    in the private subnets."""

    name: Name = Field(description="Lowercase name, unique across all data stores (e.g. `broker`); services see "
                                   "`<NAME>_URL` (`rediss://host:6379`) and the token as `<NAME>_AUTH_TOKEN`.")
    engine: Literal["valkey", "redis"] = Field("valkey", description="`valkey` or `redis` (Redis OSS).")
    engine_version: str | None = Field(
        None, description="Major.minor version ElastiCache offers for the engine (valkey: 7.2, 8.0, 8.1, 8.2; redis: "
                          "6.2, 7.0, 7.1). Default: valkey 8.1, redis 7.1.")

    @property
    def version(self) -> str:
        return self.engine_version or DEFAULT_VERSION[self.engine]


MAX_NODES = 6   # nodes of a replication group (one primary, five replicas)


class CacheEnv(Strict):
    """One cache's settings in one environment (`environments.<env>.caches.<name>`)."""

    node_type: Annotated[NodeType, Param("node type")] = Field(
        "cache.t4g.micro", description="ElastiCache node type, e.g. `cache.t4g.micro` or `cache.r7g.large`.")
    nodes: Annotated[int | None, Param("nodes")] = Field(
        None, ge=1, le=MAX_NODES, description="Nodes: one primary and the rest replicas in other zones (2 or more: automatic "
                                      "failover and Multi-AZ). Default: 2 in production, 1 elsewhere.")
    snapshot_retention_days: Annotated[int | None, Param("snapshot retention (days)")] = Field(
        None, ge=0, le=35, description="Days daily snapshots are kept (0: none). Default: 7 in production, 0 "
                                       "elsewhere.")


class CachesEnv(EnvironmentPart):
    """An environment's cache settings (a field of `environments.<env>`)."""

    caches: dict[Name, CacheEnv] = Field(
        default_factory=dict, description="Per-cache settings in this environment, keyed by cache name.")


def settings(app: "AppSpec", env: str, name: str) -> CacheEnv:
    spec = app.environments[env].caches.get(name) or CacheEnv()
    production = app.environments[env].production
    return spec.model_copy(update={
        "nodes": spec.nodes or (2 if production else 1),
        "snapshot_retention_days": spec.snapshot_retention_days if spec.snapshot_retention_days is not None
        else (7 if production else 0)})


def env_inputs(app: "AppSpec", cache: CacheSpec) -> EnvInputs[CacheEnv]:
    return stores.env_inputs(app, "caches", cache.name, CacheEnv, settings)


def cache_settings_name_caches(app: "AppSpec") -> Iterator[Problem]:
    """`environments.<env>.caches` names caches of the app."""
    yield from stores.settings_name_stores(app, "caches")


def cache_engine_versions_exist(app: "AppSpec") -> Iterator[Problem]:
    """A cache's `engine_version` is one ElastiCache offers for its engine (valkey: 7.2, 8.0, 8.1, 8.2; redis: 6.2,
    7.0, 7.1)."""
    for cache in app.caches:
        versions = ENGINE_VERSIONS[cache.engine]
        if cache.engine_version is not None and cache.engine_version not in versions:
            yield Problem(f"caches.{cache.name}.engine_version",
                          f"{cache.engine_version!r} is not a {cache.engine} version ElastiCache offers; use one of "
                          f"{', '.join(versions)}")


RULES = (cache_settings_name_caches, cache_engine_versions_exist)
