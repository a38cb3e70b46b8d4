"""The database's day-2 commands (docs/database.md): `snapshot` (a manual cluster snapshot, its identifier printed),
`snapshots` (the cluster's snapshots, newest first), and the checks and words of `restore` (scripts/deploylib/
restore.py, which does the restore).

The cluster is found through the root stack's output `DatabaseClusterId` (generator/components/database/stack.py),
never by guessing its name. A restore goes through the template: the `RestoreFrom` parameter names the snapshot,
and the deploy replaces the cluster with one restored from it (SnapshotIdentifier is create-only: aws-reference §6);
afterwards the environment's `database.restore_from` in app.yaml keeps it, so a later deploy cannot undo the restore.
"""
from __future__ import annotations

import datetime
from typing import Any

from botocore.exceptions import ClientError

from scripts.deploylib import stacks
from scripts.deploylib.aws import error_code
from scripts.deploylib.errors import DeployError

CLUSTER_OUTPUT = "DatabaseClusterId"   # naming.root_output("Database", "ClusterId")
RESTORE_PARAMETER = "RestoreFrom"   # the root parameter (params/<env>.json) that reaches the Database stack
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


def list_snapshots(ctx: Any, cluster: str | None = None) -> list[dict]:
    """The snapshots of `cluster` (default: the environment's), newest first."""
    rds = ctx.aws.client("rds")
    found: list[dict] = []
    for page in rds.get_paginator("describe_db_cluster_snapshots").paginate(
            DBClusterIdentifier=cluster or cluster_id(ctx)):
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


def describe_cluster(ctx: Any, cluster: str) -> dict | None:
    try:
        return next(iter(ctx.aws.client("rds").describe_db_clusters(DBClusterIdentifier=cluster)["DBClusters"]), None)
    except ClientError as exc:
        if error_code(exc) != "DBClusterNotFoundFault":
            raise
        return None


def check_snapshot(ctx: Any, snapshot_id: str, cluster: str) -> dict:
    """The snapshot, if it exists, is available and is of the cluster's engine; else a DeployError."""
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
    current = describe_cluster(ctx, cluster) or {}
    if current and snap.get("Engine") and snap["Engine"] != current.get("Engine"):
        raise DeployError(f"snapshot {snapshot_id} is of {snap['Engine']}, the database is {current.get('Engine')}",
                          "restore a snapshot of this environment's engine")
    return snap


def time_of(snap: dict) -> str:
    return _time(snap.get("SnapshotCreateTime"))


def restore_summary(ctx: Any, snap: dict, cluster: str) -> str:
    """What restoring `snap` does, said before the preview."""
    snapshot_id = snap["DBClusterSnapshotIdentifier"]
    return "\n".join([
        f"Restoring {snapshot_id} ({time_of(snap)} UTC, {snap.get('AllocatedStorage', '?')} GB, "
        f"from {snap.get('DBClusterIdentifier', '?')}) into {ctx.name}:",
        "",
        "  THE DATABASE WILL BE REPLACED. CloudFormation creates a new cluster from the snapshot, moves the",
        "  writer and readers to it, updates the services that use it, then deletes the current cluster",
        f"  {cluster}, taking a final snapshot of it first (UpdateReplacePolicy Snapshot): every change made",
        f"  since {snapshot_id} was taken is only in that final snapshot (and in the pre-restore snapshot",
        "  taken just before the deploy starts).",
        "  How long: creating the cluster from the snapshot takes from about 10 minutes (small) to an hour or",
        "  more (hundreds of GB), plus a few minutes per instance and the services' rollout.",
        "  What the services see: the new cluster has a new endpoint and a new RDS-managed secret, so each",
        "  service that uses the database gets a new task definition revision (new DB_HOST, new credentials);",
        "  until its new tasks run, its old tasks keep writing to the old cluster; those writes are lost with it",
        "  (stop writers first, e.g. scale the services to 0, to avoid that).",
        "  Only RestoreFrom changes: every other parameter keeps its running value; app.yaml's migrate: is not run.",
    ])


def restore(ctx: Any, snapshot_id: str | None) -> int:
    """`make restore`: scripts/deploylib/restore.py."""
    from scripts.deploylib import restore as restoring
    return restoring.restore(ctx, snapshot_id)


def check_restore_kept(env: str, running: dict[str, str] | None, parameters: list[dict[str, Any]],
                       overrides: dict[str, str]) -> None:
    """A plain deploy must not change RestoreFrom on a restored cluster: cleared, CloudFormation replaces the cluster
    with an empty one; changed (a parameter file older than the restore), with that other snapshot; either way the
    data written since the restore survives only in the final snapshot. Called by commands.prepare for every deploy;
    `make restore` sets the parameter as an override, and a first restore (RestoreFrom empty so far) goes through."""
    restored = (running or {}).get(RESTORE_PARAMETER, "")
    new = next((p.get("ParameterValue") for p in parameters if p["ParameterKey"] == RESTORE_PARAMETER), None)
    if not restored or new is None or new == restored or RESTORE_PARAMETER in overrides:
        return
    what = "an EMPTY one" if new == "" else f"one restored from {new}"
    raise DeployError(
        f"refusing to deploy: the database was restored from {restored}, and this deploy would set "
        f"{RESTORE_PARAMETER} to '{new}' and so replace the restored cluster with {what}",
        f"keep the restore: set environments.{env}.database.restore_from: {restored} in app.yaml, run "
        "`make templates`, commit, then deploy; to restore another snapshot: "
        f"`make restore ENV={env} SNAPSHOT=<identifier>` (docs/database.md, 'Restoring a snapshot')")
