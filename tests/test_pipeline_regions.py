"""An app with a pipeline and an environment in another region (generator/pipeline/regions.py; docs/pipeline.md,
"Environments in other regions").

Facts the design rests on (AWS CloudFormation reference):
- AWS::CodePipeline::Pipeline ArtifactStoreMap: "There must be an artifact store for the pipeline Region and for each
  cross-region action in the pipeline ... You must include either artifactStore or artifactStores in your pipeline,
  but you cannot use both. If you create a cross-region action in your pipeline, you must use artifactStores."
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-codepipeline-pipeline-artifactstoremap.html
- AWS::CodePipeline::Pipeline EncryptionKey: "Aliases are recognized only in the account that created the AWS KMS
  key. For cross-account actions, you can only use the key ID or key ARN" (so app.yaml names the key ARN).
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-codepipeline-pipeline-encryptionkey.html
- ActionDeclaration `Region`: "The action declaration's AWS Region, such as us-east-1."
moto has no CodePipeline or CodeBuild (docs/verification.md), so these are structural checks plus cfn-lint and checkov.
"""
from __future__ import annotations

import copy
import json

import pytest
import yaml

from generator import buildspecs
from generator.build import render_app
from generator.config import parse_app
from generator.pipeline import common, regions
from tests.support import ROOT

KEY = "arn:aws:kms:us-east-1:111111111111:key/0f1e2d3c-4b5a-4697-8877-665544332211"


def _raw() -> dict:
    raw = yaml.safe_load((ROOT / "tests/fixtures/apps/spa-api.yaml").read_text())
    raw = copy.deepcopy(raw)
    prod = raw["environments"]["production"]
    prod["region"] = "us-east-1"
    prod["certificate_arn"] = prod["certificate_arn"].replace("eu-west-1", "us-east-1")
    raw["frontend"] = {"build": {"context": "web", "command": "npm ci && npm run build", "output_dir": "dist"}}
    raw["pipeline"]["artifact_keys"] = {"us-east-1": KEY}
    return raw


@pytest.fixture(scope="module")
def rendered():
    app = parse_app(_raw())
    return app, render_app(app)


def _cfn(text: str) -> dict:
    from cfnlint.decode.cfn_yaml import loads
    return loads(text)


def _pipeline(rendered) -> dict:
    return _cfn(rendered[1].templates["pipeline.yaml"])["Resources"]["Pipeline"]["Properties"]


def _actions(rendered) -> dict[tuple[str, str], dict]:
    return {(s["Name"], a["Name"]): a for s in _pipeline(rendered)["Stages"] for a in s["Actions"]}


def test_one_artifact_store_per_region_the_pipelines_own_first(rendered):
    props = _pipeline(rendered)
    assert "ArtifactStore" not in props
    home, other = props["ArtifactStores"]
    assert home == {"Region": {"Ref": "AWS::Region"}, "ArtifactStore": {
        "Type": "S3", "Location": {"Ref": "ArtifactBucket"},
        "EncryptionKey": {"Id": {"Fn::GetAtt": ["PipelineKey", "Arn"]}, "Type": "KMS"}}}
    assert other["Region"] == "us-east-1"
    assert other["ArtifactStore"]["Location"] == {"Fn::Sub": "${Application}-pipeline-${AWS::AccountId}-us-east-1"}
    assert other["ArtifactStore"]["EncryptionKey"] == {"Id": {"Ref": "ArtifactKeyUsEast1"}, "Type": "KMS"}
    # the key ARN is a parameter allowing exactly app.yaml's value
    parameter = _cfn(rendered[1].templates["pipeline.yaml"])["Parameters"]["ArtifactKeyUsEast1"]
    assert parameter["AllowedValues"] == [KEY]
    assert json.loads(rendered[1].params["pipeline.json"])[-1] == {"ParameterKey": "ArtifactKeyUsEast1",
                                                                    "ParameterValue": KEY}


def test_a_single_region_pipeline_keeps_its_one_artifact_store():
    raw = yaml.safe_load((ROOT / "tests/fixtures/apps/spa-api.yaml").read_text())
    app = parse_app(raw)
    assert common.other_regions(app) == []
    assert set(regions.artifact_store(app, "B", "K")) == {"ArtifactStore"}


def test_actions_in_the_other_region_declare_it_and_the_rest_stay_home(rendered):
    acts = _actions(rendered)
    deploy, release = acts[("DeployProduction", "Deploy")], acts[("DeployProduction", "ReleaseApi")]
    assert deploy["Region"] == "us-east-1" and release["Region"] == "us-east-1"
    assert deploy["Configuration"]["TemplatePath"] == "Templates::packaged/us-east-1/root.yaml"
    assert acts[("DeployStaging", "Deploy")]["Configuration"]["TemplatePath"] == "Templates::packaged/root.yaml"
    assert "Region" not in acts[("DeployStaging", "Deploy")]
    # CodeBuild steps run where their projects are and reach the region through the deploy role's profile
    for name in ("Promote", "PublishFrontend", "ProtectNestedStacks", "PrepareRelease"):
        a = acts[("DeployProduction", name)]
        assert "Region" not in a, name
        variables = {v["name"]: v["value"] for v in json.loads(a["Configuration"]["EnvironmentVariables"]["Fn::Sub"][0]
                                                               if isinstance(a["Configuration"]["EnvironmentVariables"], dict)
                                                               else a["Configuration"]["EnvironmentVariables"])}
        assert variables["TARGET_REGION"] == "us-east-1", name
    promote = acts[("DeployProduction", "Promote")]["Configuration"]["EnvironmentVariables"]["Fn::Sub"][0]
    assert '"TARGET_REGISTRY","value":"${Account}.dkr.ecr.us-east-1.${AWS::URLSuffix}"' in promote
    staging = acts[("DeployStaging", "Promote")]["Configuration"]["EnvironmentVariables"]["Fn::Sub"][0]
    assert "TARGET_REGION" not in staging and "dkr.ecr.${AWS::Region}" in staging


