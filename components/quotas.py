"""AWS quotas that the config alone decides, counted before any resource is registered.

Mocks accept a security group with 300 rules or a 9,000-character API policy; AWS refuses them
halfway through ``pulumi up``. Each function here counts, from the validated config and with
the same helpers the components build from, what one AWS quota will count, so
``StackConfig``'s last validator can refuse the config with the key path and the numbers.

Where AWS lets a quota be raised (Service Quotas), the config declares the granted value under
``lambda-exposure:quotas`` (``QuotasConfig``); the defaults below are AWS's. Quotas on what the
program does not decide are left to AWS: prefix list entries (1,000 per list) and the WAF IP
sets of ``ipRangeSync`` are filled at run time from ip-ranges.json, where the sync function
checks them before writing.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from components.api_policy import policy_json

if TYPE_CHECKING:
    from components.config import StackConfig

VPC_QUOTAS = "https://docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html"
API_GATEWAY_QUOTAS = (
    "https://docs.aws.amazon.com/apigateway/latest/developerguide/"
    "api-gateway-execution-service-limits-table.html"
)
CLOUDFRONT_QUOTAS = (
    "https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cloudfront-limits.html"
)
ALB_QUOTAS = (
    "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-limits.html"
)
WAF_IP_SETS = (
    "https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-type-ipset-match.html"
)


@dataclass(frozen=True)
class Quota:
    """One AWS quota, by the name Service Quotas and the docs give it."""

    name: str
    default: int
    url: str
    # The QuotasConfig field that declares a raised value; None when AWS does not raise it.
    field: str | None = None


# "This quota is enforced separately for IPv4 rules and IPv6 rules"; a rule that references a
# security group counts as one rule of each family, and one that references a prefix list counts
# its maximum entries (an AWS-managed list: its weight). The only groups of the program that
# reference a prefix list are ipRangeSync's, with AWS's CloudFront lists (managedPrefixList).
SECURITY_GROUP_RULES = Quota(
    "Inbound or outbound rules per security group", 60, VPC_QUOTAS, "security_group_rules"
)
API_POLICY_CHARACTERS = Quota(
    "Length, in characters, of API Gateway resource policy",
    8192,
    API_GATEWAY_QUOTAS,
    "api_policy_characters",
)
# The CloudFront guide has listed 25 and, more recently, 75; 25 is kept as the default until
# every account shows 75 in Service Quotas (declare quotas.cloudfrontCacheBehaviors if yours
# does). The default behavior is not one of them: the quota counts CacheBehaviors.
CLOUDFRONT_CACHE_BEHAVIORS = Quota(
    "Cache behaviors per distribution", 25, CLOUDFRONT_QUOTAS, "cloudfront_cache_behaviors"
)
ALB_RULES = Quota(
    "Rules per Application Load Balancer (excluding default rules)",
    100,
    ALB_QUOTAS,
    "alb_listener_rules",
)
ALB_TARGET_GROUPS = Quota("Target Groups per Application Load Balancer", 100, ALB_QUOTAS)
# The root resource counts: "Resources per API" is every resource of the REST API.
API_RESOURCES = Quota("Resources per API", 300, API_GATEWAY_QUOTAS, "api_resources")
# "An IP set can hold up to 10,000 IP addresses or IP address ranges to check."
WAF_IP_SET_ADDRESSES = Quota("IP addresses and address ranges per IP set", 10_000, WAF_IP_SETS)

QUOTAS = (
    SECURITY_GROUP_RULES,
    API_POLICY_CHARACTERS,
    CLOUDFRONT_CACHE_BEHAVIORS,
    ALB_RULES,
    ALB_TARGET_GROUPS,
    WAF_IP_SET_ADDRESSES,
    API_RESOURCES,
)


@dataclass(frozen=True)
class Usage:
    """How much of one quota one resource of the config uses."""

    key: str  # the config key path whose values make the count
    quota: Quota
    used: int
    limit: int  # AWS's default, or the value declared under quotas
    counted: str  # what makes up the count, read after the number
    declare_as: str | None  # quotas.<key> when the quota can be raised
    declared: bool = False
    hint: str = ""

    @property
    def exceeded(self) -> bool:
        return self.used > self.limit

    def message(self) -> str:
        text = f"{self.key}: {self.used:,} {self.counted}, over the quota of {self.limit:,}"
        if self.declared:
            text += f" declared as {self.declare_as} ({self.quota.name})"
        elif self.declare_as:
            text += (
                f" ({self.quota.name}, AWS's default; adjustable in Service Quotas: once AWS "
                f"grants more, declare it as {self.declare_as})"
            )
        else:
            text += f" ({self.quota.name}, not adjustable)"
        return text + (f"; {self.hint}" if self.hint else "")


def _usage(
    config: StackConfig, key: str, quota: Quota, used: int, counted: str, hint: str = ""
) -> Usage:
    if quota.field is None:
        return Usage(key, quota, used, quota.default, counted, None, hint=hint)
    quotas = config.quotas
    alias = type(quotas).model_fields[quota.field].alias or quota.field
    limit = getattr(quotas, quota.field)
    return Usage(
        key,
        quota,
        used,
        limit,
        counted,
        f"quotas.{alias}",
        declared=quota.field in quotas.model_fields_set,
        hint=hint,
    )


def partition_of(region: str) -> str:
    """The partition a region belongs to, from the partitions' region patterns."""
    for prefix, partition in (
        ("us-gov-", "aws-us-gov"),
        ("cn-", "aws-cn"),
        ("us-isob-", "aws-iso-b"),
        ("us-isof-", "aws-iso-f"),
        ("us-iso-", "aws-iso"),
        ("eu-isoe-", "aws-iso-e"),
        ("eusc-", "aws-eusc"),
    ):
        if region.startswith(prefix):
            return partition
    return "aws"


