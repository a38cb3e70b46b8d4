"""The database's spec: `database:` in app.yaml (DatabaseSpec), its per-environment settings
(`environments.<env>.database`, DatabaseEnv: each a root parameter) and the rules about them.

Which engine versions run Aurora Serverless v2, and which of those can scale to 0 ACUs (auto-pause), is AWS
documentation, not data any pinned package ships; it lives in `engines.py` with the pages it comes from.
"""
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Literal

import annotated_types
from pydantic import Field, StringConstraints, computed_field

from generator.components.attachments import Offer
from generator.components.base import EnvInputs, NotAParameter, Param
from generator.components.database import engines
from generator.config import aws_facts
from generator.config.types import EnvironmentPart, Strict
from generator.errors import Problem

if TYPE_CHECKING:
    from generator.config import AppSpec

GROUP = "Database"
NAME = "database"                # what services list in `uses`
VARIABLES = ("DB_HOST", "DB_PORT", "DB_NAME", "DB_USER", "DB_PASSWORD")   # what they get (docs/database.md)
DEFAULT_ENGINE_VERSION = "17.7"  # a current Aurora PostgreSQL version (a test checks it against cfn-lint's data)
DEFAULT_PORTS = {"aurora-postgresql": 5432, "aurora-mysql": 3306}
MAX_READERS = 2                  # reader instances an environment may ask for (one Condition each)
# A manual cluster snapshot identifier, or the ARN of a shared one (RDS: 1-255 letters, digits, hyphens; starts with
# a letter). `make snapshot` names them <app>-<env>-<UTC time>.
SNAPSHOT_ID = r"^([A-Za-z][A-Za-z0-9-]{0,254}|arn:aws[a-z-]*:rds:[a-z0-9-]+:[0-9]{12}:cluster-snapshot:[A-Za-z0-9:-]{1,255})$"
SnapshotId = Annotated[str, StringConstraints(pattern=SNAPSHOT_ID)]


class DatabaseSpec(Strict):
    """The app's relational database: one Aurora Serverless v2 cluster per environment."""

    engine: Literal["aurora-postgresql", "aurora-mysql"] = Field(
        "aurora-postgresql", description="Aurora engine (Serverless v2).")
    engine_version: str = Field(
        DEFAULT_ENGINE_VERSION, description=f"Engine version, e.g. `{DEFAULT_ENGINE_VERSION}`; one RDS offers for new "
                                            "Aurora Serverless v2 clusters (not deprecated).")
    name: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,62}$")] = Field(
        "app", description="Name of the database created in the cluster.")
    port: int | None = Field(
        None, ge=1150, le=65535, description="Port the database listens on. Default: 5432 (PostgreSQL), 3306 (MySQL).")

    @property
    def listen_port(self) -> int:
        return self.port if self.port is not None else DEFAULT_PORTS[self.engine]


Acu = Annotated[float, annotated_types.Ge(0), annotated_types.Le(256), annotated_types.MultipleOf(0.5)]


