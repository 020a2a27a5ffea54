"""Offline deploy-readiness check: what a real ``pulumi up`` would refuse in a synthesized program.

    python -m tools.preview --stack dev --check
    python -m tools.preview --file examples/edge-oac.yaml --check

The mocks of ``tools.synth`` accept any input: a misspelled key in a nested plain dict (an
``origin_idd`` in a CloudFront origin) is serialized as written and registered without a word,
and only the provider refuses it, at ``pulumi up``. ``check(synth)`` compares every registered
resource's inputs with what the pinned pulumi-aws SDK declares for its type, and every physical
name with the limits AWS sets, and returns one ``Finding`` per problem:

- property names at every nesting level (unknown or misspelled, with a suggestion);
- value types (string, integer, number, boolean, list, map, object, asset/archive);
- required inputs, at the top level and inside every nested object;
- enum values, where the SDK declares an enum for the property;
- physical names: length, characters, case, reserved prefixes, per resource type; an absent
  name is the one Pulumi will generate (``<logical name>-`` and 7 random characters).

The schema is derived from the SDK itself, never from a hand-kept list: the type token leads to
the resource class through the SDK's own resource-module registry, the class to its ``*Args``
input type (``@pulumi.input_type``), and each property getter carries its wire (camelCase) name
(``@pulumi.getter(name=...)``) and its type annotation, which names the nested ``*Args`` types.
Derived schemas are cached per class: the first check of the dev stack takes tens of
milliseconds, the next ones under a millisecond (``python -m bench.check``).

What it cannot see: service-side validation (values AWS refuses that the SDK types as a plain
string, like a CloudFront ``viewerProtocolPolicy``), account quotas and state (names already
taken, limits raised or used up by others), permissions. Only a real ``pulumi up`` proves those.
"""

from __future__ import annotations

import collections.abc
import difflib
import enum
import functools
import importlib
import inspect
import re
import sys
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Union

import pulumi

from tools.pulumi_seam import constructor_parameters, is_input_type, resource_module, wire_names
from tools.synth import Resource, Synth


@dataclass(frozen=True, order=True)
class Finding:
    """One input a real deployment would refuse: where, and why."""

    type: str
    name: str
    path: str
    message: str

    def __str__(self) -> str:
        where = f" {self.path}:" if self.path else ""
        return f"{self.type} {self.name}:{where} {self.message}"


# --------------------------------------------------------------------------------------------
# Shapes: what the SDK's type annotations say a value must be, reduced to what can be checked
# on the serialized (camelCase, resolved) inputs the mocks record.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scalar:
    kind: str  # "string" | "integer" | "number" | "boolean"


@dataclass(frozen=True)
class EnumShape:
    name: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Array:
    item: Shape


@dataclass(frozen=True)
class MapShape:
    value: Shape


@dataclass(frozen=True)
class ObjectShape:
    cls: type


@dataclass(frozen=True)
class OneOf:
    options: tuple[Shape, ...]


@dataclass(frozen=True)
class Opaque:
    kind: str  # "any" | "asset" | "archive"


Shape = Scalar | EnumShape | Array | MapShape | ObjectShape | OneOf | Opaque

ANY = Opaque("any")
_SCALARS = {
    str: Scalar("string"),
    int: Scalar("integer"),
    float: Scalar("number"),
    bool: Scalar("boolean"),
}
# typing.get_origin() answers with the collections.abc class for typing.Sequence[...] etc.
_SEQUENCES = {list, tuple, collections.abc.Sequence}
_MAPPINGS = {dict, collections.abc.Mapping}


@dataclass(frozen=True)
class ObjectSchema:
    """The inputs one ``*Args`` type declares, by wire name."""

    name: str
    properties: Mapping[str, Shape]
    required: frozenset[str]
    # Python (snake_case) name -> wire name: a raw snake_case key in a dict is a typo of it.
    python_names: Mapping[str, str]


def _is_wrapper(member: Any) -> bool:
    """``pulumi.Input[T]`` is ``Union[T, Awaitable[T], Output[T]]``: only T says what to send."""
    origin = typing.get_origin(member)
    return member is pulumi.Output or origin is pulumi.Output or origin is collections.abc.Awaitable


def _args_class_of_typed_dict(hint: type) -> type | None:
    """``FooArgsDict`` (TypedDict) -> ``FooArgs`` (the input type carrying the wire names)."""
    module = sys.modules.get(hint.__module__)
    sibling = getattr(module, hint.__name__.removesuffix("Dict"), None)
    return sibling if sibling is not None and is_input_type(sibling) else None


