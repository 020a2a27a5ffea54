"""Static IP entry: fixed addresses in front of an internal ALB that invokes the functions.

Seeds 000 and 003: some clients reach the internet only through a firewall that allow-lists
destination *IP addresses*, and cannot follow the DNS name of API Gateway or of a load balancer,
whose addresses change. Two ways to give them addresses that never change:

* ``entry: global-accelerator`` (default): a standard accelerator gives two anycast IPv4
  addresses (and two IPv6 with DUAL_STACK), announced from every AWS edge location, and carries
  the connection over the AWS network to an **internal** ALB. Internal, because then the static
  IPs are the only way in: nothing on the internet can reach the ALB around them.
* ``entry: nlb``: an internet-facing NLB with one Elastic IP per zone (``subnetMappings``),
  forwarding TCP to the same kind of internal ALB through an ``alb``-type target group.

Either way the ALB routes by path to one ``lambda``-type target group per function. The client
allow-list (``allowedCidrs``) is enforced by the security group of whatever faces the client:
the ALB's (Global Accelerator preserves the client IP, so the ALB sees it), or the NLB's (and the
ALB then admits only the NLB). The static addresses themselves are ``protect``-ed: an allow-list
entry at a client must never go stale because of a redeploy.

``staticIp.regions`` puts an ALB and a copy of the bundled functions in more regions behind the
same accelerator (one endpoint group per region, with its own traffic dial), using pulumi-aws 7's
per-resource ``region``. The ALB → Lambda part is ``components/alb.py``'s.

``staticIp.waf`` puts a REGIONAL AWS WAF web ACL (``components/waf.py``: a per-IP rate limit,
then AWS managed rule groups) on every ALB, one ACL per region, because an ACL protects
resources of its own region only. The ALB sees the client's address (client IP preservation), so
the rate limit and the IP reputation groups count real clients.

``staticIp.accessLogs``: every ALB writes its access logs to the log bucket of its own region,
and the accelerator its flow logs to the stack region's (``components/logs.py``).

Built in the order a request travels, as far as each piece can name the next:
  accelerator → listener → per region: [VPC, function copies →] ALB [→ web ACL → association]
  → endpoint group; or Elastic IPs → NLB security group → NLB → ALB [→ web ACL → association]
  → NLB-to-ALB egress → per port: target group → ALB target → NLB listener.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.alb import (
    HTTPS_PORT,
    AlbSpec,
    GroupSpec,
    IngressSource,
    LambdaAlb,
    build_alb,
    listener_ports_for,
    security_group,
)

# Re-exported: quotas.py counts the rules of staticIp with the same order the ALB uses.
from components.alb import routed_functions as routed_functions
from components.component import Component
from components.config import FunctionConfig, NetworkConfig, RegionEndpoint, StaticIpConfig
from components.config.access_logs import DeliveryKind
from components.elastic_ips import addresses
from components.function import ExposedFunction, ExposedFunctions, ExposedFunctionsArgs
from components.logs import LogBuckets, LogTarget
from components.naming import physical_name
from components.network import Network, NetworkArgs
from components.region import Region
from components.waf import WebAclSpec, acl_description, associate, build_web_acl

# Answered by the ALB itself (fixed response), so the NLB's health checks never invoke a
# function: they test the ALB, which is the NLB's target.
NLB_HEALTH_PATH = "/.well-known/lambda-exposure/alb-health"
TAGS = {"lambda-exposure:pattern": "staticIp"}


@dataclass(frozen=True)
class StaticIpEntryArgs:
    config: StaticIpConfig
    functions: Sequence[ExposedFunction]  # the ones staticIp serves, in the stack's region
    network: Network
    region: str  # the stack's
    # What each of staticIp.regions gets a copy of: a VPC laid out like the stack's, and the
    # served functions (an ALB can only invoke functions of its own region).
    network_config: NetworkConfig
    function_configs: Sequence[FunctionConfig]
    # With accessLogs: the stack's log buckets, one in each ALB's region.
    log_buckets: LogBuckets | None = None


def listener_ports(config: StaticIpConfig) -> list[int]:
    """Ports clients use: 80 always (plain HTTP, or the redirect to HTTPS), 443 with a cert."""
    return listener_ports_for(config.https)


# What an accelerator's ``ip_sets`` output holds: typed objects, or plain dicts from the mocks.
IpSet = aws.globalaccelerator.outputs.AcceleratorIpSet | Mapping[str, Sequence[str]]


def ipv4_addresses(ip_sets: Sequence[IpSet] | None) -> list[str]:
    """The IPv4 addresses of an accelerator's ``ip_sets``."""
    return _addresses(ip_sets, 4)


def ipv6_addresses(ip_sets: Sequence[IpSet] | None) -> list[str]:
    return _addresses(ip_sets, 6)


