"""AWS WAF on every entry, on the synthesized graph: the exact inputs AWS needs.

Web ACLs (scope, region, default action, every rule in its fixed order, metrics and sampled
requests), IP sets, and what each ACL is put in front of: every ALB of ``staticIp`` (one ACL per
region, in that region), the API stage (by its ARN), the CloudFront distribution. Expected values
come from the config passed in and from other resources' mocked outputs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from components.config import AWS_MANAGED_RULE_GROUPS, parse_config
from components.quotas import WAF_WEB_ACL_CAPACITY, usages
from tests.graph import DISTRIBUTION, IP_SET, LB, REST_API, STAGE, WEB_ACL
from tests.graph import WEB_ACL_ASSOCIATION as ASSOCIATION
from tests.samples import EXAMPLES
from tools import cost
from tools.synth import Resource, Synth, load_stack_file

GROUPS = ["AWSManagedRulesCommonRuleSet", "AWSManagedRulesAmazonIpReputationList"]
STACK_REGION = "eu-west-1"
VISIBLE = {"cloudwatchMetricsEnabled": True, "sampledRequestsEnabled": True}


@pytest.fixture
def synth(synth_shared):
    """No test here patches the program: every graph of this module is a shared synthesis."""
    return synth_shared


def waf(**settings: Any) -> dict[str, Any]:
    return {"enabled": True, "rateLimit": 1000, "managedRules": GROUPS, **settings}


def sorted_rules(acl: Resource) -> list[dict[str, Any]]:
    return sorted(acl.inputs["rules"], key=lambda r: r["priority"])


def rate_rule(limit: int, priority: int) -> dict[str, Any]:
    return {
        "name": "rate-limit-per-ip",
        "priority": priority,
        "action": {"block": {}},
        "statement": {
            "rateBasedStatement": {
                "aggregateKeyType": "IP",
                "limit": limit,
                "evaluationWindowSec": 300,
            }
        },
    }


def group_rule(name: str, priority: int) -> dict[str, Any]:
    return {
        "name": name,
        "priority": priority,
        "overrideAction": {"none": {}},
        "statement": {"managedRuleGroupStatement": {"name": name, "vendorName": "AWS"}},
    }


def without_visibility(rule: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in rule.items() if k != "visibilityConfig"}


def assert_visible(acl: Resource) -> None:
    """Metrics and sampled requests on for the ACL and every rule; metric names distinct and
    within CloudWatch's 128 characters of letters, digits and _ # : . - /."""
    configs = [
        acl.inputs["visibilityConfig"],
        *(r["visibilityConfig"] for r in acl.inputs["rules"]),
    ]
    names = [c["metricName"] for c in configs]
    for config in configs:
        assert {k: config[k] for k in VISIBLE} == VISIBLE
    assert len(set(names)) == len(names)
    assert all(re.fullmatch(r"[A-Za-z0-9_#:./-]{1,128}", n, re.ASCII) for n in names), names


def association_of(result: Synth, resource_arn: str) -> Resource:
    (found,) = [a for a in result.of_type(ASSOCIATION) if a.inputs["resourceArn"] == resource_arn]
    return found


def acl_by_arn(result: Synth, arn: str) -> Resource:
    (found,) = [a for a in result.of_type(WEB_ACL) if a.outputs["arn"] == arn]
    return found


def assert_the_waf_of_waf(acl: Resource) -> None:
    """``acl`` is what ``waf()`` asks for: default allow, the rate rule first, then the groups in
    their order, every rule and the ACL visible (metrics and sampled requests)."""
    assert acl.inputs["defaultAction"] == {"allow": {}}
    assert [without_visibility(r) for r in sorted_rules(acl)] == [
        rate_rule(1000, 0),
        group_rule(GROUPS[0], 1),
        group_rule(GROUPS[1], 2),
    ]
    assert_visible(acl)


def albs(result: Synth) -> list[Resource]:
    return [r for r in result.of_type(LB) if r.inputs["loadBalancerType"] == "application"]


# -- staticIp: one REGIONAL ACL per ALB ----------------------------------------------------------


