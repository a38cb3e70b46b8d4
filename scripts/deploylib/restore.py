"""`make restore ENV=... [SNAPSHOT=...]`: restore the environment's database from a cluster snapshot, through the
template (docs/database.md, "Restoring a snapshot").

What it does, in order:

1. Picks the snapshot: SNAPSHOT, else the newest available manual snapshot of the environment's cluster (named, and
   confirmed with the deploy below). Checks it exists, is available and is of the cluster's engine.
2. Refuses production without FORCE=1, and a snapshot the cluster was already restored from.
3. Deploys the same templates with one parameter changed for that deploy: `RestoreFrom` set to the snapshot (every
   other parameter keeps its running value, so the images and capacities do not move with it). The preview shows the
   cluster and its instances REPLACED; the operator confirms (or YES=1).
4. After the confirmation and before CloudFormation runs: a manual snapshot of the current cluster (`Purpose:
   pre-restore`, the way back, its identifier printed) and, in production, the stack policy of the Database nested
   stack lifted for the cluster and its instances only (put back after the deploy, whatever its outcome).
5. Waits for the update, then prints the new endpoint, what became of the old cluster (deleted after a final
   snapshot, UpdateReplacePolicy Snapshot; or still there when deletion protection kept it) and what to do next:
   keep `restore_from` in app.yaml (a deploy without it would replace the restored cluster with an empty one, which
   `make deploy` refuses: check_restore_kept) and how to go back.

SnapshotIdentifier on AWS::RDS::DBCluster is create-only: changing it replaces the cluster, and a later update that
leaves it out creates an empty cluster (aws-reference §6; AWS::RDS::DBCluster SnapshotIdentifier, CloudFormation
User Guide).
"""
from __future__ import annotations

import copy
import dataclasses
import json
from typing import Any

from scripts import nested_stack_policy
from scripts.deploylib import commands, database, stacks
from scripts.deploylib.errors import DeployError
from scripts.deploylib.target import BOOTSTRAP

PARAMETER = database.RESTORE_PARAMETER
NESTED_STACK = "Database"            # the root's logical id of the database nested stack
# What a restore replaces in the Database stack: the cluster (SnapshotIdentifier) and its members
# (DBClusterIdentifier is create-only on AWS::RDS::DBInstance). generator/components/database/{cluster,instances}.py.
REPLACED = ("Cluster", "Writer", "Reader1", "Reader2")
MASKED = "****"                      # how CloudFormation returns a NoEcho parameter's value


def latest_manual(ctx: Any) -> dict:
    """The newest available manual snapshot of the environment's cluster."""
    found = [s for s in database.list_snapshots(ctx)
             if s.get("SnapshotType") == "manual" and s.get("Status") == "available"]
    if not found:
        raise DeployError(f"{ctx.name}'s database has no available manual snapshot to restore",
                          f"take one with {ctx.make('snapshot')}, or name one: SNAPSHOT=<identifier> "
                          f"({ctx.make('snapshots')} lists them)")
    return found[0]


def lifted(policy: dict[str, Any], logical_ids: tuple[str, ...]) -> dict[str, Any]:
    """The stack policy with its Deny statements no longer covering `logical_ids` (a Deny wins over any Allow, so
    the lift narrows the Denies instead of adding an Allow)."""
    names = [f"LogicalResourceId/{i}" for i in logical_ids]
    statements = []
    for statement in copy.deepcopy(policy.get("Statement", [])):
        if statement.get("Effect") == "Deny":
            resource = statement.get("Resource")
            if resource == "*" or resource == ["*"]:
                del statement["Resource"]
                statement["NotResource"] = names
            elif isinstance(resource, list):
                statement["Resource"] = [r for r in resource if r not in names]
                if not statement["Resource"]:
                    continue
            elif resource in names:
                continue
        statements.append(statement)
    return {**policy, "Statement": statements}


def database_stack_id(ctx: Any, root_id: str) -> str:
    for path, stack_id in nested_stack_policy.nested_stacks(ctx.cf, root_id):
        if path == (NESTED_STACK,):
            return stack_id
    raise DeployError(f"stack {ctx.name} has no {NESTED_STACK} nested stack", "deploy the database first")


def running_parameters(stack: dict[str, Any]) -> dict[str, str]:
    return {p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])}


