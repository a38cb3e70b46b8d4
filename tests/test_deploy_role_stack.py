"""deploy-role.yaml (one per target account) for the default app: trusted only by the pipeline account's pipeline
roles, least privilege for releasing there; and a rehearsal of the IAM templates in moto (slow).

IAM evaluation itself (does the role really get AccessDenied where it should) cannot be shown offline;
tests/test_pipeline_iam.py checks every action and its resource scoping against the IAM reference data instead.
"""
from __future__ import annotations

import json

import pytest

from generator.build import render_app
from generator.config import load_app
from generator.pipeline import environment_permissions, permissions
from tests.support import DEFAULT_APP
from tests.templates import load

APP = load_app(DEFAULT_APP)
RENDERED = render_app(APP)
DEPLOY = load(RENDERED.templates["deploy-role.yaml"])
ROLES = load(RENDERED.templates["pipeline-roles.yaml"])
RES = DEPLOY["Resources"]


def sub_text(value):
    if isinstance(value, dict) and "Fn::Sub" in value:
        sub = value["Fn::Sub"]
        return sub if isinstance(sub, str) else sub[0]
    return value


def grants(role_props: dict) -> dict[str, dict]:
    return {s["Sid"]: s for p in role_props["Policies"] for s in p["PolicyDocument"]["Statement"]}


def cloudformation_statements() -> list[dict]:
    return [s for lid, r in RES.items() if r["Type"] == "AWS::IAM::ManagedPolicy"
            for s in r["Properties"]["PolicyDocument"]["Statement"]]


def test_parameters_come_from_app_yaml_and_are_the_same_for_every_account():
    values = {i["ParameterKey"]: i["ParameterValue"] for i in json.loads(RENDERED.params["deploy-role.json"])}
    assert values == {"Application": "tunecast", "Owner": "platform-team", "PipelineAccountId": "111111111111"}
    assert DEPLOY["Parameters"]["Application"]["AllowedValues"] == ["tunecast"]


