"""What building the spec's pydantic models costs at every import (docs/performance.md, "Issue 10 item 5, the spec
models' import"): pydantic inspects each default factory's signature when it builds a model (does the factory take
the validated data?). For a builtin such as `list` that means parsing its text signature, `(iterable=(), /)`: about
0.5 ms a field, 11 ms of every import for the 24 list fields, against a few microseconds for a Python function. A list
default is therefore `config.types.empty_list`; these tests keep it so and check it means what `list` meant.

Also ("the spec models' build at import, third pass"): EnvironmentSpec's bases, the components' EnvironmentParts, defer
their validators (a load never runs them: EnvironmentSpec checks the same fields with its own), and no generation
looks for pydantic plugins (generator/config/pydantic_plugins.py); these tests check that a generation builds no part
and imports neither a plugin loader nor the error messages' module (only a refused spec needs it), that what reads a
deferred part (EnvInputs) sees what the built model says, that the stand-in for pydantic's plugin loader returns what
the real one returns here, and that the spec modules' class annotations are objects, not text pydantic must evaluate."""
from __future__ import annotations

import __future__
import importlib.util
import json
import re
import subprocess
import sys
import typing
from pathlib import Path

import pydantic
import pytest
from pydantic import BaseModel
from pydantic_core import PydanticUndefined, SchemaValidator

from generator.components import base
from generator.config import AppSpec, EnvironmentSpec, load_app, pydantic_plugins
from generator.config.types import EnvironmentPart, Strict, empty_list
from tests.support import FIXTURE_APPS, ROOT


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


# --- EnvironmentSpec's parts defer their validators (generator/config/types.py, EnvironmentPart) ---------------------

PARTS = [base for base in EnvironmentSpec.__mro__[1:] if issubclass(base, EnvironmentPart) and base is not EnvironmentPart]

# a fresh process: generate every fixture app as scripts/bench.py's generation does (import, load, render), then say
# which models built a validator and whether anything looked for pydantic plugins
GENERATE = """
import json, sys
from generator import render
from generator.build import render_app
from generator.config import EnvironmentSpec, load_app
from generator.config.types import EnvironmentPart, Strict
for app in sys.argv[1:]:
    render_app(load_app(app))
def walk(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from walk(sub)
print(json.dumps({"built": sorted({m.__name__ for m in walk(EnvironmentPart)
                                    if m.__pydantic_complete__ and m is not EnvironmentSpec}),
                  "strict": sorted({m.__name__ for m in walk(Strict) if not m.__pydantic_complete__}),
                  "messages": "generator.config.messages" in sys.modules,
                  "plugins": sorted(n for n in sys.modules if n.startswith("importlib.metadata")
                                    or n == "pydantic.plugin._loader" and getattr(sys.modules[n], "__file__", None))}))
"""


def test_every_base_of_environment_spec_is_a_deferred_part():
    assert {p.__name__ for p in PARTS} >= {"NetworkEnv", "ClusterEnv", "ServicesEnv", "EnvironmentCore"}
    assert len(PARTS) == 11
    own = [b for b in EnvironmentSpec.__bases__ if not issubclass(b, EnvironmentPart)]
    assert own == [], f"{own}: a part of EnvironmentSpec is an EnvironmentPart (its validator would be built for nothing)"
    assert all(p.model_config.get("defer_build") for p in PARTS)
    # EnvironmentSpec and AppSpec are built at import, as before
    assert EnvironmentSpec.model_config.get("defer_build") is False and EnvironmentSpec.__pydantic_complete__
    assert AppSpec.__pydantic_complete__


def test_a_generation_builds_no_part_and_looks_for_no_plugin():
    apps = sorted(FIXTURE_APPS.glob("*.yaml"))
    proc = subprocess.run([sys.executable, "-c", GENERATE, *map(str, apps)], cwd=ROOT, capture_output=True, text=True,
                          check=True)
    seen = json.loads(proc.stdout)
    assert seen["built"] == [], f"{seen['built']}: a part's own validator was built (whatever validated it alone)"
    # every other spec model is built as before (a part is the only deferred kind)
    assert seen["strict"] == sorted({"EnvironmentPart", *(p.__name__ for p in PARTS)})
    assert seen["plugins"] == []
    # the words for a refused spec (generator/config/messages.py) are imported only when a spec is refused
    assert seen["messages"] is False


