"""The streamed lint of a build (generator/lint/gate.py `Lint`, workers.py `Job`, zygote.py's streamed jobs): each
template is sent to cfn-lint as soon as it is written and its lint-cache key is known (one that references no other:
at once; a parent: once every file is in place), so cfn-lint works while the build renders. Every template is linted
(also one never offered, or written late), a finding in a streamed template fails the build, a helper that dies
mid-stream leaves the build linting elsewhere (never a pass without a lint), a waiting template goes to a free worker
largest first, and a build that succeeded exits without the interpreter's teardown, its exit handlers run."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from generator import cli, render
from generator.lint import cache, gate, workers, zygote
from tests.support import FIXTURE_APPS, ROOT

REGION = "eu-west-1"
IGNORE = sorted(gate.IGNORED_RULES)
BAD = "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\nParameters:\n  Unused:\n    Type: String\n"
GOOD = "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n"
PARENT = """Resources:
  Child:
    Type: AWS::CloudFormation::Stack
    Properties:
      TemplateURL: ./leaf.yaml
"""


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """A fresh lint cache, templates under the working directory, this process's own helper (no server)."""
    monkeypatch.setenv(cache.ENV, str(tmp_path / "cache"))
    monkeypatch.setenv(workers.ENV_WORKERS, "2")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "t").mkdir()
    yield tmp_path / "t"
    workers.stop()


def _write(folder: Path, name: str, text: str) -> dict:
    (folder / name).write_text(text)
    return gate.parsing.load(folder / name)


def test_a_leaf_goes_at_once_a_parent_when_every_file_is_in_place(folder):
    """The leaf is sent when offered; the parent is not (its key reads its children), and neither is a template
    never offered: `findings` looks every template of the directory up and lints the rest. The verdicts are
    cfn_lint's, and the passes are recorded: a second lint is all hits."""
    lint = gate.Lint(folder, "t", REGION)
    lint.offer("leaf.yaml", _write(folder, "leaf.yaml", GOOD))
    assert [p.name for p in lint.sent] == ["leaf.yaml"] and lint.job.files == [str(folder / "leaf.yaml")]
    lint.offer("root.yaml", _write(folder, "root.yaml", PARENT))
    _write(folder, "late.yaml", BAD)   # written, never offered
    assert [p.name for p in lint.sent] == ["leaf.yaml"]
    found = lint.findings()
    assert sorted(p.name for p in lint.sent) == ["late.yaml", "leaf.yaml", "root.yaml"]
    assert found == gate.cfn_lint(folder, "t", REGION) and len(found) == 1 and "late.yaml" in found[0]
    assert "W2001" in found[0]
    assert gate.LAST.cached == 2 and gate.LAST.linted == 1   # the two passes were recorded


def test_a_finding_in_a_streamed_template_fails_and_is_never_recorded(folder):
    lint = gate.Lint(folder, "t", REGION)
    lint.offer("bad.yaml", _write(folder, "bad.yaml", BAD))
    assert [p.name for p in lint.sent] == ["bad.yaml"]
    found = lint.findings()
    assert len(found) == 1 and found[0].startswith("t/bad.yaml:") and "W2001" in found[0]
    again = gate.Lint(folder, "t", REGION)
    again.offer("bad.yaml", gate.parsing.load(folder / "bad.yaml"))
    assert [p.name for p in again.sent] == ["bad.yaml"]   # no pass recorded: linted again
    assert again.findings() == found


def test_a_cached_pass_is_not_sent(folder):
    _write(folder, "leaf.yaml", GOOD)
    assert gate.cfn_lint(folder, "t", REGION) == []
    lint = gate.Lint(folder, "t", REGION)
    lint.offer("leaf.yaml", gate.parsing.load(folder / "leaf.yaml"))
    assert lint.sent == [] and lint.job.files == []
    assert lint.findings() == [] and gate.LAST.cached == 1


