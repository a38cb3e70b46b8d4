"""The lint cache: which templates cfn-lint passed, by everything that decides its verdict.

A template's key is a SHA-256 over
- this cache's format, the Python version, cfn-lint's version file, the name and version of every package installed
  beside it (its dependencies among them), and the version files of the resource schemas it reads (bundled, or the
  newer ones `cfn-lint --update-specs` writes under ~/.cache/aws/cfn-lint);
- the rule set: the project rules' source files (every file of generator/lint/rules/), the ignored rules, the
  regions;
- the template's name and bytes;
- every template it references: each string under a nested stack's TemplateURL (a serverless application's
  Location), with whether it resolves inside the working directory (cfn-lint reads a nested template's outputs only
  then), and that file's interface, or that it is missing.
cfn-lint reads nothing else from disk for a template (NestedStackParameters and the GetAtt context read the nested
templates; the size rules read the template itself). In cfn-lint CHECKED_CFN_LINT (generator/lint/zygote.py) those
two readers take only the nested template's Parameters (names, and whether each has a Default) and Outputs (names),
and only when the file decodes without a finding, which its own lint then reports and fails the build with: so a
reference's interface is its Parameters and Outputs sections as parsed (types kept), and changing anything else in
a service's template (its environment variables, say) no longer lints the root again. In any other cfn-lint
version, or when the file does not parse or uses a transform the key cannot follow, the interface is the file's
whole bytes and its own references, transitively. Only passes are recorded: a template with any finding is linted again by every build. Nothing is cached when a `.cfnlintrc` in the home or working directory can change the rules,
or when a template uses a transform other than the serverless one (AWS::LanguageExtensions can build references the
key cannot see).

Entries are empty-ish files named by their key under `.cache/lint/` in the project (gitignored), or under
$FARGATE_STACKS_LINT_CACHE (`off` disables the cache). Each is written to a temporary file and renamed into place, so
concurrent builds never read a partial entry; a hit refreshes the entry's time, and the oldest entries beyond
MAX_ENTRIES are removed after a build (a concurrent build then at worst lints a template again).
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import sys
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import field
from pathlib import Path
from typing import Any

from generator.lint import CACHE_DEFAULT_DIR, CACHE_ENV, RULES_DIR, cfnlint_dir, cfnlintrc
from generator.lint import cache_directory as directory  # noqa: F401 - where the cache lives, None when off
from generator.records import record

FORMAT = b"fargate-stacks lint cache 2"
ENV = CACHE_ENV
DEFAULT_DIR = CACHE_DEFAULT_DIR
MAX_ENTRIES = 2000
SERVERLESS = "AWS::Serverless-2016-10-31"
# Properties through which cfn-lint opens another template, by resource type.
REFERENCES = {"AWS::CloudFormation::Stack": "TemplateURL", "AWS::Serverless::Application": "Location"}
_REMOTE = ("http://", "https://", "s3://")


def schema_versions() -> bytes:
    """cfn-lint reads its bundled schemas, or the ones --update-specs downloaded when they are newer."""
    cache_home = os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache"))
    parts = []
    for path in (cfnlint_dir() / "data" / "schemas" / "version.json",
                 Path(cache_home) / "aws" / "cfn-lint" / "schemas" / "version.json"):
        parts.append(path.read_bytes() if path.is_file() else b"-")
    return b"\0".join(parts)


def installed() -> bytes:
    """The name and version of every distribution installed beside cfn-lint (its dependencies among them)."""
    return "\0".join(sorted(n for n in os.listdir(cfnlint_dir().parent)
                            if n.endswith((".dist-info", ".egg-info")))).encode()


def rule_set(regions: Iterable[str], ignored: Iterable[str]) -> bytes | None:
    """The part of every key that is not the template: None when the cache cannot be trusted (a .cfnlintrc)."""
    if cfnlintrc():
        return None
    h = hashlib.sha256(FORMAT)
    h.update(f"python {sys.version_info[0]}.{sys.version_info[1]} {sys.implementation.name}".encode())
    h.update(b"\0" + (cfnlint_dir() / "version.py").read_bytes())
    # every distribution installed beside it, by name and version (cfn-lint's verdicts rest on PyYAML, regex, sympy,
    # networkx...): changing any package of the environment lints everything once
    h.update(b"\0" + installed())
    h.update(b"\0" + schema_versions())
    h.update(b"\0regions " + json.dumps(sorted(regions)).encode())
    h.update(b"\0ignored " + json.dumps(sorted(ignored)).encode())
    for rule in sorted(RULES_DIR.iterdir()):
        if rule.is_file() and rule.suffix == ".py":
            h.update(b"\0rule " + rule.name.encode() + b"\0" + rule.read_bytes())
    return h.digest()


@functools.cache
def interfaces_only() -> bool:
    """Whether the installed cfn-lint is the version whose nested-template readers were checked (read from its
    version file: importing cfn-lint takes most of a second)."""
    from generator.lint.zygote import CHECKED_CFN_LINT

    text = (cfnlint_dir() / "version.py").read_text(encoding="utf-8")
    found = re.search(r"""__version__\s*=\s*["']([^"']+)["']""", text)
    return found is not None and found.group(1) == CHECKED_CFN_LINT


def _encode(value: Any, out: list[bytes]) -> None:
    """A canonical encoding that keeps types and order (1 and "1", None and "" stay apart)."""
    if isinstance(value, dict):
        out.append(b"{%d" % len(value))
        for k, v in value.items():
            _encode(k, out)
            _encode(v, out)
    elif isinstance(value, list):
        out.append(b"[%d" % len(value))
        for v in value:
            _encode(v, out)
    elif isinstance(value, str):
        data = value.encode("utf-8", "surrogatepass")
        out.append(b"s%d:" % len(data) + data)
    else:
        out.append(f"{type(value).__name__}:{value!r};".encode())


def interface(data: Any) -> bytes | None:
    """What a parent's lint reads of a nested template (its Parameters and Outputs), or None if it is no mapping."""
    if not isinstance(data, dict):
        return None
    out: list[bytes] = []
    _encode({k: data[k] for k in ("Parameters", "Outputs") if k in data}, out)
    return b"".join(out)


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def references(data: Mapping[str, Any]) -> list[str] | None:
    """Every local location the template may open (strings under TemplateURL/Location, conditions included), or None
    when the template is not one whose references can be read off its resources."""
    transform = data.get("Transform")
    if transform is not None and transform != SERVERLESS and transform != [SERVERLESS]:
        return None
    resources = data.get("Resources")
    if not isinstance(resources, dict):
        return []
    found = set()
    for resource in resources.values():
        if not isinstance(resource, dict):
            continue
        prop = REFERENCES.get(resource.get("Type"))  # type: ignore[arg-type]
        props = resource.get("Properties")
        if prop and isinstance(props, dict) and prop in props:
            found.update(s for s in _strings(props[prop]) if not s.startswith(_REMOTE))
    return sorted(found)


