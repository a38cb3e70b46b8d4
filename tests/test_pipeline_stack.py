"""The pipeline template (pipeline.yaml + pipeline-roles.yaml + pipeline-builds.yaml) for the default app: stages and
actions, the CodePipeline pitfalls of aws-reference §2, cross-account artifacts, security settings.

What no test here can show (no AWS account): CodePipeline running the actions, the connection handshake, IAM
evaluation across accounts, the self-update restarting a run, CodeDeploy shifting traffic. moto skips CodePipeline
and CodeBuild in CloudFormation (harness.md), so the rehearsal below creates only what moto implements.
"""
from __future__ import annotations

import json
import re
import shutil

import pytest
import yaml

from generator import buildspecs
from generator.build import INLINE_TEMPLATES, pipeline_action_templates, render_app
from generator.config import load_app, parse_app
from generator.lint import budgets, gate
from generator.pipeline import environment_permissions
from generator.policies.common import SOURCE_ACCOUNT_DOCUMENTED
from tests.support import DEFAULT_APP, DEFAULT_TEMPLATES, ROOT
from tests.templates import load

APP = load_app(DEFAULT_APP)
RENDERED = render_app(APP)
PIPELINE = load(RENDERED.templates["pipeline.yaml"])
ROLES = load(RENDERED.templates["pipeline-roles.yaml"])
BUILDS = load(RENDERED.templates["pipeline-builds.yaml"])
GATES = load(RENDERED.templates["pipeline-gates.yaml"])
STAGES = PIPELINE["Resources"]["Pipeline"]["Properties"]["Stages"]
STAGE = {s["Name"]: s for s in STAGES}
WEB = [s.name for s in APP.services if s.kind == "web"]


def actions(stage: str) -> dict[str, dict]:
    return {a["Name"]: a for a in STAGE[stage]["Actions"]}


def all_actions():
    for stage in STAGES:
        for a in stage["Actions"]:
            yield stage["Name"], a


def provider(a: dict) -> str:
    return a["ActionTypeId"]["Provider"]


def sub_text(value) -> str:
    """The text of a Sub (or a literal): what the value reads like before substitution."""
    if isinstance(value, dict) and "Fn::Sub" in value:
        sub = value["Fn::Sub"]
        return sub if isinstance(sub, str) else sub[0]
    return value


def project(name: str) -> dict:
    """A CodeBuild project of pipeline-builds.yaml, by the output a pipeline action names."""
    return BUILDS["Resources"][name]


def project_of(a: dict) -> dict:
    _, output = a["Configuration"]["ProjectName"]["Fn::GetAtt"]
    return project(output.removeprefix("Outputs."))


def statements(template: dict, kind: str = "AWS::IAM::ManagedPolicy"):
    for lid, r in template["Resources"].items():
        props = r.get("Properties", {})
        if r["Type"] == kind == "AWS::IAM::ManagedPolicy":
            yield from ((lid, s) for s in props["PolicyDocument"]["Statement"])
        for policy in props.get("Policies", []) if r["Type"] == kind == "AWS::IAM::Role" else []:
            yield from ((lid, s) for s in policy["PolicyDocument"]["Statement"])


# ----------------------------------------------------------------------------------------------------- shape
def test_stages_in_order_with_the_production_approval_right_before_production():
    assert [s["Name"] for s in STAGES] == ["Source", "UpdatePipeline", "Build", "DeployDev", "DeployStaging",
                                           "ApproveProd", "DeployProd"]
    approve = actions("ApproveProd")["ApproveRelease"]
    assert approve["ActionTypeId"] == {"Category": "Approval", "Owner": "AWS", "Provider": "Manual", "Version": "1"}
    assert approve["Configuration"]["NotificationArn"] == {"Ref": "ApprovalTopic"}
    topic = PIPELINE["Resources"]["ApprovalTopic"]["Properties"]
    assert topic["Subscription"] == [{"Endpoint": {"Ref": "NotificationEmail"}, "Protocol": "email"}]
    assert topic["KmsMasterKeyId"] == {"Fn::GetAtt": ["PipelineKey", "Arn"]}


def test_v2_pipeline_started_by_pushes_to_the_branch_and_restarted_by_its_own_update():
    props = PIPELINE["Resources"]["Pipeline"]["Properties"]
    assert props["PipelineType"] == "V2" and props["ExecutionMode"] == "SUPERSEDED"
    assert props["RestartExecutionOnUpdate"] is True
    assert props["Triggers"] == [{"ProviderType": "CodeStarSourceConnection", "GitConfiguration": {
        "SourceActionName": "Source", "Push": [{"Branches": {"Includes": [{"Ref": "BranchName"}]}}]}}]
    source = actions("Source")["Source"]
    assert provider(source) == "CodeStarSourceConnection" and source["Namespace"] == "SourceVariables"
    assert source["Configuration"] == {"ConnectionArn": {"Ref": "ConnectionArn"}, "FullRepositoryId": {
        "Ref": "FullRepositoryId"}, "BranchName": {"Ref": "BranchName"}, "OutputArtifactFormat": "CODE_ZIP"}
    values = {i["ParameterKey"]: i["ParameterValue"] for i in json.loads(RENDERED.params["pipeline.json"])}
    assert values["BranchName"] == "main" and values["FullRepositoryId"] == "tunecast/tunecast"
    assert values["ConnectionArn"] == APP.pipeline.connection_arn
    assert (values["DevAccountId"], values["StagingAccountId"], values["ProdAccountId"]) == (
        "111111111111", "111111111111", "222222222222")