class DatabaseEnv(Strict):
    """An environment's database (`environments.<env>.database`); every field a root parameter."""

    min_capacity: Annotated[Acu | None, Param("Minimum ACUs")] = Field(
        None, description="Least Aurora capacity units (ACUs, steps of 0.5) each instance keeps. 0 pauses an idle "
                          "instance (auto-pause) on engine versions that support it. Default: 0 outside production "
                          "where the engine supports it (else 0.5), 0.5 in production.")
    max_capacity: Annotated[Acu | None, Param("Maximum ACUs")] = Field(
        None, description="Most ACUs each instance scales to (steps of 0.5, 1-256). Default: 16 in production, 4 "
                          "elsewhere.")
    readers: Annotated[Literal[0, 1, 2] | None, Param("Reader instances")] = Field(
        None, description="Reader instances beside the writer (0-2); one takes over if the writer's zone fails. "
                          "Default: 1 in production (at least 1 there), 0 elsewhere.")
    backup_retention_days: Annotated[int | None, Param("Backup retention (days)")] = Field(
        None, ge=1, le=35, description="Days of automated backups (point-in-time restore window), 1-35. Default: 30 "
                                       "in production, 7 elsewhere.")
    deletion_protection: Annotated[bool | None, Param("Deletion protection")] = Field(
        None, description="Refuse to delete the cluster until this is switched off. Default: on in production.")
    performance_insights: Annotated[bool | None, Param("Performance Insights")] = Field(
        None, description="Performance Insights on every instance (7 days, free tier). Default: on in production.")
    auto_pause_minutes: Annotated[int, NotAParameter("the template takes it in seconds (AutoPauseSeconds)")] = Field(
        5, ge=5, le=1440, description="With `min_capacity: 0`: minutes without connections before an instance "
                                      "pauses (5-1440).")
    restore_from: Annotated[SnapshotId | None, Param(  # type: ignore[valid-type]
        "Restore from snapshot", absent="", default="", pattern=lambda app: SNAPSHOT_ID,
        constraint="empty, or a cluster snapshot identifier or ARN")] = Field(
        None, description="A cluster snapshot the cluster is created from (`make restore`, docs/database.md). "
                          "Setting or changing it REPLACES the cluster with one restored from the snapshot; once "
                          "set, keep it: removing it replaces the cluster with an empty one.")
    @computed_field(description="Seconds without connections before an instance pauses (with MinCapacity 0).")
    @property
    def auto_pause_seconds(self) -> Annotated[int, Param("Auto-pause after (seconds)")]:
        return self.auto_pause_minutes * 60

    notes: Annotated[str | None, NotAParameter("only people read it (runbooks)")] = Field(
        None, description="Free text for operators, e.g. why this environment deviates from the defaults.")


class DatabaseEnvironment(EnvironmentPart):
    """The database's block of an environment (a field of `environments.<env>`)."""

    database: DatabaseEnv | None = Field(
        None, description="This environment's database settings: capacity, readers, backups, protection, restore.")


def _defaults(app: "AppSpec", env: str) -> DatabaseEnv:
    return app.environments[env].database or DatabaseEnv()


def settings(app: "AppSpec", env: str) -> DatabaseEnv:
    """An environment's database settings with every default resolved."""
    spec, production = _defaults(app, env), app.environments[env].production
    db = app.database
    pausable = db is not None and engines.supports_auto_pause(db.engine, db.engine_version)
    low = spec.min_capacity if spec.min_capacity is not None else (0.5 if production or not pausable else 0.0)
    return spec.model_copy(update={
        "min_capacity": low,
        "max_capacity": spec.max_capacity if spec.max_capacity is not None else (16.0 if production else 4.0),
        "readers": spec.readers if spec.readers is not None else (1 if production else 0),
        "backup_retention_days": spec.backup_retention_days or (30 if production else 7),
        "deletion_protection": production if spec.deletion_protection is None else spec.deletion_protection,
        "performance_insights": production if spec.performance_insights is None else spec.performance_insights,
    })


def env_inputs(app: "AppSpec") -> EnvInputs[DatabaseEnv]:
    return EnvInputs(DatabaseEnv, GROUP, settings, app=app)


def offers(app: "AppSpec") -> dict[str, Offer]:
    """The database is a store services may `use` (docs/attachments.md): read-write only (one set of credentials,
    the writer's endpoint)."""
    return {NAME: Offer(("read-write",), "read-write", VARIABLES)} if app.database is not None else {}


# --- rules -------------------------------------------------------------------------------------------------------

def database_engine_version(app: "AppSpec") -> Iterator[Problem]:
    """`database.engine_version` is a version RDS offers for the engine and has not deprecated (the lists cfn-lint
    ships), not a Limitless Database version, and one Aurora Serverless v2 runs on (docs/database.md lists the
    minimum versions)."""
    db = app.database
    if db is None:
        return
    current = [v for v in aws_facts.current_engine_versions(db.engine)
               if "-" not in v and engines.supports_serverless_v2(db.engine, v)]
    same_major = [v for v in current if v.split(".")[0] == db.engine_version.split(".")[0]]
    suggest = ", ".join((same_major or current)[-3:])
    loc, shown = "database.engine_version", repr(db.engine_version)
    if db.engine_version not in aws_facts.engine_versions().get(db.engine, ()):
        yield Problem(loc, f"{shown} is not a version of {db.engine}; use one such as {suggest}")
    elif db.engine_version in aws_facts.deprecated_engine_versions().get(db.engine, ()):
        yield Problem(loc, f"{shown} is deprecated: RDS no longer creates {db.engine} clusters with it; use one "
                           f"such as {suggest}")
    elif "limitless" in db.engine_version:
        yield Problem(loc, f"{shown} is for Aurora Limitless Database, which this stack does not create; use one "
                           f"such as {suggest}")
    elif not engines.supports_serverless_v2(db.engine, db.engine_version):
        yield Problem(loc, f"{shown} does not run Aurora Serverless v2 ({engines.serverless_v2_minimum(db.engine)}); "
                           f"use one such as {suggest}")


