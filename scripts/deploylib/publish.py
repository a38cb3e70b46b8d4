"""Publishing the frontend build to an environment (`make publish-frontend ENV=... [DIR=...]`, docs/frontend.md).

One build serves every environment: what differs (the site's URL, the environment's name) is written at publish
time into a small runtime config file, `config.json`, from the stack's outputs. The publish:

1. plans every file of the build with its cache header: `index.html` (every `.html`) and the runtime config are
   never cached (`no-cache`: the browser revalidates each time); fingerprinted assets (a hex hash of 8 or more
   characters in the name, as Vite, webpack and Create React App write them) are cached for a year as immutable;
   anything else for five minutes;
2. uploads only what changed (an object's ETag is the MD5 of a single-part upload), assets first and the
   never-cached files last, so a new `index.html` never points at an asset that is not there yet;
3. deletes objects the build no longer has once they are older than the grace period (open sessions of the
   previous release keep loading their chunks meanwhile; the versioned bucket keeps even those 30 more days);
4. invalidates only the changed paths that CloudFront may have cached (fingerprinted names are new names: nothing
   to invalidate), or nothing at all when nothing changed.

The planning functions are pure; `publish` makes the AWS calls through the clients it is given.
"""
from __future__ import annotations

import hashlib
import json
import mimetypes
import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from scripts.deploylib.errors import DeployError

NO_CACHE = "no-cache"
IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "public, max-age=300"
RUNTIME_CONFIG = "config.json"
GRACE = timedelta(days=7)
MAX_PATHS = 100
FINGERPRINT = re.compile(r"[.-][0-9a-fA-F]{8,}[.-]")
OUTPUTS = {"bucket": "FrontendSiteBucketName", "distribution": "FrontendDistributionId",
           "domain": "FrontendDistributionDomainName"}


@dataclass(frozen=True)
class Upload:
    key: str
    body: bytes
    cache_control: str
    content_type: str

    @property
    def etag(self) -> str:
        return hashlib.md5(self.body, usedforsecurity=False).hexdigest()

    @property
    def never_cached(self) -> bool:
        return self.cache_control == NO_CACHE


def cache_control(key: str) -> str:
    if key == RUNTIME_CONFIG or key.endswith(".html"):
        return NO_CACHE
    if FINGERPRINT.search(Path(key).name):
        return IMMUTABLE
    return SHORT


def runtime_config(env: str, outputs: dict[str, str], domain_names: list[str]) -> bytes:
    """What the same build needs to know about the environment it runs in. The API is on the same origin (CloudFront
    sends its paths to the load balancer), so its URL is the site's."""
    site = f"https://{domain_names[0] if domain_names else outputs[OUTPUTS['domain']]}"
    return (json.dumps({"environment": env, "siteUrl": site, "apiUrl": site}, indent=2, sort_keys=True) + "\n").encode()


def plan(build: Path, config: bytes) -> list[Upload]:
    """Every file of the build, then the runtime config (which replaces a file of that name in the build); assets
    first, never-cached files last."""
    if not (build / "index.html").is_file():
        raise DeployError(f"{build}/index.html not found", "build the frontend first, or pass DIR=<its output dir>")
    files = {p.relative_to(build).as_posix(): p.read_bytes() for p in sorted(build.rglob("*")) if p.is_file()}
    files[RUNTIME_CONFIG] = config
    uploads = [Upload(key, body, cache_control(key), mimetypes.guess_type(key)[0] or "application/octet-stream")
               for key, body in files.items()]
    return sorted(uploads, key=lambda u: (u.never_cached, u.key))


def changed(uploads: list[Upload], existing: dict[str, dict]) -> list[Upload]:
    return [u for u in uploads if existing.get(u.key, {}).get("ETag", "").strip('"') != u.etag]


