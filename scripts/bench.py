"""`make bench`: what a build costs, phase by phase, and how it compares with an AWS CDK synth of the same app shape.

Every figure comes from a fresh process, as `make templates` runs: `python -m generator build` (the command line's
own code, with the phase timings and lint statistics read from inside it), timed from start to exit, its peak memory
the largest resident set of any of its processes (the build, the lint helper, its workers: wait4's ru_maxrss, as GNU
time reports it). Medians of --runs runs.

Table 1, per app (the default app, the fixture apps, a generated 50-service app): the phases of a build with a cold
lint cache (load, render, write, other checks, lint: wall seconds; the lint helper's setup and the templates' lint CPU
seconds), then a rebuild with nothing changed and one after changing one service (its environment), with the lint
cache's hit rate.

Table 2, with --cdk-venv (or $CDK_VENV) pointing at a virtualenv holding the CDK app's requirements: in each run, the
CDK synth of ../shared/bench/cdk_app (warmed up once first) and then generation alone (load, render, write: no gate),
a cold build, a rebuild after changing one service and a rebuild with nothing changed, of the default app; the ratio is
the synth's time over ours.

The lint server (generator/lint/server.py): every row runs without one (FARGATE_STACKS_LINT_SERVER=0: each build
starts its own lint helper and pays its setup, as a first build does) except the rows marked "server warm", whose
builds send their templates to a server the bench started beforehand in its own private directory (and stops at the
end): the state of a developer's second and later builds. A "server warm" row whose builds did not all find the
server running says so. Their peak memory is the build's own processes': the server and its workers are not the
build's children.

The scale apps (5, 10, 25 and 50 services in the proportions 30 web services with routing : 15 workers : 5 cron jobs,
three environments, no pipeline) go through the whole gate; their parameter, output and size figures are
scripts/scale_figures.py's (docs/performance.md, Scale).

Timing lives here, never in tests: tests assert behaviour, this script measures it.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CDK_APP = ROOT.parent / "shared" / "bench" / "cdk_app"
PY = sys.executable


# --- the measured processes --------------------------------------------------------------------------------------
def _child_build(app: str, out: str, params: str) -> None:
    """`python -m generator build`, with its phases recorded; prints one JSON line on stderr's last line."""
    from generator import cli
    cli.PHASES = phases = {}
    cli.ONE_COMMAND = True   # as `python -m generator` sets it: one build, its lint helper released after the verdicts
    code = cli.main(["build", "--app", app, "--out", out, "--params", params])
    gate = sys.modules.get("generator.lint.gate")   # not imported when the build was up to date
    if gate is not None:
        sys.modules["generator.lint.workers"].stop()
    _report({"code": code, "phases": phases, "lint": vars(gate.LAST) if gate is not None else {}})
    cli.exit_with(code)   # as `python -m generator build` ends: at once after a passed build (no teardown)


