"""`make assurance`: docs/verification.md, the assurance matrix. For every resource type the generator emits (the
default app and the fixture apps), which independent proxies verify it and what remains unverified.

Every column is derived from the source of the proxy itself, never typed in by hand:

- cfn-lint schema: the type has a CloudFormation registry schema (or SAM schema) in the pinned cfn-lint for the app's
  region, so the gate validates its properties;
- project rule: a rule in generator/lint/rules/ selects resources of the type (read from the rule's code);
- handler permissions: the gate checks the handler actions of the type against the CloudFormation role that deploys it
  (generator/lint/handler_permissions.py), for apps with a pipeline and, for the fixture apps, against the role their
  environments would get;
- checkov: checkov's CloudFormation check registry (and graph checks) in .venv-checkov has checks for the type, and
  tests/test_checkov.py requires zero failures;
- emulator: the rehearsal (tests/test_rehearsal.py, the default app's environment stacks) creates the type in moto and
  describes it (the describe call each component declares for its types, TypeFacts.verify; moto's own list of
  supported types);
- Stubber flow: a test drives the code that acts on the type against exact API responses (STUBBER_FLOWS, each claim
  checked against the test file).

    .venv/bin/python scripts/assurance.py          # rewrite docs/verification.md
    .venv/bin/python scripts/assurance.py --check  # exit 1 when it is stale
"""
from __future__ import annotations

import argparse
import ast
import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from troposphere import encode_to_dict  # noqa: E402

from generator import cfnyaml  # noqa: E402
from generator.build import render_app  # noqa: E402
from generator.config import load_app  # noqa: E402
from generator.lint import handler_permissions as hp  # noqa: E402
from generator.pipeline import DEPLOYERS, environment_permissions  # noqa: E402
from generator.pipeline.grants import document  # noqa: E402
from generator.root import ROOT_FILE  # noqa: E402

OUTPUT = ROOT / "docs" / "verification.md"
APPS = [ROOT / "app.yaml", *sorted((ROOT / "tests" / "fixtures" / "apps").glob("*.yaml"))]
RULES = ROOT / "generator" / "lint" / "rules"
CHECKOV_PYTHON = ROOT / ".venv-checkov" / "bin" / "python"
PROXIES = ("cfn-lint schema", "project rule", "handler permissions", "checkov", "emulator", "Stubber flow")

# Types whose runtime API a Stubber-driven test exercises: (test file, API operations it stubs). Each claim is checked
# against the file, so a rewritten test that stops stubbing them makes this script fail.
STUBBER_FLOWS = {
    "AWS::CloudFormation::Stack": ("tests/test_deploy_flows.py", (
        "create_change_set", "describe_change_set", "execute_change_set", "describe_stack_events",
        "set_stack_policy", "detect_stack_drift"), "deploy, preview, drift and destroy of the nested stacks"),
    "AWS::CodeDeploy::DeploymentGroup": ("tests/test_continue_reroute_lambda.py", ("continue_deployment",),
                                         "continuing a held blue/green release"),
    "AWS::ECR::Repository": ("tests/test_scan_gate.py", ("describe_images", "describe_image_scan_findings"),
                             "the scan gate's image scan findings"),
}

CHECKOV_REGISTRY = r"""
import importlib, json, os, pkgutil, sys
import checkov
from checkov.cloudformation.checks.resource.registry import cfn_registry
import checkov.cloudformation.checks.resource.aws as pkg
for m in pkgutil.iter_modules(pkg.__path__):
    importlib.import_module(f"{pkg.__name__}.{m.name}")
found = {t: sorted(c.id for c in checks) for t, checks in cfn_registry.checks.items()}
graph = os.path.join(os.path.dirname(checkov.__file__), "cloudformation", "checks", "graph_checks", "aws")
def types(node):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "resource_types":
                yield from (v if isinstance(v, list) else [v])
            else:
                yield from types(v)
    elif isinstance(node, list):
        for v in node:
            yield from types(v)
for name in sorted(os.listdir(graph)) if os.path.isdir(graph) else []:
    if name.endswith(".json"):
        spec = json.load(open(os.path.join(graph, name)))
        for t in set(types(spec.get("definition", {}))):
            if t.startswith("AWS::"):
                found.setdefault(t, []).append(spec["metadata"]["id"])
json.dump(found, sys.stdout)
"""


