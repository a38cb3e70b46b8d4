"""checkov over every committed template set: zero failed checks; every skip carries its reason in Metadata."""
from __future__ import annotations

import functools
import json
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.support import CHECKOV, SCANNED_SETS, app_id, read_dir
from tests.templates import load

pytestmark = pytest.mark.slow


def _scan(directory) -> list[dict]:
    if not CHECKOV.exists():
        pytest.fail(f"{CHECKOV} is missing: run `make test`, which installs it from requirements-checkov.lock")
    proc = subprocess.run([str(CHECKOV), "-d", str(directory), "--framework", "cloudformation", "--quiet",
                           "--compact", "--skip-download", "-o", "json"], capture_output=True, text=True, timeout=600)
    data = json.loads(proc.stdout)
    return data if isinstance(data, list) else [data]


@functools.cache
def _scans() -> dict[Path, list[dict]]:
    """Every set scanned once, two checkov processes at a time (one per core: each is single-threaded and spends
    about 5 s starting). One run over all sets together was slower: checkov's cost grows faster than the files."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(SCANNED_SETS, pool.map(_scan, [templates for templates, _ in SCANNED_SETS.values()])))


@pytest.mark.parametrize("app_path", list(SCANNED_SETS), ids=app_id)
def test_checkov_finds_nothing(app_path):
    reports = _scans()[app_path]
    failed = [f"{c['check_id']} {c['resource']} ({c['file_path']}): {c['check_name']}"
              for r in reports for c in r["results"]["failed_checks"]]
    assert failed == []
    assert sum(r["summary"]["passed"] for r in reports) > 10


@pytest.mark.parametrize("app_path", list(SCANNED_SETS), ids=app_id)
def test_every_checkov_skip_gives_a_reason(app_path):
    templates, _ = SCANNED_SETS[app_path]
    for name, text in read_dir(templates).items():
        for logical_id, res in load(text)["Resources"].items():
            for skip in res.get("Metadata", {}).get("checkov", {}).get("skip", []):
                assert skip["id"].startswith("CKV") and len(skip.get("comment", "")) >= 20, f"{name}: {logical_id}"
