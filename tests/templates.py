"""Reading generated templates back as data (CloudFormation short-form tags included)."""
from __future__ import annotations

from generator.cfnyaml import loads as load

__all__ = ["load"]
