"""The monitoring component (docs/monitoring.md): the alert topic and who it reaches, each service's alarms and its
one composite alarm, the dashboard. The values asserted here are what decides whether people are told, and how often.

Facts they rest on: Container Insights metric names (EphemeralStorageUtilized/Reserved, RunningTaskCount,
DesiredTaskCount: "Amazon ECS Container Insights metrics", CloudWatch User Guide); ECS task state-change events
(`stopCode`, `stoppedReason`, `group: service:<name>`: "Amazon ECS task state change events", ECS Developer Guide);
a rule's AWS/Events MatchedEvents metric by RuleName ("Monitoring Amazon EventBridge", EventBridge User Guide)."""
from __future__ import annotations

import json

import pytest

from generator.build import render_app
from generator.config import load_app
from tests.offline import param_values, render_nested
from tests.support import DEFAULT_APP, ROOT
from tests.templates import load

FIXTURES = ROOT / "tests" / "fixtures" / "apps"


@pytest.fixture(scope="module")
def watched():
    return render_app(load_app(FIXTURES / "monitored.yaml"))


@pytest.fixture(scope="module")
def minimal():
    return render_app(load_app(FIXTURES / "minimal.yaml"))


def resources(rendered, name: str) -> dict:
    return load(rendered.templates[name])["Resources"]


def params(rendered, env: str) -> dict:
    return param_values(rendered.params[f"{env}.json"])


