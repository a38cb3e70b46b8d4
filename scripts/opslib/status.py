"""`make status`: per service its task counts, image tag, a release in progress (CodeDeploy or rolling) and its
stage, the last service events; the alarms in ALARM; per store its state (the database; caches, queues, tables,
file systems: store_status.py)."""
from __future__ import annotations

from typing import Any

from scripts.opslib import release_sources, store_status
from scripts.opslib.context import Ops

# CodeDeploy statuses of a deployment that has not finished (`Ready`: waiting on the test listener for approval).
ACTIVE_DEPLOYMENTS = ["Created", "Queued", "InProgress", "Baking", "Ready"]
EVENTS_SHOWN = 3


def image_tag(image: str) -> str:
    """`...amazonaws.com/repo:abc123` -> `abc123`; `repo@sha256:...` -> `sha256:<12 digits>`."""
    if "@" in image:
        return image.split("@", 1)[1][:19]
    name = image.rsplit("/", 1)[-1]
    return name.split(":", 1)[1] if ":" in name else "latest"


def task_image(ops: Ops, task_definition: str, container: str) -> str:
    described = ops.client("ecs").describe_task_definition(taskDefinition=task_definition)["taskDefinition"]
    for c in described.get("containerDefinitions", []):
        if c.get("name") == container:
            return c.get("image", "")
    return ""


def codedeploy_release(ops: Ops, service: str) -> str | None:
    """The web service's CodeDeploy deployment that has not finished, with its stage, or None."""
    cd = ops.client("codedeploy")
    name = ops.codedeploy(service)
    ids = cd.list_deployments(applicationName=name, deploymentGroupName=name,
                              includeOnlyStatuses=ACTIVE_DEPLOYMENTS).get("deployments", [])
    if not ids:
        return None
    info = cd.get_deployment(deploymentId=ids[0])["deploymentInfo"]
    return describe_deployment(info)


def describe_deployment(info: dict[str, Any]) -> str:
    status = info.get("status", "?")
    overview = info.get("deploymentOverview") or {}
    stage = {"Ready": "waiting for approval: traffic still on the old tasks, the test listener serves the new ones",
             "Baking": "traffic moved; old tasks kept until the termination wait ends"}.get(status, "")
    counts = ", ".join(f"{k} {v}" for k, v in overview.items() if v) if overview else ""
    detail = "; ".join(filter(None, [stage, counts]))
    return f"CodeDeploy {info.get('deploymentId', '?')} {status}" + (f" ({detail})" if detail else "")


def rolling_release(described: dict[str, Any]) -> str | None:
    """An ECS rolling deployment in progress (workers), or None."""
    for d in described.get("deployments", []):
        if d.get("rolloutState") == "IN_PROGRESS" or (d.get("status") == "PRIMARY" and
                                                       len(described.get("deployments", [])) > 1):
            return (f"rolling {d.get('id', '?')} {d.get('rolloutState', d.get('status'))}: "
                    f"{d.get('runningCount', 0)}/{d.get('desiredCount', 0)} new tasks running")
    return None


