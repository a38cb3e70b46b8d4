"""Frontend nested stack: the static site's private bucket, CloudFront in front of it and of the API, DNS records.

- The site bucket is private and encrypted; only this environment's distribution reads it (origin access control,
  the bucket policy's `AWS:SourceArn`). Versioned: a publish overwrites objects, and the previous release's assets
  stay readable as noncurrent versions for `ASSET_GRACE_DAYS`.
- The static default behaviour is cached (managed CachingOptimized) and, with `spa_routing`, a CloudFront Function on
  viewer request serves `index.html` for paths without a file extension. No distribution-wide custom error response:
  it would rewrite the API's 403/404/5xx too (aws-reference §8, CloudFront).
- One uncached behaviour per API path to the load balancer (managed CachingDisabled and AllViewerExceptHostHeader:
  the viewer's headers, cookies and query strings, so WebSocket upgrades and the load balancer's stickiness cookie
  pass). CloudFront reaches the load balancer over HTTPS by `api_origin_domain` when an environment has one, else over
  HTTP by its own DNS name; the cluster stack admits only CloudFront's origin-facing prefix list on that port.
- HTTPS only for viewers (TLS 1.2 with a certificate), HTTP/2 and HTTP/3, IPv6, compression, security headers,
  standard access logs to a bucket of their own, an optional WAF web ACL, a price class per environment.
- Route 53 alias records (A and AAAA per site name, A for the load balancer's name) when a hosted zone is given.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from troposphere import (And, Condition, Equals, GetAtt, If, Join, Not, NoValue, Ref, Select, Split, Sub, cloudfront, route53,
                         s3)

from generator import naming
from generator.components.base import EnvInputs
from generator.components.cluster import ClusterOutputs
from generator.components.shared import checkov_skip
from generator.components.frontend.spec import FrontendEnv, api_paths, settings
from generator.policies.common import document
from generator.policies.s3 import cloudfront_origin_access, deny_insecure_transport
from generator.wiring import OutputRef, StackBuilder

if TYPE_CHECKING:
    from generator.config import AppSpec

INDEX = "index.html"
ASSET_GRACE_DAYS = 30      # noncurrent versions (the previous releases' assets) stay this long
STATIC_ORIGIN = "static"
API_ORIGIN = "api"
# Managed policies, by the IDs CloudFormation takes. Docs: "Use managed cache policies", "Use managed origin request
# policies" (Amazon CloudFront developer guide).
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER_EXCEPT_HOST_HEADER = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
# CloudFront's alias target zone (Doc: "Amazon CloudFront endpoints and quotas", AWS General Reference).
CLOUDFRONT_ZONE = "Z2FDTNDATAQYW2"
VIEWER_TLS = "TLSv1.2_2021"
API_METHODS = ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"]
# Viewer request on the static behaviour only: a path whose last segment has no file extension is a route of the
# single-page app, answered with its shell; everything else (assets, the runtime config) is fetched as asked.
SPA_ROUTING_CODE = """\
function handler(event) {
  var request = event.request;
  var last = request.uri.split('/').pop();
  if (last.indexOf('.') === -1) {
    request.uri = '/index.html';
  }
  return request;
}
"""

HAS_DOMAINS = "HasDomainNames"
HAS_ZONE = "HasHostedZone"
HAS_WEB_ACL = "HasWebAcl"
HAS_API_ORIGIN = "HasApiOriginDomain"


class FrontendOutputs(NamedTuple):
    bucket_name: OutputRef
    distribution_id: OutputRef
    distribution_domain: OutputRef


def build(app: AppSpec, stack: StackBuilder, env: EnvInputs[FrontendEnv], *, cluster: ClusterOutputs) -> FrontendOutputs:
    assert app.frontend is not None
    t = stack.template
    domains = env.input(stack, "domain_names")
    zone = env.input(stack, "hosted_zone_id")
    web_acl = env.input(stack, "web_acl_arn")
    t.add_condition(HAS_DOMAINS, Not(Equals(Join(",", domains), "")))
    t.add_condition(HAS_ZONE, Not(Equals(zone, "")))
    t.add_condition(HAS_WEB_ACL, Not(Equals(web_acl, "")))

    logs = _log_bucket(stack, env)
    site = stack.add(s3.Bucket(
        "SiteBucket", BucketName=naming.bucket_name("site"),
        BucketEncryption=_sse_s3(),
        VersioningConfiguration=s3.VersioningConfiguration(Status="Enabled"),
        PublicAccessBlockConfiguration=_private(),
        OwnershipControls=s3.OwnershipControls(Rules=[s3.OwnershipControlsRule(ObjectOwnership="BucketOwnerEnforced")]),
        LifecycleConfiguration=s3.LifecycleConfiguration(Rules=[s3.LifecycleRule(
            Id="expire-previous-releases", Status="Enabled",
            NoncurrentVersionExpiration=s3.NoncurrentVersionExpiration(NoncurrentDays=ASSET_GRACE_DAYS),
            AbortIncompleteMultipartUpload=s3.AbortIncompleteMultipartUpload(DaysAfterInitiation=1))]),
        Metadata=checkov_skip(("CKV_AWS_18", "Only CloudFront reads this bucket, and its standard logs (LogBucket) record "
                                      "every request for the site's objects.")),
    ))
    stack.add(s3.BucketPolicy("LogBucketPolicy", Bucket=Ref(logs), PolicyDocument=document(deny_insecure_transport(logs))))
    oac = stack.add(cloudfront.OriginAccessControl(
        "OriginAccessControl", OriginAccessControlConfig=cloudfront.OriginAccessControlConfig(
            Name=naming.physical_name("site"), OriginAccessControlOriginType="s3", SigningBehavior="always",
            SigningProtocol="sigv4", Description="CloudFront signs its requests to the site bucket")))
    headers = stack.add(_security_headers())
    static_functions = []
    if app.frontend.spa_routing:
        spa = stack.add(cloudfront.Function(
            "SpaRoutingFunction", Name=naming.physical_name("spa-routing"), AutoPublish=True, FunctionCode=SPA_ROUTING_CODE,
            FunctionConfig=cloudfront.FunctionConfig(Comment="Single-page-app routes answer with index.html",
                                                     Runtime="cloudfront-js-2.0")))
        static_functions = [cloudfront.FunctionAssociation(EventType="viewer-request", FunctionARN=GetAtt(spa, "FunctionARN"))]

    origins = [cloudfront.Origin(
        Id=STATIC_ORIGIN, DomainName=GetAtt(site, "RegionalDomainName"), OriginAccessControlId=GetAtt(oac, "Id"),
        S3OriginConfig=cloudfront.S3OriginConfig(OriginAccessIdentity=""))]
    behaviours = []
    paths = api_paths(app)
    if paths:
        origin_domain = env.input(stack, "api_origin_domain")
        t.add_condition(HAS_API_ORIGIN, Not(Equals(origin_domain, "")))
        origins.append(cloudfront.Origin(
            Id=API_ORIGIN, DomainName=If(HAS_API_ORIGIN, origin_domain, stack.input(cluster.load_balancer_dns)),
            CustomOriginConfig=cloudfront.CustomOriginConfig(
                HTTPPort=80, HTTPSPort=443, OriginProtocolPolicy=If(HAS_API_ORIGIN, "https-only", "http-only"),
                OriginSSLProtocols=["TLSv1.2"], OriginReadTimeout=60, OriginKeepaliveTimeout=30)))
        behaviours = [cloudfront.CacheBehavior(
            PathPattern=path, TargetOriginId=API_ORIGIN, ViewerProtocolPolicy="https-only", AllowedMethods=API_METHODS,
            CachedMethods=["GET", "HEAD"], CachePolicyId=CACHING_DISABLED,
            OriginRequestPolicyId=ALL_VIEWER_EXCEPT_HOST_HEADER, ResponseHeadersPolicyId=Ref(headers), Compress=True)
            for path in paths]
        _api_record(stack, zone, origin_domain, cluster)

    distribution = stack.add(cloudfront.Distribution(
        "Distribution", DistributionConfig=cloudfront.DistributionConfig(
            Comment=Sub("${Application}-${EnvironmentName} site and API"), Enabled=True,
            Aliases=If(HAS_DOMAINS, domains, NoValue), DefaultRootObject=INDEX, HttpVersion="http2and3",
            IPV6Enabled=True, PriceClass=env.input(stack, "price_class"), WebACLId=If(HAS_WEB_ACL, web_acl, NoValue),
            Origins=origins, **({"CacheBehaviors": behaviours} if behaviours else {}),
            DefaultCacheBehavior=cloudfront.DefaultCacheBehavior(
                TargetOriginId=STATIC_ORIGIN, ViewerProtocolPolicy="redirect-to-https", AllowedMethods=["GET", "HEAD"],
                CachedMethods=["GET", "HEAD"], CachePolicyId=CACHING_OPTIMIZED, Compress=True,
                ResponseHeadersPolicyId=Ref(headers),
                **({"FunctionAssociations": static_functions} if static_functions else {})),
            ViewerCertificate=If(
                HAS_DOMAINS,
                cloudfront.ViewerCertificate(AcmCertificateArn=env.input(stack, "certificate_arn"),
                                             SslSupportMethod="sni-only", MinimumProtocolVersion=VIEWER_TLS),
                cloudfront.ViewerCertificate(CloudFrontDefaultCertificate=True)),
            Logging=cloudfront.Logging(Bucket=GetAtt(logs, "DomainName"), Prefix="cloudfront/", IncludeCookies=False)),
        Metadata=checkov_skip(
            ("CKV_AWS_68", "The WAF web ACL is a per-environment setting (WebAclArn, attached when given); checkov "
                           "cannot follow Fn::If."),
            ("CKV_AWS_174", f"With a custom domain the minimum protocol is {VIEWER_TLS}; without one CloudFront's "
                            "default certificate allows no other setting; checkov cannot follow Fn::If."))))
    stack.add(s3.BucketPolicy("SiteBucketPolicy", Bucket=Ref(site), PolicyDocument=cloudfront_origin_access(
        site, Sub("arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${Id}", Id=Ref(distribution)))))
    slots = max(len(settings(app, e).domain_names) for e in app.environments)
    _site_records(stack, slots, zone, domains, distribution)
    return FrontendOutputs(
        stack.output("SiteBucketName", Ref(site), "Bucket the frontend build is published to", public=True),
        stack.output("DistributionId", Ref(distribution), "CloudFront distribution (for invalidations)", public=True),
        stack.output("DistributionDomainName", GetAtt(distribution, "DomainName"),
                     "The distribution's own name (d123.cloudfront.net)", public=True))


def _sse_s3() -> s3.BucketEncryption:
    return s3.BucketEncryption(ServerSideEncryptionConfiguration=[s3.ServerSideEncryptionRule(
        ServerSideEncryptionByDefault=s3.ServerSideEncryptionByDefault(SSEAlgorithm="AES256"))])


def _private() -> s3.PublicAccessBlockConfiguration:
    return s3.PublicAccessBlockConfiguration(BlockPublicAcls=True, BlockPublicPolicy=True, IgnorePublicAcls=True,
                                             RestrictPublicBuckets=True)


def _log_bucket(stack: StackBuilder, env: EnvInputs[FrontendEnv]) -> s3.Bucket:
    """CloudFront's standard logs need a bucket with ACLs enabled (CloudFront grants its log-delivery account
    through the bucket ACL); SSE-S3 (Doc: "Configure standard logging (legacy)", Amazon CloudFront developer
    guide)."""
    return stack.add(s3.Bucket(
        "LogBucket", BucketName=naming.bucket_name("cdn-logs"), BucketEncryption=_sse_s3(),
        VersioningConfiguration=s3.VersioningConfiguration(Status="Enabled"), PublicAccessBlockConfiguration=_private(),
        OwnershipControls=s3.OwnershipControls(Rules=[s3.OwnershipControlsRule(ObjectOwnership="BucketOwnerPreferred")]),
        LifecycleConfiguration=s3.LifecycleConfiguration(Rules=[s3.LifecycleRule(
            Id="expire-access-logs", Status="Enabled", ExpirationInDays=env.input(stack, "log_retention_days"),
            NoncurrentVersionExpiration=s3.NoncurrentVersionExpiration(NoncurrentDays=7),
            AbortIncompleteMultipartUpload=s3.AbortIncompleteMultipartUpload(DaysAfterInitiation=1))]),
        Metadata=checkov_skip(
            ("CKV_AWS_18", "This bucket receives the access logs; logging it to itself would be circular."))))


def _security_headers() -> cloudfront.ResponseHeadersPolicy:
    """HSTS (two years, subdomains), nosniff, frame DENY, a strict referrer policy. `Override: false`: a header the
    API sets itself wins."""
    return cloudfront.ResponseHeadersPolicy(
        "SecurityHeadersPolicy", ResponseHeadersPolicyConfig=cloudfront.ResponseHeadersPolicyConfig(
            Name=naming.physical_name("security-headers"), Comment="Security headers on every response",
            SecurityHeadersConfig=cloudfront.SecurityHeadersConfig(
                StrictTransportSecurity=cloudfront.StrictTransportSecurity(
                    AccessControlMaxAgeSec=63072000, IncludeSubdomains=True, Override=False),
                ContentTypeOptions=cloudfront.ContentTypeOptions(Override=True),
                FrameOptions=cloudfront.FrameOptions(FrameOption="DENY", Override=False),
                ReferrerPolicy=cloudfront.ReferrerPolicy(ReferrerPolicy="strict-origin-when-cross-origin",
                                                         Override=False))))


def _site_records(stack: StackBuilder, slots: int, zone, domains, distribution: cloudfront.Distribution) -> None:
    """A and AAAA aliases for each site name. The number of names differs between environments, so there is one
    record pair per slot up to the most any environment gives (the same template everywhere), each present when its
    slot holds a name."""
    if slots == 0:
        return
    padded = Split(",", Join("", [Join(",", domains), "," * slots]))
    for i in range(slots):
        name = Select(i, padded)
        cond = f"HasSiteRecord{i + 1}"
        stack.template.add_condition(cond, And(Condition(HAS_ZONE), Not(Equals(name, ""))))
        for kind in ("A", "AAAA"):
            stack.add(route53.RecordSetType(
                f"SiteRecord{i + 1}{kind}", Condition=cond, HostedZoneId=zone, Name=name, Type=kind,
                AliasTarget=route53.AliasTarget(DNSName=GetAtt(distribution, "DomainName"),
                                                HostedZoneId=CLOUDFRONT_ZONE, EvaluateTargetHealth=False)))


def _api_record(stack: StackBuilder, zone, origin_domain, cluster: ClusterOutputs) -> None:
    """An A alias for the load balancer's own name (the API origin), when a hosted zone is given."""
    stack.template.add_condition("HasApiRecord", And(Condition(HAS_ZONE), Condition(HAS_API_ORIGIN)))
    stack.add(route53.RecordSetType(
        "ApiOriginRecord", Condition="HasApiRecord", HostedZoneId=zone, Name=origin_domain, Type="A",
        AliasTarget=route53.AliasTarget(DNSName=stack.input(cluster.load_balancer_dns),
                                        HostedZoneId=stack.input(cluster.load_balancer_zone_id),
                                        EvaluateTargetHealth=False)))

