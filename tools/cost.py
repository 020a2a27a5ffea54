"""Cost at a glance: the fixed monthly cost of a stack before any traffic, per resource kind.

Counts what a synthesis registered (``tools.synth``: the real program under mocks, no AWS) and
prices it with the list prices kept, with their date and source, in ``tools/prices.json``::

    python -m tools.cost --stack dev                          # Pulumi.dev.yaml
    python -m tools.cost --file examples/static-ip-nlb.yaml

Only what is billed by the hour or the month whether or not anyone calls: accelerators, load
balancers, public IPv4 addresses, NAT gateways, interface endpoints per Availability Zone, WAF
web ACLs and rules. Everything else this program creates is billed per request, per GB or not at
all (``unpricedTypes`` in the data file says which and why). A month is 730 hours.

``estimate(synth)`` gives the rows, ``render(rows)`` the lines to print (for the offline preview
too), ``total(rows)`` the sum, and ``pattern_costs()`` the fixed cost of each pattern's example
config (for the README's pattern table).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from pathlib import Path
from typing import Any

from tools.synth import REPO_ROOT, Resource, Synth, load_stack_file, synthesize

PRICES_FILE = Path(__file__).with_name("prices.json")
CAVEAT = (
    "Before traffic: no LCU/NLCU-hours, data processing or transfer, requests, invocations or "
    "storage; us-east-1 list prices, other regions differ."
)
# One example config per row of the README's "Which pattern do I need?" table.
PATTERN_EXAMPLES = {
    "staticIp global-accelerator": "static-ip-global-accelerator.yaml",
    "staticIp nlb": "static-ip-nlb.yaml",
    "staticIp + waf": "static-ip-waf.yaml",
    "ipRestrictedApi": "ip-restricted-api.yaml",
    "ipRestrictedApi PRIVATE": "ip-restricted-api-private.yaml",
    "ipRestrictedApi + waf": "ip-restricted-api-waf.yaml",
    "edge": "edge-oac.yaml",
    "edge lambda-edge + allowedCidrs": "edge-lambda-edge.yaml",
    "edge + managedRules": "edge-managed-rules.yaml",
    "edge origin: vpc": "edge-vpc-origin.yaml",
    "privateEndpoint": "private-endpoint.yaml",
    "staticEgress": "static-egress.yaml",
    "staticEgress regional": "static-egress-regional.yaml",
    "ipRangeSync (AWS's CloudFront lists)": "ip-range-sync-managed-prefix-list.yaml",
    "ipRangeSync (synced)": "ip-range-sync.yaml",
}


@cache
def prices() -> dict[str, Any]:
    """The data file, parsed once."""
    data: dict[str, Any] = json.loads(PRICES_FILE.read_text())
    return data


@dataclass(frozen=True)
class Row:
    """One resource kind: how many the stack has, and what they cost a month before traffic."""

    kind: str  # key in prices.json "prices"
    label: str
    count: int
    unit_price: float
    unit: str  # "hour" or "month"
    per: str
    monthly: float
    resources: tuple[str, ...]  # logical names of what was counted

    @property
    def price_text(self) -> str:
        unit = "h" if self.unit == "hour" else self.unit
        return f"{_unit_price(self.unit_price)}/{unit} per {self.per}"


# A counter turns one registered resource into (kind, count) pairs.
Counted = list[tuple[str, int]]


def _accelerator(resource: Resource, synth: Synth) -> Counted:
    # Two static IPv4 addresses from Amazon's pool unless the program brings its own (BYOIP,
    # which the IPv4 charge does not apply to); the IPv6 pair of DUAL_STACK is not charged.
    byoip = len(resource.inputs.get("ipAddresses") or [])
    return [("globalAccelerator", 1), ("publicIpv4", max(0, 2 - byoip))]


def _load_balancer(resource: Resource, synth: Synth) -> Counted:
    kind = resource.inputs.get("loadBalancerType") or "application"
    if kind == "gateway":
        return []  # no Gateway Load Balancer is priced here: the coverage test says so
    counted: Counted = [
        ("networkLoadBalancer" if kind == "network" else "applicationLoadBalancer", 1)
    ]
    if not resource.inputs.get("internal"):
        # An internet-facing load balancer has a public IPv4 address in each of its zones.
        # Where a subnet mapping names an Elastic IP, that address is the Eip resource (counted
        # there, billed once); an ALB may add addresses as it scales, so this is the floor.
        mappings = resource.inputs.get("subnetMappings") or []
        if mappings:
            amazon_provided = sum(1 for m in mappings if not m.get("allocationId"))
        else:
            amazon_provided = len(resource.inputs.get("subnets") or [])
        counted.append(("publicIpv4", amazon_provided))
    return counted


def _eip(resource: Resource, synth: Synth) -> Counted:
    # Billed whether attached (to an NLB, a NAT gateway) or idle: a protected address kept
    # after its NAT gateway is gone still costs.
    return [("publicIpv4", 1)]


def _nat_gateway(resource: Resource, synth: Synth) -> Counted:
    if resource.inputs.get("availabilityMode") == "regional":
        addresses = resource.inputs.get("availabilityZoneAddresses") or []
        if addresses:
            return [("natGatewayRegional", len(addresses))]
        # Automatic mode follows the workloads: every zone the stack has subnets in, each with
        # an address from Amazon's pool.
        zones = {
            s.inputs.get("availabilityZone") or s.inputs.get("availabilityZoneId")
            for s in synth.of_type("aws:ec2/subnet:Subnet")
        }
        count = max(1, len(zones - {None}))
        return [("natGatewayRegional", count), ("publicIpv4", count)]
    # A zonal public NAT gateway's address is its Elastic IP, counted as the Eip resource.
    return [("natGateway", 1)]


def _vpc_endpoint(resource: Resource, synth: Synth) -> Counted:
    if (resource.inputs.get("vpcEndpointType") or "Gateway") != "Interface":
        return []  # gateway endpoints (S3, DynamoDB) are free
    # One network interface, and one billed endpoint-hour, per subnet (zone) it is placed in.
    return [("interfaceEndpoint", len(resource.inputs.get("subnetIds") or []))]


def _web_acl(resource: Resource, synth: Synth) -> Counted:
    return [("wafWebAcl", 1), ("wafRule", len(resource.inputs.get("rules") or []))]


def _hosted_zone(resource: Resource, synth: Synth) -> Counted:
    return [("route53HostedZone", 1)]


COUNTERS: dict[str, Callable[[Resource, Synth], Counted]] = {
    "aws:globalaccelerator/accelerator:Accelerator": _accelerator,
    "aws:lb/loadBalancer:LoadBalancer": _load_balancer,
    "aws:ec2/eip:Eip": _eip,
    "aws:ec2/natGateway:NatGateway": _nat_gateway,
    "aws:ec2/vpcEndpoint:VpcEndpoint": _vpc_endpoint,
    "aws:wafv2/webAcl:WebAcl": _web_acl,
    "aws:route53/zone:Zone": _hosted_zone,
}


def estimate(synth: Synth) -> list[Row]:
    """The fixed monthly cost of a synthesized stack, one row per priced kind it has.

    Rows come in the data file's order; kinds the stack has none of are left out. The total is
    ``total(rows)``; ``render`` prints both with ``CAVEAT``.
    """
    data = prices()
    counts: dict[str, int] = {}
    names: dict[str, list[str]] = {}
    for resource in synth.resources:
        counter = COUNTERS.get(resource.type)
        if counter is None:
            continue
        for kind, count in counter(resource, synth):
            if count:
                counts[kind] = counts.get(kind, 0) + count
                names.setdefault(kind, []).append(resource.name)
    rows = []
    for kind, price in data["prices"].items():
        if kind not in counts:
            continue
        per_month = data["hoursPerMonth"] if price["unit"] == "hour" else 1
        monthly = _cents(Decimal(str(price["price"])) * counts[kind] * per_month)
        rows.append(
            Row(
                kind=kind,
                label=price["label"],
                count=counts[kind],
                unit_price=price["price"],
                unit=price["unit"],
                per=price["per"],
                monthly=float(monthly),
                resources=tuple(names[kind]),
            )
        )
    return rows


def total(rows: Iterable[Row]) -> float:
    return float(_cents(sum((Decimal(str(r.monthly)) for r in rows), Decimal(0))))


def _cents(value: Decimal) -> Decimal:
    # Bills are in cents, rounded half up; each row is rounded so the total adds up on paper.
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _money(value: float) -> str:
    return f"${value:,.2f}"


def _unit_price(value: float) -> str:
    """$5.00, $0.025, $0.0225: cents always, more digits only where the price has them."""
    text = f"{Decimal(str(value)):f}"
    whole, _, fraction = text.partition(".")
    return f"${whole}.{fraction.rstrip('0').ljust(2, '0')}"


def render(rows: Sequence[Row], region: str | None = None) -> list[str]:
    """The table for the preview and ``python -m tools.cost``: kind, count, unit price, month."""
    heading = "Fixed monthly cost before traffic (730 h; prices: tools/prices.json)"
    if region and region != "us-east-1":
        heading += f"; this stack is in {region}, whose prices differ"
    if not rows:
        none = "  none: everything here is billed per request, per GB or not at all"
        return [heading, none, f"  {CAVEAT}"]
    cells = [[r.label, str(r.count), r.price_text, _money(r.monthly)] for r in rows]
    header = ["kind", "count", "unit price", "per month"]
    widths = [max(len(c[i]) for c in [header, *cells]) for i in range(4)]

    def line(values: Sequence[str]) -> str:
        return "  " + "  ".join(
            v.rjust(w) if i in (1, 3) else v.ljust(w)
            for i, (v, w) in enumerate(zip(values, widths, strict=True))
        )

    body = [line(header), *(line(c) for c in cells)]
    body.append(line(["total", "", "", _money(total(rows))]))
    return [heading, *(b.rstrip() for b in body), f"  {CAVEAT}"]


def summary(rows: Sequence[Row]) -> str:
    """One line, for the README's pattern table: total, then what it is made of."""
    if not rows:
        return "none (per request)"
    shorts = prices()["prices"]
    parts = [
        f"{shorts[r.kind]['short']} ({r.count})" if r.count > 1 else shorts[r.kind]["short"]
        for r in rows
    ]
    return f"{_money(total(rows))}: " + " + ".join(
        f"{p} {_money(r.monthly)}" for p, r in zip(parts, rows, strict=True)
    )


