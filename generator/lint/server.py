"""The lint server: one lint helper kept running between builds, so that a build does not import cfn-lint and build
its rules again (the Gradle daemon's, or dmypy's, pattern).

The first build starts it (a detached process in its own session, `python -c BOOT ... serve`); later builds of the
same user connect to its Unix socket and send their job, one JSON line of generator/lint/zygote.py's protocol, and
read one JSON line back. The server never lints itself: for each connection it forks a job process from its pristine
state (cfn-lint imported, rules built, patches applied: what the per-build helper has), which forks the job's workers
as that helper does. So a job never sees a previous job's state, concurrent builds are served at once, and a build
that goes away (Ctrl-C closes its connection) stops only its own job process and workers (their own process group),
never another build's. (No pre-warm: linting a template in the server before forking made the first template of a
job's worker no faster, docs/performance.md.)

It serves only an identical setup: the socket is named by a key over everything a helper fixes when it starts (the
Python executable, its version and sys.path; cfn-lint's version file and the resource schemas' version files; the
name and version of every installed distribution, as the lint cache and the build stamps read them; the bytes of the
project rules and of this package's modules, the server's own code; the environment variables cfn-lint reads,
`environment()`). Anything else starts another server. A server exits after FARGATE_STACKS_LINT_SERVER_IDLE seconds
without a job (900 by default), when its key's inputs change or vanish (checked every few seconds), when its socket
is removed, and on `python -m generator lint-server stop`.

Where: `$FARGATE_STACKS_LINT_SERVER_DIR`, else `$XDG_RUNTIME_DIR/fargate-stacks`, else
`~/.cache/fargate-stacks/lint-server` (`$XDG_CACHE_HOME` if set). The directory is created 0700 and used only while
it is a directory owned by this user that no one else can write or enter: a socket there can only be created by this
user (or root), so no one else can pose as a server and answer "no findings". Both ends also check the other's user
id on the socket (SO_PEERCRED). The server's standard error goes to `<key>.log` beside its socket.

FARGATE_STACKS_LINT_SERVER=0 turns it off: each build starts its own helper, as before (the test suite does, so that
no test leaves a process behind). Any failure (the directory is not private, no server can be reached or started,
the server dies mid-job, a reply that is not the protocol's) raises Failed, and the build lints with its own helper,
then in its own process: never a pass without a lint.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import select
import signal
import socket
import stat
import struct
import subprocess
import sys
import threading
import time
import traceback
from functools import partial
from pathlib import Path
from typing import Any

from generator.lint import RULES_DIR, cache, cfnlint_dir

ENV = "FARGATE_STACKS_LINT_SERVER"            # 0/off/no/false: no server
ENV_DIR = "FARGATE_STACKS_LINT_SERVER_DIR"    # where the sockets live
ENV_IDLE = "FARGATE_STACKS_LINT_SERVER_IDLE"  # seconds without a job before a server exits
DEFAULT_IDLE = 900.0
CHECK_EVERY = 3.0       # seconds between the server's checks of its key and socket
CONNECT_WAIT = 15.0     # how long a build waits for a socket to appear (a server starting under load)
FORMAT = b"fargate-stacks lint server 1"
# The environment variables cfn-lint reads that a helper fixes when it starts: where it finds updated schemas
# (XDG_CACHE_HOME, HOME) and its default region.
ENVIRONMENT = ("XDG_CACHE_HOME", "HOME", "AWS_REGION", "AWS_DEFAULT_REGION")
BOOT = ("import json, sys; sys.path[:] = json.loads(sys.argv.pop(1)); "
        "from generator.lint.server import serve; serve()")
class Failed(Exception):
    """The server cannot be used for this job: the build lints elsewhere."""


def enabled() -> bool:
    return os.environ.get(ENV, "1").strip().lower() not in ("0", "off", "no", "false")


def environment() -> tuple:
    return tuple(os.environ.get(k) for k in ENVIRONMENT)


def idle_seconds() -> float:
    try:
        return max(1.0, float(os.environ.get(ENV_IDLE, "")))
    except ValueError:
        return DEFAULT_IDLE


def directory() -> Path:
    """The private directory of this user's sockets, created if needed; Failed when it is not private."""
    if os.environ.get(ENV_DIR):
        folder = Path(os.environ[ENV_DIR])
    elif os.environ.get("XDG_RUNTIME_DIR", "").startswith("/"):
        folder = Path(os.environ["XDG_RUNTIME_DIR"]) / "fargate-stacks"
    else:
        cache_home = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
        folder = Path(cache_home) / "fargate-stacks" / "lint-server"
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:
            pass
        st = os.lstat(folder)
    except OSError as exc:
        raise Failed(f"no lint server: {folder}: {exc.strerror}") from exc
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or stat.S_IMODE(st.st_mode) & 0o077:
        raise Failed(f"no lint server: {folder} is not a private directory of this user (mode 0700)")
    return folder


