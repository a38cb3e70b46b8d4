"""The validation gate: cfn-lint (in worker processes, passes cached), our own rules, parameter files, size budgets.

Light on purpose: the command line imports it first, to start the lint helper before anything else.
"""
import functools
import importlib.util
import os
from pathlib import Path

RULES_DIR = Path(__file__).parent / "rules"   # the project's cfn-lint rules (E9xxx)
CACHE_ENV = "FARGATE_STACKS_LINT_CACHE"
CACHE_DEFAULT_DIR = Path(__file__).resolve().parents[2] / ".cache" / "lint"


def cache_directory() -> Path | None:
    """Where the build's caches live (the lint cache, the parsed templates, the stamps, the buildspecs' compiled
    code), or None when $FARGATE_STACKS_LINT_CACHE switches them off. Here, not in cache.py, because a generation
    (which never imports the lint cache) reads it too."""
    setting = os.environ.get(CACHE_ENV, "")
    if setting.lower() in ("off", "0", "no", "false"):
        return None
    return Path(setting) if setting else CACHE_DEFAULT_DIR


@functools.cache
def cfnlint_dir() -> Path:
    """cfn-lint's package directory, found without importing cfn-lint (most of a second): for its data files."""
    spec = importlib.util.find_spec("cfnlint")
    assert spec is not None and spec.submodule_search_locations, "cfn-lint is a pinned dependency"
    return Path(next(iter(spec.submodule_search_locations)))


def cfnlintrc() -> bool:
    """Whether cfn-lint finds a configuration file (home or working directory), which can change its rules."""
    return any((folder / name).exists() for folder in (Path.home(), Path.cwd())
               for name in (".cfnlintrc", ".cfnlintrc.yaml", ".cfnlintrc.yml"))
