"""Registry nested stack: one ECR repository per service. (build() is being implemented.)"""
from __future__ import annotations

from typing import NamedTuple

from generator.wiring import OutputRef


class Repository(NamedTuple):
    name: OutputRef   # repository name (lowercase, valid for ECR)
    arn: OutputRef
    uri: OutputRef    # <account>.dkr.ecr.<region>.amazonaws.com/<name>


class RegistryOutputs(NamedTuple):
    repositories: dict[str, Repository]   # keyed by service name