def _union_shape(members: list[Any]) -> Shape:
    members = [m for m in members if m is not type(None) and not _is_wrapper(m)]
    enums = [m for m in members if isinstance(m, type) and issubclass(m, enum.Enum)]
    if enums and str in members:
        # Union[str, SomeEnum]: how the SDK declares the values a string property takes.
        members = [m for m in members if m is not str and m not in enums[1:]]
    shapes: list[Shape] = []
    for member in members:
        shape = shape_of(member)
        if shape not in shapes:
            shapes.append(shape)
    if any(isinstance(s, ObjectShape) for s in shapes):
        # InputType[T] = Union[T, Mapping[str, Any]]: the mapping is T written as a dict.
        shapes = [s for s in shapes if s != MapShape(ANY)]
    if not shapes:
        return ANY
    return shapes[0] if len(shapes) == 1 else OneOf(tuple(shapes))


def shape_of(hint: Any) -> Shape:
    """Reduce one SDK annotation to the Shape its serialized value must have."""
    origin = typing.get_origin(hint)
    if origin is Union or origin is types.UnionType:
        return _union_shape(list(typing.get_args(hint)))
    if hint in _SCALARS:
        return _SCALARS[hint]
    if origin in _SEQUENCES:
        args = typing.get_args(hint)
        return Array(shape_of(args[0]) if args else ANY)
    if origin in _MAPPINGS:
        args = typing.get_args(hint)
        return MapShape(shape_of(args[1]) if len(args) == 2 else ANY)
    if not isinstance(hint, type):
        return ANY
    if is_input_type(hint):
        return ObjectShape(hint)
    if typing.is_typeddict(hint):
        args_class = _args_class_of_typed_dict(hint)
        return ObjectShape(args_class) if args_class is not None else ANY
    if issubclass(hint, enum.Enum):
        return EnumShape(hint.__name__, tuple(str(m.value) for m in hint))
    if issubclass(hint, pulumi.Asset):
        return Opaque("asset")
    if issubclass(hint, pulumi.Archive):
        return Opaque("archive")
    return ANY


def _hints_namespace(cls: type) -> tuple[dict[str, Any], dict[str, Any]]:
    # The getters' annotations are strings naming types of the class's own module (nested
    # input types, enums); T is the TypeVar of pulumi.Input, irrelevant here.
    return vars(sys.modules[cls.__module__]), {"Output": pulumi.Output, "T": type(None)}


@functools.cache
def object_schema(cls: type) -> ObjectSchema:
    """The schema of one ``@pulumi.input_type`` class, from its property getters."""
    globalns, localns = _hints_namespace(cls)
    python_names = wire_names(cls)
    properties: dict[str, Shape] = {}
    required: set[str] = set()
    for python_name, wire_name in python_names.items():
        getter = getattr(cls, python_name).fget
        hint = typing.get_type_hints(getter, globalns=globalns, localns=localns).get("return")
        properties[wire_name] = shape_of(hint)
        if not _admits_none(hint):
            required.add(wire_name)
    return ObjectSchema(cls.__name__, properties, frozenset(required), python_names)


