"""Fuzz test (issue 9): mutated valid specs never crash the command line.

Hypothesis draws a valid fixture app and a random source for tests/fuzz_specs.py's mutations (hostile values such as
`yes`, `010`, `!!set`, deep brackets, huge numbers, broken schedules, credentials; deleted, duplicated or re-indented
lines; random characters; truncation; data-level changes) and runs `python -m generator build` in-process. Asserted
for every case: exit 0, 1 or 2 only; no traceback without --debug; every error line in the documented form
`file: [field.path: ]message`; exit 0 only with templates written by the lint gate (cfn-lint results are cached by the
bytes linted). Bounded to the small app and a fixed number of derandomized examples (about 20 s); long runs:
`.venv/bin/python -m tests.fuzz_specs --cases 5000` (docs/spec-checks.md has the last run's statistics).
"""
from __future__ import annotations

import random
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator.lint import gate
from tests import fuzz_specs
from tests.support import lint_by

BASES = {p.name: p.read_text(encoding="utf-8") for p in fuzz_specs.SMALL_APPS}
EXITS: dict = {}


@pytest.fixture(scope="module", autouse=True)
def _lint_cache():
    cache = fuzz_specs.LintCache()
    real, gate.Lint = gate.Lint, lint_by(cache)
    yield
    gate.Lint = real


@settings(max_examples=70, derandomize=True, database=None, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(base=st.sampled_from(sorted(BASES)), rng=st.randoms(use_true_random=False))
def test_mutated_specs_exit_0_1_or_2_with_documented_lines(base: str, rng: random.Random) -> None:
    text = fuzz_specs.mutate(BASES[base], rng)
    with tempfile.TemporaryDirectory() as tmp:
        outcome = fuzz_specs.run_case(text, Path(tmp))
    EXITS[outcome.code] = EXITS.get(outcome.code, 0) + 1
    assert outcome.violations == [], text


def test_the_fuzz_reached_both_outcomes() -> None:
    """The mutations must leave some specs valid (exit 0, built and linted) and break others (exit 2); a fuzz that
    only ever fails to parse tests nothing past the YAML reader."""
    exits = EXITS
    if not exits:  # run on its own: a few deterministic cases instead
        stats = fuzz_specs.fuzz(40, seed=1, apps=fuzz_specs.SMALL_APPS)
        assert stats["violations"] == []
        exits = stats["exits"]
    assert exits.get(0, 0) >= 2 and exits.get(2, 0) >= 25, exits
