"""staticEgress: bundled functions in private subnets behind NAT gateway(s) with Elastic IPs."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.graph import (
    EIP,
    FUNCTION,
    GET_FUNCTION,
    INTERNET_GATEWAY,
    NAT,
    NETWORK_COMPONENT,
    ROLE,
    ROLE_POLICY,
    ROUTE,
    ROUTE_TABLE,
    ROUTE_TABLE_ASSOCIATION,
    SG,
    SUBNET,
    VPC,
    VPC_ENDPOINT,
    by_id,
    owned,
    policy_of,
    subnets_of_tier,
)
from tests.graph import STATIC_EGRESS_COMPONENT as STATIC_EGRESS
from tests.samples import EXAMPLES
from tools.synth import Synth, load_stack_file

EXISTING_FN = "arn:aws:lambda:eu-west-1:111122223333:function:legacy"


@pytest.fixture
def synth(synth_shared):
    """No test here patches the program: every graph of this module is a shared synthesis."""
    return synth_shared


def egress(**options: Any) -> dict[str, Any]:
    return {"enabled": True, **options}


def zone_of_route_table(result: Synth, table_id: str) -> str:
    """The AZ a private route table serves: the AZ of the subnet associated with it."""
    subnets = by_id(result, SUBNET)
    zones = {
        subnets[a.inputs["subnetId"]].inputs["availabilityZone"]
        for a in result.of_type(ROUTE_TABLE_ASSOCIATION)
        if a.inputs["routeTableId"] == table_id
    }
    assert len(zones) == 1, zones
    return zones.pop()


# -- one NAT / one per AZ ---------------------------------------------------------------------


def test_single_nat_one_ip_every_zone_routes_to_it(synth) -> None:
    result = synth({"network": {"azCount": 3}, "staticEgress": egress()})
    eips = owned(result, EIP, by=STATIC_EGRESS)
    nats = owned(result, NAT, by=STATIC_EGRESS)
    assert len(eips) == 1 and len(nats) == 1
    nat = nats[0]
    assert nat.inputs["allocationId"] == eips[0].outputs["allocationId"]
    assert nat.inputs["connectivityType"] == "public"
    public_ids = {s.outputs["id"] for s in subnets_of_tier(result, "public")}
    assert nat.inputs["subnetId"] in public_ids
    routes = owned(result, ROUTE, by=STATIC_EGRESS)
    private_tables = [
        t for t in result.of_type(ROUTE_TABLE) if t.name.startswith("network-private")
    ]
    assert sorted(r.inputs["routeTableId"] for r in routes) == sorted(
        t.outputs["id"] for t in private_tables
    )
    assert len(routes) == 3
    for route in routes:
        assert route.inputs["destinationCidrBlock"] == "0.0.0.0/0"
        assert route.inputs["natGatewayId"] == nat.outputs["id"]
    assert result.outputs["egressIps"] == [eips[0].outputs["publicIp"]]


def test_nat_per_az_routes_each_zone_to_the_nat_in_that_zone(synth) -> None:
    result = synth({"network": {"azCount": 3}, "staticEgress": egress(natPerAz=True)})
    eips = owned(result, EIP, by=STATIC_EGRESS)
    nats = owned(result, NAT, by=STATIC_EGRESS)
    assert len(eips) == len(nats) == 3
    subnets = by_id(result, SUBNET)
    nat_zone = {
        nat.outputs["id"]: subnets[nat.inputs["subnetId"]].inputs["availabilityZone"]
        for nat in nats
    }
    assert all(subnets[n.inputs["subnetId"]].inputs["tags"]["lambda-exposure:tier"] == "public"
               for n in nats)  # fmt: skip
    assert len(set(nat_zone.values())) == 3, "one NAT in each zone"
    routes = owned(result, ROUTE, by=STATIC_EGRESS)
    assert len(routes) == 3
    for route in routes:
        assert nat_zone[route.inputs["natGatewayId"]] == zone_of_route_table(
            result, route.inputs["routeTableId"]
        )
    # Each NAT uses its own EIP, and the output lists every one of them.
    assert sorted(n.inputs["allocationId"] for n in nats) == sorted(
        e.outputs["allocationId"] for e in eips
    )
    assert sorted(result.outputs["egressIps"]) == sorted(e.outputs["publicIp"] for e in eips)
    assert len(set(result.outputs["egressIps"])) == 3


def test_nat_waits_for_the_internet_gateway(synth) -> None:
    result = synth({"staticEgress": egress()})
    igw = result.one(INTERNET_GATEWAY)
    for nat in owned(result, NAT, by=STATIC_EGRESS):
        assert result.depends_on(nat, igw)


# -- the IPs survive ---------------------------------------------------------------------------


def test_egress_ips_are_protected_by_default(synth) -> None:
    result = synth({"staticEgress": egress(natPerAz=True)})
    assert owned(result, EIP, by=STATIC_EGRESS) and all(
        e.protect for e in owned(result, EIP, by=STATIC_EGRESS)
    )
    # The NATs themselves are replaceable: only the addresses matter to third parties.
    assert not any(n.protect for n in owned(result, NAT, by=STATIC_EGRESS))


def test_protection_can_be_turned_off(synth) -> None:
    result = synth({"staticEgress": egress(protectEgressIps=False)})
    assert not any(e.protect for e in owned(result, EIP, by=STATIC_EGRESS))


def test_a_replacement_nat_frees_the_ip_first(synth) -> None:
    result = synth({"staticEgress": egress(natPerAz=True)})
    nats = owned(result, NAT, by=STATIC_EGRESS)
    assert nats and all(n.delete_before_replace for n in nats)
    # The EIP is its own resource, not an attribute of the NAT: a new NAT reuses the same one.
    assert all(n.inputs["allocationId"].startswith("eipalloc-") for n in nats)


# -- the functions -----------------------------------------------------------------------------


def test_bundled_function_runs_in_private_subnets_only(synth) -> None:
    result = synth({"network": {"azCount": 2}, "staticEgress": egress()})
    function = result.one(FUNCTION)
    vpc_config = function.inputs["vpcConfig"]
    private_ids = sorted(s.outputs["id"] for s in subnets_of_tier(result, "private"))
    public_ids = {s.outputs["id"] for s in subnets_of_tier(result, "public")}
    assert sorted(vpc_config["subnetIds"]) == private_ids
    assert not public_ids & set(vpc_config["subnetIds"])
    groups = owned(result, SG, by=STATIC_EGRESS)
    assert vpc_config["securityGroupIds"] == [groups[0].outputs["id"]]
    # No first call before the way out exists.
    for route in owned(result, ROUTE, by=STATIC_EGRESS):
        assert result.depends_on(function, route)


def test_function_security_group_allows_all_egress_and_no_ingress(synth) -> None:
    result = synth({"staticEgress": egress()})
    (group,) = owned(result, SG, by=STATIC_EGRESS)
    assert not group.inputs.get("ingress")
    (rule,) = group.inputs["egress"]
    assert rule["protocol"] == "-1"
    assert rule["cidrBlocks"] == ["0.0.0.0/0"]
    assert group.inputs["vpcId"] == result.one(VPC).outputs["id"]


def test_role_gets_exactly_the_eni_actions(synth) -> None:
    result = synth({"staticEgress": egress()})
    policies = result.of_type(ROLE_POLICY)
    vpc_access = [p for p in policies if p.name.endswith("-vpc-access")]
    assert len(vpc_access) == 1
    (statement,) = policy_of(vpc_access[0].inputs)["Statement"]
    assert sorted(statement["Action"]) == sorted(
        [
            "ec2:CreateNetworkInterface",
            "ec2:DeleteNetworkInterface",
            "ec2:DescribeNetworkInterfaces",
            "ec2:DescribeSubnets",
            "ec2:AssignPrivateIpAddresses",
            "ec2:UnassignPrivateIpAddresses",
        ]
    )
    assert all(a.startswith("ec2:") and "*" not in a for a in statement["Action"])
    role = result.one(ROLE)
    assert vpc_access[0].inputs["role"] == role.outputs["id"]


def test_without_static_egress_functions_stay_out_of_the_vpc(synth) -> None:
    result = synth({})
    assert not result.one(FUNCTION).inputs.get("vpcConfig")
    assert not result.of_type(NAT)
    assert not [p for p in result.of_type(ROLE_POLICY) if "vpc" in p.name]


def test_echo_url_reaches_the_function_environment(synth) -> None:
    url = "https://checkip.example.org/ip"
    result = synth({"staticEgress": egress(echoUrl=url)})
    variables = result.one(FUNCTION).inputs["environment"]["variables"]
    assert variables["EGRESS_ECHO_URL"] == url


def test_no_echo_url_no_environment_variable(synth) -> None:
    result = synth({"staticEgress": egress()})
    environment = result.one(FUNCTION).inputs.get("environment") or {}
    assert "EGRESS_ECHO_URL" not in (environment.get("variables") or {})


def test_existing_functions_are_warned_about_and_left_alone(synth) -> None:
    result = synth(
        {
            "functions": [
                {"name": "app", "handler": "app", "path": "/"},
                {"name": "legacy", "arn": EXISTING_FN, "path": "/legacy"},
            ],
            "staticEgress": egress(),
        }
    )
    # Only the bundled function is a resource, and it is the one in the VPC.
    (function,) = result.of_type(FUNCTION)
    assert function.inputs["vpcConfig"]["subnetIds"]
    assert "legacy" not in function.name
    assert any("staticEgress" in w and "legacy" in w for w in result.warnings)
    # The existing function was looked up, not changed.
    assert any(
        token == GET_FUNCTION and args.get("functionName") == EXISTING_FN
        for token, args in result.calls
    )


# -- bad input ---------------------------------------------------------------------------------


def test_existing_vpc_is_refused(synth_error) -> None:
    message = synth_error(
        {
            "network": {
                "vpcId": "vpc-0123456789abcdef0",
                "publicSubnetIds": ["subnet-0123456789abcdef0"],
                "privateSubnetIds": ["subnet-0123456789abcdef1"],
            },
            "staticEgress": egress(),
        }
    )
    assert "lambda-exposure:staticEgress" in message
    assert "route" in message


def test_echo_url_must_be_https(synth_error) -> None:
    message = synth_error({"staticEgress": egress(echoUrl="http://checkip.example.org")})
    assert "staticEgress.echoUrl" in message


# -- with the other VPC patterns ---------------------------------------------------------------


def test_shares_one_vpc_with_private_endpoint(synth) -> None:
    result = synth({"staticEgress": egress(), "privateEndpoint": {"enabled": True}})
    (vpc,) = result.of_type(VPC)
    endpoint = result.one(VPC_ENDPOINT)
    assert endpoint.inputs["vpcId"] == vpc.outputs["id"]
    assert owned(result, SG, by=STATIC_EGRESS)[0].inputs["vpcId"] == vpc.outputs["id"]
    # The function in the VPC is one of the functions the endpoint policy lets callers invoke.
    resources = json.loads(endpoint.inputs["policy"])["Statement"][0]["Resource"]
    assert result.one(FUNCTION).outputs["arn"] in resources


def test_shares_one_vpc_with_static_ip_and_private_endpoint(synth) -> None:
    pytest.importorskip("components.static_ip", reason="staticIp component not in this tree yet")
    result = synth(
        {
            "staticIp": {"enabled": True, "entry": "nlb"},
            "staticEgress": egress(natPerAz=True),
            "privateEndpoint": {"enabled": True},
        }
    )
    (vpc,) = result.of_type(VPC)
    assert len(result.of_type(NETWORK_COMPONENT)) == 1
    vpc_id = vpc.outputs["id"]
    groups = result.of_type(SG)
    assert groups and all(g.inputs["vpcId"] == vpc_id for g in groups)
    assert result.one(VPC_ENDPOINT).inputs["vpcId"] == vpc_id
    # The egress IPs are this pattern's EIPs, not the NLB's entry addresses.
    assert sorted(result.outputs["egressIps"]) == sorted(
        e.outputs["publicIp"] for e in owned(result, EIP, by=STATIC_EGRESS)
    )


# -- the example -------------------------------------------------------------------------------


def test_example_enables_static_egress(synth) -> None:
    config = load_stack_file(EXAMPLES / "static-egress.yaml")
    assert config["lambda-exposure:staticEgress"]["enabled"] is True
    result = synth(config)
    assert result.one(STATIC_EGRESS)
    assert len(result.outputs["egressIps"]) == len(owned(result, EIP, by=STATIC_EGRESS)) >= 1
