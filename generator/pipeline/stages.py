"""The pipeline's stages and actions: each step of the plan (generator/pipeline/plan.py) as a CodePipeline action
(docs/pipeline.md has the tables for the default app and for a 50-service app).

Every Configuration value is a string (E9010): EnvironmentVariables and UserParameters are JSON text, a `Sub` where
they embed an account or the app name. The Deploy action of an environment reads its whole template configuration
(parameters, tags, stack policy) from the file the Promote step writes: params/<env>.config.json with each service's
`<Service>ImageTag` set (generator/image_tags.py), so no parameter travels in ParameterOverrides and its 1000
characters bound nothing. Variables: `#{SourceVariables.CommitId}` and the Deploy action's stack outputs
(`#{Deploy<Env>Variables.ClusterLoadBalancerDns}`).
"""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from troposphere import Ref, Sub, codepipeline

from generator import holds, image_tags, naming
from generator.config import AppSpec
from generator.naming import pascal
from generator.pipeline import approvals, common, plan, regions, sources
from generator.pipeline import projects as p
from generator.pipeline.storage import Storage
from generator.components.cluster.alb import TEST_PORT
from generator.components.frontend.spec import settings as frontend_settings
from generator.wiring import OutputRef

SOURCE, TEMPLATES = sources.PRIMARY, "Templates"    # SOURCE: the pipeline's own repository's artifact
LISTED_SERVICES = 5     # an approval message names at most this many services (the rest as "and N more")


def action(name: str, category: str, provider: str, run_order: int, config: dict[str, Any], inputs=(), outputs=(),
           role=None, namespace: str | None = None, **extra: Any) -> codepipeline.Actions:
    """`extra`: further ActionDeclaration properties (`Region`, regions.action_region)."""
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
    return codepipeline.Actions(**props, **extra)


def environment_variables(variables: dict[str, str], **subs) -> Any:
    """The CodeBuild action's EnvironmentVariables: a JSON string (a Sub when a value names `${...}`)."""
    text = json.dumps([{"name": k, "value": v, "type": "PLAINTEXT"} for k, v in variables.items()],
                      separators=(",", ":"))
    return Sub(text, **subs) if "${" in text else text


def template_configuration(app: AppSpec, env: str) -> str:
    """Where the Deploy action reads `env`'s template configuration: the Promote step's copy with the image tags
    when there are services, else the committed params/<env>.config.json."""
    if app.services:
        return f"{image_tags.artifact(env)}::{image_tags.CONFIG_FILE}"
    return f"{TEMPLATES}::params/{env}.config.json"


