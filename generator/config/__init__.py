"""The app spec: models, cross-field rules and the loader.

Names are resolved on first use (PEP 562), so the components' spec modules can import the shared field types
(`generator.config.types`) while `models.py` composes `AppSpec` from the components."""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from generator import collector

if TYPE_CHECKING:
    from generator.config.loader import load_app, parse_app
    from generator.config.models import AppSpec, EnvironmentSpec, NetworkSpec, ServiceSpec

_WHERE = {"load_app": "loader", "parse_app": "loader", "AppSpec": "models", "EnvironmentSpec": "models",
          "NetworkSpec": "models", "ServiceSpec": "models"}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        with collector.paused():   # the spec models: all of them stay (generator/collector.py)
            module = importlib.import_module(f"generator.config.{_WHERE[name]}")
        return getattr(module, name)
    raise AttributeError(f"module 'generator.config' has no attribute {name!r}")
