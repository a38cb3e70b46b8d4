"""Templates as data, parsed once per text.

A build reads every staged template as data (generator/cfnyaml.py) for the size budgets, the handler-permission
check, the lint cache's keys and the rename check, and the rename check reads the previous build's templates too.
YAML parsing is most of that work (about 0.7 s of CPU for the 55 templates of a 50-service app), and a rebuild after
one service changed would parse again 54 templates whose text the previous build already parsed, twice (the staged
copy and the previous one). A parse is a pure function of the text and the loader, so its result is kept under the
lint cache's directory (`parsed/<key>`, generator/lint/cache.py), keyed by a SHA-256 over the text and everything the
loader's result depends on: this format, the Python version (marshal's format), PyYAML's version and whether it uses
libyaml, and generator/cfnyaml.py's source. An entry holds the data in marshal's format (plain dicts, lists, strings,
numbers: no code is run to read it), written to a temporary file and renamed into place; it shares the lint cache's
trust, pruning (oldest entries beyond its MAX_ENTRIES) and switch (`FARGATE_STACKS_LINT_CACHE=off`: every template is
parsed). Each call returns fresh objects, so callers never share (or mutate) one another's data.
"""
from __future__ import annotations

import hashlib
import marshal
import os
import sys
import tempfile
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from generator import cfnyaml
from generator.lint import cache as lint_cache

FORMAT = b"fargate-stacks parsed template 1"
FOLDER = "parsed"


@cache
def _loader() -> bytes:
    """Everything besides the text that decides what cfnyaml.loads returns."""
    import yaml

    h = hashlib.sha256(FORMAT)
    h.update(f"\0python {sys.version_info[0]}.{sys.version_info[1]} marshal {marshal.version}".encode())
    h.update(f"\0pyyaml {yaml.__version__} libyaml {getattr(yaml, '__with_libyaml__', False)}".encode())
    h.update(b"\0" + Path(cfnyaml.__file__).read_bytes())
    return h.digest()


def _folder() -> Path | None:
    base = lint_cache.directory()
    return base / FOLDER if base is not None else None


def loads(text: str, folder: Path | None = None) -> dict[str, Any]:
    """cfnyaml.loads(text), from the cache when this text was parsed before (`folder`: the cache's, by default)."""
    folder = folder if folder is not None else _folder()
    if folder is None:
        return cfnyaml.loads(text)
    key = hashlib.sha256(_loader() + text.encode("utf-8", "surrogatepass")).hexdigest()
    entry = folder / key
    try:
        data = marshal.loads(entry.read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        data = None
    if isinstance(data, dict):
        try:
            os.utime(entry)   # recently used: pruned last
        except OSError:
            pass
        return data
    data = cfnyaml.loads(text)   # a template that does not parse raises, as before, and is not recorded
    _record(entry, data)
    return data


def _record(entry: Path, data: dict[str, Any]) -> None:
    """Atomically; data marshal cannot hold (none cfnyaml makes), or a failed write, only costs a later parse."""
    try:
        blob = marshal.dumps(data)
    except ValueError:
        return
    tmp = None
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=entry.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as f:
            f.write(blob)
        os.replace(tmp, entry)
    except OSError:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def load(path: Path) -> dict[str, Any]:
    """A template file as data (raises as cfnyaml.loads does when it is no template)."""
    return loads(path.read_text(encoding="utf-8"))


def load_dir(template_dir: Path, known: Mapping[str, dict[str, Any]] | None = None) -> dict[str, dict[str, Any]]:
    """Every template (`*.yaml`) of a directory as data, by file name; `known`: templates of it already parsed (a
    build's streamed ones), taken as they are."""
    folder = _folder()
    known = known or {}
    return {p.name: known[p.name] if p.name in known else loads(p.read_text(encoding="utf-8"), folder)
            for p in sorted(template_dir.glob("*.yaml"))}
