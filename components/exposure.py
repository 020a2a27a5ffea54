"""Who can reach each function, through which entry, from where: one model of the whole stack.

Each pattern proves its own promise, but the functions are shared by every entry that serves
them, so a promise made by one entry ("only 203.0.113.0/24 may call /admin") holds only if no
other entry serving the same function and path admits more. ``exposure_model(config)`` derives,
from the validated config alone (no Pulumi, no AWS), every *door* to every function:

- the entries: ``staticIp`` (accelerator or NLB → internal ALB), ``ipRestrictedApi`` (REST API,
  per route and method where the resource policy or the authorization differ), ``edge``
  (CloudFront → AWS_IAM function URL) and ``privateEndpoint`` (Lambda API through a VPC endpoint);
- the side doors that exist whatever the entries say: the accelerator's internal ALB, which
  answers callers inside the VPC that its security group admits (anonymous, but never wider than
  ``staticIp`` itself, so the rule below needs no separate check for it), the function URL itself
  (AWS_IAM, so any IAM principal of the account allowed ``lambda:InvokeFunctionUrl`` can call it
  signed, from anywhere) and the Lambda Invoke API (IAM principals of the account holding
  ``lambda:InvokeFunction``).

For each door: the sources (a small algebra over ``ipaddress`` networks: anyone, a CIDR set by
family minus a deny set, optionally confined to the stack's VPC), the authentication (none,
CloudFront-signed, IAM with its principals), the hops a request takes, and the name of the stack
output that holds its URL or IP.

**The consistency rule** (``consistency_error``). A *restriction* limits which network sources may
reach a function path *anonymously* (without AWS credentials): ``staticIp.allowedCidrs``,
``edge.allowedCidrs``, ``ipRestrictedApi.allow``/``deny`` (every path of every function the API
serves) and ``ipRestrictedApi.routes[i]`` (its paths and methods; an ``AWS_IAM`` route admits no
anonymous caller at all). Another enabled entry that serves the same function on the same path
and admits an anonymous source outside the restriction *widens* it, and the program stops, unless
``functions[i].widerExposure`` names that entry (the wider exposure is intended). IAM-authenticated
doors never widen: a Lambda resource policy cannot deny, so an IP restriction never binds an IAM
principal of the account that holds ``lambda:InvokeFunction`` (the Invoke API is always there);
the private endpoint (IAM *and* the VPC) therefore adds no caller that the Invoke API does not
already admit, and does not count either. They are shown, with their principals, in the table.

Paths follow what each entry really routes: a function serves its prefix ``/p`` and ``/p/*``
(longest prefix wins: ``serving_function``) on the ALB, the API and CloudFront, except that
CloudFront without a function at ``/`` and without ``staticSite`` sends unmatched paths to its
first function. API routes are IAM-style wildcards on the request path (``*`` spans segments;
a route without a trailing ``*`` also covers ``<path>/``), as ``components/api_policy.py`` writes
them; an ``AWS_IAM`` route authorizes only the API resource it becomes (``/a`` or ``/a/{proxy+}``).
The path space is split into *cells* (paths that every entry treats alike) by a search over the
product of these small automata, so the rule is checked on every cell with a real example path.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from components.api_policy import route_methods, route_resources
from components.config import (
    ENTRIES,
    ApiRoute,
    FunctionConfig,
    StackConfig,
    route_literal_prefix,
)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
SIDE_DOORS = ("internalAlb", "functionUrl", "invokeApi")
PROXY = "{proxy+}"
# Answered by the ALB itself for the NLB's health checks (components/static_ip.NLB_HEALTH_PATH,
# which imports Pulumi; a test checks the two agree).
NLB_HEALTH_PATH = "/.well-known/lambda-exposure/alb-health"
_ALL4 = ipaddress.IPv4Network("0.0.0.0/0")
_ALL6 = ipaddress.IPv6Network("::/0")


# --------------------------------------------------------------------------------------------
# sources: sets of networks per family
# --------------------------------------------------------------------------------------------


def _collapse(networks: Iterable[Network], version: int) -> tuple[Any, ...]:
    return tuple(ipaddress.collapse_addresses(n for n in networks if n.version == version))


@dataclass(frozen=True)
class NetSet:
    """A set of addresses, as collapsed IPv4 and IPv6 networks."""

    v4: tuple[ipaddress.IPv4Network, ...] = ()
    v6: tuple[ipaddress.IPv6Network, ...] = ()

    @classmethod
    def of(cls, cidrs: Iterable[str | Network]) -> NetSet:
        networks = [ipaddress.ip_network(c) for c in cidrs]
        return cls(_collapse(networks, 4), _collapse(networks, 6))

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
        # Two networks are either disjoint or one contains the other.
        common: list[Network] = []
        for a in self.networks():
            for b in other.networks():
                if a.version == b.version and a.overlaps(b):
                    common.append(a if a.subnet_of(b) else b)  # type: ignore[arg-type]
        return NetSet.of(common)

    def difference(self, other: NetSet) -> NetSet:
        pieces = self.networks()
        for cut in other.networks():
            kept: list[Network] = []
            for piece in pieces:
                if piece.version != cut.version or not piece.overlaps(cut):
                    kept.append(piece)
                elif not piece.subnet_of(cut):  # type: ignore[arg-type]
                    kept.extend(piece.address_exclude(cut))  # type: ignore[arg-type]
            pieces = kept
        return NetSet.of(pieces)

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

    @property
    def side_door(self) -> bool:
        return self.entry in SIDE_DOORS


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


# --------------------------------------------------------------------------------------------
# paths: which function each entry routes a request path to
# --------------------------------------------------------------------------------------------


def _under(path: str, prefix: str) -> bool:
    return prefix == "/" or path == prefix or path.startswith(prefix + "/")


@functools.lru_cache(maxsize=1024)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    return re.compile("".join(".*" if c == "*" else re.escape(c) for c in pattern))


def _prefixes(path: str) -> list[str]:
    parts = [p for p in path.split("/") if p]
    return ["/" + "/".join(parts[: i + 1]) for i in range(len(parts))]


def route_patterns(route: ApiRoute) -> tuple[str, ...]:
    """What a route's policy statements match, after ``<api>/``: ``*/<VERB>/<path>`` as
    ``api_policy.route_resources`` writes them. Matched against ``<stage>/<VERB>/<path>``: IAM's
    ``*`` spans ``/``, so the stage wildcard also lets ``/x/admin`` fall under a route for
    ``/admin`` (more paths restricted, never fewer)."""
    return tuple(arn.removeprefix("/") for arn in route_resources("", route))


def route_paths(route: ApiRoute) -> tuple[str, ...]:
    """The request paths a route names (``/admin`` and ``/admin/``; ``*`` spans segments): where
    its restriction is *meant* to hold, and where the consistency rule checks the other entries."""
    if route.path == "/" or route.path.endswith("*"):
        return (route.path,)
    return (route.path, route.path + "/")


def request_tail(stage: str, method: str, path: str) -> str:
    """A request's execute-api ARN after ``<api>/``, as API Gateway builds it."""
    return f"{stage}/{method}/{path.lstrip('/')}"


