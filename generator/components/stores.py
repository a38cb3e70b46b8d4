"""What the data-store components share (caches, queues, tables, buckets, file systems; docs/data-stores.md).

Each kind of store is its own component package (`generator/components/{cache,queue,table,bucket,filesystem}/`):
its own block in app.yaml, its own per-environment settings, rules, resource types and one nested stack per store
(`queue-jobs.yaml`, logical id `QueueJobs`). This leaf module holds the little they have in common: how a store's
name becomes an environment variable prefix, the names of all stores of an app (one namespace, shared with
`database`), the store's own KMS key, and the rule every kind applies to its per-environment block.
"""
from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from awacs import kms as kms_actions
from awacs.aws import Action, Allow, Principal, Statement
from troposphere import GetAtt, Sub, kms

from generator import naming
from generator.components.base import EnvInputs
from generator.errors import Problem
from generator.policies.common import document
from generator.wiring import StackBuilder

if TYPE_CHECKING:
    from generator.config import AppSpec

# app.yaml key of each kind of store -> the word for one of them (messages, docs)
KINDS = {"caches": "cache", "queues": "queue", "tables": "table", "buckets": "bucket", "file_systems": "file system"}
DATABASE = "database"   # what `uses` calls the database; no other store may take the name


def env_prefix(name: str) -> str:
    """A store's name as it starts the environment variables of the services that use it: `user-files` ->
    `USER_FILES`."""
    return name.upper().replace("-", "_")


def variable(name: str, suffix: str) -> str:
    """The environment variable a service gets for a store: `variable("user-files", "_BUCKET")` ->
    `USER_FILES_BUCKET`."""
    return env_prefix(name) + suffix


def allow(sid: str, actions: str, *resources) -> Statement:
    """A task-role statement: `actions` as one whitespace-separated string, scoped to `resources`."""
    return Statement(Sid=sid, Effect=Allow, Action=[Action(*a.split(":", 1)) for a in actions.split()],
                     Resource=list(resources))


def stores_of(app: AppSpec) -> dict[str, str]:
    """Every data store of the app by name -> its kind's app.yaml key (`database` included when the app has one)."""
    found: dict[str, str] = {DATABASE: "database"} if app.database is not None else {}
    for key in KINDS:
        for store in getattr(app, key):
            found.setdefault(store.name, key)
    return found


def key_policy():
    """Account administrators manage a store's key; the store's service uses it through grants it creates with the
    credentials of whoever creates or uses the store (CloudFormation's role, a task role with `kms:` on this key), so
    the key policy names no service."""
    return document(Statement(
        Sid="AccountAdministers", Effect=Allow, Principal=Principal("AWS", Sub("arn:${AWS::Partition}:iam::"
                                                                               "${AWS::AccountId}:root")),
        Action=[kms_actions.Action("*")], Resource=["*"]))


def store_key(stack: StackBuilder, what: str) -> tuple[kms.Key, GetAtt]:
    """The store's own customer-managed key (rotated yearly); returns the key and its ARN."""
    key = stack.add(kms.Key("Key", Description=Sub(f"Encrypts the ${{Application}}-${{EnvironmentName}} {what}"),
                            EnableKeyRotation=True, KeyPolicy=key_policy()))
    return key, GetAtt(key, "Arn")


def env_inputs(app: AppSpec, key: str, name: str, model: type, settings) -> EnvInputs:
    """One store's per-environment settings as root parameters: `<Kind><Name><Setting>` (`CacheBrokerNodes`),
    grouped and labelled by the store (`Cache broker`, `cache broker: nodes`); `settings(app, env, name)` gives the
    model with its defaults resolved."""
    word = KINDS[key]
    return EnvInputs(model, f"{word.capitalize()} {name}", lambda a, e: settings(a, e, name), app=app,
                     prefix=naming.pascal(word.replace(" ", "-")) + naming.pascal(name), owner=f"{word} {name}")


def settings_name_stores(app: AppSpec, key: str) -> Iterator[Problem]:
    """`environments.<env>.<key>.<name>` names a store of that kind (the body of each kind's rule)."""
    names = [s.name for s in getattr(app, key)]
    for env_name, env in app.environments.items():
        for name in getattr(env, key):
            if name not in names:
                close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
                hint = f"did you mean '{close[0]}'?" if close else f"{key} are: {', '.join(names) or 'none'}"
                yield Problem(f"environments.{env_name}.{key}.{name}", f"no {KINDS[key]} is called '{name}'; {hint}")


def unique_store_names(app: AppSpec) -> Iterator[Problem]:
    """Every data store's name (caches, queues, tables, buckets, file_systems) is unique across all of them, and
    none is called `database` when the app has a database: `uses` names a store by its name alone."""
    seen: dict[str, str] = {DATABASE: "database"} if app.database is not None else {}
    for key in KINDS:
        for store in getattr(app, key):
            if store.name in seen:
                other = seen[store.name]
                what = "the database" if other == "database" else f"a {KINDS[other]} ({other})"
                yield Problem(f"{key}.{store.name}", f"'{store.name}' already names {what}; give each data store its "
                                                  "own name")
            seen.setdefault(store.name, key)
