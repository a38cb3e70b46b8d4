"""The components describe themselves (generator/components/, docs/adding-a-component.md): each of the two or three
lines a new component needs outside its package is checked here, and so is every fact the rest of the system derives
from what the components declare."""
from __future__ import annotations

import typing

import pytest
from troposphere import sns

from generator import components, root, stateful
from generator.components import base, shared
from generator.components.base import Component, EnvInputs, NotAParameter, Param, TypeFacts
from generator.config import AppSpec, EnvironmentSpec
from generator.config.types import Strict
from generator.errors import WiringError
from tests.support import DEFAULT_APP, FIXTURE_APPS, GOLDEN_SETS, ROOT, app_id

PACKAGES = sorted(p.parent.name for p in (ROOT / "generator" / "components").glob("*/__init__.py"))


def _builds():
    from generator.config import load_app
    return {app_id(path): root.build(load_app(path)) for path in GOLDEN_SETS}


BUILDS = _builds()


# --- the lines outside the package ---------------------------------------------------------------------------------

def test_every_component_package_is_listed_once_in_dependency_order():
    listed = [c.name for c in components.COMPONENTS]
    assert sorted(listed) == PACKAGES and len(set(listed)) == len(listed)
    assert listed.index("network") < listed.index("cluster") < listed.index("service")


def test_every_component_is_built_by_root_py():
    """The line in generator/root.py: each listed component has a stack in the build of some app."""
    built = {n.builder.component.name for b in BUILDS.values() for n in b.nested}
    assert built == {c.name for c in components.COMPONENTS}
    assert all(n.builder.component is not None for b in BUILDS.values() for n in b.nested)


@pytest.mark.parametrize("component", components.COMPONENTS, ids=lambda c: c.name)
def test_the_app_spec_has_the_components_fields(component: Component):
    """The AppSpec field (`app.<spec_key>`) and the per-environment fields (EnvironmentSpec inherits `env`)."""
    if component.spec is not None:
        annotation = AppSpec.model_fields[component.spec_key].annotation
        assert component.spec in _models_in(annotation), (component.name, annotation)
    if component.env is not None:
        assert issubclass(EnvironmentSpec, component.env), component.name
        assert set(component.env.model_fields) <= set(EnvironmentSpec.model_fields)


def _models_in(annotation) -> set:
    if isinstance(annotation, type):
        return {annotation}
    return {m for arg in typing.get_args(annotation) for m in _models_in(arg)}


@pytest.mark.parametrize("model", [m for c in components.COMPONENTS for m in c.setting_models],
                         ids=lambda m: m.__name__)
def test_every_per_environment_field_says_whether_it_is_a_root_parameter(model):
    marks = base.declared_fields(model)
    assert set(model.model_fields) <= set(marks)
    for name, mark in marks.items():
        assert isinstance(mark, (Param, NotAParameter)), name
        if isinstance(mark, NotAParameter):
            assert len(mark.why) > 20, name


# --- the types a component creates ---------------------------------------------------------------------------------

@pytest.mark.parametrize("app", sorted(BUILDS))
def test_every_stack_creates_only_types_its_component_declares(app):
    for nested in BUILDS[app].nested:
        emitted = {r.resource_type for r in nested.builder.template.resources.values()}
        undeclared = emitted - set(nested.builder.component.types)
        assert not undeclared, (nested.builder.logical_id, undeclared)


def test_a_stack_that_adds_an_undeclared_type_fails_the_build_naming_the_types_file():
    builder = components.COMPONENTS[0].builder(_app())
    with pytest.raises(WiringError) as err:
        builder.add(sns.Topic("Alerts"))
    assert str(err.value) == (
        "the network component creates Alerts (AWS::SNS::Topic), a type it does not declare: add its TypeFacts "
        "(stateful?, the CloudFormation role's grants, a rehearsal check) to generator/components/network/types.py")


def test_every_declared_type_is_emitted_by_some_app_or_shared():
    """A declaration nobody uses is stale (the shared ones are a catalogue for several components)."""
    emitted = {r.resource_type for b in BUILDS.values() for n in b.nested
               for r in n.builder.template.resources.values()}
    for component in components.COMPONENTS:
        own = {t for t, f in component.types.items() if f is not shared.TYPES.get(t)}
        assert own <= emitted, (component.name, own - emitted)


def test_a_type_means_one_thing_everywhere(monkeypatch):
    other = Component("other", "x", {"AWS::KMS::Key": TypeFacts()})
    monkeypatch.setattr(components, "COMPONENTS", (*components.COMPONENTS, other))
    components.type_facts.cache_clear()
    try:
        with pytest.raises(WiringError, match="AWS::KMS::Key: the other and .* components declare different facts"):
            components.type_facts()
    finally:
        monkeypatch.undo()
        components.type_facts.cache_clear()


