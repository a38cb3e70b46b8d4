"""generator/troposphere_speedups.py builds every troposphere object exactly as troposphere's own `__init__` does:
every object of every app in the repository (and of an app with every kind of store) is built both ways and compared
attribute by attribute, and the checks troposphere makes while building (title, property names, types, validator
functions, class defaults) still refuse what they refused."""
from __future__ import annotations

import pytest
import troposphere
from troposphere import AWSObject, AWSProperty, BaseAWSObject, Output, Parameter, Ref, Tags, Template, ecs, iam
from troposphere.cloudformation import CustomResource

from generator import pipeline, root, troposphere_speedups
from generator.config import load_app
from tests.support import GOLDEN_SETS, app_id, every_store_app

FAST = troposphere_speedups._init
ORIGINAL = troposphere_speedups.original_init()


def _outcome(init, cls, title, template, validation, kwargs):
    obj = object.__new__(cls)
    try:
        init(obj, title, template, validation, **kwargs)
    except Exception as exc:   # noqa: BLE001 - compared below: the same exception both ways
        return obj, (type(exc), str(exc))
    return obj, None


def _state(obj) -> list:
    """Everything __init__ wrote, in its order (the template by identity)."""
    return [(k, v if k != "propnames" else sorted(v)) for k, v in vars(obj).items()]


@pytest.fixture
def twin_checked(monkeypatch):
    """While active, each object is built by the fast __init__ and a twin by troposphere's, without a template (the
    twin must not join it), and the two compared."""
    built: list[type] = []

    def checking(self, title, template=None, validation=True, **kwargs):
        twin, twin_error = _outcome(ORIGINAL, type(self), title, None, validation, kwargs)
        try:
            FAST(self, title, template, validation, **kwargs)
        except Exception as exc:
            assert (type(exc), str(exc)) == twin_error
            raise
        assert twin_error is None
        assert self.template is template
        vars(twin)["template"] = template
        assert _state(self) == _state(twin), type(self)
        built.append(type(self))

    monkeypatch.setattr(BaseAWSObject, "__init__", checking)
    return built


def test_the_pinned_troposphere_builds_with_the_fast_init():
    assert troposphere.__version__ == troposphere_speedups.PINNED
    assert troposphere_speedups.APPLIED
    assert BaseAWSObject.__init__ is FAST


@pytest.mark.parametrize("app_path", [*GOLDEN_SETS, None], ids=lambda a: "every-store" if a is None else app_id(a))
def test_every_object_of_every_app_is_built_as_troposphere_builds_it(app_path, twin_checked):
    app = every_store_app() if app_path is None else load_app(app_path)
    b = root.build(app)
    pipeline.build(app, b)
    assert len(twin_checked) > 100
    assert len(set(twin_checked)) > 20


class _Defaulted(AWSObject):
    resource_type = "Custom::Defaulted"
    props = {"Size": (troposphere.validators.integer, True), "Name": (str, False)}
    Size = 3


class _Property(AWSProperty):
    props = {"Port": (troposphere.validators.network_port, True), "Names": ([str], False)}


@pytest.mark.parametrize("build", [
    lambda: ecs.Service("Not-Alphanumeric"),                              # title
    lambda: Parameter("P" * 256, Type="String"),                          # Parameter's own title rule
    lambda: ecs.Service("S", NoSuchProperty=1),                           # unknown property
    lambda: ecs.Service("S", DesiredCount=[1]),                           # validator function (integer)
    lambda: ecs.PortMapping(ContainerPort="http"),                        # validator function
    lambda: iam.Role("R", Policies="not a list"),                         # list type
    lambda: iam.Role("R", Policies=["not a policy"]),                     # list member type
    lambda: ecs.Service("S", NetworkConfiguration="x"),                   # property type
    lambda: _Property(Port=70000),
    lambda: _Property(Names=[1]),
    lambda: Output("O", Value=Ref("X"), Description=5),
])
def test_what_troposphere_refuses_while_building_is_refused_the_same_way(build, twin_checked):
    with pytest.raises((ValueError, TypeError, AttributeError)):   # twin_checked compared it with troposphere's
        build()


