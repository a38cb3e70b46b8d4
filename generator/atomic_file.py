"""Writing one file so that a reader sees the old content or the new, never a part (a temporary file beside it,
then a rename). For the single files the tool writes outside a build: the schema, a new app.yaml, the diagram."""
from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path


def replace(path: Path, data: str | bytes) -> None:
    """Write `path`, replacing what is there."""
    tmp = _temporary(path, data)
    try:
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def create(path: Path, data: str | bytes) -> None:
    """Write `path` only if nothing is there; FileExistsError otherwise (also when something appeared meanwhile:
    the final step is a hard link, which never replaces)."""
    tmp = _temporary(path, data)
    try:
        try:
            os.link(tmp, path)
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EXDEV):
                raise
            with open(path, "xb") as f:       # a file system without hard links: exclusive create, then write
                f.write(Path(tmp).read_bytes())
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def _temporary(path: Path, data: str | bytes) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.chmod(tmp, 0o666 & ~_umask())      # the permissions an ordinary new file gets, not mkstemp's 0600
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return tmp


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
