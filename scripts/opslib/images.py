"""`make build SERVICE=... [TAG=...]` and `make push SERVICE=... [TAG=...]`: the image the pipeline would build
(the same Dockerfile, context and label, tagged with the commit's first 12 hex digits), pushed to the environment's
repository, then the same scan gate (scripts/scan_gate.py). A sidecar with `build:` is built, pushed and scanned with
it, tagged `<tag>-<sidecar>` in the same repository, as the pipeline does (docs/services.md, Sidecars)."""
from __future__ import annotations

import base64
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from generator.components.service import sidecars
from scripts import scan_gate
from scripts.deploylib.errors import DeployError
from scripts.opslib.context import Ops

DOCKER_HINT = "install Docker (https://docs.docker.com/get-docker/) and start it"
TAG_LENGTH = 12        # the pipeline's tag: the source commit's first 12 hex digits (buildspecs/image.yml.j2)

Runner = Callable[..., "subprocess.CompletedProcess[str]"]


def _runner(argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, text=True, check=False, **kwargs)


def commit(root: Path, run: Runner = _runner) -> str:
    found = run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True)
    sha = (found.stdout or "").strip()
    if found.returncode != 0 or len(sha) < TAG_LENGTH:
        raise DeployError("no git commit to tag the image with", "pass TAG=<tag>")
    return sha


def image_tag(ops: Ops, root: Path, run: Runner = _runner) -> str:
    return ops.options.tag or commit(root, run)[:TAG_LENGTH]


def build_command(ops: Ops, service: str, tag: str, root: Path, revision: str | None) -> list[str]:
    """`docker build` as the pipeline's image step runs it (paths from `pipeline.builds`, relative to the
    repository root, which is where app.yaml lives)."""
    app = ops.target.app
    dockerfile, context = app.pipeline.build_of(service) if app.pipeline else (f"{service}/Dockerfile", service)
    return _docker_build(dockerfile, context, f"{ops.repository_uri(service)}:{tag}", root, revision)


def _docker_build(dockerfile: str, context: str, image: str, root: Path, revision: str | None) -> list[str]:
    argv = ["docker", "build", "--file", str(root / dockerfile)]
    if revision:
        argv += ["--label", f"org.opencontainers.image.revision={revision}"]
    return argv + ["--tag", image, str(root / context)]


def builds(ops: Ops, service: str, tag: str, root: Path, revision: str | None) -> list[tuple[str, list[str]]]:
    """(tag, `docker build`) of the service's image, then of each of its built sidecars' (`<tag>-<sidecar>`)."""
    found = [(tag, build_command(ops, service, tag, root, revision))]
    for side in sidecars.built(next(s for s in ops.target.app.services if s.name == service)):
        side_tag = tag + sidecars.built_tag_suffix(side.name)
        found.append((side_tag, _docker_build(side.build.dockerfile, side.build.context,
                                              f"{ops.repository_uri(service)}:{side_tag}", root, revision)))
    return found


def need_docker(which: Callable[[str], str | None] = shutil.which) -> None:
    if which("docker") is None:
        raise DeployError("docker is not installed or not on PATH", DOCKER_HINT)


def build(ops: Ops, root: Path, run: Runner = _runner, which: Callable[[str], str | None] = shutil.which) -> int:
    svc = ops.service()
    need_docker(which)
    tag = image_tag(ops, root, run)
    revision = None if ops.options.tag else commit(root, run)
    for built_tag, argv in builds(ops, svc.name, tag, root, revision):
        ops.console.say("$ " + " ".join(argv))
        if run(argv).returncode != 0:
            raise DeployError(f"docker build of {ops.repository_uri(svc.name)}:{built_tag} failed (output above)")
    ops.console.say(f"Built {ops.repository_uri(svc.name)}:{tag}; push it: "
                    f"`{ops.make('push', SERVICE=svc.name, TAG=tag)}`")
    return 0


def existing_digest(ops: Ops, service: str, tag: str) -> str | None:
    ecr = ops.client("ecr")
    try:
        found = ecr.describe_images(repositoryName=ops.repository(service), imageIds=[{"imageTag": tag}])
    except ecr.exceptions.ImageNotFoundException:
        return None
    details = found.get("imageDetails", [])
    return details[0].get("imageDigest") if details else None


def login(ops: Ops, run: Runner) -> None:
    """`docker login` to the environment's registry; the password goes through stdin, never a command line."""
    data = ops.client("ecr").get_authorization_token()["authorizationData"][0]
    user, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
    ops.console.add_secrets([password])
    done = run(["docker", "login", "--username", user, "--password-stdin", ops.registry()], input=password,
               capture_output=True)
    if done.returncode != 0:
        raise DeployError(f"docker login to {ops.registry()} failed: {ops.console.redact(done.stderr or '').strip()}")


def push(ops: Ops, root: Path, run: Runner = _runner, which: Callable[[str], str | None] = shutil.which,
         gate: Callable[..., int] = scan_gate.main) -> int:
    svc = ops.service()
    need_docker(which)
    tag = image_tag(ops, root, run)
    pipeline = ops.target.app.pipeline
    fail_on, timeout = (pipeline.fail_on, pipeline.scan_timeout) if pipeline else ("MEDIUM", 600)
    logged_in = False
    for each_tag in [tag] + [tag + sidecars.built_tag_suffix(side.name) for side in sidecars.built(svc)]:
        image = f"{ops.repository_uri(svc.name)}:{each_tag}"
        if existing_digest(ops, svc.name, each_tag):
            ops.console.say(f"{image} exists already (tags are immutable): scanning it as it is")
        else:
            if not logged_in:
                login(ops, run)
                logged_in = True
            ops.console.say(f"$ docker push {image}")
            if run(["docker", "push", image]).returncode != 0:
                raise DeployError(f"docker push of {image} failed (output above)",
                                  f"build it first: `{ops.make('build', SERVICE=svc.name, TAG=tag)}`")
        code = gate(["--repository", ops.repository(svc.name), "--tag", each_tag, "--fail-on", fail_on,
                     "--timeout", str(timeout), "--region", ops.aws.region], client=ops.client("ecr"),
                    log=ops.console.say)
        if code != 0:
            raise DeployError(f"the scan gate did not pass {image} (exit {code}): do not release it",
                              "fix the findings above and build again (the pipeline would stop here too)")
    ops.console.say(f"Pushed and scanned; release it: `{ops.make('release', SERVICE=svc.name, IMAGE_TAG=tag)}`")
    return 0
