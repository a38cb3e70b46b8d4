"""The frontend component: the static site on S3 behind CloudFront, which also fronts the API (docs/frontend.md)."""
from generator.components.base import Component
from generator.components.frontend.spec import (RULES, FrontendEnv, FrontendSpec, api_paths, env_inputs,
                                                fronts_api)
from generator.components.frontend.stack import FrontendOutputs, build
from generator.components.frontend.types import TYPES

COMPONENT = Component(
    "frontend", "static frontend on S3 behind CloudFront, which also fronts the API", TYPES, RULES,
    spec_key="frontend", spec=FrontendSpec, settings=(FrontendEnv,))

__all__ = ["COMPONENT", "FrontendEnv", "FrontendOutputs", "FrontendSpec", "api_paths", "build", "env_inputs",
           "fronts_api"]
