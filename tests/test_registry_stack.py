"""The registry nested stack: repository names, encryption, tag immutability, lifecycle and registry scanning."""
from __future__ import annotations

import json

import pytest

from generator.errors import ConfigError
from generator.params import environment_values
from generator.root import build
from generator.components.registry import RegistryOutputs, manages_registry_scanning
from tests.conftest import PROD, make_app, of_type, root_parameters, template

SERVICES = [{"name": "web", "kind": "web", "port": 8080},
            {"name": "billing-api", "kind": "web", "port": 3000,
             "routing": {"path_patterns": ["/billing/*"], "priority": 10}},
            {"name": "jobs", "kind": "cron", "schedule": "rate(1 hour)"}]
ENVS = {"dev": {"account_id": "111111111111", "cidr": "10.10.0.0/16"},
        "staging": {"account_id": "111111111111", "cidr": "10.20.0.0/16"},
        "prod": PROD}


def _app(envs=None, **extra):
    return make_app(services=SERVICES, environments=envs or ENVS, **extra)


def _registry(app) -> dict:
    return template(app, "registry.yaml")


_of_type = of_type


def _lifecycle(repo: dict) -> dict:
    return json.loads(repo["Properties"]["LifecyclePolicy"]["LifecyclePolicyText"])


def test_one_repository_per_service_named_from_lowercase_parameters():
    repos = _of_type(_registry(_app()), "AWS::ECR::Repository")
    assert set(repos) == {"WebRepository", "BillingApiRepository", "JobsRepository"}
    names = {r["Properties"]["RepositoryName"]["Fn::Sub"] for r in repos.values()}
    assert names == {"${Application}-${EnvironmentName}-web", "${Application}-${EnvironmentName}-billing-api",
                     "${Application}-${EnvironmentName}-jobs"}
    # the literal parts are lowercase, and nested stack names (with uppercase letters) never enter the name
    assert all(n.replace("${Application}", "").replace("${EnvironmentName}", "").islower() for n in names)
    assert "AWS::StackName" not in json.dumps(repos)


def test_name_parameters_are_constrained_lowercase_at_the_root():
    params = root_parameters(_app())
    for name in ("Application", "EnvironmentName"):
        assert params[name]["AllowedPattern"].startswith("^[a-z]")


def test_repositories_are_immutable_kms_encrypted_and_scan_on_push():
    t = _registry(_app())
    (key_id, key), = _of_type(t, "AWS::KMS::Key").items()
    assert key["Properties"]["EnableKeyRotation"] is True
    for repo in _of_type(t, "AWS::ECR::Repository").values():
        props = repo["Properties"]
        assert props["ImageTagMutability"] == "IMMUTABLE"
        assert props["EncryptionConfiguration"] == {"EncryptionType": "KMS", "KmsKey": {"Fn::GetAtt": [key_id, "Arn"]}}
        assert props["ImageScanningConfiguration"] == {"ScanOnPush": True}
        assert {t["Key"] for t in props["Tags"]} == {"Environment", "Owner", "Application"}


def test_lifecycle_policy_defaults_and_rule_order():
    for repo in _of_type(_registry(_app()), "AWS::ECR::Repository").values():
        text = repo["Properties"]["LifecyclePolicy"]["LifecyclePolicyText"]
        assert 100 <= len(text) <= 30720
        rules = json.loads(text)["rules"]
        priorities = [r["rulePriority"] for r in rules]
        assert len(set(priorities)) == len(priorities)
        by_status = {r["selection"]["tagStatus"]: r for r in rules}
        # ECR: the `any` rule must have the highest rulePriority value (evaluated last)
        assert by_status["any"]["rulePriority"] == max(priorities)
        assert by_status["any"]["selection"] == {"tagStatus": "any", "countType": "imageCountMoreThan",
                                                 "countNumber": 20}
        untagged = by_status["untagged"]["selection"]
        assert "tagPrefixList" not in untagged and "tagPatternList" not in untagged
        assert untagged == {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days",
                            "countNumber": 7}
        assert all(r["action"] == {"type": "expire"} for r in rules)


