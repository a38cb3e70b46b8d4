"""What the tests share: an app factory (a small valid spec, changed where a test needs it), building an app and
reading its templates back as data, and stand-in components.

Tests of the generator build their own apps (these helpers, or tests/fixtures/apps/); only the tests about this
repository's own output (golden files, the rehearsal, checkov on templates_out/) read the root app.yaml.

    from tests.conftest import app_spec, make_app, template, of_type, root_parameters, parameter_values
"""
from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from generator import root
from generator.config import AppSpec, parse_app
from generator.params import environment_values

# The smallest app the factory starts from: one environment, no services.
BASE: dict[str, Any] = {"app": "demo", "owner": "team", "region": "eu-west-1",
                        "environments": {"dev": {"cidr": "10.10.0.0/16"}}}
CERTIFICATE = "arn:aws:acm:eu-west-1:222222222222:certificate/5f1c2a7e-9b3d-4c8e-a6f0-2d7b9e4c1a53"
# A production environment as the rules want it (zones pinned, an account of its own).
PROD = {"account_id": "222222222222", "cidr": "10.30.0.0/16", "production": True, "zones": ["euw1-az1", "euw1-az2"]}


def app_spec(**fields: Any) -> dict[str, Any]:
    """The base app (a deep copy) with top-level `fields` replaced: `app_spec(services=[...], network={...})`."""
    raw = copy.deepcopy(BASE)
    raw.update(copy.deepcopy(fields))
    return raw


def make_app(**fields: Any) -> AppSpec:
    """`app_spec(**fields)`, loaded and checked like app.yaml (rules included)."""
    return parse_app(app_spec(**fields))


def built(app: AppSpec) -> dict[str, dict]:
    """Every template of the environment stacks, by file name, as data."""
    return {name: as_data(t) for name, t in root.build(app).templates().items()}


def template(app: AppSpec, name: str) -> dict:
    """One template of the app (`root.yaml`, `network.yaml`, `service-api.yaml` ...) as data."""
    return as_data(root.build(app).templates()[name])


def as_data(t: Any) -> dict:
    """A troposphere Template as the JSON CloudFormation reads."""
    return json.loads(t.to_json())


def of_type(t: dict, cfn_type: str) -> dict[str, dict]:
    """The resources of one type in a template (as data), by logical id."""
    return {k: r for k, r in (t.get("Resources") or {}).items() if r["Type"] == cfn_type}


def root_parameters(app: AppSpec) -> dict[str, dict]:
    """The root template's parameter declarations."""
    return template(app, root.ROOT_FILE)["Parameters"]


def parameter_values(app: AppSpec, env: str) -> dict[str, str]:
    """What an environment's parameter file gives each root parameter."""
    return environment_values(app, root.build(app), env)


# --- a project the deploy script reads -------------------------------------------------------------------------

DEPLOY_APP = """\
app: shop
owner: team-a
region: eu-west-1
environments:
  dev: {account_id: "111111111111", cidr: 10.10.0.0/16}
"""


@pytest.fixture
def project(tmp_path):
    """An app.yaml with one environment, a one-resource root template and its parameter files: what the deploy
    script's command line needs before any AWS call."""
    (tmp_path / "app.yaml").write_text(DEPLOY_APP)
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "root.yaml").write_text("Resources:\n  Q: {Type: AWS::SQS::Queue}\n")
    (tmp_path / "params").mkdir()
    (tmp_path / "params" / "dev.json").write_text("[]")
    (tmp_path / "params" / "dev.config.json").write_text(json.dumps({"Parameters": {}, "Tags": {}}))
    return tmp_path


# --- stand-in components -----------------------------------------------------------------------------------------

@pytest.fixture
def database_component():
    """The data tier's database component (generator/components/database/): an Aurora cluster is snapshotted on
    delete (CloudFormation's default for a cluster, aws-reference §4), a member instance is not (its data is in the
    cluster's snapshot, and the RDS handler rejects a member's snapshot)."""
    from generator.components import database
    return database.COMPONENT
