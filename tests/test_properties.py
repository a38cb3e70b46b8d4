"""Property tests: any valid app spec builds, deterministically, fully wired and lint-clean.

The strategy draws valid specs (as the dicts `app.yaml` parses to) across network modes, zone counts, NAT modes,
subnet sizes, 1-3 environments with distinct CIDRs and optional overrides, and 0-4 services of each kind.
Runs are derandomized and keep no example database, so CI sees the same examples every time.
"""
from __future__ import annotations

import copy
import os
import subprocess
import sys
import json
import re
import tempfile
from pathlib import Path
from typing import Any

from cfnlint.decode import cfn_yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator.build import INLINE_TEMPLATES, pipeline_action_templates, render_app
from generator.config import parse_app
from generator.config.models import FARGATE_SIZES, NAME_PATTERN, RETENTION_DAYS
from generator.components.network.zones import zone_id_prefix
from generator.errors import ConfigError
from generator.lint import budgets, gate
from generator.render import stage
from generator.root import ROOT_FILE, ROOT_PARAMETER_BUDGET

FAST = settings(max_examples=20, derandomize=True, database=None, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])
BROKEN = settings(max_examples=200, derandomize=True, database=None, deadline=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
LINT = settings(max_examples=8, derandomize=True, database=None, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])

REGIONS = ("eu-west-1", "eu-central-1", "us-east-1", "us-west-2", "ap-southeast-2")
SCHEDULES = ("cron(0 3 * * ? *)", "rate(1 hour)", "rate(5 minutes)", "cron(15 10 ? * MON-FRI *)")
SIZES = [(cpu, mem) for cpu, mems in FARGATE_SIZES.items() for mem in mems]

names = st.from_regex(NAME_PATTERN, fullmatch=True)
hex_id = st.text("0123456789abcdef", min_size=17, max_size=17) | st.text("0123456789abcdef", min_size=8, max_size=8)
owners = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9 ._:/=+@-]{0,30}[A-Za-z0-9]", fullmatch=True)


def _optional(draw: st.DrawFn, key: str, strategy: st.SearchStrategy, into: dict[str, Any]) -> None:
    """Sets `key` only sometimes, so both the default and explicit values are exercised."""
    if draw(st.booleans()):
        into[key] = draw(strategy)


@st.composite
def services(draw: st.DrawFn, per_kind: int = 4, total: int | None = None) -> list[dict[str, Any]]:
    """0 to `per_kind` services of each kind; with `total`, up to `total` services in any mix of kinds."""
    if total is None:
        kinds = [kind for kind in ("web", "worker", "cron") for _ in range(draw(st.integers(0, per_kind)))]
    else:
        web = draw(st.integers(0, total))
        workers = draw(st.integers(0, total - web))
        kinds = ["web"] * web + ["worker"] * workers + ["cron"] * draw(st.integers(0, total - web - workers))
    kinds = draw(st.permutations(kinds))
    # names stay distinct without hyphens too (they become stack and parameter names)
    svc_names = draw(st.lists(names, min_size=len(kinds), max_size=len(kinds), unique_by=lambda n: n.replace("-", "")))
    priorities = iter(draw(st.lists(st.integers(1, 49999), min_size=len(kinds), max_size=len(kinds), unique=True)))
    catch_all = draw(st.booleans())  # at most one web service goes without routing
    result = []
    for name, kind in zip(svc_names, kinds):
        svc: dict[str, Any] = {"name": name, "kind": kind}
        if kind == "web":
            svc["port"] = draw(st.integers(1, 65535))
            _optional(draw, "health_check_path", st.sampled_from(["/", "/health", "/api/v1/status"]), svc)
            if catch_all:
                catch_all = False
            else:
                svc["routing"] = draw(st.fixed_dictionaries({"priority": st.just(next(priorities))}, optional={
                    "hosts": st.lists(st.sampled_from([f"{name}.example.com", "*.example.org"]), min_size=1,
                                      max_size=2, unique=True)}))
                if "hosts" not in svc["routing"] or draw(st.booleans()):
                    svc["routing"]["path_patterns"] = [f"/{name}/*"]
        if kind == "cron":
            svc["schedule"] = draw(st.sampled_from(SCHEDULES))
        if draw(st.booleans()):
            svc["cpu"], svc["memory"] = draw(st.sampled_from(SIZES))
        _optional(draw, "command", st.lists(st.sampled_from(["node", "app.js", "--flag", "x y"]), max_size=3), svc)
        result.append(svc)
    return result


