"""A template as short-form YAML, byte for byte what troposphere's `Template.to_yaml()` writes, about 20x faster.

`to_yaml()` goes template -> JSON text -> cfn-flip's loader (an ordered dict whose every `items()` call defines a
class per item) -> PyYAML's pure-Python representer, serializer and emitter; that took three quarters of a build's
rendering. libyaml's C emitter cannot stand in: it always writes a block sequence inside a mapping without indenting
it (`Key:\\n- a`), while cfn-flip's dumper indents it (`Key:\\n  - a`), so no template with a list would come out
the same. This module walks the same data (`to_dict()` with its keys sorted, as the JSON round trip leaves them) and
writes the same characters, following PyYAML's emitter with cfn-flip's choices:

- a mapping with one key `Ref`, `Condition` or `Fn::X` becomes the tag `!Ref`/`!Condition`/`!X` (`!GetAtt a.b`);
- a string takes `|` with 10 or more line breaks, `>` from cfn-flip's maximum width (200) without one, single quotes
  when it starts with `0`, double quotes when it holds a line break, else the plainest style PyYAML allows (a tagged
  string is single-quoted at least, as PyYAML cannot leave a non-standard tag implicit);
- block sequences are indented under their key; nothing is wrapped below cfn-flip's width.

The decisions PyYAML makes per string (which styles its characters allow, whether it would read back as another
type) are taken from PyYAML itself and memoised; the scalar styles whose writing is intricate (double quotes, block
scalars, any string that may wrap at the width) are written by PyYAML's own emitter, handed the current column and
indentation. Anything else this module does not expect (a key that is not a short string, a non-JSON value, a
LiteralString) makes `dumps` raise `Unsupported`, and `to_yaml` then uses troposphere's `Template.to_yaml()`.
tests/test_template_yaml.py proves the identity on every golden template and on generated data.
"""
from __future__ import annotations

import io
import json
import re
from functools import lru_cache
from typing import Any

import yaml
from yaml.emitter import ScalarAnalysis
from cfn_clean import UNCONVERTED_KEYS, cfn_literal_parser
from cfn_flip import yaml_dumper as flip
from cfn_tools._config import config as flip_config
from cfn_tools.yaml_dumper import AWS_ACCOUNT_ID

from generator import template_dict

STR = "tag:yaml.org,2002:str"
# Strings in which PyYAML's analyze_scalar finds no indicator, break, special character, nor a space at either end
# (names, ids, paths, sentences): every style allowed. With a flow indicator inside (a ':' not before a space nor at the
# end, as in ARNs and `AWS::Region`; braces as in `${AWS::StackName}`), only flow-context plain is refused; with a ':'
# before a space or at the end (`api: image tag`), no plain style at all. tests/test_template_yaml.py checks both against PyYAML.
_SIMPLE = re.compile(r"[A-Za-z0-9_/=+()$][A-Za-z0-9_./=+@()'*&!%|>\"$ -]*(?<! )\Z")
_COLONS = re.compile(r"[A-Za-z0-9_/=+()$](?:[A-Za-z0-9_./=+@()'*&!%|>\"$ {}\[\],?-]|:(?! ))*(?<![ :])\Z")
_PROSE = re.compile(r"[A-Za-z0-9_/=+()$][A-Za-z0-9_./=+@()'*&!%|>\"$ {}\[\],?:-]*(?<! )\Z")
_SIMPLE_ANALYSIS = ScalarAnalysis(scalar="", empty=False, multiline=False, allow_flow_plain=True,
                                  allow_block_plain=True, allow_single_quoted=True, allow_double_quoted=True,
                                  allow_block=True)
_COLONS_ANALYSIS = ScalarAnalysis(scalar="", empty=False, multiline=False, allow_flow_plain=False,
                                  allow_block_plain=True, allow_single_quoted=True, allow_double_quoted=True,
                                  allow_block=True)
