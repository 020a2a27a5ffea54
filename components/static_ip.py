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
per-resource ``region``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import pulumi
import pulumi_aws as aws

from components.config import StackConfig, StaticIpConfig
from components.function import ExposedFunction, ExposedFunctions
from components.naming import physical_name
from components.network import Network

HTTP_PORT = 80
HTTPS_PORT = 443
ELB_PRINCIPAL = "elasticloadbalancing.amazonaws.com"
# Answered by the ALB itself (fixed response), so the NLB's health checks never invoke a
# function: they test the ALB, which is the NLB's target.
NLB_HEALTH_PATH = "/.well-known/lambda-exposure/alb-health"
# Lambda target health checks invoke the function every interval; they must outlast one call.
LAMBDA_HEALTH_INTERVAL = 35
LAMBDA_HEALTH_TIMEOUT = 30
TAGS = {"lambda-exposure:pattern": "staticIp"}


def listener_ports(config: StaticIpConfig) -> list[int]:
    """Ports clients use: 80 always (plain HTTP, or the redirect to HTTPS), 443 with a cert."""
    return [HTTP_PORT, HTTPS_PORT] if config.https else [HTTP_PORT]


def path_patterns(path: str) -> list[str]:
    """ALB path patterns for a function's path prefix: the prefix itself and what is below it."""
    return [path, f"{path}/*"]


class _Routed(Protocol):
    @property
    def path(self) -> str: ...


_R = TypeVar("_R", bound=_Routed)


def routed_functions(functions: Sequence[_R]) -> list[_R]:
    """Functions that need a path rule, most specific first (``/api/v2`` before ``/api``).

    Generic over anything with a ``path``: components/quotas.py counts the rules from the
    function configs with this same function.

    ALB evaluates rules by priority, lowest first; ordering by depth gives the longest prefix
    the lowest number, so a nested path is never shadowed by its parent.
    """
    routed = [f for f in functions if f.path != "/"]
    return sorted(routed, key=lambda f: (-f.path.count("/"), -len(f.path), f.path))


def ipv4_addresses(ip_sets: Sequence[Any]) -> list[str]:
    """The IPv4 addresses of an accelerator's ``ip_sets`` (typed objects or plain dicts)."""
    return _addresses(ip_sets, 4)


def ipv6_addresses(ip_sets: Sequence[Any]) -> list[str]:
    return _addresses(ip_sets, 6)


def _addresses(ip_sets: Sequence[Any], version: int) -> list[str]:
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


def client_sources(config: StaticIpConfig) -> list[dict[str, str]]:
    """Where clients may come from, as security group rule sources.

    The allow-list when one is set (and nothing else: no 0.0.0.0/0 anywhere); otherwise the
    whole internet, IPv6 included only when the accelerator carries IPv6.
    """
    if config.allowed_cidrs:
        return [
            {"cidr_ipv6": c} if ipaddress.ip_network(c).version == 6 else {"cidr_ipv4": c}
            for c in config.allowed_cidrs
        ]
    sources = [{"cidr_ipv4": "0.0.0.0/0"}]
    if config.entry == "global-accelerator" and config.ip_address_type == "DUAL_STACK":
        sources.append({"cidr_ipv6": "::/0"})
    return sources


@dataclass(frozen=True)
class RegionalAlb:
    """One region's internal ALB and what an entry in front of it needs to wait for."""

    region: str
    alb: aws.lb.LoadBalancer
    security_group: aws.ec2.SecurityGroup
    # By port: the NLB's target group on port P needs the ALB listener on P to exist.
    listeners: dict[int, aws.lb.Listener]
    target_groups: dict[str, aws.lb.TargetGroup]