def test_self_update_regenerates_packages_and_deploys_the_pipelines_own_stack_through_s3():
    """The pipeline's own stack is deployed with `aws cloudformation deploy --s3-bucket` (a TemplateURL: up to 1 MB),
    from the packaged template and its template configuration (docs/pipeline.md, "Template sizes")."""
    stage = actions("UpdatePipeline")
    build, update = stage["SelfUpdate"], stage["UpdatePipeline"]
    assert (build["RunOrder"], update["RunOrder"]) == (1, 2)
    assert build["OutputArtifacts"] == [{"Name": "Templates"}]
    spec = yaml.safe_load(project_of(build)["Properties"]["Source"]["BuildSpec"])
    assert "make templates PYTHON=python3.11" in spec["phases"]["build"]["commands"]
    # packaged/<region>/root.yaml too when an environment is in another region (generator/pipeline/regions.py)
    assert spec["artifacts"]["files"] == ["packaged/**/*", "params/*.config.json"]
    assert provider(update) == "CodeBuild" and update["InputArtifacts"] == [{"Name": "Templates"}]
    assert update["Configuration"] == {"ProjectName": {"Fn::GetAtt": ["Builds", "Outputs.UpdatePipelineProject"]}}
    props = project_of(update)["Properties"]
    variables = {v["Name"]: v["Value"] for v in props["Environment"]["EnvironmentVariables"]}
    assert variables["STACK_NAME"] == {"Ref": "PipelineStackName"}
    assert variables["STACK_ROLE_ARN"] == {"Ref": "PipelineStackRoleArn"}
    assert props["ServiceRole"] == {"Ref": "SelfUpdateRoleArn"}
    parameters = PIPELINE["Resources"]["Builds"]["Properties"]["Parameters"]
    assert parameters["PipelineStackName"] == {"Ref": "AWS::StackName"}
    assert parameters["PipelineStackRoleArn"] == {"Fn::GetAtt": ["Roles", "Outputs.PipelineStackRoleArn"]}
    command, = yaml.safe_load(props["Source"]["BuildSpec"])["phases"]["build"]["commands"]
    assert ('aws cloudformation deploy --stack-name "$STACK_NAME" --template-file packaged/pipeline.yaml '
            '--s3-bucket "$ARTIFACT_BUCKET" --s3-prefix tunecast/templates --force-upload') in command
    assert ('--role-arn "$STACK_ROLE_ARN" --capabilities CAPABILITY_NAMED_IAM CAPABILITY_AUTO_EXPAND '
            '--parameter-overrides "${parameters[@]}" --tags "${tags[@]}" --no-fail-on-empty-changeset') in command
    assert "params/pipeline.config.json" in command
    config = json.loads(RENDERED.params["pipeline.config.json"])
    assert config["Parameters"] == {i["ParameterKey"]: i["ParameterValue"]
                                    for i in json.loads(RENDERED.params["pipeline.json"])}
    assert config["Tags"] == {"Environment": "pipeline", "Owner": APP.owner, "Application": APP.app}


def test_build_stage_builds_each_service_once_with_the_scan_gate_at_the_app_threshold():
    build = actions("Build")
    # and the frontend's build, once (tests/test_pipeline_frontend.py)
    assert sorted(build) == sorted([f"Build{s.name.capitalize()}" for s in APP.services] + ["BuildFrontend"])
    for svc in APP.services:
        a = build[f"Build{svc.name.capitalize()}"]
        props = project_of(a)["Properties"]
        assert props["Environment"]["PrivilegedMode"] is True and props["Environment"]["Image"] == \
            "aws/codebuild/standard:7.0"
        text = props["Source"]["BuildSpec"]
        dockerfile, context = APP.pipeline.build_of(svc.name)
        assert f'scripts/scan_gate.py" --repository "$REPOSITORY_NAME" --tag "$IMAGE_TAG" --fail-on MEDIUM ' \
               "--timeout 600" in text
        assert f"docker build --file {dockerfile} " in text and f'"$REPOSITORY_URI:$IMAGE_TAG" {context} &&' in text
        variables = {v["Name"]: v for v in props["Environment"]["EnvironmentVariables"]}
        assert sub_text(variables["REPOSITORY_NAME"]["Value"]) == f"${{Application}}-pipeline-{svc.name}"
        assert json.loads(a["Configuration"]["EnvironmentVariables"]) == [
            {"name": "COMMIT_ID", "value": "#{SourceVariables.CommitId}", "type": "PLAINTEXT"}]
        repo = PIPELINE["Resources"][f"{svc.name.capitalize()}BuildRepository"]["Properties"]
        assert repo["ImageTagMutability"] == "IMMUTABLE" and repo["ImageScanningConfiguration"] == {"ScanOnPush": True}
        assert repo["EncryptionConfiguration"]["EncryptionType"] == "KMS"


