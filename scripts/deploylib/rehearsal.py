"""Rehearsal: the real deploy code (`commands.py`) against moto in server mode on 127.0.0.1.

The command starts the emulator, runs package -> diff -> deploy -> outputs -> deploy again (expects "no changes")
-> destroy, then reports which resources the emulator really created (list_stack_resources on every stack, plus a
describe call on the service where that is cheap) and which it skipped (types moto's CloudFormation does not
implement). It stops the emulator and resets its state on the way out.

Known emulator gaps are worked around *here only*, each as a named `Workaround` applied for the duration of the
rehearsal and undone afterwards; the deploy code never knows it is talking to an emulator. The harness also
isolates the process from the operator's AWS settings (no profile, no real endpoint, fake credentials) and makes
moto answer as the environment's account, so the account check in the deploy path runs unchanged.

What no emulator shows (say so, do not pretend): real rollback behaviour, real nested change-set contents, IAM
evaluation, stack policy enforcement, delete clean-up, service quotas.
"""
from __future__ import annotations

import argparse
import dataclasses
import ipaddress
import json
import logging
import os
import re
import time
import traceback
import urllib.request
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from generator import components
from generator.components.base import Verifier
from scripts.deploylib import commands, conditions, stacks
from scripts.deploylib.aws import Aws, check_region, resolve_region
from scripts.deploylib.errors import DeployError
from scripts.deploylib.packaging import PackagePlan
from scripts.deploylib.target import Target, load_target
from scripts.deploylib.ui import Console

DEFAULT_ACCOUNT = "123456789012"
FAKE_KEY = "rehearsal"   # not a secret: moto accepts any key


# --- named workarounds (harness only) -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Workaround:
    name: str
    gap: str            # what stock moto 5.2.5 does
    fix: str            # what the patch does
    apply: Callable[[], Callable[[], None]]    # patches moto in this process; returns the undo


def _nested_stack_outputs() -> Callable[[], None]:
    from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
    from moto.cloudformation.models import Stack

    previous = Stack.__dict__.get("get_cfn_attribute")

    def get_cfn_attribute(self: Stack, attribute_name: str) -> Any:
        if attribute_name.startswith("Outputs."):
            wanted = attribute_name.split(".", 1)[1]
            for output in self.output_map.values():
                if output is not None and output.key == wanted:
                    return output.value
        raise UnformattedGetAttTemplateException()

    Stack.get_cfn_attribute = get_cfn_attribute

    def undo() -> None:
        if previous is None:
            del Stack.get_cfn_attribute
        else:
            Stack.get_cfn_attribute = previous
    return undo


def _kms_key_properties() -> Callable[[], None]:
    from moto.kms.models import Key

    original = Key.__dict__["create_from_cloudformation_json"]

    def create(cls: type, resource_name: str, cloudformation_json: dict, account_id: str, region_name: str,
               **kwargs: Any) -> Any:
        props = cloudformation_json.get("Properties") or {}
        if props.get("Tags"):
            props["Tags"] = [{"TagKey": t["Key"], "TagValue": t["Value"]} if "Key" in t else t
                             for t in props["Tags"]]
        if isinstance(props.get("KeyPolicy"), dict):
            props["KeyPolicy"] = json.dumps(props["KeyPolicy"])
        return original.__func__(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)

    Key.create_from_cloudformation_json = classmethod(create)

    def undo() -> None:
        Key.create_from_cloudformation_json = original
    return undo


def _conditional_resources_listed() -> Callable[[], None]:
    from moto.cloudformation.models import Stack

    original = Stack.__dict__["stack_resources"]
    Stack.stack_resources = property(lambda self: [r for r in self.resource_map.values() if r is not None])

    def undo() -> None:
        Stack.stack_resources = original
    return undo


LEFT_BEHIND: list[str] = []   # filled by the delete-dependencies workaround, read by the report


