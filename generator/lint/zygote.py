"""The lint helper process (started by generator/lint/workers.py): imports cfn-lint and builds its rules once, then
lints the templates of each job it is sent in worker processes forked from itself, so that every worker starts with
the rules already built.

Protocol, one JSON document per line: the parent writes a job
`{"cwd", "regions", "ignore", "rules_dir", "files", "workers"}` to standard input; the helper answers on the original
standard output `{"findings": {file: [[file name, line, rule id, message], ...]}, "setup": s, "seconds": {file: s}}` or
`{"error": text}`. Anything else printed goes to standard error. End of input ends the helper. The lint server
(generator/lint/server.py) speaks the same protocol over its socket, one job per connection, from a job process
forked after `setup`.

Imports only cfn-lint, the standard library and generator/lint's light modules (not the generator), to keep the
helper small.
"""
from __future__ import annotations

import gc
import json
import os
import sys
import time
import traceback
from typing import Any

from generator.lint import speedups
from generator.lint.speedups import CHECKED_CFN_LINT  # noqa: F401 - the version the speed-ups were checked against

_STATE: dict[str, Any] = {}   # the rules, inherited by forked workers


def _rules(rules_dir: str):
    """cfn-lint's rules plus the project's, as cfnlint.runner.Runner builds them for `append_rules=[rules_dir]`
    (the parent uses a helper only where no .cfnlintrc adds rules or patches schemas)."""
    from cfnlint.api import ManualArgs
    from cfnlint.config import ConfigMixIn
    from cfnlint.runner import Runner

    return Runner(ConfigMixIn(**ManualArgs(append_rules=[rules_dir]))).rules


def _lint_one(path: str) -> tuple[str, list[list[Any]], float]:
    from cfnlint.runner.template.runner import run_template_by_file_path

    started = time.process_time()
    matches = run_template_by_file_path(path, _STATE["config"], _STATE["rules"], _STATE["ignore_bad_template"])
    found = [[os.path.basename(m.filename) if m.filename else "?", m.linenumber, m.rule.id, m.message]
             for m in matches]
    return path, found, time.process_time() - started


def _job(job: dict[str, Any]) -> dict[str, Any]:
    import multiprocessing

    from cfnlint.api import ManualArgs
    from cfnlint.config import ConfigMixIn
    from cfnlint.rules.errors import ConfigError, ParseError

    os.chdir(job["cwd"])
    files = job["files"]
    config = ConfigMixIn(**ManualArgs(templates=files, regions=job["regions"], ignore_checks=job["ignore"],
                                      append_rules=[job["rules_dir"]]))
    try:
        config.validate()
    except ValueError as exc:   # as cfnlint.api.lint_by_config reports it
        return {"findings": {"": [["", 0, ConfigError().id, str(exc)]]}, "seconds": {}}
    _STATE.update(config=config, ignore_bad_template=bool(config.ignore_bad_template) or not
                  ParseError().is_enabled(include_experimental=False, ignore_rules=config.ignore_checks,
                                          include_rules=config.include_checks,
                                          mandatory_rules=config.mandatory_checks))
    # largest first, one template per task: the two workers finish together
    order = sorted(files, key=lambda f: -os.path.getsize(f) if os.path.exists(f) else 0)
    workers = max(1, min(int(job["workers"]), len(order)))
    findings, seconds = {}, {}
    # Always in forked workers, even for one template: each job starts from the rules as built, never from a
    # previous job's state.
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        for path, found, spent in pool.imap_unordered(_lint_one, order, chunksize=1):
            findings[path], seconds[path] = found, spent
    return {"findings": findings, "seconds": seconds}


def setup(rules_dir: str) -> float:
    """What every job's workers inherit: cfn-lint imported, its rules and the project's built, the patches applied.
    Returns the seconds it took (the helper's, or the lint server's, start)."""
    started = time.perf_counter()
    # Importing cfn-lint and building its rules allocates about 190,000 objects that all stay alive: the cyclic
    # collector's passes over them while they are made find almost nothing and took a fifth of the setup (min of 8:
    # 1.24 -> 1.02 CPU s). Then what little cyclic garbage there is goes, and the rest is frozen: every job's workers
    # inherit it, their collector never scans it again, nor writes to its pages (fewer copy-on-write copies). The
    # collector decides only when unreachable objects are freed, never what cfn-lint computes.
    gc.disable()
    try:
        _STATE["rules"] = _rules(rules_dir)
        speedups.apply(_STATE["rules"])
    finally:
        gc.enable()
    gc.collect()
    gc.freeze()
    return time.perf_counter() - started


def answer(line: str) -> dict[str, Any]:
    """The reply to one job line: its findings, or the error that makes the parent lint elsewhere."""
    try:
        return _job(json.loads(line))
    except Exception:   # noqa: BLE001 - reported to the parent, which lints in-process instead
        return {"error": traceback.format_exc()}


def main() -> None:
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)   # stray prints must not corrupt the protocol
    setup_seconds = setup(sys.argv[1])
    for line in sys.stdin:
        reply = answer(line)
        reply["setup"] = setup_seconds
        try:
            out.write(json.dumps(reply) + "\n")
            out.flush()
        except OSError:   # the build is gone (killed): nobody to answer
            return


if __name__ == "__main__":
    main()