# --- the registries derived from the facts -------------------------------------------------------------------------

def test_stateful_types_policies_and_the_stack_policy_come_from_the_facts():
    assert stateful.stateful_types() == ("AWS::DynamoDB::Table", "AWS::ECR::Repository", "AWS::EFS::FileSystem",
                                         "AWS::ElastiCache::ReplicationGroup", "AWS::KMS::Key", "AWS::Logs::LogGroup",
                                         "AWS::RDS::DBCluster", "AWS::RDS::DBInstance", "AWS::S3::Bucket",
                                         "AWS::SQS::Queue", "AWS::SecretsManager::Secret")
    assert stateful.policies("AWS::S3::Bucket", {}) == ("RetainExceptOnCreate", "Retain")
    assert stateful.policies("AWS::DynamoDB::Table", {}) == ("RetainExceptOnCreate", "Retain")
    assert stateful.policies("AWS::EFS::FileSystem", {}) == ("RetainExceptOnCreate", "Retain")
    assert stateful.policies("AWS::ElastiCache::ReplicationGroup", {}) == ("Snapshot", "Snapshot")
    assert stateful.policies("AWS::ECS::Service", {}) is None
    assert components.snapshot_types() == ("AWS::ElastiCache::ReplicationGroup", "AWS::RDS::DBCluster",
                                           "AWS::RDS::DBInstance")


def test_a_snapshot_type_and_its_exception_reach_the_policies_and_the_destroy_plan(database_component):
    """What the database component declares for Aurora (tests/conftest.py, database_component)."""
    from scripts.deploylib import stacks

    assert components.snapshot_types() == ("AWS::ElastiCache::ReplicationGroup", "AWS::RDS::DBCluster",
                                           "AWS::RDS::DBInstance")
    assert stateful.policies("AWS::RDS::DBCluster", {}) == ("Snapshot", "Snapshot")
    assert stateful.policies("AWS::RDS::DBInstance", {"DBClusterIdentifier": "db"}) == ("Delete", "Delete")
    assert stacks.deletion_policy({"Type": "AWS::RDS::DBCluster"}) == "Snapshot"
    assert stacks.deletion_policy({"Type": "AWS::RDS::DBInstance", "Properties": {"DBClusterIdentifier": "db"}}) == \
        "Delete"
    assert stacks.deletion_policy({"Type": "AWS::RDS::DBInstance"}) == "Snapshot"
    assert stacks.deletion_policy({"Type": "AWS::S3::Bucket"}) == "Delete"   # no policy stated: CloudFormation's


def test_the_rehearsal_verifies_with_the_calls_the_components_declare():
    from scripts.deploylib import rehearsal
    calls = {t: v.call for t, v in rehearsal.verifiers().items()}
    assert calls["AWS::EC2::VPC"] == "DescribeVpcs" and calls["AWS::ECS::Service"] == "DescribeServices"
    assert calls["AWS::ECR::Repository"] == "DescribeRepositories" and calls["AWS::IAM::Role"] == "GetRole"
    emitted = {r.resource_type for b in BUILDS.values() for n in b.nested
               for r in n.builder.template.resources.values()}
    assert set(calls) <= emitted | set(shared.TYPES)


def test_the_environment_role_is_granted_per_family_in_a_stable_order():
    from generator.pipeline import environment_permissions
    app = _app()
    types = {r.resource_type for t in BUILDS[app_id(DEFAULT_APP)].templates().values() for r in t.resources.values()}
    families = components.grant_families(types)
    assert [f.__name__ for f in families] == ["network", "load_balancing", "containers", "releases", "scaling",
                                              "logs_keys_buckets", "jobs", "alerting", "databases", "edge"]
    sids = [g.sid for g in environment_permissions.environment_stack(app, types)]
    assert sids.index("ManageNetwork") < sids.index("ManageLoadBalancing") < sids.index("ManageQueues")
    assert environment_permissions.covered() >= types
    with pytest.raises(WiringError, match="no component declares AWS::Neptune::DBCluster.*generator/components/"
                                          "<name>/types.py"):
        environment_permissions.environment_stack(app, {"AWS::ECS::Cluster", "AWS::Neptune::DBCluster"})


def test_a_missing_grant_names_the_file_that_holds_it():
    assert components.grants_source("AWS::ECS::Service") == (
        "generator/components/shared.py (containers, the cfn_grants of AWS::ECS::Service)")
    assert components.grants_source("AWS::IAM::Role").startswith("generator/pipeline/environment_permissions.py")
    assert components.grants_source("AWS::GameLift::Fleet").startswith("the TypeFacts of AWS::GameLift::Fleet (cfn_grants) in "
                                                                  "the types.py of the component that creates it")


# --- per-environment settings from one declaration ------------------------------------------------------------------