_PROSE_ANALYSIS = ScalarAnalysis(scalar="", empty=False, multiline=False, allow_flow_plain=False,
                                 allow_block_plain=False, allow_single_quoted=True, allow_double_quoted=True,
                                 allow_block=True)
_SCALAR_TAGS = {bool: "tag:yaml.org,2002:bool", int: "tag:yaml.org,2002:int",
                float: "tag:yaml.org,2002:float", type(None): "tag:yaml.org,2002:null"}
_ACCOUNT_ID = re.compile(AWS_ACCOUNT_ID)
_LITERAL_TYPES = frozenset(kind for kind, _ in UNCONVERTED_KEYS)


class Unsupported(Exception):
    """The data holds something this writer does not handle; the caller falls back to troposphere's to_yaml."""


def _emitter(width: int) -> flip.Dumper:
    """cfn-flip's dumper as yaml.dump builds it; used for its analysis, resolver, tag and scalar-writing code."""
    return flip.Dumper(io.StringIO(), default_flow_style=False, allow_unicode=True, width=width)


@lru_cache(maxsize=4)
def _reference(width: int) -> flip.Dumper:
    return _emitter(width)


class _Writer:
    """PyYAML's emitter state (column, whitespace, indention, open_ended) while writing one document."""

    __slots__ = ("out", "col", "ws", "ind", "open_ended", "width", "em", "analysis", "implicit", "string_style",
                 "keys", "tails", "scratch")

    def __init__(self, width: int) -> None:
        self.out: list[str] = []
        self.col, self.ws, self.ind, self.open_ended = 0, True, True, False
        self.em = _emitter(width)   # its own: delegate() changes its state
        self.width = self.em.best_width
        self.analysis = _analysis(width)
        self.implicit = _implicit(width)
        self.string_style = _string_style(width)
        self.keys, self.tails = _texts(width)
        self.scratch: _Alone | None = None

    # --- PyYAML's write_indicator / write_indent / write_line_break ------------------------------------------------
    def indicator(self, text: str, need_ws: bool, whitespace: bool = False, indention: bool = False) -> None:
        if not self.ws and need_ws:
            text = " " + text
        self.ws = whitespace
        self.ind = self.ind and indention
        self.col += len(text)
        self.open_ended = False
        self.out.append(text)

    def indent(self, indent: int) -> None:
        if not self.ind or self.col > indent or (self.col == indent and not self.ws):
            self.out.append("\n")
            self.ws = self.ind = True
            self.col = 0
        if self.col < indent:
            self.ws = True
            self.out.append(" " * (indent - self.col))
            self.col = indent

    # --- nodes ----------------------------------------------------------------------------------------------------
    def node(self, value: Any, indent: int | None, simple_key: bool = False) -> None:
        kind = type(value)
        if kind is dict:
            if len(value) == 1:
                (key, inner), = value.items()
                if key == "Ref" or key == "Condition" or key.startswith("Fn::"):
                    self.function("!" + (key if key in ("Ref", "Condition") else key[4:]), inner, indent, simple_key)
                    return
            self.mapping(value, indent, None)
        elif kind is list:
            self.sequence(value, indent, None)
        elif kind is str:
            self.string(value, indent, simple_key)
        elif kind in _SCALAR_TAGS:
            self.other_scalar(value, kind, indent, simple_key)
        else:
            raise Unsupported(f"a {kind.__name__} value")

    def function(self, tag: str, value: Any, indent: int | None, simple_key: bool) -> None:
        """cfn-flip's fn_representer: the function's argument under a local tag."""
        if tag == "!GetAtt" and type(value) is list:
            if not all(type(v) is str for v in value):
                raise Unsupported("a GetAtt of non-strings")
            value = ".".join(value)
        kind = type(value)
        if kind is list:
            self.sequence(value, indent, tag)
        elif kind is dict:
            self.mapping(value, indent, tag)
        elif kind is str:
            style = None
            if _ACCOUNT_ID.match(value):
                style = "'"
            elif "\n" in value or "\r" in value:
                style = '"'
            self.scalar(value, (False, False), style, indent, simple_key, tag)
        else:
            raise Unsupported(f"a {kind.__name__} under {tag}")   # cfn-flip fails on these too

    def opened(self, value: dict | list, indent: int | None, tag: str | None, brackets: str) -> int | None:
        """A collection's tag, and `{}`/`[]` when it is empty (PyYAML writes those in flow style); else the indent of
        its block entries (never an indentless sequence, as cfn-flip's dumper overrides)."""
        if tag is not None:
            self.indicator(tag, True)
        if not value:
            self.indicator(brackets[0], True, whitespace=True)
            self.indicator(brackets[1], False)
            return None
        return 0 if indent is None else indent + 2

    # mapping() and sequence() write the commonest entries themselves, with the state in local variables: a key
    # written plain (`Key:`) and a value that is a scalar, or a function of a string (`!Ref 'X'`), whose text does
    # not depend on where it starts as long as it fits the width (_texts). Everything else, and anything that would
    # reach the width, takes the general path below with the state as PyYAML's emitter would have it. The value's
    # lines are the same in both loops on purpose: a method call per entry was what these loops were made to save.
    def mapping(self, value: dict, indent: int | None, tag: str | None) -> None:
        inner = self.opened(value, indent, tag, "{}")
        if inner is None:
            return
        out, keys, tails, width = self.out, self.keys, self.tails, self.width
        newline = "\n" + " " * inner
        col, ws, ind = self.col, self.ws, self.ind
        for key, item in value.items():
            text = keys.get(key)
            if text is None:
                text = self.key_text(key)
            if text and (inner + len(text) <= width + 1 or " " not in key):
                # PyYAML's write_indent(inner): after it the column is `inner` with whitespace before it
                if not ind or col > inner or (col == inner and not ws):
                    out.append(newline)
                elif col < inner:
                    out.append(" " * (inner - col))
                out.append(text)   # the key, plain (no space before it: whitespace) and ":"
                col = inner + len(text)
                self.open_ended = False
            else:
                self.col, self.ws, self.ind = col, ws, ind
                self.indent(inner)
                self.string(key, inner, True)
                self.indicator(":", False)
                col = self.col
            tail = tails.get(item, _NOT_YET) if type(item) is str else _NOT_YET
            if tail is _NOT_YET:
                tail = self.tail(item)
            if tail and (col + len(tail[0]) <= width or not tail[1]):
                out.append(tail[0])
                col += len(tail[0])
                ws = ind = False
            else:
                self.col, self.ws, self.ind = col, False, False
                self.node(item, inner)
                col, ws, ind = self.col, self.ws, self.ind
        self.col, self.ws, self.ind = col, ws, ind

    def sequence(self, value: list, indent: int | None, tag: str | None) -> None:
        inner = self.opened(value, indent, tag, "[]")
        if inner is None:
            return
        out, tails, width = self.out, self.tails, self.width
        newline = "\n" + " " * inner
        col, ws, ind = self.col, self.ws, self.ind
        for item in value:
            # write_indent(inner), then the indicator "-" (need_ws, indention): after write_indent there is always
            # whitespace before the column, so "-" goes without a space
            if not ind or col > inner or (col == inner and not ws):
                out.append(newline)
                ind = True
            elif col < inner:
                out.append(" " * (inner - col))
            out.append("-")
            col = inner + 1
            self.open_ended = False
            tail = tails.get(item, _NOT_YET) if type(item) is str else _NOT_YET
            if tail is _NOT_YET:
                tail = self.tail(item)
            if tail and (col + len(tail[0]) <= width or not tail[1]):
                out.append(tail[0])
                col += len(tail[0])
                ws = ind = False
            else:
                self.col, self.ws, self.ind = col, False, ind
                self.node(item, inner)
                col, ws, ind = self.col, self.ws, self.ind
        self.col, self.ws, self.ind = col, ws, ind

    def key_text(self, key: Any) -> str:
        """`key:` when the key is written plain, else "" (the general path); refuses what PyYAML writes as `? key`."""
        if type(key) is not str:
            raise Unsupported("a key that is not a string")
        analysis = self.analysis(key)
        if not (len(key) + 5 < 128 and not analysis.empty and not analysis.multiline):   # "!!str" + key
            raise Unsupported("a key PyYAML writes as a complex key")
        text = self.keys[key] = key + ":" if self.string_style(key, True) == "" else ""
        return text

    def tail(self, item: Any) -> tuple[str, bool] | None:
        """What a scalar value (or a function of a string) writes after an indicator (`:` or `-`), and whether it
        holds a space (so could wrap: used only where it fits the width); None when it takes the general path."""
        kind = type(item)
        if kind is str:
            key: Any = item
        elif kind is dict:
            if len(item) != 1:
                return None
            (name, arg), = item.items()
            if type(arg) is not str or type(name) is not str or not (name == "Ref" or name == "Condition" or
                                                                     name.startswith("Fn::")):
                return None
            key = (name, arg)
        elif kind in _SCALAR_TAGS:
            # a float by its repr: 0.0 == -0.0 (and they hash alike), yet they are written differently
            key = (kind, repr(item)) if kind is float else (kind, item)
        else:
            return None
        tails = self.tails
        if key in tails:
            return tails[key]
        tails[key] = done = self.written_alone(item)
        return done

    def written_alone(self, item: Any) -> tuple[str, bool] | None:
        """`item` written by node() after an indicator, on a scratch writer as wide as it needs: its text when only
        the steps that do not depend on the column were taken (plain or single-quoted text on one line, a tag), None
        when PyYAML's own writers were needed (delegate)."""
        scratch = self.scratch
        if scratch is None:
            scratch = self.scratch = _Alone.__new__(_Alone)
            for name in _Writer.__slots__:
                setattr(scratch, name, getattr(self, name))
            scratch.width = 1 << 30
        scratch.out, scratch.col, scratch.ws, scratch.ind, scratch.open_ended = [], 1, False, False, False
        try:
            scratch.node(item, 0)
        except _Delegated:
            return None
        text = "".join(scratch.out)
        assert text.startswith(" ") and "\n" not in text and not scratch.open_ended, text
        return text, " " in text[1:]

    # --- scalars --------------------------------------------------------------------------------------------------
    def string(self, value: str, indent: int | None, simple_key: bool) -> None:
        """An untagged string: never needs its tag written (see _string_style)."""
        self.write_scalar(self.string_style(value, simple_key), value, indent, simple_key)

    def other_scalar(self, value: Any, kind: type, indent: int | None, simple_key: bool) -> None:
        """SafeRepresenter's bool, int, float and None."""
        tag = _SCALAR_TAGS[kind]
        if kind is bool:
            text = "true" if value else "false"
        elif kind is int:
            text = str(value)
        elif kind is float:
            text = self.em.represent_float(value).value
        else:
            text = "null"
        style = "'" if _ACCOUNT_ID.match(text) else None
        self.scalar(text, (self.implicit(text, tag), False), style, indent, simple_key, tag)

    def scalar(self, text: str, implicit: tuple[bool, bool], hint: str | None, indent: int | None,
               simple_key: bool, tag: str | None) -> None:
        """PyYAML's process_tag, choose_scalar_style and process_scalar, in block context."""
        style = _choose_style(self.analysis(text), hint, implicit, simple_key)
        if not ((style == "" and implicit[0]) or (style != "" and implicit[1])):
            if tag is None:
                raise Unsupported("an untagged scalar that needs a tag")
            self.indicator(_prepared_tag(tag), True)
        self.write_scalar(style, text, indent, simple_key)

    def write_scalar(self, style: str, text: str, indent: int | None, simple_key: bool) -> None:
        """PyYAML's process_scalar: plain and single-quoted text that cannot reach the width is written here (it
        cannot wrap); everything else by PyYAML's own writers."""
        if style == "" and (" " not in text or self.col + (0 if self.ws else 1) + len(text) <= self.width):
            if not self.ws:
                self.out.append(" ")
                self.col += 1
            self.out.append(text)
            self.col += len(text)
            self.ws = self.ind = False
            return
        if style == "'" and not self.analysis(text).multiline:
            quoted = "'" + text.replace("'", "''") + "'"
            if " " not in text or self.col + (0 if self.ws else 1) + len(quoted) <= self.width:
                self.indicator(quoted, True)
                return
        self.delegate(style, text, 2 if indent is None else indent + 2, not simple_key)

    def delegate(self, style: str, text: str, indent: int, split: bool) -> None:
        """PyYAML's own writer for this scalar, from the current state. What it writes depends on nothing else (and
        the width), so it is kept: an app repeats its long descriptions and scripts in many templates."""
        key = (self.width, style, text, self.col, self.ws, self.ind, indent, split)
        done = _DELEGATED.get(key)
        if done is None:
            start = len(self.out)
            self._delegate(style, text, indent, split)
            done = _DELEGATED[key] = ("".join(self.out[start:]), self.col, self.ws, self.ind, self.open_ended)
            del self.out[start:]
        self.out.append(done[0])
        self.col, self.ws, self.ind, self.open_ended = done[1:]

    def _delegate(self, style: str, text: str, indent: int, split: bool) -> None:
        em = self.em
        em.stream = self
        em.column, em.whitespace, em.indention, em.indent = self.col, self.ws, self.ind, indent
        em.open_ended, em.root_context, em.flow_level, em.encoding = False, False, 0, None
        if style == '"':
            em.write_double_quoted(text, split)
        elif style == "'":
            em.write_single_quoted(text, split)
        elif style == ">":
            em.write_folded(text)
        elif style == "|":
            if _OTHER_BREAKS.search(text):
                em.write_literal(text)
            else:
                _write_literal(em, text)
        else:
            em.write_plain(text, split)
        self.col, self.ws, self.ind, self.open_ended = em.column, em.whitespace, em.indention, em.open_ended
        em.stream = None

    def write(self, data: str) -> None:   # the stream PyYAML's writers write to
        self.out.append(data)


