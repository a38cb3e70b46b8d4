"""What a component is: one nested stack that describes itself (docs/adding-a-component.md).

A component package (`generator/components/<name>/`) holds its spec models and rules (`spec.py`), its pure build
function (`stack.py`) and the facts about the resource types it creates (`types.py`), and exports them as one
`Component` in its `__init__.py`. Everything the rest of the system must know about a resource type is a `TypeFacts`;
the registries that need it (stateful types and their policies, the destroy plan, the rehearsal's describe calls,
the environments' CloudFormation role) are functions over the components (generator/components/__init__.py).

Per-environment settings: each field of a component's per-environment model becomes one root parameter, declared
once (`EnvInputs`): its name, description, console label and group, type, allowed values or range and pattern come
from the pydantic field and its `Param`, and every environment's value from the app spec.
"""
from __future__ import annotations

import re
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from ipaddress import IPv4Network
from typing import TYPE_CHECKING, Any, Generic, Literal, NamedTuple, TypeVar

import annotated_types
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from generator import naming
from generator.errors import Problem, WiringError
from generator.policies.grants import Grant
from generator.records import record
from generator.wiring import PACK_SEPARATOR, PackedSetting, RootParameter, StackBuilder

if TYPE_CHECKING:
    from generator.config import AppSpec

Rule = Callable[["AppSpec"], Iterator[Problem]]

# --- facts about resource types --------------------------------------------------------------------------------------

RETAIN = ("RetainExceptOnCreate", "Retain")    # (DeletionPolicy, UpdateReplacePolicy)
SNAPSHOT = ("Snapshot", "Snapshot")


class Verifier(NamedTuple):
    """How the rehearsal checks that the emulator really created a resource: the API call it shows in its report,
    and the check itself (`client(service)` is a boto3 client; `physical` the resource's physical id)."""

    call: str
    check: Callable[[Callable[[str], Any], str], bool]


# `each(pattern, service, region=True)`: one ARN per environment of the app, `{env}` in `pattern` filled in (a `Sub`
# over `${Application}`); `envs`: the app's environments. A grant factory returns the CloudFormation role's grants
# for a family of types; types that share a factory share its grants (each granted once).
Each = Callable[..., list]
GrantFactory = Callable[[Each, list[str]], list[Grant]]


@record(frozen=True)
class TypeFacts:
    """What the rest of the system must know about one CloudFormation resource type a component creates.

    - `stateful`: it holds data. It gets an explicit DeletionPolicy/UpdateReplacePolicy (`RETAIN`, or `SNAPSHOT`
      with `snapshot_on_delete`), the production stack policy denies replacing or deleting it, the deploy preview
      and the destroy plan flag it (generator/stateful.py says why each policy).
    - `policy_override(properties)`: policies that depend on the resource's properties (e.g. an Aurora member
      instance, whose data the cluster's snapshot holds), or None for the default.
    - `cfn_grants`: what the environments' CloudFormation role needs to create, update and delete it (actions from
      its registry handlers; the gate checks them, generator/lint/handler_permissions.py). None: the grants every
      environment role has cover it (nested stacks, roles).
    - `passed_to` / `service_linked`: services its resources hand roles to (iam:PassedToService), and service-linked
      roles they need (iam:AWSServiceName).
    - `verify`: how the rehearsal checks that the emulator created it (None: listed by CloudFormation only).
    """

    stateful: bool = False
    snapshot_on_delete: bool = False
    policy_override: Callable[[Mapping[str, Any]], tuple[str, str] | None] | None = None
    cfn_grants: GrantFactory | None = None
    passed_to: tuple[str, ...] = ()
    service_linked: tuple[str, ...] = ()
    verify: Verifier | None = None

    def __post_init__(self) -> None:
        if self.snapshot_on_delete and not self.stateful:
            raise ValueError("snapshot_on_delete applies to stateful types only")

    def policies(self, properties: Mapping[str, Any] | None = None) -> tuple[str, str] | None:
        """(DeletionPolicy, UpdateReplacePolicy) for a resource of this type, or None when it holds no data."""
        if not self.stateful:
            return None
        if self.policy_override is not None:
            special = self.policy_override(properties or {})
            if special is not None:
                return special
        return SNAPSHOT if self.snapshot_on_delete else RETAIN


# --- per-environment settings -----------------------------------------------------------------------------------------

