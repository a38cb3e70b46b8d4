"""The build's side of the lint server (generator/lint/server.py): finding or starting the server, and one job's
connection (a job sent whole, or streamed template by template: generator/lint/zygote.py's protocol)."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from typing import Any

from generator.lint import RULES_DIR
from generator.lint.server import (
    BOOT, CONNECT_WAIT, Failed, connect, directory, key, python_path, socket_path,
)


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
            connect(self.path).close()   # accepted, then closed at once: the server sees an empty job and ends it
            self.warm = True
            return
        except (OSError, Failed):
            pass
        self.start()

    def start(self) -> None:
        log = os.open(self.path.with_suffix(".log"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            self.started = subprocess.Popen(
                [sys.executable, "-c", BOOT, json.dumps(python_path()), str(self.path), self.key, str(RULES_DIR)],
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
                return connect(self.path)
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
