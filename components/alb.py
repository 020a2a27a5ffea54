"""An ALB that invokes Lambda functions: security group → ALB → target groups → listeners.

The part of an entry that is the same whoever stands in front: one ``lambda``-type target group
per function (and the permission that lets exactly that target group invoke it), listeners on
80 (and 443 with a certificate, 80 then redirecting), one path rule per function below ``/``,
most specific first. What faces the ALB is the caller's choice, given as data:

* ``ingress``: who may connect (CIDRs, a security group, a managed prefix list), one rule per
  source and listener port and nothing else; the group has no outbound rule at all, because an
  ALB invokes Lambda targets through the Lambda API, not over the network;
* ``health_checks``: Lambda target health checks (each one an invocation) or none;
* ``health_answer_path``: a path the ALB answers itself on every listener, for a load balancer in
  front whose health checks must test the ALB, not invoke a function;
* ``access_logs``: where the ALB writes its access logs (a log bucket of its own region,
  ``components/logs.py``), or nowhere.

``components/static_ip.py`` puts it behind Global Accelerator or an NLB. Every child is parented
to the component that asks for it (``AlbSpec.parent``), with the logical names that component
has always had: they are the resources' URNs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, TypedDict, TypeVar

import pulumi
import pulumi_aws as aws

from components.function import ExposedFunction
from components.logs import LogTarget
from components.naming import physical_name
from components.network import Network
from components.region import Region

HTTP_PORT = 80
HTTPS_PORT = 443
ELB_PRINCIPAL = "elasticloadbalancing.amazonaws.com"
# Lambda target health checks invoke the function every interval; they must outlast one call.
LAMBDA_HEALTH_INTERVAL = 35
LAMBDA_HEALTH_TIMEOUT = 30

NO_FUNCTION_HERE: aws.lb.ListenerDefaultActionArgsDict = {
    "type": "fixed-response",
    "fixed_response": {
        "content_type": "application/json",
        "status_code": "404",
        "message_body": '{"message": "no function serves this path"}',
    },
}
REDIRECT_TO_HTTPS: aws.lb.ListenerDefaultActionArgsDict = {
    "type": "redirect",
    "redirect": {"protocol": "HTTPS", "port": str(HTTPS_PORT), "status_code": "HTTP_301"},
}
HEALTHY: aws.lb.ListenerRuleActionArgsDict = {
    "type": "fixed-response",
    "fixed_response": {"content_type": "text/plain", "status_code": "200", "message_body": "ok"},
}


def listener_ports_for(https: bool) -> list[int]:
    """Ports clients use: 80 always (plain HTTP, or the redirect to HTTPS), 443 with a cert."""
    return [HTTP_PORT, HTTPS_PORT] if https else [HTTP_PORT]


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


class IngressSource(TypedDict, total=False):
    """Where connections may come from: exactly one of these, as a security group rule has."""

    cidr_ipv4: pulumi.Input[str]
    cidr_ipv6: pulumi.Input[str]
    referenced_security_group_id: pulumi.Input[str]
    # e.g. CloudFront's origin-facing managed prefix list, for an ALB only CloudFront reaches.
    prefix_list_id: pulumi.Input[str]


@dataclass(frozen=True)
class GroupSpec:
    """A security group that admits ``sources`` on ``ports`` and nothing else."""

    name: str  # the group's logical name, its Name tag, and the prefix of its rules' names
    parent: pulumi.Resource
    vpc_id: pulumi.Input[str]
    description: str
    sources: Sequence[IngressSource]
    ports: Sequence[int]
    region: str | None = None
    tags: Mapping[str, str] | None = None


def security_group(spec: GroupSpec) -> aws.ec2.SecurityGroup:
    """The group, then one inbound rule per (source, port): only the listener ports."""
    here = pulumi.ResourceOptions(parent=spec.parent)
    group = aws.ec2.SecurityGroup(
        spec.name,
        vpc_id=spec.vpc_id,
        description=spec.description,
        tags={**(spec.tags or {}), "Name": spec.name},
        region=spec.region,
        opts=here,
    )
    for port in spec.ports:
        for index, source in enumerate(spec.sources):
            aws.vpc.SecurityGroupIngressRule(
                f"{spec.name}-in-{port}-{index}",
                security_group_id=group.id,
                ip_protocol="tcp",
                from_port=port,
                to_port=port,
                description=f"clients on {port}",
                cidr_ipv4=source.get("cidr_ipv4"),
                cidr_ipv6=source.get("cidr_ipv6"),
                referenced_security_group_id=source.get("referenced_security_group_id"),
                prefix_list_id=source.get("prefix_list_id"),
                region=spec.region,
                opts=here,
            )
    return group


@dataclass(frozen=True)
class AlbSpec:
    """What an internal ALB in front of Lambda functions is built from."""

    prefix: str  # children are "<prefix>-alb", "<prefix>-tg-<function>", "<prefix>-http", ...
    parent: pulumi.Resource
    region: Region
    network: Network  # the ALB goes in its private subnets
    functions: Sequence[ExposedFunction]  # in ``region``: an ALB invokes only those
    ingress: Sequence[IngressSource]
    description: str  # of its security group: who it lets in, for a reader of the console
    ssl_policy: str
    # HTTPS on 443 with this (same-region ACM) certificate, port 80 then only redirecting to it;
    # plain HTTP on 80 without one.
    certificate_arn: str = ""
    dual_stack: bool = False
    health_checks: bool = False
    health_answer_path: str | None = None
    tags: Mapping[str, str] | None = None
    access_logs: LogTarget | None = None

    @property
    def listener_ports(self) -> list[int]:
        return listener_ports_for(bool(self.certificate_arn))


@dataclass(frozen=True)
class LambdaAlb:
    """One region's internal ALB and what an entry in front of it needs to wait for."""

    region: str
    alb: aws.lb.LoadBalancer
    security_group: aws.ec2.SecurityGroup
    # By port: a target group in front on port P needs the ALB listener on P to exist.
    listeners: dict[int, aws.lb.Listener]
    target_groups: dict[str, aws.lb.TargetGroup]