def route_label(route: ApiRoute) -> str:
    return f"{route.method} {route.path}"


@dataclass(frozen=True)
class Router:
    """How one entry picks the function for a request path."""

    prefixes: tuple[tuple[str, str], ...]  # (path prefix, function name)
    default: str | None = None  # answers paths under no prefix
    fixed: tuple[str, ...] = ()  # exact paths the entry answers itself, before any function

    def serving(self, path: str) -> str | None:
        if path in self.fixed:
            return None
        best: tuple[str, str] | None = None
        for prefix, name in self.prefixes:
            if _under(path, prefix) and (best is None or len(prefix) > len(best[0])):
                best = (prefix, name)
        return best[1] if best else self.default


@dataclass(frozen=True)
class Cell:
    """Request paths that every entry routes and restricts alike, with one example."""

    path: str
    serving: tuple[tuple[str, str | None], ...]  # (entry, function)
    routes: frozenset[tuple[int, str]]  # (ipRestrictedApi.routes index, verb): its policy applies
    resource: str  # the API resource it lands on ("/admin", "/admin/{proxy+}")
    named: frozenset[tuple[int, str]] = frozenset()  # ... and the route names this path

    def function(self, entry: str) -> str | None:
        return dict(self.serving).get(entry)


# Prefix-automaton states besides "i characters of the prefix matched".
_DEAD, _UNDER, _SLASH = -1, -2, -3


@functools.lru_cache(maxsize=65536)
def _prefix_step(prefix: str, state: int, char: str) -> int:
    if state == _DEAD:
        return _DEAD
    if state in (_UNDER, _SLASH):
        return _UNDER
    if state == len(prefix):
        return _SLASH if char == "/" else _DEAD
    return state + 1 if prefix[state] == char else _DEAD


def _prefix_under(prefix: str, state: int) -> bool:
    return state in (_UNDER, _SLASH, len(prefix))


def _glob_closure(pattern: str, positions: Iterable[int]) -> frozenset[int]:
    found = set(positions)
    stack = list(found)
    while stack:
        i = stack.pop()
        if i < len(pattern) and pattern[i] == "*" and i + 1 not in found:
            found.add(i + 1)
            stack.append(i + 1)
    return frozenset(found)


