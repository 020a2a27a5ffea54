"""ipRangeSync.managedPrefixList: auto: a CLOUDFRONT selection uses AWS's origin-facing lists.

The prefixList and securityGroup targets become AWS's ``com.amazonaws.global(.ipv6).cloudfront.
origin-facing`` lists, looked up by name, and groups referencing them; the sync function exists
only for the targets left to sync. Expected values come from the config or from other recorded
resources and calls; the literals are AWS's list names and the weight AWS documents (55).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.graph import FUNCTION, PREFIX_LIST, ROLE_POLICY, policy_of
from tests.graph import INGRESS as RULE
from tests.graph import IP_RANGE_SYNC_COMPONENT as COMPONENT
from tests.graph import SG as GROUP
from tools.synth import Resource, Synth, load_stack_file

ROOT = Path(__file__).resolve().parent.parent
LOOKUP = "aws:ec2/getManagedPrefixList:getManagedPrefixList"
# https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/LocationsOfEdgeServers.html
AWS_LISTS = {
    "IPv4": "com.amazonaws.global.cloudfront.origin-facing",
    "IPv6": "com.amazonaws.global.ipv6.cloudfront.origin-facing",
}
# Everything that exists for the sync function only.
SYNC_MACHINERY = {
    FUNCTION,
    "aws:iam/role:Role",
    ROLE_POLICY,
    "aws:cloudwatch/logGroup:LogGroup",
    "aws:s3/bucket:Bucket",
    "aws:sqs/queue:Queue",
    "aws:cloudwatch/eventRule:EventRule",
    "aws:cloudwatch/eventTarget:EventTarget",
    "aws:sns/topicSubscription:TopicSubscription",
    "aws:lambda/permission:Permission",
    "aws:lambda/invocation:Invocation",
    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig",
}


@pytest.fixture
def synth(synth_shared):
    """No test here patches the program: every graph of this module is a shared synthesis."""
    return synth_shared


def cloudfront(**options: Any) -> dict[str, Any]:
    """The whole CloudFront selection, with the default managedPrefixList (auto)."""
    return {"ipRangeSync": {"enabled": True, "services": ["CLOUDFRONT"], "regions": [], **options}}


def ours(result: Synth, type_: str | None = None) -> list[Resource]:
    """The IpRangeSync component's resources (of one type)."""
    component = result.one(COMPONENT)
    return [r for r in result.children_of(component) if type_ is None or r.type == type_]


def lookups(result: Synth) -> list[dict[str, Any]]:
    return [args for token, args in result.calls if token == LOOKUP]


def rules_of(result: Synth, group: Resource) -> list[Resource]:
    return [r for r in ours(result, RULE) if r.inputs["securityGroupId"] == group.outputs["id"]]


def test_prefix_list_target_is_aws_list_looked_up_by_name_in_the_stack_region(synth) -> None:
    result = synth(cloudfront(targets=["prefixList"]))
    asked = lookups(result)
    assert sorted(a["name"] for a in asked) == sorted(AWS_LISTS.values())
    # No region argument: the provider's, i.e. the stack's (a group references its own region's).
    assert all(not a.get("region") for a in asked)
    # No list of ours, nothing to sync, nothing to fill.
    assert ours(result, PREFIX_LIST) == []
    assert {r.type for r in ours(result)} & SYNC_MACHINERY == set()
    outputs = result.outputs["ipRangeSync"]
    assert set(outputs) == {"prefixListId", "prefixListIdIpv6", "managedPrefixListIds"}
    assert outputs["managedPrefixListIds"] == {
        "IPv4": outputs["prefixListId"],
        "IPv6": outputs["prefixListIdIpv6"],
    }
    assert outputs["prefixListId"] != outputs["prefixListIdIpv6"]
    component = result.component_outputs[result.one(COMPONENT).urn]
    assert "functionName" not in component and "stateBucket" not in component


def test_security_group_target_references_the_lists_one_port_per_group(synth) -> None:
    ports = [443, 80]
    result = synth(cloudfront(targets=["prefixList", "securityGroup"], ports=ports))
    ids = result.outputs["ipRangeSync"]["managedPrefixListIds"]
    groups = ours(result, GROUP)
    # 55 + 55 > 60 rules per family: one reference (port) per group at the default quota.
    assert len(groups) == len(ports)
    vpc = result.one("aws:ec2/vpc:Vpc")
    for group, port in zip(groups, ports, strict=True):
        assert group.inputs["vpcId"] == vpc.outputs["id"]
        # Inbound only, as rules of their own: no inline rules, no egress at all.
        assert "ingress" not in group.inputs and "egress" not in group.inputs
        rules = {r.inputs["prefixListId"]: r.inputs for r in rules_of(result, group)}
        assert set(rules) == set(ids.values())
        for rule in rules.values():
            assert (rule["ipProtocol"], rule["fromPort"], rule["toPort"]) == ("tcp", port, port)
            assert "cidrIpv4" not in rule and "cidrIpv6" not in rule
    assert result.outputs["ipRangeSync"]["securityGroupIds"] == [g.outputs["id"] for g in groups]
    assert {r.type for r in ours(result)} & SYNC_MACHINERY == set()


