"""What a first build (no lint server running) waits for on its critical path, and what was taken off it
(docs/performance.md, "The first build's critical path"): the lint helper's setup freezes cfn-lint's objects without
a full collection and builds sympy's lazily built state once, so a fresh worker imports nothing; a job's reply goes
before its workers are stopped; the helper leaves without the interpreter's teardown once its input ends; and the
opt-in trace (FARGATE_STACKS_TRACE) records the events of every process of a build."""
from __future__ import annotations

import json
import multiprocessing.pool
import os
import subprocess
import sys
from pathlib import Path

from generator.lint import trace
from generator.lint import RULES_DIR, cache, gate, workers, zygote
from tests.support import FIXTURE_APPS, ROOT

REGION = "eu-west-1"
IGNORE = sorted(gate.IGNORED_RULES)
# A template whose lint builds cfn-lint's conditions CNF and asks sympy whether the scenarios are satisfiable.
CONDITIONS = """Parameters:
  Env:
    Type: String
    AllowedValues: [dev, prod]
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  IsDev: !Not [!Condition IsProd]
Resources:
  Topic:
    Type: AWS::SNS::Topic
    Condition: IsProd
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      DelaySeconds: !If [IsDev, 5, 0]
"""

SETUP_THEN_FORK = r"""
import gc, json, os, sys
sys.path.insert(0, sys.argv[1])
collections = []
real_collect = gc.collect
gc.collect = lambda *a, **k: collections.append(a) or real_collect(*a, **k)
from generator.lint import zygote, RULES_DIR
from generator.lint.ignored import IGNORED_RULES
zygote.setup(str(RULES_DIR))
frozen = gc.get_freeze_count()
from cfnlint.api import ManualArgs
from cfnlint.config import ConfigMixIn
path = sys.argv[2]
zygote._STATE.update(config=ConfigMixIn(**ManualArgs(templates=[path], regions=["eu-west-1"],
                     ignore_checks=sorted(IGNORED_RULES), append_rules=[str(RULES_DIR)])), ignore_bad_template=False)
read, write = os.pipe()
pid = os.fork()
if pid == 0:   # a worker, as the job's pool forks it
    before = set(sys.modules)
    _, found, _ = zygote._lint_one(path)
    os.write(write, json.dumps({"found": found, "imported": sorted(set(sys.modules) - before)}).encode())
    os._exit(0)
os.close(write)
worker = json.loads(os.read(read, 1 << 20))
os.waitpid(pid, 0)
print(json.dumps({"collections": len(collections), "frozen": frozen, **worker}))
"""


def test_the_setup_freezes_without_a_collection_and_a_fresh_worker_imports_nothing(tmp_path):
    """The helper's setup (also the lint server's) runs no full collection (it found nothing to free and cost
    0.12-0.25 CPU s of the first build's critical path) and freezes cfn-lint's objects for the workers; it builds what
    cfn-lint's first conditions CNF and satisfiability check would build lazily in sympy, so a worker forked from it
    imports no module while it lints a template with Conditions (each fresh worker of every job paid 0.07-0.09 s)."""
    template = tmp_path / "conditions.yaml"
    template.write_text(CONDITIONS)
    out = subprocess.run([sys.executable, "-c", SETUP_THEN_FORK, str(ROOT), str(template)], cwd=tmp_path,
                         capture_output=True, text=True, check=True, timeout=300).stdout
    report = json.loads(out)
    assert report["collections"] == 0
    assert report["frozen"] > 100_000, "cfn-lint's objects and rules are frozen for the workers"
    assert report["imported"] == [], "a fresh worker built nothing lazily by importing"
    assert report["found"] == [], "the template is lint-clean (the conditions were evaluated, not skipped)"


def _stand_in_lint(path: str) -> tuple[str, list, float]:
    """zygote._lint_one's stand-in in the workers (module level: a pool's task is pickled by name)."""
    return path, [], 0.0


