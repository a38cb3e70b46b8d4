"""The app spec: models, cross-field rules and the loader."""
from generator.config.loader import load_app, parse_app
from generator.config.models import AppSpec, EnvironmentSpec, NetworkSpec, ServiceSpec

__all__ = ["AppSpec", "EnvironmentSpec", "NetworkSpec", "ServiceSpec", "load_app", "parse_app"]