_NOT_YET = object()
_OTHER_BREAKS = re.compile("[\x85\u2028\u2029]")


def _write_literal(em: flip.Dumper, text: str) -> None:
    """PyYAML's Emitter.write_literal for a text whose only line breaks are "\n" (the buildspecs, scripts), a line
    at a time instead of its loop over every character: after the indicator and a line break, each non-empty line
    indented (write_indent right after a break writes just the spaces), empty lines bare, and a final line break
    when the text has none. The emitter is left as PyYAML's leaves it: at the start of a line."""
    hints = em.determine_block_hints(text)
    em.write_indicator("|" + hints, True)
    if hints[-1:] == "+":
        em.open_ended = True
    em.write_line_break()
    indent = " " * (em.indent or 0)
    body = "\n".join(indent + line if line else "" for line in text.split("\n"))
    if not text.endswith("\n"):
        body += "\n"
    em.stream.write(body)
    em.line += body.count("\n")
    em.column, em.whitespace, em.indention = 0, True, True


class _Delegated(Exception):
    pass


class _Alone(_Writer):
    """_Writer.written_alone's scratch writer: stops where PyYAML's own writers would take over."""

    __slots__ = ()

    def delegate(self, style: str, text: str, indent: int, split: bool) -> None:
        raise _Delegated


