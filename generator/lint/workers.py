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
from dataclasses import field
from pathlib import Path

from generator.lint import RULES_DIR, cfnlintrc, server, server_client
from generator.lint.trace import event
from generator.records import record

ENV_WORKERS = "FARGATE_STACKS_LINT_WORKERS"
_BOOT = ("import json, sys; sys.path[:] = json.loads(sys.argv.pop(1)); "
         "from generator.lint.trace import event; event('helper: python started'); "
         "from generator.lint.zygote import main; main()")

Finding = tuple[str, int, str, str]   # file name, line, rule id, message


class HelperFailed(Exception):
    pass


@record
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
        return HelperJob(self, _job(files, regions, ignore, workers)).reply(files, workers)

    def close(self) -> None:
        """End of input ends a helper that has served a job and is idle; one still loading cfn-lint, or busy (an
        interrupted build), is stopped at once with its workers (its own process group)."""
        if self.pid != os.getpid():
            return
        if self.proc.poll() is not None:
            event("build: lint helper had ended")
            return
        if self.end_input():
            try:
                self.proc.wait(timeout=2)
                event("build: lint helper ended")
                return
            except subprocess.TimeoutExpired:
                pass
        self.kill()

    def end_input(self) -> bool:
        """Close the input of a helper that has served a job and is idle: it then stops its workers and exits. False,
        and nothing done, for one not used yet (still loading cfn-lint), busy (a job not answered) or whose input
        could not be closed."""
        if not self.used or not self.lock.acquire(blocking=False):
            return False
        try:
            if self.proc.stdin:
                self.proc.stdin.close()
            return True
        except OSError:
            return False
        finally:
            self.lock.release()

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


class HelperJob:
    """One job on the helper's standard input (a streamed one goes on with `send`): the helper is this job's until
    `reply`, or until `close` gives up on it (a build that fails or is interrupted mid-stream), which stops it."""

    def __init__(self, helper: Helper, job: dict) -> None:
        self.helper = helper
        self.streamed = bool(job.get("stream"))
        helper.lock.acquire()
        self.open = True
        helper.used = True
        self._write(job)

    def _write(self, message: dict) -> None:
        try:
            assert self.helper.proc.stdin
            self.helper.proc.stdin.write(json.dumps(message) + "\n")
            self.helper.proc.stdin.flush()
        except (OSError, ValueError) as exc:
            self.close()
            raise HelperFailed(str(exc)) from exc
        except BaseException:   # Ctrl-C or SIGTERM mid-job: stop the workers before the staged files go
            self.close()
            raise

    def send(self, path: str) -> None:
        self._write({"file": path})

    def reply(self, files: Sequence[str], workers: int) -> Result:
        """The verdicts on `files` (every file of the job); HelperFailed when there are none."""
        if self.streamed:
            self._write({"end": True})
        try:
            assert self.helper.proc.stdout
            line = self.helper.proc.stdout.readline()
        except (OSError, ValueError) as exc:
            self.close()
            raise HelperFailed(str(exc)) from exc
        except BaseException:
            self.close()
            raise
        self.open = False
        self.helper.lock.release()
        if not line:
            raise HelperFailed(f"the lint helper exited ({self.helper.proc.poll()})")
        try:
            reply = json.loads(line)
        except ValueError as exc:
            raise HelperFailed(f"the lint helper's reply is not JSON: {exc}") from exc
        return _result(reply, files, workers)

    def close(self) -> None:
        """Gives up on the job: the helper (mid-job, its workers busy) is stopped."""
        if self.open:
            self.open = False
            self.helper.kill()
            self.helper.lock.release()


_shared: Helper | None = None
_ending: list[Helper] = []   # released helpers (their input closed), waited for by `stop`
_shared_lock = threading.Lock()
_client: server_client.Client | None = None   # this build's use of the lint server, from prestart to its job
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


def _server_client() -> server_client.Client | None:
    """This build's client of the lint server (finding or starting the server), or None: the server is off, or
    cannot be used (why: _client_failed)."""
    global _client, _client_failed
    if not server.enabled():
        return None
    if _client is not None and _client.pid == os.getpid() and _client.key == server.key():
        return _client
    try:
        _client = server_client.Client()
        _client.prestart()
    except (server.Failed, OSError) as exc:
        _client, _client_failed = None, str(exc)
    return _client


def prestart() -> None:
    """Find or start the lint server (else start this build's helper) now, so that cfn-lint is loaded by the time
    the build has templates to lint."""
    if usable() and _server_client() is None:
        helper()


def release() -> None:
    """This process sends no more jobs (`python -m generator build` has its verdicts): the helper's input is closed
    now, so that it stops its job's workers and ends while the build runs its checks and swaps its output in, instead
    of after (the build's exit waited for it: 0.04-0.12 s wall at load 8, docs/performance.md). The helper is still
    waited for at exit (`stop`); a later job in this process would start a new helper. A helper that is busy (a job
    not answered), not used or not this process's is left to `stop`."""
    global _shared
    with _shared_lock:
        h = _shared
        if h is None or h.pid != os.getpid() or h.proc.poll() is not None or not h.end_input():
            return
        _ending.append(h)
        _shared = None
    event("build: lint helper released")


