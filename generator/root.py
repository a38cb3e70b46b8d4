"""The root template: calls each stack's build in dependency order, then assembles parameters and nested stacks.

Adding a nested stack is a new module under `stacks/` plus one line in `build_stacks`.
"""
from __future__ import annotations

from dataclasses import dataclass

from troposphere import Output, Template, cloudformation

from generator import naming, tagging
from generator.config import AppSpec
from generator.errors import WiringError
from generator.stacks import cluster as cluster_stack
from generator.stacks import network
from generator.stacks import registry as registry_stack
from generator.stacks import service
from generator.wiring import STANDARD_PARAMETERS, Nested, RootParameter, StackBuilder

ROOT_FILE = "root.yaml"


@dataclass
class Build:
    """Everything one build produces, before rendering."""

    root: Template
    nested: list[Nested]
    parameters: list[RootParameter]

    def templates(self) -> dict[str, Template]:
        return {ROOT_FILE: self.root, **{n.builder.filename: n.builder.template for n in self.nested}}


def build_stacks(app: AppSpec) -> list[Nested]:
    """The architecture, in dependency order. Each line is one nested stack."""
    stacks: list[Nested] = []

    def nested(logical_id: str, filename: str, description: str) -> StackBuilder:
        builder = StackBuilder(logical_id, filename, f"{app.app}: {description}")
        stacks.append(Nested(builder))
        return builder

    net = network.build(app, nested("Network", "network.yaml", "VPC, subnets, NAT, flow logs and endpoints"))
    registry = registry_stack.build(app, nested("Registry", "registry.yaml", "ECR repositories and registry scanning"))
    cluster = cluster_stack.build(app, nested("Cluster", "cluster.yaml", "ECS cluster, load balancer and listeners"),
                                  net)
    for svc in app.services:  # one stack per service keeps each template far from CloudFormation's limits
        service.build(app, svc, nested(naming.service_stack(svc.name), f"service-{svc.name}.yaml",
                                       f"the {svc.name} service ({svc.kind})"),
                      net=net, cluster=cluster, registry=registry)
    return stacks


def build(app: AppSpec) -> Build:
    stacks = build_stacks(app)
    params = _root_parameters(stacks)
    root = Template(Description=f"{app.app}: root stack (one per environment; the environment enters only "
                                f"through parameters, stack name and tags)")
    root.set_version()
    for p in params:
        root.add_parameter(p.declare())
        root.add_parameter_to_group(p.name, p.group)
        root.set_parameter_label(p.name, p.label)
    for n in stacks:
        root.add_resource(cloudformation.Stack(
            n.builder.logical_id, TemplateURL=f"./{n.builder.filename}", Parameters=n.parameters(),
            # Stack tags propagate to every resource of the nested stack: only the stable ones (tagging.py).
            Tags=tagging.stable_tag_list()))
        # Re-exported so `make outputs`, the console and the pipeline find them on the root stack.
        for name in n.builder.public:
            ref = n.builder.exports[name]
            root.add_output(Output(f"{n.builder.logical_id}{name}", Description=ref.description, Value=ref.value()))
    return Build(root, stacks, params)


def _root_parameters(stacks: list[Nested]) -> list[RootParameter]:
    """Every root parameter any stack consumes, standard ones first, each declared once."""
    found: dict[str, RootParameter] = {p.name: p for p in STANDARD_PARAMETERS}
    for n in stacks:
        for source in n.builder.inputs.values():
            if not isinstance(source, RootParameter):
                continue
            known = found.setdefault(source.name, source)
            if known != source:
                raise WiringError(f"root parameter {source.name} is defined twice with different settings")
    return list(found.values())
