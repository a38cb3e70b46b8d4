"""generator/records.py: a `record` behaves as the `dataclass` it stands for (repr, equality, hashing, frozenness,
fields), on every record class of the generator and on the corner cases dataclass's generated code has (no field, one
field, `compare=False`, `repr=False`, `hash=` fields, NaN and identity inside the tuples, another class with the same
fields, recursion); and the generator defines no dataclass that is not a record (whose methods would be compiled at
every import again: docs/performance.md)."""
from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
import re

import pytest

import generator
from generator.records import record
from tests.support import ROOT


def _generator_classes() -> list[type]:
    found = []
    for info in pkgutil.walk_packages(generator.__path__, "generator."):
        if info.name.startswith("generator.lambdas") or info.name == "generator.__main__":
            continue
        module = importlib.import_module(info.name)
        found += [obj for obj in vars(module).values()
                  if inspect.isclass(obj) and obj.__module__ == module.__name__ and dataclasses.is_dataclass(obj)]
    return found


RECORDS = _generator_classes()


def _reference(cls: type) -> type:
    """What `@dataclass` (eq and repr on) makes of the same fields, frozenness and qualified name."""
    ref = dataclasses.make_dataclass(
        cls.__name__, [(f.name, f.type, dataclasses.field(repr=f.repr, compare=f.compare, hash=f.hash))
                       for f in dataclasses.fields(cls)],
        frozen=cls.__dataclass_params__.frozen)
    ref.__qualname__ = cls.__qualname__
    return ref


def _instance(cls: type, values: dict) -> object:
    obj = object.__new__(cls)   # no __init__ or __post_init__: any value in any field
    for name, value in values.items():
        object.__setattr__(obj, name, value)
    return obj


class _Value:
    """A field value with its own equality (equal by `key`), hash and repr."""

    def __init__(self, key):
        self.key = key

    def __eq__(self, other):
        return isinstance(other, _Value) and self.key == other.key

    def __hash__(self):
        return hash(self.key)

    def __repr__(self):
        return f"V<{self.key}>"


def _same(cls: type, a: dict, b: dict) -> None:
    ref = _reference(cls)
    ours, theirs = (_instance(cls, a), _instance(cls, b)), (_instance(ref, a), _instance(ref, b))
    assert repr(ours[0]) == repr(theirs[0])
    assert (ours[0] == ours[1]) == (theirs[0] == theirs[1])
    assert (ours[0] != ours[1]) == (theirs[0] != theirs[1])
    assert ours[0].__eq__(theirs[0]) is NotImplemented and theirs[0].__eq__(ours[0]) is NotImplemented
    assert ours[0].__eq__(object()) is NotImplemented
    if ref.__hash__ is None:
        assert cls.__hash__ is None
        with pytest.raises(TypeError):
            hash(ours[0])
    else:
        assert hash(ours[0]) == hash(theirs[0])
        assert (hash(ours[0]) == hash(ours[1])) == (hash(theirs[0]) == hash(theirs[1]))


@pytest.mark.parametrize("cls", RECORDS, ids=lambda c: f"{c.__module__}.{c.__qualname__}")
def test_every_record_of_the_generator_behaves_as_its_dataclass(cls):
    names = [f.name for f in dataclasses.fields(cls)]
    assert names, "a record without fields: the corner cases below cover it"
    base = {name: _Value(i) for i, name in enumerate(names)}
    _same(cls, base, dict(base))                                   # equal field by field
    _same(cls, base, {name: _Value(i) for i, name in enumerate(names)})   # equal values, other objects
    for name in names:                                             # one field differs (compared or not)
        _same(cls, base, {**base, name: _Value("other")})
    assert cls.__repr__.__qualname__ == f"{cls.__qualname__}.__repr__"
    assert [f.name for f in dataclasses.fields(cls)] == [f.name for f in dataclasses.fields(_reference(cls))]
    assert list(inspect.signature(cls).parameters) == [f.name for f in dataclasses.fields(cls) if f.init]
    if cls.__dataclass_params__.frozen:
        obj = _instance(cls, base)
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(obj, names[0], 1)
        with pytest.raises(dataclasses.FrozenInstanceError):
            delattr(obj, names[0])


def test_the_generator_defines_its_dataclasses_as_records():
    assert len(RECORDS) >= 50
    assert [c.__qualname__ for c in RECORDS if c.__eq__.__module__ != "generator.records"] == []
    sources = [p for p in (ROOT / "generator").rglob("*.py") if p.name != "records.py"]
    assert [str(p) for p in sources if re.search(r"^\s*@(dataclasses\.)?dataclass\b", p.read_text(), re.M)] == []


@pytest.mark.parametrize("frozen", [False, True])
@pytest.mark.parametrize("fields", [
    [],
    [("a", dataclasses.field())],
    [("a", dataclasses.field()), ("b", dataclasses.field(compare=False))],
    [("a", dataclasses.field(repr=False)), ("b", dataclasses.field()), ("c", dataclasses.field(hash=False))],
    [("a", dataclasses.field(compare=False, hash=True)), ("b", dataclasses.field(compare=False))],
    [("a", dataclasses.field(compare=False))],
], ids=["none", "one", "one-compared", "repr-hash-flags", "hash-only", "none-compared"])
def test_corner_cases_behave_as_dataclass(frozen, fields):
    def define(decorate):
        body = {"__annotations__": {name: "object" for name, _ in fields}}
        body.update({name: f for name, f in fields})
        return decorate(type("Thing", (), body))
    ours = define(record(frozen=frozen))
    theirs = define(dataclasses.dataclass(frozen=frozen))
    nan = float("nan")
    samples = [dict.fromkeys((n for n, _ in fields), nan),         # the very same NaN: equal as a tuple item
               {n: float("nan") for n, _ in fields},               # other NaNs: never equal
               {n: i for i, (n, _) in enumerate(fields)},
               {n: [i] for i, (n, _) in enumerate(fields)}]
    for a in samples:
        for b in samples:
            x, y, rx, ry = ours(**a), ours(**b), theirs(**a), theirs(**b)
            assert repr(x) == repr(rx)
            assert (x == y) == (rx == ry) and (x != y) == (rx != ry)
            hashable = theirs.__hash__ is not None and all(not isinstance(v, list) for v in a.values())
            if hashable:
                assert hash(x) == hash(rx)
            elif theirs.__hash__ is None:
                assert ours.__hash__ is None
        # an instance of a subclass with the same fields is another class: never equal, NotImplemented both ways
        sub, rsub = type("Sub", (ours,), {})(**a), type("Sub", (theirs,), {})(**a)
        assert ours(**a).__eq__(sub) is NotImplemented and theirs(**a).__eq__(rsub) is NotImplemented
        assert (ours(**a) == sub) == (theirs(**a) == rsub)
    assert ours.__dataclass_params__.frozen == frozen


def test_a_recursive_repr_shows_dots_as_dataclass_does():
    @record
    class Node:
        child: object = None

    @dataclasses.dataclass
    class Ref:
        child: object = None
    ours, theirs = Node(), Ref()
    ours.child, theirs.child = ours, theirs
    assert repr(ours) == repr(theirs).replace("Ref", "Node") == "test_a_recursive_repr_shows_dots_as_dataclass_does." \
        "<locals>.Node(child=...)"


def test_a_class_with_its_own_equality_repr_or_hash_is_refused():
    for method in ("__eq__", "__repr__", "__hash__"):
        with pytest.raises(TypeError, match=method):
            record(type("Own", (), {"__annotations__": {"a": "int"}, method: lambda self, *a: 0}))
