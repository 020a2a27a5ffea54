"""Benchmark handlers/ip_range_sync on the real ip-ranges.json versions.

    python -m bench.ip_range_sync [--runs 9]

1. Time (median) of one run's pure work on the 2.5 MB 2026-07-19 document: md5, parse, select,
   collapse, and plan every target against the live state left by the 2025-11-05 document.
2. Write calls of the 2025-11-05 -> 2026-07-19 update per target: this handler's plan, the
   "rewrite every rule" approach (remove all, add all), and the minimum the API batch sizes allow
   under add-before-remove.
Goal: (1) under 150 ms; (2) plan == minimum.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from collections.abc import Iterable

from handlers import ip_range_sync as irs
from tests.fixtures_path import ENV_VAR, fixtures_dir

OLD, NEW = "ip-ranges-2025-11-05.json", "ip-ranges-2026-07-19.json"
RULES = 60
PORTS = (443,)
SCENARIOS = [  # (label, services, regions)
    ("CLOUDFRONT, all regions", ("CLOUDFRONT",), ()),
    ("EC2 us-east-1", ("EC2",), ("us-east-1",)),
    ("S3, all regions", ("S3",), ()),
]


def selection(body: bytes, services: Iterable[str], regions: Iterable[str]) -> dict[int, list[str]]:
    v4, v6 = irs.select_networks(irs.parse_document(body), services, regions, ipv6=True)
    return {4: [str(n) for n in v4], 6: [str(n) for n in v6]}


def pool_after(sel: dict[int, list[str]], n_groups: int) -> list[irs.GroupState]:
    """The pool as a first sync of ``sel`` leaves it (planned from empty, applied in memory)."""
    empty = [irs.GroupState(f"sg-{i}", {4: {}, 6: {}}, {4: 0, 6: 0}) for i in range(n_groups)]
    plan = irs.plan_security_groups(empty, sel, PORTS, RULES)
    for g in empty:
        for family, cidr, port in plan.authorize.get(g.group_id, []):
            g.managed[family].setdefault(cidr, set()).add(port)
    return empty


def min_add_groups(groups: list[irs.GroupState], needed: dict[int, int]) -> int:
    """Fewest groups that can take the new rules (rooms counted with stale rules still present)."""
    best = 0
    for family, rules in needed.items():
        if not rules:
            continue
        rooms = sorted(
            (
                RULES - g.other_rules[family] - sum(len(p) for p in g.managed[family].values())
                for g in groups
            ),
            reverse=True,
        )
        total, k = 0, 0
        while total < rules:
            total += rooms[k] // len(PORTS) * len(PORTS)
            k += 1
        best = max(best, k)
    return best


def pl_min(adds: int, removes: int) -> int:
    a, r = math.ceil(adds / 100), math.ceil(removes / 100)
    return a + r - 1 if a and r else a + r


def one_run(
    new_body: bytes,
    services: Iterable[str],
    regions: Iterable[str],
    old_sel: dict[int, list[str]],
    groups: list[irs.GroupState],
) -> None:
    """The pure work of one handler run, timed by the caller."""
    irs.md5_hex(new_body)
    sel = selection(new_body, services, regions)
    for family in (4, 6):
        irs.plan_prefix_list(old_sel[family], sel[family], max_entries=1000)
        irs.plan_waf(old_sel[family], sel[family])
    irs.plan_security_groups(groups, sel, PORTS, RULES)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args(argv)
    base = fixtures_dir()
    if (
        base is None
        or not (base / "ip-ranges" / OLD).exists()
        or not (base / "ip-ranges" / NEW).exists()
    ):
        print(f"skipped: ip-ranges fixtures not found (set {ENV_VAR} or use ../shared/fixtures)")
        return 0
    old_body = (base / "ip-ranges" / OLD).read_bytes()
    new_body = (base / "ip-ranges" / NEW).read_bytes()
    print(
        f"document {NEW}: {len(new_body) / 1e6:.2f} MB; "
        f"ports {list(PORTS)}; RULES_PER_GROUP {RULES}"
    )
    ok = True
    for label, services, regions in SCENARIOS:
        old_sel = selection(old_body, services, regions)
        new_sel = selection(new_body, services, regions)
        transient = max(len(set(old_sel[f]) | set(new_sel[f])) for f in (4, 6))
        n_groups = math.ceil(transient * len(PORTS) / RULES) + 1
        groups = pool_after(old_sel, n_groups)

        times = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            one_run(new_body, services, regions, old_sel, groups)
            times.append((time.perf_counter() - t0) * 1000)
        median = statistics.median(times)
        ok &= median < 150
        print(
            f"\n== {label}: IPv4 {len(old_sel[4])} -> {len(new_sel[4])}, "
            f"IPv6 {len(old_sel[6])} -> {len(new_sel[6])} collapsed prefixes"
        )
        print(
            f"   pure work per run: median {median:.1f} ms over {args.runs} runs "
            f"(min {min(times):.1f}, max {max(times):.1f})  goal < 150 ms"
        )
        print(
            f"   {'target':<16}{'+adds':>7}{'-removes':>9}{'plan':>6}"
            f"{'rewrite-all':>13}{'minimum':>9}"
        )
        rows = []
        for family in (4, 6):
            o, n = set(old_sel[family]), set(new_sel[family])
            plan = irs.plan_prefix_list(o, n, max_entries=1000)
            rewrite = math.ceil(len(o) / 100) + math.ceil(len(n) / 100)
            rows.append(
                (
                    f"prefixList v{family}",
                    len(n - o),
                    len(o - n),
                    plan.write_calls,
                    rewrite,
                    pl_min(len(n - o), len(o - n)),
                )
            )
        sg = irs.plan_security_groups(groups, new_sel, PORTS, RULES)
        used_old = sum(1 for g in groups if any(g.managed[f] for f in (4, 6)))
        stale_groups = {
            g.group_id
            for g in groups
            for f in (4, 6)
            for c in g.managed[f]
            if c not in set(new_sel[f])
        }
        needed = {f: len(set(new_sel[f]) - set(old_sel[f])) * len(PORTS) for f in (4, 6)}
        sg_min = len(stale_groups) + min_add_groups(groups, needed)
        sg_rewrite = used_old + len(sg.groups_in_use)
        rows.append(
            (
                f"SGs ({n_groups} pool)",
                sum(sg.added.values()),
                sum(sg.removed.values()),
                sg.write_calls,
                sg_rewrite,
                sg_min,
            )
        )
        for family in (4, 6):
            o, n = set(old_sel[family]), set(new_sel[family])
            addresses, added, removed = irs.plan_waf(o, n)
            calls = 0 if addresses is None else 1
            rows.append((f"wafIpSet v{family}", added, removed, calls, 1 if o or n else 0, calls))
        for name, a, r, p, rw, mn in rows:
            ok &= p == mn
            print(
                f"   {name:<16}{a:>7}{r:>9}{p:>6}{rw:>13}{mn:>9}"
                f"{'' if p == mn else '  <-- above minimum'}"
            )
        print(
            f"   total write calls: plan {sum(r[3] for r in rows)}, rewrite-all "
            f"{sum(r[4] for r in rows)}, minimum {sum(r[5] for r in rows)} (+1 S3 PutObject)"
        )
    print("\nall goals met" if ok else "\nGOAL MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
