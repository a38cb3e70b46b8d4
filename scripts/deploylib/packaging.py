"""Packaging: nested templates to S3 under content-addressed keys, TemplateURLs rewritten to https URLs.

`plan_package` is pure (it reads the template files, nothing else): it walks the tree from the root, rewrites every
local `TemplateURL` (recursively, relative to the parent file) and names each upload `<prefix>/<sha256>.yaml` after
the bytes that will be uploaded. A template without nested stacks is uploaded byte for byte; one with nested stacks
is uploaded as rewritten long-form YAML. The same input always gives the same keys, so a re-run the same day uploads
nothing (an older copy is uploaded again, so that a bucket's expiry cannot remove it under a deploy: `upload`).
"""
from __future__ import annotations

import copy
import hashlib
import json
import posixpath
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

from botocore.exceptions import ClientError

from generator import cfnyaml, naming
from scripts.deploylib.aws import Aws, error_code
from scripts.deploylib.errors import DeployError

NESTED_STACK = "AWS::CloudFormation::Stack"
REUSE_FOR = timedelta(days=1)   # an uploaded template found in the bucket is reused only this long (see upload)
DENIED_CODES = ("403", "AccessDenied", "Forbidden", "AllAccessDisabled")
PACKAGED_HEADER = "# Packaged by scripts/deploy.py from {source}: nested TemplateURLs point at S3. Do not edit.\n"
# IAM resource types that need CAPABILITY_IAM, and the property that gives each an explicit (custom) name.
IAM_TYPES = {
    "AWS::IAM::AccessKey": None, "AWS::IAM::Group": "GroupName", "AWS::IAM::GroupPolicy": None,
    "AWS::IAM::InstanceProfile": "InstanceProfileName", "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
    "AWS::IAM::Policy": None, "AWS::IAM::Role": "RoleName", "AWS::IAM::RolePolicy": None,
    "AWS::IAM::User": "UserName", "AWS::IAM::UserPolicy": None, "AWS::IAM::UserToGroupAddition": None,
}


@dataclass(frozen=True)
class Artifact:
    """One template as it will be uploaded."""

    source: str                               # path relative to the templates directory, e.g. "network.yaml"
    key: str                                  # S3 key: <prefix>/<sha256 of body>.yaml
    body: bytes
    template: dict[str, Any]                  # the uploaded template, parsed
    children: tuple[tuple[str, str], ...]     # (logical id of the nested stack, source of its template)


@dataclass(frozen=True)
class PackagePlan:
    bucket: str
    region: str                               # the bucket's region (it goes into the URLs)
    artifacts: tuple[Artifact, ...]           # children before parents; the root is last

    @property
    def root(self) -> Artifact:
        return self.artifacts[-1]

    @property
    def nested(self) -> tuple[Artifact, ...]:
        return self.artifacts[:-1]

    def url(self, artifact: Artifact) -> str:
        return s3_url(self.bucket, self.region, artifact.key)

    @property
    def root_url(self) -> str:
        return self.url(self.root)

    def by_source(self, source: str) -> Artifact:
        return next(a for a in self.artifacts if a.source == source)

    def stack_templates(self) -> dict[tuple[str, ...], Artifact]:
        """Stack path (logical ids from the root, root = ()) -> the template that stack runs."""
        found: dict[tuple[str, ...], Artifact] = {}

        def walk(path: tuple[str, ...], artifact: Artifact) -> None:
            found[path] = artifact
            for logical_id, source in artifact.children:
                walk(path + (logical_id,), self.by_source(source))

        walk((), self.root)
        return found

    def resource_count(self) -> int:
        """Resources in the whole deployed tree (each nested stack counted once per use)."""
        return sum(len(a.template.get("Resources") or {}) for a in self.stack_templates().values())

    def templates(self) -> list[dict[str, Any]]:
        return [a.template for a in self.artifacts]