def test_fail_on_comes_from_app_yaml():
    raw = yaml.safe_load((DEFAULT_APP).read_text())
    raw["pipeline"]["fail_on"] = "HIGH"
    builds = load(render_app(parse_app(raw)).templates["pipeline-builds.yaml"])
    assert "--fail-on HIGH" in builds["Resources"]["BuildApiProject"]["Properties"]["Source"]["BuildSpec"]


@pytest.mark.parametrize("env", list(APP.environments))
def test_each_environment_promotes_deploys_prepares_and_releases_in_order(env):
    pascal = env.capitalize()
    stage = actions(f"Deploy{pascal}")
    order = {name: a["RunOrder"] for name, a in stage.items()}
    assert order["Promote"] == 1 and order["Deploy"] == 2 and order["PrepareRelease"] == 3
    assert all(order[f"Release{s.capitalize()}"] == 4 for s in WEB)
    deploy = stage["Deploy"]
    account = {"Ref": f"{pascal}AccountId"}
    assert deploy["RoleArn"] == {"Fn::Sub": ["arn:${AWS::Partition}:iam::${Account}:role/${Application}-pipeline-deploy",
                                             {"Account": account}]}
    config = deploy["Configuration"]
    assert config["RoleArn"] == {"Fn::Sub": ["arn:${AWS::Partition}:iam::${Account}:role/${Application}-cloudformation",
                                             {"Account": account}]}
    assert config["StackName"] == {"Fn::Sub": f"${{Application}}-{env}"}
    assert config["TemplatePath"] == "Templates::packaged/root.yaml"
    # the whole template configuration comes from the Promote step: params/<env>.config.json with each service's tag
    # (`bootstrap` for a service new to the environment); no ParameterOverrides, whose 1000 characters bound nothing
    tags = f"{pascal}Tags"
    assert config["TemplateConfiguration"] == f"{tags}::template-config.json"
    assert "ParameterOverrides" not in config
    assert f"{env}.config.json" in RENDERED.params
    assert deploy["Namespace"] == f"Deploy{pascal}Variables"
    assert deploy["InputArtifacts"] == [{"Name": "Templates"}, {"Name": tags}]
    promote = stage["Promote"]
    assert promote["Namespace"] == f"Promote{pascal}Variables"
    assert promote["OutputArtifacts"] == [{"Name": tags}]
    assert promote["InputArtifacts"] == [{"Name": "Source"}, {"Name": "Templates"}]
    variables = {v["name"]: v["value"] for v in json.loads(sub_text(promote["Configuration"]["EnvironmentVariables"]))}
    assert (variables["TEMPLATES_ARTIFACT"], variables["CONFIG_FILE"]) == ("Templates", f"params/{env}.config.json")
    assert stage["PrepareRelease"]["InputArtifacts"] == [{"Name": "Source"}, {"Name": tags}]
    assert "IMAGE_TAG" in yaml.safe_load(project_of(promote)["Properties"]["Source"]["BuildSpec"])["env"][
        "exported-variables"]
    prepared = [o["Name"] for o in stage["PrepareRelease"]["OutputArtifacts"]]
    assert prepared == [f"{pascal}{s.capitalize()}Release" for s in WEB]


def test_codedeploy_actions_name_the_service_stacks_groups_and_read_their_artifacts_from_inputs():
    """aws-reference §2: every artifact a CodeDeployToECS action names is one of its InputArtifacts (E9011)."""
    found = 0
    for stage, a in all_actions():
        if provider(a) != "CodeDeployToECS":
            continue
        found += 1
        env = stage.removeprefix("Deploy").lower()
        service = a["Name"].removeprefix("Release").lower()
        config = a["Configuration"]
        # generator/components/service/web.py names both `<app>-<env>-<service>`
        assert config["ApplicationName"] == config["DeploymentGroupName"] == f"{APP.app}-{env}-{service}"
        inputs = [i["Name"] for i in a["InputArtifacts"]]
        for key in ("Image1ArtifactName", "TaskDefinitionTemplateArtifact", "AppSpecTemplateArtifact"):
            assert config[key] in inputs, (stage, a["Name"], key)
        assert config["Image1ContainerName"] == "IMAGE1_NAME"
        assert a["RoleArn"]["Fn::Sub"][0].endswith(":role/${Application}-pipeline-deploy")
    assert found == len(WEB) * len(APP.environments)


