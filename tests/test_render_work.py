"""The render's speed-ups, guarded without timing (docs/performance.md, "Render"): each test fails when the work a
speed-up removed comes back. The bytes they produce are the golden files' (tests/test_golden.py)."""
from __future__ import annotations

import gc

import pytest

from generator.build import render_app
from generator.config import load_app
from tests.support import FIXTURE_APPS


@pytest.fixture(scope="module")
def app():
    return load_app(FIXTURE_APPS / "workers.yaml")


def _collections_during(fn) -> list[int]:
    seen: list[int] = []

    def callback(phase: str, info: dict) -> None:
        if phase == "start":
            seen.append(info["generation"])

    gc.callbacks.append(callback)
    try:
        fn()
    finally:
        gc.callbacks.remove(callback)
    return seen


def test_render_runs_without_the_cyclic_collector_and_leaves_it_as_it_was(app):
    assert gc.isenabled()
    assert _collections_during(lambda: render_app(app)) == []
    assert gc.isenabled()
    gc.disable()
    try:
        render_app(app)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_what_render_allocated_is_not_walked_by_the_next_young_collection(app):
    """render_app hands its objects to the oldest generation without a pass: right after it, generation 0 and 1 hold
    nothing of it (a young collection walks only what was allocated since)."""
    gc.collect()
    render_app(app)
    assert gc.get_count()[0] < 700   # the young generation's threshold: no pass pending over the render's objects
    assert len(gc.get_objects(generation=0)) + len(gc.get_objects(generation=1)) < 1000


def test_a_caller_s_frozen_objects_stay_frozen(app):
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        render_app(app)
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()


def test_a_buildspec_template_is_parsed_once(monkeypatch):
    """Its variables and its compiled form come from one parse (generator/buildspecs.py, _compiled), not one parse
    each, and not again for the next render."""
    import jinja2

    from generator import buildspecs
    from tests.test_buildspecs import WEB, WORKER

    parsed: list[str | None] = []
    original = jinja2.Environment._parse

    def counting(self, source, name, filename):
        parsed.append(name)
        return original(self, source, name, filename)

    monkeypatch.setattr(jinja2.Environment, "_parse", counting)
    buildspecs._compiled.cache_clear()
    try:
        assert buildspecs.render("image", **WEB) != buildspecs.render("image", **WORKER)
        assert "service" in buildspecs.variables("image")
    finally:
        buildspecs._compiled.cache_clear()
    assert parsed == ["image.yml.j2"]
