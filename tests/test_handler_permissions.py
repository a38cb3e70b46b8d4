"""The gate's handler-permission check (generator/lint/handler_permissions.py, issue #8 item 2).

CloudFormation runs each resource type's handlers with the stack's role; each handler declares the actions it calls
in the type's registry schema (`handlers.{create,read,update,delete}.permissions`), bundled with the pinned cfn-lint
(`cfnlint/data/schemas/providers/<region>.json` maps a type to the hash of `resources/<hash>.json`). A create or
update ends with the read handler, so a missing read action fails the resource (aws-reference §8). Target tracking
creates its `TargetTracking-*` alarms with the caller's rights (Doc: "IAM permissions required for Amazon ECS service
auto scaling", https://docs.aws.amazon.com/AmazonECS/latest/developerguide/auto-scaling-IAM.html).
"""
from __future__ import annotations

import copy
import json

import pytest

from generator import cfnyaml
from generator.build import render_app
from generator.config import load_app
from generator.lint import gate
from generator.lint import handler_permissions as hp
from generator.pipeline import DEPLOYERS
from tests.support import DEFAULT_APP, DEFAULT_TEMPLATES, ROOT, every_store_app

APP = load_app(DEFAULT_APP)
RENDERED = render_app(APP)
TEMPLATES = {name: cfnyaml.loads(text) for name, text in RENDERED.templates.items() if name.endswith(".yaml")}
ENV, PIPE = DEPLOYERS
# every data store type, for the allow-list entries of the types the default app does not create
STORE_TEMPLATES = {name: cfnyaml.loads(text) for name, text in render_app(every_store_app()).templates.items()
                   if name.endswith(".yaml")}


def statements(template: str, role: str) -> dict[str, dict]:
    return {s["Sid"]: s for s in hp.role_statements(TEMPLATES[template], role)}


def without(action: str, template: str, role: str) -> dict[str, dict]:
    """The templates with `action` removed from every statement of the role."""
    changed = copy.deepcopy(TEMPLATES)
    for st in hp.role_statements(changed[template], role):
        st["Action"] = [a for a in st["Action"] if a != action]
    return changed


def test_the_schema_layout_is_what_the_check_reads():
    provider = json.loads((hp.SCHEMAS / "providers" / f"{APP.region}.json").read_text())
    digest = provider["AWS::Logs::LogGroup"]
    schema = json.loads((hp.SCHEMAS / "resources" / f"{digest}.json").read_text())
    assert schema["typeName"] == "AWS::Logs::LogGroup"
    assert "logs:DescribeLogGroups" in schema["handlers"]["read"]["permissions"]
    assert hp.handler_permissions(APP.region, "AWS::Logs::LogGroup")["read"] == tuple(
        schema["handlers"]["read"]["permissions"])
    assert hp.handler_permissions(APP.region, "AWS::Nope::Nothing") is None


def test_the_roles_allow_every_action_of_every_data_store_type():
    for deployer in DEPLOYERS:
        result = hp.evaluate(STORE_TEMPLATES, deployer, APP.region)
        assert result.problems == () and result.missing == (), deployer
    types = {r["Type"] for t in STORE_TEMPLATES.values() for r in t.get("Resources", {}).values()}
    assert {"AWS::ElastiCache::ReplicationGroup", "AWS::DynamoDB::Table", "AWS::EFS::FileSystem",
            "AWS::EFS::AccessPoint", "AWS::SQS::QueuePolicy", "AWS::SecretsManager::Secret"} <= types


def test_both_cloudformation_roles_allow_every_action_their_templates_handlers_declare():
    for deployer in DEPLOYERS:
        result = hp.evaluate(TEMPLATES, deployer, APP.region)
        assert result.problems == () and result.missing == (), deployer
        assert len(result.needs) > 300 and result.allow_listed, deployer
    assert gate.handler_permissions(DEFAULT_TEMPLATES, "templates_out", APP.region, DEPLOYERS) == []


def test_a_missing_action_fails_the_build_naming_the_type_the_action_and_the_file():
    changed = without("logs:GetDataProtectionPolicy", "deploy-role.yaml", "CloudFormationRole")
    assert hp.check(changed, "templates_out", APP.region, DEPLOYERS) == [
        "templates_out/deploy-role.yaml: CloudFormationRole does not allow logs:GetDataProtectionPolicy, which the "
        "AWS::Logs::LogGroup create/read/update handler needs (network.yaml); grant it in "
        "generator/components/shared.py (logs_keys_buckets, the cfn_grants of AWS::Logs::LogGroup) or allow-list it "
        "with its reason in generator/lint/handler_permissions.py"]
    changed = without("kms:RetireGrant", "pipeline-roles.yaml", "PipelineStackRole")
    assert [line.split(", which")[0] for line in hp.check(changed, "t", APP.region, DEPLOYERS)] == [
        "t/pipeline-roles.yaml: PipelineStackRole does not allow kms:RetireGrant"]


