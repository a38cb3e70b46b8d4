"""Stacks are wired by object: wrong wiring fails the build, never the deploy."""
from __future__ import annotations

import re

import pytest
from troposphere import Ref

from generator.errors import WiringError
from generator.root import _root_parameters
from generator.wiring import Nested, OutputRef, RootParameter, StackBuilder
from tests.support import ROOT

PARAM = RootParameter("Thing", "A thing.", "Group", "Thing", lambda app, env: "x")
LIST_PARAM = RootParameter("Subnets", "Subnets.", "Group", "Subnets", lambda app, env: "a,b",
                           type="List<AWS::EC2::Subnet::Id>")


def test_an_input_declares_the_child_parameter_and_records_its_source():
    stack = StackBuilder("Child", "child.yaml", "test")
    assert stack.input(PARAM).to_dict() == Ref("Thing").to_dict()
    assert stack.template.parameters["Thing"].properties == {"Type": "String", "Description": "A thing."}
    assert stack.inputs["Thing"] is PARAM
    assert {"EnvironmentName", "Application", "Owner"} <= set(stack.inputs), "every stack takes the standard three"


def test_the_same_name_from_two_sources_is_refused():
    stack = StackBuilder("Child", "child.yaml", "test")
    stack.input(PARAM)
    other = OutputRef("Network", "Thing", "String", "elsewhere")
    with pytest.raises(WiringError, match="Child: parameter Thing is wired from two sources"):
        stack.input(other)


def test_a_stack_cannot_consume_its_own_output():
    stack = StackBuilder("Child", "child.yaml", "test")
    ref = stack.output("Value", Ref("AWS::Region"), "a value")
    with pytest.raises(WiringError, match="cannot be an input of the stack that outputs it"):
        stack.input(ref)


def test_outputs_reach_other_stacks_through_getatt_and_lists_as_joined_strings():
    producer = StackBuilder("Network", "network.yaml", "test")
    ref = producer.output("SubnetIds", [Ref("AWS::Region"), Ref("AWS::StackName")], "subnets",
                          "List<AWS::EC2::Subnet::Id>")
    assert producer.template.outputs["SubnetIds"].properties["Value"].to_dict() == {
        "Fn::Join": [",", [{"Ref": "AWS::Region"}, {"Ref": "AWS::StackName"}]]}
    consumer = StackBuilder("Cluster", "cluster.yaml", "test")
    consumer.input(ref)
    assert consumer.template.parameters["SubnetIds"].properties["Type"] == "List<AWS::EC2::Subnet::Id>"
    assert Nested(consumer).parameters()["SubnetIds"].to_dict() == {"Fn::GetAtt": ["Network", "Outputs.SubnetIds"]}


def test_list_root_parameters_are_joined_for_nested_stacks():
    stack = StackBuilder("Child", "child.yaml", "test")
    stack.input(LIST_PARAM)
    assert Nested(stack).parameters()["Subnets"].to_dict() == {"Fn::Join": [",", {"Ref": "Subnets"}]}


def test_a_root_parameter_defined_twice_differently_is_refused():
    a, b = StackBuilder("A", "a.yaml", "t"), StackBuilder("B", "b.yaml", "t")
    a.input(PARAM)
    b.input(RootParameter("Thing", "Another thing.", "Group", "Thing", lambda app, env: "y"))
    with pytest.raises(WiringError, match="root parameter Thing is defined twice"):
        _root_parameters([Nested(a), Nested(b)])


def test_the_same_definition_from_two_stacks_is_one_root_parameter():
    a, b = StackBuilder("A", "a.yaml", "t"), StackBuilder("B", "b.yaml", "t")
    a.input(PARAM)
    b.input(RootParameter("Thing", "A thing.", "Group", "Thing", lambda app, env: "other lambda, same definition"))
    assert [p.name for p in _root_parameters([Nested(a), Nested(b)])].count("Thing") == 1


def test_only_the_wiring_module_spells_nested_outputs():
    spelled = [str(p.relative_to(ROOT)) for p in sorted((ROOT / "generator").rglob("*.py"))
               if re.search(r"[\"']Outputs\.", p.read_text(encoding="utf-8"))]
    assert spelled == ["generator/wiring.py"]
