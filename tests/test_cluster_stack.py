"""The cluster nested stack: capacity providers, load balancer, listeners, security group, access-log bucket."""
from __future__ import annotations

import json
import re

import pytest

from generator.build import write
from generator.config import parse_app
from generator.errors import ConfigError
from generator.components import cluster
from generator.wiring import OutputRef
from tests.conftest import CERTIFICATE, app_spec, parameter_values, root_parameters, template

CERT = CERTIFICATE
SERVICES = [{"name": "web", "kind": "web", "port": 8080}, {"name": "api", "kind": "web", "port": 3000,
             "routing": {"path_patterns": ["/api/*"], "priority": 10}},
            {"name": "worker", "kind": "worker"}]
ENVS = {"dev": {"account_id": "111111111111", "cidr": "10.10.0.0/16"},
        "prod": {"account_id": "222222222222", "cidr": "10.30.0.0/16", "production": True,
                 "zones": ["euw1-az1", "euw1-az2"],
                 "certificate_arn": CERT, "test_listener_cidr": "203.0.113.0/24"}}


def _raw(envs=None, services=None, **extra) -> dict:
    return app_spec(services=SERVICES if services is None else services, environments=envs or ENVS, **extra)


def _app(envs=None, services=None, **extra):
    return parse_app(_raw(envs, services, **extra))


def _cluster(app) -> dict:
    return template(app, "cluster.yaml")


_values = parameter_values


def _with_env(**fields) -> dict:
    return {"dev": {**ENVS["dev"], **fields}}


# --- ECS cluster and capacity providers -------------------------------------------------------------------------

def test_cluster_has_container_insights_and_both_fargate_providers():
    props = _cluster(_app())["Resources"]["Cluster"]["Properties"]
    assert props["ClusterSettings"] == [{"Name": "containerInsights", "Value": "enabled"}]
    assert props["CapacityProviders"] == ["FARGATE", "FARGATE_SPOT"]
    assert props["ClusterName"] == {"Fn::Sub": "${Application}-${EnvironmentName}"}


def test_capacity_weights_come_from_the_spot_share_parameter():
    t = _cluster(_app())
    strategy = t["Resources"]["Cluster"]["Properties"]["DefaultCapacityProviderStrategy"]
    assert strategy == [
        {"CapacityProvider": "FARGATE", "Weight": {"Fn::FindInMap": ["SpotShares", {"Ref": "SpotShare"}, "Fargate"]}},
        {"CapacityProvider": "FARGATE_SPOT",
         "Weight": {"Fn::FindInMap": ["SpotShares", {"Ref": "SpotShare"}, "FargateSpot"]}},
    ]
    mapping = t["Mappings"]["SpotShares"]
    for share, weights in mapping.items():
        assert weights == {"Fargate": 100 - int(share), "FargateSpot": int(share)}
    allowed = root_parameters(_app())["SpotShare"]["AllowedValues"]
    assert sorted(allowed, key=int) == sorted(mapping, key=int)  # every allowed value has a mapping entry


def test_spot_share_per_environment_with_production_default_zero():
    assert _values(_app(), "dev")["SpotShare"] == "50"
    assert _values(_app(), "prod")["SpotShare"] == "0"
    assert _values(_app(_with_env(spot_share=80)), "dev")["SpotShare"] == "80"


@pytest.mark.parametrize("share", [-10, 110, 25])
def test_spot_share_out_of_range_or_step_is_rejected(share):
    with pytest.raises(ConfigError):
        _app(_with_env(spot_share=share))


# --- listeners --------------------------------------------------------------------------------------------------

def test_https_listener_only_with_a_certificate():
    t = _cluster(_app())
    assert t["Conditions"]["HasCertificate"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "CertificateArn"}, ""]}]}
    https = t["Resources"]["HttpsListener"]
    assert https["Condition"] == "HasCertificate"
    props = https["Properties"]
    assert (props["Port"], props["Protocol"]) == (443, "HTTPS")
    assert props["Certificates"] == [{"CertificateArn": {"Ref": "CertificateArn"}}]
    assert props["SslPolicy"].startswith("ELBSecurityPolicy-TLS13")
    assert props["DefaultActions"][0]["FixedResponseConfig"]["StatusCode"] == "404"


