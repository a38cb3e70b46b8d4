"""Build stamps: a rebuild with nothing changed answers "up to date" without importing the generator.

After a build passed the whole gate and its output was swapped in, a stamp records one SHA-256 (the fingerprint)
over everything the build read and everything it wrote:

- inputs, read before the build started: the app spec's bytes; every file of the generator's source tree (the
  package, its project rules, data files and Lambda sources) and of buildspecs/; the lint cache's rule set (this
  format, the Python version, cfn-lint's version file, the name and version of every installed distribution, the
  resource schemas' version files, the project rules; generator/lint/cache.py); the paths given (spec, --out,
  --params) and the working directory;
- outputs, read from the staged folders just before the swap (nothing else writes there): every entry under --out
  and --params, by relative path, type, permission bits, and for a file its modification time and bytes (the fixed
  mtime matters: `aws cloudformation package` zips the Lambda folder with it).

The next `build` of the same spec into the same folders computes the same fingerprint from the current files before
importing anything heavy; if it equals the stamp it prints one line and exits 0, writing nothing. Any difference (an
edited spec or generator file, another package version, an output file edited, added, removed, touched or chmod-ed)
runs the normal build, which rewrites the output. So does anything the normal build would act on: a swap journal or
lock file beside either folder, or an interrupted build's staging folder (generator/swap.py).

Stamps live under the lint cache's directory (`<cache>/builds/`, one small file per spec and folders, written
atomically; the oldest beyond MAX_STAMPS are removed). There is none when the lint cache is off
(FARGATE_STACKS_LINT_CACHE=off) or when a `.cfnlintrc` can change cfn-lint's rules (generator/lint/cache.py).

What it cannot see, as the lint cache cannot: an installed package's files edited in place without a version change.
"""
from __future__ import annotations

import hashlib
import json
import os
import stat
import tempfile
from pathlib import Path

from generator.lint import cache
from generator.records import record

FORMAT = b"fargate-stacks build stamp 1"
PACKAGE = Path(__file__).resolve().parent
# The source trees a build reads: the generator package and the buildspec templates it renders (buildspecs.py).
SOURCES: tuple[Path, ...] = (PACKAGE, PACKAGE.parent / "buildspecs")
SKIPPED = frozenset({"__pycache__"})
MAX_STAMPS = 200
SPEC_LIMIT = 1_000_000   # the loader's own limit (generator/config/spec_file.py, MAX_BYTES): a larger spec fails


def _tree(h: "hashlib._Hash", root: Path, *, outputs: bool) -> None:
    """Every entry under `root` (root itself as "."), sorted, by relative path and type; a file's bytes; for the
    outputs also permission bits and a file's modification time."""
    def entry(path: str, rel: str) -> bool:
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            h.update(b"\0missing " + rel.encode())
            return False
        kind = ("dir" if stat.S_ISDIR(st.st_mode) else "file" if stat.S_ISREG(st.st_mode)
                else "link" if stat.S_ISLNK(st.st_mode) else "other")
        h.update(f"\0{kind} {rel}".encode(errors="surrogateescape"))
        if outputs:
            h.update(f" {stat.S_IMODE(st.st_mode):o}".encode())
        if kind == "file":
            if outputs:
                h.update(f" {st.st_mtime_ns}".encode())
            h.update(b"\0" + _read_regular(path))
        elif kind == "link":
            h.update(b"\0" + os.fsencode(os.readlink(path)))
        return kind == "dir"

    if not entry(str(root), "."):
        return
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if outputs or d not in SKIPPED)
        base = os.path.relpath(folder, root)
        for name in sorted(files + dirs):   # a symbolic link to a folder is listed in dirs, not followed
            if not outputs and name.endswith((".pyc", ".pyo")):
                continue
            entry(os.path.join(folder, name), name if base == "." else f"{base}/{name}")


