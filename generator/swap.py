"""Replacing the output directories as one transaction: both old or both new, whatever happens to the process.

A build replaces two directories (`templates_out/` and `params/`, or whatever --out and --params name), and no
filesystem renames two directories in one step. Whatever the design, a process killed between the two renames
leaves one directory new and the other old (or missing). So the swap is journalled, and whoever comes next
finishes or undoes it:

1. Lock. Each destination has a lock file beside it (`.<name>.build-lock`, flock, not waited for): a second build
   on either directory stops with one line instead of interleaving its renames with ours. The kernel drops the
   lock when the process dies, however it dies.
2. Recover. Under the locks, a journal left by a build that died mid-swap (`.<name>.build-journal`) is settled
   (rule below), then the `.staging-<name>.*` folders of interrupted builds are removed.
3. Stage. New content is written into `.staging-<name>.<random>` beside each destination (same filesystem, so the
   swap is a rename) and validated there. Killed here, nothing has changed.
4. Journal. Before the first rename, the list of moves (destination, staged folder, backup name, whether there was
   an old directory) is written beside every destination (write, fsync, rename: a journal is whole or absent).
5. Swap. For each destination: rename it to its backup, rename the staged folder into its place. SIGINT, SIGTERM
   and SIGHUP are held back for these few renames and delivered right after, so Ctrl-C lands before the swap
   (output untouched) or after it (output new), never between. An exception between the renames (a failed rename)
   settles the journal at once, which rolls back.
6. Commit. Once the last staged folder is in place the build is committed: backups and journals are removed.

Settling a journal (in-process after an exception, or by the next build after SIGKILL or a crash): if none of the
staged folders it names exists any more and every destination does, every staged folder was renamed into place, so
every destination is new: roll forward (delete the backups). Otherwise roll back, in reverse order: a destination
that holds new content is renamed back to its staged name and its backup is renamed into place. A rollback only
ever re-creates staged folders, so a rollback that is itself killed is still recognised as one; nothing deletes a
staged folder while its journal exists. Journals are removed last; whatever staged or backup folder is left is
stale and removed by the next build. Paths in a journal are relative to it, so a project moved after a crash still
recovers.

Readers: scripts/deploy.py refuses to use templates or parameter files while a journal exists (`pending`).
Not covered: power loss before the kernel has written the staged files (they are not fsynced, to keep builds fast);
a reader that opens the directories while a build is swapping them.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import secrets
import shutil
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from generator.errors import OutputError
from generator.records import record

STAGING_PREFIX = ".staging-"
JOURNAL_SUFFIX = ".build-journal"
LOCK_SUFFIX = ".build-lock"
DEFERRED_SIGNALS = tuple(getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, n))


def journal_path(dest: Path) -> Path:
    return dest.parent / f".{dest.name}{JOURNAL_SUFFIX}"


def pending(dest: Path) -> Path | None:
    """The journal of a swap that a killed build left unfinished for this destination, if any."""
    path = journal_path(Path(os.path.abspath(dest)))
    return path if os.path.lexists(path) else None


def _staging_name(dest: Path, backup: bool = False) -> str:
    return f"{STAGING_PREFIX}{dest.name}.{secrets.token_hex(8)}{'.old' if backup else ''}"


def _stale_pattern(name: str) -> re.Pattern[str]:
    # Ours: `.staging-<name>.<16 hex>[.old]`, unambiguous whatever <name> is. Also the names of builds before the
    # journal (`.staging-<name>-<mkdtemp suffix>`, `.staging-<name>-old-<pid>`), so their leftovers go too.
    n = re.escape(name)
    return re.compile(rf"^\.staging-{n}(?:\.[0-9a-f]{{16}}(?:\.old)?|-[a-z0-9_]{{8}}|-old-[0-9]+)$")


def new_staging_dir(dest: Path) -> Path:
    """An empty folder beside `dest`. os.mkdir gives it the umask's permissions: it becomes the output directory,
    so mkdtemp's 0700 would carry over to what the user and git see."""
    while True:
        path = dest.parent / _staging_name(dest)
        try:
            os.mkdir(path)
        except FileExistsError:
            continue
        return path


@contextlib.contextmanager
def deferred_signals() -> Iterator[None]:
    """Hold SIGINT/SIGTERM/SIGHUP back for the duration, then deliver them to the previous handlers."""
    if threading.current_thread() is not threading.main_thread():
        yield          # Python runs signal handlers in the main thread only; it gets the signal, not this one
        return
    received: list[int] = []
    previous: dict[int, object] = {}
    for signum in DEFERRED_SIGNALS:
        previous[signum] = signal.getsignal(signum)
        signal.signal(signum, lambda s, _frame: received.append(s))
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)  # type: ignore[arg-type]
        for signum in dict.fromkeys(received):
            signal.raise_signal(signum)


