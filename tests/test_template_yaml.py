"""generator/template_yaml.py writes exactly what troposphere's `Template.to_yaml()` writes (cfn-flip over PyYAML),
without falling back to it, for every template of every golden set and for generated data full of the strings YAML
treats specially."""
from __future__ import annotations

import json

import cfn_flip
import pytest
from cfn_tools.literal import LiteralString
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator import template_yaml
from generator.config import load_app
from tests.support import GOLDEN_SETS, REPO_APP, app_id, troposphere_templates


def _templates(app_path):
    return troposphere_templates(load_app(app_path))


@pytest.mark.parametrize("app_path", list(GOLDEN_SETS), ids=app_id)
def test_every_golden_template_is_written_byte_for_byte_as_to_yaml_writes_it(app_path):
    templates = _templates(app_path)
    assert templates
    for name, template in templates.items():
        expected = template.to_yaml(clean_up=False, long_form=False, sort_keys=True)
        # dumps() itself, not to_yaml(): a fallback to troposphere would make the comparison vacuous
        assert template_yaml.dumps(template_yaml.template_data(template)) == expected, name


def _old(data) -> str:
    """The path troposphere takes: JSON text -> cfn-flip's loader, literal parser and dumper."""
    return cfn_flip.to_yaml(json.dumps(data, sort_keys=True, indent=1), clean_up=False, long_form=False)


# Strings YAML reads as something else, or must quote, wrap, fold or escape.
_SPECIAL = ["", " ", "true", "no", "null", "~", "0", "012", "0x1F", "1e3", "1.5", ".inf", "2010-09-09", "-", "- a",
            "a: b", "a #b", "#c", "'q'", '"d"', "x'y", "@at", "`b", "!t", "&a", "*a", "%p", "|", ">", "? q", "[a]",
            "{a}", "a,b", "---", "...", "tab\there", "lead ", " trail", "line\nbreak", "crlf\r\n", "\n", "é ü",
            "\u2028", "\x85", "\x07bell", "\ufeff", "${AWS::StackName}-x", "arn:aws:s3:::b/*", "=", "<<"]
_words = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
_strings = st.one_of(
    st.sampled_from(_SPECIAL), _words,
    st.lists(st.one_of(st.sampled_from(_SPECIAL), _words, st.just("word" * 9)), min_size=1, max_size=40).map(" ".join),
    st.lists(st.sampled_from(["line", "", " indented", "x: y", "'q'"]), min_size=2, max_size=14).map("\n".join),
)
_keys = st.one_of(st.sampled_from(["Type", "Properties", "Value", "Ref", "Condition", "Fn::Sub", "Fn::If"]),
                  _strings.filter(lambda s: 0 < len(s) < 30 and not any(c in s for c in "\n\r\x85\u2028\u2029")))
_scalars = st.one_of(_strings, st.booleans(), st.none(), st.integers(-10**12, 10**12),
                     st.floats(allow_nan=False, allow_infinity=False))


def _functions(children):
    names = st.sampled_from(["Ref", "Condition", "Fn::GetAtt", "Fn::Sub", "Fn::Join", "Fn::If", "Fn::Base64",
                             "Fn::GetAZs", "Fn::Select", "Fn::Equals"])
    return st.builds(lambda k, v: {k: v}, names, st.one_of(_strings, st.lists(_strings, max_size=3), children))


_data = st.recursive(_scalars, lambda children: st.one_of(
    st.lists(children, max_size=5), st.dictionaries(_keys, children, max_size=5), _functions(children)),
    max_leaves=40)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(_keys, _data, min_size=1, max_size=6))
def test_generated_data_is_written_as_cfn_flip_writes_it(data):
    data = json.loads(json.dumps(data, sort_keys=True))
    try:
        expected = _old(data)
    except Exception:   # noqa: BLE001 - cfn-flip itself cannot write it (e.g. !Ref 5): nothing to compare
        return
    try:
        got = template_yaml.dumps(template_yaml.cfn_literal_parser(data))
    except template_yaml.Unsupported:
        return   # to_yaml() falls back to troposphere for this data
    assert got == expected


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(_keys, _data, min_size=1, max_size=6), st.sampled_from([12, 24, 40, 64]))
def test_generated_data_is_written_as_cfn_flip_writes_it_at_narrow_widths(data, width):
    """At a narrow width most values reach it: the writer's quick texts (a plain key, a scalar, `!Ref 'X'`) must give
    way to PyYAML's wrapping exactly where PyYAML's emitter would wrap."""
    from cfn_tools._config import config
    config.max_col_width = width
    try:
        test_generated_data_is_written_as_cfn_flip_writes_it.hypothesis.inner_test(data)
    finally:
        config.reset("max_col_width")


def test_equal_scalars_written_differently_are_not_taken_for_one_another():
    """The writer keeps each scalar's text once written; 0.0 == -0.0 (and 1 == 1.0 == True) hash alike in Python,
    yet YAML writes them differently (hypothesis found -0.0 written for 0.0 once -0.0 had been written)."""
    for data in ({"A": [-0.0, 0.0]}, {"A": [0.0, -0.0]}, {"A": [1, 1.0, True]}, {"A": [True, 1.0, 1]}):
        assert template_yaml.dumps(template_yaml.cfn_literal_parser(data)) == _old(data)