@record(frozen=True)
class Param:
    """How one field of a per-environment model appears as a root parameter: what pydantic cannot say.

    Put it in the field's `Annotated[...]` (or the return type of a `computed_field` for a value derived from other
    fields). Everything else comes from the field: the description, the type (Number for int, String otherwise), the
    allowed values (Literal, bool; int with `multiple_of` between `ge` and `le`), MinValue/MaxValue (`ge`/`le`) and
    AllowedPattern (`pattern`)."""

    label: str                              # console label (services: after "<service>: ")
    name: str | None = None                 # the parameter's name; default: the field in PascalCase
    type: str | None = None                 # a CloudFormation parameter type other than the default one
    absent: str | None = None               # the value when the field is None ("" or "0"); the constraints admit it
    default: str | None = None              # the parameter's Default (what a console user may leave as it is)
    pattern: Callable[[AppSpec], str] | None = None   # an AllowedPattern that depends on the app (not the field's)
    constraint: str | None = None           # ConstraintDescription (shown when a value breaks the pattern)
    kinds: tuple[str, ...] = ()             # components with kinds (services): the kinds that use it (empty: all)


class NotAParameter(NamedTuple):
    """Marks a field of a per-environment model that no template receives, with the reason (`kinds` as in Param)."""

    why: str
    kinds: tuple[str, ...] = ()


M = TypeVar("M", bound=BaseModel)


@record(frozen=True)
class Setting:
    """One field of a per-environment model and its root parameter."""

    field: str
    parameter: RootParameter


class EnvInputs(Generic[M]):
    """A component's per-environment settings as root parameters, one per field of `model` (or per `computed_field`
    with a `Param`), filled for each environment from `values(app, env)`: the model with every default resolved.

    `prefix`/`owner`: settings of one instance (a service): parameter names get the prefix (`Api` + `MinCount`),
    descriptions and labels the owner (`api: ...`). `kind`: only the fields that kind uses."""

    def __init__(self, model: type[M], group: str, values: Callable[[AppSpec, str], M], *, app: AppSpec,
                 prefix: str = "", owner: str = "", kind: str | None = None, packed: bool = False):
        self.model = model
        self.values = values
        self.settings: dict[str, Setting] = {}
        for name, (annotation, info, param) in _declared(model).items():
            if isinstance(param, NotAParameter) or (kind is not None and param.kinds and kind not in param.kinds):
                continue
            self.settings[name] = Setting(name, _parameter(name, annotation, info, param, group, values, app,
                                                           prefix, owner))
        self._names = (group, prefix, owner)
        self.packed = _pack(list(self.settings.values()), *self._names) if packed and self.settings else None

    def __getitem__(self, field: str) -> RootParameter | PackedSetting:
        """The source of a setting: its own root parameter, or its place in the packed one."""
        try:
            setting = self.settings[field].parameter
        except KeyError:
            raise WiringError(f"{self.model.__name__} has no root parameter for {field!r} "
                              f"(known: {', '.join(self.settings)})") from None
        if self.packed is None:
            return setting
        return PackedSetting(self.packed, list(self.settings).index(field), setting)

    def input(self, stack: StackBuilder, field: str) -> Any:
        """Declare the setting as a parameter of `stack`; returns the Ref to use inside it."""
        return stack.input(self[field])

    def parameters(self) -> list[RootParameter]:
        """The root parameters these settings take: one per setting, or the packed one."""
        return [self.packed] if self.packed is not None else [s.parameter for s in self.settings.values()]

    def pack(self, stack: StackBuilder) -> None:
        """Pack the settings into one root parameter after `stack` took them one each: its inputs now point at their
        places in the packed one (PackedSetting), so only the root changes, never the nested template. This is how
        the root decides to pack once every stack is built and its parameters counted (generator/root.py)."""
        if self.packed is not None or not self.settings:
            return
        self.packed = _pack(list(self.settings.values()), *self._names)
        for field, setting in self.settings.items():
            if stack.inputs.get(setting.parameter.name) == setting.parameter:
                stack.inputs[setting.parameter.name] = self[field]


PACKED_SUFFIX = "Settings"
NUMBER = r"-?[0-9]+(?:\.[0-9]+)?"


def _pack(settings: list[Setting], group: str, prefix: str, owner: str) -> RootParameter:
    """One String root parameter holding every setting, comma-separated in field order, each place constrained by
    its own setting's allowed values or pattern (a Number's range is checked when app.yaml loads: parameter files
    are written from it)."""
    parameters = [s.parameter for s in settings]
    places = [_place_pattern(p) for p in parameters]
    fields = ", ".join(s.field for s in settings)

    def env_value(app: AppSpec, env: str) -> str:
        values = [p.env_value(app, env) for p in parameters]
        for p, value in zip(parameters, values):
            if PACK_SEPARATOR in value:
                raise WiringError(f"{p.name}: {value!r} holds {PACK_SEPARATOR!r}, which separates packed settings")
        return PACK_SEPARATOR.join(values)

    name = f"{prefix}{PACKED_SUFFIX}"
    who = f"{owner}: " if owner else ""
    return RootParameter(
        name, f"{who}settings packed in one parameter (the app has too many to give each its own), "
              f"comma-separated in this order: {fields}", group, f"{who}settings ({fields})", env_value,
        allowed_pattern="^" + PACK_SEPARATOR.join(places) + "$",
        constraint=f"{len(parameters)} comma-separated values: {fields}")