def test_the_alert_topic_is_encrypted_with_a_key_cloudwatch_may_use(watched):
    res = resources(watched, "monitoring.yaml")
    topic = res["AlertTopic"]["Properties"]
    assert topic["KmsMasterKeyId"] == {"Fn::GetAtt": ["AlertKey", "Arn"]}
    statements = {s["Sid"]: s for s in res["AlertKey"]["Properties"]["KeyPolicy"]["Statement"]}
    publish = statements["CloudWatchAlarmsPublish"]
    assert publish["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert set(publish["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey"}


def test_each_environment_subscribes_its_own_addresses(watched):
    assert params(watched, "prod")["AlertEmails"] == "team@example.com,oncall@example.com"
    assert params(watched, "prod")["AlertEmailCount"] == "2"
    assert params(watched, "prod")["AlertTopicArn"] == "arn:aws:sns:eu-west-1:222222222222:watched-oncall"
    assert params(watched, "prod")["AlarmNotifications"] == "true"
    assert (params(watched, "dev")["AlarmNotifications"], params(watched, "dev")["AlertTopicArn"]) == ("false", "")
    template = load(watched.templates["monitoring.yaml"])
    slots = template["Mappings"]["EmailSlots"]
    assert slots["2"]["Slot1"] == slots["2"]["Slot2"] == "true" and slots["2"]["Slot3"] == "false"
    assert slots["0"]["Slot1"] == "false"
    second = template["Resources"]["AlertEmail2"]
    assert second["Condition"] == "HasAlertEmail2"
    assert second["Properties"]["Endpoint"] == {"Fn::Select": [1, {"Ref": "AlertEmails"}]}


def test_one_composite_alarm_per_service_notifies_and_the_others_do_not(watched):
    res = resources(watched, "service-api.yaml")
    composite = res["Alarm"]["Properties"]
    assert composite["AlarmName"] == {"Fn::Sub": "${Application}-${EnvironmentName}-api"}
    assert composite["AlarmActions"] == composite["OKActions"] == {"Ref": "AlarmActions"}
    assert composite["ActionsEnabled"] == {"Ref": "AlarmNotifications"}
    children = watched_alarms(res)
    assert children == {"CpuAlarm", "MemoryAlarm", "DiskAlarm", "StoppedTasksAlarm", "RunningTasksAlarm",
                        "ErrorRateAlarm", "UnhealthyTasksAlarm", "LatencyAlarm"}
    for lid in children:
        props = res[lid]["Properties"]
        assert "AlarmActions" not in props and "OKActions" not in props, lid
        assert props["TreatMissingData"] == "notBreaching", lid
    # the scaling alarms act on the scaling policies, not on people
    others = {lid for lid, r in res.items() if r["Type"] == "AWS::CloudWatch::Alarm"} - children
    assert others == {"CpuHighAlarm", "CpuLowAlarm"}


def watched_alarms(res: dict) -> set[str]:
    """The alarms the composite alarm's rule names."""
    rule = res["Alarm"]["Properties"]["AlarmRule"]["Fn::Sub"]
    return {part.removeprefix('ALARM("${').removesuffix('.Arn}")') for part in rule.split(" OR ")}


def test_alarms_ref_environment_wide_threshold_parameters(watched, minimal):
    """The templates carry no threshold: each alarm Refs a Number parameter (CloudFormation: AWS::CloudWatch::Alarm
    `Threshold` is a Number, `EvaluationPeriods` and `DatapointsToAlarm` Integers, and a Number parameter is "an
    integer or float", https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-cw-alarm.html,
    .../parameters-section-structure.html; the scaling alarms Ref theirs the same way). One root parameter per
    threshold, whatever the number of services."""
    for rendered, name in ((minimal, "service-app.yaml"), (watched, "service-api.yaml")):
        template = load(rendered.templates[name])
        res = template["Resources"]
        cpu = res["CpuAlarm"]["Properties"]
        assert (cpu["Namespace"], cpu["MetricName"], cpu["Statistic"], cpu["Period"]) == (
            "AWS/ECS", "CPUUtilization", "Average", 60)
        assert (cpu["Threshold"], cpu["EvaluationPeriods"], cpu["DatapointsToAlarm"]) == (
            {"Ref": "AlarmCpuPercent"}, {"Ref": "AlarmSustainedMinutes"}, {"Ref": "AlarmBreachingMinutes"})
        memory = res["MemoryAlarm"]["Properties"]
        assert (memory["Threshold"], memory["EvaluationPeriods"], memory["DatapointsToAlarm"]) == (
            {"Ref": "AlarmMemoryPercent"}, {"Ref": "AlarmSustainedMinutes"}, {"Ref": "AlarmBreachingMinutes"})
        latency = res["LatencyAlarm"]["Properties"]
        assert (latency["Threshold"], latency["EvaluationPeriods"], latency["DatapointsToAlarm"]) == (
            {"Ref": "AlarmLatencySeconds"}, {"Ref": "AlarmSustainedMinutes"}, {"Ref": "AlarmBreachingMinutes"})
        assert res["ErrorRateAlarm"]["Properties"]["Threshold"] == {"Ref": "AlarmErrorRatePercent"}
        assert res["DiskAlarm"]["Properties"]["Threshold"] == {"Ref": "AlarmDiskPercent"}
        assert cpu["AlarmDescription"]["Fn::Sub"].endswith(
            "average CPU above ${AlarmCpuPercent}% in ${AlarmBreachingMinutes} of the last ${AlarmSustainedMinutes} "
            "minutes")
        for p in ("AlarmCpuPercent", "AlarmSustainedMinutes", "AlarmBreachingMinutes", "AlarmLatencySeconds"):
            assert template["Parameters"][p]["Type"] == "Number"
        stops = res["StoppedTasksAlarm"]["Properties"]   # a count of failures: the same everywhere
        assert (stops["Period"], stops["EvaluationPeriods"], stops["DatapointsToAlarm"], stops["Threshold"]) == (
            300, 3, 2, 0)
    root = load(watched.templates["root.yaml"])
    alarm_params = sorted(p for p in root["Parameters"] if p.startswith("Alarm") and p != "AlarmNotifications")
    assert alarm_params == ["AlarmBreachingMinutes", "AlarmCpuPercent", "AlarmDiskPercent", "AlarmErrorRatePercent",
                            "AlarmLatencySeconds", "AlarmMemoryPercent", "AlarmSustainedMinutes"]
    for stack in ("ServiceApi", "ServiceMailer"):    # the web service and the worker take the same parameter
        passed = root["Resources"][stack]["Properties"]["Parameters"]
        assert passed["AlarmCpuPercent"] == {"Ref": "AlarmCpuPercent"}
    assert "AlarmLatencySeconds" not in root["Resources"]["ServiceMailer"]["Properties"]["Parameters"]
    cpu = root["Parameters"]["AlarmCpuPercent"]
    assert (cpu["Type"], cpu["MinValue"], cpu["MaxValue"]) == ("Number", 50, 100)
    assert (root["Parameters"]["AlarmLatencySeconds"]["MinValue"], root["Parameters"]["AlarmBreachingMinutes"]
            ["MaxValue"]) == (0.1, 60)
    interface = root["Metadata"]["AWS::CloudFormation::Interface"]
    [group] = [g for g in interface["ParameterGroups"] if g["Label"]["default"] == "Alarm thresholds"]
    assert sorted(group["Parameters"]) == alarm_params
    assert interface["ParameterLabels"]["AlarmCpuPercent"] == {"default": "CPU %"}


def test_each_parameter_file_carries_its_environments_thresholds(watched, minimal):
    """dev overrides four keys (`alerts.thresholds`); every other value, and prod's, is the app-level one
    (`monitoring:`); `breaching_minutes` unset is all of `sustained_minutes`."""
    keys = ("AlarmCpuPercent", "AlarmMemoryPercent", "AlarmDiskPercent", "AlarmSustainedMinutes",
            "AlarmBreachingMinutes", "AlarmErrorRatePercent", "AlarmLatencySeconds")
    assert [params(watched, "dev")[k] for k in keys] == ["95", "90", "80", "15", "12", "3", "5"]
    assert [params(watched, "prod")[k] for k in keys] == ["85", "90", "80", "5", "5", "3", "1.5"]
    assert [params(minimal, "dev")[k] for k in keys] == ["90", "90", "80", "10", "10", "5", "2"]   # the defaults


def test_one_template_renders_each_environments_thresholds(watched):
    """The api's template rendered offline (cloud-radar) with dev's and prod's parameter files: the alarms differ as
    the environments' thresholds do, the template does not."""
    dev, prod = (render_nested(watched.templates, "service-api.yaml", params(watched, env)) for env in ("dev", "prod"))
    window = ("Threshold", "EvaluationPeriods", "DatapointsToAlarm")
    assert [float(dev["CpuAlarm"][k]) for k in window] == [95, 15, 12]
    assert [float(prod["CpuAlarm"][k]) for k in window] == [85, 5, 5]
    assert [float(dev["LatencyAlarm"][k]) for k in window] == [5, 15, 12]
    assert [float(prod["LatencyAlarm"][k]) for k in window] == [1.5, 5, 5]
    assert float(dev["MemoryAlarm"]["Threshold"]) == float(prod["MemoryAlarm"]["Threshold"]) == 90
    assert dev["CpuAlarm"]["AlarmDescription"] == "api: average CPU above 95% in 12 of the last 15 minutes"
    assert prod["LatencyAlarm"]["AlarmDescription"] == "api: p99 response time above 1.5 s in 5 of the last 5 minutes"


def test_a_worker_has_the_service_alarms_without_the_load_balancers(watched):
    mailer = resources(watched, "service-mailer.yaml")
    assert watched_alarms(mailer) == {"CpuAlarm", "MemoryAlarm", "DiskAlarm", "StoppedTasksAlarm",
                                      "RunningTasksAlarm"}
    assert mailer["Alarm"]["Properties"]["AlarmName"] == {"Fn::Sub": "${Application}-${EnvironmentName}-mailer"}


def test_disk_and_running_tasks_compare_container_insights_metrics(watched):
    api = resources(watched, "service-api.yaml")
    disk = {m["Id"]: m for m in api["DiskAlarm"]["Properties"]["Metrics"]}
    assert disk["used"]["MetricStat"]["Metric"]["MetricName"] == "EphemeralStorageUtilized"
    assert disk["reserved"]["MetricStat"]["Metric"]["MetricName"] == "EphemeralStorageReserved"
    assert disk["used"]["MetricStat"]["Metric"]["Namespace"] == "ECS/ContainerInsights"
    assert "100 * FILL(used, 0) / reserved" in disk["value"]["Expression"]
    running = {m["Id"]: m for m in api["RunningTasksAlarm"]["Properties"]["Metrics"]}
    assert running["desired"]["MetricStat"]["Metric"]["MetricName"] == "DesiredTaskCount"
    assert running["running"]["MetricStat"]["Metric"]["MetricName"] == "RunningTaskCount"
    assert running["value"]["Expression"] == "FILL(desired, 0) - FILL(running, 0)"


def test_the_stopped_tasks_rule_counts_failures_only(watched):
    api = resources(watched, "service-api.yaml")
    rule = api["StoppedTasksRule"]["Properties"]
    assert "Targets" not in rule   # it exists for its MatchedEvents metric
    pattern = rule["EventPattern"]
    assert pattern["detail-type"] == ["ECS Task State Change"]
    assert pattern["detail"]["lastStatus"] == ["STOPPED"]
    assert pattern["detail"]["$or"] == [{"stopCode": ["EssentialContainerExited", "TaskFailedToStart"]},
                                        {"stoppedReason": [{"prefix": "Task failed"}]}]
    assert pattern["detail"]["group"] == [{"Fn::Sub": ["service:${Service}", {"Service": {
        "Fn::GetAtt": ["Service", "Name"]}}]}]
    alarm = api["StoppedTasksAlarm"]["Properties"]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/Events", "MatchedEvents")
    assert alarm["Dimensions"] == [{"Name": "RuleName", "Value": {"Ref": "StoppedTasksRule"}}]


def test_a_cron_job_alarms_on_failed_runs_and_undelivered_starts(watched):
    cron = resources(watched, "service-nightly.yaml")
    children = {lid for lid, r in cron.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    assert children == {"FailedRunsAlarm", "UndeliveredStartsAlarm"}
    failed = {m["Id"]: m for m in cron["FailedRunsAlarm"]["Properties"]["Metrics"]}
    assert {m["MetricStat"]["Metric"]["MetricName"] for m in failed.values() if "MetricStat" in m} == {
        "ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"}
    dlq = cron["UndeliveredStartsAlarm"]["Properties"]
    assert dlq["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["DeadLetterQueue", "QueueName"]}}]
    assert cron["Alarm"]["Properties"]["AlarmName"] == {"Fn::Sub": "${Application}-${EnvironmentName}-nightly"}


def test_alarm_counts_of_the_default_app():
    """The repository's own app (the issue asks for its count). Per environment (one template set): 3 web services x
    (8 alarms + 1 composite) + 1 worker x (5 + 1) + 1 cron job x (2 + 1) + the database (4 + 1) + the queue `jobs`
    (2 + 1): 37 alarms and 7 composite alarms; two of each web service's alarms are the release-rollback alarms that
    existed before."""
    counts = {}
    for name, text in render_app(load_app(DEFAULT_APP)).templates.items():
        if not name.endswith(".yaml"):
            continue
        res = load(text).get("Resources", {})
        if "Alarm" in res:
            counts[name] = len(watched_alarms(res)) + 1
    assert counts == {
        "service-web.yaml": 9, "service-api.yaml": 9, "service-nest.yaml": 9, "service-jobs.yaml": 6,
        "service-cron.yaml": 3, "database.yaml": 5, "queue-jobs.yaml": 3}


def test_the_dashboard_shows_every_watched_alarm_and_the_clusters_services(watched):
    dashboard = resources(watched, "monitoring.yaml")["Dashboard"]["Properties"]
    body, variables = dashboard["DashboardBody"]["Fn::Sub"]
    widgets = json.loads(body)["widgets"]
    alarms = next(w for w in widgets if w["type"] == "alarm")["properties"]["alarms"]
    assert [a.rsplit(":", 1)[1] for a in alarms] == [
        f"${{Application}}-${{EnvironmentName}}-{s}" for s in ("api", "mailer", "nightly")]
    titles = [w["properties"]["title"] for w in widgets]
    assert {"CPU % per service", "Memory % per service", "Running tasks per service",
            "p99 response time per target group (s)"} <= set(titles)
    cpu = next(w for w in widgets if w["properties"]["title"] == "CPU % per service")
    assert cpu["properties"]["metrics"][0][0]["expression"] == (
        "SEARCH('{AWS/ECS,ClusterName,ServiceName} MetricName=\"CPUUtilization\" "
        "ClusterName=\"${Application}-${EnvironmentName}\"', 'Average', 60)")
    assert variables == {"LoadBalancer": {"Ref": "LoadBalancerFullName"}}
    assert all(w["x"] + w["width"] <= 24 for w in widgets)


def test_the_pipeline_sends_every_failed_action_to_its_topic_once(watched):
    """A failed scan gate, a rejected or expired approval and a failed release are each a FAILED action ("CodePipeline
    events", CodePipeline User Guide); one rule on action failures sends one message per incident."""
    pipeline = load(watched.templates["pipeline.yaml"])["Resources"]
    rule = pipeline["FailureRule"]["Properties"]
    assert rule["EventPattern"] == {
        "source": ["aws.codepipeline"], "detail-type": ["CodePipeline Action Execution State Change"],
        "detail": {"pipeline": [{"Ref": "Pipeline"}], "state": ["FAILED"]}}
    target = rule["Targets"][0]
    assert target["Arn"] == {"Ref": "ApprovalTopic"}
    assert set(target["InputTransformer"]["InputPathsMap"]) == {
        "pipeline", "stage", "action", "category", "execution", "region"}
    policy = pipeline["TopicPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert [(s["Principal"], s["Action"], s["Condition"]) for s in policy] == [
        ({"Service": "events.amazonaws.com"}, ["sns:Publish"],
         {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": ["FailureRule", "Arn"]}}})]
    key = {s["Sid"]: s for s in pipeline["PipelineKey"]["Properties"]["KeyPolicy"]["Statement"]}
    assert key["EventBridgePublishes"]["Principal"] == {"Service": "events.amazonaws.com"}


def test_make_outputs_prints_the_dashboard_url_and_the_topic(watched):
    """`make outputs` prints the root stack's outputs; the root re-exports the monitoring stack's public ones."""
    outputs = load(watched.templates["root.yaml"])["Outputs"]
    assert outputs["MonitoringDashboardUrl"]["Value"] == {"Fn::GetAtt": ["Monitoring", "Outputs.DashboardUrl"]}
    assert outputs["MonitoringAlertTopicArn"]["Value"] == {"Fn::GetAtt": ["Monitoring", "Outputs.AlertTopicArn"]}
    url = load(watched.templates["monitoring.yaml"])["Outputs"]["DashboardUrl"]["Value"]["Fn::Sub"]
    assert url.endswith("#dashboards/dashboard/${Application}-${EnvironmentName}")
