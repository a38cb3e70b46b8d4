"""cfnlint.context.conditions: each question about a template's conditions put to sympy once per Conditions object."""
from __future__ import annotations

from typing import Any

from generator.lint.speedups._support import _defined_in

_FIELDS = ("conditions", "cnf", "hard_cnf", "_condition_symbols", "_max_scenarios")
_UNSATISFIABLE = object()


def memoize_condition_scenarios(classes: list[type]) -> bool:
    """The context's Conditions (cfnlint.context.conditions._conditions, a frozen dataclass) is asked `evolve(status,
    assumed)` for every value that holds an Fn::If (FunctionFilter.filter enumerates the scenarios of each validated
    value; If.fn_if, Properties, Value ... pin a condition), again and again with the same arguments on the same
    object; each call copies two CNFs and runs sympy's `satisfiable` (about 1 % of the
    50-service app's service templates' lint instructions are saved).
    What it returns depends only on the object (frozen: its conditions, CNFs and symbols are never changed after
    construction, every evolve and is_reachable works on copies) and on the set of pinned (condition, value) pairs,
    not on their order, and `assumed`. So each object keeps its answers: the Conditions returned (the same object
    for the same question; nothing in cfn-lint CHECKED_CFN_LINT modifies one), or that the question is
    unsatisfiable, raised again as the original raises it (Unsatisfiable(new_status=the caller's status,
    current_status=self.status): its message names the pins in the caller's order). `is_reachable(name, value)`
    likewise (a bool). Questions with anything other than string names (str, or the decoder's str_node) and
    True/False values, on a subclass, or an error other than Unsatisfiable go to the original, which is what runs
    the first time anyway."""
    from dataclasses import fields

    from cfnlint.context.conditions import _conditions
    from cfnlint.context.conditions.exceptions import Unsatisfiable
    from cfnlint.decode.node import str_node

    cls = _conditions.Conditions
    if (tuple(f.name for f in fields(cls)) != _FIELDS
            or not _defined_in(cls.evolve, "context/conditions/_conditions.py", "evolve")
            or not _defined_in(cls.is_reachable, "context/conditions/_conditions.py", "is_reachable")):
        return False
    real_evolve, real_is_reachable = cls.evolve, cls.is_reachable
    names = (str, str_node)   # a name read from the template is a str_node: equal to its str, the same hash

    def evolve(self, status: dict[str, bool], assumed: bool = False) -> Any:
        if not status:
            return self   # as the original, before anything else
        if self.__class__ is not cls or (assumed is not True and assumed is not False):
            return real_evolve(self, status, assumed)
        for name, value in status.items():
            if name.__class__ not in names or (value is not True and value is not False):
                return real_evolve(self, status, assumed)
        key = (frozenset(status.items()), assumed)
        answers = self.__dict__.get("_speedups_evolved")
        if answers is None:
            answers = self.__dict__["_speedups_evolved"] = {}   # frozen: no setattr, the dict is the object's own
        found = answers.get(key)
        if found is None:
            try:
                found = real_evolve(self, status, assumed)
            except Unsatisfiable:
                answers[key] = _UNSATISFIABLE
                raise
            answers[key] = found
            return found
        if found is _UNSATISFIABLE:
            raise Unsatisfiable(new_status=status, current_status=self.status)
        return found

    def is_reachable(self, name: str, value: bool) -> bool:
        if self.__class__ is not cls or name.__class__ not in names or (value is not True and value is not False):
            return real_is_reachable(self, name, value)
        answers = self.__dict__.get("_speedups_reachable")
        if answers is None:
            answers = self.__dict__["_speedups_reachable"] = {}
        key = (name, value)
        if key not in answers:
            answers[key] = real_is_reachable(self, name, value)
        return answers[key]

    evolve.__doc__, is_reachable.__doc__ = real_evolve.__doc__, real_is_reachable.__doc__
    evolve.real, is_reachable.real = real_evolve, real_is_reachable   # type: ignore[attr-defined]
    cls.evolve, cls.is_reachable = evolve, is_reachable
    return True