def test_static_ip_waf_is_a_regional_acl_on_the_alb(synth) -> None:
    result = synth({"staticIp": {"enabled": True, "waf": waf()}})
    (alb,) = albs(result)
    acl = result.one(WEB_ACL)
    assert acl.inputs["scope"] == "REGIONAL"
    assert acl.region is None  # the provider's region: the ALB's
    assert_the_waf_of_waf(acl)
    assert result.of_type(IP_SET) == []  # staticIp's allow-list is its security groups'
    association = association_of(result, alb.outputs["arn"])
    assert association.inputs["webAclArn"] == acl.outputs["arn"]
    assert association.region is None
    assert result.depends_on(association, alb) and result.depends_on(association, acl)
    # The ACL's ARN names the ALB's region: "the web ACL must be in the same region".
    assert acl.outputs["arn"].split(":")[3] == alb.outputs["arn"].split(":")[3] == STACK_REGION


def test_static_ip_without_waf_has_no_web_acl(synth) -> None:
    result = synth({"staticIp": {"enabled": True, "waf": {"rateLimit": 50}}})
    assert [r for r in result.resources if r.type.startswith("aws:wafv2/")] == []


def test_a_waf_without_managed_rules_is_the_rate_limit_alone(synth) -> None:
    result = synth({"staticIp": {"enabled": True, "waf": {"enabled": True}}})
    acl = result.one(WEB_ACL)
    assert [without_visibility(r) for r in sorted_rules(acl)] == [rate_rule(2000, 0)]


def test_every_region_gets_its_own_acl_on_its_own_alb(synth) -> None:
    extra = ["us-east-1", "ap-southeast-2"]
    result = synth({"staticIp": {"enabled": True, "regions": extra, "waf": waf()}})
    found = {}
    for alb in albs(result):
        region = alb.outputs["arn"].split(":")[3]
        association = association_of(result, alb.outputs["arn"])
        acl = acl_by_arn(result, association.inputs["webAclArn"])
        assert acl.inputs["scope"] == "REGIONAL"
        assert acl.outputs["arn"].split(":")[3] == region
        # The stack region's children leave region to the provider; the others name theirs.
        expected = None if region == STACK_REGION else region
        assert (acl.region, association.region) == (expected, expected)
        assert_the_waf_of_waf(acl)
        found[region] = acl.name
    assert found == {
        STACK_REGION: "static-ip-waf",
        "us-east-1": "static-ip-us-east-1-waf",
        "ap-southeast-2": "static-ip-ap-southeast-2-waf",
    }
    assert len(result.of_type(ASSOCIATION)) == 3


def test_the_nlb_entry_puts_the_acl_on_the_alb_not_the_nlb(synth) -> None:
    result = synth({"staticIp": {"enabled": True, "entry": "nlb", "waf": waf()}})
    (alb,) = albs(result)
    (association,) = result.of_type(ASSOCIATION)
    # WAF protects ALBs, never NLBs: the ALB behind the NLB is where HTTP is seen.
    assert association.inputs["resourceArn"] == alb.outputs["arn"]
    assert association.inputs["webAclArn"] == result.one(WEB_ACL).outputs["arn"]


# -- ipRestrictedApi: the stage ------------------------------------------------------------------


@pytest.mark.parametrize("endpoint_type", ["REGIONAL", "PRIVATE"])
def test_api_waf_is_a_regional_acl_on_the_stage(synth, endpoint_type: str) -> None:
    config = {"ipRestrictedApi": {"enabled": True, "endpointType": endpoint_type, "waf": waf()}}
    result = synth(config)
    stage, api = result.one(STAGE), result.one(REST_API)
    acl = result.one(WEB_ACL)
    assert (acl.inputs["scope"], acl.region) == ("REGIONAL", None)
    assert_the_waf_of_waf(acl)
    association = result.one(ASSOCIATION)
    # WAF names a stage arn:aws:apigateway:<region>::/restapis/<id>/stages/<name>.
    assert association.inputs["resourceArn"] == stage.outputs["arn"]
    assert stage.outputs["arn"] == (
        f"arn:aws:apigateway:{STACK_REGION}::/restapis/{api.outputs['id']}/stages/api"
    )
    assert association.inputs["webAclArn"] == acl.outputs["arn"]
    assert result.depends_on(association, stage)


def test_api_without_waf_has_no_web_acl(synth) -> None:
    result = synth({"ipRestrictedApi": {"enabled": True}})
    assert [r for r in result.resources if r.type.startswith("aws:wafv2/")] == []


# -- edge: the CLOUDFRONT ACL, allow-list first ---------------------------------------------------


