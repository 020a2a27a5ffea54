"""Which function each entry routes a request path to, and the *cells* of the path space.

A function serves its prefix ``/p`` and ``/p/*`` (longest prefix wins) on the ALB, the API and
CloudFront, except that CloudFront without a function at ``/`` and without ``staticSite`` sends
unmatched paths to its first function's URL (a VPC origin's ALB answers them 404 instead). API
routes are IAM-style wildcards on the request path (``*`` spans segments; a route without a
trailing ``*`` also covers ``<path>/``), as
``components/api_policy.py`` writes them. The path space is split into cells (paths that every
entry treats alike) by a breadth-first search over the product of these small automata.
"""

from __future__ import annotations

import functools
import re
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from components.api_policy import route_methods, route_resources
from components.config import ApiRoute, StackConfig, route_literal_prefix
from components.exposure.sources import Auth, Limit, Sources

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
PROXY = "{proxy+}"
# Answered by the ALB itself for the NLB's health checks (components/static_ip.NLB_HEALTH_PATH,
# which imports Pulumi; a test checks the two agree).
NLB_HEALTH_PATH = "/.well-known/lambda-exposure/alb-health"

# What one entry does with one request: who reaches it, how, and the restrictions on the way.
DoorAt = tuple[Sources, Auth, list[Limit]]


def is_under(path: str, prefix: str) -> bool:
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
            if is_under(path, prefix) and (best is None or len(prefix) > len(best[0])):
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
class Layout:
    """Everything path-dependent the config decides, for concrete paths and for cells."""

    routers: Mapping[str, Router]
    routes: tuple[ApiRoute, ...]
    api_resources: tuple[str, ...]  # literal resources; each also has a {proxy+} child
    stage: str = "api"
    # Answers already computed: the rule and the table ask the same questions.
    cell_memo: dict[str, Cell] = field(default_factory=dict, compare=False, repr=False)
    door_memo: dict[tuple[str, str, Cell, str], DoorAt | None] = field(
        default_factory=dict, compare=False, repr=False
    )

    def api_resource(self, path: str) -> str:
        """The API resource a request lands on: the deepest literal one, else its {proxy+}."""
        normalized = path.rstrip("/") or "/"
        best = "/"
        for resource in self.api_resources:
            if is_under(normalized, resource) and len(resource) > len(best):
                best = resource
        if normalized == best:
            return best
        return f"/{PROXY}" if best == "/" else f"{best}/{PROXY}"

    def cell_of(self, path: str) -> Cell:
        if path not in self.cell_memo:
            self.cell_memo[path] = self._cell_of(path)
        return self.cell_memo[path]

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


def layout_of(config: StackConfig) -> Layout:
    """The routers, routes and API resources that ``config`` decides."""
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
        # function's origin (components/edge.py): it answers every unmatched path. A VPC
        # origin's ALB routes by path instead, and answers 404 itself where no function is.
        first = None if config.edge.origin == "vpc" else fns[0].name
        default = None if config.edge.static_site or root else first
        routers["edge"] = Router(tuple((f.path, f.name) for f in fns), default)
    stage = config.ip_restricted_api.stage_name
    return Layout(routers, routes, tuple(sorted(api_resources)), stage)