def test_every_action_configuration_value_is_a_string():
    """aws-reference §2: Configuration is a map of strings (E9010); JSON-valued keys are JSON text."""
    for stage, a in all_actions():
        for key, value in a["Configuration"].items():
            if isinstance(value, dict):
                (fn, _), = value.items()
                assert fn in ("Ref", "Fn::GetAtt", "Fn::Sub"), (stage, a["Name"], key)
                continue
            assert isinstance(value, str) and len(value) <= 1000, (stage, a["Name"], key)
            if key in ("ParameterOverrides", "EnvironmentVariables"):
                json.loads(value)
        variables = a["Configuration"].get("EnvironmentVariables")
        if isinstance(variables, dict):
            assert len(sub_text(variables)) <= 1000
            decoded = json.loads(sub_text(variables))
            assert all(v["type"] == "PLAINTEXT" for v in decoded)


def test_capabilities_have_no_spaces_and_match_what_the_templates_need():
    """aws-reference §2: Capabilities is comma-separated without spaces (E9012). The environment stacks name IAM
    roles (the access roles, `<app>-<env>-viewer`...: CAPABILITY_NAMED_IAM); the pipeline stack names its roles and
    uses the SAM transform."""
    caps = {a["Configuration"]["Capabilities"] for _, a in all_actions() if provider(a) == "CloudFormation"}
    assert caps == {"CAPABILITY_NAMED_IAM"}   # the environments' Deploy actions; the self-update is a CodeBuild step
    assert all(" " not in c for c in caps)
    update = yaml.safe_load(project("UpdatePipelineProject")["Properties"]["Source"]["BuildSpec"])
    assert "--capabilities CAPABILITY_NAMED_IAM CAPABILITY_AUTO_EXPAND" in update["phases"]["build"]["commands"][0]
    # the functions' nested template uses the SAM transform: the parent's operation needs CAPABILITY_AUTO_EXPAND
    assert GATES["Transform"] == "AWS::Serverless-2016-10-31" and "Transform" not in PIPELINE
    assert PIPELINE["Resources"]["Gates"]["Properties"]["TemplateURL"] == "./pipeline-gates.yaml"


def test_integration_tests_run_in_the_test_environment_against_its_test_listener_before_traffic_moves():
    """The gate runs beside the CodeDeployToECS actions (tests/test_release_gates.py has the whole flow)."""
    tests = [(stage, a) for stage, a in all_actions() if a["Name"] == "IntegrationTests"]
    assert [stage for stage, _ in tests] == ["DeployStaging"]
    stage, a = tests[0]
    assert a["RunOrder"] == actions(stage)["ReleaseApi"]["RunOrder"] == max(x["RunOrder"] for x in STAGE[stage]["Actions"])
    names = [s["Name"] for s in STAGES]
    assert names.index("DeployStaging") < names.index("ApproveProd") < names.index("DeployProd")
    text, _ = a["Configuration"]["UserParameters"]["Fn::Sub"]
    assert json.loads(text)["testUrl"] == "http://#{DeployStagingVariables.ClusterLoadBalancerDns}:8080"
    props = project("TestsProject")["Properties"]
    spec = yaml.safe_load(props["Source"]["BuildSpec"])
    assert spec["phases"]["build"]["commands"][-1].strip() == APP.pipeline.test_command
    assert spec["reports"]["integration-tests"]["base-directory"] == "e2e/reports"
    assert props["VpcConfig"]["VpcId"] == APP.pipeline.test_network.vpc_id
    # started by the gate, not by CodePipeline: the run's source comes in as SOURCE_ARTIFACT
    assert props["Source"]["Type"] == "NO_SOURCE" and "SOURCE_ARTIFACT" in props["Source"]["BuildSpec"]
    # ClusterLoadBalancerDns is a root-stack output, which the Deploy action exposes in its namespace
    root = load(RENDERED.templates["root.yaml"])
    assert "ClusterLoadBalancerDns" in root["Outputs"]


def test_held_releases_get_an_approval_beside_codedeploy_and_a_rule_that_continues_them():
    """seed 004: api waits in staging and prod (wait_for_approval_minutes)."""
    for env in APP.environments:
        stage = actions(f"Deploy{env.capitalize()}")
        waits = env in ("staging", "prod")
        assert ("ApproveReroute" in stage) == waits
        rule = GATES["Resources"].get(f"Reroute{env.capitalize()}Rule")
        assert (rule is not None) == waits
        if not waits:
            continue
        assert stage["ApproveReroute"]["RunOrder"] == stage["ReleaseApi"]["RunOrder"]
        assert stage["ApproveReroute"]["Configuration"]["NotificationArn"] == {"Ref": "ApprovalTopic"}
        assert len(stage["ApproveReroute"]["Configuration"]["CustomData"]) <= 500
        assert rule["Properties"]["EventPattern"]["detail"]["action"][0] == "ApproveReroute"
        permission = GATES["Resources"][f"Reroute{env.capitalize()}Permission"]["Properties"]
        assert permission["SourceArn"] == {"Fn::GetAtt": [f"Reroute{env.capitalize()}Rule", "Arn"]}


