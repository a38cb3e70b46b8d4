"""The lint server (generator/lint/server.py): a second build reuses it (no second setup), another setup gets another
server, it exits when idle, when its inputs change or go and on `lint-server stop`, it lives in a private directory,
a server that dies mid-job leaves the build linting with its own helper (never a pass without a lint), a build that
goes away stops only its own job, and the rest of the suite runs without one (tests/conftest.py).

Each test gets its own socket directory and stops every server it started."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from generator.lint import gate, server, server_client, server_control, workers
from tests.support import ROOT

BAD = "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\nParameters:\n  Unused:\n    Type: String\n"
GOOD = "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n"
IGNORE = sorted(gate.IGNORED_RULES)
REGION = "eu-west-1"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:   # a zombie (an exited child of this process not yet reaped) is not alive
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _wait_gone(pid: int, seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


def _children(pid: int) -> set[int]:
    """The server's live job processes (an ended one stays a zombie until the server's next round)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return {int(p) for p in f.read().split() if _alive(int(p))}
    except OSError:
        return set()


def _new_job(pid: int, before: set[int]) -> int:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        new = _children(pid) - before
        if new:
            return new.pop()
        time.sleep(0.01)
    raise AssertionError("the server forked no job process")


def _settled(pid: int) -> set[int]:
    """Waits until the server's earlier jobs have ended (they end once their build has the reply)."""
    deadline = time.monotonic() + 20
    while _children(pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    return _children(pid)


@pytest.fixture
def lint_server(monkeypatch, tmp_path):
    """The server on, in a fresh private directory (short: a socket path holds 108 bytes), templates under tmp_path;
    afterwards every server of that directory stopped (by the command, then by its pid) and the directory gone."""
    workers.stop()   # an earlier test's helper
    folder = Path(tempfile.mkdtemp(prefix="fs-ls-", dir="/tmp"))
    monkeypatch.setenv(server.ENV, "1")
    monkeypatch.setenv(server.ENV_DIR, str(folder / "s"))
    monkeypatch.setenv(workers.ENV_WORKERS, "2")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(workers, "_client", None)
    started: list[subprocess.Popen] = []
    real_start = server_client.Client.start

    def start(self):
        real_start(self)
        started.append(self.started)

    monkeypatch.setattr(server_client.Client, "start", start)
    yield folder / "s"
    monkeypatch.setenv(server.ENV_DIR, str(folder / "s"))   # a test may have pointed it elsewhere
    pids = [a["pid"] for a in server_control.control("status")] if (folder / "s").is_dir() else []
    if (folder / "s").is_dir():
        server_control.control("stop")
    for proc in started:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    left = [pid for pid in pids if not _wait_gone(pid, 5)]
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    workers.stop()
    shutil.rmtree(folder, ignore_errors=True)
    assert not left, f"lint servers {left} outlived `lint-server stop`"


def _template(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def _status(_folder: Path) -> list[dict]:
    return server_control.control("status")


def _new_build(monkeypatch) -> None:
    """What a new `python -m generator build` starts with: no client yet."""
    monkeypatch.setattr(workers, "_client", None)


def test_a_second_build_reuses_the_server_and_gets_the_same_findings(lint_server, tmp_path, monkeypatch):
    bad, good = _template(tmp_path, "bad.yaml", BAD), _template(tmp_path, "good.yaml", GOOD)
    workers.prestart()
    first = workers.lint([bad, good], [REGION], IGNORE)
    assert first.server == "started" and first.setup_seconds > 0 and not first.fallback
    (running,) = _status(lint_server)
    _new_build(monkeypatch)
    workers.prestart()
    second = workers.lint([bad], [REGION], IGNORE)
    assert second.server == "warm" and second.setup_seconds == 0.0 and not second.fallback
    (still,) = _status(lint_server)
    assert still["pid"] == running["pid"] and still["since"] == running["since"], "no second server, no second setup"
    expected = workers.in_process([bad, good], [REGION], IGNORE).findings
    assert first.findings == expected
    assert second.findings == {bad: expected[bad]} and [f[2] for f in expected[bad]] == ["W2001"]
    assert workers._shared is None, "no per-build helper was started"


def test_another_process_reuses_the_server(lint_server, tmp_path):
    """Two builds are two processes: the second finds the first one's server."""
    bad = _template(tmp_path, "bad.yaml", BAD)
    code = ("import json, sys; from generator.lint import gate, workers; workers.prestart(); "
            "r = workers.lint([sys.argv[1]], ['eu-west-1'], sorted(gate.IGNORED_RULES)); "
            "print(json.dumps([r.server, r.fallback, [f[2] for f in r.findings[sys.argv[1]]]]))")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    runs = [json.loads(subprocess.run([sys.executable, "-c", code, bad], env=env, capture_output=True, text=True,
                                      check=True, timeout=120).stdout) for _ in range(2)]
    assert runs == [["started", "", ["W2001"]], ["warm", "", ["W2001"]]]
    assert len(_status(lint_server)) == 1


def test_the_key_covers_everything_the_helper_fixes_at_start(monkeypatch, tmp_path):
    """The Python executable and path, cfn-lint's and the schemas' versions, the installed distributions, the
    project rules' and this package's code, the environment cfn-lint reads: each changes the key."""
    base = server.key()
    monkeypatch.setattr(sys, "path", [*sys.path, str(tmp_path)])
    assert server.key() != base
    monkeypatch.undo()
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-south-2")
    assert server.key() != base
    monkeypatch.undo()
    rules = tmp_path / "rules"
    shutil.copytree(server.RULES_DIR, rules, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(server, "RULES_DIR", rules)
    assert server.key() == base
    first = sorted(rules.glob("*.py"))[0]
    first.write_bytes(first.read_bytes() + b"\n# changed\n")
    assert server.key() != base
    monkeypatch.undo()
    monkeypatch.setattr(server.cache, "installed", lambda: b"regex-2099.1.1.dist-info")
    assert server.key() != base
    monkeypatch.undo()
    monkeypatch.setattr(server.cache, "schema_versions", lambda: b"newer")
    assert server.key() != base
    monkeypatch.undo()
    monkeypatch.setattr(sys, "executable", "/usr/bin/python3-other")
    assert server.key() != base


def test_another_setup_starts_another_server(lint_server, tmp_path, monkeypatch):
    bad = _template(tmp_path, "bad.yaml", BAD)
    workers.lint([bad], [REGION], IGNORE)
    _new_build(monkeypatch)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-south-2")   # cfn-lint's default region: part of the key
    other = workers.lint([bad], [REGION], IGNORE)
    assert other.server == "started" and [f[2] for f in other.findings[bad]] == ["W2001"]
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    assert len({a["pid"] for a in _status(lint_server)}) == 2


def test_a_server_exits_when_idle(lint_server, tmp_path, monkeypatch):
    monkeypatch.setenv(server.ENV_IDLE, "1")
    bad = _template(tmp_path, "bad.yaml", BAD)
    workers.lint([bad], [REGION], IGNORE)
    (running,) = _status(lint_server)
    assert running["idle"] == 1
    assert _wait_gone(running["pid"], 1 + 2 * server.CHECK_EVERY + 5)
    assert not list(lint_server.glob("*.sock")) and not list(lint_server.glob("*.lock"))


def test_a_server_exits_when_its_inputs_change_or_its_socket_goes(lint_server, tmp_path, monkeypatch):
    """cfn-lint --update-specs writes newer schemas under the cache home: the running server's key no longer holds,
    it exits (the next build starts one that reads them). A removed socket: nobody can reach it, it exits."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache-home"))
    bad = _template(tmp_path, "bad.yaml", BAD)
    workers.lint([bad], [REGION], IGNORE)
    (running,) = _status(lint_server)
    schemas = tmp_path / "cache-home" / "aws" / "cfn-lint" / "schemas"
    schemas.mkdir(parents=True)
    (schemas / "version.json").write_text('{"version": "newer"}')
    assert _wait_gone(running["pid"], 2 * server.CHECK_EVERY + 5)
    shutil.rmtree(tmp_path / "cache-home")
    _new_build(monkeypatch)
    workers.lint([bad], [REGION], IGNORE)
    (second,) = _status(lint_server)
    assert second["pid"] != running["pid"]
    Path(second["socket"]).unlink()
    assert _wait_gone(second["pid"], 2 * server.CHECK_EVERY + 5)


def test_the_stop_command_stops_every_server(lint_server, tmp_path, monkeypatch):
    bad = _template(tmp_path, "bad.yaml", BAD)
    workers.lint([bad], [REGION], IGNORE)
    (running,) = _status(lint_server)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    listed = subprocess.run([sys.executable, "-m", "generator", "lint-server", "status"], env=env, cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0 and f"running: lint server {running['pid']} at " in listed.stdout, listed
    stopped = subprocess.run([sys.executable, "-m", "generator", "lint-server", "stop"], env=env, cwd=ROOT,
                             capture_output=True, text=True, timeout=60)
    assert stopped.returncode == 0 and f"stopped: lint server {running['pid']} at " in stopped.stdout, stopped
    assert _wait_gone(running["pid"], 5), "at once (a handler's exception can be lost: the stop is a flag)"
    again = subprocess.run([sys.executable, "-m", "generator", "lint-server", "stop"], env=env, cwd=ROOT,
                           capture_output=True, text=True, timeout=60)
    assert again.stdout.strip() == "no lint server is running"
    make = subprocess.run(["make", "-n", "--no-print-directory", "lint-server-stop"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert make.stdout.strip().endswith("-m generator lint-server stop"), make.stdout


def test_the_socket_directory_is_private(lint_server, tmp_path, monkeypatch):
    bad = _template(tmp_path, "bad.yaml", BAD)
    workers.lint([bad], [REGION], IGNORE)
    assert os.stat(lint_server).st_mode & 0o777 == 0o700
    (sock,) = lint_server.glob("*.sock")
    assert os.stat(sock).st_mode & 0o777 == 0o600
    open_dir = tmp_path / "open"
    open_dir.mkdir(mode=0o755)
    os.chmod(open_dir, 0o777)   # anyone could have put a socket here that answers "no findings"
    monkeypatch.setenv(server.ENV_DIR, str(open_dir))
    with pytest.raises(server.Failed, match="not a private directory"):
        server.directory()
    _new_build(monkeypatch)
    workers.prestart()
    result = workers.lint([bad], [REGION], IGNORE)
    assert result.server == "" and "not a private directory" in result.fallback and result.workers == 1
    assert [f[2] for f in result.findings[bad]] == ["W2001"], "linted by the build's own helper"
    assert not list(open_dir.iterdir())


def test_the_default_directory_is_the_users_runtime_or_cache_directory(monkeypatch, tmp_path):
    monkeypatch.delenv(server.ENV_DIR, raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    (tmp_path / "run").mkdir(mode=0o700)
    assert server.directory() == tmp_path / "run" / "fargate-stacks"
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert server.directory() == tmp_path / "cache" / "fargate-stacks" / "lint-server"
    assert os.stat(tmp_path / "cache" / "fargate-stacks" / "lint-server").st_mode & 0o777 == 0o700


def test_a_server_killed_mid_job_leaves_the_build_linting_with_its_own_helper(lint_server, tmp_path, monkeypatch):
    bad, good = _template(tmp_path, "bad.yaml", BAD), _template(tmp_path, "good.yaml", GOOD)
    workers.lint([good], [REGION], IGNORE)
    (running,) = _status(lint_server)
    before = _settled(running["pid"])
    real = server_client.Client._connect_waiting

    def connect_then_kill(self):
        sock = real(self)   # accepted: the server forks this job's process
        _new_job(running["pid"], before)
        # Stopped first, so that it forks nothing more, then every job it forked since: this build's prestart also
        # made one (an empty job), and killing only one of the two let the real job answer on a loaded machine.
        os.kill(running["pid"], signal.SIGSTOP)
        for job in _children(running["pid"]) - before:
            os.kill(job, signal.SIGKILL)
        os.kill(running["pid"], signal.SIGKILL)
        return sock

    monkeypatch.setattr(server_client.Client, "_connect_waiting", connect_then_kill)
    _new_build(monkeypatch)
    result = workers.lint([bad, good], [REGION], IGNORE)
    assert result.server == "" and "lint server" in result.fallback and result.workers == 2
    assert result.findings == workers.in_process([bad, good], [REGION], IGNORE).findings
    assert [f[2] for f in result.findings[bad]] == ["W2001"]


@pytest.mark.parametrize("reply", [{"findings": {}}, {"seconds": {}}, {"findings": []}, {"error": "boom"}])
def test_a_reply_that_is_not_the_protocols_is_never_a_pass(lint_server, tmp_path, monkeypatch, reply):
    """A reply that leaves out a template it was sent, or is not the protocol's: the build's own helper lints."""
    bad = _template(tmp_path, "bad.yaml", BAD)
    monkeypatch.setattr(server_client.Client, "lint", lambda self, job: reply)
    result = workers.lint([bad], [REGION], IGNORE)
    assert result.server == "" and result.fallback and result.workers == 1
    assert [f[2] for f in result.findings[bad]] == ["W2001"]


def test_a_build_that_goes_away_stops_only_its_own_job(lint_server, tmp_path, monkeypatch):
    """Ctrl-C closes the build's connection: its job process and workers stop; another build's job, and the server,
    go on."""
    files = [_template(tmp_path, f"t{i}.yaml", BAD) for i in range(6)]
    workers.lint(files[:1], [REGION], IGNORE)
    (running,) = _status(lint_server)
    before = _settled(running["pid"])
    client = server_client.Client()
    job = workers._job(files, [REGION], IGNORE, 1)
    quitter = client._connect_waiting()
    quitter.sendall(json.dumps(job).encode() + b"\n")
    quitter_job = _new_job(running["pid"], before)
    replies: list[dict] = []
    other = threading.Thread(target=lambda: replies.append(client.lint(job)))
    other.start()
    _new_job(running["pid"], before | {quitter_job})
    quitter.close()   # what the build's Ctrl-C does
    assert _wait_gone(quitter_job)
    other.join(120)
    (reply,) = replies
    assert {k: [f[2] for f in v] for k, v in reply["findings"].items()} == {f: ["W2001"] for f in files}
    assert _alive(running["pid"])


def test_an_interrupted_build_closes_its_connection_and_its_job_stops(lint_server, tmp_path, monkeypatch):
    """Ctrl-C while the build waits for the reply: the interrupt goes on (no fallback lint), the connection is closed,
    and the server stops that job's process and workers."""
    files = [_template(tmp_path, f"t{i}.yaml", BAD) for i in range(6)]
    workers.lint(files[:1], [REGION], IGNORE)
    (running,) = _status(lint_server)
    before = _settled(running["pid"])
    real_makefile = socket.socket.makefile
    jobs: list[int] = []

    class Interrupted:
        def __init__(self, stream):
            self.stream = stream

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.stream.close()

        def close(self):
            self.stream.close()

        def write(self, data):
            return self.stream.write(data)

        def flush(self):
            self.stream.flush()

        def readline(self):
            jobs.append(_new_job(running["pid"], before))
            raise KeyboardInterrupt

    monkeypatch.setattr(socket.socket, "makefile", lambda self, *a, **k: Interrupted(real_makefile(self, *a, **k)))
    with pytest.raises(KeyboardInterrupt):
        workers.lint(files, [REGION], IGNORE)
    monkeypatch.setattr(socket.socket, "makefile", real_makefile)
    assert jobs and _wait_gone(jobs[0])
    assert _alive(running["pid"]) and workers._shared is None


def test_the_suite_runs_without_a_server():
    """tests/conftest.py turns the server off for every test process and what it starts: a test's build starts its
    own helper, stopped when the test process exits."""
    assert os.environ[server.ENV] == "0" and not server.enabled()
    code = ("import sys; from generator.lint import gate, workers; "
            "r = workers.lint([sys.argv[1]], ['eu-west-1'], sorted(gate.IGNORED_RULES)); print(r.server or '-', r.workers)")
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp) / "t.yaml"
        t.write_text(GOOD)
        out = subprocess.run([sys.executable, "-c", code, str(t)], env={**os.environ, "PYTHONPATH": str(ROOT)},
                             capture_output=True, text=True, check=True, timeout=120, cwd=tmp).stdout
    assert out.split() == ["-", "1"]