def test_http_redirects_to_https_under_the_certificate_condition():
    props = _cluster(_app())["Resources"]["HttpListener"]["Properties"]
    assert (props["Port"], props["Protocol"]) == (80, "HTTP")
    condition, with_cert, without = props["DefaultActions"]["Fn::If"]
    assert condition == "HasCertificate"
    assert with_cert == [{"Type": "redirect", "RedirectConfig": {
        "Protocol": "HTTPS", "Port": "443", "Host": "#{host}", "Path": "/#{path}", "Query": "#{query}",
        "StatusCode": "HTTP_301"}}]
    assert without[0]["Type"] == "fixed-response" and without[0]["FixedResponseConfig"]["StatusCode"] == "404"


def test_production_listener_output_follows_the_certificate():
    out = _cluster(_app())["Outputs"]["ProductionListenerArn"]["Value"]
    assert out == {"Fn::If": ["HasCertificate", {"Ref": "HttpsListener"}, {"Ref": "HttpListener"}]}


def test_certificate_parameter_per_environment():
    assert _values(_app(), "dev")["CertificateArn"] == ""
    assert _values(_app(), "prod")["CertificateArn"] == CERT
    pattern = root_parameters(_app())["CertificateArn"]["AllowedPattern"]
    assert re.fullmatch(pattern, "") and re.fullmatch(pattern, CERT)
    assert not re.fullmatch(pattern, "arn:aws:iam::222222222222:server-certificate/x")


@pytest.mark.parametrize("arn, complaint", [
    (CERT.replace("eu-west-1", "us-east-1"), "is in us-east-1"),
    (CERT.replace("222222222222", "333333333333"), "belongs to account 333333333333"),
    ("not-an-arn", "'not-an-arn'"),
])
def test_certificate_must_fit_region_and_account(arn, complaint):
    envs = {"prod": {**ENVS["prod"], "certificate_arn": arn}}
    with pytest.raises(ConfigError) as exc:
        _app(envs)
    assert any("environments.prod.certificate_arn" in line and complaint in line for line in exc.value.lines())


def test_test_listener_on_8080_follows_the_certificate():
    props = _cluster(_app())["Resources"]["TestListener"]["Properties"]
    assert props["Port"] == 8080
    assert props["Protocol"] == {"Fn::If": ["HasCertificate", "HTTPS", "HTTP"]}
    assert props["Certificates"]["Fn::If"][0] == "HasCertificate"
    assert props["DefaultActions"][0]["Type"] == "fixed-response"
    assert _cluster(_app())["Outputs"]["TestListenerArn"]["Value"] == {"Ref": "TestListener"}


# --- security group ---------------------------------------------------------------------------------------------

def _sg_rules(t: dict) -> tuple[list[dict], list[dict]]:
    sg = t["Resources"]["LoadBalancerSecurityGroup"]["Properties"]
    extra = [r["Properties"] for r in t["Resources"].values() if r["Type"] == "AWS::EC2::SecurityGroupIngress"]
    return sg["SecurityGroupIngress"] + extra, sg["SecurityGroupEgress"]


def test_test_listener_port_is_open_only_to_the_cidr_parameter():
    ingress, _ = _sg_rules(_cluster(_app()))
    on_8080 = [r for r in ingress if r["FromPort"] <= 8080 <= r["ToPort"]]
    assert on_8080 == [{"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080, "CidrIp": {"Ref": "TestListenerCidr"},
                        "Description": "Test listener, from the test CIDR only"}]


def test_test_listener_cidr_defaults_to_the_vpc_and_never_opens_to_everyone():
    app = _app()
    assert _values(app, "dev")["TestListenerCidr"] == "10.10.0.0/16"
    assert _values(app, "prod")["TestListenerCidr"] == "203.0.113.0/24"
    pattern = root_parameters(app)["TestListenerCidr"]["AllowedPattern"]
    assert re.fullmatch(pattern, "203.0.113.7/32")
    for wide in ("0.0.0.0/0", "0.0.0.0/1", "10.0.0.0/7"):
        assert not re.fullmatch(pattern, wide)
    with pytest.raises(ConfigError):
        _app(_with_env(test_listener_cidr="0.0.0.0/0"))


def test_internet_ingress_only_on_80_and_443_and_443_only_with_a_certificate():
    t = _cluster(_app())
    ingress, _ = _sg_rules(t)
    public = sorted(r["FromPort"] for r in ingress if r.get("CidrIp") == "0.0.0.0/0")
    assert public == [80, 443]
    https_rule = [k for k, r in t["Resources"].items() if r["Type"] == "AWS::EC2::SecurityGroupIngress"]
    assert [t["Resources"][k]["Condition"] for k in https_rule] == ["HasCertificate"]