def _merge_automata(
    automata: Sequence[tuple[tuple[int, str], str, str]],
) -> list[tuple[tuple[tuple[int, str], ...], str, frozenset[int]]]:
    """(tag, pattern, text read first) → (tags, pattern, start positions), one per distinct
    (pattern, start)."""
    merged: dict[tuple[str, frozenset[int]], list[tuple[int, str]]] = {}
    for tag, pattern, text in automata:
        merged.setdefault((pattern, _glob_read(pattern, text)), []).append(tag)
    return [(tuple(tags), pattern, start) for (pattern, start), tags in merged.items()]


def _verbs(route: ApiRoute) -> tuple[str, ...]:
    return METHODS if route.method == "ANY" else route_methods(route)


def _glob_read(pattern: str, text: str) -> frozenset[int]:
    positions = _glob_closure(pattern, [0])
    for char in text:
        positions = _glob_step(pattern, positions, char)
    return positions


@functools.lru_cache(maxsize=65536)
def _glob_step(pattern: str, positions: frozenset[int], char: str) -> frozenset[int]:
    after = set()
    for i in positions:
        if i < len(pattern) and pattern[i] == "*":
            after.add(i)
        elif i < len(pattern) and pattern[i] == char:
            after.add(i + 1)
    return _glob_closure(pattern, after)


@dataclass(frozen=True)
class _Layout:
    """Everything path-dependent the config decides, for concrete paths and for cells."""

    routers: Mapping[str, Router]
    routes: tuple[ApiRoute, ...]
    api_resources: tuple[str, ...]  # literal resources; each also has a {proxy+} child
    stage: str = "api"
    # Answers already computed (cells, doors): the rule and the table ask the same questions.
    memo: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)

    def api_resource(self, path: str) -> str:
        """The API resource a request lands on: the deepest literal one, else its {proxy+}."""
        normalized = path.rstrip("/") or "/"
        best = "/"
        for resource in self.api_resources:
            if _under(normalized, resource) and len(resource) > len(best):
                best = resource
        if normalized == best:
            return best
        return f"/{PROXY}" if best == "/" else f"{best}/{PROXY}"

    def cell_of(self, path: str) -> Cell:
        if ("cell", path) not in self.memo:
            self.memo[("cell", path)] = self._cell_of(path)
        return self.memo[("cell", path)]

    def _cell_of(self, path: str) -> Cell:
        routes = frozenset(
            (i, verb)
            for i, route in enumerate(self.routes)
            for verb in METHODS
            if any(
                _glob_regex(g).fullmatch(request_tail(self.stage, verb, path))
                for g in route_patterns(route)
            )
        )
        named = frozenset(
            (i, verb)
            for i, route in enumerate(self.routes)
            for verb in _verbs(route)
            if any(_glob_regex(g).fullmatch(path) for g in route_paths(route))
        )
        serving = tuple((e, r.serving(path)) for e, r in self.routers.items())
        return Cell(path, serving, routes, self.api_resource(path), named)

    def cells(self, limit: int = 200_000) -> list[Cell]:
        """One cell per distinct way the entries treat a path (breadth-first: short examples)."""
        # One automaton per (route, pattern, verb), started on "<stage>/<VERB>/": the path is
        # what it reads next.
        policy_patterns = [
            ((i, verb), g, request_tail(self.stage, verb, "/"))
            for i, route in enumerate(self.routes)
            for g in route_patterns(route)
            for verb in METHODS
        ]
        # ... and one per (route, named path, verb), on the path alone.
        names = [
            ((i, verb), g, "/")
            for i, route in enumerate(self.routes)
            for g in route_paths(route)
            for verb in _verbs(route)
        ]
        # Automata that read the same pattern from the same start are one automaton: the
        # route's verbs mostly share it (``*/*/p`` reads "<stage>/GET/" like "<stage>/PUT/").
        policy = _merge_automata(policy_patterns)
        globs = [*policy, *_merge_automata(names)]
        policy_globs = len(policy)
        prefixes = sorted(
            {p for r in self.routers.values() for p, _ in r.prefixes}
            | {p for r in self.routers.values() for p in r.fixed}
            | set(self.api_resources)
        )
        prefixes = [p for p in prefixes if p != "/"]
        used = {c for _, g, _ in globs for c in g if c != "*"} | {c for p in prefixes for c in p}
        filler = next(c for c in "zqxjkvwy0123456789-._~" if c not in used or c == "~")
        alphabet = sorted(used | {"/", filler})

        def signature(state: tuple[Any, ...], path: str) -> tuple[Any, ...]:
            glob_states, prefix_states = state
            hits = [
                (tags, len(glob) in s)
                for (tags, glob, _), s in zip(globs, glob_states, strict=True)
            ]
            routes = frozenset(t for tags, hit in hits[:policy_globs] if hit for t in tags)
            named = frozenset(t for tags, hit in hits[policy_globs:] if hit for t in tags)
            under = {p for p, s in zip(prefixes, prefix_states, strict=True) if _prefix_under(p, s)}
            serving: list[tuple[str, str | None]] = []
            exact = {p for p, s in zip(prefixes, prefix_states, strict=True) if s == len(p)}
            for entry, router in self.routers.items():
                if exact & set(router.fixed):
                    serving.append((entry, None))
                    continue
                best = max(
                    (p for p, _ in router.prefixes if p == "/" or p in under),
                    key=len,
                    default=None,
                )
                name = dict(router.prefixes)[best] if best is not None else router.default
                serving.append((entry, name))
            return (tuple(serving), routes, self.api_resource(path), named)

        # A state: each glob's positions, each prefix's state, and whether the path is "/"
        # itself or ends with "/" (the API resource and the no-"//" rule depend on those).
        start = (
            tuple(start for _, _, start in globs),
            tuple(_prefix_step(p, 0, "/") for p in prefixes),
            True,
            True,
        )
        seen: set[tuple[Any, ...]] = {start}
        queue: deque[tuple[tuple[Any, ...], str]] = deque([(start, "/")])
        cells: dict[tuple[Any, ...], Cell] = {}
        while queue:
            state, path = queue.popleft()
            key = signature(state[:2], path)
            if key not in cells:
                serving, routes, resource, named = key
                cells[key] = Cell(path, serving, routes, resource, named)
            glob_states, prefix_states, _, slash = state
            for char in alphabet:
                if char == "/" and slash:
                    continue  # '//' is no path a client sends
                nxt = (
                    tuple(
                        _glob_step(g, s, char)
                        for (_, g, _), s in zip(globs, glob_states, strict=True)
                    ),
                    tuple(
                        _prefix_step(p, s, char)
                        for p, s in zip(prefixes, prefix_states, strict=True)
                    ),
                    False,
                    char == "/",
                )
                if nxt in seen:
                    continue
                seen.add(nxt)
                if len(seen) > limit:
                    raise RuntimeError("exposure: path search exceeded its bound")
                queue.append((nxt, path + char))
        return list(cells.values())


