"""`record`: the generator's dataclasses, with __repr__, __eq__ and __hash__ made without compiling code per class.

Python 3.11's `dataclass` writes every method it adds as source text and compiles it (`exec`) when the class is
defined: a generation's import compiled 168 such functions for the 31 dataclasses it defines, 87 of them __repr__,
__eq__ and __hash__ (38 M instructions, 3 % of the import; callgrind, docs/performance.md), which a build seldom
calls. `record` is `dataclass` with the same fields, `__init__` and frozenness (both still dataclass's own, compiled
per class), and those three methods made from functions compiled once, with this module, that behave as
dataclass's: the same text (the class's qualified name, the fields with `repr=True`, `...` for a recursive repr), the
same comparison (only with an instance of the very same class, the fields with `compare=True` compared as tuples),
the same hash (a frozen record hashes the tuple of its `hash`/`compare` fields; any other is unhashable).
tests/test_records.py compares them with dataclass's on every record of the generator.

    @record(frozen=True)        # as @dataclass(frozen=True)
    class Point:
        x: int
        y: int = field(default=0, compare=False)

A class that defines __repr__, __eq__ or __hash__ itself is refused (use `dataclass` there): dataclass keeps the
class's own, and that rule is not copied here. `__dataclass_params__` says `repr=False, eq=False` (the methods are not
dataclass's); `dataclasses.fields`, `replace`, `asdict` and `is_dataclass` work as before.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from operator import attrgetter
from reprlib import recursive_repr
from typing import Any, TypeVar, dataclass_transform

T = TypeVar("T", bound=type)
_OWN = ("__repr__", "__eq__", "__hash__")


@dataclass_transform(field_specifiers=(dataclasses.field, dataclasses.Field))
def record(cls: T | None = None, /, *, frozen: bool = False) -> Any:
    """`@record` or `@record(frozen=True)`, as `@dataclass` / `@dataclass(frozen=True)`."""
    def wrap(cls: T) -> T:
        own = [name for name in _OWN if name in cls.__dict__]
        if own:
            raise TypeError(f"{cls.__qualname__} defines {', '.join(own)}: use dataclasses.dataclass, not record")
        cls = dataclasses.dataclass(cls, frozen=frozen, repr=False, eq=False)
        fields = dataclasses.fields(cls)
        _add(cls, _repr_fn(tuple(f.name for f in fields if f.repr)))
        _add(cls, _eq_fn(_values(tuple(f.name for f in fields if f.compare))))
        if frozen:   # dataclass's rule for eq=True, frozen=True: fields with hash=True, or hash=None and compare=True
            _add(cls, _hash_fn(_values(tuple(f.name for f in fields if (f.compare if f.hash is None else f.hash)))))
        else:        # eq=True without frozen: unhashable, as dataclass makes it
            cls.__hash__ = None  # type: ignore[assignment]
        return cls
    return wrap if cls is None else wrap(cls)


def _add(cls: type, fn: Callable) -> None:
    fn.__qualname__ = f"{cls.__qualname__}.{fn.__name__}"
    setattr(cls, fn.__name__, fn)


def _values(names: tuple[str, ...]) -> Callable[[Any], tuple]:
    """The tuple dataclass's generated code builds, `(self.a, self.b,)`: a tuple for any number of fields."""
    if len(names) >= 2:
        return attrgetter(*names)
    if names:
        name, = names
        return lambda obj: (getattr(obj, name),)
    return lambda obj: ()


def _repr_fn(names: tuple[str, ...]) -> Callable:
    @recursive_repr()   # dataclass's own guard: "..." for an object already being shown on this thread
    def __repr__(self: Any) -> str:
        return self.__class__.__qualname__ + "(" + ", ".join(f"{name}={getattr(self, name)!r}" for name in names) + ")"
    return __repr__


def _eq_fn(values: Callable[[Any], tuple]) -> Callable:
    def __eq__(self: Any, other: Any) -> Any:
        if other.__class__ is self.__class__:
            return values(self) == values(other)
        return NotImplemented
    return __eq__


def _hash_fn(values: Callable[[Any], tuple]) -> Callable:
    def __hash__(self: Any) -> int:
        return hash(values(self))
    return __hash__
