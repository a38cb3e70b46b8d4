"""A monthly cost estimate per environment: the spec's sizes and counts, the environment's parameter values, the
resources in the generated templates, and the dated price table (prices.json). Pure: no AWS call.

What the spec states exactly (task sizes, task counts, Spot share, NAT mode, zones, endpoints, retention, off-hours)
is priced as stated; what only traffic decides (load balancer capacity units, NAT and endpoint gigabytes, log
volume, database capacity) comes from the assumptions below, each printed with the estimate. Resources are counted
by type in the environment's templates, so a component that adds a priced type (a queue, a table, a bucket, a
cache, a file system, a distribution, a secret) is priced without changes here; its Conditions are not evaluated
(a resource some environments leave out is counted in every environment), except for NAT gateways and interface
endpoints, whose counts come from the environment's settings.
"""
from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import field

from generator import cfnyaml
from generator.config import AppSpec
from generator.config.models import ServiceEnvSpec
from generator.cost import prices as price_table
from generator.cost.schedule_hours import off_share, runs_per_month
from generator.records import record


@record(frozen=True)
class Assumption:
    key: str
    production: float
    other: float
    text: str          # `{value}` is replaced by the environment's value

    def value(self, production: bool) -> float:
        return self.production if production else self.other


ASSUMPTIONS = (
    Assumption("alb_lcu", 1.0, 0.2, "load balancer capacity units (LCU) used on average: {value} (1 LCU: 25 new "
                                    "connections/s, 3,000 active connections, 1 GB an hour or 1,000 rule evaluations/s)"),
    Assumption("nat_gb", 100, 20, "GB a month through the NAT gateways (image pulls, outbound calls): {value}"),
    Assumption("endpoint_gb", 50, 10, "GB a month through the interface endpoints: {value}"),
    Assumption("service_log_gb", 2.0, 0.5, "GB of logs each service writes a month: {value}"),
    Assumption("flow_log_gb", 5.0, 1.0, "GB of VPC flow logs a month: {value}"),
    Assumption("cron_minutes", 10, 10, "minutes a cron run lasts: {value}"),
    Assumption("aurora_acu", 2.0, 0.5, "database capacity on average, all instances together (Aurora Serverless v2 "
                                       "ACU): {value}"),
    Assumption("aurora_gb", 50, 10, "GB the database stores: {value}"),
    Assumption("aurora_io_million", 50, 5, "million database I/O requests a month (Aurora Standard): {value}"),
    Assumption("image_gb", 0.3, 0.3, "GB per image in the registry, every kept release counted: {value}"),
    Assumption("insights_metrics_per_service", 20, 20, "Container Insights metrics per service (service and task "
               "family dimensions; 10 more per cluster), priced as custom metrics: {value} (unsure: the count "
               "depends on the platform version)"),
    Assumption("queue_million_requests", 5, 1, "million requests a month per queue: {value}"),
    Assumption("bucket_gb", 20, 5, "GB per bucket: {value}"),
    Assumption("table_gb", 10, 1, "GB per table: {value}"),
    Assumption("table_million_writes", 5, 0.5, "million writes a month per table (and 10 reads per write): {value}"),
    Assumption("cache_gb", 1.0, 0.5, "GB per serverless cache on average: {value}"),
    Assumption("file_system_gb", 20, 5, "GB per file system: {value}"),
    Assumption("cdn_gb", 200, 10, "GB a month per distribution to viewers (10,000 requests per GB): {value}"),
)
_BY_KEY = {a.key: a for a in ASSUMPTIONS}
# Stated once, printed with every estimate: what is left out.
NOT_INCLUDED = (
    "data transfer to the internet, between zones and between Regions",
    "the pipeline account (CodePipeline, CodeBuild, its buckets and keys)",
    "free tiers, Savings Plans and other discounts, taxes",
    "scaling above min_count (the most autoscaling may add is shown per environment)",
)
# Resource types priced per resource (type -> what one costs a month, from the assumptions above).
METERED_TYPES = {
    "AWS::CloudWatch::Alarm": "alarms",
    "AWS::CloudWatch::CompositeAlarm": "composite alarms",
    "AWS::KMS::Key": "KMS keys",
    "AWS::SecretsManager::Secret": "secrets",
    "AWS::SQS::Queue": "queues",
    "AWS::S3::Bucket": "buckets",
    "AWS::DynamoDB::Table": "tables",
    "AWS::ElastiCache::ServerlessCache": "serverless caches",
    "AWS::EFS::FileSystem": "file systems",
    "AWS::CloudFront::Distribution": "distributions",
}


