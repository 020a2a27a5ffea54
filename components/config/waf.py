"""AWS WAF in front of an entry: ``staticIp.waf``, ``ipRestrictedApi.waf``, ``edge.managedRules``.

The catalog of AWS Managed Rules rule groups the program accepts, with the web ACL capacity units
(WCUs) each one costs, is data here, in one place: the config checks names against it, the
quota check adds up its WCUs (``components/quotas.py``) and ``components/waf.py`` builds the
rules from the same names. Source: the AWS WAF developer guide, "AWS Managed Rules rule groups
list" (https://docs.aws.amazon.com/waf/latest/developerguide/aws-managed-rule-groups-list.html):
its baseline, use-case specific and IP reputation groups, each "VendorName: AWS, Name: ...,
WCU: ...". Those are free beyond the basic web ACL and rule prices. The paid ones (Bot Control,
Fraud Control ATP and ACFP, Anti-DDoS) need a ``ManagedRuleGroupConfig`` of their own and bill
per request; they are refused by name with the reason, not offered.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from components.config.base import ConfigError, ConfigModel
from components.config.types import unique

MANAGED_RULES_LIST = (
    "https://docs.aws.amazon.com/waf/latest/developerguide/aws-managed-rule-groups-list.html"
)
# "WCUs - 1 WCU for most" (IP set match statement); a NOT or OR statement costs what the
# statements inside it cost ("Depends on the nested statements").
# https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-type-ipset-match.html
IP_SET_REFERENCE_WCUS = 1
# "WCUs - 2 plus any additional WCUs for a nested statement"; no scope-down statement here.
# https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-type-rate-based.html
RATE_BASED_WCUS = 2
# The basic web ACL price covers 1,500 WCUs; AWS allows up to 5,000 (a fixed maximum), billing
# the requests of an ACL over 1,500 extra for each 500 WCUs more.
# https://docs.aws.amazon.com/waf/latest/developerguide/aws-waf-capacity-units.html
BASE_WEB_ACL_WCUS = 1500
MAX_WEB_ACL_WCUS = 5000
# The rate limit AWS accepts, per source IP and evaluation window.
# https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-type-rate-based-high-level-settings.html
MIN_RATE_LIMIT = 10
MAX_RATE_LIMIT = 2_000_000_000
# Every rate rule of the program counts over 5 minutes (AWS's default window; 60, 120, 300 or
# 600 are valid): "rateLimit" reads as requests per IP per 5 minutes everywhere.
EVALUATION_WINDOW_SEC = 300


@dataclass(frozen=True)
class ManagedRuleGroup:
    """One AWS Managed Rules rule group: its name (the ``managedRules`` item) and its cost."""

    name: str
    wcus: int
    category: Literal["baseline", "use-case", "ip-reputation"]


# In the developer guide's order. Vendor "AWS" for every one of them.
AWS_MANAGED_RULE_GROUPS: dict[str, ManagedRuleGroup] = {
    group.name: group
    for group in (
        ManagedRuleGroup("AWSManagedRulesCommonRuleSet", 700, "baseline"),
        ManagedRuleGroup("AWSManagedRulesAdminProtectionRuleSet", 100, "baseline"),
        ManagedRuleGroup("AWSManagedRulesKnownBadInputsRuleSet", 200, "baseline"),
        ManagedRuleGroup("AWSManagedRulesSQLiRuleSet", 200, "use-case"),
        ManagedRuleGroup("AWSManagedRulesLinuxRuleSet", 200, "use-case"),
        ManagedRuleGroup("AWSManagedRulesUnixRuleSet", 100, "use-case"),
        ManagedRuleGroup("AWSManagedRulesWindowsRuleSet", 200, "use-case"),
        ManagedRuleGroup("AWSManagedRulesPHPRuleSet", 100, "use-case"),
        ManagedRuleGroup("AWSManagedRulesWordPressRuleSet", 100, "use-case"),
        ManagedRuleGroup("AWSManagedRulesAmazonIpReputationList", 25, "ip-reputation"),
        ManagedRuleGroup("AWSManagedRulesAnonymousIpList", 50, "ip-reputation"),
    )
}
MANAGED_RULES_VENDOR = "AWS"

# AWS managed groups that exist but are refused, and why (same developer guide list).
_PAID = (
    "is a paid AWS Managed Rules group (per-request fees on top of WAF's) that needs its own "
    "configuration ({what}), which this program does not write; leave it out"
)
REFUSED_RULE_GROUPS: dict[str, str] = {
    "AWSManagedRulesBotControlRuleSet": _PAID.format(what="an inspection level"),
    "AWSManagedRulesATPRuleSet": _PAID.format(what="the login page and its request fields"),
    "AWSManagedRulesACFPRuleSet": _PAID.format(
        what="the registration and account creation pages and their request fields"
    ),
    "AWSManagedRulesAntiDDoSRuleSet": _PAID.format(what="its client-side action (challenge)"),
}


def _managed_rule_group(name: str) -> str:
    if name in AWS_MANAGED_RULE_GROUPS:
        return name
    if name in REFUSED_RULE_GROUPS:
        raise ValueError(f"{name!r} {REFUSED_RULE_GROUPS[name]}")
    valid = list(AWS_MANAGED_RULE_GROUPS)
    # Case-insensitive: "awsmanagedrulescommonruleset" is one typo away, not twenty.
    folded = {n.lower(): n for n in valid}
    close = difflib.get_close_matches(name.lower(), list(folded), n=1, cutoff=0.6)
    hint = f" (did you mean {folded[close[0]]!r}?)" if close else ""
    raise ValueError(
        f"{name!r} is not an AWS managed rule group this program can add{hint}; valid: "
        f"{', '.join(valid)} ({MANAGED_RULES_LIST})"
    )


ManagedRuleGroupName = Annotated[str, AfterValidator(_managed_rule_group)]
ManagedRules = Annotated[list[ManagedRuleGroupName], unique("managed rule group")]

RateLimit = Annotated[int, Field(ge=MIN_RATE_LIMIT, le=MAX_RATE_LIMIT)]


def web_acl_wcus(ip_sets: int, managed_rules: Sequence[str]) -> int:
    """The capacity a web ACL of ``components/waf.py`` uses: one WCU per IP set it references
    (the allow-list), the rate-based rule, and each managed group's own WCUs."""
    return (
        ip_sets * IP_SET_REFERENCE_WCUS
        + RATE_BASED_WCUS
        + sum(AWS_MANAGED_RULE_GROUPS[name].wcus for name in managed_rules)
    )