def test_the_gate_refuses_a_build_whose_role_misses_a_handler_action(tmp_path):
    staged = tmp_path / "templates_out"
    staged.mkdir()
    for name, text in RENDERED.templates.items():
        if name.endswith(".yaml"):
            (staged / name).write_text(text.replace("- ecs:StopServiceDeployment\n", ""))
    found = gate.handler_permissions(staged, "templates_out", APP.region, DEPLOYERS)
    assert [line.split(" (")[0] for line in found] == [
        "templates_out/deploy-role.yaml: CloudFormationRole does not allow ecs:StopServiceDeployment, which the "
        "AWS::ECS::Service update handler needs"]


def test_wildcards_and_case_are_honoured_and_an_unconditional_deny_removes():
    allowed = hp.Allowed([
        {"Effect": "Allow", "Action": ["ec2:Describe*", "S3:getbucket?cl"], "Resource": "*"},
        {"Effect": "Allow", "Action": "logs:*", "Resource": "*"},
        {"Effect": "Deny", "Action": ["logs:DeleteLogGroup"], "Resource": "*"},
        {"Effect": "Deny", "Action": ["ec2:DescribeVpcs"], "Resource": "arn:aws:ec2:*:*:vpc/vpc-1"},  # scoped: no
    ])
    assert "ec2:DescribeVpcs" in allowed and "ec2:describesubnets" in allowed
    assert "s3:GetBucketAcl" in allowed and "s3:GetBucketTagging" not in allowed
    assert "logs:CreateLogGroup" in allowed and "logs:DeleteLogGroup" not in allowed
    assert "ec2:CreateVpc" not in allowed


def test_a_read_handler_action_is_never_excused_by_the_allow_list(monkeypatch):
    monkeypatch.setitem(hp.ALLOW_LIST, ("AWS::SNS::Topic", "sns:GetDataProtectionPolicy"), "pretend")
    changed = without("sns:GetDataProtectionPolicy", "pipeline-roles.yaml", "PipelineStackRole")
    missing = hp.evaluate(changed, PIPE, APP.region).missing
    assert {(n.handler, n.action) for n in missing} == {("read", "sns:GetDataProtectionPolicy"),
                                                          ("update", "sns:GetDataProtectionPolicy")} - {
        ("update", "sns:GetDataProtectionPolicy")}


def test_every_allow_list_entry_is_needed_an_iam_action_not_read_and_not_granted():
    """A stale entry fails: its type is no longer emitted, its schema no longer declares it, it is a read action,
    cfn-lint does not know it as an IAM action, or a role that deploys the type grants it after all."""
    results = [hp.evaluate(templates, d, APP.region) for templates in (TEMPLATES, STORE_TEMPLATES) for d in DEPLOYERS]
    used = {(n.resource_type, n.action) for r in results for n in r.allow_listed}
    for (rtype, action), reason in hp.ALLOW_LIST.items():
        perms = hp.handler_permissions(APP.region, rtype)
        assert perms is not None, rtype
        assert action in {*perms["create"], *perms["update"], *perms["delete"]}, (rtype, action)
        assert action not in perms["read"], (rtype, action)
        assert hp.is_iam_action(action), (rtype, action)
        assert len(reason) > 15, (rtype, action)
        assert (rtype, action) in used, f"{rtype} {action}: not needed by any template (or granted after all)"


def test_actions_no_policy_can_grant_are_listed_not_required():
    """Handler entries that are not IAM actions (an S3 log-operation name, a typo) cannot be granted: cfn-lint's
    W3037 refuses them in a policy. They are reported as unverifiable, never as missing; the S3 API names that S3
    authorizes with another action are mapped to it (S3 API reference, DeleteBucketCors: "you must have permission
    to perform the s3:PutBucketCORS action")."""
    result = hp.evaluate(TEMPLATES, ENV, APP.region)
    not_iam = {n.action for n in result.not_iam}
    assert "s3:REST.PUT.OBJECT" in not_iam
    assert not any(a.startswith("s3:DeleteBucketCors") for a in not_iam)
    needs = {(n.resource_type, n.action) for n in result.needs}
    assert ("AWS::S3::Bucket", "s3:PutBucketCORS") in needs    # from the update handler's s3:DeleteBucketCors
    assert all(not hp.is_iam_action(a) for a in not_iam)


