"""Every resource that holds data has an explicit DeletionPolicy and UpdateReplacePolicy, from its type's facts
(TypeFacts.stateful, generator/components/) applied by generator/stateful.py.

CloudFormation deletes a resource without a DeletionPolicy when its stack is deleted or an update removes it, and
deletes the old one after a replacement without an UpdateReplacePolicy (CloudFormation user guide, DeletionPolicy
attribute: "If a resource has no DeletionPolicy attribute, AWS CloudFormation deletes the resource by default";
UpdateReplacePolicy attribute). `RetainExceptOnCreate` "behaves like Retain for stack operations, except for the
stack operation that initially created the resource" (launched 2023-07-31), so a failed first deploy leaves no
named leftovers. Checked over every generated template (default app, fixture apps, pipeline templates) and against
an independent list: cfn-lint's own stateful types (`StatefulResources.json`, behind its rule I3011).
"""
from __future__ import annotations

import functools

import pytest
from cfnlint.data import AdditionalSpecs
from cfnlint.helpers import load_resource
from troposphere import ecs, logs, rds, s3

from generator import stateful
from generator.errors import WiringError
from tests.support import GOLDEN_SETS, read_tree
from tests.templates import load


@functools.cache
def _templates() -> dict[str, dict]:
    """Every committed template, parsed when a test first asks (not at import: every pytest-xdist worker imports
    every test module to collect it, and parsing these 1.8 CPU seconds in each was wasted)."""
    return {f"{templates.parent.name if templates.name == 'templates' else templates.name}/{name}": load(text)
            for templates, _ in GOLDEN_SETS.values()
            for name, text in read_tree(templates).items() if name.endswith(".yaml")}


# cfn-lint lists nested stacks as stateful; ours are not retained: deleting an environment deletes its stacks, and
# what holds data inside them is retained by its own policy (a retained nested stack would orphan a whole tree).
NOT_OURS = {"AWS::CloudFormation::Stack"}


def _resources():
    for template, body in _templates().items():
        for logical_id, resource in body.get("Resources", {}).items():
            yield template, logical_id, resource


def test_every_stateful_resource_in_every_generated_template_has_both_policies():
    checked = 0
    for template, logical_id, resource in _resources():
        wanted = stateful.policies(resource["Type"], resource.get("Properties", {}))
        if wanted is None:
            continue
        got = (resource.get("DeletionPolicy"), resource.get("UpdateReplacePolicy"))
        assert got == wanted, f"{template}: {logical_id} ({resource['Type']}) has {got}, expected {wanted}"
        if resource["Type"] == "AWS::RDS::DBInstance" and "DBClusterIdentifier" in resource["Properties"]:
            # an Aurora member: its data is the cluster's, whose policies are Snapshot (generator/stateful.py)
            assert got == stateful.MEMBER_INSTANCE
        else:
            assert got[0] in stateful.PROTECTIVE["DeletionPolicy"] and \
                got[1] in stateful.PROTECTIVE["UpdateReplacePolicy"]
        checked += 1
    types = {r["Type"] for _, _, r in _resources() if stateful.is_stateful(r["Type"])}
    assert checked > 20 and {"AWS::ECR::Repository", "AWS::KMS::Key", "AWS::Logs::LogGroup", "AWS::S3::Bucket",
                             "AWS::SQS::Queue", "AWS::RDS::DBCluster", "AWS::RDS::DBInstance"} <= types, (checked, types)


def test_the_registry_covers_every_type_cfn_lint_calls_stateful():
    """An independent list (cfn-lint's): every type it calls stateful that a template emits is in the registry."""
    listed = set(load_resource(AdditionalSpecs, "StatefulResources.json")["ResourceTypes"]) - NOT_OURS
    emitted = {r["Type"] for _, _, r in _resources()}
    assert sorted((listed & emitted) - set(stateful.stateful_types())) == []
    assert sorted(listed - set(stateful.stateful_types())) != sorted(listed), "the lists should overlap"


def test_protect_fills_in_the_policies_the_types_facts_declare():
    group = logs.LogGroup("Group", RetentionInDays=7)
    stateful.protect(group)
    assert (group.DeletionPolicy, group.UpdateReplacePolicy) == ("RetainExceptOnCreate", "Retain")
    service = ecs.Service("Service")
    stateful.protect(service)
    assert "DeletionPolicy" not in service.resource


def test_a_snapshot_type_and_an_aurora_member_instance(database_component):
    """The database component declares its cluster snapshot-on-delete and its member instances Delete: their data
    lives in the cluster, which is snapshotted, and the RDS handler rejects a snapshot of a member (project rule
    E9008); a retained member would keep the cluster from being deleted."""
    cluster = rds.DBCluster("Db", Engine="aurora-postgresql")
    stateful.protect(cluster)
    assert (cluster.DeletionPolicy, cluster.UpdateReplacePolicy) == ("Snapshot", "Snapshot")
    member = rds.DBInstance("Writer", Engine="aurora-postgresql", DBClusterIdentifier="db",
                            DBInstanceClass="db.serverless")
    stateful.protect(member)
    assert (member.DeletionPolicy, member.UpdateReplacePolicy) == ("Delete", "Delete")
    with pytest.raises(WiringError, match="DeletionPolicy Snapshot would lose it"):
        stateful.protect(rds.DBInstance("Reader", Engine="aurora-postgresql", DBClusterIdentifier="db",
                                        DBInstanceClass="db.serverless", DeletionPolicy="Snapshot"))


def test_a_stack_module_cannot_weaken_the_policy():
    stateful.protect(s3.Bucket("Kept", DeletionPolicy="Retain", UpdateReplacePolicy="Retain"))  # stronger is fine
    with pytest.raises(WiringError) as err:
        stateful.protect(logs.LogGroup("Logs", DeletionPolicy="Delete"))
    assert str(err.value) == ("Logs (AWS::Logs::LogGroup) holds data: DeletionPolicy Delete would lose it; leave it "
                              "to the facts of its type (TypeFacts, generator/components/), which say "
                              "RetainExceptOnCreate")


def test_the_preview_and_destroy_plan_flag_what_cfn_lint_calls_stateful_even_if_no_component_declares_it():
    assert stateful.holds_data("AWS::Neptune::DBCluster") and not stateful.is_stateful("AWS::Neptune::DBCluster")
    assert stateful.holds_data("AWS::ECR::Repository") and not stateful.holds_data("AWS::CloudFormation::Stack")


def test_cfn_lint_s_stateful_list_is_read_as_cfn_lint_reads_it_without_importing_it():
    """The build's rename warnings use the list: reading its data file must give exactly what cfn-lint's own loader
    gives, and must not import cfn-lint into the build's process (the lint helper has it)."""
    import subprocess
    import sys

    expected = frozenset(load_resource(AdditionalSpecs, "StatefulResources.json")["ResourceTypes"])
    assert stateful._cfn_lint_stateful() == expected - {"AWS::CloudFormation::Stack"}
    probe = ("import sys; from generator import stateful; stateful.holds_data('AWS::Neptune::DBCluster'); "
             "print(sorted(m for m in sys.modules if m.split('.')[0] in ('cfnlint', 'sympy', 'networkx')))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
