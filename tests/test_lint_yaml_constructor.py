"""The lint helper's YAML constructor (generator/lint/speedups/yaml_constructor.py) builds what cfn-lint's own
constructor builds: the same objects (types, values, key order, attributes in order, the marks' every field, which
objects are shared) or the same error (type, message, cfn-lint's matches), over every template of the repository
and over the YAML that takes cfn-lint's own path (duplicate, null and unhashable keys, merge keys, anchors, tags
other than the plain ones, deep nesting, parse errors).

Compared in a subprocess (this process keeps cfn-lint unpatched): each text decoded by cfnlint.decode.cfn_yaml.loads
with the patch and with cfn-lint's constructor, in the same process. The findings of every template linted with all
the speed-ups: tests/test_lint_speedups.py.
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.support import ROOT

COMPARE = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
import yaml.constructor
from cfnlint.decode import cfn_yaml
from generator.lint.speedups import yaml_constructor

def describe(obj, memo):
    if id(obj) in memo:
        return ["shared", memo[id(obj)]]
    memo[id(obj)] = len(memo)
    attrs = [[k, mark(v) if k.endswith("_mark") else repr(v)] for k, v in getattr(obj, "__dict__", {}).items()]
    if isinstance(obj, dict):
        body = [[describe(k, memo), describe(v, memo)] for k, v in obj.items()]
    elif isinstance(obj, list):
        body = [describe(v, memo) for v in obj]
    else:
        body = repr(obj)
    return [type(obj).__module__ + "." + type(obj).__qualname__, attrs, body]

def mark(m):
    return [type(m).__name__] + [getattr(m, f, None) for f in ("name", "index", "line", "column", "buffer", "pointer")]

def decoded(text):
    try:
        return ["ok", describe(cfn_yaml.loads(text, "t.yaml"), {})]
    except Exception as e:
        return ["error", type(e).__name__, str(e),
                [[m.message, m.linenumber, m.columnnumber, m.linenumberend, m.columnnumberend, m.rule.id]
                 for m in getattr(e, "matches", [])]]

calls = [0]
real_construct_object = yaml.constructor.BaseConstructor.construct_object
def construct_object(self, node, deep=False):
    calls[0] += 1
    return real_construct_object(self, node, deep)
yaml.constructor.BaseConstructor.construct_object = construct_object

loader = cfn_yaml.CfnFullLoader
real = loader.construct_document
applied = yaml_constructor.fast_yaml_constructor([])
again = yaml_constructor.fast_yaml_constructor([])
fast = loader.construct_document
texts = json.loads(sys.stdin.read())
report = {"applied": applied, "again": again, "cases": []}
for text in texts:
    loader.construct_document = real
    calls[0] = 0
    want = decoded(text)
    real_calls = calls[0]
    loader.construct_document = fast
    calls[0] = 0
    got = decoded(text)
    report["cases"].append({"same": got == want, "want": want, "got": got, "fast": calls[0] == 0 < real_calls})
print(json.dumps(report))
"""


