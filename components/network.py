"""The VPC the patterns share: one network per stack, created only when a pattern needs it.

A new VPC gets public and private subnets in ``azCount`` zones, an internet gateway and one
private route table per zone, so a pattern that adds NAT gateways (staticEgress) can route each
zone through its own NAT. No NAT is created here. An existing VPC is only looked up: its subnets
and routes are used as given and never changed.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

from components.config import NetworkConfig


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


def interface_endpoint(
    name: str,
    network: Network,
    *,
    service_name: str,
    private_dns: pulumi.Input[bool],
    description: str,
    parent: pulumi.Resource,
    extra_cidrs: Sequence[str] = (),
    policy: pulumi.Input[str] | None = None,
    tags: dict[str, str] | None = None,
) -> tuple[aws.ec2.VpcEndpoint, aws.ec2.SecurityGroup]:
    """An interface VPC endpoint in the private subnets (one ENI per AZ) and its own group.

    The group admits HTTPS from the VPC (plus ``extra_cidrs``, e.g. peered VPCs) and has no
    egress rule: an endpoint ENI answers connections, it never opens one (the provider removes
    the default allow-all egress of a new group). Shared by every pattern that reaches an AWS API
    privately, so each gets the same network posture.
    """
    here = pulumi.ResourceOptions(parent=parent)
    tags = dict(tags or {})
    group = aws.ec2.SecurityGroup(
        f"{name}-sg",
        vpc_id=network.vpc_id,
        description=description,
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
        opts=here,
    )
    endpoint = aws.ec2.VpcEndpoint(
        name,
        vpc_id=network.vpc_id,
        service_name=service_name,
        vpc_endpoint_type="Interface",
        subnet_ids=list(network.private_subnet_ids),
        security_group_ids=[group.id],
        private_dns_enabled=private_dns,
        policy=policy,
        tags={**tags, "Name": name},
        opts=here,
    )
    return endpoint, group


class Network(pulumi.ComponentResource):
    """A new or existing VPC, with what the patterns read from it."""

    vpc_id: pulumi.Output[str]
    cidr_block: pulumi.Output[str]
    public_subnet_ids: list[pulumi.Output[str]]
    private_subnet_ids: list[pulumi.Output[str]]
    # One per AZ, same order as private_subnet_ids; empty for an existing VPC (not ours to route).
    private_route_table_ids: list[pulumi.Output[str]]
    # Whether the VPC resolves private DNS names (interface endpoints with private DNS need both).
    dns_support: pulumi.Output[bool]
    dns_hostnames: pulumi.Output[bool]
    existing: bool
    # Resources a NAT gateway or internet-facing load balancer must wait for (the IGW attachment).
    internet_ready: Sequence[pulumi.Resource]

    def __init__(
        self,
        name: str,
        config: NetworkConfig,
        needed_by: Sequence[str],
        region: str | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """``region`` (pulumi-aws 7 per-resource region) builds the network in another region."""
        super().__init__("lambda-exposure:index:Network", name, None, opts)
        self.existing = config.existing
        self._region_args = {"region": region} if region else {}
        if config.existing:
            self._use_existing(config)
        else:
            self._create(name, config, needed_by)
        self.register_outputs(
            {
                "vpcId": self.vpc_id,
                "publicSubnetIds": self.public_subnet_ids,
                "privateSubnetIds": self.private_subnet_ids,
            }
        )

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
            lambda args: check_private_dns(args[0], bool(args[1]), bool(args[2]), key_path, remedy)
        )

    def _use_existing(self, config: NetworkConfig) -> None:
        assert config.vpc_id is not None
        vpc = aws.ec2.get_vpc_output(
            id=config.vpc_id, **self._region_args, opts=pulumi.InvokeOutputOptions(parent=self)
        )
        self.vpc_id = pulumi.Output.from_input(config.vpc_id)
        self.cidr_block = vpc.cidr_block
        self.dns_support = vpc.enable_dns_support
        self.dns_hostnames = vpc.enable_dns_hostnames
        self.public_subnet_ids = [pulumi.Output.from_input(s) for s in config.public_subnet_ids]
        self.private_subnet_ids = [pulumi.Output.from_input(s) for s in config.private_subnet_ids]
        self.private_route_table_ids = []
        self.internet_ready = []

    def _create(self, name: str, config: NetworkConfig, needed_by: Sequence[str]) -> None:
        here = pulumi.ResourceOptions(parent=self)
        zones = aws.get_availability_zones(
            state="available",
            # Without this filter an account that opted in to a Local Zone gets it listed too
            # (``us-west-2-lax-1a`` sorts before ``us-west-2a``): no interface endpoints, NLBs or
            # NAT gateways there, so the first subnet pair must never land in one.
            filters=[{"name": "opt-in-status", "values": ["opt-in-not-required"]}],
            **self._region_args,
            opts=pulumi.InvokeOptions(parent=self),
        )
        if len(zones.names) < config.az_count:
            raise pulumi.RunError(
                f"lambda-exposure:network.azCount: {config.az_count} zones asked, the region "
                f"has {len(zones.names)} available"
            )
        azs = zones.names[: config.az_count]
        tags = {"lambda-exposure:usedBy": ",".join(needed_by) or "none"}
        r = self._region_args
        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=config.cidr,
            # Interface endpoints with private DNS (privateEndpoint, PRIVATE APIs) need both.
            enable_dns_support=True,
            enable_dns_hostnames=True,
            tags={**tags, "Name": f"{name}-vpc"},
            **r,
            opts=here,
        )
        igw = aws.ec2.InternetGateway(
            f"{name}-igw", vpc_id=vpc.id, tags={**tags, "Name": f"{name}-igw"}, **r, opts=here
        )
        public_table = aws.ec2.RouteTable(
            f"{name}-public",
            vpc_id=vpc.id,
            routes=[{"cidr_block": "0.0.0.0/0", "gateway_id": igw.id}],
            tags={**tags, "Name": f"{name}-public"},
            **r,
            opts=here,
        )
        public_cidrs, private_cidrs = subnet_cidrs(config.cidr, config.az_count)
        self.public_subnet_ids = []
        self.private_subnet_ids = []
        self.private_route_table_ids = []
        for index, az in enumerate(azs):
            public = aws.ec2.Subnet(
                f"{name}-public-{index}",
                vpc_id=vpc.id,
                cidr_block=public_cidrs[index],
                availability_zone=az,
                # Nothing here needs an automatic public IP: load balancers and NAT gateways
                # get their own addresses.
                map_public_ip_on_launch=False,
                tags={**tags, "Name": f"{name}-public-{az}", "lambda-exposure:tier": "public"},
                **r,
                opts=here,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-public-{index}",
                subnet_id=public.id,
                route_table_id=public_table.id,
                **r,
                opts=here,
            )
            private = aws.ec2.Subnet(
                f"{name}-private-{index}",
                vpc_id=vpc.id,
                cidr_block=private_cidrs[index],
                availability_zone=az,
                map_public_ip_on_launch=False,
                tags={**tags, "Name": f"{name}-private-{az}", "lambda-exposure:tier": "private"},
                **r,
                opts=here,
            )
            # One table per zone, no default route: a pattern that needs egress adds its NAT route.
            private_table = aws.ec2.RouteTable(
                f"{name}-private-{index}",
                vpc_id=vpc.id,
                tags={**tags, "Name": f"{name}-private-{az}"},
                **r,
                opts=here,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-private-{index}",
                subnet_id=private.id,
                route_table_id=private_table.id,
                **r,
                opts=here,
            )
            self.public_subnet_ids.append(public.id)
            self.private_subnet_ids.append(private.id)
            self.private_route_table_ids.append(private_table.id)
        self.vpc_id = vpc.id
        self.cidr_block = vpc.cidr_block
        self.dns_support = vpc.enable_dns_support
        self.dns_hostnames = vpc.enable_dns_hostnames
        self.internet_ready = [igw, public_table]
        self.availability_zones = azs
