"""staticIp.eipAllocationIds (entry nlb): the NLB's addresses are your own Elastic IPs.

One allocation per public subnet, in zone order, looked up and never created or protected; the
counts and combinations the config refuses, before any resource and naming the key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.graph import EIP, SUBNET
from tests.graph import LB as LOAD_BALANCER
from tests.graph import STATIC_IP_COMPONENT as COMPONENT
from tools.synth import Resource, Synth, load_stack_file
from tools.teardown import plan

ROOT = Path(__file__).resolve().parent.parent
LOOKUP = "aws:ec2/getElasticIp:getElasticIp"
OWN = ["eipalloc-0123456789abcdef0", "eipalloc-12345678", "eipalloc-0123456789abcdef2"]
LOOKED_UP_IP = "192.0.2.45"
EXISTING_VPC = {
    "vpcId": "vpc-0123456789abcdef0",
    "publicSubnetIds": ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"],
    "privateSubnetIds": ["subnet-0123456789abcdef2", "subnet-0123456789abcdef3"],
}


@pytest.fixture
def synth(synth_shared):
    """No test here patches the program: every graph of this module is a shared synthesis."""
    return synth_shared


def nlb(allocations: list[str], network: dict[str, Any] | None = None, **options: Any) -> dict:
    return {
        "network": network or {"azCount": len(allocations) or 2},
        "staticIp": {"enabled": True, "entry": "nlb", "eipAllocationIds": allocations, **options},
    }


def ours(result: Synth, type_: str) -> list[Resource]:
    component = result.one(COMPONENT)
    return [r for r in result.children_of(component) if r.type == type_]


def the_nlb(result: Synth) -> Resource:
    (found,) = [
        lb for lb in ours(result, LOAD_BALANCER) if lb.inputs["loadBalancerType"] == "network"
    ]
    return found


def public_subnet_ids(result: Synth) -> list[str]:
    return [
        s.outputs["id"]
        for s in result.of_type(SUBNET)
        if s.inputs["tags"]["lambda-exposure:tier"] == "public"
    ]


@pytest.mark.parametrize("count", [2, 3])
def test_each_public_subnet_gets_its_own_address_in_order(synth, count: int) -> None:
    result = synth(nlb(OWN[:count]), call_overrides={LOOKUP: {"publicIp": LOOKED_UP_IP}})
    assert ours(result, EIP) == []
    balancer = the_nlb(result)
    assert balancer.inputs["subnetMappings"] == [
        {"subnetId": subnet, "allocationId": allocation}
        for subnet, allocation in zip(public_subnet_ids(result), OWN[:count], strict=True)
    ]
    # Each allocation looked up once (the invokes run concurrently: their order is not kept).
    assert sorted(args["id"] for token, args in result.calls if token == LOOKUP) == sorted(
        OWN[:count]
    )
    assert result.outputs["staticIps"] == [LOOKED_UP_IP] * count
    assert result.outputs["staticIpUrls"] == [f"http://{LOOKED_UP_IP}/"] * count


def test_an_existing_vpc_takes_one_per_public_subnet(synth) -> None:
    result = synth(nlb(OWN[:2], EXISTING_VPC))
    balancer = the_nlb(result)
    assert [m["subnetId"] for m in balancer.inputs["subnetMappings"]] == (
        EXISTING_VPC["publicSubnetIds"]
    )
    assert [m["allocationId"] for m in balancer.inputs["subnetMappings"]] == OWN[:2]


def test_nothing_is_protected_and_teardown_lists_nothing(synth) -> None:
    config = nlb(OWN[:2])
    assert [r.name for r in synth(config).resources if r.protect] == []
    steps = plan(config, "test", ROOT / "Pulumi.test.yaml")
    assert steps.protected == [] and steps.toggles == []
    # Without them the stack's own Elastic IPs are protected, and teardown names them.
    own = plan(nlb([]), "test", ROOT / "Pulumi.test.yaml")
    assert {p.type for p in own.protected} == {EIP}


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            {"staticIp": {"enabled": True, "eipAllocationIds": OWN[:2]}},
            "lambda-exposure:staticIp.eipAllocationIds: Elastic IPs are the NLB's addresses",
        ),
        (
            nlb(OWN[:2], {"azCount": 3}),
            "lambda-exposure:staticIp.eipAllocationIds: 2 given, 3 needed: the NLB takes one "
            "Elastic IP per public subnet (network.azCount: 3)",
        ),
        (
            nlb(OWN, EXISTING_VPC),
            "staticIp.eipAllocationIds: 3 given, 2 needed: the NLB takes one Elastic IP per "
            "public subnet (network.publicSubnetIds: 2)",
        ),
        (nlb(["eipalloc-xyz12345", OWN[0]]), "staticIp.eipAllocationIds[0]: "),
        (nlb([OWN[0], OWN[0]]), "staticIp.eipAllocationIds: duplicate allocation id"),
        (
            {
                **nlb(OWN[:2]),
                "staticEgress": {"enabled": True, "eipAllocationIds": [OWN[1]]},
            },
            f"staticIp.eipAllocationIds[1]: {OWN[1]} is also staticEgress.eipAllocationIds[0]",
        ),
    ],
    ids=[
        "global-accelerator",
        "fewer-than-zones",
        "more-than-public-subnets",
        "not-hex",
        "duplicate",
        "also-a-nat-address",
    ],
)
def test_bad_nlb_addresses_fail_before_any_resource(synth_error, config, message) -> None:
    assert message in synth_error(config)


def test_the_example_maps_its_allocations(synth) -> None:
    config = load_stack_file(ROOT / "examples" / "static-ip-nlb-own-eips.yaml")
    result = synth(config)
    balancer = the_nlb(result)
    assert [m["allocationId"] for m in balancer.inputs["subnetMappings"]] == (
        config["lambda-exposure:staticIp"]["eipAllocationIds"]
    )
    assert ours(result, EIP) == []
