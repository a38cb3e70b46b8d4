"""The cost estimate and the diagram: golden files for every example (examples/<name>/) and every fixture app
(tests/golden/<app>/), direct assertions on what they must say, and both drawn for whatever app app.yaml holds."""
from __future__ import annotations

import hashlib
import re
from collections import Counter

import pytest

from generator import cfnyaml
from generator.config import load_app
from generator.config.loader import parse_app
from generator.cost import estimate, prices, report
from generator.cost.schedule_hours import off_share, runs_per_month
from generator.diagram import draw, model, svg
from generator.errors import UsageError
from tests.support import DEFAULT_APP, DEFAULT_TEMPLATES, REPO_APP, REPO_TEMPLATES, ROOT, app_id
from tests.update_tool_golden import cost_text, targets

TARGETS = list(targets())


@pytest.mark.parametrize("app, templates, cost, diagram, png", TARGETS, ids=[app_id(t[0]) for t in TARGETS])
def test_cost_and_diagram_match_the_golden_files(app, templates, cost, diagram, png):
    assert cost_text(app) == cost.read_text(encoding="utf-8"), f"{cost} is stale: run `make golden`"
    text = draw.svg_text(templates)
    assert text == diagram.read_text(encoding="utf-8"), f"{diagram} is stale: run `make golden`"
    if png:
        chunks = draw.text_chunks(diagram.with_suffix(".png").read_bytes())
        assert chunks[draw.PNG_KEY].decode() == hashlib.sha256(text.encode()).hexdigest(), \
            f"{diagram.with_suffix('.png')} was not rendered from {diagram}: run `make golden`"


def test_this_app_gets_a_cost_estimate_and_a_diagram(tmp_path):
    """Whatever app the root app.yaml holds: `make cost` prints every environment, `make diagram` draws every
    nested stack of templates_out/ (no golden file: the app is the user's)."""
    app = load_app(REPO_APP)
    text = report.text(estimate.estimate(app, source="app.yaml"))
    for env in app.environments:
        assert f"{env}" in text
    written = draw.write(REPO_TEMPLATES, tmp_path / "this-app.svg", png=False)
    drawn = written[0].read_text()
    root = cfnyaml.loads((REPO_TEMPLATES / "root.yaml").read_text())
    for logical_id, resource in root["Resources"].items():
        if resource["Type"] == "AWS::CloudFormation::Stack":
            assert resource["Properties"]["TemplateURL"].removeprefix("./") in drawn, logical_id


# ------------------------------------------------------------------------------------------------ cost
def test_off_hours_share_of_weekday_nights_and_weekends():
    # 20:00-07:00 Monday to Thursday nights (4 x 11 h) and Friday 20:00 to Monday 07:00 (59 h): 103 of 168 hours
    share = off_share("cron(0 20 ? * MON-FRI *)", "cron(0 7 ? * MON-FRI *)")
    assert round(share * 168, 6) == 103
    assert off_share("cron(0 20 L * ? *)", "cron(0 7 ? * MON-FRI *)") is None      # L is not read here


@pytest.mark.parametrize("schedule, runs", [
    ("rate(1 hour)", 730), ("rate(5 minutes)", 730 * 12), ("rate(1 day)", 730 / 24),
    ("cron(0 3 * * ? *)", 730 / 24), ("cron(0 3 ? * MON-FRI *)", 730 / 24 * 5 / 7), ("cron(0 3 1W * ? *)", None),
])
def test_cron_runs_per_month(schedule, runs):
    found = runs_per_month(schedule, 730)
    assert found == runs if runs is None else found == pytest.approx(runs)


def _app(**environments):
    return parse_app({"app": "shop", "owner": "team", "region": "eu-west-1",
                      "services": [{"name": "web", "kind": "web", "port": 8080, "cpu": 1024, "memory": 2048},
                                   {"name": "jobs", "kind": "cron", "schedule": "rate(1 hour)"}],
                      "environments": environments})


