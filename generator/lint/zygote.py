"""The lint helper process (started by generator/lint/workers.py): imports cfn-lint and builds its rules once, then
lints the templates of each job it is sent in worker processes forked from itself, so that every worker starts with
the rules already built.

Protocol, one JSON document per line: the parent writes a job
`{"cwd", "regions", "ignore", "rules_dir", "files", "workers"}` to standard input; the helper answers on the original
standard output `{"findings": {file: [[file name, line, rule id, message], ...]}, "setup": s, "seconds": {file: s}}` or
`{"error": text}`. Anything else printed goes to standard error. End of input ends the helper. The lint server
(generator/lint/server.py) speaks the same protocol over its socket, one job per connection, from a job process
forked after `setup`.

Imports only cfn-lint and the standard library (not the generator), to keep the helper small.
"""
from __future__ import annotations

import gc
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


def _speedups() -> None:
    """cfn-lint's `evolve` methods (Context, Path, FunctionFilter and every Validator class, which it copies a few
    hundred thousand times per build) look up `dataclasses.fields()` on each call, a fifth of a template's lint
    time: give each class the same method with its field names read once. The result is the same object built
    from the same arguments, so every verdict is unchanged (tests/test_lint_cache.py compares findings with
    cfn-lint's API in this process). In cfn-lint CHECKED_CFN_LINT only, like _share_nested_decodes."""
    from dataclasses import fields

    import cfnlint.jsonschema.validators as validators
    from cfnlint.context import context
    from cfnlint.jsonschema import _filter
    from cfnlint.version import __version__

    if __version__ != CHECKED_CFN_LINT:
        return

    def fast_evolve(cls: type, fields_of: type) -> None:
        names = tuple(f.name for f in fields(fields_of) if f.init)

        def evolve(self, **kwargs):
            for name in names:
                if name not in kwargs:
                    kwargs[name] = getattr(self, name)
            return self.__class__(**kwargs)

        evolve.__doc__ = cls.evolve.__doc__
        cls.evolve = evolve

    fast_evolve(context.Context, context.Context)
    fast_evolve(_filter.FunctionFilter, _filter.FunctionFilter)
    path_names = tuple(f.name for f in fields(context.Path))   # Path.evolve copies every field, init or not

    def path_evolve(self, **kwargs):
        for name in path_names:
            if name not in kwargs:
                kwargs[name] = getattr(self, name)
        return self.__class__(**kwargs)

    context.Path.evolve = path_evolve
    real_create = validators.create

    def create(*args, **kwargs):
        cls = real_create(*args, **kwargs)
        fast_evolve(cls, cls)
        return cls

    validators.create = create   # what Validator.extend calls
    _dispatch_by_keyword()
    for value in list(vars(validators).values()):
        if isinstance(value, type) and value.__name__ == "Validator" and hasattr(value, "extend"):
            fast_evolve(value, value)
    _STATE["speedups"] = True


def _dispatch_by_keyword() -> None:
    """E1101 (CfnLint.cfnLint) runs, for each keyword of a schema, every child rule that declares it, scanning all
    child rules for each keyword of each property it validates: look the rules up by keyword instead, in the same
    order (child rules in order, one run per matching declaration), from a table built on the first call of a
    worker, once the rules are complete."""
    from cfnlint.jsonschema._utils import Unset
    from cfnlint.rules.jsonschema.CfnLint import CfnLint

    def cfnLint(self, validator, keywords, instance, schema):
        validator = validator.evolve(function_filter=validator.function_filter.evolve(add_cfn_lint_keyword=False))
        table = self.__dict__.get("_by_keyword")
        if table is None or table[0] is not self.child_rules or table[1] != len(self.child_rules):
            by_keyword: dict[str, list] = {}
            for rule in self.child_rules.values():
                if rule is None or not rule.id:
                    continue
                for rule_keyword in rule.keywords:
                    by_keyword.setdefault(rule_keyword, []).append(rule)
            table = self.__dict__["_by_keyword"] = (self.child_rules, len(self.child_rules), by_keyword)
        by_keyword = table[2]
        for keyword in keywords:
            for rule in by_keyword.get(keyword, ()):
                for err in rule.validate(validator, keyword, instance, schema):
                    if err.rule is None:
                        if isinstance(err.validator, Unset):
                            err.rule = rule
                    yield err

    cfnLint.__doc__ = CfnLint.cfnLint.__doc__
    CfnLint.cfnLint = cfnLint


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
        _share_nested_decodes()
        _speedups()
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