def wcu_breakdown(ip_sets: int, managed_rules: Sequence[str]) -> str:
    """What makes up ``web_acl_wcus``, for messages: "rate limit 2, AWSManagedRules... 700"."""
    parts = [f"IP set {IP_SET_REFERENCE_WCUS}"] * ip_sets + [f"rate limit {RATE_BASED_WCUS}"]
    parts += [f"{name} {AWS_MANAGED_RULE_GROUPS[name].wcus}" for name in managed_rules]
    return ", ".join(parts)


class WafConfig(ConfigModel):
    """A REGIONAL web ACL in front of the entry: a per-IP rate limit, then AWS managed rules."""

    enabled: bool = Field(
        default=False,
        description="Create the web ACL and associate it; WAF bills per web ACL, rule and request",
    )
    rate_limit: RateLimit = Field(
        default=2000,
        alias="rateLimit",
        description="Requests per source IP per 5 minutes before WAF blocks that IP (the web "
        "ACL's first rule)",
    )
    managed_rules: ManagedRules = Field(
        default_factory=list,
        alias="managedRules",
        description="AWS managed rule group names, evaluated in this order after the rate "
        "limit (like `AWSManagedRulesCommonRuleSet`); their WCUs count against "
        "`quotas.wafWebAclCapacity`",
    )

    @model_validator(mode="after")
    def _rules_need_the_acl(self) -> WafConfig:
        if self.managed_rules and not self.enabled:
            # A rule group listed and silently not applied is the worst outcome of a typo'd flag.
            raise ConfigError(
                "managedRules: listed, but enabled is false, so no web ACL is created; set "
                "enabled: true, or remove managedRules"
            )
        return self