def test_fargate_line_is_task_hours_times_the_price_less_the_spot_share():
    e = estimate.estimate(_app(dev={"cidr": "10.0.0.0/16", "spot_share": 50,
                                    "services": {"web": {"desired_count": 2}}}))
    table = prices.load()
    hourly = 1 * table.price("eu-west-1", "fargate_vcpu_hour") + 2 * table.price("eu-west-1", "fargate_gb_hour")
    spot = 0.5 * table.price("eu-west-1", "fargate_spot_discount")
    line = next(line for line in e.environments[0].lines if line.what.startswith("Fargate web"))
    assert line.monthly == pytest.approx(2 * 730 * hourly * (1 - spot))
    cron = next(line for line in e.environments[0].lines if line.what.startswith("Fargate jobs"))
    runs = 730                                              # rate(1 hour), 10 minutes each (the assumption)
    small = 0.25 * table.price("eu-west-1", "fargate_vcpu_hour") + 0.5 * table.price("eu-west-1", "fargate_gb_hour")
    assert cron.monthly == pytest.approx(runs * 10 / 60 * small * (1 - spot))


def test_nat_gateways_follow_the_environment_nat_mode_and_zones():
    e = estimate.estimate(_app(
        dev={"cidr": "10.0.0.0/16", "nat": "single"},
        prod={"cidr": "10.1.0.0/16", "production": True, "nat": "per-az", "zones": ["euw1-az1", "euw1-az2"]}))
    lines = {env.name: next(line.what for line in env.lines if line.what.startswith("NAT gateways"))
             for env in e.environments}
    assert lines == {"dev": "NAT gateways (1, single) and their IPv4 addresses",
                     "prod": "NAT gateways (2, per-az) and their IPv4 addresses"}


def test_off_hours_saving_is_shown_apart_and_only_for_always_on_services():
    e = estimate.estimate(_app(dev={"cidr": "10.0.0.0/16", "off_hours": {
        "stop": "cron(0 20 ? * MON-FRI *)", "start": "cron(0 7 ? * MON-FRI *)"}}))
    dev = e.environments[0]
    web = next(line for line in dev.lines if line.what.startswith("Fargate web"))
    assert dev.off_hours_saving == pytest.approx(web.monthly * 103 / 168)
    assert dev.total == pytest.approx(dev.always_on - dev.off_hours_saving)
    assert "web stopped 103 of 168 hours a week" in dev.off_hours_note
    text = report.text(e)
    assert re.search(r"off-hours saving +-\d", text) and "always on" in text


def test_unknown_environment_is_refused():
    with pytest.raises(UsageError) as err:
        estimate.estimate(_app(dev={"cidr": "10.0.0.0/16"}), environments=["qa"])
    assert err.value.lines() == ["--env qa: not an environment of app.yaml (dev)"]


def test_every_price_names_a_source_with_an_address_and_a_date():
    table = prices.load()
    for region, entries in table.data["prices"].items():
        for key, entry in entries.items():
            assert entry["source"] in table.data["sources"], f"{region}.{key}"
            assert entry["price"] > 0 and entry["unit"]
            assert key in table.data["prices"][prices.BASE_REGION], f"{region}.{key} has no {prices.BASE_REGION} price"
    for name, source in table.data["sources"].items():
        assert source["url"].startswith("https://") and re.fullmatch(r"\d{4}-\d\d-\d\d", source["read"]), name


def test_estimate_prints_every_assumption_and_price_it_used():
    text = (DEFAULT_APP.parent / "cost.txt").read_text()
    for line in estimate.assumption_lines():
        assert line in text
    for key in ("fargate_vcpu_hour", "alb_hour", "nat_hour", "aurora_acu_hour", "logs_ingest_gb", "alarm_month"):
        assert f"  - {key}: " in text


def test_a_region_without_prices_says_so():
    text = (ROOT / "tests" / "golden" / "workers" / "cost.txt").read_text()
    assert "warning: the price table has no eu-central-1 prices: dev, prod priced at us-east-1's" in text


def _cached(region: str = "us-east-1", **environments):
    return parse_app({"app": "shop", "owner": "team", "region": region,
                      "services": [{"name": "web", "kind": "web", "port": 8080}],
                      "caches": [{"name": "broker"}, {"name": "sessions", "engine": "redis"}],
                      "environments": environments})


