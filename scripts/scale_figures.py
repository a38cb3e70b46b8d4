"""The root's budget at 5, 10, 25 and 50 services: root parameters and outputs, the root's size as written and as
packaged, and the largest nested template (docs/performance.md, Scale). Counts and bytes, never time (`make bench`
measures time); tests/test_scale.py checks that the table in docs/performance.md is this script's output.

    .venv/bin/python scripts/scale_figures.py [5,10,25,50]
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.bench import scale_spec  # noqa: E402

SIZES = (5, 10, 25, 50)
HEADER = ("| services | web / worker / cron | root parameters | settings | root outputs | root.yaml bytes | "
          "packaged | largest nested template |\n| --- | --- | --- | --- | --- | --- | --- | --- |")


def row(services: int) -> str:
    from generator import render, root
    from generator.config import parse_app
    from generator.lint import budgets

    spec = scale_spec(services)
    app = parse_app(spec, f"scale-{services}")
    build = root.build(app)
    templates = {name: render.template_text(t) for name, t in build.templates().items()}
    text = templates[root.ROOT_FILE]
    kinds = [sum(s["kind"] == k for s in spec["services"]) for k in ("web", "worker", "cron")]
    packed = any(p.name.endswith("Settings") for p in build.parameters)
    nested_name, nested = max(((n, len(t.encode())) for n, t in templates.items() if n != root.ROOT_FILE),
                              key=lambda item: item[1])
    return (f"| {services} | {' / '.join(map(str, kinds))} | {len(build.parameters)} | "
            f"{'packed' if packed else 'one each'} | {len(build.root.outputs)} | {len(text.encode()):,} | "
            f"{len(budgets.packaged(text, app.region).encode()):,} | {nested:,} ({nested_name}) |")


def table(sizes: tuple[int, ...] = SIZES) -> str:
    return "\n".join([HEADER, *(row(n) for n in sizes)]) + "\n"


if __name__ == "__main__":
    sizes = tuple(int(n) for n in sys.argv[1].split(",")) if len(sys.argv) > 1 else SIZES
    sys.stdout.write(table(sizes))
