"""The pipeline's stages and actions (docs/pipeline.md has the picture for the default app).

Source -> UpdatePipeline (self-update) -> Build (one image per service, scan gate) -> per environment, in app.yaml's
order: [Approve<Env> for production] -> Deploy<Env>: Promote (1) -> Deploy (2) -> PrepareRelease (3) ->
Release<Service> per web service, beside them the gates of the held releases (4): IntegrationTests (a Lambda invoke
action) in the test environment, ApproveReroute where a service waits for an approval.

Every Configuration value is a string (E9010): ParameterOverrides and EnvironmentVariables are JSON text, a `Sub`
where they embed an account or the app name; the Deploy action's ParameterOverrides read each service's image tag
from the Promote step's `image-tags.json` (`Fn::GetParam`, generator/image_tags.py). Variables:
`#{SourceVariables.CommitId}` and the Deploy action's stack outputs (`#{Deploy<Env>Variables.ClusterLoadBalancerDns}`).
"""
from __future__ import annotations

import json
from typing import Any

from troposphere import Ref, Sub, codepipeline

from generator import holds, image_tags, naming
from generator.config import AppSpec
from generator.naming import pascal
from generator.pipeline import approvals, common
from generator.pipeline import projects as p
from generator.pipeline.roles import Roles
from generator.pipeline.storage import Storage
from generator.components.cluster.alb import TEST_PORT

SOURCE, TEMPLATES = "Source", "Templates"
SOURCE_ACTION = "Source"
RELEASE_ORDER = 4   # Promote (1), Deploy (2), PrepareRelease (3), the CodeDeployToECS actions and their gates (4)


def deploy_stage(env: str) -> str:
    return f"Deploy{pascal(env)}"


def approve_stage(env: str) -> str:
    return f"Approve{pascal(env)}"


def action(name: str, category: str, provider: str, run_order: int, config: dict[str, Any], inputs=(), outputs=(),
           role=None, namespace: str | None = None) -> codepipeline.Actions:
    props: dict[str, Any] = dict(
        Name=name, RunOrder=run_order, Configuration=config,
        ActionTypeId=codepipeline.ActionTypeId(Category=category, Owner="AWS", Provider=provider, Version="1"))
    if inputs:
        props["InputArtifacts"] = [codepipeline.InputArtifacts(Name=a) for a in inputs]
    if outputs:
        props["OutputArtifacts"] = [codepipeline.OutputArtifacts(Name=a) for a in outputs]
    if role is not None:
        props["RoleArn"] = role
    if namespace is not None:
        props["Namespace"] = namespace
    return codepipeline.Actions(**props)


def environment_variables(variables: dict[str, str], **subs) -> Any:
    """The CodeBuild action's EnvironmentVariables: a JSON string (a Sub when a value names `${...}`)."""
    text = json.dumps([{"name": k, "value": v, "type": "PLAINTEXT"} for k, v in variables.items()],
                      separators=(",", ":"))
    return Sub(text, **subs) if "${" in text else text


def codebuild(name: str, project: p.Project, run_order: int, inputs=(SOURCE,), outputs=(), variables=None,
              namespace=None, **subs) -> codepipeline.Actions:
    config: dict[str, Any] = {"ProjectName": p.project_ref(project)}
    if len(inputs) > 1:
        config["PrimarySource"] = inputs[0]
    if variables:
        config["EnvironmentVariables"] = environment_variables(variables, **subs)
    return action(name, "Build", "CodeBuild", run_order, config, inputs, outputs, namespace=namespace)


def build(app: AppSpec, store: Storage, roles: Roles, capabilities: str) -> list[codepipeline.Stages]:
    stages = [
        codepipeline.Stages(Name="Source", Actions=[action(
            SOURCE_ACTION, "Source", "CodeStarSourceConnection", 1,
            {"ConnectionArn": Ref("ConnectionArn"), "FullRepositoryId": Ref("FullRepositoryId"),
             "BranchName": Ref("BranchName"), "OutputArtifactFormat": "CODE_ZIP"},
            outputs=[SOURCE], namespace="SourceVariables")]),
        codepipeline.Stages(Name="UpdatePipeline", Actions=[
            codebuild("SelfUpdate", p.SELF_UPDATE, 1, outputs=[TEMPLATES]),
            action("UpdatePipeline", "Deploy", "CloudFormation", 2, {
                "ActionMode": "CREATE_UPDATE", "StackName": Ref("AWS::StackName"),
                "TemplatePath": f"{TEMPLATES}::packaged/pipeline.yaml",
                "TemplateConfiguration": f"{TEMPLATES}::params/pipeline.config.json",
                "Capabilities": "CAPABILITY_NAMED_IAM,CAPABILITY_AUTO_EXPAND",
                "RoleArn": roles.stack}, inputs=[TEMPLATES]),
        ]),
    ]
    if app.services:
        stages.append(codepipeline.Stages(Name="Build", Actions=[
            codebuild(f"Build{pascal(svc.name)}", p.build_project(svc.name), 1,
                      variables={"COMMIT_ID": "#{SourceVariables.CommitId}"},
                      namespace=f"Build{pascal(svc.name)}Variables")
            for svc in app.services]))
    for target in common.targets(app):
        if target.production:
            stages.append(codepipeline.Stages(Name=approve_stage(target.env), Actions=[action(
                "ApproveRelease", "Approval", "Manual", 1, {
                    "NotificationArn": Ref(store.topic),
                    "CustomData": f"Release commit #{{SourceVariables.CommitId}} to {target.env} (production). "
                                  "Approve once the earlier environments look right; rejecting stops this run."})]))
        stages.append(codepipeline.Stages(Name=deploy_stage(target.env),
                                          Actions=_environment_actions(app, target, store, capabilities)))
    return stages