def service_rows(ops: Ops) -> tuple[list[list[str]], list[str]]:
    ecs = ops.client("ecs")
    rows, events = [], []
    names = {s.name: ops.ecs_service(s.name) for s in ops.target.app.services}
    present = [n for n in names.values() if n]
    described = {}
    for start in range(0, len(present), 10):          # DescribeServices takes at most 10 names
        for s in ecs.describe_services(cluster=ops.cluster, services=present[start:start + 10]).get("services", []):
            described[s["serviceName"]] = s
    for svc in ops.target.app.services:
        name = names[svc.name]
        if name is None:       # cron: tasks of its family, started by the schedule
            running = ecs.list_tasks(cluster=ops.cluster, family=ops.family(svc.name),
                                     desiredStatus="RUNNING").get("taskArns", [])
            definition = ecs.describe_task_definition(taskDefinition=ops.family(svc.name))["taskDefinition"]
            image = next((c.get("image", "") for c in definition.get("containerDefinitions", [])
                          if c.get("name") == svc.name), "")
            rows.append([svc.name, svc.kind, "-", str(len(running)), "-", image_tag(image),
                         f"schedule {svc.schedule}" + (" (a run is in progress)" if running else "")])
            continue
        s = described.get(name)
        if s is None:
            rows.append([svc.name, svc.kind, "?", "?", "?", "?", f"ECS service {name} not found"])
            continue
        primary = next((d for d in s.get("deployments", []) if d.get("status") == "PRIMARY"), {})
        image = task_image(ops, primary.get("taskDefinition") or s.get("taskDefinition", ""), svc.name)
        release = codedeploy_release(ops, svc.name) if svc.kind == "web" else rolling_release(s)
        rows.append([svc.name, svc.kind, str(s.get("desiredCount", 0)), str(s.get("runningCount", 0)),
                     str(s.get("pendingCount", 0)), image_tag(image), release or "-"])
        for event in s.get("events", [])[:EVENTS_SHOWN]:
            events.append(f"  {svc.name}  {event['createdAt']:%Y-%m-%d %H:%M:%S}  {event['message']}")
    return rows, events


def alarms(ops: Ops) -> list[str]:
    """Alarms in ALARM whose names start with the environment's prefix (`<app>-<env>-`: the nested stacks' names,
    which CloudFormation puts in front of the alarms it names)."""
    found = []
    paginator = ops.client("cloudwatch").get_paginator("describe_alarms")
    for page in paginator.paginate(StateValue="ALARM", AlarmNamePrefix=f"{ops.stack}-"):
        for alarm in page.get("MetricAlarms", []) + page.get("CompositeAlarms", []):
            found.append(f"  {alarm['AlarmName']}: {alarm.get('StateReason', '')}")
    return found


def database(ops: Ops) -> list[str]:
    """The app's database cluster (found by its Application and Environment tags) and its state."""
    if ops.target.app.database is None:
        return []
    wanted = {("Application", ops.app), ("Environment", ops.env)}
    lines = []
    for page in ops.client("rds").get_paginator("describe_db_clusters").paginate():
        for cluster in page.get("DBClusters", []):
            tags = {(t["Key"], t["Value"]) for t in cluster.get("TagList", [])}
            if wanted <= tags:
                capacity = cluster.get("ServerlessV2ScalingConfiguration") or {}
                scale = (f", {capacity.get('MinCapacity')}-{capacity.get('MaxCapacity')} ACU"
                         if capacity else "")
                lines.append(f"  {cluster['DBClusterIdentifier']}: {cluster.get('Status', '?')} "
                             f"({cluster.get('Engine', '?')} {cluster.get('EngineVersion', '')}{scale})")
    return lines or ["  no database cluster tagged for this environment (not deployed yet?)"]


def table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in [header, *rows])


def status(ops: Ops) -> int:
    say = ops.console.say
    say(f"{ops.stack} ({ops.aws.region}): stack {ops.root_stack().get('StackStatus', '?')}")
    rows, events = service_rows(ops)
    say(table(rows, ["SERVICE", "KIND", "DESIRED", "RUNNING", "PENDING", "IMAGE", "RELEASE"]))
    found = alarms(ops)
    say(f"Alarms in ALARM: {len(found)}" + ("" if found else " (none)"))
    for line in found:
        say(line)
    db = database(ops)
    if db:
        say("Database:")
        for line in db:
            say(line)
    data = store_status.lines(ops)
    if data:
        say("Data stores:")
        for line in data:
            say(line)
    released = release_sources.lines(ops)
    if released:
        say("Release sources (the commit of each pipeline source):")
        for line in released:
            say(line)
    if events:
        say(f"Last service events (newest first, {EVENTS_SHOWN} per service):")
        for line in events:
            say(line)
    return 0
