"""pipeline.yaml: the delivery pipeline of one app, deployed once in the pipeline account; it then updates itself.

`build(app, root_build)` returns the templates (pipeline.yaml and its nested pipeline-roles.yaml, pipeline-builds.yaml
and, with gates, pipeline-gates.yaml). See docs/pipeline.md.
"""
from __future__ import annotations

from troposphere import GetAtt, Output, Ref, Template, codepipeline

from generator.config import AppSpec
from generator.pipeline import approvals, common, projects, roles, stages, storage
from generator.root import Build


def capabilities(root_build: Build) -> str:
    """What the environment stacks need (as scripts/deploylib/packaging.py decides): CAPABILITY_IAM for IAM
    resources, CAPABILITY_NAMED_IAM when one has an explicit name, CAPABILITY_AUTO_EXPAND for transforms."""
    named_props = {"AWS::IAM::Role": "RoleName", "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
                   "AWS::IAM::User": "UserName", "AWS::IAM::Group": "GroupName", "AWS::IAM::InstanceProfile": None,
                   "AWS::IAM::Policy": None, "AWS::IAM::AccessKey": None, "AWS::IAM::UserToGroupAddition": None}
    iam = named = expand = False
    for template in root_build.templates().values():
        data = template.to_dict()
        expand = expand or "Transform" in data
        for resource in data.get("Resources", {}).values():
            if resource["Type"] in named_props:
                iam = True
                prop = named_props[resource["Type"]]
                named = named or (prop is not None and prop in resource.get("Properties", {}))
    caps = (["CAPABILITY_NAMED_IAM"] if named else ["CAPABILITY_IAM"] if iam else [])
    return ",".join(caps + (["CAPABILITY_AUTO_EXPAND"] if expand else []))


def build(app: AppSpec, root_build: Build) -> dict[str, Template]:
    t = Template(Description=f"{app.app}: delivery pipeline (deployed once in the pipeline account; updates itself "
                             f"from the branch)")
    t.set_version()
    common.declare(t, common.pipeline_parameters(app))
    store = storage.build(app, t)
    roles_stack, role_set = roles.nested_stack(app, store.key)
    t.add_resource(roles_stack)
    t.add_resource(projects.nested_stack(app, store, role_set))  # the actions name its project outputs
    if approvals.needed(app):  # the IntegrationTests action names its function output
        t.add_resource(approvals.nested_stack(app, store, role_set))
    pipeline = common.add(t, codepipeline.Pipeline(
        "Pipeline", Name=common.name(), RoleArn=role_set.pipeline, PipelineType="V2",
        # A newer commit overtakes one still waiting at a stage boundary (e.g. at the production approval), so an
        # approver always sees the latest tested commit rather than a queue of stale ones.
        ExecutionMode="SUPERSEDED",
        RestartExecutionOnUpdate=True,   # the self-update restarts the run on the new definition
        ArtifactStore=codepipeline.ArtifactStore(
            Type="S3", Location=Ref(store.bucket),
            EncryptionKey=codepipeline.EncryptionKey(Id=GetAtt(store.key, "Arn"), Type="KMS")),
        Triggers=[codepipeline.PipelineTriggerDeclaration(
            ProviderType="CodeStarSourceConnection", GitConfiguration=codepipeline.GitConfiguration(
                SourceActionName=stages.SOURCE_ACTION,
                Push=[codepipeline.GitPushFilter(Branches=codepipeline.GitBranchFilterCriteria(
                    Includes=[Ref("BranchName")]))]))],
        Stages=stages.build(app, store, role_set, capabilities(root_build))))
    t.add_output(Output("PipelineName", Value=Ref(pipeline), Description="The pipeline"))
    t.add_output(Output("ArtifactBucket", Value=Ref(store.bucket), Description="Artifact bucket (packaged templates)"))
    t.add_output(Output("ArtifactKeyArn", Value=GetAtt(store.key, "Arn"), Description="KMS key of the artifacts"))
    t.add_output(Output("ApprovalTopicArn", Value=Ref(store.topic), Description="Approval notifications"))
    templates = {common.TEMPLATE: t, roles.TEMPLATE: roles.build(app), projects.TEMPLATE: projects.build(app)}
    if approvals.needed(app):
        templates[approvals.TEMPLATE] = approvals.build(app, stages.deploy_stage)
    return templates
