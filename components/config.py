"""The stack configuration contract: the only module that knows config key names and defaults.

Every key of DESIGN.md's contract is a typed field here, with its default in code (Pulumi.yaml
defaults are not applied under mocks, and a program whose behaviour depends on them cannot be
tested). ``load_config()`` turns raw stack config into frozen objects, or stops the program with
one ``pulumi.RunError`` per bad value, naming its key path, *before* any resource is registered.
Components receive these objects and never read ``pulumi.Config`` themselves.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, Protocol, TypeVar, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

PROJECT = "lambda-exposure"
HANDLERS_DIR = Path(__file__).resolve().parent.parent / "handlers"

# CloudWatch Logs accepts only these retention periods; anything else fails at deploy time.
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
)  # fmt: skip

# Service identifiers seen in ip-ranges.json (2026-07). AWS adds new ones without notice, so an
# identifier outside this list is accepted with a warning rather than refused.
KNOWN_IP_RANGE_SERVICES = frozenset(
    {
        "AMAZON", "AMAZON_APPFLOW", "AMAZON_CONNECT", "API_GATEWAY", "AURORA_DSQL",
        "CHIME_MEETINGS", "CHIME_VOICECONNECTOR", "CLOUD9", "CLOUDFRONT",
        "CLOUDFRONT_ORIGIN_FACING", "CODEBUILD", "DYNAMODB", "EBS", "EC2", "EC2_INSTANCE_CONNECT",
        "EFS", "GLOBALACCELERATOR", "IVS_LOW_LATENCY", "IVS_REALTIME", "KINESIS_VIDEO_STREAMS",
        "MEDIA_PACKAGE_V2", "ROUTE53", "ROUTE53_HEALTHCHECKS", "ROUTE53_HEALTHCHECKS_PUBLISHING",
        "ROUTE53_RESOLVER", "S3", "WORKSPACES_GATEWAYS",
    }
)  # fmt: skip


def _fullmatch(pattern: str, flags: int = 0) -> Callable[[str], re.Match[str] | None]:
    r"""The one way this module checks text against a pattern: all of it, with ASCII classes.

    ``re.match(r"...$")`` accepts a trailing newline ("eu-west-1\n"); ``\d``/``\w``/``\s`` match
    any Unicode digit, letter or space (a full-width "eu-west-\uff11"), in Python and in
    pydantic's ``Field(pattern=...)`` (its Rust engine is Unicode-aware too). Such values would
    pass and reach resource names, policies and schedules. So: ``fullmatch``, ``re.ASCII``,
    explicit classes, and no ``Field(pattern=...)`` (``_matching`` instead).
    """
    return re.compile(pattern, re.ASCII | flags).fullmatch


_REGION_RE = _fullmatch(r"[a-z]{2}(-[a-z]+)+-[0-9]")
_FUNCTION_ARN_RE = _fullmatch(
    r"arn:aws(-[a-z]+)*:lambda:[a-z]{2}(-[a-z]+)+-[0-9]:[0-9]{12}:function:[A-Za-z0-9_-]{1,64}"
)
_ACM_ARN_RE = _fullmatch(
    r"arn:aws(-[a-z]+)*:acm:[a-z]{2}(-[a-z]+)+-[0-9]:[0-9]{12}:certificate/[0-9a-f-]{36}"
)
# IAM user/role names and paths: letters, digits and _+=,.@- (and / between path segments).
_IAM_PRINCIPAL_RE = _fullmatch(
    r"arn:aws(-[a-z]+)*:(iam::[0-9]{12}:(root|(user|role)/[A-Za-z0-9_+=,.@/-]+)"
    r"|sts::[0-9]{12}:assumed-role/[A-Za-z0-9_+=,.@/-]+)"
)
_ACCOUNT_RE = _fullmatch(r"[0-9]{12}")
_PATH_RE = _fullmatch(r"/([A-Za-z0-9._~-]+(/[A-Za-z0-9._~-]+)*)?")
_ROUTE_PATH_RE = _fullmatch(r"/([A-Za-z0-9._~*-]+(/[A-Za-z0-9._~*-]+)*)?")
_FUNCTION_NAME_RE = _fullmatch(r"[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?")
_MODULE_NAME_RE = _fullmatch(r"[a-z_][a-z0-9_]*")
_VPC_ID_RE = _fullmatch(r"vpc-[0-9a-f]{8,17}")
_SUBNET_ID_RE = _fullmatch(r"subnet-[0-9a-f]{8,17}")
# ALBs take predefined policies only (no custom ones), all named ELBSecurityPolicy-...:
# https://docs.aws.amazon.com/elasticloadbalancing/latest/application/describe-ssl-policies.html
_SSL_POLICY_RE = _fullmatch(r"ELBSecurityPolicy-[A-Za-z0-9]+(-[A-Za-z0-9]+)*")
_STAGE_NAME_RE = _fullmatch(r"[A-Za-z0-9_]{1,128}")
# What ipaddress needs to read a CIDR; anything else (a zone id "%eth0", spaces, control or
# non-ASCII characters) is refused before ipaddress gets to be lenient about it.
_CIDR_TEXT_RE = _fullmatch(r"[0-9A-Fa-f.:]+(/[0-9.]+)?")
_DECIMAL_RE = _fullmatch(r"-?[0-9]+")
_FLOAT_RE = _fullmatch(r"-?[0-9]+(\.[0-9]+)?")


def _matching(rule: Callable[[str], object], what: str) -> AfterValidator:
    """A string constraint for ``Annotated[str, ...]``: ``rule`` must match the whole value."""

    def check(value: str) -> str:
        if not rule(value):
            raise ValueError(f"{value!r} is not {what}")
        return value

    return AfterValidator(check)


# The longest function path every entry can route: the ALB path pattern "<path>/*" is at most 128.
MAX_PATH_LENGTH = 126


class ConfigError(ValueError):
    """A config value the program cannot use; carries the key path for the message."""


# The entries a function can be exposed through (functions[].expose), in contract order.
ENTRIES = ("staticIp", "ipRestrictedApi", "edge", "privateEndpoint")


# --------------------------------------------------------------------------------------------
# Reusable field types. Each validator raises ValueError with a message that reads well after
# the key path: "staticIp.allowedCidrs[1]: '10.0.0.300/8' is not a CIDR".
# --------------------------------------------------------------------------------------------


def _cidr(value: str) -> str:
    if not _CIDR_TEXT_RE(value):
        raise ValueError(f"{value!r} is not a CIDR")
    try:
        network = ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise ValueError(f"{value!r} is not a CIDR") from None
    if "/" not in value:
        raise ValueError(f"{value!r} is not a CIDR (write {network} with its prefix length)")
    try:
        ipaddress.ip_network(value, strict=True)
    except ValueError:
        raise ValueError(
            f"{value!r} has host bits set (did you mean {network.with_prefixlen}?)"
        ) from None
    mapped = network.network_address.ipv4_mapped if network.version == 6 else None
    if mapped is not None and network.prefixlen >= 96:
        # An IPv4 client is matched by its IPv4 address, never by this IPv6 spelling of it.
        v4 = ipaddress.ip_network(f"{mapped}/{network.prefixlen - 96}")
        raise ValueError(f"{value!r} is an IPv4 range written as IPv6 (write {v4})")
    return network.with_prefixlen


def _ipv4_cidr(value: str) -> str:
    normalized = _cidr(value)
    if ipaddress.ip_network(normalized).version != 4:
        raise ValueError(f"{value!r} is an IPv6 CIDR; only IPv4 is allowed here")
    return normalized


Cidr = Annotated[str, AfterValidator(_cidr)]
Ipv4Cidr = Annotated[str, AfterValidator(_ipv4_cidr)]


def _region(value: str) -> str:
    if not _REGION_RE(value):
        raise ValueError(f"{value!r} is not an AWS region name (like eu-west-1)")
    return value


Region = Annotated[str, AfterValidator(_region)]


def _unique(values: list[Any], what: str) -> list[Any]:
    seen: set[Any] = set()
    for index, value in enumerate(values):
        if value in seen:
            raise ValueError(f"duplicate {what} {value!r} at [{index}]")
        seen.add(value)
    return values


def _is_number_type(annotation: Any) -> bool:
    return annotation in (int, float)


def _plain_number(value: Any, kind: Any) -> None:
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    if isinstance(value, str) and not (_DECIMAL_RE if kind is int else _FLOAT_RE)(value):
        whole = "an integer" if kind is int else "a number"
        raise ValueError(f"{value!r} is not {whole} (plain digits 0-9)")


class _Model(BaseModel):
    """Base: camelCase keys, unknown keys refused (a typo must not be silently ignored)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_as_number(cls, value: Any, info: ValidationInfo) -> Any:
        # pydantic's lax mode reads true/false as 1/0 for numbers: `ports: [true]` would open
        # port 1 and `azCount: true` build one zone. A boolean is never a number here. It also
        # reads " 443\n", "4_43", "+443" and "443.0" as 443: a number given as a string (as
        # `pulumi config set` may store it) is plain ASCII digits.
        annotation = cls.model_fields[info.field_name].annotation
        if _is_number_type(annotation):
            _plain_number(value, annotation)
        if (
            getattr(annotation, "__origin__", None) is list
            and _is_number_type(annotation.__args__[0])
            and isinstance(value, list)
        ):
            for index, item in enumerate(value):
                try:
                    _plain_number(item, get_args(annotation)[0])
                except ValueError as exc:
                    raise ConfigError(f"[{index}]: {exc}") from None
        return value