_API_IAM = Auth("iam", ("principals of this account whose IAM policy allows execute-api:Invoke",))


def _iam_target(route: ApiRoute) -> str:
    """The API resource an AWS_IAM route's method is put on (ip_restricted_api.plan_methods)."""
    literal = route_literal_prefix(route.path)
    if route.path == literal:
        return literal
    return f"/{PROXY}" if literal == "/" else f"{literal}/{PROXY}"


def _layout(config: StackConfig) -> _Layout:
    routers: dict[str, Router] = {}
    if config.static_ip.enabled:
        fns = config.functions_exposed_by("staticIp")
        fixed = (NLB_HEALTH_PATH,) if config.static_ip.entry == "nlb" else ()
        routers["staticIp"] = Router(tuple((f.path, f.name) for f in fns), fixed=fixed)
    api_resources: set[str] = {"/"}
    routes: tuple[ApiRoute, ...] = ()
    if config.ip_restricted_api.enabled:
        fns = config.functions_exposed_by("ipRestrictedApi")
        routers["ipRestrictedApi"] = Router(tuple((f.path, f.name) for f in fns))
        routes = tuple(config.ip_restricted_api.routes)
        for fn in fns:
            api_resources.update(_prefixes(fn.path))
        for route in routes:
            if route.auth == "AWS_IAM":
                api_resources.update(_prefixes(route_literal_prefix(route.path)))
    if config.edge.enabled:
        fns = config.functions_exposed_by("edge")
        root = next((f for f in fns if f.path == "/"), None)
        # Without a function at '/' or a site, CloudFront's default behavior is the first
        # function's origin (components/edge.py): it answers every unmatched path.
        default = None if config.edge.static_site or root else fns[0].name
        routers["edge"] = Router(tuple((f.path, f.name) for f in fns), default)
    stage = config.ip_restricted_api.stage_name
    return _Layout(routers, routes, tuple(sorted(api_resources)), stage)


# --------------------------------------------------------------------------------------------
# doors
# --------------------------------------------------------------------------------------------


def _uses_ipv6(cidrs: Iterable[str]) -> bool:
    return any(":" in c for c in cidrs)


