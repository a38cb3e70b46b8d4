"""generator/buildspec_cache.py: a buildspec's compiled code and variables read from an earlier process's entry are
exactly what compiling it gives (the same code object, the same variables, the same rendered text for every golden
case), and an entry made from anything else (another source, environment, jinja2, Python or generator/buildspecs.py)
is never used: it is compiled again."""
from __future__ import annotations

import marshal

import pytest

from generator import buildspec_cache, buildspecs
from generator.lint import CACHE_DEFAULT_DIR, CACHE_ENV
from tests.test_buildspecs import CASES


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty cache folder of its own, and no compilation of this process kept (functools.cache)."""
    folder = tmp_path / "cache" / "buildspecs"
    monkeypatch.setenv(CACHE_ENV, str(folder.parent))
    buildspecs._compiled.cache_clear()
    yield folder
    buildspecs._compiled.cache_clear()


def _fresh(filename: str):
    """Compiled as a new process with an empty cache would (the entry it writes left aside)."""
    buildspecs._compiled.cache_clear()
    return buildspecs._compiled(filename)


def _parses(monkeypatch) -> list:
    import jinja2
    parsed: list = []
    original = jinja2.Environment._parse
    monkeypatch.setattr(jinja2.Environment, "_parse", lambda self, *args: parsed.append(args[1]) or
                        original(self, *args))
    return parsed


@pytest.mark.parametrize("name", buildspecs.names())
def test_a_cached_compilation_is_the_compilation(name, cache, monkeypatch):
    filename = name + buildspecs.SUFFIX
    compiled, variables = _fresh(filename)
    assert (cache / f"{filename}.{__import__('sys').implementation.cache_tag}.marshal").is_file()
    parsed = _parses(monkeypatch)
    buildspecs._compiled.cache_clear()
    cached, cached_variables = buildspecs._compiled(filename)
    assert parsed == []   # not vacuous: it came from the entry
    assert cached_variables == variables
    assert cached.root_render_func.__code__ == compiled.root_render_func.__code__
    assert sorted(cached.blocks) == sorted(compiled.blocks)


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_golden_case_renders_the_same_text_from_the_cache(case, cache, monkeypatch):
    name, context = CASES[case]
    monkeypatch.setenv(CACHE_ENV, "off")
    buildspecs._compiled.cache_clear()
    expected = buildspecs.render(name, **context)
    monkeypatch.setenv(CACHE_ENV, str(cache.parent))
    _fresh(name + buildspecs.SUFFIX)   # writes the entry
    buildspecs._compiled.cache_clear()
    assert buildspecs.render(name, **context) == expected


def test_an_entry_made_from_anything_else_is_compiled_again(cache, monkeypatch):
    filename = "image" + buildspecs.SUFFIX
    _fresh(filename)
    env = buildspecs.environment()
    source, path, _ = env.loader.get_source(env, filename)
    wanted = buildspec_cache.key(env, filename, path, source, buildspecs._module_text())
    assert buildspec_cache.load(filename, wanted) is not None
    for changed in (buildspec_cache.key(env, filename, path, source + "\n", buildspecs._module_text()),
                    buildspec_cache.key(env, filename, path, source, buildspecs._module_text() + "#"),
                    buildspec_cache.key(env, filename, "/elsewhere/image.yml.j2", source, buildspecs._module_text())):
        assert buildspec_cache.load(filename, changed) is None
    monkeypatch.setitem(env.filters, "another", str)   # the environment is part of the key
    assert buildspec_cache.load(filename, buildspec_cache.key(env, filename, path, source,
                                                              buildspecs._module_text())) is None
    monkeypatch.setattr(env, "trim_blocks", True)
    assert buildspec_cache.key(env, filename, path, source, buildspecs._module_text()) != wanted


def test_a_stale_entry_is_replaced_and_a_broken_one_ignored(cache, monkeypatch):
    filename = "migrate" + buildspecs.SUFFIX
    _fresh(filename)
    entry = next(cache.iterdir())
    fmt, key, code, variables = marshal.loads(entry.read_bytes())
    entry.write_bytes(marshal.dumps((fmt, key[:5] + ("another source",) + key[6:], code, ("x",))))
    parsed = _parses(monkeypatch)
    assert _fresh(filename)[1] == frozenset(variables) and parsed == [filename]
    assert marshal.loads(entry.read_bytes())[1] == key   # written again from this compilation
    for broken in (b"", b"not marshal", marshal.dumps((fmt, key)), marshal.dumps((fmt, key, "code", ()))):
        entry.write_bytes(broken)
        assert buildspec_cache.load(filename, key) is None
        assert _fresh(filename)[1] == frozenset(variables)


def test_off_reads_and_writes_nothing_and_an_unwritable_folder_is_no_error(cache, monkeypatch, tmp_path):
    monkeypatch.setenv(CACHE_ENV, "off")
    assert buildspec_cache.folder() is None
    _fresh("protect" + buildspecs.SUFFIX)
    assert not cache.exists()
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    monkeypatch.setenv(CACHE_ENV, str(blocked / "sub"))
    assert _fresh("protect" + buildspecs.SUFFIX)[1]


def test_the_entries_live_in_the_build_s_cache_folder_under_its_switch(monkeypatch):
    """One switch and one folder for every cache of a build: the lint cache's (the project's gitignored .cache)."""
    monkeypatch.delenv(CACHE_ENV, raising=False)
    assert buildspec_cache.folder() == CACHE_DEFAULT_DIR / "buildspecs"
    assert CACHE_DEFAULT_DIR.parents[1] == buildspecs.BUILDSPEC_DIR.parent and CACHE_DEFAULT_DIR.parent.name == ".cache"
    for off in ("off", "0", "no", "false"):
        monkeypatch.setenv(CACHE_ENV, off)
        assert buildspec_cache.folder() is None
