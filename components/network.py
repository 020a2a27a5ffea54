"""The VPC the patterns share: one network per stack, created only when a pattern needs it.

A new VPC gets public and private subnets in ``azCount`` zones, an internet gateway and one
private route table per zone, so a pattern that adds NAT gateways (staticEgress) can route each
zone through its own NAT. No NAT is created here. An existing VPC is only looked up: its subnets
and routes are used as given and never changed.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.component import Component
from components.config import NetworkConfig


@dataclass(frozen=True)
class NetworkArgs:
    config: NetworkConfig
    needed_by: Sequence[str]  # the patterns that asked for it (a tag, for whoever finds the VPC)
    # Another region's copy (staticIp.regions); None: the provider's region, the stack's.
    region: str | None = None


def check_private_dns(
    vpc_id: str, dns_support: bool, dns_hostnames: bool, key_path: str, remedy: str
) -> bool:
    """An interface endpoint's private DNS name resolves only where the VPC resolves private
    names: refuse, naming the config key that asked for it, the VPC and what is off."""
    off = [
        attribute
        for attribute, on in (
            ("enableDnsSupport", dns_support),
            ("enableDnsHostnames", dns_hostnames),
        )
        if not on
    ]
    if off:
        raise pulumi.RunError(
            f"lambda-exposure:{key_path}: VPC {vpc_id} has {' and '.join(off)} off, so the "
            f"endpoint's private DNS name cannot resolve; turn {'it' if len(off) == 1 else 'them'} "
            f"on (aws ec2 modify-vpc-attribute){remedy}"
        )
    return True


def subnet_cidrs(vpc_cidr: str, az_count: int) -> tuple[list[str], list[str]]:
    """Public then private subnet CIDRs: equal blocks, public ones first, one of each per AZ.

    Computed from config, not inside an ``apply``, so the number of subnets is known at preview.
    """
    network = ipaddress.ip_network(vpc_cidr)
    extra_bits = max(2, math.ceil(math.log2(2 * az_count)))
    blocks = list(network.subnets(prefixlen_diff=extra_bits))
    public = [str(b) for b in blocks[:az_count]]
    private = [str(b) for b in blocks[az_count : 2 * az_count]]
    return public, private


@dataclass(frozen=True)
class InterfaceEndpointSpec:
    """An interface VPC endpoint for one AWS service, in ``network``'s private subnets."""

    name: str  # the endpoint's logical name; its group is "<name>-sg"
    parent: pulumi.Resource
    network: Network
    service_name: str
    private_dns: pulumi.Input[bool]
    description: str  # of the endpoint's security group
    extra_cidrs: Sequence[str] = ()  # admitted next to the VPC's own range (peered VPCs)
    policy: pulumi.Input[str] | None = None
    tags: Mapping[str, str] | None = None


def interface_endpoint(
    spec: InterfaceEndpointSpec,
) -> tuple[aws.ec2.VpcEndpoint, aws.ec2.SecurityGroup]:
    """An interface VPC endpoint in the private subnets (one ENI per AZ) and its own group.

    The group admits HTTPS from the VPC (plus ``extra_cidrs``, e.g. peered VPCs) and has no
    egress rule: an endpoint ENI answers connections, it never opens one (the provider removes
    the default allow-all egress of a new group). Shared by every pattern that reaches an AWS API
    privately, so each gets the same network posture. Always in the stack's region: a pattern
    reaches its own region's APIs.
    """
    here = pulumi.ResourceOptions(parent=spec.parent)
    name, network, extra_cidrs = spec.name, spec.network, list(spec.extra_cidrs)
    tags = dict(spec.tags or {})
    group = aws.ec2.SecurityGroup(
        f"{name}-sg",
        vpc_id=network.vpc_id,
        description=spec.description,
        ingress=[
            {
                "protocol": "tcp",
                "from_port": 443,
                "to_port": 443,
                "cidr_blocks": pulumi.Output.from_input(network.cidr_block).apply(
                    lambda vpc_cidr: [vpc_cidr, *extra_cidrs]
                ),
                "description": "HTTPS from the VPC" + (" and peered ranges" if extra_cidrs else ""),
            }
        ],
        tags={**tags, "Name": f"{name}-sg"},
        region=None,
        opts=here,
    )
    endpoint = aws.ec2.VpcEndpoint(
        name,
        vpc_id=network.vpc_id,
        service_name=spec.service_name,
        vpc_endpoint_type="Interface",
        subnet_ids=list(network.private_subnet_ids),
        security_group_ids=[group.id],
        private_dns_enabled=spec.private_dns,
        policy=spec.policy,
        tags={**tags, "Name": name},
        region=None,
        opts=here,
    )
    return endpoint, group


