"""The database's day-2 commands (docs/database.md): `snapshot` (a manual cluster snapshot, its identifier printed),
`snapshots` (the cluster's snapshots, newest first) and `restore` (checks a snapshot and says exactly what restoring
it through the template does, and how).

The cluster is found through the root stack's output `DatabaseClusterId` (generator/components/database/stack.py),
never by guessing its name. A restore goes through the template: the environment's `database.restore_from` in
app.yaml becomes the `RestoreFrom` parameter, and the next deploy replaces the cluster with one restored from the
snapshot (SnapshotIdentifier is create-only: aws-reference §6), so app.yaml stays the one description of the
environment and a later deploy cannot silently undo the restore.
"""
from __future__ import annotations

import datetime
from typing import Any

from botocore.exceptions import ClientError

from scripts.deploylib import stacks
from scripts.deploylib.aws import error_code
from scripts.deploylib.errors import DeployError

CLUSTER_OUTPUT = "DatabaseClusterId"   # naming.root_output("Database", "ClusterId")
WAIT = {"Delay": 15, "MaxAttempts": 240}   # a snapshot of a large cluster takes a while; an hour at most


def cluster_id(ctx: Any) -> str:
    stack = stacks.describe(ctx.cf, ctx.name)
    if stack is None:
        raise DeployError(f"stack {ctx.name} does not exist in {ctx.aws.region}",
                          f"deploy it first: `{ctx.make('deploy')}`")
    found = {o["OutputKey"]: o.get("OutputValue", "") for o in stack.get("Outputs", [])}
    if not found.get(CLUSTER_OUTPUT):
        raise DeployError(f"stack {ctx.name} has no database (no {CLUSTER_OUTPUT} output)",
                          "add a `database:` block to app.yaml, `make templates`, then deploy")
    return found[CLUSTER_OUTPUT]


def snapshot_name(app: str, env: str, now: datetime.datetime | None = None) -> str:
    """`<app>-<env>-<UTC time>`: sorts by time, and tells whose it is in a shared account."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    return f"{app}-{env}-{now:%Y%m%d-%H%M%S}"


def snapshot(ctx: Any, purpose: str = "manual") -> str:
    """Take a manual cluster snapshot, wait until it is available, print and return its identifier."""
    cluster = cluster_id(ctx)
    name = snapshot_name(ctx.target.app.app, ctx.target.env, ctx.console.now())
    if ctx.options.dry_run:
        ctx.console.say(f"Would snapshot cluster {cluster} as {name} (dry run: nothing created).")
        return name
    rds = ctx.aws.client("rds")
    rds.create_db_cluster_snapshot(
        DBClusterSnapshotIdentifier=name, DBClusterIdentifier=cluster,
        Tags=[{"Key": "Application", "Value": ctx.target.app.app}, {"Key": "Environment", "Value": ctx.target.env},
              {"Key": "Purpose", "Value": purpose}])
    ctx.console.say(f"Snapshot {name} of {cluster} started; waiting until it is available...")
    rds.get_waiter("db_cluster_snapshot_available").wait(DBClusterSnapshotIdentifier=name, WaiterConfig=WAIT)
    ctx.console.say(f"Snapshot {name} is available.\n"
                    f"Restore it with: {ctx.make('restore')} SNAPSHOT={name}")
    return name


def list_snapshots(ctx: Any) -> list[dict]:
    rds = ctx.aws.client("rds")
    found: list[dict] = []
    for page in rds.get_paginator("describe_db_cluster_snapshots").paginate(DBClusterIdentifier=cluster_id(ctx)):
        found.extend(page["DBClusterSnapshots"])
    return sorted(found, key=lambda s: str(s.get("SnapshotCreateTime", "")), reverse=True)


def snapshots(ctx: Any) -> int:
    found = list_snapshots(ctx)
    if not found:
        ctx.console.say(f"No snapshots of {ctx.name}'s database yet. Take one: {ctx.make('snapshot')}")
        return 0
    rows = [("snapshot", "type", "created (UTC)", "status", "GB")]
    rows += [(s["DBClusterSnapshotIdentifier"], s.get("SnapshotType", "?"), _time(s.get("SnapshotCreateTime")),
              s.get("Status", "?"), str(s.get("AllocatedStorage", "?"))) for s in found]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    ctx.console.say("\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows))
    return 0


def _time(value: Any) -> str:
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")
    return str(value or "?")


def restore(ctx: Any, snapshot_id: str | None) -> int:
    """Check the snapshot, then print what restoring it does and the steps (nothing is changed here)."""
    if not snapshot_id:
        raise DeployError("restore needs the snapshot to restore: SNAPSHOT=<identifier>",
                          f"list them with {ctx.make('snapshots')}")
    cluster = cluster_id(ctx)
    rds = ctx.aws.client("rds")
    try:
        found = rds.describe_db_cluster_snapshots(DBClusterSnapshotIdentifier=snapshot_id)["DBClusterSnapshots"]
    except ClientError as exc:
        if error_code(exc) != "DBClusterSnapshotNotFoundFault":
            raise
        found = []
    if not found:
        raise DeployError(f"snapshot {snapshot_id} does not exist in {ctx.aws.region}",
                          f"list this environment's snapshots with {ctx.make('snapshots')}")
    snap = found[0]
    if snap.get("Status") != "available":
        raise DeployError(f"snapshot {snapshot_id} is {snap.get('Status')}, not available",
                          "wait until it is available, then run this again")
    current = next(iter(rds.describe_db_clusters(DBClusterIdentifier=cluster)["DBClusters"]), {})
    if current and snap.get("Engine") and snap["Engine"] != current.get("Engine"):
        raise DeployError(f"snapshot {snapshot_id} is of {snap['Engine']}, the database is {current.get('Engine')}",
                          "restore a snapshot of this environment's engine")
    env = ctx.target.env
    production = ctx.target.app.environments[env].production
    gb = snap.get("AllocatedStorage", "?")
    ctx.console.say("\n".join([
        f"Restoring {snapshot_id} ({_time(snap.get('SnapshotCreateTime'))} UTC, {gb} GB, "
        f"from {snap.get('DBClusterIdentifier', '?')}) into {ctx.name}:",
        "",
        f"  THE DATABASE WILL BE REPLACED. CloudFormation creates a new cluster from the snapshot, moves the",
        f"  writer and readers to it, updates the services that use it, then deletes the current cluster",
        f"  {cluster}, taking a final snapshot of it first (UpdateReplacePolicy Snapshot): every change made",
        f"  since {snapshot_id} was taken is only in that final snapshot.",
        "  How long: creating the cluster from the snapshot takes from about 10 minutes (small) to an hour or",
        "  more (hundreds of GB), plus a few minutes per instance and the services' rollout.",
        "  What the services see: the new cluster has a new endpoint and a new RDS-managed secret, so each",
        "  service that uses the database gets a new task definition revision (new DB_HOST, new credentials);",
        "  until its new tasks run, its old tasks keep writing to the old cluster; those writes are lost with it",
        "  (stop writers first, e.g. scale the services to 0, to avoid that).",
        "",
        "Steps:",
        f"  1. In app.yaml set environments.{env}.database.restore_from: {snapshot_id}",
        "     (keep it there afterwards: removing it would replace the cluster again, with an empty one)",
        "  2. make templates",
        f"  3. {ctx.make('deploy')}   (its preview shows the cluster as replaced; confirm)",
    ]))
    if production:
        ctx.console.warn("production's stack policy denies replacing the database cluster: the deploy will be "
                         "refused until that policy is lifted for the Database stack (docs/database.md, "
                         "'Restoring production')")
    return 0