def test_the_gate_functions_ship_as_a_packaged_directory_next_to_the_template():
    for title, module in (("RerouteFunction", "continue_reroute"), ("ReleaseGateFunction", "release_gate")):
        function = GATES["Resources"][title]
        assert function["Type"] == "AWS::Serverless::Function"
        assert function["Properties"]["CodeUri"] == "./lambda/continue_reroute"
        assert function["Properties"]["Handler"] == f"{module}.handler"
        source = (ROOT / "generator" / "lambdas" / f"{module}.py").read_text()
        assert len(source) > 4096, "inline ZipFile would do if it fit"
        assert RENDERED.templates[f"lambda/continue_reroute/{module}.py"] == source
    assert GATES["Resources"]["RerouteFunction"]["Properties"]["DeadLetterQueue"]["Type"] == "SQS"
    # the reroute function waits for an early approval's release (WAIT_SECONDS) within its timeout
    from generator.lambdas import continue_reroute, release_gate
    assert GATES["Resources"]["RerouteFunction"]["Properties"]["Timeout"] >= \
        continue_reroute.DEFAULT_WAIT_SECONDS + continue_reroute.MARGIN_SECONDS
    assert GATES["Resources"]["ReleaseGateFunction"]["Properties"]["Timeout"] > release_gate.BUDGET_SECONDS + 30


