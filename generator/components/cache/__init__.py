"""The cache component: one ElastiCache (Valkey or Redis OSS) replication group per `caches[]` entry, with TLS, an
auth token from Secrets Manager, encryption at rest with its own KMS key, in the private subnets."""
from __future__ import annotations

from typing import TYPE_CHECKING

from generator.components import stores
from generator.components.attachments import Offer
from generator.components.base import Component
from generator.components.cache.spec import RULES, CacheEnv, CachesEnv, CacheSpec, env_inputs
from generator.components.cache.stack import TOKEN_SUFFIX, URL_SUFFIX, CacheOutputs, build
from generator.components.cache.types import TYPES

if TYPE_CHECKING:
    from generator.config import AppSpec


def offers(app: AppSpec) -> dict[str, Offer]:
    return {c.name: Offer(modes=("read-write",), default="read-write",
                          variables=(stores.variable(c.name, URL_SUFFIX), stores.variable(c.name, TOKEN_SUFFIX)))
            for c in app.caches}


COMPONENT = Component("cache", "one ElastiCache replication group", TYPES, RULES, spec_key="caches", spec=CacheSpec,
                      env=CachesEnv, settings=(CacheEnv,), offers=offers)

__all__ = ["COMPONENT", "CacheEnv", "CacheOutputs", "CacheSpec", "CachesEnv", "build", "env_inputs", "offers"]