@record(frozen=True)
class Line:
    group: str          # compute, network, data, observability
    what: str
    monthly: float


@record
class Environment:
    name: str
    production: bool
    region: str         # environments.<env>.region, else the app's: every price is read for it
    lines: list[Line] = field(default_factory=list)
    off_hours_saving: float = 0.0
    off_hours_note: str = ""
    scaling_ceiling: float = 0.0      # what running every service at max_count would add
    notes: list[str] = field(default_factory=list)

    @property
    def always_on(self) -> float:
        return sum(line.monthly for line in self.lines)

    @property
    def total(self) -> float:
        return self.always_on - self.off_hours_saving


@record
class Estimate:
    app: str
    region: str
    source: str
    environments: list[Environment]
    table: price_table.Table
    prices_used: set[tuple[str, str]] = field(default_factory=set)     # (region, key)

    @property
    def total(self) -> float:
        return sum(e.total for e in self.environments)


def estimate(app: AppSpec, environments: Iterable[str] | None = None, source: str = "app.yaml",
             table: price_table.Table | None = None) -> Estimate:
    from generator.build import render_app
    rendered = render_app(app)
    environment_stacks = rendered.build.templates()      # the root and its nested stacks, not the pipeline's
    templates = {name: cfnyaml.loads(text) for name, text in rendered.templates.items() if name in environment_stacks}
    table = table or price_table.load()
    wanted = list(environments or app.environments)
    unknown = [e for e in wanted if e not in app.environments]
    if unknown:
        from generator.errors import UsageError
        raise UsageError([f"--env {e}: not an environment of {source} ({', '.join(app.environments)})"
                          for e in unknown])
    result = Estimate(app.app, app.region, source, [], table)
    for env in wanted:
        params = {p["ParameterKey"]: p["ParameterValue"] for p in json.loads(rendered.params[f"{env}.json"])}
        result.environments.append(_environment(app, env, params, templates, table, result.prices_used))
    return result


