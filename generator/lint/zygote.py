"""The lint helper process (started by generator/lint/workers.py): imports cfn-lint and builds its rules once, then
lints the templates of each job it is sent in worker processes forked from itself, so that every worker starts with
the rules already built.

Protocol, one JSON document per line: the parent writes a job
`{"cwd", "regions", "ignore", "rules_dir", "files", "workers"}` to standard input; the helper answers on the original
standard output `{"findings": {file: [[file name, line, rule id, message], ...]}, "setup": s, "seconds": {file: s}}` or
`{"error": text}`. Anything else printed goes to standard error. End of input ends the helper.

Imports only cfn-lint and the standard library (not the generator), to keep the helper small.
"""
from __future__ import annotations

import json
import os
import sys
import time
import traceback
from typing import Any

_STATE: dict[str, Any] = {}   # the rules, inherited by forked workers


def _rules(rules_dir: str):
    """cfn-lint's rules plus the project's, as cfnlint.runner.Runner builds them for `append_rules=[rules_dir]`
    (the parent uses a helper only where no .cfnlintrc adds rules or patches schemas)."""
    from cfnlint.api import ManualArgs
    from cfnlint.config import ConfigMixIn
    from cfnlint.runner import Runner

    return Runner(ConfigMixIn(**ManualArgs(append_rules=[rules_dir]))).rules


CHECKED_CFN_LINT = "1.58.0"   # the version whose two nested-template readers _share_nested_decodes was checked against


def _share_nested_decodes() -> None:
    """cfn-lint parses a nested stack's template twice while linting its parent (NestedStackParameters for the
    parameters, the GetAtt context for the outputs; a third of the root's lint time with 50 services), and both read
    only its Parameters and Outputs: let them share one parse per template bytes, keeping only those two sections
    (a worker holds them for every nested template at once). In cfn-lint CHECKED_CFN_LINT only: another version
    may read more of a nested template, and is left as it is."""
    import hashlib

    import cfnlint.decode
    from cfnlint.rules.resources.cloudformation import NestedStackParameters as nested
    from cfnlint.version import __version__

    real = cfnlint.decode.decode
    if __version__ != CHECKED_CFN_LINT or getattr(nested, "decode", None) is not real:
        return
    parsed: dict[tuple[str, bytes], Any] = {}

    def decode(filename: str | None):
        try:
            with open(filename, "rb") as f:   # type: ignore[arg-type]
                key = (os.path.abspath(filename), hashlib.sha256(f.read()).digest())   # type: ignore[arg-type]
        except (OSError, TypeError):
            return real(filename)
        if key not in parsed:
            template, matches = real(filename)
            if isinstance(template, dict):
                template = {k: template[k] for k in ("Parameters", "Outputs") if k in template}
            parsed[key] = (template, matches)
        return parsed[key]

    cfnlint.decode.decode = decode   # what context._nested_stack_get_atts imports when it runs
    nested.decode = decode
    _STATE["shared_decodes"] = True


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


def main() -> None:
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)   # stray prints must not corrupt the protocol
    rules_dir = sys.argv[1]
    started = time.perf_counter()
    _STATE["rules"] = _rules(rules_dir)
    _share_nested_decodes()
    setup = time.perf_counter() - started
    for line in sys.stdin:
        try:
            reply = _job(json.loads(line))
        except Exception:   # noqa: BLE001 - reported to the parent, which lints in-process instead
            reply = {"error": traceback.format_exc()}
        reply["setup"] = setup
        try:
            out.write(json.dumps(reply) + "\n")
            out.flush()
        except OSError:   # the build is gone (killed): nobody to answer
            return


if __name__ == "__main__":
    main()
