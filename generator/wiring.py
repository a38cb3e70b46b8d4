"""How stacks are wired: typed sources in, typed outputs out. The only module that spells `Outputs.<Name>`.

A stack module receives a `StackBuilder` and sources (a `RootParameter` or another stack's `OutputRef`);
`StackBuilder.input(source)` declares the child parameter and records where its value comes from, and
the root template is assembled from those records, so every nested-stack parameter is wired exactly once
and a wrong name fails the build, not the deploy.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import field
from typing import TYPE_CHECKING, Any, Protocol, Union

from troposphere import AWSObject, GetAtt, If, Join, Output, Parameter, Ref, Select, Split, Template

from generator import naming, stateful, tagging
from generator import troposphere_speedups  # noqa: F401 - installs troposphere's faster __init__ for every stack
from generator.errors import WiringError
from generator.records import record

if TYPE_CHECKING:
    from generator.config import AppSpec

EnvValue = Callable[["AppSpec", str], str]


def is_list_type(cfn_type: str) -> bool:
    return cfn_type.startswith("List<") or cfn_type == "CommaDelimitedList"


@record(frozen=True)
class RootParameter:
    """A parameter of the root template: what the console shows and how each environment fills it."""

    name: str
    description: str
    group: str
    label: str
    env_value: EnvValue = field(compare=False)
    type: str = "String"
    default: str | None = None
    allowed_values: tuple[str, ...] | None = None
    allowed_pattern: str | None = None
    constraint: str | None = None
    max_length: int | None = None
    min_value: int | None = None
    max_value: int | None = None

    def declare(self, **overrides: Any) -> Parameter:
        props: dict[str, Any] = {"Type": self.type, "Description": self.description}
        optional = {"Default": self.default, "AllowedValues": self.allowed_values,
                    "AllowedPattern": self.allowed_pattern, "ConstraintDescription": self.constraint,
                    "MaxLength": self.max_length, "MinValue": self.min_value, "MaxValue": self.max_value}
        props.update({k: (list(v) if isinstance(v, tuple) else v) for k, v in optional.items() if v is not None})
        props.update(overrides)
        return Parameter(self.name, **props)

    def value(self) -> Any:
        """The value handed to a nested stack: lists cross the boundary as comma-joined strings."""
        return Join(",", Ref(self.name)) if is_list_type(self.type) else Ref(self.name)


@record(frozen=True)
class OutputRef:
    """An output of a nested stack, as another stack consumes it."""

    stack: str
    name: str
    type: str
    description: str

    def value(self) -> GetAtt:
        return GetAtt(self.stack, f"Outputs.{self.name}")


@record(frozen=True)
class ParentValue:
    """A value of the parent template itself (one of its own resources, or a pseudo parameter), as a nested stack
    consumes it. The environment's root holds nothing but nested stacks; the pipeline's parent also holds what must
    stay where it was first created (its key, bucket, log group, build repositories and the pipeline itself)."""

    name: str
    expression: Any
    type: str
    description: str

    def value(self) -> Any:
        return self.expression


@record(frozen=True)
class PackedSetting:
    """One setting carried inside a packed root parameter (`<Service>Settings`: the settings of a service joined by
    commas, generator/components/base.py `EnvInputs(packed=True)`). The nested stack declares the same parameter as
    for an individual root parameter (name, type, description); only the root's value differs: Fn::Select of its
    place in the packed one. So a nested template is the same whether its root packs settings or not."""

    packed: RootParameter
    index: int
    setting: RootParameter

    @property
    def name(self) -> str:
        return self.setting.name

    @property
    def type(self) -> str:
        return self.setting.type

    @property
    def description(self) -> str:
        return self.setting.description

    def value(self) -> Any:
        return Select(self.index, Split(PACK_SEPARATOR, Ref(self.packed.name)))


PACK_SEPARATOR = ","
Source = Union[RootParameter, OutputRef, ParentValue, PackedSetting]

# Every stack takes these, so tags and physical names work the same in every template.
STANDARD_PARAMETERS = (
    RootParameter(
        naming.ENVIRONMENT_PARAM, "Environment this stack belongs to; enters names and the Environment tag.",
        group="Environment", label="Environment name", env_value=lambda app, env: env,
        allowed_pattern=naming.NAME_PATTERN, max_length=naming.MAX_NAME_LENGTH,
        constraint="lowercase letters, digits and '-', starting with a letter"),
    RootParameter(
        naming.APPLICATION_PARAM, "Application name; enters physical names and the Application tag.",
        group="Environment", label="Application", env_value=lambda app, env: app.app,
        allowed_pattern=naming.NAME_PATTERN, max_length=naming.MAX_NAME_LENGTH,
        constraint="lowercase letters, digits and '-', starting with a letter"),
    RootParameter(
        naming.OWNER_PARAM, "Team that owns the resources; becomes the Owner tag (cost allocation).",
        group="Environment", label="Owner", env_value=lambda app, env: app.owner,
        allowed_pattern=naming.TAG_VALUE_PATTERN, constraint="1-128 characters allowed in a tag value"),
)


def prepare_environment_resource(resource: AWSObject) -> None:
    """What every resource of an environment's stacks gets: the standard tags, the environment's role path for a role
    (naming.role_path), the policies of a resource that holds data (generator/stateful.py)."""
    tagging.apply(resource)
    if resource.resource_type == "AWS::IAM::Role" and "Path" not in resource.properties:
        resource.Path = naming.role_path()
    stateful.protect(resource)


@record
class StackBuilder:
    """One nested stack under construction: its template plus the record of where each input comes from.

    `standard`: the parameters every stack of its family takes; `prepare`: what `add` does to each resource. The
    defaults are the environment's (STANDARD_PARAMETERS, prepare_environment_resource); the pipeline's nested stacks
    take their own (generator/pipeline/common.py)."""

    logical_id: str
    filename: str
    description: str
    standard: tuple[RootParameter, ...] = STANDARD_PARAMETERS
    prepare: Callable[[AWSObject], None] = prepare_environment_resource
    component: Any = None   # the Component it builds (generator/components/base.py): declares the types it may add
    template: Template = field(init=False)
    inputs: dict[str, Source] = field(default_factory=dict, init=False)
    exports: dict[str, OutputRef] = field(default_factory=dict, init=False)
    public: list[str] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        self.template = Template(Description=self.description)
        self.template.set_version()
        for param in self.standard:
            self.input(param)

    def add(self, resource: AWSObject) -> Any:
        """Add a resource, prepared for its stack family (tags, role path, deletion policies). A component's stack
        adds only the types its component declares (TypeFacts, which also say whether a type holds data: the policies
        generator/stateful.py applies)."""
        if self.component is not None:
            self.component.check_type(resource.resource_type, resource.title)
        self.prepare(resource)
        return self.template.add_resource(resource)

    def input(self, source: Source, name: str | None = None, cfn_type: str | None = None) -> Ref:
        """Declare a child parameter fed from `source`; returns a Ref to use inside this stack."""
        name = name or source.name
        known = self.inputs.get(name)
        if known is not None:
            if known != source:
                raise WiringError(f"{self.logical_id}: parameter {name} is wired from two sources")
            return Ref(name)
        if isinstance(source, OutputRef) and source.stack == self.logical_id:
            raise WiringError(f"{self.logical_id}: {name} cannot be an input of the stack that outputs it")
        # Constraints are checked once, at the root; the child only declares the type.
        self.template.add_parameter(Parameter(name, Type=cfn_type or source.type, Description=source.description))
        self.inputs[name] = source
        return Ref(name)

    def output(self, name: str, value: Any, description: str, cfn_type: str = "String",
               public: bool = False) -> OutputRef:
        """Export a value to other stacks. List types are emitted as one comma-joined string.

        `public` outputs are also re-exported by the root stack (for operators, `make outputs` and the pipeline);
        the rest stay between stacks, which keeps the root inside the inline template size."""
        if is_list_type(cfn_type):
            value = _joined(value)
        self.template.add_output(Output(name, Value=value, Description=description))
        ref = self.exports[name] = OutputRef(self.logical_id, name, cfn_type, description)
        if public:
            self.public.append(name)
        return ref


def _joined(value: Any) -> Any:
    """A list as one comma-joined string, also inside each branch of an Fn::If."""
    if isinstance(value, list):
        return Join(",", value)
    if isinstance(value, If):
        condition, yes, no = value.data["Fn::If"]
        return If(condition, _joined(yes), _joined(no))
    return value


class Packable(Protocol):
    """Settings a stack took as one root parameter each that the root may pack into one (components/base.py
    `EnvInputs.pack`), when the root's parameters are over its budget (generator/root.py)."""

    def pack(self, stack: StackBuilder) -> None: ...


@record
class Nested:
    """A finished nested stack, as the root template needs it; `packable`: its settings the root may pack."""

    builder: StackBuilder
    packable: tuple[Packable, ...] = ()

    def parameters(self) -> dict[str, Any]:
        return {name: src.value() for name, src in sorted(self.builder.inputs.items())}