def test_a_helper_that_dies_mid_stream_leaves_the_build_linting_in_its_own_process(folder):
    """The helper is killed after the first template went: the next one, and the reply, find it gone; every
    template sent so far is linted in this process, with the same verdicts."""
    bad, good = str(folder / "bad.yaml"), str(folder / "good.yaml")
    _write(folder, "bad.yaml", BAD)
    _write(folder, "good.yaml", GOOD)
    job = workers.Job([REGION], IGNORE)
    job.add(bad)
    assert isinstance(job.channel, workers.HelperJob)
    os.killpg(job.channel.helper.proc.pid, signal.SIGKILL)
    job.channel.helper.proc.wait()
    job.add(good)
    result = job.result()
    assert result.fallback and result.workers == 0
    assert result.findings == workers.in_process([bad, good], [REGION], IGNORE).findings
    assert [f[2] for f in result.findings[bad]] == ["W2001"] and result.findings[good] == []


def test_a_reply_without_a_template_sent_is_never_a_pass(folder, monkeypatch):
    bad, good = str(folder / "bad.yaml"), str(folder / "good.yaml")
    _write(folder, "bad.yaml", BAD)
    _write(folder, "good.yaml", GOOD)
    real = workers.HelperJob.reply

    def forgetful(self, files, n):
        result = real(self, files, n)   # the helper's real answer, then one template dropped from it
        reply = {"findings": {k: v for k, v in result.findings.items() if k != bad}, "seconds": {}}
        return workers._result(reply, files, n)

    monkeypatch.setattr(workers.HelperJob, "reply", forgetful)
    job = workers.Job([REGION], IGNORE)
    job.add(good)
    job.add(bad)
    result = job.result()
    assert "a reply without" in result.fallback
    assert [f[2] for f in result.findings[bad]] == ["W2001"]


def test_a_closed_job_stops_the_helper_and_the_next_build_starts_another(folder):
    _write(folder, "good.yaml", GOOD)
    job = workers.Job([REGION], IGNORE)
    job.add(str(folder / "good.yaml"))
    helper = job.channel.helper
    job.close()
    assert helper.proc.poll() is not None
    assert workers.lint([str(folder / "good.yaml")], [REGION], IGNORE).findings == {str(folder / "good.yaml"): []}


ORDER_LOG: Path | None = None   # set before a job: its forked workers inherit it
FIRST_TAKES = 0.0


def _stand_in_lint(path: str) -> tuple[str, list, float]:
    """zygote._lint_one's stand-in in the workers (module level: a pool's task is pickled by name): notes the order
    in which the workers took the files; small.yaml takes FIRST_TAKES seconds."""
    assert ORDER_LOG is not None
    with open(ORDER_LOG, "a") as f:
        f.write(os.path.basename(path) + "\n")
    if os.path.basename(path) == "small.yaml":
        time.sleep(FIRST_TAKES)
    return path, [], 0.0


def _order_job(tmp_path: Path, monkeypatch, job: dict, stream: list[dict] | None = None,
               first_takes: float = 0.0) -> list[str]:
    """zygote's job with the stand-in for cfn-lint in its (forked) workers: the order in which they took the files."""
    monkeypatch.chdir(tmp_path)   # a job goes to its working directory
    monkeypatch.setattr(sys.modules[__name__], "ORDER_LOG", tmp_path / "order.log")
    monkeypatch.setattr(sys.modules[__name__], "FIRST_TAKES", first_takes)
    monkeypatch.setattr(zygote, "_lint_one", _stand_in_lint)
    if stream is not None:
        def slowly():
            for message in stream:
                time.sleep(0.1)   # the stream arrives while the first template is linted
                yield json.dumps(message)
        reply = zygote.answer(json.dumps(job), slowly())
    else:
        reply = zygote.answer(json.dumps(job))
    assert "error" not in reply, reply.get("error")
    assert sorted(reply["findings"]) == sorted(job["files"] + [m["file"] for m in stream or [] if "file" in m])
    return (tmp_path / "order.log").read_text().split()


