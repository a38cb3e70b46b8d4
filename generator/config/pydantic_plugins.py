"""The spec models are built without looking for pydantic plugins.

pydantic looks for plugins when it builds its first validator: `pydantic.plugin._schema_validator` imports
`pydantic.plugin._loader`, which imports `importlib.metadata` (and with it email, csv, zipfile, socket, calendar: 31
modules a generation uses nowhere else), then scans every installed distribution's entry points for the `pydantic`
group. A plugin would instrument validation (e.g. logfire's); the spec wants none, and none is installed in the
virtualenv (requirements.lock; tests/test_spec_import_cost.py checks that the real loader finds none, so nothing
changes). pydantic's documented switch, PYDANTIC_DISABLE_PLUGINS=__all__, skips only the scan (the import stays) and,
an environment variable, would reach every process a build starts (the lint helper, checkov).

So `install()` puts, in this process only, a stand-in for `pydantic.plugin._loader` in `sys.modules` whose
`get_plugins` returns no plugin, as the real one does under PYDANTIC_DISABLE_PLUGINS=__all__: 46 M instructions of
every import (2.8 % of importing the generator and loading app.yaml; docs/performance.md, "the spec models' build at
import, third pass"). Only for the pinned pydantic (a private module may change with any release), and only before
anything looked for plugins (the real loader, once imported, stays).
"""
from __future__ import annotations

import sys
import types
from collections.abc import Iterable
from typing import Any

import pydantic

PINNED = "2.14.3"   # pyproject.toml's pin (tests/test_spec_import_cost.py keeps them equal)
LOADER = "pydantic.plugin._loader"


def _no_plugins() -> Iterable[Any]:
    """What the real `get_plugins` returns under PYDANTIC_DISABLE_PLUGINS=__all__."""
    return ()


def install() -> bool:
    """Put the stand-in in place; False (nothing done) with another pydantic or when the real loader is imported."""
    if pydantic.VERSION != PINNED or LOADER in sys.modules:
        return False
    import pydantic.plugin as package   # the real package (light: pydantic's config types, pydantic-core's)

    stand_in = types.ModuleType(LOADER, __doc__)
    stand_in.get_plugins = _no_plugins   # type: ignore[attr-defined]
    stand_in.PYDANTIC_ENTRY_POINT_GROUP = "pydantic"   # type: ignore[attr-defined]
    sys.modules[LOADER] = stand_in
    package._loader = stand_in   # type: ignore[attr-defined]  # as an import would have set it
    return True
