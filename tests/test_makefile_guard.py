"""The Makefile cannot be talked past the production guard: every variable reaches scripts/deploy.py as one quoted
value, which the script validates; only FORCE=1 passes --force. Checked with `make -n` (the exact command line) and
with real runs that stop before any AWS call (argument checks, the production guard) or at the first one (no
credentials), so no account is needed."""
from __future__ import annotations

import json
import os
import shlex
import subprocess
from pathlib import Path

import pytest

from tests.test_deploy_flows import APP   # dev, and prod with production: true

ROOT = Path(__file__).resolve().parent.parent


def make_env(tmp_path: Path) -> dict[str, str]:
    """No parent make's flags (they would add directory lines), no AWS settings or credentials of the caller."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES") and not k.startswith("AWS_")
           and k not in ("YES", "FORCE", "DRY_RUN", "ENV", "IMAGE_TAG", "BUCKET")}
    env.update(AWS_CONFIG_FILE=str(tmp_path / "none"), AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
               AWS_EC2_METADATA_DISABLED="true")
    return env


def make(tmp_path: Path, *args: str, dry: bool = False) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "--no-print-directory", *(["-n"] if dry else []), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, env=make_env(tmp_path))


def argv_of(tmp_path: Path, *args: str) -> list[str]:
    """The command make would run, split as the shell splits it."""
    result = make(tmp_path, *args, dry=True)
    assert result.returncode == 0, result.stderr
    return shlex.split(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("variables, value", [
    (["ENV=prod --force"], "--env=prod --force"),
    (["ENV=prod", "IMAGE_TAG=abc --force"], "--image-tag=abc --force"),
    (["ENV=prod", "IMAGE_TAG=--force"], "--image-tag=--force"),
    (["ENV=prod", "BUCKET=b --force --yes"], "--bucket=b --force --yes"),
    (["ENV=prod", "APP=app.yaml --force"], "--app=app.yaml --force"),
    (["ENV=prod", "OUT=t; --force"], "--templates=t; --force"),
    (["ENV=prod", "PARAMS=p' --force '"], "--params=p' --force '"),
    (["ENV=prod", "IMAGE_TAG=`echo --force`"], "--image-tag=`echo --force`"),
])
def test_a_value_never_becomes_an_option(tmp_path, variables, value):
    argv = argv_of(tmp_path, "destroy", *variables)
    assert value in argv                       # the whole value, as one argument
    assert "--force" not in argv and "--yes" not in argv


def test_a_command_line_deploy_args_does_not_replace_the_list(tmp_path):
    argv = argv_of(tmp_path, "destroy", "ENV=prod", "DEPLOY_ARGS=--env=prod --force", "_q=x --force")
    assert "--force" not in argv and "--env=prod" in argv


@pytest.mark.parametrize("flag", ["FORCE=1 --yes", "FORCE=maybe", "YES=yes please", "DRY_RUN=2"])
def test_flags_take_one_known_word(tmp_path, flag):
    result = make(tmp_path, "destroy", "ENV=prod", flag, dry=True)
    name, value = flag.split("=", 1)
    assert result.returncode == 2
    assert f"*** {name}={value} is not a flag value: use {name}=1 or leave it out.  Stop." in result.stderr


@pytest.mark.parametrize("flag, option", [("FORCE=1", "--force"), ("FORCE=yes", "--force"), ("YES=true", "--yes"),
                                          ("DRY_RUN=y", "--dry-run")])
def test_flags_still_pass_their_option(tmp_path, flag, option):
    assert option in argv_of(tmp_path, "destroy", "ENV=prod", flag)
    off = flag.split("=")[0] + "=0"
    assert option not in argv_of(tmp_path, "destroy", "ENV=prod", off)


@pytest.fixture
def project(tmp_path: Path) -> list[str]:
    (tmp_path / "app.yaml").write_text(APP)
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "root.yaml").write_text("Resources:\n  Q: {Type: AWS::SQS::Queue}\n")
    (tmp_path / "params").mkdir()
    for env in ("dev", "prod"):
        (tmp_path / "params" / f"{env}.json").write_text("[]")
        config = {"Parameters": {}, "Tags": {}, "StackPolicy": {"Statement": []}}
        (tmp_path / "params" / f"{env}.config.json").write_text(json.dumps(config))
    return [f"APP={tmp_path / 'app.yaml'}", f"OUT={tmp_path / 'templates'}", f"PARAMS={tmp_path / 'params'}"]


@pytest.mark.parametrize("variables, error", [
    (["ENV=prod --force"], "argument --env: 'prod --force' is not an environment name"),
    (["ENV=prod", "IMAGE_TAG=x --force"], "argument --image-tag: 'x --force' is not an image tag"),
    (["ENV=prod", "BUCKET=--force"], "argument --bucket: '--force' is not an S3 bucket name"),
])
def test_real_runs_refuse_smuggled_options_before_any_aws_call(tmp_path, project, variables, error):
    result = make(tmp_path, "destroy", *project, *variables, "DRY_RUN=1")
    assert result.returncode == 2, result.stdout + result.stderr
    [line] = [ln for ln in result.stderr.splitlines() if not ln.startswith("make: ***")]
    assert line.startswith("scripts/deploy.py destroy: error: " + error) and line.endswith("(see --help)")


def test_real_run_production_destroy_still_needs_force(tmp_path, project):
    result = make(tmp_path, "destroy", *project, "ENV=prod", "DRY_RUN=1", "DEPLOY_ARGS=--env=prod --force")
    assert result.returncode == 2   # make's status for a failed recipe
    assert "error: refusing to destroy production environment 'prod'" in result.stderr
    forced = make(tmp_path, "destroy", *project, "ENV=prod", "FORCE=1", "DRY_RUN=1")
    # FORCE=1 gets past the guard, as far as the first AWS call (there are no credentials here)
    assert "refusing to destroy" not in forced.stderr
    assert "error: no usable AWS credentials" in forced.stderr