@st.composite
def app_specs(draw: st.DrawFn, services_per_kind: int = 4, total_services: int | None = None) -> dict[str, Any]:
    network: dict[str, Any] = draw(st.fixed_dictionaries({}, optional={
        "mode": st.sampled_from(["new", "existing"]),
        "az_count": st.sampled_from([2, 3]),
        "nat": st.sampled_from(["none", "single", "per-az"]),
        "subnet_prefix": st.integers(19, 27),  # a load balancer subnet is a /27 or larger
        "flow_log_retention_days": st.sampled_from(RETENTION_DAYS),
        "interface_endpoints": st.booleans(),
    }))
    mode, az_count = network.get("mode", "new"), network.get("az_count", 2)
    largest = network.get("subnet_prefix", 20) - 3  # six subnets must fit the VPC

    env_names = draw(st.lists(names, min_size=1, max_size=3, unique=True))
    octets = draw(st.lists(st.integers(0, 255), min_size=len(env_names), max_size=len(env_names), unique=True))
    environments: dict[str, Any] = {}
    for name, octet in zip(env_names, octets):
        prefix = draw(st.integers(16, min(17, largest)))
        third = draw(st.sampled_from([0, 128])) if prefix == 17 else 0
        env: dict[str, Any] = {"cidr": f"10.{octet}.{third}.0/{prefix}"}
        _optional(draw, "production", st.booleans(), env)
        _optional(draw, "account_id", st.from_regex(r"[0-9]{12}", fullmatch=True), env)
        _optional(draw, "az_count", st.integers(2, az_count), env)
        _optional(draw, "nat", st.sampled_from(["none", "single", "per-az"]), env)
        _optional(draw, "flow_log_retention_days", st.sampled_from(RETENTION_DAYS), env)
        _optional(draw, "interface_endpoints", st.booleans(), env)
        if mode == "existing":
            zones = env.get("az_count", az_count)
            env["vpc_id"] = "vpc-" + draw(hex_id)
            subnets = draw(st.lists(hex_id, min_size=2 * zones, max_size=2 * zones, unique=True))
            env["public_subnet_ids"] = [f"subnet-{s}" for s in subnets[:zones]]
            env["private_subnet_ids"] = [f"subnet-{s}" for s in subnets[zones:]]
        nat = env.get("nat", network.get("nat", "single"))
        endpoints = env.get("interface_endpoints", network.get("interface_endpoints", False))
        if mode == "new" and nat == "none" and not endpoints:
            env["interface_endpoints"] = True  # without NAT, tasks reach ECR and CloudWatch Logs through endpoints
        environments[name] = env

    spec: dict[str, Any] = {"app": draw(names), "owner": draw(owners), "region": draw(st.sampled_from(REGIONS))}
    if mode == "new":   # a production environment pins its zones (by ID or by name); any other one may
        for env in environments.values():
            if env.get("production") or draw(st.booleans()):
                count, region = env.get("az_count", az_count), spec["region"]
                env["zones"] = draw(st.sampled_from([[f"{zone_id_prefix(region)}-az{i + 1}" for i in range(count)],
                                                     [f"{region}{'abc'[i]}" for i in range(count)]]))
    if network or draw(st.booleans()):
        spec["network"] = network
    spec["services"] = draw(services(services_per_kind, total_services))
    if draw(st.booleans()):
        spec["database"] = draw(st.fixed_dictionaries({}, optional={
            "name": st.from_regex(r"[a-z][a-z0-9_]{0,20}", fullmatch=True)}))
        if draw(st.booleans()):  # a version RDS offers for the engine (the default engine is aurora-postgresql)
            engine, version = draw(st.sampled_from([("aurora-postgresql", "16.9"), ("aurora-postgresql", "17.7"),
                                                    ("aurora-mysql", "8.0.mysql_aurora.3.08.0")]))
            spec["database"]["engine_version"] = version
            if engine != "aurora-postgresql" or draw(st.booleans()):
                spec["database"]["engine"] = engine
    if draw(st.booleans()):
        spec["registry"] = draw(st.fixed_dictionaries({}, optional={
            "keep_releases": st.integers(1, 1000), "untagged_days": st.integers(1, 365),
            "scan_type": st.sampled_from(["basic", "enhanced"])}))
    spec["environments"] = environments
    return spec


def _cfn(text: str) -> dict[str, Any]:
    """A rendered template as data (short-form tags such as !Ref become {"Ref": ...})."""
    return json.loads(json.dumps(cfn_yaml.loads(text)))


def _refs(node: Any) -> set[str]:
    """Every name a `Ref` (or a `${Name}` in a `Fn::Sub`) points at, anywhere in `node`."""
    if isinstance(node, list):
        return set().union(*(_refs(n) for n in node))
    if not isinstance(node, dict):
        return set()
    found = {node["Ref"]} if isinstance(node.get("Ref"), str) else set()
    sub = node.get("Fn::Sub")
    if sub is not None:
        found |= set(re.findall(r"\$\{([A-Za-z0-9:]+)\}", sub if isinstance(sub, str) else sub[0]))
    return found.union(*(_refs(v) for v in node.values()))


