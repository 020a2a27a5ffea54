"""The shared network: a new VPC laid out from config, or an existing one left untouched."""

from __future__ import annotations

import ipaddress
import textwrap
from pathlib import Path

import pytest

from components.network import subnet_cidrs
from tools.synth import synthesize

# The Network component on its own, run the same way __main__ runs it: through load_config().
PROGRAM = textwrap.dedent(
    """
    import pulumi
    from components.config import load_config
    from components.network import Network, NetworkArgs

    config = load_config()
    network = Network("network", NetworkArgs(config.network, needed_by=["test"]))
    pulumi.export("vpcId", network.vpc_id)
    pulumi.export("cidr", network.cidr_block)
    pulumi.export("public", network.public_subnet_ids)
    pulumi.export("private", network.private_subnet_ids)
    pulumi.export("privateRouteTables", network.private_route_table_ids)
    pulumi.export("dns", [network.dns_support, network.dns_hostnames])
    """
)


@pytest.fixture
def run_network(tmp_path: Path):
    program = tmp_path / "network_program.py"
    program.write_text(PROGRAM)
    return lambda config, **kw: synthesize(config, program=program, **kw)


@pytest.mark.parametrize("az_count", [1, 2, 3, 6])
def test_subnet_layout_is_disjoint_and_inside_the_vpc(az_count: int) -> None:
    public, private = subnet_cidrs("10.20.0.0/16", az_count)
    blocks = [ipaddress.ip_network(c) for c in public + private]
    assert len(public) == len(private) == az_count
    assert all(b.subnet_of(ipaddress.ip_network("10.20.0.0/16")) for b in blocks)
    assert all(not a.overlaps(b) for i, a in enumerate(blocks) for b in blocks[i + 1 :])


def test_new_vpc(run_network) -> None:
    result = run_network({"network": {"cidr": "10.40.0.0/16", "azCount": 3}})
    vpc = result.one("aws:ec2/vpc:Vpc")
    assert vpc.inputs["cidrBlock"] == "10.40.0.0/16"
    # Interface endpoints with private DNS need both attributes on.
    assert vpc.inputs["enableDnsSupport"] is True
    assert vpc.inputs["enableDnsHostnames"] is True
    subnets = result.of_type("aws:ec2/subnet:Subnet")
    tiers = [s.inputs["tags"]["lambda-exposure:tier"] for s in subnets]
    assert sorted(tiers) == ["private"] * 3 + ["public"] * 3
    assert all(not s.inputs["mapPublicIpOnLaunch"] for s in subnets)
    zones = {s.inputs["availabilityZone"] for s in subnets}
    assert len(zones) == 3
    # Availability Zones only: the mock account has opted in to a Local Zone, which sorts first.
    assert zones == {f"{result.region}{z}" for z in "abc"}
    assert result.outputs["vpcId"] == vpc.outputs["id"]
    assert len(result.outputs["public"]) == len(result.outputs["private"]) == 3


def test_public_subnets_route_to_the_internet_gateway_private_ones_nowhere(run_network) -> None:
    result = run_network({})
    igw = result.one("aws:ec2/internetGateway:InternetGateway")
    tables = result.of_type("aws:ec2/routeTable:RouteTable")
    public = [t for t in tables if t.inputs.get("routes")]
    private = [t for t in tables if not t.inputs.get("routes")]
    assert len(public) == 1
    assert public[0].inputs["routes"] == [
        {"cidrBlock": "0.0.0.0/0", "gatewayId": igw.outputs["id"]}
    ]
    # No NAT here: only a pattern that needs egress (staticEgress) adds one.
    assert len(private) == 2
    assert result.of_type("aws:ec2/natGateway:NatGateway") == []
    assert sorted(result.outputs["privateRouteTables"]) == sorted(t.outputs["id"] for t in private)
    subnet_by_id = {s.outputs["id"]: s for s in result.of_type("aws:ec2/subnet:Subnet")}
    for assoc in result.of_type("aws:ec2/routeTableAssociation:RouteTableAssociation"):
        subnet = subnet_by_id[assoc.inputs["subnetId"]]
        table = next(t for t in tables if t.outputs["id"] == assoc.inputs["routeTableId"])
        is_public = subnet.inputs["tags"]["lambda-exposure:tier"] == "public"
        assert bool(table.inputs.get("routes")) == is_public


def test_existing_vpc_is_used_unchanged(run_network) -> None:
    network = {
        "vpcId": "vpc-0123456789abcdef0",
        "publicSubnetIds": ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0aaaaaaaaaaaaaaa2"],
        "privateSubnetIds": ["subnet-0bbbbbbbbbbbbbbb1", "subnet-0bbbbbbbbbbbbbbb2"],
    }
    result = run_network({"network": network})
    assert [r.type for r in result.resources] == ["lambda-exposure:index:Network"]
    assert ("aws:ec2/getVpc:getVpc", {"id": network["vpcId"]}) in result.calls
    assert result.outputs["vpcId"] == network["vpcId"]
    assert result.outputs["public"] == network["publicSubnetIds"]
    assert result.outputs["private"] == network["privateSubnetIds"]
    assert result.outputs["privateRouteTables"] == []


def test_existing_vpc_reports_its_dns_attributes(run_network) -> None:
    vpc = {
        "id": "vpc-0123456789abcdef0",
        "cidrBlock": "172.31.0.0/16",
        "enableDnsSupport": True,
        "enableDnsHostnames": False,
    }
    result = run_network(
        {"network": {"vpcId": vpc["id"], "privateSubnetIds": ["subnet-0bbbbbbbbbbbbbbb1"]}},
        call_overrides={"aws:ec2/getVpc:getVpc": vpc},
    )
    assert result.outputs["cidr"] == vpc["cidrBlock"]
    assert result.outputs["dns"] == [True, False]


def test_more_zones_than_the_region_has_is_a_clear_error(run_network) -> None:
    import pulumi

    with pytest.raises(pulumi.RunError, match=r"network\.azCount: 6 zones asked, the region has 3"):
        run_network({"network": {"azCount": 6}})


def test_no_network_unless_a_pattern_needs_one() -> None:
    result = synthesize({})
    assert not any(r.type.startswith("aws:ec2/") for r in result.resources)
    assert result.of_type("lambda-exposure:index:Network") == []
