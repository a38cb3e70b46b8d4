"""The app spec's YAML: JSON's data model written in YAML, read without YAML 1.1's guesses.

PyYAML's safe loader implements YAML 1.1, which turns `yes`/`no`/`on`/`off` into booleans, `010` into 8 (octal),
`50:00` into 3000 (base 60), `2024-01-01` into a date, and accepts `!!set`, `!!binary` and other types JSON does not
have. This reader resolves plain values like YAML 1.2's core schema (true/false, null, decimal numbers; everything
else is text, as written), keeps every mapping key as the text the user wrote (`no:` is the key 'no', `~:` the key
'~'), supports anchors, aliases and merge keys (`<<: *defaults`), and refuses, with the line and column:

- a tag other than `!!str` (the app spec holds text, numbers, true/false, lists and mappings only);
- an empty key, a list or mapping used as a key, and a key given twice in one mapping;
- nesting deeper than MAX_DEPTH (also through aliases), aliases that refer to themselves, and aliases that expand to
  more than MAX_NODES values (a "billion laughs");
- a number with more than MAX_DIGITS digits (Python refuses to convert more than 4,300).

`read(text)` returns the data or raises SpecYAMLError(where, message) (where: "line L, column C" or "").
"""
from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

MAX_DEPTH = 32        # the spec's own structure is at most six levels deep
MAX_NODES = 100_000   # the default app.yaml has about 600 values
MAX_DIGITS = 100      # no setting takes a number longer than 10 digits

STR, INT, FLOAT, BOOL, NULL, MERGE = (f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "merge"))
SEQ, MAP = "tag:yaml.org,2002:seq", "tag:yaml.org,2002:map"
ALLOWED_EXPLICIT_TAGS = {STR, SEQ, MAP, "!"}  # `!!str 010` forces text; `!!seq`/`!!map` are what a list/mapping is

# YAML 1.1 forms that this reader keeps as text; a hint explains them when a number or true/false was expected.
YAML11_BOOL = re.compile(r"(?i)y|n|yes|no|on|off")
YAML11_NUMBER = re.compile(r"[-+]?(0[0-7_]+|0o[0-7_]+|0x[0-9a-fA-F_]+|0b[01_]+|[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?|"
                           r"[0-9][0-9_]*_[0-9_]*)")


class SpecYAMLError(Exception):
    def __init__(self, where: str, message: str):
        self.where = where
        self.message = message
        super().__init__(f"{where}: {message}" if where else message)


class _Refused(yaml.MarkedYAMLError):
    """Raised while reading; carries the position and a complete message."""

    def __init__(self, mark: Any, message: str):
        super().__init__(problem=message, problem_mark=mark)


class SpecLoader(yaml.SafeLoader):
    yaml_implicit_resolvers: dict = {}  # replaced, not inherited: only the resolvers below
    yaml_constructors = dict(yaml.SafeLoader.yaml_constructors)

    def __init__(self, stream: str):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        # Composing recurses once per level: bound it before Python's recursion limit does.
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _Refused(self.peek_event().start_mark,
                               f"nested more than {MAX_DEPTH} levels deep; the app spec needs a few levels only")
            event = self.peek_event()
            tag = getattr(event, "tag", None)
            if tag is not None and tag not in ALLOWED_EXPLICIT_TAGS and not isinstance(event, yaml.AliasEvent):
                raise _Refused(event.start_mark, f"the tag {_short(tag)} is not allowed: the app spec holds text, "
                                                 "numbers, true/false, lists and mappings only; remove the tag")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def get_single_data(self) -> Any:
        node = self.get_single_node()
        if node is None:
            return None
        _check_graph(node)
        return self.construct_document(node)

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict:
        own = [(k, v) for k, v in node.value if k.tag != MERGE]
        seen: dict[str, Any] = {}
        for key_node, _ in own:
            key = _key_text(key_node)
            if key in seen:
                raise _Refused(key_node.start_mark, f"duplicate key '{key}' (first at line {seen[key].line + 1}); "
                                                    "keep one of them")
            seen[key] = key_node.start_mark
        try:
            self.flatten_mapping(node)  # merge keys: the mapping's own keys win over merged ones
        except yaml.constructor.ConstructorError as exc:
            raise _Refused(exc.problem_mark, "`<<` merges mappings into this one: give it a mapping, an alias of "
                                             "one (`<<: *defaults`) or a list of them") from exc
        return {_key_text(k): self.construct_object(v, deep=deep) for k, v in node.value}

    def construct_int(self, node: ScalarNode) -> int:
        digits = node.value.lstrip("+-")
        if len(digits) > MAX_DIGITS:
            raise _Refused(node.start_mark, f"a number of {len(digits):,} digits is longer than any setting takes; "
                                            "shorten it, or put it in quotes if it is text")
        if not re.fullmatch(r"[-+]?(0|[1-9][0-9]*)", node.value):  # an explicit `!!int 010`
            raise _Refused(node.start_mark, f"'{node.value}' is not a whole number in decimal digits")
        return int(node.value)

    def construct_undefined(self, node: Node) -> Any:
        raise _Refused(node.start_mark, f"the tag {_short(node.tag)} is not allowed: the app spec holds text, "
                                        "numbers, true/false, lists and mappings only; remove the tag")