def _delete_dependencies() -> Callable[[], None]:
    from moto.cloudformation.parsing import ResourceMap
    from moto.ec2.exceptions import DependencyViolationError

    original = ResourceMap.delete

    def delete(self: ResourceMap) -> None:
        try:
            original(self)
        except DependencyViolationError:
            for logical_id, resource in list(self._parsed_resources.items()):
                if hasattr(resource, "logical_resource_id"):
                    LEFT_BEHIND.append(f"{getattr(resource, 'cf_resource_type', '?')} "
                                       f"{getattr(resource, 'physical_resource_id', logical_id)}")
                    self._parsed_resources.pop(logical_id)

    ResourceMap.delete = delete

    def undo() -> None:
        ResourceMap.delete = original
    return undo


def _fn_cidr() -> Callable[[], None]:
    from moto.cloudformation import parsing

    original = parsing.clean_json

    def clean_json(resource_json: Any, resources_map: Any) -> Any:
        if isinstance(resource_json, dict) and "Fn::Cidr" in resource_json:
            block, count, bits = (original(v, resources_map) for v in resource_json["Fn::Cidr"])
            network = ipaddress.ip_network(str(block), strict=False)
            subnets = network.subnets(new_prefix=network.max_prefixlen - int(bits))
            return [str(net) for _, net in zip(range(int(count)), subnets)]
        return original(resource_json, resources_map)

    parsing.clean_json = clean_json   # clean_json recurses through the module global, so nested uses see it

    def undo() -> None:
        parsing.clean_json = original
    return undo


def _find_in_map_number_keys() -> Callable[[], None]:
    from moto.cloudformation import parsing

    original = parsing.clean_json

    def clean_json(resource_json: Any, resources_map: Any) -> Any:
        if isinstance(resource_json, dict) and "Fn::FindInMap" in resource_json:
            map_name, *path = resource_json["Fn::FindInMap"]
            result = resources_map[original(map_name, resources_map)]
            for key in path:
                key = original(key, resources_map)
                result = result[str(key) if isinstance(result, dict) and str(key) in result else key]
            return result
        return original(resource_json, resources_map)

    parsing.clean_json = clean_json

    def undo() -> None:
        parsing.clean_json = original
    return undo


def _elbv2_attributes() -> Callable[[], None]:
    from moto.elbv2.models import FakeLoadBalancer

    original = FakeLoadBalancer.get_cfn_attribute

    def get_cfn_attribute(self: FakeLoadBalancer, attribute_name: str) -> Any:
        if attribute_name == "LoadBalancerFullName":
            return self.arn.split(":loadbalancer/", 1)[1]      # app/<name>/<id>, as CloudFormation returns it
        if attribute_name == "CanonicalHostedZoneID":
            return self.canonical_hosted_zone_id
        if attribute_name == "SecurityGroups":
            return list(self.security_groups or [])
        return original(self, attribute_name)

    FakeLoadBalancer.get_cfn_attribute = get_cfn_attribute

    def undo() -> None:
        FakeLoadBalancer.get_cfn_attribute = original
    return undo


class _StandIn:
    """Stands in for a resource type moto does not implement: a name, fake attributes, no service behind it."""

    def __init__(self, name: str, resource_type: str, account_id: str, region_name: str) -> None:
        self.physical_resource_id = name
        self.cf_resource_type = resource_type
        service = resource_type.split("::")[1].lower() if resource_type.count("::") == 2 else "unknown"
        self.arn = f"arn:aws:{service}:{region_name}:{account_id}:rehearsal-stand-in/{name}"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any, account_id: str,
                                        region_name: str, **kwargs: Any) -> "_StandIn":
        return cls(resource_name, kwargs.get("ResourceType", "?"), account_id, region_name)

    @classmethod
    def update_from_cloudformation_json(cls, original_resource: Any, new_resource_name: str,
                                        cloudformation_json: Any, account_id: str, region_name: str) -> "_StandIn":
        return original_resource

    @classmethod
    def delete_from_cloudformation_json(cls, *args: Any, **kwargs: Any) -> None:
        return None

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    def is_created(self) -> bool:
        return True

    def delete(self, account_id: str, region_name: str) -> None:
        return None

    def get_cfn_attribute(self, attribute_name: str) -> str:
        return self.arn if attribute_name.endswith("Arn") else f"{self.physical_resource_id}-{attribute_name}"


