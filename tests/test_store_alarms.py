"""Each data store's alarms and its one composite alarm (docs/monitoring.md, "The alarms"): metric, namespace,
dimensions, threshold, evaluation periods and missing data, as deployed.

Facts they rest on (metric names and dimensions): "Amazon CloudWatch metrics for Amazon Aurora" (AWS/RDS by
DBClusterIdentifier: CPUUtilization, DatabaseConnections, FreeableMemory, ACUUtilization), "Metrics for Valkey and
Redis OSS" (AWS/ElastiCache by CacheClusterId, a replication group's members `<id>-001`...: EngineCPUUtilization,
DatabaseMemoryUsagePercentage, Evictions), "Available CloudWatch metrics for Amazon SQS" (AWS/SQS by QueueName:
ApproximateAgeOfOldestMessage, ApproximateNumberOfMessagesVisible), "DynamoDB metrics and dimensions"
(AWS/DynamoDB by TableName: ReadThrottleEvents, WriteThrottleEvents), "Amazon CloudWatch metrics for Amazon EFS"
(AWS/EFS by FileSystemId: PercentIOLimit, BurstCreditBalance)."""
from __future__ import annotations

import json

import pytest

from generator.build import render_app
from generator.components.cache.spec import MAX_NODES
from generator.config import load_app
from tests.support import DEFAULT_APP, ROOT
from tests.templates import load

FIXTURES = ROOT / "tests" / "fixtures" / "apps"
GIB = 1024 ** 3


@pytest.fixture(scope="module")
def chat():
    return render_app(load_app(FIXTURES / "chat.yaml"))


@pytest.fixture(scope="module")
def celery():
    return render_app(load_app(FIXTURES / "django-celery.yaml"))


@pytest.fixture(scope="module")
def tunecast():
    return render_app(load_app(DEFAULT_APP))


def resources(rendered, name: str) -> dict:
    return load(rendered.templates[name])["Resources"]


def alarms(res: dict) -> dict:
    return {k: v["Properties"] for k, v in res.items() if v["Type"] == "AWS::CloudWatch::Alarm"}


def queries(alarm: dict) -> dict:
    """A math alarm's metrics, by id: (namespace, name, stat, period, dimensions)."""
    found = {}
    for q in alarm["Metrics"]:
        if "MetricStat" in q:
            m = q["MetricStat"]
            found[q["Id"]] = (m["Metric"]["Namespace"], m["Metric"]["MetricName"], m["Stat"], m["Period"],
                              {d["Name"]: d["Value"] for d in m["Metric"]["Dimensions"]})
    return found


def returned(alarm: dict) -> str:
    return next(q["Expression"] for q in alarm["Metrics"] if q.get("ReturnData"))


def dims(alarm: dict) -> dict:
    return {d["Name"]: d["Value"] for d in alarm["Dimensions"]}


def quiet(alarm: dict, periods: int, datapoints: int | None = None) -> None:
    """No actions of its own (the composite notifies), missing data not breaching, the windows asserted."""
    assert "AlarmActions" not in alarm and "OKActions" not in alarm
    assert alarm["TreatMissingData"] == "notBreaching"
    assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (periods, datapoints or periods)


def composite(res: dict, subject: str, children: set[str]) -> None:
    props = res["Alarm"]["Properties"]
    assert res["Alarm"]["Type"] == "AWS::CloudWatch::CompositeAlarm"
    assert props["AlarmName"] == {"Fn::Sub": f"${{Application}}-${{EnvironmentName}}-{subject}"}
    rule = props["AlarmRule"]["Fn::Sub"]
    assert rule == " OR ".join(f'ALARM("${{{c}.Arn}}")' for c in sorted(children, key=rule.index))
    assert props["AlarmActions"] == props["OKActions"] == {"Ref": "AlarmActions"}
    assert props["ActionsEnabled"] == {"Ref": "AlarmNotifications"}


