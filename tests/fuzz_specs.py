"""Fuzzing the app spec: mutate valid specs as text and as data, run the real command line in-process, classify.

Used by tests/test_fuzz.py (a bounded run in `make test`) and for long local runs:

    .venv/bin/python -m tests.fuzz_specs --cases 5000 [--seed 1] [--apps all]

which prints the statistics (cases, exits by code, seconds) and every violation. A violation is an exit other than
0/1/2, a traceback (an exception escaping `main` without --debug), an error line not in the documented form
`file: [field.path: ]message` (one line), or an exit 0 whose output is not lint-clean.
"""
from __future__ import annotations

import argparse
import collections
import contextlib
import hashlib
import io
import random
import re
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import yaml

from generator import cli
from generator.config import yaml_reader
from generator.lint import gate
from tests.support import lint_by

REPO = Path(__file__).resolve().parents[1]
FIXTURE_APPS = REPO / "tests" / "fixtures" / "apps"
SMALL_APPS = [FIXTURE_APPS / "minimal.yaml"]
ALL_APPS = sorted(FIXTURE_APPS.glob("*.yaml")) + sorted((REPO / "examples").glob("*/app.yaml"))

# Values a hostile or careless user types; each replaces a scalar somewhere in a valid spec.
HOSTILE = [
    "yes", "no", "on", "off", "y", "010", "0o17", "0x1F", "1_000", "50:00", "2024-01-01", "~", "null", "''", '""',
    "!!set {a, b}", "!!binary aGk=", "!Ref x", "!!python/object:os.system x", "&a [*a]", "*undefined", "<<: 5",
    "9" * 4301, "[" * 300 + "]" * 300, "-1", "0", "2147483648", "99999999999999999999", "1e400", ".nan", ".inf",
    "true", "false", "3.5", "'${FOO}'", "'${Application'", "'cron(a b c d e f)'", "'rate(0 minutes)'", "'cron()'",
    "'cron(0 3 * * *)'", "'cron(0 3 * * MON *)'", "'rate(often)'", "localtime", "posixrules", "US/Pacific",
    "us-east-9", "Ireland", "'16.4'", "'16.99'", "'\"'", '"a\\nb"', '"\\u2028"', '"\\x1b[31m"', '"\\t"',
    "password=hunter22", "AKIAIOSFODNN7EXAMPLE", "'/health check'", "release..x", "{}", "[]", "[[]]", "{a: 1}",
    "[a, b]", "x" * 300, "'   '", "-", "?", ":", "'#'", "|\n  block\n  text", ">-\n  folded", "'10.0.0.0/8'",
    "'0.0.0.0/0'", "'10.0.0.0/33'", "vpc-1", "'arn:aws:acm:us-east-1:123456789012:certificate/x'", "/",
    "'CodeDeployDefault.ECSAllAtOnce'", "per-az", "none", "existing", "web", "worker", "cron", "'日本語'", "'é'",
]
_SCALAR_LINE = re.compile(r"^(\s*(?:- )?[A-Za-z_][\w-]*:[ ]+)(\S.*)$")


@dataclass
class Outcome:
    code: int | str          # 0, 1, 2, or "traceback"
    stderr: str
    violations: list[str]


def mutate(text: str, rng: random.Random) -> str:
    """One to three random edits of `text`: a hostile value, a deleted/duplicated/re-indented line, random
    characters, a truncation, or a change of the parsed data written back as YAML."""
    for _ in range(rng.randint(1, 3)):
        lines = text.split("\n")
        op = rng.choice(["hostile", "hostile", "hostile", "delete", "duplicate", "indent", "chars", "truncate",
                         "data"])
        scalars = [i for i, line in enumerate(lines) if _SCALAR_LINE.match(line)]
        if op == "hostile" and scalars:
            i = rng.choice(scalars)
            lines[i] = _SCALAR_LINE.sub(lambda m: m.group(1) + rng.choice(HOSTILE), lines[i])
        elif op == "delete" and len(lines) > 1:
            del lines[rng.randrange(len(lines))]
        elif op == "duplicate":
            i = rng.randrange(len(lines))
            lines.insert(i, lines[i])
        elif op == "indent":
            i = rng.randrange(len(lines))
            lines[i] = ("  " + lines[i]) if rng.random() < 0.5 else lines[i][2:]
        elif op == "chars":
            i = rng.randrange(len(text) + 1)
            noise = "".join(rng.choice(" :-[]{}#&*!|>'\"%@`,?\t\n\\\x00\x07é\u2028abc019") for _ in range(rng.randint(1, 4)))
            text = text[:i] + noise + text[i:]
            continue
        elif op == "truncate":
            text = text[: rng.randrange(len(text) + 1)]
            continue
        elif op == "data":
            text = _mutate_data(text, rng)
            continue
        text = "\n".join(lines)
    return text


