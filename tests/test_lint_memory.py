"""What the lint workers keep in memory between templates: the peak memory of a build is the worker that lints the
root (docs/performance.md, "Peak memory"), and what it keeps of the nested templates grows with every service."""
from __future__ import annotations

import json
import subprocess
import sys

from tests.support import ROOT

KEPT = r"""
import gc, json, sys, tracemalloc
sys.path.insert(0, sys.argv[1])
import cfnlint.decode
from cfnlint.rules.resources.cloudformation.NestedStackParameters import NestedStackParameters
from generator.lint.speedups.decode import share_nested_decodes

real = cfnlint.decode.decode
files = sys.argv[2:]

def reads(template):
    # what E3043 and the GetAtt context read of a nested template (generator/lint/speedups/decode.py, interface)
    parameters = template.get("Parameters", {})
    outputs = template.get("Outputs")
    return {"parameters": [[str(k), parameters.get(k, {}).get("Default") is None] for k in parameters],
            "outputs": [f"Outputs.{name}" for name in outputs] if isinstance(outputs, dict) else None}

full = [reads(real(f)[0]) for f in files]
assert share_nested_decodes([NestedStackParameters])
gc.collect()
tracemalloc.start()
for f in files:
    cfnlint.decode.decode(f)
gc.collect()
kept = tracemalloc.get_traced_memory()[0]
tracemalloc.stop()
shared = [reads(cfnlint.decode.decode(f)[0]) for f in files]
print(json.dumps({"kept": kept, "same": shared == full, "entries": len(cfnlint.decode.decode.parsed),
                  "parameters": sum(len(r["parameters"]) for r in full)}))
"""


def test_a_worker_keeps_only_what_cfn_lint_reads_of_the_nested_templates():
    """The worker that lints a root parses each nested template once for cfn-lint's two readers and keeps the result
    for the whole lint of the root (generator/lint/speedups/decode.py). It keeps what they read (parameter names and
    defaults, output names), read back exactly as from cfn-lint's own parse, and not the parse: the default app's
    nested templates then cost a worker under 10 KB each (kept as parsed, Parameters and Outputs: about 150 KB per
    service template, 9.3 MB for the 54 of the 50-service app, which made its root's worker the build's peak)."""
    folder = ROOT / "examples" / "tunecast" / "templates_out"
    files = sorted(str(p) for p in folder.glob("*.yaml") if p.name != "root.yaml")
    out = subprocess.run([sys.executable, "-c", KEPT, str(ROOT), *files], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout
    report = json.loads(out)
    assert report["same"], "the readers read what cfn-lint's own parse gives them"
    assert report["entries"] == len(files) >= 15
    assert report["parameters"] >= 10 * len(files)   # a real interface was kept, not an empty one
    assert report["kept"] < 10_000 * len(files), report
