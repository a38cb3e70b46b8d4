"""`make golden`: rewrite the expected output of this repository's app, every example and every fixture app,
through the full validation gate.

Run it on purpose, then review `git diff tests/golden examples templates_out params` before committing.
"""
from __future__ import annotations

import sys

from generator.build import write
from generator.config import load_app
from generator.errors import GeneratorError
from tests.support import GOLDEN_SETS


def main() -> int:
    for app_path, (templates, params) in GOLDEN_SETS.items():
        try:
            write(load_app(app_path), templates, params)
        except GeneratorError as exc:
            print("\n".join(exc.lines()), file=sys.stderr)
            return 1
        print(f"golden: {app_path.name} -> {templates} and {params}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