# ----------------------------------------------------------------------------------------------------- security
def test_artifact_bucket_is_kms_encrypted_versioned_private_and_tls_only():
    props = PIPELINE["Resources"]["ArtifactBucket"]["Properties"]
    rule, = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms",
                                                     "KMSMasterKeyID": {"Fn::GetAtt": ["PipelineKey", "Arn"]}}
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert set(props["PublicAccessBlockConfiguration"].values()) == {True} and \
        len(props["PublicAccessBlockConfiguration"]) == 4
    store = PIPELINE["Resources"]["Pipeline"]["Properties"]["ArtifactStore"]
    assert store["EncryptionKey"] == {"Id": {"Fn::GetAtt": ["PipelineKey", "Arn"]}, "Type": "KMS"}
    policy = PIPELINE["Resources"]["ArtifactBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert policy[0]["Sid"] == "DenyInsecureTransport" and policy[0]["Effect"] == "Deny"


# Longest each kind of action can run (CodePipeline user guide, quotas: "Length of time before an action times
# out"; CodeBuild's maximum build timeout is 36 hours, queued time included at most 8 more).
ACTION_DAYS = {"CloudFormation": 3, "CodeDeployToECS": 5, "Manual": 7, "Lambda": 1, "CodeBuild": (36 + 8) / 24,
               "CodeStarSourceConnection": 1}


def test_packaged_templates_outlive_the_longest_run_that_uses_them():
    """The artifact bucket expires objects ARTIFACT_DAYS after their upload (versioned bucket: the current version,
    counted from its creation; S3 user guide, "Expiring objects"). The self-update uploads every packaged template
    with --force-upload at the start of each run (tests/test_buildspecs.py), and CloudFormation fetches the nested
    ones again in each Deploy action of that run, the last one after every approval. So the longest a run can take,
    every action running to its timeout, stays well inside the expiry."""
    (lifecycle,) = PIPELINE["Resources"]["ArtifactBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    days = lifecycle["ExpirationInDays"]
    longest = 0.0
    for stage in STAGES:
        orders: dict[int, float] = {}
        for a in stage["Actions"]:
            orders[a["RunOrder"]] = max(orders.get(a["RunOrder"], 0), ACTION_DAYS[provider(a)])
        longest += sum(orders.values())
    assert longest < days, (longest, days)
    assert "Expiration" not in lifecycle and lifecycle["NoncurrentVersionExpiration"]["NoncurrentDays"] < days


def test_environment_cloudformation_roles_can_read_the_packaged_templates():
    """aws-reference §2, pitfall 6: CloudFormation fetches nested templates with its role, from the pipeline's bucket
    in another account: the bucket policy, the key policy and the role's own policy must all allow it."""
    roles = set()
    for name in ("ArtifactBucketPolicy", "PipelineKey"):
        props = PIPELINE["Resources"][name]["Properties"]
        document = props.get("PolicyDocument") or props["KeyPolicy"]
        grant, = [s for s in document["Statement"] if s["Sid"] == "EnvironmentRolesReadArtifacts"]
        assert {"s3:GetObject", "kms:Decrypt"} & set(grant["Action"])
        roles |= {sub_text(r) for r in grant["Condition"]["ArnEquals"]["aws:PrincipalArn"]}
        # one principal per account (dev and staging share 111111111111)
        assert [s["Fn::Sub"][1]["Account"]["Ref"] for s in grant["Principal"]["AWS"]] == ["DevAccountId", "ProdAccountId"]
    assert roles == {"arn:${AWS::Partition}:iam::${Account}:role/${Application}-cloudformation",
                     "arn:${AWS::Partition}:iam::${Account}:role/${Application}-pipeline-deploy"}
    deploy_role = load(RENDERED.templates["deploy-role.yaml"])
    granted = {a: s for _, s in statements(deploy_role) for a in s["Action"]}
    assert sub_text(granted["s3:GetObject"]["Resource"][0]) == \
        "arn:${AWS::Partition}:s3:::${Application}-pipeline-${PipelineAccountId}-${AWS::Region}/*"
    # (the role also uses its own account's store keys through their services: shared.py, UseKeys)
    decrypting = [s.get("Condition") for _, s in statements(deploy_role) if "kms:Decrypt" in s["Action"]]
    assert {"StringEquals": {"kms:ViaService": {"Fn::Sub": "s3.${AWS::Region}.amazonaws.com"}}} in decrypting
    # and the pipeline's own CloudFormation role reads its packaged nested templates and the Lambda zip
    own = {a: s for _, s in statements(ROLES) for a in s["Action"]}
    assert sub_text(own["s3:GetObject"]["Resource"][0]).endswith("${Application}-pipeline-${AWS::AccountId}-${AWS::Region}/*")
    assert "kms:Decrypt" in own


def test_each_role_is_trusted_by_its_one_service_of_this_account_and_named_for_the_deploy_roles():
    roles = {lid: r for lid, r in ROLES["Resources"].items() if r["Type"] == "AWS::IAM::Role"}
    assert sorted(sub_text(r["Properties"]["RoleName"]) for r in roles.values()) == sorted(
        f"${{Application}}-{n}" for n in ("pipeline", "pipeline-stack", "pipeline-self-update", "pipeline-build",
                                          "pipeline-release", "pipeline-tests", "pipeline-reroute"))
    conditioned = set()
    for lid, role in roles.items():
        trust, = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        service, = trust["Principal"]["Service"]
        # aws:SourceAccount only where the service is documented to send it (generator/policies/common.py)
        if service in SOURCE_ACCOUNT_DOCUMENTED:
            assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}, lid
            conditioned.add(service)
        else:
            assert "Condition" not in trust, lid
    assert conditioned == {"codebuild.amazonaws.com"}


def test_codebuild_logs_go_to_one_encrypted_group_with_retention():
    for lid, r in {**PIPELINE["Resources"], **BUILDS["Resources"]}.items():
        if r["Type"] == "AWS::Logs::LogGroup":
            assert r["Properties"]["RetentionInDays"] == 90 and "KmsKeyId" in r["Properties"], lid
        if r["Type"] == "AWS::CodeBuild::Project":
            logs = r["Properties"]["LogsConfig"]
            assert logs["CloudWatchLogs"]["Status"] == "ENABLED" and logs["CloudWatchLogs"]["GroupName"] == {
                "Ref": "BuildLogGroup"}, lid
            assert r["Properties"]["EncryptionKey"] == {"Ref": "PipelineKeyArn"}
    assert PIPELINE["Resources"]["Builds"]["Properties"]["Parameters"]["BuildLogGroup"] == {"Ref": "BuildLogs"}


def test_no_secret_in_any_buildspec_template_or_parameter_file():
    texts = {n: t for n, t in RENDERED.templates.items() if n.startswith(("pipeline", "deploy-role"))}
    texts.update({n: t for n, t in RENDERED.params.items() if n.startswith(("pipeline", "deploy-role"))})
    for name, text in texts.items():
        for pattern in (r"AKIA[0-9A-Z]{16}", r"ASIA[0-9A-Z]{16}", r"(?i)aws_secret_access_key",
                        r"(?i)(?<!get-login-)password(?!-stdin)",
                        r"(?i)secretstring", r"(?i)token\s*[=:]", r"ghp_[A-Za-z0-9]{20,}"):
            assert not re.search(pattern, text), f"{name}: {pattern}"
    assert not [n for n, p in PIPELINE["Parameters"].items() if p.get("NoEcho")]


def pipeline_support_template() -> str:
    from generator.pipeline import regions
    from generator.template_yaml import to_yaml
    return to_yaml(regions.support_template())


def test_templates_sent_inline_fit_the_inline_limit_once_packaged():
    """What is sent is the packaged template (S3 URLs, long-form YAML: generator/lint/budgets.py)."""
    # pipeline-support.yaml is created with `aws cloudformation deploy` and no bucket in each other region
    # (docs/pipeline.md); only for an app with such an environment (tests/test_pipeline_regions.py), but the gate
    # measures it in every app. deploy-role.yaml is not sent inline: `make deploy-role` passes a TemplateURL.
    assert INLINE_TEMPLATES == ("pipeline-support.yaml",)
    assert "deploy-role.yaml" in RENDERED.templates and "pipeline-support.yaml" not in RENDERED.templates
    support = pipeline_support_template()
    assert len(budgets.packaged(support, APP.region).encode()) < 0.5 * budgets.INLINE_BYTES


def test_deploy_role_is_measured_against_the_s3_limit_and_pipeline_support_against_the_inline_one(tmp_path):
    """deploy-role.yaml grows with environments and resource types (50,203 bytes for the default app before it moved
    to S3): `make deploy-role` sends it as a TemplateURL, so the gate allows it 1 MB ("Template body size in an
    Amazon S3 object: 1 MB"; "in a request: 51,200 bytes", CloudFormation quotas, docs/performance.md). A template
    still sent inline is refused past 51,200 bytes."""
    padding = "# " + "x" * budgets.INLINE_BYTES + "\n"
    (tmp_path / "deploy-role.yaml").write_text(RENDERED.templates["deploy-role.yaml"] + padding, encoding="utf-8")
    (tmp_path / "pipeline-support.yaml").write_text(pipeline_support_template() + padding, encoding="utf-8")
    finding, = gate.size_budgets(tmp_path, "t", INLINE_TEMPLATES, APP.region)
    assert finding.startswith("t/pipeline-support.yaml: ")
    assert finding.endswith("is over the 51,200-byte limit for a template sent inline; move resources into a nested "
                            "stack")
    (tmp_path / "deploy-role.yaml").write_text("# " + "x" * budgets.S3_BYTES + "\n" +
                                               RENDERED.templates["deploy-role.yaml"], encoding="utf-8")
    findings = gate.size_budgets(tmp_path, "t", INLINE_TEMPLATES, APP.region)
    assert any(f.startswith("t/deploy-role.yaml: ") and "over the 1,000,000-byte limit for a template read from S3"
               in f for f in findings), findings


def test_a_fourth_environment_passes_the_gate_although_deploy_role_outgrows_the_inline_limit(tmp_path):
    """Issue 10: the default app with a fourth environment makes a deploy-role.yaml over 51,200 bytes, which the
    build refused while the template was sent in the request; through S3 (`make deploy-role`) it passes."""
    import copy
    raw = yaml.safe_load(DEFAULT_APP.read_text(encoding="utf-8"))
    envs = raw["environments"]
    qa = {**copy.deepcopy(envs["staging"]), "cidr": "10.40.0.0/16"}
    raw["environments"] = {"dev": envs["dev"], "staging": envs["staging"], "qa": qa, "prod": envs["prod"]}
    app = parse_app(raw)
    text = render_app(app).templates["deploy-role.yaml"]
    assert len(text.encode()) > budgets.INLINE_BYTES
    assert budgets.check("deploy-role.yaml", text, is_root=True, region=app.region)   # what the build said before
    (tmp_path / "deploy-role.yaml").write_text(text, encoding="utf-8")
    assert gate.size_budgets(tmp_path, "t", INLINE_TEMPLATES, app.region) == []


def test_the_root_the_pipeline_deploys_is_measured_against_the_pipeline_action_budget():
    """The environments' root is deployed by the pipeline's CloudFormation action, measured against 460,800 bytes
    (docs/performance.md, Size); a root over it is refused in one line naming the budget and the way out."""
    assert pipeline_action_templates(APP) == ("root.yaml",)
    text = RENDERED.templates["root.yaml"]
    assert budgets.check("root.yaml", text, is_root=False, region=APP.region, pipeline_action=True) == []
    big = text + "# " + "x" * budgets.PIPELINE_ACTION_BYTES + "\n"
    [line] = budgets.check("root.yaml", big, is_root=False, region=APP.region, pipeline_action=True)
    assert "over the 460,800-byte budget for a template CodePipeline's CloudFormation action deploys; split the " \
           "services over two apps, or deploy this one with make deploy and no pipeline block" in line, line


# ----------------------------------------------------------------------------------------------------- the lint rules
def test_the_project_rules_catch_the_pipeline_pitfalls_on_this_template(tmp_path):
    """Break the generated pipeline the four ways aws-reference §2 warns about; E9010-E9013 must each fire."""
    for name, text in RENDERED.templates.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    broken = load(RENDERED.templates["pipeline.yaml"])
    props = broken["Resources"]["Pipeline"]["Properties"]
    # E9013 recognises a CloudFormation action that deploys AWS::StackName: the self-update is one again here
    del props["RestartExecutionOnUpdate"]                                           # E9013
    props["Stages"][1]["Actions"][1] = {
        "Name": "UpdatePipeline", "RunOrder": 2, "InputArtifacts": [{"Name": "Templates"}],
        "ActionTypeId": {"Category": "Deploy", "Owner": "AWS", "Provider": "CloudFormation", "Version": "1"},
        "Configuration": {"ActionMode": "CREATE_UPDATE", "StackName": {"Ref": "AWS::StackName"},
                          "TemplatePath": "Templates::packaged/pipeline.yaml",
                          "RoleArn": {"Fn::GetAtt": ["Roles", "Outputs.PipelineStackRoleArn"]},
                          "Capabilities": "CAPABILITY_NAMED_IAM,CAPABILITY_AUTO_EXPAND"}}
    for stage in props["Stages"]:
        for a in stage["Actions"]:
            config = a["Configuration"]
            if a["Name"] == "Deploy" and stage["Name"] == "DeployDev":
                config["ParameterOverrides"] = {"ImageTag": "x"}                        # E9010
                config["Capabilities"] = "CAPABILITY_IAM, CAPABILITY_AUTO_EXPAND"       # E9012
            if a["Name"] == "ReleaseApi" and stage["Name"] == "DeployDev":
                config["Image1ArtifactName"] = "DevApiImage"                            # E9011
    (tmp_path / "pipeline.yaml").write_text(json.dumps(broken))
    found = gate.cfn_lint(tmp_path, "t", APP.region)
    ids = {f.split(": ", 1)[1].split()[0] for f in found}
    assert {"E9010", "E9011", "E9012", "E9013"} <= ids, found
    shutil.rmtree(tmp_path)


def test_the_committed_pipeline_templates_are_current_and_lint_clean():
    for name in ("pipeline.yaml", "pipeline-roles.yaml", "pipeline-builds.yaml", "pipeline-gates.yaml",
                 "deploy-role.yaml"):
        assert (DEFAULT_TEMPLATES / name).read_text() == RENDERED.templates[name], name


def test_apps_without_a_pipeline_block_get_no_pipeline_files():
    minimal = render_app(load_app(ROOT / "tests" / "fixtures" / "apps" / "minimal.yaml"))
    assert not [n for n in (*minimal.templates, *minimal.params) if n.startswith(("pipeline", "deploy-role", "lambda"))]


def test_every_buildspec_the_pipeline_uses_renders_from_the_jinja_sources():
    used = set()
    for r in BUILDS["Resources"].values():
        spec = r["Properties"]["Source"]["BuildSpec"]
        used.add(re.search(r"Rendered from buildspecs/(\w+)\.yml\.j2", spec)[1])
    assert used == set(buildspecs.names())


def test_the_environment_role_refuses_resource_types_it_has_no_permissions_for():
    from generator.errors import WiringError
    with pytest.raises(WiringError) as exc:
        environment_permissions.environment_stack(APP, {"AWS::ECS::Cluster", "AWS::Neptune::DBCluster"})
    assert str(exc.value).startswith("no component declares AWS::Neptune::DBCluster, so the environments' CloudFormation "
                                     "role has no grants for it")


def test_the_lambda_directory_zips_to_the_same_bytes_every_time(tmp_path):
    """`aws cloudformation package` zips the CodeUri directory (zipfile.write: names, mtimes, modes) and names the
    upload by its MD5: staged files get a fixed mtime, so unchanged code keeps its S3 key and the self-update does not
    redeploy the function on every run."""
    import os
    import time
    import zipfile

    from generator import render

    lambda_files = {n: t for n, t in RENDERED.templates.items() if n.startswith("lambda/")}
    digests = []
    for attempt in range(2):
        staged = render.stage(lambda_files, tmp_path / f"out{attempt}")
        archive = tmp_path / f"code{attempt}.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
            folder = staged / "lambda" / "continue_reroute"
            for name in sorted(os.listdir(folder)):
                zf.write(folder / name, name)
        digests.append(archive.read_bytes())
        time.sleep(1.1)
    assert digests[0] == digests[1]


# ----------------------------------------------------------------------------------------------------- other shapes
PIPELINE_BLOCK = {"account_id": "123456789012", "repository": "acme/app", "notification_email": "ops@example.com",
                  "connection_arn": "arn:aws:codestar-connections:{region}:123456789012:connection/"
                                    "7d3f5c1a-2b4e-4f6a-9c8d-1e2f3a4b5c6d"}


@pytest.mark.slow
@pytest.mark.parametrize("fixture, extra", [
    ("minimal", {}),                                                   # one web service, one environment, no tests
    ("workers", {"test_command": "make e2e"}),                         # no web service: no release step; + staging
    ("existing-vpc", {}),
    ("minimal", {"services": []}),                                     # nothing to build: stack updates only
], ids=["minimal", "workers-with-tests", "existing-vpc", "no-services"])
def test_other_apps_with_a_pipeline_pass_the_whole_gate(tmp_path, fixture, extra):
    from generator.build import write

    raw = yaml.safe_load((ROOT / "tests" / "fixtures" / "apps" / f"{fixture}.yaml").read_text())
    block = {**PIPELINE_BLOCK, "connection_arn": PIPELINE_BLOCK["connection_arn"].format(region=raw["region"])}
    if "services" in extra:
        raw["services"] = extra.pop("services")
    if "test_command" in extra:
        raw["environments"]["staging"] = {"cidr": "10.42.0.0/16"}
    raw["pipeline"] = {**block, **extra}
    rendered = write(parse_app(raw), tmp_path / "templates_out", tmp_path / "params")   # raises on any finding
    pipeline = load(rendered.templates["pipeline.yaml"])["Resources"]["Pipeline"]["Properties"]
    names = [s["Name"] for s in pipeline["Stages"]]
    assert names[:2] == ["Source", "UpdatePipeline"] and ("Build" in names) == bool(raw["services"])
    web = any(s["kind"] == "web" for s in raw["services"])
    assert any(a["Name"] == "PrepareRelease" for s in pipeline["Stages"] for a in s["Actions"]) == web
