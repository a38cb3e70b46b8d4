"""docs/verification.md, the assurance matrix (issue #8, "Also"): current, and meeting its goal of at least two
independent proxies for every resource type the generator emits. Slow: it renders every app and reads checkov's
registry from .venv-checkov.
"""
from __future__ import annotations

import pytest

from scripts import assurance
from tests.support import CHECKOV

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def built():
    if not CHECKOV.exists():
        pytest.fail(f"{CHECKOV} is missing: run `make test`, which installs it from requirements-checkov.lock")
    return assurance.matrix()


def test_the_committed_matrix_is_current(built):
    assert assurance.OUTPUT.read_text(encoding="utf-8") == assurance.render(*built), \
        "docs/verification.md is stale: run `make assurance` and commit it"


def test_every_emitted_type_has_at_least_two_proxies(built):
    rows, totals = built
    weak = [(r["type"], r["cells"]) for r in rows if r["count"] < 2]
    assert weak == []
    assert totals["types"] == totals["at least two"] == len(rows) > 40


def test_the_matrix_reads_its_proxies_from_their_sources(built):
    rows, totals = built
    by_type = {r["type"]: r["cells"] for r in rows}
    # rules: E9002 selects scalable targets, E9010-E9013 the pipeline (through the _helpers pipeline_actions helper)
    assert "E9002" in by_type["AWS::ApplicationAutoScaling::ScalableTarget"]["project rule"]
    assert "E9012" in by_type["AWS::CodePipeline::Pipeline"]["project rule"]
    # the emulator: moto skips CodeDeploy, creates and describes VPCs
    assert by_type["AWS::EC2::VPC"]["emulator"] == "DescribeVpcs"
    assert by_type["AWS::CodeDeploy::DeploymentGroup"]["emulator"] == ""
    # checkov has bucket checks, none for scalable targets
    assert by_type["AWS::S3::Bucket"]["checkov"] and not by_type["AWS::ApplicationAutoScaling::ScalableTarget"][
        "checkov"]
    # CodeBuild projects declare no handler permissions: nothing to check, and the matrix says why
    assert by_type["AWS::CodeBuild::Project"]["handler permissions"] == ""
    assert totals["handler pairs"] > 400 and totals["allow-list entries"] == totals["allow-listed"]
    assert "cloudformation.create_change_set" in totals["tooling calls"]
    assert "cloudformation.list_stack_resources" in totals["tooling calls"]


def test_a_stubber_claim_the_test_file_does_not_back_fails(monkeypatch):
    monkeypatch.setitem(assurance.STUBBER_FLOWS, "AWS::SNS::Topic",
                        ("tests/test_scan_gate.py", ("publish",), "approval notifications"))
    with pytest.raises(SystemExit, match="claims tests/test_scan_gate.py stubs publish"):
        assurance.stubber_flows()
