"""E9008: an Aurora cluster member instance is not snapshotted on delete/replace; the cluster is."""
from pathlib import Path

from cfnlint.helpers import import_filename
from cfnlint.rules import CloudFormationLintRule, RuleMatch

h = import_filename("_helpers", str(Path(__file__).parent))  # rule files load as loose modules; see _helpers.py


class AuroraMemberSnapshotPolicy(CloudFormationLintRule):
    id = "E9008"
    shortdesc = "No Snapshot DeletionPolicy/UpdateReplacePolicy on an Aurora cluster member DBInstance"
    description = (
        "An AWS::RDS::DBInstance with DBClusterIdentifier belongs to an Aurora cluster, whose snapshots are taken at "
        "cluster level; the RDS handler rejects deleting such an instance with a final snapshot, so DeletionPolicy "
        "(or UpdateReplacePolicy, which deletes the old instance the same way) Snapshot fails the delete/replace. "
        "Use Delete on member instances and Snapshot on the AWS::RDS::DBCluster."
    )
    source_url = "aws-reference.md §4 (Aurora member DBInstances), §6; Top 10 pitfalls #9"
    tags = ["resources", "rds", "aurora"]

    def match(self, cfn):
        matches = []
        for name, instance in h.resources(cfn, "AWS::RDS::DBInstance").items():
            cluster = h.properties(instance).get("DBClusterIdentifier")
            if cluster is None:
                continue
            for policy in ("DeletionPolicy", "UpdateReplacePolicy"):
                if instance.get(policy) == "Snapshot":
                    matches.append(RuleMatch(
                        ["Resources", name, policy],
                        f"DBInstance {name} is a member of cluster {h.show(cluster)}, so {policy}: Snapshot fails "
                        f"(snapshots are taken of the cluster): set {policy}: Delete on {name} and Snapshot on the "
                        "DBCluster",
                    ))
        return matches
