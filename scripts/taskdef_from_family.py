#!/usr/bin/env python3
"""Turn `aws ecs describe-task-definition` output into the taskdef.json that CodePipeline's CodeDeployToECS expects.

    aws ecs describe-task-definition --task-definition FAMILY --output json > current.json
    python3 scripts/taskdef_from_family.py --container api --input current.json --output taskdef.json

The currently registered revision of the family (created by the CloudFormation stack, so roles, secrets, log
configuration, cpu/memory stay owned by the templates) becomes a RegisterTaskDefinition document: the read-only
fields that describe-task-definition adds are removed and the named container's image becomes the placeholder
`<IMAGE1_NAME>`, which the deploy action replaces with the image from imageDetail.json. Other containers (sidecars)
are left as they are. Standard library only; exit 1 with a one-line message on bad input.
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any

# Returned by DescribeTaskDefinition but rejected (or meaningless) in RegisterTaskDefinition.
READ_ONLY = ("taskDefinitionArn", "revision", "status", "requiresAttributes", "compatibilities", "registeredAt",
             "registeredBy", "deregisteredAt")
PLACEHOLDER = "<IMAGE1_NAME>"


class TaskdefError(Exception):
    pass


def taskdef_for_deploy(described: dict[str, Any], container: str, placeholder: str = PLACEHOLDER) -> dict[str, Any]:
    """Pure: a describe-task-definition answer (or its `taskDefinition` member) -> a taskdef.json document."""
    taskdef = described.get("taskDefinition", described)
    if not isinstance(taskdef, dict) or not isinstance(taskdef.get("containerDefinitions"), list):
        raise TaskdefError("input is not a task definition (no containerDefinitions)")
    result = {key: value for key, value in taskdef.items() if key not in READ_ONLY}
    containers = [dict(c) for c in result["containerDefinitions"]]
    matches = [c for c in containers if c.get("name") == container]
    if len(matches) != 1:
        names = ", ".join(repr(c.get("name")) for c in containers) or "none"
        raise TaskdefError(f"expected one container named {container!r} in family "
                           f"{taskdef.get('family', '?')!r}, found {len(matches)} (containers: {names})")
    matches[0]["image"] = placeholder
    result["containerDefinitions"] = containers
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="taskdef_from_family.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--container", required=True, help="container whose image the deployment replaces")
    p.add_argument("--input", default="-", help="describe-task-definition JSON (default: stdin)")
    p.add_argument("--output", default="-", help="where to write taskdef.json (default: stdout)")
    p.add_argument("--placeholder", default=PLACEHOLDER, help=f"image placeholder (default {PLACEHOLDER})")
    args = p.parse_args(argv)
    try:
        text = sys.stdin.read() if args.input == "-" else open(args.input, encoding="utf-8").read()
        described = json.loads(text)
        if not isinstance(described, dict):
            raise TaskdefError("input is not a JSON object")
        doc = taskdef_for_deploy(described, args.container, args.placeholder)
    except (OSError, ValueError, TaskdefError) as exc:
        print(f"taskdef_from_family.py: {args.input}: {exc}", file=sys.stderr)
        return 1
    out = json.dumps(doc, indent=2) + "\n"
    if args.output == "-":
        sys.stdout.write(out)
    else:
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.write(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