def _api_cidrs(config: StackConfig) -> list[str]:
    api = config.ip_restricted_api
    return [*api.allow, *api.deny, *(c for r in api.routes for c in (*r.allow, *r.deny))]


def _vpc_sources(config: StackConfig, extra: Sequence[str] = ()) -> Sources:
    """Callers inside the VPC: its CIDR when this stack creates it (an existing VPC's CIDR is
    not in the config: any address, but still only from inside)."""
    inside = (
        NetSet.anyone(ipv6=False) if config.network.existing else NetSet.of([config.network.cidr])
    )
    return Sources(inside | NetSet.of(extra), within_vpc=True)


def _listed(cidrs: Sequence[str], families: NetSet) -> NetSet:
    return NetSet.of(cidrs) if cidrs else families


@dataclass(frozen=True)
class _Entries:
    """Per-entry sources and restrictions, independent of the path."""

    config: StackConfig
    layout: _Layout

    def static_ip(self) -> tuple[Sources, list[Limit]]:
        sip = self.config.static_ip
        v6 = sip.entry == "global-accelerator" and sip.ip_address_type == "DUAL_STACK"
        sources = Sources(_listed(sip.allowed_cidrs, NetSet.anyone(ipv6=v6)))
        limits = []
        if sip.allowed_cidrs:
            limits.append(
                Limit("staticIp.allowedCidrs", sources, f"staticIp admits only {sources}")
            )
        return sources, limits

    def edge(self) -> tuple[Sources, list[Limit]]:
        cidrs = self.config.edge.allowed_cidrs
        sources = Sources(_listed(cidrs, NetSet.anyone()))  # CloudFront has IPv6 on
        limits = (
            [Limit("edge.allowedCidrs", sources, f"edge admits only {sources}")] if cidrs else []
        )
        return sources, limits

    def api_families(self) -> NetSet:
        return NetSet.anyone(ipv6=_uses_ipv6(_api_cidrs(self.config)))

    def api(self, path: str, method: str, cell: Cell) -> tuple[Sources, Auth, list[Limit]]:
        """The API's sources and authorization for one request (path, verb)."""
        api = self.config.ip_restricted_api
        families = self.api_families()
        reach = _vpc_sources(self.config) if api.private else Sources(families)
        limits: list[Limit] = []
        if api.allow:
            allowed = Sources(NetSet.of(api.allow))
            reach = reach & allowed
            limits.append(Limit("ipRestrictedApi.allow", allowed, f"the API admits only {allowed}"))
        if api.deny:
            refused = Sources(families, NetSet.of(api.deny))
            reach = reach & refused
            limits.append(Limit("ipRestrictedApi.deny", refused, f"the API admits {refused}"))
        for index in sorted({i for i, verb in cell.routes if verb == method}):
            route = api.routes[index]
            if route.allow or route.deny:
                own = Sources(_listed(route.allow, families), NetSet.of(route.deny))
                reach = reach & own
                if (index, method) not in cell.named:
                    continue  # the policy's reach beyond what the route names: not a promise
                limits.append(
                    Limit(
                        f"ipRestrictedApi.routes[{index}]",
                        own,
                        f"{route_label(route)} admits only {own}",
                    )
                )
        # Authorization is per API method, so an AWS_IAM route binds the resource it became
        # (``/a`` or ``/a/{proxy+}``), not every path its wildcard matches.
        for index, route in enumerate(api.routes):
            covers = route.method == "ANY" or method in route_methods(route)
            if route.auth == "AWS_IAM" and _iam_target(route) == cell.resource and covers:
                limits.append(
                    Limit(
                        f"ipRestrictedApi.routes[{index}]",
                        NOBODY,
                        f"{route_label(route)} is AWS_IAM (no anonymous caller)",
                    )
                )
                return reach, _API_IAM, limits
        return reach, NONE, limits


def _region_label(router: Router, name: str, fn_path: str) -> str:
    own = [fn_path, f"{fn_path}/*"] if fn_path != "/" else ["/*"]
    carved = sorted(
        p for p, n in router.prefixes if n != name and _under(p, fn_path) and p != fn_path
    )
    text = ", ".join(own)
    if router.default == name and fn_path != "/":
        text += ", unmatched paths"
    return f"{text} except {', '.join(carved)}" if carved else text