def test_a_reply_goes_before_the_jobs_workers_are_stopped(tmp_path, monkeypatch):
    """Every verdict in: the reply is sent, then the job's workers are stopped and reaped (0.05-0.1 s that every
    build waited for). Sent once, whatever the job's outcome."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(zygote, "_lint_one", _stand_in_lint)
    (tmp_path / "a.yaml").write_text("#")
    events: list = []
    real_terminate = multiprocessing.pool.Pool.terminate

    def terminate(self):
        events.append("workers stopped")
        return real_terminate(self)

    monkeypatch.setattr(multiprocessing.pool.Pool, "terminate", terminate)
    job = {**workers._job([str(tmp_path / "a.yaml")], [REGION], IGNORE, 2), "cwd": str(tmp_path)}
    reply = zygote.answer(json.dumps(job), send=lambda r: events.append(("sent", sorted(r["findings"]))))
    assert events == [("sent", [str(tmp_path / "a.yaml")]), "workers stopped"]
    assert sorted(reply["findings"]) == [str(tmp_path / "a.yaml")]

    sent: list[dict] = []
    bad = {**job, "files": []}   # cfn-lint's configuration refuses it: a finding, before any worker is forked
    zygote.answer(json.dumps(bad), send=sent.append)
    assert len(sent) == 1 and [f[2] for f in sent[0]["findings"][""]] == ["E0003"]
    sent.clear()
    zygote.answer("{not json", send=sent.append)
    assert len(sent) == 1 and "error" in sent[0]


HELPER_EXIT = r"""
import atexit, sys
atexit.register(lambda: open(MARKER, "w").write("torn down"))
"""


def test_the_helper_leaves_without_the_interpreters_teardown_once_its_input_ends(tmp_path):
    """End of input: every reply written and flushed, each job's workers reaped, the helper exits at once (os._exit)
    instead of freeing cfn-lint's objects one by one (0.1-0.3 s that the build waited for at its exit)."""
    template = tmp_path / "a.yaml"
    template.write_text("Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n")
    marker = tmp_path / "torn-down"
    boot = HELPER_EXIT.replace("MARKER", repr(str(marker))) + workers._BOOT
    job = workers._job([str(template)], [REGION], IGNORE, 1)
    proc = subprocess.run([sys.executable, "-c", boot, json.dumps(sys.path), str(RULES_DIR)], cwd=tmp_path,
                          input=json.dumps(job) + "\n", capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    reply = json.loads(proc.stdout)
    assert reply["findings"] == {str(template): []} and reply["setup"] > 0
    assert not marker.exists(), "the interpreter's teardown did not run"


def test_the_trace_records_every_process_of_a_build_in_order(tmp_path):
    """FARGATE_STACKS_TRACE: one line per event (wall time, pid, CPU seconds, event) from the build, its helper and
    the helper's workers; the helper starts before the generator is imported; nothing is written without it."""
    log = tmp_path / "trace.log"
    env = {**os.environ, cache.ENV: str(tmp_path / "cache"), "FARGATE_STACKS_LINT_SERVER": "0", trace.ENV: str(log)}
    proc = subprocess.run([sys.executable, "-m", "generator", "build", "--app", str(FIXTURE_APPS / "minimal.yaml"),
                           "--out", str(tmp_path / "out"), "--params", str(tmp_path / "params"), "-q"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    lines = [line.split(" ", 3) for line in log.read_text().splitlines()]
    assert all(float(ts) > 0 and pid.isdigit() and float(cpu) >= 0 for ts, pid, cpu, _ in lines)
    events = [what for _, _, _, what in lines]
    order = [events.index(e) for e in ("build: python started", "build: lint helper or server started",
                                       "build: generator imported", "build: render done", "build: lint verdicts",
                                       "build: swapped in", "build: exit 0")]
    assert order == sorted(order)
    pids = {what.split(":")[0]: pid for _, pid, _, what in lines}
    assert len({pids["build"], pids["helper"], pids["worker"]}) == 3
    assert events.index("helper: ready") < events.index("job: workers forked") < events.index("job: replying")
    assert any(e.startswith("worker: linted ") for e in events)
    assert events.index("job: replying") < events.index("build: lint verdicts")
    # `python -m generator build` runs one build: its helper's input closes once the verdicts are in, so that the
    # helper ends while the build swaps its output in; the build still waits for it at exit
    assert (events.index("build: lint verdicts") < events.index("build: lint helper released")
            < events.index("build: swapped in"))
    assert events[-1] in ("build: lint helper ended", "build: lint helper had ended")

    quiet = tmp_path / "quiet"
    env.pop(trace.ENV)
    assert subprocess.run([sys.executable, "-m", "generator", "build", "--app", str(FIXTURE_APPS / "minimal.yaml"),
                           "--out", str(quiet / "out"), "--params", str(quiet / "params"), "-q"],
                          cwd=ROOT, env=env, capture_output=True, timeout=300).returncode == 0
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("trace")] == ["trace.log"]


def test_an_unwritable_trace_never_fails_a_build(tmp_path, monkeypatch):
    monkeypatch.setenv(trace.ENV, str(tmp_path / "missing" / "trace.log"))
    trace.event("anything")
    assert not (tmp_path / "missing").exists()
    monkeypatch.delenv(trace.ENV)
    trace.event("nothing")
    assert list(Path(tmp_path).iterdir()) == []


def test_a_released_helper_ends_by_itself_and_is_waited_for_at_stop(tmp_path, monkeypatch):
    """workers.release (the command line's build, after its verdicts): the idle helper's input is closed, it ends on
    its own (exit 0, no kill) while the build goes on; a later job starts a new helper; stop waits for both."""
    monkeypatch.chdir(tmp_path)
    workers.stop()   # an earlier test's helper
    template = tmp_path / "t.yaml"
    template.write_text("Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n")
    first = workers.helper()
    workers.release()
    assert workers._shared is first, "a helper that has served no job (maybe still loading) is left to stop"
    assert first.lint([str(template)], ["eu-west-1"], sorted(gate.IGNORED_RULES), 1).findings == {str(template): []}
    first.lock.acquire()   # busy (a job not answered): left alone
    workers.release()
    assert workers._shared is first and first.proc.stdin and not first.proc.stdin.closed
    first.lock.release()
    workers.release()
    assert workers._shared is None and workers._ending == [first]
    assert first.proc.wait(timeout=120) == 0, "it ends by itself once its input is closed"
    second = workers.helper()
    assert second is not first and second.proc.poll() is None
    workers.stop()
    assert workers._ending == [] and workers._shared is None and second.proc.poll() is not None


def test_only_the_command_lines_build_releases_its_helper():
    """`python -m generator` sets cli.ONE_COMMAND (one command, then exit); a process that runs many builds (the
    tests, make bench's children unless they set it) keeps one helper for all of them."""
    from generator import cli
    assert cli.ONE_COMMAND is False
    main = (ROOT / "generator" / "__main__.py").read_text()
    assert "cli.ONE_COMMAND = True" in main and main.index("ONE_COMMAND") < main.index("cli.main()")