def test_the_database_watches_cpu_connections_memory_and_capacity(tunecast):
    res = resources(tunecast, "database.yaml")
    found = alarms(res)
    assert set(found) == {"CpuAlarm", "ConnectionsAlarm", "MemoryAlarm", "CapacityAlarm"}
    cluster = {"DBClusterIdentifier": {"Ref": "Cluster"}}
    for title, name, stat, threshold, comparison in (
            ("CpuAlarm", "CPUUtilization", "Maximum", 80, "GreaterThanThreshold"),
            ("MemoryAlarm", "FreeableMemory", "Minimum", 256 * 1024 * 1024, "LessThanThreshold"),
            ("CapacityAlarm", "ACUUtilization", "Maximum", 90, "GreaterThanThreshold")):
        a = found[title]
        assert (a["Namespace"], a["MetricName"], a["Statistic"], a["Period"]) == ("AWS/RDS", name, stat, 300)
        assert dims(a) == cluster and (a["Threshold"], a["ComparisonOperator"]) == (threshold, comparison)
        quiet(a, 3)
    conns = found["ConnectionsAlarm"]
    assert queries(conns) == {"conns": ("AWS/RDS", "DatabaseConnections", "Maximum", 300, cluster)}
    assert returned(conns) == "100 * FILL(conns, 0) / ceiling" and conns["Threshold"] == 80
    steps = {q["Id"]: q["Expression"] for q in conns["Metrics"] if "Expression" in q}
    assert steps["byacu"]["Fn::Sub"][1] == {"Max": {"Ref": "MaxCapacity"}}
    assert steps["capped"]["Fn::Sub"][1] == {"Min": {"Ref": "MinCapacity"}}
    # AWS's table (Aurora PostgreSQL column), the row at or below the maximum; 2,000 at most below a minimum of 1 ACU
    for maximum, minimum, expected in ((1, 0, 189), (4, 0, 823), (6, 0, 823), (8, 0.5, 1669), (16, 0, 2000),
                                       (16, 1, 3360), (32, 2, 5000), (256, 1, 5000), (64, 0.5, 2000)):
        assert max_connections(steps, maximum, minimum) == expected, (maximum, minimum)
    quiet(conns, 3)
    composite(res, "database", set(found))


def max_connections(steps: dict, maximum: float, minimum: float) -> float:
    """What the alarm's `ceiling` evaluates to, with the metric math's comparisons as Python's (1 or 0)."""
    def value(expression) -> float:
        if isinstance(expression, dict):
            text = expression["Fn::Sub"][0].replace("${Max}", str(maximum)).replace("${Min}", str(minimum))
        elif expression == "MIN([byacu, capped])":
            return min(value(steps["byacu"]), value(steps["capped"]))
        else:
            text = expression
        return eval(text.replace("FILL(conns, 0)", "0"), {})    # noqa: S307 - our own arithmetic
    return value(steps["ceiling"])


def test_the_mysql_database_alarm_uses_the_mysql_column_of_the_max_connections_table():
    """Aurora User Guide, "Performance and scaling for Aurora Serverless v2", "Maximum connections for Aurora
    Serverless v2": Aurora MySQL 90 at 1 ACU, 135 at 4, 1,000 at 8, 2,000 at 16, 3,000 at 32, 4,000 at 64, 5,000 at
    128; no 2,000 cap (that note is PostgreSQL's)."""
    res = resources(render_app(load_app(FIXTURES / "workers.yaml")), "database.yaml")
    conns = alarms(res)["ConnectionsAlarm"]
    steps = {q["Id"]: q["Expression"] for q in conns["Metrics"] if "Expression" in q}
    assert "capped" not in steps and "byacu" not in steps
    for maximum, expected in ((1, 90), (2, 90), (4, 135), (8, 1000), (12, 1000), (16, 2000), (32, 3000),
                              (64, 4000), (128, 5000), (256, 5000)):
        assert max_connections(steps, maximum, 0.5) == expected, maximum


def test_the_cache_watches_the_worst_node_of_every_possible_member(celery):
    res = resources(celery, "cache-broker.yaml")
    found = alarms(res)
    assert set(found) == {"CpuAlarm", "MemoryAlarm", "EvictionsAlarm"}
    for title, name, stat, threshold in (("CpuAlarm", "EngineCPUUtilization", "Maximum", 80),
                                         ("MemoryAlarm", "DatabaseMemoryUsagePercentage", "Maximum", 90),
                                         ("EvictionsAlarm", "Evictions", "Sum", 1000)):
        a = found[title]
        nodes = queries(a)
        assert len(nodes) == MAX_NODES      # prod runs 3 nodes; a member that does not exist sends nothing (FILL 0)
        assert nodes["n1"] == ("AWS/ElastiCache", name, stat, 300, {"CacheClusterId": {
            "Fn::Sub": ["${Group}-001", {"Group": {"Ref": "ReplicationGroup"}}]}})
        assert nodes["n6"][4]["CacheClusterId"]["Fn::Sub"][0] == "${Group}-006"
        assert returned(a) == "MAX([" + ", ".join(f"FILL(n{i}, 0)" for i in range(1, MAX_NODES + 1)) + "])"
        assert (a["Threshold"], a["ComparisonOperator"]) == (threshold, "GreaterThanThreshold")
        quiet(a, 3)
    composite(res, "cache-broker", set(found))