def test_every_rule_is_described_and_egress_reaches_only_web_service_ports():
    ingress, egress = _sg_rules(_cluster(_app()))
    assert all(len(r.get("Description", "")) > 5 for r in ingress + egress)
    assert sorted((r["FromPort"], r["ToPort"]) for r in egress) == [(3000, 3000), (8080, 8080)]
    assert all(r["CidrIp"] == {"Ref": "VpcCidr"} and r["IpProtocol"] == "tcp" for r in egress)


def test_no_web_service_means_no_egress():
    t = _cluster(_app(services=[{"name": "worker", "kind": "worker"}]))
    _, egress = _sg_rules(t)
    assert egress == [{"IpProtocol": "icmp", "FromPort": -1, "ToPort": -1, "CidrIp": "127.0.0.1/32",
                       "Description": "No egress"}]
    assert "VpcCidr" not in t["Parameters"]


# --- load balancer and access logs --------------------------------------------------------------------------------

def _lb_attributes(t: dict) -> dict:
    return {a["Key"]: a["Value"] for a in t["Resources"]["LoadBalancer"]["Properties"]["LoadBalancerAttributes"]}


def test_load_balancer_is_internet_facing_in_the_public_subnets():
    t = _cluster(_app())
    props = t["Resources"]["LoadBalancer"]["Properties"]
    assert props["Scheme"] == "internet-facing" and props["Type"] == "application"
    assert props["Subnets"] == {"Ref": "PublicSubnetIds"}
    assert t["Parameters"]["PublicSubnetIds"]["Type"] == "List<AWS::EC2::Subnet::Id>"
    assert props["SecurityGroups"] == [{"Ref": "LoadBalancerSecurityGroup"}]


def test_subnet_list_crosses_into_the_nested_stack_as_a_string():
    root = template(_app(), "root.yaml")
    assert root["Resources"]["Cluster"]["Properties"]["Parameters"]["PublicSubnetIds"] == {
        "Fn::GetAtt": ["Network", "Outputs.PublicSubnetIds"]}
    network = template(_app(), "network.yaml")
    assert "Fn::Join" in json.dumps(network["Outputs"]["PublicSubnetIds"]["Value"])


def test_deletion_protection_is_tied_to_production():
    t = _cluster(_app())
    assert t["Conditions"]["IsProduction"] == {"Fn::Equals": [{"Ref": "Production"}, "true"]}
    assert _lb_attributes(t)["deletion_protection.enabled"] == {"Fn::If": ["IsProduction", "true", "false"]}
    assert _values(_app(), "prod")["Production"] == "true"
    assert _values(_app(), "dev")["Production"] == "false"


def test_invalid_headers_dropped_and_access_logs_on():
    attrs = _lb_attributes(_cluster(_app()))
    assert attrs["routing.http.drop_invalid_header_fields.enabled"] == "true"
    assert attrs["access_logs.s3.enabled"] == "true"
    assert attrs["access_logs.s3.bucket"] == {"Ref": "AccessLogBucket"}
    assert attrs["access_logs.s3.prefix"] == "alb"


def test_load_balancer_waits_for_the_bucket_policy():
    assert _cluster(_app())["Resources"]["LoadBalancer"]["DependsOn"] == ["AccessLogBucketPolicy"]


def test_access_log_bucket_is_sse_s3_versioned_private_and_expiring():
    bucket = _cluster(_app())["Resources"]["AccessLogBucket"]
    props = bucket["Properties"]
    rule = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}  # the only kind ALB logs support
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert set(props["PublicAccessBlockConfiguration"].values()) == {True}
    assert len(props["PublicAccessBlockConfiguration"]) == 4
    (lifecycle,) = props["LifecycleConfiguration"]["Rules"]
    assert lifecycle["ExpirationInDays"] == {"Ref": "AccessLogRetentionDays"}
    assert "NoncurrentVersionExpiration" in lifecycle and "AbortIncompleteMultipartUpload" in lifecycle
    skips = {s["id"]: s["comment"] for s in bucket["Metadata"]["checkov"]["skip"]}
    assert "CKV_AWS_18" in skips and "circular" in skips["CKV_AWS_18"]
    assert _values(_app(), "prod")["AccessLogRetentionDays"] == "365"
    assert _values(_app(), "dev")["AccessLogRetentionDays"] == "90"


