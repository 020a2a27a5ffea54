"""Quotas at config time: a config at each AWS quota synthesizes, one past it is refused.

Each "at the limit" test also counts, on the synthesized graph, what AWS will count (rules in
the group, behaviors on the distribution, characters of the registered policy), so the figure
the config layer refuses on is the figure the resources really have. Each "past it" test runs
the program through ``synth_error``: the message names the key path and the numbers, and no
resource was registered.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import botocore
import pytest

from components import quotas
from components.config import ConfigError, QuotasConfig, parse_config
from tests.graph import (
    API_RESOURCE,
    DISTRIBUTION,
    IP_SET,
    LISTENER,
    LISTENER_RULE,
    PRIVATE_ENDPOINT_COMPONENT,
    REST_API_POLICY,
    SG,
    TARGET_GROUP,
    alb,
    group_of,
    nlb,
    owned_one,
    rules_of,
)
from tests.samples import CERT, EXISTING_VPC
from tools.synth import Synth

REGION = "eu-west-1"
# DUAL_STACK needs an existing (dual-stack) VPC; the accelerator entry uses only private subnets.
EXISTING_IPV6_VPC = {k: EXISTING_VPC[k] for k in ("vpcId", "privateSubnetIds")}


def v4(count: int, start: int = 0) -> list[str]:
    """``count`` distinct IPv4 /32s."""
    return [
        f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}/32" for i in range(start, start + count)
    ]


def v6(count: int) -> list[str]:
    return [f"2001:db8:{i:x}::/48" for i in range(count)]


def routed(count: int, root: bool = False) -> list[dict[str, str]]:
    """``count`` bundled functions, each on its own path off '/' (plus one at '/')."""
    functions = [{"name": f"fn{i}", "handler": "app", "path": f"/p{i}"} for i in range(count)]
    return [{"name": "app", "handler": "app", "path": "/"}, *functions] if root else functions


def refused(message: str, key: str, *fragments: str) -> None:
    assert f"lambda-exposure:{key}: " in message, message
    for fragment in fragments:
        assert fragment in message, message


# -- the quota table and the config model agree ---------------------------------------------


def test_declarable_quotas_default_to_aws_defaults() -> None:
    declared = QuotasConfig()
    for quota in quotas.QUOTAS:
        if quota.field is not None:
            assert getattr(declared, quota.field) == quota.default, quota.name
            # A declared value below AWS's default is a typo, not a quota.
            field = QuotasConfig.model_fields[quota.field]
            with pytest.raises(ConfigError, match=rf"quotas\.{field.alias}"):
                parse_config({"quotas": {field.alias: quota.default - 1}}, REGION)


def test_security_group_rules_cannot_be_declared_past_1000() -> None:
    # AWS caps rules per group x groups per interface at 1,000.
    parse_config({"quotas": {"securityGroupRules": 1000}}, REGION)
    with pytest.raises(ConfigError, match=r"lambda-exposure:quotas\.securityGroupRules"):
        parse_config({"quotas": {"securityGroupRules": 1001}}, REGION)


# -- security group rules, per group and per address family ---------------------------------


@pytest.mark.parametrize(
    ("https", "cidrs", "ports"),
    [(False, 60, 1), (True, 30, 2)],
    ids=["http-60-cidrs", "https-30-cidrs-on-2-ports"],
)
def test_alb_allow_list_at_the_rule_quota(synth, https: bool, cidrs: int, ports: int) -> None:
    extra = {"certificateArn": CERT} if https else {}
    result = synth({"staticIp": {"enabled": True, "allowedCidrs": v4(cidrs), **extra}})
    group = group_of(result, alb(result))
    assert len(rules_of(result, group, family="cidrIpv4")) == cidrs * ports == 60


@pytest.mark.parametrize(
    ("https", "cidrs", "rules"), [(False, 61, 61), (True, 31, 62)], ids=["http", "https"]
)
def test_alb_allow_list_past_the_rule_quota(synth_error, https: bool, cidrs: int, rules: int):
    extra = {"certificateArn": CERT} if https else {}
    message = synth_error({"staticIp": {"enabled": True, "allowedCidrs": v4(cidrs), **extra}})
    refused(
        message,
        "staticIp.allowedCidrs",
        f"{rules} inbound IPv4 rules in the ALB's security group",
        "quota of 60",
        "Inbound or outbound rules per security group",
        "adjustable in Service Quotas",
        "quotas.securityGroupRules",
    )


def test_each_address_family_has_its_own_60_rules(synth) -> None:
    config = {
        "network": EXISTING_IPV6_VPC,
        "staticIp": {
            "enabled": True,
            "ipAddressType": "DUAL_STACK",
            "allowedCidrs": v4(60) + v6(60),
        },
    }
    result = synth(config)
    group = group_of(result, alb(result))
    assert len(rules_of(result, group, family="cidrIpv4")) == 60
    assert len(rules_of(result, group, family="cidrIpv6")) == 60


def test_one_ipv6_rule_past_the_quota_is_refused_as_ipv6(synth_error) -> None:
    config = {
        "network": EXISTING_IPV6_VPC,
        "staticIp": {
            "enabled": True,
            "ipAddressType": "DUAL_STACK",
            "allowedCidrs": v4(60) + v6(61),
        },
    }
    refused(synth_error(config), "staticIp.allowedCidrs", "61 inbound IPv6 rules", "quota of 60")


def test_nlb_group_at_and_past_the_rule_quota(synth, synth_error) -> None:
    result = synth({"staticIp": {"enabled": True, "entry": "nlb", "allowedCidrs": v4(60)}})
    group = group_of(result, nlb(result))
    assert len(rules_of(result, group, family="cidrIpv4")) == 60
    message = synth_error({"staticIp": {"enabled": True, "entry": "nlb", "allowedCidrs": v4(61)}})
    refused(message, "staticIp.allowedCidrs", "61 inbound IPv4 rules in the NLB's security group")


def test_a_declared_quota_is_the_new_limit(synth, synth_error) -> None:
    raised = {"quotas": {"securityGroupRules": 100}}
    result = synth({**raised, "staticIp": {"enabled": True, "allowedCidrs": v4(100)}})
    group = group_of(result, alb(result))
    assert len(rules_of(result, group, family="cidrIpv4")) == 100
    message = synth_error({**raised, "staticIp": {"enabled": True, "allowedCidrs": v4(101)}})
    refused(
        message,
        "staticIp.allowedCidrs",
        "101 inbound IPv4 rules",
        "quota of 100 declared as quotas.securityGroupRules",
    )


def test_lambda_endpoint_group_counts_the_vpc_cidr_and_each_allowed_cidr(synth, synth_error):
    result = synth({"privateEndpoint": {"enabled": True, "allowedCidrs": v4(59)}})
    group = owned_one(result, SG, by=PRIVATE_ENDPOINT_COMPONENT)
    assert sum(len(rule["cidrBlocks"]) for rule in group.inputs["ingress"]) == 60
    message = synth_error({"privateEndpoint": {"enabled": True, "allowedCidrs": v4(60)}})
    refused(message, "privateEndpoint.allowedCidrs", "61 inbound IPv4 rules", "quota of 60")


def test_sync_pool_rules_per_group_at_and_past_the_quota(synth, synth_error) -> None:
    # The synced pool (the default CLOUDFRONT selection uses AWS's list with auto).
    sync = {"enabled": True, "targets": ["securityGroup"], "managedPrefixList": "never"}
    result = synth({"ipRangeSync": {**sync, "rulesPerGroup": 60}})
    env = result.named("ip-range-sync-function").inputs["environment"]["variables"]
    assert env["RULES_PER_GROUP"] == "60"
    message = synth_error({"ipRangeSync": {**sync, "rulesPerGroup": 61}})
    refused(message, "ipRangeSync.rulesPerGroup", "61 inbound rules", "quota of 60")
    raised = synth(
        {"ipRangeSync": {**sync, "rulesPerGroup": 61}, "quotas": {"securityGroupRules": 61}}
    )
    raised_env = raised.named("ip-range-sync-function").inputs["environment"]["variables"]
    assert raised_env["RULES_PER_GROUP"] == "61"


# -- the API resource policy: the exact document, compact -------------------------------------


def _policy_length(api: dict[str, Any], region: str = REGION) -> int:
    unlimited = {"ipRestrictedApi": api, "quotas": {"apiPolicyCharacters": 10**6}}
    return quotas.api_policy_length(parse_config(unlimited, region))


def api_with_policy_of(length: int, **settings: Any) -> dict[str, Any]:
    """An ipRestrictedApi config whose resource policy is exactly ``length`` characters."""
    api: dict[str, Any] = {"enabled": True, **settings, "routes": []}
    while _policy_length({**api, "routes": [*api["routes"], _route(len(api["routes"]))]}) < (
        length - 400
    ):
        api["routes"].append(_route(len(api["routes"])))
    # A POST route's path is written twice (with and without the trailing '/'); its CIDR once,
    # and 10.0.0.0/16 is one character longer than 10.0.0.0/8.
    pad = {"method": "POST", "path": "/pad", "allow": ["10.0.0.0/16"]}
    missing = length - _policy_length({**api, "routes": [*api["routes"], pad]})
    if missing % 2:
        pad["allow"], missing = ["10.0.0.0/8"], missing + 1
    pad["path"] += "x" * (missing // 2)
    api["routes"].append(pad)
    assert _policy_length(api) == length
    return api


def _route(index: int) -> dict[str, Any]:
    return {"method": "POST", "path": f"/r{index}", "allow": [f"10.{index % 256}.0.0/16"]}


def test_api_policy_at_8192_characters_is_registered_at_exactly_that_length(synth) -> None:
    result = synth({"ipRestrictedApi": api_with_policy_of(8192)})
    registered = result.one(REST_API_POLICY).inputs["policy"]
    assert len(registered) == 8192
    # Compact: no whitespace between tokens, and still the same document.
    assert registered == json.dumps(json.loads(registered), sort_keys=True, separators=(",", ":"))


def test_private_api_policy_is_measured_with_its_endpoint_condition(synth) -> None:
    result = synth({"ipRestrictedApi": api_with_policy_of(8192, endpointType="PRIVATE")})
    assert "aws:SourceVpce" in result.one(REST_API_POLICY).inputs["policy"]
    assert len(result.one(REST_API_POLICY).inputs["policy"]) == 8192


def test_api_policy_one_character_past_the_quota_is_refused(synth_error) -> None:
    message = synth_error({"ipRestrictedApi": api_with_policy_of(8193)})
    refused(
        message,
        "ipRestrictedApi.routes",
        "8,193 characters of resource policy",
        "quota of 8,192",
        "quotas.apiPolicyCharacters",
    )


def test_api_policy_with_a_declared_quota(synth, synth_error) -> None:
    raised = {"quotas": {"apiPolicyCharacters": 9000}}
    result = synth({**raised, "ipRestrictedApi": api_with_policy_of(9000)})
    assert len(result.one(REST_API_POLICY).inputs["policy"]) == 9000
    message = synth_error({**raised, "ipRestrictedApi": api_with_policy_of(9001)})
    refused(message, "ipRestrictedApi.routes", "9,001 characters", "declared as")


def test_global_lists_alone_are_named_by_their_key(synth_error) -> None:
    message = synth_error({"ipRestrictedApi": {"enabled": True, "allow": v4(600)}})
    refused(message, "ipRestrictedApi.allow", "characters of resource policy")


def test_the_placeholder_arn_has_the_partition_of_every_known_region() -> None:
    # botocore's partition table is AWS's own; the placeholder must be as long as the real ARN.
    table = json.loads((Path(botocore.__file__).parent / "data" / "partitions.json").read_text())
    checked = 0
    for partition in table["partitions"]:
        for region in partition.get("regions", {}):
            if region.endswith("-global"):
                continue
            assert quotas.partition_of(region) == partition["id"], region
            arn = quotas.placeholder_execution_arn(region)
            assert arn.startswith(f"arn:{partition['id']}:execute-api:{region}:"), arn
            checked += 1
    assert checked >= 40


# -- CloudFront cache behaviors ---------------------------------------------------------------


def behaviors(result: Synth) -> list[dict[str, Any]]:
    return result.one(DISTRIBUTION).inputs["orderedCacheBehaviors"]


def test_cache_behaviors_up_to_the_quota(synth) -> None:
    # Behaviors come in pairs (/p and /p/*): 12 functions off '/' are the most that fit in 25.
    result = synth({"functions": routed(12, root=True), "edge": {"enabled": True}})
    assert len(behaviors(result)) == 24


def test_cache_behaviors_past_the_quota(synth_error) -> None:
    message = synth_error({"functions": routed(13, root=True), "edge": {"enabled": True}})
    refused(
        message,
        "functions",
        "26 cache behaviors",
        "quota of 25",
        "Cache behaviors per distribution",
        "quotas.cloudfrontCacheBehaviors",
    )


def test_cache_behaviors_with_a_declared_quota_exactly_at_it(synth, synth_error) -> None:
    raised = {"quotas": {"cloudfrontCacheBehaviors": 26}}
    result = synth({**raised, "functions": routed(13), "edge": {"enabled": True}})
    assert len(behaviors(result)) == 26
    message = synth_error({**raised, "functions": routed(14), "edge": {"enabled": True}})
    refused(message, "functions", "28 cache behaviors", "declared as")


# -- ALB listener rules and target groups -----------------------------------------------------


def test_alb_at_100_rules_and_100_target_groups(synth) -> None:
    result = synth({"functions": routed(100), "staticIp": {"enabled": True}})
    listeners = {r.outputs["arn"] for r in result.of_type(LISTENER)}
    rules = [r for r in result.of_type(LISTENER_RULE) if r.inputs["listenerArn"] in listeners]
    assert len(rules) == 100
    assert len(result.of_type(TARGET_GROUP)) == 100
    assert alb(result).inputs["internal"] is True


def test_alb_one_rule_past_the_quota(synth_error) -> None:
    message = synth_error({"functions": routed(101), "staticIp": {"enabled": True}})
    refused(
        message,
        "functions",
        "101 listener rules on each ALB",
        "quota of 100",
        "Rules per Application Load Balancer",
        "quotas.albListenerRules",
    )


def test_nlb_health_answers_count_as_alb_rules(synth) -> None:
    # With the NLB entry the ALB answers the NLB's health check with one rule per port.
    config = {"functions": routed(3), "staticIp": {"enabled": True, "entry": "nlb"}}
    result = synth(config)
    (counted,) = [
        u for u in quotas.usages(parse_config(config, REGION)) if u.quota is quotas.ALB_RULES
    ]
    assert counted.used == len(result.of_type(LISTENER_RULE)) == 4
    parse_config({**config, "functions": routed(99)}, REGION)  # 99 + 1 = 100: at the limit
    with pytest.raises(ConfigError, match=r"functions: 101 listener rules"):
        parse_config({**config, "functions": routed(100)}, REGION)


def test_target_groups_past_the_quota_are_refused_as_not_adjustable(synth_error) -> None:
    config = {
        "functions": routed(100, root=True),
        "staticIp": {"enabled": True},
        "quotas": {"albListenerRules": 200},
    }
    refused(
        synth_error(config),
        "functions",
        "101 target groups on each ALB",
        "quota of 100",
        "not adjustable",
    )


# -- WAF IP sets ------------------------------------------------------------------------------


def test_edge_ip_sets_at_10000_addresses_per_family(synth) -> None:
    result = synth({"edge": {"enabled": True, "allowedCidrs": v4(10_000) + v6(10_000)}})
    sizes = {
        r.inputs["ipAddressVersion"]: len(r.inputs["addresses"]) for r in result.of_type(IP_SET)
    }
    assert sizes == {"IPV4": 10_000, "IPV6": 10_000}


@pytest.mark.parametrize("family", ["IPv4", "IPv6"])
def test_edge_ip_set_past_10000_addresses(synth_error, family: str) -> None:
    cidrs = v4(10_001) if family == "IPv4" else v6(10_001)
    message = synth_error({"edge": {"enabled": True, "allowedCidrs": cidrs}})
    refused(
        message,
        "edge.allowedCidrs",
        f"10,001 {family} CIDRs in the edge web ACL's {family} IP set",
        "quota of 10,000",
        "not adjustable",
    )


# -- nothing else is refused --------------------------------------------------------------------


def test_every_usage_of_the_default_config_is_far_below_its_quota() -> None:
    config = parse_config(
        {
            "functions": [
                {
                    "name": "app",
                    "handler": "app",
                    "path": "/",
                    "widerExposure": ["staticIp", "edge"],
                }
            ],
            "staticIp": {"enabled": True},
            "ipRestrictedApi": {"enabled": True, "allow": ["203.0.113.0/24"]},
            "edge": {"enabled": True},
            "privateEndpoint": {"enabled": True},
            "ipRangeSync": {"enabled": True, "targets": ["securityGroup"]},
        },
        REGION,
    )
    counted = list(quotas.usages(config))
    assert {u.quota for u in counted} == set(quotas.QUOTAS)
    assert all(u.used <= u.limit for u in counted)
    assert quotas.first_exceeded(config) is None


# -- API Gateway resources --------------------------------------------------------------------


def test_api_at_300_resources_counting_its_root(synth) -> None:
    # '/' and '/{proxy+}' for the root function, '/pN' and '/pN/{proxy+}' for each other one.
    result = synth({"functions": routed(149, root=True), "ipRestrictedApi": {"enabled": True}})
    assert len(result.of_type(API_RESOURCE)) + 1 == 300  # the API's own root resource counts


def test_api_one_resource_past_the_quota(synth_error) -> None:
    message = synth_error({"functions": routed(150), "ipRestrictedApi": {"enabled": True}})
    refused(
        message, "functions", "301 API Gateway resources", "quota of 300", "quotas.apiResources"
    )


# -- counts follow functions[].expose ----------------------------------------------------------


def test_only_the_functions_an_entry_exposes_count_against_its_quotas(synth) -> None:
    # 101 functions off '/' would be 101 ALB rules; exposed through the API only, the ALB
    # routes just the one function that staticIp serves.
    api_only = [{**f, "expose": ["ipRestrictedApi"]} for f in routed(101)]
    config = {
        "functions": [{"name": "app", "handler": "app", "path": "/x"}, *api_only],
        "staticIp": {"enabled": True},
        "ipRestrictedApi": {"enabled": True},
    }
    (rules,) = [
        u for u in quotas.usages(parse_config(config, REGION)) if u.quota is quotas.ALB_RULES
    ]
    assert rules.used == 1
    result = synth(config)
    assert len(result.of_type(LISTENER_RULE)) == 1 and len(result.of_type(TARGET_GROUP)) == 1