def test_each_field_becomes_its_root_parameter_with_constraints_from_the_field():
    from pydantic import Field, create_model

    model = create_model(
        "Model", __base__=Strict,
        count=(typing.Annotated[int | None, Param("count", absent="0")], Field(None, ge=1, le=9, description="Cnt.")),
        share=(typing.Annotated[int, Param("share")], Field(0, ge=0, le=30, multiple_of=10, description="`Share`.")),
        mode=(typing.Annotated[typing.Literal["a", "b"], Param("mode", name="TheMode")], Field("a", description="M.")),
        on=(typing.Annotated[bool, Param("on", kinds=("web",))], Field(False, description="On.")),
        arn=(typing.Annotated[str | None, Param("arn", absent="", constraint="an arn")],
             Field(None, pattern=r"^arn:x$", description="Arn.")),
        hidden=(typing.Annotated[int, NotAParameter("folded into another parameter")], Field(0, description="H.")))
    values = {"dev": model(count=3, share=20, mode="b", on=True, arn="arn:x"), "prod": model()}
    inputs = EnvInputs(model, "Group", lambda a, e: values[e], app=_app(), prefix="Api", owner="api", kind="worker")
    assert list(inputs.settings) == ["count", "share", "mode", "arn"]   # `on` is for web services, `hidden` no one's
    count, share, mode, arn = inputs.parameters()
    assert count.declare().to_dict() == {"Type": "Number", "Description": "api: Cnt.", "MinValue": 0, "MaxValue": 9}
    assert (count.name, count.label, count.group) == ("ApiCount", "api: count", "Group")
    assert share.declare().to_dict()["AllowedValues"] == ["0", "10", "20", "30"]
    assert share.description == "api: Share."   # Markdown quotes are for app.yaml's readers
    assert (mode.name, mode.type, mode.allowed_values) == ("ApiTheMode", "String", ("a", "b"))
    assert (arn.allowed_pattern, arn.constraint) == ("^(?:arn:x)?$", "an arn")
    app = _app()
    assert [p.env_value(app, "dev") for p in (count, share, mode, arn)] == ["3", "20", "b", "arn:x"]
    assert [p.env_value(app, "prod") for p in (count, share, mode, arn)] == ["0", "0", "a", ""]
    with pytest.raises(WiringError, match="has no root parameter for 'on'"):
        inputs["on"]


def test_a_field_without_a_param_is_refused():
    from pydantic import Field, create_model

    model = create_model("Loose", __base__=Strict, size=(int, Field(1, description="Size.")))
    with pytest.raises(WiringError, match=r"Loose.size: a per-environment field says how it becomes a root parameter"):
        EnvInputs(model, "Group", lambda a, e: model(), app=_app())


def test_root_parameters_of_component_settings_are_generated_not_hand_written():
    """Every root parameter is a standard one, a service's image tag, a field of a component's settings model, or a
    variable of the `environment` field of a service's settings (one parameter per variable: variables.py)."""
    generated = {p.name for b in BUILDS.values() for p in b.parameters}
    standard = {"EnvironmentName", "Application", "Owner"}
    images = {p for p in generated if p.endswith("ImageTag")}
    from generator.config import load_app
    from_fields = set()
    for path in GOLDEN_SETS:
        app = load_app(path)
        from generator.components import (access, cache, cluster, database, environment, filesystem, monitoring,
                                          frontend, network, registry, service, table)
        for inputs in (environment.env_inputs(app), network.env_inputs(app), cluster.env_inputs(app),
                       registry.env_inputs(app), database.env_inputs(app), service.off_hours_inputs(app),
                       monitoring.env_inputs(app), access.env_inputs(app), frontend.env_inputs(app),
                       *(service.env_inputs(app, s) for s in app.services),
                       *(cache.env_inputs(app, c) for c in app.caches),
                       *(table.env_inputs(app, t) for t in app.tables),
                       *(filesystem.env_inputs(app, f) for f in app.file_systems)):
            from_fields |= {p.name for p in inputs.parameters()}
        from generator.components.service import variables
        from_fields |= {variables.parameter(app, s, v).name for s in app.services for v in variables.variables(app, s)}
    assert generated - standard - images <= from_fields
    # no hand-written parameter: base.py makes them from the fields; service/common.py declares the image tag (the
    # release input the pipeline overrides, not a setting of app.yaml)
    written = [p.relative_to(ROOT).as_posix() for p in (ROOT / "generator" / "components").rglob("*.py")
               if "RootParameter(" in p.read_text()]
    # ... and service/variables.py one per variable of ServiceEnvSpec.environment (a map, not one setting)
    assert sorted(written) == ["generator/components/base.py", "generator/components/service/common.py",
                               "generator/components/service/variables.py"]


def _app():
    from generator.config import load_app
    return load_app(FIXTURE_APPS / "minimal.yaml")