def build_alb(spec: AlbSpec) -> LambdaAlb:
    """The group, the ALB, a target per function, the listeners, the path rules, in that order."""
    name = f"{spec.prefix}-alb"
    tags = {**(spec.tags or {}), "Name": name}
    group = security_group(
        GroupSpec(
            name=name,
            parent=spec.parent,
            vpc_id=spec.network.vpc_id,
            description=spec.description,
            sources=spec.ingress,
            ports=spec.listener_ports,
            region=spec.region.arg,
            tags=spec.tags,
        )
    )
    alb = aws.lb.LoadBalancer(
        name,
        # Explicit only where "<prefix>-alb" plus Pulumi's suffix passes 32 characters: the
        # ALBs of staticIp.regions (static-ip-eu-central-1-alb-xxxxxxx is 34).
        name=physical_name(name, "load-balancer", spec.region.name),
        load_balancer_type="application",
        # Internal: whatever stands in front is the only way in.
        internal=True,
        subnets=list(spec.network.private_subnet_ids),
        security_groups=[group.id],
        ip_address_type="dualstack" if spec.dual_stack else "ipv4",
        # Malformed headers are dropped rather than passed to the function.
        drop_invalid_header_fields=True,
        access_logs=_access_logs(spec.access_logs),
        tags=tags,
        region=spec.region.arg,
        # ELB checks that it may write to the bucket (a test file) when access logs are turned
        # on, and refuses them otherwise: the bucket policy comes first.
        opts=pulumi.ResourceOptions(
            parent=spec.parent,
            depends_on=list(spec.access_logs.ready) if spec.access_logs else [],
        ),
    )
    target_groups = {fn.name: _target(spec, fn) for fn in spec.functions}
    listeners = _listeners(spec, alb, _default_action(spec, target_groups))
    _path_rules(spec, listeners[HTTPS_PORT if spec.certificate_arn else HTTP_PORT], target_groups)
    if spec.health_answer_path is not None:
        _health_answers(spec, listeners, spec.health_answer_path)
    return LambdaAlb(
        region=spec.region.name,
        alb=alb,
        security_group=group,
        listeners=listeners,
        target_groups=target_groups,
    )


def _access_logs(target: LogTarget | None) -> aws.lb.LoadBalancerAccessLogsArgsDict | None:
    if target is None:
        return None
    return {"bucket": target.bucket, "prefix": target.prefix, "enabled": True}


