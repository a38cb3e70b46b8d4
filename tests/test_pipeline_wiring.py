"""The pipeline's nested stacks are wired like the environment's (generator/wiring.py): every parameter a nested
stack declares is fed by pipeline.yaml from the source it was declared with, every output pipeline.yaml reads is one
the nested stack declares, and a wrong name fails the build; the pipeline package has no import cycle (issue 10,
item 6: approvals.py and roles.py imported each other)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from generator.build import render_app
from generator.config import load_app
from generator.errors import WiringError
from generator.pipeline import common, pipeline
from generator.wiring import Nested, OutputRef, RootParameter
from tests.support import DEFAULT_APP, ROOT
from tests.templates import load

APP = load_app(DEFAULT_APP)
RENDERED = render_app(APP)
PACKAGE = ROOT / "generator" / "pipeline"


def getatts(node):
    if isinstance(node, dict):
        if set(node) == {"Fn::GetAtt"}:
            yield tuple(node["Fn::GetAtt"])
        for value in node.values():
            yield from getatts(value)
    elif isinstance(node, list):
        for value in node:
            yield from getatts(value)


def test_each_nested_stack_gets_exactly_its_parameters_and_every_output_read_exists():
    parent = load(RENDERED.templates["pipeline.yaml"])
    stacks = {lid: r for lid, r in parent["Resources"].items() if r["Type"] == "AWS::CloudFormation::Stack"}
    assert sorted(stacks) == ["Builds", "Gates", "Roles"]
    children = {}
    for lid, stack in stacks.items():
        child = load(RENDERED.templates[stack["Properties"]["TemplateURL"].removeprefix("./")])
        children[lid] = child
        assert sorted(stack["Properties"]["Parameters"]) == sorted(child["Parameters"]), lid
        for name, value in stack["Properties"]["Parameters"].items():
            if set(value) == {"Ref"} and not value["Ref"].startswith("AWS::") and value["Ref"] not in parent["Resources"]:
                assert value["Ref"] == name and name in parent["Parameters"], (lid, name)
    reads = [(lid, attr) for lid, attr in getatts(parent) if attr.startswith("Outputs.")]
    assert reads and all(attr.removeprefix("Outputs.") in children[lid]["Outputs"] for lid, attr in reads), reads


def test_a_nested_stack_fed_from_a_parameter_pipeline_yaml_does_not_declare_fails_the_build():
    b = common.builder(APP, "Roles", "pipeline-roles.yaml", "roles")
    b.input(RootParameter("ConectionArn", "typo", "Source", "x", lambda a, e: "x"))
    with pytest.raises(WiringError, match="Roles: parameter ConectionArn is not pipeline.yaml's ConectionArn"):
        pipeline._check_parameters([Nested(b)], common.pipeline_parameters(APP))


def test_an_output_no_nested_stack_declares_fails_the_build():
    roles = common.builder(APP, "Roles", "pipeline-roles.yaml", "roles")
    builds = common.builder(APP, "Builds", "pipeline-builds.yaml", "builds")
    builds.input(OutputRef("Roles", "BuildRoleArn", "String", "ARN"))
    with pytest.raises(WiringError, match="Builds: Roles has no output BuildRoleArn"):
        pipeline._check_parameters([Nested(roles), Nested(builds)], common.pipeline_parameters(APP))


def test_the_pipeline_package_has_no_import_cycle():
    """Module-level imports between generator/pipeline/*.py form no cycle, and none is hidden in a function."""
    graph: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.glob("*.py")):
        name = path.stem
        graph[name] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                if node.module == "generator.pipeline":
                    graph[name] |= {a.name for a in node.names}
                elif node.module.startswith("generator.pipeline."):
                    graph[name].add(node.module.rsplit(".", 1)[1])
    graph.pop("__init__")
    graph = {k: {d for d in v if d in graph} for k, v in graph.items()}
    assert "roles" in graph["approvals"] or "approvals" in graph["roles"]   # the two still meet, one way
    assert not ("roles" in graph["approvals"] and "approvals" in graph["roles"])
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, " -> ".join((*path, module))
        if module in done:
            return
        for dep in graph[module]:
            visit(dep, (*path, module))
        done.add(module)
    for module in graph:
        visit(module, ())


def test_no_module_of_the_package_imports_another_lazily():
    """A lazy import hid the cycle before; only generator/config/rules.py imports the package inside a function (its
    rule runs after the spec models it needs have loaded)."""
    for path in sorted(PACKAGE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef):
                lazy = [n for n in ast.walk(node) if isinstance(n, ast.ImportFrom)
                        and (n.module or "").startswith("generator.pipeline")]
                assert not lazy, f"{path.name}: {node.name} imports part of the pipeline inside a function"


def test_typed_outputs_replace_positional_title_lists():
    source = "\n".join(p.read_text() for p in PACKAGE.glob("*.py"))
    assert "TITLES" not in source and "OutputRef(" not in source and "Outputs." not in source
    assert Path(ROOT / "generator" / "pipeline" / "roles.py").read_text().count("b.output(") == 1
