"""The sources algebra and the records of the exposure model: who, how, through what.

``NetSet`` is a set of addresses (collapsed networks per family), ``Sources`` who may send a
request (allowed minus denied, maybe only from inside the VPC), ``Auth`` how it is
authenticated; ``Door``, ``Limit`` and ``Conflict`` are what the model reports.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal, TypeVar

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
SIDE_DOORS = ("internalAlb", "functionUrl", "invokeApi")
_ALL4 = ipaddress.IPv4Network("0.0.0.0/0")
_ALL6 = ipaddress.IPv6Network("::/0")
_N = TypeVar("_N", ipaddress.IPv4Network, ipaddress.IPv6Network)


def _common(ours: Sequence[_N], theirs: Sequence[_N]) -> list[_N]:
    # Two networks are either disjoint or one contains the other.
    return [a if a.subnet_of(b) else b for a in ours for b in theirs if a.overlaps(b)]


def _without(pieces: Sequence[_N], cuts: Sequence[_N]) -> list[_N]:
    kept = list(pieces)
    for cut in cuts:
        rest: list[_N] = []
        for piece in kept:
            if not piece.overlaps(cut):
                rest.append(piece)
            elif not piece.subnet_of(cut):
                rest.extend(piece.address_exclude(cut))
        kept = rest
    return kept


@dataclass(frozen=True)
class NetSet:
    """A set of addresses, as collapsed IPv4 and IPv6 networks."""

    v4: tuple[ipaddress.IPv4Network, ...] = ()
    v6: tuple[ipaddress.IPv6Network, ...] = ()

    @classmethod
    def of(cls, cidrs: Iterable[str | Network]) -> NetSet:
        networks = [ipaddress.ip_network(c) for c in cidrs]
        v4 = [n for n in networks if isinstance(n, ipaddress.IPv4Network)]
        v6 = [n for n in networks if isinstance(n, ipaddress.IPv6Network)]
        return cls(tuple(ipaddress.collapse_addresses(v4)), tuple(ipaddress.collapse_addresses(v6)))

    @classmethod
    def anyone(cls, ipv6: bool = True) -> NetSet:
        return cls((_ALL4,), (_ALL6,) if ipv6 else ())

    def networks(self) -> list[Network]:
        return [*self.v4, *self.v6]

    def __bool__(self) -> bool:
        return bool(self.v4 or self.v6)

    def __or__(self, other: NetSet) -> NetSet:
        return NetSet.of([*self.networks(), *other.networks()])

    def __and__(self, other: NetSet) -> NetSet:
        return _intersection(self, other)

    def __sub__(self, other: NetSet) -> NetSet:
        return _difference(self, other)

    def intersection(self, other: NetSet) -> NetSet:
        return NetSet.of([*_common(self.v4, other.v4), *_common(self.v6, other.v6)])

    def difference(self, other: NetSet) -> NetSet:
        return NetSet.of([*_without(self.v4, other.v4), *_without(self.v6, other.v6)])

    def __le__(self, other: NetSet) -> bool:
        return not (self - other)

    def __contains__(self, address: object) -> bool:
        ip = ipaddress.ip_address(str(address))
        return any(ip.version == n.version and ip in n for n in self.networks())

    def __str__(self) -> str:
        if self.v4 == (_ALL4,) and self.v6 == (_ALL6,):
            return "anyone"
        parts = ["any IPv4" if self.v4 == (_ALL4,) else ", ".join(map(str, self.v4))]
        parts.append("any IPv6" if self.v6 == (_ALL6,) else ", ".join(map(str, self.v6)))
        return ", ".join(p for p in parts if p) or "nobody"


# The same few sets meet again and again (every cell, verb and entry): compute each once.
@functools.lru_cache(maxsize=8192)
def _intersection(a: NetSet, b: NetSet) -> NetSet:
    return a.intersection(b)


@functools.lru_cache(maxsize=8192)
def _difference(a: NetSet, b: NetSet) -> NetSet:
    return a.difference(b)


@dataclass(frozen=True)
class Sources:
    """Who may send a request: ``allow`` minus ``deny``, optionally only from inside the VPC."""

    allow: NetSet
    deny: NetSet = field(default_factory=NetSet)
    # Only callers inside the stack's VPC (or peered into it), through an interface endpoint.
    within_vpc: bool = False

    @functools.cached_property
    def addresses(self) -> NetSet:
        return self.allow - self.deny

    def __and__(self, other: Sources) -> Sources:
        return Sources(
            self.allow & other.allow, self.deny | other.deny, self.within_vpc or other.within_vpc
        )

    def __le__(self, other: Sources) -> bool:
        """Every caller this admits, ``other`` admits too."""
        if not self.addresses:
            return True
        if other.within_vpc and not self.within_vpc:
            return False
        return self.addresses <= other.addresses

    def admits(self, address: str, *, inside_vpc: bool = False) -> bool:
        if self.within_vpc and not inside_vpc:
            return False
        return address in self.addresses

    def restricted_cidrs(self) -> list[str] | None:
        """The admitted addresses as CIDRs, or None when they are every address of each family
        present (``0.0.0.0/0`` alone: an IPv4-only entry open to all)."""
        addresses = self.addresses
        open_v4 = addresses.v4 == (_ALL4,)
        open_v6 = addresses.v6 in ((), (_ALL6,))
        if open_v4 and open_v6 and not self.within_vpc:
            return None
        return [str(n) for n in addresses.networks()]

    def cidrs(self) -> str:
        """The addresses as CIDRs (``0.0.0.0/0``, not "anyone"): for messages."""
        text = ", ".join(map(str, self.addresses.networks())) or "nobody"
        return f"{text} (inside the VPC)" if self.within_vpc else text

    def __str__(self) -> str:
        if not self.addresses:
            return "nobody"
        text = str(self.allow)
        denied = self.deny & self.allow
        if denied:
            text += f" except {', '.join(map(str, denied.networks()))}"
        return f"{text} (inside the VPC)" if self.within_vpc else text


NOBODY = Sources(NetSet())


@dataclass(frozen=True)
class Auth:
    """How a request through a door is authenticated."""

    kind: Literal["none", "cloudfront-signed", "iam"]
    principals: tuple[str, ...] = ()
    note: str = ""

    @property
    def anonymous(self) -> bool:
        """The caller needs no AWS credentials (CloudFront signs for anonymous viewers)."""
        return self.kind != "iam"

    def __str__(self) -> str:
        if self.kind == "iam":
            text = f"IAM: {', '.join(self.principals)}"
        elif self.kind == "cloudfront-signed":
            text = "none (CloudFront signs to the origin)"
        else:
            text = "none"
        return f"{text}; {self.note}" if self.note else text


NONE = Auth("none")


@dataclass(frozen=True)
class Waf:
    """The AWS WAF web ACL in front of a door (``components/waf.py``): a per-IP rate limit, then
    AWS managed rule groups. It blocks floods and bad requests, never a source set: an allow-list
    it carries (``edge.allowedCidrs``) is already the door's ``sources``."""

    rate_limit: int
    managed_rules: tuple[str, ...] = ()

    def __str__(self) -> str:
        text = f"{self.rate_limit} requests per IP per 5 min"
        return f"{text}; {', '.join(self.managed_rules)}" if self.managed_rules else text