# --- what the generator emits ----------------------------------------------------------------------------------
class Build:
    def __init__(self, path: Path):
        self.name = path.stem
        self.app = load_app(path)
        self.rendered = render_app(self.app)
        self.templates = {n: cfnyaml.loads(t) for n, t in self.rendered.templates.items() if n.endswith(".yaml")}

    def types(self) -> set[str]:
        return {r["Type"] for t in self.templates.values() for r in (t.get("Resources") or {}).values()}

    def root_types(self) -> set[str]:
        return {t for _, t, _ in hp.resource_types(self.templates, ROOT_FILE)}


# --- the proxies -----------------------------------------------------------------------------------------------
def schema_types(region: str) -> set[str]:
    sam = json.loads((hp.SCHEMAS / "providers" / "sam.json").read_text())
    return set(hp._provider(region)) | set(sam)


def rule_types() -> dict[str, set[str]]:
    """Type -> ids of the project rules that select its resources (`h.resources(cfn, <types>)`, directly or through a
    helper of _helpers.py)."""
    def constants(tree: ast.Module) -> dict[str, set[str]]:
        found = {}
        for node in tree.body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                found[node.targets[0].id] = strings(node.value, {})
        return found

    def strings(node: ast.AST, named: dict[str, set[str]]) -> set[str]:
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("AWS::"):
            return {node.value}
        if isinstance(node, ast.Name):
            return named.get(node.id, set())
        if isinstance(node, ast.Starred):
            return strings(node.value, named)
        if isinstance(node, ast.Dict):
            return set().union(*(strings(k, named) for k in node.keys if k is not None))
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            return set().union(*(strings(e, named) for e in node.elts)) if node.elts else set()
        return set()

    def selected(tree: ast.AST, named: dict[str, set[str]], helpers: dict[str, set[str]]) -> set[str]:
        found: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                fn = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                if fn == "resources":
                    for arg in node.args[1:]:
                        found |= strings(arg, named)
                found |= helpers.get(fn, set())
        return found

    helper_tree = ast.parse((RULES / "_helpers.py").read_text())
    helper_constants = constants(helper_tree)
    helpers = {f.name: selected(f, helper_constants, {}) for f in helper_tree.body if isinstance(f, ast.FunctionDef)}
    by_type: dict[str, set[str]] = defaultdict(set)
    for path in sorted(RULES.glob("*.py")):
        if path.name.startswith("_"):
            continue
        tree = ast.parse(path.read_text())
        rule_id = next(node.value.value for node in ast.walk(tree) if isinstance(node, ast.Assign)
                       and any(isinstance(t, ast.Name) and t.id == "id" for t in node.targets)
                       and isinstance(node.value, ast.Constant))
        for rtype in selected(tree, constants(tree), helpers):
            by_type[rtype].add(rule_id)
    return by_type


def handler_results(builds: list[Build]) -> dict[str, dict]:
    """Type -> {actions, allow_listed, not_iam} over every app: the pipeline's roles where an app has a pipeline,
    else the environment role its environments would get (the grants environment_permissions makes for its types)."""
    per_type: dict[str, dict[str, set]] = defaultdict(lambda: {"actions": set(), "allow_listed": set(),
                                                               "not_iam": set()})
    for build in builds:
        results = []
        if build.rendered.deployers:
            results = [hp.evaluate(build.templates, d, build.app.region) for d in build.rendered.deployers]
        else:
            grants = environment_permissions.environment_stack(build.app, build.root_types())
            stmts = encode_to_dict(document(grants))["Statement"]
            results = [hp.evaluate(build.templates, DEPLOYERS[0], build.app.region, stmts)]
        for result in results:
            if result.missing or result.problems:
                raise SystemExit(f"{build.name}: the handler-permission check fails: "
                                 f"{[n.action for n in result.missing] + list(result.problems)}")
            for need in result.needs:
                per_type[need.resource_type]["actions"].add((need.handler, need.action))
            for need in result.allow_listed:
                per_type[need.resource_type]["allow_listed"].add(need.action)
            for need in result.not_iam:
                per_type[need.resource_type]["not_iam"].add(need.action)
    # a transformed type is checked through what the transform creates
    for declared, created in hp.TRANSFORMED.items():
        if all(c in per_type for c in created):
            per_type[declared] = per_type[created[0]]
    return per_type


def checkov_checks() -> dict[str, list[str]]:
    if not CHECKOV_PYTHON.exists():
        raise SystemExit(f"{CHECKOV_PYTHON} is missing: run `make test` (or `make assurance`) to install .venv-checkov")
    out = subprocess.run([str(CHECKOV_PYTHON), "-c", CHECKOV_REGISTRY], capture_output=True, text=True, check=True,
                         timeout=300).stdout
    return json.loads(out)