def test_edge_managed_rules_alone_make_a_cloudfront_acl(synth) -> None:
    result = synth({"edge": {"enabled": True, "managedRules": GROUPS, "rateLimit": 700}})
    acl = result.one(WEB_ACL)
    assert (acl.inputs["scope"], acl.region) == ("CLOUDFRONT", "us-east-1")
    assert acl.inputs["defaultAction"] == {"allow": {}}
    assert [without_visibility(r) for r in sorted_rules(acl)] == [
        rate_rule(700, 0),
        group_rule(GROUPS[0], 1),
        group_rule(GROUPS[1], 2),
    ]
    assert_visible(acl)
    assert result.of_type(IP_SET) == [] and result.of_type(ASSOCIATION) == []
    assert result.one(DISTRIBUTION).inputs["webAclId"] == acl.outputs["arn"]


def test_edge_allow_list_then_rate_limit_then_managed_rules(synth) -> None:
    cidrs = ["198.51.100.0/24", "2001:db8::/32"]
    result = synth({"edge": {"enabled": True, "allowedCidrs": cidrs, "managedRules": GROUPS}})
    acl = result.one(WEB_ACL)
    sets = {s.inputs["ipAddressVersion"]: s for s in result.of_type(IP_SET)}
    assert {v: s.inputs["addresses"] for v, s in sets.items()} == {
        "IPV4": [cidrs[0]],
        "IPV6": [cidrs[1]],
    }
    assert all((s.inputs["scope"], s.region) == ("CLOUDFRONT", "us-east-1") for s in sets.values())
    listed = {
        "orStatement": {
            "statements": [
                {"ipSetReferenceStatement": {"arn": sets["IPV4"].outputs["arn"]}},
                {"ipSetReferenceStatement": {"arn": sets["IPV6"].outputs["arn"]}},
            ]
        }
    }
    assert [without_visibility(r) for r in sorted_rules(acl)] == [
        {
            "name": "allowed-cidrs",
            "priority": 0,
            "action": {"block": {}},
            "statement": {"notStatement": {"statement": listed}},
        },
        rate_rule(2000, 1),
        group_rule(GROUPS[0], 2),
        group_rule(GROUPS[1], 3),
    ]
    assert acl.inputs["defaultAction"] == {"allow": {}}
    assert_visible(acl)


def test_edge_keeps_its_logical_names_and_metric_names(synth) -> None:
    # Deployed edge ACLs are updated in place, never replaced: same URNs, same metrics.
    result = synth({"edge": {"enabled": True, "allowedCidrs": ["198.51.100.0/24"]}}, stack="dev")
    acl = result.named("edge-waf")
    assert result.named("edge-allow-ipv4").parent == acl.parent
    metrics = {r["name"]: r["visibilityConfig"]["metricName"] for r in acl.inputs["rules"]}
    assert metrics == {
        "allowed-cidrs": "lambda-exposure-dev-edge-allowed-cidrs",
        "rate-limit-per-ip": "lambda-exposure-dev-edge-rate-limit",
    }
    assert acl.inputs["visibilityConfig"]["metricName"] == "lambda-exposure-dev-edge"
    assert acl.inputs["description"] == (
        "lambda-exposure: only edge.allowedCidrs, rate-limited per source IP"
    )


def test_metric_names_stay_distinct_within_128_for_the_longest_names(synth) -> None:
    stack = "s" * 100
    config = {
        "staticIp": {"enabled": True, "regions": ["ap-southeast-2"], "waf": waf()},
        "edge": {"enabled": True, "managedRules": list(AWS_MANAGED_RULE_GROUPS)},
        "ipRestrictedApi": {"enabled": True, "waf": waf()},
        "quotas": {"wafWebAclCapacity": 5000},
    }
    result = synth(config, stack=stack)
    for acl in result.of_type(WEB_ACL):
        assert_visible(acl)
        for rule in acl.inputs["rules"]:
            # The rule's part is kept whole: the metric still says which rule it counts.
            suffix = "rate-limit" if rule["name"] == "rate-limit-per-ip" else rule["name"]
            assert rule["visibilityConfig"]["metricName"].endswith(f"-{suffix}")


# -- capacity, cost and the examples --------------------------------------------------------------


