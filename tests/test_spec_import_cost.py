"""What building the spec's pydantic models costs at every import (docs/performance.md, "Issue 10 item 5, the spec
models' import"): pydantic inspects each default factory's signature when it builds a model (does the factory take
the validated data?). For a builtin such as `list` that means parsing its text signature, `(iterable=(), /)`: about
0.5 ms a field, 11 ms of every import for the 24 list fields, against a few microseconds for a Python function. A list
default is therefore `config.types.empty_list`; these tests keep it so and check it means what `list` meant."""
from __future__ import annotations

import pytest
from pydantic import BaseModel

from generator.config import AppSpec, load_app
from generator.config.types import Strict, empty_list
from tests.support import FIXTURE_APPS


def _models(cls: type[BaseModel]) -> set[type[BaseModel]]:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub, *_models(sub)}
    return found


MODELS = sorted(_models(Strict), key=lambda m: (m.__module__, m.__qualname__))


def test_the_walk_finds_the_spec_models():
    assert AppSpec in MODELS and len(MODELS) > 40


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__qualname__)
def test_no_default_factory_makes_pydantic_parse_a_text_signature(model):
    slow = [name for name, field in model.model_fields.items()
            if getattr(field.default_factory, "__text_signature__", None) is not None]
    assert slow == [], f"{model.__qualname__}: default_factory=list (or another builtin with a text signature) on " \
                       f"{slow}: use generator.config.types.empty_list"


def test_an_empty_list_default_is_a_new_list_each_time():
    assert empty_list() == [] and empty_list() is not empty_list()
    uses = [(m, n) for m in MODELS for n, f in m.model_fields.items() if f.default_factory is empty_list]
    assert len(uses) >= 24
    first, second = (load_app(FIXTURE_APPS / "minimal.yaml") for _ in range(2))
    assert first.caches == [] and first.caches is not second.caches