def _place_pattern(p: RootParameter) -> str:
    if p.allowed_values is not None:
        return "(?:" + "|".join(re.escape(v) for v in p.allowed_values) + ")"
    if p.type == "Number":
        return f"(?:{NUMBER})"
    if p.allowed_pattern is not None:
        return "(?:" + p.allowed_pattern.removeprefix("^").removesuffix("$") + ")"
    return f"[^{PACK_SEPARATOR}]*"


def declared_fields(model: type[BaseModel]) -> dict[str, Param | NotAParameter]:
    """Every field (and parameter-carrying computed field) of a per-environment model with its `Param` or
    `NotAParameter`; a field with neither is a build error (tests check every component's model)."""
    return {name: param for name, (_, _, param) in _declared(model).items()}


def _declared(model: type[BaseModel]) -> dict[str, tuple[Any, Any, Param | NotAParameter]]:
    found: dict[str, tuple[Any, Any, Param | NotAParameter]] = {}
    for name, info in model.model_fields.items():
        marks = [m for m in info.metadata if isinstance(m, (Param, NotAParameter))]
        if len(marks) != 1:
            raise WiringError(f"{model.__name__}.{name}: a per-environment field says how it becomes a root "
                              "parameter: Annotated[..., Param(...)] or Annotated[..., NotAParameter(why)]")
        found[name] = (info.annotation, info, marks[0])
    for name, info in model.model_computed_fields.items():
        annotation = info.return_type
        if annotation is PydanticUndefined:
            # Not evaluated yet: pydantic evaluates a computed field's return annotation when it builds the model's
            # validator, which an EnvironmentPart defers (generator/config/types.py); evaluated the same way here
            # (the property's module globals), tests/test_spec_import_cost.py compares it with the built model's
            annotation = typing.get_type_hints(info.wrapped_property.fget, include_extras=True)["return"]
        marks = [m for m in typing.get_args(annotation)[1:] if isinstance(m, Param)] \
            if typing.get_origin(annotation) is typing.Annotated else []
        if marks:
            found[name] = (typing.get_args(annotation)[0], info, marks[0])
    return found


def _parameter(name: str, annotation: Any, info: Any, param: Param, group: str, values: Callable, app: AppSpec,
               prefix: str, owner: str) -> RootParameter:
    base = _without_none(annotation)
    metadata = list(getattr(info, "metadata", ())) + _inner_metadata(annotation)
    bounds = {type(m).__name__: m for m in metadata if isinstance(m, annotated_types.BaseMetadata)}
    constraints: dict[str, Any] = {}
    allowed: tuple[str, ...] | None = None
    cfn_type = param.type
    if base is bool:
        allowed = ("true", "false")
        cfn_type = cfn_type or "String"
    elif typing.get_origin(base) is Literal:
        choices = typing.get_args(base)
        allowed = tuple(_text(c) for c in choices)
        cfn_type = cfn_type or ("Number" if all(isinstance(c, int) for c in choices) else "String")
    elif base in (int, float):
        cfn_type = cfn_type or "Number"
        low = _bound(bounds, "Ge", "Gt", +1)
        high = _bound(bounds, "Le", "Lt", -1)
        step = getattr(bounds.get("MultipleOf"), "multiple_of", None)
        if param.absent is not None and low is not None:
            low = min(low, type(low)(param.absent))
        if step and low is not None and high is not None and base is int:
            allowed = tuple(str(v) for v in range(low, high + 1, step))
        else:
            constraints.update({"min_value": low, "max_value": high})
    elif cfn_type is not None and cfn_type not in ("String", "CommaDelimitedList"):
        pass   # an AWS-specific type (AWS::EC2::VPC::Id, List<...>): CloudFormation checks the value itself
    else:
        cfn_type = cfn_type or ("CommaDelimitedList" if typing.get_origin(base) is list else "String")
        pattern = param.pattern(app) if param.pattern is not None else _pattern(metadata)
        if pattern is not None and param.absent == "":
            pattern = f"^(?:{pattern.removeprefix('^').removesuffix('$')})?$"
        constraints["allowed_pattern"] = pattern
    if allowed is not None and param.absent is not None and param.absent not in allowed:
        allowed = (param.absent, *allowed)
    description = " ".join((info.description or "").replace("`", "").split())
    if not description:
        raise WiringError(f"{name}: a per-environment field needs a description (it is the parameter's)")
    parameter_name = prefix + (param.name or naming.pascal(name.replace("_", "-")))

    def env_value(a: AppSpec, env: str) -> str:
        value = getattr(values(a, env), name)
        if value is None:
            if param.absent is None:
                raise WiringError(f"{parameter_name}: {env} resolves {name} to nothing and the field has no "
                                  "Param(absent=...)")
            return param.absent
        return _text(value)

    return RootParameter(
        parameter_name, f"{owner}: {description}" if owner else description, group,
        f"{owner}: {param.label}" if owner else param.label, env_value, type=cfn_type, default=param.default,
        allowed_values=allowed, constraint=param.constraint, **{k: v for k, v in constraints.items() if v is not None})


