"""Packaging plan, capabilities, stack naming, parameter files and secrets: pure functions, no AWS."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from generator import cfnyaml
from scripts.deploylib import packaging
from scripts.deploylib.errors import DeployError
from scripts.deploylib.target import (check_parameters, deploy_parameters, image_tag_overrides, load_target,
                                      secret_parameters, stack_name)
from tests.support import DEFAULT_APP, DEFAULT_PARAMS, DEFAULT_TEMPLATES

BUCKET, REGION = "tunecast-templates-111111111111-eu-west-1", "eu-west-1"

ROOT_T = """\
AWSTemplateFormatVersion: '2010-09-09'
Parameters:
  EnvironmentName: {Type: String}
  DbPassword: {Type: String, NoEcho: true}
Resources:
  Network:
    Type: AWS::CloudFormation::Stack
    Properties:
      TemplateURL: ./network.yaml
      Parameters: {EnvironmentName: !Ref EnvironmentName}
  Services:
    Type: AWS::CloudFormation::Stack
    Properties:
      TemplateURL: ./services/services.yaml
      Parameters:
        VpcId: !GetAtt Network.Outputs.VpcId
Outputs:
  VpcId: {Value: !GetAtt 'Network.Outputs.VpcId'}
"""
NETWORK_T = """\
Resources:
  Vpc: {Type: AWS::EC2::VPC, Properties: {CidrBlock: 10.0.0.0/16}}
Outputs:
  VpcId: {Value: !Ref Vpc}
"""
SERVICES_T = """\
Parameters:
  VpcId: {Type: String}
Resources:
  Web:
    Type: AWS::CloudFormation::Stack
    Properties: {TemplateURL: web.yaml}
  Shared:
    Type: AWS::CloudFormation::Stack
    Properties: {TemplateURL: ../network.yaml}
  External:
    Type: AWS::CloudFormation::Stack
    Properties: {TemplateURL: 'https://example-bucket.s3.amazonaws.com/x.yaml'}
"""
WEB_T = """\
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties: {AssumeRolePolicyDocument: {}}
  Queue: {Type: AWS::SQS::Queue}
