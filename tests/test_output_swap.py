"""Writing the output: path checks, the journalled swap of templates_out/ and params/ (generator/swap.py), and what
the command line says when the disk, the lock, a signal or standard output gets in the way.

Interruptions are held at the dangerous moment: in process, a wrapped os.rename raises KeyboardInterrupt or OSError
at the k-th rename; in a child process, the k-th rename waits at a barrier file until the test kills it (SIGKILL) or
signals it (SIGTERM, SIGINT) and lets it go on. The lint gate is stubbed out here (it is tested elsewhere and takes
seconds per build); everything else is the real build.
"""
from __future__ import annotations

import errno
import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from generator import build as build_module
from generator import cli, swap
from generator.lint import gate
from scripts.deploylib.errors import DeployError
from scripts.deploylib.target import load_target
from tests.support import FIXTURE_APPS, ROOT, lint_by, problem_lines, read_tree

MINIMAL = FIXTURE_APPS / "minimal.yaml"
OLD_TEMPLATES = {"root.yaml": "previous build\n", "lambda/handler.py": "old\n"}
OLD_PARAMS = {"dev.json": "[]\n"}
REAL_RENAME = os.rename


RENDERED: dict[str, build_module.Rendered] = {}


def render_once(app, ready=None):
    """The minimal app renders the same every time: render it once for the module (this file is about writing).
    Each template is handed to `ready` as render_app does."""
    key = app.model_dump_json()
    if key not in RENDERED:
        RENDERED[key] = REAL_RENDER(app)
    for name, text in RENDERED[key].templates.items():
        if ready is not None:
            ready(name, text)
    return RENDERED[key]