def _admits_none(hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if origin is Union or origin is types.UnionType:
        return type(None) in typing.get_args(hint)
    return hint is None or hint is type(None)


@functools.cache
def resource_class(type_token: str) -> type | None:
    """The SDK class registered for a type token (``aws:lb/listener:Listener``), if any."""
    parts = type_token.split(":")
    if len(parts) != 3:
        return None
    package, module_token, _ = parts
    if package == "aws":
        import pulumi_aws  # noqa: F401  (importing the package registers its resource modules)
    module = resource_module(package, module_token)
    info = getattr(module, "mod_info", None)
    if not info or type_token not in info.get("classes", {}):
        return None
    cls: type = getattr(importlib.import_module(info["fqn"]), info["classes"][type_token])
    return cls


@functools.cache
def args_class(type_token: str) -> type | None:
    """The ``*Args`` input type a resource class is constructed from.

    Read from the class's own ``__init__(resource_name, args: FooArgs, opts)`` overload, not
    guessed from its name: when a nested type already holds ``FooArgs``, the SDK names the
    resource's ``FooInitArgs``.
    """
    cls = resource_class(type_token)
    if cls is None:
        return None
    constructor = vars(cls).get("__init__")
    for overload in typing.get_overloads(constructor) if constructor is not None else ():
        parameter = inspect.signature(overload).parameters.get("args")
        if parameter is None:
            continue
        annotation = parameter.annotation
        if isinstance(annotation, str):
            annotation = vars(sys.modules[cls.__module__]).get(annotation)
        # Optional[FooArgs] when the resource has no required input.
        for candidate in (annotation, *typing.get_args(annotation)):
            if isinstance(candidate, type) and is_input_type(candidate):
                return candidate
    return None


def constructor_inputs(type_token: str) -> frozenset[str]:
    """Python names the resource's ``_internal_init`` takes: the same set as its Args type."""
    cls = resource_class(type_token)
    return frozenset() if cls is None else constructor_parameters(cls)


# --------------------------------------------------------------------------------------------
# Physical names. Independent of components/: a table per type token of what AWS accepts,
# applied to the explicit name input or, when absent, to the name Pulumi will generate.
# --------------------------------------------------------------------------------------------

AUTONAME_SUFFIX = 8  # Pulumi's autoname: "<logical>-" plus 7 random hex characters


@dataclass(frozen=True)
class NameRule:
    property: str  # the wire name of the physical-name input
    limit: int
    pattern: str  # full match, ASCII classes only
    allowed: str  # the same, for the message
    doc: str
    # Pulumi lowercases the generated name (S3); an explicit name must already be lowercase.
    autoname_lowercase: bool = False
    reserved_prefixes: tuple[str, ...] = ()
    # namePrefix: the provider appends a unique suffix, 26 characters for most types
    # (terraform-provider-aws's id.UniqueIDSuffixLength), so the prefix has a lower limit.
    prefix_property: str | None = None
    prefix_limit: int = 0


_ELB_NAME = r"[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?"
_IAM_NAME = r"[A-Za-z0-9_+=,.@-]+"

NAME_RULES: dict[str, NameRule] = {
    "aws:lb/loadBalancer:LoadBalancer": NameRule(
        "name", 32, _ELB_NAME, "letters, digits and hyphens, no hyphen first or last",
        "https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateLoadBalancer.html",
        reserved_prefixes=("internal-",), prefix_property="namePrefix", prefix_limit=6,
    ),
    "aws:lb/targetGroup:TargetGroup": NameRule(
        "name", 32, _ELB_NAME, "letters, digits and hyphens, no hyphen first or last",
        "https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateTargetGroup.html",
        prefix_property="namePrefix", prefix_limit=6,
    ),
    # "If you specify only the function name, it is limited to 64 characters in length."
    "aws:lambda/function:Function": NameRule(
        "name", 64, r"[A-Za-z0-9_-]+", "letters, digits, hyphens and underscores",
        "https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html",
    ),
    "aws:iam/role:Role": NameRule(
        "name", 64, _IAM_NAME, "letters, digits and _+=,.@-",
        "https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html",
        prefix_property="namePrefix", prefix_limit=64 - 26,
    ),
    "aws:iam/rolePolicy:RolePolicy": NameRule(
        "name", 128, _IAM_NAME, "letters, digits and _+=,.@-",
        "https://docs.aws.amazon.com/IAM/latest/APIReference/API_PutRolePolicy.html",
    ),
    "aws:iam/policy:Policy": NameRule(
        "name", 128, _IAM_NAME, "letters, digits and _+=,.@-",
        "https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreatePolicy.html",
    ),
    "aws:s3/bucket:Bucket": NameRule(
        "bucket", 63, r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]",
        "lowercase letters, digits, dots and hyphens, a letter or digit first and last",
        "https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html",
        autoname_lowercase=True, reserved_prefixes=("xn--", "sthree-"),
    ),
    "aws:s3/bucketV2:BucketV2": NameRule(
        "bucket", 63, r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]",
        "lowercase letters, digits, dots and hyphens, a letter or digit first and last",
        "https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html",
        autoname_lowercase=True, reserved_prefixes=("xn--", "sthree-"),
    ),
    "aws:sqs/queue:Queue": NameRule(
        "name", 80, r"[A-Za-z0-9_-]+(\.fifo)?", "letters, digits, hyphens and underscores",
        "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html",
    ),
    "aws:sns/topic:Topic": NameRule(
        "name", 256, r"[A-Za-z0-9_-]+(\.fifo)?", "letters, digits, hyphens and underscores",
        "https://docs.aws.amazon.com/sns/latest/api/API_CreateTopic.html",
    ),
    "aws:cloudwatch/eventRule:EventRule": NameRule(
        "name", 64, r"[A-Za-z0-9._-]+", "letters, digits, dots, hyphens and underscores",
        "https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutRule.html",
    ),
    "aws:cloudwatch/logGroup:LogGroup": NameRule(
        "name", 512, r"[A-Za-z0-9._/#-]+", "letters, digits and . _ - / #",
        "https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html",
    ),
    "aws:wafv2/webAcl:WebAcl": NameRule(
        "name", 128, r"[A-Za-z0-9_-]+", "letters, digits, hyphens and underscores",
        "https://docs.aws.amazon.com/waf/latest/APIReference/API_CreateWebACL.html",
    ),
    "aws:wafv2/ipSet:IpSet": NameRule(
        "name", 128, r"[A-Za-z0-9_-]+", "letters, digits, hyphens and underscores",
        "https://docs.aws.amazon.com/waf/latest/APIReference/API_CreateIPSet.html",
    ),
    "aws:cloudfront/originAccessControl:OriginAccessControl": NameRule(
        "name", 64, r"[ -~]+", "printable ASCII",
        "https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_CreateOriginAccessControl.html",
    ),
    "aws:globalaccelerator/accelerator:Accelerator": NameRule(
        "name", 64, r"[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?",
        "letters, digits, periods and hyphens, no period or hyphen first or last",
        "https://docs.aws.amazon.com/global-accelerator/latest/api/API_CreateAccelerator.html",
    ),
    "aws:ec2/securityGroup:SecurityGroup": NameRule(
        "name", 255, r"[A-Za-z0-9 ._:/()#,@\[\]+=&;{}!$*-]+",
        "letters, digits, spaces and ._-:/()#,@[]+=&;{}!$*",
        "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateSecurityGroup.html",
        reserved_prefixes=("sg-",), prefix_property="namePrefix", prefix_limit=255 - 26,
    ),
    "aws:ec2/managedPrefixList:ManagedPrefixList": NameRule(
        "name", 255, r"[ -~]+", "printable ASCII",
        "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateManagedPrefixList.html",
        reserved_prefixes=("com.amazonaws",),
    ),
}  # fmt: skip


