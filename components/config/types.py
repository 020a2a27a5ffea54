"""Field types that several models share, each written once with its check and its message.

Each check raises ``ValueError`` with a message that reads well after the key path:
``staticIp.allowedCidrs[1]: '10.0.0.300/8' is not a CIDR``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Annotated, Any, Protocol, TypeVar

from pydantic import AfterValidator

from components.config.base import ascii_fullmatch, matching

# --------------------------------------------------------------------------------------------
# lists without duplicates
# --------------------------------------------------------------------------------------------

_T = TypeVar("_T")


def check_unique(values: list[_T], what: str) -> list[_T]:
    """``values`` unchanged, or the first repeated one named with its index."""
    seen: set[Any] = set()
    for index, value in enumerate(values):
        if value in seen:
            raise ValueError(f"duplicate {what} {value!r} at [{index}]")
        seen.add(value)
    return values


def unique(what: str) -> AfterValidator:
    """For ``Annotated[list[...], unique("CIDR")]``: refuse a repeated item."""
    return AfterValidator(lambda values: check_unique(values, what))


# --------------------------------------------------------------------------------------------
# CIDRs, by family
# --------------------------------------------------------------------------------------------

# What ipaddress needs to read a CIDR; anything else (a zone id "%eth0", spaces, control or
# non-ASCII characters) is refused before ipaddress gets to be lenient about it.
_CIDR_TEXT_RE = ascii_fullmatch(r"[0-9A-Fa-f.:]+(/[0-9.]+)?")


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


# One CIDR (IPv4 or IPv6), normalized ("2001:DB8::/32" -> "2001:db8::/32").
Cidr = Annotated[str, AfterValidator(_cidr)]
Ipv4Cidr = Annotated[str, AfterValidator(_ipv4_cidr)]
Cidrs = Annotated[list[Cidr], unique("CIDR")]
Ipv4Cidrs = Annotated[list[Ipv4Cidr], unique("CIDR")]


# --------------------------------------------------------------------------------------------
# regions and ARNs, by service
# --------------------------------------------------------------------------------------------

_REGION_RE = ascii_fullmatch(r"[a-z]{2}(-[a-z]+)+-[0-9]")


def region_name(value: str) -> str:
    if not _REGION_RE(value):
        raise ValueError(f"{value!r} is not an AWS region name (like eu-west-1)")
    return value


Region = Annotated[str, AfterValidator(region_name)]

_FUNCTION_ARN_RE = ascii_fullmatch(
    r"arn:aws(-[a-z]+)*:lambda:[a-z]{2}(-[a-z]+)+-[0-9]:[0-9]{12}:function:[A-Za-z0-9_-]{1,64}"
)
_ACM_ARN_RE = ascii_fullmatch(
    r"arn:aws(-[a-z]+)*:acm:[a-z]{2}(-[a-z]+)+-[0-9]:[0-9]{12}:certificate/[0-9a-f-]{36}"
)
# IAM user/role names and paths: letters, digits and _+=,.@- (and / between path segments).
_IAM_PRINCIPAL_RE = ascii_fullmatch(
    r"arn:aws(-[a-z]+)*:(iam::[0-9]{12}:(root|(user|role)/[A-Za-z0-9_+=,.@/-]+)"
    r"|sts::[0-9]{12}:assumed-role/[A-Za-z0-9_+=,.@/-]+)"
)
_ACCOUNT_RE = ascii_fullmatch(r"[0-9]{12}")


def is_account_id(value: str) -> bool:
    """A 12-digit AWS account id (ASCII digits: ``"\uff11".isdigit()`` is true, too)."""
    return _ACCOUNT_RE(value) is not None


FunctionArn = Annotated[
    str,
    matching(
        _FUNCTION_ARN_RE,
        "an unqualified Lambda function ARN (arn:aws:lambda:<region>:<account>:function:<name>)",
    ),
]
# Empty is allowed: the fields typed so read "no certificate" from "".
AcmArn = Annotated[
    str,
    matching(
        lambda value: not value or _ACM_ARN_RE(value),
        "an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<uuid>)",
    ),
]
IamPrincipal = Annotated[
    str,
    matching(
        lambda value: is_account_id(value) or _IAM_PRINCIPAL_RE(value),
        "an IAM principal ARN (arn:aws:iam::<account>:root|user/..|role/..) or a 12-digit "
        "account id",
    ),
]


# --------------------------------------------------------------------------------------------
# log retention
# --------------------------------------------------------------------------------------------

# CloudWatch Logs accepts only these retention periods; anything else fails at deploy time.
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
)  # fmt: skip


def _retention(value: int) -> int:
    if value not in LOG_RETENTION_DAYS:
        raise ValueError(f"{value} is not a CloudWatch Logs retention period {LOG_RETENTION_DAYS}")
    return value


LogRetentionDays = Annotated[int, AfterValidator(_retention)]


# --------------------------------------------------------------------------------------------
# paths
# --------------------------------------------------------------------------------------------

# The longest function path every entry can route: the ALB path pattern "<path>/*" is at most 128.
MAX_PATH_LENGTH = 126
_PATH_RE = ascii_fullmatch(r"/([A-Za-z0-9._~-]+(/[A-Za-z0-9._~-]+)*)?")


def _path_prefix(value: str) -> str:
    if not _PATH_RE(value):
        raise ValueError(
            f"{value!r} is not a path prefix (starts with '/', no trailing '/', "
            "letters, digits and . _ ~ - only)"
        )
    if len(value) > MAX_PATH_LENGTH:
        # The ALB rule for a function matches "<path>/*", and an ALB path pattern is at most
        # 128 characters (Application Load Balancer guide, "Path conditions").
        raise ValueError(
            f"{value[:20]!r}... is {len(value)} characters; a function path is at most "
            f"{MAX_PATH_LENGTH} (an ALB path pattern, <path>/*, is at most 128)"
        )
    return value


# A request path prefix every entry routes the same way: "/" or "/segment/...".
PathPrefix = Annotated[str, AfterValidator(_path_prefix)]


class HasPath(Protocol):
    """Anything served at a path prefix: a function's config, or the function built from it."""

    @property
    def path(self) -> str: ...


_F = TypeVar("_F", bound=HasPath)


def serving_function(path: str, functions: Sequence[_F]) -> _F | None:
    """The function whose path prefix serves ``path`` (the longest one wins), if any."""
    best: _F | None = None
    for fn in functions:
        serves = fn.path == "/" or path == fn.path or path.startswith(fn.path + "/")
        if serves and (best is None or len(fn.path) > len(best.path)):
            best = fn
    return best


# --------------------------------------------------------------------------------------------
# Elastic IP allocations
# --------------------------------------------------------------------------------------------

# EC2 resource ids are the resource prefix and 8 (older) or 17 lowercase hexadecimal digits:
# https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/resource-ids.html
_EIP_ALLOCATION_RE = ascii_fullmatch(r"eipalloc-([0-9a-f]{8}|[0-9a-f]{17})")

# An existing Elastic IP, by its allocation id (not its address: the address is looked up).
EipAllocationId = Annotated[
    str,
    matching(_EIP_ALLOCATION_RE, "an Elastic IP allocation id (eipalloc- and 8 or 17 hex digits)"),
]
EipAllocationIds = Annotated[list[EipAllocationId], unique("allocation id")]
