"""Replacing app.yaml with any valid app, then `make templates`, keeps `make test` green.

The proof: a copy of this repository in a temporary directory (the same files, this test run's virtual environments
linked in), its app.yaml replaced by a different valid app (one that `init` writes from flags, one of the fixture
apps), `make templates` there, and then the tests about "this repository's app" (the `this-app` cases: output in
sync, deterministic, lint-clean, parameter files fitting, cost and diagram drawn; checkov and the rehearsal too for
the first app) run in that copy, after the whole suite is collected there (a module that reads the old app's
names at import would fail collection). The generator's own tests read examples/ and tests/fixtures/apps/, which
the copy keeps unchanged, so they are not rerun.

Cost: each case builds its app through the whole gate and starts pytest twice in the copy. The fixture app's case
(the cheap modules: about 2 minutes on the shared 2-core machine) runs in `make test`; the `init` app's case adds
checkov and the emulator rehearsal (about 4 minutes there) and runs in `make test-any-app` (marker `any_app`),
which `make test` leaves out to stay within its budget.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import FIXTURE_APPS, ROOT

pytestmark = pytest.mark.slow

# The repository's own output and local state, left out of the copy (the copy builds its own output).
LEFT_OUT = {".git", ".venv", ".venv-checkov", ".cache", ".pytest_cache", ".hypothesis", "__pycache__", "dist",
            "build", "templates_out", "params"}
# The test modules with `this-app` cases, and the cheap and the slow ones among them.
THIS_APP_MODULES = ["tests/test_golden.py", "tests/test_validation_gate.py", "tests/test_template_yaml.py",
                    "tests/test_codedeploy_invariance.py", "tests/test_tool_outputs.py"]
THIS_APP_SLOW = ["tests/test_checkov.py", "tests/test_rehearsal.py"]

INIT_FLAGS = ["--name", "shop", "--region", "us-east-1", "--services", "storefront:web:3000,mailer:worker,nightly:cron",
              "--database", "--environments", "dev,qa,production"]


def _copy(dest: Path) -> Path:
    def ignore(directory: str, names: list[str]) -> set[str]:
        at_root = Path(directory) == ROOT
        return {n for n in names if n in LEFT_OUT and (at_root or n not in ("templates_out", "params"))}
    shutil.copytree(ROOT, dest, ignore=ignore, symlinks=True)
    for venv in (".venv", ".venv-checkov"):
        (dest / venv).symlink_to(ROOT / venv, target_is_directory=True)
    return dest


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "PYTEST_"))}
    return subprocess.run(args, cwd=cwd, env={**env, "PYTHONPATH": str(cwd), "NO_COLOR": "1"}, capture_output=True,
                          text=True, timeout=1200)


def _swap_in(repo: Path, app_text: str | None, init_flags: list[str] | None = None) -> None:
    (repo / "app.yaml").unlink()
    if init_flags is not None:
        made = _run([sys.executable, "-m", "generator", "init", "--yes", "--output", "app.yaml", *init_flags], repo)
        assert made.returncode == 0, made.stderr
    else:
        (repo / "app.yaml").write_text(app_text)


def _make_templates_then_test(repo: Path, modules: list[str]) -> str:
    built = _run(["make", "--no-print-directory", "templates"], repo)
    assert built.returncode == 0, built.stdout + built.stderr
    collected = _run([sys.executable, "-m", "pytest", "--collect-only", "-q"], repo)
    assert collected.returncode == 0, collected.stdout[-3000:] + collected.stderr[-3000:]
    ran = _run([sys.executable, "-m", "pytest", "-o", "addopts=-p no:cacheprovider", "-q", "-rs", "-k",
                "this-app or this_app", *modules], repo)
    assert ran.returncode == 0, ran.stdout[-6000:] + ran.stderr[-2000:]
    return ran.stdout


def _passed(out: str) -> int:
    found = re.search(r"(\d+) passed", out.strip().splitlines()[-1])
    return int(found[1]) if found else 0


def _fixture_as_root_app(name: str) -> str:
    """A fixture app moved to the repository root: only its schema line changes (a path relative to the file)."""
    lines = (FIXTURE_APPS / f"{name}.yaml").read_text().splitlines(keepends=True)
    return "# yaml-language-server: $schema=schema/app.schema.json\n" + "".join(lines[1:])


@pytest.mark.any_app
def test_an_app_written_by_init_passes_this_apps_tests(tmp_path):
    repo = _copy(tmp_path / "repo")
    _swap_in(repo, None, INIT_FLAGS)
    out = _make_templates_then_test(repo, THIS_APP_MODULES + THIS_APP_SLOW)
    assert "storefront" in (repo / "app.yaml").read_text()
    # the cases really ran for the new app (none deselected away, none skipped as "the same app as an example")
    assert _passed(out) >= 11 and "skipped" not in out, out


def test_a_fixture_app_without_web_services_passes_this_apps_tests(tmp_path):
    repo = _copy(tmp_path / "repo")
    _swap_in(repo, _fixture_as_root_app("workers"))
    out = _make_templates_then_test(repo, THIS_APP_MODULES)
    assert _passed(out) >= 8 and "skipped" not in out, out
