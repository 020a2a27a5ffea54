"""One AWS WAF web ACL builder for every entry: IP sets → web ACL → association.

``staticIp`` (a REGIONAL ACL on the ALB of each region), ``ipRestrictedApi`` (a REGIONAL ACL on
the stage) and ``edge`` (a CLOUDFRONT ACL in us-east-1, referenced by the distribution) all get
the same rules, in the same fixed order, from ``WebAclSpec``:

0. ``allowed-cidrs`` (only with an allow-list: ``edge.allowedCidrs``): **block** every request
   whose source is *not* in the IP sets (one per address family);
1. ``rate-limit-per-ip``: **block** a source IP above ``rateLimit`` requests per 5 minutes;
2. one rule per AWS managed rule group, in config order, with the group's own actions
   (``override_action: none``);

and the default action **allow**. Why this order: WAF stops at the first rule whose action is
allow or block, so an allow-list written as "allow the IP sets" would let listed sources skip
every rule after it (the rate limit, the managed rules). Written as "block everything else",
first, it ends evaluation only for the sources it refuses; a listed source goes on through the
rate limit and every managed group, and only then meets the default. Managed groups come last so
a flood is cut by the cheap rate rule before the costlier inspections, and a managed group's
own labels and counts never decide who the allow-list admits.

CloudWatch metrics and sampled requests are on for the ACL and every rule, so a block can be
traced to its rule in the console. The capacity these rules use (WCUs) is counted at config time
by ``components/quotas.py`` from the same names (``components.config.waf.web_acl_wcus``).
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import pulumi
import pulumi_aws as aws

from components.config import MANAGED_RULES_VENDOR
from components.config.waf import EVALUATION_WINDOW_SEC

ALLOW_LIST_RULE = "allowed-cidrs"
RATE_LIMIT_RULE = "rate-limit-per-ip"
# CloudWatch metric names: 1 to 128 of letters, digits and _ # : . - / (no spaces).
# https://docs.aws.amazon.com/waf/latest/APIReference/API_VisibilityConfig.html
METRIC_NAME_LIMIT = 128
_FAMILIES = {4: "IPV4", 6: "IPV6"}


@dataclass(frozen=True)
class WebAclSpec:
    """What one web ACL is built from; its children are named after ``prefix``."""

    prefix: str  # "<prefix>-waf", "<prefix>-allow-ipv4", "<prefix>-allow-ipv6"
    parent: pulumi.Resource
    # REGIONAL: in the region of what it protects (an ACL and its IP sets serve their own
    # region only); CLOUDFRONT: always us-east-1.
    scope: Literal["REGIONAL", "CLOUDFRONT"]
    region: str | None  # None: the provider's region
    description: str
    rate_limit: int
    managed_rules: Sequence[str] = ()
    # Non-empty: only these sources get past rule 0. The IP sets say where they come from.
    allowed_cidrs: Sequence[str] = ()
    allowed_from: str = ""  # the config key of the allow-list, for the IP sets' description
    tags: Mapping[str, str] | None = None


def metric_name(base: str, suffix: str = "") -> str:
    """``base-suffix`` within CloudWatch's 128 characters, the suffix (the rule) kept whole.

    A long stack name would otherwise cut the rule names off and give rules one shared metric;
    a digest of the full name keeps each one distinct, and short names stay as they read.
    """
    name = f"{base}-{suffix}" if suffix else base
    if len(name) <= METRIC_NAME_LIMIT:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    room = METRIC_NAME_LIMIT - len(digest) - 1 - (len(suffix) + 1 if suffix else 0)
    kept = f"{base[:room]}-{digest}"
    return f"{kept}-{suffix}" if suffix else kept


def acl_description(owner: str, allowed_from: str = "", managed: bool = False) -> str:
    """What the ACL does, for the console ("lambda-exposure: only edge.allowedCidrs, ...").
    WAF descriptions take letters, digits, spaces and ``+=:#@/-,.`` only: no parentheses."""
    parts = [f"only {allowed_from}"] if allowed_from else []
    parts.append("rate-limited per source IP")
    if managed:
        parts.append("then AWS managed rules")
    return f"{owner}: {', '.join(parts)}"