def _short(tag: str) -> str:
    return "!!" + tag[len("tag:yaml.org,2002:"):] if tag.startswith("tag:yaml.org,2002:") else tag


def _key_text(node: Node) -> str:
    """A key exactly as written (YAML 1.1 would read `no` as false, `~` as null and `010` as 8)."""
    if not isinstance(node, ScalarNode):
        raise _Refused(node.start_mark, f"a {'list' if isinstance(node, SequenceNode) else 'mapping'} cannot be a "
                                        "key; write a name before the ':'")
    if node.value == "" and node.style is None:
        raise _Refused(node.start_mark, "a key is missing; write a name before the ':'")
    return node.value


def _check_graph(root: Node) -> None:
    """Depth and size with aliases expanded, and aliases that contain themselves; iterative (no recursion)."""
    depth: dict[int, int] = {}
    size: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        children = _children(node)
        if done:
            on_path.discard(id(node))
            depth[id(node)] = 1 + max((depth[id(c)] for c in children), default=0)
            size[id(node)] = 1 + sum(size[id(c)] for c in children)
            if depth[id(node)] > MAX_DEPTH:
                raise _Refused(node.start_mark, f"nested more than {MAX_DEPTH} levels deep (counting what aliases "
                                                "bring in); the app spec needs a few levels only")
            if size[id(node)] > MAX_NODES:
                raise _Refused(node.start_mark, f"the aliases here expand to more than {MAX_NODES:,} values; write "
                                                "the values out or use fewer aliases")
            continue
        if id(node) in depth:
            continue
        on_path.add(id(node))
        stack.append((node, True))
        for child in children:
            if id(child) in on_path:
                raise _Refused(child.start_mark, "an alias refers to the mapping or list that contains it; an app "
                                                 "spec cannot be recursive")
            if id(child) not in depth:
                stack.append((child, False))


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [n for pair in node.value for n in pair]
    return []


SpecLoader.add_implicit_resolver(BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
SpecLoader.add_implicit_resolver(NULL, re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""])
SpecLoader.add_implicit_resolver(INT, re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$"), list("-+0123456789"))
SpecLoader.add_implicit_resolver(
    FLOAT, re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)(?:[eE][-+]?[0-9]+)?|[-+]?[0-9]+[eE][-+]?[0-9]+|"
                      r"[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"), list("-+.0123456789"))
SpecLoader.add_implicit_resolver(MERGE, re.compile(r"^<<$"), ["<"])
SpecLoader.add_constructor(INT, SpecLoader.construct_int)
for _tag in ("timestamp", "binary", "set", "omap", "pairs"):
    SpecLoader.yaml_constructors.pop(f"tag:yaml.org,2002:{_tag}", None)
SpecLoader.add_constructor(None, SpecLoader.construct_undefined)


def read(text: str) -> Any:
    try:
        return yaml.load(text, Loader=SpecLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if isinstance(exc, _Refused):
            raise SpecYAMLError(_where(mark), str(exc.problem)) from exc
        what = exc.problem or "unreadable"
        if exc.context and exc.context_mark and exc.context_mark is not mark:
            what += f" ({exc.context} at {_where(exc.context_mark)})"
        if "'\\t'" in what:
            fix = "indent with spaces, not tabs"
        elif exc.context in ("while parsing a flow sequence", "while parsing a flow mapping"):
            fix = f"close the '{'[' if 'sequence' in exc.context else '{'}' opened there"
        elif "expected a single document" in what:
            fix = "keep one document (remove the '---' line and what follows it, or merge them)"
        else:
            fix = "check the indentation, quotes and brackets here"
        raise SpecYAMLError(_where(mark), f"not valid YAML: {what}; {fix}") from exc
    except yaml.reader.ReaderError as exc:  # a control character; has a position, not a line and column
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        raise SpecYAMLError(f"line {line}, column {column}", (
            f"not valid YAML: control character #x{exc.character:02x} is not allowed; delete it"
            if isinstance(exc.character, int) else f"not valid YAML: {exc.reason}; delete the character")) from exc
    except yaml.YAMLError as exc:
        reason = " ".join(str(exc).split())
        raise SpecYAMLError("", f"not valid YAML: {reason}; check the file's syntax") from exc


def _where(mark: Any) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
