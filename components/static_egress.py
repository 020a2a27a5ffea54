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

from components.component import Component
from components.config import StaticEgressConfig
from components.function import VpcPlacement
from components.network import Network

# The whoami handler reads this to prove the egress IP (``?egress=1``); see handlers/app.py.
ECHO_URL_ENV = "EGRESS_ECHO_URL"
TAGS = {"lambda-exposure:pattern": "staticEgress"}


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


class StaticEgress(Component[StaticEgressArgs]):
    """NAT gateway(s) with Elastic IPs and the private default routes through them."""

    TYPE = "lambda-exposure:index:StaticEgress"
    placement: VpcPlacement
    function_environment: dict[str, str]
    egress_ips: pulumi.Output[list[str]]
    security_group_id: pulumi.Output[str]
    nat_gateway_ids: list[pulumi.Output[str]]

    def _build(self) -> pulumi.Inputs:
        config, network = self._args.config, self._args.network
        if network.existing or not network.private_route_table_ids:
            # config.py refuses this first; kept so the component cannot be misused elsewhere.
            raise pulumi.RunError(
                "lambda-exposure:staticEgress: needs a VPC this stack creates (its private "
                "route tables get the default route to the NAT)"
            )
        security_group = self._functions_group()
        count = nat_count(config, len(network.private_route_table_ids))
        pairs = [self._nat(index) for index in range(count)]
        eips, nats = [eip for eip, _ in pairs], [nat for _, nat in pairs]
        routes = [
            aws.ec2.Route(
                f"{self._name}-default-{zone}",
                route_table_id=table_id,
                destination_cidr_block="0.0.0.0/0",
                nat_gateway_id=nats[nat_for_zone(zone, count)].id,
                region=None,
                opts=pulumi.ResourceOptions(parent=self),
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
        return {
            "egressIps": self.egress_ips,
            "natGatewayIds": self.nat_gateway_ids,
            "securityGroupId": self.security_group_id,
        }

    def _functions_group(self) -> aws.ec2.SecurityGroup:
        """The functions' own group: they only open connections, nobody connects to them.

        Egress is open to any port because the third parties' ports are not known here; the
        control that matters to them is the source IP, which is the NAT's.
        """
        return aws.ec2.SecurityGroup(
            f"{self._name}-functions",
            vpc_id=self._args.network.vpc_id,
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
            tags={**TAGS, "Name": f"{self._name}-functions"},
            region=None,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _nat(self, index: int) -> tuple[aws.ec2.Eip, aws.ec2.NatGateway]:
        """The ``index``-th Elastic IP and the NAT gateway in public subnet ``index`` using it."""
        name = self._name
        # The EIPs are what third parties allow-list: protected by default so neither a
        # `pulumi destroy` nor a change that would replace them can release the addresses.
        # They are separate resources from the NAT, so replacing a NAT keeps its IP.
        eip = aws.ec2.Eip(
            f"{name}-ip-{index}",
            domain="vpc",
            tags={**TAGS, "Name": f"{name}-ip-{index}"},
            region=None,
            opts=pulumi.ResourceOptions(parent=self, protect=self._args.config.protect_egress_ips),
        )
        nat = aws.ec2.NatGateway(
            f"{name}-nat-{index}",
            allocation_id=eip.allocation_id,
            subnet_id=self._args.network.public_subnet_ids[index],
            connectivity_type="public",
            tags={**TAGS, "Name": f"{name}-nat-{index}"},
            region=None,
            opts=pulumi.ResourceOptions(
                parent=self,
                # A public NAT needs the internet gateway attached before it is created.
                depends_on=list(self._args.network.internet_ready),
                # An EIP can be associated with one NAT at a time: a replacement NAT can only
                # take the same address after the old one has released it.
                delete_before_replace=True,
            ),
        )
        return eip, nat