def _addresses(ip_sets: Sequence[IpSet] | None, version: int) -> list[str]:
    found: list[str] = []
    for ip_set in ip_sets or []:
        addresses = (
            ip_set.get("ip_addresses") or ip_set.get("ipAddresses")
            if isinstance(ip_set, Mapping)
            else ip_set.ip_addresses
        )
        found.extend(a for a in addresses or [] if ipaddress.ip_address(a).version == version)
    return found


def urls_for(ips: Sequence[str], https: bool) -> list[str]:
    scheme = "https" if https else "http"
    return [
        f"{scheme}://[{ip}]/" if ipaddress.ip_address(ip).version == 6 else f"{scheme}://{ip}/"
        for ip in ips
    ]


def client_sources(config: StaticIpConfig) -> list[IngressSource]:
    """Where clients may come from, as security group rule sources.

    The allow-list when one is set (and nothing else: no 0.0.0.0/0 anywhere); otherwise the
    whole internet, IPv6 included only when the accelerator carries IPv6.
    """
    if config.allowed_cidrs:
        return [
            {"cidr_ipv6": c} if ipaddress.ip_network(c).version == 6 else {"cidr_ipv4": c}
            for c in config.allowed_cidrs
        ]
    sources: list[IngressSource] = [{"cidr_ipv4": "0.0.0.0/0"}]
    if config.entry == "global-accelerator" and config.ip_address_type == "DUAL_STACK":
        sources.append({"cidr_ipv6": "::/0"})
    return sources


