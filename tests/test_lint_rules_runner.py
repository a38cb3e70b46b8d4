"""generator/lint/speedups/rules_runner.py: cfn-lint's Rules.run with the idle per-resource rules skipped gives the
same matches in the same order, records the same used rules, and still calls the rules that have resource types of
their own (E3043 on a nested stack: its findings come from matchall_resource_properties).

In a subprocess (this process keeps cfn-lint unpatched): the rules built as the helper builds them, the patch
applied alone, then each template run through the patched and the original Rules.run.
"""
from __future__ import annotations

import json
import subprocess
import sys

from tests.support import ROOT

SCRIPT = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
from generator.lint import RULES_DIR, zygote
from generator.lint.speedups import rules_runner
from cfnlint.api import ManualArgs
from cfnlint.config import ConfigMixIn
from cfnlint.decode import decode
from cfnlint.rules import _rules
from cfnlint.template.template import Template

rules = zygote._rules(str(RULES_DIR))
applied = rules_runner.skip_idle_resource_rules([])
patched, real = _rules.Rules.run, _rules.Rules.run.real
out = []
for path in sys.argv[2:]:
    config = ConfigMixIn(**ManualArgs(templates=[path], regions=["eu-west-1"], append_rules=[str(RULES_DIR)]))
    results = []
    for run in (patched, real):
        template, errors = decode(path)
        assert not errors, errors
        rules._used_rules = {}
        cfn = Template(path, template, config.regions)
        matches = [[m.rule.id, m.linenumber, m.columnnumber, m.message, [str(p) for p in getattr(m, "path", []) or []]]
                   for m in run(rules, path, cfn, config)]
        results.append({"matches": matches, "used": list(rules.used_rules)})
    out.append({"path": path, "same": results[0] == results[1], "matches": results[0]["matches"]})
print(json.dumps({"applied": applied, "again": rules_runner.skip_idle_resource_rules([]), "out": out}))
"""


def test_the_runner_gives_the_same_matches_and_used_rules():
    bad = ROOT / "tests" / "fixtures" / "lint_rules"
    files = [ROOT / "examples" / "tunecast" / "templates_out" / "root.yaml",
             ROOT / "examples" / "tunecast" / "templates_out" / "network.yaml",
             *sorted(bad.glob("*/bad.yaml"))[:4]]
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(ROOT), *map(str, files)], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    report = json.loads(out)
    assert report["applied"] is True and report["again"] is False   # applied once: Rules.run is no longer cfn-lint's
    assert all(case["same"] for case in report["out"]), [c["path"] for c in report["out"] if not c["same"]]
    assert any(case["matches"] for case in report["out"]), "some template has findings to compare"
