"""Rendering a nested template offline with an environment's parameter file (cloud-radar: conditions, Fn::If,
Fn::Sub and Ref evaluated with real parameter values), the way CloudFormation would resolve it in that environment.

The root hands each nested stack its parameters: a root parameter (Ref, or Fn::Join of a list), a place in a packed
one, or another stack's output. Outputs get a fixed placeholder of the declared type: this environment's resources do
not exist offline."""
from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from pathlib import Path

from cloud_radar.cf.unit import Template

from tests.templates import load

# Values for parameters other stacks feed (outputs): fixed placeholders of the declared type.
PLACEHOLDERS = {"AWS::EC2::SecurityGroup::Id": "sg-0123456789abcdef0", "AWS::EC2::VPC::Id": "vpc-0123456789abcdef0",
                "List<AWS::EC2::Subnet::Id>": "subnet-0123456789abcdef0,subnet-0123456789abcdef1"}


def param_values(text: str) -> dict[str, str]:
    """A parameter file (`params/<env>.json`) as {name: value}."""
    return {p["ParameterKey"]: p["ParameterValue"] for p in json.loads(text)}


def env_values(params_dir: Path, env: str) -> dict[str, str]:
    return param_values((params_dir / f"{env}.json").read_text())


def child_values(stack: dict, child: dict, root_values: dict[str, str]) -> dict[str, str]:
    """The nested stack's parameter values, as the root would pass them for these root values."""
    values = {}
    for name, source in stack["Properties"]["Parameters"].items():
        (function, argument), = source.items()
        if function == "Ref":
            values[name] = root_values[argument]
        elif function == "Fn::Join":
            values[name] = root_values[argument[1]["Ref"]]
        elif function == "Fn::Select":   # a place in a packed parameter: Fn::Select [i, Fn::Split [",", Ref]]
            index, split = argument
            separator, packed = split["Fn::Split"]
            values[name] = root_values[packed["Ref"]].split(separator)[index]
        else:  # another stack's output: the same placeholder whatever this environment's settings
            declared = child["Parameters"][name]["Type"]
            values[name] = PLACEHOLDERS.get(declared, f"{'.'.join(argument)}-of-this-environment")
    return values


def load_name(stack: dict) -> str:
    return stack["Properties"]["TemplateURL"].removeprefix("./")


def render_nested(templates: dict[str, str], filename: str, root_values: dict[str, str],
                  types: Iterable[str] = ("AWS::CloudWatch::Alarm",), region: str = "eu-west-1") -> dict[str, dict]:
    """`templates[filename]` (a nested template of `templates["root.yaml"]`) rendered with `root_values` (an
    environment's parameter file): the properties of its resources of `types`, by logical id."""
    root, child = load(templates["root.yaml"]), load(templates[filename])
    [stack] = [r for r in root["Resources"].values()
               if r["Type"] == "AWS::CloudFormation::Stack" and load_name(r) == filename]
    trimmed = copy.deepcopy(child)
    trimmed.pop("Outputs", None)
    kept = set(types)
    for resource in trimmed["Resources"].values():
        if resource["Type"] not in kept:
            resource["Properties"] = {}
    rendered = Template(trimmed).render(child_values(stack, child, root_values), region=region)
    return {k: r.get("Properties", {}) for k, r in rendered["Resources"].items() if r["Type"] in kept}