@pytest.mark.parametrize("part", [p for p in PARTS if p.model_computed_fields], ids=lambda m: m.__qualname__)
def test_a_deferred_parts_computed_fields_read_as_the_built_models(part):
    """EnvInputs reads a computed field's return type (its Param); a deferred part's is evaluated by base.py, the
    same as pydantic's in the built EnvironmentSpec."""
    assert not part.__pydantic_complete__   # else this would compare pydantic with itself
    ours = base._declared(part)
    for name, info in part.model_computed_fields.items():
        assert info.return_type is PydanticUndefined
        built = EnvironmentSpec.model_computed_fields[name].return_type   # evaluated by pydantic's build
        value, *marks = typing.get_args(built)
        assert ours[name][0] == value and ours[name][1] is info and [ours[name][2]] == marks, name


ALONE = """
import json
from pydantic import ValidationError
from generator.components.network import NetworkEnv
seen = [NetworkEnv.__pydantic_complete__]
network = NetworkEnv.model_validate({"cidr": "10.0.0.0/16"})   # pydantic builds the validator at this first use
seen += [NetworkEnv.__pydantic_complete__, network.zone_kind]
for bad in ({"cidr": "10.0.0.0/16", "zone": "x"}, {"cidr": "10.0.0.0/16", "interface_endpoints": "yes"}):
    try:
        NetworkEnv.model_validate(bad)
    except ValidationError as exc:
        seen.append([e["type"] for e in exc.errors()])
print(json.dumps(seen))
"""


def test_a_part_validated_on_its_own_builds_then_checks_as_before():
    """(A fresh process: the parts stay unbuilt in this one.)"""
    proc = subprocess.run([sys.executable, "-c", ALONE], cwd=ROOT, capture_output=True, text=True, check=True)
    assert json.loads(proc.stdout) == [False, True, "region", ["extra_forbidden"], ["bool_type"]]


# --- pydantic without its plugin search (generator/config/pydantic_plugins.py) ---------------------------------------

def _real_loader():
    """pydantic's own plugin loader, loaded from its file under another name (the stand-in holds the real name)."""
    path = Path(pydantic.__file__).parent / "plugin" / "_loader.py"
    spec = importlib.util.spec_from_file_location("real_pydantic_plugin_loader", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_stand_in_is_what_pydantic_uses_and_pins_the_version():
    import pydantic.plugin._loader as loader
    assert loader is sys.modules[pydantic_plugins.LOADER] and getattr(loader, "__file__", None) is None
    assert list(loader.get_plugins()) == []
    pin = re.search(r'"pydantic==([^"]+)"', (ROOT / "pyproject.toml").read_text(encoding="utf-8")).group(1)
    assert pin == pydantic_plugins.PINNED == pydantic.VERSION
    # the validators are pydantic-core's own, as pydantic makes them when it finds no plugin
    assert type(AppSpec.__pydantic_validator__) is SchemaValidator


def test_the_real_loader_finds_no_plugin_here_and_none_when_disabled(monkeypatch):
    """The stand-in changes nothing: the real loader finds no plugin in this virtualenv, and under pydantic's
    documented switch it returns what the stand-in returns."""
    real = _real_loader()
    assert real.PYDANTIC_ENTRY_POINT_GROUP == "pydantic"
    assert {n for n in vars(real) if not n.startswith("_") and callable(getattr(real, n))
            and getattr(real, n).__module__ == real.__name__} == {"get_plugins"}
    monkeypatch.delenv("PYDANTIC_DISABLE_PLUGINS", raising=False)
    assert list(real.get_plugins()) == []
    real._plugins = None
    monkeypatch.setenv("PYDANTIC_DISABLE_PLUGINS", "__all__")
    assert tuple(real.get_plugins()) == tuple(pydantic_plugins._no_plugins()) == ()


def test_no_stand_in_for_another_pydantic_or_once_the_loader_is_imported(monkeypatch):
    monkeypatch.setattr(pydantic, "VERSION", "2.15.0")
    monkeypatch.delitem(sys.modules, pydantic_plugins.LOADER)
    assert pydantic_plugins.install() is False and pydantic_plugins.LOADER not in sys.modules
    monkeypatch.setattr(pydantic, "VERSION", pydantic_plugins.PINNED)
    sys.modules[pydantic_plugins.LOADER] = real = _real_loader()
    assert pydantic_plugins.install() is False and sys.modules[pydantic_plugins.LOADER] is real


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__qualname__)
def test_a_spec_models_annotations_are_evaluated_by_python(model):
    """Under `from __future__ import annotations` every field's annotation is a string that pydantic evaluates (a
    `typing.ForwardRef`: compile, then eval) when it collects the fields: 27 M instructions of every import for the
    spec's 290 fields. The spec modules do without it; a function annotation naming what exists only later (AppSpec,
    imported under TYPE_CHECKING) is quoted."""
    module = sys.modules[model.__module__]
    assert getattr(module, "annotations", None) is not __future__.annotations, \
        f"{module.__name__} (defines {model.__qualname__}): `from __future__ import annotations` leaves the fields' " \
        "annotations as text pydantic evaluates one by one"