def _statements(statement: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield statement
    if "notStatement" in statement:
        yield from _statements(statement["notStatement"]["statement"])
    for inner in (statement.get("orStatement") or {}).get("statements", []):
        yield from _statements(inner)


def graph_wcus(acl: Resource) -> int:
    """WCUs of an ACL as AWS adds them, read off its rules (the catalog for managed groups)."""
    total = 0
    for rule in acl.inputs["rules"]:
        for statement in _statements(rule["statement"]):
            if "ipSetReferenceStatement" in statement:
                total += 1
            elif "rateBasedStatement" in statement:
                total += 2
            elif "managedRuleGroupStatement" in statement:
                total += AWS_MANAGED_RULE_GROUPS[
                    statement["managedRuleGroupStatement"]["name"]
                ].wcus
    return total


WAF_EXAMPLES = ["static-ip-waf.yaml", "ip-restricted-api-waf.yaml", "edge-managed-rules.yaml"]


@pytest.mark.parametrize("example", [*WAF_EXAMPLES, "edge-lambda-edge.yaml"])
def test_the_config_time_count_is_the_graphs(synth, example: str) -> None:
    config = load_stack_file(EXAMPLES / example)
    result = synth(config)
    raw = {k.split(":", 1)[1]: v for k, v in config.items() if k.startswith("lambda-exposure:")}
    counted = [
        u.used
        for u in usages(parse_config(raw, config["aws:region"]))
        if u.quota == WAF_WEB_ACL_CAPACITY
    ]
    assert counted and counted == [graph_wcus(acl) for acl in result.of_type(WEB_ACL)]


@pytest.mark.parametrize(
    ("example", "resource"),
    [
        ("static-ip-waf.yaml", LB),
        ("ip-restricted-api-waf.yaml", STAGE),
        ("edge-managed-rules.yaml", DISTRIBUTION),
    ],
)
def test_each_waf_example_protects_its_entry(synth, example: str, resource: str) -> None:
    config = load_stack_file(EXAMPLES / example)
    result = synth(config)
    acl = result.one(WEB_ACL)
    if resource == DISTRIBUTION:
        assert result.one(DISTRIBUTION).inputs["webAclId"] == acl.outputs["arn"]
    else:
        (target,) = albs(result) if resource == LB else result.of_type(STAGE)
        association = association_of(result, target.outputs["arn"])
        assert association.inputs["webAclArn"] == acl.outputs["arn"]
    rows = cost.estimate(result)
    rules = {r.kind: r.count for r in rows if r.kind.startswith("waf")}
    # A managed rule group is billed as one rule, like the rate rule beside it.
    assert rules == {"wafWebAcl": 1, "wafRule": len(acl.inputs["rules"])}


def test_regions_multiply_the_acls_and_their_rules_in_the_cost(synth) -> None:
    result = synth({"staticIp": {"enabled": True, "regions": ["us-east-1"], "waf": waf()}})
    rules = {r.kind: r.count for r in cost.estimate(result) if r.kind.startswith("waf")}
    assert rules == {"wafWebAcl": 2, "wafRule": 6}


# -- stack outputs: the ARN of each web ACL, by entry ---------------------------------------------


def test_the_outputs_name_each_entrys_web_acl(synth) -> None:
    extra = ["us-east-1"]
    result = synth(
        {
            "staticIp": {"enabled": True, "regions": extra, "waf": waf()},
            "ipRestrictedApi": {"enabled": True, "waf": waf()},
            "edge": {"enabled": True, "managedRules": GROUPS},
        }
    )
    by_region = {}
    for alb in albs(result):
        association = association_of(result, alb.outputs["arn"])
        by_region[alb.outputs["arn"].split(":")[3]] = association.inputs["webAclArn"]
    assert result.outputs["staticIpWebAclArns"] == by_region
    assert set(by_region) == {STACK_REGION, *extra}
    stage_association = association_of(result, result.one(STAGE).outputs["arn"])
    assert result.outputs["apiWebAclArn"] == stage_association.inputs["webAclArn"]
    assert result.outputs["edgeWebAclArn"] == result.one(DISTRIBUTION).inputs["webAclId"]


def test_no_web_acl_output_without_waf(synth) -> None:
    on = {"enabled": True}
    result = synth({"staticIp": on, "ipRestrictedApi": on, "edge": on})
    assert {"staticIpWebAclArns", "apiWebAclArn", "edgeWebAclArn"} & set(result.outputs) == set()
