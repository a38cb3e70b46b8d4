"""Per-environment variables (issue 16 item 2, docs/services.md): `environments.<env>.services.<name>.environment`
enters through the environment's parameter file, one labelled root parameter per variable, in both the individual
and the packed mode of the services' settings; the templates stay the same for every environment; stack outputs by
`${output:Name}`."""
from __future__ import annotations

import json

import pytest

from generator import params, root
from generator.config import load_app
from generator.errors import ConfigError
from generator.components.service import variables
from tests.conftest import app_spec, as_data, make_app
from generator.config import parse_app
from tests.support import ROOT

API = {"name": "api", "kind": "web", "port": 8080, "environment": {"LOG_LEVEL": "INFO", "REGION_NAME": "eu"}}


def _app(dev: dict, prod: dict, **api):
    return make_app(services=[{**API, **api}], environments={
        "dev": {"cidr": "10.10.0.0/16", "services": {"api": {"environment": dev}}},
        "prod": {"cidr": "10.30.0.0/16", "production": True, "zones": ["euw1-az1", "euw1-az2"],
                 "services": {"api": {"environment": prod}}}})


def _values(app, build, env: str) -> dict[str, str]:
    files = params.render(app, build)
    return {p["ParameterKey"]: p["ParameterValue"] for p in json.loads(files[f"{env}.json"])}