def _environment_actions(app: AppSpec, target: common.Target, store: Storage, capabilities: str) -> list:
    env = target.env
    deploy_ns, promote_ns = f"Deploy{target.pascal}Variables", f"Promote{target.pascal}Variables"
    reach = {"TARGET_REGISTRY": "${Account}.dkr.ecr.${AWS::Region}.${AWS::URLSuffix}",
             "TARGET_PREFIX": f"${{Application}}-{env}-",
             "DEPLOY_ROLE_ARN": approvals.deploy_role()}
    actions = []
    config: dict[str, Any] = {
        "ActionMode": "CREATE_UPDATE", "StackName": Sub(naming.stack_name_sub(env)),
        "TemplatePath": f"{TEMPLATES}::packaged/root.yaml",
        "TemplateConfiguration": f"{TEMPLATES}::params/{env}.config.json",
        "Capabilities": capabilities, "RoleArn": target.cloudformation_role()}
    tags = image_tags.artifact(env)
    deploy_inputs = [TEMPLATES]
    if app.services:
        # Promote writes image-tags.json: the commit's tag per service, `bootstrap` for a service whose repository
        # the environment does not have yet (new in app.yaml: this deploy creates it, with no tasks)
        actions.append(codebuild("Promote", p.PROMOTE, 1, outputs=[tags], variables={
            **reach, "COMMIT_ID": "#{SourceVariables.CommitId}"}, namespace=promote_ns, Account=target.account))
        config["ParameterOverrides"] = image_tags.parameter_overrides([svc.name for svc in app.services], env)
        deploy_inputs.append(tags)
    actions.append(action("Deploy", "Deploy", "CloudFormation", 2, config, inputs=deploy_inputs,
                          role=target.deploy_role(), namespace=deploy_ns))
    if target.production:
        actions.append(protect_nested_stacks(target, run_order=3))
    web = p.web_services(app)
    if web:
        artifacts = [p.release_artifact(env, svc.name) for svc in web]
        actions.append(codebuild("PrepareRelease", p.release_project(env), 3, inputs=(SOURCE, tags),
                                 outputs=artifacts, variables={**reach, "IMAGE_TAGS_ARTIFACT": tags},
                                 Account=target.account))
        for svc, artifact in zip(web, artifacts):
            name = naming.codedeploy_name(app.app, env, svc.name)
            actions.append(action(f"Release{pascal(svc.name)}", "Deploy",
                                  "CodeDeployToECS", RELEASE_ORDER, {
                                      "ApplicationName": name, "DeploymentGroupName": name,
                                      "TaskDefinitionTemplateArtifact": artifact,
                                      "TaskDefinitionTemplatePath": "taskdef.json",
                                      "AppSpecTemplateArtifact": artifact, "AppSpecTemplatePath": "appspec.yaml",
                                      "Image1ArtifactName": artifact, "Image1ContainerName": "IMAGE1_NAME"},
                                  inputs=[artifact], role=target.deploy_role()))
    # The gates of the releases held on the test listener (generator/holds.py) run beside the CodeDeployToECS
    # actions, which only finish once production traffic moved: the tests while every release waits there, the
    # lead's approval where a service asks for one. The reroute rule (approvals.py) continues or stops the releases.
    gate_order = RELEASE_ORDER if web else RELEASE_ORDER - 1
    test_url = environment_test_url(app, env, deploy_ns)
    if app.test_environment() == env:
        actions.append(action(holds.TESTS, "Invoke", "Lambda", gate_order, {
            "FunctionName": approvals.gate_function_name(),
            "UserParameters": Sub(approvals.gate_parameters(app, env, test_url), Account=target.account)},
            inputs=[SOURCE]))
    waiting = holds.approval_services(app, env)
    if waiting:
        tested = " once the integration tests passed there" if app.test_environment() == env else ""
        actions.append(action(holds.APPROVAL, "Approval", "Manual", gate_order, {
            "NotificationArn": Ref(store.topic),
            "CustomData": f"{env}: the release of {', '.join(waiting)} waits on the test listener {test_url}. "
                          f"Approve once it looks right there: its production traffic then moves to it{tested}. "
                          "Rejecting stops it and rolls it back."}))
    return actions


def protect_nested_stacks(target: common.Target, run_order: int) -> codepipeline.Actions:
    """After a production Deploy: the Deploy action sets the config file's StackPolicy on the root only, which holds
    nothing but nested stacks; this sets it on every nested stack (scripts/nested_stack_policy.py, the same code
    `make deploy` runs), through the environment's deploy role."""
    return codebuild("ProtectNestedStacks", p.PROTECT, run_order, inputs=(SOURCE, TEMPLATES), variables={
        "STACK_NAME": naming.stack_name_sub(target.env), "DEPLOY_ROLE_ARN": approvals.deploy_role(),
        "CONFIG_FILE": f"params/{target.env}.config.json", "TEMPLATES_ARTIFACT": TEMPLATES}, Account=target.account)


def environment_test_url(app: AppSpec, env: str, deploy_ns: str) -> str:
    """The environment's test listener (generator/components/cluster/alb.py). With a certificate it speaks HTTPS, and only a host name the
    certificate covers passes TLS verification: the environment's `domain_name` (a rule requires it), never the
    load balancer's own DNS name. Without one: plain HTTP on the load balancer's DNS name (a Deploy output)."""
    spec = app.environments[env]
    if spec.certificate_arn:
        return f"https://{spec.domain_name}:{TEST_PORT}"
    return f"http://#{{{deploy_ns}.{naming.root_output('Cluster', 'LoadBalancerDns')}}}:{TEST_PORT}"
