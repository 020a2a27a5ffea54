"""A small evaluator for the API Gateway resource policies this project generates.

Enough of IAM's policy language to answer "does this request get in?" for the subset
``components/api_policy.py`` emits, and it refuses (raises) anything outside that subset, so a
policy that grew a new element cannot be "evaluated" wrongly in silence:

- statements: ``Sid``, ``Effect``, ``Principal`` (``*`` or ``{"AWS": ...}``), ``Action``,
  ``Resource`` with ``*`` / ``?`` wildcards. ``NotResource`` is refused: API Gateway documents
  only ``Resource`` for its resource policies, so a document using it is not one to ship;
- conditions: ``IpAddress`` / ``NotIpAddress`` (CIDR match, IPv4 and IPv6), ``StringEquals`` /
  ``StringNotEquals``, ``Null``; several keys in one operator, and several operators, must all
  hold; several values for one key: any of them. A key absent from the request fails the positive
  operators and satisfies the negated ones (IAM's rule for ``Not...`` operators);
- context: ``aws:PrincipalArn`` exists only for a signed caller (``principal_account``), as API
  Gateway sets it only on IAM-authorized methods;
- decision: an explicit ``Deny`` wins, otherwise an ``Allow`` is needed (else implicit deny).

``gateway_allows`` adds what API Gateway does on top, per the method's authorization
(https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-authorization-flow.html):
``NONE`` needs the resource policy's explicit Allow; ``AWS_IAM`` combines it with the caller's
IAM policy: same account = either allows (Table A), other account = both must (Table B);
an explicit deny in either always wins.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from dataclasses import dataclass
from typing import Any, Literal

Decision = Literal["ALLOW", "EXPLICIT_DENY", "IMPLICIT_DENY"]

_STATEMENT_KEYS = {"Sid", "Effect", "Principal", "Action", "Resource", "Condition"}
_OPERATORS = {"IpAddress", "NotIpAddress", "StringEquals", "StringNotEquals", "Null"}


class UnsupportedPolicy(ValueError):
    """The document uses something this evaluator does not model."""


@dataclass(frozen=True)
class Request:
    """One call to the API as the policy sees it."""

    resource: str  # arn:aws:execute-api:<region>:<account>:<api>/<stage>/<METHOD>/<path>
    source_ip: str | None = None  # aws:SourceIp
    vpc_source_ip: str | None = None  # aws:VpcSourceIp (private APIs)
    source_vpce: str | None = None  # aws:SourceVpce (private APIs)
    principal_account: str | None = None  # None = anonymous (unsigned)
    action: str = "execute-api:Invoke"

    def context(self) -> dict[str, str]:
        keys = {
            "aws:SourceIp": self.source_ip,
            "aws:VpcSourceIp": self.vpc_source_ip,
            "aws:SourceVpce": self.source_vpce,
            "aws:PrincipalArn": (
                None
                if self.principal_account is None
                else f"arn:aws:iam::{self.principal_account}:role/caller"
            ),
        }
        return {k: v for k, v in keys.items() if v is not None}


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


@functools.lru_cache(maxsize=4096)
def _wildcard_regex(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(regex, re.IGNORECASE if ignore_case else 0)


def _wildcard(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    # Compiled once per pattern: the exposure tests evaluate thousands of requests.
    return _wildcard_regex(pattern, ignore_case).fullmatch(value) is not None


def _in_any_cidr(address: str, cidrs: list[str]) -> bool:
    ip = ipaddress.ip_address(address)
    for cidr in cidrs:
        network = ipaddress.ip_network(cidr, strict=False)
        if network.version == ip.version and ip in network:
            return True
    return False


def _key_holds(operator: str, values: list[str], actual: str | None) -> bool:
    if operator == "IpAddress":
        return actual is not None and _in_any_cidr(actual, values)
    if operator == "NotIpAddress":
        return actual is None or not _in_any_cidr(actual, values)
    if operator == "StringEquals":
        return actual is not None and actual in values
    if operator == "StringNotEquals":
        return actual is None or actual not in values
    if operator == "Null":
        if values not in (["true"], ["false"]):
            raise UnsupportedPolicy(f"Null value {values!r}")
        return (actual is None) == (values == ["true"])
    raise UnsupportedPolicy(f"condition operator {operator!r}")


def _conditions_hold(condition: dict[str, Any], context: dict[str, str]) -> bool:
    for operator, keys in condition.items():
        if operator not in _OPERATORS:
            raise UnsupportedPolicy(f"condition operator {operator!r}")
        for key, values in keys.items():
            if not _key_holds(operator, [str(v) for v in _as_list(values)], context.get(key)):
                return False
    return True


def _principal_matches(principal: Any, request: Request) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, dict) and set(principal) == {"AWS"}:
        for entry in _as_list(principal["AWS"]):
            if entry == "*":
                return True
            account = str(entry).split(":")[4] if str(entry).startswith("arn:") else str(entry)
            if request.principal_account is not None and account == request.principal_account:
                return True
        return False
    raise UnsupportedPolicy(f"principal {principal!r}")


def _statement_applies(statement: dict[str, Any], request: Request) -> bool:
    unknown = set(statement) - _STATEMENT_KEYS
    if unknown:
        raise UnsupportedPolicy(f"statement elements {sorted(unknown)}")
    if "Resource" not in statement:
        raise UnsupportedPolicy("a statement needs a Resource")
    if statement.get("Effect") not in ("Allow", "Deny"):
        raise UnsupportedPolicy(f"effect {statement.get('Effect')!r}")
    if not _principal_matches(statement.get("Principal"), request):
        return False
    actions = _as_list(statement["Action"])
    if not any(_wildcard(a, request.action, ignore_case=True) for a in actions):
        return False
    if not any(_wildcard(r, request.resource) for r in _as_list(statement["Resource"])):
        return False
    return _conditions_hold(statement.get("Condition", {}), request.context())


def evaluate(policy: dict[str, Any], request: Request) -> Decision:
    """The resource policy's own verdict on ``request``."""
    if policy.get("Version") != "2012-10-17":
        raise UnsupportedPolicy(f"version {policy.get('Version')!r}")
    allowed = False
    for statement in _as_list(policy["Statement"]):
        if _statement_applies(statement, request):
            if statement["Effect"] == "Deny":
                return "EXPLICIT_DENY"
            allowed = True
    return "ALLOW" if allowed else "IMPLICIT_DENY"


def matching_sids(policy: dict[str, Any], request: Request) -> list[str]:
    """Which statements apply (for readable assertion messages)."""
    return [s.get("Sid", "?") for s in policy["Statement"] if _statement_applies(s, request)]


def gateway_allows(
    policy: dict[str, Any],
    request: Request,
    *,
    authorization: Literal["NONE", "AWS_IAM"] = "NONE",
    api_account: str | None = None,
    identity_policy: Decision = "IMPLICIT_DENY",
) -> bool:
    """Whether API Gateway lets ``request`` through to the integration.

    ``identity_policy`` is the verdict of the caller's own IAM policies (AWS_IAM only).
    """
    resource = evaluate(policy, request)
    if authorization == "NONE":
        return resource == "ALLOW"
    if request.principal_account is None:
        return False  # unsigned: refused before any policy ("Missing Authentication Token")
    if "EXPLICIT_DENY" in (resource, identity_policy):
        return False
    account = api_account or request.resource.split(":")[4]
    if request.principal_account == account:
        return "ALLOW" in (resource, identity_policy)
    return resource == "ALLOW" and identity_policy == "ALLOW"