def test_lifecycle_numbers_come_from_app_yaml():
    repo = _of_type(_registry(_app(registry={"keep_releases": 5, "untagged_days": 2})), "AWS::ECR::Repository")
    rules = {r["selection"]["tagStatus"]: r["selection"] for r in _lifecycle(repo["WebRepository"])["rules"]}
    assert rules["any"]["countNumber"] == 5
    assert rules["untagged"]["countNumber"] == 2


@pytest.mark.parametrize("registry", [{"keep_releases": 0}, {"untagged_days": 0}, {"scan_type": "deep"},
                                      {"keep": 3}])
def test_invalid_registry_block_is_rejected(registry):
    with pytest.raises(ConfigError):
        _app(registry=registry)


def test_registry_scanning_is_emitted_once_behind_a_condition():
    t = _registry(_app())
    (config,) = _of_type(t, "AWS::ECR::RegistryScanningConfiguration").values()
    assert config["Condition"] == "ManagesRegistryScanning"
    assert t["Conditions"]["ManagesRegistryScanning"] == {"Fn::Equals": [{"Ref": "ManageRegistryScanning"}, "true"]}
    assert config["Properties"]["ScanType"] == "BASIC"
    (rule,) = config["Properties"]["Rules"]
    assert rule == {"ScanFrequency": "SCAN_ON_PUSH", "RepositoryFilters": [{"Filter": "*", "FilterType": "WILDCARD"}]}


def test_enhanced_scanning_is_a_choice():
    t = _registry(_app(registry={"scan_type": "enhanced"}))
    (config,) = _of_type(t, "AWS::ECR::RegistryScanningConfiguration").values()
    assert config["Properties"]["ScanType"] == "ENHANCED"


def test_one_environment_per_account_owns_registry_scanning_by_default():
    app = _app()
    b = build(app)
    owners = {env: environment_values(app, b, env)["ManageRegistryScanning"] for env in app.environments}
    # dev and staging share an account: the last one listed owns it; prod is alone in its account
    assert owners == {"dev": "false", "staging": "true", "prod": "true"}


def test_explicit_registry_scanning_owner_wins():
    envs = {**ENVS, "dev": {**ENVS["dev"], "manage_registry_scanning": True}}
    app = _app(envs)
    assert [manages_registry_scanning(app, e) for e in app.environments] == [True, False, True]
    envs = {**ENVS, "prod": {**ENVS["prod"], "manage_registry_scanning": False}}
    app = _app(envs)
    assert [manages_registry_scanning(app, e) for e in app.environments] == [False, True, False]


def test_two_explicit_owners_in_one_account_are_rejected():
    envs = {**ENVS, "dev": {**ENVS["dev"], "manage_registry_scanning": True},
            "staging": {**ENVS["staging"], "manage_registry_scanning": True}}
    with pytest.raises(ConfigError) as exc:
        _app(envs)
    assert any("staging.manage_registry_scanning" in line for line in exc.value.lines())


def test_outputs_use_ref_for_names_and_getatt_for_arns_and_uris():
    app = _app()
    outputs = _registry(app)["Outputs"]
    assert outputs["BillingApiRepositoryName"]["Value"] == {"Ref": "BillingApiRepository"}
    assert outputs["BillingApiRepositoryArn"]["Value"] == {"Fn::GetAtt": ["BillingApiRepository", "Arn"]}
    assert outputs["BillingApiRepositoryUri"]["Value"] == {"Fn::GetAtt": ["BillingApiRepository", "RepositoryUri"]}


def test_typed_outputs_point_at_declared_outputs():
    from generator.components import registry

    app = _app()
    stack = registry.COMPONENT.builder(app)
    out = registry.build(app, stack, registry.env_inputs(app))
    assert isinstance(out, RegistryOutputs)
    assert set(out.repositories) == {"web", "billing-api", "jobs"}
    declared = stack.template.outputs
    for repo in out.repositories.values():
        for ref in repo:
            assert ref.stack == "Registry" and ref.name in declared
