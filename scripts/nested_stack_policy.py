#!/usr/bin/env python3
"""Give every nested stack of an environment the production stack policy its root stack has.

    python3 scripts/nested_stack_policy.py --stack tunecast-prod --config params/prod.config.json [--region R]

A stack policy applies to its own stack only ("a stack policy applies only to the stack it is associated with",
CloudFormation user guide, Prevent updates to stack resources; cloudformation-coverage-roadmap#1512): the root
stack holds nothing but AWS::CloudFormation::Stack resources, so the policy CloudFormation sets on it from
`params/<env>.config.json` (`StackPolicy`) protects none of the repositories, keys, log groups, buckets or queues
below it. This sets the same policy document on every stack under the root, at any depth. The document is written
to fit any stack of the tree: its deny-by-type statement protects each stack's stateful resources, and its
deny-by-logical-id statement names the root's nested stacks (a name no nested template uses).

Run after every production deploy (`scripts/deploy.py` does; the pipeline's ProtectNestedStacks action runs this
file). A new policy replaces the old one, so a re-run is harmless. Needs only Python 3 and boto3 (both present in
CodeBuild standard images); imports nothing from this repository. Honours AWS_PROFILE, AWS_REGION and
AWS_ENDPOINT_URL. Exit 0 when every nested stack has the policy, 1 (one line on stderr) otherwise.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

NESTED_STACK = "AWS::CloudFormation::Stack"


def nested_stacks(cf: Any, root: str) -> Iterator[tuple[tuple[str, ...], str]]:
    """(logical-id path from the root, stack id) of every live stack below `root`, parents first."""
    def walk(stack_id: str, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], str]]:
        for page in cf.get_paginator("list_stack_resources").paginate(StackName=stack_id):
            for res in page["StackResourceSummaries"]:
                if (res.get("ResourceType") == NESTED_STACK and res.get("PhysicalResourceId")
                        and res.get("ResourceStatus") != "DELETE_COMPLETE"):
                    child = path + (res["LogicalResourceId"],)
                    yield child, res["PhysicalResourceId"]
                    yield from walk(res["PhysicalResourceId"], child)
    yield from walk(root, ())


def protect(cf: Any, root: str, policy: dict[str, Any], log: Callable[[str], None] = lambda line: None) -> list[str]:
    """Set `policy` on every nested stack of `root` (not on the root: CloudFormation or the caller does that).
    Returns the logical-id paths ("Network", "Registry", ...) of the stacks it set."""
    body = json.dumps(policy)
    done = []
    for path, stack_id in nested_stacks(cf, root):
        cf.set_stack_policy(StackName=stack_id, StackPolicyBody=body)
        done.append("/".join(path))
        log(f"stack policy set on {'/'.join(path)}")
    return done


def policy_from_config(path: Path) -> dict[str, Any]:
    """The StackPolicy of a CodePipeline template configuration file (params/<env>.config.json)."""
    config = json.loads(path.read_text(encoding="utf-8"))
    policy = config.get("StackPolicy") if isinstance(config, dict) else None
    if not isinstance(policy, dict) or not policy.get("Statement"):
        raise ValueError(f"{path}: no StackPolicy (only production environments have one)")
    return policy


def main(argv: list[str] | None = None, *, client: Any = None) -> int:
    parser = argparse.ArgumentParser(prog="nested_stack_policy.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", required=True, help="the environment's root stack, e.g. tunecast-prod")
    parser.add_argument("--config", required=True, type=Path, help="params/<env>.config.json (its StackPolicy)")
    parser.add_argument("--region", help="default: AWS_REGION or the profile's region")
    args = parser.parse_args(argv)
    try:
        policy = policy_from_config(args.config)
        if client is None:
            import boto3
            client = boto3.client("cloudformation", region_name=args.region)
        done = protect(client, args.stack, policy, log=lambda line: print(line, flush=True))
    except (OSError, ValueError) as exc:
        print(f"nested_stack_policy.py: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - an AWS error: one line, no traceback
        if not type(exc).__module__.startswith(("botocore", "boto3")):
            raise
        print(f"nested_stack_policy.py: {args.stack}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    if not done:
        print(f"nested_stack_policy.py: {args.stack} has no nested stacks; nothing to protect", file=sys.stderr)
        return 1
    print(f"{args.stack}: the production stack policy is on all {len(done)} nested stacks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