@record
class Keys:
    """Keys for the templates of one directory, parsed once (the gate's own parse)."""

    template_dir: Path
    parsed: Mapping[str, Any]
    rules: bytes
    _refs: dict[Path, list[str] | None] = field(default_factory=dict)
    _data: dict[Path, Any] = field(default_factory=dict)

    def _parsed(self, path: Path) -> Any:
        """The template as data; None when it does not parse (or cannot be read)."""
        if path not in self._data:
            data = self.parsed.get(path.name) if path.parent == self.template_dir else None
            if data is None:
                from generator.lint import parsed
                try:
                    data = parsed.load(path)
                except Exception:   # noqa: BLE001 - unreadable or not a template
                    data = None
            self._data[path] = data
        return self._data[path]

    def _references_of(self, path: Path) -> list[str] | None:
        if path not in self._refs:
            data = self._parsed(path)   # one that does not parse references nothing cfn-lint opens
            self._refs[path] = references(data if data is not None else {})
        return self._refs[path]

    def key(self, name: str) -> str | None:
        """The template's key, or None when it must always be linted."""
        path = self.template_dir / name
        if name not in self.parsed:
            return None
        h = hashlib.sha256(self.rules)
        h.update(b"\0template " + name.encode() + b"\0" + path.read_bytes())
        cwd = os.path.abspath(os.getcwd())
        seen: set[Path] = set()
        todo = [path]
        while todo:
            current = todo.pop()
            refs = self._references_of(current)
            if refs is None:
                return None
            for ref in refs:
                target = Path(os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(current)), ref)))
                inside = str(target).startswith(cwd + os.sep)
                where = os.path.relpath(current, self.template_dir)   # not the staging folder's random name
                h.update(b"\0ref " + where.encode() + b"\0" + ref.encode() + (b" inside" if inside else b" outside"))
                if target.is_file():
                    # a transform the key cannot follow (references() is None) keeps the old, whole-file rule
                    data = self._parsed(target)
                    shape = interface(data) if interfaces_only() and self._references_of(target) is not None else None
                    if shape is not None:
                        h.update(b"\0interface " + shape)
                        continue
                    h.update(b"\0" + target.read_bytes())
                    if target not in seen:
                        seen.add(target)
                        todo.append(target)
                else:
                    h.update(b"\0missing")
        return h.hexdigest()


class Store:
    """Recorded passes under one directory."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _entry(self, key: str) -> Path:
        return self.folder / key[:2] / key

    def passed(self, key: str) -> bool:
        entry = self._entry(key)
        try:
            record = json.loads(entry.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        if record.get("verdict") != "pass":
            return False
        try:
            os.utime(entry)   # recently used: pruned last
        except OSError:
            pass
        return True

    def record_pass(self, key: str, name: str) -> None:
        """Atomically: a reader sees the whole entry or none. Failing to write only costs a later lint."""
        entry = self._entry(key)
        try:
            entry.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=entry.parent, prefix=".tmp-")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump({"verdict": "pass", "template": name}, f)
            os.replace(tmp, entry)
        except OSError:
            try:
                os.unlink(tmp)   # type: ignore[possibly-undefined]
            except (OSError, NameError):
                pass

    def prune(self, keep: int = MAX_ENTRIES) -> int:
        """Remove the least recently used entries beyond `keep` (and stray temporary files); returns how many."""
        entries = []
        try:
            for sub in os.scandir(self.folder):
                if not sub.is_dir(follow_symlinks=False):
                    continue
                for e in os.scandir(sub.path):
                    try:
                        entries.append((e.stat(follow_symlinks=False).st_mtime, e.path, e.name.startswith(".tmp-")))
                    except OSError:
                        continue
        except OSError:
            return 0
        if len(entries) <= keep:
            return 0
        entries.sort(reverse=True)
        removed = 0
        for _, path, _ in entries[keep:]:
            try:
                os.unlink(path)
                removed += 1
            except OSError:
                pass
        return removed