"""


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "services").mkdir()
    for name, text in {"root.yaml": ROOT_T, "network.yaml": NETWORK_T, "services/services.yaml": SERVICES_T,
                       "services/web.yaml": WEB_T}.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def test_nested_templates_get_content_addressed_keys_and_https_urls(tree):
    plan = packaging.plan_package(tree, "root.yaml", BUCKET, REGION, "tunecast")
    assert [a.source for a in plan.artifacts] == ["network.yaml", "services/web.yaml", "services/services.yaml",
                                                  "root.yaml"]
    for artifact in plan.artifacts:
        assert artifact.key == f"tunecast/{hashlib.sha256(artifact.body).hexdigest()}.yaml"
    # a template without nested stacks is uploaded byte for byte
    assert plan.by_source("network.yaml").body == NETWORK_T.encode()
    root = cfnyaml.loads(plan.root.body.decode())
    net_url = f"https://{BUCKET}.s3.{REGION}.amazonaws.com/{plan.by_source('network.yaml').key}"
    assert root["Resources"]["Network"]["Properties"]["TemplateURL"] == net_url
    assert root["Resources"]["Services"]["Properties"]["TemplateURL"] == plan.url(
        plan.by_source("services/services.yaml"))
    # short-form intrinsics survive the rewrite in long form
    assert root["Resources"]["Services"]["Properties"]["Parameters"]["VpcId"] == {
        "Fn::GetAtt": ["Network", "Outputs.VpcId"]}
    assert root["AWSTemplateFormatVersion"] == "2010-09-09"


def test_nested_stacks_inside_nested_stacks_are_rewritten_relative_to_their_parent(tree):
    plan = packaging.plan_package(tree, "root.yaml", BUCKET, REGION, "tunecast")
    services = cfnyaml.loads(plan.by_source("services/services.yaml").body.decode())["Resources"]
    assert services["Web"]["Properties"]["TemplateURL"] == plan.url(plan.by_source("services/web.yaml"))
    # the same file used twice is uploaded once, and both references point at it
    assert services["Shared"]["Properties"]["TemplateURL"] == plan.url(plan.by_source("network.yaml"))
    assert len(plan.artifacts) == 4
    # remote URLs are left alone
    assert services["External"]["Properties"]["TemplateURL"] == "https://example-bucket.s3.amazonaws.com/x.yaml"
    assert set(plan.stack_templates()) == {(), ("Network",), ("Services",), ("Services", "Web"),
                                           ("Services", "Shared")}
    assert plan.resource_count() == 2 + 1 + 3 + 2 + 1


def test_packaging_is_deterministic_and_content_changes_change_the_key(tree):
    first = packaging.plan_package(tree, "root.yaml", BUCKET, REGION, "tunecast")
    again = packaging.plan_package(tree, "root.yaml", BUCKET, REGION, "tunecast")
    assert [a.key for a in first.artifacts] == [a.key for a in again.artifacts]
    (tree / "services" / "web.yaml").write_text(WEB_T + "  Topic: {Type: AWS::SNS::Topic}\n", encoding="utf-8")
    changed = packaging.plan_package(tree, "root.yaml", BUCKET, REGION, "tunecast")
    assert changed.by_source("network.yaml").key == first.by_source("network.yaml").key
    # the change propagates up: the parent's body holds the child's new URL, so its key changes too
    for source in ("services/web.yaml", "services/services.yaml", "root.yaml"):
        assert changed.by_source(source).key != first.by_source(source).key, source


def test_missing_nested_template_is_named(tree):
    (tree / "network.yaml").unlink()
    with pytest.raises(DeployError) as err:
        packaging.plan_package(tree, "root.yaml", BUCKET, REGION, "tunecast")
    assert "TemplateURL network.yaml not found" in err.value.message
    assert "make templates" in err.value.hints[0]


def test_cycles_are_reported(tree):
    (tree / "network.yaml").write_text(
        "Resources:\n  Back: {Type: AWS::CloudFormation::Stack, Properties: {TemplateURL: ./root.yaml}}\n")
    with pytest.raises(DeployError, match=r"nested stacks form a cycle: root.yaml -> network.yaml -> root.yaml"):
        packaging.plan_package(tree, "root.yaml", BUCKET, REGION, "tunecast")


def test_a_template_already_in_the_bucket_is_reused_only_the_day_it_was_uploaded(tree):
    """`make package`/`make deploy` skip uploads of unchanged templates (content-addressed keys), as `aws
    cloudformation package` does. A bucket whose lifecycle expires current objects counts their age from the upload
    (S3 user guide, "Expiring objects"; aws-reference §8), so an unchanged template uploaded long ago could expire
    under a stack operation that still needs it: an object older than a day is uploaded again, which restarts its age."""
    import boto3
    from botocore.stub import Stubber

    plan = packaging.plan_package(tree, "root.yaml", BUCKET, REGION, "tunecast")
    now = datetime(2025, 6, 1, 12, 0, tzinfo=timezone.utc)
    ages = [timedelta(minutes=5), packaging.REUSE_FOR + timedelta(seconds=1), timedelta(days=400), None]
    s3 = boto3.client("s3", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(s3) as stub:
        for artifact, age in zip(plan.artifacts, ages):
            where = {"Bucket": BUCKET, "Key": artifact.key}
            if age is None:
                stub.add_client_error("head_object", "404", "Not Found", http_status_code=404, expected_params=where)
            else:
                stub.add_response("head_object", {"LastModified": now - age}, where)
            if age is None or age >= packaging.REUSE_FOR:
                stub.add_response("put_object", {}, {**where, "Body": artifact.body, "ContentType": "application/x-yaml",
                                                     "Metadata": {"source": artifact.source}})
        said: list[str] = []

        class FakeAws:   # what upload uses of scripts/deploylib/aws.py's Aws
            pass
        aws = FakeAws()
        aws.s3 = s3
        assert packaging.upload(aws, plan, said.append, now=now) == (3, 1)
        stub.assert_no_pending_responses()
    assert said[0].endswith("(already uploaded)")
    assert said[1].endswith("(uploaded again: the copy there was older than a day)")
    assert not said[3].endswith(")")


def test_the_default_bucket_never_expires_current_templates():
    """The bucket `make package` creates expires only noncurrent versions: a current template stays as long as a stack
    may need it (Expiration would apply to current versions; S3 user guide, "Expiring objects")."""
    calls = {}

    class S3:
        def __getattr__(self, name):
            return lambda **kwargs: calls.setdefault(name, kwargs)

    class FakeAws:
        region, s3 = REGION, S3()
    packaging.create_bucket(FakeAws(), BUCKET, [])
    rule, = calls["put_bucket_lifecycle_configuration"]["LifecycleConfiguration"]["Rules"]
    assert "Expiration" not in rule and rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": 90}


def test_the_inline_budget_is_never_smaller_than_what_deploy_sends(tmp_path):
    """generator/lint/budgets.py measures the root as packaged, with the longest S3 locations a packager writes:
    never less than the root scripts/deploy.py actually uploads (long-form YAML, S3 URLs)."""
    from generator.build import render_app
    from generator.config import load_app
    from generator.lint import budgets
    from generator.render import stage

    app = load_app(DEFAULT_APP)
    rendered = render_app(app)
    staged = stage({n: t for n, t in rendered.templates.items() if not n.startswith("lambda/")}, tmp_path / "t")
    bucket = packaging.default_bucket_name(app.app, "111111111111", app.region)
    plan = packaging.plan_package(staged, "root.yaml", bucket, app.region, app.app)
    measured = len(budgets.packaged(rendered.templates["root.yaml"], app.region).encode())
    sent = len(plan.root.body)
    assert sent > len(rendered.templates["root.yaml"].encode())   # packaging makes it bigger
    assert measured >= sent


def test_urls_follow_the_partition():
    assert packaging.s3_url("b", "cn-north-1", "k/x.yaml") == "https://b.s3.cn-north-1.amazonaws.com.cn/k/x.yaml"
    assert packaging.s3_url("b", "us-east-1", "k/x.yaml") == "https://b.s3.us-east-1.amazonaws.com/k/x.yaml"


@pytest.mark.parametrize("resources, expected", [
    ({"Q": {"Type": "AWS::SQS::Queue"}}, []),
    ({"R": {"Type": "AWS::IAM::Role", "Properties": {}}}, ["CAPABILITY_IAM"]),
    ({"R": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "x"}}}, ["CAPABILITY_NAMED_IAM"]),
    ({"P": {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"ManagedPolicyName": "x"}}},
     ["CAPABILITY_NAMED_IAM"]),
    ({"P": {"Type": "AWS::IAM::Policy", "Properties": {"PolicyName": "inline"}}}, ["CAPABILITY_IAM"]),
    ({"S": {"Type": "AWS::CloudFormation::Stack"}}, []),
])
def test_capabilities_are_only_what_the_templates_need(resources, expected):
    assert packaging.required_capabilities([{"Resources": {}}, {"Resources": resources}]) == expected


def test_capabilities_look_into_nested_templates_and_transforms(tree):
    plan = packaging.plan_package(tree, "root.yaml", BUCKET, REGION, "tunecast")
    assert packaging.required_capabilities(plan.templates()) == ["CAPABILITY_IAM"]   # the role in web.yaml
    assert packaging.required_capabilities([{"Transform": "AWS::Serverless-2016-10-31", "Resources": {}}]) == [
        "CAPABILITY_AUTO_EXPAND"]


def test_stack_name_convention():
    assert stack_name("tunecast", "prod") == "tunecast-prod"


def test_secret_parameters_are_no_echo_or_secret_looking_values_never_names():
    template = {"Parameters": {"DbPassword": {"Type": "String", "NoEcho": True},
                               "Hidden": {"Type": "String", "NoEcho": "true"},
                               "ApiToken": {"Type": "String"},
                               "TokenImageTag": {"Type": "String"},          # a service called `token`
                               "DbSecretArn": {"Type": "String"},
                               "Legacy": {"Type": "String"},
                               "VpcCidr": {"Type": "String"}}}
    values = [("DbPassword", "x"), ("Hidden", "y"), ("ApiToken", "bootstrap"), ("TokenImageTag", "bootstrap"),
              ("DbSecretArn", "arn:aws:secretsmanager:eu-west-1:111111111111:secret:db"),
              ("Legacy", "postgres://app:hunter2@db.internal:5432/app"), ("VpcCidr", "10.0.0.0/16")]
    assert secret_parameters(template) == {"DbPassword", "Hidden"}
    assert secret_parameters(template, values) == {"DbPassword", "Hidden", "Legacy"}


def write_params(tmp: Path, env: str, params: dict, tags: dict, policy: dict | None = None) -> None:
    (tmp / f"{env}.json").write_text(json.dumps([{"ParameterKey": k, "ParameterValue": v}
                                                 for k, v in params.items()]))
    config = {"Parameters": params, "Tags": tags, **({"StackPolicy": policy} if policy else {})}
    (tmp / f"{env}.config.json").write_text(json.dumps(config))


def test_load_target_reads_both_parameter_files(tmp_path):
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "root.yaml").write_text(ROOT_T)
    write_params(tmp_path, "prod", {"EnvironmentName": "prod", "DbPassword": "x"}, {"Environment": "prod"},
                 {"Statement": []})
    target = load_target(DEFAULT_APP, "prod", tmp_path / "t", tmp_path, None)
    assert target.stack_name.endswith("-prod") and target.production
    assert target.cfn_parameters()[0] == {"ParameterKey": "EnvironmentName", "ParameterValue": "prod"}
    assert target.cfn_tags() == [{"Key": "Environment", "Value": "prod"}]
    assert target.stack_policy == {"Statement": []}


def test_unknown_environment_lists_the_known_ones(tmp_path):
    with pytest.raises(DeployError) as err:
        load_target(DEFAULT_APP, "qa", DEFAULT_TEMPLATES, DEFAULT_PARAMS, None)
    assert err.value.message == "unknown environment 'qa'"
    assert "dev" in err.value.hints[0] and "prod" in err.value.hints[0]


def test_missing_parameter_file_says_to_run_make_templates(tmp_path):
    with pytest.raises(DeployError) as err:
        load_target(DEFAULT_APP, "dev", DEFAULT_TEMPLATES, tmp_path, None)
    assert err.value.message == f"{tmp_path / 'dev.json'} not found"
    assert "make templates" in err.value.hints[0]


def test_production_without_stack_policy_is_refused(tmp_path):
    (tmp_path / "root.yaml").write_text(ROOT_T)
    write_params(tmp_path, "prod", {"EnvironmentName": "prod"}, {})
    with pytest.raises(DeployError, match="has no StackPolicy, but 'prod' is a production environment"):
        load_target(DEFAULT_APP, "prod", tmp_path, tmp_path, None)


def test_parameter_file_must_match_the_root_template(tmp_path):
    (tmp_path / "root.yaml").write_text(ROOT_T)
    write_params(tmp_path, "dev", {"EnvironmentName": "dev", "Extra": "1"}, {})
    target = load_target(DEFAULT_APP, "dev", tmp_path, tmp_path, None)
    with pytest.raises(DeployError) as err:
        check_parameters(target, cfnyaml.loads(ROOT_T))
    assert "missing DbPassword; unknown Extra" in err.value.message


def test_the_default_app_packages(tmp_path):
    """The committed output of app.yaml packages: every nested stack is rewritten, nothing local is left."""
    plan = packaging.plan_package(DEFAULT_TEMPLATES, "root.yaml", BUCKET, REGION, "tunecast")
    root = plan.root.template
    nested = [r for r in root["Resources"].values() if r["Type"] == "AWS::CloudFormation::Stack"]
    assert nested, "the default app should have nested stacks"
    assert all(r["Properties"]["TemplateURL"].startswith(f"https://{BUCKET}.s3.{REGION}.amazonaws.com/tunecast/")
               for r in nested)
    assert len(plan.artifacts) == len({r["Properties"]["TemplateURL"] for r in nested}) + 1
    out = packaging.write_packaged_root(plan, tmp_path, "dev")
    assert out == tmp_path / "dev" / "root.yaml" and out.read_bytes() == plan.root.body


FILE = (("EnvironmentName", "dev"), ("ApiImageTag", "bootstrap"), ("WebImageTag", "bootstrap"))


def test_a_new_stack_gets_the_parameter_file_as_is():
    assert deploy_parameters(FILE, None, {}) == ([{"ParameterKey": "EnvironmentName", "ParameterValue": "dev"},
                                                  {"ParameterKey": "ApiImageTag", "ParameterValue": "bootstrap"},
                                                  {"ParameterKey": "WebImageTag", "ParameterValue": "bootstrap"}], [])


def test_an_existing_stack_keeps_each_running_image_and_a_new_service_stays_bootstrap():
    params, notes = deploy_parameters(FILE, {"EnvironmentName": "dev", "ApiImageTag": "3f2a9c1"}, {})
    assert params[1:] == [{"ParameterKey": "ApiImageTag", "UsePreviousValue": True},
                          {"ParameterKey": "WebImageTag", "ParameterValue": "bootstrap"}]
    assert notes == ["ApiImageTag: keeping the running value '3f2a9c1' (the parameter file holds the first-deploy "
                     "placeholder 'bootstrap'; pass IMAGE_TAG=<tag> to change it)",
                     "WebImageTag: new to the stack, deployed as 'bootstrap' (no tasks until a release passes its "
                     "tag: the next pipeline run, or IMAGE_TAG=<tag>)"]


def test_a_service_still_in_bootstrap_stays_there_without_a_note():
    params, notes = deploy_parameters(FILE, {"ApiImageTag": "3f2a9c1", "WebImageTag": "bootstrap"}, {})
    assert params[2] == {"ParameterKey": "WebImageTag", "ParameterValue": "bootstrap"}
    assert [n for n in notes if n.startswith("WebImageTag")] == []


def test_a_stack_from_before_per_service_tags_keeps_its_single_image_tag_for_every_service():
    legacy = {"ImageTag": "3f2a9c1", "ApiExecEnabled": "true", "WebExecEnabled": "false"}
    params, notes = deploy_parameters(FILE, legacy, {})
    assert params[1:] == [{"ParameterKey": "ApiImageTag", "ParameterValue": "3f2a9c1"},
                          {"ParameterKey": "WebImageTag", "ParameterValue": "3f2a9c1"}]
    assert notes[0] == "ApiImageTag: taking the running ImageTag '3f2a9c1' (the stack predates per-service image tags)"
    # a service that did not run under it (new with this deploy) has no image yet
    params, notes = deploy_parameters(FILE, {"ImageTag": "3f2a9c1", "ApiExecEnabled": "true"}, {})
    assert params[2] == {"ParameterKey": "WebImageTag", "ParameterValue": "bootstrap"}
    assert notes[1].startswith("WebImageTag: new to the stack, deployed as 'bootstrap'")
    # a stack that was itself still in bootstrap stays there
    params, _ = deploy_parameters(FILE, {**legacy, "ImageTag": "bootstrap"}, {})
    assert params[1]["ParameterValue"] == "bootstrap"


def test_an_explicit_image_tag_wins_for_every_service_but_the_placeholder_is_refused_on_an_existing_stack():
    overrides = image_tag_overrides(FILE, "4b5c6d7")
    assert overrides == {"ApiImageTag": "4b5c6d7", "WebImageTag": "4b5c6d7"}
    params, _ = deploy_parameters(FILE, {"ApiImageTag": "3f2a9c1"}, overrides)
    assert params[1:] == [{"ParameterKey": "ApiImageTag", "ParameterValue": "4b5c6d7"},
                          {"ParameterKey": "WebImageTag", "ParameterValue": "4b5c6d7"}]
    assert image_tag_overrides(FILE, None) == {}
    with pytest.raises(DeployError, match="refusing ApiImageTag=bootstrap on the existing stack"):
        deploy_parameters(FILE, {"ApiImageTag": "3f2a9c1"}, image_tag_overrides(FILE, "bootstrap"))
    # on a new stack an explicit bootstrap is the first deploy
    params, _ = deploy_parameters(FILE, None, image_tag_overrides(FILE, "bootstrap"))
    assert params[1]["ParameterValue"] == "bootstrap"
    with pytest.raises(DeployError, match="the root template has no parameter ImageTag"):
        deploy_parameters((("EnvironmentName", "dev"),), None, {"ImageTag": "x"})
    with pytest.raises(DeployError, match="no <Service>ImageTag parameter"):
        image_tag_overrides((("EnvironmentName", "dev"),), "x")