@dataclass(frozen=True)
class _Zone:
    """One Availability Zone of a new VPC: where a public and a private subnet go."""

    index: int
    name: str
    vpc: aws.ec2.Vpc


class Network(Component[NetworkArgs]):
    """A new or existing VPC, with what the patterns read from it."""

    TYPE = "lambda-exposure:index:Network"
    vpc_id: pulumi.Output[str]
    cidr_block: pulumi.Output[str]
    public_subnet_ids: list[pulumi.Output[str]]
    private_subnet_ids: list[pulumi.Output[str]]
    # One per AZ, same order as private_subnet_ids; empty for an existing VPC (not ours to route).
    private_route_table_ids: list[pulumi.Output[str]]
    # Whether the VPC resolves private DNS names (interface endpoints with private DNS need both;
    # None, never seen in practice, counts as off).
    dns_support: pulumi.Output[bool | None]
    dns_hostnames: pulumi.Output[bool | None]
    existing: bool
    # Resources a NAT gateway or internet-facing load balancer must wait for (the IGW attachment).
    internet_ready: Sequence[pulumi.Resource]

    def _build(self) -> pulumi.Inputs:
        self.existing = self._args.config.existing
        if self.existing:
            self._use_existing()
        else:
            self._create()
        return {
            "vpcId": self.vpc_id,
            "publicSubnetIds": self.public_subnet_ids,
            "privateSubnetIds": self.private_subnet_ids,
        }

    def private_dns(self, key_path: str, remedy: str = "") -> pulumi.Input[bool]:
        """``private_dns_enabled`` for an interface endpoint in this network.

        A VPC this stack creates has both DNS attributes on. Someone else's VPC is checked on its
        looked-up attributes inside an ``apply``: a plain error (``pulumi.RunError``, no
        traceback) during ``pulumi preview``, before anything is created, and the endpoint whose
        input this is is never registered.
        """
        if not self.existing:
            return True
        return pulumi.Output.all(self.vpc_id, self.dns_support, self.dns_hostnames).apply(
            lambda vpc: check_private_dns(vpc[0], bool(vpc[1]), bool(vpc[2]), key_path, remedy)
        )

    def _use_existing(self) -> None:
        config = self._args.config
        assert config.vpc_id is not None
        vpc = aws.ec2.get_vpc_output(
            id=config.vpc_id,
            region=self._args.region,
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        self.vpc_id = pulumi.Output.from_input(config.vpc_id)
        self.cidr_block = vpc.cidr_block
        self.dns_support = vpc.enable_dns_support
        self.dns_hostnames = vpc.enable_dns_hostnames
        self.public_subnet_ids = [pulumi.Output.from_input(s) for s in config.public_subnet_ids]
        self.private_subnet_ids = [pulumi.Output.from_input(s) for s in config.private_subnet_ids]
        self.private_route_table_ids = []
        self.internet_ready = []

    def _create(self) -> None:
        """VPC → internet gateway → public route table → per zone: public subnet, private
        route table, private subnet."""
        config, name, region = self._args.config, self._name, self._args.region
        here = pulumi.ResourceOptions(parent=self)
        azs = self._zones()
        self._tags = {"lambda-exposure:usedBy": ",".join(self._args.needed_by) or "none"}
        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=config.cidr,
            # Interface endpoints with private DNS (privateEndpoint, PRIVATE APIs) need both.
            enable_dns_support=True,
            enable_dns_hostnames=True,
            tags=self._named(f"{name}-vpc"),
            region=region,
            opts=here,
        )
        igw = aws.ec2.InternetGateway(
            f"{name}-igw", vpc_id=vpc.id, tags=self._named(f"{name}-igw"), region=region, opts=here
        )
        public_table = aws.ec2.RouteTable(
            f"{name}-public",
            vpc_id=vpc.id,
            routes=[{"cidr_block": "0.0.0.0/0", "gateway_id": igw.id}],
            tags=self._named(f"{name}-public"),
            region=region,
            opts=here,
        )
        public_cidrs, private_cidrs = subnet_cidrs(config.cidr, config.az_count)
        self.public_subnet_ids = []
        self.private_subnet_ids = []
        self.private_route_table_ids = []
        for index, az in enumerate(azs):
            zone = _Zone(index, az, vpc)
            self.public_subnet_ids.append(self._subnet(zone, "public", public_cidrs, public_table))
            # One table per zone, no default route: a pattern that needs egress adds its NAT route.
            private_table = aws.ec2.RouteTable(
                f"{name}-private-{index}",
                vpc_id=vpc.id,
                tags=self._named(f"{name}-private-{az}"),
                region=region,
                opts=here,
            )
            self.private_subnet_ids.append(
                self._subnet(zone, "private", private_cidrs, private_table)
            )
            self.private_route_table_ids.append(private_table.id)
        self.vpc_id = vpc.id
        self.cidr_block = vpc.cidr_block
        self.dns_support = vpc.enable_dns_support
        self.dns_hostnames = vpc.enable_dns_hostnames
        self.internet_ready = [igw, public_table]

    def _named(self, name: str) -> dict[str, str]:
        """The tags of every child: who asked for the network, and a console Name."""
        return {**self._tags, "Name": name}

    def _zones(self) -> list[str]:
        """The first ``azCount`` Availability Zones of the region, or a clear error."""
        config = self._args.config
        zones = aws.get_availability_zones(
            state="available",
            # Without this filter an account that opted in to a Local Zone gets it listed too
            # (``us-west-2-lax-1a`` sorts before ``us-west-2a``): no interface endpoints, NLBs or
            # NAT gateways there, so the first subnet pair must never land in one.
            filters=[{"name": "opt-in-status", "values": ["opt-in-not-required"]}],
            region=self._args.region,
            opts=pulumi.InvokeOptions(parent=self),
        )
        if len(zones.names) < config.az_count:
            raise pulumi.RunError(
                f"lambda-exposure:network.azCount: {config.az_count} zones asked, the region "
                f"has {len(zones.names)} available"
            )
        return list(zones.names[: config.az_count])

    def _subnet(
        self, zone: _Zone, tier: str, cidrs: Sequence[str], table: aws.ec2.RouteTable
    ) -> pulumi.Output[str]:
        """The zone's subnet of ``tier`` and its association with ``table``."""
        name, region = f"{self._name}-{tier}-{zone.index}", self._args.region
        here = pulumi.ResourceOptions(parent=self)
        subnet = aws.ec2.Subnet(
            name,
            vpc_id=zone.vpc.id,
            cidr_block=cidrs[zone.index],
            availability_zone=zone.name,
            # Nothing here needs an automatic public IP: load balancers and NAT gateways get
            # their own addresses.
            map_public_ip_on_launch=False,
            tags={**self._named(f"{self._name}-{tier}-{zone.name}"), "lambda-exposure:tier": tier},
            region=region,
            opts=here,
        )
        aws.ec2.RouteTableAssociation(
            name, subnet_id=subnet.id, route_table_id=table.id, region=region, opts=here
        )
        return subnet.id