def placeholder_execution_arn(region: str) -> str:
    """An execution ARN of the real length: a 12-digit account and a 10-character API id."""
    return f"arn:{partition_of(region)}:execute-api:{region}:{'0' * 12}:{'0' * 10}"


# An interface endpoint id: "vpce-" and 17 hexadecimal digits.
PLACEHOLDER_VPC_ENDPOINT_ID = "vpce-" + "0" * 17


def api_policy_length(config: StackConfig) -> int:
    """Characters of the resource policy the API would get, exactly as it is sent."""
    api = config.ip_restricted_api
    endpoint = PLACEHOLDER_VPC_ENDPOINT_ID if api.private else None
    return len(policy_json(placeholder_execution_arn(config.region), api, endpoint))


def usages(config: StackConfig) -> Iterator[Usage]:
    """Every count the enabled patterns make against a quota, in the order they are checked."""
    if config.static_ip.enabled:
        yield from _static_ip_usages(config)
    if config.ip_restricted_api.enabled:
        api = config.ip_restricted_api
        key = "ipRestrictedApi.routes" if api.routes else "ipRestrictedApi.allow"
        if not api.routes and len(api.deny) > len(api.allow):
            key = "ipRestrictedApi.deny"
        yield _usage(
            config,
            key,
            API_POLICY_CHARACTERS,
            api_policy_length(config),
            "characters of resource policy (compact JSON, as the program sends it)",
            "merge adjacent CIDRs, or routes that share their lists",
        )
        from components.ip_restricted_api import plan_methods, resource_paths

        methods = plan_methods(config.functions_exposed_by("ipRestrictedApi"), api)
        yield _usage(
            config,
            "functions",
            API_RESOURCES,
            len(resource_paths(methods)),
            "API Gateway resources (the root, each function path segment with its {proxy+}, "
            "and each AWS_IAM route's segments)",
            "split the functions over two APIs (two stacks)",
        )
    if config.edge.enabled:
        from components.edge import behavior_order, path_patterns

        served = config.functions_exposed_by("edge")
        behaviors = sum(len(path_patterns(f.path)) for f in behavior_order(served))
        yield _usage(
            config,
            "functions",
            CLOUDFRONT_CACHE_BEHAVIORS,
            behaviors,
            "cache behaviors for the edge distribution (a pair, /path and /path/*, per "
            "function off '/')",
        )
        for version in (4, 6):
            count = _count_family(config.edge.allowed_cidrs, version)
            yield _usage(
                config,
                "edge.allowedCidrs",
                WAF_IP_SET_ADDRESSES,
                count,
                f"IPv{version} CIDRs in the edge web ACL's IPv{version} IP set",
            )
    if config.private_endpoint.enabled:
        # The endpoint's one rule lists the VPC CIDR and every extra CIDR; each counts as a rule.
        yield _usage(
            config,
            "privateEndpoint.allowedCidrs",
            SECURITY_GROUP_RULES,
            1 + len(config.private_endpoint.allowed_cidrs),
            "inbound IPv4 rules in the Lambda endpoint's security group (the VPC CIDR and "
            "each allowed CIDR)",
        )
    sync = config.ip_range_sync
    if sync.enabled and "securityGroup" in sync.targets and sync.aws_managed_lists:
        yield _origin_facing_usage(config)
    elif sync.enabled and "securityGroup" in sync.targets:
        yield _usage(
            config,
            "ipRangeSync.rulesPerGroup",
            SECURITY_GROUP_RULES,
            sync.rules_per_group,
            "inbound rules per address family that the sync function may put in each pool group",
        )


