"""The resource types the access stack creates: named IAM roles (the role grants every environment role has cover
them: their path is the environment's)."""
from __future__ import annotations

from generator.components import shared

TYPES = {**shared.pick("AWS::IAM::Role")}
