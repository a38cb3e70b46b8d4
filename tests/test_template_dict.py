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