def test_documented_needs_beyond_the_schemas_are_checked():
    """Target tracking's alarms and the ECS calls of RegisterScalableTarget are not in any handler's list."""
    needs = {(n.resource_type, n.handler, n.action) for n in hp.evaluate(TEMPLATES, ENV, APP.region).needs}
    assert {("AWS::ApplicationAutoScaling::ScalingPolicy", "create", "cloudwatch:PutMetricAlarm"),
            ("AWS::ApplicationAutoScaling::ScalingPolicy", "delete", "cloudwatch:DeleteAlarms"),
            ("AWS::ApplicationAutoScaling::ScalableTarget", "create", "ecs:UpdateService")} <= needs
    alarms = statements("deploy-role.yaml", ENV.role)["ManageTargetTrackingAlarms"]
    assert sorted(alarms["Action"]) == ["cloudwatch:DeleteAlarms", "cloudwatch:DescribeAlarms",
                                        "cloudwatch:PutMetricAlarm"]
    assert [r["Fn::Sub"] for r in alarms["Resource"]] == [
        f"arn:${{AWS::Partition}}:cloudwatch:${{AWS::Region}}:${{AWS::AccountId}}:alarm:TargetTracking-service/"
        f"${{Application}}-{env}/*" for env in APP.environments]


def test_the_actions_the_issue_names_are_granted_where_they_apply():
    """Direct assertions for the actions issue #8 found missing (the general check above also covers them)."""
    env = {a for s in statements("deploy-role.yaml", ENV.role).values() for a in s["Action"]}
    assert {"logs:DescribeLogGroups", "logs:ListTagsForResource", "codedeploy:GetDeploymentGroup",
            "codedeploy:ListDeployments", "codedeploy:GetDeployment", "s3:GetBucketCORS", "s3:GetBucketWebsite",
            "ecs:StopServiceDeployment", "cloudformation:SetStackPolicy",
            "cloudformation:UpdateTerminationProtection"} <= env
    stack = {a for s in statements("pipeline-roles.yaml", PIPE.role).values() for a in s["Action"]}
    assert {"kms:RetireGrant", "cloudformation:SetStackPolicy", "cloudformation:GetStackPolicy",
            "cloudformation:UpdateTerminationProtection", "sns:GetDataProtectionPolicy",
            "lambda:GetFunctionScalingConfig", "s3:GetBucketLogging", "logs:DescribeLogGroups"} <= stack


def test_both_roles_pass_themselves_to_their_nested_stacks_only():
    """The AWS::CloudFormation::Stack handlers declare iam:PassRole: CloudFormation hands the stack's role on to each
    nested stack (seen as `not authorized to perform: iam:PassRole on resource: <the execution role>` in
    aws-samples/sample-autonomous-cloud-coding-agents#865)."""
    for deployer, name in ((ENV, "${Application}-cloudformation"), (PIPE, "${Application}-pipeline-stack")):
        passed = statements(deployer.role_template, deployer.role)["PassSelfToNestedStacks"]
        assert [r["Fn::Sub"] for r in passed["Resource"]] == [f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/{name}"]
        assert passed["Condition"] == {"StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}}


def test_an_unknown_type_or_an_unexpanded_transform_is_a_finding_not_a_pass():
    tree = {"root.yaml": {"Resources": {
        "X": {"Type": "AWS::Nope::Nothing"},
        "F": {"Type": "AWS::Serverless::Function", "Properties": {"Events": {}, "CodeUri": "."}},
        "C": {"Type": "AWS::CodeBuild::Project"}}}}
    needs, problems = hp.needs(tree, "root.yaml", APP.region)
    assert problems == [
        "root.yaml: AWS::Nope::Nothing has no registry schema for eu-west-1 in the pinned cfn-lint, so the role's "
        "rights for it cannot be checked",
        "root.yaml: AWS::Serverless::Function with Events: the transform then creates more than "
        "AWS::Lambda::Function; teach generator/lint/handler_permissions.py what it creates"]
    assert {n.resource_type for n in needs} == {"AWS::Lambda::Function"}    # CodeBuild: UNDECLARED, no handlers


def test_nested_templates_are_followed_and_each_need_names_its_template():
    needs = hp.evaluate(TEMPLATES, ENV, APP.region).needs
    where = {n.resource_type: n.template for n in needs}
    assert where["AWS::EC2::VPC"] == "network.yaml" and where["AWS::ECS::Service"].startswith("service-")
    assert where["AWS::CloudFormation::Stack"] == "root.yaml"
    assert "AWS::CodePipeline::Pipeline" not in where       # the pipeline's templates are the other role's


@pytest.mark.parametrize("deployer", DEPLOYERS, ids=lambda d: d.template)
def test_each_deployer_points_at_a_real_role(deployer):
    resource = TEMPLATES[deployer.role_template]["Resources"][deployer.role]
    assert resource["Type"] == "AWS::IAM::Role"
    assert (ROOT / deployer.source).exists()
