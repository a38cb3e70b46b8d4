"""cfnlint.template.Template.get_valid_getatts: the attributes of every resource of a template, built again on every
Fn::GetAtt checked (E1010's `_resolve_getatt`) and by SubNeeded: 2.4 % of the 50-service app's lint CPU."""
from __future__ import annotations

from typing import Any

from generator.lint.speedups._support import _defined_in

_MEMO = "_fargate_stacks_valid_getatts"   # the attribute of a Template that keeps its answer


def keep_valid_getatts(classes: list[type]) -> bool:
    """Template.get_valid_getatts builds a new GetAtts from the template's regions and its context's resources (each
    resource's attributes for each region: the nested stack's outputs or the type's schema, fixed for the process).
    The replacement keeps the object built per template and hands it back while the template's regions are the
    same (compared by value) and its context's resources are the same dictionary (cfn-lint builds it whole before
    the Context exists and never writes to it: generator/lint/speedups/module_names.py). Sharing the object is
    exact because its two readers only read it: E1010's GetAtt calls `match` and SubNeeded calls `match` (read in
    CHECKED_CFN_LINT: GetAtts.match and _ResourceDict.get/__getitem__ look up, never assign); nothing else in
    cfn-lint or the project calls get_valid_getatts. A build that raises is not kept."""
    from cfnlint.template import template

    cls = template.Template
    original = vars(cls).get("get_valid_getatts")
    if original is None or not _defined_in(original, "template/template.py", "get_valid_getatts"):
        return False

    def get_valid_getatts(self) -> Any:
        regions = tuple(self.regions)
        resources = self.context.resources
        kept = self.__dict__.get(_MEMO)
        if kept is not None and kept[0] == regions and kept[1] is resources:
            return kept[2]
        result = original(self)
        self.__dict__[_MEMO] = (regions, resources, result)
        return result

    get_valid_getatts.__doc__ = original.__doc__
    get_valid_getatts.real = original   # type: ignore[attr-defined]
    cls.get_valid_getatts = get_valid_getatts
    return True
