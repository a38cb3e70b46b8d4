"""`make bench`: how long each phase of a build takes, median of several runs, for the default and fixture apps.

Timing lives here, not in tests: tests assert behaviour, this script measures it.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from generator.build import render_app, write  # noqa: E402
from generator.config import load_app  # noqa: E402
from generator.lint import gate  # noqa: E402
from generator.render import stage  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def _time(fn, runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    apps = [ROOT / "app.yaml", *sorted((ROOT / "tests/fixtures/apps").glob("*.yaml"))]
    print(f"{'app':<16}{'load':>8}{'render':>9}{'lint':>8}{'build':>8}  templates  resources  bytes")
    for path in apps:
        app = load_app(path)
        rendered = render_app(app)
        with tempfile.TemporaryDirectory() as tmp:
            staged = stage(rendered.templates, Path(tmp) / "t")
            lint = _time(lambda: gate.cfn_lint(staged, "t", app.region), args.runs)
            full = _time(lambda: write(app, Path(tmp) / "out", Path(tmp) / "params"), args.runs)
        resources = sum(len(t.resources) for t in rendered.build.templates().values())
        size = sum(len(t.encode()) for t in rendered.templates.values())
        print(f"{path.stem:<16}{_time(lambda: load_app(path), args.runs) * 1000:>6.1f}ms"
              f"{_time(lambda: render_app(app), args.runs) * 1000:>7.1f}ms{lint:>7.2f}s{full:>7.2f}s"
              f"  {len(rendered.templates):>9}  {resources:>9}  {size:>5}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
