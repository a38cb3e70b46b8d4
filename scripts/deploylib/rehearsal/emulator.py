"""The emulator: moto in server mode on 127.0.0.1 (a free port), isolated from the operator's AWS settings, quiet,
with the workarounds applied and its state reset on the way in and out."""
from __future__ import annotations

import logging
import os
import re
import traceback
import urllib.request
import warnings
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from scripts.deploylib.rehearsal.workarounds import active_workarounds

@contextmanager
def _isolated_environ(account: str) -> Iterator[None]:
    """No profile, config file, metadata service or endpoint override of the operator's leaks in; moto answers
    as `account`."""
    saved = dict(os.environ)
    for key in list(os.environ):
        if key.startswith(("AWS_", "MOTO_")):
            del os.environ[key]
    os.environ.update({"AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
                       "AWS_EC2_METADATA_DISABLED": "true", "MOTO_ACCOUNT_ID": account})
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


EMULATOR_ERRORS: list[str] = []   # server-side exceptions (HTTP 500s), summarised for the report


class _CaptureErrors(logging.Handler):
    """Keeps the last line and the innermost moto frame of each server-side traceback, prints nothing."""

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:     # Flask ("moto" logger) passes exc_info
            exc = record.exc_info[1]
            frames = [f for f in traceback.extract_tb(record.exc_info[2]) if "/moto/" in f.filename]
            where = f" (moto/{frames[-1].filename.split('/moto/', 1)[1]}:{frames[-1].lineno})" if frames else ""
            EMULATOR_ERRORS.append(f"{type(exc).__name__}: {exc}{where}")
            return
        text = record.getMessage()   # werkzeug logs the rendered traceback as text
        if "Traceback" not in text:
            return
        lines = [line for line in text.splitlines() if line.strip()]
        frames = [line.strip() for line in lines if line.strip().startswith("File ") and "/moto/" in line]
        where = ""
        if frames:
            match = re.search(r'/moto/([^"]+)", line (\d+)', frames[-1])
            where = f" (moto/{match.group(1)}:{match.group(2)})" if match else ""
        EMULATOR_ERRORS.append(lines[-1].strip() + where)


@contextmanager
def _quiet_moto() -> Iterator[None]:
    """No per-request lines, no tracebacks on the terminal; server-side exceptions are captured instead."""
    loggers = [logging.getLogger("werkzeug"), logging.getLogger("moto")]
    saved = [(lg.level, lg.propagate) for lg in loggers]
    handler = _CaptureErrors(level=logging.ERROR)
    for lg in loggers:
        # ERROR and up go to the capture handler only; moto's "No Moto CloudFormation support for X" warnings
        # and werkzeug's per-request lines are dropped (the report lists skipped types itself).
        lg.setLevel(logging.ERROR)
        lg.propagate = False
        lg.addHandler(handler)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            yield
        finally:
            for lg, (level, propagate) in zip(loggers, saved):
                lg.removeHandler(handler)
                lg.setLevel(level)
                lg.propagate = propagate


def _reset(url: str) -> None:
    request = urllib.request.Request(f"{url}/moto-api/reset", method="POST", data=b"")
    with urllib.request.urlopen(request, timeout=30) as response:   # noqa: S310 - our own 127.0.0.1 server
        response.read()


@contextmanager
def emulator(account: str) -> Iterator[str]:
    """moto on 127.0.0.1 (free port), clean state, workarounds applied; everything undone on exit.

    Never enter `mock_aws()` while this runs: it shares (and wipes) the server's state.
    """
    from moto.server import ThreadedMotoServer

    with ExitStack() as stack:
        stack.enter_context(_isolated_environ(account))
        stack.enter_context(_quiet_moto())
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        stack.callback(server.stop)
        host, port = server.get_host_and_port()
        url = f"http://{host}:{port}"
        _reset(url)
        stack.callback(_reset, url)     # leave no state behind for anything else in this process
        for workaround in active_workarounds():
            stack.callback(workaround.apply())
        yield url
