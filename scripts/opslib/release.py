"""`make release SERVICE=... IMAGE_TAG=...` and `make rollback SERVICE=...`: what the pipeline does for one service,
from a laptop.

A release is the pipeline's two steps for one service:
1. the environment's stack update with only `<Service>ImageTag` changed (the same change set, preview, confirmation
   and event stream as `make deploy`): the stack registers the task definition revision with the new image, so the
   stack's parameters keep saying what runs. A worker's rolling deployment happens inside this update (ECS circuit
   breaker); a cron job's next run starts the new revision.
2. for a web service, the CodeDeploy blue/green deployment the pipeline's CodeDeployToECS action would create: the
   family's new revision with the image pinned by digest (imageDetail.json), and the same appspec
   (buildspecs/release.yml.j2). The lifecycle is streamed until it ends; with an approval hold it waits at Ready
   (`make approve` continues, `make rollback` stops it).

A rollback stops a release in progress (CodeDeploy moves traffic back; a stack update in progress is cancelled, so
CloudFormation rolls it back), or, after a finished one, releases the image the service ran before.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from generator.components.service import sidecars
from generator.config import ServiceSpec
from scripts.deploylib import commands
from scripts.deploylib.errors import DeployError, DeploymentFailed, Interrupted
from scripts.opslib.context import Ops
from scripts.opslib.status import ACTIVE_DEPLOYMENTS
from scripts.taskdef_from_family import taskdef_for_deploy

DONE = {"Succeeded", "Failed", "Stopped"}
PLACEHOLDER_TAGS = {"bootstrap", "latest"}


def appspec(task_definition_arn: str, container: str, port: int) -> str:
    """The appspec of an ECS blue/green deployment, as the pipeline's release step writes it."""
    return ("version: 0.0\nResources:\n  - TargetService:\n      Type: AWS::ECS::Service\n      Properties:\n"
            f"        TaskDefinition: {task_definition_arn}\n        LoadBalancerInfo:\n"
            f"          ContainerName: \"{container}\"\n          ContainerPort: {port}\n")


def image_digest(ops: Ops, service: str, tag: str) -> str:
    ecr = ops.client("ecr")
    try:
        found = ecr.describe_images(repositoryName=ops.repository(service), imageIds=[{"imageTag": tag}])
    except ecr.exceptions.ImageNotFoundException:
        raise DeployError(f"{ops.repository(service)} has no image tagged {tag!r}",
                          f"build and push it: `{ops.make('build', SERVICE=service, TAG=tag)}` then "
                          f"`{ops.make('push', SERVICE=service, TAG=tag)}`") from None
    return found["imageDetails"][0]["imageDigest"]


def built_sidecar_images(ops: Ops, svc: ServiceSpec, tag: str) -> None:
    """A sidecar with `build:` runs `<tag>-<sidecar>` from the service's repository, moved by the same ImageTag: a
    release without that image would start tasks that cannot pull it, so it stops here."""
    ecr = ops.client("ecr")
    for side in sidecars.built(svc):
        side_tag = tag + sidecars.built_tag_suffix(side.name)
        try:
            ecr.describe_images(repositoryName=ops.repository(svc.name), imageIds=[{"imageTag": side_tag}])
        except ecr.exceptions.ImageNotFoundException:
            raise DeployError(f"{ops.repository(svc.name)} has no image tagged {side_tag!r} (the {side.name} "
                              f"sidecar's, which moves with {tag})",
                              "build and push it with the service's image (docs/services.md, Sidecars)") from None


def active_deployment(ops: Ops, service: str) -> str | None:
    name = ops.codedeploy(service)
    ids = ops.client("codedeploy").list_deployments(
        applicationName=name, deploymentGroupName=name, includeOnlyStatuses=ACTIVE_DEPLOYMENTS).get("deployments", [])
    return ids[0] if ids else None


def deploy_options(ops: Ops, service: str, tag: str) -> commands.Ctx:
    options = commands.Options(parameters={ops.image_tag_parameter(service): tag}, yes=ops.options.yes,
                               event_poll=ops.options.poll, change_set_poll=ops.options.poll)
    return commands.Ctx(ops.target, ops.aws, ops.console, options)


