"""Runs every check over a staged build; returns findings as readable lines (empty means deployable)."""
from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Generic, TypeVar

from generator.lint import budgets, cache, parsed as parsing, workers
from generator.lint import handler_permissions as handlers
from generator.lint.ignored import IGNORED_RULES
from generator.lint.trace import event
from generator.records import record
from generator.wiring import RootParameter


@record
class LintStats:
    """What the last cfn_lint call of this process did (make bench prints it)."""

    templates: int = 0
    cached: int = 0          # passes found in the lint cache
    linted: int = 0
    cache: str = "off"       # the cache directory, or why there is none
    workers: int = 0         # processes that linted (0: this one)
    setup_seconds: float = 0.0
    lint_cpu_seconds: float = 0.0
    fallback: str = ""
    server: str = ""         # "warm": linted by a running lint server; "started": by one this build started


LAST = LintStats()
T = TypeVar("T")


class Alongside(Generic[T]):
    """`work` in a thread of its own, started at once: the build's own checks (pure Python over parsed templates and
    staged files) run while this thread waits for cfn-lint's verdicts from the lint helper (a blocking read, which
    leaves the interpreter to the checks). `result()` waits for it and returns its value, or raises what it raised;
    the build waits for it also when the lint failed or was interrupted (the checks end within a fraction of a
    second), so nothing reads the staged folders once the build has left them."""

    def __init__(self, work: Callable[[], T]) -> None:
        self._work, self._value, self._error = work, None, None
        self.seconds = 0.0
        self._thread = threading.Thread(target=self._run, name="gate-checks", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        started = time.perf_counter()
        try:
            self._value = self._work()
        except BaseException as exc:   # noqa: BLE001 - handed to the caller by result()
            self._error = exc
        self.seconds = time.perf_counter() - started

    def wait(self) -> None:
        self._thread.join()

    def result(self) -> T:
        self.wait()
        if self._error is not None:
            raise self._error
        return self._value   # type: ignore[return-value]


def cfn_lint(template_dir: Path, shown_as: str, region: str | list[str],
             parsed: Mapping[str, dict] | None = None) -> list[str]:
    """cfn-lint (warnings included) with the project rules, over every template of the directory, for every region
    in use (`region`: one or a list: environments may live in other regions than the app's); a template whose
    pass is in the lint cache (generator/lint/cache.py) is not linted again. `parsed`: the templates already parsed
    (staged_templates), whose references the cache keys follow."""
    return Lint(template_dir, shown_as, region).findings(parsed)


class Lint:
    """cfn_lint, started before the directory is complete: a build `offer`s each template as soon as it is written
    whole and parsed, and a template that references no other (a service's: its lint-cache key needs no other file) is
    looked up in the lint cache at once and, on a miss, sent to the lint workers (workers.Job), which start on it
    while the build renders the rest. A template that references others (the root, the pipeline's) waits for
    `findings`, when every file is in place, as every template did before. `findings` covers every template of the
    directory, offered or not, and fails as cfn_lint does; `close` gives up (the build failed or was interrupted).
    The keys are the same whenever they are taken (a staged file is written once, before it is offered)."""

    def __init__(self, template_dir: Path, shown_as: str, region: str | list[str]) -> None:
        self.template_dir, self.shown_as = template_dir, shown_as
        self.regions = [region] if isinstance(region, str) else list(region)
        self.ignored = sorted(IGNORED_RULES)
        self.stats = LintStats()
        self.parsed: dict[str, dict] = {}
        self.keys: dict[str, str | None] = {}   # every template looked at so far (None: always linted)
        self.sent: list[Path] = []
        self.store: cache.Store | None = None
        self.key_of: cache.Keys | None = None
        folder = cache.directory()
        rule_set = cache.rule_set(self.regions, self.ignored) if folder is not None else None
        if folder is None:
            self.stats.cache = "off"
        elif rule_set is None:
            self.stats.cache = "off (a .cfnlintrc can change the rules)"
        else:
            self.stats.cache, self.store = str(folder), cache.Store(folder)
            self.key_of = cache.Keys(template_dir, self.parsed, rule_set)
        self.job = workers.Job(self.regions, self.ignored)

    def offer(self, name: str, data: dict) -> None:
        """A template written whole into the directory, as parsed: linted now if it stands alone."""
        if name in self.keys or not isinstance(data, dict) or cache.references(data) != []:
            return
        self.parsed[name] = data
        self._look_up(self.template_dir / name)

    def _look_up(self, path: Path) -> None:
        key = self.key_of.key(path.name) if self.key_of is not None else None
        self.keys[path.name] = key
        if not (self.store is not None and key and self.store.passed(key)):
            self.sent.append(path)
            event(f"build: lint sent {path.name}")
            self.job.add(str(path))

    def findings(self, parsed: Mapping[str, dict] | None = None) -> list[str]:
        """Every template of the directory linted (or a cached pass); the findings as readable lines."""
        global LAST
        files = sorted(self.template_dir.glob("*.yaml"))
        stats = self.stats
        stats.templates = len(files)
        if self.key_of is not None:
            self.parsed.update(parsed if parsed is not None else _parse_each(files))
        for p in files:
            if p.name not in self.keys:
                self._look_up(p)
        todo = self.sent
        stats.cached, stats.linted = len(files) - len(todo), len(todo)
        result = self.job.result()
        stats.workers, stats.setup_seconds, stats.fallback = result.workers, result.setup_seconds, result.fallback
        stats.server = result.server
        stats.lint_cpu_seconds = sum(result.lint_seconds.values())
        findings = [f"{self.shown_as}/{where}:{line}: {rule} {message}"
                    for found in result.findings.values() for where, line, rule, message in found]
        if self.store is not None and not result.findings.get(""):
            recorded = False
            for p in todo:
                key = self.keys.get(p.name)
                if key and not result.findings.get(str(p)):
                    self.store.record_pass(key, p.name)
                    recorded = True
            if recorded:
                self.store.prune()
        LAST = stats
        return sorted(set(findings))

    def close(self) -> None:
        self.job.close()


def _parse_each(files: list[Path]) -> dict[str, dict]:
    """Templates that parse, by name (one that does not is linted every time; cfn-lint reports it)."""
    parsed = {}
    for p in files:
        try:
            parsed[p.name] = parsing.load(p)
        except Exception:   # noqa: BLE001 - any parse error: no key, always linted
            continue
    return parsed


def size_budgets(template_dir: Path, shown_as: str, inline: str | Collection[str], region: str = "us-east-1",
                 parsed: Mapping[str, dict] | None = None, pipeline_action: Collection[str] = ()) -> list[str]:
    """`inline`: the template(s) sent in the API request (pipeline-support.yaml), measured as packaged for `region`;
    `pipeline_action`: the template(s) a CodePipeline CloudFormation action deploys (root.yaml with a pipeline); the
    rest are read from S3. `parsed`: the templates already parsed (staged_templates), so a build parses each file
    once."""
    inline = {inline} if isinstance(inline, str) else set(inline)
    return [f"{shown_as}/{line}" for p in sorted(template_dir.glob("*.yaml"))
            for line in budgets.check(p.name, p.read_text(encoding="utf-8"), is_root=p.name in inline, region=region,
                                      data=parsed.get(p.name) if parsed else None,
                                      pipeline_action=p.name in pipeline_action)]


def handler_permissions(template_dir: Path, shown_as: str, region: str, deployers: Collection[handlers.Deployer],
                        parsed: Mapping[str, dict] | None = None) -> list[str]:
    """Each CloudFormation role allows what the resource handlers of the templates it deploys declare."""
    if not deployers:
        return []
    return handlers.check(parsed if parsed is not None else staged_templates(template_dir), shown_as, region,
                          deployers)


def staged_templates(template_dir: Path, known: Mapping[str, dict] | None = None) -> dict[str, dict]:
    """Every template of the directory as data (YAML parsing is most of the structural checks' time: parse once, and
    a text parsed by an earlier build comes from the cache: generator/lint/parsed.py); `known`: those parsed already."""
    return parsing.load_dir(template_dir, known)


def parameter_files(params_dir: Path, shown_as: str,
                    parameters: list[RootParameter] | Mapping[str, list[RootParameter]]) -> list[str]:
    """Each parameter file names exactly its template's parameters, with values the template accepts.

    `parameters`: the root template's (every file), or a map from a file's stem (`pipeline` for pipeline.json and
    pipeline.config.json) to its template's parameters, with "*" for all other files (the root template)."""
    sets = {"*": parameters} if not isinstance(parameters, Mapping) else parameters
    findings = []
    for path in sorted(params_dir.glob("*.json")):
        stem = path.name.removesuffix(".json").removesuffix(".config")
        template = stem if stem in sets and stem != "*" else "root"
        declared = {p.name: p for p in sets.get(stem, sets["*"])}
        if path.name.endswith(".config.json"):
            values = json.loads(path.read_text())["Parameters"]
        else:
            values = {i["ParameterKey"]: i["ParameterValue"] for i in json.loads(path.read_text())}
        where = f"{shown_as}/{path.name}"
        for name in sorted(set(values) - set(declared)):
            findings.append(f"{where}: {name} is not a parameter of the {template} template")
        for name, p in declared.items():
            if name not in values:
                if p.default is None:
                    findings.append(f"{where}: {name} has no value and no default")
                continue
            value = values[name]
            if p.allowed_values and value not in p.allowed_values:
                findings.append(f"{where}: {name}={value!r} is not one of {', '.join(p.allowed_values)}")
            if p.allowed_pattern and not re.fullmatch(p.allowed_pattern, value):
                findings.append(f"{where}: {name}={value!r} does not match {p.allowed_pattern}")
    return findings