def test_a_cache_costs_its_nodes_hours_at_its_engine_rate():
    """Node-based ElastiCache bills per node-hour of the node type (https://aws.amazon.com/elasticache/pricing/:
    "charged hourly per node"); Valkey nodes cost up to 20% less than Redis OSS nodes of the same type
    (https://aws.amazon.com/elasticache/faqs/). Production runs 2 nodes by default, other environments 1."""
    e = estimate.estimate(_cached(dev={"cidr": "10.0.0.0/16"}, prod={
        "cidr": "10.1.0.0/16", "production": True, "zones": ["use1-az1", "use1-az2"],
        "caches": {"sessions": {"node_type": "cache.r7g.large", "nodes": 3}}}))
    table = prices.load()
    lines = {(env.name, line.what): line.monthly for env in e.environments for line in env.lines
             if line.what.startswith("cache ")}
    valkey = table.price("us-east-1", "cache_node_hour.valkey.cache.t4g.micro")
    redis = table.price("us-east-1", "cache_node_hour.redis.cache.t4g.micro")
    assert valkey < redis
    assert lines == {
        ("dev", "cache broker (valkey, 1 x cache.t4g.micro)"): pytest.approx(730 * valkey),
        ("dev", "cache sessions (redis, 1 x cache.t4g.micro)"): pytest.approx(730 * redis),
        ("prod", "cache broker (valkey, 2 x cache.t4g.micro)"): pytest.approx(2 * 730 * valkey),
        ("prod", "cache sessions (redis, 3 x cache.r7g.large)"): pytest.approx(
            3 * 730 * table.price("us-east-1", "cache_node_hour.redis.cache.r7g.large"))}
    assert "  - cache_node_hour.valkey.cache.t4g.micro: 0.0128 per node-hour (us-east-1; source " \
           "aws-elasticache-price-list" in report.text(e)


def test_a_cache_node_type_the_table_lacks_is_named_never_priced():
    e = estimate.estimate(_cached(dev={"cidr": "10.0.0.0/16", "caches": {"broker": {"node_type": "cache.x9.huge"}}}))
    dev = e.environments[0]
    assert not any(line.what.startswith("cache broker") for line in dev.lines)
    note = ("not priced: cache broker (valkey, 1 x cache.x9.huge): the price table has no "
            "cache_node_hour.valkey.cache.x9.huge (add it: docs/cost.md)")
    assert note in dev.notes and f"  note: {note}" in report.text(e)


def test_every_valkey_node_price_is_below_redis_oss():
    table = prices.load().data["prices"]["us-east-1"]
    valkey = {k.removeprefix("cache_node_hour.valkey."): v["price"] for k, v in table.items()
              if k.startswith("cache_node_hour.valkey.")}
    redis = {k.removeprefix("cache_node_hour.redis."): v["price"] for k, v in table.items()
             if k.startswith("cache_node_hour.redis.")}
    assert valkey.keys() == redis.keys() and "cache.t4g.micro" in valkey
    assert all(valkey[t] < redis[t] for t in valkey)


def test_each_environment_is_priced_in_its_own_region():
    """An environment with its own `region` reads every price for that region: eu-west-1's load balancer hour
    ($0.0252) rather than the app region's (us-east-1, $0.0225); a region the table lacks (af-south-1) gets a warning
    naming the environment, and each region's prices are listed apart."""
    e = estimate.estimate(_cached(dev={"cidr": "10.0.0.0/16"},
                                  eu={"cidr": "10.1.0.0/16", "region": "eu-west-1"},
                                  bh={"cidr": "10.2.0.0/16", "region": "af-south-1"}))
    table = prices.load()
    lb = {env.name: next(line.monthly for line in env.lines if line.what.startswith("load balancer"))
          for env in e.environments}
    lcu = 0.2 * table.price("us-east-1", "alb_lcu_hour")
    assert lb == {"dev": pytest.approx(730 * (0.0225 + lcu)), "eu": pytest.approx(730 * (0.0252 + lcu)),
                  "bh": pytest.approx(730 * (0.0225 + lcu))}
    assert [env.region for env in e.environments] == ["us-east-1", "eu-west-1", "af-south-1"]
    text = report.text(e)
    assert ("warning: the price table has no af-south-1 prices: bh priced at us-east-1's (often lower than other "
            "Regions'): add the Region (docs/cost.md)") in text
    assert re.search(r"^note: \d+ of the prices used in eu-west-1 are us-east-1's", text, re.M)
    assert "\neu (eu-west-1)\n" in text and "\nbh (af-south-1)\n" in text and "\ndev\n" in text
    sections = re.findall(r"^Prices used in ([a-z0-9-]+)", text, re.M)
    assert sections == ["us-east-1", "eu-west-1", "af-south-1"]
    eu = text.split("Prices used in eu-west-1")[1].split("Prices used in")[0]
    assert "  - alb_hour: 0.0252 per load balancer-hour (eu-west-1; source calculator-city-alb" in eu
    assert "  - alb_lcu_hour: 0.008 per LCU-hour (us-east-1 price; " in eu


