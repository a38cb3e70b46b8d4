"""The tag set, in one place: Environment, Owner and Application on every taggable resource.

Values come from parameters present in every template, so a console deploy tags exactly like the CLI.
"""
from __future__ import annotations

from typing import Any

from troposphere import AWSObject, Ref, Tags

from generator import naming

TAG_KEYS = ("Environment", "Owner", "Application")
_SOURCES = {"Environment": naming.ENVIRONMENT_PARAM, "Owner": naming.OWNER_PARAM,
            "Application": naming.APPLICATION_PARAM}


def tag_list(**extra: str) -> Tags:
    """A fresh Tags object each call (troposphere's Tags.__add__ mutates its operand)."""
    return Tags(**{key: Ref(param) for key, param in _SOURCES.items()}, **extra)


def tag_map(**extra: str) -> dict[str, Any]:
    return {**{key: Ref(param) for key, param in _SOURCES.items()}, **extra}


def apply(resource: AWSObject) -> None:
    """Give a taggable resource the standard tags unless the stack module set them itself."""
    spec = resource.props.get("Tags")
    if spec is None or "Tags" in resource.properties:
        return
    accepted = spec[0]
    # Some resource types take tags as a plain map (e.g. SSM parameters); the rest take a list.
    resource.Tags = tag_map() if accepted is dict else tag_list()