def compare(texts: list[str]) -> dict:
    out = subprocess.run([sys.executable, "-c", COMPARE, str(ROOT)], input=json.dumps(texts), cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    report = json.loads(out)
    assert report["applied"] is True and report["again"] is False   # applied once
    return report


def every_template() -> list[str]:
    folders = [ROOT / "templates_out", *sorted((ROOT / "examples").glob("*/templates_out")),
               *sorted((ROOT / "tests" / "golden").glob("*/templates"))]
    files = [p for folder in folders for p in sorted(folder.glob("*.yaml"))]
    files += sorted((ROOT / "tests" / "fixtures" / "lint_rules").glob("*/*.yaml"))
    return [p.read_text(encoding="utf-8") for p in files]


def test_every_template_decodes_to_the_same_nodes_by_the_fast_path():
    """Every template of every app and every rule fixture: the same objects, marks included, and built without
    cfn-lint's construct_object (the fast path ran) unless its text has a `&`."""
    texts = every_template()
    assert len(texts) > 150
    report = compare(texts)
    assert all(case["same"] for case in report["cases"]), [c for c in report["cases"] if not c["same"]][:1]
    assert all(case["fast"] for case, text in zip(report["cases"], texts) if "&" not in text)


TEMPLATE = """AWSTemplateFormatVersion: '2010-09-09'
Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
{body}
"""

# (text, whether the fast path builds it: False where cfn-lint's constructor must, or the text fails to parse)
CASES = [
    (TEMPLATE.format(body="      BucketName: !Sub '${AWS::StackName}-x'\n      Tags: [{Key: a, Value: !Ref B}]"), True),
    ("A: 1\nA: 2\n", False),                                     # duplicate key: cfn-lint's E0000
    ("Resources:\n  X: {Type: T}\n  X: {Type: U}\n  X: {}\n", False),   # three of them: every match
    ("a: 1\nb:\n  c: 1\n  c: 1\n", False),                       # a nested duplicate
    ("1: a\ntrue: b\n", False),                                  # equal keys of different types (1 == True)
    ("~: a\n", False),                                           # null key
    (": a\n", False),                                            # empty key
    ("? [a, b]\n: c\n", False),                                  # unhashable key
    ("? {a: b}\n: c\n", False),
    ("!Ref X : 1\n", False),                                     # a function as a key: unhashable
    ("x: !If {? [a]: b}\n", False),                              # unhashable key in a function's mapping
    ("x: !If {a: 1, a: 2}\n", True),                             # a function's mapping: later keys overwrite
    ("<<: {a: 1}\nb: 2\n", False),                               # merge key
    ("x:\n  <<: [{a: 1}, {b: 2}]\n  c: 3\n", False),
    ("x: !Sub {<<: {a: 1}}\n", False),
    ("=: a\n", False),                                           # the value key
    ("a: &A {b: 1}\nc: *A\n", False),                            # anchors: aliases share one object
    ("a: &A x\nb: *A\nc: *A\n", False),
    ("a: *A\n", False),                                          # an alias to no anchor
    ("a: 'x & y'\n", False),                                     # a & anywhere: cfn-lint's path
    ("v: 2012-10-17\nt: 2001-12-14t21:59:43.10-05:00\n", False),   # timestamps
    ("b: !!binary aGVsbG8=\n", False),
    ("s: !!set {a, b}\no: !!omap [a: 1]\np: !!pairs [a: 1]\n", False),
    ("x: !!python/object:os.system x\n", False),                 # a tag SafeConstructor refuses
    ("x: !<tag:example.com,2000:x> y\n", False),
    ("s: !!str 5\nm: !!map {a: 1}\nq: !!seq [1]\n", True),
    ("m: !!map [1]\n", False),                                   # a tag on a node of another kind
    ("s: !!seq {a: 1}\n", False),
    ("i: !!int x\n", False),                                     # a scalar function's own error
    ("f: !!float [1]\n", False),
    ("i: [0x1F, 0o17, 1_000, -5, +3, 0b101, 1:30]\nf: [.inf, -.Inf, .nan, 1e3, 3.5]\n", True),
    ("b: [yes, No, true, FALSE, on, off, y, n]\nn: [~, null, ]\n", True),
    ("k: {2: a, 2.5: b, true: c, null_: d}\n", True),
    ("k: {1: a, 2.5: b, true: c}\n", False),                      # 1 == True: a duplicate cfn-lint fails on
    ("a: !GetAtt X.Arn\nb: !GetAtt X.Y.Z\nc: !GetAtt [X, Arn]\nd: !GetAtt []\ne: !GetAtt X\n", True),
    ("a: !GetAtt {X: Arn}\n", False),                            # cfn-lint's odd mapping form
    ("a: !Ref X\nb: !Condition C\nc: !Base64 x\nd: !\n", True),
    ("a: !Join ['', [!Ref X, !Sub '${Y}']]\nb: !If [C, !Ref A, !Ref AWS::NoValue]\n", True),
    ("a: !Sub\n  - '${X}'\n  - X: !GetAtt Y.Z\n", True),
    ("a: !Fn::Sub x\nb: !Ref [1, 2]\n", True),
    ("", False),                                                 # no node to construct: cfn-lint's empty dict_node
    ("---\n", True),                                             # a null document: cfn-lint's empty dict_node
    ("just a string\n", True),
    ("- a\n- b\n", True),
    ("a: 1\n---\nb: 2\n", False),                                # two documents: the composer's error
    ("a: [1, 2\n", False),                                       # parser error
    ("a:\n\t- b\n", False),                                      # a tab: the JSON fallback in decode
    ('{"a": {"b": [1, "c", {"Ref": "X"}]}, "d": null}\n', True),   # JSON
    ("a: 'quoted'\nb: \"double \\u00e9\"\nc: |\n  block\n  text\nd: >\n  folded\n", True),
    ("a: " + "[" * 40 + "]" * 40 + "\n", True),                  # deep nesting
    ("a: " + "{b: " * 40 + "c" + "}" * 40 + "\n", True),
    ("a: " + "[" * 400 + "]" * 400 + "\n", False),               # too deep for cfn-lint's constructor: its error
    ("a: " + "[{b: " * 150 + "c" + "}]" * 150 + "\n", False),
    ("a: " + "{b: " * 300 + "c" + "}" * 300 + "\n", False),       # deeper than the recursion's bound: cfn-lint's
]


@pytest.mark.parametrize("text, fast", CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_edge_cases_decode_as_cfn_lint_decodes_them(text, fast):
    """Each case, decoded with the patch and with cfn-lint's constructor: the same objects or the same error; the
    fast path builds exactly the cases it can build exactly (the others, and parse errors, go to cfn-lint's)."""
    (case,) = compare([text])["cases"]
    assert case["same"], case
    assert case["fast"] is fast, case


def test_the_duplicate_key_errors_are_cfn_lint_s():
    """A guard on the comparison itself: cfn-lint's duplicate-key error, with the line of each occurrence."""
    (case,) = compare(["Resources:\n  X: {Type: T}\n  X: {Type: U}\n"])["cases"]
    assert case["want"][0] == "error" and case["got"] == case["want"]
    assert [m[:2] for m in case["want"][3]] == [["Duplicate found 'X' (line 2)", 2], ["Duplicate found 'X' (line 3)", 3]]
