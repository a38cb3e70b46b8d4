"""Golden tests of everything the deploy tooling prints for people: previews, quick-create URL, root causes,
drift table, destroy plan, outputs. Inputs are built here; expected text lives in tests/golden/deploy/.

Regenerate on purpose with `UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_deploy_golden.py` and review the
diff before committing.
"""
from __future__ import annotations

import difflib
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from scripts.deploylib import drift, events, packaging, preview, stacks
from scripts.deploylib.changesets import ParameterChange, Preview, StackChanges, normalize_change

GOLDEN = Path(__file__).resolve().parent / "golden" / "deploy"
T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)


def assert_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    want = path.read_text(encoding="utf-8") if path.exists() else ""
    if text != want:
        diff = "\n".join(difflib.unified_diff(want.splitlines(), text.splitlines(), f"golden/{name}", "got",
                                              lineterm=""))
        pytest.fail(f"{name} differs from the golden file (UPDATE_GOLDEN=1 regenerates it):\n{diff}")


def rc(action, logical, rtype, replacement=None, policy=None, details=(), nested=None, physical=None):
    """A DescribeChangeSet `Changes` entry, as the API returns it."""
    change = {"Action": action, "LogicalResourceId": logical, "ResourceType": rtype, "Scope": ["Properties"],
              "Details": [{"Target": {"Attribute": "Properties", "Name": name, "RequiresRecreation": recreate},
                           "Evaluation": "Static", "ChangeSource": "DirectModification"}
                          for name, recreate in details]}
    for key, value in (("Replacement", replacement), ("PolicyAction", policy), ("ChangeSetId", nested),
                       ("PhysicalResourceId", physical)):
        if value is not None:
            change[key] = value
    return {"Type": "Resource", "ResourceChange": change}


def changes(*raw):
    return tuple(normalize_change(r) for r in raw)


UPDATE = Preview(
    stack_name="tunecast-prod", change_set_name="deploy-20260301-120000", change_set_type="UPDATE",
    region="eu-west-1", capabilities=("CAPABILITY_IAM",),
    parameters=(ParameterChange("NatMode", "single", "per-az"), ParameterChange("AzCount", "2", "3")),
    stacks=(
        StackChanges((), "tunecast-prod", changes(
            rc("Modify", "Network", "AWS::CloudFormation::Stack", "False", nested="arn:cs/network"),
            rc("Modify", "Data", "AWS::CloudFormation::Stack", "False", nested="arn:cs/data"),
            rc("Remove", "Legacy", "AWS::CloudFormation::Stack", policy="Delete"))),
        StackChanges(("Network",), "tunecast-prod-Network-ABC", changes(
            rc("Add", "PrivateSubnet3", "AWS::EC2::Subnet"),
            rc("Add", "NatGateway3", "AWS::EC2::NatGateway"),
            rc("Modify", "Vpc", "AWS::EC2::VPC", "True", details=[("CidrBlock", "Always")], physical="vpc-1"),
            rc("Modify", "FlowLogGroup", "AWS::Logs::LogGroup", "False", details=[("RetentionInDays", "Never")]),
            rc("Remove", "OldBucket", "AWS::S3::Bucket", policy="Retain"))),
        StackChanges(("Data",), "tunecast-prod-Data-DEF", changes(
            rc("Modify", "Cluster", "AWS::RDS::DBCluster", "Conditional", policy="ReplaceAndSnapshot",
               details=[("EngineVersion", "Conditionally"), ("BackupRetentionPeriod", "Never")]),
            rc("Remove", "Cache", "AWS::ElastiCache::ReplicationGroup", policy="Delete"))),
    ))

CREATE = Preview(
    stack_name="tunecast-dev", change_set_name="preview-20260301-120000", change_set_type="CREATE",
    region="eu-west-1", capabilities=("CAPABILITY_NAMED_IAM",),
    parameters=(ParameterChange("EnvironmentName", None, "dev"), ParameterChange("DbPassword", None, "****", True)),
    stacks=(
        StackChanges((), "tunecast-dev", changes(
            rc("Add", "Network", "AWS::CloudFormation::Stack", nested="arn:cs/n"),
            rc("Add", "Registry", "AWS::CloudFormation::Stack"))),
        StackChanges(("Network",), "tunecast-dev-Network-X", changes(
            rc("Add", "Vpc", "AWS::EC2::VPC"), rc("Add", "LogsKey", "AWS::KMS::Key"))),
    ))


