"""The lint server's loop (generator/lint/server.py): it binds its socket, builds cfn-lint's rules once, forks a job
process per connection (a control command, a job sent whole or a streamed one) and exits when idle, when its key's
inputs change, when its socket goes, or on `lint-server stop`."""
from __future__ import annotations

import fcntl
import json
import os
import select
import signal
import socket
import sys
import threading
import time
import traceback
from functools import partial
from pathlib import Path
from typing import Any

from generator.lint.server import CHECK_EVERY, idle_seconds, key, peer_uid


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

    if peer_uid(conn) != os.getuid():
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
        _send(stream, reply)
        return

    def send(reply: dict[str, Any]) -> None:   # as soon as the reply is complete: before the workers are stopped
        reply.update(setup=state["setup"], server={"pid": state["pid"], "jobs_before": state["jobs"]})
        _send(stream, reply)

    if isinstance(request, dict) and request.get("stream"):
        # the job's stream is read to its end line by a thread of the job, which then waits for the connection to
        # close: closing before the reply (Ctrl-C, killed) stops this job and its workers at once
        zygote.answer(line.decode("utf-8"), iter(stream.readline, b""), partial(_stop_at_end, stream), send=send)
    else:
        # the build's connection closing before the reply (Ctrl-C, killed) stops this job and its workers at once
        threading.Thread(target=_stop_when_closed, args=(conn,), daemon=True).start()
        zygote.answer(line.decode("utf-8"), send=send)


def _send(stream: Any, reply: dict[str, Any]) -> None:
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
