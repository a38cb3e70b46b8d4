"""The frontend in the pipeline (issue 14, item 4; docs/frontend.md, "Publishing the build"): built once per run by
the BuildFrontend action (a CodeBuild project, its output the artifact FrontendBuild), then published by every
environment's PublishFrontend action after that environment's Deploy, with the code of `make publish-frontend`
(scripts/deploylib/publish.py) through the environment's deploy role, whose grants reach only the site buckets and
invalidations. The default app (examples/tunecast) has `frontend.build`."""
from __future__ import annotations

import json

import boto3
import pytest
import yaml
from moto import mock_aws

from generator.build import render_app
from generator.config import load_app
from generator.pipeline import deploy_role, plan, quotas
from scripts.deploylib import publish
from tests.large_apps import large_pipeline_spec, parse_app
from tests.support import DEFAULT_APP
from tests.templates import load
from tests.test_publish_frontend import make_site

APP = load_app(DEFAULT_APP)
RENDERED = render_app(APP)


def stages() -> list[dict]:
    doc = load(RENDERED.templates["pipeline.yaml"])
    return next(r for r in doc["Resources"].values()
                if r["Type"] == "AWS::CodePipeline::Pipeline")["Properties"]["Stages"]


def actions_named(name: str) -> list[tuple[str, dict]]:
    return [(s["Name"], a) for s in stages() for a in s["Actions"] if a["Name"] == name]


def test_the_frontend_is_built_once_and_its_artifact_published_in_every_environment_after_its_deploy():
    builds = actions_named("BuildFrontend")
    assert len(builds) == 1
    stage, build = builds[0]
    assert stage == "Build"
    assert [a["Name"] for a in build["OutputArtifacts"]] == ["FrontendBuild"]
    assert build["ActionTypeId"]["Provider"] == "CodeBuild"
    publishes = actions_named("PublishFrontend")
    assert [s for s, _ in publishes] == ["DeployDev", "DeployStaging", "DeployProd"]
    for stage_name, publish_action in publishes:
        deployed = next(a for s, a in actions_named("Deploy") if s == stage_name)
        assert publish_action["RunOrder"] > deployed["RunOrder"]            # after the stack update
        assert [a["Name"] for a in publish_action["InputArtifacts"]] == ["Source", "FrontendBuild"]
        assert publish_action["Configuration"]["PrimarySource"] == "Source"
        releases = [a for s, a in [(s["Name"], a) for s in stages() for a in s["Actions"]]
                    if s == stage_name and a["ActionTypeId"]["Provider"] == "CodeDeployToECS"]
        assert all(publish_action["RunOrder"] < r["RunOrder"] for r in releases)


def test_each_publish_names_its_environments_stack_role_and_domains():
    for stage_name, action in actions_named("PublishFrontend"):
        env = stage_name.removeprefix("Deploy").lower()
        value = action["Configuration"]["EnvironmentVariables"]
        text, subs = value["Fn::Sub"] if isinstance(value, dict) else (value, {})
        variables = {v["name"]: v["value"] for v in json.loads(text)}
        assert variables["STACK_NAME"] == f"${{Application}}-{env}"
        assert variables["ENVIRONMENT"] == env
        assert variables["DEPLOY_ROLE_ARN"].endswith(":role/${Application}-pipeline-deploy")
        assert variables["FRONTEND_ARTIFACT"] == "FrontendBuild"
        expected = " ".join((APP.environments[env].frontend.domain_names if APP.environments[env].frontend else []))
        assert variables["SITE_DOMAINS"] == expected
    assert "tunecast.example.com" in dict((s, a) for s, a in actions_named("PublishFrontend"))["DeployProd"][
        "Configuration"]["EnvironmentVariables"]["Fn::Sub"][0]


def test_the_projects_build_in_the_frontend_directory_and_publish_with_the_same_code_as_make():
    builds = load(RENDERED.templates["pipeline-builds.yaml"])["Resources"]
    build = yaml.safe_load(builds["BuildFrontendProject"]["Properties"]["Source"]["BuildSpec"])
    assert build["phases"]["build"]["commands"][:2] == ["cd frontend", "npm ci && npm run build"]
    assert build["phases"]["install"]["runtime-versions"] == {"nodejs": "20"}
    assert build["artifacts"] == {"base-directory": "frontend/build", "files": ["**/*"]}
    spec = yaml.safe_load(builds["PublishFrontendProject"]["Properties"]["Source"]["BuildSpec"])
    run = spec["phases"]["build"]["commands"][-1]
    assert "AWS_PROFILE=deploy python3 -m scripts.deploylib.publish --stack" in run


def test_without_frontend_build_there_is_no_frontend_step():
    raw = large_pipeline_spec()
    raw["frontend"] = {"api_paths": []}
    kinds = {s.kind for st in plan.stages(parse_app(raw, "no-build")) for s in st.steps}
    assert not kinds & {plan.BUILD_FRONTEND, plan.PUBLISH_FRONTEND}


