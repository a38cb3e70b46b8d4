"""What the emulator created: every resource of every template in the deployed tree, with its outcome, checked with
the describe call its component declares for its type."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from generator import components
from generator.components.base import Verifier
from scripts.deploylib import conditions, stacks
from scripts.deploylib.aws import Aws
from scripts.deploylib.packaging import PackagePlan
from scripts.deploylib.rehearsal.workarounds import emulator_supports

def verifiers() -> dict[str, Verifier]:
    """Type -> the describe call that checks the emulator created it: declared by the components with the types
    they create (TypeFacts.verify, generator/components/)."""
    return components.verifiers()


@dataclass(frozen=True)
class Resource:
    stack: str
    logical_id: str
    resource_type: str
    outcome: str                 # created | skipped | not-applicable | unevaluated | missing
    physical_id: str = ""
    verified: bool | None = None  # None: no cheap describe call for this type
    condition: str = ""


def inventory(aws: Aws, plan: PackagePlan, root_id: str, root_label: str) -> list[Resource]:
    """Every resource of every template in the tree, with what the emulator did about it. A resource whose Condition
    is false for the stack's parameter values is "not-applicable" (a real deploy does not create it either), whatever
    the emulator supports; only an applicable resource of a type moto lacks is "skipped"."""
    templates = plan.stack_templates()
    found: list[Resource] = []
    for node in stacks.tree(aws.cf, root_id, root_label):
        artifact = templates.get(node.path)
        if artifact is None:
            continue
        listed = {r["LogicalResourceId"]: r for page in
                  aws.cf.get_paginator("list_stack_resources").paginate(StackName=node.stack_id)
                  for r in page["StackResourceSummaries"] if r.get("LogicalResourceId")}
        truth = _conditions(aws, node.stack_id, artifact.template)
        for logical_id, resource in (artifact.template.get("Resources") or {}).items():
            rtype = resource.get("Type", "?")
            condition = resource.get("Condition", "")
            applies = truth.get(condition) if condition else True
            if applies is False:
                found.append(Resource(node.label, logical_id, rtype, "not-applicable", condition=condition))
            elif not emulator_supports(rtype):
                found.append(Resource(node.label, logical_id, rtype, "skipped", condition=condition))
            elif logical_id in listed:
                physical = listed[logical_id].get("PhysicalResourceId", "")
                verified = None
                verifier = verifiers().get(rtype)
                if verifier is not None and physical:
                    try:
                        verified = verifier.check(aws.client, physical)
                    except Exception:  # noqa: BLE001 - any failure means "the service does not know it"
                        verified = False
                found.append(Resource(node.label, logical_id, rtype, "created", physical, verified))
            elif applies is None:
                found.append(Resource(node.label, logical_id, rtype, "unevaluated", condition=condition))
            else:
                found.append(Resource(node.label, logical_id, rtype, "missing"))
    return found


def _conditions(aws: Aws, stack_id: str, template: dict[str, Any]) -> dict[str, bool | None]:
    """The template's conditions for the parameter values the stack was deployed with."""
    described = (stacks.describe(aws.cf, stack_id) or {})
    parameters = {p["ParameterKey"]: p.get("ParameterValue", "") for p in described.get("Parameters", [])}
    pseudo = {"AWS::Region": aws.region, "AWS::StackName": described.get("StackName", ""),
              "AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com"}
    return conditions.evaluate(template, parameters, pseudo)
