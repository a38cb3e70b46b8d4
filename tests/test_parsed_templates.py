"""The parse cache (generator/lint/parsed.py): a build parses each template text once, a rebuild parses only the
texts that changed, and what it returns is exactly what generator/cfnyaml.py parses."""
from __future__ import annotations

import shutil

import pytest
import yaml

from generator import cfnyaml, cli
from generator.lint import cache, gate, parsed
from tests.support import FIXTURE_APPS, GOLDEN_SETS, read_tree


@pytest.fixture
def counted(monkeypatch):
    """Every text cfnyaml.loads parses, in order."""
    texts: list[str] = []
    real = cfnyaml.loads

    def loads(text: str):
        texts.append(text)
        return real(text)

    monkeypatch.setattr(cfnyaml, "loads", loads)
    return texts


def _golden_templates() -> dict[str, str]:
    return {f"{app}/{path}": text for app, (templates, _params) in GOLDEN_SETS.items()
            for path, text in read_tree(templates).items() if path.endswith(".yaml") and "/" not in path}


def test_every_golden_template_comes_back_exactly_as_parsed(tmp_path, counted):
    templates = _golden_templates()
    assert len(templates) > 50
    for text in templates.values():
        first = parsed.loads(text, tmp_path)
        again = parsed.loads(text, tmp_path)
        expected = yaml.load(text, Loader=cfnyaml._Loader)   # noqa: S506 - cfnyaml's safe loader
        assert first == again == expected
        assert repr(first) == repr(again) == repr(expected)   # same key order and types (1 and "1", True and "true")
    assert sorted(counted) == sorted(set(templates.values()))   # each distinct text parsed once: the rest were hits


def test_each_call_returns_its_own_objects(tmp_path):
    text = "Resources:\n  Q: {Type: AWS::SQS::Queue}\n"
    first = parsed.loads(text, tmp_path)
    first["Resources"]["Q"]["Type"] = "changed"
    assert parsed.loads(text, tmp_path) == {"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}


def test_the_key_is_the_text_and_the_loader(tmp_path, counted, monkeypatch):
    parsed.loads("A: 1\n", tmp_path)
    parsed.loads("A: 1\n", tmp_path)
    assert parsed.loads("A: '1'\n", tmp_path) == {"A": "1"}
    assert len(counted) == 2
    monkeypatch.setattr(parsed, "_loader", lambda: b"another PyYAML, Python or cfnyaml.py")
    assert parsed.loads("A: 1\n", tmp_path) == {"A": 1}
    assert len(counted) == 3


@pytest.mark.parametrize("junk", [b"", b"\x00garbage", b"\xe9", None])
def test_a_damaged_or_foreign_entry_is_a_miss(tmp_path, counted, junk):
    import marshal
    parsed.loads("A: 1\n", tmp_path)
    (entry,) = [p for p in tmp_path.iterdir() if not p.name.startswith(".")]
    entry.write_bytes(junk if junk is not None else marshal.dumps(["not", "a", "template"]))
    assert parsed.loads("A: 1\n", tmp_path) == {"A": 1}
    assert len(counted) == 2


def test_a_text_that_does_not_parse_raises_as_before_and_is_not_recorded(tmp_path):
    for _ in range(2):
        with pytest.raises(ValueError):
            parsed.loads("- a list\n", tmp_path)
    assert not [p for p in tmp_path.iterdir() if not p.name.startswith(".")]


def test_with_the_lint_cache_off_every_text_is_parsed(tmp_path, counted, monkeypatch):
    monkeypatch.setenv(cache.ENV, "off")
    (tmp_path / "a.yaml").write_text("A: 1\n")
    gate.staged_templates(tmp_path)
    gate.staged_templates(tmp_path)
    assert len(counted) == 2


def test_entries_live_in_the_lint_cache_and_are_pruned_with_it(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.ENV, str(tmp_path / "cache"))
    for i in range(5):
        (tmp_path / f"t{i}.yaml").write_text(f"A: {i}\n")
    gate.staged_templates(tmp_path)
    assert len(list((tmp_path / "cache" / parsed.FOLDER).iterdir())) == 5
    assert cache.Store(tmp_path / "cache").prune(keep=2) == 3


def test_a_build_parses_each_template_once_and_a_rebuild_only_what_changed(tmp_path, monkeypatch, counted, capsys):
    """The whole build (cli build): the gate's checks, the lint cache's keys and the rename check share one parse of
    each staged text; after one service's environment changed, the rebuild parses that service's template alone
    (its previous text, and every unchanged one, parsed by the first build)."""
    monkeypatch.setenv(cache.ENV, str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    spec = yaml.safe_load((FIXTURE_APPS / "workers.yaml").read_text())
    (tmp_path / "app.yaml").write_text(yaml.safe_dump(spec))
    argv = ["build", "--app", "app.yaml", "--out", "templates_out", "--params", "params", "--quiet"]
    assert cli.main(argv) == 0, capsys.readouterr()
    written = {p.name: p.read_text() for p in (tmp_path / "templates_out").glob("*.yaml")}
    assert sorted(counted) == sorted(written.values())   # each text once
    counted.clear()
    spec["services"][0]["environment"] = {**spec["services"][0].get("environment", {}), "CHANGED": "yes"}
    (tmp_path / "app.yaml").write_text(yaml.safe_dump(spec))
    assert cli.main(argv) == 0, capsys.readouterr()
    rewritten = {p.name: p.read_text() for p in (tmp_path / "templates_out").glob("*.yaml")}
    changed = sorted(text for name, text in rewritten.items() if written.get(name) != text)
    assert changed == [rewritten[f"service-{spec['services'][0]['name']}.yaml"]]
    assert counted == changed
    shutil.rmtree(tmp_path / "cache")


def test_templates_already_parsed_are_taken_as_they_are_and_the_rest_parsed(tmp_path):
    """A build's streamed templates are parsed once: load_dir takes them from `known` (the same objects), parses the
    other files of the folder, and leaves out a name that is not a file of it."""
    (tmp_path / "a.yaml").write_text("Resources: {}\n", encoding="utf-8")
    (tmp_path / "b.yaml").write_text("Outputs: {}\n", encoding="utf-8")
    streamed = {"Resources": {"Kept": {}}}
    found = gate.staged_templates(tmp_path, {"a.yaml": streamed, "gone.yaml": {}})
    assert list(found) == ["a.yaml", "b.yaml"]
    assert found["a.yaml"] is streamed and found["b.yaml"] == {"Outputs": {}}
