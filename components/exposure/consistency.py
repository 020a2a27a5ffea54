"""The consistency rule: no entry widens a restriction another entry puts on a function path.

A *restriction* limits which network sources may reach a function path *anonymously*
(``staticIp.allowedCidrs``, ``edge.allowedCidrs``, ``ipRestrictedApi.allow``/``deny``,
``ipRestrictedApi.routes[i]``). Another enabled entry serving the same function and path that
admits an anonymous source outside it *widens* it, and the program stops, unless
``functions[i].widerExposure`` names that entry. IAM-authenticated doors never widen.
"""

from __future__ import annotations

from collections.abc import Sequence

from components.config import ENTRIES, StackConfig
from components.exposure.entries import Entries
from components.exposure.paths import METHODS, Cell, Layout
from components.exposure.sources import NOBODY, Conflict


def find_conflicts(config: StackConfig, layout: Layout, cells: Sequence[Cell]) -> list[Conflict]:
    """Every (restriction, function, other entry) where the other entry admits more anonymous
    sources on a path the restriction covers: the first cell and verb where it shows."""
    entries = Entries(config, layout)
    found: list[Conflict] = []
    seen: set[tuple[str, str, str]] = set()
    for index, fn in enumerate(config.functions):
        for cell in cells:
            for method in METHODS:
                doors = {
                    entry: d
                    for entry in layout.routers
                    if (d := entries.door(entry, fn.name, cell, method)) is not None
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


_ALLOW_LIST_KEYS = {
    "staticIp": "staticIp.allowedCidrs",
    "edge": "edge.allowedCidrs",
    "ipRestrictedApi": "ipRestrictedApi.allow",
}


def widening_message(config: StackConfig, widenings: Sequence[Conflict]) -> str:
    """The config error for the first of ``widenings`` (not empty).

    One line (the config error format): the restriction's key first, then each widening
    entry's key with what it admits, then the three ways out.
    """
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
