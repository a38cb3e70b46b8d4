"""The resource types the migrate stack creates: one named IAM role (the role grants every environment role has
cover it: its path is the environment's)."""
from __future__ import annotations

from generator.components import shared

TYPES = {**shared.pick("AWS::IAM::Role")}
