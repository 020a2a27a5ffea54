"""The exposure model: every door to every function of a config, and the consistency rule.

``exposure_model(config)`` builds it from the validated config alone (no Pulumi, no AWS);
``consistency_error(config)`` is the rule as one config error; ``exposure_output`` fills the
``exposure`` stack output from the model's rows.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from components.config import ENTRIES, FunctionConfig, StackConfig
from components.exposure.consistency import find_conflicts, widening_message
from components.exposure.entries import (
    Entries,
    edge_auth,
    entry_hops,
    entry_url,
    internal_alb,
    region_label,
    vpc_sources,
    waf_of,
)
from components.exposure.paths import METHODS, Cell, Layout, layout_of, route_label
from components.exposure.sources import NONE, Auth, Conflict, Door, Limit, NetSet, Sources

_ROUTE_KEY_RE = re.compile(r"ipRestrictedApi\.routes\[([0-9]+)\]")


@dataclass(frozen=True)
class ExposureModel:
    """Every door to every function, and every place one entry widens another's restriction."""

    doors: tuple[Door, ...]
    conflicts: tuple[Conflict, ...]
    cells: tuple[Cell, ...]
    _config: StackConfig = field(repr=False, compare=False)
    _layout: Layout = field(repr=False, compare=False)

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
            inside = internal_alb(self._config)
            if inside is None or cell.function("staticIp") != function:
                return None
            return inside, NONE
        found = Entries(self._config, self._layout).door(entry, function, cell, method)
        return None if found is None else found[:2]

    def limits(self, function: str, entry: str, path: str, method: str = "GET") -> list[Limit]:
        """The restrictions ``entry`` puts on this request to ``function`` (empty: none)."""
        cell = self._layout.cell_of(path)
        found = Entries(self._config, self._layout).door(entry, function, cell, method)
        return [] if found is None else found[2]

    def rows(self) -> list[dict[str, Any]]:
        """The exposure table, one row per door: the ``exposure`` stack output's shape (with the
        ``url`` placeholder naming the output that holds the value). ``allowedCidrs`` (a list, or
        None when the door admits every address) and ``examplePath`` (a path it serves, None for
        the Invoke API) are for machines: ``tools.smoke`` calls each door there and checks that a
        caller outside the list is refused."""
        return [
            {
                "function": d.function,
                "entry": d.entry,
                "paths": d.paths,
                "url": d.url,
                "sources": str(d.sources),
                "auth": str(d.auth),
                "via": " → ".join(d.hops),
                "allowedCidrs": d.allowed_cidrs,
                "examplePath": d.example_path,
                **({"widerExposure": "intended"} if d.wider_intended else {}),
                **({"waf": str(d.waf)} if d.waf else {}),
            }
            for d in self.doors
        ]


def _account(fn: FunctionConfig) -> str:
    if fn.arn:
        return (
            f"principals of account {fn.arn.split(':')[4]} allowed lambda:InvokeFunction, "
            "and whatever the function's own resource policy grants"
        )
    return "principals of this account allowed lambda:InvokeFunction"


