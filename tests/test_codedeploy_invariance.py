"""A CODE_DEPLOY service and its listener rules never change through CloudFormation after they are created.

Rendered offline with cloud-radar (conditions, Fn::If, Fn::Sub, Ref evaluated with real parameter values), every web
service template of every golden set, under each environment's parameter file: with the parameter file as written
(every image tag `bootstrap`), with release image tags, and with each other environment setting the service stack
receives changed on its own (counts, scaling, ECS Exec, deployment settings, log retention, off-hours, Owner...).
The `AWS::ECS::Service` and both `AWS::ElasticLoadBalancingV2::ListenerRule`s must come out byte-identical; only the
stack's identity (Application, EnvironmentName) may shape them.

The AWS facts behind it:
- ECS UpdateService (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_UpdateService.html): "For services
  using the blue/green (CODE_DEPLOY) deployment controller, only the desired count, deployment configuration, health
  check grace period, task placement constraints and strategies, enable ECS managed tags option, and propagate tags
  can be updated using this API. If the network configuration, platform version, task definition, or load balancer
  need to be updated, create a new CodeDeploy deployment."
- CloudFormation's ECS handler sends every property (the task definition and network configuration included) with
  any update of the service, so even a desired-count change fails with "Unable to update task definition on services
  with a CODE_DEPLOY deployment controller" (aws-cloudformation/cloudformation-coverage-roadmap#1529,
  aws/aws-cdk#23564); and a re-sent DesiredCount resets the count autoscaling chose (aws/aws-cdk#3919). Hence: no
  update at all, tags included. Stack-level tags are copied onto every resource of the stack ("CloudFormation also
  propagates these tags to the resources created in the stack", AWS::CloudFormation::Stack, Tags), so the root's
  and the nested stacks' tags are the stable ones only.
- The count still follows the environment: "anytime ... the RegisterScalableTarget API is called, Application Auto
  Scaling retrieves the current capacity and compares it to the minimum and maximum capacity. If it falls outside of
  the minimum-maximum range, then the capacity is updated" (Application Auto Scaling user guide, Concepts).
- After a release CodeDeploy leaves the listener rule forwarding to the other target group; a stack update of the
  rule sends the template's action again and moves traffic back to the idle group (aws-reference.md §1b).
"""
from __future__ import annotations

import copy
import json
from pathlib import Path
import pytest
from cloud_radar.cf.unit import Template

from generator import image_tags
from generator.pipeline import PARAMETER_FILES, regions
from generator.tagging import STABLE_KEYS
from tests.offline import child_values as _child_values
from tests.offline import env_values as _env_values
from tests.support import GOLDEN_SETS, app_id
from tests.templates import load

IDENTITY = {"Application", "EnvironmentName"}
RELEASE_TAG = "4f2d9c1e7b3a"
RELEASE_OWNED = ("AWS::ECS::Service", "AWS::ElasticLoadBalancingV2::ListenerRule")


def _web_stacks(templates_dir: Path) -> list[tuple[str, dict, dict]]:
    """(logical id, nested Stack resource of the root, child template) of every stack with a CODE_DEPLOY service."""
    root = load((templates_dir / "root.yaml").read_text())
    found = []
    for logical_id, resource in root["Resources"].items():
        if resource["Type"] != "AWS::CloudFormation::Stack":
            continue
        child = load((templates_dir / resource["Properties"]["TemplateURL"][2:]).read_text())
        if any(r["Type"] == "AWS::ECS::Service"
               and r["Properties"].get("DeploymentController", {}).get("Type") == "CODE_DEPLOY"
               for r in child["Resources"].values()):
            found.append((logical_id, resource, child))
    return found


def _alternative(name: str, value: str, declared: dict) -> str:
    """Another value the root parameter may take."""
    allowed = [str(v) for v in declared.get("AllowedValues", [])]
    if allowed:
        return next(v for v in allowed if v != value)
    if image_tags.is_parameter(name):
        return RELEASE_TAG if value == image_tags.BOOTSTRAP else image_tags.BOOTSTRAP
    if declared.get("Type") == "Number":
        return f"{float(value) + 1:g}"   # 1.5 -> 2.5 (a threshold), 3 -> 4
    if name.startswith("OffHours") and name != "OffHoursTimezone":
        return "" if value else "cron(0 20 ? * MON-FRI *)"
    return f"{value}-changed" if value else "changed"