def emulator_described(default: Build) -> dict[str, str]:
    """Type -> the describe call the rehearsal verifies it with, for the types of the rehearsed stacks (the default
    app's environment) that moto creates through CloudFormation."""
    from scripts.deploylib import rehearsal
    declared = rehearsal.verifiers()
    return {t: declared[t].call for t in default.root_types() if t in declared and rehearsal.emulator_supports(t)}


def emulator_skipped(types: set[str]) -> set[str]:
    from scripts.deploylib import rehearsal
    return {t for t in types if not rehearsal.emulator_supports(t)}


def stubber_flows() -> dict[str, str]:
    found = {}
    for rtype, (test, operations, what) in STUBBER_FLOWS.items():
        text = (ROOT / test).read_text()
        missing = [op for op in operations if f'"{op}"' not in text or "Stubber" not in text]
        if missing:
            raise SystemExit(f"STUBBER_FLOWS claims {test} stubs {', '.join(missing)}; it does not (update the claim)")
        found[rtype] = f"{test} ({what})"
    return found


def deploy_tooling_calls() -> list[str]:
    """The API operations scripts/deploylib makes with the operator's credentials (the rehearsal package, a folder
    below, only runs against the emulator), as `client.operation`, from the code."""
    calls: set[str] = set()
    clients = {"cf": "cloudformation", "s3": "s3", "sts": "sts"}
    for path in sorted((ROOT / "scripts" / "deploylib").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            owner = node.func.value
            name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
            if isinstance(owner, ast.Call) and isinstance(owner.func, ast.Attribute) and owner.func.attr == "client" \
                    and owner.args and isinstance(owner.args[0], ast.Constant):
                calls.add(f"{owner.args[0].value}.{node.func.attr}")
            elif name in clients and node.func.attr in ("get_paginator", "get_waiter"):
                if node.args and isinstance(node.args[0], ast.Constant):
                    calls.add(f"{clients[name]}.{node.args[0].value}")
            elif name in clients and not node.func.attr.startswith("_"):
                calls.add(f"{clients[name]}.{node.func.attr}")
    return sorted(c for c in calls if not c.endswith((".get_paginator", ".get_waiter", ".exceptions")))


# --- the matrix ------------------------------------------------------------------------------------------------
def matrix() -> tuple[list[dict], dict]:
    builds = [Build(path) for path in APPS]
    default = builds[0]
    region = default.app.region
    emitted: dict[str, list[str]] = defaultdict(list)
    for build in builds:
        for rtype in sorted(build.types()):
            emitted[rtype].append(build.name)
    schemas, rules, handlers = schema_types(region), rule_types(), handler_results(builds)
    checkov, described, flows = checkov_checks(), emulator_described(default), stubber_flows()
    skipped = emulator_skipped(set(emitted))
    rows = []
    for rtype in sorted(emitted):
        h = handlers.get(rtype)
        cells = {
            "cfn-lint schema": "yes" if rtype in schemas else "",
            "project rule": ", ".join(sorted(rules.get(rtype, ()))),
            "handler permissions": (f"{len({a for _, a in h['actions']})} actions" if h and h["actions"] else ""),
            "checkov": (f"{len(checkov[rtype])} check{'s' if len(checkov[rtype]) > 1 else ''}"
                        if checkov.get(rtype) else ""),
            "emulator": described.get(rtype, ""),
            "Stubber flow": flows.get(rtype, ""),
        }
        gaps = []
        if not cells["cfn-lint schema"]:
            gaps.append(f"no registry schema in {region}")
        if not cells["project rule"]:
            gaps.append("no project rule")
        if not cells["handler permissions"]:
            gaps.append(hp.UNDECLARED.get(rtype, "its schema declares no handler permissions"))
        if not cells["checkov"]:
            gaps.append("no checkov check")
        if not cells["emulator"]:
            gaps.append("moto's CloudFormation skips it" if rtype in skipped else
                        "not in the rehearsed environment stacks" if rtype not in default.root_types() else
                        "created by moto, no describe call in the rehearsal")
        if not cells["Stubber flow"]:
            gaps.append("no Stubber flow")
        if h and h["not_iam"]:
            gaps.append("handler entries that are not IAM actions: " + ", ".join(sorted(h["not_iam"])))
        rows.append({"type": rtype, "apps": emitted[rtype], "cells": cells,
                     "count": sum(bool(v) for v in cells.values()), "gaps": gaps})
    pairs = {(t, a) for t, h in handlers.items() if t not in hp.TRANSFORMED for _, a in h["actions"]}
    totals = {
        "types": len(rows),
        "at least two": sum(r["count"] >= 2 for r in rows),
        "per proxy": {p: sum(bool(r["cells"][p]) for r in rows) for p in PROXIES},
        "handler types": len({t for t, h in handlers.items() if h["actions"] and t not in hp.TRANSFORMED}),
        "handler pairs": len(pairs),
        "handler entries": sum(len(h["actions"]) for t, h in handlers.items() if t not in hp.TRANSFORMED),
        "allow-listed": len({(t, a) for t, h in handlers.items() if t not in hp.TRANSFORMED
                             for a in h["allow_listed"]}),
        "allow-list entries": len(hp.ALLOW_LIST),
        "not IAM": len({(t, a) for t, h in handlers.items() if t not in hp.TRANSFORMED for a in h["not_iam"]}),
        "apps": [b.name for b in builds],
        "tooling calls": deploy_tooling_calls(),
    }
    return rows, totals


def render(rows: list[dict], totals: dict) -> str:
    out = [
        "# Verification: what checks each resource type",
        "",
        "Generated by `make assurance` (scripts/assurance.py) from the proxies' own sources; "
        "tests/test_assurance.py fails when this file is stale. Do not edit by hand.",
        "",
        "There is no AWS account here, so every resource type the generator emits is checked by independent offline "
        "proxies instead:",
        "",
        "- **cfn-lint schema**: the CloudFormation registry schema (or SAM schema) of the pinned cfn-lint validates "
        "its properties in the build gate.",
        "- **project rule**: a project lint rule (generator/lint/rules/, docs/lint-rules.md) selects its resources.",
        "- **handler permissions**: the gate checks every action its registry handlers declare against the "
        "CloudFormation role that deploys it (generator/lint/handler_permissions.py); the count is of distinct IAM "
        "actions.",
        "- **checkov**: checkov has checks for it (zero failures required, tests/test_checkov.py).",
        "- **emulator**: the rehearsal creates it in moto through the deploy code and describes it with the call shown "
        "(tests/test_rehearsal.py, the default app's environment).",
        "- **Stubber flow**: a test drives the code acting on it against exact API responses.",
        "",
        f"Apps: {', '.join(totals['apps'])} (the default app and the fixture apps).",
        "",
        "## Totals",
        "",
        f"- {totals['types']} resource types; {totals['at least two']} verified by at least two proxies.",
        "- Per proxy: " + ", ".join(f"{p} {n}" for p, n in totals["per proxy"].items()) + ".",
        f"- Handler-permission check: {totals['handler types']} resource types, {totals['handler pairs']} "
        f"(type, action) pairs checked ({totals['handler entries']} handler entries), {totals['allow-listed']} "
        f"allow-listed ({totals['allow-list entries']} allow-list entries, each with its reason), "
        f"{totals['not IAM']} handler entries that are not IAM actions (nothing to grant; listed below).",
        "",
        "## Matrix",
        "",
        "| type | apps | " + " | ".join(PROXIES) + " | proxies | unverified |",
        "| --- | --- | " + " | ".join("---" for _ in PROXIES) + " | --- | --- |",
    ]
    for r in rows:
        cells = [r["cells"][p] or "—" for p in PROXIES]
        out.append(f"| `{r['type']}` | {', '.join(r['apps'])} | " + " | ".join(cells)
                   + f" | {r['count']} | {'; '.join(r['gaps'])} |")
    out += [
        "",
        "## What no proxy here shows",
        "",
        "IAM evaluation (resource scopes and conditions are checked against the IAM reference data, "
        "tests/test_pipeline_iam.py, and generated names against their grants, tests/test_generated_names.py, but no "
        "policy is evaluated), real rollbacks and change-set contents of nested stacks, CodeDeploy traffic shifting, "
        "service quotas, and whether a handler calls an action only under conditions its schema does not state "
        "(the allow-list records each action we rely on never being called, with the property it depends on).",
        "",
        "## What the deploy tooling calls with the operator's credentials",
        "",
        "`make deploy` and the other deploy targets (scripts/deploylib, read from the code) call these API "
        "operations; without a service role, CloudFormation also creates every resource with the operator's "
        "credentials, so the operator needs at least what the CloudFormation roles above are checked to hold "
        "(docs/deploy.md, \"Permissions the deploying identity needs\"):",
        "",
        ", ".join(f"`{c}`" for c in totals["tooling calls"]) + ".",
        "",
    ]
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="exit 1 when docs/verification.md is stale")
    args = parser.parse_args()
    text = render(*matrix())
    if args.check:
        if OUTPUT.read_text(encoding="utf-8") != text:
            print(f"{OUTPUT.relative_to(ROOT)} is stale: run `make assurance`", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