@lru_cache(maxsize=4)
def _texts(width: int) -> tuple[dict[str, str], dict[Any, tuple[str, bool] | None]]:
    """The writers' shared memo of key texts (key -> `key:` or "") and scalar texts (_Writer.tail), per width."""
    return {}, {}


# delegate()'s results: (width, style, text, column, whitespace, indention, indent, split) -> (text written, column,
# whitespace, indention, open_ended); a few hundred entries for a 50-service app.
_DELEGATED: dict[tuple, tuple[str, int, bool, bool, bool]] = {}


@lru_cache(maxsize=4)
def _analysis(width: int):
    analyze = _reference(width).analyze_scalar

    @lru_cache(maxsize=1 << 16)
    def analysis(text: str) -> ScalarAnalysis:
        """PyYAML's analyze_scalar (cfn-flip's), answered at once for the commonest strings: names, ids, paths."""
        if _SIMPLE.match(text):
            return _SIMPLE_ANALYSIS
        if _COLONS.match(text):
            return _COLONS_ANALYSIS
        if _PROSE.match(text):   # not _COLONS: a ':' before a space or at the end (`api: image tag`)
            return _PROSE_ANALYSIS
        return analyze_scalar(text) if text else analyze(text)   # cfn-flip's own answer for ""

    return analysis


