"""Build stamps (generator/up_to_date.py): a rebuild with nothing changed says "up to date" and writes nothing; any
change to an input (the spec, a generator source file, cfn-lint's rule set and the installed packages, the paths,
the working directory) or to an output (a file edited, added, removed, touched or chmod-ed) runs the whole build,
which rewrites the output; a failed build is never stamped."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from generator import cli, up_to_date
from generator.lint import cache, gate
from tests.support import FIXTURE_APPS, ROOT, lint_by

UP_TO_DATE = " are up to date with "


@pytest.fixture(scope="module")
def lint_cache(tmp_path_factory):
    """One lint cache for the module: after the first build every template is a lint-cache hit."""
    return tmp_path_factory.mktemp("lint-cache")


@pytest.fixture
def project(tmp_path, lint_cache, monkeypatch):
    monkeypatch.setenv(cache.ENV, str(lint_cache))
    monkeypatch.chdir(tmp_path)
    shutil.copy(FIXTURE_APPS / "minimal.yaml", tmp_path / "app.yaml")
    return tmp_path


def _build(capsys) -> tuple[int, str]:
    code = cli.main(["build", "--app", "app.yaml", "--out", "templates_out", "--params", "params", "--quiet"])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def _state(folder: Path) -> dict[str, tuple]:
    """Every entry's inode and change time: a rewrite or a swap changes them."""
    found = {".": (os.lstat(folder).st_ino, os.lstat(folder).st_ctime_ns)}
    for path in sorted(folder.rglob("*")):
        st = os.lstat(path)
        found[str(path.relative_to(folder))] = (st.st_ino, st.st_ctime_ns, path.read_bytes() if path.is_file() else b"")
    return found


def _contents(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_rebuild_with_nothing_changed_is_up_to_date_and_touches_nothing(project, capsys):
    code, text = _build(capsys)
    assert code == 0 and text.startswith("wrote 6 templates"), text
    before = (_state(project / "templates_out"), _state(project / "params"))
    code, text = _build(capsys)
    assert code == 0 and UP_TO_DATE in text and "(6 templates and 2 parameter files" in text, text
    assert (_state(project / "templates_out"), _state(project / "params")) == before
    code, text = _build(capsys)
    assert code == 0 and UP_TO_DATE in text


def test_the_up_to_date_answer_imports_neither_the_generator_nor_cfn_lint(project, capsys):
    assert _build(capsys)[0] == 0
    script = ("import sys; from generator import cli; "
              "code = cli.main(['build', '--app', 'app.yaml', '--out', 'templates_out', '--params', 'params']); "
              "print(code, sorted(m for m in ('troposphere', 'pydantic', 'cfnlint', 'jinja2', 'boto3', "
              "'generator.build', 'generator.config') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", script], cwd=project, capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300)
    assert result.returncode == 0, result.stderr
    assert UP_TO_DATE in result.stdout and result.stdout.rstrip().endswith("0 []"), result.stdout
    helpers = [line for line in result.stderr.splitlines() if "zygote" in line]
    assert helpers == [], "no lint helper started"


def test_an_edited_spec_runs_the_build(project, capsys):
    assert _build(capsys)[0] == 0
    spec = project / "app.yaml"
    spec.write_text(spec.read_text() + "# a comment changes the bytes, not the output\n")
    code, text = _build(capsys)
    assert code == 0 and text.startswith("wrote "), text
    assert UP_TO_DATE in _build(capsys)[1]


def _edit(path: Path) -> None:
    path.write_bytes(path.read_bytes() + b"# edited\n")


def _touch(path: Path) -> None:
    os.utime(path, (1_000_000_000, 1_000_000_000))


TAMPERS = {
    "edited template": lambda p: _edit(p / "templates_out" / "network.yaml"),
    "edited parameter file": lambda p: _edit(p / "params" / "dev.json"),
    "removed template": lambda p: (p / "templates_out" / "registry.yaml").unlink(),
    "added template": lambda p: (p / "templates_out" / "extra.yaml").write_text("x: 1\n"),
    "added parameter file": lambda p: (p / "params" / "extra.json").write_text("[]\n"),
    "touched file": lambda p: _touch(p / "templates_out" / "root.yaml"),
    "chmod-ed file": lambda p: os.chmod(p / "templates_out" / "root.yaml", 0o600),
    "chmod-ed folder": lambda p: os.chmod(p / "params", 0o700),
    "removed folder": lambda p: shutil.rmtree(p / "params"),
    "file replaced by a link": lambda p: (
        (p / "templates_out" / "root.yaml").rename(p / "root.yaml"),
        (p / "templates_out" / "root.yaml").symlink_to(p / "root.yaml")),
}


@pytest.mark.parametrize("tamper", sorted(TAMPERS))
def test_a_changed_output_runs_the_build_which_rewrites_it(project, capsys, tamper):
    assert _build(capsys)[0] == 0
    before = {d: (_contents(project / d), os.lstat(project / d).st_mode)
              for d in ("templates_out", "params")}
    stamped = up_to_date.outputs_digest(project / "templates_out", project / "params")
    TAMPERS[tamper](project)
    code, text = _build(capsys)
    assert code == 0 and text.startswith("wrote "), text
    assert {d: (_contents(project / d), os.lstat(project / d).st_mode)
            for d in ("templates_out", "params")} == before
    assert up_to_date.outputs_digest(project / "templates_out", project / "params") == stamped
    assert UP_TO_DATE in _build(capsys)[1]


