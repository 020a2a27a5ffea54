"""Cost at a glance: what ``tools.cost`` counts in a synthesized stack, and the data it prices with.

Counts are asserted on the real program's graph (each example, the dev stack, a few options);
prices are read from ``tools/prices.json`` here too, so a price update changes no test, while a
miscount, a double count or an unclassified new resource type fails one.
"""

from __future__ import annotations

import datetime
import re
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.graph import synthetic_resource
from tools import cost
from tools.synth import REPO_ROOT, Resource, Synth, load_stack_file

EXAMPLES = REPO_ROOT / "examples"
EXISTING_VPC = {
    "vpcId": "vpc-0123456789abcdef0",
    "publicSubnetIds": ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"],
    "privateSubnetIds": ["subnet-0123456789abcdef2", "subnet-0123456789abcdef3"],
}
PRICES = cost.prices()


def counts(rows: list[cost.Row]) -> dict[str, int]:
    return {r.kind: r.count for r in rows}


def monthly(kind: str, count: int) -> float:
    price = PRICES["prices"][kind]
    hours = PRICES["hoursPerMonth"] if price["unit"] == "hour" else 1
    value = Decimal(str(price["price"])) * count * hours
    return float(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def example(synth: Any, name: str) -> Synth:
    path = EXAMPLES / name
    return synth(load_stack_file(path), stack=path.stem)


# --------------------------------------------------------------------------------------------
# counts on the shipped configs
# --------------------------------------------------------------------------------------------


def test_static_ip_nlb_is_an_nlb_an_alb_and_two_public_ipv4(synth) -> None:
    rows = cost.estimate(example(synth, "static-ip-nlb.yaml"))
    # The NLB's two subnet mappings carry the two Elastic IPs: billed once, as the EIPs.
    assert counts(rows) == {"applicationLoadBalancer": 1, "networkLoadBalancer": 1, "publicIpv4": 2}
    by_kind = {r.kind: r for r in rows}
    assert by_kind["publicIpv4"].resources == ("static-ip-eip-0", "static-ip-eip-1")
    assert by_kind["publicIpv4"].monthly == monthly("publicIpv4", 2)
    expected = monthly("applicationLoadBalancer", 1) + monthly("networkLoadBalancer", 1)
    assert cost.total(rows) == pytest.approx(expected + monthly("publicIpv4", 2))


def test_static_egress_is_a_nat_gateway_and_its_elastic_ip(synth) -> None:
    rows = cost.estimate(example(synth, "static-egress.yaml"))
    assert counts(rows) == {"natGateway": 1, "publicIpv4": 1}
    assert {r.kind: r.resources for r in rows}["publicIpv4"] == ("static-egress-ip-0",)


def test_one_nat_gateway_and_address_per_zone_with_nat_per_az(synth) -> None:
    rows = cost.estimate(
        synth({"network": {"azCount": 3}, "staticEgress": {"enabled": True, "natPerAz": True}})
    )
    assert counts(rows) == {"natGateway": 3, "publicIpv4": 3}


def test_private_endpoint_is_billed_per_zone(synth) -> None:
    rows = cost.estimate(example(synth, "private-endpoint.yaml"))
    assert counts(rows) == {"interfaceEndpoint": 2}
    assert rows[0].monthly == monthly("interfaceEndpoint", 2)
    three = cost.estimate(synth({"network": {"azCount": 3}, "privateEndpoint": {"enabled": True}}))
    assert counts(three) == {"interfaceEndpoint": 3}


def test_a_private_api_pays_for_its_execute_api_endpoint(synth) -> None:
    assert counts(cost.estimate(example(synth, "ip-restricted-api-private.yaml"))) == {
        "interfaceEndpoint": 2
    }


def test_the_dev_stack_is_an_accelerator_its_two_addresses_and_an_alb(synth) -> None:
    result = synth(load_stack_file(REPO_ROOT / "Pulumi.dev.yaml"), stack="dev")
    rows = cost.estimate(result)
    assert counts(rows) == {"globalAccelerator": 1, "applicationLoadBalancer": 1, "publicIpv4": 2}
    # The ALB is internal (no address); the two anycast IPv4 are the accelerator's.
    assert {r.kind: r.resources for r in rows}["publicIpv4"] == ("static-ip-accelerator",)


def test_a_dual_stack_accelerator_pays_for_its_ipv4_only(synth) -> None:
    rows = cost.estimate(
        synth(
            {
                "network": EXISTING_VPC,
                "staticIp": {"enabled": True, "ipAddressType": "DUAL_STACK"},
            }
        )
    )
    assert counts(rows)["publicIpv4"] == 2


def test_each_extra_region_adds_an_alb(synth) -> None:
    rows = cost.estimate(synth({"staticIp": {"enabled": True, "regions": ["eu-central-1"]}}))
    assert counts(rows) == {"globalAccelerator": 1, "applicationLoadBalancer": 2, "publicIpv4": 2}


def test_the_edge_allow_list_is_a_web_acl_and_its_two_rules(synth) -> None:
    # allowedCidrs: one web ACL, a rule admitting the listed sources and a rate limit per IP.
    rows = cost.estimate(example(synth, "edge-lambda-edge.yaml"))
    assert counts(rows) == {"wafWebAcl": 1, "wafRule": 2}
    assert cost.estimate(example(synth, "edge-oac.yaml")) == []


@pytest.mark.parametrize(
    "name",
    ["ip-restricted-api.yaml", "edge-oac.yaml", "edge-static-site.yaml", "ip-range-sync.yaml"],
)
def test_patterns_billed_per_request_have_no_fixed_cost(synth, name: str) -> None:
    assert cost.estimate(example(synth, name)) == []


# --------------------------------------------------------------------------------------------
# counting rules the shipped configs do not reach
# --------------------------------------------------------------------------------------------


def _resource(type_: str, name: str, **inputs: Any) -> Resource:
    return synthetic_resource(type_, name, inputs)


def _graph(*resources: Resource) -> Synth:
    return Synth(resources=list(resources), outputs={}, calls=[], warnings=[], region="us-east-1")


def test_an_internet_facing_load_balancer_without_elastic_ips_has_an_address_per_zone() -> None:
    subnets = ["subnet-a", "subnet-b", "subnet-c"]
    lb = "aws:lb/loadBalancer:LoadBalancer"
    rows = cost.estimate(
        _graph(
            _resource(lb, "public-alb", internal=False, subnets=subnets),
            _resource(lb, "internal-alb", internal=True, subnets=subnets),
            _resource(
                lb, "nlb", loadBalancerType="network", subnetMappings=[{"subnetId": "subnet-a"}]
            ),
        )
    )
    assert counts(rows) == {"applicationLoadBalancer": 2, "networkLoadBalancer": 1, "publicIpv4": 4}


def test_a_regional_nat_gateway_is_counted_per_zone() -> None:
    nat = "aws:ec2/natGateway:NatGateway"
    manual = _resource(
        nat,
        "manual",
        availabilityMode="regional",
        availabilityZoneAddresses=[
            {"availabilityZone": z, "allocationIds": ["eipalloc-1"]} for z in "abc"
        ],
    )
    assert counts(cost.estimate(_graph(manual))) == {"natGatewayRegional": 3}
    subnets = [
        _resource("aws:ec2/subnet:Subnet", f"s{i}", availabilityZone=f"eu-west-1{z}")
        for i, z in enumerate("aabb")
    ]
    automatic = _resource(nat, "auto", availabilityMode="regional")
    assert counts(cost.estimate(_graph(automatic, *subnets))) == {
        "natGatewayRegional": 2,
        "publicIpv4": 2,
    }


def test_a_gateway_endpoint_is_free() -> None:
    endpoint = _resource(
        "aws:ec2/vpcEndpoint:VpcEndpoint",
        "s3",
        vpcEndpointType="Gateway",
        serviceName="com.amazonaws.eu-west-1.s3",
    )
    assert cost.estimate(_graph(endpoint)) == []


# --------------------------------------------------------------------------------------------
# the data file
# --------------------------------------------------------------------------------------------


def test_every_price_has_its_unit_date_region_and_source() -> None:
    assert PRICES["hoursPerMonth"] == 730
    assert PRICES["currency"] == "USD"
    today = datetime.date.today()
    for kind, price in PRICES["prices"].items():
        assert {
            "label",
            "short",
            "price",
            "unit",
            "per",
            "region",
            "date",
            "source",
            "note",
        } <= price.keys(), kind
        assert isinstance(price["price"], float | int) and price["price"] > 0, kind
        assert price["unit"] in ("hour", "month"), kind
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", price["date"]), kind
        assert datetime.date.fromisoformat(price["date"]) <= today, kind
        assert re.fullmatch(r"https://aws\.amazon\.com/[a-z0-9/-]+/pricing/", price["source"]), kind
        assert price["region"] and price["per"] and price["label"], kind


def test_every_price_is_used_and_every_priced_type_is_counted() -> None:
    used = {kind for kinds in PRICES["pricedTypes"].values() for kind in kinds}
    assert used == set(PRICES["prices"])
    assert set(PRICES["pricedTypes"]) == set(cost.COUNTERS)
    assert not set(PRICES["pricedTypes"]) & set(PRICES["unpricedTypes"])
    assert all(reason.strip() for reason in PRICES["unpricedTypes"].values())


def _matrix() -> list[tuple[str, dict[str, Any]]]:
    shipped = [
        (p.name, load_stack_file(p))
        for p in [REPO_ROOT / "Pulumi.dev.yaml", *sorted(EXAMPLES.glob("*.yaml"))]
    ]
    options: list[tuple[str, dict[str, Any]]] = [
        (
            "nlb-egress-per-az",
            {
                "staticIp": {"enabled": True, "entry": "nlb"},
                "staticEgress": {"enabled": True, "natPerAz": True},
            },
        ),
        ("regions", {"staticIp": {"enabled": True, "regions": ["eu-central-1"]}}),
        (
            "dual-stack",
            {"network": EXISTING_VPC, "staticIp": {"enabled": True, "ipAddressType": "DUAL_STACK"}},
        ),
        (
            "api-options",
            {"ipRestrictedApi": {"enabled": True, "accessLogs": True, "cloudWatchRole": True}},
        ),
        (
            "sync-every-target",
            {
                "ipRangeSync": {
                    "enabled": True,
                    "targets": ["prefixList", "securityGroup", "wafIpSet"],
                }
            },
        ),
        (
            "site-with-waf",
            {
                "functions": [{"name": "api", "handler": "app", "path": "/api"}],
                "edge": {"enabled": True, "staticSite": True, "allowedCidrs": ["203.0.113.0/24"]},
            },
        ),
        (
            "endpoint-existing-vpc",
            {"network": EXISTING_VPC, "privateEndpoint": {"enabled": True, "privateDns": False}},
        ),
    ]
    return shipped + options


def test_every_resource_type_the_program_creates_is_priced_or_known_to_have_no_fixed_price(
    synth,
) -> None:
    """A new resource type makes this fail until prices.json says whether it costs by the hour."""
    classified = set(PRICES["pricedTypes"]) | set(PRICES["unpricedTypes"])
    created: dict[str, str] = {}
    for case, config in _matrix():
        for resource in synth(config).resources:
            if resource.custom:
                created.setdefault(resource.type, case)
    missing = {t: case for t, case in created.items() if t not in classified}
    assert missing == {}, f"classify these in tools/prices.json: {missing}"
    # Every priced kind of the program shows up in the matrix, so each counter runs on a real graph.
    assert {t for t in PRICES["pricedTypes"] if t in created} == set(PRICES["pricedTypes"]) - {
        "aws:route53/zone:Zone"
    }


# --------------------------------------------------------------------------------------------
# what the preview, the command and the README get
# --------------------------------------------------------------------------------------------


def test_render_has_a_row_per_kind_a_total_and_the_caveat(synth) -> None:
    rows = cost.estimate(example(synth, "static-ip-nlb.yaml"))
    lines = cost.render(rows, region="eu-west-1")
    assert "eu-west-1" in lines[0] and "730 h" in lines[0]
    assert lines[1].split() == ["kind", "count", "unit", "price", "per", "month"]
    body = {line.split("  ")[1].strip(): line for line in lines[2:-2]}
    assert set(body) == {
        "Application Load Balancer",
        "Network Load Balancer",
        "Public IPv4 address",
    }
    assert body["Public IPv4 address"].split()[3:] == [
        "2",
        "$0.005/h",
        "per",
        "address",
        f"${monthly('publicIpv4', 2):.2f}",
    ]
    assert lines[-2].split() == ["total", f"${cost.total(rows):.2f}"]
    assert lines[-1].strip() == cost.CAVEAT
    assert "Before traffic" in cost.CAVEAT


def test_render_without_fixed_costs_says_so() -> None:
    lines = cost.render([])
    assert lines[1].strip().startswith("none:") and lines[-1].strip() == cost.CAVEAT


def test_pattern_costs_are_the_estimates_of_the_pattern_examples(synth) -> None:
    table = cost.pattern_costs()
    assert list(table) == list(cost.PATTERN_EXAMPLES)
    for pattern, name in cost.PATTERN_EXAMPLES.items():
        assert table[pattern] == cost.summary(cost.estimate(example(synth, name))), pattern
    nlb = (
        monthly("applicationLoadBalancer", 1)
        + monthly("networkLoadBalancer", 1)
        + monthly("publicIpv4", 2)
    )
    assert table["staticIp nlb"].startswith(f"${nlb:.2f}: ALB $")
    assert "public IPv4 (2)" in table["staticIp nlb"]
    assert table["ipRestrictedApi"] == "none (per request)"
    endpoints = f"${monthly('interfaceEndpoint', 2):.2f}"
    assert table["privateEndpoint"] == f"{endpoints}: endpoint-AZ (2) {endpoints}"


def test_the_command_prints_the_table(capsys) -> None:
    assert cost.main(["--file", str(EXAMPLES / "static-egress.yaml")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# static-egress.yaml (region eu-west-1)\n")
    total = monthly("natGateway", 1) + monthly("publicIpv4", 1)
    assert re.search(rf"^  total\s+\${total:.2f}$", out, re.MULTILINE)
    assert "counted as NAT gateway: static-egress-nat-0" in out
    assert cost.main(["--stack", "dev"]) == 0
    assert "Global Accelerator" in capsys.readouterr().out


def test_the_command_refuses_bad_input_with_exit_2(capsys, tmp_path: Path) -> None:
    assert cost.main(["--stack", "nosuchstack"]) == 2
    assert "not found" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text("config:\n  aws:region: eu-west-1\n  lambda-exposure:network:\n    azCount: 9\n")
    assert cost.main(["--file", str(bad)]) == 2
    assert "lambda-exposure:network.azCount" in capsys.readouterr().err
