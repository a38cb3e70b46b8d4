"""cfn-lint outside the build's process, on every core.

Importing cfn-lint and building its rules takes longer than rendering a whole app, so a build does not do it: it
sends its templates to the lint server (generator/lint/server.py), a helper kept running between builds, which it
finds at the start of the build (`prestart`) or starts then, so that a first build's server loads cfn-lint while the
build renders and runs the other checks. Without a server (FARGATE_STACKS_LINT_SERVER=0, or when it fails) the build
starts its own helper process (generator/lint/zygote.py) at the same moment, which does the same for this build only.
Either lints each job's templates in workers forked from a process that has the rules built (never rebuilt),
largest template first, as many workers as there are cores (`FARGATE_STACKS_LINT_WORKERS` overrides; 0 lints in this
process). The helper is a fresh interpreter with only cfn-lint loaded, so no process of a build holds both the
generator and cfn-lint. One helper serves every build of a process (the test suite builds many) and is stopped at
exit; it runs in its own session, so Ctrl-C reaches only the build, which stops it. If the server fails, the build
uses its own helper; if that fails, the templates are linted in this process: never a pass without a lint.
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

from generator.lint import RULES_DIR, cfnlintrc, server

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
    fallback: str = ""                        # why the server or the helper was not used, when it failed
    server: str = ""                          # "warm": a running lint server linted; "started": one this build started


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:   # not Linux
        return os.cpu_count() or 1


def worker_count(templates: int) -> int:
    setting = os.environ.get(ENV_WORKERS, "")
    wanted = int(setting) if setting.strip().isdigit() else cores()
    return min(wanted, templates)


def _job(files: Sequence[str], regions: Sequence[str], ignore: Sequence[str], workers: int) -> dict:
    """A job of the helper's protocol (generator/lint/zygote.py)."""
    return {"cwd": os.getcwd(), "regions": list(regions), "ignore": list(ignore), "rules_dir": str(RULES_DIR),
            "files": list(files), "workers": workers}


def _result(reply: dict, files: Sequence[str], workers: int) -> Result:
    """A reply of the helper's protocol as a Result; HelperFailed for an error or anything else, and for a reply
    that leaves out a file it was sent (no verdict is not a pass)."""
    if "error" in reply:
        raise HelperFailed(str(reply["error"]))
    try:
        findings = {str(k): [tuple(f) for f in v] for k, v in reply["findings"].items()}
        if "" not in findings and not set(files) <= set(findings):
            raise HelperFailed(f"a reply without {sorted(set(files) - set(findings))[0]}")
        return Result(findings, workers, float(reply.get("setup", 0.0)),   # type: ignore[arg-type]
                      {str(k): float(v) for k, v in reply.get("seconds", {}).items()})
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise HelperFailed(f"a reply that is not the protocol's: {exc!r}") from exc


class Helper:
    def __init__(self) -> None:
        self.pid = os.getpid()   # a forked copy of this process must not talk to the parent's helper
        self.environment = server.environment()
        self.lock = threading.Lock()
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _BOOT, json.dumps(sys.path), str(RULES_DIR)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, encoding="utf-8", start_new_session=True)
        self.used = False

    def alive(self) -> bool:
        return self.pid == os.getpid() and self.proc.poll() is None and self.environment == server.environment()

    def lint(self, files: Sequence[str], regions: Sequence[str], ignore: Sequence[str], workers: int) -> Result:
        job = _job(files, regions, ignore, workers)
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
        try:
            reply = json.loads(line)
        except ValueError as exc:
            raise HelperFailed(f"the lint helper's reply is not JSON: {exc}") from exc
        return _result(reply, files, workers)

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
_client: server.Client | None = None   # this build's use of the lint server, from prestart to its job
_client_failed = ""                     # why there is none, when the server could not be used


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


def _server_client() -> server.Client | None:
    """This build's client of the lint server (finding or starting the server), or None: the server is off, or
    cannot be used (why: _client_failed)."""
    global _client, _client_failed
    if not server.enabled():
        return None
    if _client is not None and _client.pid == os.getpid() and _client.key == server.key():
        return _client
    try:
        _client = server.Client()
        _client.prestart()
    except (server.Failed, OSError) as exc:
        _client, _client_failed = None, str(exc)
    return _client


def prestart() -> None:
    """Find or start the lint server (else start this build's helper) now, so that cfn-lint is loaded by the time
    the build has templates to lint."""
    if usable() and _server_client() is None:
        helper()


def stop() -> None:
    """Stops this process's helper (never the lint server, which other builds use)."""
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


def _by_server(client: server.Client, files: Sequence[str], regions: Sequence[str], ignore: Sequence[str],
               workers: int) -> Result:
    result = _result(client.lint(_job(files, regions, ignore, workers)), files, workers)
    result.server = "warm" if client.warm else "started"
    if client.warm:
        result.setup_seconds = 0.0   # paid by an earlier build
    client.warm = True   # this process's next build finds it running
    return result


def lint(files: Sequence[str], regions: Sequence[str], ignore: Sequence[str]) -> Result:
    global _client
    if not files:
        return Result({})
    if not usable():
        return in_process(files, regions, ignore)
    workers = worker_count(len(files))
    fallback = ""
    client = _server_client()
    if client is not None:
        try:
            return _by_server(client, files, regions, ignore, workers)
        except (server.Failed, HelperFailed) as exc:
            _client, fallback = None, str(exc).strip().splitlines()[-1] if str(exc).strip() else "the server failed"
    elif server.enabled():
        fallback = _client_failed
    try:
        result = helper().lint(files, regions, ignore, workers)
    except HelperFailed as exc:
        stop()
        result = in_process(files, regions, ignore)
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else "the helper failed"
        fallback = f"{fallback}; {reason}" if fallback else reason
    result.fallback = fallback
    return result