def _section(text: str, heading: str) -> str:
    """The lines of `text` from `heading` to the next blank line."""
    return text.split(f"\n{heading}\n")[1].split("\n\n")[0]


def test_the_chat_example_prices_production_in_its_own_region():
    """prod runs in me-south-1 (Bahrain): its load balancer and NAT gateway hours and its bucket storage are
    Bahrain's, from the AWS Price List API rows for me-south-1 (MES1-LoadBalancerUsage of the Load
    Balancer-Application family $0.02772/h, MES1-NatGateway-Hours $0.0528/h, MES1-TimedStorage-ByteHrs Standard
    $0.025/GB-month; recorded in github.com/R3dn/saudi-cloud-cost-estimator-cli tests/fixtures/aws-me-south-1-rows.json),
    not us-east-1's ($0.0225, $0.045, $0.023); the prices the table lacks for me-south-1 are still said to be
    us-east-1's."""
    text = (ROOT / "examples" / "chat" / "cost.txt").read_text()
    table = prices.load()
    assert table.knows("me-south-1")
    assert {key: table.price("me-south-1", key) for key in ("alb_hour", "nat_hour", "s3_storage_gb_month",
                                                             "endpoint_az_hour")} == {
        "alb_hour": 0.02772, "nat_hour": 0.0528, "s3_storage_gb_month": 0.025, "endpoint_az_hour": 0.0121}
    assert "no me-south-1 prices" not in text
    assert re.search(r"^note: \d+ of the prices used in me-south-1 are us-east-1's", text, re.M)
    prod = _section(text, "prod (production, me-south-1)")
    lines = {m[1].strip(): float(m[2]) for m in re.finditer(r"^  (\S.*?)\s{2,}(-?[\d,]+\.\d\d)$", prod, re.M)}
    lcu = table.price("me-south-1", "alb_lcu_hour")
    ipv4 = table.price("me-south-1", "public_ipv4_hour")
    assert lines["load balancer (1), 1 LCU"] == pytest.approx(730 * (0.02772 + lcu), abs=0.005)
    assert lines["NAT gateways (2, per-az) and their IPv4 addresses"] == pytest.approx(
        2 * 730 * (0.0528 + ipv4), abs=0.005)
    assert lines["buckets (1)"] == pytest.approx(20 * 0.025, abs=0.005)
    bahrain = text.split("Prices used in me-south-1")[1].split("\nSources:")[0]
    assert "  - alb_hour: 0.02772 per load balancer-hour (me-south-1; source aws-price-list-me-south-1" in bahrain
    assert "  - nat_hour: 0.0528 per NAT gateway-hour (me-south-1; source aws-price-list-me-south-1" in bahrain
    assert "  - fargate_vcpu_hour: 0.04048 per vCPU-hour (us-east-1 price; " in bahrain   # not found: said so