def _environment(app: AppSpec, env: str, params: dict[str, str], templates: dict[str, dict],
                 table: price_table.Table, used: set[tuple[str, str]]) -> Environment:
    spec = app.environments[env]
    region = app.region_of(env)
    out = Environment(env, spec.production, region)
    hours = table.hours_per_month

    def price(key: str) -> float:
        used.add((region, key))
        return table.price(region, key)

    def assume(key: str) -> float:
        return _BY_KEY[key].value(spec.production)

    # --- compute: Fargate, on-demand and Spot by the environment's SpotShare
    spot = int(params.get("SpotShare", "0")) / 100
    task_hour = {}
    always_on = []
    for service in app.services:
        settings = ServiceEnvSpec.of(spec, service.name)
        low, high = settings.capacity()
        per_hour = service.cpu / 1024 * price("fargate_vcpu_hour") + service.memory / 1024 * price("fargate_gb_hour")
        if service.ephemeral_storage_gib:
            per_hour += (service.ephemeral_storage_gib - 20) * price("fargate_storage_gb_hour")
        task_hour[service.name] = per_hour
        if service.kind == "cron":
            runs = runs_per_month(service.schedule or "", hours)
            if runs is None:
                runs = 30.0
                out.notes.append(f"{service.name}: schedule {service.schedule} not read here; one run a day assumed")
            task_hours = runs * assume("cron_minutes") / 60
        else:
            task_hours = low * hours
            always_on.append(service.name)
            out.scaling_ceiling += (high - low) * hours * per_hour * (1 - spot * price("fargate_spot_discount"))
        cost = task_hours * per_hour
        if cost:
            kind = "scheduled task runs" if service.kind == "cron" else f"{low} task{'s' if low != 1 else ''}"
            size = f"{service.cpu / 1024:g} vCPU, {service.memory / 1024:g} GB"
            out.lines.append(Line("compute", f"Fargate {service.name} ({service.kind}, {kind}, {size})",
                                  cost * (1 - spot * price("fargate_spot_discount"))))
    if spot:
        out.notes.append(f"{spot:.0%} of task hours on Fargate Spot ({price('fargate_spot_discount'):.0%} off)")

    # --- the database: capacity (at least MinCapacity on the writer and each reader), storage and I/O
    database = None
    if app.database is not None:
        instances = 1 + int(params.get("Readers", "0"))
        acu = max(assume("aurora_acu"), float(params.get("MinCapacity", "0")) * instances)
        database = Line("data", f"Aurora Serverless v2 ({acu:g} ACU, {instances} instance"
                                f"{'s' if instances != 1 else ''})", acu * hours * price("aurora_acu_hour"))
        out.lines.append(database)
        out.lines.append(Line("data", f"Aurora storage ({assume('aurora_gb'):g} GB) and I/O",
                              assume("aurora_gb") * price("aurora_storage_gb_month")
                              + assume("aurora_io_million") * price("aurora_io_million")))

    # --- off-hours: web services and workers stopped between `stop` and `start`; the database paused (no
    # connections once they stop, MinCapacity 0) or stopped by its schedules (engines that cannot pause) meanwhile:
    # no ACU is billed while paused or stopped, storage is
    if spec.off_hours is not None:
        share = off_share(spec.off_hours.stop, spec.off_hours.start)
        stopped = [line for line in out.lines if line.group == "compute"
                   and any(line.what.startswith(f"Fargate {name} (") for name in always_on)]
        quiet = list(always_on)
        if database is not None and not spec.production:
            stopped.append(database)
            quiet.append("the database")
        if share is None:
            out.off_hours_note = "off-hours schedule not read here: no saving counted"
        else:
            out.off_hours_saving = sum(line.monthly for line in stopped) * share
            out.off_hours_note = (f"{', '.join(quiet)} stopped {share * 168:.0f} of 168 hours a week: "
                                  f"{spec.off_hours.stop} to {spec.off_hours.start} ({spec.off_hours.timezone})")

    # --- network
    types = _count(templates)
    az_count = int(params.get("AzCount", app.env_value(env, "az_count")))
    load_balancers = types["AWS::ElasticLoadBalancingV2::LoadBalancer"]
    if load_balancers:
        out.lines.append(Line("network", f"load balancer ({load_balancers}), {assume('alb_lcu'):g} LCU",
                              load_balancers * hours * (price("alb_hour") + assume("alb_lcu") * price("alb_lcu_hour"))))
        out.lines.append(Line("network", f"public IPv4 addresses of the load balancer ({az_count})",
                              load_balancers * az_count * hours * price("public_ipv4_hour")))
    nat_mode = params.get("NatMode", app.env_value(env, "nat"))
    nats = 0 if app.network.mode != "new" else {"none": 0, "single": 1, "per-az": az_count}[nat_mode]
    if nats:
        out.lines.append(Line("network", f"NAT gateways ({nats}, {nat_mode}) and their IPv4 addresses",
                              nats * hours * (price("nat_hour") + price("public_ipv4_hour"))))
        out.lines.append(Line("network", f"NAT traffic ({assume('nat_gb'):g} GB)", assume("nat_gb") * price("nat_gb")))
    interface = _interface_endpoints(templates)
    if interface and params.get("EnableInterfaceEndpoints", "false") == "true":
        out.lines.append(Line("network", f"interface endpoints ({interface} x {az_count} zones)",
                              interface * az_count * hours * price("endpoint_az_hour")))
        out.lines.append(Line("network", f"endpoint traffic ({assume('endpoint_gb'):g} GB)",
                              assume("endpoint_gb") * price("endpoint_gb")))

    # --- data: the rest by resource type
    repositories = types["AWS::ECR::Repository"]
    if repositories:
        stored = repositories * app.registry.keep_releases * assume("image_gb")
        out.lines.append(Line("data", f"image repositories ({repositories}, {stored:g} GB kept)",
                              stored * price("ecr_storage_gb_month")))
    metered = {
        "AWS::SecretsManager::Secret": lambda: price("secret_month"),
        "AWS::SQS::Queue": lambda: assume("queue_million_requests") * price("sqs_million_requests"),
        "AWS::S3::Bucket": lambda: assume("bucket_gb") * price("s3_storage_gb_month"),
        "AWS::DynamoDB::Table": lambda: (assume("table_million_writes") * (price("dynamodb_write_million")
                                                                           + 10 * price("dynamodb_read_million"))
                                         + assume("table_gb") * price("dynamodb_storage_gb_month")),
        "AWS::ElastiCache::ServerlessCache": lambda: assume("cache_gb") * hours * price(
            "elasticache_serverless_gb_hour"),
        "AWS::EFS::FileSystem": lambda: assume("file_system_gb") * price("efs_storage_gb_month"),
        "AWS::CloudFront::Distribution": lambda: assume("cdn_gb") * (price("cloudfront_gb")
                                                                     + price("cloudfront_10k_https")),
    }
    for kind, each in metered.items():
        if types[kind]:
            out.lines.append(Line("data", f"{METERED_TYPES[kind]} ({types[kind]})", types[kind] * each()))
    _caches(app, env, out, table, price)

    # --- observability
    logs_gb = len(app.services) * assume("service_log_gb")
    stored_gb = sum(assume("service_log_gb") * min(ServiceEnvSpec.of(spec, s.name).log_retention_days, 365) / 30.4
                    for s in app.services)
    if logs_gb:
        out.lines.append(Line("observability", f"service logs ({logs_gb:g} GB a month, kept per log_retention_days)",
                              logs_gb * price("logs_ingest_gb") + stored_gb * price("logs_storage_gb_month")))
    if types["AWS::EC2::FlowLog"]:
        kept = min(int(params.get("FlowLogRetentionDays", "30")), 365) / 30.4
        out.lines.append(Line("observability", f"VPC flow logs ({assume('flow_log_gb'):g} GB a month)",
                              assume("flow_log_gb") * (price("logs_ingest_gb") + kept * price("logs_storage_gb_month"))))
    if types["AWS::CloudWatch::Alarm"]:
        out.lines.append(Line("observability", f"alarms ({types['AWS::CloudWatch::Alarm']})",
                              types["AWS::CloudWatch::Alarm"] * price("alarm_month")))
    if types["AWS::CloudWatch::CompositeAlarm"]:
        out.lines.append(Line("observability", f"composite alarms ({types['AWS::CloudWatch::CompositeAlarm']}, one "
                                               "per service and data store)",
                              types["AWS::CloudWatch::CompositeAlarm"] * price("composite_alarm_month")))
    if _container_insights(templates):
        metrics = 10 + len(always_on) * assume("insights_metrics_per_service")
        out.lines.append(Line("observability", f"Container Insights ({metrics:g} metrics)",
                              metrics * price("custom_metric_month")))
    if types["AWS::KMS::Key"]:
        out.lines.append(Line("observability", f"KMS keys ({types['AWS::KMS::Key']})",
                              types["AWS::KMS::Key"] * price("kms_key_month")))
    return out


