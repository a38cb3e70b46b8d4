"""The frontend nested stack (docs/frontend.md): the private site bucket behind CloudFront's origin access control,
the distribution's behaviours (static with SPA routing, API uncached to the load balancer), the load balancer closed
to everything but CloudFront, custom domains and their DNS records; stickiness and the idle timeout for real-time
apps."""
from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from generator.components import frontend
from generator.components.frontend import behaviours, buckets, dns
from generator.config import parse_app
from generator.errors import ConfigError
from tests.conftest import CERTIFICATE, PROD, app_spec, parameter_values, root_parameters, template

API = {"name": "api", "kind": "web", "port": 3000, "routing": {"path_patterns": ["/api/*"], "priority": 10}}
NEST = {"name": "nest", "kind": "web", "port": 3001,
        "routing": {"path_patterns": ["/nest/*", "/socket.io/*"], "priority": 20,
                    "stickiness": {"duration_seconds": 3600}}}
WEB = {"name": "web", "kind": "web", "port": 8080}
PREFIX_LIST = "pl-4fa04526"
US_CERT = "arn:aws:acm:us-east-1:222222222222:certificate/0b7c6d5e-4f3a-4b2c-9d1e-8f7a6b5c4d3e"
ZONE = "Z0123456789ABCDEFGHIJ"
SITE = {"domain_names": ["shop.example.com", "www.shop.example.com"], "certificate_arn": US_CERT,
        "hosted_zone_id": ZONE, "cloudfront_prefix_list_id": PREFIX_LIST}


def _app(services=None, front=None, dev=None, prod=None):
    envs = {"dev": {"cidr": "10.10.0.0/16", "frontend": dev or {"cloudfront_prefix_list_id": PREFIX_LIST}}}
    if prod is not None:
        envs["prod"] = prod
    return parse_app(app_spec(services=[WEB, API, NEST] if services is None else services,
                              frontend={} if front is None else front, environments=envs))


def _prod(**frontend_settings):
    return {**PROD, "certificate_arn": CERTIFICATE, "domain_name": "origin.shop.example.com",
            "frontend": {**SITE, **frontend_settings}}


def _distribution(app) -> dict:
    return template(app, "frontend.yaml")["Resources"]["Distribution"]["Properties"]["DistributionConfig"]


# --- item 1: the static site --------------------------------------------------------------------------------------