def test_class_defaults_helpers_tags_attributes_and_templates(twin_checked):
    t = Template()
    d = _Defaulted("D", t, Name="n")
    assert d.properties == {"Size": 3, "Name": "n"} and t.resources["D"] is d
    assert _Defaulted("E", Size=5).properties["Size"] == 5
    role = iam.Role("Role", t, AssumeRolePolicyDocument={}, Tags=Tags(A="b"), DependsOn="D", Condition="C")
    assert role.resource["DependsOn"] == "D" and role.resource["Condition"] == "C"
    custom = CustomResource("Custom", ServiceToken="arn", Anything=[1, {"x": 2}])
    assert custom.properties["Anything"] == [1, {"x": 2}]
    no_check = ecs.Service("Unchecked", validation=False)
    assert no_check.do_validation is False
    assert _Property(Port=80).to_dict() == {"Port": 80}
    assert len(twin_checked) == 6


def test_a_class_with_its_own_attribute_handling_is_built_by_troposphere_s_init():
    class Own(AWSProperty):
        props = {"A": (str, False)}

        def __setattr__(self, name, value):
            super().__setattr__(name, value)

    Own(A="x")
    assert troposphere_speedups._FACTS[Own] is None
    assert Own(A="y").properties == {"A": "y"}


def test_a_class_whose_props_are_replaced_is_learned_again():
    class Changing(AWSProperty):
        props = {"A": (str, False)}

    Changing(A="x")
    Changing.props = {"B": (int, False)}
    assert Changing(B=1).properties == {"B": 1}
    with pytest.raises(AttributeError):
        Changing(A="x")


class _Checked(AWSProperty):
    props = {"Flag": (troposphere.validators.boolean, False), "Ports": ([troposphere.validators.network_port], False),
             "Names": ([str], False), "Port": (troposphere.validators.network_port, False), "Tags": ((Tags, list), False),
             "Metadata": (dict, False), "Either": ((str, int), False)}


@pytest.mark.parametrize("kwargs", [
    {"Flag": "true"},                                    # a validator's converted value is what is stored
    {"Ports": [80, "443"]},                              # a list of one validator: troposphere's __setattr__
    {"Names": ["a", Ref("B")]},                          # list members: the type or a helper function
    {"Port": Ref("P")},                                  # a helper function skips the check
    {"Tags": Tags(A="b")}, {"Tags": [{"Key": "A", "Value": "b"}]},
    {"Metadata": {"a": 1}},                              # a property named as a resource attribute
    {"Either": 3}, {"Either": "x"},
])
def test_a_property_set_while_building_is_stored_as_troposphere_s_setattr_stores_it(kwargs, twin_checked):
    obj = _Checked(**kwargs)
    assert len(twin_checked) == 1
    assert obj.properties or obj.resource


@pytest.mark.parametrize("kwargs", [
    {"Flag": "maybe"}, {"Ports": [80, 70000]}, {"Names": ["a", 1]}, {"Names": "a"}, {"Port": 70000},
    {"Either": 1.5}, {"Tags": "x"},
])
def test_a_property_that_fails_its_check_while_building_fails_as_in_troposphere(kwargs, twin_checked, capsys):
    with pytest.raises((ValueError, TypeError)):   # twin_checked compared it with troposphere's
        _Checked(**kwargs)
    if "Flag" in kwargs or "Port" in kwargs:   # troposphere names the failing validator (twice: the twin too)
        err = capsys.readouterr().err
        assert err.count("function validator") == 2, err


def test_the_per_class_checks_leave_attributes_and_one_validator_lists_to_troposphere():
    _Checked(Flag=True)
    checks = troposphere_speedups._FACTS[_Checked].checks
    assert set(checks) == {"Flag", "Names", "Port", "Tags", "Either"}
    assert checks["Names"] == (troposphere_speedups._LIST, (str,))


def test_a_class_with_a_data_descriptor_on_a_name_init_writes_is_built_by_troposphere_s_init():
    class Base(AWSProperty):
        props = {"A": (str, False)}

    class Described(Base):
        seen: list = []

        @property
        def template(self):
            return None

        @template.setter
        def template(self, value):
            Described.seen.append(value)

    class Below(Described):
        pass

    Base(A="x")
    Below(A="y")
    assert troposphere_speedups._FACTS[Base] is not None
    assert troposphere_speedups._FACTS[Below] is None and Described.seen == [None]
