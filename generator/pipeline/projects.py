"""The CodeBuild projects, in their own nested template (pipeline-builds.yaml): each holds its buildspec as text
(about 4 KB per image build, 7 KB per group of five web releases: 0.43 MB for 50 services in three environments,
within the 1 MB of a nested template).

Project names are fixed (`<app>-pipeline-<step>`); pipeline actions name them by this stack's outputs, which orders
creation. Everything that differs per environment (target account, deploy role, image tag, test URL) reaches a build
through the action's EnvironmentVariables, so one project serves every environment where it can; the release
projects are per environment and group of web services, because their buildspec names the action's output
artifacts.
"""
from __future__ import annotations

from typing import NamedTuple

from troposphere import Ref, Sub, codebuild

from generator import buildspecs, holds, naming
from generator.components.service import sidecars
from generator.config import AppSpec
from generator.pipeline import common, migrate, plan, regions, sources
from generator.pipeline.roles import RoleArns
from generator.wiring import OutputRef, ParentValue, StackBuilder

TEMPLATE = "pipeline-builds.yaml"
LOGICAL_ID = "Builds"
SCRIPTS_DIR = "scripts"          # the monorepo's scripts/ (scan gate, task definition helper)
TESTS_READY_TIMEOUT = 300
BUILD_QUEUED_MINUTES = 480
UPDATED_TEMPLATE = f"packaged/{common.TEMPLATE}"       # the self-update step's output, deployed by UpdatePipeline
UPDATE_CONFIG = "params/pipeline.config.json"           # its template configuration (generator/params.py)


class Project(NamedTuple):
    name: str        # short name: `<app>-pipeline-<name>`; also its log stream prefix
    title: str


SELF_UPDATE = Project("self-update", "SelfUpdateProject")
UPDATE_PIPELINE = Project("update", "UpdatePipelineProject")
PROMOTE = Project("promote", "PromoteProject")
TESTS = Project("tests", "TestsProject")
PROTECT = Project("protect", "ProtectProject")
BUILD_FRONTEND = Project("build-frontend", "BuildFrontendProject")
PUBLISH_FRONTEND = Project("publish-frontend", "PublishFrontendProject")
MIGRATE = Project(migrate.PROJECT_NAME, "MigrateProject")
FRONTEND_ARTIFACT = "FrontendBuild"     # the BuildFrontend action's output, published by every environment


def build_project(service: str) -> Project:
    return Project(f"build-{service}", f"Build{naming.pascal(service)}Project")


def release_project(env: str, group: int = 1) -> Project:
    """The project of an environment's PrepareRelease action for one group of (at most five) web services. Later
    groups put their number first (`release-2-dev`, `Release2DevProject`): an environment name starts with a letter, so
    no other environment's first group can have that name."""
    if group == 1:
        return Project(f"release-{env}", f"Release{naming.pascal(env)}Project")
    return Project(f"release-{group}-{env}", f"Release{group}{naming.pascal(env)}Project")


def release_artifact(env: str, service: str) -> str:
    """The output artifact of an environment's PrepareRelease step for one web service (unique in the pipeline)."""
    return f"{naming.pascal(env)}{naming.pascal(service)}Release"


def web_services(app: AppSpec) -> list:
    return [svc for svc in app.services if svc.kind == "web"]


def scripts_dir(source: sources.Source) -> str:
    """Where a build of `source` finds this repository's scripts/: its own checkout, or the pipeline's repository as
    the secondary input (stages.py, `build`)."""
    return SCRIPTS_DIR if source.primary else f"${{CODEBUILD_SRC_DIR_{sources.PRIMARY}}}/{SCRIPTS_DIR}"


def project_name(project: Project) -> Sub:
    return common.name(project.name)


