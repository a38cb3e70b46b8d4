"""The lint helper's rules hold their data files compactly (generator/lint/speedups/rule_data.py): the same documents
as cfn-lint's own load, with one string object per text and Policies.json parsed once for its two readers, so the
helper's resident set, which every lint worker starts from, is about 40 MB smaller (docs/performance.md, "The lint
helper's resident set"). The findings are compared with cfn-lint's own over every template and rule fixture by
tests/test_lint_speedups.py, whose helper builds its rules this way."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cfnlint
import pytest

from generator.lint.speedups import rule_data
from tests.support import ROOT

DATA = Path(cfnlint.__file__).parent / "data"


def _same(left, right, path="$") -> None:
    """left and right equal with the same types at every level and the same key order (== alone takes 1 for True)."""
    assert type(left) is type(right), path
    if isinstance(left, dict):
        assert list(left) == list(right), path
        for key in left:
            _same(left[key], right[key], f"{path}.{key}")
    elif isinstance(left, list):
        assert len(left) == len(right), path
        for i, (a, b) in enumerate(zip(left, right)):
            _same(a, b, f"{path}[{i}]")
    else:
        assert left == right, path


def _strings(document, found: list[str]) -> list[str]:
    if isinstance(document, dict):
        for value in document.values():
            _strings(value, found)
    elif isinstance(document, list):
        for value in document:
            _strings(value, found)
    elif isinstance(document, str):
        found.append(document)
    return found


def test_the_compact_load_gives_json_s_document_with_one_string_object_per_text():
    """Every data file the rules may load (cfn-lint's AdditionalSpecs and the extension and other schemas, 1.58.0):
    the same document as json.loads, types and key order included, and across all of them each text of a string value
    is one object. Also made-up documents: a list at the top, a string, lists in lists, strings and numbers mixed."""
    files = sorted([*(DATA / "AdditionalSpecs").glob("*.json"), *(DATA / "schemas" / "extensions").rglob("*.json"),
                    *(DATA / "schemas" / "other").rglob("*.json")])
    assert len(files) > 100
    texts: dict[str, str] = {}
    strings: list[str] = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        compact = rule_data.compact_loads(text, texts)
        _same(compact, json.loads(text), str(path))
        _strings(compact, strings)
    assert len(strings) > 400_000
    assert len({id(s) for s in strings}) == len(set(strings)), "one object per text"
    made_up = ['["a", ["a", ["b", 1, true, null, 1.5]], {"k": "a", "l": [["b"]], "m": {"n": "b"}}]', '"a"',
               '{"a": "a", "b": [1, "1", true, "true"], "c": []}', "[]", "3"]
    texts = {}
    for text in made_up:
        compact = rule_data.compact_loads(text, texts)
        _same(compact, json.loads(text), text)
    found = _strings([rule_data.compact_loads(text, texts) for text in made_up], [])
    assert len({id(s) for s in found}) == len(set(found)) == 4   # "a", "b", "1", "true"


HELPER = r"""
import json, os, sys
sys.path.insert(0, sys.argv[1])
import cfnlint.helpers
from cfnlint.data import AdditionalSpecs
original = cfnlint.helpers.load_resource
from generator.lint import RULES_DIR, speedups, zygote

def anon():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("RssAnon:")) / 1024

zygote.setup(str(RULES_DIR))
rss = anon()
rules = {rule.id: rule for rule in zygote._STATE["rules"].values()}
w3037, i3510, e3062, e3025 = rules["W3037"], rules["I3510"], rules["E3062"], rules["E3025"]

from tests.test_lint_rule_data import _strings   # after the resident set is read: it imports pytest

rds = _strings([e3062._schema, e3025._schema], [])
import cfnlint.data.schemas.extensions.aws_rds_dbinstance as rds_package
left = type(w3037).__init__.__globals__["load_resource"]   # a rule module loaded from its file keeps the replacement
again = left(AdditionalSpecs, "Policies.json")
holders = [name for name, module in list(sys.modules.items())
           if getattr(module, "__dict__", {}).get("load_resource") not in (None, original)]
