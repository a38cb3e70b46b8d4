"""troposphere's `BaseAWSObject.__init__` without the work that depends only on the class (pinned troposphere only).

Building an object, troposphere 4.11.1 looks at every property its class declares, each time: `getattr(type(self),
name, None)` for each of them (a class-level default to set), `set(props.keys())`, and `hasattr(self,
"resource_type")` / `getattr(self, "dictname", None)`, which for a property object (no `resource_type`) go through
its `__getattr__`, which raises and catches a KeyError and an AttributeError. For the 9,000 objects of a 50-service
app that was 75,000 `getattr`s: over a third of building its stacks. This `__init__` learns those facts once per
class and does everything else as troposphere does, in the same order: the instance dict gets the same keys in the
same order, `validate_title()` runs (a subclass's own too), every class default and keyword argument is checked as the
class's `__setattr__` checks it (its type checks and validator functions: `_set`, with the per-property decisions
made once per class, and troposphere's `__setattr__` itself for anything else, a failed check included), and
`add_to_template()` is called. A class it does
not know to be plain (its own `__setattr__`, `__getattr__` or `__init__` path that the facts would not cover, a
data descriptor, a slot included, on a name `__init__` writes) is built by troposphere's own `__init__`.

The facts of a class are read again when its `props` is replaced; a class whose `props` dict is mutated in place, or
that gains a class-level default after its first object, would keep stale facts: neither troposphere nor this
project does either. tests/test_troposphere_speedups.py builds every object of every app in the repository both
ways and compares them, attribute by attribute.
"""
from __future__ import annotations

import types
from typing import Any, NamedTuple

import troposphere
from troposphere import AWSHelperFn, BaseAWSObject, Tags

PINNED = "4.11.1"
_ORIGINAL_INIT = BaseAWSObject.__init__
_SETATTR = BaseAWSObject.__setattr__
_GETATTR = BaseAWSObject.__getattr__
# the names troposphere's __init__ writes into the instance dict, in its order
_WRITTEN = ("title", "template", "do_validation", "propnames", "attributes", "properties", "resource",
            "_BaseAWSObject__initialized")


class _Facts(NamedTuple):
    props: dict                          # the class's `props`, to notice a replacement
    propnames: frozenset[str]
    defaults: tuple[tuple[str, Any], ...]   # (property, class-level value) where that value is not None
    dictname: Any                        # getattr(self, "dictname", None)
    resource_type: Any                   # the class's resource_type, or None when it has none
    checks: dict[str, tuple[int, Any]]   # property -> (_TYPE / _FUNCTION / _LIST, what __setattr__ checks with)


_FACTS: dict[type, _Facts | None] = {}
_ABSENT = object()
# the resource attributes troposphere's __setattr__ writes into `resource` (checked before the properties)
_ATTRIBUTES = frozenset(("Condition", "CreationPolicy", "DeletionPolicy", "DependsOn", "Metadata", "UpdatePolicy",
                         "UpdateReplacePolicy"))
_TYPE, _FUNCTION, _LIST = 0, 1, 2


def _check(expected: Any) -> tuple[int, Any] | None:
    """How troposphere's __setattr__ checks a property of this expected type, or None where _set leaves it to
    __setattr__ itself (a list of one validator function)."""
    if isinstance(expected, types.FunctionType):
        return _FUNCTION, expected
    if isinstance(expected, list):
        if len(expected) == 1 and isinstance(expected[0], types.FunctionType):
            return None
        return _LIST, tuple(expected)
    return _TYPE, expected


_DESCRIPTORS: dict[type, bool] = {}


def _descriptor_written(k: type) -> bool:
    """Whether `k` itself holds a data descriptor on a name __init__ writes (once per class: the bases that every
    troposphere class shares were looked at again for each class)."""
    found = _DESCRIPTORS.get(k)
    if found is None:
        d = k.__dict__
        found = _DESCRIPTORS[k] = any(hasattr(d.get(n), "__set__") for n in _WRITTEN)
    return found


def _learn(cls: type) -> _Facts | None:
    """The class-only facts of `cls`, or None when troposphere's own __init__ must build it."""
    plain = (cls.__setattr__ is _SETATTR and cls.__getattr__ is _GETATTR
             and not any(_descriptor_written(k) for k in cls.__mro__))
    if not plain:
        _FACTS[cls] = None
        return None
    props = cls.props
    resource_type = getattr(cls, "resource_type", _ABSENT)
    checks = {name: check for name, (expected, _) in props.items()
              if name not in _ATTRIBUTES and name not in _WRITTEN and (check := _check(expected)) is not None}
    facts = _Facts(props, frozenset(props), tuple((k, v) for k in props if (v := getattr(cls, k, None)) is not None),
                   getattr(cls, "dictname", None), None if resource_type is _ABSENT else resource_type, checks)
    _FACTS[cls] = facts
    return facts


def _init(self: BaseAWSObject, title: str | None, template: Any = None, validation: bool = True,
          **kwargs: Any) -> None:
    cls = type(self)
    facts = _FACTS.get(cls, _ABSENT)
    if facts is _ABSENT or (facts is not None and facts.props is not cls.props):
        facts = _learn(cls)
    if facts is None:
        _ORIGINAL_INIT(self, title, template, validation, **kwargs)
        return
    d = self.__dict__
    d["title"] = title
    d["template"] = template
    d["do_validation"] = validation
    d["propnames"] = set(facts.propnames)
    d["attributes"] = ["Condition", "CreationPolicy", "DeletionPolicy", "DependsOn", "Metadata", "UpdatePolicy",
                       "UpdateReplacePolicy"]
    if title:
        self.validate_title()
    properties = d["properties"] = {}
    resource = d["resource"] = {facts.dictname: properties} if facts.dictname else properties
    if facts.resource_type is not None:
        resource["Type"] = facts.resource_type
    d["_BaseAWSObject__initialized"] = True
    checks = facts.checks
    for k, v in facts.defaults:
        if k not in kwargs:
            _set(self, checks, properties, k, v)
    for k, v in kwargs.items():
        _set(self, checks, properties, k, v)
    self.add_to_template()


def _set(self: BaseAWSObject, checks: dict[str, tuple[int, Any]], properties: dict, name: str, value: Any) -> None:
    """`self.__setattr__(name, value)` right after __init__ wrote the instance dict: a property whose check passes
    is stored here as troposphere's __setattr__ stores it (the same checks in the same order, the per-name decisions
    made once per class); anything else (an attribute such as DependsOn, an unknown name, a check that fails, a
    validator that raises) goes through troposphere's __setattr__ itself, which writes what it writes and raises
    what it raises."""
    check = checks.get(name)
    if check is not None:
        if isinstance(value, AWSHelperFn) and not isinstance(value, Tags):
            properties[name] = value
            return
        kind, expected = check
        if kind == _TYPE:
            if isinstance(value, expected):
                properties[name] = value
                return
        elif kind == _FUNCTION:
            try:
                checked = expected(value)
            except Exception:   # noqa: BLE001 - troposphere's __setattr__ calls it again, reports and raises
                pass
            else:
                properties[name] = checked
                return
        elif isinstance(value, list) and all(isinstance(v, expected) or isinstance(v, AWSHelperFn) for v in value):
            properties[name] = value
            return
    self.__setattr__(name, value)


def apply() -> bool:
    """Install the faster __init__ when troposphere is the pinned version; True when it is installed."""
    if troposphere.__version__ != PINNED:
        return False
    BaseAWSObject.__init__ = _init   # type: ignore[method-assign]
    return True


def original_init() -> Any:
    return _ORIGINAL_INIT


APPLIED = apply()
