"""The lint helper's speed-ups of cfn-lint (generator/lint/speedups/) change no verdict and reach the rules the
helper lints with.

The patches apply only in the helper process (generator/lint/zygote.py): this process stays unpatched, so
`workers.in_process` here is cfn-lint's own API.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from generator.lint import speedups, workers
from tests.support import ROOT

REGION = "eu-west-1"


# The golden sets of the fixture apps (65 more templates, about 25 s of the suite's wall time on 2 cores) are
# compared when this is 1: `make test` kept the suite under its 15 minutes without them, and the default app and
# the five examples already hold every component's templates (pipeline included); run it so after changing
# generator/lint/speedups/.
EVERY_GOLDEN_SET = "FARGATE_STACKS_EQUIVALENCE_GOLDEN"


def every_template() -> list[str]:
    """Every template of the default app and the examples (and, with FARGATE_STACKS_EQUIVALENCE_GOLDEN=1, of the
    golden sets of the fixture apps) and every project rule fixture, passing and failing."""
    folders = [ROOT / "templates_out", *sorted((ROOT / "examples").glob("*/templates_out"))]
    if os.environ.get(EVERY_GOLDEN_SET) == "1":
        folders += sorted((ROOT / "tests" / "golden").glob("*/templates"))
    # A folder whose files are byte for byte another's (the root app is a copy of examples/tunecast) gets the same
    # findings, nested templates included: linted once.
    seen: set[tuple] = set()
    files = []
    for folder in folders:
        contents = tuple((str(p.relative_to(folder)), p.read_bytes()) for p in sorted(folder.rglob("*")) if p.is_file())
        if contents not in seen:
            seen.add(contents)
            files += sorted(folder.glob("*.yaml"))
    files += sorted((ROOT / "tests" / "fixtures" / "lint_rules").glob("*/*.yaml"))
    return [str(p) for p in files]


def _unpatched(files: list[str], listing: Path) -> subprocess.Popen:
    """cfn-lint's API over `files` in a fresh interpreter that never imports the speed-ups."""
    listing.write_text(json.dumps(files))
    script = ("import json, sys; from pathlib import Path; sys.path.insert(0, sys.argv[1]); "
              "from generator.lint import workers; files = json.loads(Path(sys.argv[3]).read_text()); "
              "print(json.dumps(workers.in_process(files, [sys.argv[2]], []).findings)); "
              "assert 'generator.lint.speedups' not in sys.modules")
    return subprocess.Popen([sys.executable, "-c", script, str(ROOT), REGION, str(listing)], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_the_speedups_leave_every_finding_as_cfn_lint_reports_it(monkeypatch, tmp_path):
    """Findings (file, line, rule, message), file by file and with no rule ignored, from the helper's workers with
    the speed-ups and from cfn-lint's API in processes without them, over every template of every app and every
    project rule fixture. The unpatched side runs in two processes beside the helper's two workers."""
    files = every_template()
    assert len(files) > 100
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv(workers.ENV_WORKERS, "2")
    halves = [_unpatched(files[0::2], tmp_path / "even.json"), _unpatched(files[1::2], tmp_path / "odd.json")]
    patched = workers.lint(files, [REGION], [])
    unpatched: dict[str, list] = {}
    for proc in halves:
        out, _ = proc.communicate()
        assert proc.returncode == 0
        unpatched.update(json.loads(out))
    assert patched.workers == 2 and not patched.fallback
    assert "" not in unpatched and set(unpatched) == set(files)
    assert {f: sorted(map(list, found)) for f, found in patched.findings.items()} == \
        {f: sorted(found) for f, found in unpatched.items()}
    failing = [f for f in files if "/lint_rules/" in f and f.endswith("bad.yaml")]
    assert failing and all(unpatched[f] for f in failing), "every failing fixture fails"
    rules = {found[2] for findings in unpatched.values() for found in findings}
    assert len(rules) >= 20, rules


REACH = r"""
import collections, dataclasses, json, os, sys
sys.path.insert(0, sys.argv[1])
from generator.lint import RULES_DIR, speedups, zygote

rules = zygote._rules(str(RULES_DIR))   # as the helper builds them
import cfnlint.decode
import cfnlint.jsonschema.validators as validators
from cfnlint.context import context
from cfnlint.jsonschema._filter import FunctionFilter
from cfnlint.rules.jsonschema import Base
import regex._main
from cfnlint.jsonschema import _keywords, _keywords_cfn
from cfnlint.schema.resolver import _resolver
from cfnlint.rules.functions import _BaseFn

e1101 = [r for r in rules.values() if r.id == "E1101"][0]
e1019 = [r for r in rules.values() if r.id == "E1019"][0]
from cfnlint.template import template as template_module
originals = {
    "E1101 cfnLint of the rule built": type(e1101).cfnLint.__code__,
    "Context.evolve": context.Context.evolve.__code__,
    "Path.evolve": context.Path.evolve.__code__,
    "Path.descend": context.Path.descend.__code__,
    "FunctionFilter.evolve": FunctionFilter.evolve.__code__,
    "Validator.evolve": validators.CfnTemplateValidator.evolve.__code__,
    "a Validator class made": dataclasses._process_class.__code__,
    "BaseJsonSchema.extend_validator": Base.BaseJsonSchema.extend_validator.__code__,
    "regex's pattern cache": regex._main._compile.__code__,
    "FunctionFilter.filter": FunctionFilter.filter.__code__,
    "FunctionFilter._filter_schemas": FunctionFilter._filter_schemas.__code__,
    "RefResolver.__post_init__": _resolver.RefResolver.__post_init__.__code__,
    "RefResolver.resolve_fragment": _resolver.RefResolver.resolve_fragment.__code__,
    "RefResolver._get_subschemas_cache": _resolver.RefResolver._get_subschemas_cache.__code__,
    "functools.update_wrapper": __import__("functools").update_wrapper.__code__,
    "Context.module_names computed": context.Context.module_names.func.__code__,
    "dynamicValidation": _keywords_cfn.dynamicValidation.__code__,
    "_keywords.enum": _keywords.enum.__code__,
    "Validator.descend": validators.CfnTemplateValidator.descend.__code__,
    "Validator.is_type": validators.CfnTemplateValidator.is_type.__code__,
    "PyYAML's construct_object": __import__("yaml.constructor").constructor.BaseConstructor.construct_object.__code__,
    "the @matching wrapper": Base.BaseJsonSchema.matchall_resource_properties.__code__,
    "Rules.run": type(rules).run.__code__,
    "Sub._validate_string of the rule built": type(e1019)._validate_string.__code__,
    "Template.get_valid_getatts": template_module.Template.get_valid_getatts.__code__,
    "Template._search_deep_keys": template_module.Template._search_deep_keys.__code__,
}
# cfn-lint's BaseFn.validate and BaseFn.validator (the copy that descends into ref.json) for E1020's Ref rule: the
# condition rules that bound their own `validate` before the patch (E8004 And, E8005 Not) still run cfn-lint's,
# which the replacement's statements equal for every rule but Ref
for_ref = {_BaseFn.BaseFn.validate.__code__: "BaseFn.validate for a Ref",
           _BaseFn.BaseFn.validator.__code__: "BaseFn.validator for a Ref (a descent into ref.json)"}
decode_code = cfnlint.decode.decode.__code__
applied = speedups.apply(rules)

from cfnlint.api import ManualArgs
from cfnlint.config import ConfigMixIn
files = sys.argv[2:]
zygote._STATE.update(rules=rules, ignore_bad_template=False, config=ConfigMixIn(
    **ManualArgs(templates=files, regions=["eu-west-1"], append_rules=[str(RULES_DIR)])))
by_code = {code: name for name, code in originals.items()}
package = os.path.dirname(speedups.__file__)   # every module of the speed-ups
report = {"applied": applied, "passes": [], "decoded": [], "tables": []}
for _ in range(2):
    counts = collections.Counter()
    def profile(frame, event, arg):
        if event == "call":
            code = frame.f_code
            if code in by_code:
                counts[by_code[code]] += 1
            elif code in for_ref:
                if type(frame.f_locals["self"]).__name__ == "Ref":
                    counts[for_ref[code]] += 1
            elif code is decode_code:
                shared = os.path.dirname(frame.f_back.f_code.co_filename) == package   # for a nested stack's readers
                report["decoded"].append([frame.f_locals.get("filename"), shared])
            elif os.path.dirname(code.co_filename) == package:
                counts["speedups." + code.co_name] += 1
    sys.setprofile(profile)
    for f in files:
        zygote._lint_one(f)
    sys.setprofile(None)
    report["passes"].append(counts)
    children, table = e1101.__dict__["_child_rules"], e1101.__dict__["_by_keyword"]
    report["tables"].append([type(children).__name__, table[2] is children, table[3] == children.changes,
                             len(children)])
print(json.dumps(report))
"""


def test_every_speedup_reaches_the_rules_the_helper_lints_with():
    """With the rules built as the helper builds them (cfn-lint loads each rule module from its file, so a rule's
    class is not the class of the same name in sys.modules) and the speed-ups applied, linting a root template and
    one of its nested templates twice never runs a replaced piece of cfn-lint, runs every replacement, makes no
    Validator class the second time (each was made once), and parses each nested template once for both its
    readers. A patch that misses the instances fails here."""
    folder = ROOT / "examples" / "tunecast" / "templates_out"
    nested = sorted(str(p) for p in folder.glob("service-*.yaml"))
    files = [str(folder / "root.yaml"), nested[0]]
    out = subprocess.run([sys.executable, "-c", REACH, str(ROOT), *files], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    report = json.loads(out)
    assert report["applied"] == [patch.__name__ for patch in speedups.PATCHES] == [
        "share_nested_decodes", "fast_evolve", "memoize_validator_classes", "lean_schema_walk",
        "dispatch_by_keyword", "direct_extend_validator", "memoize_regex_compile", "keep_module_names",
        "lean_function_filter", "lean_ref_resolver", "found_enum", "memoize_condition_scenarios", "known_ref_names",
        "fast_yaml_constructor", "skip_idle_resource_rules", "lean_sub", "keep_valid_getatts",
        "lean_search_deep_keys"]
    first, second = report["passes"]
    for counts in (first, second):
        for original in ("E1101 cfnLint of the rule built", "Context.evolve", "Path.evolve", "Path.descend",
                         "FunctionFilter.evolve", "Validator.evolve", "BaseJsonSchema.extend_validator",
                         "FunctionFilter.filter", "FunctionFilter._filter_schemas", "RefResolver.__post_init__",
                         "RefResolver.resolve_fragment", "RefResolver._get_subschemas_cache", "_keywords.enum",
                         "BaseFn.validate for a Ref", "BaseFn.validator for a Ref (a descent into ref.json)",
                         "PyYAML's construct_object", "Rules.run", "Sub._validate_string of the rule built",
                         "Validator.descend", "Template._search_deep_keys"):
            assert counts.get(original, 0) == 0, (original, counts)
        for replacement in ("cfnLint", "evolve", "descend", "create", "extend_validator", "_compile", "filter",
                            "_filter_schemas", "__post_init__", "resolve_fragment", "_get_subschemas_cache",
                            "enum", "validate", "name_known", "construct_document", "build", "run", "idle",
                            "_validate_string", "get_valid_getatts", "is_type", "_search_deep_keys", "_walk"):
            assert counts.get("speedups." + replacement, 0) > 0, (replacement, counts)
        # the decorated wrapper (one code object): every rule's matchall, and matchall_resource_properties only for
        # the rules with resource_property_types of their own, not ~350 times per resource
        assert 0 < counts["the @matching wrapper"] < counts["speedups.idle"] // 20, counts
    assert second.get("a Validator class made", 0) == 0, second   # each made once, in the first pass
    for counts in (first, second):   # once per resources dictionary (a template's, its nested stacks'), not per copy
        # (known_ref_names leaves dynamicValidation to the Refs it cannot answer: none here, so about 360 calls)
        assert counts["dynamicValidation"] > 300 and counts["speedups.module_names"] > 100, counts
        assert 0 < counts["Context.module_names computed"] <= 10, counts
        # cfn-lint's __post_init__ made three update_wrapper calls per resolver; the rest come from elsewhere
        assert counts.get("functools.update_wrapper", 0) < counts["speedups.__post_init__"], counts
        # cfn-lint's own is_type only for the types not tested inline ("number", "integer")
        assert counts.get("Validator.is_type", 0) * 20 < counts["speedups.is_type"], counts
    # E1101's keyword table is kept with the count of changes of its child rules it was built at (lean dispatch)
    assert report["tables"] == [["_Counted", True, True, report["tables"][0][3]]] * 2 and report["tables"][0][3] > 50
    assert first.get("a Validator class made", 0) > 0, first
    for counts in (first, second):   # the valid GetAtts built once per template (the replacement calls cfn-lint's)
        assert counts["Template.get_valid_getatts"] <= len(files) < counts["speedups.get_valid_getatts"], counts
    # regex's own look-up only for what is not kept (flags): under 2 % of the calls once every pattern was seen
    assert second.get("regex's pattern cache", 0) * 50 < second["speedups._compile"], second
    linted = [Path(f).name for f, shared in report["decoded"] if not shared]
    assert sorted(linted) == sorted(Path(f).name for f in files * 2)   # the runner's own parse, each pass
    nested_reads = [Path(f).name for f, shared in report["decoded"] if shared]
    assert len(nested_reads) == len(set(nested_reads)) >= 10, nested_reads   # once for both readers, both passes


CONDITIONS = r"""
import collections, json, sys
sys.path.insert(0, sys.argv[1])
from generator.lint import RULES_DIR, speedups, zygote
from cfnlint.context.conditions import _conditions

rules = zygote._rules(str(RULES_DIR))
evolve, is_reachable = _conditions.Conditions.evolve.__code__, _conditions.Conditions.is_reachable.__code__
applied = speedups.apply(rules)
from cfnlint.api import ManualArgs
from cfnlint.config import ConfigMixIn
files = sys.argv[2:]
zygote._STATE.update(rules=rules, ignore_bad_template=False, config=ConfigMixIn(
    **ManualArgs(templates=files, regions=["eu-west-1"], append_rules=[str(RULES_DIR)])))
kept, asked, computed = [], collections.Counter(), collections.Counter()
def profile(frame, event, arg):
    if event == "call" and frame.f_code.co_name in ("evolve", "is_reachable"):
        self = frame.f_locals.get("self")
        if not isinstance(self, _conditions.Conditions):
            return
        kept.append(self)   # alive, so that no other object takes its id
        question = (id(self), frame.f_code.co_name, repr(sorted(frame.f_locals.get("status", {}).items())),
                    frame.f_locals.get("assumed"), frame.f_locals.get("name"), frame.f_locals.get("value"))
        if frame.f_code in (evolve, is_reachable):
            computed[question] += 1
        else:
            asked[question] += 1
sys.setprofile(profile)
for f in files:
    zygote._lint_one(f)
sys.setprofile(None)
print(json.dumps({"applied": applied, "asked": sum(asked.values()), "questions": len(asked),
                  "computed": sum(computed.values()), "twice": sum(n > 1 for n in computed.values())}))
"""


def test_each_question_about_conditions_is_answered_once_per_object():
    """memoize_condition_scenarios (generator/lint/speedups/conditions.py): over service templates with conditions
    and Fn::If, cfn-lint's own Conditions.evolve and is_reachable run at most once per object and question, while
    the questions are asked many more times (the findings are compared above)."""
    folder = ROOT / "examples" / "tunecast" / "templates_out"
    files = [str(folder / "service-web.yaml"), str(folder / "network.yaml")]
    out = subprocess.run([sys.executable, "-c", CONDITIONS, str(ROOT), *files], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    report = json.loads(out)
    assert "memoize_condition_scenarios" in report["applied"]
    assert report["twice"] == 0, report
    assert 0 < report["computed"] <= report["questions"], report
    assert report["asked"] > 3 * report["computed"], report


def test_this_process_is_unpatched():
    """The comparisons above (and tests/test_lint_cache.py's) need cfn-lint's own code in the test process."""
    import cfnlint.jsonschema.validators as validators

    assert not speedups.APPLIED and not hasattr(validators.create, "real")


@pytest.mark.parametrize("version", ["1.57.0", "1.59.0"])
def test_another_cfn_lint_version_is_left_as_it_is(monkeypatch, version):
    import cfnlint.version

    monkeypatch.setattr(cfnlint.version, "__version__", version)
    assert speedups.apply({}) == []


def test_the_found_enum_gives_cfn_lint_s_verdicts():
    """keywords.found_enum's code, run with cfn-lint's `enum` globals as the patch runs it, yields the same errors as
    cfn-lint's own `enum` (unpatched in this process) on the cases its `equal` treats specially: "true"/"false"
    strings and booleans (any string not "true" equals "false"), numbers given as strings, 0 and 1, template
    strings (str_node), tuples, lists of other types, and values absent from the list."""
    import types

    from cfnlint.decode.node import str_node
    from cfnlint.jsonschema import _keywords

    from generator.lint.speedups import keywords

    assert _keywords.enum.__code__ is not keywords.enum.__code__
    patched = types.FunctionType(keywords.enum.__code__, _keywords.enum.__globals__, "enum")
    node = str_node("Bucket", (0, 0), (0, 0))
    instances = ["Bucket", "bucket", node, "true", "True", "FALSE", "false", "Other", "5", "5.0", "0", "1", 0, 1,
                 True, False, 5, None, ["Bucket"], {"Ref": "Bucket"}, ""]
    enum_lists = [["Bucket", "Role"], ("Bucket", "Role"), [node, "Role"], ["false"], [False], ["true", "x"], [True],
                  [5, 6], ["5"], [0, 1], ["0"], [None], [["Bucket"]], [{"Ref": "Bucket"}], [], ["bucket"],
                  ["Role", "Bucket", "Bucket"], ["x", 5, "Bucket"]]
    checked = 0
    for enums in enum_lists:
        for instance in instances:
            expected = [e.message for e in _keywords.enum(None, enums, instance, {})]
            assert [e.message for e in patched(None, enums, instance, {})] == expected, (enums, instance)
            checked += 1
    assert checked == len(enum_lists) * len(instances)


# Refs that E1020's shortcut (generator/lint/speedups/ref.py, known_ref_names) answers and those it leaves to
# cfn-lint's descent into ref.json: each beside the finding cfn-lint gives it.
REF_CASES = """\
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Name: {Type: String, Default: my-bucket}
  BadAcl: {Type: String, Default: NotAnAcl}
  BadCidr: {Type: String, Default: not-a-cidr}
  Subnets: {Type: "List<AWS::EC2::Subnet::Id>"}
  Env: {Type: String, AllowedValues: [dev, prod], Default: dev}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: !Ref Name
      AccessControl: !Ref BadAcl
      Tags:
        - {Key: region, Value: !Ref "AWS::Region"}
        - {Key: unknown, Value: !Ref Nope}
        - {Key: case, Value: !Ref name}
        - {Key: cond, Value: !If [IsProd, !Ref Name, !Ref Missing]}
        - {Key: list, Value: !Ref Subnets}
        - {Key: notif, Value: !Ref "AWS::NotificationARNs"}
        - {Key: sub, Value: !Sub "${Name}-${Nope2}-${AWS::StackName}"}
        - {Key: dyn, Value: {Ref: "{{resolve:ssm:/x}}"}}
        - {Key: nonstring, Value: {Ref: [a, b]}}
        - {Key: number, Value: {Ref: 5}}
        - {Key: fn, Value: {Ref: {"Fn::Sub": "Name"}}}
        - {Key: empty, Value: {Ref: ""}}
        - {Key: novalue, Value: !If [IsProd, !Ref "AWS::NoValue", x]}
  Vpc:
    Type: AWS::EC2::VPC
    Properties:
      CidrBlock: !Ref BadCidr
  Topic:
    Type: AWS::SNS::Topic
    Properties:
      TopicName: !Ref Bucket
      Tags: !Ref Bucket
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      DelaySeconds: !Ref "AWS::AccountId"
Outputs:
  Out: {Value: !Ref Vpc}
  Bad: {Value: !Ref Ghost}
"""
REF_CASES_TRANSFORM = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::LanguageExtensions
Parameters:
  Name: {Type: String, Default: my-bucket}
Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: !Ref Name
      Tags:
        - {Key: unknown, Value: !Ref Nope}
        - {Key: region, Value: !Ref "AWS::Region"}
"""

SHORTCUTS = r"""
import collections, json, sys
sys.path.insert(0, sys.argv[1])
from generator.lint import RULES_DIR, speedups, zygote
rules = zygote._rules(str(RULES_DIR))
applied = speedups.apply(rules)
from cfnlint.api import ManualArgs
from cfnlint.config import ConfigMixIn
files = sys.argv[2:]
zygote._STATE.update(rules=rules, ignore_bad_template=False, config=ConfigMixIn(
    **ManualArgs(templates=files, regions=["eu-west-1"], append_rules=[str(RULES_DIR)])))
answers = collections.defaultdict(set)
def profile(frame, event, arg):
    if event == "return" and frame.f_code.co_name == "name_known" and "speedups" in frame.f_code.co_filename:
        if type(frame.f_locals["rule"]).__name__ == "Ref":
            answers[json.dumps(frame.f_locals["value"])].add(arg)
sys.setprofile(profile)
for f in files:
    zygote._lint_one(f)
sys.setprofile(None)
print(json.dumps({"applied": applied, "answers": {k: sorted(v) for k, v in answers.items()}}))
"""


def test_refs_the_shortcut_answers_and_those_it_leaves_give_cfn_lint_s_findings(monkeypatch, tmp_path):
    """known_ref_names (generator/lint/speedups/ref.py): a Ref to a parameter, a resource or a pseudo parameter
    (in a property, a tag, an Fn::If, an Fn::Sub, an output; with and without the AWS::LanguageExtensions
    transform, which picks ref.json's other branch) skips the descent into ref.json; an unknown name, a name of
    another case, an empty name, a dynamic reference, a list, a number or a function as the name takes cfn-lint's
    descent (the transform resolves a function in a Ref before the rules see it, so that case is in the other
    template). The findings, with the checks that come after the name's (a list parameter or a resource where a
    string or an array is expected, a resolved value that fails the property's enum, pattern or maximum), are the
    helper's with the speed-ups and cfn-lint's API here, unpatched."""
    refs, transform = tmp_path / "refs.yaml", tmp_path / "transform.yaml"
    refs.write_text(REF_CASES)
    transform.write_text(REF_CASES_TRANSFORM)
    files = [str(refs), str(transform)]
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv(workers.ENV_WORKERS, "1")
    patched = workers.lint(files, [REGION], [])
    unpatched = workers.in_process(files, [REGION], [])
    assert patched.workers == 1 and not patched.fallback and not speedups.APPLIED
    assert {f: sorted(map(list, found)) for f, found in patched.findings.items()} == \
        {f: sorted(map(list, found)) for f, found in unpatched.findings.items()}
    found = {(Path(f).name, rule, message.split(" is ")[0]) for f, findings in unpatched.findings.items()
             for _, _, rule, message in findings}
    for name in ("'Nope'", "'name'", "'Missing'", "['a', 'b']", "5", "''"):
        assert ("refs.yaml", "E1020", name) in found, name
    assert ("transform.yaml", "E1020", "'Nope'") in found
    assert ("refs.yaml", "E1019", "'Nope2'") in found and ("refs.yaml", "E6101", "'Ghost'") in found
    for name in ("Subnets", "AWS::NotificationARNs", "Bucket"):   # a known name of the wrong type
        assert ("refs.yaml", "E1020", "{'Ref': '%s'}" % name) in found, name
    for name in ("BadAcl", "BadCidr", "AWS::AccountId"):   # its resolved value fails enum, pattern, maximum
        assert ("refs.yaml", "W1030", "{'Ref': '%s'}" % name) in found, name

    out = subprocess.run([sys.executable, "-c", SHORTCUTS, str(ROOT), *files], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    report = json.loads(out)
    assert "known_ref_names" in report["applied"]
    answers = {json.loads(value): verdicts for value, verdicts in report["answers"].items()
               if not value.startswith(("[", "{"))}
    known = {"Name", "BadAcl", "BadCidr", "Env", "Subnets", "Bucket", "Vpc", "AWS::Region", "AWS::NotificationARNs",
             "AWS::StackName", "AWS::AccountId", "AWS::NoValue"}
    assert {name for name, verdicts in answers.items() if verdicts == [True]} == known
    assert {name for name, verdicts in answers.items() if verdicts == [False]} == {
        "Nope", "name", "Missing", "Nope2", "Ghost", "{{resolve:ssm:/x}}", "", 5}
    assert report["answers"][json.dumps(["a", "b"])] == [False]
    assert report["answers"][json.dumps({"Fn::Sub": "Name"})] == [False]


# Every case of Fn::Sub that generator/lint/speedups/sub.py special-cases or passes through, with the findings
# cfn-lint gives them (the test asserts some, so that a template that stopped exercising them fails): the string and
# the list form (a variable of the list's map is not a Ref; `{Name: !Ref Name}` is), `${!Literal}`, a pseudo
# parameter, spaces inside `${ Env }`, `${Res.Attr}` (a GetAtt, good and bad), an unknown variable (three times: an
# error is never kept), a list parameter (not a string), a Sub with no variables, Subs inside Fn::If, a resolved value
# failing the property's pattern, a NoEcho parameter in resource Metadata, Properties and Outputs (W2010 reads the
# path), a dynamic reference in a variable (never kept) and the same variables many times over.
SUB_CASES = """\
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Env:
    Type: String
    Default: dev
  Secret:
    Type: String
    NoEcho: true
  Names:
    Type: CommaDelimitedList
    Default: a,b
Conditions:
  IsProd: !Equals [!Ref Env, prod]
Resources:
  Topic:
    Type: AWS::SNS::Topic
    Metadata:
      Note: !Sub "${Secret}"
    Properties:
      TopicName: !Sub "${Env}-topic"
      DisplayName: !Sub ["${Env}-${Suffix}-${AWS::Region}-${Own}", {Suffix: !Ref Env, Own: x, Env: !Ref Env}]
  Literal:
    Type: AWS::SNS::Topic
    Properties:
      TopicName: !Sub "${!Literal}-${AWS::Region}-${ Env }"
      DisplayName: !Sub "${Topic.TopicName}-${Topic.Nope}"
  Unknown1:
    Type: AWS::SNS::Topic
    Properties:
      TopicName: !Sub "${Missing}-x"
      DisplayName: !Sub "${Secret}"
  Unknown2:
    Type: AWS::SNS::Topic
    Properties:
      TopicName: !Sub "${Missing}-y-${Env}"
      DisplayName: !Sub "${Names}"
  Plain:
    Type: AWS::SNS::Topic
    Properties:
      TopicName: !Sub "plain-name"
      DisplayName: !Sub "${{{resolve:ssm:x}}}-${{resolve:ssm:y}}-${Env}"
  Conditional:
    Type: AWS::SNS::Topic
    Properties:
      TopicName: !If [IsProd, !Sub "${Env}-p", !Sub "${Env}-${AWS::AccountId}-${Missing}"]
      DisplayName: !If [IsProd, !Sub "${Env}-${AWS::Region}", !Ref AWS::NoValue]
  BadBucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: !Sub "${AWS::Region}-Bad_Name"
  GoodBucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: !Sub "${AWS::Region}-good-${Env}"
      Tags:
        - {Key: a, Value: !Sub "${Env}-${AWS::Region}-${AWS::AccountId}-${AWS::Partition}-${AWS::StackName}"}
        - {Key: b, Value: !Sub "${Env}-${AWS::Region}-${AWS::AccountId}-${AWS::Partition}-${AWS::StackName}"}
        - {Key: c, Value: !Sub "${Env}-${AWS::Region}-${AWS::AccountId}-${AWS::Partition}-${AWS::StackName}"}
Outputs:
  Out:
    Value: !Sub "${Secret}-x-${Env}"
  Out2:
    Value: !Sub "${Env}-${Missing}"
"""

SUB_RUN = r"""
import collections, json, sys
sys.path.insert(0, sys.argv[1])
from generator.lint import RULES_DIR, speedups, zygote
rules = zygote._rules(str(RULES_DIR))
e1020 = type([r for r in rules.values() if r.id == "E1020"][0])
ref_code = e1020.ref.__code__
applied = speedups.apply(rules) if sys.argv[2] == "patched" else []
from cfnlint.api import ManualArgs
from cfnlint.config import ConfigMixIn
files = sys.argv[3:]
zygote._STATE.update(rules=rules, ignore_bad_template=False, config=ConfigMixIn(
    **ManualArgs(templates=files, regions=["eu-west-1"], append_rules=[str(RULES_DIR)])))
refs = collections.Counter()
def profile(frame, event, arg):
    if event == "call" and frame.f_code is ref_code:   # a Ref check run for a variable of a Sub
        caller = frame.f_back
        while caller is not None and caller.f_code.co_name != "_validate_string":
            caller = caller.f_back
        refs["Ref checks"] += caller is not None
sys.setprofile(profile)
found = {f: zygote._lint_one(f)[1] for f in files}
sys.setprofile(None)
print(json.dumps({"applied": applied, "findings": found, "refs": refs["Ref checks"]}))
"""


def test_the_sub_speedup_gives_cfn_lint_s_findings_on_every_kind_of_sub(tmp_path):
    """generator/lint/speedups/sub.py (lean_sub) and getatts.py (keep_valid_getatts): the findings of a template
    holding every kind of Fn::Sub, in cfn-lint's order, are the same with the speed-ups as with cfn-lint alone (both
    in fresh processes building the rules as the helper does), and at most 60 % of the Ref checks of Sub variables
    run with them."""
    template = tmp_path / "sub-cases.yaml"
    template.write_text(SUB_CASES, encoding="utf-8")
    runs = {mode: json.loads(subprocess.run([sys.executable, "-c", SUB_RUN, str(ROOT), mode, str(template)],
                                            cwd=ROOT, capture_output=True, text=True, check=True).stdout)
            for mode in ("patched", "unpatched")}
    patched, unpatched = runs["patched"], runs["unpatched"]
    assert {"lean_sub", "keep_valid_getatts"} <= set(patched["applied"]) and not unpatched["applied"]
    assert patched["findings"] == unpatched["findings"]   # the same findings in the same order
    found = [(line, rule, message) for _, line, rule, message in unpatched["findings"][str(template)]]
    missing = [line for line, rule, message in found if rule == "E1019" and message.startswith("'Missing' is not")]
    assert missing == [30, 35, 45], found   # each unknown variable, every time
    assert (36, "E1019", "'Names' is not of type 'string'") in found
    assert any(rule == "E1019" and message.startswith("'Nope' is not one of") for _, rule, message in found)
    assert sum(rule == "E1019" and "resolve:ssm:" in message for _, rule, message in found) == 2, found
    assert (40, "W1020", "'Fn::Sub' isn't needed because there are no variables") in found
    assert any(line == 50 and rule == "W1031" and "when 'Fn::Sub' is resolved" in message
               for line, rule, message in found)
    assert (18, "W2010", "Don't use 'NoEcho' parameter 'Secret' in resource metadata") in found
    assert any(rule == "W2010" and message.endswith("in 'Outputs'") for _, rule, message in found)
    assert not any(line == 31 for line, _, _ in found)   # the NoEcho parameter in Properties: no finding
    assert 0 < patched["refs"] <= 0.6 * unpatched["refs"], (patched["refs"], unpatched["refs"])   # 36 of 65


SCHEMA_WALK = r"""
import json, sys
from collections import deque
sys.path.insert(0, sys.argv[1])
from generator.lint import RULES_DIR, speedups, zygote
from generator.lint.speedups import jsonschema_rules

speedups.apply(zygote._rules(str(RULES_DIR)))
import cfnlint.jsonschema.validators as validators
from cfnlint.decode import decode_str
from cfnlint.decode.node import dict_node, list_node, str_node
from cfnlint.jsonschema.exceptions import UnknownType
from cfnlint.template import Template

template, _ = decode_str("Resources:\n  Bucket:\n    Type: AWS::S3::Bucket\n")
cfn = Template("t.yaml", template, ["eu-west-1"])
base = validators.CfnTemplateValidator({}, cfn=cfn)
made = base.extend(validators={"x-record": lambda v, x, i, s: iter(())})   # a class made after the patch
report = {"descend": 0, "is_type": 0, "fallbacks": 0}


def snapshot(validator, fresh_resolver):
    # every attribute of the descended validator, of its context and of its path (deques as lists, types named);
    # a resolver __post_init__ made (a new object each time) by its class and the schema it was made from
    state = {}
    for name, value in vars(validator).items():
        if name == "resolver" and fresh_resolver:
            value = (type(value), value.referrer is validator.schema)
        elif name == "context":
            value = {k: ({p: (type(d).__name__, list(d)) for p, d in vars(v).items()} if k == "path" else v)
                     for k, v in vars(value).items()}
        state[name] = value
    return state


def run(descend, validator, *args):
    seen = []
    real_iter_errors = type(validator).iter_errors

    def recorder(self, instance):
        seen.append((type(self), snapshot(self, validator.resolver is None), instance))
        yield from real_iter_errors(self, instance)
    type(validator).iter_errors = recorder
    try:
        errors = [(e.message, list(e.path), list(e.schema_path), e.validator) for e in descend(validator, *args)]
    except Exception as exc:
        errors = [type(exc).__name__, str(exc)]
    finally:
        type(validator).iter_errors = real_iter_errors
    return seen, errors


for cls_validator in (base, made(schema={}, cfn=cfn)):
    cls = type(cls_validator)
    fused = cls.descend.fused
    real_descend, real_is_type, _ = fused[cls]
    with_module_names = cls_validator.evolve(context=cls_validator.context.evolve())
    with_module_names.context.module_names   # a cached property: one more key in the context's dictionary
    no_resolver = cls_validator.evolve()
    object.__setattr__(no_resolver, "resolver", None)
    extra = cls_validator.evolve()
    extra.__dict__["extra"] = 1
    deep = cls_validator.evolve(context=cls_validator.context.evolve(
        path=cls_validator.context.path.descend(path="Resources", cfn_path="Resources")))
    for validator in (cls_validator, with_module_names, no_resolver, extra, deep):
        for schema in ({"type": "string"}, {"type": "object", "required": ["A"]}, {"enum": ["a"]}, {}, True,
                       False, {"$id": "x", "type": "array"}):
            for instance in ("s", 5, {"B": 1}, ["x"], None):
                for path in (None, "A", 0):
                    for schema_path in (None, "properties"):
                        for property_path in (None, "Prop", "Fn::If", 3, "*"):
                            args = (instance, schema, path, schema_path, property_path)
                            expected = run(real_descend, validator, *args)
                            assert run(cls.descend, validator, *args) == expected, (args, expected)
                            report["descend"] += 1
                            report["fallbacks"] += property_path in ("Fn::If", 3) or validator is no_resolver
    nodes = (str_node("s", (0, 0), (0, 0)), list_node([], (0, 0), (0, 0)), dict_node({}, (0, 0), (0, 0)))
    for instance in ("s", "", 0, 1, 1.0, 1.5, True, False, None, [], {}, (), deque(), b"x", object(), *nodes):
        for kind in ("array", "boolean", "integer", "object", "null", "number", "string", "date", "other"):
            try:
                expected = real_is_type(cls_validator, instance, kind)
            except UnknownType as exc:
                expected = ("UnknownType", str(exc))
            try:
                got = cls.is_type(cls_validator, instance, kind)
            except UnknownType as exc:
                got = ("UnknownType", str(exc))
            assert got == expected and type(got) is type(expected), (instance, kind, got, expected)
            report["is_type"] += 1

# the change count of E1101's child rules: every method that can change a dict counts
counted = jsonschema_rules._Counted({"a": 1, "b": 2})
assert counted == {"a": 1, "b": 2} and list(counted) == ["a", "b"] and counted.changes == 0
changes = [lambda d: d.__setitem__("c", 3), lambda d: d.__delitem__("c"), lambda d: d.update(c=3),
           lambda d: d.setdefault("d", 4), lambda d: d.pop("d"), lambda d: d.popitem(), lambda d: d.__ior__({"e": 5}),
           lambda d: d.__init__({"f": 6}), lambda d: d.clear(), lambda d: d.pop("missing")]
for number, change in enumerate(changes, 1):
    try:
        change(counted)
    except KeyError:
        pass
    assert counted.changes == number, (number, counted.changes)
print(json.dumps(report))
"""


def test_the_schema_walk_makes_cfn_lint_s_copies_and_type_checks():
    """lean_schema_walk (generator/lint/speedups/schema_walk.py), on a Validator class cfn-lint made at import and
    one made after the patch: the fused `descend` validates with a validator of the same attributes (the same
    objects, the context's and the path's too, the path's deques equal) as the original descend, and yields the
    same errors with the same paths, for path, schema_path and property_path given or not, a context that holds a
    cached module_names, a validator with an attribute of its own or without a resolver, a property path the
    original refuses (a function name, an integer: the same exception, raised at the first `next`), and schemas
    True and False; `is_type` gives the original's answers (bool versus integer, template nodes, unknown types
    raising UnknownType). The change count of E1101's child rules (jsonschema_rules._Counted) counts every method
    that can change a dict, a failed one too."""
    out = subprocess.run([sys.executable, "-c", SCHEMA_WALK, str(ROOT)], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout)
    assert report["descend"] == 2 * 5 * 7 * 5 * 3 * 2 * 5 and report["is_type"] == 2 * 18 * 9, report
    assert 0 < report["fallbacks"] < report["descend"], report


SUB_FORGET = r"""
import gc, json, sys
sys.path.insert(0, sys.argv[1])
from generator.lint import RULES_DIR, speedups, zygote
from generator.lint.speedups import sub
rules = zygote._rules(str(RULES_DIR))
applied = speedups.apply(rules)
from cfnlint.api import ManualArgs
from cfnlint.config import ConfigMixIn
from cfnlint.template import Template
forgetting, files = sys.argv[2] == "forget", sys.argv[3:]
zygote._STATE.update(rules=rules, ignore_bad_template=False, config=ConfigMixIn(
    **ManualArgs(templates=files, regions=["eu-west-1"], append_rules=[str(RULES_DIR)])))
held = []
real_forget = sub.forget
def spy():
    held.append([sub._STATE["cfn"] is not None, len(sub._STATE["kept"])])
    if forgetting:   # else as before the fix: kept until the next template's first Sub check
        real_forget()
sub.forget = spy
found = [zygote._lint_one(f)[1] for f in files]
gc.collect()
alive = sum(isinstance(o, Template) for o in gc.get_objects())
print(json.dumps({"applied": applied, "held": held, "alive": alive,
                  "after": [sub._STATE["cfn"] is None, len(sub._STATE["kept"])]}))
"""


def test_the_sub_speedup_keeps_nothing_of_a_template_once_its_lint_ends(tmp_path):
    """generator/lint/speedups/sub.py: the keys lean_sub keeps (and the template objects they hold alive) are dropped
    when each template's lint ends (zygote._lint_one calls speedups.template_done), not at the next template's first
    Sub check: held into the next template's parse and graph, they raised the 50-service build's peak memory (a lint
    worker's) by 2.5-3.4 MB (docs/performance.md). After a lint nothing is kept, and fewer cfn-lint Template objects
    are alive than when the kept keys stay (as before: the last template's, held by the kept keys)."""
    template = tmp_path / "sub-cases.yaml"
    template.write_text(SUB_CASES, encoding="utf-8")
    runs = {mode: json.loads(subprocess.run([sys.executable, "-c", SUB_FORGET, str(ROOT), mode, str(template),
                                             str(template)], cwd=ROOT, capture_output=True, text=True,
                                            check=True).stdout)
            for mode in ("forget", "keep")}
    run = runs["forget"]
    assert "lean_sub" in run["applied"]
    assert len(run["held"]) == 2 and all(cfn and kept > 0 for cfn, kept in run["held"]), run   # it kept, then forgot
    assert run["after"] == [True, 0] and runs["keep"]["after"][0] is False
    assert run["alive"] < runs["keep"]["alive"], runs   # the last template linted is not held by the kept keys


def test_the_key_search_gives_cfn_lint_s_paths(monkeypatch):
    """lean_search_deep_keys (generator/lint/speedups/search_keys.py) against cfn-lint's Template._search_deep_keys
    (run unpatched, its recursion included): over every template of every app and every rule fixture (decoded by
    cfn-lint) for every key cfn-lint and the project search (Template.__init__, the graph, W2501, W8001, E3009) and
    a few more, and over made-up documents (a match below a match, scalars and lists in lists, a top-level list,
    keys that equal the text without being a str, a path given, 150 levels deep: cfn-lint's walk runs), for a str
    and a compiled pattern (Template.__init__'s FUNCTION_FOR_EACH), the same paths in the same order, each a new
    list holding the same objects; a path that is not a list goes to cfn-lint's walk, which raises."""
    import regex
    from cfnlint.decode import decode_str
    from cfnlint.decode.node import dict_node, list_node, str_node
    from cfnlint.helpers import FUNCTION_FOR_EACH
    from cfnlint.template import template as template_module

    from generator.lint.speedups import search_keys

    cls = template_module.Template
    original = cls._search_deep_keys
    monkeypatch.setattr(cls, "_search_deep_keys", original)   # restored after the test: this process stays unpatched
    assert search_keys.lean_search_deep_keys([]) is True
    lean = cls._search_deep_keys
    assert lean is not original and lean.real is original
    unpatched = search_keys._Unpatched(original)

    def same(document, key, path=None):
        expected = original(unpatched, key, document, [] if path is None else list(path))
        got = lean(object(), key, document, [] if path is None else list(path))
        assert got == expected, (key, got, expected)
        assert [[id(x) for x in p] for p in got] == [[id(x) for x in p] for p in expected]
        assert len({id(p) for p in got}) == len(got)   # every path a list of its own
        return got

    keys = ["Ref", "Fn::Sub", "Fn::If", "Fn::FindInMap", "Fn::ForEach", "Fn::GetAtt", "Condition", "Properties",
            "Type", "AccountPassword", "AdminPassword", "ADDomainJoinPassword", "CrossRealmTrustPrincipalPassword",
            "KdcAdminPassword", "Password", "DbPassword", "MasterUserPassword", "PasswordParam", "Fn::Transform",
            "Parameters", "Outputs", "Resources", "Modules", "Value", "Key", "NoSuchKey", FUNCTION_FOR_EACH,
            regex.compile("^Fn::"), regex.compile("Name$")]
    files = every_template()
    assert len(files) > 100
    found = 0
    for path in files:
        document, matches = decode_str(Path(path).read_text(encoding="utf-8"))
        if document is None:
            continue
        for key in keys:
            found += len(same(document, key))
    assert found > 10_000
    assert same({"Fn::ForEach::Tags": [1], "X": {"Fn::ForEach::A": {}}}, FUNCTION_FOR_EACH) != []

    mark = type("Mark", (), {"line": 0, "column": 0})()
    nested = {"A": {"Ref": {"Ref": "x"}}, "B": [1, "Ref", [{"Ref": 2}, [3, {"Ref": [4]}]], None],
              "Ref": [{"Ref": 5}], 1: {"Ref": 6}, 2.5: [[{"C": {"Ref": 7}}]]}
    for document in (nested, [nested, [nested], 8], dict_node(nested, mark, mark),
                     list_node([dict_node({str_node("Ref", mark, mark): 9}, mark, mark)], mark, mark), "Ref", 10,
                     None, {}, []):
        for key in ("Ref", "C", "B", "1", "x"):
            same(document, key)
            same(document, key, ["Globals"])
    assert [p[:-1] for p in same(nested, "Ref")] == [
        ["A", "Ref"], ["A", "Ref", "Ref"], ["B", 2, 0, "Ref"], ["B", 2, 1, 1, "Ref"], ["Ref"], ["Ref", 0, "Ref"],
        [1, "Ref"], [2.5, 0, 0, "C", "Ref"]]
    deep = current = {}
    for level in range(150):   # deeper than search_keys._DEEPEST: cfn-lint's walk answers
        current["Ref"] = level
        current["Next"] = [{}] if level % 2 else {}
        current = current["Next"][0] if level % 2 else current["Next"]
    assert len(same(deep, "Ref")) == 150
    pattern = regex.compile("^Fn::")
    assert same(nested, pattern) == []
    assert [p[:-1] for p in lean(object(), pattern, {"Fn::If": [1], "X": {"Fn::Sub": "y"}}, [])] == [
        ["Fn::If"], ["X", "Fn::Sub"]]
    assert len(same(deep, regex.compile("^Ref$"))) == 150
    with pytest.raises(AttributeError):
        lean(object(), "Ref", {"Ref": 1}, ())   # cfn-lint's walk appends to path[:]