def _mutate_data(text: str, rng: random.Random) -> str:
    try:
        data = yaml_reader.read(text)
    except yaml_reader.SpecYAMLError:
        return text
    containers = []
    stack = [data]
    while stack:
        node = stack.pop()
        if isinstance(node, (dict, list)) and node:
            containers.append(node)
            stack.extend(node.values() if isinstance(node, dict) else node)
    if not containers:
        return text
    node = rng.choice(containers)
    keys = list(node) if isinstance(node, dict) else list(range(len(node)))
    key = rng.choice(keys)
    action = rng.choice(["remove", "junk", "copy"])
    if action == "remove":
        del node[key]
    elif action == "junk":
        node[key] = rng.choice([None, True, 0, -5, 2**40, 1.5, "", " ", "x", [], {}, ["a"], {"k": "v"}])
    else:  # copy a sibling's value (a service's settings onto another name, ...)
        node[key] = node[rng.choice(keys)]
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


class LintCache:
    """cfn-lint results by the bytes linted: the same templates give the same findings, so a repeated build of an
    unchanged rendering (a mutation of a comment, say) need not lint again."""

    def __init__(self) -> None:
        self.results: dict[str, list[str]] = {}
        real = gate.Lint   # the build's, before the fuzz replaces it with this cache
        self.real = lambda template_dir, shown_as, region, parsed=None: real(template_dir, shown_as, region).findings(
            parsed)
        self.runs = 0

    def __call__(self, template_dir: Path, shown_as: str, region: str | list[str], parsed=None) -> list[str]:
        digest = hashlib.sha256(",".join([region] if isinstance(region, str) else region).encode())
        for path in sorted(template_dir.glob("*.yaml")):
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
        key = digest.hexdigest()
        if key not in self.results:
            self.runs += 1
            self.results[key] = self.real(template_dir, shown_as, region, parsed)
        return self.results[key]


ERROR_LINE = r"^{source}: \S[^\n]*$"


def run_case(text: str | bytes, work: Path) -> Outcome:
    spec = work / "app.yaml"
    spec.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass"))
    out, params = work / "out", work / "params"
    stdout, stderr = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            code: int | str = cli.main(["build", "--app", str(spec), "--out", str(out), "--params", str(params)])
    except BaseException:  # noqa: BLE001 - whatever escapes main would be a traceback on the terminal
        code = "traceback"
        stderr.write(traceback.format_exc())
    err = stderr.getvalue()
    violations = []
    if code not in (0, 1, 2):
        violations.append(f"exit {code}: {err[-2000:]}")
    if "Traceback" in err or "Traceback" in stdout.getvalue():
        violations.append(f"traceback shown: {err[-2000:]}")
    if code == 2:
        pattern = re.compile(ERROR_LINE.format(source=re.escape(str(spec))))
        for line in err.split("\n")[:-1] if err.endswith("\n") else err.split("\n"):
            if not pattern.match(line) or len(line.splitlines()) != 1:
                violations.append(f"error line not in the documented form: {line!r}")
        if not err:
            violations.append("exit 2 without a message")
    if code == 0 and not (out / "root.yaml").is_file():
        violations.append("exit 0 without templates")
    return Outcome(code, err, violations)


def fuzz(cases: int, seed: int, apps: list[Path], lint_clean_check: bool = False) -> dict:
    rng = random.Random(seed)
    bases = [p.read_text(encoding="utf-8") for p in apps]
    exits: collections.Counter = collections.Counter()
    violations: list[tuple[str, str]] = []
    cache = LintCache()
    started = time.monotonic()
    real_lint, gate.Lint = gate.Lint, lint_by(cache)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for n in range(cases):
                text = mutate(rng.choice(bases), rng)
                work = Path(tmp) / str(n)
                work.mkdir()
                outcome = run_case(text, work)
                exits[outcome.code] += 1
                if outcome.code == 0 and lint_clean_check:  # an independent lint of what was written
                    findings = cache.real(work / "out", "out", yaml_reader.read(text)["region"])
                    if findings:
                        outcome.violations.append(f"exit 0 but not lint-clean: {findings[:3]}")
                violations += [(text, v) for v in outcome.violations]
    finally:
        gate.Lint = real_lint
    return {"cases": cases, "exits": dict(exits), "seconds": round(time.monotonic() - started, 1),
            "lint_runs": cache.runs, "violations": violations}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--apps", choices=["small", "all"], default="all")
    parser.add_argument("--lint-check", action="store_true", help="lint every exit-0 output again, independently")
    args = parser.parse_args()
    stats = fuzz(args.cases, args.seed, SMALL_APPS if args.apps == "small" else ALL_APPS, args.lint_check)
    print(f"cases {stats['cases']}, exits {stats['exits']}, {stats['seconds']} s, cfn-lint runs {stats['lint_runs']}, "
          f"violations {len(stats['violations'])}")
    for text, violation in stats["violations"][:20]:
        print("---", violation, "\n", text[:3000])


if __name__ == "__main__":
    main()