def name_problems(resource: Resource) -> list[tuple[str, str]]:
    """(property path, message) for a physical name AWS would refuse."""
    rule = NAME_RULES.get(resource.type)
    if rule is None:
        return []
    given = resource.inputs.get(rule.property)
    if rule.prefix_property and resource.inputs.get(rule.prefix_property) and given is None:
        prefix = str(resource.inputs[rule.prefix_property])
        if len(prefix) > rule.prefix_limit:
            return [
                (
                    rule.prefix_property,
                    f"{prefix!r} is {len(prefix)} characters; the longest prefix this "
                    f"resource takes is {rule.prefix_limit} ({rule.doc})",
                )
            ]
        return []
    if given is not None:
        name, how = str(given), f"{str(given)!r}"
    else:
        # The random part is hex: "0" stands for any of its characters in the checks below.
        name = f"{resource.name}-{'0' * (AUTONAME_SUFFIX - 1)}"
        if rule.autoname_lowercase:
            name = name.lower()
        how = f"autonamed {resource.name + '-'!r} + 7 random characters"
    problems = []
    if len(name) > rule.limit:
        problems.append(f"{how} is {len(name)} characters; AWS allows {rule.limit} ({rule.doc})")
    elif not re.fullmatch(rule.pattern, name):
        problems.append(f"{how}: AWS allows {rule.allowed} here ({rule.doc})")
    for reserved in rule.reserved_prefixes:
        if name.startswith(reserved):
            problems.append(f"{how} starts with {reserved!r}, which AWS reserves ({rule.doc})")
    return [(rule.property, p) for p in problems]


# --------------------------------------------------------------------------------------------
# Inputs against the schema
# --------------------------------------------------------------------------------------------


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"a boolean ({value!r})"
    if isinstance(value, int | float):
        return f"a number ({value!r})"
    if isinstance(value, str):
        text = value if len(value) <= 40 else value[:39] + "…"
        return f"a string ({text!r})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return f"a {type(value).__name__}"


def _expected(shape: Shape) -> str:
    if isinstance(shape, Scalar):
        return "an integer" if shape.kind == "integer" else f"a {shape.kind}"
    if isinstance(shape, EnumShape):
        return f"a {shape.name} value"
    if isinstance(shape, Array):
        return "a list"
    if isinstance(shape, MapShape):
        return "a map"
    if isinstance(shape, ObjectShape):
        return f"an object ({shape.cls.__name__})"
    if isinstance(shape, OneOf):
        return " or ".join(_expected(s) for s in shape.options)
    return f"an {shape.kind}" if shape.kind[0] in "aeiou" else f"a {shape.kind}"