def test_update_preview_flags_replacements_and_stateful_resources():
    text = preview.render(UPDATE)
    assert_golden("preview_update.txt", text)
    # the loud parts, spelled out so a golden update cannot silently drop them
    assert "!! REPLACEMENTS (2)" in text
    assert "tunecast-prod/Network/Vpc (AWS::EC2::VPC) replaced because of CidrBlock" in text
    assert "tunecast-prod/Data/Cluster (AWS::RDS::DBCluster) may be replaced because of EngineVersion" in text
    assert "** STATEFUL RESOURCES (4)" in text
    assert "tunecast-prod/Data/Cache (AWS::ElastiCache::ReplicationGroup) removed and DELETED: its data is lost" \
        in text
    assert "tunecast-prod/Data/Cluster (AWS::RDS::DBCluster) MAY BE REPLACED: data is not carried over" in text
    assert "nested stack: ALL its resources are deleted" in text
    # the loud sections lead, before the per-stack listing (which can be long)
    assert text.index("!! REPLACEMENTS") < text.index("** STATEFUL") < text.index("tunecast-prod (root stack)")


def test_create_preview_lists_parameters_and_hides_secrets():
    text = preview.render(CREATE)
    assert_golden("preview_create.txt", text)
    assert "  + DbPassword      = ****" in text
    assert "nested stack (new; contents not itemised)" in text


def test_no_changes_preview_is_short_and_says_so():
    text = preview.render(Preview("tunecast-dev", "deploy-1", "UPDATE", "eu-west-1", (), no_changes=True))
    assert_golden("preview_no_changes.txt", text)
    assert text.splitlines()[-1] == "No changes: the stacks already match these templates and parameters."


def test_quick_create_url_fills_non_secret_parameters_only():
    url = packaging.quick_create_url(
        "eu-west-1", "tunecast-dev",
        "https://tunecast-templates-111111111111-eu-west-1.s3.eu-west-1.amazonaws.com/tunecast/abc.yaml",
        [("EnvironmentName", "dev"), ("VpcCidr", "10.10.0.0/16"), ("Schedule", "cron(0 3 * * ? *)"),
         ("Owner", "platform team & friends"), ("DbPassword", "s3cr3t-value")],
        secrets={"DbPassword"})
    assert_golden("quick_create_url.txt", url + "\n")
    assert "s3cr3t" not in url and "DbPassword" not in url
    assert url.startswith("https://eu-west-1.console.aws.amazon.com/cloudformation/home?region=eu-west-1"
                          "#/stacks/create/review?templateURL=https://")


def test_quick_create_url_uses_the_partition_console():
    url = packaging.quick_create_url("cn-north-1", "a-b", "https://x/y.yaml", [], set())
    assert url.startswith("https://cn-north-1.console.amazonaws.cn/cloudformation/home?region=cn-north-1#")


def event(stack_id, logical, status, reason="", rtype="AWS::EC2::VPC", seconds=0, physical="p-1", eid=None):
    return {"StackId": stack_id, "EventId": eid or f"{logical}-{status}-{seconds}", "StackName": "n",
            "LogicalResourceId": logical, "PhysicalResourceId": physical, "ResourceType": rtype,
            "Timestamp": T0 + timedelta(seconds=seconds), "ResourceStatus": status, "ResourceStatusReason": reason}


def test_root_causes_innermost_first_skipping_cancellations():
    root, net = "arn:stack/tunecast-dev/1", "arn:stack/tunecast-dev-Network-X/2"
    by_stack = {
        "tunecast-dev": [
            event(root, "tunecast-dev", "CREATE_IN_PROGRESS", "User Initiated", "AWS::CloudFormation::Stack", 0,
                  physical=root),
            event(root, "Registry", "CREATE_FAILED", "Resource creation cancelled", "AWS::CloudFormation::Stack",
                  30, physical="arn:reg"),
            event(root, "Network", "CREATE_FAILED", "Embedded stack arn:stack/tunecast-dev-Network-X/2 was not "
                  "successfully created: The following resource(s) failed to create: [NatGateway1].",
                  "AWS::CloudFormation::Stack", 31, physical=net),
            event(root, "tunecast-dev", "ROLLBACK_COMPLETE", "", "AWS::CloudFormation::Stack", 90, physical=root),
        ],
        "tunecast-dev/Network": [
            event(net, "Vpc", "CREATE_COMPLETE", seconds=5),
            event(net, "FlowLog", "CREATE_FAILED", "Resource creation cancelled", "AWS::EC2::FlowLog", 21),
            event(net, "NatGateway1", "CREATE_FAILED", "Resource handler returned message: \"The maximum number "
                  "of addresses has been reached. (Service: Ec2, Status Code: 400)\"", "AWS::EC2::NatGateway", 20),
        ],
    }
    causes = events.root_causes(by_stack)
    assert [(c.stack, c.logical_id) for c in causes] == [("tunecast-dev/Network", "NatGateway1"),
                                                           ("tunecast-dev", "Network")]
    assert_golden("root_causes.txt", events.render_root_causes("tunecast-dev", "ROLLBACK_COMPLETE", causes))