def _visibility(metric: str) -> aws.wafv2.WebAclVisibilityConfigArgsDict:
    return {
        "cloudwatch_metrics_enabled": True,
        "metric_name": metric,
        "sampled_requests_enabled": True,
    }


def rules(
    spec: WebAclSpec, ip_set_arns: Sequence[pulumi.Input[str]], base: str
) -> list[aws.wafv2.WebAclRuleArgsDict]:
    """The ACL's rules in evaluation order (priority = position), as documented above."""
    found: list[aws.wafv2.WebAclRuleArgsDict] = []
    if ip_set_arns:
        matches: list[aws.wafv2.WebAclRuleStatementArgsDict] = [
            {"ip_set_reference_statement": {"arn": arn}} for arn in ip_set_arns
        ]
        listed: aws.wafv2.WebAclRuleStatementArgsDict = (
            matches[0] if len(matches) == 1 else {"or_statement": {"statements": matches}}
        )
        found.append(
            {
                "name": ALLOW_LIST_RULE,
                "priority": len(found),
                "action": {"block": {}},
                "statement": {"not_statement": {"statement": listed}},
                "visibility_config": _visibility(metric_name(base, "allowed-cidrs")),
            }
        )
    found.append(
        {
            "name": RATE_LIMIT_RULE,
            "priority": len(found),
            "action": {"block": {}},
            "statement": {
                "rate_based_statement": {
                    "aggregate_key_type": "IP",
                    "limit": spec.rate_limit,
                    "evaluation_window_sec": EVALUATION_WINDOW_SEC,
                }
            },
            "visibility_config": _visibility(metric_name(base, "rate-limit")),
        }
    )
    for group in spec.managed_rules:
        found.append(
            {
                "name": group,
                "priority": len(found),
                # "none": the group's own rule actions (mostly block) apply as AWS wrote them.
                "override_action": {"none": {}},
                "statement": {
                    "managed_rule_group_statement": {
                        "name": group,
                        "vendor_name": MANAGED_RULES_VENDOR,
                    }
                },
                "visibility_config": _visibility(metric_name(base, group)),
            }
        )
    return found


def build_web_acl(spec: WebAclSpec) -> aws.wafv2.WebAcl:
    """The allow-list's IP sets (one per address family present), then the web ACL."""
    here = pulumi.ResourceOptions(parent=spec.parent)
    ip_sets = []
    for version, family in _FAMILIES.items():
        cidrs = [c for c in spec.allowed_cidrs if ipaddress.ip_network(c).version == version]
        if cidrs:
            ip_sets.append(
                aws.wafv2.IpSet(
                    f"{spec.prefix}-allow-{family.lower()}",
                    scope=spec.scope,
                    region=spec.region,
                    ip_address_version=family,
                    addresses=cidrs,
                    description=f"lambda-exposure {spec.allowed_from}",
                    tags=spec.tags,
                    opts=here,
                )
            )
    base = f"{pulumi.get_project()}-{pulumi.get_stack()}-{spec.prefix}"
    return aws.wafv2.WebAcl(
        f"{spec.prefix}-waf",
        scope=spec.scope,
        region=spec.region,
        description=spec.description,
        # Rule 0 blocks whoever the allow-list leaves out, so what reaches the default has
        # passed every rule: allow it.
        default_action={"allow": {}},
        rules=rules(spec, [s.arn for s in ip_sets], base),
        visibility_config=_visibility(metric_name(base)),
        tags=spec.tags,
        opts=here,
    )


def associate(
    name: str,
    web_acl: aws.wafv2.WebAcl,
    resource_arn: pulumi.Input[str],
    parent: pulumi.Resource,
    region: str | None,
) -> aws.wafv2.WebAclAssociation:
    """Put a REGIONAL ACL in front of an ALB or an API stage (same region as the ACL: "the web
    ACL must be in the same region as your resource"). CloudFront takes the ACL's ARN on the
    distribution instead (``web_acl_id``), not an association.
    https://docs.aws.amazon.com/waf/latest/developerguide/web-acl-associating-aws-resource.html
    """
    return aws.wafv2.WebAclAssociation(
        name,
        resource_arn=resource_arn,
        web_acl_arn=web_acl.arn,
        region=region,
        opts=pulumi.ResourceOptions(parent=parent),
    )
