"""generator/template_dict.py returns what troposphere's `Template.to_dict()` returns (the same keys in the same
order, the same values) for every template of every app in the repository and of a packed-settings scale app, and
validates as `to_dict()` does."""
from __future__ import annotations

import json

import pytest
import yaml
from troposphere import GetAtt, Ref, Sub, Tags, Template, ecs, iam, s3

from generator import template_dict
from generator.config import load_app
from scripts.bench import scale_spec
from tests.support import GOLDEN_SETS, app_id, troposphere_templates


def _same(template: Template) -> None:
    fast = template_dict.to_dict(template)
    # json.dumps without sort_keys: the key order must match too (the YAML writer sorts, other readers may not)
    assert json.dumps(fast) == json.dumps(template.to_dict())


@pytest.mark.parametrize("app_path", list(GOLDEN_SETS), ids=app_id)
def test_every_template_of_every_app_is_the_dict_troposphere_makes(app_path):
    templates = troposphere_templates(load_app(app_path))
    assert templates
    for name, template in templates.items():
        _same(template)


def test_a_scale_app_with_packed_settings_is_the_dict_troposphere_makes(tmp_path):
    spec = tmp_path / "app.yaml"
    spec.write_text(yaml.safe_dump(scale_spec(25), sort_keys=False), encoding="utf-8")
    for template in troposphere_templates(load_app(spec)).values():
        _same(template)


def test_helpers_tags_policies_and_attributes_encode_as_troposphere_does():
    t = Template(Description="d")
    t.set_version()
    bucket = t.add_resource(s3.Bucket("B", Tags=Tags(b="2", a="1") + Tags({"Key": "c", "Value": "3"}),
                                      DeletionPolicy="Retain", DependsOn=["X"]))
    t.add_resource(iam.Role("R", AssumeRolePolicyDocument={"Statement": [{"Effect": "Allow", "Action": ("a", "b")}]},
                            Policies=[iam.Policy(PolicyName="p", PolicyDocument={"Resource": GetAtt(bucket, "Arn")})]))
    t.add_resource(ecs.Cluster("C"))   # no properties: the resource_type branch
    t.add_output([])
    t.add_condition("Cond", {"Fn::Equals": [Ref("AWS::Region"), Sub("${AWS::Region}")]})
    _same(t)


def test_a_missing_required_property_fails_as_in_to_dict():
    t = Template()
    t.add_resource(iam.Role("R"))   # AssumeRolePolicyDocument is required
    with pytest.raises(ValueError) as theirs:
        t.to_dict()
    with pytest.raises(ValueError) as ours:
        template_dict.to_dict(t)
    assert str(ours.value) == str(theirs.value)


def test_validate_runs_unless_validation_is_off():
    calls = []

    class Checked(s3.Bucket):
        def validate(self):
            calls.append(self.title)

    t = Template()
    t.add_resource(Checked("On"))
    t.add_resource(Checked("Off", validation=False))
    template_dict.to_dict(t)
    assert calls == ["On"]
    t.to_dict()
    assert calls == ["On", "On"]


def _round_trip(template: Template):
    return json.loads(json.dumps(template.to_dict(), sort_keys=True))


def _same_plain(template: Template) -> bool:
    """template_dict.plain gives what the YAML writer's JSON round trip gave (values, types, key order), and says
    whether a mapping has a Type cfn-flip's literal parser rewrites."""
    data, literal = template_dict.plain(template, frozenset({"AWS::StepFunctions::StateMachine"}))
    expected = _round_trip(template)
    assert data == expected
    assert json.dumps(data) == json.dumps(expected)   # the key order too
    return literal


@pytest.mark.parametrize("app_path", list(GOLDEN_SETS), ids=app_id)
def test_every_template_of_every_app_is_plain_as_the_json_round_trip_makes_it(app_path):
    for template in troposphere_templates(load_app(app_path)).values():
        _same_plain(template)


def test_plain_flags_a_mapping_whose_type_the_literal_parser_rewrites():
    from troposphere import stepfunctions

    t = Template()
    t.add_resource(s3.Bucket("B", Tags=Tags(z="1", a="2")))
    assert _same_plain(t) is False
    t.add_resource(stepfunctions.StateMachine("M", RoleArn="arn", Definition={"StartAt": "A", "States": {}}))
    assert _same_plain(t) is True
    nested = Template()
    nested.add_resource(s3.Bucket("B", Metadata={"Type": "AWS::StepFunctions::StateMachine"}))
    assert _same_plain(nested) is True


class _Name(str):
    pass


@pytest.mark.parametrize("value", [_Name("x"), {1: "a"}, {"b": {True: 1}}],
                         ids=["str-subclass", "int-key", "bool-key-nested"])
def test_a_value_the_round_trip_would_convert_is_left_to_it(value):
    """plain refuses (NotPlain) what JSON would convert, and the YAML writer's data is then the round trip's."""
    from generator import template_yaml

    t = Template()
    t.add_resource(s3.Bucket("B", Metadata={"k": value}))
    with pytest.raises(template_dict.NotPlain):
        template_dict.plain(t)
    assert template_yaml.template_data(t) == _round_trip(t)
