"""The tag set, in one place: Environment, Owner and Application on every taggable resource.

Values come from parameters present in every template, so a console deploy tags exactly like the CLI.

Two kinds of resources carry only the *stable* tags (Environment and Application, fixed for a stack's whole life:
its name is `<app>-<env>`), never Owner:
- a `CODE_DEPLOY` ECS service: CloudFormation's ECS handler answers any change of the resource, a tag included,
  with a full UpdateService (task definition, load balancers, network configuration), which ECS rejects for such
  services and which would also reset the task count (docs/services.md);
- a listener rule: CodeDeploy re-points its forward action at each release; an update of the rule (a tag
  included) sends the template's action again and would move traffic back to the idle target group.
CloudFormation copies stack-level tags (the root stack's and each AWS::CloudFormation::Stack's) onto every resource
in the stack, so those carry only the stable tags too; Owner stays a resource-level tag everywhere else.
"""
from __future__ import annotations

from typing import Any

from troposphere import AWSObject, Ref, Tags

from generator import naming

TAG_KEYS = ("Environment", "Owner", "Application")
STABLE_KEYS = ("Environment", "Application")
_SOURCES = {"Environment": naming.ENVIRONMENT_PARAM, "Owner": naming.OWNER_PARAM,
            "Application": naming.APPLICATION_PARAM}
LISTENER_RULE = "AWS::ElasticLoadBalancingV2::ListenerRule"
ECS_SERVICE = "AWS::ECS::Service"


def tag_list(**extra: str) -> Tags:
    """A fresh Tags object each call (troposphere's Tags.__add__ mutates its operand)."""
    return Tags(**{key: Ref(param) for key, param in _SOURCES.items()}, **extra)


def tag_map(**extra: str) -> dict[str, Any]:
    return {**{key: Ref(param) for key, param in _SOURCES.items()}, **extra}


def stable_tag_list() -> Tags:
    """Only the tags that never change for a stack (the stack-level tags, and the release-owned resources')."""
    return Tags(**{key: Ref(_SOURCES[key]) for key in STABLE_KEYS})


def release_owned(resource_type: str, controller: Any = None) -> bool:
    """A resource whose update during a stack update would fight CodeDeploy: a CODE_DEPLOY service (`controller` is
    its DeploymentController type) or a listener rule."""
    return resource_type == LISTENER_RULE or (resource_type == ECS_SERVICE and controller == "CODE_DEPLOY")


def _controller(resource: AWSObject) -> Any:
    controller = resource.properties.get("DeploymentController")
    return getattr(controller, "properties", {}).get("Type") if controller is not None else None


def apply(resource: AWSObject) -> None:
    """Give a taggable resource the standard tags (the stable ones on release-owned resources) unless the stack
    module set them itself."""
    spec = resource.props.get("Tags")
    if spec is None or "Tags" in resource.properties:
        return
    if release_owned(resource.resource_type, _controller(resource)):
        resource.Tags = stable_tag_list()
        return
    accepted = spec[0]
    # Some resource types take tags as a plain map (e.g. SSM parameters); the rest take a list.
    resource.Tags = tag_map() if accepted is dict else tag_list()