def test_the_queue_watches_the_oldest_message_and_its_dead_letters(chat, tunecast):
    res = resources(chat, "queue-messages.yaml")
    found = alarms(res)
    age, dead = found["AgeAlarm"], found["DeadLettersAlarm"]
    assert (age["Namespace"], age["MetricName"], age["Statistic"], age["Period"]) == (
        "AWS/SQS", "ApproximateAgeOfOldestMessage", "Maximum", 300)
    assert dims(age) == {"QueueName": {"Fn::GetAtt": ["Queue", "QueueName"]}}
    assert age["Threshold"] == 15 * 60
    quiet(age, 2)
    assert (dead["MetricName"], dead["Statistic"], dead["Threshold"]) == ("ApproximateNumberOfMessagesVisible",
                                                                         "Maximum", 0)
    assert dims(dead) == {"QueueName": {"Fn::GetAtt": ["DeadLetterQueue", "QueueName"]}}
    quiet(dead, 1)
    composite(res, "queue-messages", {"AgeAlarm", "DeadLettersAlarm"})
    # the default app's queue `jobs` and its service `jobs` have distinct composite alarms
    queue = resources(tunecast, "queue-jobs.yaml")["Alarm"]["Properties"]["AlarmName"]
    service = resources(tunecast, "service-jobs.yaml")["Alarm"]["Properties"]["AlarmName"]
    assert queue != service


def test_the_table_watches_read_and_write_throttles(chat):
    res = resources(chat, "table-conversations.yaml")
    found = alarms(res)
    assert set(found) == {"ThrottlesAlarm"}
    a = found["ThrottlesAlarm"]
    table = {"TableName": {"Ref": "Table"}}
    assert queries(a) == {"reads": ("AWS/DynamoDB", "ReadThrottleEvents", "Sum", 300, table),
                          "writes": ("AWS/DynamoDB", "WriteThrottleEvents", "Sum", 300, table)}
    assert returned(a) == "FILL(reads, 0) + FILL(writes, 0)" and a["Threshold"] == 10
    quiet(a, 3, 2)
    composite(res, "table-conversations", {"ThrottlesAlarm"})


def test_the_file_system_watches_its_io_limit_and_in_bursting_mode_its_credits(celery):
    res = resources(celery, "filesystem-media.yaml")
    found = alarms(res)
    assert set(found) == {"IoLimitAlarm"}     # elastic throughput: no burst credits to run out of
    io = found["IoLimitAlarm"]
    assert (io["Namespace"], io["MetricName"], io["Statistic"], io["Threshold"]) == (
        "AWS/EFS", "PercentIOLimit", "Maximum", 90)
    assert dims(io) == {"FileSystemId": {"Ref": "FileSystem"}}
    quiet(io, 3)
    composite(res, "filesystem-media", {"IoLimitAlarm"})

    app = load_app(FIXTURES / "django-celery.yaml")
    bursting = app.model_copy(update={"file_systems": [
        fs.model_copy(update={"throughput_mode": "bursting"}) for fs in app.file_systems]})
    credits = alarms(resources(render_app(bursting), "filesystem-media.yaml"))["BurstCreditsAlarm"]
    assert (credits["MetricName"], credits["Statistic"], credits["Threshold"], credits["ComparisonOperator"]) == (
        "BurstCreditBalance", "Minimum", 100 * GIB, "LessThanThreshold")
    quiet(credits, 3)


def test_thresholds_come_from_the_monitoring_block(chat):
    app = load_app(FIXTURES / "chat.yaml")
    tuned = app.model_copy(update={"monitoring": app.monitoring.model_copy(update={
        "queue_age_minutes": 60, "table_throttle_events": 0})})
    rendered = render_app(tuned)
    assert alarms(resources(rendered, "queue-messages.yaml"))["AgeAlarm"]["Threshold"] == 3600
    assert alarms(resources(rendered, "table-conversations.yaml"))["ThrottlesAlarm"]["Threshold"] == 0


def test_the_dashboard_shows_each_store(celery, chat):
    for rendered, subjects in ((celery, ("cache-broker", "filesystem-media")),
                               (chat, ("queue-messages", "table-conversations"))):
        body = json.loads(resources(rendered, "monitoring.yaml")["Dashboard"]["Properties"]["DashboardBody"]
                          ["Fn::Sub"][0])
        states = next(w for w in body["widgets"] if w["type"] == "alarm")["properties"]["alarms"]
        for subject in subjects:
            assert any(a.endswith(f":alarm:${{Application}}-${{EnvironmentName}}-{subject}") for a in states)
    titles = [w["properties"].get("title", "") for w in body["widgets"]]
    assert "Queue messages: age of the oldest message (s), messages visible" in titles
    assert "Table conversations: throttle events" in titles