def _caches(app: AppSpec, env: str, out: Environment, table: price_table.Table, price) -> None:
    """Node-based caches (the cache component's replication groups): node type x nodes x hours, at the engine's
    rate (Valkey's is below Redis OSS's for the same node type). A node type the table lacks is named, never priced
    at a guess."""
    from generator.components.cache.spec import settings
    for cache in app.caches:
        node = settings(app, env, cache.name)
        key = node_price_key(cache.engine, node.node_type)
        what = f"cache {cache.name} ({cache.engine}, {node.nodes} x {node.node_type})"
        if not table.has(key):
            out.notes.append(f"not priced: {what}: the price table has no {key} (add it: docs/cost.md)")
            continue
        out.lines.append(Line("data", what, node.nodes * table.hours_per_month * price(key)))


def node_price_key(engine: str, node_type: str) -> str:
    return f"cache_node_hour.{engine}.{node_type}"


def _resources(templates: dict[str, dict]) -> Iterable[dict]:
    for template in templates.values():
        yield from (template.get("Resources") or {}).values()


def _count(templates: dict[str, dict]) -> Counter:
    return Counter(r.get("Type") for r in _resources(templates))


def _interface_endpoints(templates: dict[str, dict]) -> int:
    return sum(1 for r in _resources(templates) if r.get("Type") == "AWS::EC2::VPCEndpoint"
               and (r.get("Properties") or {}).get("VpcEndpointType") == "Interface")


def _container_insights(templates: dict[str, dict]) -> bool:
    for r in _resources(templates):
        if r.get("Type") == "AWS::ECS::Cluster":
            for setting in (r.get("Properties") or {}).get("ClusterSettings") or []:
                if setting.get("Name") == "containerInsights" and setting.get("Value") in ("enabled", "enhanced"):
                    return True
    return False


def assumption_lines() -> list[str]:
    return [a.text.format(value=f"{a.production:g} in production, {a.other:g} elsewhere"
                          if a.production != a.other else f"{a.other:g}") for a in ASSUMPTIONS]
