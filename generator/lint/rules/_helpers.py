"""Small template-reading helpers shared by the project rules in this directory.

Not a rule module: cfn-lint only loads files whose names start with a letter or 1-9, so this file is skipped.
cfn-lint imports each rule file as a loose module (not as part of a package), so the rules load this file by
path with `cfnlint.helpers.import_filename` instead of a relative import; that keeps
`cfn-lint --append-rules generator/lint/rules any.yaml` working from any directory.
"""
from __future__ import annotations

import re
from typing import Any, Iterator

import networkx

# ${Name} or ${Name.Attr} in Fn::Sub; ${!Literal} is an escape, not a reference.
_SUB_VARIABLE = re.compile(r"\$\{([^!}][^}]*)\}")


def resources(cfn: Any, *types: str) -> dict[str, dict]:
    """Logical id -> resource (dict) for every resource of the given types."""
    return cfn.get_resources(list(types))


def properties(resource: dict) -> dict:
    found = resource.get("Properties", {})
    return found if isinstance(found, dict) else {}


def type_of(cfn: Any, logical_id: str) -> str | None:
    resource = cfn.template.get("Resources", {}).get(logical_id)
    return resource.get("Type") if isinstance(resource, dict) else None


def parameter(cfn: Any, name: str) -> dict | None:
    found = cfn.template.get("Parameters", {}).get(name)
    return found if isinstance(found, dict) else None


def field(value: Any, *keys: str) -> Any:
    """value[k1][k2]... through literal maps; None as soon as a level is missing or not a map."""
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def is_function(value: Any) -> bool:
    """A CloudFormation function call ({"Ref": ...} or {"Fn::...": ...}) rather than a literal map."""
    if not (isinstance(value, dict) and len(value) == 1):
        return False
    key = str(next(iter(value)))
    return key == "Ref" or key.startswith("Fn::")


def listed(value: Any) -> Iterator[tuple[int, Any]]:
    """(index, item) of a literal list; nothing for anything else (a Ref, an Fn::If ...)."""
    if isinstance(value, list):
        yield from enumerate(value)


def value_sources(value: Any) -> Iterator[tuple[str, str | None]]:
    """(logical id, attribute) of every Ref (attribute None) and GetAtt whose result becomes part of `value`.

    Follows the functions that pass a value through unchanged or embed it whole: Fn::If branches, Fn::Join items,
    Fn::Sub variables. Not Fn::Select/Fn::Split/Fn::FindInMap: those reshape the value, so an ARN put through them
    may well have become a name.
    """
    if isinstance(value, list):
        for item in value:
            yield from value_sources(item)
    if not isinstance(value, dict) or len(value) != 1:
        return
    (function, argument), = value.items()
    if function == "Ref" and isinstance(argument, str):
        yield argument, None
    elif function == "Fn::GetAtt":
        target = argument.split(".", 1) if isinstance(argument, str) else argument
        if isinstance(target, list) and len(target) == 2 and all(isinstance(t, str) for t in target):
            yield target[0], target[1]
    elif function == "Fn::If" and isinstance(argument, list) and len(argument) == 3:
        yield from value_sources(argument[1:])
    elif function == "Fn::Join" and isinstance(argument, list) and len(argument) == 2:
        yield from value_sources(argument[1])
    elif function == "Fn::Sub":
        text, variables = (argument, {}) if isinstance(argument, str) else _sub_pair(argument)
        for name in _SUB_VARIABLE.findall(text):
            if name in variables:
                yield from value_sources(variables[name])
            elif "." in name and not name.startswith("AWS::"):
                source, attribute = name.split(".", 1)
                yield source, attribute
            else:
                yield name, None


def _sub_pair(argument: Any) -> tuple[str, dict]:
    if isinstance(argument, list) and len(argument) == 2 and isinstance(argument[0], str):
        return argument[0], argument[1] if isinstance(argument[1], dict) else {}
    return "", {}


def refs_to(cfn: Any, value: Any, resource_type: str) -> list[str]:
    """Logical ids of `resource_type` resources whose Ref value flows into `value`."""
    return [i for i, attribute in value_sources(value) if attribute is None and type_of(cfn, i) == resource_type]


def mentions(value: Any, logical_id: str) -> bool:
    """Does `value` refer to `logical_id` anywhere (Ref, GetAtt, Sub), at any depth?"""
    if isinstance(value, list):
        return any(mentions(item, logical_id) for item in value)
    if isinstance(value, dict):
        if any(i == logical_id for i, _ in value_sources(value)):
            return True
        return any(mentions(item, logical_id) for item in value.values())
    return False


def depends_on(cfn: Any, source: str, target: str) -> bool:
    """Is `source` created after `target`: a chain of DependsOn/Ref/GetAtt/Sub edges leads from one to the other."""
    graph = getattr(getattr(cfn, "graph", None), "graph", None)
    if graph is not None and source in graph and target in graph:
        return networkx.has_path(graph, source, target)
    direct = cfn.template.get("Resources", {}).get(source, {}).get("DependsOn", [])
    return target in ([direct] if isinstance(direct, str) else direct)


def dotted(path: list) -> str:
    """["LoadBalancers", 0, "TargetGroupArn"] -> "LoadBalancers[0].TargetGroupArn" (for messages)."""
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")


def show(value: Any) -> str:
    """A short YAML-like rendering of a (small) value for messages: !Ref X, !GetAtt X.Y, or the literal."""
    if isinstance(value, dict) and len(value) == 1:
        (function, argument), = value.items()
        if function == "Ref":
            return f"!Ref {argument}"
        if function == "Fn::GetAtt":
            return f"!GetAtt {argument if isinstance(argument, str) else '.'.join(map(str, argument))}"
        if function == "Fn::Sub" and isinstance(argument, str):
            return f"!Sub '{argument}'"
        return f"!{function.removeprefix('Fn::')} ..."
    return repr(value)


def pipeline_actions(cfn: Any) -> Iterator[tuple[str, list, dict]]:
    """(pipeline id, path to the action, action) for every literal action of every CodePipeline pipeline."""
    for name, pipeline in resources(cfn, "AWS::CodePipeline::Pipeline").items():
        for i, stage in listed(properties(pipeline).get("Stages")):
            for j, action in listed(field(stage, "Actions")):
                if isinstance(action, dict):
                    yield name, ["Resources", name, "Properties", "Stages", i, "Actions", j], action


def provider(action: dict) -> Any:
    return field(action, "ActionTypeId", "Provider")