def database_settings_need_a_database(app: "AppSpec") -> Iterator[Problem]:
    """`environments.<env>.database` is given only when the app has a `database`."""
    if app.database is not None:
        return
    for name, env in app.environments.items():
        if env.database is not None:
            yield Problem(f"environments.{name}.database", "the app has no `database` block; add one, or remove "
                                                           "these settings")


def database_capacity_range(app: "AppSpec") -> Iterator[Problem]:
    """An environment's database capacity is a range: `max_capacity` is at least 1 and at least `min_capacity`, and
    `min_capacity: 0` (auto-pause) is only for engine versions that support it, never in production."""
    db = app.database
    if db is None:
        return
    for name in app.environments:
        if app.environments[name].database is None:
            continue
        s, loc = settings(app, name), f"environments.{name}.database"
        assert s.min_capacity is not None and s.max_capacity is not None
        if s.max_capacity < 1:
            yield Problem(f"{loc}.max_capacity", f"{s.max_capacity:g} ACUs is below the smallest maximum Aurora "
                                                 "Serverless v2 accepts; use 1 or more")
        elif s.min_capacity > s.max_capacity:
            yield Problem(f"{loc}.min_capacity", f"{s.min_capacity:g} ACUs is above max_capacity "
                                                 f"({s.max_capacity:g}); lower it or raise max_capacity")
        if s.min_capacity == 0 and app.environments[name].production:
            yield Problem(f"{loc}.min_capacity", "production never pauses its database (the first request after a "
                                                 "pause waits about 15 seconds); use 0.5 or more")
        elif s.min_capacity == 0 and not engines.supports_auto_pause(db.engine, db.engine_version):
            yield Problem(f"{loc}.min_capacity", f"{db.engine} {db.engine_version} cannot pause at 0 ACUs "
                                                 f"({engines.auto_pause_minimum(db.engine)}); use 0.5, or upgrade "
                                                 "the engine version")


def production_database_has_a_reader(app: "AppSpec") -> Iterator[Problem]:
    """A production database has at least one reader instance, which takes over when the writer or its zone
    fails."""
    if app.database is None:
        return
    for name, env in app.environments.items():
        if env.production and settings(app, name).readers == 0:
            yield Problem(f"environments.{name}.database.readers",
                          "production keeps at least one reader (failover to another zone); use 1 or 2")


def database_restarts_within_a_week(app: "AppSpec") -> Iterator[Problem]:
    """With a database whose engine version cannot pause at 0 ACUs (which is then stopped at night instead), an
    environment's `off_hours` `start` fires at least once a week (any day of the month, every month, every year):
    RDS starts a cluster that has been stopped for seven days by itself, and would then keep it running unseen."""
    db = app.database
    if db is None or engines.supports_auto_pause(db.engine, db.engine_version):
        return
    for name, env in app.environments.items():
        if env.off_hours is None or not env.off_hours.start.startswith("cron("):
            continue
        fields = env.off_hours.start.removeprefix("cron(").removesuffix(")").split()
        if len(fields) == 6 and not (fields[2] in ("*", "?") and fields[3] == "*" and fields[5] == "*"):
            yield Problem(f"environments.{name}.off_hours.start",
                          f"{env.off_hours.start} does not start the stopped database every week (RDS restarts a "
                          "cluster stopped for seven days); use a weekly or daily time such as "
                          "cron(0 7 ? * MON-FRI *)")


RULES = (database_engine_version, database_settings_need_a_database, database_capacity_range,
         production_database_has_a_reader, database_restarts_within_a_week)