def test_the_django_celery_example_prices_its_caches_in_eu_west_1():
    """Every environment of examples/django-celery runs in eu-west-1 with a Valkey broker; the price table has no
    eu-west-1 ElastiCache node prices (none found in a public source that can be cited: docs/cost.md), so each cache
    line is priced at us-east-1's node-hour and the estimate says so for each price and in the count at the top."""
    text = (ROOT / "examples" / "django-celery" / "cost.txt").read_text()
    table = prices.load()
    ireland = text.split("Prices used in eu-west-1")[1].split("\nSources:")[0]
    for node_type, nodes, env in (("cache.t4g.micro", 1, "dev"), ("cache.r7g.large", 2, "prod")):
        key = f"cache_node_hour.valkey.{node_type}"
        assert not table.regional("eu-west-1", key)
        hourly = table.price("eu-west-1", key)
        assert hourly == table.price("us-east-1", key)
        assert f"  - {key}: {hourly:g} per node-hour (us-east-1 price; source aws-elasticache-price-list" in ireland
        section = text.split(f"\n{env}")[1]
        line = re.search(rf"^  cache broker \(valkey, {nodes} x {re.escape(node_type)}\)\s+([\d,]+\.\d\d)$", section, re.M)
        assert line and float(line[1]) == pytest.approx(nodes * 730 * hourly, abs=0.005), env
    assert re.search(r"^note: \d+ of the prices used in eu-west-1 are us-east-1's", text, re.M)


# ------------------------------------------------------------------------------------------------ diagram
def _default() -> model.Architecture:
    return model.read(DEFAULT_TEMPLATES)


def test_diagram_reads_listeners_routes_and_users_from_the_templates():
    arch = _default()
    assert sorted((l.ports[0], tuple(sorted(l.protocols))) for l in arch.listeners) == [
        ("443", ("HTTPS",)), ("80", ("HTTP",)), ("8080", ("HTTP", "HTTPS"))]
    routes = {w.name: sorted({p for r in w.routes for p in r.paths}) for w in arch.workloads}
    assert routes == {"api": ["/api/*"], "nest": ["/nest/*"], "web": ["/*"], "jobs": [], "cron": []}
    api = next(w for w in arch.workloads if w.name == "api")
    assert {r.listener for r in api.routes} == {"HttpListener|HttpsListener", "TestListener"}
    assert [w.kind for w in arch.workloads] == ["web", "web", "web", "worker", "cron"]
    users = {(s.kind, s.logical_id): s.users for s in arch.stores}
    assert users[("bucket", "AccessLogBucket")] == ["load balancer"]
    assert users[("image repository", "ApiRepository")] == ["api"]
    assert users[("queue", "DeadLetterQueue")] == ["cron"]
    assert [s.name for s in arch.stages][:3] == ["Source", "UpdatePipeline", "Build"]