def _without_none(annotation: Any) -> Any:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(args) == 1:
        return _without_none(args[0])
    if typing.get_origin(annotation) is typing.Annotated:
        return _without_none(typing.get_args(annotation)[0])
    return annotation


def _inner_metadata(annotation: Any) -> list:
    """Constraints on the type itself (`Annotated[str, StringConstraints(...)] | None`)."""
    if typing.get_origin(annotation) is typing.Annotated:
        return list(typing.get_args(annotation)[1:]) + _inner_metadata(typing.get_args(annotation)[0])
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [m for a in typing.get_args(annotation) for m in _inner_metadata(a)]
    return []


def _bound(bounds: dict, inclusive: str, exclusive: str, step: int) -> int | None:
    if inclusive in bounds:
        return getattr(bounds[inclusive], inclusive.lower())
    if exclusive in bounds:
        return getattr(bounds[exclusive], exclusive.lower()) + step
    return None


def _pattern(metadata: list) -> str | None:
    for m in metadata:
        pattern = getattr(m, "pattern", None)
        if isinstance(pattern, str):
            return pattern
    return None


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    if isinstance(value, IPv4Network):
        return str(value)
    if isinstance(value, float):
        return f"{value:g}"   # 0.5, 4 (not 4.0): what app.yaml says, and what a Condition compares with
    return str(value)


def cidr_pattern(masks: range) -> str:
    """AllowedPattern of an IPv4 CIDR whose mask is in `masks`."""
    octet = r"(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
    return rf"^{octet}(\.{octet}){{3}}/({'|'.join(str(m) for m in masks)})$"


# --- the component ---------------------------------------------------------------------------------------------------

@record(frozen=True)
class Component:
    """One nested stack that describes itself.

    `name`: the package, the stack's logical id (`Network`, or `Service` + `Api` per instance) and file
    (`network.yaml`, `service-api.yaml`). `spec_key`: its block in app.yaml (`app.<spec_key>`, typed `spec`), if it
    has one; `env`: its per-environment model, whose fields are `EnvironmentSpec`'s (a test checks both).
    `types`: every resource type its stacks create (a stack that adds another type fails the build). `settings`:
    the per-environment models whose fields become root parameters, when they are not `env` itself (services:
    the settings of one service, and the off-hours times). `offers`: a producer's stores that services may `use`
    (docs/attachments.md)."""

    name: str
    description: str
    types: Mapping[str, TypeFacts]
    rules: tuple[Rule, ...] = ()
    spec_key: str | None = None
    spec: type[BaseModel] | None = None
    env: type[BaseModel] | None = None
    settings: tuple[type[BaseModel], ...] = ()   # models whose fields are root parameters (default: `env`)
    offers: Callable[[AppSpec], Mapping[str, Any]] | None = None   # a producer: its stores' Offers, by name

    def produces(self, app: AppSpec) -> Mapping[str, Any]:
        """The stores of this component that services may `use`, by name, each with its `Offer`
        (generator/components/attachments.py): derived from the spec, so the usable names need no registry."""
        return self.offers(app) if self.offers is not None else {}

    @property
    def setting_models(self) -> tuple[type[BaseModel], ...]:
        return self.settings or ((self.env,) if self.env is not None else ())

    def logical_id(self, instance: str | None = None) -> str:
        return naming.pascal(self.name) + (naming.pascal(instance) if instance else "")

    def filename(self, instance: str | None = None) -> str:
        return f"{self.name}-{instance}.yaml" if instance else f"{self.name}.yaml"

    @property
    def types_file(self) -> str:
        return f"generator/components/{self.name}/types.py"

    def builder(self, app: AppSpec, instance: str | None = None, description: str | None = None) -> StackBuilder:
        """A StackBuilder for one stack of this component: it refuses resource types the component does not declare
        and gives stateful ones their policies from the declared facts."""
        return StackBuilder(self.logical_id(instance), self.filename(instance),
                            f"{app.app}: {description or self.description}", component=self)

    def check_type(self, resource_type: str, logical_id: str) -> TypeFacts:
        facts = self.types.get(resource_type)
        if facts is None:
            raise WiringError(f"the {self.name} component creates {logical_id} ({resource_type}), a type it does not "
                              f"declare: add its TypeFacts (stateful?, the CloudFormation role's grants, a rehearsal "
                              f"check) to {self.types_file}")
        return facts

