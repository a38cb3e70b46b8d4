"""What a diagram shows, read from the generated templates alone (never from app.yaml), by resource type.

    root.yaml -> AWS::CloudFormation::Stack -> the nested stacks (TemplateURL ./<file>)
    a stack with an AWS::ECS::TaskDefinition -> a workload: web (listener rules), worker (a service), cron (a
        schedule); its name is its container's
    AWS::ElasticLoadBalancingV2::LoadBalancer / ::Listener -> the load balancer and its ports
    a listener rule's conditions -> the paths and hosts that reach a web workload; which listener, by following
        its ListenerArn through the root's stack parameters to the output of the stack that creates the listener
    STORE_TYPES -> data stores; who uses one: the resources that refer to it, in its own stack or, through an
        output the root passes on as a stack parameter, in another stack
    AWS::CloudFront::Distribution -> the edge in front of the load balancer
    AWS::CodePipeline::Pipeline (any template in the directory) -> the pipeline's stages and actions
Every other nested stack is drawn with a summary of its resource types, so a new component shows up unchanged.
"""
from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import field
from pathlib import Path
from typing import Any

from generator import cfnyaml
from generator.records import record

ROOT_FILE = "root.yaml"
# Data stores (and what the diagram calls them). Types of components still to come are here already: a template
# that creates one draws it without a change here.
STORE_TYPES = {
    "AWS::RDS::DBCluster": "database cluster",
    "AWS::RDS::DBInstance": "database",
    "AWS::ElastiCache::ReplicationGroup": "cache",
    "AWS::ElastiCache::CacheCluster": "cache",
    "AWS::ElastiCache::ServerlessCache": "cache",
    "AWS::SQS::Queue": "queue",
    "AWS::DynamoDB::Table": "table",
    "AWS::S3::Bucket": "bucket",
    "AWS::EFS::FileSystem": "file system",
    "AWS::ECR::Repository": "image repository",
}
# What a store's user is called when it is not a workload.
USER_TYPES = {
    "AWS::ElasticLoadBalancingV2::LoadBalancer": "load balancer",
    "AWS::Scheduler::Schedule": "schedule",
    "AWS::Lambda::Function": "function",
    "AWS::Serverless::Function": "function",
    "AWS::CloudFront::Distribution": "CDN",
    "AWS::EC2::FlowLog": "flow logs",
}
# Types left out of a stack's summary: plumbing every stack has.
PLUMBING = ("AWS::IAM::", "AWS::EC2::SecurityGroup", "AWS::EC2::Route", "AWS::EC2::SubnetRouteTable",
            "AWS::Lambda::Permission", "AWS::S3::BucketPolicy", "AWS::SQS::QueuePolicy", "AWS::KMS::Alias",
            "AWS::EC2::VPCGatewayAttachment", "AWS::ApplicationAutoScaling::", "AWS::Logs::")


@record
class Listener:
    logical_id: str
    ports: list[str]            # more than one when a Condition picks the port (e.g. "443" or "80")
    protocols: list[str]


@record
class Route:
    listener: str               # the listener's logical id, or "" when it could not be followed
    priority: Any
    paths: list[str]
    hosts: list[str]


@record
class Workload:
    name: str
    kind: str                   # web | worker | cron
    stack: str                  # the nested stack's file
    routes: list[Route] = field(default_factory=list)


@record
class Store:
    kind: str                   # STORE_TYPES' name
    logical_id: str
    stack: str
    name: str = ""              # its app.yaml name (store_name), the label the diagram shows
    engine: str = ""            # a cache's or database's Engine (valkey, aurora-postgresql), when the template says
    users: list[str] = field(default_factory=list)     # workload names, or USER_TYPES' names


@record
class Stage:
    name: str
    actions: list[tuple[str, str]]      # (action name, provider)


@record
class Architecture:
    title: str
    stacks: dict[str, Counter]           # file -> resource type counts
    load_balancers: list[str] = field(default_factory=list)
    capacity_providers: list[str] = field(default_factory=list)     # the ECS cluster's default strategy
    listeners: list[Listener] = field(default_factory=list)
    cdn: list[str] = field(default_factory=list)
    workloads: list[Workload] = field(default_factory=list)
    stores: list[Store] = field(default_factory=list)
    stages: list[Stage] = field(default_factory=list)
    pipeline_files: list[str] = field(default_factory=list)


def read(templates: Path) -> Architecture:
    """The architecture of the templates in `templates` (a `make templates` output directory)."""
    files = {p.name: cfnyaml.loads(p.read_text(encoding="utf-8")) for p in sorted(templates.glob("*.yaml"))}
    return from_templates(files)