def _skipped_type_stand_ins() -> Callable[[], None]:
    from moto.cloudformation import parsing

    original = parsing.parse_and_create_resource

    def parse_and_create_resource(logical_id: str, resource_json: dict, resources_map: Any, account_id: str,
                                  region_name: str) -> Any:
        resource_type = resource_json["Type"]
        if emulator_supports(resource_type):
            return original(logical_id, resource_json, resources_map, account_id, region_name)
        condition = resource_json.get("Condition")
        if condition and not resources_map.lazy_condition_map[condition]:
            return None
        # Properties are deliberately not resolved: resolving them would create what they reference early,
        # ignoring that resource's DependsOn (moto's resource map is lazy).
        name = parsing.generate_resource_name(resource_type, resources_map["AWS::StackName"], logical_id)
        stand_in = _StandIn(name, resource_type, account_id, region_name)
        stand_in.logical_resource_id = logical_id
        return stand_in

    parsing.parse_and_create_resource = parse_and_create_resource

    def undo() -> None:
        parsing.parse_and_create_resource = original
    return undo


def _change_set_outputs() -> Callable[[], None]:
    from moto.cloudformation.models import ChangeSet

    original = ChangeSet.apply

    def apply(self: ChangeSet) -> None:
        original(self)
        stack = self.stack
        stack.template = self.template
        stack._parse_template()
        stack.description = stack.template_dict.get("Description")
        stack.output_map = stack._create_output_map()

    ChangeSet.apply = apply

    def undo() -> None:
        ChangeSet.apply = original
    return undo


def _bucket_policy_conditions() -> Callable[[], None]:
    from moto.iam.access_control import IAMPolicy, PermissionResult
    from moto.s3.models import FakeBucket

    original = FakeBucket.get_permission

    def get_permission(self: FakeBucket, action: str, resource: str) -> Any:
        if self.policy is None:
            return PermissionResult.NEUTRAL
        document = json.loads(self.policy.decode())
        statements = document["Statement"] if isinstance(document["Statement"], list) else [document["Statement"]]
        document["Statement"] = [s for s in statements if "Condition" not in s]
        if not document["Statement"]:
            return PermissionResult.NEUTRAL
        return IAMPolicy(json.dumps(document)).is_action_permitted(action, resource)

    FakeBucket.get_permission = get_permission

    def undo() -> None:
        FakeBucket.get_permission = original
    return undo


def _termination_protection() -> Callable[[], None]:
    from moto.cloudformation.responses import CloudFormationResponse
    from moto.core.responses import ActionResult

    def update_termination_protection(self: CloudFormationResponse) -> ActionResult:
        stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
        stack.enable_termination_protection = str(self._get_param("EnableTerminationProtection")).lower() == "true"
        return ActionResult({"StackId": stack.stack_id})

    CloudFormationResponse.update_termination_protection = update_termination_protection

    def undo() -> None:
        del CloudFormationResponse.update_termination_protection
    return undo


