"""The pipeline's test URL is one TLS can verify: with a certificate, a host name the certificate covers.

An ACM certificate covers the domain names it was issued for; the load balancer's own DNS name
(`<name>-<id>.<region>.elb.amazonaws.com`) is never one of them, so `https://<load balancer DNS>:8080` fails
certificate verification in a browser and in any test runner that checks certificates (the ALB presents the
listener's certificate for every name). Environments with `certificate_arn` therefore name their `domain_name` (a
rule, with the pipeline), and the approval message and the integration tests use `https://<domain_name>:8080`;
without a certificate the test listener speaks HTTP on the load balancer's DNS name. What no test can show: that the
DNS record exists and the certificate really covers the name (both are manual steps, docs/deploy.md).
"""
from __future__ import annotations

import json

from generator.build import render_app
from generator.pipeline.stages import environment_test_url
from tests.conftest import CERTIFICATE, PROD, make_app
from tests.templates import load

# Three environments: staging (HTTP, where the integration tests run) and prod (HTTPS on its domain name), each with
# a web service whose releases wait for approval.
WEB = [{"name": "api", "kind": "web", "port": 3000}]
HELD = {"services": {"api": {"wait_for_approval_minutes": 60}}}
APP = make_app(
    app="tunecast", services=WEB,
    environments={"dev": {"account_id": "111111111111", "cidr": "10.10.0.0/16"},
                  "staging": {"account_id": "111111111111", "cidr": "10.20.0.0/16", **HELD},
                  "prod": {**PROD, "certificate_arn": CERTIFICATE, "domain_name": "tunecast.example.com", **HELD}},
    pipeline={"account_id": "111111111111", "repository": "tunecast/tunecast",
              "connection_arn": "arn:aws:codeconnections:eu-west-1:111111111111:connection/"
                                "7d3f5c1a-2b4e-4f6a-9c8d-1e2f3a4b5c6d",
              "notification_email": "releases@tunecast.example.com", "test_command": "npm test"})
PIPELINE = load(render_app(APP).templates["pipeline.yaml"])
STAGES = {s["Name"]: {a["Name"]: a for a in s["Actions"]}
          for s in PIPELINE["Resources"]["Pipeline"]["Properties"]["Stages"]}


def test_production_approval_names_the_host_its_certificate_covers():
    prod = APP.environments["prod"]
    assert prod.certificate_arn and prod.domain_name == "tunecast.example.com"
    message = STAGES["DeployProd"]["ApproveReroute"]["Configuration"]["CustomData"]
    assert "waits on the test listener https://tunecast.example.com:8080." in message
    assert "ClusterLoadBalancerDns" not in message and ".elb." not in message


def test_an_http_environment_keeps_the_load_balancer_name():
    staging = APP.environments["staging"]
    assert staging.certificate_arn is None
    gate = STAGES["DeployStaging"]["IntegrationTests"]["Configuration"]["UserParameters"]
    text = gate["Fn::Sub"][0] if isinstance(gate, dict) else gate
    assert json.loads(text)["testUrl"] == "http://#{DeployStagingVariables.ClusterLoadBalancerDns}:8080"
    message = STAGES["DeployStaging"]["ApproveReroute"]["Configuration"]["CustomData"]
    assert "http://#{DeployStagingVariables.ClusterLoadBalancerDns}:8080" in message


def test_every_https_test_url_uses_the_domain_name_whatever_the_environment():
    for env, spec in APP.environments.items():
        url = environment_test_url(APP, env)
        if spec.certificate_arn:
            assert url == f"https://{spec.domain_name}:8080", env
        else:
            assert url.startswith("http://#{") and url.endswith("ClusterLoadBalancerDns}:8080"), env