def _nested_stacks(root: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {lid: r for lid, r in root["Resources"].items() if r["Type"] == "AWS::CloudFormation::Stack"}


@FAST
@given(app_specs(services_per_kind=4))
def test_any_valid_spec_builds_deterministically_and_fully_wired(spec: dict[str, Any]) -> None:
    _builds_deterministically_and_fully_wired(spec, parse_app(copy.deepcopy(spec)))


@settings(max_examples=3, derandomize=True, database=None, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(app_specs(total_services=60))
def test_up_to_60_services_build_or_are_refused_in_one_line(spec: dict[str, Any]) -> None:
    """Issue 10: up to 60 services of any mix. More than 50 web services pass the load balancer's quotas (100 target
    groups, 100 rules) and are refused when the spec loads; everything else builds, fully wired, within the root's
    200 parameters and outputs (the gate's size budgets run below)."""
    web = sum(svc["kind"] == "web" for svc in spec["services"])
    try:
        app = parse_app(copy.deepcopy(spec))
    except ConfigError as err:
        assert web > 50 and [p.line("app.yaml") for p in err.problems] == [
            f"app.yaml: services: {web} web services need {2 * web} target groups and {2 * web} listener rules, "
            "and one Application Load Balancer holds at most 100 target groups (a fixed quota) and 100 rules: keep "
            "at most 50 web services in this app (make a background service a worker, or split the app in two)"]
        return
    _builds_deterministically_and_fully_wired(spec, app)


def _builds_deterministically_and_fully_wired(spec: dict[str, Any], app) -> None:
    # (a) it parses (the spec is not changed by parsing) and renders
    original = copy.deepcopy(spec)
    assert parse_app(spec) == app
    assert spec == original
    first = render_app(app)
    assert ROOT_FILE in first.templates

    # (b) determinism: a fresh parse and render gives the same bytes
    second = render_app(parse_app(copy.deepcopy(spec)))
    assert first.templates == second.templates
    assert first.params == second.params

    # (c) every nested-stack parameter is wired exactly once, by reference, never as a bare list
    root = _cfn(first.templates[ROOT_FILE])
    root_params = root.get("Parameters", {})
    nested = _nested_stacks(root)
    places: dict[str, int] = {}   # packed root parameter -> how many places the nested stacks select from it
    children = {name: _cfn(text) for name, text in first.templates.items() if name != ROOT_FILE}
    assert sorted(f"./{name}" for name in children) == sorted(r["Properties"]["TemplateURL"] for r in nested.values())
    for lid, resource in nested.items():
        child = children[resource["Properties"]["TemplateURL"][2:]]
        given_params = resource["Properties"].get("Parameters", {})
        assert set(given_params) == set(child.get("Parameters", {})), lid
        for name, value in given_params.items():
            assert isinstance(value, dict) and len(value) == 1, (lid, name, value)
            [(fn, arg)] = value.items()
            assert fn in ("Ref", "Fn::GetAtt", "Fn::Join", "Fn::Select"), (lid, name, value)
            if fn == "Fn::Select":   # a setting packed in its service's `<Service>Settings` (big apps)
                index, split = arg
                assert split == {"Fn::Split": [",", {"Ref": split["Fn::Split"][1]["Ref"]}]}, (lid, name, value)
                packed = split["Fn::Split"][1]["Ref"]
                assert packed in root_params and packed.endswith("Settings"), (lid, name, value)
                assert isinstance(index, int) and index >= 0, (lid, name, value)
                places[packed] = max(places.get(packed, 0), index + 1)
            elif fn == "Ref":
                assert arg in root_params, (lid, name, arg)
            elif fn == "Fn::GetAtt":
                stack, attr = arg if isinstance(arg, list) else arg.split(".", 1)
                assert stack in nested and stack != lid, (lid, name, arg)
                output = attr.removeprefix("Outputs.")
                assert output in children[nested[stack]["Properties"]["TemplateURL"][2:]].get("Outputs", {}), arg
            else:
                assert value == {"Fn::Join": [",", {"Ref": value["Fn::Join"][1]["Ref"]}]}, (lid, name, value)
                assert value["Fn::Join"][1]["Ref"] in root_params
    used = _refs({k: v for k, v in root.items() if k != "Parameters"})
    assert set(root_params) <= used, f"unused root parameters: {sorted(set(root_params) - used)}"

    # (d) every root parameter has a value in every environment's parameter files, and nothing extra
    assert sorted(first.params) == sorted(f"{env}{ext}" for env in spec["environments"]
                                          for ext in (".json", ".config.json"))
    for env in spec["environments"]:
        cli = json.loads(first.params[f"{env}.json"])
        keys = [item["ParameterKey"] for item in cli]
        assert len(keys) == len(set(keys)) and set(keys) == set(root_params), env
        config = json.loads(first.params[f"{env}.config.json"])
        assert set(config["Parameters"]) == set(root_params), env
        assert config["Parameters"] == {item["ParameterKey"]: item["ParameterValue"] for item in cli}
        for name, value in config["Parameters"].items():
            declared = root_params[name]
            assert isinstance(value, str), (env, name)
            if "AllowedValues" in declared:
                assert value in [str(v) for v in declared["AllowedValues"]], (env, name, value)
            if "AllowedPattern" in declared:
                assert re.fullmatch(declared["AllowedPattern"], value), (env, name, value)
            if name in places:
                assert len(value.split(",")) == places[name], (env, name, value)
            if "MaxLength" in declared:
                assert len(value) <= int(declared["MaxLength"]), (env, name, value)

    # the rest of the build's gate (cfn-lint aside, see below): size budgets and parameter files
    with tempfile.TemporaryDirectory() as tmp:
        templates = stage(first.templates, Path(tmp) / "templates")
        params = stage(first.params, Path(tmp) / "params")
        assert gate.size_budgets(templates, "t", INLINE_TEMPLATES,
                                  pipeline_action=pipeline_action_templates(app)) == []
        assert gate.parameter_files(params, "p", first.build.parameters) == []
    # the services' settings are packed to keep the root within its budget up to the 50 services the issue asks
    # for (tests/test_scale.py); past that, packed at two parameters a service, it only has to stay within
    # CloudFormation's limit of 200 (or the gate refuses it in one line, above)
    assert len(root_params) <= (ROOT_PARAMETER_BUDGET if len(app.services) <= 50 else budgets.MAX_PARAMETERS)
    assert len(root.get("Outputs", {})) <= 200


@LINT
@given(app_specs(services_per_kind=1))
def test_any_valid_spec_is_lint_clean(spec: dict[str, Any]) -> None:
    """Slow (cfn-lint takes about a second per template set), so fewer examples with fewer services: more services
    of one kind only repeat templates the examples already lint."""
    app = parse_app(spec)
    rendered = render_app(app)
    with tempfile.TemporaryDirectory() as tmp:
        staged = stage(rendered.templates, Path(tmp) / "templates")
        assert gate.cfn_lint(staged, "t", app.region) == []


junk = st.recursive(
    st.none() | st.booleans() | st.integers(-10, 70000) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12) | st.sampled_from(["10.0.0.0/8", "vpc-1", "web", "cron", "Prod", "", " "]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6)
LEAKS = ("Input should", "[key]", "function-", "literal[", "instance of", "Value error", "Spec")


@st.composite
def broken_specs(draw: st.DrawFn) -> dict[str, Any]:
    """A valid spec with one to three things damaged: a value replaced by junk, a key removed or one added."""
    spec = draw(app_specs())
    for _ in range(draw(st.integers(1, 3))):
        node: Any = spec
        while True:  # walk down to a random container
            children = list(node.items()) if isinstance(node, dict) else list(enumerate(node))
            containers = [(k, v) for k, v in children if isinstance(v, (dict, list)) and v]
            if not containers or draw(st.booleans()):
                break
            node = draw(st.sampled_from(containers))[1]
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        action = draw(st.sampled_from(["replace", "remove", "add"]))
        if action == "add" and isinstance(node, dict):
            node[draw(st.text(min_size=1, max_size=10))] = draw(junk)
        elif keys and action == "remove":
            del node[draw(st.sampled_from(keys))]
        elif keys:
            node[draw(st.sampled_from(keys))] = draw(junk)
    return spec


@BROKEN
@given(broken_specs())
def test_any_broken_spec_gives_one_readable_line_per_problem(spec: dict[str, Any]) -> None:
    """Whatever is wrong, the loader answers with ConfigError lines (never another exception, so no traceback)."""
    try:
        parse_app(spec)
    except ConfigError as exc:
        assert exc.problems
        for line in exc.lines():
            assert line.startswith("app.yaml: ") and "\n" not in line, line
            assert not any(leak in line for leak in LEAKS), line


def test_rendering_does_not_depend_on_the_hash_seed() -> None:
    """In-process determinism cannot see set/dict-order effects of PYTHONHASHSEED; two fresh interpreters can."""
    script = ("import hashlib, sys; from generator.build import render_app; from generator.config import load_app; "
              "r = render_app(load_app(sys.argv[1])); h = hashlib.sha256(); "
              "[h.update(f'{k}\\0{v}\\0'.encode()) for d in (r.templates, r.params) for k, v in sorted(d.items())]; "
              "print(h.hexdigest())")
    repo = Path(__file__).resolve().parents[1]
    digests = {subprocess.run([sys.executable, "-c", script, str(repo / "app.yaml")], cwd=repo, check=True,
                              capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": seed}).stdout
               for seed in ("1", "2")}
    assert len(digests) == 1
