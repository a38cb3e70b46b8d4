"""The CodeBuild projects, in their own nested template (pipeline-builds.yaml): each holds its buildspec as text,
and together they would push pipeline.yaml past the 51,200-byte inline limit.

Project names are fixed (`<app>-pipeline-<step>`), so pipeline actions name them directly. Everything that differs
per environment (target account, deploy role, image tag, test URL) reaches a build through the action's
EnvironmentVariables, so one project serves every environment where it can.
"""
from __future__ import annotations

from typing import NamedTuple

from troposphere import GetAtt, Output, Parameter, Ref, Sub, Template, codebuild, cloudformation

from generator import buildspecs, holds, naming
from generator.config import AppSpec
from generator.pipeline import common
from generator.pipeline.roles import Roles
from generator.pipeline.storage import Storage
from generator.wiring import OutputRef

TEMPLATE = "pipeline-builds.yaml"
LOGICAL_ID = "Builds"
SCRIPTS_DIR = "scripts"          # the monorepo's scripts/ (scan gate, task definition helper)
TESTS_READY_TIMEOUT = 300


class Project(NamedTuple):
    name: str        # short name: `<app>-pipeline-<name>`; also its log stream prefix
    title: str


SELF_UPDATE = Project("self-update", "SelfUpdateProject")
PROMOTE = Project("promote", "PromoteProject")
TESTS = Project("tests", "TestsProject")
PROTECT = Project("protect", "ProtectProject")


def build_project(service: str) -> Project:
    return Project(f"build-{service}", f"Build{naming.pascal(service)}Project")


def release_project(env: str) -> Project:
    return Project(f"release-{env}", f"Release{naming.pascal(env)}Project")


def release_artifact(env: str, service: str) -> str:
    """The output artifact of an environment's PrepareRelease step for one web service (unique in the pipeline)."""
    return f"{naming.pascal(env)}{naming.pascal(service)}Release"


def web_services(app: AppSpec) -> list:
    return [svc for svc in app.services if svc.kind == "web"]


def project_name(project: Project) -> Sub:
    return common.name(project.name)