def _sized(tmp_path: Path) -> dict[str, str]:
    sizes = {"small.yaml": 100, "medium.yaml": 5_000, "large.yaml": 50_000, "tiny.yaml": 10}
    paths = {}
    for name, size in sizes.items():
        (tmp_path / name).write_text("#" * size)
        paths[name] = str(tmp_path / name)
    return paths


def test_a_job_goes_to_its_worker_largest_first(tmp_path, monkeypatch):
    paths = _sized(tmp_path)
    job = workers._job([paths["small.yaml"], paths["tiny.yaml"], paths["large.yaml"], paths["medium.yaml"]],
                       [REGION], IGNORE, 1)
    assert _order_job(tmp_path, monkeypatch, {**job, "cwd": str(tmp_path)}) == [
        "large.yaml", "medium.yaml", "small.yaml", "tiny.yaml"]


def test_a_streamed_job_starts_at_once_then_takes_the_largest_waiting(tmp_path, monkeypatch):
    """The first template is linted as it arrives; what came while it was linted waits, and the largest goes next
    (longest processing time first). The reply covers every template of the stream."""
    paths = _sized(tmp_path)
    job = {**workers._job([paths["small.yaml"]], [REGION], IGNORE, 1), "cwd": str(tmp_path), "stream": True}
    stream = [{"file": paths["tiny.yaml"]}, {"file": paths["medium.yaml"]}, {"file": paths["large.yaml"]},
              {"end": True}]
    assert _order_job(tmp_path, monkeypatch, job, stream, first_takes=1.0) == [
        "small.yaml", "large.yaml", "medium.yaml", "tiny.yaml"]


def test_a_stream_that_ends_before_its_end_line_has_no_findings(tmp_path, monkeypatch):
    paths = _sized(tmp_path)
    monkeypatch.chdir(tmp_path)   # a job goes to its working directory
    monkeypatch.setattr(sys.modules[__name__], "ORDER_LOG", tmp_path / "order.log")
    monkeypatch.setattr(zygote, "_lint_one", _stand_in_lint)
    job = {**workers._job([paths["small.yaml"]], [REGION], IGNORE, 1), "cwd": str(tmp_path), "stream": True}
    reply = zygote.answer(json.dumps(job), iter([json.dumps({"file": paths["tiny.yaml"]})]))
    assert set(reply) == {"error"} and "EOFError" in reply["error"]


def test_a_build_sends_templates_to_cfn_lint_while_it_renders(tmp_path, monkeypatch):
    """In a real build, templates are offered to the lint before render has made the last one, and the build's
    verdict covers every template (the lint cache then holds a pass for each)."""
    monkeypatch.setenv(cache.ENV, str(tmp_path / "cache"))
    rendered: list[str] = []
    offered: list[tuple[str, int]] = []
    real_text, real_offer = render.template_text, gate.Lint.offer

    def template_text(t):
        text = real_text(t)
        rendered.append(text)
        return text

    def offer(self, name, data):
        offered.append((name, len(rendered)))
        return real_offer(self, name, data)

    monkeypatch.setattr(render, "template_text", template_text)
    monkeypatch.setattr(gate.Lint, "offer", offer)
    out, params = tmp_path / "out", tmp_path / "params"
    assert cli.main(["build", "--app", str(FIXTURE_APPS / "workers.yaml"), "--out", str(out),
                     "--params", str(params), "-q"]) == 0
    assert offered and offered[0][1] < len(rendered), "no template was offered before render ended"
    assert [n for n, _ in offered][-1] == "root.yaml"   # the parent is made last
    assert gate.LAST.templates == len(list(out.glob("*.yaml"))) == gate.LAST.linted
    # every pass was recorded under the keys of what was linted: the output, linted again, is all hits
    assert gate.cfn_lint(out, "t", _regions(FIXTURE_APPS / "workers.yaml")) == []
    assert gate.LAST.cached == gate.LAST.templates and gate.LAST.linted == 0


def _regions(app: Path) -> list[str]:
    from generator.config import load_app
    return load_app(app).regions()