def stop() -> None:
    """Stops this process's helper (never the lint server, which other builds use), and waits for the end of those
    whose input `release` closed."""
    global _shared
    with _shared_lock:
        if _shared is not None:
            _shared.close()
            _shared = None
        while _ending:
            _ending.pop().close()


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


def _from_server(client: server_client.Client, reply: dict, files: Sequence[str], workers: int) -> Result:
    result = _result(reply, files, workers)
    result.server = "warm" if client.warm else "started"
    if client.warm:
        result.setup_seconds = 0.0   # paid by an earlier build
    client.warm = True   # this process's next build finds it running
    return result


def _reason(exc: Exception, default: str) -> str:
    text = str(exc).strip()
    return text.splitlines()[-1] if text else default


def lint(files: Sequence[str], regions: Sequence[str], ignore: Sequence[str]) -> Result:
    """The verdicts on `files`, sent in one job (largest first across the workers)."""
    if not files:
        return Result({})
    if not usable():
        return in_process(files, regions, ignore)
    return _lint_elsewhere(files, regions, ignore, use_server=True, use_helper=True)


def _lint_elsewhere(files: Sequence[str], regions: Sequence[str], ignore: Sequence[str], use_server: bool,
                    use_helper: bool, fallback: str = "") -> Result:
    """The server, else this build's helper, else this process (each only when it has not failed this build)."""
    global _client
    workers = worker_count(len(files))
    client = _server_client() if use_server else None
    if client is not None:
        try:
            return _from_server(client, client.lint(_job(files, regions, ignore, workers)), files, workers)
        except (server.Failed, HelperFailed) as exc:
            _client = None
            fallback = _joined(fallback, _reason(exc, "the server failed"))
    elif use_server and server.enabled():
        fallback = _joined(fallback, _client_failed)
    if use_helper:
        try:
            result = helper().lint(files, regions, ignore, workers)
            result.fallback = fallback
            return result
        except HelperFailed as exc:
            stop()
            fallback = _joined(fallback, _reason(exc, "the helper failed"))
    result = in_process(files, regions, ignore)
    result.fallback = fallback
    return result


def _joined(first: str, then: str) -> str:
    return f"{first}; {then}" if first and then else first or then


class Job:
    """One build's lint, streamed: `add` each template once it is written whole and needs a lint (its lint starts at
    once in a worker of the lint server, or of this build's helper, while the build goes on), then `result()` once
    every template is added; `close()` gives up on it (a failed or interrupted build: the server's job, or the
    helper, stops). The reply must name every template added. Anything failing on the way (the server or the helper
    dies, a reply that is not the protocol's) hands every template added so far, in one job, to the next way (the
    helper, then this process): never a pass without a lint."""

    def __init__(self, regions: Sequence[str], ignore: Sequence[str]) -> None:
        self.regions, self.ignore = list(regions), list(ignore)
        self.files: list[str] = []
        self.channel: server_client.Connection | HelperJob | None = None
        self.client: server_client.Client | None = None
        self.use_server = self.use_helper = True
        self.fallback = ""

    def add(self, path: str) -> None:
        self.files.append(path)
        if not usable() or not (self.use_server or self.use_helper):
            return
        try:
            if self.channel is None:   # the first template, or the next way after a failure: all of them so far
                self._open()
            else:
                self.channel.send(path)
        except (server.Failed, HelperFailed) as exc:
            self._failed(exc)

    def _open(self) -> None:
        """The job, with the templates added so far in its first line (cfn-lint's configuration wants one)."""
        job = {**_job(self.files, self.regions, self.ignore, worker_count(1 << 16)), "stream": True}
        if self.use_server:
            self.client = _server_client()
            if self.client is not None:
                self.channel = self.client.open(job)
                return
            self.use_server = False
            if server.enabled():
                self.fallback = _joined(self.fallback, _client_failed)
        self.channel = HelperJob(helper(), job)

    def _failed(self, exc: Exception) -> None:
        global _client
        self.close()
        if self.client is not None:
            _client, self.client, self.use_server = None, None, False
            self.fallback = _joined(self.fallback, _reason(exc, "the server failed"))
        else:
            stop()
            self.use_helper = False
            self.fallback = _joined(self.fallback, _reason(exc, "the helper failed"))

    def result(self) -> Result:
        if not self.files:
            return Result({})
        if not usable():
            return in_process(self.files, self.regions, self.ignore)
        workers = worker_count(len(self.files))
        if self.channel is not None:
            channel, self.channel = self.channel, None
            try:
                if isinstance(channel, HelperJob):
                    result = channel.reply(self.files, workers)
                else:
                    assert self.client is not None
                    result = _from_server(self.client, channel.reply(), self.files, workers)
                result.fallback = self.fallback
                return result
            except (server.Failed, HelperFailed) as exc:
                self.channel = channel
                self._failed(exc)
        return _lint_elsewhere(self.files, self.regions, self.ignore, self.use_server, self.use_helper,
                               self.fallback)

    def close(self) -> None:
        if self.channel is not None:
            channel, self.channel = self.channel, None
            channel.close()
