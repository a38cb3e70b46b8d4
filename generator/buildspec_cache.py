"""The buildspecs' compiled code kept between processes, as Python keeps a module's bytecode in `__pycache__`.

Compiling the ten buildspec templates (jinja2's lexer, parser and code generation, then `compile()`) is about 30 ms of
CPU in every process that renders an app with a pipeline: an eighth of the default app's rendering. An entry holds
the code object and the template's variables (generator/buildspecs.py, `_compiled`) together with everything they
were made from, stored in full and compared in full when read: the template's source text and path, the environment's
settings (delimiters, whitespace options, filter and test names, ...), jinja2's version, Python's version and bytecode
magic number, and the text of generator/buildspecs.py itself (its code generator collects the variables). Anything
different, an entry that cannot be read or unmarshalled, and the template is compiled as before (and the entry
written again): an entry can be missing or useless, never stale. No hash: the comparison is exact.

Entries live in `buildspecs/` of the build's cache folder, beside the lint cache's entries and the parsed templates
(`.cache/lint/` in the project, gitignored, or $FARGATE_STACKS_LINT_CACHE; `off` there: never read nor written,
generator/lint/__init__.py `cache_directory`). Each is written to a temporary file and renamed into
place; a folder that cannot be written leaves the build as it was, compiling every time. Entries are code that
rendering runs, as `__pycache__` files are: the folder must be as trusted as the generator's own sources (never a
directory other users can write).
"""
from __future__ import annotations

import marshal
import os
import sys
from importlib._bootstrap_external import MAGIC_NUMBER   # what importlib.util re-exports, without importing it
from pathlib import Path
from typing import Any

from generator.lint import cache_directory

FOLDER = "buildspecs"   # in the build's cache folder
FORMAT = 1   # of an entry: (FORMAT, key, code, variables)


def folder() -> Path | None:
    """Where entries live; None when the build's caches are off."""
    base = cache_directory()
    return base / FOLDER if base is not None else None


def key(env: Any, filename: str, path: str | None, source: str, module_text: str) -> tuple:
    """Everything a template's compiled code and variables depend on, as comparable values."""
    import jinja2

    settings = (env.block_start_string, env.block_end_string, env.variable_start_string, env.variable_end_string,
                env.comment_start_string, env.comment_end_string, env.line_statement_prefix,
                env.line_comment_prefix, env.trim_blocks, env.lstrip_blocks, env.newline_sequence,
                env.keep_trailing_newline, env.optimized, repr(env.autoescape), env.is_async,
                tuple(sorted(env.extensions)), tuple(sorted(env.filters)), tuple(sorted(env.tests)),
                tuple(sorted(env.globals)), env.undefined.__module__ + "." + env.undefined.__qualname__,
                env.template_class.__module__ + "." + env.template_class.__qualname__)
    return (sys.version, MAGIC_NUMBER, jinja2.__version__, filename, path, source, settings, module_text)


def _entry(filename: str) -> Path | None:
    where = folder()
    return None if where is None else where / f"{filename}.{sys.implementation.cache_tag}.marshal"


def load(filename: str, wanted: tuple) -> tuple[Any, frozenset[str]] | None:
    """(code, variables) of the entry made from exactly `wanted`, or None."""
    entry = _entry(filename)
    if entry is None:
        return None
    try:
        data = marshal.loads(entry.read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        return None
    if not (type(data) is tuple and len(data) == 4 and data[0] == FORMAT and data[1] == wanted):
        return None
    _, _, code, variables = data
    if type(code) is not type(load.__code__) or type(variables) is not tuple:
        return None
    return code, frozenset(variables)


def store(filename: str, made_from: tuple, code: Any, variables: frozenset[str]) -> None:
    """Keep (code, variables) for the next process; a failure to write is ignored (the next one compiles)."""
    entry = _entry(filename)
    if entry is None:
        return
    temporary = entry.with_name(f".{entry.name}.{os.getpid()}.tmp")
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_bytes(marshal.dumps((FORMAT, made_from, code, tuple(sorted(variables)))))
        os.replace(temporary, entry)
    except (OSError, ValueError):
        try:
            temporary.unlink()
        except OSError:
            pass
