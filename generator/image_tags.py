"""Per-service image tags: the root parameter each service's tag travels in, and how the pipeline fills them.

Each service has its own root parameter `<Service>ImageTag` (`bootstrap`: no image yet, the service runs no tasks).
The pipeline's Promote step copies a commit's images into an environment's repositories and writes
`image-tags.json` into its output artifact: the commit's tag for every service it promoted, `bootstrap` for a
service whose repository does not exist there yet (new to app.yaml; the stack update creates it). The Deploy
action reads each value from that file with `Fn::GetParam`, in its ParameterOverrides (JSON text, at most 1000
characters: `overrides_length` is checked when the app is loaded).
"""
from __future__ import annotations

import json

from generator import naming

SUFFIX = "ImageTag"
BOOTSTRAP = "bootstrap"
FILE = "image-tags.json"
MAX_PARAMETER_OVERRIDES = 1000  # CodePipeline's limit on a CloudFormation action's ParameterOverrides


def parameter(service: str) -> str:
    """`api` -> `ApiImageTag`."""
    return naming.service_parameter(service, SUFFIX)


def is_parameter(name: str) -> bool:
    """Whether a root parameter is a service's image tag (`ApiImageTag`)."""
    return name.endswith(SUFFIX) and len(name) > len(SUFFIX)


def service_prefix(name: str) -> str:
    """`ApiImageTag` -> `Api`: the prefix the service's other root parameters share (`ApiExecEnabled`, ...)."""
    return name[: -len(SUFFIX)]


def artifact(env: str) -> str:
    """The Promote step's output artifact in one environment's stage (unique in the pipeline, and short: its name
    is repeated in ParameterOverrides once per service)."""
    return f"{naming.pascal(env)}Tags"


def parameter_overrides(services: list[str], env: str) -> str:
    """The Deploy action's ParameterOverrides: each service's tag read from the Promote step's image-tags.json."""
    return json.dumps({parameter(s): {"Fn::GetParam": [artifact(env), FILE, parameter(s)]} for s in services},
                      separators=(",", ":"))