def test_diagram_shows_a_new_store_type_and_an_unknown_stack_without_changes():
    """A table in a data stack, passed to a service through the root: drawn as a store used by that service; a
    nested stack of a kind the diagram does not know: drawn with its resource summary."""
    files = {name: cfnyaml.loads((DEFAULT_TEMPLATES / name).read_text())
             for name in ("root.yaml", "service-api.yaml")}
    files["root.yaml"]["Resources"] = {k: v for k, v in files["root.yaml"]["Resources"].items()
                                       if k in ("ServiceApi",)}
    files["root.yaml"]["Resources"]["Data"] = {"Type": "AWS::CloudFormation::Stack",
                                               "Properties": {"TemplateURL": "./data.yaml"}}
    files["root.yaml"]["Resources"]["Extra"] = {"Type": "AWS::CloudFormation::Stack",
                                                "Properties": {"TemplateURL": "./extra.yaml"}}
    files["root.yaml"]["Resources"]["ServiceApi"]["Properties"]["Parameters"]["OrdersTable"] = {
        "Fn::GetAtt": ["Data", "Outputs.OrdersTableName"]}
    files["data.yaml"] = {"Resources": {"Orders": {"Type": "AWS::DynamoDB::Table", "Properties": {}}},
                          "Outputs": {"OrdersTableName": {"Value": {"Ref": "Orders"}}}}
    files["extra.yaml"] = {"Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {}}}}
    api = files["service-api.yaml"]
    api["Parameters"]["OrdersTable"] = {"Type": "String"}
    api["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"][0]["Environment"] = [
        {"Name": "TABLE", "Value": {"Ref": "OrdersTable"}}]
    arch = model.from_templates(files)
    assert [(s.kind, s.stack, s.users) for s in arch.stores if s.kind == "table"] == [("table", "data.yaml", ["api"])]
    text = svg.render(arch)
    assert "table: data" in text and "used by api" in text and ">extra.yaml<" in text and ">Topic<" in text


def test_diagram_labels_stores_by_their_app_yaml_names_and_kinds():
    """A store's label is its kind and the name app.yaml gives it (read from its physical name or its stack's
    file), never a logical id such as `ReplicationGroup` or `Queue`."""
    arch = _default()
    labels = {(s.kind, s.name) for s in arch.stores}
    assert {("queue", "jobs"), ("queue", "jobs-dlq"), ("queue", "cron-dlq"), ("bucket", "uploads"),
            ("bucket", "alb-logs"), ("bucket", "site"), ("image repository", "api"),
            ("database cluster", "database")} <= labels
    celery = (ROOT / "examples" / "django-celery" / "architecture.svg").read_text()
    for label in ("cache: broker (valkey)", "file system: media", "database cluster: database (aurora-postgresql)",
                  "queue: cleanup-dlq"):
        assert f">{label}<" in celery
    for logical_id in ("ReplicationGroup", "FileSystem", "DeadLetterQueue", "AccessLogBucket"):
        assert f": {logical_id}<" not in celery
    tunecast = svg.render(arch)     # a box of several stores lists their names, or names the one they belong to
    assert ">5 image repositories<" in tunecast and ">api, cron, jobs, nest, web<" in tunecast
    assert ">3 databases: database<" in tunecast


def test_store_name_reads_the_physical_name_then_the_stack_file():
    sub = {"Fn::Sub": ["${Application}-${EnvironmentName}-cdn-logs-${Suffix}", {"Suffix": "x"}]}
    assert model.store_name("LogBucket", {"Properties": {"BucketName": sub}}, "frontend.yaml") == "cdn-logs"
    fifo = {"QueueName": {"Fn::Sub": "${Application}-${EnvironmentName}-jobs-dlq.fifo"}}
    assert model.store_name("DeadLetterQueue", {"Properties": fifo}, "queue-jobs.yaml") == "jobs-dlq"
    assert model.store_name("ReplicationGroup", {"Properties": {}}, "cache-user-sessions.yaml") == "user-sessions"
    assert model.store_name("Cluster", {"Properties": {}}, "database.yaml") == "database"
    assert model.store_name("Orders", {"Properties": {}}, "root.yaml") == "Orders"


def _rects(text: str) -> list[tuple[float, float, float, float]]:
    return [tuple(float(v) for v in m) for m in re.findall(
        r'<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)" rx=', text)]


@pytest.mark.parametrize("app, templates, cost, diagram, png", TARGETS, ids=[app_id(t[0]) for t in TARGETS])
def test_diagram_boxes_do_not_overlap_and_stay_on_the_canvas(app, templates, cost, diagram, png):
    text = diagram.read_text()
    width, height = (float(v) for v in re.search(r'<svg [^>]*width="([\d.]+)" height="([\d.]+)"', text).groups())
    boxes = _rects(text)
    for i, (x, y, w, h) in enumerate(boxes):
        assert 0 <= x and x + w <= width and 0 <= y and y + h <= height
        for x2, y2, w2, h2 in boxes[i + 1:]:
            if (w, h) != (width, height) and (w2, h2) != (width, height):
                overlap = x < x2 + w2 and x2 < x + w and y < y2 + h2 and y2 < y + h
                assert not overlap, (x, y, w, h, x2, y2, w2, h2)


def test_text_fits_its_box_as_cairo_draws_it():
    """The box widths come from estimated DejaVu Sans advances: checked against cairo's own text measurement of
    every label of the default diagram, in the font cairo uses here."""
    cairocffi = pytest.importorskip("cairocffi")
    surface = cairocffi.ImageSurface(cairocffi.FORMAT_ARGB32, 10, 10)
    ctx = cairocffi.Context(surface)
    text = (DEFAULT_APP.parent / "architecture.svg").read_text()
    for size, bold, label in re.findall(r'<text [^>]*font-size="(\d+)"( font-weight="bold")?[^>]*>([^<]*)</text>',
                                        text):
        ctx.select_font_face("DejaVu Sans", cairocffi.FONT_SLANT_NORMAL,
                             cairocffi.FONT_WEIGHT_BOLD if bold else cairocffi.FONT_WEIGHT_NORMAL)
        ctx.set_font_size(float(size))
        plain = label.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
        assert ctx.text_extents(plain)[4] <= svg.text_width(plain, float(size), bool(bold)) + 1, plain


def test_png_renders_what_the_svg_draws():
    """Rendered as a person would see it (cairosvg, fonts from the system): the size the SVG asks for (at twice
    the scale), not blank, and the workload boxes' colours present."""
    cairosvg = pytest.importorskip("cairosvg")
    from io import BytesIO

    from PIL import Image
    text = (DEFAULT_APP.parent / "architecture.svg").read_text()
    image = Image.open(BytesIO(cairosvg.svg2png(bytestring=text.encode()))).convert("RGB")
    width, height = (int(float(v)) for v in re.search(r'width="([\d.]+)" height="([\d.]+)"', text).groups())
    assert image.size == (width, height)
    colours = Counter(image.getdata())
    assert colours[(255, 255, 255)] < 0.9 * width * height                     # not blank
    assert colours[(0xdb, 0xea, 0xfe)] > 1000 and colours[(0xff, 0xed, 0xd5)] > 1000   # web and cron boxes


def test_diagram_of_a_directory_without_templates_says_what_to_do(tmp_path):
    with pytest.raises(UsageError) as err:
        draw.write(tmp_path, tmp_path / "a.svg")
    assert err.value.lines() == [f"{tmp_path}/: no root.yaml: run `make templates` (or fargate-stacks build) first"]
    with pytest.raises(UsageError):
        draw.write(DEFAULT_TEMPLATES, tmp_path / "a.png")
    assert not list(tmp_path.iterdir())


def test_fixture_apps_load():      # the goldens above are built from these
    for app, *_ in TARGETS:
        load_app(app)


def test_readme_shows_the_default_app_estimate():
    e = estimate.estimate(load_app(DEFAULT_APP))
    readme = (ROOT / "README.md").read_text()
    for env in e.environments:
        saving = f"{env.off_hours_saving:,.2f}" if env.off_hours_saving else ""
        assert f"| {env.name} | {env.always_on:,.2f} | {saving} | {env.total:,.2f} |" in readme, env.name
    assert f"| all | | {sum(x.off_hours_saving for x in e.environments):,.2f} | {e.total:,.2f} |" in readme


def test_the_database_pauses_with_the_services_outside_production():
    """Outside production the Aurora capacity line is saved for the off-hours share of the week (paused at 0 ACUs
    or stopped by its schedules, docs/database.md); production's database runs around the clock, at least at
    MinCapacity on the writer and each reader."""
    spec = {"app": "shop", "owner": "team", "region": "eu-west-1",
            "services": [{"name": "web", "kind": "web", "port": 8080}], "database": {"engine": "aurora-postgresql"},
            "environments": {"dev": {"cidr": "10.0.0.0/16", "off_hours": {
                "stop": "cron(0 20 ? * MON-FRI *)", "start": "cron(0 7 ? * MON-FRI *)"}},
                "prod": {"cidr": "10.1.0.0/16", "production": True, "zones": ["euw1-az1", "euw1-az2"],
                         "database": {"min_capacity": 2, "readers": 2}}}}
    e = estimate.estimate(parse_app(spec))
    dev, prod = e.environments
    acu_hour = prices.load().price("eu-west-1", "aurora_acu_hour")
    aurora = next(line for line in dev.lines if line.what.startswith("Aurora Serverless v2"))
    web = next(line for line in dev.lines if line.what.startswith("Fargate web"))
    assert aurora.monthly == pytest.approx(0.5 * 730 * acu_hour)
    assert dev.off_hours_saving == pytest.approx((web.monthly + aurora.monthly) * 103 / 168)
    assert "web, the database stopped 103 of 168 hours a week" in dev.off_hours_note
    prod_aurora = next(line for line in prod.lines if line.what.startswith("Aurora Serverless v2"))
    assert prod_aurora.what == "Aurora Serverless v2 (6 ACU, 3 instances)"   # 2 ACU x (writer + 2 readers)
    assert prod_aurora.monthly == pytest.approx(6 * 730 * acu_hour) and prod.off_hours_saving == 0
