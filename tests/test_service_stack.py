"""The per-service stacks: what each template says, and the deploy-time pitfalls it avoids (aws-reference.md §1, §5,
§6 and the top-10 list). Most tests build one service stack in isolation, fed by stand-in outputs of the network,
cluster and registry stacks, so they check this module and nothing else; the last ones go through the root build,
the lint gate and checkov.
"""
from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

from generator.components import COMPONENTS
from generator.components.attachments import Attachments
import yaml

from generator import build as build_mod
from generator import params, root
from generator.config import load_app, parse_app
from generator.errors import ConfigError
from generator.components import database, environment, monitoring, service
from generator.components.cluster import ClusterOutputs
from generator.components.network import NetworkOutputs
from generator.components.registry import RegistryOutputs, Repository
from generator.wiring import OutputRef, StackBuilder
from tests.conftest import of_type

REPO = Path(__file__).resolve().parents[1]
APP = REPO / "tests" / "fixtures" / "specs" / "web-services.yaml"
WORKERS = REPO / "tests" / "fixtures" / "apps" / "workers.yaml"
NO_VALUE = {"Ref": "AWS::NoValue"}


# --- building one service stack in isolation ---------------------------------------------------------------------

def _ref(stack: str, name: str, cfn_type: str = "String") -> OutputRef:
    return OutputRef(stack, name, cfn_type, f"stand-in for {stack}.{name}")


NET = NetworkOutputs(_ref("Network", "VpcId", "AWS::EC2::VPC::Id"), _ref("Network", "VpcCidr"),
                     _ref("Network", "PublicSubnetIds", "List<AWS::EC2::Subnet::Id>"),
                     _ref("Network", "PrivateSubnetIds", "List<AWS::EC2::Subnet::Id>"), _ref("Network", "LogsKeyArn"))
CLUSTER = ClusterOutputs(
    _ref("Cluster", "ClusterName"), _ref("Cluster", "ClusterArn"), _ref("Cluster", "LoadBalancerFullName"),
    _ref("Cluster", "LoadBalancerDns"), _ref("Cluster", "ProductionListenerArn"), _ref("Cluster", "TestListenerArn"),
    _ref("Cluster", "LoadBalancerSecurityGroupId", "AWS::EC2::SecurityGroup::Id"),
    _ref("Cluster", "FargateWeight"), _ref("Cluster", "FargateSpotWeight"))


def _registry(app) -> RegistryOutputs:
    return RegistryOutputs({s.name: Repository(*(_ref("Registry", f"{s.name.capitalize()}Repository{a}")
                                                 for a in ("Name", "Arn", "Uri"))) for s in app.services})


def _stack(app_path: Path, name: str) -> tuple[dict, service.ServiceOutputs, StackBuilder]:
    app = load_app(app_path)
    svc = next(s for s in app.services if s.name == name)
    builder = service.COMPONENT.builder(app, name, f"test: {name}")
    stores = Attachments(app, COMPONENTS)
    if app.database is not None:   # the stores it may use are built first, as in root.py
        alerts = monitoring.build(app, monitoring.COMPONENT.builder(app), monitoring.env_inputs(app), cluster=CLUSTER)
        stores.add(database.build(app, database.COMPONENT.builder(app), database.env_inputs(app),
                                  environment.env_inputs(app), service.off_hours_inputs(app), net=NET,
                                  alerts=alerts).attachment)
    outputs = service.build(app, svc, builder, service.env_inputs(app, svc), service.off_hours_inputs(app),
                            environment.env_inputs(app), net=NET, cluster=CLUSTER, registry=_registry(app),
                            attachments=stores)
    return builder.template.to_dict(), outputs, builder


@pytest.fixture(scope="module")
def api() -> dict:
    return _stack(APP, "api")[0]


@pytest.fixture(scope="module")
def web() -> dict:
    return _stack(APP, "web")[0]


@pytest.fixture(scope="module")
def worker() -> dict:
    return _stack(WORKERS, "ingest")[0]


@pytest.fixture(scope="module")
def cron() -> dict:
    return _stack(WORKERS, "report")[0]


