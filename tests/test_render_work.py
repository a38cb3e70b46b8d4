"""The render's speed-ups, guarded without timing (docs/performance.md, "Render"): each test fails when the work a
speed-up removed comes back. The bytes they produce are the golden files' (tests/test_golden.py)."""
from __future__ import annotations

import gc

import pytest

from generator.build import render_app
from generator.config import load_app
from tests.support import FIXTURE_APPS, collections_during


@pytest.fixture(scope="module")
def app():
    return load_app(FIXTURE_APPS / "workers.yaml")



def test_render_runs_without_the_cyclic_collector_and_leaves_it_as_it_was(app):
    assert gc.isenabled()
    assert collections_during(lambda: render_app(app)) == []
    assert gc.isenabled()
    gc.disable()
    try:
        render_app(app)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_what_render_allocated_is_not_walked_by_the_next_young_collection(app):
    """render_app hands its objects to the oldest generation without a pass: right after it, generation 0 and 1 hold
    nothing of it (a young collection walks only what was allocated since)."""
    gc.collect()
    render_app(app)
    assert gc.get_count()[0] < 700   # the young generation's threshold: no pass pending over the render's objects
    assert len(gc.get_objects(generation=0)) + len(gc.get_objects(generation=1)) < 1000


def test_a_caller_s_frozen_objects_stay_frozen(app):
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        render_app(app)
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()


def test_a_buildspec_template_is_parsed_once(monkeypatch):
    """Its variables and its compiled form come from one parse (generator/buildspecs.py, _compiled), not one parse
    each, and not again for the next render."""
    import jinja2

    from generator import buildspecs
    from generator.lint import CACHE_ENV
    from tests.test_buildspecs import WEB, WORKER

    parsed: list[str | None] = []
    original = jinja2.Environment._parse

    def counting(self, source, name, filename):
        parsed.append(name)
        return original(self, source, name, filename)

    monkeypatch.setattr(jinja2.Environment, "_parse", counting)
    monkeypatch.setenv(CACHE_ENV, "off")   # compiled here, not read from an earlier process's entry
    buildspecs._compiled.cache_clear()
    try:
        assert buildspecs.render("image", **WEB) != buildspecs.render("image", **WORKER)
        assert "service" in buildspecs.variables("image")
    finally:
        buildspecs._compiled.cache_clear()
    assert parsed == ["image.yml.j2"]


def _capabilities_from_dicts(templates) -> str:
    """generator/pipeline/pipeline.py's capabilities() as it was, from each template's to_dict()."""
    from generator import template_dict
    named_props = {"AWS::IAM::Role": "RoleName", "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
                   "AWS::IAM::User": "UserName", "AWS::IAM::Group": "GroupName", "AWS::IAM::InstanceProfile": None,
                   "AWS::IAM::Policy": None, "AWS::IAM::AccessKey": None, "AWS::IAM::UserToGroupAddition": None}
    iam = named = expand = False
    for template in templates:
        data = template_dict.to_dict(template)
        expand = expand or "Transform" in data
        for resource in data.get("Resources", {}).values():
            if resource["Type"] in named_props:
                iam = True
                prop = named_props[resource["Type"]]
                named = named or (prop is not None and prop in resource.get("Properties", {}))
    caps = (["CAPABILITY_NAMED_IAM"] if named else ["CAPABILITY_IAM"] if iam else [])
    return ",".join(caps + (["CAPABILITY_AUTO_EXPAND"] if expand else []))


class _Built:
    def __init__(self, templates):
        self._templates = templates

    def templates(self):
        return self._templates


def _odd_templates():
    from troposphere import Ref, Template, iam, sqs
    plain, named, transformed, unnamed = Template(), Template(), Template(), Template()
    plain.add_resource(sqs.Queue("Queue"))
    named.add_resource(iam.Role("Role", RoleName="r", AssumeRolePolicyDocument={}))
    unnamed.add_resource(iam.ManagedPolicy("Policy", PolicyDocument={}, Roles=[Ref("R")]))
    transformed.set_transform("AWS::Serverless-2016-10-31")
    return [[plain], [plain, unnamed], [named, plain], [transformed], [transformed, named, unnamed]]


@pytest.mark.parametrize("case", range(5))
def test_the_pipeline_s_capabilities_are_read_from_the_objects_as_from_their_dicts(case):
    from generator.pipeline import pipeline
    templates = _odd_templates()[case]
    assert pipeline.capabilities(_Built({str(i): t for i, t in enumerate(templates)})) == \
        _capabilities_from_dicts(templates)


def test_the_pipeline_s_capabilities_of_every_app():
    from generator import root
    from generator.pipeline import pipeline
    from tests.support import GOLDEN_SETS
    for app_path in GOLDEN_SETS:
        b = root.build(load_app(app_path))
        assert pipeline.capabilities(b) == _capabilities_from_dicts(b.templates().values()), app_path


def test_managed_policies_measure_each_statement_once_and_the_sums_are_the_documents_sizes(monkeypatch):
    """permissions.managed_policies splits grants by the document's size, summed statement by statement: the sum is
    _size of the document for every prefix of every grant list the default app splits, and each grant is measured
    once (measuring each growing chunk again was quadratic)."""
    from generator.pipeline import permissions
    from tests.support import DEFAULT_APP

    lists, measured = [], []
    original_split, original_measure = permissions.managed_policies, permissions._statement_size

    def split(t, title, grants, *args, **kwargs):
        lists.append(list(grants))
        return original_split(t, title, grants, *args, **kwargs)

    def measure(g):
        measured.append(g)
        return original_measure(g)

    monkeypatch.setattr(permissions, "managed_policies", split)
    monkeypatch.setattr(permissions, "_statement_size", measure)
    render_app(load_app(DEFAULT_APP))
    assert len(lists) >= 2 and max(len(g) for g in lists) > 20
    assert len(measured) == sum(len(g) for g in lists)
    empty = permissions._size([])
    for grants in lists:
        for n in range(1, len(grants) + 1):
            assert permissions._size(grants[:n]) == empty + sum(map(original_measure, grants[:n])) + n - 1