def partition_of(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def s3_url(bucket: str, region: str, key: str) -> str:
    """Virtual-hosted https URL, as CloudFormation expects for TemplateURL."""
    suffix = "amazonaws.com.cn" if partition_of(region) == "aws-cn" else "amazonaws.com"
    return f"https://{bucket}.s3.{region}.{suffix}/{quote(key)}"


def _is_local(url: Any) -> bool:
    return isinstance(url, str) and not url.startswith(("https://", "http://", "s3://"))


def plan_package(templates_dir: Path, root: str, bucket: str, region: str, prefix: str) -> PackagePlan:
    done: dict[str, Artifact] = {}
    order: list[Artifact] = []

    def visit(source: str, chain: tuple[str, ...]) -> Artifact:
        if source in chain:
            raise DeployError(f"nested stacks form a cycle: {' -> '.join(chain + (source,))}")
        if source in done:
            return done[source]
        path = templates_dir / source
        if not path.is_file():
            parent = chain[-1] if chain else "the command line"
            raise DeployError(f"{templates_dir / parent if chain else path}: TemplateURL {source} not found",
                              "run `make templates` to regenerate the templates")
        raw = path.read_bytes()
        try:
            template = cfnyaml.loads(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise DeployError(f"{path}: cannot read the template ({exc})") from exc
        rewritten = copy.deepcopy(template)
        children: list[tuple[str, str]] = []
        for logical_id, resource in (rewritten.get("Resources") or {}).items():
            props = (resource or {}).get("Properties") or {}
            if resource.get("Type") != NESTED_STACK or not _is_local(props.get("TemplateURL")):
                continue
            child_source = posixpath.normpath(posixpath.join(posixpath.dirname(source), props["TemplateURL"]))
            if child_source.startswith("../"):
                raise DeployError(f"{path}: {logical_id} points outside {templates_dir}: {props['TemplateURL']}")
            child = visit(child_source, chain + (source,))
            props["TemplateURL"] = s3_url(bucket, region, child.key)
            children.append((logical_id, child_source))
        body = raw if not children else cfnyaml.dumps(rewritten, PACKAGED_HEADER.format(source=source)).encode()
        artifact = Artifact(source=source, key=f"{prefix}/{hashlib.sha256(body).hexdigest()}.yaml", body=body,
                            template=rewritten, children=tuple(children))
        done[source] = artifact
        order.append(artifact)
        return artifact

    visit(root, ())
    return PackagePlan(bucket=bucket, region=region, artifacts=tuple(order))


def required_capabilities(templates: list[dict[str, Any]]) -> list[str]:
    """Only what the templates need: IAM (NAMED_IAM when an IAM resource has a custom name), AUTO_EXPAND for
    transforms. Nested stacks themselves need none; their IAM resources count, because the root operation
    creates them."""
    iam = named = expand = False
    for template in templates:
        if template.get("Transform"):
            expand = True
        for resource in (template.get("Resources") or {}).values():
            rtype = (resource or {}).get("Type", "")
            if rtype in IAM_TYPES:
                iam = True
                name_prop = IAM_TYPES[rtype]
                if name_prop and name_prop in ((resource or {}).get("Properties") or {}):
                    named = True
            if rtype.startswith("AWS::Serverless::"):
                expand = True
    caps = ["CAPABILITY_NAMED_IAM"] if named else (["CAPABILITY_IAM"] if iam else [])
    return caps + (["CAPABILITY_AUTO_EXPAND"] if expand else [])


def console_domain(region: str) -> str:
    return {"aws-cn": "console.amazonaws.cn", "aws-us-gov": "console.amazonaws-us-gov.com"}.get(
        partition_of(region), "console.aws.amazon.com")


def quick_create_url(region: str, stack: str, template_url: str, parameters: list[tuple[str, str]] | tuple,
                     secrets: set[str]) -> str:
    """The console's quick-create link: template, stack name and every non-secret parameter filled in."""
    fields = [("templateURL", quote(template_url, safe=":/")), ("stackName", quote(stack, safe=""))]
    fields += [(f"param_{quote(k, safe='')}", quote(v, safe="")) for k, v in parameters if k not in secrets]
    query = "&".join(f"{k}={v}" for k, v in fields)
    console = f"https://{region}.{console_domain(region)}/cloudformation/home?region={region}"
    return f"{console}#/stacks/create/review?{query}"


def default_bucket_name(app: str, account: str, region: str) -> str:
    """One bucket per app, account and region, shared by the environments that live there."""
    return naming.template_bucket(app, account, region)


# --- side effects -----------------------------------------------------------------------------------------------

def bucket_region(aws: Aws, bucket: str, explicit: bool) -> str | None:
    """The bucket's region, or None if it does not exist (only allowed for the default bucket)."""
    try:
        aws.s3.head_bucket(Bucket=bucket)
    except ClientError as exc:
        code = error_code(exc)
        if code in ("404", "NoSuchBucket", "NotFound"):
            if explicit:
                raise DeployError(f"S3 bucket '{bucket}' does not exist",
                                  "create it, fix BUCKET=/--bucket, or leave it out to let `make package` create "
                                  "the default bucket (versioned, encrypted, public access blocked)") from exc
            return None
        if code in ("403", "AccessDenied"):
            raise DeployError(f"S3 bucket '{bucket}' exists but this identity cannot use it (owned by another "
                              "account, or no s3:ListBucket)", "pass another bucket with BUCKET=/--bucket") from exc
        raise
    location = aws.s3.get_bucket_location(Bucket=bucket).get("LocationConstraint")
    return {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}.get(location, location)


def create_bucket(aws: Aws, bucket: str, tags: list[dict[str, str]]) -> None:
    """Versioned, encrypted (SSE-S3), all public access blocked, TLS only, old versions expire."""
    s3 = aws.s3
    args: dict[str, Any] = {"Bucket": bucket}
    if aws.region != "us-east-1":
        args["CreateBucketConfiguration"] = {"LocationConstraint": aws.region}
    s3.create_bucket(**args)
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": True}]})
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    arn = f"arn:{partition_of(aws.region)}:s3:::{bucket}"
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": [arn, f"{arn}/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}))
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [{
        "ID": "expire-old-versions", "Status": "Enabled", "Filter": {"Prefix": ""},
        "NoncurrentVersionExpiration": {"NoncurrentDays": 90},
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}}]})
    if tags:
        s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": tags})