def _bucket_statements(app) -> dict:
    policy = _cluster(app)["Resources"]["AccessLogBucketPolicy"]["Properties"]["PolicyDocument"]
    return {s["Sid"]: s for s in policy["Statement"]}


def test_bucket_policy_lets_elb_write_only_under_the_prefix_and_denies_plain_http():
    statements = _bucket_statements(_app())
    delivery = statements["LoadBalancerLogDelivery"]
    assert delivery["Principal"] == {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"}
    assert delivery["Action"] == ["s3:PutObject"]
    assert delivery["Resource"] == [{"Fn::Sub": ["${Arn}/alb/AWSLogs/${AWS::AccountId}/*",
                                                 {"Arn": {"Fn::GetAtt": ["AccessLogBucket", "Arn"]}}]}]
    deny = statements["DenyInsecureTransport"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert {"Fn::GetAtt": ["AccessLogBucket", "Arn"]} in deny["Resource"]


def test_regions_older_than_the_service_principal_also_grant_the_regional_elb_account():
    legacy = _bucket_statements(_app())["LoadBalancerLogDeliveryRegionalAccount"]  # eu-west-1
    assert legacy["Principal"] == {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::156460612806:root"}}
    assert legacy["Resource"] == _bucket_statements(_app())["LoadBalancerLogDelivery"]["Resource"]
    newer = parse_app({**_raw({"dev": {"cidr": "10.10.0.0/16"}}), "region": "ap-southeast-5"})
    assert "LoadBalancerLogDeliveryRegionalAccount" not in _bucket_statements(newer)


# --- outputs and the whole build ----------------------------------------------------------------------------------

def test_cluster_outputs_name_declared_outputs_with_ref_and_getatt_where_due():
    from generator.components.network import NetworkOutputs

    app = _app()
    net = NetworkOutputs(*(OutputRef("Network", n, t, n) for n, t in (
        ("VpcId", "AWS::EC2::VPC::Id"), ("VpcCidr", "String"), ("PublicSubnetIds", "List<AWS::EC2::Subnet::Id>"),
        ("PrivateSubnetIds", "List<AWS::EC2::Subnet::Id>"), ("LogsKeyArn", "String"))))
    from generator.components import environment
    stack = cluster.COMPONENT.builder(app)
    out = cluster.build(app, stack, cluster.env_inputs(app), environment.env_inputs(app), net=net)
    assert all(isinstance(ref, OutputRef) and ref.stack == "Cluster" for ref in out)
    outputs = json.loads(stack.template.to_json())["Outputs"]
    assert {ref.name for ref in out} == set(outputs)
    assert outputs["ClusterName"]["Value"] == {"Ref": "Cluster"}
    assert outputs["ClusterArn"]["Value"] == {"Fn::GetAtt": ["Cluster", "Arn"]}
    assert outputs["LoadBalancerFullName"]["Value"] == {"Fn::GetAtt": ["LoadBalancer", "LoadBalancerFullName"]}
    assert outputs["LoadBalancerDns"]["Value"] == {"Fn::GetAtt": ["LoadBalancer", "DNSName"]}
    assert outputs["LoadBalancerSecurityGroupId"]["Value"] == {"Fn::GetAtt": ["LoadBalancerSecurityGroup", "GroupId"]}
    assert set(stack.inputs) >= {"VpcId", "VpcCidr", "PublicSubnetIds"}


def test_every_checkov_skip_in_the_cluster_stack_has_a_reason():
    for logical_id, res in _cluster(_app())["Resources"].items():
        for skip in res.get("Metadata", {}).get("checkov", {}).get("skip", []):
            assert skip["id"].startswith("CKV") and len(skip["comment"]) >= 20, logical_id


@pytest.mark.parametrize("envs, network", [
    (None, {}),
    ({"dev": {"cidr": "10.0.0.0/16", "vpc_id": "vpc-0123456789abcdef0",
              "public_subnet_ids": ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"],
              "private_subnet_ids": ["subnet-0123456789abcdef2", "subnet-0123456789abcdef3"]}}, {"mode": "existing"}),
], ids=["new-vpc", "existing-vpc"])
def test_whole_build_passes_the_lint_gate(tmp_path, envs, network):
    app = parse_app(_raw(envs, network=network))
    write(app, tmp_path / "templates", tmp_path / "params")
    assert (tmp_path / "templates" / "cluster.yaml").is_file()
    assert (tmp_path / "templates" / "registry.yaml").is_file()