def _entry_hops(config: StackConfig, entry: str) -> tuple[str, ...]:
    if entry == "staticIp":
        sip = config.static_ip
        first = "Global Accelerator" if sip.entry == "global-accelerator" else "NLB (Elastic IPs)"
        return (first, "internal ALB")
    if entry == "ipRestrictedApi":
        if config.ip_restricted_api.private:
            return ("execute-api VPC endpoint", "REST API (PRIVATE)")
        return ("REST API (REGIONAL)",)
    if entry == "edge":
        waf = " + WAF" if config.edge.allowed_cidrs else ""
        return (f"CloudFront{waf}", "function URL (AWS_IAM)")
    if entry == "privateEndpoint":
        return ("Lambda VPC endpoint", "Lambda Invoke API")
    if entry == "functionUrl":
        return ("function URL (AWS_IAM)",)
    return ("Lambda Invoke API",)


_URLS = {
    "staticIp": "staticIpUrls",
    "ipRestrictedApi": "apiUrl",
    "edge": "edgeUrl",
    "privateEndpoint": "lambdaEndpointDns",
}


@dataclass(frozen=True)
class ExposureModel:
    """Every door to every function, and every place one entry widens another's restriction."""

    doors: tuple[Door, ...]
    conflicts: tuple[Conflict, ...]
    cells: tuple[Cell, ...]
    _config: StackConfig = field(repr=False, compare=False)
    _layout: _Layout = field(repr=False, compare=False)

    def for_function(self, name: str) -> list[Door]:
        return [d for d in self.doors if d.function == name]

    @property
    def widenings(self) -> list[Conflict]:
        """Conflicts no ``widerExposure`` accepts: each one stops the program."""
        return [c for c in self.conflicts if not c.intended]

    def reach(
        self, function: str, entry: str, path: str, method: str = "GET"
    ) -> tuple[Sources, Auth] | None:
        """Who reaches ``function`` through ``entry`` with this request (None: not served)."""
        cell = self._layout.cell_of(path)
        if entry == "internalAlb":
            inside = _internal_alb(self._config)
            if inside is None or cell.function("staticIp") != function:
                return None
            return inside, NONE
        found = _door_at(self._config, self._layout, entry, function, cell, method)
        return None if found is None else found[:2]

    def limits(self, function: str, entry: str, path: str, method: str = "GET") -> list[Limit]:
        """The restrictions ``entry`` puts on this request to ``function`` (empty: none)."""
        cell = self._layout.cell_of(path)
        found = _door_at(self._config, self._layout, entry, function, cell, method)
        return [] if found is None else found[2]

    def rows(self) -> list[dict[str, str]]:
        """The exposure table, one row per door: the ``exposure`` stack output's shape (with the
        ``url`` placeholder naming the output that holds the value)."""
        return [
            {
                "function": d.function,
                "entry": d.entry,
                "paths": d.paths,
                "url": d.url,
                "sources": str(d.sources),
                "auth": str(d.auth),
                "via": " → ".join(d.hops),
                **({"widerExposure": "intended"} if d.wider_intended else {}),
            }
            for d in self.doors
        ]


def _door_at(
    config: StackConfig, layout: _Layout, entry: str, function: str, cell: Cell, method: str
) -> tuple[Sources, Auth, list[Limit]] | None:
    key = ("door", entry, function, cell, method)
    if key not in layout.memo:
        layout.memo[key] = _compute_door(config, layout, entry, function, cell, method)
    return layout.memo[key]


def _compute_door(
    config: StackConfig, layout: _Layout, entry: str, function: str, cell: Cell, method: str
) -> tuple[Sources, Auth, list[Limit]] | None:
    if cell.function(entry) != function:
        return None
    entries = _Entries(config, layout)
    if entry == "staticIp":
        sources, limits = entries.static_ip()
        return sources, NONE, limits
    if entry == "edge":
        sources, limits = entries.edge()
        return sources, _edge_auth(config), limits
    if entry == "ipRestrictedApi":
        return entries.api(cell.path, method, cell)
    return None


def _internal_alb(config: StackConfig) -> Sources | None:
    """Who reaches the accelerator's internal ALB around the accelerator: callers inside the
    VPC that its security group admits (the same rules as the clients'). None for entry nlb,
    whose ALB admits only the NLB's group."""
    if not config.static_ip.enabled or config.static_ip.entry != "global-accelerator":
        return None
    # An existing VPC may carry IPv6 (DUAL_STACK needs it): any address, from inside.
    net = config.network
    inside = NetSet.anyone() if net.existing else NetSet.of([net.cidr])
    return _Entries(config, _layout(config)).static_ip()[0] & Sources(inside, within_vpc=True)


def _edge_auth(config: StackConfig) -> Auth:
    how = "OAC" if config.edge.signing == "oac" else "Lambda@Edge SigV4 signer"
    return Auth("cloudfront-signed", note=f"signed by {how}")


def _account(fn: FunctionConfig) -> str:
    if fn.arn:
        return (
            f"principals of account {fn.arn.split(':')[4]} allowed lambda:InvokeFunction, "
            "and whatever the function's own resource policy grants"
        )
    return "principals of this account allowed lambda:InvokeFunction"


