"""Schedule expressions, parsed the way EventBridge Scheduler and Application Auto Scaling read them.

- `cron(minutes hours day-of-month month day-of-week year)`: six fields; values and wildcards per field as in the
  table below; exactly one of day-of-month and day-of-week is `?` ("If you use * in one, you must use ? in the
  other"). Source: EventBridge User Guide, "Cron expressions" (docs.aws.amazon.com/eventbridge/latest/userguide/
  eb-scheduled-rule-pattern.html), which the Scheduler guide ("Schedule types on EventBridge Scheduler") and the
  Application Auto Scaling guide ("Schedule recurring scaling actions using cron expressions") refer to.
- `rate(value unit)`: a positive whole number and minute|minutes|hour|hours|day|days, the unit singular for 1 and
  plural otherwise (Scheduler API reference, ScheduleExpression; EventBridge User Guide, "Rate expressions").
- `at(yyyy-mm-ddThh:mm:ss)`: a one-time schedule.

`problem(expression, kinds)` returns what is wrong (and how to write it), or None.
"""
from __future__ import annotations

import datetime
import re

MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
# field name, lowest, highest, names for 1..n, wildcards besides , - * /
FIELDS = (
    ("minutes", 0, 59, (), ""),
    ("hours", 0, 23, (), ""),
    ("day-of-month", 1, 31, (), "?LW"),
    ("month", 1, 12, MONTHS, ""),
    ("day-of-week", 1, 7, DAYS, "?L#"),
    ("year", 1970, 2199, (), ""),
)
UNITS = ("minute", "hour", "day")
CRON_EXAMPLE = "cron(0 3 * * ? *)"
MAX_LENGTH = 256  # AWS::Scheduler::Schedule ScheduleExpression maxLength (the registry schema cfn-lint ships)


def problem(expression: str, kinds: tuple[str, ...] = ("cron", "rate", "at")) -> str | None:
    shown = repr(expression)
    if len(expression) > MAX_LENGTH:
        return f"{shown[:40]}... is {len(expression)} characters long; a schedule expression has at most {MAX_LENGTH}"
    match = re.fullmatch(r"(cron|rate|at)\((.*)\)", expression, flags=re.S)
    if match is None or match.group(1) not in kinds:
        forms = [{"cron": f"'{CRON_EXAMPLE}'", "rate": "'rate(1 hour)'", "at": "'at(2030-01-31T09:00:00)'"}[k]
                 for k in kinds]
        fields = expression.split()
        if match is None and len(fields) in (5, 6) and "(" not in expression:  # a crontab line
            fields += ["*"] * (6 - len(fields))
            forms = [f"cron({' '.join(_with_question_mark(fields))})"]
        written = forms[0] if len(forms) == 1 else f"{', '.join(forms[:-1])} or {forms[-1]}"
        return f"{shown} is not {'a schedule expression' if len(kinds) > 1 else 'a cron expression'}; " \
               f"write {written}"
    kind, body = match.groups()
    what = {"cron": _cron, "rate": _rate, "at": _at}[kind](body.split())
    return None if what is None else f"{shown}: {what}"


def _rate(parts: list[str]) -> str | None:
    fix = "write rate(value unit) with a whole number of at least 1, e.g. rate(5 minutes) or rate(1 hour)"
    if len(parts) != 2 or not parts[0].isdigit():
        return f"a rate is a whole number and a unit; {fix}"
    value, unit = int(parts[0]), parts[1]
    singular = unit.removesuffix("s")
    if singular not in UNITS:
        return f"'{unit}' is not a unit; use minute(s), hour(s) or day(s)"
    if value == 0:
        return f"a rate of 0 never runs; {fix}"
    want = singular if value == 1 else singular + "s"
    if unit != want:
        return f"write rate({value} {want}): the unit is singular for 1 and plural otherwise"
    return None


def _at(parts: list[str]) -> str | None:
    try:
        if len(parts) == 1 and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", parts[0]):
            datetime.datetime.fromisoformat(parts[0])
            return None
    except ValueError:
        pass
    return "a one-time schedule is at(yyyy-mm-ddThh:mm:ss), e.g. at(2030-01-31T09:00:00)"


def _cron(fields: list[str]) -> str | None:
    names = " ".join(f[0] for f in FIELDS)
    if len(fields) != len(FIELDS):
        hint = ""
        if len(fields) == 5:  # a crontab line: add the year and the `?`
            hint = f", e.g. cron({' '.join(_with_question_mark(fields + ['*']))})"
        return f"{len(fields)} fields; a cron expression has six ({names}){hint or ', e.g. ' + CRON_EXAMPLE}"
    for text, (name, low, high, labels, extra) in zip(fields, FIELDS):
        bad = _field_problem(text, low, high, labels, extra)
        if bad:
            return f"{name} '{text}' {bad}"
    dom, dow = fields[2], fields[4]
    if (dom == "?") == (dow == "?"):
        both = "are both '?'" if dom == "?" else f"are both set ('{dom}' and '{dow}')"
        return (f"day-of-month and day-of-week {both}; exactly one of them is '?', e.g. "
                f"cron({' '.join(_with_question_mark(fields))})")
    return None


def _with_question_mark(fields: list[str]) -> list[str]:
    """The same fields with `?` in whichever of day-of-month / day-of-week is less specific."""
    fields = list(fields)
    if fields[2] == "?" and fields[4] == "?":
        fields[4] = "*"
    if fields[2] != "?" and fields[4] != "?":
        fields[4 if fields[4] == "*" or fields[2] != "*" else 2] = "?"
    return fields


def _field_problem(text: str, low: int, high: int, labels: tuple[str, ...], extra: str) -> str | None:
    allowed = f"use {low}-{high}" + (f" or {labels[0]}-{labels[-1]}" if labels else "")
    if text == "?":
        return None if "?" in extra else "cannot be '?' (only day-of-month and day-of-week can)"
    for item in text.split(","):
        if not _item_ok(item, low, high, labels, extra):
            return f"is not a valid value; {allowed} with the wildcards {_wildcards(extra)}"
    return None


def _wildcards(extra: str) -> str:
    return " ".join([",", "-", "*", "/", *[c for c in extra if c != "?"]])


def _item_ok(item: str, low: int, high: int, labels: tuple[str, ...], extra: str) -> bool:
    def value(v: str) -> int | None:
        if v.isdigit():
            n = int(v)
            return n if low <= n <= high else None
        return labels.index(v) + 1 if v in labels else None

    if "L" in extra and "W" in extra and re.fullmatch(r"L|LW|\d{1,2}W", item):  # day-of-month
        return item in ("L", "LW") or value(item[:-1]) is not None
    if "#" in extra:  # day-of-week: L, 5L (last Thursday), 2#1 (first Monday)
        if item == "L":
            return True
        if item.endswith("L"):
            return value(item[:-1]) is not None
        if "#" in item:
            day, _, nth = item.partition("#")
            return value(day) is not None and nth in ("1", "2", "3", "4", "5")
    base, slash, step = item.partition("/")
    if slash and not (step.isdigit() and int(step) >= 1):
        return False
    if base == "*":
        return True
    start, dash, end = base.partition("-")
    if value(start) is None:
        return False
    return not dash or value(end) is not None
