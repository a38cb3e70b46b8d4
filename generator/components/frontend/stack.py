"""Frontend nested stack: the static site's private bucket, CloudFront in front of it and of the API, DNS records.

This module puts the distribution together; its parts are beside it:
- `buckets.py`: the site bucket (private, versioned, read only by this environment's distribution) and the log
  bucket;
- `behaviours.py`: the origins, the cached static behaviour (with the single-page-app routing function), one
  uncached behaviour per API path, the security headers;
- `dns.py`: the Route 53 alias records.
The distribution: HTTPS only for viewers (TLS 1.2 with a certificate), HTTP/2 and HTTP/3, IPv6, compression,
security headers, standard access logs to a bucket of their own, an optional WAF web ACL, a price class per
environment.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from troposphere import Equals, GetAtt, If, Join, Not, NoValue, Ref, Sub, cloudfront, s3

from generator import naming
from generator.components.base import EnvInputs
from generator.components.cluster import ClusterOutputs
from generator.components.frontend import behaviours, buckets, dns
from generator.components.frontend.spec import FrontendEnv, api_paths, settings
from generator.components.shared import checkov_skip
from generator.policies.s3 import cloudfront_origin_access
from generator.wiring import OutputRef, StackBuilder

if TYPE_CHECKING:
    from generator.config import AppSpec

INDEX = "index.html"
VIEWER_TLS = "TLSv1.2_2021"

HAS_DOMAINS = "HasDomainNames"
HAS_WEB_ACL = "HasWebAcl"


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
    t.add_condition(dns.HAS_ZONE, Not(Equals(zone, "")))
    t.add_condition(HAS_WEB_ACL, Not(Equals(web_acl, "")))

    logs = buckets.log_bucket(stack, env)
    site = buckets.site_bucket(stack)
    oac = stack.add(cloudfront.OriginAccessControl(
        "OriginAccessControl", OriginAccessControlConfig=cloudfront.OriginAccessControlConfig(
            Name=naming.physical_name("site"), OriginAccessControlOriginType="s3", SigningBehavior="always",
            SigningProtocol="sigv4", Description="CloudFront signs its requests to the site bucket")))
    headers = behaviours.security_headers(stack)
    static = behaviours.static_behaviour(stack, app.frontend.spa_routing, headers)

    origins = [behaviours.static_origin(site, oac)]
    api = []
    paths = api_paths(app)
    if paths:
        origin_domain = env.input(stack, "api_origin_domain")
        t.add_condition(dns.HAS_API_ORIGIN, Not(Equals(origin_domain, "")))
        origins.append(behaviours.api_origin(stack, origin_domain, cluster))
        api = behaviours.api_behaviours(paths, headers)
        dns.api_record(stack, zone, origin_domain, cluster)

    distribution = stack.add(cloudfront.Distribution(
        "Distribution", DistributionConfig=cloudfront.DistributionConfig(
            Comment=Sub("${Application}-${EnvironmentName} site and API"), Enabled=True,
            Aliases=If(HAS_DOMAINS, domains, NoValue), DefaultRootObject=INDEX, HttpVersion="http2and3",
            IPV6Enabled=True, PriceClass=env.input(stack, "price_class"), WebACLId=If(HAS_WEB_ACL, web_acl, NoValue),
            Origins=origins, **({"CacheBehaviors": api} if api else {}), DefaultCacheBehavior=static,
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
    dns.site_records(stack, slots, zone, domains, distribution)
    return FrontendOutputs(
        stack.output("SiteBucketName", Ref(site), "Bucket the frontend build is published to", public=True),
        stack.output("DistributionId", Ref(distribution), "CloudFront distribution (for invalidations)", public=True),
        stack.output("DistributionDomainName", GetAtt(distribution, "DomainName"),
                     "The distribution's own name (d123.cloudfront.net)", public=True))
