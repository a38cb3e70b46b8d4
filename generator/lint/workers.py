"""cfn-lint outside the build's process, on every core.

Importing cfn-lint and building its rules takes longer than rendering a whole app, so a build starts a helper
process first (`prestart`, generator/lint/zygote.py) that does it while the build renders and runs the other checks;
the helper then lints each job's templates in workers forked from itself (the rules are inherited, never rebuilt),
largest template first, as many workers as there are cores (`FARGATE_STACKS_LINT_WORKERS` overrides; 0 lints in
this process). The helper is a fresh interpreter with only cfn-lint loaded, so no process of a build holds both the
generator and cfn-lint. One helper serves every build of a process (the test suite builds many) and is stopped at
exit; it runs in its own session, so Ctrl-C reaches only the build, which stops it. If the helper fails, the
templates are linted in this process instead: never a pass without a lint.
"""
from __future__ import annotations

import atexit
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from generator.lint import RULES_DIR, cfnlintrc

ENV_WORKERS = "FARGATE_STACKS_LINT_WORKERS"
_BOOT = ("import json, sys; sys.path[:] = json.loads(sys.argv.pop(1)); "
         "from generator.lint.zygote import main; main()")

Finding = tuple[str, int, str, str]   # file name, line, rule id, message


class HelperFailed(Exception):
    pass


@dataclass
class Result:
    findings: dict[str, list[Finding]]       # by the path as given ("" for a configuration error)
    workers: int = 0                          # 0: linted in this process
    setup_seconds: float = 0.0                # the helper's import of cfn-lint and its rules
    lint_seconds: dict[str, float] = field(default_factory=dict)   # CPU seconds per template
    fallback: str = ""                        # why the helper was not used, when it failed


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:   # not Linux
        return os.cpu_count() or 1


def worker_count(templates: int) -> int:
    setting = os.environ.get(ENV_WORKERS, "")
    wanted = int(setting) if setting.strip().isdigit() else cores()
    return min(wanted, templates)


def _environment() -> tuple:
    """What a helper fixes when it starts and cfn-lint reads from the environment: where it finds updated schemas
    (XDG_CACHE_HOME, HOME) and its default region."""
    return tuple(os.environ.get(k) for k in ("XDG_CACHE_HOME", "HOME", "AWS_REGION", "AWS_DEFAULT_REGION"))


class Helper:
    def __init__(self) -> None:
        self.pid = os.getpid()   # a forked copy of this process must not talk to the parent's helper
        self.environment = _environment()
        self.lock = threading.Lock()
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _BOOT, json.dumps(sys.path), str(RULES_DIR)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, encoding="utf-8", start_new_session=True)
        self.used = False

    def alive(self) -> bool:
        return self.pid == os.getpid() and self.proc.poll() is None and self.environment == _environment()

    def lint(self, files: Sequence[str], regions: Sequence[str], ignore: Sequence[str], workers: int) -> Result:
        job = {"cwd": os.getcwd(), "regions": list(regions), "ignore": list(ignore), "rules_dir": str(RULES_DIR),
               "files": list(files), "workers": workers}
        with self.lock:
            self.used = True
            try:
                assert self.proc.stdin and self.proc.stdout
                self.proc.stdin.write(json.dumps(job) + "\n")
                self.proc.stdin.flush()
                line = self.proc.stdout.readline()
            except (OSError, ValueError) as exc:
                raise HelperFailed(str(exc)) from exc
            except BaseException:   # Ctrl-C or SIGTERM mid-job: stop the workers before the staged files go
                self.kill()
                raise
        if not line:
            raise HelperFailed(f"the lint helper exited ({self.proc.poll()})")
        reply = json.loads(line)
        if "error" in reply:
            raise HelperFailed(reply["error"])
        return Result({k: [tuple(f) for f in v] for k, v in reply["findings"].items()},   # type: ignore[misc]
                      workers, reply.get("setup", 0.0), reply.get("seconds", {}))

    def close(self) -> None:
        """End of input ends a helper that has served a job and is idle; one still loading cfn-lint, or busy (an
        interrupted build), is stopped at once with its workers (its own process group)."""
        if self.pid != os.getpid() or self.proc.poll() is not None:
            return
        if self.used and self.lock.acquire(blocking=False):
            try:
                if self.proc.stdin:
                    self.proc.stdin.close()
                self.proc.wait(timeout=2)
                return
            except (OSError, subprocess.TimeoutExpired):
                pass
            finally:
                self.lock.release()
        self.kill()

    def kill(self) -> None:
        """The helper and its workers (its own process group), at once."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except OSError:
            pass
        self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout):
            try:
                if pipe:
                    pipe.close()
            except OSError:
                pass


_shared: Helper | None = None
_shared_lock = threading.Lock()


def helper() -> Helper:
    """The process's helper, started if needed."""
    global _shared
    with _shared_lock:
        if _shared is None or not _shared.alive():
            if _shared is not None:
                _shared.close()
            _shared = Helper()
        return _shared


def usable() -> bool:
    """Whether to lint in a helper: a .cfnlintrc (which can add rules or patch schemas for the directory it is found
    in) leaves cfn-lint in this process, exactly as its API reads it."""
    return worker_count(2) > 0 and not cfnlintrc()


def prestart() -> None:
    """Start the helper now, so that cfn-lint is loaded by the time the build has templates to lint."""
    if usable():
        helper()


def stop() -> None:
    global _shared
    with _shared_lock:
        if _shared is not None:
            _shared.close()
            _shared = None


atexit.register(stop)


def in_process(files: Sequence[str], regions: Sequence[str], ignore: Sequence[str]) -> Result:
    """cfn-lint's API in this process: what the gate did before there were workers, and their fallback."""
    from cfnlint.api import ManualArgs, lint_by_config

    started = time.process_time()
    config = ManualArgs(templates=list(files), regions=list(regions), ignore_checks=list(ignore),
                        append_rules=[str(RULES_DIR)])
    findings: dict[str, list[Finding]] = {f: [] for f in files}
    for m in lint_by_config(config):
        where = Path(m.filename).name if m.filename else "?"
        key = m.filename if m.filename in findings else ""
        findings.setdefault(key, []).append((where, m.linenumber, m.rule.id, m.message))
    return Result(findings, lint_seconds={"": time.process_time() - started})   # rules built included


def lint(files: Sequence[str], regions: Sequence[str], ignore: Sequence[str]) -> Result:
    if not files:
        return Result({})
    if not usable():
        return in_process(files, regions, ignore)
    workers = worker_count(len(files))
    try:
        return helper().lint(files, regions, ignore, workers)
    except HelperFailed as exc:
        stop()
        result = in_process(files, regions, ignore)
        result.fallback = str(exc).strip().splitlines()[-1] if str(exc).strip() else "the helper failed"
        return result
