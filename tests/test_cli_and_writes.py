"""The command line and the writer: exit codes, atomic swaps, failed builds leave output alone."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time

import pytest

from generator import cli
from generator.build import write
from generator.config import load_app
from generator.errors import OutputError, ValidationFailed
from generator.lint import gate
from tests.support import FIXTURE_APPS, ROOT, lint_by, problem_lines, read_dir

MINIMAL = FIXTURE_APPS / "minimal.yaml"


def _seed(tmp_path):
    out, params = tmp_path / "templates_out", tmp_path / "params"
    out.mkdir()
    params.mkdir()
    (out / "old.yaml").write_text("previous build\n")
    (params / "dev.json").write_text("[]\n")
    return out, params


def test_build_writes_templates_and_params_and_removes_stale_files(tmp_path, capsys):
    out, params = _seed(tmp_path)
    assert cli.main(["build", "--app", str(MINIMAL), "--out", str(out), "--params", str(params)]) == 0
    assert sorted(read_dir(out)) == ["cluster.yaml", "monitoring.yaml", "network.yaml", "registry.yaml", "root.yaml",
                                     "service-app.yaml"]
    assert json.loads((params / "dev.json").read_text())[0] == {"ParameterKey": "EnvironmentName",
                                                                "ParameterValue": "dev"}
    assert "wrote 6 templates" in capsys.readouterr().out
    assert not list(tmp_path.glob(".staging-*")), "no staging leftovers"


def test_failed_validation_leaves_output_exactly_as_it_was(tmp_path, monkeypatch, capsys):
    out, params = _seed(tmp_path)
    before = (read_dir(out), read_dir(params))
    monkeypatch.setattr(gate, "size_budgets", lambda *a, **k: ["templates_out/root.yaml: too big (injected)"])
    code = cli.main(["build", "--app", str(MINIMAL), "--out", str(out), "--params", str(params)])
    err = capsys.readouterr().err
    assert code == 1
    assert problem_lines(err) == ["validation failed; nothing was written (1 findings):",
                                "templates_out/root.yaml: too big (injected)"]
    assert (read_dir(out), read_dir(params)) == before
    assert not list(tmp_path.glob(".staging-*"))


def test_a_failed_swap_puts_the_previous_output_back(tmp_path, monkeypatch):
    out, params = _seed(tmp_path)
    before = (read_dir(out), read_dir(params))
    import generator.swap as swap
    real_rename = swap.os.rename
    failures = []

    def flaky_rename(src, dst):
        # the staged params directory fails to swap in, once; restoring works
        if str(dst) == str(params.resolve()) and ".staging-params." in str(src) and not failures:
            failures.append(src)
            raise OSError(28, "No space left on device (injected)")
        return real_rename(src, dst)

    monkeypatch.setattr(swap.os, "rename", flaky_rename)
    with pytest.raises(OutputError) as exc:
        write(load_app(MINIMAL), out, params)
    assert failures, "the injected failure happened"
    assert str(exc.value) == (f"{params}: could not be replaced (No space left on device (injected)); the "
                              "previous output was put back, nothing was changed")
    assert (read_dir(out), read_dir(params)) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["params", "templates_out"], "no staging, journal or lock"


def test_lint_findings_fail_the_build(tmp_path, monkeypatch):
    monkeypatch.setattr(gate, "Lint", lint_by(lambda *a: ["templates_out/network.yaml:1: E0000 injected"]))
    with pytest.raises(ValidationFailed) as exc:
        write(load_app(MINIMAL), tmp_path / "t", tmp_path / "p")
    assert exc.value.findings == ["templates_out/network.yaml:1: E0000 injected"]
    assert not (tmp_path / "t").exists() and not (tmp_path / "p").exists()


def test_the_own_checks_run_while_cfn_lint_runs_and_fail_the_build_with_its_findings(tmp_path, monkeypatch, capsys):
    """Size budgets, handler permissions and parameter files run in a thread while the build waits for cfn-lint
    (generator/build.py): the lint below only answers once a check has started. Both kinds of finding fail the
    build, cfn-lint's first, as when the checks ran before the lint."""
    out, params = _seed(tmp_path)
    before = (read_dir(out), read_dir(params))
    checking = threading.Event()
    real_sizes = gate.size_budgets

    def sizes(*a, **k):
        checking.set()
        return real_sizes(*a, **k) + ["templates_out/root.yaml: too big (injected)"]

    def lint(*a):
        assert checking.wait(timeout=60), "the build's own checks did not run while cfn-lint ran"
        return ["templates_out/network.yaml:1: E0000 injected"]

    monkeypatch.setattr(gate, "size_budgets", sizes)
    monkeypatch.setattr(gate, "Lint", lint_by(lint))
    code = cli.main(["build", "--app", str(MINIMAL), "--out", str(out), "--params", str(params)])
    assert code == 1
    assert problem_lines(capsys.readouterr().err) == [
        "validation failed; nothing was written (2 findings):", "templates_out/network.yaml:1: E0000 injected",
        "templates_out/root.yaml: too big (injected)"]
    assert (read_dir(out), read_dir(params)) == before


