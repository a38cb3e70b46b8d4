"""The root template: the architecture, each component's build called in dependency order, then the parameters and
nested stacks assembled.

Adding a component is its package under `components/`, one line in `components/__init__.py` and one line in
`build_stacks` (docs/adding-a-component.md).
"""
from __future__ import annotations

from troposphere import Output, Template, cloudformation

from generator import naming, tagging
from generator import components
from generator.components import (access, bucket, cache, cluster, database, environment, filesystem, frontend,
                                   migrate, monitoring, network, queue, registry, service, table)
from generator.components.attachments import Attachments
from generator.components.base import Component, EnvInputs
from generator.config import AppSpec
from generator.errors import WiringError
from generator.records import record
from generator.wiring import STANDARD_PARAMETERS, Nested, PackedSetting, RootParameter, StackBuilder

ROOT_FILE = "root.yaml"
# Root parameters the stacks may take one setting each (CloudFormation allows 200): every root parameter any stack
# takes counts, and past it the settings a stack declares packable (the services') are packed one parameter per
# service (`fit_budget`). The rest is headroom.
ROOT_PARAMETER_BUDGET = 150


@record
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

    def nested(component: Component, instance: str | None = None, description: str | None = None,
               packable: tuple[EnvInputs, ...] = ()) -> StackBuilder:
        builder = component.builder(app, instance, description)
        stacks.append(Nested(builder, packable))
        return builder

    env = environment.env_inputs(app)
    net_inputs = network.env_inputs(app)
    net = network.build(app, nested(network.COMPONENT), net_inputs)
    images = registry.build(app, nested(registry.COMPONENT), registry.env_inputs(app))
    edge = frontend.env_inputs(app) if app.frontend is not None else None
    ecs = cluster.build(app, nested(cluster.COMPONENT), cluster.env_inputs(app), env, net=net,
                        edge=edge if frontend.fronts_api(app) else None)
    # what services may use, by name: each producer adds its attachments here (docs/attachments.md)
    stores = Attachments(app, components.COMPONENTS)
    watch = nested(monitoring.COMPONENT)
    alerts = monitoring.build(app, watch, monitoring.env_inputs(app), cluster=ecs)
    off_hours = service.off_hours_inputs(app)
    db_inputs = database.env_inputs(app) if app.database is not None else None
    db = None if db_inputs is None else database.build(app, nested(database.COMPONENT), db_inputs, env, off_hours,
                                                       net=net, alerts=alerts)
    if db is not None:
        stores.add(db.attachment)
    # the data stores, one stack each (docs/data-stores.md); their settings count against the root's budget
    caches = {c.name: cache.build(app, c, nested(cache.COMPONENT, c.name, f"the {c.name} cache"),
                                  cache.env_inputs(app, c), net=net, alerts=alerts) for c in app.caches}
    queues = {q.name: queue.build(app, q, nested(queue.COMPONENT, q.name, f"the {q.name} queue"), alerts=alerts)
              for q in app.queues}
    tables = {t.name: table.build(app, t, nested(table.COMPONENT, t.name, f"the {t.name} table"),
                                  table.env_inputs(app, t), alerts=alerts) for t in app.tables}
    buckets = {b.name: bucket.build(app, b, nested(bucket.COMPONENT, b.name, f"the {b.name} bucket"))
               for b in app.buckets}
    file_systems = {f.name: filesystem.build(app, f, nested(filesystem.COMPONENT, f.name, f"the {f.name} file system"),
                                             filesystem.env_inputs(app, f), net=net, zones=net_inputs["az_count"],
                                             alerts=alerts)
                    for f in app.file_systems}
    for built in (caches, queues, tables, buckets):
        stores.add(*(outputs.attachment for outputs in built.values()))
    services = {}
    for svc in app.services:  # one stack per service keeps each template far from CloudFormation's limits
        # a root parameter per setting; packed into one when the root is over its budget (fit_budget)
        settings = service.env_inputs(app, svc)
        services[svc.name] = service.build(
            app, svc, nested(service.COMPONENT, svc.name, f"the {svc.name} service ({svc.kind})", (settings,)),
            settings, off_hours, env, net=net, cluster=ecs, registry=images, attachments=stores,
            file_systems=file_systems, queues=queues, alerts=alerts)
    if migrate.wanted(app):   # the role of the pipeline's Migrate action (generator/pipeline/migrate.py)
        migrate.build(app, nested(migrate.COMPONENT), env, service=services[app.migrate.service], database=db)
    if app.frontend is not None:
        frontend.build(app, nested(frontend.COMPONENT), edge, cluster=ecs)
    monitoring.dashboard(app, watch, alerts, cluster=ecs)   # after the stacks: it shows what each one watches
    if access.wanted(app):   # an app that names nobody in any environment has no access stack
        access.build(app, nested(access.COMPONENT), access.env_inputs(app), env)
    return stacks


def build(app: AppSpec) -> Build:
    return assemble(app, build_stacks(app))


def fit_budget(stacks: list[Nested]) -> list[RootParameter]:
    """The root's parameters: every one any stack takes counts against ROOT_PARAMETER_BUDGET, whichever component
    declared it (settings, image tags, alarm thresholds, variables...). Within it, a setting each, labelled in the
    console form; past it, every stack's packable settings are packed, which changes the root only (the nested
    templates are the same either way). Deterministic: the spec alone decides (docs/performance.md, Scale)."""
    params = _root_parameters(stacks)
    if len(params) <= ROOT_PARAMETER_BUDGET:
        return params
    for n in stacks:
        for settings in n.packable:
            settings.pack(n.builder)
    return _root_parameters(stacks)


def assemble(app: AppSpec, stacks: list[Nested]) -> Build:
    """The root template over the nested stacks: their root parameters, the stacks, the re-exported outputs."""
    params = fit_budget(stacks)
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
            if isinstance(source, PackedSetting):
                source = source.packed
            if not isinstance(source, RootParameter):
                continue
            known = found.setdefault(source.name, source)
            if known != source:
                raise WiringError(f"root parameter {source.name} is defined twice with different settings")
    return list(found.values())
