"""Generated output equals the committed golden files, byte for byte (update with `make golden`)."""
from __future__ import annotations

import difflib

import pytest

from tests.support import GOLDEN_SETS, ROOT, app_id, read_tree, rendered_files


@pytest.mark.parametrize("app_path", list(GOLDEN_SETS), ids=app_id)
def test_output_matches_golden(app_path):
    templates, params = rendered_files(app_path)
    want_t, want_p = GOLDEN_SETS[app_path]
    problems = []
    for got, want_dir in ((templates, want_t), (params, want_p)):
        want = read_tree(want_dir)
        for name in sorted(set(got) | set(want)):
            if got.get(name) != want.get(name):
                diff = difflib.unified_diff(want.get(name, "").splitlines(), got.get(name, "").splitlines(),
                                            f"committed/{name}", f"generated/{name}", lineterm="", n=2)
                problems.append("\n".join(list(diff)[:60]))
    assert not problems, (f"{app_path.relative_to(ROOT)} no longer produces the committed output; if the change "
                          "is intended run `make golden` and review the diff:\n" + "\n".join(problems))


@pytest.mark.parametrize("app_path", list(GOLDEN_SETS), ids=app_id)
def test_build_is_deterministic(app_path):
    assert rendered_files(app_path) == rendered_files(app_path)
