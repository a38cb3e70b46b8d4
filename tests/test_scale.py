"""50 services, three environments (issue 10.4, the environment's part): the root's parameter and output budget, the
packed settings of big apps, the load balancer's quotas, and the whole gate at 50 services (docs/performance.md,
Scale). The pipeline's part: tests/test_pipeline_scale.py."""
from __future__ import annotations

import json
import re

import pytest

from generator import build, root
from generator.components import service
from generator.config import parse_app
from generator.errors import ValidationFailed
from generator.lint import budgets
from generator.wiring import Nested, RootParameter, StackBuilder
from scripts import scale_figures
from scripts.bench import scale_spec
from tests.conftest import as_data, make_app
from tests.large_apps import large_pipeline_app
from tests.support import ROOT

API = {"name": "api", "kind": "web", "port": 8080, "routing": {"path_patterns": ["/api/*"], "priority": 10}}
NIGHTLY = {"name": "nightly", "kind": "cron", "schedule": "cron(0 3 * * ? *)"}
QUEUE = {"name": "drain", "kind": "worker"}


def _small(**envs):
    return make_app(services=[API, QUEUE, NIGHTLY], environments={
        "dev": {"cidr": "10.10.0.0/16", "services": {"api": {"min_count": 1, "max_count": 3}}},
        "prod": {"cidr": "10.30.0.0/16", "production": True, "zones": ["euw1-az1", "euw1-az2"],
                 "services": {"api": {"min_count": 2, "max_count": 8, "cpu_scale_out": 60,
                                      "deployment_config": "CodeDeployDefault.ECSCanary10Percent5Minutes"}}}})


def test_a_small_app_keeps_one_labelled_console_parameter_per_setting():
    """The fourth case study's single API: its scaling thresholds and task counts stay individual, labelled root
    parameters (the console form stays usable)."""
    b = root.build(make_app(services=[{"name": "api", "kind": "web", "port": 8080}], environments={
        "prod": {"cidr": "10.30.0.0/16", "production": True, "zones": ["euw1-az1", "euw1-az2"],
                 "services": {"api": {"min_count": 2, "max_count": 6}}}}))
    data = as_data(b.root)
    labels = data["Metadata"]["AWS::CloudFormation::Interface"]["ParameterLabels"]
    for name, label in (("ApiMinCount", "api: minimum tasks"), ("ApiMaxCount", "api: maximum tasks"),
                        ("ApiCpuScaleOut", "api: CPU scale-out %"), ("ApiCpuScaleIn", "api: CPU scale-in %")):
        assert data["Parameters"][name]["Type"] == "Number" and labels[name] == {"default": label}
    assert not [p for p in data["Parameters"] if p.endswith("Settings")]


def test_packed_settings_leave_every_service_template_as_it_was(monkeypatch):
    individual = root.build(_small())
    monkeypatch.setattr(root, "ROOT_PARAMETER_BUDGET", 0)   # as if the app were too big for one each
    packed = root.build(_small())
    for name, template in individual.templates().items():
        if name != root.ROOT_FILE:
            assert as_data(packed.templates()[name]) == as_data(template), name
    params = as_data(packed.root)["Parameters"]
    assert sorted(p for p in params if p.endswith("Settings")) == ["ApiSettings", "DrainSettings", "NightlySettings"]
    assert not [p for p in params if p.startswith("Api") and p not in ("ApiSettings", "ApiImageTag")]
    api = as_data(packed.root)["Resources"]["ServiceApi"]["Properties"]["Parameters"]
    fields = params["ApiSettings"]["Description"].split("in this order: ")[1].split(", ")
    assert api["ApiMinCount"] == {"Fn::Select": [fields.index("min_count"), {"Fn::Split": [",", {"Ref": "ApiSettings"}]}]}
    # each environment's value: the individual values in field order, which the pattern admits place by place
    app = _small()
    single = service.env_inputs(app, app.services[0])
    together = service.env_inputs(app, app.services[0], packed=True).packed
    assert list(single.settings) == fields
    for env in app.environments:
        value = together.env_value(app, env)
        assert value == ",".join(s.parameter.env_value(app, env) for s in single.settings.values())
        assert re.fullmatch(params["ApiSettings"]["AllowedPattern"], value)
    assert value.split(",")[fields.index("deployment_config")] == "CodeDeployDefault.ECSCanary10Percent5Minutes"
    pattern = params["ApiSettings"]["AllowedPattern"]
    assert not re.fullmatch(pattern, value.replace("CodeDeployDefault.ECSCanary10Percent5Minutes", "Canary"))
    assert not re.fullmatch(pattern, value + ",1")