def _release_owned(rendered: dict) -> dict[str, str]:
    return {logical_id: json.dumps(resource, sort_keys=True) for logical_id, resource in rendered["Resources"].items()
            if resource["Type"] in RELEASE_OWNED}


def _render(child: dict, values: dict[str, str], region: str = "eu-west-1") -> dict:
    return _radar(child).render(values, region=region)


def _radar(child: dict) -> Template:
    """cloud-radar re-reads the whole template on every render; the release-owned resources do not read other
    resources' properties (a Ref or GetAtt renders as the resource's name), so the others keep only their type,
    condition and dependencies. The scalable target is kept whole for the direct assertions."""
    trimmed = copy.deepcopy(child)
    trimmed.pop("Outputs", None)
    for parameter in trimmed["Parameters"].values():
        parameter.pop("Description", None)
    for logical_id, resource in trimmed["Resources"].items():
        if resource["Type"] not in RELEASE_OWNED and logical_id != "ScalableTarget":
            resource["Properties"] = {}
    return Template(trimmed)


CASES = [(app, env, stack_id) for app, (templates, params) in GOLDEN_SETS.items()
         for env in sorted(p.name[:-len(".json")] for p in params.glob("*.json")
                           if not p.name.endswith(".config.json")
                           and p.stem not in (*PARAMETER_FILES, regions.SUPPORT_PARAMETERS))
         for stack_id, _, _ in _web_stacks(templates)]


def _variants(root: dict, base: dict[str, str], consumed: set[str]) -> dict[str, dict[str, str]]:
    """Named root-value sets: the parameter file (bootstrap), release tags, Owner changed, and every other setting
    the service stack receives changed at once (each one alone when the comparison fails, to name it)."""
    release = {k: (RELEASE_TAG if image_tags.is_parameter(k) else v) for k, v in base.items()}
    settings = {}
    for name in sorted(consumed - IDENTITY):
        if image_tags.is_parameter(name) or root["Parameters"][name]["Type"].startswith(("AWS::", "List<AWS::")):
            continue  # image tags: above; ids of existing infrastructure (subnets): a change the service refuses
        settings[name] = _alternative(name, base[name], root["Parameters"][name])
    return {"bootstrap (parameter file)": base, "release image tags": release,
            "a new Owner": {**release, "Owner": "another-team"}, "every setting changed": {**release, **settings}}


def _culprits(radar: Template, stack: dict, child: dict, root: dict, base: dict[str, str]) -> list[str]:
    """The settings that change the release-owned resources on their own (for the failure message)."""
    reference = _release_owned(radar.render(_child_values(stack, child, base), region="eu-west-1"))
    found = []
    for name, value in sorted(base.items()):
        if name in IDENTITY or name not in root["Parameters"]:
            continue
        changed = {**base, name: _alternative(name, value, root["Parameters"][name])}
        try:
            rendered = _release_owned(radar.render(_child_values(stack, child, changed), region="eu-west-1"))
        except (KeyError, ValueError):
            continue
        if rendered != reference:
            found.append(f"{name}={changed[name]!r}")
    return found


@pytest.mark.parametrize("app_path, env, stack_id", CASES,
                         ids=[f"{a.stem}-{e}-{s}" for a, e, s in CASES])
def test_service_and_listener_rules_are_identical_for_every_parameter_set(app_path, env, stack_id):
    templates, params = GOLDEN_SETS[app_path]
    root = load((templates / "root.yaml").read_text())
    [(_, stack, child)] = [w for w in _web_stacks(templates) if w[0] == stack_id]
    base = _env_values(params, env)
    consumed = {src["Ref"] if "Ref" in src else src["Fn::Join"][1]["Ref"]
                for src in stack["Properties"]["Parameters"].values() if "Fn::GetAtt" not in src}
    variants = _variants(root, base, consumed)
    changed = {k for k, v in variants["every setting changed"].items() if v != variants["release image tags"][k]}
    assert len(changed) > 5, f"the service stack should receive several environment settings, got {changed}"
    radar = _radar(child)
    rendered = {label: _release_owned(radar.render(_child_values(stack, child, values), region="eu-west-1"))
                for label, values in variants.items()}
    reference = rendered["bootstrap (parameter file)"]
    assert sorted(reference) == ["ProductionRule", "Service", "TestRule"]
    for label, resources in rendered.items():
        if resources != reference:
            differing = [i for i in reference if resources[i] != reference[i]]
            pytest.fail(f"{stack_id}: {', '.join(differing)} differ in {env} with {label}; settings that change "
                        f"them: {', '.join(_culprits(radar, stack, child, root, variants['release image tags']))}")