WORKAROUNDS = (
    Workaround("nested-stack-outputs",
               "Fn::GetAtt <NestedStack>.Outputs.<Name> crashes (HTTP 500: moto's Stack model has no "
               "get_cfn_attribute); the first nested stack is created and the root stays CREATE_IN_PROGRESS",
               "adds get_cfn_attribute for Outputs.<Name> to moto's Stack model, reading the nested stack's outputs",
               _nested_stack_outputs),
    Workaround("kms-key-properties",
               "AWS::KMS::Key with Tags crashes (HTTP 500, KeyError 'TagKey'): moto hands CloudFormation's "
               "{Key, Value} tags to its KMS API code, which expects {TagKey, TagValue}; and it stores KeyPolicy "
               "as an object, so every later KMS call on the key (DescribeKey...) fails with HTTP 500",
               "converts the tags to {TagKey, TagValue} and the key policy to a JSON string before moto's KMS "
               "handler sees them",
               _kms_key_properties),
    Workaround("fn-cidr",
               "Fn::Cidr is not implemented: the function is passed through as a dict and the enclosing "
               "Fn::Select fails (HTTP 500, KeyError)",
               "evaluates Fn::Cidr [block, count, bits] with Python's ipaddress, as CloudFormation does",
               _fn_cidr),
    Workaround("find-in-map-number-keys",
               "a Ref to a Number parameter resolves to a Python number instead of a string (CloudFormation "
               "passes strings), so Fn::FindInMap keyed by it misses the '80'-style keys (HTTP 500, KeyError)",
               "looks mapping keys up as strings, as CloudFormation does",
               _find_in_map_number_keys),
    Workaround("elbv2-attributes",
               "Fn::GetAtt on an ELBv2 load balancer's LoadBalancerFullName, CanonicalHostedZoneID or "
               "SecurityGroups is left unresolved; an output re-exported by the root then makes every "
               "DescribeStacks on the root fail (HTTP 500, 'references undefined resource LoadBalancer')",
               "returns them as CloudFormation does (full name app/<name>/<id> from the ARN, moto's zone id, the "
               "security groups)",
               _elbv2_attributes),
    Workaround("skipped-type-stand-ins",
               "types moto does not implement (CloudWatch alarms, CodeDeploy, Application Auto Scaling, "
               "EventBridge Scheduler, S3 bucket policies...) are skipped with a warning; a Ref to one resolves "
               "to nothing, and a GetAtt on one, or an output using one (re-exported by the root), fails the "
               "stack (HTTP 500)",
               "a stand-in object with a generated name and fake attribute values takes their place, so the rest "
               "of the tree is created; the report lists them under 'skipped', never as created",
               _skipped_type_stand_ins),
    Workaround("conditional-resources-listed",
               "ListStackResources lists every resource whose Condition is false (and every type it skipped) "
               "as a blank entry with no logical id, type or physical id",
               "lists only the resources moto actually created",
               _conditional_resources_listed),
    Workaround("delete-dependencies",
               "a stack delete removes route tables, NAT gateways, VPC endpoints and gateway attachments from "
               "moto's bookkeeping but not from EC2, so deleting the VPC fails with DependencyViolation and "
               "DeleteStack fails (HTTP 400)",
               "lets that stack delete finish and names the VPC the emulator could not delete (a real delete "
               "removes everything; real clean-up is not something any emulator shows)",
               _delete_dependencies),
    Workaround("change-set-outputs",
               "ExecuteChangeSet creates/updates the resources but never re-reads the template's Outputs: a stack "
               "deployed through a change set reports no outputs",
               "re-reads the template and rebuilds the stack's outputs after moto applies a change set",
               _change_set_outputs),
    Workaround("bucket-policy-conditions",
               "bucket policies are evaluated without any request context and an unmet Condition counts as an "
               "explicit Deny, so the template bucket's TLS-only statement (Deny when aws:SecureTransport is "
               "false) denies every object call (HTTP 403)",
               "evaluates bucket policies without their conditional statements (moto cannot know the request "
               "context); unconditional statements still apply",
               _bucket_policy_conditions),
    Workaround("termination-protection",
               "UpdateTerminationProtection is not implemented (production deploys and forced destroys call it)",
               "adds the action; it records the flag on the stack (moto never enforces it)",
               _termination_protection),
)
NOT_COVERED = (
    "drift: moto 5.2.5 has no DetectStackDrift; the drift flow is tested with botocore Stubber "
    "(tests/test_deploy_flows.py)",
    "failure paths (failed change sets, rollbacks, root causes) are tested with Stubber: moto never rolls back "
    "(a bad resource is an HTTP 500 and the stack stays *_IN_PROGRESS)",
    "nested change-set contents: moto ignores IncludeNestedStacks, so the preview shows only the root's changes",
    "IAM evaluation, stack policy enforcement, delete clean-up and service quotas are not emulated",
)


