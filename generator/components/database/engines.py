"""Which Aurora engine versions run Serverless v2, and which of those scale to 0 ACUs (auto-pause).

No pinned package ships these facts (cfn-lint's data lists the versions RDS offers, botocore none), so they are the
AWS documentation's, kept here with their pages:

- Serverless v2: "Supported Regions and Aurora DB engines for Aurora Serverless v2"
  (https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Concepts.Aurora_Fea_Regions_DB-eng.Feature.ServerlessV2.html):
  Aurora MySQL version 3.02.0 and higher (8.0-compatible) and 8.4; Aurora PostgreSQL 13.6, 14.3, 15.2, 16.1 and
  higher, and every 17 version.
- Auto-pause (minimum capacity 0 ACUs): "Scaling to Zero ACUs with automatic pause and resume for Aurora Serverless
  v2" (https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-serverless-v2-auto-pause.html) points to
  the capacity table of "How Aurora Serverless v2 works": Aurora PostgreSQL 13.15, 14.12, 15.7, 16.3 and higher
  (17: all), Aurora MySQL 3.08.0 and higher. `ServerlessV2FeaturesSupport.MinCapacity` of DescribeDBEngineVersions
  answers the same per version ("If the minimum capacity is 0 ACUs, the engine version ... supports the automatic
  pause/resume feature", RDS API reference).

A major version newer than those the pages list (PostgreSQL 18) is taken to support both: each new major so far has
supported every Serverless v2 feature of the one before. Aurora MySQL 8.4 is not listed for auto-pause, so it gets the
scheduled stop and start instead (stack.py), which works on every version.
"""
from __future__ import annotations

# engine -> {major: minimum version}, versions as tuples of ints
SERVERLESS_V2 = {
    "aurora-postgresql": {13: (13, 6), 14: (14, 3), 15: (15, 2), 16: (16, 1), 17: (17,)},
    "aurora-mysql": {3: (3, 2, 0), 8: (8, 4)},
}
AUTO_PAUSE = {
    "aurora-postgresql": {13: (13, 15), 14: (14, 12), 15: (15, 7), 16: (16, 3), 17: (17,)},
    "aurora-mysql": {3: (3, 8, 0)},
}
NEWEST_LISTED = {"aurora-postgresql": 17, "aurora-mysql": 8}


def _version(engine: str, version: str) -> tuple[int, ...] | None:
    """`16.9` -> (16, 9); `8.0.mysql_aurora.3.08.0` -> (3, 8, 0) (the Aurora release, which the pages use);
    `8.4.mysql_aurora.8.4.7` and `8.4` -> (8, 4, ...)."""
    text = version.split(".mysql_aurora.", 1)[-1] if engine == "aurora-mysql" else version
    if engine == "aurora-mysql" and text.startswith("5.7"):
        return (2,)   # Aurora MySQL version 2
    try:
        return tuple(int(p) for p in text.split("."))
    except ValueError:
        return None


def _supported(table: dict[str, dict[int, tuple[int, ...]]], engine: str, version: str) -> bool:
    parsed = _version(engine, version)
    if parsed is None:
        return False
    if parsed[0] > NEWEST_LISTED[engine]:
        return True
    minimum = table[engine].get(parsed[0])
    return minimum is not None and parsed >= minimum


def supports_serverless_v2(engine: str, version: str) -> bool:
    return _supported(SERVERLESS_V2, engine, version)


def supports_auto_pause(engine: str, version: str) -> bool:
    return _supported(AUTO_PAUSE, engine, version)


# How the pages word the minimums (messages).
SERVERLESS_V2_TEXT = {"aurora-postgresql": "13.6, 14.3, 15.2, 16.1 and higher, or 17",
                      "aurora-mysql": "3.02.0 and higher (8.0.mysql_aurora.3.xx.x), or 8.4"}
AUTO_PAUSE_TEXT = {"aurora-postgresql": "13.15, 14.12, 15.7, 16.3 and higher, or 17",
                   "aurora-mysql": "3.08.0 and higher (8.0.mysql_aurora.3.08.0)"}


def serverless_v2_minimum(engine: str) -> str:
    return f"Serverless v2 needs {SERVERLESS_V2_TEXT[engine]}"


def auto_pause_minimum(engine: str) -> str:
    return f"auto-pause needs {AUTO_PAUSE_TEXT[engine]}"


def parameter_group_family(engine: str, version: str) -> str:
    """The parameter group family of an engine version: `aurora-postgresql16`, `aurora-mysql8.0`."""
    if engine == "aurora-mysql":
        return "aurora-mysql" + ".".join(version.split(".")[:2])
    return "aurora-postgresql" + version.split(".")[0]


# The default max_connections of a Serverless v2 instance, by its maximum ACUs: Aurora User Guide, "Performance and
# scaling for Aurora Serverless v2", section "Maximum connections for Aurora Serverless v2"
# (https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-serverless-v2.setting-capacity.html
# #aurora-serverless-v2.max-connections): RDS derives it from the memory of the maximum capacity, not the current
# one, and holds it while the instance scales. The table's rows (maximum ACUs -> connections); between rows the alarm
# takes the row at or below the maximum, so it errs early, never late.
MAX_CONNECTIONS = {
    "aurora-mysql": ((1, 90), (4, 135), (8, 1000), (16, 2000), (32, 3000), (64, 4000), (128, 5000)),
    "aurora-postgresql": ((1, 189), (4, 823), (8, 1669), (16, 3360), (32, 5000)),
}
# Same page, its note: with a minimum capacity of 0.5 ACUs (and 0, AWS re:Post "Working of max_connections for
# Amazon Aurora PostgreSQL Serverless") Aurora PostgreSQL caps max_connections at 2,000.
POSTGRESQL_LOW_MINIMUM_CAP = 2000
