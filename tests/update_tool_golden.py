"""`make golden`, the tool's part: the cost estimate, the diagram, the runbooks and the sandbox of every example
(examples/<name>/, the diagram with a PNG) and every fixture app (tests/golden/<app>/), from the committed templates.
Review `git diff` before committing. The root app.yaml has none: it is whatever app the user keeps there
(`make cost`, `make diagram`, `make runbooks`, `make sandbox` write its)."""
from __future__ import annotations

import sys
from pathlib import Path

from generator import atomic_file
from generator.config import load_app
from generator.cost import estimate, report
from generator.diagram import draw
from generator.runbooks import render as runbooks
from generator.sandbox import compose as sandbox
from tests.support import EXAMPLE_APPS, GOLDEN_SETS, REPO_APP, ROOT

# the apps whose cost, diagram, runbooks and sandbox are committed: the examples and the fixture apps
TOOL_GOLDEN_APPS = [app for app in GOLDEN_SETS if app != REPO_APP]


def golden_dir(app: Path) -> Path:
    """Where an app's committed tool output lives: beside an example's app.yaml, tests/golden/<app>/ for a fixture."""
    return GOLDEN_SETS[app][0].parent


def runbook_dir(app: Path) -> Path:
    return golden_dir(app) / "runbooks"


def sandbox_dir(app: Path) -> Path:
    return golden_dir(app) / "sandbox"


def targets():
    """(app file, templates dir, cost file, diagram file, with a PNG) for each example and each fixture app."""
    for app in TOOL_GOLDEN_APPS:
        templates = GOLDEN_SETS[app][0]
        yield (app, templates, templates.parent / "cost.txt", templates.parent / "architecture.svg",
               app in EXAMPLE_APPS)


def cost_text(app) -> str:
    return report.text(estimate.estimate(load_app(app), source=app.name))


def main() -> int:
    for app, templates, cost, diagram, png in targets():
        atomic_file.replace(cost, cost_text(app))
        written = draw.write(templates, diagram, png=png)
        runbooks.write(load_app(app), runbook_dir(app))
        sandbox.write(load_app(app), sandbox_dir(app))
        print(f"golden: {app.name} -> {cost.relative_to(ROOT)}, {', '.join(str(p.relative_to(ROOT)) for p in written)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
