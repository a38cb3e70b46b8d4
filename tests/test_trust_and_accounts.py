"""Trust policies depend only on condition keys the service is documented to send, and the pipeline template's account
parameters accept only the accounts its bucket and key policies admit (issue #8, item 10).

- CodeDeploy: the Amazon ECS developer guide's CodeDeploy role ("Amazon ECS CodeDeploy IAM role",
  https://docs.aws.amazon.com/AmazonECS/latest/developerguide/codedeploy_IAM_role.html) trusts
  `codedeploy.amazonaws.com` without conditions, and `aws:SourceAccount` is not documented as sent by CodeDeploy: a
  condition on it would deny CodeDeploy's AssumeRole and every release would fail (aws-reference §8). The same holds
  for CloudFormation's service role ("AWS CloudFormation service role",
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-iam-servicerole.html), CodePipeline's and
  Lambda's execution roles, whose pages show no condition either.
- Where the service's page shows the key in the trust policy it stays (generator/policies/common.py, each with its
  page): VPC flow logs, Step Functions, EventBridge Scheduler, CodeBuild, ECS tasks.
"""
from __future__ import annotations

import json

from troposphere import encode_to_dict
from generator import root
from generator.build import render_app
from generator.config import load_app
from generator.pipeline import common, storage
from generator.policies import assume_role
from generator.policies.common import SOURCE_ACCOUNT_DOCUMENTED
from tests.support import DEFAULT_APP
from tests.templates import load

APP = load_app(DEFAULT_APP)
RENDERED = render_app(APP)
SOURCE_ACCOUNT = {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}


def trust(document) -> dict:
    statement, = encode_to_dict(document)["Statement"]
    return statement


def test_codedeploy_and_cloudformation_trusts_have_no_condition_the_service_may_not_send():
    for service in ("codedeploy.amazonaws.com", "cloudformation.amazonaws.com", "codepipeline.amazonaws.com",
                    "lambda.amazonaws.com"):
        assert service not in SOURCE_ACCOUNT_DOCUMENTED
        assert "Condition" not in trust(assume_role(service)), service
    for service, page in SOURCE_ACCOUNT_DOCUMENTED.items():
        assert page.startswith("https://docs.aws.amazon.com/")
        assert trust(assume_role(service))["Condition"] == SOURCE_ACCOUNT, service


def test_every_generated_role_trusts_as_its_service_is_documented():
    seen = {}
    for name, text in RENDERED.templates.items():
        if not name.endswith(".yaml"):
            continue
        for lid, resource in (load(text).get("Resources") or {}).items():
            if resource["Type"] != "AWS::IAM::Role" or name == "access.yaml":
                continue    # the access roles trust people (tests/test_access.py)
            statement, = resource["Properties"]["AssumeRolePolicyDocument"]["Statement"]
            service = statement["Principal"].get("Service", [None])[0]
            if service is None:
                continue    # the deploy role trusts the pipeline account's roles (aws:PrincipalArn)
            seen[f"{name}:{lid}"] = service
            assert statement.get("Condition") == (SOURCE_ACCOUNT if service in SOURCE_ACCOUNT_DOCUMENTED else None), \
                (name, lid)
    assert seen["service-api.yaml:CodeDeployRole"] == "codedeploy.amazonaws.com"
    assert seen["deploy-role.yaml:CloudFormationRole"] == "cloudformation.amazonaws.com"
    assert {"ecs-tasks.amazonaws.com", "vpc-flow-logs.amazonaws.com", "states.amazonaws.com",
            "scheduler.amazonaws.com", "codebuild.amazonaws.com"} <= set(seen.values())


def test_the_pipeline_accepts_only_the_accounts_its_bucket_and_key_policies_admit():
    pipeline = load(RENDERED.templates["pipeline.yaml"])
    params = pipeline["Parameters"]
    admitted = sorted(APP.account_of(t.env) for t in common.distinct_accounts(APP))
    for env in APP.environments:
        allowed = params[common.account_parameter(env)]["AllowedValues"]
        assert allowed == [APP.account_of(env)], env
        assert allowed[0] in admitted
    # the policies admit exactly those accounts' roots (by parameter), one principal per account
    roots, _ = storage.environment_roles(APP)
    assert len(roots) == len(admitted) == 2
    deploy = load(RENDERED.templates["deploy-role.yaml"])["Parameters"]["PipelineAccountId"]
    assert deploy["AllowedValues"] == [APP.pipeline.account_id]


def test_the_parameter_gate_refuses_another_account(tmp_path):
    from generator.lint import gate
    from generator.pipeline import PARAMETER_FILES
    files = {"pipeline.json": json.loads(RENDERED.params["pipeline.json"])}
    for item in files["pipeline.json"]:
        if item["ParameterKey"] == "ProdAccountId":
            item["ParameterValue"] = "333333333333"
    (tmp_path / "pipeline.json").write_text(json.dumps(files["pipeline.json"]))
    found = gate.parameter_files(tmp_path, "params", {"*": root.build(APP).parameters,
                                                      "pipeline": PARAMETER_FILES["pipeline"](APP)})
    assert found == ["params/pipeline.json: ProdAccountId='333333333333' is not one of 222222222222"]
