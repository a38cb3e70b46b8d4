"""The lint helper process (started by generator/lint/workers.py): imports cfn-lint and builds its rules once, then
lints the templates of each job it is sent in worker processes forked from itself, so that every worker starts with
the rules already built.

Protocol, one JSON document per line: the parent writes a job
`{"cwd", "regions", "ignore", "rules_dir", "files", "workers"}` to standard input; the helper answers on the original
standard output `{"findings": {file: [[file name, line, rule id, message], ...]}, "setup": s, "seconds": {file: s}}` or
`{"error": text}`. Anything else printed goes to standard error. End of input ends the helper. The lint server
(generator/lint/server.py) speaks the same protocol over its socket, one job per connection, from a job process
forked after `setup`.

A streamed job (`"stream": true` in the job line) goes on after its line: `{"file": path}` lines, each a template
written whole that the workers may start on at once, then `{"end": true}`; the reply (one line, as above) comes after
the end and covers every file of the job line and of the stream. So a build sends each template as soon as it is
written and its lint-cache key is known, and cfn-lint works while the build renders the rest. Input that ends before
`{"end": true}` (the build went away) ends the job without a reply. Whatever the job, a worker that is free takes the
largest template waiting (longest processing time first), so the workers finish together.

Imports only cfn-lint, the standard library and generator/lint's light modules (not the generator), to keep the
helper small.
"""
from __future__ import annotations

import gc
import heapq
import json
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from typing import Any

from generator.lint import speedups
from generator.lint.speedups import CHECKED_CFN_LINT  # noqa: F401 - the version the speed-ups were checked against
from generator.lint.trace import event

_STATE: dict[str, Any] = {}   # the rules, inherited by forked workers
_LINTED_IN = 0   # the process that linted the last template here (a forked worker inherits its parent's value)


def _rules(rules_dir: str):
    """cfn-lint's rules plus the project's, as cfnlint.runner.Runner builds them for `append_rules=[rules_dir]`
    (the parent uses a helper only where no .cfnlintrc adds rules or patches schemas)."""
    from cfnlint.api import ManualArgs
    from cfnlint.config import ConfigMixIn
    from cfnlint.runner import Runner

    from generator.lint.speedups.rule_data import compact_rule_data

    event("helper: cfn-lint imported")
    # the data files the rules load, kept in less memory (every worker starts with what the helper holds)
    with compact_rule_data():
        return Runner(ConfigMixIn(**ManualArgs(append_rules=[rules_dir]))).rules


def _lint_one(path: str) -> tuple[str, list[list[Any]], float]:
    from cfnlint.runner.template.runner import run_template_by_file_path

    global _LINTED_IN
    started = time.process_time()
    if _LINTED_IN == os.getpid():
        _collect()
    _LINTED_IN = os.getpid()
    event(f"worker: lint {os.path.basename(path)}")
    try:
        matches = run_template_by_file_path(path, _STATE["config"], _STATE["rules"], _STATE["ignore_bad_template"])
        found = [[os.path.basename(m.filename) if m.filename else "?", m.linenumber, m.rule.id, m.message]
                 for m in matches]
    finally:
        speedups.template_done()   # what the speed-ups keep for one template goes with it (speedups/sub.py)
    event(f"worker: linted {os.path.basename(path)}")
    return path, found, time.process_time() - started


def _collect() -> None:
    """Before a worker's next template: the previous template's cyclic garbage freed (its decoded nodes and cfn-lint
    `Template`, held by reference cycles, waited for the collector's next full pass: up to 6 MB at 50 services, on
    top of the next template's own lint), then what survived frozen. What survives is live, mostly the caches that
    make the next templates faster (resource schemas, compiled patterns); frozen, the collector's passes no longer
    walk it, which pays for this pass (a worker's collector CPU over the 50-service app's 54 leaves 0.9-1.2 -> 0.7-0.8
    s; collecting without freezing: 1.2-1.6 s). The collector decides only when unreachable objects are freed, never
    what cfn-lint computes. At the next template's start, so the last template's answer is never delayed."""
    gc.collect()
    gc.freeze()


class _Queue:
    """The templates of one job that wait for a worker, largest first, and what the workers answered. Filled by the
    job line and, for a streamed job, by the thread that reads the stream; drained by the dispatch loop."""

    def __init__(self, files: list[str], streamed: bool) -> None:
        self.lock = threading.Condition()
        self.waiting: list[tuple[int, int, str]] = []   # heap of (-size, arrival, path)
        self.count = 0
        self.ended = not streamed
        self.error: BaseException | None = None
        for path in files:
            self.add(path)

    def add(self, path: str) -> None:
        with self.lock:
            size = os.path.getsize(path) if os.path.exists(path) else 0
            heapq.heappush(self.waiting, (-size, self.count, path))
            self.count += 1
            self.lock.notify_all()

    def end(self, error: BaseException | None = None) -> None:
        with self.lock:
            self.ended = True
            if error is not None and self.error is None:
                self.error = error
            self.lock.notify_all()


