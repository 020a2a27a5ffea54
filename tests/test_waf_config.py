"""The WAF options (``staticIp.waf``, ``ipRestrictedApi.waf``, ``edge.managedRules``) refuse what
AWS would, with the key path, before any resource is registered; the capacity (WCUs) of every
web ACL is counted at config time against ``quotas.wafWebAclCapacity``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from components.config import AWS_MANAGED_RULE_GROUPS, ConfigError, parse_config
from components.config.waf import REFUSED_RULE_GROUPS

ROOT = Path(__file__).resolve().parent.parent
REGION = "eu-west-1"
COMMON = "AWSManagedRulesCommonRuleSet"
EVERY_GROUP = list(AWS_MANAGED_RULE_GROUPS)


def waf_config(entry: str, waf: dict[str, Any], **others: Any) -> dict[str, Any]:
    """A config with ``waf`` where ``entry`` takes it (edge: managedRules beside rateLimit)."""
    if entry == "edge":
        return {"edge": {"enabled": True, **waf, **others}}
    return {entry: {"enabled": True, "waf": {"enabled": True, **waf}, **others}}


def waf_key(entry: str) -> str:
    return "edge" if entry == "edge" else f"{entry}.waf"


ENTRIES = ["staticIp", "ipRestrictedApi", "edge"]


# -- managed rule group names -------------------------------------------------------------------


@pytest.mark.parametrize("entry", ENTRIES)
def test_an_unknown_group_is_refused_listing_the_valid_ones(synth_error, entry: str) -> None:
    config = waf_config(entry, {"managedRules": [COMMON, "AWSManagedRulesCommonRuleset"]})
    message = synth_error(config)
    line = next(
        x for x in message.splitlines() if f"lambda-exposure:{waf_key(entry)}.managedRules[1]:" in x
    )
    assert "'AWSManagedRulesCommonRuleset' is not an AWS managed rule group" in line
    assert f"did you mean {COMMON!r}?" in line
    for name in EVERY_GROUP:
        assert name in line


def test_a_name_far_from_every_group_gets_no_guess(synth_error) -> None:
    message = synth_error(waf_config("staticIp", {"managedRules": ["SQL"]}))
    assert "lambda-exposure:staticIp.waf.managedRules[0]: 'SQL' is not" in message
    assert "did you mean" not in message


@pytest.mark.parametrize("name", sorted(REFUSED_RULE_GROUPS))
def test_paid_groups_that_need_their_own_configuration_are_refused(synth_error, name: str) -> None:
    message = synth_error(waf_config("edge", {"managedRules": [name]}))
    assert f"lambda-exposure:edge.managedRules[0]: {name!r} is a paid AWS Managed Rules group" in (
        message
    )


def test_a_group_listed_twice_is_refused(synth_error) -> None:
    message = synth_error(waf_config("ipRestrictedApi", {"managedRules": [COMMON, COMMON]}))
    assert "lambda-exposure:ipRestrictedApi.waf.managedRules: duplicate managed rule group" in (
        message
    )


@pytest.mark.parametrize("entry", ["staticIp", "ipRestrictedApi"])
def test_managed_rules_without_the_web_acl_are_refused(synth_error, entry: str) -> None:
    # `enabled` defaults to false: a group listed there would silently protect nothing.
    message = synth_error({entry: {"enabled": True, "waf": {"managedRules": [COMMON]}}})
    assert f"lambda-exposure:{entry}.waf.managedRules: listed, but enabled is false" in message


@pytest.mark.parametrize("entry", ENTRIES)
@pytest.mark.parametrize(("limit", "ok"), [(9, False), (10, True), (2_000_000_000, True)])
def test_rate_limit_bounds_are_aws_bounds(entry: str, limit: int, ok: bool) -> None:
    raw = waf_config(entry, {"rateLimit": limit})
    if ok:
        parse_config(raw, REGION)
        return
    with pytest.raises(ConfigError, match=rf"lambda-exposure:{waf_key(entry)}\.rateLimit: "):
        parse_config(raw, REGION)


def test_rate_limit_past_the_maximum_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"staticIp\.waf\.rateLimit: .*2000000000"):
        parse_config(waf_config("staticIp", {"rateLimit": 2_000_000_001}), REGION)


def test_defaults_are_the_contract() -> None:
    config = parse_config({}, REGION)
    for waf in (config.static_ip.waf, config.ip_restricted_api.waf):
        assert (waf.enabled, waf.rate_limit, waf.managed_rules) == (False, 2000, [])
    assert config.edge.managed_rules == []
    assert not config.edge.web_acl
    assert config.quotas.waf_web_acl_capacity == 1500


# -- capacity (WCUs) ----------------------------------------------------------------------------


def test_the_catalog_is_the_developer_guides() -> None:
    # "VendorName: AWS, Name: ..., WCU: ..." in the AWS Managed Rules rule groups list.
    assert {n: g.wcus for n, g in AWS_MANAGED_RULE_GROUPS.items()} == {
        "AWSManagedRulesCommonRuleSet": 700,
        "AWSManagedRulesAdminProtectionRuleSet": 100,
        "AWSManagedRulesKnownBadInputsRuleSet": 200,
        "AWSManagedRulesSQLiRuleSet": 200,
        "AWSManagedRulesLinuxRuleSet": 200,
        "AWSManagedRulesUnixRuleSet": 100,
        "AWSManagedRulesWindowsRuleSet": 200,
        "AWSManagedRulesPHPRuleSet": 100,
        "AWSManagedRulesWordPressRuleSet": 100,
        "AWSManagedRulesAmazonIpReputationList": 25,
        "AWSManagedRulesAnonymousIpList": 50,
    }


@pytest.mark.parametrize("entry", ENTRIES)
def test_an_acl_over_1500_wcus_is_refused_with_the_sum(synth_error, entry: str) -> None:
    # 700 + 200 + 200 + 200 + 200 = 1,500, plus the rate rule's 2.
    groups = [
        COMMON,
        "AWSManagedRulesKnownBadInputsRuleSet",
        "AWSManagedRulesSQLiRuleSet",
        "AWSManagedRulesLinuxRuleSet",
        "AWSManagedRulesWindowsRuleSet",
    ]
    message = synth_error(waf_config(entry, {"managedRules": groups}))
    key = "edge.managedRules" if entry == "edge" else f"{entry}.waf.managedRules"
    assert f"lambda-exposure:{key}: 1,502 WCUs in " in message
    assert "rate limit 2, AWSManagedRulesCommonRuleSet 700" in message
    assert "over the quota of 1,500" in message
    assert "declare quotas.wafWebAclCapacity" in message


def test_an_acl_under_the_capacity_is_accepted() -> None:
    # Group WCUs are multiples of 25: 1,475 of them and the rate rule's 2 is as close as it gets.
    groups = [
        COMMON,
        "AWSManagedRulesKnownBadInputsRuleSet",
        "AWSManagedRulesSQLiRuleSet",
        "AWSManagedRulesLinuxRuleSet",
        "AWSManagedRulesUnixRuleSet",
        "AWSManagedRulesAnonymousIpList",
        "AWSManagedRulesAmazonIpReputationList",
    ]
    assert sum(AWS_MANAGED_RULE_GROUPS[g].wcus for g in groups) == 1475
    parse_config(waf_config("staticIp", {"managedRules": groups}), REGION)


def test_the_edge_allow_list_ip_sets_count_one_wcu_each(synth_error) -> None:
    # 1,500 (groups) + 2 (rate) = 1,502; each IP set of the allow-list adds 1.
    groups = [
        COMMON,
        "AWSManagedRulesKnownBadInputsRuleSet",
        "AWSManagedRulesSQLiRuleSet",
        "AWSManagedRulesLinuxRuleSet",
        "AWSManagedRulesWindowsRuleSet",
    ]
    cidrs = ["198.51.100.0/24", "2001:db8::/32"]
    declared = {"quotas": {"wafWebAclCapacity": 1503}}
    one_set = waf_config("edge", {"managedRules": groups, "allowedCidrs": cidrs[:1]})
    parse_config({**one_set, **declared}, REGION)
    message = synth_error(
        {**waf_config("edge", {"managedRules": groups, "allowedCidrs": cidrs}), **declared}
    )
    assert "lambda-exposure:edge.managedRules: 1,504 WCUs in the edge web ACL" in message
    assert "(IP set 1, IP set 1, rate limit 2," in message


def test_every_group_fits_once_5000_is_declared(synth, synth_error) -> None:
    config = {
        **waf_config("staticIp", {"managedRules": EVERY_GROUP}),
        **waf_config("edge", {"managedRules": EVERY_GROUP}),
    }
    message = synth_error(config)
    assert "lambda-exposure:staticIp.waf.managedRules: 1,977 WCUs" in message
    result = synth({**config, "quotas": {"wafWebAclCapacity": 5000}})
    assert len(result.of_type("aws:wafv2/webAcl:WebAcl")) == 2


@pytest.mark.parametrize(
    ("capacity", "ok"), [(1499, False), (1500, True), (5000, True), (5001, False)]
)
def test_the_declared_capacity_is_between_aws_bounds(capacity: int, ok: bool) -> None:
    raw = {"quotas": {"wafWebAclCapacity": capacity}}
    if ok:
        parse_config(raw, REGION)
        return
    with pytest.raises(ConfigError, match=r"lambda-exposure:quotas\.wafWebAclCapacity: "):
        parse_config(raw, REGION)


def test_a_declared_capacity_is_named_when_exceeded(synth_error) -> None:
    config = {
        **waf_config("ipRestrictedApi", {"managedRules": EVERY_GROUP}),
        "quotas": {"wafWebAclCapacity": 1900},
    }
    message = synth_error(config)
    assert "1,977 WCUs in the API's web ACL" in message
    assert "over the quota of 1,900 declared as quotas.wafWebAclCapacity" in message


def test_a_disabled_entry_counts_nothing() -> None:
    # The entry is off: its WAF settings are not deployed, so they use no capacity.
    raw = {"staticIp": {"waf": {"enabled": True, "managedRules": EVERY_GROUP}}}
    assert parse_config(raw, REGION).static_ip.waf.managed_rules == EVERY_GROUP


# -- the README lists what the program accepts -------------------------------------------------


def test_the_readme_lists_every_group_with_its_wcus() -> None:
    page = (ROOT / "docs" / "patterns" / "staticIp.md").read_text()
    rows = dict(re.findall(r"^\| `(AWSManagedRules[A-Za-z]+)` \| ([0-9]+) \|", page, re.M))
    assert {n: int(w) for n, w in rows.items()} == {
        n: g.wcus for n, g in AWS_MANAGED_RULE_GROUPS.items()
    }
