"""`make golden`, the tool's part: the cost estimate and the diagram of every example (examples/<name>/, with a PNG)
and every fixture app (tests/golden/<app>/), from the committed templates. Review `git diff` before committing.
The root app.yaml has none: it is whatever app the user keeps there (`make cost`, `make diagram` draw it)."""
from __future__ import annotations

import sys

from generator import atomic_file
from generator.config import load_app
from generator.cost import estimate, report
from generator.diagram import draw
from tests.support import EXAMPLE_APPS, GOLDEN_SETS, REPO_APP, ROOT


def targets():
    """(app file, templates dir, cost file, diagram file, with a PNG) for each example and each fixture app."""
    for app, (templates, _params) in GOLDEN_SETS.items():
        if app != REPO_APP:
            yield (app, templates, templates.parent / "cost.txt", templates.parent / "architecture.svg",
                   app in EXAMPLE_APPS)


def cost_text(app) -> str:
    return report.text(estimate.estimate(load_app(app), source=app.name))


def main() -> int:
    for app, templates, cost, diagram, png in targets():
        atomic_file.replace(cost, cost_text(app))
        written = draw.write(templates, diagram, png=png)
        print(f"golden: {app.name} -> {cost.relative_to(ROOT)}, {', '.join(str(p.relative_to(ROOT)) for p in written)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
