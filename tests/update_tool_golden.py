"""`make golden`, the tool's part: the cost estimate, the runbooks, the sandbox and the diagram of the default app (docs/) and of every
fixture app (tests/golden/<app>/), from the committed templates. Review `git diff` before committing."""
from __future__ import annotations

import sys

from generator import atomic_file
from generator.config import load_app
from generator.cost import estimate, report
from generator.diagram import draw
from generator.runbooks import render as runbooks
from generator.sandbox import compose as sandbox
from tests.support import GOLDEN_SETS, ROOT

DEFAULT_COST = ROOT / "docs" / "cost-estimate.txt"
DEFAULT_DIAGRAM = ROOT / "docs" / "diagrams" / "architecture.svg"
DEFAULT_RUNBOOKS = ROOT / "runbooks"
DEFAULT_SANDBOX = ROOT / "sandbox"


def runbook_dir(app) -> object:
    """Where an app's committed runbooks live: runbooks/ for app.yaml, tests/golden/<app>/runbooks/ for a fixture."""
    return DEFAULT_RUNBOOKS if app == ROOT / "app.yaml" else GOLDEN_SETS[app][0].parent / "runbooks"


def sandbox_dir(app) -> object:
    """Where an app's committed sandbox lives: sandbox/ for app.yaml, tests/golden/<app>/sandbox/ for a fixture."""
    return DEFAULT_SANDBOX if app == ROOT / "app.yaml" else GOLDEN_SETS[app][0].parent / "sandbox"


def targets():
    """(app file, templates dir, cost file, diagram file, with a PNG) for the default app and each fixture app."""
    for app, (templates, _params) in GOLDEN_SETS.items():
        if app == ROOT / "app.yaml":
            yield app, templates, DEFAULT_COST, DEFAULT_DIAGRAM, True
        else:
            yield app, templates, templates.parent / "cost.txt", templates.parent / "architecture.svg", False


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