def restore(ctx: Any, snapshot_id: str | None) -> int:
    target, console = ctx.target, ctx.console
    if target.production and not ctx.options.force:
        raise DeployError(f"refusing to restore the database of production environment '{target.env}'",
                          f"if you mean it: `{ctx.make('restore')} SNAPSHOT=<identifier> FORCE=1` (you will still "
                          "be asked to type the stack name, or pass YES=1 as well)")
    commands.preflight(ctx)
    stack = stacks.describe(ctx.cf, ctx.name)
    cluster = database.cluster_id(ctx)
    assert stack is not None, "cluster_id() refuses a missing stack"
    running = running_parameters(stack)
    if PARAMETER not in running:
        raise DeployError(f"stack {ctx.name} has no {PARAMETER} parameter",
                          "deploy the current templates first (`make templates`, then "
                          f"`{ctx.make('deploy')}`)")
    if snapshot_id:
        snap = database.check_snapshot(ctx, snapshot_id, cluster)
    else:
        snap = database.check_snapshot(ctx, latest_manual(ctx)["DBClusterSnapshotIdentifier"], cluster)
        snapshot_id = snap["DBClusterSnapshotIdentifier"]
        console.say(f"No SNAPSHOT given: the newest manual snapshot of {cluster} is {snapshot_id} "
                    f"({database.time_of(snap)} UTC). The confirmation below restores that one.")
    if running[PARAMETER] in (snapshot_id, snap.get("DBClusterSnapshotArn")):
        raise DeployError(f"the database was already created from {snapshot_id}: deploying it again changes nothing",
                          "to restore that state once more, copy the snapshot under a new identifier (aws rds "
                          "copy-db-cluster-snapshot) and restore the copy")
    console.say(database.restore_summary(ctx, snap, cluster))
    # Every parameter at its running value, where that differs from the file's: NoEcho values come back masked
    # (the file's are used), and a running first-deploy placeholder is left to deploy_parameters' own handling.
    in_file = dict(target.parameters)
    overrides = {k: v for k, v in running.items()
                 if k in in_file and v != in_file[k] and v not in (MASKED, BOOTSTRAP) and k != PARAMETER}
    overrides[PARAMETER] = snapshot_id
    way_back: list[str] = []

    def before_execute(root_id: str) -> None:
        """After the confirmation, before CloudFormation acts: the way back, then (production) the policy lift."""
        if ctx.options.dry_run:
            return
        way_back.append(database.snapshot(ctx, purpose="pre-restore"))
        console.say(f"Pre-restore snapshot (the way back): {way_back[0]}")
        if target.production and target.stack_policy:
            ctx.cf.set_stack_policy(StackName=database_stack_id(ctx, root_id),
                                    StackPolicyBody=json.dumps(lifted(target.stack_policy, REPLACED)))
            console.say(f"Production: the {NESTED_STACK} stack's policy now allows replacing "
                        f"{', '.join(REPLACED)} for this deploy (set back afterwards).")

    restore_options = dataclasses.replace(ctx.options, parameters=overrides, migrate=False,
                                          before_execute=before_execute)
    restore_ctx = commands.Ctx(target, ctx.aws, console, restore_options)
    try:
        code = commands.deploy(restore_ctx, action="restore")
    finally:
        if target.production and way_back:
            commands.protect(restore_ctx, stack["StackId"])     # whatever happened: the policy is back
    if code != 0 or ctx.options.dry_run or not way_back:
        return code
    console.say(next_steps(ctx, snapshot_id, cluster, way_back[0]))
    return 0


def next_steps(ctx: Any, snapshot_id: str, old_cluster: str, pre_restore: str) -> str:
    env = ctx.target.env
    found = {o["OutputKey"]: o.get("OutputValue", "") for o in (stacks.describe(ctx.cf, ctx.name) or {})
             .get("Outputs", [])}
    old = database.describe_cluster(ctx, old_cluster)
    if old:
        fate = (f"  The old cluster {old_cluster} still exists ({old.get('Status', '?')}): CloudFormation could not "
                "delete it (deletion protection), so it keeps running and is billed. Once satisfied, delete it "
                f"yourself with a final snapshot (aws rds delete-db-cluster --db-cluster-identifier {old_cluster} "
                "--final-db-snapshot-identifier ...; turn its deletion protection off first).")
    else:
        finals = [s["DBClusterSnapshotIdentifier"] for s in database.list_snapshots(ctx, old_cluster)
                  if s["DBClusterSnapshotIdentifier"] != pre_restore and s.get("SnapshotType") == "manual"]
        fate = (f"  The old cluster {old_cluster} was deleted after a final snapshot (UpdateReplacePolicy "
                f"Snapshot){': ' + finals[0] if finals else ''}; it holds every write up to the replacement.")
    return "\n".join([
        "",
        f"Restored {snapshot_id} into {ctx.name}.",
        f"  New cluster: {found.get(database.CLUSTER_OUTPUT, '?')}",
        f"  Writer endpoint: {found.get('DatabaseEndpoint', '?')} (the services' DB_HOST; their new tasks use it)",
        fate,
        "Next:",
        f"  1. Keep the restore: set environments.{env}.database.restore_from: {snapshot_id} in app.yaml, run "
        "`make templates` and commit. A deploy (or the pipeline) without it would replace the restored cluster "
        "with an EMPTY one; `make deploy` refuses to, the pipeline does not check.",
        "  2. app.yaml's migrate: was not run: if the snapshot predates the running image's migrations, deploy "
        "the matching image or run the migration.",
        f"  3. To go back to the database as it was just before this restore: "
        f"{ctx.make('restore')} SNAPSHOT={pre_restore}",
    ])

