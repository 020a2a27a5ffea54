"""staticEgress.mode: regional and staticEgress.eipAllocationIds.

A regional NAT gateway in manual mode (every zone listed with its Elastic IP), routes from every
private route table, ``egressIps`` unchanged in meaning; your own Elastic IPs looked up, never
created, protected or listed for teardown; the counts and forms the config refuses.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.graph import EIP, NAT, ROUTE, ROUTE_TABLE, SUBNET
from tests.graph import STATIC_EGRESS_COMPONENT as COMPONENT
from tools import cost
from tools.synth import Resource, Synth, load_stack_file
from tools.teardown import plan

ROOT = Path(__file__).resolve().parent.parent
LOOKUP = "aws:ec2/getElasticIp:getElasticIp"
OWN = ["eipalloc-0123456789abcdef0", "eipalloc-12345678", "eipalloc-0123456789abcdef2"]
# What the lookup answers, fixed here so the outputs can be traced to it.
LOOKED_UP_IP = "192.0.2.44"


@pytest.fixture
def synth(synth_shared):
    """No test here patches the program: every graph of this module is a shared synthesis."""
    return synth_shared


def egress(az_count: int = 2, **options: Any) -> dict[str, Any]:
    return {"network": {"azCount": az_count}, "staticEgress": {"enabled": True, **options}}


def ours(result: Synth, type_: str) -> list[Resource]:
    component = result.one(COMPONENT)
    return [r for r in result.children_of(component) if r.type == type_]


def private_subnets(result: Synth) -> list[Resource]:
    return [
        s for s in result.of_type(SUBNET) if s.inputs["tags"]["lambda-exposure:tier"] == "private"
    ]


def private_tables(result: Synth) -> list[Resource]:
    return [t for t in result.of_type(ROUTE_TABLE) if t.name.startswith("network-private")]


def looked_up(synth: Any, config: dict[str, Any]) -> Synth:
    return synth(config, call_overrides={LOOKUP: {"id": "x", "publicIp": LOOKED_UP_IP}})


# -- mode: regional ---------------------------------------------------------------------------


@pytest.mark.parametrize("az_count", [2, 3])
def test_regional_nat_lists_every_zone_with_its_own_address(synth, az_count: int) -> None:
    result = synth(egress(az_count, mode="regional"))
    (nat,) = ours(result, NAT)
    eips = ours(result, EIP)
    assert len(eips) == az_count
    assert nat.inputs["availabilityMode"] == "regional"
    assert nat.inputs["connectivityType"] == "public"
    assert nat.inputs["vpcId"] == result.one("aws:ec2/vpc:Vpc").outputs["id"]
    # A regional gateway is in no subnet and takes no single allocation.
    assert "subnetId" not in nat.inputs and "allocationId" not in nat.inputs
    addresses = nat.inputs["availabilityZoneAddresses"]
    # Manual mode: every zone that has a private subnet, each with exactly its one address.
    assert [a["availabilityZone"] for a in addresses] == [
        s.inputs["availabilityZone"] for s in private_subnets(result)
    ]
    assert [a["allocationIds"] for a in addresses] == [[e.outputs["allocationId"]] for e in eips]
    assert all(e.protect for e in eips)


def test_every_private_route_table_routes_to_the_regional_nat(synth) -> None:
    result = synth(egress(3, mode="regional"))
    (nat,) = ours(result, NAT)
    routes = ours(result, ROUTE)
    assert sorted(r.inputs["routeTableId"] for r in routes) == sorted(
        t.outputs["id"] for t in private_tables(result)
    )
    for route in routes:
        assert route.inputs["destinationCidrBlock"] == "0.0.0.0/0"
        assert route.inputs["natGatewayId"] == nat.outputs["id"]


def test_regional_nat_waits_for_the_internet_gateway_and_is_replaced_delete_first(synth) -> None:
    result = synth(egress(mode="regional"))
    (nat,) = ours(result, NAT)
    assert result.depends_on(nat, result.one("aws:ec2/internetGateway:InternetGateway"))
    assert nat.delete_before_replace
    # The single zonal NAT's name: from natPerAz: false the switch frees ip-0 before it is reused.
    zonal = synth(egress())
    assert [n.name for n in ours(zonal, NAT)] == [nat.name]
    assert [e.name for e in ours(zonal, EIP)] == [e.name for e in ours(result, EIP)][:1]


def test_regional_egress_ips_are_the_zone_addresses_in_zone_order(synth) -> None:
    result = synth(egress(3, mode="regional"))
    assert result.outputs["egressIps"] == [e.outputs["publicIp"] for e in ours(result, EIP)]


def test_regional_nat_is_priced_per_zone_it_serves(synth) -> None:
    counts = {r.kind: r.count for r in cost.estimate(synth(egress(3, mode="regional")))}
    assert counts == {"natGatewayRegional": 3, "publicIpv4": 3}


# -- eipAllocationIds ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "az_count"),
    [({}, 2), ({"natPerAz": True}, 2), ({"natPerAz": True}, 3)],
    ids=["one-nat", "nat-per-az-2", "nat-per-az-3"],
)
def test_own_addresses_are_used_by_the_zonal_nats_and_never_created(
    synth, options: dict[str, Any], az_count: int
) -> None:
    count = az_count if options.get("natPerAz") else 1
    result = looked_up(synth, egress(az_count, eipAllocationIds=OWN[:count], **options))
    assert ours(result, EIP) == []
    nats = ours(result, NAT)
    assert [n.inputs["allocationId"] for n in nats] == OWN[:count]
    # Each allocation looked up once (the invokes run concurrently: their order is not kept).
    assert sorted(args["id"] for token, args in result.calls if token == LOOKUP) == sorted(
        OWN[:count]
    )
    assert result.outputs["egressIps"] == [LOOKED_UP_IP] * count


def test_own_addresses_serve_the_regional_nat_zone_by_zone(synth) -> None:
    result = looked_up(synth, egress(3, mode="regional", eipAllocationIds=OWN))
    assert ours(result, EIP) == []
    (nat,) = ours(result, NAT)
    assert [a["allocationIds"] for a in nat.inputs["availabilityZoneAddresses"]] == [
        [allocation] for allocation in OWN
    ]
    assert result.outputs["egressIps"] == [LOOKED_UP_IP] * 3


def test_own_addresses_leave_nothing_protected_and_nothing_for_teardown(synth) -> None:
    config = egress(2, natPerAz=True, eipAllocationIds=OWN[:2])
    result = synth(config)
    assert [r.name for r in result.resources if r.protect] == []
    steps = plan(config, "test", ROOT / "Pulumi.test.yaml")
    assert steps.protected == [] and steps.toggles == []
    # The stack does not create them, so their hourly price is the account's, not the stack's.
    assert "publicIpv4" not in {r.kind for r in cost.estimate(result)}


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            egress(2, eipAllocationIds=OWN[:2]),
            "lambda-exposure:staticEgress.eipAllocationIds: 2 given, 1 needed: one NAT gateway "
            "for every zone (natPerAz: false)",
        ),
        (
            egress(3, natPerAz=True, eipAllocationIds=OWN[:2]),
            "staticEgress.eipAllocationIds: 2 given, 3 needed: one NAT gateway per zone "
            "(natPerAz: true, network.azCount: 3)",
        ),
        (
            egress(2, mode="regional", eipAllocationIds=OWN),
            "staticEgress.eipAllocationIds: 3 given, 2 needed: the regional NAT gateway takes "
            "one per zone (network.azCount: 2)",
        ),
        (egress(eipAllocationIds=["eipalloc-0123"]), "staticEgress.eipAllocationIds[0]: "),
        (
            egress(eipAllocationIds=["eipalloc-0123456789ABCDEF0"]),
            "'eipalloc-0123456789ABCDEF0' is not an Elastic IP allocation id",
        ),
        (egress(eipAllocationIds=[OWN[0] + "\n"]), "staticEgress.eipAllocationIds[0]: "),
        (egress(eipAllocationIds=["198.51.100.7"]), "staticEgress.eipAllocationIds[0]: "),
        (
            egress(2, natPerAz=True, eipAllocationIds=[OWN[0], OWN[0]]),
            "staticEgress.eipAllocationIds: duplicate allocation id",
        ),
        (
            egress(mode="regional", natPerAz=True),
            "lambda-exposure:staticEgress.natPerAz: a zonal setting",
        ),
        (egress(mode="automatic"), "lambda-exposure:staticEgress.mode"),
    ],
    ids=[
        "too-many",
        "too-few-per-az",
        "too-many-regional",
        "short-id",
        "uppercase-hex",
        "trailing-newline",
        "an-address-not-an-allocation",
        "duplicate",
        "nat-per-az-with-regional",
        "automatic-mode",
    ],
)
def test_bad_egress_addresses_fail_before_any_resource(synth_error, config, message) -> None:
    assert message in synth_error(config)


# -- the examples ---------------------------------------------------------------------------------


def test_the_regional_example_has_one_gateway_and_one_address_per_zone(synth) -> None:
    config = load_stack_file(ROOT / "examples" / "static-egress-regional.yaml")
    result = synth(config)
    (nat,) = ours(result, NAT)
    zones = config["lambda-exposure:network"]["azCount"]
    assert len(nat.inputs["availabilityZoneAddresses"]) == zones == len(ours(result, EIP))


def test_the_own_eips_example_uses_its_allocations(synth) -> None:
    config = load_stack_file(ROOT / "examples" / "static-egress-own-eips.yaml")
    result = synth(config)
    assert ours(result, EIP) == []
    assert [n.inputs["allocationId"] for n in ours(result, NAT)] == (
        config["lambda-exposure:staticEgress"]["eipAllocationIds"]
    )