def from_templates(files: dict[str, dict]) -> Architecture:
    if ROOT_FILE not in files:
        raise FileNotFoundError(f"no {ROOT_FILE}: run `make templates` (or fargate-stacks build) first")
    root = files[ROOT_FILE]
    nested = _nested(root)                                  # stack logical id -> file
    title = str(root.get("Description", "")).split(":", 1)[0] or "app"
    arch = Architecture(title, {f: Counter(_types(files[f])) for f in nested.values() if f in files})
    for stack_id, file in nested.items():
        template = files.get(file) or {}
        resources = template.get("Resources") or {}
        for rid, r in resources.items():
            kind = r.get("Type")
            props = r.get("Properties") or {}
            if kind == "AWS::ElasticLoadBalancingV2::LoadBalancer":
                arch.load_balancers.append(rid)
            elif kind == "AWS::ElasticLoadBalancingV2::Listener":
                arch.listeners.append(Listener(rid, _alternatives(props.get("Port")),
                                               _alternatives(props.get("Protocol"))))
            elif kind == "AWS::CloudFront::Distribution":
                arch.cdn.append(rid)
            elif kind == "AWS::ECS::Cluster":
                arch.capacity_providers += [str(s.get("CapacityProvider")) for s in
                                            props.get("DefaultCapacityProviderStrategy") or []]
        workload = _workload(file, resources)
        if workload is not None:
            for r in resources.values():
                if r.get("Type") == "AWS::ElasticLoadBalancingV2::ListenerRule":
                    workload.routes.append(_route(r.get("Properties") or {}, root, stack_id, files, nested))
            workload.routes.sort(key=lambda route: (route.listener, str(route.priority)))
            arch.workloads.append(workload)
    names = {w.stack: w.name for w in arch.workloads}
    for stack_id, file in nested.items():
        for rid, r in ((files.get(file) or {}).get("Resources") or {}).items():
            if r.get("Type") in STORE_TYPES:
                engine = (r.get("Properties") or {}).get("Engine")
                store = Store(STORE_TYPES[r["Type"]], rid, file, store_name(rid, r, file),
                              engine if isinstance(engine, str) else "")
                store.users = sorted(set(_users(rid, stack_id, file, root, files, nested, names)))
                arch.stores.append(store)
    for file, template in files.items():
        for r in (template.get("Resources") or {}).values():
            if r.get("Type") == "AWS::CodePipeline::Pipeline":
                arch.pipeline_files.append(file)
                for stage in (r.get("Properties") or {}).get("Stages") or []:
                    arch.stages.append(Stage(str(stage.get("Name")), [
                        (str(a.get("Name")), str((a.get("ActionTypeId") or {}).get("Provider")))
                        for a in stage.get("Actions") or []]))
    kinds = {"web": 0, "worker": 1, "cron": 2}
    arch.workloads.sort(key=lambda w: (kinds.get(w.kind, 3), w.stack))
    return arch


def _nested(root: dict) -> dict[str, str]:
    out = {}
    for rid, r in (root.get("Resources") or {}).items():
        url = (r.get("Properties") or {}).get("TemplateURL")
        if r.get("Type") == "AWS::CloudFormation::Stack" and isinstance(url, str):
            out[rid] = url.rsplit("/", 1)[-1]
    return out


def _types(template: dict) -> list[str]:
    return [r.get("Type") for r in (template.get("Resources") or {}).values()]


def _alternatives(value: Any) -> list[str]:
    """A literal, or the branches of an Fn::If."""
    if isinstance(value, dict) and "Fn::If" in value:
        return [v for branch in value["Fn::If"][1:] for v in _alternatives(branch)]
    return [] if value is None or isinstance(value, dict) else [str(value)]


def _workload(file: str, resources: dict) -> Workload | None:
    types = {r.get("Type") for r in resources.values()}
    if "AWS::ECS::TaskDefinition" not in types:
        return None
    definition = next(r for r in resources.values() if r.get("Type") == "AWS::ECS::TaskDefinition")
    containers = (definition.get("Properties") or {}).get("ContainerDefinitions") or [{}]
    name = containers[0].get("Name") if isinstance(containers[0].get("Name"), str) else Path(file).stem
    if "AWS::ElasticLoadBalancingV2::ListenerRule" in types or "AWS::ElasticLoadBalancingV2::TargetGroup" in types:
        kind = "web"
    elif "AWS::ECS::Service" in types:
        kind = "worker"
    else:
        kind = "cron"
    return Workload(name, kind, file)


# Physical-name properties of the store types; the generator names them `<app>-<env>-<name>[-<suffix>]`
# (generator/naming.py), `<name>` being the app.yaml name (`jobs`, `jobs-dlq`, a service's for its repository).
NAME_PROPERTIES = ("QueueName", "TableName", "BucketName", "RepositoryName", "FileSystemName", "ReplicationGroupId",
                   "DBClusterIdentifier")
_PREFIX = "${Application}-${EnvironmentName}-"


