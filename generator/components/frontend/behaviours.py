"""What the distribution does with a request: its origins and cache behaviours, the single-page-app routing
function and the security headers every response gets.

- The static default behaviour is cached (managed CachingOptimized) and, with `spa_routing`, a CloudFront Function on
  viewer request serves `index.html` for paths without a file extension. No distribution-wide custom error response:
  it would rewrite the API's 403/404/5xx too (aws-reference §8, CloudFront).
- One uncached behaviour per API path to the load balancer (managed CachingDisabled and AllViewerExceptHostHeader:
  the viewer's headers, cookies and query strings, so WebSocket upgrades and the load balancer's stickiness cookie
  pass). CloudFront reaches the load balancer over HTTPS by `api_origin_domain` when an environment has one, else over
  HTTP by its own DNS name; the cluster stack admits only CloudFront's origin-facing prefix list on that port.
"""
from __future__ import annotations

from troposphere import GetAtt, If, Ref, cloudfront, s3

from generator import naming
from generator.components.cluster import ClusterOutputs
from generator.components.frontend.dns import HAS_API_ORIGIN
from generator.wiring import StackBuilder

STATIC_ORIGIN = "static"
API_ORIGIN = "api"
# Managed policies, by the IDs CloudFormation takes. Docs: "Use managed cache policies", "Use managed origin request
# policies" (Amazon CloudFront developer guide).
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER_EXCEPT_HOST_HEADER = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
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


def security_headers(stack: StackBuilder) -> cloudfront.ResponseHeadersPolicy:
    """HSTS (two years, subdomains), nosniff, frame DENY, a strict referrer policy. `Override: false`: a header the
    API sets itself wins."""
    return stack.add(cloudfront.ResponseHeadersPolicy(
        "SecurityHeadersPolicy", ResponseHeadersPolicyConfig=cloudfront.ResponseHeadersPolicyConfig(
            Name=naming.physical_name("security-headers"), Comment="Security headers on every response",
            SecurityHeadersConfig=cloudfront.SecurityHeadersConfig(
                StrictTransportSecurity=cloudfront.StrictTransportSecurity(
                    AccessControlMaxAgeSec=63072000, IncludeSubdomains=True, Override=False),
                ContentTypeOptions=cloudfront.ContentTypeOptions(Override=True),
                FrameOptions=cloudfront.FrameOptions(FrameOption="DENY", Override=False),
                ReferrerPolicy=cloudfront.ReferrerPolicy(ReferrerPolicy="strict-origin-when-cross-origin",
                                                         Override=False)))))


def static_behaviour(stack: StackBuilder, spa_routing: bool,
                     headers: cloudfront.ResponseHeadersPolicy) -> cloudfront.DefaultCacheBehavior:
    """The default behaviour: the site bucket, cached; with `spa_routing` the routing function on viewer request."""
    functions = []
    if spa_routing:
        spa = stack.add(cloudfront.Function(
            "SpaRoutingFunction", Name=naming.physical_name("spa-routing"), AutoPublish=True, FunctionCode=SPA_ROUTING_CODE,
            FunctionConfig=cloudfront.FunctionConfig(Comment="Single-page-app routes answer with index.html",
                                                     Runtime="cloudfront-js-2.0")))
        functions = [cloudfront.FunctionAssociation(EventType="viewer-request", FunctionARN=GetAtt(spa, "FunctionARN"))]
    return cloudfront.DefaultCacheBehavior(
        TargetOriginId=STATIC_ORIGIN, ViewerProtocolPolicy="redirect-to-https", AllowedMethods=["GET", "HEAD"],
        CachedMethods=["GET", "HEAD"], CachePolicyId=CACHING_OPTIMIZED, Compress=True,
        ResponseHeadersPolicyId=Ref(headers), **({"FunctionAssociations": functions} if functions else {}))


def static_origin(site: s3.Bucket, oac: cloudfront.OriginAccessControl) -> cloudfront.Origin:
    return cloudfront.Origin(
        Id=STATIC_ORIGIN, DomainName=GetAtt(site, "RegionalDomainName"), OriginAccessControlId=GetAtt(oac, "Id"),
        S3OriginConfig=cloudfront.S3OriginConfig(OriginAccessIdentity=""))


def api_origin(stack: StackBuilder, origin_domain, cluster: ClusterOutputs) -> cloudfront.Origin:
    """The load balancer: over HTTPS by `api_origin_domain` when the environment has one, else over HTTP by its own
    DNS name."""
    return cloudfront.Origin(
        Id=API_ORIGIN, DomainName=If(HAS_API_ORIGIN, origin_domain, stack.input(cluster.load_balancer_dns)),
        CustomOriginConfig=cloudfront.CustomOriginConfig(
            HTTPPort=80, HTTPSPort=443, OriginProtocolPolicy=If(HAS_API_ORIGIN, "https-only", "http-only"),
            OriginSSLProtocols=["TLSv1.2"], OriginReadTimeout=60, OriginKeepaliveTimeout=30))


def api_behaviours(paths: list[str], headers: cloudfront.ResponseHeadersPolicy) -> list[cloudfront.CacheBehavior]:
    """One uncached behaviour per API path, passing everything the viewer sent but the Host header."""
    return [cloudfront.CacheBehavior(
        PathPattern=path, TargetOriginId=API_ORIGIN, ViewerProtocolPolicy="https-only", AllowedMethods=API_METHODS,
        CachedMethods=["GET", "HEAD"], CachePolicyId=CACHING_DISABLED,
        OriginRequestPolicyId=ALL_VIEWER_EXCEPT_HOST_HEADER, ResponseHeadersPolicyId=Ref(headers), Compress=True)
        for path in paths]