def test_a_changed_generator_source_runs_the_build(project, capsys, monkeypatch, tmp_path_factory):
    sources = tmp_path_factory.mktemp("sources")
    (sources / "module.py").write_text("X = 1\n")
    (sources / "__pycache__").mkdir()
    monkeypatch.setattr(up_to_date, "SOURCES", (sources,))
    assert _build(capsys)[0] == 0
    assert UP_TO_DATE in _build(capsys)[1]
    (sources / "__pycache__" / "module.cpython-311.pyc").write_bytes(b"bytecode")   # not a source: ignored
    assert UP_TO_DATE in _build(capsys)[1]
    (sources / "module.py").write_text("X = 2\n")
    assert _build(capsys)[1].startswith("wrote ")
    (sources / "data.json").write_text("{}\n")   # any file of the tree, not only Python
    assert _build(capsys)[1].startswith("wrote ")


def test_the_generator_and_buildspec_trees_are_the_sources():
    assert up_to_date.SOURCES == (ROOT / "generator", ROOT / "buildspecs")


def test_the_lint_rule_set_and_installed_packages_are_part_of_the_stamp(project, capsys, monkeypatch):
    """cache.rule_set holds the Python version, cfn-lint's version, every installed distribution, the schemas and
    the project rules (tests/test_lint_cache.py checks each); the stamp holds the rule set."""
    real = cache.rule_set
    assert _build(capsys)[0] == 0
    monkeypatch.setattr(cache, "rule_set", lambda *a: real(*a) + b"another package version")
    assert _build(capsys)[1].startswith("wrote ")
    assert UP_TO_DATE in _build(capsys)[1]
    monkeypatch.setattr(cache, "rule_set", lambda *a: None)   # a .cfnlintrc: never stamped
    assert _build(capsys)[1].startswith("wrote ")
    assert _build(capsys)[1].startswith("wrote ")


def test_with_the_lint_cache_off_every_build_runs(project, capsys, monkeypatch):
    monkeypatch.setenv(cache.ENV, "off")
    assert _build(capsys)[1].startswith("wrote ")
    assert _build(capsys)[1].startswith("wrote ")


def test_the_working_directory_and_the_paths_are_part_of_the_stamp(project, capsys, monkeypatch):
    assert _build(capsys)[0] == 0
    elsewhere = project / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    args = ["build", "--app", "../app.yaml", "--out", "../templates_out", "--params", "../params", "--quiet"]
    assert cli.main(args) == 0 and capsys.readouterr().out.startswith("wrote ")
    assert cli.main(args) == 0 and UP_TO_DATE in capsys.readouterr().out
    monkeypatch.chdir(project)
    shutil.copy(project / "app.yaml", project / "same.yaml")
    assert cli.main(["build", "--app", "same.yaml", "--out", "templates_out", "--params", "params"]) == 0
    assert capsys.readouterr().out.startswith("wrote ")


def test_a_staging_folder_left_beside_the_output_runs_the_build_which_removes_it(project, capsys):
    assert _build(capsys)[0] == 0
    stale = project / ".staging-templates_out.0123456789abcdef"
    stale.mkdir()
    assert _build(capsys)[1].startswith("wrote ")
    assert not stale.exists()


def test_a_failed_build_is_never_stamped(project, capsys, monkeypatch):
    """Spec A passes; spec B fails the gate (an injected finding) and writes nothing; back to A is up to date (its
    output is still in place); B again is built again and fails again."""
    spec = project / "app.yaml"
    a = spec.read_text()
    b = a + "# B\n"
    real = gate.Lint
    monkeypatch.setattr(gate, "Lint", lint_by(lambda folder, shown, region, parsed: real(folder, shown, region).findings(
        parsed) + (["templates_out/root.yaml:1: E0000 injected"] if spec.read_text() == b else [])))
    assert _build(capsys)[0] == 0
    spec.write_text(b)
    assert _build(capsys)[0] == 1
    spec.write_text(a)
    assert UP_TO_DATE in _build(capsys)[1]
    spec.write_text(b)
    code, text = _build(capsys)
    assert code == 1 and "E0000 injected" in text


def test_the_stamp_never_reads_a_spec_that_is_not_a_regular_file(tmp_path, monkeypatch):
    """A named pipe would block and a device would never end: no stamp, and the loader refuses the spec with its
    own line (tests/test_spec_loading.py runs the command line on a named pipe)."""
    monkeypatch.setenv(cache.ENV, str(tmp_path / "cache"))
    regular = tmp_path / "regular.yaml"
    regular.write_text("app: x\n")
    assert up_to_date.stamp(regular, tmp_path / "o", tmp_path / "p") is not None
    fifo = tmp_path / "app.yaml"
    os.mkfifo(fifo)
    assert up_to_date.stamp(fifo, tmp_path / "o", tmp_path / "p") is None
    assert up_to_date.stamp(Path("/dev/zero"), tmp_path / "o", tmp_path / "p") is None
    big = tmp_path / "big.yaml"
    big.write_bytes(b"#" * (up_to_date.SPEC_LIMIT + 1))
    assert up_to_date.stamp(big, tmp_path / "o", tmp_path / "p") is None
