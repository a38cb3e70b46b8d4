"""Checks on --out and --params before a build replaces them.

A build replaces each output directory as a whole (generator/swap.py), so a wrong path would silently turn a file
into a directory, delete the app spec, or swap one output directory inside the other. Each problem is one line,
`<path>: <what is wrong>; <what to do>`, and nothing is written.
"""
from __future__ import annotations

import os
from collections.abc import Collection
from pathlib import Path

from generator.errors import UsageError

GENERATED_SUFFIXES = (".yaml", ".yml", ".json")
# A file manager's files and empty-folder placeholders: losing them when the folder is replaced is harmless.
HARMLESS = frozenset({".DS_Store", "Thumbs.db", "desktop.ini", ".gitkeep", ".keep"})
DEFAULTS = {"--out": "templates_out", "--params": "params"}


def _real(path: Path) -> Path:
    """The absolute path with symlinks resolved in its parents (the last part is checked on its own)."""
    absolute = Path(os.path.abspath(path))
    return absolute.parent.resolve() / absolute.name if absolute.name else absolute


def check(out: Path, params: Path, spec: Path | None = None,
          generated: dict[str, Collection[str]] | None = None) -> None:
    """Raise UsageError with one line per problem. `generated`: option -> the names the build writes at the top of
    that directory (an existing directory holding anything else is refused rather than wiped)."""
    problems: list[str] = []
    real: dict[str, Path] = {}
    for option, path in (("--out", out), ("--params", params)):
        try:
            real[option] = _real(path)
        except (OSError, RuntimeError) as exc:   # RuntimeError: a symlink loop (Python 3.11)
            problems.append(f"{path}: {option} cannot be resolved ({exc}); pass a plain directory path")
            continue
        problem = _problem(option, path, real[option], spec, (generated or {}).get(option))
        if problem:
            problems.append(f"{path}: {problem}")
    if not problems and len(real) == 2:
        problems += _overlap(out, params, real["--out"], real["--params"])
    if problems:
        raise UsageError(problems)


def _problem(option: str, shown: Path, path: Path, spec: Path | None, generated: Collection[str] | None
             ) -> str | None:
    default = DEFAULTS[option]
    if not path.name or path.parent == path:
        return f"{option} is the root directory; pass a directory of its own (default: {default})"
    if os.path.islink(path):
        return (f"{option} is a symbolic link; pass the directory itself (the build replaces {option} with a new "
                "directory, which would replace the link, not what it points to)")
    if os.path.lexists(path) and not path.is_dir():
        return f"{option} is an existing file, not a directory; pass a directory (default: {default})"
    cwd = Path.cwd().resolve()
    if cwd == path or path in cwd.parents:
        return (f"{option} contains the current directory; the build replaces that whole directory, so pass one "
                f"of its own (default: {default})")
    if spec is not None:
        real_spec = _real(spec)
        if path in real_spec.parents:
            return (f"{option} contains the app spec {spec}; the build replaces that whole directory, so pass one of "
                    f"its own (default: {default})")
    if generated is not None and path.is_dir():
        foreign = sorted(e.name for e in os.scandir(path)
                         if e.name not in generated and e.name not in HARMLESS and not (e.is_file(follow_symlinks=False)
                                                             and e.name.endswith(GENERATED_SUFFIXES)))
        if foreign:
            return (f"{option} holds {foreign[0]!r}, which a build does not write; the build replaces the whole "
                    f"directory, so pass an empty or generated one (default: {default}), or move it away first")
    return None


def _overlap(out: Path, params: Path, real_out: Path, real_params: Path) -> list[str]:
    if real_out == real_params:
        return [f"{out}: --out and --params are the same directory; give each its own (default: templates_out and "
                "params)"]
    if real_out in real_params.parents:
        return [f"{params}: --params is inside --out ({out}); the build replaces each as a whole, so keep them side "
                "by side (default: templates_out and params)"]
    if real_params in real_out.parents:
        return [f"{out}: --out is inside --params ({params}); the build replaces each as a whole, so keep them side "
                "by side (default: templates_out and params)"]
    return []