_WS = "\0 \t\r\n\x85\u2028\u2029"
_BREAKS = "\n\x85\u2028\u2029"
_FLOW_INSIDE = re.compile(r"[,?\[\]{}:]")
_BLOCK_INSIDE = re.compile(f"(?<=[{_WS}])#|:(?=[{_WS}]|\\Z)")
_LINE_BREAK = re.compile(f"[{_BREAKS}]")
# what PyYAML (allow_unicode) cannot write but double-quoted with escapes: tabs, CR, controls, surrogates, U+FEFF...
# Spelled as the characters it matches, not as the complement of those PyYAML writes ([^\n\x20-\x7e\x85...]): the
# negated class made `re` walk some 60,000 code points at import (5 ms). tests/test_template_yaml.py: the same set.
_SPECIAL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufeff\ufffe\uffff\U0010ffff]")
_BREAK_SPACE = re.compile(f"[{_BREAKS}] ")
_SPACE_BREAK = re.compile(f" [{_BREAKS}]")


def analyze_scalar(scalar: str) -> ScalarAnalysis:
    """PyYAML's Emitter.analyze_scalar (allow_unicode) for a non-empty string, with regular expressions instead of its
    loop over every character (a long script or buildspec took milliseconds). tests/test_template_yaml.py compares the
    two on generated text and on every string of every golden template."""
    first, fws = scalar[0], len(scalar) == 1 or scalar[1] in _WS
    block = flow = scalar.startswith("---") or scalar.startswith("...")
    if first in "#,[]{}&*!|>'\"%@`" or (first == "-" and fws):
        flow = block = True
    elif first in "?:":
        flow = True
        block = block or fws
    if _FLOW_INSIDE.search(scalar, 1):
        flow = True
    if _BLOCK_INSIDE.search(scalar, 1):
        flow = block = True
    line_breaks = _LINE_BREAK.search(scalar) is not None
    special = _SPECIAL.search(scalar) is not None
    last = scalar[-1]
    flow_plain = block_plain = single = literal = True
    if first == " " or first in _BREAKS or last == " " or last in _BREAKS:
        flow_plain = block_plain = False
    if last == " ":
        literal = False
    if _BREAK_SPACE.search(scalar):
        flow_plain = block_plain = single = False
    if special or _SPACE_BREAK.search(scalar):
        flow_plain = block_plain = single = literal = False
    if line_breaks:
        flow_plain = block_plain = False
    if flow:
        flow_plain = False
    if block:
        block_plain = False
    return ScalarAnalysis(scalar=scalar, empty=False, multiline=line_breaks, allow_flow_plain=flow_plain,
                          allow_block_plain=block_plain, allow_single_quoted=single, allow_double_quoted=True,
                          allow_block=literal)


