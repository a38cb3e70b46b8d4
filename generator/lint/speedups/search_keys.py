"""cfnlint.template.Template._search_deep_keys: the walk of a whole template for every path to a key, run 18 times
per template at 50 services (5 in Template.__init__, 3 in the graph, 9 in W2501 Password, 1 in W8001), the largest
self time of a worker's profile there (cProfile: 6.7 % of the self time, 8.5 % inclusive)."""
from __future__ import annotations

import functools
from typing import Any

import regex

from generator.lint.speedups._support import _defined_in

# Nesting deeper than this goes to cfn-lint's walk: the replacement spends fewer frames per level (none for a
# scalar in a list), so only cfn-lint's own walk says where a RecursionError comes.
_DEEPEST = 100


class _TooDeep(Exception):
    pass


class _Unpatched:
    """The `self` cfn-lint's walk is run with: its recursion (`self._search_deep_keys`) stays cfn-lint's walk."""
    __slots__ = ("_search_deep_keys",)

    def __init__(self, original: Any) -> None:
        self._search_deep_keys = functools.partial(original, self)


def _walk(text: Any, plain: bool, node: Any, path: list, found: list, depth: int) -> None:
    """Append to `found`, in cfn-lint's order, `path + [key, value]` for every key equal to `text` (`plain`) or a str
    that `regex.match(text, key)` matches, in `node` (a dict or a list) and below it; `path` is the keys to `node`,
    appended to and restored on the way."""
    if depth > _DEEPEST:
        raise _TooDeep
    if isinstance(node, dict):
        for key in node:
            value = node[key]
            if (key == text) if plain else (isinstance(key, str) and regex.match(text, key)):
                found.append([*path, key, value])
            if isinstance(value, dict):
                path.append(key)
                _walk(text, plain, value, path, found, depth + 1)
                path.pop()
            elif isinstance(value, list):
                path.append(key)
                for index, item in enumerate(value):
                    if isinstance(item, (dict, list)):
                        path.append(index)
                        _walk(text, plain, item, path, found, depth + 1)
                        path.pop()
                path.pop()
    elif isinstance(node, list):
        for index, item in enumerate(node):
            if isinstance(item, (dict, list)):
                path.append(index)
                _walk(text, plain, item, path, found, depth + 1)
                path.pop()


def lean_search_deep_keys(classes: list[type]) -> bool:
    """Template._search_deep_keys(searchText, cfndict, path) copies the path for every key of every mapping, builds a
    list per level and extends it with each child's, and calls itself for every item of a list, scalars included.
    The replacement, for a str searchText or a compiled pattern of `regex` (Template.__init__'s FUNCTION_FOR_EACH;
    template.py imports `regex as re`): one recursion with one path list appended to and popped, and each path
    found made once as a new list, `path + [key, value]` with the same objects cfn-lint's holds (the keys, the list
    indices from enumerate, the value read by `cfndict[key]`); the same order (for each key of a mapping in
    iteration order: the key's own match, then the matches below its value; a list's items in order), the same test
    of a key (`key == searchText`; for a pattern `isinstance(key, str)` and `re.match(searchText, key)`), the same
    iteration (`for key in cfndict`, `cfndict[key]`, `enumerate`) and isinstance tests, and a scalar (neither dict
    nor list), where cfn-lint's call returns [] at once, not visited. Every list returned is new, as cfn-lint's are.
    Anything else (a str subclass too, a path that is not a list) and a template nested more than _DEEPEST levels
    go to cfn-lint's walk, run from the start (its recursion too: `self` is an _Unpatched, as the method reads
    nothing else of the Template)."""
    from cfnlint.template import template

    cls = template.Template
    original = vars(cls).get("_search_deep_keys")
    if original is None or not _defined_in(original, "template/template.py", "_search_deep_keys"):
        return False

    unpatched = _Unpatched(original)   # the method reads nothing of the Template but its own name

    def _search_deep_keys(self, searchText: Any, cfndict: Any, path: Any) -> list:
        plain = type(searchText) is str
        if not (plain or isinstance(searchText, regex.Pattern)) or type(path) is not list:
            return original(unpatched, searchText, cfndict, path)
        found: list = []
        try:
            _walk(searchText, plain, cfndict, list(path), found, 0)
        except _TooDeep:
            return original(unpatched, searchText, cfndict, path)
        return found

    _search_deep_keys.__doc__ = original.__doc__
    _search_deep_keys.real = original   # type: ignore[attr-defined]
    cls._search_deep_keys = _search_deep_keys
    return True