def test_an_interrupted_lint_lets_the_checks_end_before_the_staged_folders_go(tmp_path, monkeypatch, capsys):
    out, params = _seed(tmp_path)
    checking, seen = threading.Event(), []
    real_files = gate.parameter_files

    def parameter_files(staged, *a, **k):
        checking.set()
        time.sleep(0.5)
        seen.append(sorted(p.name for p in staged.iterdir()))   # still there
        return real_files(staged, *a, **k)

    def lint(*a):
        checking.wait(timeout=60)
        raise KeyboardInterrupt

    monkeypatch.setattr(gate, "parameter_files", parameter_files)
    monkeypatch.setattr(gate, "Lint", lint_by(lint))
    code = cli.main(["build", "--app", str(MINIMAL), "--out", str(out), "--params", str(params)])
    assert code == 130 and "interrupted; nothing was written" in capsys.readouterr().err
    assert seen == [["dev.config.json", "dev.json"]]
    import gc
    assert gc.get_freeze_count() == 0   # the build's freeze (generator/build.py) ended with it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["params", "templates_out"], "no staging left behind"


def test_a_build_hands_every_object_back_to_the_garbage_collector_however_it_ends(tmp_path, monkeypatch):
    """The build freezes what render made while the gate runs (generator/build.py): passed, failed or interrupted,
    nothing stays frozen afterwards, and objects a caller froze itself stay frozen."""
    import gc
    assert gc.get_freeze_count() == 0
    write(load_app(MINIMAL), tmp_path / "ok" / "t", tmp_path / "ok" / "p")
    assert gc.get_freeze_count() == 0
    monkeypatch.setattr(gate, "Lint", lint_by(lambda *a: ["templates_out/network.yaml:1: E0000 injected"]))
    with pytest.raises(ValidationFailed):
        write(load_app(MINIMAL), tmp_path / "failed" / "t", tmp_path / "failed" / "p")
    assert gc.get_freeze_count() == 0
    kept = [object()]
    gc.freeze()
    try:
        before = gc.get_freeze_count()
        with pytest.raises(ValidationFailed):
            write(load_app(MINIMAL), tmp_path / "theirs" / "t", tmp_path / "theirs" / "p")
        assert gc.get_freeze_count() == before and kept
    finally:
        gc.unfreeze()


def test_schema_describes_every_field(capsys):
    assert cli.main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    missing = []
    for name, model in {"AppSpec": schema, **schema["$defs"]}.items():
        for field, spec in model.get("properties", {}).items():
            if not spec.get("description"):
                missing.append(f"{name}.{field}")
    assert missing == []
    assert schema["additionalProperties"] is False


def test_make_help_lists_every_target():
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    # without the parent make's variables (under `make test` the child would print directory lines)
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES")}
    out = subprocess.run([make, "--no-print-directory", "-s", "help"], cwd=ROOT, capture_output=True, text=True,
                         check=True, env=env).stdout
    targets = [line.split()[1] for line in out.splitlines() if line.strip().startswith("make ")]
    for target in ("templates", "test", "golden", "bench", "schema"):
        assert target in targets
    declared = subprocess.run(["grep", "-cE", r"^[a-z-]+:.*## ", "Makefile"], cwd=ROOT, capture_output=True,
                              text=True).stdout.strip()
    assert len(targets) == int(declared)


def test_module_entry_point_exits_non_zero_without_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "generator", "build", "--app", str(tmp_path / "nope.yaml")],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"{tmp_path / 'nope.yaml'}: file not found; pass --app PATH or create app.yaml (see README)"