def _read_regular(path: str) -> bytes:
    """A file's bytes; a marker when it stopped being a regular file since it was listed (never blocks on a pipe)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except OSError:
        return b"\0unreadable"
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return b"\0not a file"
        with os.fdopen(os.dup(fd), "rb") as f:
            return f.read()
    except OSError:
        return b"\0unreadable"
    finally:
        os.close(fd)


def outputs_digest(out: Path, params: Path) -> bytes:
    """The state of the two output folders (or of their staged replacements)."""
    h = hashlib.sha256(b"outputs")
    for label, folder in ((b"out", out), (b"params", params)):
        h.update(b"\0" + label)
        _tree(h, folder, outputs=True)
    return h.digest()


def _busy(dest: Path) -> bool:
    """A journal, a lock or a staging folder beside `dest`: the normal build has something to settle or report."""
    parent, name = dest.parent, dest.name
    try:
        return any(entry.startswith((f".{name}.build-", f".staging-{name}")) for entry in os.listdir(parent))
    except OSError:
        return True


@record(frozen=True)
class Stamp:
    """One build's stamp: where it is kept and the fingerprint of its inputs (read before the build)."""

    path: Path
    inputs: bytes

    def fingerprint(self, outputs: bytes) -> str:
        return hashlib.sha256(FORMAT + b"\0" + self.inputs + b"\0" + outputs).hexdigest()

    def matches(self, out: Path, params: Path) -> dict | None:
        """The stamp's record when the current output folders are exactly what the stamped build wrote from these
        inputs, else None."""
        if _busy(out) or _busy(params):
            return None
        try:
            record = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(record, dict) or record.get("fingerprint") != self.fingerprint(outputs_digest(out, params)):
            return None
        try:
            os.utime(self.path)   # recently used: pruned last
        except OSError:
            pass
        return record

    def record(self, outputs: bytes, templates: int, params: int) -> None:
        """Atomically; failing to write only costs the next rebuild its shortcut."""
        tmp = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".tmp-")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump({"fingerprint": self.fingerprint(outputs), "templates": templates, "params": params}, f)
            os.replace(tmp, self.path)
            tmp = None
            _prune(self.path.parent)
        except OSError:
            pass
        finally:
            if tmp is not None:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass


def _prune(folder: Path, keep: int = MAX_STAMPS) -> None:
    try:
        entries = sorted(((e.stat().st_mtime, e.path) for e in os.scandir(folder) if e.is_file()), reverse=True)
    except OSError:
        return
    for _, path in entries[keep:]:
        try:
            os.unlink(path)
        except OSError:
            pass


def _spec_bytes(spec: Path) -> bytes | None:
    """The spec's bytes if it is a regular file of at most SPEC_LIMIT bytes: never blocks on a named pipe or reads a
    device without end (the loader refuses those with its own message, generator/config/spec_file.py)."""
    try:
        fd = os.open(spec, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        chunks, total = [], 0
        while total <= SPEC_LIMIT:
            chunk = os.read(fd, 65536)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
            total += len(chunk)
        return None
    except OSError:
        return None
    finally:
        os.close(fd)


def stamp(spec: Path, out: Path, params: Path) -> Stamp | None:
    """The stamp of a build of `spec` into `out` and `params`, its inputs read now; None when builds are not
    stamped (the lint cache off, a .cfnlintrc) or the spec is not a regular file it can read (the build reports
    it)."""
    folder = cache.directory()
    rules = cache.rule_set((), ()) if folder is not None else None
    if folder is None or rules is None:
        return None
    spec_bytes = _spec_bytes(spec)
    if spec_bytes is None:
        return None
    where = json.dumps([os.path.abspath(spec), os.path.abspath(out), os.path.abspath(params),
                        os.path.abspath(os.getcwd())]).encode()
    h = hashlib.sha256(FORMAT)
    h.update(b"\0where " + where)
    h.update(b"\0rules " + rules)
    h.update(b"\0spec " + spec_bytes)
    for source in SOURCES:
        h.update(b"\0source " + str(source.name).encode())
        _tree(h, source, outputs=False)
    return Stamp(folder / "builds" / hashlib.sha256(where).hexdigest(), h.digest())
