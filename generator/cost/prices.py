"""The dated price table (prices.json beside this file): a price per Region, us-east-1's where a Region has none."""
from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from generator.records import record

FILE = Path(__file__).with_name("prices.json")
BASE_REGION = "us-east-1"


@record(frozen=True)
class Table:
    data: dict[str, Any]

    @property
    def read(self) -> str:
        return self.data["read"]

    @property
    def hours_per_month(self) -> int:
        return self.data["hours_per_month"]

    def entry(self, region: str, key: str) -> dict[str, Any]:
        regional = self.data["prices"].get(region, {})
        return regional[key] if key in regional else self.data["prices"][BASE_REGION][key]

    def price(self, region: str, key: str) -> float:
        return float(self.entry(region, key)["price"])

    def has(self, key: str) -> bool:
        """Whether the table prices `key` at all (every key has a us-east-1 entry)."""
        return key in self.data["prices"][BASE_REGION]

    def knows(self, region: str) -> bool:
        return region in self.data["prices"]

    def regional(self, region: str, key: str) -> bool:
        return key in self.data["prices"].get(region, {})

    def source(self, name: str) -> dict[str, str]:
        return self.data["sources"][name]


@functools.cache
def load(path: Path = FILE) -> Table:
    return Table(json.loads(path.read_text(encoding="utf-8")))