def _policy(template: dict, role: str) -> dict[str, dict]:
    statements = template["Resources"][role]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    return {s["Sid"]: s for s in statements}


def test_pipeline_and_self_update_roles_use_the_other_regions_store(rendered):
    roles = _cfn(rendered[1].templates["pipeline-roles.yaml"])
    for role in ("PipelineRole", "SelfUpdateRole"):
        grants = _policy(roles, role)
        assert grants["RegionalArtifacts"]["Resource"] == [
            {"Fn::Sub": "arn:${AWS::Partition}:s3:::${Application}-pipeline-${AWS::AccountId}-us-east-1/*"}]
        assert "s3:PutObject" in grants["RegionalArtifacts"]["Action"]
        assert grants["UseRegionalArtifactKeys"]["Resource"] == [{"Ref": "ArtifactKeyUsEast1"}]
    builds = _cfn(rendered[1].templates["pipeline-builds.yaml"])["Resources"]
    variables = {v["Name"]: v["Value"] for v in builds["SelfUpdateProject"]["Properties"]["Environment"]
                 ["EnvironmentVariables"]} if "SelfUpdateProject" in builds else None
    if variables is None:
        variables = next({v["Name"]: v["Value"] for v in r["Properties"]["Environment"]["EnvironmentVariables"]}
                         for r in builds.values() if r["Type"] == "AWS::CodeBuild::Project"
                         and "self-update" in json.dumps(r["Properties"]["Name"]))
    assert variables["REGIONAL_BUCKETS"] == {"Fn::Sub": "us-east-1=${Application}-pipeline-${AWS::AccountId}-us-east-1"}


def test_target_account_roles_read_the_artifacts_of_every_region(rendered):
    deploy = _cfn(rendered[1].templates["deploy-role.yaml"])
    text = json.dumps(deploy)
    for region in ("eu-west-1", "us-east-1"):
        assert f"${{Application}}-pipeline-${{PipelineAccountId}}-{region}/*" in text
        assert f"arn:${{AWS::Partition}}:kms:{region}:${{PipelineAccountId}}:key/*" in text
        assert f"s3.{region}.amazonaws.com" in text


def test_support_stack_is_a_bucket_and_key_readable_only_by_the_target_accounts_roles(rendered):
    t = _cfn(rendered[1].templates[regions.SUPPORT_TEMPLATE])
    res = t["Resources"]
    assert {r["Type"] for r in res.values()} == {"AWS::KMS::Key", "AWS::KMS::Alias", "AWS::S3::Bucket",
                                                 "AWS::S3::BucketPolicy"}
    assert res["ArtifactBucket"]["Properties"]["BucketName"] == {
        "Fn::Sub": "${Application}-pipeline-${AWS::AccountId}-${AWS::Region}"}
    assert res["ArtifactBucket"]["DeletionPolicy"] == "RetainExceptOnCreate"   # stateful.protect
    key_statements = {s["Sid"]: s for s in res["ArtifactKey"]["Properties"]["KeyPolicy"]["Statement"]}
    read = key_statements["EnvironmentRolesReadArtifacts"]
    assert read["Principal"] == {"AWS": {"Ref": "TargetAccountIds"}}
    assert read["Condition"] == {"ArnLike": {"aws:PrincipalArn": [
        {"Fn::Sub": "arn:${AWS::Partition}:iam::*:role/${Application}-pipeline-deploy"},
        {"Fn::Sub": "arn:${AWS::Partition}:iam::*:role/${Application}-cloudformation"}]}}
    assert t["Outputs"]["KeyArn"]["Value"] == {"Fn::GetAtt": ["ArtifactKey", "Arn"]}
    assert json.loads(rendered[1].params["pipeline-support.json"])[-1] == {
        "ParameterKey": "TargetAccountIds", "ParameterValue": "111111111111,222222222222"}


def test_self_update_packages_the_root_again_for_each_other_region():
    doc = yaml.safe_load(buildspecs.render("self_update", python_version="3.11", s3_prefix="parcels/templates"))
    text = "\n".join(doc["phases"]["build"]["commands"])
    assert 'aws cloudformation package --region "$region" --template-file templates_out/root.yaml' in text
    assert '--output-template-file "packaged/$region/root.yaml"' in text
    assert doc["artifacts"]["files"][0] == "packaged/**/*"