class StaticIpEntry(pulumi.ComponentResource):
    """Fixed IPs (Global Accelerator or NLB + Elastic IPs) → internal ALB → Lambda."""

    static_ips: pulumi.Output[list[str]]
    static_ipv6s: pulumi.Output[list[str]]
    urls: pulumi.Output[list[str]]
    albs: list[RegionalAlb]

    def __init__(
        self,
        name: str,
        config: StaticIpConfig,
        functions: Sequence[ExposedFunction],
        network: Network,
        stack: StackConfig,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("lambda-exposure:index:StaticIpEntry", name, None, opts)
        self._name = name
        self._config = config
        self._ports = listener_ports(config)
        self.static_ipv6s = pulumi.Output.from_input([])
        if config.entry == "nlb":
            self._nlb_entry(functions, network, stack.region)
        else:
            self._accelerator_entry(functions, network, stack)
        self.urls = self.static_ips.apply(lambda ips: urls_for(ips, config.https))
        self.register_outputs(
            {
                "staticIps": self.static_ips,
                "staticIpv6s": self.static_ipv6s,
                "staticIpUrls": self.urls,
                "albArns": [a.alb.arn for a in self.albs],
            }
        )

    # -- Global Accelerator → ALB ---------------------------------------------------------------

    def _accelerator_entry(
        self, functions: Sequence[ExposedFunction], network: Network, stack: StackConfig
    ) -> None:
        config, name = self._config, self._name
        dials = {e.region: e.traffic_dial_percentage for e in config.regions}
        extra = [e for e in config.regions if e.region != stack.region]
        # Lambda target health checks cost an invocation each; they pay off only when an
        # unhealthy region has another region to fail over to (with one endpoint group,
        # Global Accelerator routes to it whatever its health).
        health_checks = bool(extra)
        sources = client_sources(config)
        primary = self._alb(
            name,
            {},
            stack.region,
            functions,
            network,
            config.certificate_arn,
            sources,
            health_checks,
        )
        regional: list[tuple[RegionalAlb, Network]] = [(primary, network)]
        for endpoint in extra:
            region = endpoint.region
            prefix = f"{name}-{region}"
            here = pulumi.ResourceOptions(parent=self)
            # Another region needs its own VPC and its own copy of the bundled functions: an ALB
            # can only invoke functions of its region.
            net = Network(prefix, stack.network, needed_by=["staticIp"], region=region, opts=here)
            copies = ExposedFunctions(
                f"{prefix}-functions",
                [f for f in stack.functions if f.name in {fn.name for fn in functions}],
                region=region,
                create_in_region=True,
                opts=here,
            )
            alb = self._alb(
                prefix,
                {"region": region},
                region,
                copies.functions,
                net,
                endpoint.certificate_arn,
                sources,
                health_checks,
            )
            regional.append((alb, net))
        self.albs = [alb for alb, _ in regional]

        # Global: the provider sends every Global Accelerator call to us-west-2 itself, so none
        # of these three resources takes a region.
        accelerator = aws.globalaccelerator.Accelerator(
            f"{name}-accelerator",
            enabled=True,
            ip_address_type=config.ip_address_type,
            tags=TAGS,
            # The two anycast IPs live and die with the accelerator: protect it so a destroy or a
            # replacement cannot hand the client a new pair.
            opts=pulumi.ResourceOptions(parent=self, protect=config.protect_static_ips),
        )
        listener = aws.globalaccelerator.Listener(
            f"{name}-listener",
            accelerator_arn=accelerator.arn,
            protocol="TCP",
            client_affinity="NONE",
            port_ranges=[{"from_port": p, "to_port": p} for p in self._ports],
            opts=pulumi.ResourceOptions(parent=self),
        )
        for alb, net in regional:
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
                    depends_on=[*alb.listeners.values(), *net.internet_ready],
                ),
            )
        self.static_ips = accelerator.ip_sets.apply(ipv4_addresses)
        if config.ip_address_type == "DUAL_STACK":
            self.static_ipv6s = accelerator.ip_sets.apply(ipv6_addresses)

    # -- NLB with Elastic IPs → ALB -------------------------------------------------------------

    def _nlb_entry(
        self, functions: Sequence[ExposedFunction], network: Network, region: str
    ) -> None:
        config, name = self._config, self._name
        here = pulumi.ResourceOptions(parent=self)
        # NLB security groups can only be given when the NLB is created; it is the NLB's group
        # that carries the allow-list, the ALB's group then admits only the NLB.
        nlb_sg = aws.ec2.SecurityGroup(
            f"{name}-nlb",
            vpc_id=network.vpc_id,
            description="lambda-exposure staticIp: clients to the NLB (allow-list)",
            tags={**TAGS, "Name": f"{name}-nlb"},
            opts=here,
        )
        self._ingress(f"{name}-nlb", nlb_sg, client_sources(config), {})
        alb = self._alb(
            name,
            {},
            region,
            functions,
            network,
            config.certificate_arn,
            [{"referenced_security_group_id": nlb_sg.id}],
            False,
            nlb_health=True,
        )
        self.albs = [alb]
        # Outbound from the NLB: to the ALB only, on the listener ports (traffic and health
        # checks both use the traffic port).
        for port in self._ports:
            aws.vpc.SecurityGroupEgressRule(
                f"{name}-nlb-out-{port}",
                security_group_id=nlb_sg.id,
                referenced_security_group_id=alb.security_group.id,
                ip_protocol="tcp",
                from_port=port,
                to_port=port,
                description=f"NLB to the internal ALB on {port}",
                opts=here,
            )
        eips = [
            aws.ec2.Eip(
                f"{name}-eip-{index}",
                domain="vpc",
                tags={**TAGS, "Name": f"{name}-eip-{index}"},
                # The addresses the client allow-lists: never released by a destroy or by a
                # change elsewhere in the stack unless protectStaticIps is turned off first.
                opts=pulumi.ResourceOptions(parent=self, protect=config.protect_static_ips),
            )
            for index in range(len(network.public_subnet_ids))
        ]
        nlb = aws.lb.LoadBalancer(
            f"{name}-nlb",
            name=physical_name(f"{name}-nlb", "load-balancer"),
            load_balancer_type="network",
            internal=False,
            subnet_mappings=[
                {"subnet_id": subnet, "allocation_id": eip.allocation_id}
                for subnet, eip in zip(network.public_subnet_ids, eips, strict=True)
            ],
            security_groups=[nlb_sg.id],
            # The ALB target spans the ALB's zones; cross-zone lets every NLB zone reach it even
            # when an existing VPC's public and private subnets are not in the same zones.
            enable_cross_zone_load_balancing=True,
            tags={**TAGS, "Name": f"{name}-nlb"},
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=list(network.internet_ready),
                # A replacement NLB needs the same Elastic IPs, which the old one holds until it
                # is deleted: delete first (a short outage) rather than fail, or move the IPs.
                delete_before_replace=True,
            ),
        )
        for port in self._ports:
            protocol = "HTTPS" if port == HTTPS_PORT else "HTTP"
            target_group = aws.lb.TargetGroup(
                f"{name}-nlb-tg-{port}",
                name=physical_name(f"{name}-nlb-tg-{port}", "target-group"),
                target_type="alb",
                protocol="TCP",
                port=port,
                vpc_id=network.vpc_id,
                health_check={
                    "enabled": True,
                    "protocol": protocol,
                    "port": "traffic-port",
                    "path": NLB_HEALTH_PATH,
                    "matcher": "200",
                },
                tags=TAGS,
                opts=here,
            )
            aws.lb.TargetGroupAttachment(
                f"{name}-nlb-target-{port}",
                target_group_arn=target_group.arn,
                target_id=alb.alb.arn,
                port=port,
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
                opts=here,
            )
        self.static_ips = pulumi.Output.all(*[e.public_ip for e in eips]).apply(list)

    # -- the ALB → Lambda part both entries share -------------------------------------------------

    def _ingress(
        self,
        prefix: str,
        group: aws.ec2.SecurityGroup,
        sources: Sequence[Mapping[str, pulumi.Input[str]]],
        region_args: Mapping[str, str],
    ) -> None:
        """One rule per (source, listener port): only the listener ports, nothing else."""
        for port in self._ports:
            for index, source in enumerate(sources):
                aws.vpc.SecurityGroupIngressRule(
                    f"{prefix}-in-{port}-{index}",
                    security_group_id=group.id,
                    ip_protocol="tcp",
                    from_port=port,
                    to_port=port,
                    description=f"clients on {port}",
                    **dict(source),
                    **region_args,
                    opts=pulumi.ResourceOptions(parent=self),
                )

    def _alb(
        self,
        prefix: str,
        region_args: Mapping[str, str],
        region: str,
        functions: Sequence[ExposedFunction],
        network: Network,
        certificate_arn: str,
        sources: Sequence[Mapping[str, pulumi.Input[str]]],
        health_checks: bool,
        nlb_health: bool = False,
    ) -> RegionalAlb:
        config = self._config
        r = dict(region_args)
        here = pulumi.ResourceOptions(parent=self)
        tags = {**TAGS, "Name": f"{prefix}-alb"}
        # No egress rule: an ALB invokes Lambda targets through the Lambda API, not over the
        # network, so its security group needs no outbound rule at all.
        group = aws.ec2.SecurityGroup(
            f"{prefix}-alb",
            vpc_id=network.vpc_id,
            description="lambda-exposure staticIp: entry to the internal ALB",
            tags=tags,
            **r,
            opts=here,
        )
        self._ingress(f"{prefix}-alb", group, sources, r)
        alb = aws.lb.LoadBalancer(
            f"{prefix}-alb",
            # Explicit only where "<prefix>-alb" plus Pulumi's suffix passes 32 characters: the
            # ALBs of staticIp.regions (static-ip-eu-central-1-alb-xxxxxxx is 34).
            name=physical_name(f"{prefix}-alb", "load-balancer", region),
            load_balancer_type="application",
            # Internal: the static IPs in front are the only way in.
            internal=True,
            subnets=list(network.private_subnet_ids),
            security_groups=[group.id],
            ip_address_type="dualstack" if config.ip_address_type == "DUAL_STACK" else "ipv4",
            # Malformed headers are dropped rather than passed to the function.
            drop_invalid_header_fields=True,
            tags=tags,
            **r,
            opts=here,
        )

        target_groups: dict[str, aws.lb.TargetGroup] = {}
        for fn in functions:
            target_group = aws.lb.TargetGroup(
                f"{prefix}-tg-{fn.name}",
                # A function name over 11 characters, or an extra region with all but the
                # shortest function names, takes the autoname past a target group's 32.
                name=physical_name(f"{prefix}-tg-{fn.name}", "target-group", region),
                target_type="lambda",
                # The ALB sends and reads multiValueHeaders; the bundled app answers that shape.
                lambda_multi_value_headers_enabled=True,
                health_check=(
                    {
                        "enabled": True,
                        "path": fn.path,
                        # Only a failing function (5xx, error, timeout) makes it unhealthy.
                        "matcher": "200-499",
                        "interval": LAMBDA_HEALTH_INTERVAL,
                        "timeout": LAMBDA_HEALTH_TIMEOUT,
                    }
                    if health_checks
                    else {"enabled": False}
                ),
                tags={**TAGS, "lambda-exposure:function": fn.name},
                **r,
                opts=here,
            )
            # Scoped to this target group: no other load balancer may invoke the function.
            permission = aws.lambda_.Permission(
                f"{prefix}-invoke-{fn.name}",
                action="lambda:InvokeFunction",
                function=fn.arn,
                principal=ELB_PRINCIPAL,
                source_arn=target_group.arn,
                **r,
                opts=here,
            )
            aws.lb.TargetGroupAttachment(
                f"{prefix}-target-{fn.name}",
                target_group_arn=target_group.arn,
                target_id=fn.arn,
                **r,
                # ELB checks that it may invoke the function when the target is registered.
                opts=pulumi.ResourceOptions(parent=self, depends_on=[permission]),
            )
            target_groups[fn.name] = target_group

        root = next((f for f in functions if f.path == "/"), None)
        default_action: dict[str, Any] = (
            {"type": "forward", "target_group_arn": target_groups[root.name].arn}
            if root is not None
            else {
                "type": "fixed-response",
                "fixed_response": {
                    "content_type": "application/json",
                    "status_code": "404",
                    "message_body": '{"message": "no function serves this path"}',
                },
            }
        )
        listeners: dict[int, aws.lb.Listener] = {}
        if certificate_arn:
            listeners[HTTPS_PORT] = aws.lb.Listener(
                f"{prefix}-https",
                load_balancer_arn=alb.arn,
                port=HTTPS_PORT,
                protocol="HTTPS",
                certificate_arn=certificate_arn,
                ssl_policy=config.ssl_policy,
                default_actions=[default_action],
                tags=TAGS,
                **r,
                opts=here,
            )
            listeners[HTTP_PORT] = aws.lb.Listener(
                f"{prefix}-http",
                load_balancer_arn=alb.arn,
                port=HTTP_PORT,
                protocol="HTTP",
                default_actions=[
                    {
                        "type": "redirect",
                        "redirect": {
                            "protocol": "HTTPS",
                            "port": str(HTTPS_PORT),
                            "status_code": "HTTP_301",
                        },
                    }
                ],
                tags=TAGS,
                **r,
                opts=here,
            )
            app_listener = listeners[HTTPS_PORT]
        else:
            listeners[HTTP_PORT] = aws.lb.Listener(
                f"{prefix}-http",
                load_balancer_arn=alb.arn,
                port=HTTP_PORT,
                protocol="HTTP",
                default_actions=[default_action],
                tags=TAGS,
                **r,
                opts=here,
            )
            app_listener = listeners[HTTP_PORT]

        for index, fn in enumerate(routed_functions(functions)):
            aws.lb.ListenerRule(
                f"{prefix}-route-{fn.name}",
                listener_arn=app_listener.arn,
                priority=10 * (index + 1),
                conditions=[{"path_pattern": {"values": path_patterns(fn.path)}}],
                actions=[{"type": "forward", "target_group_arn": target_groups[fn.name].arn}],
                tags=TAGS,
                **r,
                opts=here,
            )
        if nlb_health:
            # Priority 1, before any function rule: the NLB's health check is answered by the
            # ALB on every port the NLB forwards, HTTP 80 included when it otherwise redirects.
            for port, listener in listeners.items():
                aws.lb.ListenerRule(
                    f"{prefix}-nlb-health-{port}",
                    listener_arn=listener.arn,
                    priority=1,
                    conditions=[{"path_pattern": {"values": [NLB_HEALTH_PATH]}}],
                    actions=[
                        {
                            "type": "fixed-response",
                            "fixed_response": {
                                "content_type": "text/plain",
                                "status_code": "200",
                                "message_body": "ok",
                            },
                        }
                    ],
                    tags=TAGS,
                    **r,
                    opts=here,
                )
        return RegionalAlb(
            region=region,
            alb=alb,
            security_group=group,
            listeners=listeners,
            target_groups=target_groups,
        )
