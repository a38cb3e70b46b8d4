"""Facts about AWS that the spec is checked against, read from data the pinned packages ship (never a hand list):

- regions: the regions cfn-lint validates templates for (`cfnlint.helpers.REGIONS`; the build's lint gate refuses any
  other region, so the spec does first);
- Aurora engine versions: the `EngineVersion` values cfn-lint's AWS::RDS::DBCluster extension schemas allow per
  engine (`engine_version.json`, from the RDS DescribeDBEngineVersions data) and those it marks deprecated
  (`engine_version_deprecated.json`, warning W3690); botocore ships API models only, no version lists;
- time zones: the IANA time zone database of the pinned `tzdata` package (`tzdata/zones`, `tzdata.zi`), never the
  machine's /usr/share/zoneinfo, which differs between machines and holds names such as `localtime` or
  `posixrules` that only mean something on that machine.
"""
from __future__ import annotations

import ast
import functools
import json
from pathlib import Path

from generator.lint import cfnlint_dir  # found without importing cfn-lint


@functools.cache
def regions() -> frozenset[str]:
    """`cfnlint.helpers.REGIONS` (the keys of its AVAILABILITY_ZONES literal), read from the source file: importing
    cfn-lint takes most of a second, more than the rest of a build without the lint gate."""
    text = (cfnlint_dir() / "helpers.py").read_text(encoding="utf-8")
    start = text.find("\nAVAILABILITY_ZONES = {")
    end = text.find("\n}\n", start)
    if start < 0 or end < 0:   # another layout: import it after all
        from cfnlint.helpers import REGIONS
        return frozenset(REGIONS)
    return frozenset(ast.literal_eval(text[text.index("{", start):end + 2]))


def _versions_by_engine(name: str) -> dict[str, frozenset[str]]:
    path = cfnlint_dir() / "data" / "schemas" / "extensions" / "aws_rds_dbcluster" / f"{name}.json"
    found: dict[str, frozenset[str]] = {}
    for branch in json.loads(path.read_text(encoding="utf-8"))["allOf"]:
        props = branch.get("if", {}).get("properties", {})
        engine = props.get("Engine", {}).get("const")
        if engine is None:
            continue
        enum = props.get("EngineVersion", {}).get("enum") or \
            branch.get("then", {}).get("properties", {}).get("EngineVersion", {}).get("enum", [])
        found[engine] = frozenset(str(v) for v in enum)
    return found


@functools.cache
def engine_versions() -> dict[str, frozenset[str]]:
    """Engine -> every version cfn-lint accepts for an Aurora/RDS cluster."""
    return _versions_by_engine("engine_version")


@functools.cache
def deprecated_engine_versions() -> dict[str, frozenset[str]]:
    """Engine -> the versions cfn-lint marks deprecated (RDS no longer creates clusters with them)."""
    return _versions_by_engine("engine_version_deprecated")


def current_engine_versions(engine: str) -> list[str]:
    """The versions of `engine` a new cluster can use (known, not deprecated), oldest first."""
    deprecated = deprecated_engine_versions().get(engine, frozenset())
    return sorted(engine_versions().get(engine, frozenset()) - deprecated, key=version_key)


def version_key(version: str) -> tuple:
    return tuple(int(p) if p.isdigit() else -1 for p in version.replace("-", ".").split("."))


def _tzdata_text(name: str) -> str:
    """A data file of the tzdata package. Read beside its __init__ (an installed package's files are there), which
    spares every load the import of importlib.resources (tempfile, shutil, bz2, lzma, zipfile: about 7 ms, for the
    time zone check every app with a service runs); importlib.resources where the file is not on disk (a zipped
    package)."""
    import tzdata

    path = Path(tzdata.__file__).parent.joinpath(*name.split("/"))
    if path.is_file():
        return path.read_text(encoding="utf-8")
    import importlib.resources
    return importlib.resources.files("tzdata").joinpath(name).read_text(encoding="utf-8")


@functools.cache
def time_zones() -> frozenset[str]:
    """Every IANA name (zones and their backward-compatible links), without `Factory` (a placeholder zone whose
    abbreviation is "-00", not a place)."""
    return frozenset(line.strip() for line in _tzdata_text("zones").splitlines() if line.strip()) - {"Factory"}


@functools.cache
def time_zone_links() -> dict[str, str]:
    """Link name -> its canonical zone (`US/Pacific` -> `America/Los_Angeles`), from tzdata's `tzdata.zi`."""
    links = {}
    for line in _tzdata_text("zoneinfo/tzdata.zi").splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "L":
            links[parts[2]] = parts[1]
    return links
