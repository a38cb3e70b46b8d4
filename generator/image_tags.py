"""Per-service image tags: the root parameter each service's tag travels in, and how the pipeline fills them.

Each service has its own root parameter `<Service>ImageTag` (`bootstrap`: no image yet, the service runs no tasks).
The pipeline's Promote step copies a commit's images into an environment's repositories and writes two files into
its output artifact: `image-tags.json` (the commit's tag for every service it promoted, `bootstrap` for a service
whose repository does not exist there yet: new to app.yaml, the stack update creates it), which PrepareRelease reads,
and `template-config.json`, the environment's committed params/<env>.config.json with those tags set, which the
Deploy action reads as its TemplateConfiguration. A template configuration file has no size limit of its own, unlike
ParameterOverrides (1 KB: CodePipeline user guide, quotas), so the number of services bounds nothing here.
"""
from __future__ import annotations

from generator import naming

SUFFIX = "ImageTag"
BOOTSTRAP = "bootstrap"
FILE = "image-tags.json"
CONFIG_FILE = "template-config.json"   # the environment's template configuration with the image tags set


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
    """The Promote step's output artifact in one environment's stage (unique in the pipeline)."""
    return f"{naming.pascal(env)}Tags"