REAL_RENDER = build_module.render_app


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project directory with an app spec and the output of a previous build; the lint gate stubbed out and the
    rendering reused."""
    monkeypatch.setattr(gate, "Lint", lint_by(lambda *a: []))
    monkeypatch.setattr(build_module, "render_app", render_once)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "app.yaml").write_text(MINIMAL.read_text())
    for folder, files in (("templates_out", OLD_TEMPLATES), ("params", OLD_PARAMS)):
        for name, text in files.items():
            (tmp_path / folder / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / folder / name).write_text(text)
    return tmp_path


def build(*extra: str) -> list[str]:
    return ["build", "--app", "app.yaml", *extra]


def state(root: Path) -> str:
    """'old', 'new' or a description of a mixed state, for both output directories."""
    def one(folder: str, old: dict[str, str]) -> str:
        path = root / folder
        if not path.is_dir():
            return "missing"
        files = read_tree(path)
        return "old" if files == old else ("new" if "root.yaml" in files or "dev.config.json" in files else "?")

    t, p = one("templates_out", OLD_TEMPLATES), one("params", OLD_PARAMS)
    return t if t == p else f"templates_out {t}, params {p}"


def leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.name.startswith("."))


# --- paths -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("args, line", [
    (["--out", "app.yaml"], "app.yaml: --out is an existing file, not a directory; pass a directory (default: "
                            "templates_out)"),
    (["--params", "app.yaml"], "app.yaml: --params is an existing file, not a directory; pass a directory (default: "
                               "params)"),
    (["--out", "x", "--params", "x"], "x: --out and --params are the same directory; give each its own (default: "
                                      "templates_out and params)"),
    (["--out", "t", "--params", "t/p"], "t/p: --params is inside --out (t); the build replaces each as a whole, so "
                                        "keep them side by side (default: templates_out and params)"),
    (["--out", "p/t", "--params", "p"], "p/t: --out is inside --params (p); the build replaces each as a whole, so "
                                        "keep them side by side (default: templates_out and params)"),
    (["--out", "."], ".: --out contains the current directory; the build replaces that whole directory, so pass one "
                     "of its own (default: templates_out)"),
    (["--params", ".."], "..: --params contains the current directory; the build replaces that whole directory, so "
                         "pass one of its own (default: params)"),
    (["--out", "/"], "/: --out is the root directory; pass a directory of its own (default: templates_out)"),
    (["--out", "docs"], "docs: --out holds 'notes.md', which a build does not write; the build replaces the whole "
                        "directory, so pass an empty or generated one (default: templates_out), or move it away "
                        "first"),
    (["--out", "linked"], "linked: --out is a symbolic link; pass the directory itself (the build replaces --out with "
                          "a new directory, which would replace the link, not what it points to)"),
])
def test_output_paths_that_would_lose_data_are_refused_with_one_line(project, capsys, args, line):
    (project / "docs").mkdir()
    (project / "docs" / "notes.md").write_text("mine\n")
    (project / "linked").symlink_to(project / "templates_out")
    spec_before = (project / "app.yaml").read_text()
    assert cli.main(build(*args)) == 2
    assert problem_lines(capsys.readouterr().err) == [line]
    assert (project / "app.yaml").read_text() == spec_before and state(project) == "old"
    assert (project / "docs" / "notes.md").read_text() == "mine\n"
    assert leftovers(project) == []


def test_an_output_directory_holding_the_app_spec_is_refused(project, capsys):
    (project / "specs").mkdir()
    (project / "specs" / "app.yaml").write_text(MINIMAL.read_text())
    assert cli.main(["build", "--app", "specs/app.yaml", "--params", "specs"]) == 2
    assert problem_lines(capsys.readouterr().err) == [
        "specs: --params contains the app spec specs/app.yaml; the build replaces that whole directory, so pass one "
        "of its own (default: params)"]


def test_a_symlink_loop_in_the_path_is_one_line(project, capsys):
    (project / "loop").symlink_to(project / "loop")
    assert cli.main(build("--out", "loop/x")) == 2
    [line] = problem_lines(capsys.readouterr().err)
    assert line.startswith("loop/x: --out cannot be resolved (") and line.endswith("); pass a plain directory path")


def test_generated_folders_get_normal_permissions(project):
    (project / "params" / ".gitkeep").touch()           # a placeholder is no reason to refuse the directory
    previous = os.umask(0o022)
    try:
        assert cli.main(build()) == 0
    finally:
        os.umask(previous)
    modes = {str(p.relative_to(project)): stat.S_IMODE(p.stat().st_mode)
             for p in [project / "templates_out", project / "params", *(project / "templates_out").rglob("*"),
                       *(project / "params").rglob("*")]}
    assert modes["templates_out"] == modes["params"] == 0o755      # mkdtemp gave 0700
    assert set(v for k, v in modes.items() if k.endswith((".yaml", ".json"))) == {0o644}


# --- failures while writing ---------------------------------------------------------------------------------------

def fail_at(monkeypatch, k: int, exc: BaseException, *, also_undo: bool = False) -> list:
    """The k-th os.rename of the swap raises `exc` (with also_undo, every rename after it too)."""
    real = os.rename
    calls: list = []

    def rename(src, dst):
        calls.append((src, dst))
        if len(calls) == k or (also_undo and len(calls) > k):
            raise exc
        return real(src, dst)

    monkeypatch.setattr(swap.os, "rename", rename)
    return calls


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_ctrl_c_between_the_renames_puts_both_directories_back(project, monkeypatch, capsys, k):
    """Renames: templates_out -> backup, staged -> templates_out, params -> backup, staged -> params."""
    calls = fail_at(monkeypatch, k, KeyboardInterrupt())
    assert cli.main(build()) == 130
    assert len(calls) >= k
    assert problem_lines(capsys.readouterr().err) == [
        "interrupted; nothing was written: templates_out/ and params/ were left as they were"]
    assert state(project) == "old"
    assert leftovers(project) == []            # no staging folder, backup, journal or lock


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_a_failed_rename_is_one_line_and_puts_both_directories_back(project, monkeypatch, capsys, k):
    fail_at(monkeypatch, k, OSError(errno.EXDEV, "Invalid cross-device link"))
    assert cli.main(build()) == 1
    dest = "templates_out" if k <= 2 else "params"
    assert problem_lines(capsys.readouterr().err) == [
        f"{dest}: could not be replaced (Invalid cross-device link); the previous output was put back, nothing was "
        "changed"]
    assert state(project) == "old" and leftovers(project) == []


def test_when_the_undo_fails_too_the_journal_is_kept_and_the_next_build_recovers(project, monkeypatch, capsys):
    fail_at(monkeypatch, 4, OSError(errno.EIO, "Input/output error"), also_undo=True)
    assert cli.main(build()) == 1
    assert problem_lines(capsys.readouterr().err) == [
        "templates_out and params: the swap failed (Input/output error) and could not be undone (Input/output error); "
        f"the journal {project / '.templates_out.build-journal'} is kept: run the build again, it finishes or undoes "
        "the swap"]
    assert state(project) == "templates_out new, params missing"
    assert swap.pending(project / "templates_out") and swap.pending(project / "params")
    monkeypatch.undo()
    monkeypatch.setattr(gate, "Lint", lint_by(lambda *a: []))
    monkeypatch.chdir(project)
    assert cli.main(build()) == 0
    err = capsys.readouterr().err
    assert "note: an earlier build was interrupted while replacing " in err and "its swap was undone" in err
    assert state(project) == "new" and leftovers(project) == []


@pytest.mark.parametrize("where, error, line", [
    ("mkdir", OSError(errno.EROFS, "Read-only file system"),
     "{dest}: cannot write the new output beside it (Read-only file system); nothing was changed"),
    ("write", OSError(errno.ENOSPC, "No space left on device"),
     "{dest}: cannot write the new output beside it (No space left on device); nothing was changed"),
    ("lock", PermissionError(errno.EACCES, "Permission denied"),     # params is locked first (sorted order)
     "{params}: cannot create the lock file beside it (Permission denied); nothing was changed"),
])
def test_a_read_only_or_full_disk_is_one_line_and_changes_nothing(project, monkeypatch, capsys, where, error, line):
    """Injected: the suite runs as root, which a read-only mode bit does not stop."""
    from generator import render

    if where == "mkdir":
        monkeypatch.setattr(swap.os, "mkdir", lambda *a, **k: (_ for _ in ()).throw(error))
    elif where == "write":
        real = render.write_files

        def half_then_full(files, folder):
            real(dict(list(files.items())[:1]), folder)
            raise error
        monkeypatch.setattr(render, "write_files", half_then_full)
    else:
        real_open = os.open
        monkeypatch.setattr(swap.os, "open", lambda path, *a: (_ for _ in ()).throw(error)
                            if str(path).endswith(swap.LOCK_SUFFIX) else real_open(path, *a))
    assert cli.main(build()) == 1
    assert problem_lines(capsys.readouterr().err) == [line.format(dest="templates_out", params="params")]
    assert state(project) == "old" and leftovers(project) == []


def test_ctrl_c_before_writing_is_one_line(project, monkeypatch, capsys):
    import generator.config

    monkeypatch.setattr(generator.config, "load_app", lambda path: (_ for _ in ()).throw(KeyboardInterrupt()))
    assert cli.main(build()) == 130
    assert problem_lines(capsys.readouterr().err) == ["interrupted; nothing was written"]
    assert state(project) == "old"


def test_stale_staging_folders_of_interrupted_builds_are_removed(project, capsys):
    stale = [".staging-templates_out.0123456789abcdef", ".staging-params.0123456789abcdef.old",
             ".staging-templates_out-a1b2c3d_", ".staging-params-old-4242"]       # the last two: the former names
    kept = [".staging-templates_out-extra.0123456789abcdef", "templates_out-extra"]  # another destination's
    for name in stale + kept:
        (project / name).mkdir()
        (project / name / "x.yaml").write_text("x\n")
    assert cli.main(build()) == 0
    assert leftovers(project) == sorted(kept[:1])
    assert (project / "templates_out-extra").is_dir()


# --- standard output ----------------------------------------------------------------------------------------------

def run_module(args: list[str], cwd: Path, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "generator", *args], cwd=cwd, env=env, capture_output=False,
                          timeout=120, **kwargs)


def test_a_closed_pipe_ends_quietly_without_a_traceback(tmp_path):
    read_end, write_end = os.pipe()
    os.close(read_end)                      # the reader is gone before the first byte, as after `| head -c0`
    try:
        proc = run_module(["schema"], tmp_path, stdout=write_end, stderr=subprocess.PIPE, text=True)
    finally:
        os.close(write_end)
    assert proc.returncode == 1
    assert proc.stderr == ""


def test_a_full_standard_output_is_one_line(tmp_path):
    with open("/dev/full", "w") as full:
        proc = run_module(["schema"], tmp_path, stdout=full, stderr=subprocess.PIPE, text=True)
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == ["standard output cannot be written (No space left on device)"]


# --- a child process held at a barrier ------------------------------------------------------------------------------

class Child:
    """A forked copy of the test process running `python -m generator build` (cli.main), held at a barrier.

    hold_at counts the swap's file operations, in order: journal 1 and 2 (os.replace), templates_out -> backup,
    staged -> templates_out, params -> backup, staged -> params (os.rename). k > 0 holds before the k-th, -k after
    it, 0 during validation (before anything is swapped). Forked rather than started afresh: it skips seconds of
    imports per case. Its standard error goes to a file the test reads."""

    def __init__(self, project: Path, hold_at: int):
        self.barrier, self.go, self.log = project / "barrier", project / "go", project.parent / f"{project.name}.err"
        pid = os.fork()
        if pid == 0:                                   # the child: never returns into pytest
            code = 99
            try:
                code = self._run(hold_at)
            finally:
                os._exit(code)
        self.pid = pid
        deadline = time.monotonic() + 60
        while not self.barrier.exists():
            assert os.waitpid(pid, os.WNOHANG) == (0, 0), "the child exited before the barrier"
            assert time.monotonic() < deadline, "the child never reached the barrier"
            time.sleep(0.01)
        self.barrier.unlink()

    def _run(self, hold_at: int) -> int:
        # Ctrl-C as a terminal delivers it: a test run started in the background without job control (`make test &`
        # in a script) inherits SIGINT ignored, and the forked child would ignore it too.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        fd = os.open(self.log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(fd, 2)
        sys.stderr = open(2, "w", closefd=False)
        calls = 0

        def hold() -> None:
            self.barrier.write_text(str(os.getpid()))
            while not self.go.exists():
                time.sleep(0.01)

        def counted(real):
            def call(src, dst):
                nonlocal calls
                calls += 1
                if calls == hold_at:
                    hold()
                result = real(src, dst)
                if calls == -hold_at:
                    hold()
                return result
            return call

        os.rename, os.replace = counted(os.rename), counted(os.replace)
        if hold_at == 0:
            gate.Lint = lint_by(lambda *a: (hold(), [])[1])
        return cli.main(build())

    def signal(self, signum: int) -> None:
        os.kill(self.pid, signum)
        time.sleep(0.2)     # let the signal arrive while the child is still held

    def release(self) -> tuple[int, str]:
        self.go.touch()
        _, status = os.waitpid(self.pid, 0)
        self.go.unlink()
        return os.waitstatus_to_exitcode(status), self.log.read_text()


def kill(child: Child) -> None:
    os.kill(child.pid, signal.SIGKILL)
    os.waitpid(child.pid, 0)


def settle_as_the_next_build_would(project: Path) -> None:
    with swap.OutputSwap([project / "templates_out", project / "params"]):
        pass


@pytest.mark.parametrize("hold_at, after_kill, after_recovery", [
    (0, "old", "old"),
    (1, "old", "old"),                                  # before the first journal
    (2, "old", "old"),                                  # between the two journals
    (3, "old", "old"),                                  # journals written, nothing renamed
    (4, "templates_out missing, params old", "old"),    # templates_out moved aside
    (5, "templates_out new, params old", "old"),        # the mixed state the journal exists for
    (6, "templates_out new, params missing", "old"),
    (-6, "new", "new"),                                 # every rename done, backups and journals not yet removed
], ids=["validating", "journal-1", "journal-2", "renames-0", "renames-1", "renames-2", "renames-3", "renames-4"])
def test_sigkill_at_any_moment_leaves_both_old_or_both_new_once_settled(project, hold_at, after_kill, after_recovery):
    kill(Child(project, hold_at))
    assert state(project) == after_kill
    journalled = 2 <= hold_at or hold_at == -6
    assert bool(swap.pending(project / "templates_out")) == journalled
    settle_as_the_next_build_would(project)
    assert state(project) == after_recovery
    assert leftovers(project) == [], "staging folders, backups, journals and the lock are gone"


def test_deploy_refuses_output_an_interrupted_swap_left_mixed(project):
    kill(Child(project, 5))      # new templates beside old parameter files
    with pytest.raises(DeployError) as err:
        load_target(project / "app.yaml", "dev", project / "templates_out", project / "params", None)
    assert err.value.message == (f"{project / 'templates_out'} and {project / 'params'} are half replaced: a build "
                                 "was killed while swapping them in")
    assert err.value.hints == ("run `make templates` again: it finishes or undoes the interrupted swap first",)


def test_the_next_build_settles_a_killed_swap_and_says_so(project, capsys):
    kill(Child(project, 5))
    assert cli.main(build()) == 0
    err = problem_lines(capsys.readouterr().err)
    assert err == [f"note: an earlier build was interrupted while replacing {project / 'templates_out'} and "
                   f"{project / 'params'}; its swap was undone"]
    assert state(project) == "new" and leftovers(project) == []


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
@pytest.mark.parametrize("hold_at", [3, 5, 6])
def test_sigterm_or_ctrl_c_during_the_swap_is_held_back_until_both_are_new(project, signum, hold_at):
    child = Child(project, hold_at)
    child.signal(signum)
    code, err = child.release()
    assert code == 128 + signum
    assert problem_lines(err) == ["interrupted after the new output was in place: templates_out/ and params/ hold this "
                                "build"]
    assert state(project) == "new" and leftovers(project) == []


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_signal_before_the_swap_changes_nothing_and_is_one_line(project, signum):
    child = Child(project, 0)
    child.signal(signum)
    code, err = child.release()
    assert code == 128 + signum
    assert problem_lines(err) == ["interrupted; nothing was written: templates_out/ and params/ were left as they were"]
    assert state(project) == "old" and leftovers(project) == []


def test_a_second_build_while_one_is_running_is_refused_with_one_line(project, capsys):
    child = Child(project, 0)            # holds both locks while it validates
    try:
        assert cli.main(build()) == 1
        assert problem_lines(capsys.readouterr().err) == [
            f"params: another build (process {child.pid}) is writing it; wait for that build to "
            "finish, then run this one again"]
        assert state(project) == "old"
    finally:
        code, err = child.release()
    assert code == 0, err
    assert state(project) == "new" and leftovers(project) == []


def test_journal_paths_are_relative_so_a_moved_project_still_recovers(project, tmp_path_factory):
    kill(Child(project, 5))
    journal = json.loads(swap.pending(project / "params").read_text())
    assert {m["dest"] for m in journal["moves"]} == {"templates_out", "params"}
    moved = tmp_path_factory.mktemp("moved") / "project"
    project.rename(moved)
    settle_as_the_next_build_would(moved)
    assert state(moved) == "old" and leftovers(moved) == []


def test_a_recovery_that_fails_half_way_keeps_its_journal_and_finishes_next_time(project, monkeypatch, capsys):
    """Rolling back re-creates staged folders only, so a rollback stopped half way is still seen as one."""
    kill(Child(project, 6))                      # templates_out new, params moved aside
    fail_at(monkeypatch, 2, OSError(errno.EIO, "Input/output error"))    # the rollback's second rename
    assert cli.main(build()) == 1
    [line] = problem_lines(capsys.readouterr().err)
    assert line.startswith(f"{project / '.templates_out.build-journal'}: cannot finish or undo the swap an "
                           "interrupted build left (Input/output error")
    assert line.endswith("); the journal is kept; fix the cause and run the build again")
    assert swap.pending(project / "templates_out")
    monkeypatch.setattr(swap.os, "rename", REAL_RENAME)
    settle_as_the_next_build_would(project)
    assert state(project) == "old" and leftovers(project) == []
