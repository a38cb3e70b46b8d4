"""pipeline.yaml: the delivery pipeline of one app, deployed once in the pipeline account; it then updates itself.

`build(app, root_build)` returns the templates: pipeline.yaml and its nested pipeline-roles.yaml, pipeline-builds.yaml
and, with gates, pipeline-gates.yaml. The nested stacks are wired like the environment's (generator/wiring.py): each
declares its inputs from pipeline.yaml's parameters, its own resources (`ParentValue`) or another nested stack's
outputs, and pipeline.yaml is assembled from those records. pipeline.yaml keeps what was created in it first and must
not move (its key, bucket, log group, topic, build repositories and the pipeline itself: a named resource cannot move
between stacks without being replaced); it is deployed through S3 (a TemplateURL, up to 1 MB), so its size grows
with the app's services and environments without a 51,200-byte ceiling (docs/pipeline.md, "Template sizes").
"""
from __future__ import annotations

from troposphere import GetAtt, Output, Ref, Template, cloudformation, codepipeline

from generator.config import AppSpec
from generator.errors import WiringError
from generator.pipeline import approvals, common, notifications, projects, regions, roles, sources, stages, storage
from generator.root import Build
from generator.wiring import Nested, OutputRef, ParentValue, RootParameter


def capabilities(root_build: Build) -> str:
    """What the environment stacks need (as scripts/deploylib/packaging.py decides): CAPABILITY_IAM for IAM
    resources, CAPABILITY_NAMED_IAM when one has an explicit name, CAPABILITY_AUTO_EXPAND for transforms."""
    named_props = {"AWS::IAM::Role": "RoleName", "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
                   "AWS::IAM::User": "UserName", "AWS::IAM::Group": "GroupName", "AWS::IAM::InstanceProfile": None,
                   "AWS::IAM::Policy": None, "AWS::IAM::AccessKey": None, "AWS::IAM::UserToGroupAddition": None}
    iam = named = expand = False
    # Read from the troposphere objects, not from their to_dict() (which render_app made of each of these templates
    # already, validating them): a resource's "Type" is its resource_type and its "Properties" hold the keys of its
    # properties; a template's "Transform" is written when it has one.
    for template in root_build.templates().values():
        expand = expand or bool(template.transform)
        for resource in template.resources.values():
            kind = getattr(resource, "resource_type", None)
            if kind in named_props:
                iam = True
                prop = named_props[kind]
                named = named or (prop is not None and prop in resource.properties)
    caps = (["CAPABILITY_NAMED_IAM"] if named else ["CAPABILITY_IAM"] if iam else [])
    return ",".join(caps + (["CAPABILITY_AUTO_EXPAND"] if expand else []))


def build(app: AppSpec, root_build: Build) -> dict[str, Template]:
    t = Template(Description=f"{app.app}: delivery pipeline (deployed once in the pipeline account; updates itself "
                             f"from the branch)")
    t.set_version()
    parameters = common.pipeline_parameters(app)
    common.declare(t, parameters)
    store = storage.build(app, t)
    key = ParentValue("PipelineKeyArn", GetAtt(store.key, "Arn"), "String", "The pipeline's KMS key.")
    stack_name = ParentValue("PipelineStackName", Ref("AWS::StackName"), "String",
                             "The pipeline's own stack (the self-update deploys it).")
    log_group = ParentValue("BuildLogGroup", Ref(store.log_group), "String", "Log group of every project.")
    nested: list[Nested] = []

    def stack(logical_id: str, filename: str, description: str):
        b = common.builder(app, logical_id, filename, description)
        nested.append(Nested(b))
        return b

    role_arns = roles.build(app, stack(roles.LOGICAL_ID, roles.TEMPLATE, "the pipeline's IAM roles"), key, stack_name)
    names = projects.build(app, stack(projects.LOGICAL_ID, projects.TEMPLATE, "the pipeline's CodeBuild projects"),
                           role_arns, key, log_group, stack_name)
    gate = None
    if approvals.needed(app):
        gate = approvals.build(app, stack(approvals.LOGICAL_ID, approvals.TEMPLATE,
                                          "the pipeline's release gates: integration tests and the continuation of "
                                          "held releases"), role_arns.reroute, key)
    _check_parameters(nested, parameters)
    for n in nested:
        t.add_resource(cloudformation.Stack(n.builder.logical_id, TemplateURL=f"./{n.builder.filename}",
                                            Parameters=n.parameters(), Tags=common.tags()))
    pipeline = common.add(t, codepipeline.Pipeline(
        "Pipeline", Name=common.name(), RoleArn=role_arns.pipeline.value(), PipelineType="V2",
        # A newer commit overtakes one still waiting at a stage boundary (e.g. at the production approval), so an
        # approver always sees the latest tested commit rather than a queue of stale ones.
        ExecutionMode="SUPERSEDED",
        RestartExecutionOnUpdate=True,   # the self-update restarts the run on the new definition
        **regions.artifact_store(app, store.bucket, GetAtt(store.key, "Arn")),
        Triggers=sources.triggers(app),   # one per source action (generator/pipeline/sources.py)
        Stages=stages.build(app, store, names, gate, capabilities(root_build))))
    notifications.build(t, store.topic, pipeline)
    t.add_output(Output("PipelineName", Value=Ref(pipeline), Description="The pipeline"))
    t.add_output(Output("ArtifactBucket", Value=Ref(store.bucket), Description="Artifact bucket (packaged templates)"))
    t.add_output(Output("ArtifactKeyArn", Value=GetAtt(store.key, "Arn"), Description="KMS key of the artifacts"))
    t.add_output(Output("ApprovalTopicArn", Value=Ref(store.topic), Description="Approval notifications"))
    return {common.TEMPLATE: t, **{n.builder.filename: n.builder.template for n in nested}}


def _check_parameters(nested: list[Nested], parameters: list[RootParameter]) -> None:
    """Every parameter a nested stack takes from pipeline.yaml is one pipeline.yaml declares, with the same settings;
    every output it takes comes from a stack that declares it."""
    declared = {p.name: p for p in parameters}
    outputs = {(n.builder.logical_id, name) for n in nested for name in n.builder.exports}
    for n in nested:
        for name, source in n.builder.inputs.items():
            if isinstance(source, RootParameter) and declared.get(source.name) != source:
                raise WiringError(f"{n.builder.logical_id}: parameter {name} is not pipeline.yaml's {source.name}")
            if isinstance(source, OutputRef) and (source.stack, source.name) not in outputs:
                raise WiringError(f"{n.builder.logical_id}: {source.stack} has no output {source.name}")
