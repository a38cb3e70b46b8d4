"""The root template: the architecture, each component's build called in dependency order, then the parameters and
nested stacks assembled.

Adding a component is its package under `components/`, one line in `components/__init__.py` and one line in
`build_stacks` (docs/adding-a-component.md).
"""
from __future__ import annotations

from dataclasses import dataclass

from troposphere import Output, Template, cloudformation

from generator import naming, tagging
from generator.components import cluster, environment, frontend, network, registry, service
from generator.components.base import Component
from generator.config import AppSpec
from generator.errors import WiringError
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
    """The architecture, in dependency order. Each line is one nested stack (one per service)."""
    stacks: list[Nested] = []

    def nested(component: Component, instance: str | None = None, description: str | None = None) -> StackBuilder:
        builder = component.builder(app, instance, description)
        stacks.append(Nested(builder))
        return builder

    env = environment.env_inputs(app)
    net = network.build(app, nested(network.COMPONENT), network.env_inputs(app))
    images = registry.build(app, nested(registry.COMPONENT), registry.env_inputs(app))
    edge = frontend.env_inputs(app) if app.frontend is not None else None
    ecs = cluster.build(app, nested(cluster.COMPONENT), cluster.env_inputs(app), env, net=net,
                        edge=edge if frontend.fronts_api(app) else None)
    off_hours = service.off_hours_inputs(app)
    for svc in app.services:  # one stack per service keeps each template far from CloudFormation's limits
        service.build(app, svc, nested(service.COMPONENT, svc.name, f"the {svc.name} service ({svc.kind})"),
                      service.env_inputs(app, svc), off_hours, env, net=net, cluster=ecs, registry=images)
    if app.frontend is not None:
        frontend.build(app, nested(frontend.COMPONENT), edge, cluster=ecs)
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
            root.add_output(Output(naming.root_output(n.builder.logical_id, name), Description=ref.description,
                                   Value=ref.value()))
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