@pytest.mark.parametrize("app_path, env, stack_id", CASES[:1] + [c for c in CASES if c[1] == "prod"][:1],
                         ids=lambda v: getattr(v, "stem", v))
def test_what_the_service_and_rules_resolve_to(app_path, env, stack_id):
    """Direct assertions on the values that matter, so a careless `make golden` cannot slip past."""
    templates, params = GOLDEN_SETS[app_path]
    [(_, stack, child)] = [w for w in _web_stacks(templates) if w[0] == stack_id]
    base = _env_values(params, env)
    rendered = _render(child, _child_values(stack, child, base))["Resources"]
    service = rendered["Service"]["Properties"]
    assert service["DesiredCount"] == 0
    assert service["DeploymentController"] == {"Type": "CODE_DEPLOY"}
    assert {t["Key"]: t["Value"] for t in service["Tags"]} == {"Environment": env, "Application": base["Application"]}
    assert service["TaskDefinition"] == f"{base['Application']}-{env}-{service['LoadBalancers'][0]['ContainerName']}"
    for rule in ("ProductionRule", "TestRule"):
        props = rendered[rule]["Properties"]
        assert props["Actions"] == [{"Type": "forward", "TargetGroupArn": "BlueTargetGroup"}]
        assert sorted(t["Key"] for t in props["Tags"]) == sorted(STABLE_KEYS)
    # the scalable target, not the service, follows the environment: [0, 0] in bootstrap, the range after it
    target = rendered["ScalableTarget"]["Properties"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (0, 0)
    released = {k: (RELEASE_TAG if image_tags.is_parameter(k) else v) for k, v in base.items()}
    target = _render(child, _child_values(stack, child, released))["Resources"]["ScalableTarget"]["Properties"]
    prefix = stack_id.removeprefix("Service")
    assert (str(target["MinCapacity"]), str(target["MaxCapacity"])) == (base[f"{prefix}MinCount"],
                                                                        base[f"{prefix}MaxCount"])


def test_the_comparison_catches_the_old_bootstrap_count_and_owner_tag():
    """The harness is not blind: the service as it was before (DesiredCount only while bootstrapping, an Owner tag)
    differs between bootstrap and release, and between two owners."""
    app_path, env, stack_id = CASES[0]
    templates, params = GOLDEN_SETS[app_path]
    [(_, stack, child)] = [w for w in _web_stacks(templates) if w[0] == stack_id]
    old = copy.deepcopy(child)
    props = old["Resources"]["Service"]["Properties"]
    props["DesiredCount"] = {"Fn::If": ["Bootstrapping", 0, {"Ref": "AWS::NoValue"}]}
    props["Tags"] = props["Tags"] + [{"Key": "Owner", "Value": {"Ref": "Owner"}}]
    base = _env_values(params, env)
    release = {k: (RELEASE_TAG if image_tags.is_parameter(k) else v) for k, v in base.items()}
    new_owner = {**release, "Owner": "another-team"}
    service = {label: _release_owned(_render(old, _child_values(stack, old, values)))["Service"]
               for label, values in (("bootstrap", base), ("release", release), ("owner", new_owner))}
    assert json.loads(service["bootstrap"])["Properties"]["DesiredCount"] == 0
    assert "DesiredCount" not in json.loads(service["release"])["Properties"]
    assert service["release"] != service["owner"]


@pytest.mark.parametrize("app_path", list(GOLDEN_SETS), ids=app_id)
def test_stack_level_tags_are_the_stable_ones(app_path):
    """Root stack tags (params/<env>.config.json, used by the deploy script and the pipeline) and each nested stack's
    tags propagate to every resource in it, so they never carry Owner."""
    templates, params = GOLDEN_SETS[app_path]
    root = load((templates / "root.yaml").read_text())
    for logical_id, resource in root["Resources"].items():
        if resource["Type"] == "AWS::CloudFormation::Stack":
            assert sorted(t["Key"] for t in resource["Properties"]["Tags"]) == sorted(STABLE_KEYS), logical_id
    for config in params.glob("*.config.json"):
        if config.name != "pipeline.config.json":   # the pipeline's stack has no CODE_DEPLOY service
            assert sorted(json.loads(config.read_text())["Tags"]) == sorted(STABLE_KEYS), config.name