class StaticIpEntry(Component[StaticIpEntryArgs]):
    """Fixed IPs (Global Accelerator or NLB + Elastic IPs) → internal ALB → Lambda."""

    TYPE = "lambda-exposure:index:StaticIpEntry"
    static_ips: pulumi.Output[list[str]]
    static_ipv6s: pulumi.Output[list[str]]
    urls: pulumi.Output[list[str]]
    albs: list[LambdaAlb]
    # staticIp.waf: region -> the ARN of that region's web ACL (empty without waf).
    web_acls: dict[str, pulumi.Output[str]]

    def _build(self) -> pulumi.Inputs:
        config = self._args.config
        self._ports = listener_ports(config)
        self.web_acls = {}
        self.static_ipv6s = pulumi.Output.from_input([])
        if config.entry == "nlb":
            self._nlb_entry()
        else:
            self._accelerator_entry()
        self.urls = self.static_ips.apply(lambda ips: urls_for(ips, config.https))
        return {
            "staticIps": self.static_ips,
            "staticIpv6s": self.static_ipv6s,
            "staticIpUrls": self.urls,
            "albArns": [a.alb.arn for a in self.albs],
        }

    # -- Global Accelerator → ALB ---------------------------------------------------------------

    def _accelerator_entry(self) -> None:
        config, name = self._args.config, self._name
        # Global: the provider sends every Global Accelerator call to us-west-2 itself, so none
        # of these three resources takes a region.
        flow_logs = self._log_target(self._args.region, "accelerator")
        accelerator = aws.globalaccelerator.Accelerator(
            f"{name}-accelerator",
            enabled=True,
            ip_address_type=config.ip_address_type,
            attributes=_flow_logs(flow_logs),
            tags=TAGS,
            # The two anycast IPs live and die with the accelerator: protect it so a destroy or a
            # replacement cannot hand the client a new pair.
            opts=pulumi.ResourceOptions(
                parent=self,
                protect=config.protect_static_ips,
                # With no grant in the bucket policy yet, Global Accelerator writes a policy of
                # its own to the bucket when flow logs are turned on: ours comes first.
                depends_on=list(flow_logs.ready) if flow_logs else [],
            ),
        )
        listener = aws.globalaccelerator.Listener(
            f"{name}-listener",
            accelerator_arn=accelerator.arn,
            protocol="TCP",
            client_affinity="NONE",
            port_ranges=[{"from_port": p, "to_port": p} for p in self._ports],
            opts=pulumi.ResourceOptions(parent=self),
        )
        dials = {e.region: e.traffic_dial_percentage for e in config.regions}
        extra = [e for e in config.regions if e.region != self._args.region]
        # Lambda target health checks cost an invocation each; they pay off only when an
        # unhealthy region has another region to fail over to (with one endpoint group,
        # Global Accelerator routes to it whatever its health).
        health_checks = bool(extra)
        self.albs = []
        for endpoint in [None, *extra]:
            alb, network = self._regional_alb(endpoint, health_checks)
            aws.globalaccelerator.EndpointGroup(
                f"{name}-endpoints-{alb.region}",
                listener_arn=listener.arn,
                endpoint_group_region=alb.region,
                traffic_dial_percentage=dials.get(alb.region, 100),
                endpoint_configurations=[
                    {
                        "endpoint_id": alb.alb.arn,
                        # The ALB (and its security group) sees the real client address:
                        # that is what makes the allow-list on the ALB work.
                        "client_ip_preservation_enabled": True,
                        "weight": 128,
                    }
                ],
                # An internal ALB is reachable by Global Accelerator only once the VPC has an
                # internet gateway; the listeners must exist before traffic is sent.
                opts=pulumi.ResourceOptions(
                    parent=self,
                    depends_on=[*alb.listeners.values(), *network.internet_ready],
                ),
            )
            self.albs.append(alb)
        self.static_ips = accelerator.ip_sets.apply(ipv4_addresses)
        if config.ip_address_type == "DUAL_STACK":
            self.static_ipv6s = accelerator.ip_sets.apply(ipv6_addresses)

    def _regional_alb(
        self, endpoint: RegionEndpoint | None, health_checks: bool
    ) -> tuple[LambdaAlb, Network]:
        """The stack region's ALB (``endpoint`` None), or another region's with what it needs
        there: its own VPC and its own copy of the served functions."""
        args = self._args
        prefix, region = self._name, Region(args.region)
        network, functions = args.network, args.functions
        certificate_arn = args.config.certificate_arn
        if endpoint is not None:
            prefix, region = (
                f"{self._name}-{endpoint.region}",
                Region(endpoint.region, explicit=True),
            )
            here = pulumi.ResourceOptions(parent=self)
            network = Network(
                prefix,
                NetworkArgs(args.network_config, needed_by=["staticIp"], region=region.arg),
                opts=here,
            )
            functions = ExposedFunctions(
                f"{prefix}-functions",
                ExposedFunctionsArgs(args.function_configs, region=region),
                opts=here,
            ).functions
            certificate_arn = endpoint.certificate_arn
        alb = build_alb(
            AlbSpec(
                prefix=prefix,
                parent=self,
                region=region,
                network=network,
                functions=functions,
                ingress=client_sources(args.config),
                description="lambda-exposure staticIp: entry to the internal ALB",
                ssl_policy=args.config.ssl_policy,
                certificate_arn=certificate_arn,
                dual_stack=args.config.ip_address_type == "DUAL_STACK",
                health_checks=health_checks,
                tags=TAGS,
                access_logs=self._log_target(region.name, "alb"),
            )
        )
        self._web_acl(alb, prefix, region)
        return alb, network

    def _web_acl(self, alb: LambdaAlb, prefix: str, region: Region) -> None:
        """``staticIp.waf``: this region's web ACL, on this region's ALB. Created once the ALB
        exists; the allow-list is the security groups', so a new stack's first requests before
        the association lands are no wider than ``allowedCidrs`` already admits."""
        waf = self._args.config.waf
        if not waf.enabled:
            return
        acl = build_web_acl(
            WebAclSpec(
                prefix=prefix,
                parent=self,
                scope="REGIONAL",
                region=region.arg,
                description=acl_description(
                    "lambda-exposure staticIp", managed=bool(waf.managed_rules)
                ),
                rate_limit=waf.rate_limit,
                managed_rules=waf.managed_rules,
                tags=TAGS,
            )
        )
        associate(f"{prefix}-waf-alb", acl, alb.alb.arn, self, region.arg)
        self.web_acls[region.name] = acl.arn

    def _log_target(self, region: str, kind: DeliveryKind) -> LogTarget | None:
        """Where ``kind`` logs go in ``region``; None without ``accessLogs``."""
        logs = self._args.log_buckets
        if not self._args.config.access_logs or logs is None:
            return None
        return logs.target(region, kind)

    # -- NLB with Elastic IPs → ALB -------------------------------------------------------------

    def _nlb_entry(self) -> None:
        config, network, name = self._args.config, self._args.network, self._name
        here = pulumi.ResourceOptions(parent=self)
        allocations, public_ips = self._nlb_addresses()
        nlb, nlb_group = self._nlb(allocations)
        alb = build_alb(
            AlbSpec(
                prefix=name,
                parent=self,
                region=Region(self._args.region),
                network=network,
                functions=self._args.functions,
                ingress=[{"referenced_security_group_id": nlb_group.id}],
                description="lambda-exposure staticIp: entry to the internal ALB",
                ssl_policy=config.ssl_policy,
                certificate_arn=config.certificate_arn,
                dual_stack=config.ip_address_type == "DUAL_STACK",
                health_answer_path=NLB_HEALTH_PATH,
                tags=TAGS,
                access_logs=self._log_target(self._args.region, "alb"),
            )
        )
        self.albs = [alb]
        self._web_acl(alb, name, Region(self._args.region))
        for port in self._ports:
            # Outbound from the NLB: to the ALB only, on the listener ports (traffic and health
            # checks both use the traffic port).
            aws.vpc.SecurityGroupEgressRule(
                f"{name}-nlb-out-{port}",
                security_group_id=nlb_group.id,
                referenced_security_group_id=alb.security_group.id,
                ip_protocol="tcp",
                from_port=port,
                to_port=port,
                description=f"NLB to the internal ALB on {port}",
                region=None,
                opts=here,
            )
        for port in self._ports:
            self._nlb_port(nlb, alb, port)
        self.static_ips = pulumi.Output.all(*public_ips).apply(list)

    def _nlb_addresses(self) -> tuple[list[pulumi.Input[str]], list[pulumi.Output[str]]]:
        """Allocation ids and public IPs of the NLB's Elastic IPs, one per public subnet: the
        user's own (``eipAllocationIds``: looked up, never a resource of this stack, so no
        destroy can release them), or new ones."""
        config = self._args.config
        count = len(self._args.network.public_subnet_ids)
        return addresses(
            self,
            config.eip_allocation_ids,
            (f"{self._name}-eip", count, config.protect_static_ips, TAGS),
        )

    def _nlb(
        self, allocations: Sequence[pulumi.Input[str]]
    ) -> tuple[aws.lb.LoadBalancer, aws.ec2.SecurityGroup]:
        """The internet-facing NLB, one Elastic IP per public subnet, and its security group."""
        config, network, name = self._args.config, self._args.network, self._name
        # NLB security groups can only be given when the NLB is created; it is the NLB's group
        # that carries the allow-list, the ALB's group then admits only the NLB.
        group = security_group(
            GroupSpec(
                name=f"{name}-nlb",
                parent=self,
                vpc_id=network.vpc_id,
                description="lambda-exposure staticIp: clients to the NLB (allow-list)",
                sources=client_sources(config),
                ports=self._ports,
                tags=TAGS,
            )
        )
        nlb = aws.lb.LoadBalancer(
            f"{name}-nlb",
            name=physical_name(f"{name}-nlb", "load-balancer"),
            load_balancer_type="network",
            internal=False,
            subnet_mappings=[
                {"subnet_id": subnet, "allocation_id": allocation}
                for subnet, allocation in zip(network.public_subnet_ids, allocations, strict=True)
            ],
            security_groups=[group.id],
            # The ALB target spans the ALB's zones; cross-zone lets every NLB zone reach it even
            # when an existing VPC's public and private subnets are not in the same zones.
            enable_cross_zone_load_balancing=True,
            tags={**TAGS, "Name": f"{name}-nlb"},
            region=None,
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=list(network.internet_ready),
                # A replacement NLB needs the same Elastic IPs, which the old one holds until it
                # is deleted: delete first (a short outage) rather than fail, or move the IPs.
                delete_before_replace=True,
            ),
        )
        return nlb, group

    def _nlb_port(self, nlb: aws.lb.LoadBalancer, alb: LambdaAlb, port: int) -> None:
        """Port ``port`` of the NLB, passed through (TCP) to the same port of the ALB."""
        name, here = self._name, pulumi.ResourceOptions(parent=self)
        target_group = aws.lb.TargetGroup(
            f"{name}-nlb-tg-{port}",
            name=physical_name(f"{name}-nlb-tg-{port}", "target-group"),
            target_type="alb",
            protocol="TCP",
            port=port,
            vpc_id=self._args.network.vpc_id,
            health_check={
                "enabled": True,
                "protocol": "HTTPS" if port == HTTPS_PORT else "HTTP",
                "port": "traffic-port",
                "path": NLB_HEALTH_PATH,
                "matcher": "200",
            },
            tags=TAGS,
            region=None,
            opts=here,
        )
        aws.lb.TargetGroupAttachment(
            f"{name}-nlb-target-{port}",
            target_group_arn=target_group.arn,
            target_id=alb.alb.arn,
            port=port,
            region=None,
            # ELB refuses an ALB target on a port where the ALB has no listener yet.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[alb.listeners[port]]),
        )
        aws.lb.Listener(
            f"{name}-nlb-listener-{port}",
            load_balancer_arn=nlb.arn,
            port=port,
            # TCP pass-through: TLS (when on) ends at the ALB, which holds the certificate.
            protocol="TCP",
            default_actions=[{"type": "forward", "target_group_arn": target_group.arn}],
            tags=TAGS,
            region=None,
            opts=here,
        )


def _flow_logs(
    target: LogTarget | None,
) -> aws.globalaccelerator.AcceleratorAttributesArgsDict | None:
    """The accelerator's flow logs, to the stack region's log bucket (None: left off)."""
    if target is None:
        return None
    return {
        "flow_logs_enabled": True,
        "flow_logs_s3_bucket": target.bucket,
        "flow_logs_s3_prefix": target.prefix,
    }
