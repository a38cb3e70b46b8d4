"""A template's Conditions, evaluated offline for one stack's parameter values (pure).

The rehearsal uses it to tell a resource that does not apply in this environment (its Condition is false) from one
the emulator skipped or lost. Covers the condition functions CloudFormation allows (Fn::Equals, Fn::Not, Fn::And,
Fn::Or, Condition) over Ref of parameters and pseudo parameters, literals, Fn::Join, Fn::Select and Fn::Split; a
condition using anything else is None (unknown), never guessed.
"""
from __future__ import annotations

from typing import Any


class _Unknown(Exception):
    pass


def evaluate(template: dict[str, Any], parameters: dict[str, str], pseudo: dict[str, str] | None = None
             ) -> dict[str, bool | None]:
    """Condition name -> True/False, or None when it cannot be evaluated offline."""
    conditions = template.get("Conditions") or {}
    declared = template.get("Parameters") or {}
    values = {name: _parameter(name, spec, parameters) for name, spec in declared.items()}
    values.update(pseudo or {})
    done: dict[str, bool | None] = {}

    def condition(name: str, seen: tuple[str, ...] = ()) -> bool:
        if name in done:
            if done[name] is None:
                raise _Unknown(name)
            return bool(done[name])
        if name in seen or name not in conditions:
            raise _Unknown(name)
        result = truth(conditions[name], seen + (name,))
        done[name] = result
        return result

    def truth(node: Any, seen: tuple[str, ...]) -> bool:
        if isinstance(node, bool):
            return node
        if not (isinstance(node, dict) and len(node) == 1):
            raise _Unknown(node)
        (function, argument), = node.items()
        if function == "Condition" and isinstance(argument, str):
            return condition(argument, seen)
        if function == "Fn::Not" and isinstance(argument, list) and len(argument) == 1:
            return not truth(argument[0], seen)
        if function in ("Fn::And", "Fn::Or") and isinstance(argument, list):
            decisive = function == "Fn::Or"      # one True decides an Or, one False an And, unknowns or not
            known = []
            for part in argument:
                try:
                    known.append(truth(part, seen))
                except _Unknown:
                    known.append(None)
            if decisive in known:
                return decisive
            if None in known:
                raise _Unknown(node)
            return not decisive
        if function == "Fn::Equals" and isinstance(argument, list) and len(argument) == 2:
            left, right = (value(a) for a in argument)
            return _text(left) == _text(right)
        raise _Unknown(node)

    def value(node: Any) -> Any:
        if isinstance(node, (str, int, float, bool)):
            return node
        if isinstance(node, list):
            return [value(n) for n in node]
        if isinstance(node, dict) and len(node) == 1:
            (function, argument), = node.items()
            if function == "Ref" and argument in values and values[argument] is not None:
                return values[argument]
            if function == "Fn::Join" and isinstance(argument, list) and len(argument) == 2:
                return str(argument[0]).join(_text(v) for v in value(argument[1]))
            if function == "Fn::Select" and isinstance(argument, list) and len(argument) == 2:
                items = value(argument[1])
                index = int(value(argument[0]))
                if isinstance(items, list) and 0 <= index < len(items):
                    return items[index]
            if function == "Fn::Split" and isinstance(argument, list) and len(argument) == 2:
                return _text(value(argument[1])).split(str(argument[0]))
        raise _Unknown(node)

    for name in conditions:
        if name not in done:
            try:
                condition(name)
            except _Unknown:
                done[name] = None
    return done


def _parameter(name: str, spec: dict[str, Any], given: dict[str, str]) -> Any:
    raw = given.get(name, spec.get("Default") if isinstance(spec, dict) else None)
    if raw is None:
        return None
    kind = str(spec.get("Type", "String")) if isinstance(spec, dict) else "String"
    if kind == "CommaDelimitedList" or kind.startswith("List<"):
        return str(raw).split(",")
    return str(raw)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