def stale(existing: dict[str, dict], keep: set[str], now: datetime, grace: timedelta = GRACE) -> list[str]:
    return sorted(k for k, o in existing.items() if k not in keep and o["LastModified"] < now - grace)


def invalidation_paths(uploaded: list[Upload], existing: dict[str, dict]) -> list[str]:
    """Changed objects CloudFront may hold: every replaced (not new) object, and the never-cached ones (a browser
    revalidates them, but the edge may still hold the previous copy). New fingerprinted names need nothing."""
    return sorted("/" + u.key for u in uploaded if u.key in existing or u.never_cached)


def publish(s3: Any, cloudfront: Any, bucket: str, distribution: str, uploads: list[Upload], say,
            now: datetime | None = None, dry_run: bool = False) -> list[str]:
    """Upload, prune and invalidate; returns the invalidated paths."""
    existing: dict[str, dict] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        existing.update({o["Key"]: o for o in page.get("Contents", [])})
    todo = changed(uploads, existing)
    old = stale(existing, {u.key for u in uploads}, now or datetime.now(timezone.utc))
    paths = invalidation_paths(todo, existing)
    say(f"{len(uploads)} files, {len(todo)} changed; {len(old)} older than {GRACE.days} days and no longer in the "
        f"build; {len(paths)} paths to invalidate")
    if dry_run:
        return paths
    for u in todo:
        s3.put_object(Bucket=bucket, Key=u.key, Body=u.body, CacheControl=u.cache_control, ContentType=u.content_type)
    for i in range(0, len(old), 1000):
        s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in old[i:i + 1000]], "Quiet": True})
    if len(paths) > MAX_PATHS:   # one wildcard path costs as one; thousands of paths would each count
        paths = ["/*"]
    if paths:
        cloudfront.create_invalidation(DistributionId=distribution, InvalidationBatch={
            "Paths": {"Quantity": len(paths), "Items": paths}, "CallerReference": f"publish-{time.time_ns()}"})
    return paths


def stack_outputs(cloudformation: Any, stack: str) -> dict[str, str]:
    """The frontend outputs of an environment's root stack; a DeployError names what is missing."""
    found = cloudformation.describe_stacks(StackName=stack)["Stacks"][0].get("Outputs", [])
    outputs = {o["OutputKey"]: o.get("OutputValue", "") for o in found}
    missing = [name for name in OUTPUTS.values() if not outputs.get(name)]
    if missing:
        raise DeployError(f"stack {stack} has no {', '.join(missing)}", "the app's frontend stack is not deployed")
    return outputs


def main(argv: list[str] | None = None, session: Any = None) -> int:
    """The pipeline's PublishFrontend<Env> action (buildspecs/publish_frontend.yml.j2): the same publish as `make
    publish-frontend`, from the Build stage's frontend artifact, with the environment's deploy role (AWS_PROFILE).
    Needs only Python 3 and boto3 (both in the CodeBuild standard image)."""
    import argparse
    import sys
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", required=True, help="the environment's root stack, <app>-<env>")
    parser.add_argument("--env", required=True, help="the environment's name (written to config.json)")
    parser.add_argument("--dir", required=True, type=Path, help="the built frontend (holds index.html)")
    parser.add_argument("--domain", action="append", default=[], help="the site's domain names, first is its URL")
    parser.add_argument("--region", default=None)
    args = parser.parse_args(argv)
    if session is None:
        import boto3
        session = boto3.session.Session(region_name=args.region)
    try:
        outputs = stack_outputs(session.client("cloudformation"), args.stack)
        uploads = plan(args.dir, runtime_config(args.env, outputs, args.domain))
        paths = publish(session.client("s3"), session.client("cloudfront"), outputs[OUTPUTS["bucket"]],
                        outputs[OUTPUTS["distribution"]], uploads, print)
    except DeployError as exc:
        print(f"publish-frontend: {exc}", file=sys.stderr)
        return 2
    print("Invalidated: " + (", ".join(paths) or "nothing"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
