"""The README documents every app-spec field and states every cross-field rule."""
from __future__ import annotations

import re

from generator.config import AppSpec
from generator.config.rules import all_rules
from tests.support import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def _fields(model, seen=None) -> set[str]:
    seen = seen if seen is not None else set()
    names: set[str] = set()
    for name, field in model.model_fields.items():
        names.add(name)
        for sub in _models_in(field.annotation):
            if sub not in seen:
                seen.add(sub)
                names |= _fields(sub, seen)
    return names


def _models_in(annotation):
    import typing

    from pydantic import BaseModel
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]


def test_every_field_is_documented():
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", README, flags=re.M))
    assert sorted(_fields(AppSpec) - documented) == []


def test_every_cross_field_rule_is_stated():
    flat = " ".join(README.split())
    for rule in all_rules():
        sentence = " ".join(rule.__doc__.split())
        assert sentence in flat, f"README lacks the rule: {sentence}"


def test_quick_start_shows_the_two_commands():
    quick = README.split("## Quick start", 1)[1].split("##", 1)[0]
    assert "make templates" in quick and "make test" in quick