def props(template: dict, logical_id: str) -> dict:
    return template["Resources"][logical_id]["Properties"]


# --- web: CodeDeploy blue/green -------------------------------------------------------------------------------------

def test_web_service_is_deployed_by_codedeploy_and_names_the_task_family(api: dict) -> None:
    svc = props(api, "Service")
    assert svc["DeploymentController"] == {"Type": "CODE_DEPLOY"}
    family = {"Fn::Sub": "${Application}-${EnvironmentName}-api"}
    assert svc["TaskDefinition"] == family == props(api, "TaskDefinition")["Family"]  # never Ref (ARN + revision)
    # only the blue target group; the pair lives in the deployment group
    assert svc["LoadBalancers"] == [{"ContainerName": "api", "ContainerPort": 3000,
                                     "TargetGroupArn": {"Ref": "BlueTargetGroup"}}]
    assert "DeploymentConfiguration" not in svc  # circuit breaker/alarms only work with the ECS controller


def test_web_service_is_created_after_its_listener_rules_and_task_definition(api: dict) -> None:
    depends = api["Resources"]["Service"]["DependsOn"]
    assert set(depends) == {"TaskDefinition", "ProductionRule", "TestRule"}
    for rule, listener in (("ProductionRule", "ProductionListenerArn"), ("TestRule", "TestListenerArn")):
        rule_props = props(api, rule)
        assert rule_props["ListenerArn"] == {"Ref": listener}
        assert rule_props["Priority"] == 10
        assert rule_props["Conditions"] == [{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/api/*"]}}]
        assert rule_props["Actions"] == [{"Type": "forward", "TargetGroupArn": {"Ref": "BlueTargetGroup"}}]


def test_catch_all_web_service_gets_the_last_priority(web: dict) -> None:
    assert props(web, "ProductionRule")["Priority"] == 50000
    assert props(web, "ProductionRule")["Conditions"][0]["PathPatternConfig"] == {"Values": ["/*"]}


def test_target_groups_are_ip_targets_checking_the_health_path(api: dict) -> None:
    for title in ("BlueTargetGroup", "GreenTargetGroup"):
        tg = props(api, title)
        assert (tg["TargetType"], tg["Port"], tg["HealthCheckPath"]) == ("ip", 3000, "/api/health")
        assert "Name" not in tg  # generated names fit the 32-character limit


def test_deployment_group_uses_names_not_arns(api: dict) -> None:
    group = props(api, "DeploymentGroup")
    assert group["ECSServices"] == [{"ClusterName": {"Ref": "ClusterName"},
                                     "ServiceName": {"Fn::GetAtt": ["Service", "Name"]}}]
    (pair,) = group["LoadBalancerInfo"]["TargetGroupPairInfoList"]
    assert pair["TargetGroups"] == [{"Name": {"Fn::GetAtt": ["BlueTargetGroup", "TargetGroupName"]}},
                                    {"Name": {"Fn::GetAtt": ["GreenTargetGroup", "TargetGroupName"]}}]
    assert pair["ProdTrafficRoute"] == {"ListenerArns": [{"Ref": "ProductionListenerArn"}]}
    assert pair["TestTrafficRoute"] == {"ListenerArns": [{"Ref": "TestListenerArn"}]}
    assert group["DeploymentStyle"] == {"DeploymentType": "BLUE_GREEN", "DeploymentOption": "WITH_TRAFFIC_CONTROL"}


def test_deployment_group_release_settings_come_from_parameters(api: dict) -> None:
    group = props(api, "DeploymentGroup")
    assert group["DeploymentConfigName"] == {"Ref": "ApiDeploymentConfig"}
    ready = group["BlueGreenDeploymentConfiguration"]["DeploymentReadyOption"]
    assert ready == {"ActionOnTimeout": {"Fn::If": ["WaitForApproval", "STOP_DEPLOYMENT", "CONTINUE_DEPLOYMENT"]},
                     "WaitTimeInMinutes": {"Fn::If": ["WaitForApproval", {"Ref": "ApiApprovalWaitMinutes"}, 0]}}
    assert api["Conditions"]["WaitForApproval"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "ApiApprovalWaitMinutes"},
                                                                                "0"]}]}
    assert group["BlueGreenDeploymentConfiguration"]["TerminateBlueInstancesOnDeploymentSuccess"] == {
        "Action": "TERMINATE", "TerminationWaitTimeInMinutes": {"Ref": "ApiTerminationWaitMinutes"}}
    assert group["AutoRollbackConfiguration"] == {"Enabled": True,
                                                  "Events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]}
    assert "GreenFleetProvisioningOption" not in group["BlueGreenDeploymentConfiguration"]  # EC2 only


def test_releases_roll_back_on_the_services_alarms(api: dict) -> None:
    alarms = props(api, "DeploymentGroup")["AlarmConfiguration"]
    assert alarms["Enabled"] is True
    assert alarms["Alarms"] == [{"Name": {"Ref": "ErrorRateAlarm"}}, {"Name": {"Ref": "UnhealthyTasksAlarm"}}]
    for title in ("ErrorRateAlarm", "UnhealthyTasksAlarm"):
        alarm = props(api, title)
        assert alarm["TreatMissingData"] == "notBreaching"  # scaled to zero: no data is not a failure
        groups = {m["MetricStat"]["Metric"]["Dimensions"][1]["Value"]["Fn::GetAtt"][0]
                  for m in alarm["Metrics"] if "MetricStat" in m}
        assert groups == {"BlueTargetGroup", "GreenTargetGroup"}  # traffic moves between them on every release


def test_codedeploy_role_uses_the_ecs_managed_policy(api: dict) -> None:
    role = props(api, "CodeDeployRole")
    assert role["ManagedPolicyArns"] == [{"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/AWSCodeDeployRoleForECS"}]
    (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": ["codedeploy.amazonaws.com"]}


def test_web_service_accepts_traffic_only_from_the_load_balancer(api: dict) -> None:
    group = props(api, "SecurityGroup")
    assert group["SecurityGroupIngress"] == [{
        "IpProtocol": "tcp", "FromPort": 3000, "ToPort": 3000,
        "SourceSecurityGroupId": {"Ref": "LoadBalancerSecurityGroupId"},
        "Description": "From the load balancer to the api container port"}]
    assert all(rule.get("Description") for rule in group["SecurityGroupEgress"])
    network = props(api, "Service")["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert network == {"AssignPublicIp": "DISABLED", "Subnets": {"Ref": "PrivateSubnetIds"},
                       "SecurityGroups": [{"Fn::GetAtt": ["SecurityGroup", "GroupId"]}]}


def test_web_container_has_a_health_check_probing_the_health_path(api: dict) -> None:
    (container,) = props(api, "TaskDefinition")["ContainerDefinitions"]
    command = container["HealthCheck"]["Command"]
    assert command[0] == "CMD-SHELL" and "http://localhost:3000/api/health" in command[1]
    assert container["Environment"] == [{"Name": "NODE_ENV", "Value": "production"}]
    assert container["Image"] == {"Fn::Sub": ["${Uri}:${ImageTag}", {"Uri": {"Ref": "ApiRepositoryUri"}}]}


# --- scaling ---------------------------------------------------------------------------------------------------------

def test_worker_states_a_count_only_while_bootstrapping(worker: dict) -> None:
    assert props(worker, "Service")["DesiredCount"] == {"Fn::If": ["Bootstrapping", 0, NO_VALUE]}
    assert worker["Conditions"]["Bootstrapping"] == {"Fn::Equals": [{"Ref": "ImageTag"}, "bootstrap"]}


def test_web_service_count_is_a_constant_autoscaling_moves(api: dict) -> None:
    """A CODE_DEPLOY service must never change through the stack (tests/test_codedeploy_invariance.py): a constant
    0 at creation, moved into range by RegisterScalableTarget; the range, not the service, follows bootstrap."""
    assert props(api, "Service")["DesiredCount"] == 0
    assert api["Conditions"]["Bootstrapping"] == {"Fn::Equals": [{"Ref": "ImageTag"}, "bootstrap"]}


def test_scalable_target_names_the_service_and_takes_min_max_from_parameters(api: dict) -> None:
    target = props(api, "ScalableTarget")
    assert target["ResourceId"] == {"Fn::Join": ["/", ["service", {"Ref": "ClusterName"},
                                                        {"Fn::GetAtt": ["Service", "Name"]}]]}
    assert (target["ServiceNamespace"], target["ScalableDimension"]) == ("ecs", "ecs:service:DesiredCount")
    assert target["MinCapacity"] == {"Fn::If": ["Bootstrapping", 0, {"Ref": "ApiMinCount"}]}
    assert target["MaxCapacity"] == {"Fn::If": ["Bootstrapping", 0, {"Ref": "ApiMaxCount"}]}


def test_cpu_step_scaling_thresholds_come_from_parameters(api: dict) -> None:
    high, low = props(api, "CpuHighAlarm"), props(api, "CpuLowAlarm")
    assert (high["Threshold"], high["ComparisonOperator"]) == ({"Ref": "ApiCpuScaleOut"}, "GreaterThanThreshold")
    assert (low["Threshold"], low["ComparisonOperator"]) == ({"Ref": "ApiCpuScaleIn"}, "LessThanThreshold")
    assert high["AlarmActions"] == [{"Ref": "CpuScaleOutPolicy"}]
    assert low["AlarmActions"] == [{"Ref": "CpuScaleInPolicy"}]
    assert high["Dimensions"] == [{"Name": "ClusterName", "Value": {"Ref": "ClusterName"}},
                                  {"Name": "ServiceName", "Value": {"Fn::GetAtt": ["Service", "Name"]}}]
    out = props(api, "CpuScaleOutPolicy")["StepScalingPolicyConfiguration"]["StepAdjustments"]
    assert [s["ScalingAdjustment"] for s in out] == [1, 2]
    assert props(api, "CpuScaleInPolicy")["StepScalingPolicyConfiguration"]["StepAdjustments"] == [
        {"MetricIntervalUpperBound": 0, "ScalingAdjustment": -1}]


def test_request_count_scaling_is_optional_and_sums_both_target_groups(api: dict, worker: dict) -> None:
    policy = api["Resources"]["RequestCountPolicy"]
    assert policy["Condition"] == "RequestScaling"
    config = policy["Properties"]["TargetTrackingScalingPolicyConfiguration"]
    assert config["TargetValue"] == {"Ref": "ApiRequestsPerTarget"}
    metrics = config["CustomizedMetricSpecification"]["Metrics"]
    assert [m["Id"] for m in metrics] == ["blue", "green", "requests"]
    assert metrics[2] == {"Id": "requests", "Expression": "FILL(blue, 0) + FILL(green, 0)",
                          "Label": "Requests per task, both target groups", "ReturnData": True}
    assert "RequestCountPolicy" not in worker["Resources"]


def test_off_hours_actions_exist_only_under_the_non_production_condition(api: dict) -> None:
    condition = api["Conditions"]["OffHours"]["Fn::And"]
    assert {"Fn::Equals": [{"Ref": "Production"}, "false"]} in condition
    assert {"Fn::Not": [{"Fn::Equals": [{"Ref": "OffHoursStop"}, ""]}]} in condition
    actions = props(api, "ScalableTarget")["ScheduledActions"]["Fn::If"]
    assert actions[0] == "OffHours" and actions[2] == NO_VALUE
    stop, start = actions[1]
    assert stop["ScalableTargetAction"] == {"MinCapacity": 0, "MaxCapacity": 0}
    assert stop["Schedule"] == {"Ref": "OffHoursStop"} and stop["Timezone"] == {"Ref": "OffHoursTimezone"}
    assert start["ScalableTargetAction"] == {"MinCapacity": {"Ref": "ApiMinCount"},
                                             "MaxCapacity": {"Ref": "ApiMaxCount"}}


# --- worker ---------------------------------------------------------------------------------------------------------

def test_worker_rolls_with_circuit_breaker_and_rollback(worker: dict) -> None:
    svc = props(worker, "Service")
    assert svc["DeploymentController"] == {"Type": "ECS"}
    assert svc["DeploymentConfiguration"]["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}
    assert svc["TaskDefinition"] == {"Ref": "TaskDefinition"}  # the ECS controller rolls to each new revision
    assert "LoadBalancers" not in svc and "SecurityGroupIngress" not in props(worker, "SecurityGroup")
    assert svc["EnableExecuteCommand"] == {"Fn::If": ["ExecEnabled", True, False]}
    assert [p["CapacityProvider"] for p in svc["CapacityProviderStrategy"]] == ["FARGATE", "FARGATE_SPOT"]
    assert not of_type(worker, "AWS::CodeDeploy::DeploymentGroup")


# --- IAM and secrets ------------------------------------------------------------------------------------------------

def _statements(role: dict) -> dict[str, dict]:
    (policy,) = role["Policies"]
    return {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}


SECRET_ARN = "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:"


def test_execution_role_reaches_only_its_repository_log_group_and_secrets(worker: dict) -> None:
    statements = _statements(props(worker, "ExecutionRole"))
    assert statements["PullImage"]["Resource"] == [{"Ref": "IngestRepositoryArn"}]
    assert statements["WriteLogs"]["Resource"] == [{"Fn::GetAtt": ["LogGroup", "Arn"]}]
    assert statements["ReadSecrets"]["Action"] == ["secretsmanager:GetSecretValue"]
    assert statements["ReadSecrets"]["Resource"] == [
        {"Fn::Sub": SECRET_ARN + "${Application}/${EnvironmentName}/db-??????"},
        {"Fn::Sub": SECRET_ARN + "${Application}/shared/partner-api-??????"}]
    assert statements["DecryptSecrets"]["Condition"] == {
        "StringEquals": {"kms:ViaService": {"Fn::Sub": "secretsmanager.${AWS::Region}.amazonaws.com"}}}
    wildcard = sorted(sid for sid, s in statements.items() if s["Resource"] == ["*"] and "Condition" not in s)
    assert wildcard == ["EcrLogin"]  # GetAuthorizationToken has no resource to scope to


def test_execution_role_without_secrets_has_no_secret_access(api: dict) -> None:
    assert set(_statements(props(api, "ExecutionRole"))) == {"EcrLogin", "PullImage", "WriteLogs"}


def test_secrets_are_injected_by_partial_arn_and_json_key(worker: dict) -> None:
    (container,) = props(worker, "TaskDefinition")["ContainerDefinitions"]
    assert container["Secrets"] == [
        {"Name": "API_TOKEN", "ValueFrom": {"Fn::Sub": SECRET_ARN + "${Application}/shared/partner-api"}},
        {"Name": "DB_PASSWORD",
         "ValueFrom": {"Fn::Sub": SECRET_ARN + "${Application}/${EnvironmentName}/db:password::"}},
        {"Name": "DB_USER",
         "ValueFrom": {"Fn::Sub": SECRET_ARN + "${Application}/${EnvironmentName}/db:username::"}},
    ]
    assert props(worker, "TaskDefinition")["EphemeralStorage"] == {"SizeInGiB": 50}


@pytest.mark.parametrize("fixture", ["api", "worker", "cron"])
def test_ecs_exec_permissions_only_when_the_environment_allows_it(fixture: str, request) -> None:
    template = request.getfixturevalue(fixture)
    policies = props(template, "TaskRole")["Policies"]["Fn::If"]
    assert policies[0] == "ExecEnabled" and policies[2] == NO_VALUE
    (statement,) = policies[1][0]["PolicyDocument"]["Statement"]
    assert statement["Action"] == ["ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
                                   "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"]
    name = {"api": "ApiExecEnabled", "worker": "IngestExecEnabled", "cron": "ReportExecEnabled"}[fixture]
    assert template["Conditions"]["ExecEnabled"] == {"Fn::Equals": [{"Ref": name}, "true"]}


def test_log_group_is_encrypted_and_keeps_logs_as_long_as_the_environment_says(worker: dict) -> None:
    group = props(worker, "LogGroup")
    assert group["KmsKeyId"] == {"Ref": "LogsKeyArn"}
    assert group["RetentionInDays"] == {"Ref": "IngestLogRetention"}
    assert group["LogGroupName"] == {"Fn::Sub": "/${Application}/${EnvironmentName}/services/ingest"}


# --- cron -----------------------------------------------------------------------------------------------------------

def test_cron_is_started_by_scheduler_with_retries_and_a_dead_letter_queue(cron: dict) -> None:
    schedule = props(cron, "Schedule")
    assert schedule["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert (schedule["ScheduleExpression"], schedule["ScheduleExpressionTimezone"]) == ("cron(30 2 * * ? *)",
                                                                                        "Europe/Berlin")
    assert schedule["State"] == {"Fn::If": ["Bootstrapping", "DISABLED", "ENABLED"]}
    target = schedule["Target"]
    assert target["Arn"] == {"Ref": "JobStateMachine"}
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 3600}
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}}
    start = _statements(props(cron, "ScheduleRole"))
    assert start["StartJob"]["Resource"] == [{"Ref": "JobStateMachine"}]
    assert start["DeadLetter"]["Resource"] == [{"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}]
    assert not of_type(cron, "AWS::ECS::Service")  # no always-on container


def _definition(template: dict) -> dict:
    text, variables = props(template, "JobStateMachine")["DefinitionString"]["Fn::Sub"]
    return json.loads(re.sub(r"\$\{Exec\}", "true", text)), variables


def test_cron_runs_never_overlap(cron: dict) -> None:
    definition, variables = _definition(cron)
    states = definition["States"]
    assert definition["StartAt"] == "FindRunningTask"
    assert states["FindRunningTask"]["Resource"] == "arn:${AWS::Partition}:states:::aws-sdk:ecs:listTasks"
    assert states["FindRunningTask"]["Parameters"] == {"Cluster": "${ClusterArn}", "Family": "${Family}",
                                                       "DesiredStatus": "RUNNING"}
    (choice,) = states["StillRunning"]["Choices"]
    assert states[choice["Next"]]["Type"] == "Succeed" and states["StillRunning"]["Default"] == "RunTask"
    run = states["RunTask"]
    assert run["Resource"] == "arn:${AWS::Partition}:states:::ecs:runTask.sync"
    assert run["Parameters"]["NetworkConfiguration"]["AwsvpcConfiguration"]["AssignPublicIp"] == "DISABLED"
    assert variables["Family"] == props(cron, "TaskDefinition")["Family"]
    assert variables["TaskDefinition"] == {"Ref": "TaskDefinition"}
    assert variables["Exec"] == {"Fn::If": ["ExecEnabled", "true", "false"]}


def test_job_role_runs_only_its_family_on_its_cluster(cron: dict) -> None:
    statements = _statements(props(cron, "JobRole"))
    assert statements["RunTask"]["Resource"] == [{"Fn::Sub": [
        "arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:task-definition/${Family}:*",
        {"Family": {"Fn::Sub": "${Application}-${EnvironmentName}-report"}}]}]
    on_cluster = {"ArnEquals": {"ecs:cluster": {"Ref": "ClusterArn"}}}
    assert statements["RunTask"]["Condition"] == statements["SeeRunningTasks"]["Condition"] == on_cluster
    assert statements["PassTaskRoles"]["Resource"] == [{"Fn::GetAtt": ["TaskRole", "Arn"]},
                                                       {"Fn::GetAtt": ["ExecutionRole", "Arn"]}]


def test_outputs_by_kind() -> None:
    _, web_out, _ = _stack(APP, "api")
    _, cron_out, _ = _stack(WORKERS, "report")
    assert (web_out.service_name.name, web_out.deployment_group.name) == ("ServiceName", "DeploymentGroup")
    assert web_out.job_state_machine_arn is None
    assert cron_out.service_name is None and cron_out.dead_letter_queue_arn.name == "DeadLetterQueueArn"


# --- the app spec ---------------------------------------------------------------------------------------------------

def _parse(mutate) -> list[str]:
    raw = yaml.safe_load(APP.read_text())
    mutate(raw)
    with pytest.raises(ConfigError) as caught:
        parse_app(copy.deepcopy(raw))
    return caught.value.lines()


def test_deployment_config_names_are_checked_exactly() -> None:
    lines = _parse(lambda r: r["environments"]["prod"]["services"]["api"].update(
        deployment_config="CodeDeployDefault.ECSCanary10percent5Minutes"))
    assert lines == ["app.yaml: environments.prod.services.api.deployment_config: "
                     "'CodeDeployDefault.ECSCanary10percent5Minutes' is not allowed; use one of "
                     "'CodeDeployDefault.ECSAllAtOnce', 'CodeDeployDefault.ECSLinear10PercentEvery1Minutes', "
                     "'CodeDeployDefault.ECSLinear10PercentEvery3Minutes', "
                     "'CodeDeployDefault.ECSCanary10Percent5Minutes' or "
                     "'CodeDeployDefault.ECSCanary10Percent15Minutes' (did you mean 'CodeDeployDefault.ECSCanary10Percent5Minutes'?)"]


def test_listener_rule_priorities_are_unique() -> None:
    lines = _parse(lambda r: r["services"][2]["routing"].update(priority=10))
    assert lines == ["app.yaml: services.nest.routing.priority: priority 10 is already used by service 'api'; "
                     "give each web service its own priority"]


def test_only_one_web_service_may_be_the_catch_all() -> None:
    lines = _parse(lambda r: r["services"][2].pop("routing"))
    assert lines == ["app.yaml: services.nest.routing: web services 'web', 'nest' have no routing, but only one can "
                     "be the catch-all (priority 50000); give this one routing with path_patterns or hosts and a "
                     "priority"]


def test_off_hours_are_refused_in_production() -> None:
    lines = _parse(lambda r: r["environments"]["prod"].update(
        off_hours={"stop": "cron(0 20 ? * MON-FRI *)", "start": "cron(0 7 ? * MON-FRI *)", "timezone": "Mars/Olympus"}))
    assert lines == [
        "app.yaml: environments.prod.off_hours: production never scales to zero on a timetable; remove off_hours here",
        "app.yaml: environments.prod.off_hours.timezone: 'Mars/Olympus' is not an IANA time zone name; use one such as "
        "Europe/Berlin or UTC"]


def test_per_environment_settings_are_checked() -> None:
    def mutate(raw):
        services = raw["environments"]["dev"]["services"]
        services["apii"] = {"exec": True}
        services["cron"]["min_count"] = 2
        services["api"].update(desired_count=2, cpu_scale_in=80)
    assert _parse(mutate) == [
        "app.yaml: environments.dev.services.api.desired_count: give either desired_count (a fixed count) or "
        "min_count/max_count (autoscaling), not both",
        "app.yaml: environments.dev.services.api.cpu_scale_in: cpu_scale_in (80) must be below cpu_scale_out (70), "
        "or tasks would be added and removed in turn",
        "app.yaml: environments.dev.services.cron.min_count: 'cron' is a cron service, which does not use min_count; "
        "remove it",
        "app.yaml: environments.dev.services.apii: no service is called 'apii'; did you mean 'api'?",
    ]


def test_each_service_runs_its_own_image_tag() -> None:
    """One root parameter per service (`<Service>ImageTag`), so a service new to a running environment can start in
    bootstrap while the others keep their images; inside the service stack it is `ImageTag`."""
    app = parse_app({"app": "tiny", "owner": "me", "region": "eu-west-1",
                     "services": [{"name": "site", "kind": "web", "port": 80},
                                  {"name": "jobs-runner", "kind": "worker"}],
                     "environments": {"dev": {"cidr": "10.0.0.0/16"}}})
    built = root.build(app).root.to_dict()
    assert "ImageTag" not in built["Parameters"]
    for name, stack in (("SiteImageTag", "ServiceSite"), ("JobsRunnerImageTag", "ServiceJobsRunner")):
        assert built["Parameters"][name]["AllowedPattern"] == r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"
        assert built["Resources"][stack]["Properties"]["Parameters"]["ImageTag"] == {"Ref": name}
    values = params.environment_values(app, root.build(app), "dev")
    assert (values["SiteImageTag"], values["JobsRunnerImageTag"]) == ("bootstrap", "bootstrap")


def test_secret_names_must_work_as_partial_arns() -> None:
    lines = _parse(lambda r: r["services"][1].update(secrets={"DB": "${Application}/db-master:password"}))
    assert lines == ["app.yaml: services.api.secrets.DB: secret name 'tunecast/db-master' ends in '-' and six "
                     "characters, which Secrets Manager takes for the random suffix of a full ARN, so the task could "
                     "not find it; rename the secret (e.g. end it in '/' plus a word, or use '_' instead of '-')"]


def test_existing_app_files_stay_valid() -> None:
    """Every new field is optional: a web service without routing, no per-environment settings."""
    app = parse_app({"app": "tiny", "owner": "me", "region": "eu-west-1",
                     "services": [{"name": "site", "kind": "web", "port": 80}],
                     "environments": {"dev": {"cidr": "10.0.0.0/16"}}})
    values = params.environment_values(app, root.build(app), "dev")
    assert (values["SiteMinCount"], values["SiteMaxCount"], values["SiteImageTag"]) == ("1", "1", "bootstrap")
    assert values["SiteDeploymentConfig"] == "CodeDeployDefault.ECSAllAtOnce" and values["OffHoursStop"] == ""


# --- through the root: wiring, parameter files, gate, checkov ------------------------------------------------------

@pytest.fixture(scope="module")
def default_build():
    app = load_app(APP)
    return app, root.build(app)


def test_each_service_is_a_nested_stack_wired_to_the_others(default_build) -> None:
    _, b = default_build
    stacks = b.root.to_dict()["Resources"]
    assert [k for k in stacks if k.startswith("Service")] == ["ServiceWeb", "ServiceApi", "ServiceNest", "ServiceCron"]
    api = stacks["ServiceApi"]["Properties"]
    assert api["TemplateURL"] == "./service-api.yaml"
    assert api["Parameters"]["ClusterName"] == {"Fn::GetAtt": ["Cluster", "Outputs.ClusterName"]}
    assert api["Parameters"]["ApiRepositoryUri"] == {"Fn::GetAtt": ["Registry", "Outputs.ApiRepositoryUri"]}
    assert api["Parameters"]["PrivateSubnetIds"] == {"Fn::GetAtt": ["Network", "Outputs.PrivateSubnetIds"]}
    assert api["Parameters"]["ApiMinCount"] == {"Ref": "ApiMinCount"}


def test_parameter_files_carry_each_environments_service_settings(default_build) -> None:
    app, b = default_build
    dev, prod = (params.environment_values(app, b, env) for env in ("dev", "prod"))
    assert (dev["OffHoursStop"], dev["OffHoursTimezone"]) == ("cron(0 20 ? * MON-FRI *)", "Europe/Berlin")
    assert (prod["OffHoursStop"], prod["OffHoursStart"], prod["Production"]) == ("", "", "true")
    assert (dev["WebMinCount"], dev["WebMaxCount"], prod["ApiMinCount"], prod["ApiMaxCount"]) == ("1", "1", "2", "10")
    assert dev["ApiDeploymentConfig"] == "CodeDeployDefault.ECSAllAtOnce"
    assert prod["ApiDeploymentConfig"] == "CodeDeployDefault.ECSCanary10Percent5Minutes"
    assert (prod["ApiApprovalWaitMinutes"], prod["ApiRequestsPerTarget"], prod["ApiLogRetention"]) == ("240", "600",
                                                                                                       "365")
    assert (dev["ApiExecEnabled"], prod["ApiExecEnabled"]) == ("true", "false")
    assert len(b.parameters) < 120  # CloudFormation allows 200 root parameters; services must leave room


@pytest.mark.parametrize("app_path", [APP, WORKERS], ids=["app", "workers"])
def test_generated_templates_pass_the_gate(app_path: Path, tmp_path: Path) -> None:
    app = load_app(app_path)
    build_mod.write(app, tmp_path / "templates", tmp_path / "params")  # raises ValidationFailed on any finding
    names = sorted(p.name for p in (tmp_path / "templates").glob("service-*.yaml"))
    assert names == sorted(f"service-{s.name}.yaml" for s in app.services)