def test_each_variable_is_a_labelled_root_parameter_filled_per_environment():
    app = _app({"LOG_LEVEL": "DEBUG", "FEATURE_SEARCH": "on"}, {})
    b = root.build(app)
    data = as_data(b.root)
    labels = data["Metadata"]["AWS::CloudFormation::Interface"]["ParameterLabels"]
    groups = {p: g["Label"]["default"] for g in data["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]
              for p in g["Parameters"]}
    for name, label in (("ApiEnvLogLevel", "api: LOG_LEVEL"), ("ApiEnvFeatureSearch", "api: FEATURE_SEARCH")):
        assert data["Parameters"][name]["Type"] == "String" and labels[name] == {"default": label}
        assert groups[name] == groups["ApiMinCount"]        # grouped with the service's other settings
    assert "ApiEnvRegionName" not in data["Parameters"]     # the same everywhere: a literal in the template
    dev, prod = _values(app, b, "dev"), _values(app, b, "prod")
    assert (dev["ApiEnvLogLevel"], dev["ApiEnvFeatureSearch"]) == ("DEBUG", "on")
    assert (prod["ApiEnvLogLevel"], prod["ApiEnvFeatureSearch"]) == ("INFO", "")   # the default; unset


def test_the_container_reads_each_variable_from_its_parameter_and_leaves_out_an_empty_one():
    t = as_data(root.build(_app({"LOG_LEVEL": "DEBUG", "FEATURE_SEARCH": "on"}, {})).templates()["service-api.yaml"])
    environment = t["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"][0]["Environment"]
    assert {"Fn::If": ["NoApiEnvLogLevel", {"Ref": "AWS::NoValue"},
                       {"Name": "LOG_LEVEL", "Value": {"Ref": "ApiEnvLogLevel"}}]} in environment
    assert {"Name": "REGION_NAME", "Value": "eu"} in environment
    assert not [e for e in environment if e.get("Name") == "LOG_LEVEL"]    # the literal default is replaced
    assert t["Conditions"]["NoApiEnvFeatureSearch"] == {"Fn::Equals": [{"Ref": "ApiEnvFeatureSearch"}, ""]}


def test_the_templates_are_the_same_whatever_values_the_environments_give():
    one = root.build(_app({"LOG_LEVEL": "DEBUG"}, {"LOG_LEVEL": "WARNING"}))
    other = root.build(_app({"LOG_LEVEL": "TRACE"}, {"LOG_LEVEL": "ERROR"}))
    for name, t in one.templates().items():
        assert as_data(t) == as_data(other.templates()[name]), name


def test_packed_settings_keep_the_variables_individual_and_the_service_template_unchanged(monkeypatch):
    app = _app({"LOG_LEVEL": "DEBUG", "NOTE": "a,b"}, {})
    individual = root.build(app)
    monkeypatch.setattr(root, "ROOT_PARAMETER_BUDGET", 0)
    packed = root.build(app)
    assert as_data(packed.templates()["service-api.yaml"]) == as_data(individual.templates()["service-api.yaml"])
    params_ = as_data(packed.root)["Parameters"]
    assert "ApiSettings" in params_ and "ApiEnvLogLevel" in params_ and "ApiEnvNote" in params_
    assert _values(app, packed, "dev")["ApiEnvNote"] == "a,b"    # a comma is fine: never packed


def test_variables_count_against_the_root_parameter_budget(monkeypatch):
    without = len(root.build(_app({}, {})).parameters)

    def packed(budget: int) -> bool:
        monkeypatch.setattr(root, "ROOT_PARAMETER_BUDGET", budget)
        return "ApiSettings" in {p.name for p in root.build(_app({"LOG_LEVEL": "DEBUG", "A": "1", "B": "2"}, {})
                                                            ).parameters}
    assert not packed(without + 3)
    assert packed(without + 2)      # the three variables tipped it


def test_placeholders_are_filled_in_when_the_parameter_file_is_written():
    app = _app({"QUEUE_PREFIX": "${Application}-${EnvironmentName}", "TEXT": "${!Literal}"}, {})
    dev = _values(app, root.build(app), "dev")
    assert (dev["ApiEnvQueuePrefix"], dev["ApiEnvText"]) == ("demo-dev", "${Literal}")


def test_the_flask_notes_example_sets_its_log_level_and_a_feature_flag_per_environment():
    app = load_app(ROOT / "examples/flask-notes/app.yaml")
    b = root.build(app)
    dev, test, prod = (_values(app, b, e) for e in ("dev", "test", "prod"))
    assert (dev["AppEnvLogLevel"], test["AppEnvLogLevel"], prod["AppEnvLogLevel"]) == ("DEBUG", "INFO", "INFO")
    assert (dev["AppEnvFeatureSharedNotes"], prod["AppEnvFeatureSharedNotes"]) == ("on", "")


def test_a_variable_names_a_stack_output_resolved_by_getatt_of_the_producing_stack():
    app = make_app(services=[{**API, "environment": {"LB": "http://${output:ClusterLoadBalancerDns}/"}}])
    b = root.build(app)
    t = as_data(b.templates()["service-api.yaml"])
    environment = t["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"][0]["Environment"]
    assert {"Name": "LB", "Value": {"Fn::Sub": ["http://${ClusterLoadBalancerDns}/", {
        "ClusterLoadBalancerDns": {"Ref": "LoadBalancerDns"}}]}} in environment
    assert as_data(b.root)["Resources"]["ServiceApi"]["Properties"]["Parameters"]["LoadBalancerDns"] == {
        "Fn::GetAtt": ["Cluster", "Outputs.LoadBalancerDns"]}


@pytest.mark.parametrize("name", sorted(variables.STACK_OUTPUTS))
def test_every_nameable_output_is_one_its_stack_exports(name):
    """A rename of the producer's output fails here, not at deploy time."""
    app = load_app(ROOT / "examples/tunecast/app.yaml")      # has a frontend
    stacks = {n.builder.logical_id: n.builder for n in root.build_stacks(app)}
    source = variables.output_source(name)
    assert stacks[source.stack].exports[source.name].description == source.description
    assert stacks[source.stack].exports[source.name].type == source.type


@pytest.mark.parametrize("env_services, problem", [
    ({"apj": {"environment": {"LOG_LEVEL": "DEBUG"}}}, "environments.dev.services.apj: no service is called 'apj'; "
                                                         "did you mean 'api'?"),
    ({"api": {"environment": {"API_TOKEN": "s3cr3tvalue"}}}, "environments.dev.services.api.environment.API_TOKEN: "
                                                             "the value looks like a credential"),
    ({"api": {"environment": {"URL": "${output:ClusterLoadBalancerDns}"}}}, "a stack output is already per "
                                                                           "environment"),
    ({"api": {"environment": {"URL": "${AWS::Region}"}}}, "'${AWS::Region}' would not be filled in"),
])
def test_bad_per_environment_variables_are_refused(env_services, problem):
    raw = app_spec(services=[API], environments={"dev": {"cidr": "10.10.0.0/16", "services": env_services}})
    with pytest.raises(ConfigError) as info:
        parse_app(raw)
    assert problem in str(info.value)


def test_an_unknown_stack_output_is_refused_at_load_time():
    raw = app_spec(services=[{**API, "environment": {"SITE": "https://${output:FrontendDistributionDomainName}"}}])
    with pytest.raises(ConfigError) as info:
        parse_app(raw)
    assert "exists only with a `frontend` block" in str(info.value)
    raw = app_spec(services=[{**API, "environment": {"LB": "${output:ClusterLoadBalancerDNS}"}}])
    with pytest.raises(ConfigError) as info:
        parse_app(raw)
    assert "did you mean 'ClusterLoadBalancerDns'?" in str(info.value)


def test_more_than_forty_variables_are_refused():
    many = {f"V{i}": "x" for i in range(variables.MAX_VARIABLES + 1)}
    raw = app_spec(services=[API], environments={"dev": {"cidr": "10.10.0.0/16", "services": {
        "api": {"environment": many}}}})
    with pytest.raises(ConfigError) as info:
        parse_app(raw)
    assert "41 variables are set per environment" in str(info.value)
