"""The tables' spec: `tables:` in app.yaml (TableSpec), their per-environment settings (TableEnv under
`environments.<env>.tables.<name>`, each a root parameter of that table) and rules."""
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field, StringConstraints

from generator.components import stores
from generator.components.base import EnvInputs, Param
from generator.config.types import EnvironmentPart, Name, Strict
from generator.errors import Problem

if TYPE_CHECKING:
    from generator.config import AppSpec

AttributeName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,255}$")]
STREAM_VIEWS = {"keys-only": "KEYS_ONLY", "new-image": "NEW_IMAGE", "old-image": "OLD_IMAGE",
                "new-and-old-images": "NEW_AND_OLD_IMAGES"}


class KeySpec(Strict):
    """A key attribute of a table."""

    name: AttributeName = Field(description="Attribute name, e.g. `connection_id`.")
    type: Literal["S", "N", "B"] = Field("S", description="`S` (string), `N` (number) or `B` (binary).")


class TableSpec(Strict):
    """One DynamoDB table: on demand (pay per request), point-in-time recovery on, encrypted with its own KMS key."""

    name: Name = Field(description="Lowercase name, unique across all data stores (e.g. `messages`); services see the "
                                   "table's name as `<NAME>_TABLE`. The physical name is `<app>-<env>-<name>`.")
    partition_key: KeySpec = Field(description="The partition (hash) key.")
    sort_key: KeySpec | None = Field(None, description="The sort (range) key, if items share a partition key.")
    ttl_attribute: AttributeName | None = Field(
        None, description="A number attribute holding an expiry time (seconds since the epoch); DynamoDB deletes "
                          "expired items within days of that time.")
    stream: Literal["keys-only", "new-image", "old-image", "new-and-old-images"] | None = Field(
        None, description="A DynamoDB stream of item changes, with `keys-only`, `new-image`, `old-image` or "
                          "`new-and-old-images` in each record. Off when omitted.")


class TableEnv(Strict):
    """One table's settings in one environment (`environments.<env>.tables.<name>`)."""

    deletion_protection: Annotated[bool | None, Param("deletion protection")] = Field(
        None, description="Refuse deleting the table (also through CloudFormation) until this is turned off. "
                          "Default: on in production.")


class TablesEnv(EnvironmentPart):
    """An environment's table settings (a field of `environments.<env>`)."""

    tables: dict[Name, TableEnv] = Field(
        default_factory=dict, description="Per-table settings in this environment, keyed by table name.")


def settings(app: "AppSpec", env: str, table: str) -> TableEnv:
    spec = app.environments[env].tables.get(table) or TableEnv()
    protect = app.environments[env].production if spec.deletion_protection is None else spec.deletion_protection
    return spec.model_copy(update={"deletion_protection": protect})


def env_inputs(app: "AppSpec", table: TableSpec) -> EnvInputs[TableEnv]:
    return stores.env_inputs(app, "tables", table.name, TableEnv, settings)


def table_settings_name_tables(app: "AppSpec") -> Iterator[Problem]:
    """`environments.<env>.tables` names tables of the app."""
    yield from stores.settings_name_stores(app, "tables")


def keys_are_distinct(app: "AppSpec") -> Iterator[Problem]:
    """A table's `sort_key` and `ttl_attribute` differ from its `partition_key` (and from each other): DynamoDB
    defines each key attribute once, and a key attribute cannot expire items."""
    for table in app.tables:
        keys = [table.partition_key.name] + ([table.sort_key.name] if table.sort_key else [])
        if len(set(keys)) < len(keys):
            yield Problem(f"tables.{table.name}.sort_key", f"'{keys[1]}' is already the partition key; name another "
                                                           "attribute, or leave sort_key out")
        if table.ttl_attribute in keys:
            yield Problem(f"tables.{table.name}.ttl_attribute", f"'{table.ttl_attribute}' is a key attribute; name a "
                                                                "separate number attribute for the expiry time")


RULES = (table_settings_name_tables, keys_are_distinct)