WITHOUT_ENV = "REHEARSAL_WITHOUT"   # comma-separated workaround names to leave out (to re-check a moto upgrade)


def active_workarounds() -> tuple[Workaround, ...]:
    left_out = {n.strip() for n in os.environ.get(WITHOUT_ENV, "").split(",") if n.strip()}
    unknown = left_out - {w.name for w in WORKAROUNDS}
    if unknown:
        raise DeployError(f"{WITHOUT_ENV} names unknown workarounds: {', '.join(sorted(unknown))}",
                          f"known: {', '.join(w.name for w in WORKAROUNDS)}")
    return tuple(w for w in WORKAROUNDS if w.name not in left_out)


# --- the emulator ----------------------------------------------------------------------------------------------------

@contextmanager
def _isolated_environ(account: str) -> Iterator[None]:
    """No profile, config file, metadata service or endpoint override of the operator's leaks in; moto answers
    as `account`."""
    saved = dict(os.environ)
    for key in list(os.environ):
        if key.startswith(("AWS_", "MOTO_")):
            del os.environ[key]
    os.environ.update({"AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
                       "AWS_EC2_METADATA_DISABLED": "true", "MOTO_ACCOUNT_ID": account})
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


EMULATOR_ERRORS: list[str] = []   # server-side exceptions (HTTP 500s), summarised for the report


class _CaptureErrors(logging.Handler):
    """Keeps the last line and the innermost moto frame of each server-side traceback, prints nothing."""

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:     # Flask ("moto" logger) passes exc_info
            exc = record.exc_info[1]
            frames = [f for f in traceback.extract_tb(record.exc_info[2]) if "/moto/" in f.filename]
            where = f" (moto/{frames[-1].filename.split('/moto/', 1)[1]}:{frames[-1].lineno})" if frames else ""
            EMULATOR_ERRORS.append(f"{type(exc).__name__}: {exc}{where}")
            return
        text = record.getMessage()   # werkzeug logs the rendered traceback as text
        if "Traceback" not in text:
            return
        lines = [line for line in text.splitlines() if line.strip()]
        frames = [line.strip() for line in lines if line.strip().startswith("File ") and "/moto/" in line]
        where = ""
        if frames:
            match = re.search(r'/moto/([^"]+)", line (\d+)', frames[-1])
            where = f" (moto/{match.group(1)}:{match.group(2)})" if match else ""
        EMULATOR_ERRORS.append(lines[-1].strip() + where)


@contextmanager
def _quiet_moto() -> Iterator[None]:
    """No per-request lines, no tracebacks on the terminal; server-side exceptions are captured instead."""
    loggers = [logging.getLogger("werkzeug"), logging.getLogger("moto")]
    saved = [(lg.level, lg.propagate) for lg in loggers]
    handler = _CaptureErrors(level=logging.ERROR)
    for lg in loggers:
        # ERROR and up go to the capture handler only; moto's "No Moto CloudFormation support for X" warnings
        # and werkzeug's per-request lines are dropped (the report lists skipped types itself).
        lg.setLevel(logging.ERROR)
        lg.propagate = False
        lg.addHandler(handler)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            yield
        finally:
            for lg, (level, propagate) in zip(loggers, saved):
                lg.removeHandler(handler)
                lg.setLevel(level)
                lg.propagate = propagate


