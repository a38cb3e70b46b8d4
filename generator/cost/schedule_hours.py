"""When schedules fire: the share of a week that off-hours keep services stopped, and how often a cron job runs.

Cron expressions are read with the field table of generator/config/schedules.py (the spec accepted them already).
The estimate walks four representative weeks minute by minute in the schedule's own time zone, so daylight saving
time is ignored (it moves an hour twice a year). Expressions with `L`, `W` or `#` are not read here: the caller
gets None and says that it assumed no savings (or one run a day).
"""
from __future__ import annotations

import datetime
import re

from generator.config.schedules import FIELDS

# Four weeks from a Monday (1 January 2029): every weekday counted equally often; a monthly schedule's runs are
# scaled from 28 days to the table's month.
_START = datetime.datetime(2029, 1, 1)
_MINUTES = 28 * 24 * 60
_MINUTES_PER_WEEK = 7 * 24 * 60


def _values(text: str, low: int, high: int, labels: tuple[str, ...]) -> set[int] | None:
    """The values one cron field matches, or None for what this reader does not handle (L, W, #)."""
    if text in ("*", "?"):
        return set(range(low, high + 1))
    found: set[int] = set()
    for item in text.split(","):
        if re.search(r"[LW#]", item):
            return None
        base, _, step = item.partition("/")
        if base == "*":
            start, end = low, high
        else:
            first, dash, last = base.partition("-")
            start = _number(first, labels)
            end = _number(last, labels) if dash else (high if step else start)
        found.update(range(start, end + 1, int(step) if step else 1))
    return found


def _number(text: str, labels: tuple[str, ...]) -> int:
    return int(text) if text.isdigit() else labels.index(text) + 1


def _matcher(expression: str):
    match = re.fullmatch(r"cron\((.*)\)", expression.strip())
    if match is None:
        return None
    parts = match.group(1).split()
    if len(parts) != len(FIELDS):
        return None
    sets = [_values(text, low, high, labels) for text, (_, low, high, labels, _) in zip(parts, FIELDS)]
    if any(s is None for s in sets):
        return None
    minutes, hours, dom, months, dow, _years = sets
    dom_any, dow_any = parts[2] == "?", parts[4] == "?"

    def fires(t: datetime.datetime) -> bool:
        weekday = (t.isoweekday() % 7) + 1            # cron: 1 = SUN ... 7 = SAT
        day_ok = (dow_any or weekday in dow) and (dom_any or t.day in dom)
        return t.minute in minutes and t.hour in hours and t.month in months and day_ok
    return fires


def off_share(stop: str, start: str) -> float | None:
    """The share of the time services are stopped (between a `stop` and the next `start`), or None when an
    expression cannot be read here."""
    stops, starts = _matcher(stop), _matcher(start)
    if stops is None or starts is None:
        return None
    stopped = False
    off = 0
    for minute in range(_MINUTES + _MINUTES_PER_WEEK):       # one week to settle, then a month counted
        t = _START + datetime.timedelta(minutes=minute)
        if stops(t):
            stopped = True
        if starts(t):
            stopped = False
        if stopped and minute >= _MINUTES_PER_WEEK:
            off += 1
    return off / _MINUTES


def runs_per_month(schedule: str, hours_per_month: float) -> float | None:
    """How often a schedule fires in a month of `hours_per_month` hours, or None when it cannot be read here."""
    rate = re.fullmatch(r"rate\((\d+) (minute|hour|day)s?\)", schedule.strip())
    if rate:
        every = int(rate.group(1)) * {"minute": 1 / 60, "hour": 1, "day": 24}[rate.group(2)]
        return hours_per_month / every
    fires = _matcher(schedule)
    if fires is None:
        return None
    count = sum(1 for minute in range(_MINUTES) if fires(_START + datetime.timedelta(minutes=minute)))
    return count * hours_per_month / (_MINUTES / 60)
