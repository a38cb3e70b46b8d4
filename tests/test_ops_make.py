"""The day-2 make targets: `make help` lists every target and every variable they read, and each value reaches
scripts/ops.py as one quoted word (checked with `make -n`, no AWS call)."""
from __future__ import annotations

import re
import shlex

import pytest

from tests.test_makefile_guard import ROOT, argv_of, make

MAKEFILE = (ROOT / "Makefile").read_text()
PHONY = {t for line in re.findall(r"^\.PHONY: (.*)$", MAKEFILE, flags=re.M) for t in line.split()}


def test_help_lists_every_target_and_every_variable(tmp_path):
    text = make(tmp_path, "help").stdout
    listed = set(re.findall(r"^  make (\S+)", text, flags=re.M))
    assert PHONY - {"help"} <= listed, f"targets missing from make help: {sorted(PHONY - listed - {'help'})}"
    variables = set(re.findall(r"^  ([A-Z_]+)[ =]", text, flags=re.M))
    ops_args = MAKEFILE.split("override OPS_ARGS =", 1)[1].split("\n\n", 1)[0]
    read = set(re.findall(r"\$\(([A-Z_]+)\)|_flag,([A-Z_]+)", ops_args))
    assert {name for pair in read for name in pair if name} <= variables


@pytest.mark.parametrize("target, variables, expected", [
    ("logs", ["SERVICE=api --follow", "SINCE=1h"], ["--service=api --follow", "--since=1h"]),
    ("logs", ["SERVICE=api", "FOLLOW=1", "FILTER=ERROR 500"], ["--follow", "--filter=ERROR 500"]),
    ("run", ["SERVICE=api", "CMD=npm run migrate -- --yes"], ["--cmd=npm run migrate -- --yes"]),
    ("release", ["SERVICE=web", "IMAGE_TAG=v1 --yes"], ["--tag=v1 --yes"]),
    ("build", ["SERVICE=web", "TAG=abc"], ["--tag=abc"]),
    ("rollback", ["SERVICE=web", "YES=1"], ["--yes"]),
])
def test_values_reach_the_script_as_one_word(tmp_path, target, variables, expected):
    argv = argv_of(tmp_path, target, "ENV=dev", *variables)
    script = {"build": "build-image", "push": "push-image"}.get(target, target)
    assert argv[1:3] == ["scripts/ops.py", script]
    for word in expected:
        assert word in argv
    assert "--yes" not in argv or "YES=1" in variables


def test_a_bad_flag_value_is_refused(tmp_path):
    result = make(tmp_path, "logs", "ENV=dev", "SERVICE=api", "FOLLOW=maybe", dry=True)
    assert result.returncode != 0 and "FOLLOW=maybe is not a flag value" in result.stderr


def test_sandbox_up_passes_the_cron_profile_only_when_asked(tmp_path):
    plain = make(tmp_path, "sandbox-up", dry=True).stdout.strip().splitlines()[-1]
    cron = make(tmp_path, "sandbox-up", "CRON=1", dry=True).stdout.strip().splitlines()[-1]
    assert shlex.split(plain)[:4] == ["docker", "compose", "--file", "sandbox/compose.yaml"]
    assert "--profile" not in plain and "--profile cron" in cron