@pytest.mark.parametrize("where", ["first", "last"])
def test_every_stacks_root_parameters_count_against_the_budget_wherever_the_stack_is_built(monkeypatch, where):
    """A stand-in component's stack takes root parameters of its own, built before the services or after them (where
    the migrate, frontend and access stacks are): no line names it for the budget, and it still moves the packing
    point. The 13-service scale app takes 149 root parameters one each: one more fits the budget of 150, two do
    not."""
    app = parse_app(scale_spec(13), "scale-13")
    real = root.build_stacks
    assert len(root.build(app).parameters) == 149

    def with_stand_in(taking: int):
        def build_stacks(app):
            stacks = real(app)
            extra = StackBuilder("StandIn", "stand-in.yaml", "a stand-in component")
            for i in range(taking):
                extra.input(RootParameter(f"StandIn{i}", "A stand-in setting.", "StandIn", f"setting {i}",
                                          lambda app, env: "x"))
            return [Nested(extra), *stacks] if where == "first" else [*stacks, Nested(extra)]
        monkeypatch.setattr(root, "build_stacks", build_stacks)
        return root.build(app)

    fits = with_stand_in(1)
    assert len(fits.parameters) == 150 and not [p for p in fits.parameters if p.name.endswith("Settings")]
    over = with_stand_in(2)
    assert {"StandIn0", "StandIn1", "Web00Settings", "Work00Settings", "Cron00Settings"} <= {p.name for p in over.parameters}
    assert len(over.parameters) < root.ROOT_PARAMETER_BUDGET
    for name, template in fits.templates().items():   # packing changes the root only
        if name not in (root.ROOT_FILE, "stand-in.yaml"):
            assert as_data(over.templates()[name]) == as_data(template), name


def test_the_root_stays_within_its_budgets_at_50_services_with_headroom():
    """200 parameters and 200 outputs per template (CloudFormation quotas); the root keeps at least 80 of each free
    for the data stores (issue 11)."""
    b = root.build(parse_app(scale_spec(50), "scale-50"))
    assert len(b.parameters) <= root.ROOT_PARAMETER_BUDGET <= budgets.MAX_PARAMETERS - 50
    assert len(b.parameters) <= 130 and len(b.root.outputs) <= 120
    assert all(len(t.parameters) <= 200 and len(t.outputs) <= 200 and len(t.resources) <= 500
               for t in b.templates().values())


def test_the_scale_table_in_the_docs_is_current():
    text = (ROOT / "docs" / "performance.md").read_text(encoding="utf-8")
    assert scale_figures.table() in text, "docs/performance.md is stale: run scripts/scale_figures.py"


@pytest.mark.slow
def test_50_services_in_three_environments_pass_the_whole_gate(tmp_path):
    """cfn-lint with the project's rules, the size budgets (the root through S3: 1 MB) and the parameter files."""
    rendered = build.write(parse_app(scale_spec(50), "scale-50"), tmp_path / "templates", tmp_path / "params")
    assert len([n for n in rendered.templates if n.startswith("service-")]) == 50
    prod = json.loads((tmp_path / "params" / "prod.json").read_text())
    assert len(prod) == len(rendered.build.parameters)


@pytest.mark.slow
def test_50_services_with_a_pipeline_pass_the_whole_gate(tmp_path):
    """With a pipeline the root is deployed by CodePipeline's CloudFormation action, which reads it from the artifact
    in S3: measured against 460,800 bytes (docs/performance.md, Size), the 50-service root fits with room to spare."""
    rendered = build.write(large_pipeline_app(), tmp_path / "templates", tmp_path / "params")
    assert len([n for n in rendered.templates if n.startswith("service-")]) == 50
    sent = len(budgets.packaged(rendered.templates["root.yaml"], large_pipeline_app().region).encode())
    assert budgets.INLINE_BYTES < sent < 0.7 * budgets.PIPELINE_ACTION_BYTES, sent
