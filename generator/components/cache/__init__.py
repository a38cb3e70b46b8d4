"""The cache component: one ElastiCache (Valkey or Redis OSS) replication group per `caches[]` entry, with TLS, an
auth token from Secrets Manager, encryption at rest with its own KMS key, in the private subnets."""
from generator.components.base import Component
from generator.components.cache.spec import RULES, CacheEnv, CachesEnv, CacheSpec, env_inputs
from generator.components.cache.stack import CacheOutputs, build
from generator.components.cache.types import TYPES

COMPONENT = Component("cache", "one ElastiCache replication group", TYPES, RULES, spec_key="caches", spec=CacheSpec,
                      env=CachesEnv, settings=(CacheEnv,))

__all__ = ["COMPONENT", "CacheEnv", "CacheOutputs", "CacheSpec", "CachesEnv", "build", "env_inputs"]