from cfnlint.api import ManualArgs
from cfnlint.config import ConfigMixIn
files = sys.argv[2:]
zygote._STATE.update(config=ConfigMixIn(**ManualArgs(templates=files, regions=["eu-west-1"],
                     append_rules=[str(RULES_DIR)])), ignore_bad_template=False)
found = [zygote._lint_one(f)[1] for f in files]
print(json.dumps({
    "rss": rss,
    "shared": w3037._service_map is i3510.service_map,
    "policies_as_cfn_lint": w3037._service_map == original(AdditionalSpecs, "Policies.json"),
    "rds_strings": len(rds), "rds_objects": len({id(s) for s in rds}), "rds_texts": len(set(rds)),
    "rds_as_cfn_lint": e3062._schema == original(rds_package, "db_instance_class.json")
    and e3025._schema == original(rds_package, "dbinstanceclass_enum.json"),
    "restored": cfnlint.helpers.load_resource is original, "holders": holders,
    "left_replaced": left is not original, "left_fresh": again is not w3037._service_map,
    "left_same": again == w3037._service_map,
    "policies_after_lint": w3037._service_map == original(AdditionalSpecs, "Policies.json"),
    "linted": len(found),
}))
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the resident set from /proc (Linux)")
def test_the_helper_s_rules_hold_the_data_compactly_and_cfn_lint_s_loader_is_back():
    """The helper's setup: W3037 and I3510 read one Policies.json, equal to cfn-lint's load, before and after linting
    templates with IAM policies (neither writes to it); the RDS instance class schemas of E3062 and E3025 hold one
    object per text; when the rules are built, cfn-lint's load_resource is back in every module of sys.modules, and
    the replacement a rule module loaded from its file keeps loads as cfn-lint does (a new document each call). The
    helper's anonymous resident set after the setup is under 100 MB (125 MB before, 85 MB measured with this)."""
    files = [str(ROOT / "templates_out" / name) for name in ("service-web.yaml", "pipeline.yaml", "database.yaml")]
    out = subprocess.run([sys.executable, "-c", HELPER, str(ROOT), *files], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout
    report = json.loads(out)
    assert report["shared"] and report["policies_as_cfn_lint"] and report["policies_after_lint"]
    assert report["rds_strings"] > 300_000 and report["rds_as_cfn_lint"]
    assert report["rds_objects"] == report["rds_texts"] < 1_000
    assert report["restored"] and report["holders"] == []
    assert report["left_replaced"] and report["left_fresh"] and report["left_same"]
    assert report["linted"] == 3
    assert report["rss"] < 100, report["rss"]


def test_another_cfn_lint_version_loads_as_cfn_lint_does(monkeypatch):
    import cfnlint.helpers
    import cfnlint.version

    original = cfnlint.helpers.load_resource
    monkeypatch.setattr(cfnlint.version, "__version__", "0.0.0")
    with rule_data.compact_rule_data():
        assert cfnlint.helpers.load_resource is original
    assert cfnlint.helpers.load_resource is original


def test_the_compact_loader_is_in_place_only_while_the_rules_are_built():
    import cfnlint.helpers
    from cfnlint.data import AdditionalSpecs

    original = cfnlint.helpers.load_resource
    with rule_data.compact_rule_data():
        replacement = cfnlint.helpers.load_resource
        assert replacement is not original
        first, second = (replacement(AdditionalSpecs, "Policies.json") for _ in range(2))
        assert first is second   # read-only for both its readers: parsed once
        other = replacement(AdditionalSpecs, "StatefulResources.json")
        assert other is not replacement(AdditionalSpecs, "StatefulResources.json")   # any other file: a new document
    assert cfnlint.helpers.load_resource is original
    assert replacement(AdditionalSpecs, "Policies.json") is not first   # then cfn-lint's own load
