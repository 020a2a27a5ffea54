"""StaticEgress: bundled functions leave the VPC through NAT gateway(s) with Elastic IPs.

Seeds 003 ("attach the Lambda function to a VPC, where subnets use a NAT gateway that has an
Elastic IP address for outbound traffic") and 001 (a caller without a public IP is seen as its
NAT gateway's IP): third parties that allow-list source addresses get one fixed IP per NAT.

Arrows of the seed, in the order they are built here:
  function (private subnets, its own security group) → private route table (0.0.0.0/0) →
  NAT gateway (public subnet) + Elastic IP → internet gateway (the Network's) → third party.

This component does not create the functions: it hands ``placement`` (subnets, security group,
the routes to wait for) and ``function_environment`` to ``ExposedFunctions``, which puts only
the *bundled* functions in the VPC. Existing functions (by ARN) are never modified; the config
layer warns that they keep their own egress.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.config import StaticEgressConfig
from components.function import VpcPlacement
from components.network import Network

# The whoami handler reads this to prove the egress IP (``?egress=1``); see handlers/app.py.
ECHO_URL_ENV = "EGRESS_ECHO_URL"


@dataclass(frozen=True)
class StaticEgressArgs:
    config: StaticEgressConfig
    # A VPC this stack creates: its private route tables get the default route to the NAT.
    network: Network


def nat_count(config: StaticEgressConfig, az_count: int) -> int:
    """One NAT (one IP, cheapest) or one per AZ (an AZ outage does not cut the others' egress)."""
    return az_count if config.nat_per_az else 1


def nat_for_zone(zone_index: int, nats: int) -> int:
    """Which NAT a zone's private route table uses: its own, or the single one (index 0)."""
    return zone_index if nats > 1 else 0


class StaticEgress(pulumi.ComponentResource):
    """NAT gateway(s) with Elastic IPs and the private default routes through them."""

    placement: VpcPlacement
    function_environment: dict[str, str]
    egress_ips: pulumi.Output[list[str]]
    security_group_id: pulumi.Output[str]
    nat_gateway_ids: list[pulumi.Output[str]]

    def __init__(
        self, name: str, args: StaticEgressArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("lambda-exposure:index:StaticEgress", name, None, opts)
        config, network = args.config, args.network
        if network.existing or not network.private_route_table_ids:
            # config.py refuses this first; kept so the component cannot be misused elsewhere.
            raise pulumi.RunError(
                "lambda-exposure:staticEgress: needs a VPC this stack creates (its private "
                "route tables get the default route to the NAT)"
            )
        here = pulumi.ResourceOptions(parent=self)
        zones = len(network.private_route_table_ids)
        tags = {"lambda-exposure:pattern": "staticEgress"}

        # The functions' own group: they only open connections, nobody connects to them.
        # Egress is open to any port because the third parties' ports are not known here; the
        # control that matters to them is the source IP, which is the NAT's.
        security_group = aws.ec2.SecurityGroup(
            f"{name}-functions",
            vpc_id=network.vpc_id,
            description="lambda-exposure staticEgress: bundled functions, outbound only",
            egress=[
                {
                    "protocol": "-1",
                    "from_port": 0,
                    "to_port": 0,
                    "cidr_blocks": ["0.0.0.0/0"],
                    "description": "Any outbound, leaves through the NAT gateway",
                }
            ],
            tags={**tags, "Name": f"{name}-functions"},
            opts=here,
        )

        count = nat_count(config, zones)
        eips: list[aws.ec2.Eip] = []
        nats: list[aws.ec2.NatGateway] = []
        for index in range(count):
            # The EIPs are what third parties allow-list: protected by default so neither a
            # `pulumi destroy` nor a change that would replace them can release the addresses.
            # They are separate resources from the NAT, so replacing a NAT keeps its IP.
            eip = aws.ec2.Eip(
                f"{name}-ip-{index}",
                domain="vpc",
                tags={**tags, "Name": f"{name}-ip-{index}"},
                opts=pulumi.ResourceOptions(parent=self, protect=config.protect_egress_ips),
            )
            nat = aws.ec2.NatGateway(
                f"{name}-nat-{index}",
                allocation_id=eip.allocation_id,
                subnet_id=network.public_subnet_ids[index],
                connectivity_type="public",
                tags={**tags, "Name": f"{name}-nat-{index}"},
                opts=pulumi.ResourceOptions(
                    parent=self,
                    # A public NAT needs the internet gateway attached before it is created.
                    depends_on=list(network.internet_ready),
                    # An EIP can be associated with one NAT at a time: a replacement NAT can
                    # only take the same address after the old one has released it.
                    delete_before_replace=True,
                ),
            )
            eips.append(eip)
            nats.append(nat)

        routes = [
            aws.ec2.Route(
                f"{name}-default-{zone}",
                route_table_id=table_id,
                destination_cidr_block="0.0.0.0/0",
                nat_gateway_id=nats[nat_for_zone(zone, count)].id,
                opts=here,
            )
            for zone, table_id in enumerate(network.private_route_table_ids)
        ]

        self.security_group_id = security_group.id
        self.nat_gateway_ids = [nat.id for nat in nats]
        self.egress_ips = pulumi.Output.all(*[eip.public_ip for eip in eips])
        self.placement = VpcPlacement(
            subnet_ids=list(network.private_subnet_ids),
            security_group_ids=[security_group.id],
            # A function created before its route exists would answer its first calls with
            # no way out (timeouts to the third party), so functions wait for the routes.
            depends_on=routes,
        )
        self.function_environment = {ECHO_URL_ENV: config.echo_url} if config.echo_url else {}
        self.register_outputs(
            {
                "egressIps": self.egress_ips,
                "natGatewayIds": self.nat_gateway_ids,
                "securityGroupId": self.security_group_id,
            }
        )