def release(ops: Ops, tag: str | None = None, stack_update: Callable[[commands.Ctx], int] = commands.deploy) -> int:
    svc = ops.service()
    tag = tag or ops.options.tag
    if not tag:
        raise DeployError("no image tag given", f"pass IMAGE_TAG=<tag> (`{ops.make('push', SERVICE=svc.name)}` "
                                                "prints it)")
    if tag in PLACEHOLDER_TAGS:
        raise DeployError(f"refusing IMAGE_TAG={tag}: it is not a release of {svc.name}", "pass a pushed tag")
    digest = image_digest(ops, svc.name, tag)
    built_sidecar_images(ops, svc, tag)
    if svc.kind == "web":
        busy = active_deployment(ops, svc.name)
        if busy:
            raise DeployError(f"{svc.name} has a release in progress ({busy})",
                              f"wait for it (`{ops.make('status')}`) or stop it: "
                              f"`{ops.make('rollback', SERVICE=svc.name)}`")
    ops.console.say(f"Releasing {svc.name} {tag} ({digest[:19]}) to {ops.env}. Step 1: the stack update of "
                    f"{ops.image_tag_parameter(svc.name)} only")
    code = stack_update(deploy_options(ops, svc.name, tag))
    if code != 0:
        return code
    if svc.kind != "web":
        ops.console.say(f"Released {svc.name} {tag}: "
                        + ("the rolling deployment finished with the stack update." if svc.kind == "worker" else
                           "its next scheduled run starts the new image."))
        return 0
    ops.console.say("Step 2: the blue/green deployment (CodeDeploy)")
    container, port = svc.ingress()   # the container the load balancer targets (a sidecar such as nginx, or the main one)
    deployment = create_deployment(ops, svc.name, port, f"{ops.repository_uri(svc.name)}@{digest}", container)
    return follow(ops, svc.name, deployment)


def create_deployment(ops: Ops, service: str, port: int, image: str, container: str | None = None) -> str:
    """The CodeDeployToECS action's work: register the family's current revision with the image of the main
    container (named after the service), deploy it with an appspec naming `container` (default: the main one) and
    `port`, which the load balancer targets."""
    ecs = ops.client("ecs")
    current = ecs.describe_task_definition(taskDefinition=ops.family(service), include=["TAGS"])
    document = taskdef_for_deploy(current, service, placeholder=image)
    tags = current.get("tags") or []
    registered = ecs.register_task_definition(**document, **({"tags": tags} if tags else {}))
    arn = registered["taskDefinition"]["taskDefinitionArn"]
    name = ops.codedeploy(service)
    content = appspec(arn, container or service, port)
    created = ops.client("codedeploy").create_deployment(
        applicationName=name, deploymentGroupName=name, description=f"make release {service} ({image})",
        revision={"revisionType": "AppSpecContent", "appSpecContent": {"content": content}})
    ops.console.say(f"  {arn.rsplit('/', 1)[-1]} registered; deployment {created['deploymentId']} created")
    return created["deploymentId"]


def follow(ops: Ops, service: str, deployment: str) -> int:
    """Stream the deployment's status and lifecycle events until it ends; a heartbeat while nothing changes."""
    cd, console = ops.client("codedeploy"), ops.console
    target = f"{ops.cluster}:{ops.ecs_service(service)}"
    seen: dict[str, str] = {}
    status, since, told_ready = None, console.monotonic(), False
    try:
        while True:
            info = cd.get_deployment(deploymentId=deployment)["deploymentInfo"]
            changed = False
            if info["status"] != status:
                status, changed = info["status"], True
                console.say(f"  deployment {deployment}: {status}")
            for event in lifecycle(cd, deployment, target):
                name, state = event["lifecycleEventName"], event.get("status", "Pending")
                if seen.get(name) != state:
                    seen[name], changed = state, True
                    console.say(f"    {name}: {state}")
            if status == "Ready" and not told_ready:
                told_ready = True
                console.say(f"  Waiting for approval: the test listener serves the new tasks, production traffic "
                            f"stays on the old ones. Continue: `{ops.make('approve', SERVICE=service)}`; stop and "
                            f"roll back: `{ops.make('rollback', SERVICE=service)}`")
            if status in DONE:
                break
            if not changed and console.monotonic() - since >= ops.options.heartbeat:
                console.say(f"  ... {status} ({int(console.monotonic() - since)}s without change)")
                since = console.monotonic()
            elif changed:
                since = console.monotonic()
            console.sleep(ops.options.poll)
    except KeyboardInterrupt:
        raise Interrupted(f"\nStopped watching. CodeDeploy carries on with {deployment}; nothing was stopped.",
                          f"see where it is: `{ops.make('status')}`",
                          f"stop it and roll back: `{ops.make('rollback', SERVICE=service)}`") from None
    if status == "Succeeded":
        console.say(f"Released {service}: {deployment} succeeded.")
        return 0
    reason = (info.get("errorInformation") or {}).get("message", "")
    raise DeploymentFailed(f"{service}: deployment {deployment} {status}" + (f": {reason}" if reason else ""),
                           "CodeDeploy rolled back to the tasks that ran before" if info.get("rollbackInfo") or
                           status == "Stopped" else "")


