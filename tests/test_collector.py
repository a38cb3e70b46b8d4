"""The cyclic collector paused while the generator imports, loads a spec and renders (generator/collector.py), guarded
without timing: each test fails when the collector's passes over what stays alive come back (docs/performance.md,
"generation alone")."""
from __future__ import annotations

import gc
import json
import subprocess
import sys

from generator import collector
from tests.support import FIXTURE_APPS, ROOT, collections_during


def test_paused_leaves_the_collector_as_it_found_it():
    assert gc.isenabled()
    with collector.paused():
        assert not gc.isenabled()
        with collector.paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with collector.paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_paused_hands_what_it_allocated_to_the_oldest_generation():
    """No pass inside the block, and afterwards generations 0 and 1 hold nothing of what it allocated: the next young
    pass walks only what comes after."""
    gc.collect()
    kept: list = []

    def allocate() -> None:
        with collector.paused():
            kept.extend([i] for i in range(50_000))

    assert collections_during(allocate) == []
    assert len(gc.get_objects(generation=0)) + len(gc.get_objects(generation=1)) < 1000
    assert any(obj is kept[-1] for obj in gc.get_objects(generation=2))


def test_paused_leaves_a_caller_s_frozen_objects_frozen():
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with collector.paused():
            kept = [[i] for i in range(1000)]
        assert gc.get_freeze_count() == frozen
        assert kept
    finally:
        gc.unfreeze()


def test_paused_frees_a_cycle_it_left_at_a_later_collection():
    """Pausing only defers: an unreachable cycle made inside the block is freed by the next full pass."""
    import weakref

    class Node:
        pass

    with collector.paused():
        node = Node()
        node.me = node
        ref = weakref.ref(node)
        del node
    assert ref() is not None
    gc.collect()
    assert ref() is None


# scripts/bench.py's _child_generate with the collections counted from the moment the generator's package is imported
GENERATE = """
import gc, json, sys
from pathlib import Path
import generator.collector
seen = []
gc.callbacks.append(lambda phase, info: seen.append(info["generation"]) if phase == "start" else None)
from generator import render
from generator.build import render_app
from generator.config import load_app
rendered = render_app(load_app(sys.argv[1]))
render.write_files(rendered.templates, Path(sys.argv[2]) / "templates")
render.write_files(rendered.params, Path(sys.argv[2]) / "params")
print(json.dumps({"collections": seen, "enabled": gc.isenabled(), "young": gc.get_count()[0]}))
"""


def test_a_generation_runs_no_collection(tmp_path):
    """Importing the generator, loading the spec and rendering it run no pass of the collector (with it running
    throughout, the default app's generation made some 120 passes, 65-75 ms of CPU), and leave it enabled."""
    proc = subprocess.run([sys.executable, "-c", GENERATE, str(FIXTURE_APPS / "monitored.yaml"), str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, check=True)
    result = json.loads(proc.stdout)
    assert (tmp_path / "templates" / "root.yaml").is_file()
    assert result == {"collections": [], "enabled": True, "young": result["young"]}
    assert result["young"] < 700
