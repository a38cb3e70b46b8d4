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

This module holds what both ends share (settings, the directory, the key, the socket's path and the peer check);
the build's client is generator/lint/server_client.py, `lint-server stop|status` is server_control.py, and the
server's loop (and its job processes) server_loop.py.

FARGATE_STACKS_LINT_SERVER=0 turns it off: each build starts its own helper, as before (the test suite does, so that
no test leaves a process behind). Any failure (the directory is not private, no server can be reached or started,
the server dies mid-job, a reply that is not the protocol's) raises Failed, and the build lints with its own helper,
then in its own process: never a pass without a lint.
"""
from __future__ import annotations

import hashlib
import json
import os
import socket
import stat
import struct
import sys
from pathlib import Path

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
        "from generator.lint.server_loop import serve; serve()")
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


def python_path() -> list[str]:
    return [os.path.abspath(p) for p in sys.path]


def key() -> str:
    """Everything a helper fixes when it starts (the module docstring), as one SHA-256 in hex."""
    h = hashlib.sha256(FORMAT)
    h.update(json.dumps([sys.executable, os.path.realpath(sys.executable), sys.version, python_path(),
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


def peer_uid(sock: socket.socket) -> int:
    if not hasattr(socket, "SO_PEERCRED"):   # not Linux: the private directory is the guard
        return os.getuid()
    _pid, uid, _gid = struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                                          struct.calcsize("3i")))
    return uid


def connect(path: Path) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(str(path))
        if peer_uid(sock) != os.getuid():
            raise Failed(f"the lint server at {path} runs as another user")
    except BaseException:
        sock.close()
        raise
    return sock