def _api_groups(
    config: StackConfig, layout: _Layout, fn: FunctionConfig, cells: Sequence[Cell]
) -> list[Door]:
    """The API's doors to ``fn``: one per distinct (sources, auth), labelled by route."""
    groups: dict[tuple[str, str], tuple[Sources, Auth, set[str], bool]] = {}
    for cell in cells:
        for method in METHODS:
            found = _door_at(config, layout, "ipRestrictedApi", fn.name, cell, method)
            if found is None:
                continue
            sources, auth, limits = found
            key = (str(sources), str(auth))
            routes = config.ip_restricted_api.routes
            labels = {
                route_label(routes[int(m.group(1))])
                for lim in limits
                if (m := re.match(r"ipRestrictedApi\.routes\[(\d+)\]$", lim.key))
            }
            # Paths a route's policy pattern reaches without naming them (its stage wildcard
            # spans '/'): "*/admin" reads as "anything ending in /admin".
            labels = labels or {
                f"*{routes[i].path}"
                for i, verb in cell.routes - cell.named
                if verb == method and (routes[i].allow or routes[i].deny)
            }
            _, _, seen, residual = groups.get(key, (sources, auth, set(), False))
            groups[key] = (sources, auth, seen | labels, residual or not labels)
    router = layout.routers["ipRestrictedApi"]
    region = _region_label(router, fn.name, fn.path)
    several = len(groups) > 1
    doors = []
    for sources, auth, labels, residual in groups.values():
        # "*/admin" only adds to a row that does not already name the route ("ANY /admin").
        named = {label.split(" ", 1)[1] for label in labels if not label.startswith("*")}
        parts = sorted(x for x in labels if not (x.startswith("*") and x[1:] in named))
        if residual:
            parts.append(f"{region} (other paths)" if several else region)
        doors.append(
            Door(
                fn.name,
                "ipRestrictedApi",
                "; ".join(parts),
                sources,
                auth,
                _entry_hops(config, "ipRestrictedApi"),
                _URLS["ipRestrictedApi"],
            )
        )
    return doors


def _conflicts(config: StackConfig, layout: _Layout, cells: Sequence[Cell]) -> list[Conflict]:
    found: list[Conflict] = []
    seen: set[tuple[str, str, str]] = set()
    for index, fn in enumerate(config.functions):
        for cell in cells:
            for method in METHODS:
                doors = {
                    entry: d
                    for entry in layout.routers
                    if (d := _door_at(config, layout, entry, fn.name, cell, method)) is not None
                }
                for entry, (_, _, limits) in doors.items():
                    for limit in limits:
                        for other, (sources, auth, _) in doors.items():
                            anonymous = sources if auth.anonymous else NOBODY
                            if other == entry or anonymous <= limit.sources:
                                continue
                            if (limit.key, fn.name, other) in seen:
                                continue
                            seen.add((limit.key, fn.name, other))
                            found.append(
                                Conflict(
                                    limit,
                                    fn.name,
                                    index,
                                    other,
                                    cell.path,
                                    method,
                                    anonymous,
                                    other in fn.wider_exposure,
                                )
                            )
    return found


_MODELS: dict[str, ExposureModel] = {}


def exposure_model(config: StackConfig) -> ExposureModel:
    """Every door to every function of ``config`` (pure: config in, records out).

    Computed once per config: the validator and ``__main__`` ask for the same one.
    """
    key = config.model_dump_json()
    if key not in _MODELS:
        if len(_MODELS) > 64:
            _MODELS.clear()
        _MODELS[key] = _exposure_model(config)
    return _MODELS[key]