# --------------------------------------------------------------------------------------------
# functions
# --------------------------------------------------------------------------------------------


class FunctionConfig(_Model):
    """One exposed function: a bundled handler module, or an existing function by ARN."""

    name: Annotated[
        str,
        _matching(
            _FUNCTION_NAME_RE,
            "a function name (1 to 40 of a-z 0-9 -, starting and ending with a letter or digit)",
        ),
    ]
    handler: str | None = None
    arn: str | None = None
    path: str = "/"
    memory_size: int = Field(default=256, ge=128, le=10240, alias="memorySize")
    timeout: int = Field(default=10, ge=1, le=900)
    log_retention_days: int = Field(default=14, alias="logRetentionDays")
    # The entries that serve this function; None = every enabled one (components/exposure.py).
    expose: list[str] | None = None
    # Entries of this function that may admit sources outside a restriction another entry puts
    # on it: the explicit "the wider exposure is intended" that the consistency check asks for.
    wider_exposure: list[str] = Field(default_factory=list, alias="widerExposure")

    @field_validator("expose", "wider_exposure")
    @classmethod
    def _entry_names(cls, value: list[str] | None, info: ValidationInfo) -> list[str] | None:
        if value is None:
            return value
        for index, entry in enumerate(value):
            if entry not in ENTRIES:
                suggestion = difflib.get_close_matches(str(entry), ENTRIES, n=1)
                hint = f" (did you mean {suggestion[0]!r}?)" if suggestion else ""
                raise ConfigError(
                    f"[{index}]: {entry!r} is not an entry{hint}; entries: {', '.join(ENTRIES)}"
                )
        if info.field_name == "expose" and not value:
            raise ValueError(
                "an empty list serves the function through no entry; name at least one of "
                f"{', '.join(ENTRIES)}, or remove expose (default: every enabled entry)"
            )
        return _unique(value, "entry")

    @field_validator("handler")
    @classmethod
    def _handler_module_exists(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if not _MODULE_NAME_RE(value):
            raise ValueError(f"{value!r} is not a Python module name")
        if not (HANDLERS_DIR / f"{value}.py").is_file():
            bundled = sorted(p.stem for p in HANDLERS_DIR.glob("*.py") if p.stem != "__init__")
            raise ValueError(
                f"no bundled handler module handlers/{value}.py (bundled: {', '.join(bundled)})"
            )
        return value

    @field_validator("arn")
    @classmethod
    def _is_function_arn(cls, value: str | None) -> str | None:
        if value is not None and not _FUNCTION_ARN_RE(value):
            raise ValueError(
                f"{value!r} is not an unqualified Lambda function ARN "
                "(arn:aws:lambda:<region>:<account>:function:<name>)"
            )
        return value

    @field_validator("path")
    @classmethod
    def _is_path_prefix(cls, value: str) -> str:
        if not _PATH_RE(value):
            raise ValueError(
                f"{value!r} is not a path prefix (starts with '/', no trailing '/', "
                "letters, digits and . _ ~ - only)"
            )
        if len(value) > MAX_PATH_LENGTH:
            # The ALB rule for a function matches "<path>/*", and an ALB path pattern is at
            # most 128 characters (Application Load Balancer guide, "Path conditions").
            raise ValueError(
                f"{value[:20]!r}... is {len(value)} characters; a function path is at most "
                f"{MAX_PATH_LENGTH} (an ALB path pattern, <path>/*, is at most 128)"
            )
        return value

    @field_validator("log_retention_days")
    @classmethod
    def _is_retention(cls, value: int) -> int:
        if value not in LOG_RETENTION_DAYS:
            raise ValueError(
                f"{value} is not a CloudWatch Logs retention period {LOG_RETENTION_DAYS}"
            )
        return value

    @model_validator(mode="after")
    def _handler_xor_arn(self) -> FunctionConfig:
        if self.handler and self.arn:
            raise ValueError("give either 'handler' (bundled) or 'arn' (existing), not both")
        if not self.handler and not self.arn:
            raise ValueError("give 'handler' (a module in handlers/) or 'arn' (existing function)")
        return self

    @property
    def bundled(self) -> bool:
        return self.handler is not None


def _default_functions() -> list[FunctionConfig]:
    return [FunctionConfig(name="app", handler="app", path="/")]


# --------------------------------------------------------------------------------------------
# network
# --------------------------------------------------------------------------------------------


_SUBNET_ID = "a subnet id (subnet-0123456789abcdef0)"


class NetworkConfig(_Model):
    """A new VPC (cidr, azCount) or an existing one (vpcId and its subnets), never both."""

    cidr: Ipv4Cidr = "10.20.0.0/16"
    az_count: int = Field(default=2, ge=1, le=6, alias="azCount")
    vpc_id: Annotated[str, _matching(_VPC_ID_RE, "a VPC id (vpc-0123456789abcdef0)")] | None = (
        Field(default=None, alias="vpcId")
    )
    public_subnet_ids: list[Annotated[str, _matching(_SUBNET_ID_RE, _SUBNET_ID)]] = Field(
        default_factory=list, alias="publicSubnetIds"
    )
    private_subnet_ids: list[Annotated[str, _matching(_SUBNET_ID_RE, _SUBNET_ID)]] = Field(
        default_factory=list, alias="privateSubnetIds"
    )

    @field_validator("cidr")
    @classmethod
    def _vpc_size(cls, value: str) -> str:
        prefix = ipaddress.ip_network(value).prefixlen
        if not 16 <= prefix <= 24:
            raise ValueError(f"{value!r}: a VPC CIDR must be between /16 and /24")
        return value

    @field_validator("public_subnet_ids", "private_subnet_ids")
    @classmethod
    def _no_duplicate_subnets(cls, value: list[str]) -> list[str]:
        return _unique(value, "subnet id")

    @model_validator(mode="after")
    def _new_or_existing(self) -> NetworkConfig:
        existing_only = {"publicSubnetIds", "privateSubnetIds"}
        given = {type(self).model_fields[f].alias or f for f in self.model_fields_set}
        if self.vpc_id is None and given & existing_only:
            raise ValueError("publicSubnetIds/privateSubnetIds need 'vpcId' (an existing VPC)")
        if self.vpc_id is not None and given & {"cidr", "azCount"}:
            raise ValueError("'cidr'/'azCount' describe a new VPC; remove them when 'vpcId' is set")
        return self

    @property
    def existing(self) -> bool:
        return self.vpc_id is not None


# --------------------------------------------------------------------------------------------
# patterns
# --------------------------------------------------------------------------------------------


def _acm_arn(value: str) -> str:
    if value and not _ACM_ARN_RE(value):
        raise ValueError(
            f"{value!r} is not an ACM certificate ARN "
            "(arn:aws:acm:<region>:<account>:certificate/<uuid>)"
        )
    return value


AcmArn = Annotated[str, AfterValidator(_acm_arn)]


class RegionEndpoint(_Model):
    """One region of a multi-region static IP entry."""

    region: Region
    traffic_dial_percentage: int = Field(default=100, ge=0, le=100, alias="trafficDialPercentage")
    # An ALB only takes an ACM certificate of its own region: each extra region names its own.
    certificate_arn: AcmArn = Field(default="", alias="certificateArn")


def _region_entry(value: Any) -> Any:
    """A bare region name is the short form of ``{region: <name>}``, checked here at its own key
    (``staticIp.regions[i]``): as one member of a ``str | object`` union, a bad name was reported
    once per member, and one that slipped through was refused later under another key."""
    if isinstance(value, str):
        return {"region": _region(value)}
    if not isinstance(value, Mapping | RegionEndpoint):
        raise ValueError(
            f"{value!r} is not a region name or a {{region, trafficDialPercentage, "
            "certificateArn} object"
        )
    return value


class StaticIpConfig(_Model):
    """Global Accelerator (2 anycast IPs) or NLB with one Elastic IP per AZ, then ALB → Lambda."""

    enabled: bool = False
    entry: Literal["global-accelerator", "nlb"] = "global-accelerator"
    allowed_cidrs: list[Cidr] = Field(default_factory=list, alias="allowedCidrs")
    certificate_arn: AcmArn = Field(default="", alias="certificateArn")
    ip_address_type: Literal["IPV4", "DUAL_STACK"] = Field(default="IPV4", alias="ipAddressType")
    ssl_policy: Annotated[
        str, _matching(_SSL_POLICY_RE, "an ELB security policy name (ELBSecurityPolicy-...)")
    ] = Field(default="ELBSecurityPolicy-TLS13-1-2-2021-06", alias="sslPolicy")
    protect_static_ips: bool = Field(default=True, alias="protectStaticIps")
    regions: list[Annotated[RegionEndpoint, BeforeValidator(_region_entry)]] = Field(
        default_factory=list
    )

    @field_validator("allowed_cidrs")
    @classmethod
    def _no_duplicate_cidrs(cls, value: list[str]) -> list[str]:
        return _unique(value, "CIDR")

    @field_validator("regions")
    @classmethod
    def _regions_as_objects(cls, value: list[RegionEndpoint]) -> list[RegionEndpoint]:
        _unique([e.region for e in value], "region")
        return value

    @model_validator(mode="after")
    def _families_match_entry(self) -> StaticIpConfig:
        v6_allowed = self.entry == "global-accelerator" and self.ip_address_type == "DUAL_STACK"
        if not v6_allowed:
            for index, cidr in enumerate(self.allowed_cidrs):
                if ipaddress.ip_network(cidr).version == 6:
                    raise ConfigError(
                        f"allowedCidrs[{index}]: {cidr!r} is IPv6, but this entry only carries "
                        "IPv4 (IPv6 clients need entry: global-accelerator with "
                        "ipAddressType: DUAL_STACK)"
                    )
        if self.regions and self.entry != "global-accelerator":
            raise ConfigError("regions: several regions need entry: global-accelerator")
        if self.ip_address_type == "DUAL_STACK" and self.entry != "global-accelerator":
            raise ConfigError(
                "ipAddressType: DUAL_STACK is an accelerator setting; entry nlb has IPv4 "
                "Elastic IPs only (use entry: global-accelerator, or IPV4)"
            )
        for index, endpoint in enumerate(self.regions):
            if endpoint.certificate_arn and not self.https:
                raise ConfigError(
                    f"regions[{index}].certificateArn: HTTPS is on for every region or none; "
                    "set staticIp.certificateArn (the stack region's certificate) too"
                )
        return self

    @property
    def https(self) -> bool:
        return bool(self.certificate_arn)


HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY"]


class ApiRoute(_Model):
    """A method + path with its own source lists and authorization."""

    method: HttpMethod
    path: str
    allow: list[Cidr] = Field(default_factory=list)
    deny: list[Cidr] = Field(default_factory=list)
    auth: Literal["NONE", "AWS_IAM"] = "NONE"

    @field_validator("method", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        # Only ASCII: "po\u017ft".upper() is "POST" (the long s uppercases to S).
        return value.upper() if isinstance(value, str) and value.isascii() else value

    @field_validator("path")
    @classmethod
    def _route_path(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError(f"{value!r} must start with '/'")
        if any(c in value for c in "{}+"):
            # The route becomes an IAM resource pattern on the *request* path, where a path
            # parameter template would match nothing: '*' is the only wildcard that works.
            raise ValueError(
                f"{value!r} uses a path parameter; write '*' for 'anything here' (like /users/*)"
            )
        if not _ROUTE_PATH_RE(value):
            raise ValueError(
                f"{value!r} is not a route path ('/' or /segment/..., no trailing '/', "
                "letters, digits, . _ ~ - and the wildcard *)"
            )
        return value

    @model_validator(mode="after")
    def _route_does_something(self) -> ApiRoute:
        if self.auth == "AWS_IAM":
            # An IAM route is a real API Gateway method (authorization is per method), so its
            # path must map onto resources: literal segments, optionally ending in /* ({proxy+}).
            segments = self.path.strip("/").split("/")
            if any("*" in s for s in segments[:-1]) or (
                "*" in segments[-1] and segments[-1] != "*"
            ):
                raise ConfigError(
                    f"path: {self.path!r}: an AWS_IAM route takes whole segments, with '*' "
                    "only as the last one (like /admin/*)"
                )
        elif not self.allow and not self.deny:
            raise ConfigError(
                "allow: this route has no allow, no deny and auth NONE, so it changes nothing; "
                "give it a list or auth: AWS_IAM, or remove it"
            )
        return self


def route_literal_prefix(path: str) -> str:
    """The whole leading segments of a route path without wildcards ('/admin' for /admin/*)."""
    literal: list[str] = []
    for segment in path.strip("/").split("/"):
        if not segment or "*" in segment:
            break
        literal.append(segment)
    return "/" + "/".join(literal)


class _HasPath(Protocol):
    @property
    def path(self) -> str: ...


_F = TypeVar("_F", bound=_HasPath)


def serving_function(path: str, functions: Sequence[_F]) -> _F | None:
    """The function whose path prefix serves ``path`` (the longest one wins), if any."""
    best: _F | None = None
    for fn in functions:
        serves = fn.path == "/" or path == fn.path or path.startswith(fn.path + "/")
        if serves and (best is None or len(fn.path) > len(best.path)):
            best = fn
    return best


class Throttling(_Model):
    burst_limit: int = Field(default=100, ge=0, le=10000, alias="burstLimit")
    rate_limit: float = Field(default=50.0, ge=0, le=10000, alias="rateLimit")


class IpRestrictedApiConfig(_Model):
    """API Gateway REST API whose resource policy allows / denies source CIDRs, per route."""

    enabled: bool = False
    endpoint_type: Literal["REGIONAL", "PRIVATE"] = Field(default="REGIONAL", alias="endpointType")
    allow: list[Cidr] = Field(default_factory=list)
    deny: list[Cidr] = Field(default_factory=list)
    routes: list[ApiRoute] = Field(default_factory=list)
    stage_name: Annotated[
        str, _matching(_STAGE_NAME_RE, "a stage name (1 to 128 of A-Z a-z 0-9 _)")
    ] = Field(default="api", alias="stageName")
    throttling: Throttling = Field(default_factory=Throttling)
    log_retention_days: int = Field(default=30, alias="logRetentionDays")
    # Stage access logs (who called, from which IP, what status) into a log group of this stack.
    # Off by default only because API Gateway refuses them (and the stage, so `pulumi up`) in an
    # account/region whose API Gateway CloudWatch role was never set; see cloudWatchRole.
    access_logs: bool = Field(default=False, alias="accessLogs")
    # API Gateway writes logs with ONE role per account and region (account-wide state shared by
    # every API there): only set it when asked, since it replaces whatever role is set now.
    cloud_watch_role: bool = Field(default=False, alias="cloudWatchRole")

    @field_validator("log_retention_days")
    @classmethod
    def _is_retention(cls, value: int) -> int:
        return FunctionConfig._is_retention(value)

    @field_validator("allow", "deny")
    @classmethod
    def _no_duplicate_cidrs(cls, value: list[str]) -> list[str]:
        return _unique(value, "CIDR")

    @field_validator("routes")
    @classmethod
    def _unique_routes(cls, value: list[ApiRoute]) -> list[ApiRoute]:
        _unique([(r.method, r.path) for r in value], "route (method, path)")
        return value

    @property
    def private(self) -> bool:
        return self.endpoint_type == "PRIVATE"


_CORS_METHODS = ("GET", "PUT", "HEAD", "POST", "PATCH", "DELETE", "*")
_ORIGIN_RE = _fullmatch(r"\*|https?://[A-Za-z0-9*.-]+(:(?P<port>[0-9]{1,5}))?")
# An HTTP header name is a token (RFC 9110 section 5.6.2); function URLs take up to 1,024
# characters each: https://docs.aws.amazon.com/lambda/latest/api/API_Cors.html
_HEADER_NAME_RE = _fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,1024}")


class CorsConfig(_Model):
    """CORS of the edge pattern's function URLs (Lambda answers preflights itself)."""

    allow_origins: list[str] = Field(default_factory=list, alias="allowOrigins")
    allow_methods: list[str] = Field(default_factory=lambda: ["GET"], alias="allowMethods")
    allow_headers: list[str] = Field(default_factory=list, alias="allowHeaders")
    expose_headers: list[str] = Field(default_factory=list, alias="exposeHeaders")
    allow_credentials: bool = Field(default=False, alias="allowCredentials")
    max_age: int = Field(default=300, ge=0, le=86400, alias="maxAge")

    @field_validator("allow_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        for index, origin in enumerate(value):
            match = _ORIGIN_RE(origin)
            port = int(match.group("port") or 443) if match else 0
            # Function URLs take origins of 253 characters at most (API_Cors, above).
            if not match or not 1 <= port <= 65535 or len(origin) > 253:
                raise ValueError(
                    f"[{index}]: {origin!r} is not an origin (scheme://host[:port], no path, "
                    "or '*')"
                )
        return _unique(value, "origin")

    @field_validator("allow_methods", mode="before")
    @classmethod
    def _methods(cls, value: Any) -> Any:
        if not isinstance(value, list):
            return value
        # Only ASCII is uppercased: "po\u017ft".upper() is "POST" (the long s uppercases to S).
        methods = [m.upper() if isinstance(m, str) and m.isascii() else m for m in value]
        for index, method in enumerate(methods):
            if method not in _CORS_METHODS:
                raise ValueError(
                    f"[{index}]: {method!r} is not one of {', '.join(_CORS_METHODS)} "
                    "(function URLs answer OPTIONS preflights themselves)"
                )
        return _unique(methods, "method")

    @field_validator("allow_headers", "expose_headers")
    @classmethod
    def _header_names(cls, value: list[str]) -> list[str]:
        for index, header in enumerate(value):
            if not _HEADER_NAME_RE(header):
                raise ConfigError(
                    f"[{index}]: {header!r} is not an HTTP header name (1 to 1024 letters, "
                    "digits and !#$%&'*+-.^_`|~)"
                )
        return _unique(value, "header")

    @model_validator(mode="after")
    def _credentials_need_origins(self) -> CorsConfig:
        if self.allow_credentials and "*" in self.allow_origins:
            raise ConfigError(
                "allowOrigins: browsers refuse credentials with the '*' origin; list the origins"
            )
        return self


class EdgeConfig(_Model):
    """CloudFront in front of AWS_IAM function URLs, signed by OAC or a Lambda@Edge signer."""

    enabled: bool = False
    signing: Literal["oac", "lambda-edge"] = "oac"
    static_site: bool = Field(default=False, alias="staticSite")
    price_class: Literal["PriceClass_100", "PriceClass_200", "PriceClass_All"] = Field(
        default="PriceClass_100", alias="priceClass"
    )
    cors: CorsConfig | None = None
    allowed_cidrs: list[Cidr] = Field(default_factory=list, alias="allowedCidrs")
    rate_limit: int = Field(default=2000, ge=10, le=2_000_000_000, alias="rateLimit")
    retain_edge_function: bool = Field(default=True, alias="retainEdgeFunction")

    @field_validator("allowed_cidrs")
    @classmethod
    def _no_duplicate_cidrs(cls, value: list[str]) -> list[str]:
        for index, cidr in enumerate(value):
            if cidr.endswith("/0"):
                # "AWS WAF supports all IPv4 and IPv6 CIDR ranges except for /0" (IP set docs).
                raise ConfigError(
                    f"[{index}]: {cidr!r}: a WAF IP set cannot hold /0; leave edge.allowedCidrs "
                    "empty to admit every source"
                )
        return _unique(value, "CIDR")


def is_account_id(value: str) -> bool:
    """A 12-digit AWS account id (ASCII digits: ``"\uff11".isdigit()`` is true, too)."""
    return _ACCOUNT_RE(value) is not None


def _principal(value: str) -> str:
    if not (is_account_id(value) or _IAM_PRINCIPAL_RE(value)):
        raise ValueError(
            f"{value!r} is not an IAM principal ARN (arn:aws:iam::<account>:root|user/..|role/..) "
            "or a 12-digit account id"
        )
    return value


# Read-only Lambda actions that do not act on a function (account, layer, event source mapping
# or code signing config resources): the endpoint policy grants actions on the exposed functions'
# ARNs only, so these would silently never match.
_NOT_FUNCTION_ACTIONS = frozenset(
    {
        "lambda:GetAccountSettings", "lambda:ListFunctions", "lambda:ListEventSourceMappings",
        "lambda:GetEventSourceMapping", "lambda:ListLayers", "lambda:ListLayerVersions",
        "lambda:GetLayerVersion", "lambda:GetLayerVersionPolicy", "lambda:ListCodeSigningConfigs",
        "lambda:GetCodeSigningConfig", "lambda:ListFunctionsByCodeSigningConfig",
    }
)  # fmt: skip


_READ_ACTION_RE = _fullmatch(r"lambda:(Get|List)[A-Za-z]+")


def _read_only_lambda_action(value: str) -> str:
    if not _READ_ACTION_RE(value):
        raise ValueError(f"{value!r} is not a read-only Lambda action (lambda:Get*/lambda:List*)")
    if value in _NOT_FUNCTION_ACTIONS:
        raise ValueError(
            f"{value!r} does not act on a function; the endpoint policy only grants actions on "
            "the exposed functions (like lambda:GetFunction, lambda:GetFunctionConfiguration)"
        )
    return value


class PrivateEndpointConfig(_Model):
    """Interface VPC endpoint for the Lambda API, with a policy naming who may invoke what."""

    enabled: bool = False
    allowed_principals: list[Annotated[str, AfterValidator(_principal)]] = Field(
        default_factory=list, alias="allowedPrincipals"
    )
    private_dns: bool = Field(default=True, alias="privateDns")
    # Peered VPCs / on-premises ranges admitted to the endpoint on 443, besides the VPC's CIDR.
    # IPv4 only: the endpoint is created IPv4-only, like the VPC.
    allowed_cidrs: list[Ipv4Cidr] = Field(default_factory=list, alias="allowedCidrs")
    allowed_actions: list[Annotated[str, AfterValidator(_read_only_lambda_action)]] = Field(
        default_factory=list, alias="allowedActions"
    )

    @field_validator("allowed_principals")
    @classmethod
    def _no_duplicate_principals(cls, value: list[str]) -> list[str]:
        return _unique(value, "principal")

    @field_validator("allowed_cidrs")
    @classmethod
    def _no_duplicate_cidrs(cls, value: list[str]) -> list[str]:
        return _unique(value, "CIDR")

    @field_validator("allowed_actions")
    @classmethod
    def _no_duplicate_actions(cls, value: list[str]) -> list[str]:
        return _unique(value, "action")


# Host, optional port, then a path/query of printable ASCII without spaces (no control or
# non-ASCII characters: the URL is passed to the functions as an environment variable).
_HTTPS_URL_RE = _fullmatch(
    r"https://[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:(?P<port>[0-9]{1,5}))?([/?][!-~]*)?"
)


def private_dns_effect(region: str) -> str:
    """What privateEndpoint.privateDns true/false means, for the messages that ask to choose."""
    # Private DNS is a private hosted zone for the service's default name, associated with the
    # whole VPC (CreateVpcEndpoint, PrivateDnsEnabled); a request through an endpoint needs its
    # policy's Allow as well as the caller's own:
    # https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateVpcEndpoint.html
    # https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-access.html
    return (
        f"true: lambda.{region}.amazonaws.com resolves to the endpoint for the whole VPC, so "
        "every Lambda API call from it goes through the endpoint, whose policy allows only "
        "invoking the exposed functions (and privateEndpoint.allowedActions on them): any other "
        "Lambda call from that VPC (deployments from CI, functions there that call Lambda, "
        "lambda:GetFunction) is denied. false: that name keeps resolving to Lambda's public "
        "endpoint, and only "
        "clients that call the endpoint's own DNS name (output lambdaEndpointDns, as "
        "endpoint_url) use it"
    )


class StaticEgressConfig(_Model):
    """Bundled functions in private subnets behind NAT gateway(s) with Elastic IPs."""

    enabled: bool = False
    nat_per_az: bool = Field(default=False, alias="natPerAz")
    echo_url: str = Field(default="", alias="echoUrl")
    protect_egress_ips: bool = Field(default=True, alias="protectEgressIps")

    @field_validator("echo_url")
    @classmethod
    def _https_url(cls, value: str) -> str:
        match = _HTTPS_URL_RE(value)
        port = int(match.group("port") or 443) if match else 0
        if value and (not match or not 1 <= port <= 65535):
            raise ValueError(f"{value!r} is not an https:// URL")
        return value


def _ip_range_region(value: str) -> str:
    return value if value == "GLOBAL" else _region(value)


_SERVICE_RE = _fullmatch(r"[A-Z0-9_]+")


def _ip_range_service(value: str) -> str:
    if not _SERVICE_RE(value):
        raise ValueError(f"{value!r} is not an ip-ranges.json service identifier (like CLOUDFRONT)")
    return value


_RATE_RE = _fullmatch(r"rate\(([0-9]+) (minute|hour|day)(s?)\)")
# Six fields of what EventBridge cron fields are made of: digits, names (JAN, MON), L, W and
# , - * ? / #: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html
_CRON_RE = _fullmatch(r"cron\(([A-Za-z0-9,*?/#-]+( [A-Za-z0-9,*?/#-]+){5})\)")


def _schedule_expression(value: str) -> str:
    """An EventBridge schedule that PutRule accepts (checked here, not at deploy time)."""
    rate, cron = _RATE_RE(value), _CRON_RE(value)
    if rate:
        count, unit, plural = int(rate.group(1)), rate.group(2), rate.group(3)
        if count < 1:
            raise ValueError(f"{value!r}: the rate must be a positive number")
        if (count == 1) == bool(plural):
            raise ValueError(
                f"{value!r}: write rate(1 {unit}) or rate({max(count, 2)} {unit}s) "
                "(singular unit for 1, plural otherwise)"
            )
        return value
    if cron:
        fields = cron.group(1).split(" ")
        if (fields[2] == "?") == (fields[4] == "?"):
            raise ValueError(
                f"{value!r}: one of day-of-month (3rd field) and day-of-week (5th) must be '?'"
            )
        return value
    raise ValueError(
        f"{value!r} is not rate(<n> minute(s)|hour(s)|day(s)) or cron(<6 fields>), "
        "like rate(1 day) or cron(0 6 * * ? *)"
    )


class IpRangeSyncConfig(_Model):
    """Keep a prefix list / security groups / WAF IP set equal to AWS's published ranges."""

    enabled: bool = False
    services: list[Annotated[str, AfterValidator(_ip_range_service)]] = Field(
        default_factory=lambda: ["CLOUDFRONT"], min_length=1
    )
    regions: list[Annotated[str, AfterValidator(_ip_range_region)]] = Field(
        # Empty = every region. For CLOUDFRONT that is what seed 003 asks: its global edge list
        # (region GLOBAL) *and* its regional edge caches (entries that carry a real region).
        default_factory=list
    )
    ipv6: bool = True
    targets: list[Literal["prefixList", "securityGroup", "wafIpSet"]] = Field(
        default_factory=lambda: ["prefixList"], min_length=1
    )
    ports: list[int] = Field(default_factory=lambda: [443], min_length=1)
    security_group_count: int = Field(default=4, ge=1, le=50, alias="securityGroupCount")
    rules_per_group: int = Field(default=60, ge=1, le=1000, alias="rulesPerGroup")
    waf_scope: Literal["REGIONAL", "CLOUDFRONT"] = Field(default="REGIONAL", alias="wafScope")
    schedule: str = "rate(1 day)"
    # Invoke the function once during `pulumi up` (and again when the selection or a target
    # changes), so the targets are filled before anyone attaches them; a failed sync fails the
    # deployment instead of leaving empty allow-lists behind.
    initial_sync: bool = Field(default=True, alias="initialSync")
    log_retention_days: int = Field(default=30, alias="logRetentionDays")

    @field_validator("services", "regions", "targets")
    @classmethod
    def _no_duplicates(cls, value: list[str]) -> list[str]:
        return _unique(value, "value")

    @field_validator("schedule")
    @classmethod
    def _schedule_expression(cls, value: str) -> str:
        return _schedule_expression(value)

    @field_validator("ports")
    @classmethod
    def _valid_ports(cls, value: list[int]) -> list[int]:
        for index, port in enumerate(value):
            if not 1 <= port <= 65535:
                raise ConfigError(f"[{index}]: {port} is not a TCP port")
        return _unique(value, "port")

    @field_validator("log_retention_days")
    @classmethod
    def _is_retention(cls, value: int) -> int:
        return FunctionConfig._is_retention(value)

    @model_validator(mode="after")
    def _pool_fits_one_prefix(self) -> IpRangeSyncConfig:
        # The handler places every port of a CIDR in the same group; a group that cannot hold
        # one CIDR on all ports can hold nothing (the handler refuses to start).
        if "securityGroup" in self.targets and self.rules_per_group < len(self.ports):
            raise ConfigError(
                f"rulesPerGroup: {self.rules_per_group} rules cannot hold one CIDR on "
                f"{len(self.ports)} ports; raise rulesPerGroup or use fewer ports"
            )
        return self

    def coverage_notes(self) -> list[str]:
        """Valid selections that probably miss addresses (warned at deploy, not refused)."""
        notes = []
        if "CLOUDFRONT" in self.services and self.regions == ["GLOBAL"]:
            # Seed 003: CLOUDFRONT is both CLOUDFRONT_GLOBAL_IP_LIST (region GLOBAL) and
            # CLOUDFRONT_REGIONAL_EDGE_IP_LIST (entries carrying a real region); allow both.
            notes.append(
                f"{PROJECT}:ipRangeSync.regions: [GLOBAL] selects CloudFront's global edge "
                "ranges only, not its regional edge caches (CLOUDFRONT_REGIONAL_EDGE_IP_LIST); "
                "set regions: [] to allow both"
            )
        return notes


# --------------------------------------------------------------------------------------------
# quotas
# --------------------------------------------------------------------------------------------


class QuotasConfig(_Model):
    """Account quotas the config may use, where AWS lets them be raised in Service Quotas.

    The defaults are AWS's defaults (``components/quotas.py`` cites each one). Declare a higher
    value only once AWS has granted it: the program then accepts a config that uses that much.
    """

    # Inbound rules per security group and per address family. AWS grants at most 1,000 divided
    # by the quota of security groups per network interface (5 by default: 200).
    security_group_rules: int = Field(default=60, ge=60, le=1000, alias="securityGroupRules")
    api_policy_characters: int = Field(default=8192, ge=8192, alias="apiPolicyCharacters")
    cloudfront_cache_behaviors: int = Field(default=25, ge=25, alias="cloudfrontCacheBehaviors")
    alb_listener_rules: int = Field(default=100, ge=100, alias="albListenerRules")
    api_resources: int = Field(default=300, ge=300, alias="apiResources")


# --------------------------------------------------------------------------------------------
# the whole stack
# --------------------------------------------------------------------------------------------


class StackConfig(_Model):
    """Everything the program needs, validated. Built only by ``parse_config``."""

    region: Region
    functions: list[FunctionConfig] = Field(default_factory=_default_functions, min_length=1)
    network: NetworkConfig = Field(default_factory=NetworkConfig)
    static_ip: StaticIpConfig = Field(default_factory=StaticIpConfig, alias="staticIp")
    ip_restricted_api: IpRestrictedApiConfig = Field(
        default_factory=IpRestrictedApiConfig, alias="ipRestrictedApi"
    )
    edge: EdgeConfig = Field(default_factory=EdgeConfig)
    private_endpoint: PrivateEndpointConfig = Field(
        default_factory=PrivateEndpointConfig, alias="privateEndpoint"
    )
    static_egress: StaticEgressConfig = Field(
        default_factory=StaticEgressConfig, alias="staticEgress"
    )
    ip_range_sync: IpRangeSyncConfig = Field(default_factory=IpRangeSyncConfig, alias="ipRangeSync")

    @field_validator("functions")
    @classmethod
    def _unique_names_and_paths(cls, value: list[FunctionConfig]) -> list[FunctionConfig]:
        for index, fn in enumerate(value):
            if fn.name in {f.name for f in value[:index]}:
                raise ConfigError(f"[{index}].name: duplicate function name {fn.name!r}")
            if fn.path in {f.path for f in value[:index]}:
                raise ConfigError(
                    f"[{index}].path: {fn.path!r} is already served by another function"
                )
        return value

    @model_validator(mode="after")
    def _expose_names_enabled_entries(self) -> StackConfig:
        """functions[].expose / widerExposure name entries this stack enables and can serve."""
        for index, fn in enumerate(self.functions):
            key = f"functions[{index}]"
            for j, entry in enumerate(fn.expose or ()):
                if not self.entry_enabled(entry):
                    raise ConfigError(
                        f"{key}.expose[{j}]: {entry} is not enabled in this stack "
                        f"({entry}.enabled: false); enable it, or remove it from expose"
                    )
                if entry == "privateEndpoint" and fn.arn and fn.arn.split(":")[3] != self.region:
                    raise ConfigError(
                        f"{key}.expose[{j}]: privateEndpoint serves the Lambda API of "
                        f"{self.region}; function {fn.name!r} is in {fn.arn.split(':')[3]}"
                    )
            entries = self.entries_of(fn)
            for j, entry in enumerate(fn.wider_exposure):
                if entry not in entries:
                    raise ConfigError(
                        f"{key}.widerExposure[{j}]: {entry} does not serve function "
                        f"{fn.name!r} (see {key}.expose), so it cannot widen its exposure"
                    )
                if entry == "privateEndpoint":
                    raise ConfigError(
                        f"{key}.widerExposure[{j}]: privateEndpoint admits IAM principals only, "
                        "never anonymous callers, so it cannot widen a source restriction"
                    )
        for entry in self.enabled_entries:
            if not self.functions_exposed_by(entry):
                raise ConfigError(
                    f"{entry}: enabled, but no function is exposed through it (every "
                    f"functions[].expose leaves it out); add {entry} to a function's expose, "
                    f"or set {entry}.enabled: false"
                )
        return self

    @model_validator(mode="after")
    def _cross_checks(self) -> StackConfig:
        net = self.network
        needs_private = [
            key
            for key, on in (
                ("staticIp", self.static_ip.enabled),
                ("privateEndpoint", self.private_endpoint.enabled),
                ("staticEgress", self.static_egress.enabled),
                (
                    "ipRestrictedApi",
                    self.ip_restricted_api.enabled
                    and self.ip_restricted_api.endpoint_type == "PRIVATE",
                ),
            )
            if on
        ]
        if net.existing and needs_private and not net.private_subnet_ids:
            raise ConfigError(
                f"network.privateSubnetIds: {', '.join(needs_private)} need private subnets "
                "of the existing VPC"
            )
        needs_public = [
            key
            for key, on in (
                ("staticIp (entry: nlb)", self.static_ip.enabled and self.static_ip.entry == "nlb"),
                ("staticEgress", self.static_egress.enabled),
            )
            if on
        ]
        if net.existing and needs_public and not net.public_subnet_ids:
            raise ConfigError(
                f"network.publicSubnetIds: {', '.join(needs_public)} need public subnets "
                "of the existing VPC"
            )
        if self.static_egress.enabled and net.existing:
            raise ConfigError(
                "staticEgress: needs a VPC this stack creates (it adds NAT gateways and routes to "
                "the private route tables); remove network.vpcId or route your existing private "
                "subnets through your own NAT"
            )
        return self

    @model_validator(mode="after")
    def _private_dns_chosen(self) -> StackConfig:
        """In someone else's VPC, capturing every Lambda API call is not a default to assume."""
        pe = self.private_endpoint
        if pe.enabled and self.network.existing and "private_dns" not in pe.model_fields_set:
            raise ConfigError(
                "privateEndpoint.privateDns: required with an existing VPC (network.vpcId); "
                f"choose one. {private_dns_effect(self.region)}"
            )
        return self

    @model_validator(mode="after")
    def _edge_functions(self) -> StackConfig:
        """The edge pattern adds a function URL to each function and routes '/' itself."""
        if not self.edge.enabled:
            return self
        for index, fn in self._indexed("edge"):
            if not fn.bundled:
                # A function URL is function-level configuration (one per function), so
                # creating one would change a function this stack does not own, collide with a
                # URL it may already have, and delete that URL on `pulumi destroy`.
                raise ConfigError(
                    f"functions[{index}].arn: edge adds an AWS_IAM function URL to every "
                    f"function, which would modify the existing function {fn.name!r}; expose "
                    f"it with another pattern (functions[{index}].expose), or give it a function "
                    "URL yourself and put your own CloudFront in front"
                )
            if self.edge.static_site and fn.path == "/":
                raise ConfigError(
                    f"functions[{index}].path: edge.staticSite serves the site at '/', so "
                    f"function {fn.name!r} at '/' would be unreachable; give it a path such as "
                    "/api"
                )
        return self

    @model_validator(mode="after")
    def _static_ip_fits(self) -> StackConfig:
        """staticIp rules that need the network, the functions or the stack region."""
        sip = self.static_ip
        if not sip.enabled:
            return self
        net = self.network
        # An ALB needs subnets in two zones or more; with one zone neither entry can be built.
        if net.existing and len(net.private_subnet_ids) < 2:
            raise ConfigError(
                "network.privateSubnetIds: staticIp needs private subnets in at least 2 "
                "availability zones (its Application Load Balancer spans two zones or more)"
            )
        if not net.existing and net.az_count < 2:
            raise ConfigError(
                "network.azCount: staticIp needs at least 2 availability zones (its Application "
                "Load Balancer spans two zones or more)"
            )
        for index, fn in self._indexed("staticIp"):
            if fn.arn and fn.arn.split(":")[3] != self.region:
                raise ConfigError(
                    f"functions[{index}].arn: staticIp's ALB in {self.region} can only invoke "
                    f"functions of its own region; this one is in {fn.arn.split(':')[3]} "
                    f"(leave staticIp out of functions[{index}].expose)"
                )
        if sip.https and sip.certificate_arn.split(":")[3] != self.region:
            raise ConfigError(
                f"staticIp.certificateArn: the ALB in {self.region} needs an ACM certificate of "
                f"{self.region}; this one is in {sip.certificate_arn.split(':')[3]}"
            )
        if sip.ip_address_type == "DUAL_STACK" and not net.existing:
            raise ConfigError(
                "staticIp.ipAddressType: DUAL_STACK needs a dual-stack ALB, whose subnets need "
                "IPv6 CIDR blocks; the VPC this stack creates is IPv4 only (use network.vpcId "
                "with IPv6 private subnets, or IPV4)"
            )
        for index, endpoint in enumerate(sip.regions):
            key = f"staticIp.regions[{index}]"
            if endpoint.region == self.region:
                if endpoint.certificate_arn:
                    raise ConfigError(
                        f"{key}.certificateArn: {self.region} is the stack region; its "
                        "certificate is staticIp.certificateArn"
                    )
                continue
            if net.existing:
                raise ConfigError(
                    f"{key}.region: an existing VPC (network.vpcId) is in {self.region} only; "
                    f"serving {endpoint.region} too needs a VPC this stack creates there"
                )
            existing = [i for i, fn in self._indexed("staticIp") if not fn.bundled]
            if existing:
                raise ConfigError(
                    f"functions[{existing[0]}].arn: staticIp.regions deploys the functions to "
                    f"{endpoint.region} too; an existing function (arn) lives in one region "
                    "only (use a bundled handler, or drop staticIp.regions)"
                )
            if sip.https and not endpoint.certificate_arn:
                raise ConfigError(
                    f"{key}.certificateArn: HTTPS is on (staticIp.certificateArn), so the ALB in "
                    f"{endpoint.region} needs an ACM certificate of {endpoint.region}"
                )
            if endpoint.certificate_arn and endpoint.certificate_arn.split(":")[3] != (
                endpoint.region
            ):
                raise ConfigError(
                    f"{key}.certificateArn: the ALB in {endpoint.region} needs a certificate of "
                    f"{endpoint.region}; this one is in {endpoint.certificate_arn.split(':')[3]}"
                )
        return self

    @model_validator(mode="after")
    def _ip_restricted_api_routes(self) -> StackConfig:
        """Each ipRestrictedApi route must fall under a function's path, or it routes nowhere."""
        api = self.ip_restricted_api
        if not api.enabled:
            return self
        served = self.functions_exposed_by("ipRestrictedApi")
        for index, route in enumerate(api.routes):
            literal = route_literal_prefix(route.path)
            # A NONE route with a wildcard is only a policy pattern and may span functions.
            if "*" in route.path and route.auth == "NONE":
                continue
            if serving_function(literal, served) is None:
                paths = ", ".join(f.path for f in served)
                raise ConfigError(
                    f"ipRestrictedApi.routes[{index}].path: {route.path!r} is not served by any "
                    f"function (function paths: {paths}); the API would answer 403 there anyway"
                )
        return self

    @model_validator(mode="after")
    def _exposure_consistent(self) -> StackConfig:
        """No entry admits sources outside a restriction another entry puts on the same
        function and path, unless widerExposure says so (rule: components/exposure.py)."""
        from components.exposure import consistency_error  # it reads this module's types

        message = consistency_error(self)
        if message:
            raise ConfigError(message)
        return self

    # Last: a config that is wrong in itself is reported as such before anything is counted.
    quotas: QuotasConfig = Field(default_factory=QuotasConfig)

    @model_validator(mode="after")
    def _within_quotas(self) -> StackConfig:
        """What the config makes AWS count (rules, behaviors, policy size) fits the quotas."""
        from components.quotas import first_exceeded

        over = first_exceeded(self)
        if over is not None:
            raise ConfigError(over.message())
        return self

    # -- what the program derives from the config --------------------------------------------

    def entry_enabled(self, entry: str) -> bool:
        return {
            "staticIp": self.static_ip.enabled,
            "ipRestrictedApi": self.ip_restricted_api.enabled,
            "edge": self.edge.enabled,
            "privateEndpoint": self.private_endpoint.enabled,
        }[entry]

    @property
    def enabled_entries(self) -> list[str]:
        return [e for e in ENTRIES if self.entry_enabled(e)]

    def entries_of(self, fn: FunctionConfig) -> list[str]:
        """The entries that serve ``fn``: its expose list, or every enabled entry."""
        return list(fn.expose) if fn.expose is not None else self.enabled_entries

    def functions_exposed_by(self, entry: str) -> list[FunctionConfig]:
        """The functions ``entry`` serves, in config order (what its component receives)."""
        if not self.entry_enabled(entry):
            return []
        return [fn for fn in self.functions if entry in self.entries_of(fn)]

    def _indexed(self, entry: str) -> list[tuple[int, FunctionConfig]]:
        """(index in functions, function) for the functions ``entry`` serves: for messages."""
        served = {fn.name for fn in self.functions_exposed_by(entry)}
        return [(i, fn) for i, fn in enumerate(self.functions) if fn.name in served]

    def patterns_needing_vpc(self) -> list[str]:
        """Keys of the enabled patterns that put something in a VPC (empty = no network)."""
        needs = []
        if self.static_ip.enabled:
            needs.append("staticIp")
        if self.ip_restricted_api.enabled and self.ip_restricted_api.endpoint_type == "PRIVATE":
            needs.append("ipRestrictedApi")
        if self.private_endpoint.enabled:
            needs.append("privateEndpoint")
        if self.static_egress.enabled:
            needs.append("staticEgress")
        if self.ip_range_sync.enabled and "securityGroup" in self.ip_range_sync.targets:
            needs.append("ipRangeSync")
        return needs

    @property
    def bundled_functions(self) -> list[FunctionConfig]:
        return [f for f in self.functions if f.bundled]


# Top-level keys, in contract order: the key set Pulumi.yaml declares and the README documents.
TOP_LEVEL_KEYS = tuple(
    (field.alias or name) for name, field in StackConfig.model_fields.items() if name != "region"
)


# --------------------------------------------------------------------------------------------
# raw config → StackConfig, with messages that name the key path
# --------------------------------------------------------------------------------------------


def _format_location(loc: tuple[str | int, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif str(part).startswith("function-") or part in ("str", "RegionEndpoint"):
            # pydantic names union members / wrapped validators in the location; not a key.
            continue
        else:
            path += f".{part}" if path else str(part)
    return path


def _error_message(error: Mapping[str, Any], model_path: str) -> str:
    kind = error["type"]
    message = str(error["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    if kind == "extra_forbidden":
        bad_key = str(error["loc"][-1])
        allowed = _allowed_keys_at(error["loc"][:-1])
        suggestion = difflib.get_close_matches(bad_key, allowed, n=1)
        hint = f" (did you mean {suggestion[0]!r}?)" if suggestion else ""
        return f"unknown key {bad_key!r}{hint}; allowed keys: {', '.join(allowed)}"
    if kind == "string_pattern_mismatch":
        return f"{error['input']!r} does not match {error['ctx']['pattern']}"
    if kind.endswith(("_type", "_parsing")) or kind in ("literal_error", "enum"):
        return f"{message} (got {error['input']!r})"
    # A ConfigError raised by a model validator carries a sub-path: "allowedCidrs[1]: ...".
    return message


def _allowed_keys_at(loc: tuple[str | int, ...]) -> list[str]:
    """The keys a model accepts at a location, for the 'unknown key' message."""
    model: Any = StackConfig
    for part in loc:
        if isinstance(part, int) or model is None:
            continue
        field = next(
            (f for n, f in model.model_fields.items() if (f.alias or n) == part),
            None,
        )
        if field is None:
            return []
        model = _model_in(field.annotation)
    if model is None:
        return []
    return [f.alias or n for n, f in model.model_fields.items()]


def _model_in(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _model_in(arg)
        if found is not None:
            return found
    return None


# DOTALL: a message that quotes a value with a newline still has its sub-path read.
_SUB_PATH_RE = _fullmatch(
    r"([A-Za-z]+(\.[A-Za-z]+|\[[0-9]+\])*|\[[0-9]+\](\.[A-Za-z]+)*): (.*)", re.DOTALL
)


def _messages(exc: ValidationError) -> list[str]:
    lines = []
    for error in exc.errors():
        path = _format_location(error["loc"])
        message = _error_message(error, path)
        # Model-level errors that name a sub-path ("allowedCidrs[1]: ...") extend the path.
        match = _SUB_PATH_RE(message)
        if match:
            sub, message = match.group(1), match.group(4)
            if sub.startswith("["):
                path = f"{path}{sub}"
            elif sub.split(".")[0].split("[")[0] in TOP_LEVEL_KEYS:
                path = sub
            else:
                path = f"{path}.{sub}" if path else sub
        lines.append(f"{PROJECT}:{path}: {message}" if path else f"{PROJECT}: {message}")
    return lines


def parse_config(raw: Mapping[str, Any], region: str | None) -> StackConfig:
    """Validate a dict of top-level keys (already JSON-decoded). Raises ConfigError."""
    unknown = sorted(set(raw) - set(TOP_LEVEL_KEYS))
    if unknown:
        lines = []
        for key in unknown:
            suggestion = difflib.get_close_matches(key, TOP_LEVEL_KEYS, n=1)
            hint = f" (did you mean {PROJECT}:{suggestion[0]}?)" if suggestion else ""
            lines.append(f"{PROJECT}:{key}: unknown config key{hint}")
        raise ConfigError("\n".join(lines))
    if not region:
        raise ConfigError("aws:region: not set (pulumi config set aws:region eu-west-1)")
    try:
        return StackConfig.model_validate({**raw, "region": region})
    except ValidationError as exc:
        messages = _messages(exc)
        for index, line in enumerate(messages):
            messages[index] = line.replace(f"{PROJECT}:region:", "aws:region:")
        raise ConfigError("\n".join(messages)) from None


def read_raw_config(all_config: Mapping[str, str]) -> dict[str, Any]:
    """This project's keys from Pulumi's flat ``{"ns:key": "json"}`` config map."""
    raw: dict[str, Any] = {}
    prefix = f"{PROJECT}:"
    for full_key, text in all_config.items():
        if not full_key.startswith(prefix):
            continue
        key = full_key[len(prefix) :]
        try:
            raw[key] = json.loads(text)
        except (json.JSONDecodeError, TypeError):
            raw[key] = text  # a plain string value (pulumi config set key value)
    return raw


def suspicious_config_keys(all_config: Mapping[str, Any]) -> list[str]:
    """Keys the program never reads but was probably meant to: one message per key.

    A key with no namespace, or in a namespace a typo away from this project's
    (``lambda-exposur:staticIp``), is silently ignored by ``pulumi up``: the stack would deploy
    the defaults. The program warns about them; the offline preview refuses them.
    """

    def edit_distance(a: str, b: str) -> int:
        previous = list(range(len(b) + 1))
        for i, char_a in enumerate(a, 1):
            current = [i]
            for j, char_b in enumerate(b, 1):
                current.append(
                    min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b))
                )
            previous = current
        return previous[-1]

    notes = []
    for full_key in sorted(all_config):
        namespace, colon, key = full_key.partition(":")
        if not colon:
            namespace, key = "", full_key
        if not namespace:
            notes.append(
                f"{full_key}: no namespace, so the program never reads it "
                f"(did you mean {PROJECT}:{key}?)"
            )
        elif namespace != PROJECT and edit_distance(namespace.lower(), PROJECT) <= 3:
            notes.append(
                f"{full_key}: namespace {namespace!r} is not {PROJECT!r}, so the program never "
                f"reads it (did you mean {PROJECT}:{key}?)"
            )
    return notes


def warnings_for(config: StackConfig) -> list[str]:
    """Valid but suspicious settings: reported, not refused."""
    notes = []
    for index, service in enumerate(config.ip_range_sync.services):
        if service not in KNOWN_IP_RANGE_SERVICES:
            notes.append(
                f"{PROJECT}:ipRangeSync.services[{index}]: {service!r} is not a service identifier "
                "seen in ip-ranges.json so far; it will select nothing until AWS publishes it"
            )
    if config.static_ip.enabled and config.static_ip.entry == "nlb" and _az_count(config) < 2:
        # Reachable with an existing VPC only: a new one with azCount 1 is refused (the ALB
        # behind the NLB needs two zones), but one public subnet still makes a working NLB.
        notes.append(
            f"{PROJECT}:network.publicSubnetIds: entry nlb with one public subnet gives one "
            "static IP and no zone redundancy; give a public subnet in each ALB zone for "
            "production"
        )
    pe = config.private_endpoint
    if pe.enabled and not config.network.existing and "private_dns" not in pe.model_fields_set:
        notes.append(
            f"{PROJECT}:privateEndpoint.privateDns: not set, so true in the VPC this stack "
            f"creates. {private_dns_effect(config.region)}. Set it to say which you want"
        )
    existing = [f.name for f in config.functions if not f.bundled]
    if config.static_egress.enabled and existing:
        notes.append(
            f"{PROJECT}:staticEgress: existing functions ({', '.join(existing)}) are not modified "
            "and do not get the static egress IP; put them in the VPC yourself"
        )
    return notes


def _az_count(config: StackConfig) -> int:
    net = config.network
    return len(net.public_subnet_ids) if net.existing else net.az_count


def load_config() -> StackConfig:
    """Read and validate the stack config; stop the program cleanly on any bad value."""
    import pulumi
    from pulumi.runtime.config import CONFIG, get_config_env

    region = (
        pulumi.Config("aws").get("region")
        or os.environ.get("AWS_REGION")
        or os.environ.get("AWS_DEFAULT_REGION")
    )
    all_config = {**get_config_env(), **CONFIG.get()}
    for note in suspicious_config_keys(all_config):
        pulumi.log.warn(note)
    try:
        config = parse_config(read_raw_config(all_config), region)
    except ConfigError as exc:
        raise pulumi.RunError(f"invalid stack config:\n{exc}") from None
    for note in warnings_for(config):
        pulumi.log.warn(note)
    return config
