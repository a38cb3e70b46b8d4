"""A lint worker frees the previous template's cyclic garbage before it lints the next, then freezes what survived
(generator/lint/zygote.py, `_collect`; docs/performance.md, "The 50-service build's peak memory, third pass"). The
collector decides only when unreachable objects are freed, never what cfn-lint finds: tests/test_lint_speedups.py
compares the helper's findings with cfn-lint's API over every template of the repository."""
from __future__ import annotations

import json
import subprocess
import sys

from tests.support import ROOT

COLLECTED = r"""
import gc, json, sys, weakref
sys.path.insert(0, sys.argv[1])
import cfnlint.runner.template.runner as runner
from generator.lint import zygote

class Node:
    pass

alive = {}

def lint(path, config, rules, ignore_bad_template):
    node = Node()
    node.cycle = node   # a template's objects held by a reference cycle, as cfn-lint's are
    alive[path] = weakref.ref(node)
    alive[path + " seen by the next"] = {p: r() is not None for p, r in alive.items() if " " not in p and p != path}
    return []

runner.run_template_by_file_path = lint
zygote._STATE.update(config=None, rules=None, ignore_bad_template=False)
gc.disable()   # no automatic pass: only the worker's own collection frees a cycle
zygote._lint_one("a.yaml")
after_first = alive["a.yaml"]() is not None
frozen = gc.get_freeze_count()
zygote._lint_one("b.yaml")
print(json.dumps({"after_first": after_first, "seen_by_second": alive["b.yaml seen by the next"],
                  "frozen_more": gc.get_freeze_count() > frozen}))
"""


def test_a_worker_frees_the_previous_templates_cycles_before_the_next():
    """The first template's objects (a reference cycle) are still there when its lint ends; the next template's lint
    starts with them freed, and what survived the collection frozen (the collector's later passes skip it)."""
    out = subprocess.run([sys.executable, "-c", COLLECTED, str(ROOT)], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout
    report = json.loads(out)
    assert report == {"after_first": True, "seen_by_second": {"a.yaml": False}, "frozen_more": True}