def test_root_causes_without_failed_events_point_to_the_console():
    text = events.render_root_causes("s", "UPDATE_ROLLBACK_COMPLETE", [])
    assert "No failed resource events were found" in text


def test_drift_table():
    results = [
        drift.StackDrift("tunecast-prod", "IN_SYNC", "DETECTION_COMPLETE"),
        drift.StackDrift("tunecast-prod/Network", "DRIFTED", "DETECTION_COMPLETE", drifted=(
            drift.DriftedResource("Vpc", "AWS::EC2::VPC", "MODIFIED", (("/EnableDnsHostnames", "NOT_EQUAL"),
                                                                         ("/Tags/2", "ADD"))),
            drift.DriftedResource("FlowLogGroup", "AWS::Logs::LogGroup", "DELETED"))),
        drift.StackDrift("tunecast-prod/Services", "UNKNOWN", "DETECTION_FAILED",
                         "Failed to detect drift on resource [Alarm]: not supported"),
    ]
    text = drift.render_table(results)
    assert_golden("drift_table.txt", text)
    assert "DRIFTED: 2 resources in 1 stack." in text


def test_drift_table_in_sync():
    text = drift.render_table([drift.StackDrift("a", "IN_SYNC", "DETECTION_COMPLETE"),
                               drift.StackDrift("a/B", "IN_SYNC", "DETECTION_COMPLETE")])
    assert text.endswith("IN SYNC: all 2 stacks match their templates.\n")


def test_destroy_plan_separates_deleted_retained_and_snapshotted(database_component):
    network = {"Resources": {
        "Vpc": {"Type": "AWS::EC2::VPC"},
        "Logs": {"Type": "AWS::Logs::LogGroup", "DeletionPolicy": "Retain"},
        "Bucket": {"Type": "AWS::S3::Bucket"},
    }}
    data = {"Resources": {
        "Cluster": {"Type": "AWS::RDS::DBCluster"},                        # Snapshot by default
        "Member": {"Type": "AWS::RDS::DBInstance", "Properties": {"DBClusterIdentifier": "x"}},  # Delete
        "Key": {"Type": "AWS::KMS::Key", "DeletionPolicy": "RetainExceptOnCreate"},
    }}

    def listed(*rows):
        return [{"LogicalResourceId": lid, "ResourceType": t, "PhysicalResourceId": p,
                 "ResourceStatus": "CREATE_COMPLETE"} for lid, t, p in rows]

    fates = stacks.destroy_plan([
        ("tunecast-prod", {"Resources": {"Network": {"Type": "AWS::CloudFormation::Stack"}}},
         listed(("Network", "AWS::CloudFormation::Stack", "arn:n"))),
        ("tunecast-prod/Network", network, listed(("Vpc", "AWS::EC2::VPC", "vpc-1"),
                                                  ("Logs", "AWS::Logs::LogGroup", "/a/b"),
                                                  ("Bucket", "AWS::S3::Bucket", "tunecast-prod-bucket"))),
        ("tunecast-prod/Data", data, listed(("Cluster", "AWS::RDS::DBCluster", "db-1"),
                                            ("Member", "AWS::RDS::DBInstance", "db-1-a"),
                                            ("Key", "AWS::KMS::Key", "k-1"))),
    ])
    assert {f.logical_id: f.action for f in fates} == {
        "Vpc": "Delete", "Logs": "Retain", "Bucket": "Delete", "Cluster": "Snapshot", "Member": "Delete",
        "Key": "Retain"}
    assert_golden("destroy_plan.txt", stacks.render_destroy_plan("tunecast-prod", fates, production=True))


def test_outputs_table():
    text = stacks.render_outputs("tunecast-dev", [
        {"OutputKey": "NetworkVpcId", "OutputValue": "vpc-1", "Description": "VPC ID"},
        {"OutputKey": "ClusterLoadBalancerUrl", "OutputValue": "http://alb-1.eu-west-1.elb.amazonaws.com"}])
    assert_golden("outputs.txt", text)