def _exposure_model(config: StackConfig) -> ExposureModel:
    layout = _layout(config)
    cells = layout.cells() if layout.routers else []
    conflicts = _conflicts(config, layout, cells)
    intended = {(c.function, c.entry) for c in conflicts if c.intended}
    entries = _Entries(config, layout)
    doors: list[Door] = []
    for fn in config.functions:
        served = config.entries_of(fn)
        for entry in ENTRIES:
            if entry not in served or not config.entry_enabled(entry):
                continue
            if entry in ("staticIp", "edge"):
                if not any(c.function(entry) == fn.name for c in cells):
                    continue
                sources, _ = entries.static_ip() if entry == "staticIp" else entries.edge()
                doors.append(
                    Door(
                        fn.name,
                        entry,
                        _region_label(layout.routers[entry], fn.name, fn.path),
                        sources,
                        NONE if entry == "staticIp" else _edge_auth(config),
                        _entry_hops(config, entry),
                        _URLS[entry],
                    )
                )
                inside = _internal_alb(config) if entry == "staticIp" else None
                if inside is not None and inside.addresses:
                    # Internal, but not only behind the accelerator: from inside the VPC the
                    # ALB answers whoever its group admits. Never wider than staticIp itself.
                    doors.append(
                        Door(
                            fn.name,
                            "internalAlb",
                            doors[-1].paths,
                            inside,
                            NONE,
                            ("internal ALB",),
                            "",
                        )
                    )
            elif entry == "ipRestrictedApi":
                doors.extend(_api_groups(config, layout, fn, cells))
            elif entry == "privateEndpoint":
                if fn.arn and fn.arn.split(":")[3] != config.region:
                    continue  # left out of the endpoint policy (components/private_endpoint.py)
                pe = config.private_endpoint
                doors.append(
                    Door(
                        fn.name,
                        entry,
                        "(Invoke API)",
                        _vpc_sources(config, pe.allowed_cidrs),
                        Auth(
                            "iam",
                            tuple(pe.allowed_principals)
                            or ("principals of this account allowed lambda:InvokeFunction",),
                            "the endpoint policy and the caller's IAM policy must both allow",
                        ),
                        _entry_hops(config, entry),
                        _URLS[entry],
                    )
                )
        if "edge" in served and config.edge.enabled:
            principals = ["principals of this account allowed lambda:InvokeFunctionUrl"]
            if config.edge.signing == "oac":
                principals.append("the edge CloudFront distribution (OAC)")
            doors.append(
                Door(
                    fn.name,
                    "functionUrl",
                    "/*",
                    Sources(NetSet.anyone()),
                    Auth("iam", tuple(principals), "unsigned calls answer 403"),
                    _entry_hops(config, "functionUrl"),
                    f"functionUrls.{fn.name}",
                )
            )
        doors.append(
            Door(
                fn.name,
                "invokeApi",
                "(Invoke API)",
                Sources(NetSet.anyone()),
                Auth("iam", (_account(fn),), "a Lambda resource policy cannot deny"),
                _entry_hops(config, "invokeApi"),
                f"functionArns.{fn.name}",
            )
        )
    doors = [
        replace(d, wider_intended=True) if (d.function, d.entry) in intended else d for d in doors
    ]
    return ExposureModel(tuple(doors), tuple(conflicts), tuple(cells), config, layout)


# --------------------------------------------------------------------------------------------
# the consistency rule, as one config error
# --------------------------------------------------------------------------------------------

_ALLOW_LIST_KEYS = {
    "staticIp": "staticIp.allowedCidrs",
    "edge": "edge.allowedCidrs",
    "ipRestrictedApi": "ipRestrictedApi.allow",
}


def consistency_error(config: StackConfig) -> str | None:
    """The message for the first restriction another entry widens, or None.

    One line (the config error format): the restriction's key first, then each widening
    entry's key with what it admits, then the three ways out.
    """
    widenings = exposure_model(config).widenings
    if not widenings:
        return None
    first = widenings[0]
    same = [c for c in widenings if c.limit.key == first.limit.key and c.function == first.function]
    fn = config.functions[first.function_index]
    key = f"functions[{first.function_index}]"
    wideners = list(dict.fromkeys(c.entry for c in same))
    admits = [
        f"lambda-exposure:{c.entry} admits {c.sources.cidrs()} on {c.path} through function "
        f"{c.function}"
        for c in same
    ]
    narrowed = [e for e in config.entries_of(fn) if e not in wideners]
    allow_lists = " / ".join(_ALLOW_LIST_KEYS[e] for e in wideners)
    wider = sorted({*fn.wider_exposure, *wideners}, key=ENTRIES.index)
    return (
        f"{first.limit.key}: {first.limit.what} for function {fn.name!r}, but "
        f"{' and '.join(admits)}. Ways out: narrow lambda-exposure:{key}.expose "
        f"(to [{', '.join(narrowed)}]), give {allow_lists} the same allow-list, or, if the "
        f"wider exposure is intended, set lambda-exposure:{key}.widerExposure: [{', '.join(wider)}]"
    )


def exposure_output(model: ExposureModel, values: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The ``exposure`` stack output: the table's rows, each ``url`` filled from ``values`` (the
    stack outputs, Pulumi Outputs allowed: nothing here resolves them)."""
    rows: list[dict[str, Any]] = []
    for row in model.rows():
        name, _, member = row["url"].partition(".")
        value = values.get(name) if name else None  # the internal ALB has no stack output
        if member and value is not None:
            value = value.get(member) if isinstance(value, Mapping) else None
        rows.append({**row, "url": value})
    return rows