def test_a_raised_quota_puts_two_references_in_one_group(synth) -> None:
    result = synth(
        {
            **cloudfront(targets=["securityGroup"], ports=[443, 80], rulesPerGroup=110),
            "quotas": {"securityGroupRules": 120},
        }
    )
    (group,) = ours(result, GROUP)
    ports = sorted(r.inputs["fromPort"] for r in rules_of(result, group))
    assert ports == [80, 80, 443, 443]  # both ports, IPv4 and IPv6 each


def test_ipv6_off_references_the_ipv4_list_only(synth) -> None:
    result = synth(cloudfront(targets=["prefixList", "securityGroup"], ipv6=False))
    assert [a["name"] for a in lookups(result)] == [AWS_LISTS["IPv4"]]
    outputs = result.outputs["ipRangeSync"]
    assert set(outputs["managedPrefixListIds"]) == {"IPv4"}
    assert "prefixListIdIpv6" not in outputs
    assert {r.inputs["prefixListId"] for r in ours(result, RULE)} == {outputs["prefixListId"]}


def test_a_waf_target_is_still_synced_and_alone_in_the_function(synth) -> None:
    result = synth(cloudfront(targets=["prefixList", "securityGroup", "wafIpSet"]))
    (function,) = ours(result, FUNCTION)
    env = function.inputs["environment"]["variables"]
    assert {"WAF_IPV4_SET", "WAF_IPV6_SET"} <= set(env)
    assert not {k for k in env if k.startswith(("PREFIX_LIST", "SECURITY_GROUP"))}
    assert "wafIpSet" in function.inputs["description"]
    assert "prefixList" not in function.inputs["description"]
    (sync,) = [p for p in ours(result, ROLE_POLICY) if p.name.endswith("-sync")]
    actions = {
        action
        for statement in policy_of(sync.inputs)["Statement"]
        for action in (
            [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
        )
    }
    # Nothing of AWS's lists or groups is written by the function.
    assert not {a for a in actions if "PrefixList" in a or "SecurityGroup" in a}
    assert "wafv2:UpdateIPSet" in actions


@pytest.mark.parametrize(
    "options",
    [
        {"managedPrefixList": "never"},
        {"regions": ["GLOBAL"]},  # AWS's lists cannot be narrowed to a region
        {"services": ["CLOUDFRONT", "S3"]},
        {"services": ["CLOUDFRONT_ORIGIN_FACING"]},
    ],
    ids=["never", "region-filter", "more-services", "origin-facing-service"],
)
def test_anything_but_the_whole_cloudfront_selection_keeps_the_sync(synth, options) -> None:
    result = synth(cloudfront(targets=["prefixList", "securityGroup"], **options))
    assert lookups(result) == []
    assert len(ours(result, PREFIX_LIST)) == 2
    assert [g.name for g in ours(result, GROUP)] == [f"ip-range-sync-pool-{i}" for i in range(4)]
    assert "managedPrefixListIds" not in result.outputs["ipRangeSync"]
    assert len(ours(result, FUNCTION)) == 1


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"targets": ["securityGroup"], "rulesPerGroup": 54},
            "lambda-exposure:ipRangeSync.rulesPerGroup: 54 rules cannot hold one reference to "
            "AWS's CloudFront list, which weighs 55 rules",
        ),
        (
            # Two references in one group (120 // 55) without the raised quota declared.
            {"targets": ["securityGroup"], "ports": [443, 80], "rulesPerGroup": 120},
            "lambda-exposure:ipRangeSync.rulesPerGroup: 110 inbound rules per address family",
        ),
        (
            {"managedPrefixList": "sometimes"},
            "lambda-exposure:ipRangeSync.managedPrefixList",
        ),
    ],
    ids=["below-one-reference", "over-the-quota", "not-a-mode"],
)
def test_groups_that_cannot_hold_the_lists_are_refused(synth_error, options, message) -> None:
    assert message in synth_error(cloudfront(**options))


def test_the_example_creates_groups_and_no_function(synth) -> None:
    config = load_stack_file(ROOT / "examples" / "ip-range-sync-managed-prefix-list.yaml")
    result = synth(config)
    settings = config["lambda-exposure:ipRangeSync"]
    assert len(ours(result, GROUP)) == len(settings["ports"])
    assert {r.type for r in ours(result)} & SYNC_MACHINERY == set()
    assert set(result.outputs["ipRangeSync"]["managedPrefixListIds"]) == {"IPv4", "IPv6"}


def test_the_dev_stack_selection_really_needs_a_sync(synth) -> None:
    config = load_stack_file(ROOT / "Pulumi.dev.yaml")
    result = synth(config)
    settings = config["lambda-exposure:ipRangeSync"]
    assert lookups(result) == []
    (function,) = ours(result, FUNCTION)
    env = function.inputs["environment"]["variables"]
    assert env["SERVICES"] == ",".join(settings["services"]) != "CLOUDFRONT"
    assert env["REGIONS"] == ",".join(settings["regions"])
    assert {"PREFIX_LIST_IPV4_ID", "PREFIX_LIST_IPV6_ID"} <= set(env)