def _python_path() -> list[str]:
    return [os.path.abspath(p) for p in sys.path]


def key() -> str:
    """Everything a helper fixes when it starts (the module docstring), as one SHA-256 in hex."""
    h = hashlib.sha256(FORMAT)
    h.update(json.dumps([sys.executable, os.path.realpath(sys.executable), sys.version, _python_path(),
                         environment()]).encode())
    h.update(b"\0cfn-lint " + (cfnlint_dir() / "version.py").read_bytes())
    h.update(b"\0schemas " + cache.schema_versions())
    h.update(b"\0installed " + cache.installed())
    for path in sorted(RULES_DIR.iterdir()):   # every file: a rule may read more than its source
        if path.is_file():
            h.update(b"\0rule " + path.name.encode() + b"\0" + path.read_bytes())
    for path in sorted(Path(__file__).parent.glob("*.py")):
        h.update(b"\0module " + path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def socket_path(folder: Path, server_key: str) -> Path:
    path = folder / f"{server_key[:32]}.sock"
    if len(os.fsencode(path)) > 100:   # sun_path holds 108 bytes
        raise Failed(f"no lint server: the socket path {path} is too long")
    return path


def _peer_uid(sock: socket.socket) -> int:
    if not hasattr(socket, "SO_PEERCRED"):   # not Linux: the private directory is the guard
        return os.getuid()
    _pid, uid, _gid = struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                                          struct.calcsize("3i")))
    return uid


def _connect(path: Path) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(str(path))
        if _peer_uid(sock) != os.getuid():
            raise Failed(f"the lint server at {path} runs as another user")
    except BaseException:
        sock.close()
        raise
    return sock