def test_the_deploy_role_trusts_only_the_pipeline_accounts_pipeline_roles():
    props = RES["DeployRole"]["Properties"]
    assert sub_text(props["RoleName"]) == "${Application}-pipeline-deploy"
    trust, = props["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Effect"] == "Allow" and trust["Action"] == ["sts:AssumeRole"]
    assert trust["Principal"] == {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${PipelineAccountId}:root"}}
    assert [sub_text(a) for a in trust["Condition"]["ArnEquals"]["aws:PrincipalArn"]] == [
        f"arn:${{AWS::Partition}}:iam::${{PipelineAccountId}}:role/${{Application}}-{r}"
        for r in ("pipeline", "pipeline-release", "pipeline-reroute")]
    # ... and exactly those pipeline roles may assume it
    assumers = {lid for lid, r in ROLES["Resources"].items() if r["Type"] == "AWS::IAM::Role"
                for p in r["Properties"].get("Policies", []) for s in p["PolicyDocument"]["Statement"]
                if "sts:AssumeRole" in s["Action"]}
    assert assumers == {"PipelineRole", "ReleaseRole", "RerouteRole"}


def test_the_pipeline_roles_assume_exactly_the_environments_deploy_roles():
    def targets(role: str) -> list:
        st = grants(ROLES["Resources"][role]["Properties"])["ActInEnvironmentAccounts"]
        return [r["Fn::Sub"][1]["Account"]["Ref"] for r in st["Resource"]]
    assert targets("PipelineRole") == targets("ReleaseRole") == ["DevAccountId", "StagingAccountId", "ProdAccountId"]
    assert targets("RerouteRole") == ["StagingAccountId", "ProdAccountId"]   # only where releases wait


def test_the_deploy_role_releases_only_this_apps_environments():
    g = grants(RES["DeployRole"]["Properties"])
    stacks = [sub_text(r) for r in g["DeployAppStacks"]["Resource"]]
    assert stacks == [f"arn:${{AWS::Partition}}:cloudformation:${{AWS::Region}}:${{AWS::AccountId}}:stack/"
                      f"${{Application}}-{env}/*" for env in APP.environments]
    assert "cloudformation:DeleteStack" not in g["DeployAppStacks"]["Action"], "a release never deletes a stack"
    assert g["PassCloudFormationRole"]["Condition"] == {"StringEquals": {
        "iam:PassedToService": "cloudformation.amazonaws.com"}}
    assert [sub_text(r) for r in g["PassCloudFormationRole"]["Resource"]] == [
        "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${Application}-cloudformation"]
    assert g["PassTaskRoles"]["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}
    assert all(sub_text(r).endswith(("-dev-*", "-staging-*", "-prod-*")) for r in g["PushReleaseImages"]["Resource"])
    anywhere = sorted(a for s in g.values() if s["Resource"] == ["*"] for a in s["Action"])
    # ContinueDeployment and StopDeployment (a failed gate stops the held release) have no resource type in IAM
    assert anywhere == ["cloudformation:ValidateTemplate", "codedeploy:ContinueDeployment", "codedeploy:StopDeployment",
                        "ecr:GetAuthorizationToken", "ecs:DescribeTaskDefinition", "ecs:RegisterTaskDefinition"]


def test_the_cloudformation_role_is_cloudformations_and_covers_every_resource_type_of_the_stacks():
    props = RES["CloudFormationRole"]["Properties"]
    assert sub_text(props["RoleName"]) == "${Application}-cloudformation"
    trust, = props["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": ["cloudformation.amazonaws.com"]}
    policies = [p["Ref"] for p in props["ManagedPolicyArns"]]
    assert policies == sorted(lid for lid, r in RES.items() if r["Type"] == "AWS::IAM::ManagedPolicy")
    types = {r.resource_type for t in RENDERED.build.templates().values() for r in t.resources.values()}
    assert types <= environment_permissions.covered()
    sids = {s["Sid"] for s in cloudformation_statements()}
    assert {"ManageStacks", "ReadPackagedTemplates", "DecryptPackagedTemplates", "ManageRoles", "ManageNetwork",
            "ManageLoadBalancing", "ManageCluster", "ManageDeploymentGroups", "ManageScaling", "ManageQueues"} <= sids


def test_role_management_is_limited_to_the_environments_roles_and_one_aws_policy():
    by_sid = {s["Sid"]: s for s in cloudformation_statements()}
    roles = [sub_text(r) for r in by_sid["ManageRoles"]["Resource"]]
    # by path: the environment's roles have names CloudFormation generates and truncates (naming.role_path)
    assert roles == [f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/${{Application}}/{env}/*"
                     for env in APP.environments]
    assert [sub_text(r) for r in by_sid["PassRoles"]["Resource"]] == roles
    # nested stacks: CloudFormation passes the role on to itself, and to nothing else
    assert [sub_text(r) for r in by_sid["PassSelfToNestedStacks"]["Resource"]] == [
        "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${Application}-cloudformation"]
    assert by_sid["PassSelfToNestedStacks"]["Condition"] == {"StringEquals": {
        "iam:PassedToService": "cloudformation.amazonaws.com"}}
    assert by_sid["AttachCodeDeployPolicy"]["Condition"] == {"ArnLike": {"iam:PolicyARN": {
        "Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/AWSCodeDeployRoleForECS"}}}
    passed = by_sid["PassRoles"]["Condition"]["StringEquals"]["iam:PassedToService"]
    assert passed == ["codedeploy.amazonaws.com", "ecs-tasks.amazonaws.com", "scheduler.amazonaws.com",
                      "states.amazonaws.com", "vpc-flow-logs.amazonaws.com"]
    # the deploy role and the CloudFormation role themselves are out of its reach
    assert not any(r.endswith(("-pipeline-deploy", "-cloudformation")) for r in roles)


def test_every_grant_on_everything_says_why_and_each_managed_policy_fits_iam():
    made = environment_permissions.environment_stack(APP, {r.resource_type for t in RENDERED.build.templates().values()
                                              for r in t.resources.values()})
    for g in made:
        assert g.resources != ("*",) or len(g.why_any) > 20, g.sid
    for lid, r in RES.items():
        if r["Type"] == "AWS::IAM::ManagedPolicy":
            # Subs resolved for a long app name and real account ids: still inside IAM's 6,144 characters
            text = json.dumps(r["Properties"]["PolicyDocument"], separators=(",", ":"))
            text = text.replace("${Application}", "a" * 20).replace("${AWS::AccountId}", "1" * 12).replace(
                "${AWS::Region}", "ap-southeast-2").replace("${AWS::Partition}", "aws")
            assert len("".join(text.split())) <= permissions.MANAGED_POLICY_CHARACTERS, lid


# ----------------------------------------------------------------------------------------------------- moto
def deploy_role_in(tmp_path, kwargs, **options) -> str:
    """Run `make deploy-role`'s flow (YES=1 unless told) against the emulator with the default app's files; its
    output."""
    import io

    import boto3

    from scripts.deploylib import access
    from scripts.deploylib.aws import Aws
    from scripts.deploylib.ui import Console

    for folder, name, text in (("t", "deploy-role.yaml", RENDERED.templates["deploy-role.yaml"]),
                               ("p", "deploy-role.json", RENDERED.params["deploy-role.json"])):
        (tmp_path / folder).mkdir(exist_ok=True)
        (tmp_path / folder / name).write_text(text, encoding="utf-8")
    session = boto3.Session(aws_access_key_id=kwargs["aws_access_key_id"],
                            aws_secret_access_key=kwargs["aws_secret_access_key"], region_name=kwargs["region_name"])
    out = io.StringIO()
    console = Console(out=out, err=out, interactive=False, sleep=lambda _: None)
    code = access.deploy_role(Aws(session, kwargs["region_name"], kwargs["endpoint_url"]), console, APP,
                              tmp_path / "t", tmp_path / "p",
                              access.AccessOptions(**{"yes": True, "change_set_poll": 0, "event_poll": 0, **options}))
    assert code == 0, out.getvalue()
    return out.getvalue()


@pytest.mark.slow
def test_make_deploy_role_previews_refuses_without_a_terminal_and_finds_nothing_to_change_the_second_time(
        tmp_path, monkeypatch):
    """The command's other paths in the emulator: a dry run changes nothing; without a terminal and YES=1 the change
    set and its empty review stack are deleted; a second run after the create changes nothing; a stack stuck in
    ROLLBACK_COMPLETE (which moto does not produce: stood in for) gets hints about this stack, not an environment."""
    import boto3

    from scripts.deploylib.errors import DeployError
    from scripts.deploylib.rehearsal import emulator

    with emulator("123456789012") as url:
        kwargs = dict(endpoint_url=url, region_name="eu-west-1", aws_access_key_id="testing",
                      aws_secret_access_key="testing")
        cfn = boto3.client("cloudformation", **kwargs)
        out = deploy_role_in(tmp_path, kwargs, dry_run=True)
        assert "Would create bucket s3://tunecast-templates-123456789012-eu-west-1" in out
        assert "Would upload deploy-role.yaml to s3://tunecast-templates-123456789012-eu-west-1/tunecast/" in out
        assert not cfn.list_stacks()["StackSummaries"]
        with pytest.raises(DeployError) as refused:
            deploy_role_in(tmp_path, kwargs, yes=False)
        assert refused.value.lines()[0].endswith("not deploying: no terminal to confirm on")
        assert "make deploy-role YES=1" in " ".join(refused.value.lines())
        assert {s["StackStatus"] for s in cfn.list_stacks()["StackSummaries"]} <= {"DELETE_COMPLETE"}
        deploy_role_in(tmp_path, kwargs)
        again = deploy_role_in(tmp_path, kwargs)
        assert "No changes" in again and "Executing" not in again, again
        from scripts.deploylib import stacks
        monkeypatch.setattr(stacks, "describe", lambda cf, name: {"StackStatus": "ROLLBACK_COMPLETE"})
        with pytest.raises(DeployError) as stuck:
            deploy_role_in(tmp_path, kwargs)
        assert stuck.value.lines() == [
            "error: stack tunecast-pipeline-access is ROLLBACK_COMPLETE: its first create failed and was rolled back, "
            "so it cannot be updated",
            "  see why in the stack's Events tab (CloudFormation console); a stack in ROLLBACK_COMPLETE holds nothing: "
            "`aws cloudformation delete-stack --stack-name tunecast-pipeline-access`, then `make deploy-role` again"]


@pytest.mark.slow
def test_rehearsal_creates_the_iam_templates_in_moto(tmp_path):
    """moto creates IAM roles and managed policies through CloudFormation; pipeline.yaml itself (SAM transform,
    CodePipeline, CodeBuild) is beyond it: moto skips CodePipeline and CodeBuild resources (harness.md)."""
    import boto3

    from scripts.deploylib.rehearsal import emulator

    # the rehearsal's emulator: its workarounds let the templates bucket's TLS-only policy through over http
    with emulator("123456789012") as url:
        kwargs = dict(endpoint_url=url, region_name="eu-west-1", aws_access_key_id="testing",
                      aws_secret_access_key="testing")
        cfn, iam = boto3.client("cloudformation", **kwargs), boto3.client("iam", **kwargs)
        # `make deploy-role`'s code (scripts/deploylib/access.py): the template through the templates bucket
        out = deploy_role_in(tmp_path, kwargs)
        assert "Created bucket s3://tunecast-templates-123456789012-eu-west-1" in out
        assert "Capabilities: CAPABILITY_NAMED_IAM" in out
        assert "Deployed tunecast-pipeline-access in account 123456789012: CREATE_COMPLETE." in out
        stack, = cfn.describe_stacks(StackName="tunecast-pipeline-access")["Stacks"]
        assert stack["StackStatus"] == "CREATE_COMPLETE", stack
        assert {t["Key"]: t["Value"] for t in stack["Tags"]} == {"Application": "tunecast", "Owner": "platform-team"}
        uploaded = boto3.client("s3", **kwargs).list_objects_v2(Bucket="tunecast-templates-123456789012-eu-west-1")
        assert [o["Key"].split("/")[0] for o in uploaded["Contents"]] == ["tunecast"]
        deploy = iam.get_role(RoleName="tunecast-pipeline-deploy")["Role"]
        trust = deploy["AssumeRolePolicyDocument"]
        trust = json.loads(trust) if isinstance(trust, str) else trust
        assert trust["Statement"][0]["Principal"] == {"AWS": "arn:aws:iam::111111111111:root"}
        assert iam.list_role_policies(RoleName="tunecast-pipeline-deploy")["PolicyNames"] == ["release"]
        # moto creates the managed policies but does not attach ManagedPolicyArns through CloudFormation (lossy)
        local = sorted(p["PolicyName"] for p in iam.list_policies(Scope="Local")["Policies"])
        count = sum(r["Type"] == "AWS::IAM::ManagedPolicy" for r in RES.values())
        assert local == [f"tunecast-cloudformation-{i}" for i in range(1, count + 1)]
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
        assert outputs["DeployRoleArn"].endswith(":role/tunecast-pipeline-deploy")
        # the pipeline account's roles (pipeline-roles.yaml, nested in pipeline.yaml), with the parameters the
        # root passes it
        values = {i["ParameterKey"]: i["ParameterValue"] for i in json.loads(RENDERED.params["pipeline.json"])}
        nested = {"Application": values["Application"], "Owner": values["Owner"],
                  "PipelineStackName": "tunecast-pipeline", "ConnectionArn": values["ConnectionArn"],
                  "PipelineKeyArn": "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555",
                  **{k: v for k, v in values.items() if k.endswith("AccountId")}}
        cfn.create_stack(StackName="tunecast-pipeline-Roles", TemplateBody=RENDERED.templates["pipeline-roles.yaml"],
                         Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in nested.items()],
                         Capabilities=["CAPABILITY_NAMED_IAM"])
        stack, = cfn.describe_stacks(StackName="tunecast-pipeline-Roles")["Stacks"]
        assert stack["StackStatus"] == "CREATE_COMPLETE", stack
        names = {r["RoleName"] for r in iam.list_roles()["Roles"]}
        assert {f"tunecast-{n}" for n in ("pipeline", "pipeline-stack", "pipeline-self-update", "pipeline-build",
                                           "pipeline-release", "pipeline-tests", "pipeline-reroute")} <= names