class Actions:
    """Builds the action of each planned step; holds what the actions name (projects, roles, the gate function)."""

    def __init__(self, app: AppSpec, store: Storage, projects: dict[p.Project, OutputRef],
                 gate_function: OutputRef | None, capabilities: str):
        self.app, self.store, self.projects = app, store, projects
        self.gate_function, self.capabilities = gate_function, capabilities
        self.kinds: dict[str, Callable[[plan.Step], codepipeline.Actions]] = {
            plan.SOURCE: self.source, plan.SELF_UPDATE: self.self_update, plan.UPDATE_PIPELINE: self.update_pipeline,
            plan.BUILD: self.build, plan.APPROVE_RELEASE: self.approve_release, plan.PROMOTE: self.promote,
            plan.DEPLOY: self.deploy, plan.PROTECT: self.protect, plan.PREPARE_RELEASE: self.prepare_release,
            plan.RELEASE: self.release, plan.TESTS: self.tests, plan.APPROVE_REROUTE: self.approve_reroute,
            plan.BUILD_FRONTEND: self.build_frontend, plan.PUBLISH_FRONTEND: self.publish_frontend}

    def __call__(self, step: plan.Step) -> codepipeline.Actions:
        return self.kinds[step.kind](step)

    def codebuild(self, step: plan.Step, project: p.Project, inputs=(SOURCE,), outputs=(), variables=None,
                  namespace=None, **subs) -> codepipeline.Actions:
        config: dict[str, Any] = {"ProjectName": self.projects[project].value()}
        if len(inputs) > 1:
            config["PrimarySource"] = inputs[0]
        if variables:
            config["EnvironmentVariables"] = environment_variables(variables, **subs)
        return action(step.name, "Build", "CodeBuild", step.run_order, config, inputs, outputs, namespace=namespace)

    def reach(self, env: str) -> dict[str, str]:
        """What a CodeBuild step needs to act in an environment's account (a Sub with `${Account}`), and in its
        region when that is not the pipeline's (generator/pipeline/regions.py)."""
        region = self.app.region_of(env)
        registry_region = "${AWS::Region}" if region == self.app.region else region
        return {"TARGET_REGISTRY": f"${{Account}}.dkr.ecr.{registry_region}.${{AWS::URLSuffix}}",
                "TARGET_PREFIX": f"${{Application}}-{env}-", "DEPLOY_ROLE_ARN": approvals.deploy_role(),
                **regions.target_region(self.app, env)}

    def account(self, env: str) -> Ref:
        return Ref(common.account_parameter(env))

    # --- the steps --------------------------------------------------------------------------------------------
    def source(self, step: plan.Step) -> codepipeline.Actions:
        return sources.action(sources.named(self.app, step.source or self.app.pipeline.source_name), step.name,
                              step.run_order)

    def self_update(self, step: plan.Step) -> codepipeline.Actions:
        return self.codebuild(step, p.SELF_UPDATE, outputs=[TEMPLATES])

    def update_pipeline(self, step: plan.Step) -> codepipeline.Actions:
        """Deploys this very stack from the packaged template through S3 (buildspecs/update_pipeline.yml.j2); the
        pipeline's RestartExecutionOnUpdate then restarts the run on the new definition."""
        return self.codebuild(step, p.UPDATE_PIPELINE, inputs=(TEMPLATES,))

    def build(self, step: plan.Step) -> codepipeline.Actions:
        """From the service's source (its primary input: Dockerfile and context); a source other than the pipeline's
        own repository comes with that one as a secondary input, for the scan gate in its scripts/."""
        service, = step.services
        source = sources.of_service(self.app, service)
        inputs = (source.artifact,) if source.primary else (source.artifact, SOURCE)
        return self.codebuild(step, p.build_project(service), inputs=inputs, variables={"COMMIT_ID": source.commit()},
                              namespace=f"Build{pascal(service)}Variables")

    def build_frontend(self, step: plan.Step) -> codepipeline.Actions:
        """The frontend, built once per run; its output artifact is what every environment publishes."""
        return self.codebuild(step, p.BUILD_FRONTEND, outputs=[p.FRONTEND_ARTIFACT])

    def publish_frontend(self, step: plan.Step) -> codepipeline.Actions:
        """After an environment's stack update: the run's one frontend build to its site bucket
        (scripts/deploylib/publish.py, the code of `make publish-frontend`), through the environment's deploy role."""
        env = step.env
        return self.codebuild(step, p.PUBLISH_FRONTEND, inputs=(SOURCE, p.FRONTEND_ARTIFACT), variables={
            "STACK_NAME": naming.stack_name_sub(env), "ENVIRONMENT": env, "DEPLOY_ROLE_ARN": approvals.deploy_role(),
            "FRONTEND_ARTIFACT": p.FRONTEND_ARTIFACT,
            "SITE_DOMAINS": " ".join(frontend_settings(self.app, env).domain_names),
            **regions.target_region(self.app, env)}, Account=self.account(env))

    def approve_release(self, step: plan.Step) -> codepipeline.Actions:
        return action(step.name, "Approval", "Manual", step.run_order, {
            "NotificationArn": Ref(self.store.topic),
            "CustomData": f"Release {sources.release_commits(self.app)} to {step.env} (production). "
                          "Approve once the earlier environments look right; rejecting stops this run."})

    def promote(self, step: plan.Step) -> codepipeline.Actions:
        """Copies the images into the environment and writes its template configuration: params/<env>.config.json
        with each service's tag (`bootstrap` for a service whose repository the environment does not have yet: this
        deploy creates it, with no tasks)."""
        env = step.env
        return self.codebuild(step, p.PROMOTE, inputs=(SOURCE, TEMPLATES), outputs=[image_tags.artifact(env)],
                              variables={**self.reach(env), "COMMIT_ID": "#{SourceVariables.CommitId}",
                                         "SOURCE_COMMITS": sources.commits_variable(self.app),
                                         "TEMPLATES_ARTIFACT": TEMPLATES, "CONFIG_FILE": f"params/{env}.config.json"},
                              namespace=f"Promote{pascal(env)}Variables", Account=self.account(env))

    def deploy(self, step: plan.Step) -> codepipeline.Actions:
        env = step.env
        target = next(t for t in common.targets(self.app) if t.env == env)
        config: dict[str, Any] = {
            "ActionMode": "CREATE_UPDATE", "StackName": Sub(naming.stack_name_sub(env)),
            "TemplatePath": f"{TEMPLATES}::{regions.packaged_root(self.app, env)}",
            "TemplateConfiguration": template_configuration(self.app, env),
            "Capabilities": self.capabilities, "RoleArn": target.cloudformation_role()}
        inputs = [TEMPLATES, image_tags.artifact(env)] if self.app.services else [TEMPLATES]
        return action(step.name, "Deploy", "CloudFormation", step.run_order, config, inputs=inputs,
                      role=target.deploy_role(), namespace=f"Deploy{pascal(env)}Variables",
                      **regions.action_region(self.app, env))

    def protect(self, step: plan.Step) -> codepipeline.Actions:
        """After a production Deploy: the Deploy action sets the config file's StackPolicy on the root only, which
        holds nothing but nested stacks; this sets it on every nested stack (scripts/nested_stack_policy.py, the same
        code `make deploy` runs), through the environment's deploy role."""
        env = step.env
        return self.codebuild(step, p.PROTECT, inputs=(SOURCE, TEMPLATES), variables={
            "STACK_NAME": naming.stack_name_sub(env), "DEPLOY_ROLE_ARN": approvals.deploy_role(),
            "CONFIG_FILE": f"params/{env}.config.json", "TEMPLATES_ARTIFACT": TEMPLATES,
            **regions.target_region(self.app, env)}, Account=self.account(env))

    def prepare_release(self, step: plan.Step) -> codepipeline.Actions:
        env, tags = step.env, image_tags.artifact(step.env)
        return self.codebuild(step, p.release_project(env, step.group), inputs=(SOURCE, tags),
                              outputs=[p.release_artifact(env, s) for s in step.services],
                              variables={**self.reach(env), "IMAGE_TAGS_ARTIFACT": tags}, Account=self.account(env))

    def release(self, step: plan.Step) -> codepipeline.Actions:
        (service,), env = step.services, step.env
        name, artifact = naming.codedeploy_name(self.app.app, env, service), p.release_artifact(env, service)
        target = next(t for t in common.targets(self.app) if t.env == env)
        return action(step.name, "Deploy", "CodeDeployToECS", step.run_order, {
            "ApplicationName": name, "DeploymentGroupName": name,
            "TaskDefinitionTemplateArtifact": artifact, "TaskDefinitionTemplatePath": "taskdef.json",
            "AppSpecTemplateArtifact": artifact, "AppSpecTemplatePath": "appspec.yaml",
            "Image1ArtifactName": artifact, "Image1ContainerName": "IMAGE1_NAME"},
            inputs=[artifact], role=target.deploy_role(), **regions.action_region(self.app, env))

    def tests(self, step: plan.Step) -> codepipeline.Actions:
        """The gates of the releases held on the test listener (generator/holds.py) run beside the CodeDeployToECS
        actions, which only finish once production traffic moved; the reroute rule (approvals.py) continues or stops
        the releases."""
        env = step.env
        url = environment_test_url(self.app, env)
        return action(step.name, "Invoke", "Lambda", step.run_order, {
            "FunctionName": self.gate_function.value(),
            "UserParameters": Sub(approvals.gate_parameters(self.app, env, url), Account=self.account(env))},
            inputs=[SOURCE])

    def approve_reroute(self, step: plan.Step) -> codepipeline.Actions:
        env = step.env
        tested = " once the integration tests passed there" if self.app.test_environment() == env else ""
        return action(step.name, "Approval", "Manual", step.run_order, {
            "NotificationArn": Ref(self.store.topic),
            "CustomData": f"{env}: the release of {listed(holds.approval_services(self.app, env))} waits on the test "
                          f"listener {environment_test_url(self.app, env)}. Approve once it looks right there: its "
                          f"production traffic then moves to it{tested}. Rejecting stops it and rolls it back."})


