"""A bad app spec gets one line per problem (`app.yaml: field.path: what is wrong; how to fix it`), exit code 2,
no traceback (unless --debug) and no files written.

The corpus is `tests/fixtures/invalid/<case>/`: an `app.yaml` (absent for the missing-file case) and the exact
expected stderr in `error.txt`, written by hand. Each case runs with the case directory as the working directory
and `--app app.yaml`, so the file is always shown as `app.yaml`.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from generator.cli import main
from generator.config import loader
from generator.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
CORPUS = Path(__file__).parent / "fixtures" / "invalid"
CASES = sorted(p.name for p in CORPUS.iterdir() if (p / "error.txt").is_file())


def _expected(case: str) -> str:
    return (CORPUS / case / "error.txt").read_text(encoding="utf-8")


def _build_args(tmp_path: Path, *extra: str) -> list[str]:
    return ["build", *extra, "--app", "app.yaml", "--out", str(tmp_path / "out"), "--params", str(tmp_path / "params")]


def _run(case: str, *extra: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "generator", *extra], cwd=cwd or CORPUS / case, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def test_corpus_is_big_enough() -> None:
    assert len(CASES) >= 20


@pytest.mark.parametrize("case", CASES)
def test_invalid_spec_reports_each_problem_on_one_line(case: str, tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(CORPUS / case)
    code = main(_build_args(tmp_path))
    out, err = capsys.readouterr()
    assert code == 2, f"{case}: config errors exit with 2"
    assert err == _expected(case)
    assert out == ""
    assert "Traceback" not in out + err
    for line in err.splitlines():
        assert line.startswith("app.yaml: "), line
    assert not (tmp_path / "out").exists() and not (tmp_path / "params").exists()


def test_messages_never_leak_pydantic_internals() -> None:
    """Labels pydantic uses inside `loc` and its own wording stay out of every expected line."""
    leaks = ("function-after", "function-", "literal[", "[key]", "Input should", "instance of", "Spec",
             "Value error", "validation error")
    for case in CASES:
        text = _expected(case)
        assert not any(leak in text for leak in leaks), case


def test_subprocess_shows_no_traceback_and_exits_non_zero() -> None:
    for case in ("yaml-syntax-error", "several-schema-problems", "missing-file"):
        proc = _run(case, "build", "--app", "app.yaml", "--out", "/nonexistent/out", "--params", "/nonexistent/p")
        assert proc.returncode == 2, proc.stderr
        assert "Traceback" not in proc.stdout + proc.stderr
        assert proc.stderr == _expected(case)


def test_subprocess_with_a_path_shows_the_path_as_given(tmp_path: Path) -> None:
    bad = CORPUS / "wrong-type-cpu" / "app.yaml"
    proc = _run("wrong-type-cpu", "build", "--app", str(bad), "--out", str(tmp_path / "o"),
                "--params", str(tmp_path / "p"), cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr == _expected("wrong-type-cpu").replace("app.yaml: ", f"{bad}: ")


def test_debug_shows_the_traceback(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(CORPUS / "wrong-type-cpu")
    with pytest.raises(ConfigError) as info:
        main(_build_args(tmp_path, "--debug"))
    assert "\n".join(info.value.lines()) + "\n" == _expected("wrong-type-cpu")

    proc = _run("wrong-type-cpu", "build", "--debug", "--app", "app.yaml", "--out", str(tmp_path / "o"),
                "--params", str(tmp_path / "p"))
    assert proc.returncode != 0
    assert "Traceback (most recent call last)" in proc.stderr
    assert "generator.errors.ConfigError" in proc.stderr


def test_debug_before_the_subcommand_shows_the_traceback(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(CORPUS / "wrong-type-cpu")
    with pytest.raises(ConfigError):
        main(["--debug", *_build_args(tmp_path)])


def test_config_error_writes_nothing(tmp_path: Path, monkeypatch, capsys) -> None:
    out, params = tmp_path / "out", tmp_path / "params"
    out.mkdir()
    params.mkdir()
    (out / "root.yaml").write_text("previous build\n")
    (params / "dev.json").write_text("[]\n")
    before = {p.relative_to(tmp_path): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}

    monkeypatch.chdir(CORPUS / "several-rule-problems")
    assert main(["build", "--app", "app.yaml", "--out", str(out), "--params", str(params)]) == 2
    assert capsys.readouterr().err == _expected("several-rule-problems")

    after = {p.relative_to(tmp_path): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert after == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "params"]  # no staging leftovers


def test_directory_and_unreadable_files_are_reported_not_raised(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        loader.load_app(tmp_path)
    assert info.value.lines() == [f"{tmp_path}: is a directory; pass the app spec file with --app PATH"]

    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes(b"app: caf\xe9\n")
    with pytest.raises(ConfigError) as info:
        loader.load_app(latin1)
    assert info.value.lines() == [f"{latin1}: not UTF-8 text (byte 8); save the file as UTF-8"]

    control = tmp_path / "control.yaml"
    control.write_text("app: shop\nowner: a\x07b\n")
    with pytest.raises(ConfigError) as info:
        loader.load_app(control)
    assert info.value.lines() == [f"{control}: line 2, column 9: not valid YAML: control character #x07 is not "
                                  f"allowed; delete it"]


def test_unknown_key_without_a_close_match_lists_the_valid_keys() -> None:
    """Not in the corpus: the list grows as fields are added."""
    with pytest.raises(ConfigError) as info:
        loader.parse_app({"app": "shop", "owner": "a", "region": "eu-west-1",
                          "environments": {"dev": {"cidr": "10.0.0.0/16", "zzz": 1}}})
    [line] = info.value.lines()
    assert line.startswith("app.yaml: environments.dev.zzz: unknown key 'zzz'; remove it or use one of: ")
    assert "cidr, " in line and "nat, " in line


def test_every_line_of_a_problem_stays_one_line() -> None:
    with pytest.raises(ConfigError) as info:
        loader.parse_app({"app": "shop", "owner": "a", "region": "eu-west-1",
                          "services": [{"name": "job", "kind": "cron", "schedule": "every\nday"}],
                          "environments": {"dev": {"cidr": "10.0.0.0/16"}}})
    assert info.value.lines() == [
        "app.yaml: services.job.schedule: 'every\\nday' is not a schedule expression; "
        "write 'cron(0 3 * * ? *)', 'rate(1 hour)' or 'at(2030-01-31T09:00:00)'"]