@lru_cache(maxsize=4)
def _implicit(width: int):
    em = _reference(width)

    @lru_cache(maxsize=1 << 16)
    def implicit(text: str, tag: str) -> bool:
        """Whether `text` written plain reads back with `tag` (the serializer's implicit[0])."""
        return em.resolve(yaml.ScalarNode, text, (True, False)) == tag

    return implicit


def _choose_style(a: Any, hint: str | None, implicit: tuple[bool, bool], simple_key: bool) -> str:
    """PyYAML's Emitter.choose_scalar_style outside flow context: '' (plain), "'", '"', '|' or '>'."""
    if hint == '"':
        return '"'
    if not hint and implicit[0] and not (simple_key and (a.empty or a.multiline)) and a.allow_block_plain:
        return ""
    if hint and hint in "|>" and not simple_key and a.allow_block:
        return hint
    if (not hint or hint == "'") and a.allow_single_quoted and not (simple_key and a.multiline):
        return "'"
    return '"'


@lru_cache(maxsize=4)
def _string_style(width: int):
    analysis, implicit = _analysis(width), _implicit(width)

    @lru_cache(maxsize=1 << 16)
    def style(value: str, simple_key: bool) -> str:
        """cfn-flip's string_representer, then CfnYamlDumper.represent_scalar, then the emitter's choice. A string's
        tag is implicit in every style but plain, and plain is only chosen when it is implicit there too."""
        hint = None
        if value.count("\n") + value.count("\r") >= flip.STR_MAX_LINES_QUOTED:
            hint = "|"
        elif len(value) >= flip.STR_MAX_LENGTH_QUOTED and "\n" not in value:
            hint = ">"
        elif value.startswith("0"):
            hint = "'"
        if _ACCOUNT_ID.match(value):
            hint = "'"
        if hint is None and ("\n" in value or "\r" in value):
            hint = '"'
        return _choose_style(analysis(value), hint, (implicit(value, STR), True), simple_key)

    return style