def build(app: AppSpec, b: StackBuilder, roles: RoleArns, key: ParentValue, log_group: ParentValue,
          stack_name: ParentValue) -> dict[Project, OutputRef]:
    """pipeline-builds.yaml: every CodeBuild project, and the output each pipeline action names it by."""
    spec = app.pipeline
    key_arn, logs = b.input(key, "PipelineKeyArn"), b.input(log_group, "BuildLogGroup")
    role_of = {name: b.input(source) for name, source in (
        ("self-update", roles.self_update), ("build", roles.build), ("release", roles.release),
        ("tests", roles.tests)) if source is not None}
    projects: dict[Project, OutputRef] = {}

    def project(p: Project, role, buildspec: str, description: str, variables: dict | None = None,
                privileged: bool = False, timeout: int = 60, vpc: codebuild.VpcConfig | None = None,
                compute: str = "BUILD_GENERAL1_SMALL", source: str = "CODEPIPELINE",
                queued: int = 60) -> codebuild.Project:
        """`source`: CODEPIPELINE for a pipeline action's project, NO_SOURCE for one a function starts."""
        env = codebuild.Environment(
            Type="LINUX_CONTAINER", ComputeType=compute, Image=common.BUILD_IMAGE, ImagePullCredentialsType="CODEBUILD",
            PrivilegedMode=privileged, EnvironmentVariables=[
                codebuild.EnvironmentVariable(Name=k, Value=v, Type="PLAINTEXT") for k, v in (variables or {}).items()])
        props = dict(
            Name=project_name(p), Description=Sub(f"${{Application}} pipeline: {description}"), ServiceRole=role,
            Source=codebuild.Source(Type=source, BuildSpec=buildspec),
            Artifacts=codebuild.Artifacts(Type="CODEPIPELINE" if source == "CODEPIPELINE" else "NO_ARTIFACTS"),
            Environment=env, EncryptionKey=key_arn, TimeoutInMinutes=timeout,
            QueuedTimeoutInMinutes=queued,
            LogsConfig=codebuild.LogsConfig(
                CloudWatchLogs=codebuild.CloudWatchLogs(Status="ENABLED", GroupName=logs,
                                                        StreamName=p.name),
                S3Logs=codebuild.S3Logs(Status="DISABLED")))
        if vpc is not None:
            props["VpcConfig"] = vpc
        resource = b.add(codebuild.Project(p.title, **props))
        projects[p] = b.output(p.title, Ref(resource), f"Name of {p.title}")
        return resource

    s3_prefix = f"{app.app}/templates"
    upload = {"ARTIFACT_BUCKET": common.artifact_bucket_name(), "ARTIFACT_KMS_KEY_ID": key_arn}
    project(SELF_UPDATE, role_of["self-update"], buildspecs.render(
        "self_update", python_version=common.PYTHON_VERSION, s3_prefix=s3_prefix),
        "regenerates the templates from the commit and packages them", {**upload, **regions.self_update_variables(app)})
    project(UPDATE_PIPELINE, role_of["self-update"], buildspecs.render(
        "update_pipeline", s3_prefix=s3_prefix, template=UPDATED_TEMPLATE, config=UPDATE_CONFIG),
        "deploys the pipeline's own stack from the packaged templates (through S3)", {
            **upload, "STACK_NAME": b.input(stack_name), "STACK_ROLE_ARN": b.input(roles.stack)}, timeout=120)
    registry = "${AWS::AccountId}.dkr.ecr.${AWS::Region}.${AWS::URLSuffix}"
    for svc in app.services:
        dockerfile, context = spec.build_of(svc.name)
        project(build_project(svc.name), role_of["build"], buildspecs.render(
            "image", service=svc.name, container_name=svc.name, web=False, fail_on=spec.fail_on,
            scan_timeout=spec.scan_timeout, dockerfile=dockerfile, context_dir=context,
            sidecar_builds=[dict(name=side.name, dockerfile=side.build.dockerfile, context_dir=side.build.context)
                            for side in sidecars.built(svc)],
            scripts_dir=scripts_dir(sources.of_service(app, svc.name))),
            f"builds, pushes and scans the {svc.name} image", {
                "REPOSITORY_NAME": common.name(svc.name),
                "REPOSITORY_URI": Sub(f"{registry}/${{Application}}-pipeline-{svc.name}")},
            # one scan wait per image: the service's and each built sidecar's
            privileged=True, timeout=60 + (1 + len(sidecars.built(svc))) * (spec.scan_timeout // 60),
            compute="BUILD_GENERAL1_MEDIUM",
            # A Build stage starts up to 50 builds at once; past the account's concurrent build quota for the compute
            # type CodeBuild queues them (up to five times that quota), so they may wait: CodeBuild's longest queue
            # time (CodeBuild user guide, "Builds in AWS CodeBuild").
            queued=BUILD_QUEUED_MINUTES)
    if app.services:
        project(PROMOTE, role_of["release"], buildspecs.render(
            "promote", services=[s.name for s in app.services], sources=sources.described(app),
            service_sources={s.name: app.pipeline.source_of(s.name) for s in app.services},
            sidecar_tags={s.name: [side.name for side in sidecars.built(s)]
                          for s in app.services if sidecars.built(s)},
            sources_file=sources.SOURCES_FILE),
                "copies the images of a commit into an environment's repositories and writes its template "
                "configuration", {"SOURCE_REGISTRY": Sub(registry), "SOURCE_PREFIX": Sub("${Application}-pipeline-")},
                privileged=True)
    # the appspec names the container the load balancer targets (a sidecar such as nginx, or the main one)
    ingress = {svc.name: svc.ingress() for svc in web_services(app)}
    for env in app.environments:
        for number, group in enumerate(plan.release_groups(app), 1):
            releases = [dict(service=name, container_name=ingress[name][0], container_port=ingress[name][1],
                             artifact=release_artifact(env, name)) for name in group]
            project(release_project(env, number), role_of["release"], buildspecs.render(
                "release", releases=releases, scripts_dir=SCRIPTS_DIR),
                f"writes the blue/green artifacts of the {env} web services {', '.join(group)}")
    if common.builds_frontend(app):
        fb = app.frontend.build
        project(BUILD_FRONTEND, role_of["build"], buildspecs.render(
            "frontend_build", context_dir=fb.context, build_command=fb.command, output_dir=fb.output_dir,
            runtime_versions=dict(fb.runtime_versions)),
            "builds the frontend once per run (frontend.build)", timeout=30, compute="BUILD_GENERAL1_MEDIUM")
        project(PUBLISH_FRONTEND, role_of["release"], buildspecs.render("publish_frontend", scripts_dir=SCRIPTS_DIR),
                "publishes the run's frontend build to an environment after its stack update", timeout=30)
    if any(env.production for env in app.environments.values()):
        project(PROTECT, role_of["release"], buildspecs.render("protect", scripts_dir=SCRIPTS_DIR),
                "sets the production stack policy on every nested stack of a production environment", timeout=15)
    if migrate.needed(app):
        project(MIGRATE, role_of["release"], buildspecs.render("migrate", python_version=common.PYTHON_VERSION),
                f"runs app.yaml's migrate ({app.migrate.service}) after an environment's stack update, production "
                "after a cluster snapshot", timeout=migrate.TIMEOUT_MINUTES)
    if app.test_environment() is not None:
        net = spec.test_network
        vpc = None if net is None else codebuild.VpcConfig(
            VpcId=net.vpc_id, Subnets=list(net.subnet_ids), SecurityGroupIds=list(net.security_group_ids))
        project(TESTS, role_of["tests"], buildspecs.render(
            "integration_tests", runtime_versions=dict(spec.test_runtime_versions),
            install_commands=list(spec.test_install_commands), test_command=spec.test_command,
            reports_dir=spec.test_reports_dir, ready_path=spec.test_ready_path, ready_timeout=TESTS_READY_TIMEOUT),
            f"runs the integration tests against the {app.test_environment()} test listener", vpc=vpc,
            # started by the release gate (not a pipeline action), with the run's source artifact; its limits bound
            # how long a release is held for the tests (generator/holds.py)
            source="NO_SOURCE", timeout=holds.TESTS_TIMEOUT_MINUTES, queued=holds.TESTS_QUEUED_MINUTES)
    return projects