def store_name(logical_id: str, resource: dict, file: str) -> str:
    """A store's name as app.yaml spells it, read from the template alone: the `<name>` of its physical name
    (`${Application}-${EnvironmentName}-jobs-dlq.fifo` -> `jobs-dlq`; a `-${Suffix}` made unique per stack left
    out), else the name its nested stack's file carries (`cache-broker.yaml` -> `broker`, `database.yaml` ->
    `database`: one stack per store), else its logical id."""
    props = resource.get("Properties") or {}
    for key in NAME_PROPERTIES:
        value = props.get(key)
        text = value.get("Fn::Sub") if isinstance(value, dict) else None
        text = text[0] if isinstance(text, list) and text else text
        if isinstance(text, str) and text.startswith(_PREFIX):
            return re.sub(r"-?\$\{[^}]*\}", "", text[len(_PREFIX):]).removesuffix(".fifo") or logical_id
    if file == ROOT_FILE:
        return logical_id
    stem = file.removesuffix(".yaml")
    return stem.partition("-")[2] or stem


def _route(props: dict, root: dict, stack_id: str, files: dict, nested: dict) -> Route:
    paths, hosts = [], []
    for condition in props.get("Conditions") or []:
        field_name = condition.get("Field")
        config = condition.get("PathPatternConfig") or condition.get("HostHeaderConfig") or {}
        values = config.get("Values") or condition.get("Values") or []
        (paths if field_name == "path-pattern" else hosts if field_name == "host-header" else []).extend(
            str(v) for v in values)
    return Route(_listener_of(props.get("ListenerArn"), root, stack_id, files, nested), props.get("Priority"),
                 paths, hosts)


def _listener_of(arn: Any, root: dict, stack_id: str, files: dict, nested: dict) -> str:
    """Follow `Ref <parameter>` -> the root's GetAtt <stack>.Outputs.<name> -> that output's Ref <listener>."""
    if not (isinstance(arn, dict) and "Ref" in arn):
        return ""
    passed = (((root.get("Resources") or {}).get(stack_id) or {}).get("Properties") or {}).get("Parameters") or {}
    source = passed.get(arn["Ref"])
    if not (isinstance(source, dict) and "Fn::GetAtt" in source):
        return ""
    other, output = source["Fn::GetAtt"]
    value = (((files.get(nested.get(other, "")) or {}).get("Outputs") or {}).get(_output_name(output))
             or {}).get("Value")
    refs = sorted(_refs(value))
    return "|".join(refs)


def _output_name(attribute: Any) -> str:
    """`Outputs.<Name>` (a nested stack's GetAtt attribute) -> `<Name>`."""
    return str(attribute).partition(".")[2]


def _refs(node: Any) -> set[str]:
    """Every logical id or parameter a value refers to (Ref, GetAtt, and ${X} in Sub)."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::GetAtt" and isinstance(value, list) and value:
                found.add(str(value[0]))
            elif key == "Fn::Sub":
                text = value[0] if isinstance(value, list) else value
                if isinstance(text, str):
                    found |= {m.split(".")[0] for m in re.findall(r"\$\{([^}!]+)\}", text)}
                if isinstance(value, list) and len(value) > 1:
                    found |= _refs(value[1])
            else:
                found |= _refs(value)
    elif isinstance(node, list):
        for value in node:
            found |= _refs(value)
    return found


def _users(store_id: str, stack_id: str, file: str, root: dict, files: dict, nested: dict,
           workload_of: dict[str, str]) -> list[str]:
    """Who refers to the store: resources of its own stack, and of every stack the root passes one of the outputs
    that name it to."""
    template = files.get(file) or {}
    found = _referrers(template, {store_id}, file, workload_of)
    outputs = {name for name, out in (template.get("Outputs") or {}).items() if store_id in _refs(out.get("Value"))}
    for other_id, other_file in nested.items():
        if other_id == stack_id:
            continue
        params = (((root.get("Resources") or {}).get(other_id) or {}).get("Properties") or {}).get("Parameters") or {}
        names = {p for p, v in params.items() if isinstance(v, dict) and "Fn::GetAtt" in v
                 and v["Fn::GetAtt"][0] == stack_id and _output_name(v["Fn::GetAtt"][1]) in outputs}
        if names:
            found += _referrers(files.get(other_file) or {}, names, other_file, workload_of)
    return found


def _referrers(template: dict, targets: set[str], file: str, workload_of: dict[str, str]) -> list[str]:
    users = []
    for rid, r in (template.get("Resources") or {}).items():
        if rid in targets or not (targets & _refs(r.get("Properties"))):
            continue
        if file in workload_of and r.get("Type", "").startswith(("AWS::ECS::", "AWS::IAM::", "AWS::Scheduler::")):
            users.append(workload_of[file])
        elif r.get("Type") in USER_TYPES:
            users.append(USER_TYPES[r["Type"]])
    return users


def summary(types: Counter) -> list[str]:
    """A stack's resource types, short (`3 NatGateway`), plumbing left out, most frequent first."""
    kept = [(n, t) for t, n in types.items() if t and not t.startswith(PLUMBING)
            and t != "AWS::CloudFormation::Stack"]
    return [f"{n} {t.split('::')[-1]}" if n > 1 else t.split("::")[-1]
            for n, t in sorted(kept, key=lambda item: (-item[0], item[1]))]


def dump(arch: Architecture) -> str:
    """The architecture as JSON (for tests and debugging)."""
    from dataclasses import asdict
    return json.dumps(asdict(arch), indent=1, sort_keys=True, default=dict)