def objects_denied(plan: PackagePlan, exc: ClientError) -> DeployError:
    """HeadObject answers a bare 403 Forbidden (a HEAD response has no body): say which bucket and what it takes.
    Without s3:ListBucket, S3 answers 403 rather than 404 for a key that does not exist yet
    (https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html, "Permissions")."""
    arn = f"arn:{partition_of(plan.region)}:s3:::{plan.bucket}"
    return DeployError(
        f"S3 bucket '{plan.bucket}' denied {exc.operation_name} on the templates it should hold ({error_code(exc)})",
        f"this identity needs s3:GetObject and s3:PutObject on {arn}/* and s3:ListBucket on {arn} (without "
        "s3:ListBucket, S3 answers 403 instead of 404 for a template not uploaded yet); a bucket policy or the "
        "bucket's KMS key can also deny it",
        "or pass a bucket this identity may use with BUCKET=/--bucket")


def upload(aws: Aws, plan: PackagePlan, say: Callable[[str], None] | None = None,
           now: datetime | None = None) -> tuple[int, int]:
    """Upload what is not there yet, or was uploaded more than REUSE_FOR ago (keys are content-addressed); returns
    (uploaded, reused).

    Why not reuse any object already there: a bucket whose lifecycle expires current objects (an explicit BUCKET;
    the default bucket only expires old versions) counts an object's age from its upload, so an unchanged template
    uploaded long ago can expire under a stack operation that still needs it, exactly as with `aws cloudformation
    package` without --force-upload (aws-reference §8). Uploading it again restarts its age (S3 user guide,
    "Expiring objects": expiration applies to the current version, counted from its creation)."""
    now = now or datetime.now(timezone.utc)
    uploaded = present = 0
    for artifact in plan.artifacts:
        try:
            found = aws.s3.head_object(Bucket=plan.bucket, Key=artifact.key)
        except ClientError as exc:
            if error_code(exc) in DENIED_CODES:
                raise objects_denied(plan, exc) from exc
            if error_code(exc) not in ("404", "NoSuchKey", "NotFound"):
                raise
            found = None
        if found is not None and now - found["LastModified"] < REUSE_FOR:
            present += 1
            if say:
                say(f"  = {artifact.source:<28} s3://{plan.bucket}/{artifact.key} (already uploaded)")
            continue
        try:
            aws.s3.put_object(Bucket=plan.bucket, Key=artifact.key, Body=artifact.body,
                              ContentType="application/x-yaml", Metadata={"source": artifact.source})
        except ClientError as exc:
            if error_code(exc) in DENIED_CODES:
                raise objects_denied(plan, exc) from exc
            raise
        uploaded += 1
        if say:
            again = " (uploaded again: the copy there was older than a day)" if found is not None else ""
            say(f"  + {artifact.source:<28} s3://{plan.bucket}/{artifact.key}{again}")
    return uploaded, present


def write_packaged_root(plan: PackagePlan, build_dir: Path, env: str) -> Path:
    out = build_dir / env / "root.yaml"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".yaml.tmp")
    tmp.write_bytes(plan.root.body)
    tmp.replace(out)
    return out