def lifecycle(cd: Any, deployment: str, target: str) -> list[dict[str, Any]]:
    try:
        found = cd.get_deployment_target(deploymentId=deployment, targetId=target)
    except cd.exceptions.DeploymentTargetDoesNotExistException:
        return []
    return (found.get("deploymentTarget") or {}).get("ecsTarget", {}).get("lifecycleEvents", [])


def approve(ops: Ops) -> int:
    svc = ops.service()
    deployment = active_deployment(ops, svc.name) if svc.kind == "web" else None
    if deployment is None:
        raise DeployError(f"{svc.name} has no release waiting for approval in {ops.env}")
    ops.client("codedeploy").continue_deployment(deploymentId=deployment, deploymentWaitType="READY_WAIT")
    ops.console.say(f"Approved {deployment}: CodeDeploy moves production traffic to the new tasks")
    return follow(ops, svc.name, deployment)


# --- rollback -----------------------------------------------------------------------------------------------------

def rollback(ops: Ops, stack_update: Callable[[commands.Ctx], int] = commands.deploy) -> int:
    svc = ops.service()
    stack = ops.root_stack()
    if stack["StackStatus"] == "UPDATE_IN_PROGRESS":
        ops.client("cloudformation").cancel_update_stack(StackName=ops.stack)
        ops.console.say(f"Cancelled the update of {ops.stack}: CloudFormation rolls every change of it back "
                        f"(the {svc.name} release included). Follow it: `{ops.make('watch')}`")
        return 0
    if svc.kind == "web":
        deployment = active_deployment(ops, svc.name)
        if deployment:
            ops.client("codedeploy").stop_deployment(deploymentId=deployment, autoRollbackEnabled=True)
            ops.console.say(f"Stopped {deployment} with rollback: production traffic goes back to the tasks that "
                            "ran before the release")
            try:
                follow(ops, svc.name, deployment)
            except DeploymentFailed:
                pass      # Stopped is what we asked for
            return 0
    current, previous = previous_image(ops, svc.name)
    ops.console.say(f"{svc.name} runs {current}; the release before it ran {previous}: releasing {previous}")
    return release(ops, previous, stack_update)


def previous_image(ops: Ops, service: str) -> tuple[str, str]:
    """(tag running now, tag of the image that ran before), from the family's revisions, newest first. Images are
    pinned by digest after a blue/green release, so each is looked up in the repository for its tag."""
    ecs = ops.client("ecs")
    arns = ecs.list_task_definitions(familyPrefix=ops.family(service), sort="DESC").get("taskDefinitionArns", [])
    running = running_revision(ops, service) or (arns[0] if arns else None)
    if running is None or running not in arns:
        raise DeployError(f"no task definition revision of {service} found", "nothing to roll back to")
    images: list[str] = []
    for arn in arns[arns.index(running):]:
        definition = ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
        image = next((c["image"] for c in definition["containerDefinitions"] if c["name"] == service), "")
        tag = tag_of(ops, service, image)
        if tag and tag not in PLACEHOLDER_TAGS and (not images or images[-1] != tag):
            images.append(tag)
        if len(images) == 2:
            return images[0], images[1]
    raise DeployError(f"{service} has run only {images[0] if images else 'no image'} in {ops.env}: no earlier "
                      "image to roll back to")


def running_revision(ops: Ops, service: str) -> str | None:
    name = ops.ecs_service(service)
    if name is None:
        return None
    described = ops.client("ecs").describe_services(cluster=ops.cluster, services=[name])["services"][0]
    primary = next((d for d in described.get("deployments", []) if d.get("status") == "PRIMARY"), described)
    return primary.get("taskDefinition")


def tag_of(ops: Ops, service: str, image: str) -> str | None:
    """An image reference's tag: as written (`repo:tag`), or the repository's tag of its digest (`repo@sha256:`)."""
    if "@" not in image:
        name = image.rsplit("/", 1)[-1]
        return name.split(":", 1)[1] if ":" in name else None
    digest = image.split("@", 1)[1]
    ecr = ops.client("ecr")
    try:
        found = ecr.describe_images(repositoryName=ops.repository(service), imageIds=[{"imageDigest": digest}])
    except ecr.exceptions.ImageNotFoundException:
        return None
    tags = [t for d in found.get("imageDetails", []) for t in d.get("imageTags", [])]
    return sorted(tags)[0] if tags else None