# --- the build's side --------------------------------------------------------------------------------------------
class Client:
    """One build's use of the server: `prestart` finds it or starts it, `lint` sends the job."""

    def __init__(self) -> None:
        self.pid = os.getpid()   # a forked copy of the build starts its own client
        self.folder = directory()
        self.key = key()
        self.path = socket_path(self.folder, self.key)
        self.started: subprocess.Popen | None = None   # the server this build started, if it did
        self.warm = False                               # a server was already listening when the build began

    def prestart(self) -> None:
        try:
            _connect(self.path).close()   # accepted, then closed at once: the server sees an empty job and ends it
            self.warm = True
            return
        except (OSError, Failed):
            pass
        self.start()

    def start(self) -> None:
        log = os.open(self.path.with_suffix(".log"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            self.started = subprocess.Popen(
                [sys.executable, "-c", BOOT, json.dumps(_python_path()), str(self.path), self.key, str(RULES_DIR)],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log, cwd="/", start_new_session=True)
        except OSError as exc:
            raise Failed(f"the lint server did not start: {exc}") from exc
        finally:
            os.close(log)

    def _connect_waiting(self) -> socket.socket:
        """The server's socket, waiting while a server starts (it binds before it loads cfn-lint)."""
        deadline = time.monotonic() + CONNECT_WAIT
        restarted = False
        while True:
            try:
                return _connect(self.path)
            except (FileNotFoundError, ConnectionRefusedError) as exc:
                if not restarted and (self.started is None or self.started.poll() is not None):
                    # gone since prestart (idle, stopped, its inputs changed), or the one started lost a race: start one
                    self.start()
                    restarted = True
                if time.monotonic() > deadline:
                    raise Failed(f"no lint server answered at {self.path}: {exc.strerror}") from exc
                time.sleep(0.02)
            except OSError as exc:
                raise Failed(f"the lint server at {self.path}: {exc}") from exc

    def lint(self, job: dict[str, Any]) -> dict[str, Any]:
        """The server's reply to `job` (the protocol's); Failed when there is none."""
        return self.open(job).reply()

    def open(self, job: dict[str, Any]) -> Connection:
        """A job sent on a connection of its own: a streamed job (`"stream": true`) goes on with `send`, and `reply`
        ends it and reads the reply."""
        return Connection(self._connect_waiting(), job)


class Connection:
    """One job's connection. Closing it before the reply (`close`, also on Ctrl-C or when the build fails) stops the
    job's process and workers in the server, and only them."""

    def __init__(self, sock: socket.socket, job: dict[str, Any]) -> None:
        self.sock = sock
        self.streamed = bool(job.get("stream"))
        try:
            self.stream = sock.makefile("rwb")
            self._write(job)
        except BaseException:
            self.close()
            raise

    def _write(self, message: dict[str, Any]) -> None:
        try:
            self.stream.write(json.dumps(message).encode() + b"\n")
            self.stream.flush()
        except OSError as exc:
            self.close()
            raise Failed(f"the lint server failed: {exc}") from exc
        except BaseException:
            self.close()
            raise

    def send(self, path: str) -> None:
        """One more template of a streamed job, written whole: the server's workers may start on it at once."""
        self._write({"file": path})

    def reply(self) -> dict[str, Any]:
        """Ends the job (a streamed one with its end line) and returns the reply; Failed when there is none."""
        try:
            if self.streamed:
                self._write({"end": True})
            try:
                line = self.stream.readline()
            except OSError as exc:
                raise Failed(f"the lint server failed: {exc}") from exc
        finally:   # also on Ctrl-C: the closed connection stops this job's process and workers, and only them
            self.close()
        if not line.endswith(b"\n"):
            raise Failed("the lint server went away during the job")
        try:
            reply = json.loads(line)
        except ValueError as exc:
            raise Failed(f"the lint server's reply is not JSON: {exc}") from exc
        if not isinstance(reply, dict):
            raise Failed("the lint server's reply is not a JSON object")
        return reply

    def close(self) -> None:
        for closing in (getattr(self, "stream", None), self.sock):
            try:
                if closing is not None:
                    closing.close()
            except OSError:
                pass


def control(command: str) -> list[dict[str, Any]]:
    """Sends `command` ("stop" or "status") to every server of this user (any key); their answers. A socket nobody
    listens on any more is removed."""
    folder = directory()
    answers = []
    for path in sorted(folder.glob("*.sock")):
        try:
            sock = _connect(path)
        except ConnectionRefusedError:
            path.unlink(missing_ok=True)
            continue
        except (OSError, Failed):
            continue
        try:
            sock.settimeout(10)
            with sock.makefile("rwb") as stream:
                stream.write(json.dumps({"control": command}).encode() + b"\n")
                stream.flush()
                line = stream.readline()
            answers.append({"socket": str(path), **json.loads(line)})
        except (OSError, ValueError):
            continue
        finally:
            sock.close()
    return answers


# --- the server's side -------------------------------------------------------------------------------------------
def serve() -> None:
    """The server's main (BOOT): argv is [socket path, key, rules directory]. Ends with os._exit: the interpreter's
    teardown of cfn-lint's objects takes seconds, and there is nothing left to flush but standard error."""
    code = 0
    try:
        _serve()
    except BaseException:   # noqa: BLE001 - into the log
        traceback.print_exc()
        code = 1
    sys.stderr.flush()
    os._exit(code)


def _serve() -> None:
    path, server_key, rules_dir = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    os.dup2(2, 1)   # stray prints go to the log
    lock = os.open(path.with_suffix(".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return   # another server of this key is starting or running
    path.unlink(missing_ok=True)   # a dead server's
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    os.chmod(path, 0o600)
    listener.listen(64)
    inode = os.stat(path).st_ino
    # SIGTERM (`lint-server stop`, or kill) sets a flag and wakes the loop through a pipe: an exception raised from a
    # handler can land where Python ignores it (an at-fork hook, a __del__)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    stopping: list[int] = []
    signal.signal(signal.SIGTERM, lambda signum, _frame: stopping.append(signum))
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from generator.lint import zygote

    state: dict[str, Any] = {"pid": os.getpid(), "key": server_key, "since": time.time(), "jobs": 0,
                             "setup": zygote.setup(rules_dir), "idle": idle_seconds()}
    children: set[int] = set()
    last = time.monotonic()
    last_check = last
    try:
        while not stopping:
            ready, _, _ = select.select([listener, wake_r], [], [], CHECK_EVERY)
            if wake_r in ready:
                os.read(wake_r, 512)
                continue
            if ready:
                conn, _ = listener.accept()
                children.add(_fork_job(conn, listener, state))
                state["jobs"] += 1
                conn.close()
                last = time.monotonic()
            children -= _reaped(children)
            if children:
                last = time.monotonic()
            now = time.monotonic()
            if now - last > state["idle"]:
                break
            if now - last_check >= CHECK_EVERY:
                last_check = now
                if not _still_ours(path, inode) or not _same_key(server_key):
                    break
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if _still_ours(path, inode):
            path.unlink(missing_ok=True)
        while select.select([listener], [], [], 0)[0]:   # builds that connected before the socket went
            conn, _ = listener.accept()
            _fork_job(conn, listener, state)
            conn.close()
        listener.close()
        path.with_suffix(".lock").unlink(missing_ok=True)   # a server starting now locks a new file: no race
        os.close(lock)
        log = path.with_suffix(".log")
        if log.exists() and log.stat().st_size == 0:
            log.unlink(missing_ok=True)


def _still_ours(path: Path, inode: int) -> bool:
    try:
        return os.stat(path).st_ino == inode
    except OSError:
        return False


def _same_key(server_key: str) -> bool:
    try:
        return key() == server_key
    except OSError:   # a file it reads is gone (the environment or the checkout was removed)
        return False


def _reaped(children: set[int]) -> set[int]:
    done = set()
    for pid in children:
        try:
            if os.waitpid(pid, os.WNOHANG)[0]:
                done.add(pid)
        except ChildProcessError:
            done.add(pid)
    return done


def _fork_job(conn: socket.socket, listener: socket.socket, state: dict[str, Any]) -> int:
    pid = os.fork()
    if pid:
        return pid
    code = 0
    try:
        listener.close()
        signal.set_wakeup_fd(-1)
        os.setpgid(0, 0)   # this job and its workers: one group, stopped together, apart from other jobs
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        _job(conn, state)
    except BaseException:   # noqa: BLE001 - the client sees the connection close and lints elsewhere
        code = 1
    finally:
        os._exit(code)
    return 0


def _job(conn: socket.socket, state: dict[str, Any]) -> None:
    from generator.lint import zygote

    if _peer_uid(conn) != os.getuid():
        return
    stream = conn.makefile("rwb")
    line = stream.readline()
    if not line.strip():   # a build that only checked the server is there
        return
    request = json.loads(line)
    control = isinstance(request, dict) and "control" in request
    if control:
        if request["control"] == "stop":
            os.kill(os.getppid(), signal.SIGTERM)
        reply = {k: state[k] for k in ("pid", "key", "since", "jobs", "setup", "idle") if k in state}
    elif isinstance(request, dict) and request.get("stream"):
        # the job's stream is read to its end line by a thread of the job, which then waits for the connection to
        # close: closing before the reply (Ctrl-C, killed) stops this job and its workers at once
        reply = zygote.answer(line.decode("utf-8"), iter(stream.readline, b""), partial(_stop_at_end, stream))
    else:
        # the build's connection closing before the reply (Ctrl-C, killed) stops this job and its workers at once
        threading.Thread(target=_stop_when_closed, args=(conn,), daemon=True).start()
        reply = zygote.answer(line.decode("utf-8"))
    if not control:
        reply.update(setup=state["setup"], server={"pid": state["pid"], "jobs_before": state["jobs"]})
    stream.write(json.dumps(reply).encode() + b"\n")
    stream.flush()


def _stop_at_end(stream: Any) -> None:
    """A streamed job's connection, after its end line: nothing more comes until the build closes it."""
    try:
        while stream.readline():
            pass
    except OSError:
        pass
    os.killpg(0, signal.SIGKILL)


def _stop_when_closed(conn: socket.socket) -> None:
    try:
        while conn.recv(4096):
            pass
    except OSError:
        pass
    os.killpg(0, signal.SIGKILL)