def _reset(url: str) -> None:
    request = urllib.request.Request(f"{url}/moto-api/reset", method="POST", data=b"")
    with urllib.request.urlopen(request, timeout=30) as response:   # noqa: S310 - our own 127.0.0.1 server
        response.read()


@contextmanager
def emulator(account: str) -> Iterator[str]:
    """moto on 127.0.0.1 (free port), clean state, workarounds applied; everything undone on exit.

    Never enter `mock_aws()` while this runs: it shares (and wipes) the server's state.
    """
    from moto.server import ThreadedMotoServer

    with ExitStack() as stack:
        stack.enter_context(_isolated_environ(account))
        stack.enter_context(_quiet_moto())
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        stack.callback(server.stop)
        host, port = server.get_host_and_port()
        url = f"http://{host}:{port}"
        _reset(url)
        stack.callback(_reset, url)     # leave no state behind for anything else in this process
        for workaround in active_workarounds():
            stack.callback(workaround.apply())
        yield url


def emulator_supports(resource_type: str) -> bool:
    """Exactly moto's own test (moto.cloudformation.parsing.resource_class_from_type), without its warning."""
    from moto.cloudformation.parsing import NULL_MODELS, get_model_map
    return resource_type.startswith("Custom::") or resource_type in NULL_MODELS or resource_type in get_model_map()


# --- manual prerequisites --------------------------------------------------------------------------------------------

ACM_ARN = re.compile(r"^arn:aws[-a-z]*:acm:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):certificate/[0-9a-f-]+$")


def provide_prerequisites(aws: Aws, target: Target) -> list[str]:
    """What a real account has before the first deploy because a person made it (docs/deploy.md, manual steps),
    made to exist in the emulator: today, the ACM certificates the parameter files name (certificate_arn)."""
    from moto.acm.models import acm_backends

    provided = []
    for key, value in target.parameters:
        match = ACM_ARN.match(value)
        if not match:
            continue
        generated = aws.client("acm").request_certificate(DomainName="rehearsal.example.com")["CertificateArn"]
        backend = acm_backends[match["account"]][match["region"]]
        bundle = backend._certificates.pop(generated)   # the same certificate, under the ARN the files name
        bundle.arn = value
        backend._certificates[value] = bundle
        provided.append(f"ACM certificate {value} (parameter {key}; request and DNS-validate it in the real "
                        "account)")
    return provided


# --- what the emulator created ------------------------------------------------------------------------------------

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


@dataclass
class Report:
    stack: str
    env: str
    url: str = ""
    steps: list[tuple[str, str]] = field(default_factory=list)     # (step, result)
    resources: list[Resource] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)
    left_behind: list[str] = field(default_factory=list)
    prerequisites: list[str] = field(default_factory=list)
    workarounds: tuple[str, ...] = ()
    seconds: float = 0.0
    ok: bool = True

    def created_types(self) -> Counter:
        return Counter(r.resource_type for r in self.resources if r.outcome == "created")

    def skipped_types(self) -> Counter:
        return Counter(r.resource_type for r in self.resources if r.outcome == "skipped")

    def missing(self) -> list[Resource]:
        return [r for r in self.resources if r.outcome == "missing" or r.verified is False]