def pattern_costs() -> dict[str, str]:
    """The fixed monthly cost of each pattern's example config (``PATTERN_EXAMPLES``)."""
    result = {}
    for pattern, example in PATTERN_EXAMPLES.items():
        path = REPO_ROOT / "examples" / example
        rows = estimate(synthesize(load_stack_file(path), stack=path.stem))
        result[pattern] = summary(rows)
    return result


_STACK_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.cost", description=__doc__.split("\n")[0]
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--stack", help="stack name: reads Pulumi.<stack>.yaml")
    source.add_argument("--file", type=Path, help="any stack-config yaml (e.g. examples/*.yaml)")
    args = parser.parse_args(argv)
    if args.stack is not None and not _STACK_NAME.fullmatch(args.stack):
        print(f"error: {args.stack!r} is not a stack name", file=sys.stderr)
        return 2
    path = REPO_ROOT / f"Pulumi.{args.stack}.yaml" if args.stack else args.file
    if not path.is_file():
        print(f"error: {path} not found", file=sys.stderr)
        return 2
    import pulumi

    try:
        result = synthesize(load_stack_file(path), stack=args.stack or path.stem)
    except (pulumi.RunError, ValueError) as exc:
        for line in str(exc).splitlines():
            print(f"error: {line}", file=sys.stderr)
        return 2
    rows = estimate(result)
    print(f"# {path.name} (region {result.region})")
    print("\n".join(render(rows, result.region)))
    for row in rows:
        print(f"  counted as {row.label}: {', '.join(_distinct(row.resources))}")
    return 0


def _distinct(names: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(names))


if __name__ == "__main__":
    sys.exit(main())
