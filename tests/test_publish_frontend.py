"""Publishing the frontend build (scripts/deploylib/publish.py, docs/frontend.md): cache headers, the runtime config
from the stack outputs, only what changed uploaded and invalidated, old assets kept for the grace period. Against
moto's S3 and CloudFront APIs (in process), the same boto3 calls `make publish-frontend` makes."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import boto3
import pytest
from moto import mock_aws

from scripts.deploylib import publish
from scripts.deploylib.errors import DeployError

OUTPUTS = {"FrontendSiteBucketName": "shop-dev-site-0123456789ab", "FrontendDistributionId": "",
           "FrontendDistributionDomainName": "d111111abcdef8.cloudfront.net"}


def make_site(s3, cloudfront, bucket: str) -> str:
    """A site bucket and a distribution in front of it (moto); returns the distribution's ID."""
    s3.create_bucket(Bucket=bucket)
    return cloudfront.create_distribution(DistributionConfig={
        "CallerReference": "t", "Comment": "", "Enabled": True,
        "Origins": {"Quantity": 1, "Items": [{"Id": "static", "DomainName": f"{bucket}.s3.amazonaws.com",
                                              "S3OriginConfig": {"OriginAccessIdentity": ""}}]},
        "DefaultCacheBehavior": {"TargetOriginId": "static", "ViewerProtocolPolicy": "redirect-to-https",
                                 "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6"}})["Distribution"]["Id"]


@pytest.fixture
def build(tmp_path):
    root = tmp_path / "build"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text("<html><script src=/assets/index-3f9a1c2b.js></script></html>")
    (root / "assets" / "index-3f9a1c2b.js").write_text("console.log('v1')")
    (root / "assets" / "logo.4e5f6a7b8c.svg").write_text("<svg/>")
    (root / "favicon.ico").write_bytes(b"\x00\x01")
    return root


def test_cache_headers_index_and_config_never_fingerprinted_assets_a_year_immutable():
    assert publish.cache_control("index.html") == "no-cache"
    assert publish.cache_control("admin/index.html") == "no-cache"
    assert publish.cache_control("config.json") == "no-cache"
    assert publish.cache_control("assets/index-3f9a1c2b.js") == "public, max-age=31536000, immutable"
    assert publish.cache_control("static/js/main.4e5f6a7b.chunk.js") == "public, max-age=31536000, immutable"
    assert publish.cache_control("favicon.ico") == "public, max-age=300"
    assert publish.cache_control("assets/app.js") == "public, max-age=300"   # no hash: may change under its name


def test_the_runtime_config_comes_from_the_outputs_and_the_environments_domain():
    config = json.loads(publish.runtime_config("prod", OUTPUTS, ["shop.example.com"]))
    assert config == {"environment": "prod", "siteUrl": "https://shop.example.com", "apiUrl": "https://shop.example.com"}
    assert json.loads(publish.runtime_config("dev", OUTPUTS, []))["siteUrl"] == "https://d111111abcdef8.cloudfront.net"


def test_the_plan_uploads_assets_first_and_the_never_cached_files_last(build):
    uploads = publish.plan(build, b"{}")
    keys = [u.key for u in uploads]
    assert keys[-2:] == ["config.json", "index.html"]
    assert {u.key: u.content_type for u in uploads}["index.html"] == "text/html"
    with pytest.raises(DeployError, match="index.html not found"):
        publish.plan(build / "assets", b"{}")


@mock_aws
def test_publish_uploads_what_changed_prunes_after_the_grace_period_and_invalidates_only_what_changed(build):
    s3 = boto3.client("s3", region_name="us-east-1")
    cloudfront = boto3.client("cloudfront", region_name="us-east-1")
    bucket = OUTPUTS["FrontendSiteBucketName"]
    distribution = make_site(s3, cloudfront, bucket)
    said = []
    first = publish.publish(s3, cloudfront, bucket, distribution, publish.plan(build, b'{"v": 1}'), said.append)
    assert first == ["/config.json", "/index.html"]          # new fingerprinted files need no invalidation
    head = s3.head_object(Bucket=bucket, Key="assets/index-3f9a1c2b.js")
    assert head["CacheControl"] == "public, max-age=31536000, immutable"
    assert s3.head_object(Bucket=bucket, Key="index.html")["CacheControl"] == "no-cache"

    # the same build again: nothing to upload, nothing to invalidate
    assert publish.publish(s3, cloudfront, bucket, distribution, publish.plan(build, b'{"v": 1}'), said.append) == []
    assert "0 changed" in said[-1]

    # release 2: a new bundle; the old one stays for the grace period, then goes
    (build / "assets" / "index-3f9a1c2b.js").unlink()
    (build / "assets" / "index-9d8e7f6a.js").write_text("console.log('v2')")
    (build / "index.html").write_text("<html><script src=/assets/index-9d8e7f6a.js></script></html>")
    second = publish.publish(s3, cloudfront, bucket, distribution, publish.plan(build, b'{"v": 1}'), said.append)
    assert second == ["/index.html"]
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert "assets/index-3f9a1c2b.js" in keys                  # open sessions of release 1 still load it
    later = datetime.now(timezone.utc) + publish.GRACE + timedelta(hours=1)
    publish.publish(s3, cloudfront, bucket, distribution, publish.plan(build, b'{"v": 1}'), said.append, now=later)
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert "assets/index-3f9a1c2b.js" not in keys and "assets/index-9d8e7f6a.js" in keys
    invalidations = cloudfront.list_invalidations(DistributionId=distribution)["InvalidationList"]
    assert invalidations["Quantity"] == 2


def test_a_dry_run_changes_nothing(build):
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="site-bucket")
        paths = publish.publish(s3, None, "site-bucket", "X", publish.plan(build, b"{}"), lambda _: None, dry_run=True)
        assert paths == ["/config.json", "/index.html"]
        assert s3.list_objects_v2(Bucket="site-bucket")["KeyCount"] == 0