def read_stream(queue: _Queue, lines: Iterator[bytes | str], after_end: Callable[[], None] | None = None) -> None:
    """A streamed job's further lines into `queue`, up to `{"end": true}`, then `after_end()` (the server watches its
    connection with it). Input that ends first is an error (the job has no reply to give: the build is gone)."""
    try:
        for line in lines:
            message = json.loads(line)
            if not isinstance(message, dict):
                raise ValueError(f"a stream line that is not an object: {message!r}")
            if message.get("end") is True:
                break
            queue.add(str(message["file"]))
        else:
            raise EOFError("the job's input ended before its end")
    except BaseException as exc:   # noqa: BLE001 - handed to the dispatch loop, which raises it
        queue.end(exc)
        return
    queue.end()
    if after_end is not None:
        after_end()


def _job(job: dict[str, Any], lines: Iterator[bytes | str] | None = None,
         after_end: Callable[[], None] | None = None,
         send: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    event("job: received")
    import multiprocessing

    from cfnlint.api import ManualArgs
    from cfnlint.config import ConfigMixIn
    from cfnlint.rules.errors import ConfigError, ParseError

    os.chdir(job["cwd"])
    files = list(job["files"])
    streamed = bool(job.get("stream"))
    config = ConfigMixIn(**ManualArgs(templates=files, regions=job["regions"], ignore_checks=job["ignore"],
                                      append_rules=[job["rules_dir"]]))
    try:
        config.validate()
    except ValueError as exc:   # as cfnlint.api.lint_by_config reports it
        return {"findings": {"": [["", 0, ConfigError().id, str(exc)]]}, "seconds": {}}
    _STATE.update(config=config, ignore_bad_template=bool(config.ignore_bad_template) or not
                  ParseError().is_enabled(include_experimental=False, ignore_rules=config.ignore_checks,
                                          include_rules=config.include_checks,
                                          mandatory_rules=config.mandatory_checks))
    queue = _Queue(files, streamed)
    workers = max(1, int(job["workers"])) if streamed else max(1, min(int(job["workers"]), len(files)))
    # Always in forked workers, even for one template: each job starts from the rules as built, never from a
    # previous job's state. The workers are forked before the stream's reader starts: a worker forked while that
    # thread waited in a read of the helper's standard input would inherit the stream's lock held, and hang when
    # multiprocessing closes its standard input.
    pool = multiprocessing.get_context("fork").Pool(workers)
    event("job: workers forked")
    reader = None
    if streamed:
        if lines is None:
            raise ValueError("a streamed job without its stream")
        reader = threading.Thread(target=read_stream, args=(queue, lines, after_end), name="job-stream", daemon=True)
        reader.start()
    findings: dict[str, Any] = {}
    seconds: dict[str, float] = {}
    busy = 0

    def done(answer: tuple[str, list[list[Any]], float]) -> None:
        nonlocal busy
        with queue.lock:
            path, found, spent = answer
            findings[path], seconds[path] = found, spent
            busy -= 1
            queue.lock.notify_all()

    def failed(exc: BaseException) -> None:
        queue.end(exc)

    # A template goes to a worker only when one is free, so the largest of those waiting at that moment goes first
    # (longest processing time first).
    try:
        while True:
            with queue.lock:
                while queue.error is None and not (queue.ended and not queue.waiting and busy == 0) and (
                        not queue.waiting or busy >= workers):
                    queue.lock.wait()
                if queue.error is not None:
                    raise queue.error
                if queue.ended and not queue.waiting and busy == 0:
                    break
                _, _, path = heapq.heappop(queue.waiting)
                busy += 1
            pool.apply_async(_lint_one, (path,), callback=done, error_callback=failed)
        reply = {"findings": findings, "seconds": seconds}
        if send is not None:
            # every verdict is in: the reply goes now, and the workers are stopped while the build goes on (stopping
            # and reaping them took 0.05-0.1 s, which every build waited for)
            send(reply)
    finally:
        pool.terminate()
        pool.join()
        if reader is not None and after_end is None:
            # the helper's stream is its standard input, where the next job follows: a job that failed early reads
            # its stream to the end first, so that no line of it is taken for a job
            reader.join()
    return reply


def setup(rules_dir: str) -> float:
    """What every job's workers inherit: cfn-lint imported, its rules and the project's built, the patches applied.
    Returns the seconds it took (the helper's, or the lint server's, start)."""
    started = time.perf_counter()
    # Importing cfn-lint and building its rules allocates about 190,000 objects that all stay alive: the cyclic
    # collector's passes over them while they are made find almost nothing and took a fifth of the setup (min of 8:
    # 1.24 -> 1.02 CPU s). Then they are frozen, as Python's documentation of gc.freeze advises before a fork
    # (collector disabled early, frozen right before the fork): every job's workers inherit them, their collector
    # never scans them again, nor writes to their pages (fewer copy-on-write copies). No full collection first: it
    # walked every reference of the rules' 50 MB of JSON data (0.12-0.25 CPU s of the setup, which is on the first
    # build's critical path) and found nothing to free (0 objects, measured: docs/performance.md). The collector
    # decides only when unreachable objects are freed, never what cfn-lint computes.
    gc.disable()
    try:
        _STATE["rules"] = _rules(rules_dir)
        event("helper: rules built")
        speedups.apply(_STATE["rules"])
        # What cfn-lint's first conditions CNF builds lazily in sympy, the same for any template: the composite
        # assumption predicates (sympy/assumptions/cnf.py, to_CNF: 17 modules imported, their dispatchers ordered)
        # and the SAT solver's modules (sympy/logic/inference.py, satisfiable): 0.07-0.09 CPU s in every fresh
        # worker, of every job. Built once here, by the same call (no arguments, cached by sympy) and imports,
        # every worker inherits them.
        from sympy.assumptions.facts import get_composite_predicates
        get_composite_predicates()
        import sympy.logic.algorithms.dpll2  # noqa: F401
        # what every job's pool of forked workers imports, once here rather than in each job (a server's job
        # process would import it every time)
        import multiprocessing.pool, multiprocessing.popen_fork, multiprocessing.queues  # noqa: E401, F401
        import multiprocessing.synchronize  # noqa: F401
    finally:
        gc.enable()
    gc.freeze()
    _return_free_memory()
    event("helper: ready")
    return time.perf_counter() - started


def _return_free_memory() -> None:
    """Give the C allocator's free pages back to the system (glibc's malloc_trim), so that the workers, forked with
    the helper's resident set, do not start with them: about 2 MB after the setup (the parsed data files' texts and
    what the rules' build freed). Only free memory is released; where there is no glibc (no malloc_trim), nothing is
    done. The setup has imported ctypes already (cfn-lint's dependencies do)."""
    import ctypes

    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (AttributeError, OSError):
        return
    trim(0)


def answer(line: str, lines: Iterator[bytes | str] | None = None,
           after_end: Callable[[], None] | None = None,
           send: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """The reply to one job line (and, for a streamed job, the further lines `lines` yields; then `after_end()`, in
    the thread that read them): its findings, or the error that makes the parent lint elsewhere. `send`: called once
    with the reply, as soon as it is complete (findings: before the job's workers are stopped)."""
    sent: list[bool] = []

    def send_once(reply: dict[str, Any]) -> None:
        sent.append(True)
        assert send is not None
        send(reply)

    try:
        reply = _job(json.loads(line), lines, after_end, send_once if send is not None else None)
    except Exception:   # noqa: BLE001 - reported to the parent, which lints in-process instead
        reply = {"error": traceback.format_exc()}
    if send is not None and not sent:
        send(reply)
    return reply


def main() -> None:
    event("helper: started")
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)   # stray prints must not corrupt the protocol
    setup_seconds = setup(sys.argv[1])
    gone: list[OSError] = []

    def send(reply: dict[str, Any]) -> None:
        reply["setup"] = setup_seconds
        # traced before the write: the build may read the reply and trace its verdicts before a line written after
        event("job: replying")
        try:
            out.write(json.dumps(reply) + "\n")
            out.flush()
        except OSError as exc:   # the build is gone (killed): nobody to answer
            gone.append(exc)

    for line in sys.stdin:
        answer(line, sys.stdin, send=send)
        if gone:
            break
    event("helper: input ended")
    # Every reply is written and flushed, and each job's workers are stopped and reaped: leave without the
    # interpreter's teardown, which freed cfn-lint's objects one by one (0.1-0.3 s) while the build waited for this
    # process to end (workers.Helper.close). What was printed (standard output is standard error here) is flushed.
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(0)


if __name__ == "__main__":
    main()