def render_report(report: Report) -> str:
    lines = [f"Rehearsal of {report.stack} (moto in server mode at {report.url}): "
             f"{'OK' if report.ok else 'FAILED'} in {report.seconds:.1f}s", "", "Steps:"]
    lines += [f"  {step:<12} {result}" for step, result in report.steps]
    created = report.created_types()
    lines += ["", f"Created by the emulator ({sum(created.values())} resources, {len(created)} types):"]
    calls = {t: v.call for t, v in verifiers().items() if t in created}
    for rtype, count in sorted(created.items()):
        checks = [r.verified for r in report.resources if r.resource_type == rtype and r.outcome == "created"]
        how = (f"verified with {calls[rtype]}" if all(checks) else f"NOT found by {calls[rtype]}") \
            if rtype in calls else "listed by CloudFormation only"
        lines.append(f"  {rtype:<44} {count:>3}  {how}")
    skipped = report.skipped_types()
    lines += ["", "Skipped by the emulator (moto does not implement the type; a real deploy creates them):"]
    if not skipped:
        lines.append("  (none)")
    for rtype, count in sorted(skipped.items()):
        names = [f"{r.stack}/{r.logical_id}" for r in report.resources
                 if r.resource_type == rtype and r.outcome == "skipped"]
        lines.append(f"  {rtype:<44} {count:>3}  e.g. {names[0]}")
    not_applicable = [r for r in report.resources if r.outcome == "not-applicable"]
    if not_applicable:
        lines += ["", f"Not applicable in '{report.env}' (their Condition is false for its parameter values; a real "
                      f"deploy does not create them either) ({len(not_applicable)}):"]
        for condition, count in sorted(Counter(r.condition for r in not_applicable).items()):
            names = [f"{r.stack}/{r.logical_id}" for r in not_applicable if r.condition == condition]
            lines.append(f"  {condition:<44} {count:>3}  e.g. {names[0]}")
    unevaluated = [r for r in report.resources if r.outcome == "unevaluated"]
    if unevaluated:
        lines += ["", f"Not created, Condition not evaluated offline ({len(unevaluated)}):"]
        lines += [f"  {r.stack}/{r.logical_id} ({r.resource_type}, Condition {r.condition})" for r in unevaluated]
    missing = report.missing()
    if missing:
        lines += ["", "MISSING (implemented by the emulator, expected, but not there):"]
        lines += [f"  {r.stack}/{r.logical_id} ({r.resource_type})" for r in missing]
    if report.left_behind:
        lines += ["", f"Left behind by the emulator's stack delete ({len(report.left_behind)}, see "
                      "[delete-dependencies]):"]
        lines += [f"  {item}" for item in report.left_behind]
    if report.prerequisites:
        lines += ["", "Manual prerequisites the harness made exist in the emulator (a person provides them in a "
                      "real account):"]
        lines += [f"  {item}" for item in report.prerequisites]
    lines += ["", "Emulator workarounds (in the rehearsal harness only; the deploy code is unchanged):"]
    for w in WORKAROUNDS:
        left_out = " (LEFT OUT via " + WITHOUT_ENV + ")" if w.name not in report.workarounds else ""
        lines += [f"  [{w.name}]{left_out} {w.gap}.", f"      workaround: {w.fix}."]
    lines += ["", "Not shown by the rehearsal:"]
    lines += [f"  - {item}" for item in NOT_COVERED]
    return "\n".join(lines) + "\n"