def _target(spec: AlbSpec, fn: ExposedFunction) -> aws.lb.TargetGroup:
    """The function's target group, the permission scoped to it, and the registration."""
    here = pulumi.ResourceOptions(parent=spec.parent)
    health_check: aws.lb.TargetGroupHealthCheckArgsDict = (
        {
            "enabled": True,
            "path": fn.path,
            # Only a failing function (5xx, error, timeout) makes it unhealthy.
            "matcher": "200-499",
            "interval": LAMBDA_HEALTH_INTERVAL,
            "timeout": LAMBDA_HEALTH_TIMEOUT,
        }
        if spec.health_checks
        else {"enabled": False}
    )
    name = f"{spec.prefix}-tg-{fn.name}"
    target_group = aws.lb.TargetGroup(
        name,
        # A function name over 11 characters, or an extra region with all but the shortest
        # function names, takes the autoname past a target group's 32.
        name=physical_name(name, "target-group", spec.region.name),
        target_type="lambda",
        # The ALB sends and reads multiValueHeaders; the bundled app answers that shape.
        lambda_multi_value_headers_enabled=True,
        health_check=health_check,
        tags={**(spec.tags or {}), "lambda-exposure:function": fn.name},
        region=spec.region.arg,
        opts=here,
    )
    # Scoped to this target group: no other load balancer may invoke the function.
    permission = aws.lambda_.Permission(
        f"{spec.prefix}-invoke-{fn.name}",
        action="lambda:InvokeFunction",
        function=fn.arn,
        principal=ELB_PRINCIPAL,
        source_arn=target_group.arn,
        region=spec.region.arg,
        opts=here,
    )
    aws.lb.TargetGroupAttachment(
        f"{spec.prefix}-target-{fn.name}",
        target_group_arn=target_group.arn,
        target_id=fn.arn,
        region=spec.region.arg,
        # ELB checks that it may invoke the function when the target is registered.
        opts=pulumi.ResourceOptions(parent=spec.parent, depends_on=[permission]),
    )
    return target_group


def _default_action(
    spec: AlbSpec, target_groups: Mapping[str, aws.lb.TargetGroup]
) -> aws.lb.ListenerDefaultActionArgsDict:
    """The function at ``/`` answers what no rule matches; without one, a 404 of the ALB's."""
    root = next((f for f in spec.functions if f.path == "/"), None)
    if root is None:
        return NO_FUNCTION_HERE
    return {"type": "forward", "target_group_arn": target_groups[root.name].arn}


def _listeners(
    spec: AlbSpec, alb: aws.lb.LoadBalancer, action: aws.lb.ListenerDefaultActionArgsDict
) -> dict[int, aws.lb.Listener]:
    here = pulumi.ResourceOptions(parent=spec.parent)
    listeners: dict[int, aws.lb.Listener] = {}
    if spec.certificate_arn:
        listeners[HTTPS_PORT] = aws.lb.Listener(
            f"{spec.prefix}-https",
            load_balancer_arn=alb.arn,
            port=HTTPS_PORT,
            protocol="HTTPS",
            certificate_arn=spec.certificate_arn,
            ssl_policy=spec.ssl_policy,
            default_actions=[action],
            tags=spec.tags,
            region=spec.region.arg,
            opts=here,
        )
    listeners[HTTP_PORT] = aws.lb.Listener(
        f"{spec.prefix}-http",
        load_balancer_arn=alb.arn,
        port=HTTP_PORT,
        protocol="HTTP",
        # With HTTPS on, plain HTTP only ever redirects: nothing is served in clear.
        default_actions=[REDIRECT_TO_HTTPS if spec.certificate_arn else action],
        tags=spec.tags,
        region=spec.region.arg,
        opts=here,
    )
    return listeners


def _path_rules(
    spec: AlbSpec, listener: aws.lb.Listener, target_groups: Mapping[str, aws.lb.TargetGroup]
) -> None:
    """One rule per function below ``/`` on the listener that serves (443 with HTTPS, else 80)."""
    for index, fn in enumerate(routed_functions(spec.functions)):
        aws.lb.ListenerRule(
            f"{spec.prefix}-route-{fn.name}",
            listener_arn=listener.arn,
            priority=10 * (index + 1),
            conditions=[{"path_pattern": {"values": path_patterns(fn.path)}}],
            actions=[{"type": "forward", "target_group_arn": target_groups[fn.name].arn}],
            tags=spec.tags,
            region=spec.region.arg,
            opts=pulumi.ResourceOptions(parent=spec.parent),
        )


def _health_answers(spec: AlbSpec, listeners: Mapping[int, aws.lb.Listener], path: str) -> None:
    """Priority 1, before any function rule: the ALB answers the health check itself on every
    listener, HTTP 80 included when it otherwise redirects."""
    for port, listener in listeners.items():
        aws.lb.ListenerRule(
            # "nlb-": the NLB entry asked for these first; the names are deployed URNs.
            f"{spec.prefix}-nlb-health-{port}",
            listener_arn=listener.arn,
            priority=1,
            conditions=[{"path_pattern": {"values": [path]}}],
            actions=[HEALTHY],
            tags=spec.tags,
            region=spec.region.arg,
            opts=pulumi.ResourceOptions(parent=spec.parent),
        )
