"""StaticEgress: bundled functions leave the VPC through NAT gateway(s) with Elastic IPs.

Seeds 003 ("attach the Lambda function to a VPC, where subnets use a NAT gateway that has an
Elastic IP address for outbound traffic") and 001 (a caller without a public IP is seen as its
NAT gateway's IP): third parties that allow-list source addresses get one fixed IP per NAT.

The articles' arrows, in the order they are built here:
  function (private subnets, its own security group) → private route table (0.0.0.0/0) →
  NAT gateway (public subnet) + Elastic IP → internet gateway (the Network's) → third party.

``mode: regional`` replaces the zonal NAT gateway(s) with one regional NAT gateway in *manual*
mode: one Elastic IP per zone, listed by the program, so the set of addresses is exactly the one
third parties allow-listed (automatic mode would pick and add addresses itself). The Elastic IPs
are created here, or are the user's own (``eipAllocationIds``): then no ``Eip`` resource exists,
the addresses are only looked up, and nothing here can ever release them.

This component does not create the functions: it hands ``placement`` (subnets, security group,
the routes to wait for) and ``function_environment`` to ``ExposedFunctions``, which puts only
the *bundled* functions in the VPC. Existing functions (by ARN) are never modified; the config
layer warns that they keep their own egress.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.component import Component
from components.config import StaticEgressConfig
from components.elastic_ips import addresses
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
        zones = len(network.private_route_table_ids)
        allocations, public_ips = self._elastic_ips(config.elastic_ip_count(zones))
        if config.mode == "regional":
            nats = [self._regional_nat(allocations)]
        else:
            nats = [self._nat(index, allocation) for index, allocation in enumerate(allocations)]
        routes = [
            aws.ec2.Route(
                f"{self._name}-default-{zone}",
                route_table_id=table_id,
                destination_cidr_block="0.0.0.0/0",
                nat_gateway_id=nats[nat_for_zone(zone, len(nats))].id,
                region=None,
                opts=pulumi.ResourceOptions(parent=self),
            )
            for zone, table_id in enumerate(network.private_route_table_ids)
        ]

        self.security_group_id = security_group.id
        self.nat_gateway_ids = [nat.id for nat in nats]
        self.egress_ips = pulumi.Output.all(*public_ips)
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

    def _elastic_ips(self, count: int) -> tuple[list[pulumi.Input[str]], list[pulumi.Output[str]]]:
        """Allocation ids and public IPs of the ``count`` Elastic IPs, in zone order: the
        user's own (looked up, never a resource of this stack), or new ones."""
        config = self._args.config
        return addresses(
            self,
            config.eip_allocation_ids,
            (f"{self._name}-ip", count, config.protect_egress_ips, TAGS),
        )

    def _nat(self, index: int, allocation_id: pulumi.Input[str]) -> aws.ec2.NatGateway:
        """The zonal NAT gateway in public subnet ``index``, with that Elastic IP."""
        name = self._name
        return aws.ec2.NatGateway(
            f"{name}-nat-{index}",
            allocation_id=allocation_id,
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

    def _regional_nat(self, allocation_ids: Sequence[pulumi.Input[str]]) -> aws.ec2.NatGateway:
        """One regional NAT gateway in manual mode: zone i uses Elastic IP i and no other.

        Listing ``availability_zone_addresses`` is what makes it manual: left out, the gateway
        runs in automatic mode, expanding to zones and associating addresses AWS picks
        (https://docs.aws.amazon.com/vpc/latest/userguide/nat-gateways-regional.html), which no
        third party has allow-listed. Manual mode is the one "where you control EIP allocation
        per AZ", and "the gateway only serves the listed Availability Zones", so every zone with
        a private subnet is listed (AWS CDK reference, RegionalNatGatewayProviderProps,
        https://docs.aws.amazon.com/cdk/api/v2/docs/aws-cdk-lib.aws_ec2.RegionalNatGatewayProviderProps.html).
        It lives in no subnet; AWS gives it its own route table with the route to the internet
        gateway, which must be attached first.
        """
        name = self._name
        zones = self._subnet_zones(len(allocation_ids))
        return aws.ec2.NatGateway(
            # The name of the single zonal NAT: from natPerAz: false, one `pulumi up` replaces it
            # delete-first, which frees its Elastic IP (ip-0) for the regional gateway.
            f"{name}-nat-0",
            availability_mode="regional",
            vpc_id=self._args.network.vpc_id,
            connectivity_type="public",
            availability_zone_addresses=[
                {"availability_zone": zone, "allocation_ids": [allocation]}
                for zone, allocation in zip(zones, allocation_ids, strict=True)
            ],
            tags={**TAGS, "Name": f"{name}-nat"},
            region=None,
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=list(self._args.network.internet_ready),
                delete_before_replace=True,
            ),
        )

    def _subnet_zones(self, count: int) -> list[str]:
        """The zones of the network's subnets, in their order: the same lookup, with the same
        filter, as ``Network._zones`` (components/network.py), which exposes subnet ids only.
        tests/test_addresses_egress.py checks that the two agree."""
        zones = aws.get_availability_zones(
            state="available",
            filters=[{"name": "opt-in-status", "values": ["opt-in-not-required"]}],
            region=None,
            opts=pulumi.InvokeOptions(parent=self),
        )
        return list(zones.names[:count])