def build(app: AppSpec) -> Template:
    """pipeline-builds.yaml."""
    spec = app.pipeline
    t = Template(Description=f"{app.app}: the pipeline's CodeBuild projects (nested in pipeline.yaml)")
    t.set_version()
    for name, description in (
            (naming.APPLICATION_PARAM, "Application name (physical names)."),
            (naming.OWNER_PARAM, "Team that owns the resources (Owner tag)."),
            ("PipelineKeyArn", "KMS key for build artifacts."), ("BuildLogGroup", "Log group of every project."),
            ("SelfUpdateRoleArn", "Role of the self-update project.")):
        t.add_parameter(Parameter(name, Type="String", Description=description))
    roles = {}
    for role, needed, description in (("BuildRoleArn", bool(app.services), "Role of the image builds."),
                                      ("ReleaseRoleArn", common.needs_release_role(app),
                                       "Role of promote, release and protect."),
                                      ("TestsRoleArn", app.test_environment() is not None, "Role of the tests.")):
        if needed:
            t.add_parameter(Parameter(role, Type="String", Description=description))
            roles[role] = Ref(role)

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
            Environment=env, EncryptionKey=Ref("PipelineKeyArn"), TimeoutInMinutes=timeout,
            QueuedTimeoutInMinutes=queued,
            LogsConfig=codebuild.LogsConfig(
                CloudWatchLogs=codebuild.CloudWatchLogs(Status="ENABLED", GroupName=Ref("BuildLogGroup"),
                                                        StreamName=p.name),
                S3Logs=codebuild.S3Logs(Status="DISABLED")))
        if vpc is not None:
            props["VpcConfig"] = vpc
        return common.add(t, codebuild.Project(p.title, **props))

    project(SELF_UPDATE, Ref("SelfUpdateRoleArn"), buildspecs.render(
        "self_update", python_version=common.PYTHON_VERSION, s3_prefix=f"{app.app}/templates"),
        "regenerates the templates from the commit and packages them", {
            "ARTIFACT_BUCKET": common.artifact_bucket_name(), "ARTIFACT_KMS_KEY_ID": Ref("PipelineKeyArn")})
    registry = "${AWS::AccountId}.dkr.ecr.${AWS::Region}.${AWS::URLSuffix}"
    for svc in app.services:
        dockerfile, context = spec.build_of(svc.name)
        project(build_project(svc.name), roles["BuildRoleArn"], buildspecs.render(
            "image", service=svc.name, container_name=svc.name, web=False, fail_on=spec.fail_on,
            scan_timeout=spec.scan_timeout, dockerfile=dockerfile, context_dir=context, scripts_dir=SCRIPTS_DIR),
            f"builds, pushes and scans the {svc.name} image", {
                "REPOSITORY_NAME": common.name(svc.name),
                "REPOSITORY_URI": Sub(f"{registry}/${{Application}}-pipeline-{svc.name}")},
            privileged=True, timeout=60 + spec.scan_timeout // 60, compute="BUILD_GENERAL1_MEDIUM")
    if app.services:
        project(PROMOTE, roles["ReleaseRoleArn"], buildspecs.render("promote", services=[s.name for s in app.services]),
                "copies the images of a commit into an environment's repositories", {
                    "SOURCE_REGISTRY": Sub(registry), "SOURCE_PREFIX": Sub("${Application}-pipeline-")},
                privileged=True)
    for env in app.environments:
        releases = [dict(service=svc.name, container_name=svc.name, container_port=svc.port,
                         artifact=release_artifact(env, svc.name)) for svc in web_services(app)]
        if releases:
            project(release_project(env), roles["ReleaseRoleArn"], buildspecs.render(
                "release", releases=releases, scripts_dir=SCRIPTS_DIR),
                f"writes the blue/green artifacts of the {env} web services")
    if any(env.production for env in app.environments.values()):
        project(PROTECT, roles["ReleaseRoleArn"], buildspecs.render("protect", scripts_dir=SCRIPTS_DIR),
                "sets the production stack policy on every nested stack of a production environment", timeout=15)
    if app.test_environment() is not None:
        net = spec.test_network
        vpc = None if net is None else codebuild.VpcConfig(
            VpcId=net.vpc_id, Subnets=list(net.subnet_ids), SecurityGroupIds=list(net.security_group_ids))
        project(TESTS, roles["TestsRoleArn"], buildspecs.render(
            "integration_tests", runtime_versions=dict(spec.test_runtime_versions),
            install_commands=list(spec.test_install_commands), test_command=spec.test_command,
            reports_dir=spec.test_reports_dir, ready_path=spec.test_ready_path, ready_timeout=TESTS_READY_TIMEOUT),
            f"runs the integration tests against the {app.test_environment()} test listener", vpc=vpc,
            # started by the release gate (not a pipeline action), with the run's source artifact; its limits bound
            # how long a release is held for the tests (generator/holds.py)
            source="NO_SOURCE", timeout=holds.TESTS_TIMEOUT_MINUTES, queued=holds.TESTS_QUEUED_MINUTES)
    for title, resource in t.resources.items():
        t.add_output(Output(title, Value=Ref(resource), Description=f"Name of {title}"))
    return t


def project_ref(project: Project) -> GetAtt:
    """The project's name as pipeline.yaml refers to it (an output of the nested stack, which orders creation)."""
    return OutputRef(LOGICAL_ID, project.title, "String", f"Name of {project.title}").value()


def nested_stack(app: AppSpec, store: Storage, roles: Roles) -> cloudformation.Stack:
    """The AWS::CloudFormation::Stack of pipeline-builds.yaml inside pipeline.yaml."""
    params = {naming.APPLICATION_PARAM: Ref(naming.APPLICATION_PARAM), naming.OWNER_PARAM: Ref(naming.OWNER_PARAM),
              "PipelineKeyArn": GetAtt(store.key, "Arn"), "BuildLogGroup": Ref(store.log_group),
              "SelfUpdateRoleArn": roles.self_update}
    for name, role in (("BuildRoleArn", roles.build), ("ReleaseRoleArn", roles.release), ("TestsRoleArn", roles.tests)):
        if role is not None:
            params[name] = role
    return cloudformation.Stack(LOGICAL_ID, TemplateURL=f"./{TEMPLATE}", Parameters=params, Tags=common.tags())