def test_the_writer_handles_the_shapes_it_claims_and_refuses_others():
    """Keys longer than PyYAML's simple-key limit become `? key`, and cfn-flip writes a LiteralString its own way:
    both refused, so that to_yaml() falls back to troposphere."""
    assert template_yaml.dumps({"A": {"Ref": "B"}, "C": ["x", {"Fn::GetAtt": ["R", "Arn"]}]}) == \
        "A: !Ref 'B'\nC:\n  - x\n  - !GetAtt 'R.Arn'\n"
    with pytest.raises(template_yaml.Unsupported):
        template_yaml.dumps({"k" * 130: 1})
    with pytest.raises(template_yaml.Unsupported):   # cfn-flip's JSON bodies of state machines
        template_yaml.dumps({"Definition": LiteralString('{\n  "a": 1\n}')})


@settings(max_examples=800, deadline=None)
@given(st.one_of(st.from_regex(template_yaml._SIMPLE, fullmatch=True),
                 st.from_regex(template_yaml._COLONS, fullmatch=True),
                 st.from_regex(template_yaml._PROSE, fullmatch=True),
                 st.sampled_from(["AWS::Region", "arn:aws:s3:::b/*", "a b", "Fn::Sub", "x: y", "a:", "a :b",
                                  "a #b", "a# b", "(x)", "it's", "a  b", "a:b:c", "'q", "q'", "${AWS::StackName}-x",
                                  "$x", "a?", "a,b", "[a]", "-a", "- a", ".x", "...", "x ", " x", "a\tb"])))
def test_the_quick_analysis_of_common_strings_is_pyyaml_s(text):
    full = template_yaml._reference(200).analyze_scalar(text)
    quick = template_yaml._analysis(200).__wrapped__(text)
    assert {k: v for k, v in vars(full).items() if k != "scalar"} == \
        {k: v for k, v in vars(quick).items() if k != "scalar"}, text


def _same_analysis(text: str) -> None:
    full = template_yaml._reference(200).analyze_scalar(text)
    assert vars(template_yaml.analyze_scalar(text)) == vars(full), repr(text)


_YAML_CHARS = st.sampled_from(list("#,[]{}&*!|>'\"%@`?:- \t\r\n\0\x85\u2028\u2029\ufeff\xa0\x07\x7f\ud800\ue000"
                                   "\ufffd\ufffe") + ["---", "...", "\U0001f600", "\U0010ffff", "a", "Z", "0"])


@settings(max_examples=1500, deadline=None)
@given(st.one_of(st.lists(_YAML_CHARS, min_size=1, max_size=20).map("".join),
                 st.text(alphabet=st.characters(), min_size=1, max_size=40),
                 st.lists(st.one_of(_YAML_CHARS, st.text(max_size=6)), min_size=1, max_size=30).map("".join)
                 .filter(bool)))
def test_the_regex_analysis_of_any_string_is_pyyaml_s(text):
    _same_analysis(text)


def test_the_special_characters_are_those_pyyaml_cannot_write_plainly():
    """`_SPECIAL` lists the characters PyYAML's analyze_scalar (allow_unicode) calls special, every code point checked
    (it is spelled as a positive class, cheaper to compile than PyYAML's own negated one)."""
    def pyyaml_special(ch: str) -> bool:   # yaml/emitter.py, analyze_scalar, with allow_unicode
        if ch == "\n" or "\x20" <= ch <= "\x7E":
            return False
        return not ((ch == "\x85" or "\xA0" <= ch <= "\uD7FF" or "\uE000" <= ch <= "\uFFFD"
                     or "\U00010000" <= ch < "\U0010ffff") and ch != "\uFEFF")

    every = "".join(map(chr, range(0x110000)))
    matched = [m.start() for m in template_yaml._SPECIAL.finditer(every)]
    assert matched == [i for i, ch in enumerate(every) if pyyaml_special(ch)]
    assert len(matched) == 2115


def _texts_in(node):
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield key
            yield from _texts_in(value)
    elif isinstance(node, list):
        for item in node:
            yield from _texts_in(item)


@pytest.mark.parametrize("app_path", list(GOLDEN_SETS), ids=app_id)
def test_the_regex_analysis_of_every_golden_string_is_pyyaml_s(app_path):
    texts = {text for t in _templates(app_path).values() for text in _texts_in(template_yaml.template_data(t)) if text}
    assert texts
    if app_path == REPO_APP:   # the scripts and buildspecs that took PyYAML's loop longest
        assert any("\n" in text for text in texts)
    for text in texts:
        _same_analysis(text)


def _literal_by(write, text: str, indent: int, column: int) -> tuple:
    import io
    em = template_yaml._emitter(200)
    em.stream = io.StringIO()
    em.indent, em.column, em.whitespace, em.indention, em.open_ended, em.line = indent, column, False, False, False, 3
    write(em, text)
    return em.stream.getvalue(), em.column, em.whitespace, em.indention, em.open_ended, em.line


@settings(max_examples=600, deadline=None)
@given(st.lists(st.sampled_from(["line", "", " indented", "  two", "x: y", "tab\there", "trail ", "#c", "'q'", "\r"]),
                min_size=1, max_size=16).map("\n".join).filter(bool),
       st.sampled_from(["", "\n", "\n\n"]), st.integers(0, 12), st.integers(0, 30))
def test_the_literal_block_writer_is_pyyaml_s(text, end, indent, column):
    """template_yaml._write_literal (buildspecs and scripts, a line at a time) writes what PyYAML's write_literal
    writes, and leaves the emitter in the same state."""
    text += end
    assert _literal_by(template_yaml._write_literal, text, indent, column) == \
        _literal_by(lambda em, t: em.write_literal(t), text, indent, column)