def _child_generate(app: str, out: str) -> None:
    """Generation alone: load, render, write (no gate)."""
    started = time.perf_counter()
    from generator import render
    from generator.build import render_app
    from generator.config import load_app
    imported = time.perf_counter()
    spec = load_app(app)
    loaded = time.perf_counter()
    rendered = render_app(spec)
    rendered_at = time.perf_counter()
    render.write_files(rendered.templates, Path(out) / "templates")
    render.write_files(rendered.params, Path(out) / "params")
    _report({"code": 0, "phases": {"import": imported - started, "load": loaded - imported,
                                   "render": rendered_at - loaded, "write": time.perf_counter() - rendered_at}})
    # Ended as `python -m generator build` ends after it succeeded (cli.exit_with): the files written and closed, the
    # output flushed, no interpreter teardown (freeing every object one by one: 0.1-0.15 s CPU, docs/performance.md)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _report(data: dict) -> None:
    import resource
    data["self_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    data["helper_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print("BENCH " + json.dumps(data), file=sys.stderr)


def run(argv: list[str], env: dict[str, str] | None = None) -> dict:
    """Run a process to its end: wall seconds, peak memory of its process tree, and what it reported."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as stdout:   # a file, not a pipe: os.wait4 reaps the process for its rusage
        proc = subprocess.Popen(argv, stdout=stdout, stderr=subprocess.PIPE, text=True,
                                env={**os.environ, **(env or {})}, cwd=ROOT)
        assert proc.stderr
        err = proc.stderr.read()
        _, status, usage = os.wait4(proc.pid, 0)
        stdout.seek(0)
        out = stdout.read().decode("utf-8", "replace")
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    report = {}
    for line in err.splitlines():
        if line.startswith("BENCH "):
            report = json.loads(line[6:])
    if proc.returncode not in (0, 1) and not report:
        raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}):\n{err[-3000:]}")
    return {"seconds": seconds, "peak_mb": usage.ru_maxrss / 1024, **report, "stderr": err, "stdout": out}


SERVER_DIR: Path | None = None   # the bench's own lint-server directory (main() sets it)


def build(app: Path, work: Path, cache: Path, workers: int | None = None, server: bool = False) -> dict:
    argv = [PY, __file__, "--child", "build", str(app), str(work / "out"), str(work / "params")]
    env = {"FARGATE_STACKS_LINT_CACHE": str(cache), "FARGATE_STACKS_LINT_SERVER": "1" if server else "0"}
    if SERVER_DIR is not None:
        env["FARGATE_STACKS_LINT_SERVER_DIR"] = str(SERVER_DIR)
    if workers is not None:
        env["FARGATE_STACKS_LINT_WORKERS"] = str(workers)
    return run(argv, env)


def generate(app: Path, work: Path) -> dict:
    shutil.rmtree(work / "gen", ignore_errors=True)
    return run([PY, __file__, "--child", "generate", str(app), str(work / "gen")])


def stop_servers() -> None:
    if SERVER_DIR is not None and SERVER_DIR.is_dir():
        subprocess.run([PY, "-m", "generator", "lint-server", "stop"], cwd=ROOT, capture_output=True,
                       env={**os.environ, "FARGATE_STACKS_LINT_SERVER_DIR": str(SERVER_DIR)})


def warm_server(app: Path, work: Path) -> None:
    """A build with the lint server on, so that the next ones find it running (its result is not a row)."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    build(app, work, work / "lint-cache", server=True)


def cdk_synth(venv: Path, work: Path) -> dict:
    out = work / "cdk.out"
    shutil.rmtree(out, ignore_errors=True)
    result = run([str(venv / "bin" / "python"), str(CDK_APP / "app.py")], {"CDK_OUTDIR": str(out)})
    if not (out / "manifest.json").is_file():
        raise SystemExit(f"the CDK synth wrote no cloud assembly:\n{result['stderr'][-2000:]}")
    return result


# --- the apps ----------------------------------------------------------------------------------------------------
def scale_spec(services: int = 50, environments: int = 3) -> dict:
    """An app of `services` services in the proportions 30 web (all but the first routed by path) : 15 workers :
    5 cron jobs, and `environments` environments (the last one production)."""
    webs, workers = round(services * 0.6), round(services * 0.3)
    crons = services - webs - workers
    spec_services = []
    for i in range(webs):
        s = {"name": f"web{i:02d}", "kind": "web", "port": 8000 + i, "cpu": 256, "memory": 512,
             "health_check_path": f"/s{i:02d}/health"}
        if i:
            s["routing"] = {"path_patterns": [f"/s{i:02d}/*"], "priority": 10 * i}
        spec_services.append(s)
    spec_services += [{"name": f"work{i:02d}", "kind": "worker", "cpu": 256, "memory": 512,
                       "command": ["python", "-m", f"worker{i}"]} for i in range(workers)]
    spec_services += [{"name": f"cron{i:02d}", "kind": "cron", "cpu": 256, "memory": 512,
                       "schedule": f"cron({i % 60} 3 * * ? *)", "command": ["python", "-m", f"job{i}"]}
                      for i in range(crons)]
    envs = {f"env{i}": {"cidr": f"10.{10 + i}.0.0/16"} for i in range(environments - 1)}
    envs["prod"] = {"production": True, "cidr": "10.99.0.0/16", "zones": ["euw1-az1", "euw1-az2"]}
    return {"app": "scale", "owner": "platform-team", "region": "eu-west-1", "services": spec_services,
            "environments": envs}


def change_one_service(spec_text: str, marker: str) -> str:
    """The spec with one environment variable added to its first service: that service's template changes (and the
    root is linted again too, since it references it)."""
    import yaml
    data = yaml.safe_load(spec_text)
    service = data["services"][0]
    service["environment"] = {**service.get("environment", {}), "BENCH_CHANGE": marker}
    return yaml.safe_dump(data, sort_keys=False)


# --- the tables --------------------------------------------------------------------------------------------------
def _median(rows: list[dict], *path: str) -> float:
    values = []
    for row in rows:
        value = row
        for key in path:
            value = value.get(key, {}) if isinstance(value, dict) else {}
        if isinstance(value, (int, float)):
            values.append(value)
    return statistics.median(values) if values else float("nan")


def _hit_rate(rows: list[dict]) -> str:
    if rows and all(" are up to date with " in r.get("stdout", "") for r in rows):
        return "stamp"
    cached = sum(r["lint"]["cached"] for r in rows if r.get("lint"))
    total = sum(r["lint"]["templates"] for r in rows if r.get("lint"))
    return f"{cached}/{total}" if total else "-"


def server_scenarios(app: Path, work: Path, run_no: int) -> dict[str, dict]:
    """With a warm lint server: a cold build, then a rebuild after changing one service (fresh folders and cache)."""
    warm_server(app, work / "warm-up")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    cache = work / "lint-cache"
    spec = work / "app.yaml"
    spec.write_text(app.read_text(encoding="utf-8"), encoding="utf-8")
    found = {"cold": build(spec, work, cache, server=True)}
    spec.write_text(change_one_service(app.read_text(encoding="utf-8"), f"run{run_no}"), encoding="utf-8")
    found["one service"] = build(spec, work, cache, server=True)
    return found


def _server_note(rows: list[dict]) -> str:
    """Empty when every build of the rows was linted by a server already running, else what happened instead."""
    seen = {r.get("lint", {}).get("server", "") if r.get("lint") else "no lint" for r in rows}
    if seen <= {"warm", "no lint"}:
        return ""
    return "  (not all warm: " + ", ".join(sorted(x or "no server" for x in seen)) + ")"


def scenarios(app: Path, work: Path, run_no: int) -> dict[str, dict]:
    """A cold build, an unchanged rebuild (up to date by its build stamp), the same without the stamp (every
    template a lint-cache hit: what a generator change that leaves the templates alone costs), a rebuild after
    changing one service: fresh folders and cache. Without a lint server."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    cache = work / "lint-cache"
    spec = work / "app.yaml"
    spec.write_text(app.read_text(encoding="utf-8"), encoding="utf-8")
    found = {"cold": build(spec, work, cache)}
    found["unchanged"] = build(spec, work, cache)   # answered by the build stamp
    shutil.rmtree(cache / "builds", ignore_errors=True)        # the same without it: every template a cache hit
    found["all hits"] = build(spec, work, cache)
    spec.write_text(change_one_service(app.read_text(encoding="utf-8"), f"run{run_no}"), encoding="utf-8")
    found["one service"] = build(spec, work, cache)
    return found


def table1(apps: list[tuple[str, Path]], runs: int, work: Path) -> None:
    print("Table 1: phases of `make templates` (wall seconds; median of %d runs)" % runs)
    head = (f"{'app':<14}{'tmpl':>5}{'import':>7}{'load':>6}{'render':>7}{'write':>6}{'checks':>7}{'lint':>6}"
            f"{'setup':>6}{'lintCPU':>8}{'cold':>6}{'peakMB':>7}{'unchanged':>10}{'hits':>7}{'no stamp':>9}"
            f"{'1 svc':>6}{'hits':>7}")
    print(head)
    for name, app in apps:
        rows = [scenarios(app, work / name, i) for i in range(runs)]
        cold = [r["cold"] for r in rows]
        print(f"{name:<14}{cold[0].get('lint', {}).get('templates', 0):>5}"
              + "".join(f"{_median(cold, 'phases', k):>{w}.2f}" for k, w in
                        (("import", 7), ("load", 6), ("render", 7), ("write", 6), ("checks", 7), ("lint", 6)))
              + f"{_median(cold, 'lint', 'setup_seconds'):>6.2f}{_median(cold, 'lint', 'lint_cpu_seconds'):>8.2f}"
              + f"{_median(cold, 'seconds'):>6.2f}{max(r['peak_mb'] for r in cold):>7.0f}"
              + f"{_median([r['unchanged'] for r in rows], 'seconds'):>10.2f}{_hit_rate([r['unchanged'] for r in rows]):>7}"
              + f"{_median([r['all hits'] for r in rows], 'seconds'):>9.2f}"
              + f"{_median([r['one service'] for r in rows], 'seconds'):>6.2f}"
              + f"{_hit_rate([r['one service'] for r in rows]):>7}")
        refused = [r for r in cold if r.get("code") not in (0, None)]
        if refused:
            print(f"{'':<14}(the gate refused this app: {refused[0]['stderr'].strip().splitlines()[-1][:150]})")
    print("checks: size budgets, handler permissions, parameter files, rename warnings (run in a thread while cfn-lint "
          "lints: not on the critical path); "
          "lint: waiting for cfn-lint's verdicts; setup: the helper's import of cfn-lint and its rules; lintCPU: "
          "the templates' lint time summed over the workers; peakMB: the largest process of the build; unchanged: "
          "answered by the build stamp; no stamp: the same rebuild without it (every template a lint-cache hit). No lint "
          "server: each build starts its own helper.\n")


def table2(venv: Path, runs: int, work: Path) -> None:
    app = ROOT / "app.yaml"
    print(f"Table 2: against the CDK synth of the same app shape ({CDK_APP}), one run each in turn, median of {runs}")
    cdk_synth(venv, work)   # warm: jsii's package cache, the OS's file cache
    rows: dict[str, list[dict]] = {}
    for i in range(runs):
        rows.setdefault("CDK synth (warm)", []).append(cdk_synth(venv, work))
        rows.setdefault("generation alone (no gate)", []).append(generate(app, work))
        for scenario, result in scenarios(app, work / "default", i).items():
            label = {"cold": "make templates, cold, no server", "unchanged": "rebuild, nothing changed",
                     "all hits": "rebuild, no stamp (all lint hits)",
                     "one service": "rebuild, one service, no server"}[scenario]
            rows.setdefault(label, []).append(result)
        for scenario, result in server_scenarios(app, work / "default-server", i).items():
            label = {"cold": "make templates, cold, server warm",
                     "one service": "rebuild, one service, server warm"}[scenario]
            rows.setdefault(label, []).append(result)
    stop_servers()
    cdk = _median(rows["CDK synth (warm)"], "seconds")
    goals = {"generation alone (no gate)": 10, "make templates, cold, no server": 2,
             "rebuild, one service, no server": 5, "rebuild, nothing changed": 10,
             "make templates, cold, server warm": 2, "rebuild, one service, server warm": 5}
    print(f"{'':<34}{'seconds':>8}{'CDK/ours':>9}{'goal':>6}{'hits':>7}{'peak MB':>8}")
    for label in ("CDK synth (warm)", "generation alone (no gate)", "make templates, cold, no server",
                  "make templates, cold, server warm", "rebuild, one service, no server",
                  "rebuild, one service, server warm", "rebuild, nothing changed",
                  "rebuild, no stamp (all lint hits)"):
        seconds = _median(rows[label], "seconds")
        ratio = "" if label.startswith("CDK") else f"{cdk / seconds:.1f}x"
        goal = f">={goals[label]}x" if label in goals else ""
        note = _server_note(rows[label]) if "server warm" in label else ""
        print(f"{label:<34}{seconds:>8.2f}{ratio:>9}{goal:>6}{_hit_rate(rows[label]):>7}"
              f"{max(r['peak_mb'] for r in rows[label]):>8.0f}{note}")
    print("Rows without \"server warm\": no lint server, each build starts its own lint helper (as a first build "
          "does). \"server warm\": the build's templates linted by a lint server already running (its setup paid "
          "before; peak MB is the build's own processes, not the server's).")
    print()


def table_workers(runs: int, work: Path) -> None:
    """Where the lint workers help: the default app with a cold lint cache, linted in the build's own process (as
    before the helper existed), in one helper worker, in one per core."""
    app = ROOT / "app.yaml"
    print(f"Lint workers: the default app, cold lint cache (median of {runs} runs; this machine has "
          f"{len(os.sched_getaffinity(0))} cores)")
    print(f"{'':<38}{'build':>7}{'lint':>7}{'lintCPU':>9}{'peakMB':>8}")
    for label, count in (("in the build's process (no helper)", 0), ("helper, 1 worker", 1),
                         ("helper, 1 worker per core", len(os.sched_getaffinity(0)))):
        rows = []
        for i in range(runs):
            folder = work / f"workers-{count}-{i}"
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            rows.append(build(app, folder, folder / "lint-cache", workers=count))
        print(f"{label:<38}{_median(rows, 'seconds'):>7.2f}{_median(rows, 'phases', 'lint'):>7.2f}"
              f"{_median(rows, 'lint', 'lint_cpu_seconds'):>9.2f}{max(r['peak_mb'] for r in rows):>8.0f}")
    print()


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        sys.path.insert(0, str(ROOT))
        (_child_build if sys.argv[2] == "build" else _child_generate)(*sys.argv[3:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cdk-venv", default=os.environ.get("CDK_VENV", ""),
                        help="a virtualenv with ../shared/bench/cdk_app/requirements.txt installed (default $CDK_VENV)")
    parser.add_argument("--apps", default="default,fixtures,scale",
                        help="comma-separated: default, fixtures, scale (the apps of --services services)")
    parser.add_argument("--services", default="5,10,25,50",
                        help="comma-separated sizes of the scale apps (default 5,10,25,50)")
    args = parser.parse_args()
    global SERVER_DIR
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        work = Path(tmp)
        SERVER_DIR = work / "lint-server"   # the bench's servers, never the user's
        try:
            if args.cdk_venv:
                table2(Path(args.cdk_venv), args.runs, work / "vs-cdk")
        except BaseException:
            stop_servers()
            raise
        wanted = set(args.apps.split(","))
        apps: list[tuple[str, Path]] = []
        if "default" in wanted:
            apps.append(("app.yaml", ROOT / "app.yaml"))
        if "fixtures" in wanted:
            apps += [(p.stem, p) for p in sorted((ROOT / "tests/fixtures/apps").glob("*.yaml"))]
        if "scale" in wanted:
            import yaml
            for size in (int(n) for n in args.services.split(",")):
                scale = work / f"scale-{size}.yaml"
                scale.write_text(yaml.safe_dump(scale_spec(size), sort_keys=False), encoding="utf-8")
                apps.append((f"{size} services", scale))
        try:
            table1(apps, args.runs, work / "apps")
            if "default" in wanted:
                table_workers(args.runs, work / "workers")
        finally:
            stop_servers()
    return 0


if __name__ == "__main__":
    sys.exit(main())