def test_the_site_bucket_is_private_encrypted_versioned_and_kept():
    bucket = template(_app(), "frontend.yaml")["Resources"]["SiteBucket"]
    props = bucket["Properties"]
    assert props["PublicAccessBlockConfiguration"] == {"BlockPublicAcls": True, "BlockPublicPolicy": True,
                                                       "IgnorePublicAcls": True, "RestrictPublicBuckets": True}
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "AES256"}
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert props["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    # the previous releases' assets stay readable as noncurrent versions for the grace period
    rule = props["LifecycleConfiguration"]["Rules"][0]
    assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": buckets.ASSET_GRACE_DAYS}
    assert (bucket["DeletionPolicy"], bucket["UpdateReplacePolicy"]) == ("RetainExceptOnCreate", "Retain")


def test_only_this_distribution_reads_the_bucket_through_origin_access_control():
    """Doc: "Restrict access to an Amazon S3 origin" (Amazon CloudFront developer guide): the bucket policy admits the
    cloudfront.amazonaws.com principal with `AWS:SourceArn` equal to the distribution's ARN."""
    t = template(_app(), "frontend.yaml")
    statements = t["Resources"]["SiteBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    read = next(s for s in statements if s["Sid"] == "CloudFrontReadsObjects")
    assert read["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert read["Action"] == ["s3:GetObject"]
    assert read["Condition"] == {"StringEquals": {"AWS:SourceArn": {"Fn::Sub": [
        "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${Id}", {"Id": {"Ref": "Distribution"}}]}}}
    assert {s["Sid"] for s in statements} == {"CloudFrontReadsObjects", "DenyInsecureTransport"}
    oac = t["Resources"]["OriginAccessControl"]["Properties"]["OriginAccessControlConfig"]
    assert (oac["OriginAccessControlOriginType"], oac["SigningBehavior"], oac["SigningProtocol"]) == (
        "s3", "always", "sigv4")
    static = _distribution(_app())["Origins"][0]
    assert static["OriginAccessControlId"] == {"Fn::GetAtt": ["OriginAccessControl", "Id"]}
    assert static["S3OriginConfig"] == {"OriginAccessIdentity": ""}


def test_the_distribution_is_https_http2_http3_ipv6_logged_with_price_class_and_waf_per_environment():
    config = _distribution(_app())
    assert config["HttpVersion"] == "http2and3" and config["IPV6Enabled"] is True
    assert config["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"
    assert config["DefaultCacheBehavior"]["Compress"] is True
    assert config["PriceClass"] == {"Ref": "PriceClass"}
    assert config["WebACLId"] == {"Fn::If": ["HasWebAcl", {"Ref": "WebAclArn"}, {"Ref": "AWS::NoValue"}]}
    assert config["Logging"]["Bucket"] == {"Fn::GetAtt": ["LogBucket", "DomainName"]}
    assert config["ViewerCertificate"]["Fn::If"][1]["MinimumProtocolVersion"] == "TLSv1.2_2021"
    assert config["ViewerCertificate"]["Fn::If"][1]["SslSupportMethod"] == "sni-only"


def test_security_headers_hsts_nosniff_frame_options_and_referrer_policy_on_every_behaviour():
    t = template(_app(), "frontend.yaml")
    headers = t["Resources"]["SecurityHeadersPolicy"]["Properties"]["ResponseHeadersPolicyConfig"][
        "SecurityHeadersConfig"]
    assert headers["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31536000
    assert headers["StrictTransportSecurity"]["IncludeSubdomains"] is True
    assert headers["ContentTypeOptions"]["Override"] is True
    assert headers["FrameOptions"]["FrameOption"] == "DENY"
    assert headers["ReferrerPolicy"]["ReferrerPolicy"] == "strict-origin-when-cross-origin"
    config = _distribution(_app())
    for behaviour in [config["DefaultCacheBehavior"], *config["CacheBehaviors"]]:
        assert behaviour["ResponseHeadersPolicyId"] == {"Ref": "SecurityHeadersPolicy"}


def test_spa_routing_is_a_function_on_the_static_behaviour_and_never_a_custom_error_response():
    """A distribution-wide CustomErrorResponses would turn the API's 403/404/5xx into index.html (aws-reference §8)."""
    config = _distribution(_app())
    assert "CustomErrorResponses" not in config
    assert config["DefaultCacheBehavior"]["FunctionAssociations"] == [{
        "EventType": "viewer-request", "FunctionARN": {"Fn::GetAtt": ["SpaRoutingFunction", "FunctionARN"]}}]
    assert all("FunctionAssociations" not in b for b in config["CacheBehaviors"])
    function = template(_app(), "frontend.yaml")["Resources"]["SpaRoutingFunction"]["Properties"]
    assert function["FunctionConfig"]["Runtime"] == "cloudfront-js-2.0" and function["AutoPublish"] is True
    assert "FunctionAssociations" not in _distribution(_app(front={"spa_routing": False}))["DefaultCacheBehavior"]


@pytest.mark.parametrize("uri, served", [("/", "/index.html"), ("/orders/42", "/index.html"),
                                         ("/assets/app.3f9a1c.js", "/assets/app.3f9a1c.js"),
                                         ("/config.json", "/config.json"), ("/favicon.ico", "/favicon.ico")])
def test_the_spa_function_serves_the_shell_for_routes_and_files_as_asked(uri, served):
    """The function's own code, run by Node.js (CloudFront Functions run a subset of the same JavaScript): a last
    path segment without a dot is a route of the app; files are fetched as asked."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed; the function's code is then only checked by its text")
    script = behaviours.SPA_ROUTING_CODE + f"\nprocess.stdout.write(handler({{request: {{uri: {json.dumps(uri)}}}}}).uri);"
    assert subprocess.run([node, "-e", script], capture_output=True, text=True, check=True).stdout == served


# --- item 2: CloudFront fronts the API ------------------------------------------------------------------------------

def test_each_api_path_is_an_uncached_behaviour_forwarding_everything_but_host():
    """Managed policies by ID (Docs: "Use managed cache policies", "Use managed origin request policies"):
    CachingDisabled, AllViewerExceptHostHeader (the viewer's headers, cookies and query strings: WebSocket upgrade
    headers and the AWSALB stickiness cookie pass; Host stays the origin's name, which its certificate covers)."""
    config = _distribution(_app())
    behaviours = config["CacheBehaviors"]
    assert [b["PathPattern"] for b in behaviours] == ["/api/*", "/nest/*", "/socket.io/*"]
    for b in behaviours:
        assert b["TargetOriginId"] == "api"
        assert b["CachePolicyId"] == "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
        assert b["OriginRequestPolicyId"] == "b689b0a8-53d0-40ab-baf2-68738e2966ac"
        assert set(b["AllowedMethods"]) == {"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"}
        assert b["ViewerProtocolPolicy"] == "https-only"
    assert config["DefaultCacheBehavior"]["CachePolicyId"] == "658327ea-f89d-4fab-a63d-7e88639e58f6"
    assert config["DefaultCacheBehavior"]["TargetOriginId"] == "static"


def test_api_paths_can_be_given_and_an_empty_list_keeps_the_api_off_cloudfront():
    assert [b["PathPattern"] for b in _distribution(_app(front={"api_paths": ["/v1/*"]}))["CacheBehaviors"]] == [
        "/v1/*"]
    app = _app(front={"api_paths": []}, dev={})
    config = _distribution(app)
    assert "CacheBehaviors" not in config and len(config["Origins"]) == 1
    sg = template(app, "cluster.yaml")["Resources"]["LoadBalancerSecurityGroup"]["Properties"]
    assert sg["SecurityGroupIngress"][0]["CidrIp"] == "0.0.0.0/0"


def test_the_api_origin_is_https_by_its_own_name_when_the_environment_has_one_else_http():
    origin = _distribution(_app())["Origins"][1]
    assert origin["DomainName"] == {"Fn::If": ["HasApiOriginDomain", {"Ref": "ApiOriginDomain"},
                                               {"Ref": "LoadBalancerDns"}]}
    custom = origin["CustomOriginConfig"]
    assert custom["OriginProtocolPolicy"] == {"Fn::If": ["HasApiOriginDomain", "https-only", "http-only"]}
    assert custom["OriginSSLProtocols"] == ["TLSv1.2"]
    app = _app(prod=_prod())
    assert parameter_values(app, "prod")["ApiOriginDomain"] == "origin.shop.example.com"
    assert parameter_values(app, "dev")["ApiOriginDomain"] == ""


def test_the_load_balancer_admits_only_cloudfront_on_its_production_port():
    """Docs: "Restrict access to Application Load Balancers" (CloudFront developer guide); the prefix list weighs 55
    rules ("AWS-managed prefix list weight", VPC user guide), so only one such rule fits the group's 60."""
    t = template(_app(), "cluster.yaml")
    ingress = t["Resources"]["LoadBalancerSecurityGroup"]["Properties"]["SecurityGroupIngress"]
    assert not any(r.get("CidrIp") == "0.0.0.0/0" for r in ingress)
    cloudfront = [r for r in ingress if "SourcePrefixListId" in r]
    assert len(cloudfront) == 1
    assert cloudfront[0]["SourcePrefixListId"] == {"Ref": "CloudFrontPrefixListId"}
    assert cloudfront[0]["FromPort"] == {"Fn::If": ["HasCertificate", 443, 80]}
    test = [r for r in ingress if r.get("FromPort") == 8080]
    assert test[0]["CidrIp"] == {"Ref": "TestListenerCidr"}     # QA still reaches the test listener
    assert "LoadBalancerHttpsIngress" not in t["Resources"]
    assert parameter_values(_app(), "dev")["CloudFrontPrefixListId"] == PREFIX_LIST


def test_without_a_frontend_the_load_balancer_stays_open_and_no_frontend_stack_is_built():
    app = parse_app(app_spec(services=[API]))
    t = template(app, "cluster.yaml")
    assert t["Resources"]["LoadBalancerSecurityGroup"]["Properties"]["SecurityGroupIngress"][0]["CidrIp"] == \
        "0.0.0.0/0"
    assert "CloudFrontPrefixListId" not in root_parameters(app)
    with pytest.raises(KeyError):
        template(app, "frontend.yaml")


# --- item 3: custom domains ---------------------------------------------------------------------------------------

def test_custom_domains_are_aliases_with_the_us_east_1_certificate_and_route53_records():
    app = _app(prod=_prod())
    config = _distribution(app)
    assert config["Aliases"] == {"Fn::If": ["HasDomainNames", {"Ref": "DomainNames"}, {"Ref": "AWS::NoValue"}]}
    assert config["ViewerCertificate"]["Fn::If"][1]["AcmCertificateArn"] == {"Ref": "CloudFrontCertificateArn"}
    assert config["ViewerCertificate"]["Fn::If"][2] == {"CloudFrontDefaultCertificate": True}
    values = parameter_values(app, "prod")
    assert values["DomainNames"] == "shop.example.com,www.shop.example.com"
    assert values["CloudFrontCertificateArn"] == US_CERT and values["HostedZoneId"] == ZONE
    assert parameter_values(app, "dev")["DomainNames"] == ""
    resources = template(app, "frontend.yaml")["Resources"]
    records = {k: r for k, r in resources.items() if r["Type"] == "AWS::Route53::RecordSet"}
    # two names in the environment with the most: one A and one AAAA per slot, each present when its slot is filled
    assert sorted(records) == ["ApiOriginRecord", "SiteRecord1A", "SiteRecord1AAAA", "SiteRecord2A",
                               "SiteRecord2AAAA"]
    alias = records["SiteRecord2AAAA"]["Properties"]["AliasTarget"]
    assert alias["HostedZoneId"] == dns.CLOUDFRONT_ZONE
    assert alias["DNSName"] == {"Fn::GetAtt": ["Distribution", "DomainName"]}
    api = records["ApiOriginRecord"]["Properties"]
    assert api["Name"] == {"Ref": "ApiOriginDomain"} and api["Type"] == "A"
    assert api["AliasTarget"]["HostedZoneId"] == {"Ref": "LoadBalancerZoneId"}


def test_without_a_domain_no_record_and_the_default_certificate():
    resources = template(_app(services=[API]), "frontend.yaml")["Resources"]
    assert not [k for k, r in resources.items() if r["Type"] == "AWS::Route53::RecordSet" and k != "ApiOriginRecord"]


def test_price_class_and_log_retention_defaults_depend_on_production():
    app = _app(prod=_prod())
    assert parameter_values(app, "dev")["PriceClass"] == "PriceClass_100"
    assert parameter_values(app, "prod")["PriceClass"] == "PriceClass_All"
    assert (parameter_values(app, "dev")["LogRetentionDays"], parameter_values(app, "prod")["LogRetentionDays"]) == (
        "90", "365")


@pytest.mark.parametrize("settings, message", [
    ({"certificate_arn": CERTIFICATE}, "CloudFront uses certificates only from us-east-1"),
    ({"domain_names": ["shop.example.com"]}, "required with domain_names"),
    ({"certificate_arn": US_CERT}, "a certificate without domain names is never used"),
    ({}, "required when the frontend fronts the API"),
])
def test_frontend_settings_are_checked_at_load_time(settings, message):
    with pytest.raises(ConfigError, match=message):
        _app(dev={"cloudfront_prefix_list_id": PREFIX_LIST, **settings} if settings else {"price_class": None})


# --- item 5: stickiness and idle timeout ------------------------------------------------------------------------

def test_stickiness_is_a_load_balancer_cookie_on_both_target_groups():
    t = template(_app(), "service-nest.yaml")
    for group in ("BlueTargetGroup", "GreenTargetGroup"):
        attributes = {a["Key"]: a["Value"] for a in t["Resources"][group]["Properties"]["TargetGroupAttributes"]}
        assert attributes["stickiness.enabled"] == "true"
        assert attributes["stickiness.type"] == "lb_cookie"
        assert attributes["stickiness.lb_cookie.duration_seconds"] == "3600"
    plain = template(_app(), "service-api.yaml")["Resources"]["BlueTargetGroup"]["Properties"]
    assert "stickiness.enabled" not in {a["Key"] for a in plain["TargetGroupAttributes"]}


def test_the_idle_timeout_is_a_parameter_per_environment():
    t = template(_app(), "cluster.yaml")
    attributes = {a["Key"]: a["Value"] for a in
                  t["Resources"]["LoadBalancer"]["Properties"]["LoadBalancerAttributes"]}
    assert attributes["idle_timeout.timeout_seconds"] == {"Ref": "IdleTimeoutSeconds"}
    declared = root_parameters(_app())["IdleTimeoutSeconds"]
    assert (declared["Type"], declared["MinValue"], declared["MaxValue"]) == ("Number", 1, 4000)
    app = _app(prod={**PROD, "idle_timeout_seconds": 300, "frontend": {"cloudfront_prefix_list_id": PREFIX_LIST}})
    assert (parameter_values(app, "dev")["IdleTimeoutSeconds"], parameter_values(app, "prod")["IdleTimeoutSeconds"]) \
        == ("60", "300")


def test_the_frontend_package_exports_what_root_uses():
    assert frontend.fronts_api(_app()) and not frontend.fronts_api(_app(front={"api_paths": []}, dev={}))
