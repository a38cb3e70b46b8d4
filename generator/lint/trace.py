"""Opt-in timestamps of a build's events, in every process of it (the build, the lint helper or server, its workers):
FARGATE_STACKS_TRACE=<file> appends one line per event, `<wall time> <pid> <CPU seconds of the process> <event>`, to
that file (opened in append mode for each line, so the processes' lines interleave whole). Without the variable,
`event` returns at once. For measuring where a build's wall time goes on a loaded machine (docs/performance.md, The
first build's critical path); never read by the build itself.

Light on purpose: imported by the command line before anything else, and by the lint helper.
"""
from __future__ import annotations

import os
import time

ENV = "FARGATE_STACKS_TRACE"


def event(what: str) -> None:
    path = os.environ.get(ENV)
    if not path:
        return
    line = f"{time.time():.6f} {os.getpid()} {time.process_time():.4f} {what}\n".encode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)
    except OSError:   # a trace that cannot be written never fails a build
        pass