def listed(names: list[str]) -> str:
    """`a, b, c`, or the first LISTED_SERVICES and `and N more`: an approval message stays short for any app."""
    if len(names) <= LISTED_SERVICES:
        return ", ".join(names)
    return f"{', '.join(names[:LISTED_SERVICES])} and {len(names) - LISTED_SERVICES} more"


def build(app: AppSpec, store: Storage, projects: dict[p.Project, OutputRef], gate_function: OutputRef | None,
          capabilities: str) -> list[codepipeline.Stages]:
    make = Actions(app, store, projects, gate_function, capabilities)
    return [codepipeline.Stages(Name=stage.name, Actions=[make(step) for step in stage.steps])
            for stage in plan.stages(app)]


def environment_test_url(app: AppSpec, env: str) -> str:
    """The environment's test listener (cluster_alb.py). With a certificate it speaks HTTPS, and only a host name the
    certificate covers passes TLS verification: the environment's `domain_name` (a rule requires it), never the
    load balancer's own DNS name. Without one: plain HTTP on the load balancer's DNS name (a Deploy output)."""
    spec = app.environments[env]
    if spec.certificate_arn:
        return f"https://{spec.domain_name}:{TEST_PORT}"
    return f"http://#{{Deploy{pascal(env)}Variables.{naming.root_output('Cluster', 'LoadBalancerDns')}}}:{TEST_PORT}"