EXIT = """
import atexit, sys
from generator import cli
atexit.register(lambda: open(sys.argv[1], "w").write("ran"))
cli._DONE = sys.argv[2] == "done"
print("said", end="")
cli.exit_with(int(sys.argv[3]))
"""


@pytest.mark.parametrize("state,code", [("done", 0), ("done", 1), ("not done", 0)])
def test_a_build_that_succeeded_exits_at_once_with_its_exit_handlers_run_and_output_flushed(tmp_path, state, code):
    marker = tmp_path / "ran"
    proc = subprocess.run([sys.executable, "-c", EXIT, str(marker), state, str(code)], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert (proc.returncode, proc.stdout, marker.read_text()) == (code, "said", "ran")


def test_python_m_generator_build_exits_at_once_and_stops_its_helper(tmp_path):
    """`python -m generator build` of a fixture app: exit 0, its output in place, and no process of it left (its
    helper stopped by the exit handlers that ran before os._exit)."""
    env = {**os.environ, cache.ENV: str(tmp_path / "cache"), "FARGATE_STACKS_LINT_SERVER": "0"}
    proc = subprocess.Popen([sys.executable, "-m", "generator", "build", "--app", str(FIXTURE_APPS / "minimal.yaml"),
                             "--out", str(tmp_path / "out"), "--params", str(tmp_path / "params"), "-q"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert out.startswith("wrote ") and (tmp_path / "out" / "root.yaml").is_file()
    deadline = time.monotonic() + 10
    while _group(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _group(proc.pid)


def _group(pgid: int) -> list[int]:
    """Live processes of the build's session: its own group, and the helper's (its own session: found by parent)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        state, ppid, group = fields[0], int(fields[1]), int(fields[2])
        if state != "Z" and (group == pgid or ppid == pgid):
            found.append(int(entry))
    return found


def test_threads_of_a_job_end(tmp_path, monkeypatch):
    """A job's stream reader ends with the job (the helper reads its next job from the same input)."""
    paths = _sized(tmp_path)
    monkeypatch.chdir(tmp_path)   # a job goes to its working directory
    monkeypatch.setattr(sys.modules[__name__], "ORDER_LOG", tmp_path / "order.log")
    monkeypatch.setattr(zygote, "_lint_one", _stand_in_lint)
    before = threading.active_count()
    job = {**workers._job([paths["small.yaml"]], [REGION], IGNORE, 1), "cwd": str(tmp_path), "stream": True}
    reply = zygote.answer(json.dumps(job), iter([json.dumps({"file": paths["tiny.yaml"]}), json.dumps({"end": True})]))
    assert sorted(os.path.basename(k) for k in reply["findings"]) == ["small.yaml", "tiny.yaml"]
    assert threading.active_count() == before


def test_a_streamed_jobs_workers_are_forked_before_its_stream_is_read(tmp_path, monkeypatch):
    """A worker forked while the job's reader waited in a read of the helper's standard input inherited that
    stream's lock held, and hung when multiprocessing closed its standard input (the build then waited forever):
    the pool is made before the reader starts."""
    import multiprocessing

    paths = _sized(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys.modules[__name__], "ORDER_LOG", tmp_path / "order.log")
    monkeypatch.setattr(zygote, "_lint_one", _stand_in_lint)
    reading = threading.Event()
    real_read, context = zygote.read_stream, multiprocessing.get_context("fork")
    real_pool = type(context).Pool
    forked_while_reading: list[bool] = []

    def read_stream(*args):
        reading.set()
        return real_read(*args)

    def pool(self, *args, **kwargs):
        forked_while_reading.append(reading.is_set())
        return real_pool(self, *args, **kwargs)

    monkeypatch.setattr(zygote, "read_stream", read_stream)
    monkeypatch.setattr(type(context), "Pool", pool)
    job = {**workers._job([paths["small.yaml"]], [REGION], IGNORE, 2), "cwd": str(tmp_path), "stream": True}
    reply = zygote.answer(json.dumps(job), iter([json.dumps({"file": paths["tiny.yaml"]}), json.dumps({"end": True})]))
    assert "error" not in reply and forked_while_reading == [False]