def _accepts_kind(shape: Shape, value: Any) -> bool:
    """Whether ``value`` is of the kind ``shape`` takes, before looking inside it."""
    if isinstance(shape, Scalar):
        if shape.kind == "string":
            return isinstance(value, str)
        if shape.kind == "boolean":
            return isinstance(value, bool)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        # The mock monitor hands every number back as a float: 256.0 is the integer 256.
        return shape.kind == "number" or float(value).is_integer()
    if isinstance(shape, EnumShape):
        return isinstance(value, str)
    if isinstance(shape, Array):
        return isinstance(value, list)
    if isinstance(shape, MapShape | ObjectShape):
        return isinstance(value, dict)
    if isinstance(shape, OneOf):
        return any(_accepts_kind(s, value) for s in shape.options)
    if shape.kind == "asset":
        return isinstance(value, pulumi.Asset)
    if shape.kind == "archive":
        return isinstance(value, pulumi.Archive)
    return True


Problems = list[tuple[str, str]]  # (property path, message)


def check_value(value: Any, shape: Shape, path: str) -> Problems:
    """Everything wrong with one serialized value, given the Shape the SDK declares for it."""
    if value is None or shape == ANY:
        return []
    if not _accepts_kind(shape, value):
        return [(path, f"expected {_expected(shape)}, got {_describe(value)}")]
    if isinstance(shape, OneOf):
        # Union[str, PolicyDocumentArgs] and the like: judge by the member of the value's kind.
        candidates = [s for s in shape.options if _accepts_kind(s, value)]
        return min((check_value(value, s, path) for s in candidates), key=len)
    if isinstance(shape, EnumShape) and value not in shape.values:
        close = difflib.get_close_matches(value, shape.values, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return [
            (path, f"{value!r} is not one of the {shape.name} values pulumi-aws declares{hint}")
        ]
    if isinstance(shape, Array):
        return [
            problem
            for index, item in enumerate(value)
            for problem in check_value(item, shape.item, f"{path}[{index}]")
        ]
    if isinstance(shape, MapShape):
        return [
            problem
            for key, item in value.items()
            for problem in check_value(item, shape.value, f'{path}["{key}"]')
        ]
    if isinstance(shape, ObjectShape):
        return check_object(value, object_schema(shape.cls), path)
    return []


def _suggestion(key: str, schema: ObjectSchema) -> str | None:
    """The wire name a wrong key most likely meant (the snake_case form counts as close)."""
    by_lower = {wire.lower(): wire for wire in schema.properties}
    if key.lower() in by_lower:
        return by_lower[key.lower()]
    candidates = [*schema.properties, *schema.python_names]
    close = difflib.get_close_matches(key, candidates, n=1, cutoff=0.6)
    if not close:
        return None
    return schema.python_names.get(close[0], close[0])


def check_object(value: Mapping[str, Any], schema: ObjectSchema, path: str) -> Problems:
    """Unknown keys, wrong values and missing required keys of one object (or a resource)."""
    problems: Problems = []
    meant: set[str] = set()
    for key, item in value.items():
        if key.startswith("__"):
            continue  # the engine's own keys (like __defaults), never a provider input
        shape = schema.properties.get(key)
        if shape is not None:
            problems.extend(check_value(item, shape, _join(path, key)))
            continue
        suggestion = _suggestion(key, schema)
        hint = ""
        if suggestion is not None:
            meant.add(suggestion)
            missing = suggestion in schema.required and value.get(suggestion) is None
            hint = f" (did you mean {suggestion!r}{', which is required' if missing else ''}?)"
        problems.append(
            (_join(path, key), f"not an input of {schema.name}{hint}; the provider refuses it")
        )
    for key in sorted(schema.required):
        # A misspelling of a required key is one mistake: reported once, above.
        if value.get(key) is None and key not in meant:
            problems.append((_join(path, key), f"missing; {schema.name} requires it"))
    return problems


def check_resource(resource: Resource) -> list[Finding]:
    """Every finding for one registered resource (components have no provider to refuse)."""
    if not resource.custom:
        return []
    schema_class = args_class(resource.type)
    if schema_class is None:
        problems: Problems = [("", "no installed Pulumi SDK declares this resource type")]
    else:
        problems = check_object(resource.inputs, object_schema(schema_class), "")
    problems.extend(name_problems(resource))
    return [Finding(resource.type, resource.name, path, message) for path, message in problems]


def check(synth: Synth) -> list[Finding]:
    """Every finding for every resource a synthesis registered, in registration order."""
    return [finding for resource in synth.resources for finding in check_resource(resource)]
