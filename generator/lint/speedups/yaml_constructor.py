"""cfnlint.decode.cfn_yaml: the YAML document built from libyaml's nodes by one specialised recursion instead of
PyYAML's generic constructor (about 5 % of a 50-service app's lint CPU: each template's own decode, and the root's
parse of its nested templates)."""
from __future__ import annotations

from typing import Any

from generator.lint.speedups._support import _defined_in

_MAP, _SEQ, _STR = "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:str"
CHECKED_PYYAML = "6.0.3"   # the PyYAML whose constructor was read (requirements.lock)
_SCALARS = ("null", "bool", "int", "float")   # SafeConstructor's plain functions of a scalar's text


class _Fallback(Exception):
    """Anything the specialised recursion does not build exactly as cfn-lint does: cfn-lint's constructor builds
    the whole document instead (from the same nodes, which the recursion never modifies)."""


def fast_yaml_constructor(classes: list[type]) -> bool:
    """cfn-lint's loader (`CfnFullLoader`: libyaml's parser and composer, then PyYAML's Python constructor with
    cfn-lint's NodeConstructor) builds each node through `construct_object` (recursion guards, the constructed-objects
    memo, a look-up of the tag, a generator per mapping and sequence whose data is copied into a `dict_node` or
    `list_node`; every mapping's keys and values constructed twice, the second time from the memo; every string an
    exception raised and caught in `str_node.__init__`). For a document whose text has no `&` (so no anchor, hence no
    alias: every node is constructed once, and the memo never answers), `construct_document` builds the same objects
    in the same order with one recursion:

    - a mapping (tag map): `dict_node` of its keys and values in node order, with the mapping's marks and
      `using_merge` False; a merge key (`<<`) or a `=` key (PyYAML's flatten_mapping rewrites them), a null key, an
      unhashable key or two equal keys (cfn-lint reports them: CfnParseError) go to cfn-lint's constructor;
    - a sequence (tag seq): `list_node` of its items with its marks; a string (tag str): `str_node` of the text with
      its marks; a null, bool, int or float: the result of the same SafeConstructor function cfn-lint's loader calls;
    - a local tag `!X` (cfn-lint's `multi_constructor`): `dict_node({"Fn::X" or "Ref"/"Condition": value})` with the
      node's marks, the value the scalar's text (a plain str), a plain list of the items, or a plain dict of the
      pairs (later equal keys overwrite, as PyYAML's construct_mapping does; an unhashable key goes to cfn-lint's);
      `!GetAtt`: a scalar split once at "." into a `list_node`, a sequence's items in a `list_node`, with the node's
      marks (a mapping: cfn-lint's);
    - any other tag, a node kind its tag does not expect, a changed constructor table, or any exception (a
      RecursionError, an error of a scalar function): the whole document built again by cfn-lint's constructor, which
      raises its own errors (the recursion has no side effects: it never modifies the nodes or the loader).

    A document nested deeper than cfn-lint's constructor could build within the recursion limit (from the depth of
    the stack at that moment, counting 10 frames per level where it takes at most 5) goes to cfn-lint's constructor,
    which fails as it fails (a RecursionError, reported as E0000) or builds it.

    The objects are made as the node classes' constructors make them (`str.__new__(str_node, text)`, then the
    attributes their `__init__` sets, in its order), with the composed nodes' own Mark objects. A document with a
    `&` anywhere in its text is built by cfn-lint's constructor (aliases share one object there)."""
    import sys
    import types
    from collections.abc import Hashable

    import yaml
    import yaml.constructor
    from cfnlint.decode import cfn_yaml, node as cfn_node
    from yaml.constructor import SafeConstructor

    loader = cfn_yaml.CfnFullLoader
    nc = cfn_yaml.NodeConstructor
    dict_node, list_node, str_node = cfn_node.dict_node, cfn_node.list_node, cfn_node.str_node
    expected = {_MAP: nc.construct_yaml_map, _SEQ: nc.construct_yaml_seq, _STR: nc.construct_yaml_str}
    scalar_functions = {f"tag:yaml.org,2002:{name}": getattr(SafeConstructor, f"construct_yaml_{name}")
                        for name in _SCALARS}
    checks = [
        (loader.__init__, "decode/cfn_yaml.py", "__init__"),
        (nc.construct_yaml_map, "decode/cfn_yaml.py", "construct_yaml_map"),
        (nc.construct_yaml_seq, "decode/cfn_yaml.py", "construct_yaml_seq"),
        (nc.construct_yaml_str, "decode/cfn_yaml.py", "construct_yaml_str"),
        (nc.construct_getatt, "decode/cfn_yaml.py", "construct_getatt"),
        (nc.flatten_mapping, "decode/cfn_yaml.py", "flatten_mapping"),
        (cfn_yaml.multi_constructor, "decode/cfn_yaml.py", "multi_constructor"),
        (str_node.__init__, "decode/node.py", "__init__"), (str_node.__new__, "decode/node.py", "__new__"),
        (dict_node.__init__, "decode/node.py", "__init__"), (list_node.__init__, "decode/node.py", "__init__"),
    ]
    if (getattr(loader.construct_document, "fast", False)
            or not all(_defined_in(f, file, name) for f, file, name in checks)
            or loader.construct_document is not yaml.constructor.BaseConstructor.construct_document
            or yaml.__version__ != CHECKED_PYYAML   # construct_document's body is inlined below
            or any(loader.yaml_constructors.get(tag) is not f for tag, f in {**expected, **scalar_functions}.items())
            or not all(isinstance(f, types.FunctionType) and not f.__code__.co_flags & 0x20   # no generator
                       for f in scalar_functions.values())
            or cfn_yaml.UNCONVERTED_SUFFIXES != ["Ref", "Condition"] or cfn_yaml.FN_PREFIX != "Fn::"
            or dict_node.__new__ is not dict.__new__ or list_node.__new__ is not list.__new__):
        return False
    real_document, real_init = loader.construct_document, loader.__init__
    ScalarNode, SequenceNode, MappingNode = yaml.ScalarNode, yaml.SequenceNode, yaml.MappingNode
    Mark = cfn_node.Mark
    new_str, new_dict, new_list = str.__new__, dict.__new__, list.__new__
    unconverted = ("Ref", "Condition")

    def init(self, stream, filename):
        real_init(self, stream, filename)
        # no "&": no anchor, so no alias (an alias to no anchor fails in the composer, before construction)
        self.__dict__["_speedups_no_anchor"] = isinstance(stream, str) and "&" not in stream

    def construct_document(self, node):
        if (self.__class__ is loader and self.__dict__.get("_speedups_no_anchor") is True
                and self.yaml_constructors is constructors and len(self.yaml_multi_constructors) == 1
                and self.yaml_multi_constructors.get("!") is multi
                and all(constructors.get(tag) is f for tag, f in handled)):
            try:
                return build(node, self, _levels())
            except Exception:   # noqa: BLE001 - _Fallback, or an error cfn-lint's constructor raises as it raises it
                pass
        # PyYAML's BaseConstructor.construct_document, inline rather than called: cfn-lint's constructor then runs
        # at the depth it runs at unpatched, so a RecursionError (and its message) comes where it came
        data = self.construct_object(node)
        while self.state_generators:
            state_generators = self.state_generators
            self.state_generators = []
            for generator in state_generators:
                for dummy in generator:
                    pass
        self.constructed_objects = {}
        self.recursive_objects = {}
        self.deep_construct = False
        return data

    constructors = loader.yaml_constructors
    multi = cfn_yaml.multi_constructor
    scalar_tags = dict(scalar_functions)
    handled = tuple({**expected, **scalar_functions}.items())

    def marked(obj, node):
        obj.start_mark = node.start_mark or Mark()
        obj.end_mark = node.end_mark or Mark()
        return obj

    def build(node, self, room):
        if not room:
            raise _Fallback
        room -= 1
        cls, tag = node.__class__, node.tag
        if cls is ScalarNode:
            if tag == _STR:
                return marked(new_str(str_node, node.value), node)
            function = scalar_tags.get(tag)
            if function is not None:
                return function(self, node)
            if tag[:1] == "!" and tag not in constructors:
                return function_node(node, tag, node.value)
            raise _Fallback
        if cls is MappingNode:
            if tag == _MAP:
                pairs = node.value
                result = new_dict(dict_node)
                for key_node, value_node in pairs:
                    if key_node.tag in _REWRITTEN_KEYS:
                        raise _Fallback
                    key = build(key_node, self, room)
                    value = build(value_node, self, room)
                    if key is None:
                        raise _Fallback
                    try:
                        result[key] = value
                    except TypeError:
                        raise _Fallback from None
                if len(result) != len(pairs):   # equal keys: cfn-lint reports them
                    raise _Fallback
                marked(result, node)
                result.using_merge = False
                return result
            if tag[:1] == "!" and tag not in constructors and tag != "!GetAtt":
                mapping = {}
                for key_node, value_node in node.value:
                    if key_node.tag in _REWRITTEN_KEYS:
                        raise _Fallback
                    key = build(key_node, self, room)
                    if not isinstance(key, Hashable):   # PyYAML's ConstructorError
                        raise _Fallback
                    mapping[key] = build(value_node, self, room)
                return function_node(node, tag, mapping)
            raise _Fallback
        if cls is SequenceNode:
            if tag == _SEQ:
                result = new_list(list_node)
                result.extend([build(child, self, room) for child in node.value])
                return marked(result, node)
            if tag[:1] == "!" and tag not in constructors:
                items = [build(child, self, room) for child in node.value]
                if tag == "!GetAtt":
                    result = new_list(list_node)
                    result.extend(items)
                    items = marked(result, node)
                return function_node(node, tag, items)
        raise _Fallback

    def function_node(node, tag, value):
        suffix = tag[1:]
        if suffix not in unconverted:
            suffix = "Fn::" + suffix
        if suffix == "Fn::GetAtt" and node.__class__ is ScalarNode:
            result = new_list(list_node)
            result.extend(value.split(".", 1))
            value = marked(result, node)
        result = new_dict(dict_node)
        result[suffix] = value
        marked(result, node)
        result.using_merge = False
        return result

    def _levels() -> int:
        """How deep a document the recursion builds: one where cfn-lint's constructor cannot exceed the recursion
        limit (it takes at most 5 frames per level, measured: 5 for a sequence in a sequence, 2.5 for a mapping in a
        mapping, 4 through a function tag; 10 are counted here, and 100 for what it calls at the leaves), so that a
        document it fails on with a RecursionError is always built by it."""
        frame, depth = sys._getframe(), 0
        while frame is not None:
            frame, depth = frame.f_back, depth + 1
        return max(0, (sys.getrecursionlimit() - depth - 100) // 10)

    construct_document.fast = True   # type: ignore[attr-defined]
    construct_document.real = real_document   # type: ignore[attr-defined]
    init.real = real_init   # type: ignore[attr-defined]
    loader.construct_document, loader.__init__ = construct_document, init
    return True


_REWRITTEN_KEYS = frozenset(("tag:yaml.org,2002:merge", "tag:yaml.org,2002:value"))
