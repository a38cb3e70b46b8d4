"""Reads the app spec file: a regular file of at most MAX_BYTES of UTF-8 text, or one line saying what the path is.

The file is opened without blocking (a FIFO at the path must not hang the build) and checked with fstat on the open
descriptor, so what is read is what was checked.
"""
from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from generator.errors import ConfigError, Problem

MAX_BYTES = 1_000_000  # the default app.yaml is about 7 kB

_NOT_A_FILE = {
    stat.S_IFDIR: "is a directory",
    stat.S_IFIFO: "is a named pipe (FIFO), not a file",
    stat.S_IFCHR: "is a character device, not a file",
    stat.S_IFBLK: "is a block device, not a file",
    stat.S_IFSOCK: "is a socket, not a file",
}
FIX = "pass the app spec file with --app PATH"


def read_text(path: Path, source: str) -> str:
    def refuse(message: str) -> ConfigError:
        return ConfigError(source, [Problem("", message)])

    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise refuse(_open_problem(path, exc)) from exc
    try:
        info = os.fstat(fd)
        kind = stat.S_IFMT(info.st_mode)
        if kind != stat.S_IFREG:
            raise refuse(f"{_NOT_A_FILE.get(kind, 'is not a regular file')}; {FIX}")
        data = _read_at_most(fd, MAX_BYTES + 1)
    except OSError as exc:
        raise refuse(f"cannot be read ({exc.strerror or exc}); check the file and its permissions") from exc
    finally:
        os.close(fd)
    if len(data) > MAX_BYTES:
        raise refuse(f"is larger than {MAX_BYTES:,} bytes, far more than an app spec needs; check that --app names "
                     "the app spec")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise refuse(f"not UTF-8 text (byte {exc.start}); save the file as UTF-8") from exc


def _read_at_most(fd: int, limit: int) -> bytes:
    chunks, total = [], 0
    while total < limit:
        chunk = os.read(fd, min(65536, limit - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def _open_problem(path: Path, exc: OSError) -> str:
    if exc.errno == errno.ENOENT:
        if os.path.islink(path):
            return f"is a symbolic link to {os.readlink(path)!r}, which does not exist; {FIX}"
        return "file not found; pass --app PATH or create app.yaml (see README)"
    if exc.errno == errno.ELOOP:
        return f"is a symbolic link loop (a link that leads back to itself); {FIX}"
    if exc.errno == errno.ENOTDIR:
        return f"a part of the path is a file, not a directory; {FIX}"
    if exc.errno == errno.ENXIO:
        return f"is a socket or a device without a reader, not a file; {FIX}"
    if exc.errno == errno.EISDIR:
        return f"is a directory; {FIX}"
    return f"cannot be opened ({exc.strerror or exc}); check the path and its permissions"