def rehearse(target: Target, console: Console, build_dir: Path, region: str | None = None) -> Report:
    """package -> diff -> deploy -> inventory -> outputs -> deploy again -> destroy, against a fresh emulator."""
    started = time.monotonic()
    region = region or target.region
    account = target.spec.account_id or DEFAULT_ACCOUNT
    report = Report(stack=target.stack_name, env=target.env,
                    workarounds=tuple(w.name for w in active_workarounds()))
    LEFT_BEHIND.clear()
    EMULATOR_ERRORS.clear()
    with emulator(account) as url:
        report.url = url
        session = boto3.Session(aws_access_key_id=FAKE_KEY, aws_secret_access_key=FAKE_KEY, region_name=region)
        check_region(session, region)
        # Harness setting, not a code change: moto's HTTP 500s are bugs, not throttling; retrying them with
        # backoff would only delay the report.
        aws = Aws(session, region, url, retries={"mode": "standard", "max_attempts": 1})
        ctx = commands.Ctx(dataclasses.replace(target, region=region), aws, console, commands.Options(
            yes=True, force=True, build_dir=build_dir, event_poll=0.05, change_set_poll=0.05, drift_poll=0.05))

        def step(name: str, run: Callable[[], str]) -> None:
            console.say(f"\n=== rehearsal: {name} " + "=" * max(0, 60 - len(name)))
            seen = len(EMULATOR_ERRORS)
            try:
                report.steps.append((name, run()))
            except Exception as exc:   # noqa: BLE001 - every failure ends the rehearsal with a report
                report.ok = False
                detail = " / ".join(exc.lines()) if isinstance(exc, DeployError) else f"{type(exc).__name__}: {exc}"
                for _ in range(40):          # the server logs its traceback just after sending the 500
                    if EMULATOR_ERRORS[seen:] or "500" not in str(exc):
                        break
                    time.sleep(0.025)
                crashed = EMULATOR_ERRORS[seen:]
                if crashed:
                    detail = (f"the emulator failed (HTTP 500): {crashed[-1]} -- an emulator gap, or a template "
                              f"error moto reports as a crash; client saw: {detail[:200]}")
                report.steps.append((name, "FAILED: " + detail))
                raise _StepFailed() from exc

        packaged: list[commands.Packaged] = []

        def package() -> str:
            packaged.append(commands.package(ctx))
            return f"ok: {len(packaged[0].plan.artifacts)} templates uploaded"

        def outputs() -> str:
            commands.outputs(ctx)
            return f"ok: {len(report.outputs)} outputs"

        report.prerequisites = provide_prerequisites(aws, ctx.target)
        try:
            step("package", package)
            step("diff", lambda: f"ok: exit {commands.diff(ctx)}")
            step("deploy", lambda: f"ok: exit {commands.deploy(ctx)}")
            stack = stacks.describe(aws.cf, target.stack_name) or {}
            report.outputs = {o["OutputKey"]: o.get("OutputValue", "") for o in stack.get("Outputs", [])}
            report.resources = inventory(aws, packaged[0].plan, stack.get("StackId", target.stack_name),
                                         target.stack_name)
            step("outputs", outputs)
            step("redeploy", lambda: _redeploy(ctx))
            report.steps.append(("drift", "not run: the emulator has no DetectStackDrift (Stubber tests cover it)"))
            step("destroy", lambda: _destroy(ctx))
        except _StepFailed:
            pass
        report.left_behind = list(LEFT_BEHIND)
    report.ok = report.ok and not report.missing()
    report.seconds = time.monotonic() - started
    return report


class _StepFailed(Exception):
    pass


def _redeploy(ctx: commands.Ctx) -> str:
    """The same templates and parameters again must be "No changes" (idempotence)."""
    said: list[str] = []
    console = ctx.console
    original = console.say

    def say(text: str = "") -> None:
        said.append(text)
        original(text)

    console.say = say    # type: ignore[method-assign] - listen to what the deploy code prints
    try:
        code = commands.deploy(ctx)
    finally:
        console.say = original    # type: ignore[method-assign]
    if any(line.endswith("Nothing to deploy.") for line in said):
        return f"ok: exit {code}, no changes (same templates and parameters again)"
    raise DeployError("deploying the same templates and parameters again found changes; the deployment is not "
                      "idempotent (or the emulator reports changes it should not)")


def _destroy(ctx: commands.Ctx) -> str:
    code = commands.destroy(ctx)
    gone = stacks.describe(ctx.cf, ctx.name) is None
    if not gone:
        raise DeployError(f"{ctx.name} still exists after destroy")
    return f"ok: exit {code}, root stack gone"


def main(args: argparse.Namespace, console: Console) -> int:
    target = load_target(args.app, args.env, args.templates, args.params, None)
    region, _ = resolve_region(args.region, target.app.region, environ={})
    build_dir = args.build_dir.parent / "rehearsal" if args.build_dir.name == "packaged" else args.build_dir
    report = rehearse(target, console, build_dir, region)
    console.say("")
    console.say(render_report(report).rstrip("\n"))
    return 0 if report.ok else 1