@dataclass(frozen=True)
class Door:
    """One way to one function: through which entry, for which paths, from where, how."""

    function: str
    entry: str  # one of ENTRIES, or a side door: functionUrl, invokeApi
    paths: str
    sources: Sources
    auth: Auth
    hops: tuple[str, ...]
    # Stack output that holds this door's URL or address (``functionUrls.app``: a map key).
    url: str
    wider_intended: bool = False
    waf: Waf | None = None  # the web ACL the entry puts in front of this door, if any
    # A request path this door serves (HTTP doors; None for the Invoke API): what a smoke check
    # calls at ``url``.
    example_path: str | None = None

    @property
    def side_door(self) -> bool:
        return self.entry in SIDE_DOORS

    @property
    def allowed_cidrs(self) -> list[str] | None:
        """The client addresses this door admits, as CIDRs, when that is a restriction (None:
        every address of each family the entry carries, as for an IAM-signed side door). A deny
        list reads as what it leaves: the complement of the denied networks."""
        return self.sources.restricted_cidrs()


@dataclass(frozen=True)
class Limit:
    """One restriction that applies to a door at a path: its key and what it admits."""

    key: str
    sources: Sources
    what: str  # "ANY /admin admits only 203.0.113.0/24"


@dataclass(frozen=True)
class Conflict:
    """An entry that admits, on a restricted function path, sources outside the restriction."""

    limit: Limit
    function: str
    function_index: int
    entry: str
    path: str
    method: str
    sources: Sources
    intended: bool