def _origin_facing_usage(config: StackConfig) -> Usage:
    """ipRangeSync's groups that reference AWS's CloudFront lists: each reference weighs the
    list's weight, not its entries in use; the fullest group is the one that counts."""
    from components.config.ip_range_sync import CLOUDFRONT_LIST_WEIGHT

    sync = config.ip_range_sync
    references = max(len(ports) for ports in sync.origin_facing_groups())
    return _usage(
        config,
        "ipRangeSync.rulesPerGroup",
        SECURITY_GROUP_RULES,
        references * CLOUDFRONT_LIST_WEIGHT,
        "inbound rules per address family in an ipRangeSync group ("
        + _plural(references, "port")
        + f" referencing AWS's CloudFront origin-facing list, which weighs "
        f"{CLOUDFRONT_LIST_WEIGHT} rules each)",
        "lower rulesPerGroup (the program then spreads the ports over more groups)",
    )


def _static_ip_usages(config: StackConfig) -> Iterator[Usage]:
    from components.static_ip import client_sources, listener_ports, routed_functions

    sip = config.static_ip
    ports = listener_ports(sip)
    where = "the ALB's security group" + (" in each region" if sip.regions else "")
    if sip.entry == "nlb":
        # The ALB's group then admits the NLB's group only: one rule per port.
        where = "the NLB's security group"
    sources = client_sources(sip)
    served = config.functions_exposed_by("staticIp")
    for version, family in ((4, "cidr_ipv4"), (6, "cidr_ipv6")):
        count = sum(1 for s in sources if family in s)
        yield _usage(
            config,
            "staticIp.allowedCidrs",
            SECURITY_GROUP_RULES,
            count * len(ports),
            f"inbound IPv{version} rules in {where} ({_plural(count, f'IPv{version} CIDR')} "
            f"x {_plural(len(ports), 'listener port')})",
            "a quota per address family; merge adjacent CIDRs",
        )
    rules = len(routed_functions(served)) + (len(ports) if sip.entry == "nlb" else 0)
    yield _usage(
        config,
        "functions",
        ALB_RULES,
        rules,
        "listener rules on each ALB (one per function off '/'"
        + (", one NLB health check answer per port)" if sip.entry == "nlb" else ")"),
    )
    yield _usage(
        config,
        "functions",
        ALB_TARGET_GROUPS,
        len(served),
        "target groups on each ALB (one per function)",
        "split the functions over two stacks",
    )


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def _count_family(cidrs: list[str], version: int) -> int:
    return sum(1 for c in cidrs if ipaddress.ip_network(c).version == version)


def first_exceeded(config: StackConfig) -> Usage | None:
    """The first count over its quota, or None when the config fits everywhere."""
    return next((u for u in usages(config) if u.exceeded), None)