@lru_cache(maxsize=None)
def _prepared_tag(tag: str) -> str:
    em = _reference(flip_config.max_col_width)
    em.tag_prefixes = dict(em.DEFAULT_TAG_PREFIXES)
    return em.prepare_tag(tag)


def dumps(data: dict[str, Any]) -> str:
    """The YAML cfn-flip's `dump_yaml(data)` writes for JSON-shaped `data` (after cfn_literal_parser)."""
    w = _Writer(flip_config.max_col_width)
    w.node(data, None)
    w.indent(0)   # PyYAML's document end
    if w.open_ended:
        raise Unsupported("a document that ends open (a block scalar kept with '+')")
    return "".join(w.out)


def template_data(template: Any) -> dict[str, Any]:
    """What `Template.to_yaml()` dumps: to_dict() (in one pass: generator/template_dict.py) with every mapping's keys
    sorted, as its JSON round trip leaves them, with cfn-flip's literal parser applied. The sorted data is made in the
    encoding's own pass (template_dict.plain: the round trip was a fifth of a 50-service render); a template holding
    a value the round trip would convert takes the round trip."""
    try:
        data, literal = template_dict.plain(template, _LITERAL_TYPES)   # the round trip's result, without the text
    except template_dict.NotPlain:
        text = json.dumps(template_dict.to_dict(template), sort_keys=True)
        data = json.loads(text)
        literal = any(json.dumps(kind) in text for kind in _LITERAL_TYPES)
    # The literal parser changes only a mapping whose Type is one of these: none, nothing to walk.
    return cfn_literal_parser(data) if literal else data


def to_yaml(template: Any) -> str:
    """`template.to_yaml(clean_up=False, long_form=False, sort_keys=True)`, byte for byte."""
    try:
        return dumps(template_data(template))
    except Unsupported:   # a LiteralString (cfn-flip's JSON bodies) among them
        return template.to_yaml(clean_up=False, long_form=False, sort_keys=True)