def _api_groups(
    config: StackConfig, layout: Layout, fn: FunctionConfig, cells: Sequence[Cell]
) -> list[Door]:
    """The API's doors to ``fn``: one per distinct (sources, auth), labelled by route."""
    groups: dict[tuple[str, str], tuple[Sources, Auth, set[str], bool]] = {}
    examples: dict[tuple[str, str], str] = {}
    entries = Entries(config, layout)
    for cell in cells:
        for method in METHODS:
            found = entries.door("ipRestrictedApi", fn.name, cell, method)
            if found is None:
                continue
            sources, auth, limits = found
            key = (str(sources), str(auth))
            routes = config.ip_restricted_api.routes
            labels = {
                route_label(routes[int(m.group(1))])
                for lim in limits
                if (m := _ROUTE_KEY_RE.fullmatch(lim.key))
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
            if method == "GET":  # what a smoke check sends
                examples.setdefault(key, cell.path)
    router = layout.routers["ipRestrictedApi"]
    region = region_label(router, fn.name, fn.path)
    several = len(groups) > 1
    doors = []
    for key, (sources, auth, labels, residual) in groups.items():
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
                entry_hops(config, "ipRestrictedApi"),
                entry_url(config, "ipRestrictedApi"),
                example_path=examples.get(key),
            )
        )
    return doors


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
    layout = layout_of(config)
    cells = layout.cells() if layout.routers else []
    conflicts = find_conflicts(config, layout, cells)
    intended = {(c.function, c.entry) for c in conflicts if c.intended}
    entries = Entries(config, layout)
    doors: list[Door] = []
    for fn in config.functions:
        served = config.entries_of(fn)
        for entry in ENTRIES:
            if entry not in served or not config.entry_enabled(entry):
                continue
            if entry in ("staticIp", "edge"):
                if not any(c.function(entry) == fn.name for c in cells):
                    continue
                # The function's own path where this entry sends it there, else any it serves.
                own = layout.cell_of(fn.path).function(entry) == fn.name
                example = (
                    fn.path if own else next(c.path for c in cells if c.function(entry) == fn.name)
                )
                sources, _ = entries.static_ip() if entry == "staticIp" else entries.edge()
                doors.append(
                    Door(
                        fn.name,
                        entry,
                        region_label(layout.routers[entry], fn.name, fn.path),
                        sources,
                        NONE if entry == "staticIp" else edge_auth(config),
                        entry_hops(config, entry),
                        entry_url(config, entry),
                        example_path=example,
                    )
                )
                inside = internal_alb(config) if entry == "staticIp" else None
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
                            entry_hops(config, "internalAlb"),
                            "",
                            example_path=example,
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
                        vpc_sources(config, pe.allowed_cidrs),
                        Auth(
                            "iam",
                            tuple(pe.allowed_principals)
                            or ("principals of this account allowed lambda:InvokeFunction",),
                            "the endpoint policy and the caller's IAM policy must both allow",
                        ),
                        entry_hops(config, entry),
                        entry_url(config, entry),
                    )
                )
        if "edge" in served and config.edge.enabled and config.edge.origin == "function-url":
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
                    entry_hops(config, "functionUrl"),
                    f"functionUrls.{fn.name}",
                    example_path="/",
                )
            )
        doors.append(
            Door(
                fn.name,
                "invokeApi",
                "(Invoke API)",
                Sources(NetSet.anyone()),
                Auth("iam", (_account(fn),), "a Lambda resource policy cannot deny"),
                entry_hops(config, "invokeApi"),
                f"functionArns.{fn.name}",
            )
        )
    doors = [
        replace(d, wider_intended=True) if (d.function, d.entry) in intended else d for d in doors
    ]
    doors = [replace(d, waf=waf_of(config, d.entry)) for d in doors]
    return ExposureModel(tuple(doors), tuple(conflicts), tuple(cells), config, layout)


def consistency_error(config: StackConfig) -> str | None:
    """The message for the first restriction another entry widens, or None."""
    widenings = exposure_model(config).widenings
    return widening_message(config, widenings) if widenings else None


def exposure_output(model: ExposureModel, values: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The ``exposure`` stack output: the table's rows, each ``url`` filled from ``values`` (the
    stack outputs, Pulumi Outputs allowed: nothing here resolves them)."""
    rows: list[dict[str, Any]] = []
    for row in model.rows():
        names = row["url"].split()
        if len(names) <= 1:
            value = _output_value(row["url"], values)
        else:  # several outputs reach the door (a custom domain and the default URL): all
            value = []
            for name in names:
                found = _output_value(name, values)
                value.extend(found if isinstance(found, list) else [found] if found else [])
        rows.append({**row, "url": value})
    return rows


def _output_value(placeholder: str, values: Mapping[str, Any]) -> Any:
    name, _, member = placeholder.partition(".")
    value = values.get(name) if name else None  # the internal ALB has no stack output
    if member and value is not None:
        value = value.get(member) if isinstance(value, Mapping) else None
    return value