# --- the journal --------------------------------------------------------------------------------------------------

@record(frozen=True)
class Move:
    dest: Path
    staged: Path
    backup: Path
    had_old: bool


def _write_journals(moves: list[Move], journals: list[Path]) -> None:
    for journal in journals:
        base = journal.parent

        def rel(p: Path) -> str:
            return os.path.relpath(p, base)

        data = {"version": 1, "journals": [rel(j) for j in journals],
                "moves": [{"dest": rel(m.dest), "staged": rel(m.staged), "backup": rel(m.backup),
                           "had_old": m.had_old} for m in moves]}
        tmp = journal.with_name(journal.name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, journal)
        _fsync_dir(base)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _read_journal(journal: Path) -> tuple[list[Move], list[Path]]:
    base = journal.parent

    def at(rel: str) -> Path:
        return Path(os.path.normpath(base / rel))

    try:
        data = json.loads(journal.read_text(encoding="utf-8"))
        moves = [Move(at(m["dest"]), at(m["staged"]), at(m["backup"]), bool(m["had_old"])) for m in data["moves"]]
        return moves, [at(j) for j in data["journals"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise OutputError(f"{journal}: cannot read the journal of an interrupted build ({exc}); check that the "
                          "output directories beside it are complete, then delete it") from exc


def settle(moves: list[Move], journals: list[Path]) -> str:
    """Finish or undo a swap from its journal (see the module docstring); returns "forward" or "back"."""
    lexists = os.path.lexists
    if not any(lexists(m.staged) for m in moves) and all(lexists(m.dest) for m in moves):
        direction = "forward"
        for m in moves:
            _remove(m.backup)
    else:
        direction = "back"
        for m in reversed(moves):
            if lexists(m.backup):
                if lexists(m.dest):
                    os.rename(m.dest, m.staged)
                os.rename(m.backup, m.dest)
            elif not m.had_old and lexists(m.dest) and not lexists(m.staged):
                os.rename(m.dest, m.staged)
    for journal in journals:
        journal.unlink(missing_ok=True)
    for m in moves:
        _remove(m.staged)
    return direction


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.lexists(path):
        with contextlib.suppress(OSError):
            path.unlink()


# --- the lock -----------------------------------------------------------------------------------------------------

class _Lock:
    def __init__(self, dest: Path, shown: str) -> None:
        self.shown = shown
        self.path = dest.parent / f".{dest.name}{LOCK_SUFFIX}"
        self.fd: int | None = None

    def acquire(self) -> None:
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.read(fd, 32).decode(errors="replace").strip()
                os.close(fd)
                who = f" (process {holder})" if holder.isdigit() else ""
                raise OutputError(f"{self.shown}: another build{who} is writing it; wait for that build to finish, "
                                  "then run this one again") from None
            # The previous holder removes the file when it is done: if it did so between our open and our flock,
            # we hold a lock on a file nobody else will open. Start again on the current one.
            try:
                current = os.stat(self.path)
            except FileNotFoundError:
                current = None
            if current is not None and os.path.samestat(os.fstat(fd), current):
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self.fd = fd

    def release(self) -> None:
        if self.fd is None:
            return
        with contextlib.suppress(OSError):
            self.path.unlink()      # while still holding it: see acquire
        os.close(self.fd)
        self.fd = None


# --- the transaction ----------------------------------------------------------------------------------------------

@contextlib.contextmanager
def _os_errors(where: Path | str, doing: str, outcome: str = "nothing was changed") -> Iterator[None]:
    """An OSError becomes one line: `<dest>: <what we were doing> (<why>: <file>); <state of the output>`."""
    try:
        yield
    except OSError as exc:
        why = f"{exc.strerror or exc}{f': {exc.filename}' if exc.filename else ''}"
        raise OutputError(f"{where}: {doing} ({why}); {outcome}") from exc


class OutputSwap:
    """`with OutputSwap([out, params]) as swap: swap.stage(out, write) ...; swap.commit()`. Leaving the block
    without commit() removes what was staged; the destinations are untouched. Messages show each destination as
    the caller gave it."""

    def __init__(self, dests: list[Path], note: Callable[[str], None] | None = None) -> None:
        self.dests = [Path(os.path.abspath(d)) for d in dests]
        self._shown = {d: str(given) for d, given in zip(self.dests, dests)}
        self.note = note or (lambda _line: None)
        self.committed = False
        self._locks: list[_Lock] = []
        self._staged: list[tuple[Path, Path]] = []
        self._given: dict[Path, Path] = {}
        self._journalled = False       # a journal names our folders and is not settled yet

    def __enter__(self) -> OutputSwap:
        try:
            resolved = []
            for dest in self.dests:
                with _os_errors(self._shown[dest], "cannot create the folder it goes in"):
                    dest.parent.mkdir(parents=True, exist_ok=True)
                resolved.append(dest.parent.resolve() / dest.name)
            self._given = dict(zip(self.dests, resolved))
            self._shown = {real: self._shown[d] for d, real in self._given.items()}
            self.dests = resolved
            for dest in sorted(self.dests):
                lock = _Lock(dest, self._shown[dest])
                with _os_errors(self._shown[dest], "cannot create the lock file beside it"):
                    lock.acquire()
                self._locks.append(lock)
            self._recover()
            for dest in self.dests:
                self._remove_stale(dest)
        except BaseException:
            self._release()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if not self.committed and not self._journalled:    # a kept journal needs its staged folders
                for staged, _ in self._staged:
                    _remove(staged)
        finally:
            self._release()

    def _release(self) -> None:
        for lock in reversed(self._locks):
            lock.release()
        self._locks = []

    def _recover(self) -> None:
        for dest in self.dests:
            journal = journal_path(dest)
            Path(str(journal) + ".tmp").unlink(missing_ok=True)
            if not os.path.lexists(journal):
                continue
            moves, journals = _read_journal(journal)
            with deferred_signals(), _os_errors(journal, "cannot finish or undo the swap an interrupted build left",
                                                "the journal is kept; fix the cause and run the build again"):
                direction = settle(moves, journals)
            shown = " and ".join(f"{m.dest}" for m in moves)
            self.note(f"note: an earlier build was interrupted while replacing {shown}; "
                      + ("its swap was completed" if direction == "forward" else "its swap was undone"))

    @staticmethod
    def _remove_stale(dest: Path) -> None:
        pattern = _stale_pattern(dest.name)
        with contextlib.suppress(OSError):
            for entry in os.scandir(dest.parent):
                if pattern.match(entry.name):
                    _remove(Path(entry.path))

    def stage(self, dest: Path, write: Callable[[Path], None]) -> Path:
        """A fresh staging folder beside `dest` (one of the destinations), filled by `write(folder)`."""
        dest = self._given[Path(os.path.abspath(dest))]
        with _os_errors(self._shown[dest], "cannot write the new output beside it"):
            staged = new_staging_dir(dest)
            self._staged.append((staged, dest))
            write(staged)
        return staged

    def add(self, dest: Path, write: Callable[[Path], None]) -> None:
        """More of `dest`'s new output, written by `write(folder)` into the folder `stage` made for it (a build
        writes each template there as soon as it is rendered)."""
        dest = self._given[Path(os.path.abspath(dest))]
        staged = next(folder for folder, d in self._staged if d == dest)
        with _os_errors(self._shown[dest], "cannot write the new output beside it"):
            write(staged)

    def commit(self) -> None:
        moves = [Move(dest, staged, dest.parent / _staging_name(dest, backup=True), os.path.lexists(dest))
                 for staged, dest in self._staged]
        journals = [journal_path(m.dest) for m in moves]
        with deferred_signals():
            try:
                self._journalled = True
                _write_journals(moves, journals)
            except OSError as exc:
                self._undo(moves, journals, exc)
                raise OutputError(f"{self._shown[moves[0].dest]}: cannot write the journal beside it "
                                  f"({exc.strerror or exc}); nothing was changed") from exc
            current = moves[0]
            try:
                for current in moves:
                    if current.had_old:
                        os.rename(current.dest, current.backup)
                    os.rename(current.staged, current.dest)
                self.committed = True
            except BaseException as exc:
                self._undo(moves, journals, exc)
                if isinstance(exc, OSError):
                    raise OutputError(f"{self._shown[current.dest]}: could not be replaced ({exc.strerror or exc}); "
                                      "the previous output was put back, nothing was changed") from exc
                raise
            # Forward: remove the backups and journals before a held-back signal is delivered, so that a build
            # interrupted right after its swap leaves nothing for the next one (or scripts/deploy.py) to settle.
            with _os_errors(journals[0], "cannot remove the swap journal",
                            "the new output is in place; the next build removes it"):
                settle(moves, journals)
            self._journalled = False

    def _undo(self, moves: list[Move], journals: list[Path], cause: BaseException) -> None:
        try:
            settle(moves, journals)
            self._journalled = False
        except OSError as exc:
            why = cause.strerror if isinstance(cause, OSError) and cause.strerror else cause or type(cause).__name__
            raise OutputError(f"{' and '.join(self._shown[m.dest] for m in moves)}: the swap failed ({why}) and could "
                              f"not be undone ({exc.strerror or exc}); the journal {journals[0]} is kept: run the "
                              "build again, it finishes or undoes the swap") from exc