def test_fifty_services_and_the_frontend_build_still_fit_codepipelines_quotas():
    """The frontend's build joins the Build stages: with 50 services the 51 builds spread over two stages (at most
    50 actions in a stage), and the spec rule `pipeline_quotas` still finds nothing."""
    raw = large_pipeline_spec()
    raw["frontend"] = {"api_paths": [], "build": {"context": "web", "command": "npm run build", "output_dir": "dist"}}
    app = parse_app(raw, "large-frontend")
    planned = plan.stages(app)
    builds = [s for s in planned if s.name.startswith("Build")]
    assert [(s.name, len(s.steps)) for s in builds] == [("Build", 26), ("Build2", 25)]
    assert [s.name for s in builds[-1].steps][-1] == "BuildFrontend"
    assert sum(1 for s in planned for step in s.steps if step.kind == plan.BUILD_FRONTEND) == 1
    assert all(len(s.steps) <= plan.ACTIONS_PER_STAGE for s in planned)
    assert list(quotas.problems(app)) == []


def grants_by_sid() -> dict[str, dict]:
    doc = load(RENDERED.templates["deploy-role.yaml"])
    role = doc["Resources"]["DeployRole"]["Properties"]
    return {s["Sid"]: s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]}


def text(value) -> str:
    return value["Fn::Sub"] if isinstance(value, dict) and isinstance(value.get("Fn::Sub"), str) else json.dumps(value)


def test_the_deploy_role_may_publish_only_to_the_site_buckets_and_invalidate():
    grants = grants_by_sid()
    objects = [text(r) for r in grants["PublishSiteFiles"]["Resource"]]
    assert sorted(grants["PublishSiteFiles"]["Action"]) == ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"]
    assert objects == [f"arn:${{AWS::Partition}}:s3:::${{Application}}-{env}-site-*/*" for env in APP.environments]
    assert [text(r) for r in grants["ListSiteBuckets"]["Resource"]] == [
        f"arn:${{AWS::Partition}}:s3:::${{Application}}-{env}-site-*" for env in APP.environments]
    assert grants["InvalidateSite"]["Action"] == ["cloudfront:CreateInvalidation"]
    assert text(grants["InvalidateSite"]["Resource"][0] if isinstance(grants["InvalidateSite"]["Resource"], list)
                else grants["InvalidateSite"]["Resource"]) == \
        "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/*"
    # the stack's outputs: DescribeStacks on the environment's stacks only
    assert "cloudformation:DescribeStacks" in grants["DeployAppStacks"]["Action"]


def test_without_frontend_build_the_deploy_role_has_no_site_grants():
    raw = large_pipeline_spec()
    assert deploy_role._publish_frontend(parse_app(raw, "plain")) == []


@mock_aws
def test_the_pipelines_publish_reads_the_stack_outputs_and_publishes(tmp_path, capsys):
    """scripts/deploylib/publish.py's main, as the PublishFrontend buildspec runs it: outputs by DescribeStacks
    (botocore's Stubber: moto's CloudFormation cannot create the frontend's CloudFront types), S3 and CloudFront
    in moto."""
    from botocore.stub import Stubber
    session = boto3.session.Session(region_name="us-east-1")
    s3, cloudfront = session.client("s3"), session.client("cloudfront")
    bucket = "shop-dev-site-0123456789ab"
    distribution = make_site(s3, cloudfront, bucket)
    cfn = session.client("cloudformation")
    stub = Stubber(cfn)
    outputs = {"FrontendSiteBucketName": bucket, "FrontendDistributionId": distribution,
               "FrontendDistributionDomainName": "d111111abcdef8.cloudfront.net"}
    stub.add_response("describe_stacks", {"Stacks": [{
        "StackName": "shop-dev", "CreationTime": "2026-01-01T00:00:00Z", "StackStatus": "UPDATE_COMPLETE",
        "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()]}]}, {"StackName": "shop-dev"})
    stub.activate()

    class Session:
        def client(self, name):
            return {"cloudformation": cfn, "s3": s3, "cloudfront": cloudfront}[name]

    (tmp_path / "index.html").write_text("<html></html>")
    assert publish.main(["--stack", "shop-dev", "--env", "dev", "--dir", str(tmp_path),
                         "--domain", "shop.example.com"], session=Session()) == 0
    config = json.loads(s3.get_object(Bucket=bucket, Key="config.json")["Body"].read())
    assert config == {"environment": "dev", "siteUrl": "https://shop.example.com", "apiUrl": "https://shop.example.com"}
    assert s3.head_object(Bucket=bucket, Key="index.html")["CacheControl"] == "no-cache"
    assert "Invalidated: /config.json, /index.html" in capsys.readouterr().out


def test_the_pipelines_publish_fails_with_one_line_when_the_stack_lacks_the_frontend(tmp_path, capsys):
    from botocore.stub import Stubber
    cfn = boto3.client("cloudformation", region_name="us-east-1")
    stub = Stubber(cfn)
    stub.add_response("describe_stacks", {"Stacks": [{
        "StackName": "shop-dev", "CreationTime": "2026-01-01T00:00:00Z", "StackStatus": "UPDATE_COMPLETE"}]})
    stub.activate()

    class Session:
        def client(self, name):
            return cfn

    assert publish.main(["--stack", "shop-dev", "--env", "dev", "--dir", str(tmp_path)], session=Session()) == 2
    assert capsys.readouterr().err.startswith("publish-frontend: stack shop-dev has no FrontendSiteBucketName")
