"""The buckets' spec: `buckets:` in app.yaml (BucketSpec) and its rule. Buckets have no per-environment settings."""
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field, StringConstraints

from generator import naming
from generator.config.types import Name, Strict, empty_list
from generator.errors import Problem

if TYPE_CHECKING:
    from generator.config import AppSpec

Origin = Annotated[str, StringConstraints(pattern=r"^(\*|https?://[A-Za-z0-9*.-]+(:[0-9]{1,5})?)$")]
HeaderName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9*-]{1,100}$")]


class CorsRuleSpec(Strict):
    """Which web pages may call the bucket from a browser (e.g. presigned uploads)."""

    allowed_origins: list[Origin] = Field(min_length=1, description="Origins, e.g. `https://app.example.com`.")
    allowed_methods: list[Literal["GET", "PUT", "POST", "DELETE", "HEAD"]] = Field(
        default_factory=lambda: ["GET"], min_length=1, description="HTTP methods: GET, PUT, POST, DELETE, HEAD.")
    allowed_headers: list[HeaderName] = Field(default_factory=empty_list, description="Request headers allowed, e.g. "
                                                                               "`Content-Type` or `*`.")
    max_age_seconds: int = Field(3000, ge=0, le=86400, description="Seconds a browser may cache the preflight answer.")


class BucketSpec(Strict):
    """One private S3 bucket: public access blocked, objects owned by the bucket owner, TLS only, encrypted."""

    name: Name = Field(description="Lowercase name, unique across all data stores (e.g. `uploads`); services see the "
                                   "bucket's name as `<NAME>_BUCKET`. The physical name is `<app>-<env>-<name>-` and "
                                   "12 characters of the stack id (at most 63 in all).")
    encryption: Literal["kms", "s3"] = Field(
        "kms", description="`kms`: the bucket's own KMS key (readers and writers get its use with their grant); "
                           "`s3`: SSE-S3 (AES-256 keys S3 manages).")
    versioned: bool = Field(True, description="Keep earlier versions of overwritten and deleted objects.")
    noncurrent_days: int = Field(30, ge=1, le=3650, description="Days an earlier version is kept (versioned buckets).")
    expire_days: int | None = Field(None, ge=1, le=36500,
                                    description="Delete objects this many days after they were written. Kept when "
                                                "omitted.")
    cors: list[CorsRuleSpec] = Field(default_factory=empty_list, description="CORS rules, when browsers call the bucket.")


def bucket_names_fit(app: "AppSpec") -> Iterator[Problem]:
    """A bucket's physical name (`<app>-<env>-<name>-` and 12 characters of the stack id) is at most 63 characters
    for the app's longest environment name: S3 refuses longer names."""
    if not app.environments:
        return
    env = max(app.environments, key=len)
    for bucket in app.buckets:
        length = naming.bucket_name_length(app.app, env, bucket.name)
        if length > naming.BUCKET_NAME_LENGTH:
            spare = len(bucket.name) - (length - naming.BUCKET_NAME_LENGTH)
            yield Problem(f"buckets.{bucket.name}.name",
                          f"in environment '{env}' the bucket's name would be {length} characters, more than S3's "
                          f"{naming.BUCKET_NAME_LENGTH}; shorten the bucket name to {max(spare, 0)} characters or "
                          "fewer (or the app or environment name)")


RULES = (bucket_names_fit,)
