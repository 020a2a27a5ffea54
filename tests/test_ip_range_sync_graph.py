"""IpRangeSync under mocks: the topic subscription, its permission, the role, the schedule.

Every expected value is derived from the config passed in or from another resource's outputs;
the only literals are facts the AWS docs state (the topic ARN and its region).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from handlers import ip_range_sync as handler_module
from tests.graph import (
    BUCKET,
    BUCKET_ENCRYPTION,
    BUCKET_POLICY,
    BUCKET_PUBLIC_ACCESS_BLOCK,
    EVENT_RULE,
    EVENT_TARGET,
    FUNCTION,
    INVOCATION,
    INVOKE_CONFIG,
    IP_SET,
    LOG_GROUP,
    PREFIX_LIST,
    QUEUE,
    ROLE_POLICY,
    SG,
    TOPIC_SUBSCRIPTION,
    VPC,
    owned,
    owned_one,
    permissions,
    policy_of,
)
from tests.graph import IP_RANGE_SYNC_COMPONENT as SYNC
from tests.samples import EXAMPLES
from tools.synth import Resource, Synth, load_stack_file

# https://docs.aws.amazon.com/vpc/latest/userguide/subscribe-notifications.html
TOPIC = "arn:aws:sns:us-east-1:806199016981:AmazonIpSpaceChanged"


ALL_TARGETS = ["prefixList", "securityGroup", "wafIpSet"]


@pytest.fixture
def synth(synth_shared):
    """No test here patches the program: every graph of this module is a shared synthesis."""
    return synth_shared


def _sync(config: dict[str, Any] | None = None) -> dict[str, Any]:
    # The synced lists and their function: since managedPrefixList: auto became the default, a
    # CLOUDFRONT selection uses AWS's lists instead (tests/test_addresses_managed_lists.py).
    return {
        "ipRangeSync": {
            "enabled": True,
            "regions": [],
            "managedPrefixList": "never",
            **(config or {}),
        }
    }


def _function(result: Synth) -> Resource:
    return owned_one(result, FUNCTION, by=SYNC)


def _env(result: Synth) -> dict[str, str]:
    return _function(result).inputs["environment"]["variables"]


def _permission(result: Synth, principal: str) -> Resource:
    (found,) = permissions(result, principal=principal, by=SYNC)
    return found


def _sync_policy(result: Synth) -> dict[str, Any]:
    (policy,) = [p for p in owned(result, ROLE_POLICY, by=SYNC) if p.name.endswith("-sync")]
    return policy_of(policy.inputs)


def _statements_by_action(policy: dict[str, Any]) -> dict[str, list[str]]:
    """action -> resources it is granted on (a list, whatever form the document used)."""
    granted: dict[str, list[str]] = {}
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        actions = statement["Action"]
        resources = statement["Resource"]
        for action in [actions] if isinstance(actions, str) else actions:
            granted.setdefault(action, []).extend(
                [resources] if isinstance(resources, str) else resources
            )
    return granted


# -- the AmazonIpSpaceChanged subscription ---------------------------------------------------


@pytest.mark.parametrize("region", ["eu-west-1", "us-east-1", "ap-southeast-2"])
def test_subscription_is_made_in_us_east_1_to_the_exact_topic(synth, region: str) -> None:
    result = synth(_sync(), region=region)
    function = _function(result)
    subscription = owned_one(result, TOPIC_SUBSCRIPTION, by=SYNC)
    # The subscription lives in the topic's region whatever the stack's region...
    assert subscription.inputs["region"] == TOPIC.split(":")[3]
    assert subscription.inputs["topic"] == TOPIC
    assert subscription.inputs["protocol"] == "lambda"
    # ...and its endpoint is the function, in the stack's region (cross-region delivery).
    assert subscription.inputs["endpoint"] == function.outputs["arn"]
    assert function.outputs["arn"].split(":")[3] == region
    assert function.inputs.get("region") in (None, region)


@pytest.mark.parametrize("region", ["eu-west-1", "us-east-1"])
def test_sns_permission_is_scoped_to_that_topic_and_exists_before_the_subscription(
    synth, region: str
) -> None:
    result = synth(_sync(), region=region)
    function = _function(result)
    subscription = owned_one(result, TOPIC_SUBSCRIPTION, by=SYNC)
    permission = _permission(result, "sns.amazonaws.com")
    assert permission.inputs["action"] == "lambda:InvokeFunction"
    assert permission.inputs["function"] == function.outputs["name"]
    assert permission.inputs["sourceArn"] == subscription.inputs["topic"]
    # A Lambda permission belongs to the function's region, not the topic's.
    assert permission.inputs.get("region") in (None, region)
    # SNS may publish the moment the subscription exists: the permission comes first.
    assert result.depends_on(subscription, permission)


def test_every_permission_names_its_source(synth) -> None:
    result = synth(_sync({"targets": ALL_TARGETS}))
    granted = permissions(result, by=SYNC)
    assert {p.inputs["principal"] for p in granted} == {
        "sns.amazonaws.com",
        "events.amazonaws.com",
    }
    assert all(p.inputs.get("sourceArn") for p in granted)


def test_opt_in_region_cannot_receive_the_topic_and_falls_back_to_the_schedule(synth) -> None:
    # "AWS doesn't support cross-region delivery to Lambda from a region that is enabled by
    # default to an opt-in region" (SNS developer guide, lambda-prereq).
    result = synth(_sync(), region="af-south-1")
    assert owned(result, TOPIC_SUBSCRIPTION, by=SYNC) == []
    assert [p.inputs["principal"] for p in permissions(result, by=SYNC)] == ["events.amazonaws.com"]
    assert owned_one(result, EVENT_RULE, by=SYNC)
    assert any("af-south-1" in w and "schedule" in w for w in result.warnings)


# -- the role -----------------------------------------------------------------------------------


def _actions_the_handler_calls() -> set[str]:
    """IAM actions for every boto3 call in handlers/ip_range_sync.py (read from its source)."""
    source = Path(handler_module.__file__).read_text()
    calls = set(re.findall(r"\b(ec2|s3|waf)\.([a-z_]+)\(", source))
    special = {
        ("s3", "head_object"): "s3:GetObject",
        ("waf", "get_ip_set"): "wafv2:GetIPSet",
        ("waf", "update_ip_set"): "wafv2:UpdateIPSet",
    }
    actions = set()
    for client, method in calls:
        if (client, method) in special:
            actions.add(special[(client, method)])
        else:
            actions.add(f"{client}:{''.join(w.capitalize() for w in method.split('_'))}")
    return actions


def test_role_may_call_exactly_what_the_handler_calls_plus_listing_and_failure_delivery(
    synth,
) -> None:
    needed = _actions_the_handler_calls()
    assert needed, "no boto3 call found in the handler"
    granted = set(_statements_by_action(_sync_policy(synth(_sync({"targets": ALL_TARGETS})))))
    # s3:ListBucket turns HeadObject's 403 into 404 for "no state yet"; sqs:SendMessage is how
    # Lambda (with this role) delivers the on-failure record.
    assert granted == needed | {"s3:ListBucket", "sqs:SendMessage"}


def test_role_writes_only_the_targets_it_manages(synth) -> None:
    result = synth(_sync({"targets": ALL_TARGETS}))
    granted = _statements_by_action(_sync_policy(result))
    prefix_lists = sorted(r.outputs["arn"] for r in owned(result, PREFIX_LIST, by=SYNC))
    groups = sorted(r.outputs["arn"] for r in owned(result, SG, by=SYNC))
    ip_sets = sorted(r.outputs["arn"] for r in owned(result, IP_SET, by=SYNC))
    bucket = owned_one(result, BUCKET, by=SYNC).outputs["arn"]
    assert len(prefix_lists) == 2 and len(ip_sets) == 2 and groups  # ipv6 defaults to on
    for action in ("ec2:ModifyManagedPrefixList", "ec2:GetManagedPrefixListEntries"):
        assert sorted(granted[action]) == prefix_lists
    for action in ("ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"):
        assert sorted(granted[action]) == groups
    for action in ("wafv2:UpdateIPSet", "wafv2:GetIPSet"):
        assert sorted(granted[action]) == ip_sets
    # The state object and the lease object alone, at the keys the function is told to use;
    # delete on the lease only (it is released with a conditional delete).
    state_object = f"{bucket}/{_env(result)['STATE_KEY']}"
    lease_object = f"{bucket}/{_env(result)['LEASE_KEY']}"
    assert state_object != lease_object
    assert sorted(granted["s3:GetObject"]) == sorted([state_object, lease_object])
    assert sorted(granted["s3:PutObject"]) == sorted([state_object, lease_object])
    assert granted["s3:DeleteObject"] == [lease_object]
    assert granted["s3:ListBucket"] == [bucket]
    assert granted["sqs:SendMessage"] == [owned_one(result, QUEUE, by=SYNC).outputs["arn"]]
    # "*" only where EC2 has no resource-level permissions: the Describe calls.
    wildcard = {action for action, resources in granted.items() if "*" in resources}
    assert wildcard == {"ec2:DescribeManagedPrefixLists", "ec2:DescribeSecurityGroups"}
    assert all("*" not in action for action in granted)


def test_role_grants_nothing_for_targets_that_are_off(synth) -> None:
    granted = _statements_by_action(_sync_policy(synth(_sync({"targets": ["wafIpSet"]}))))
    assert not any(action.startswith("ec2:") for action in granted)
    assert {"wafv2:GetIPSet", "wafv2:UpdateIPSet"} <= set(granted)


def test_logging_is_scoped_to_the_function_log_group(synth) -> None:
    result = synth(_sync())
    (logging,) = [p for p in owned(result, ROLE_POLICY, by=SYNC) if p.name.endswith("-logging")]
    log_group = owned_one(result, LOG_GROUP, by=SYNC)
    (statement,) = policy_of(logging.inputs)["Statement"]
    assert statement["Resource"] == [log_group.outputs["arn"], f"{log_group.outputs['arn']}:*"]
    assert _function(result).inputs["loggingConfig"]["logGroup"] == log_group.outputs["name"]


# -- the schedule, failures, the deploy-time sync --------------------------------------------------


def test_schedule_invokes_the_function_with_a_scoped_permission(synth) -> None:
    schedule = "rate(6 hours)"
    result = synth(_sync({"schedule": schedule}))
    rule = owned_one(result, EVENT_RULE, by=SYNC)
    target = owned_one(result, EVENT_TARGET, by=SYNC)
    function = _function(result)
    assert rule.inputs["scheduleExpression"] == schedule
    assert target.inputs["rule"] == rule.outputs["name"]
    assert target.inputs["arn"] == function.outputs["arn"]
    permission = _permission(result, "events.amazonaws.com")
    assert permission.inputs["sourceArn"] == rule.outputs["arn"]
    assert permission.inputs["function"] == function.outputs["name"]
    assert result.depends_on(target, permission)


def test_failed_async_invocations_go_to_an_encrypted_queue(synth) -> None:
    result = synth(_sync())
    queue = owned_one(result, QUEUE, by=SYNC)
    config = owned_one(result, INVOKE_CONFIG, by=SYNC)
    assert queue.inputs["sqsManagedSseEnabled"] is True
    assert config.inputs["functionName"] == _function(result).outputs["name"]
    assert config.inputs["destinationConfig"]["onFailure"]["destination"] == queue.outputs["arn"]
    # Lambda refuses a destination the role cannot send to: the grant exists first.
    (sync_policy,) = [p for p in owned(result, ROLE_POLICY, by=SYNC) if p.name.endswith("-sync")]
    assert result.depends_on(config, sync_policy)


def test_state_bucket_is_private_encrypted_and_tls_only(synth) -> None:
    result = synth(_sync())
    bucket = owned_one(result, BUCKET, by=SYNC)
    block = owned_one(result, BUCKET_PUBLIC_ACCESS_BLOCK, by=SYNC)
    assert block.inputs["bucket"] == bucket.outputs["id"]
    for flag in (
        "blockPublicAcls",
        "blockPublicPolicy",
        "ignorePublicAcls",
        "restrictPublicBuckets",
    ):
        assert block.inputs[flag] is True
    sse = owned_one(result, BUCKET_ENCRYPTION, by=SYNC)
    assert sse.inputs["bucket"] == bucket.outputs["id"]
    (rule,) = sse.inputs["rules"]
    assert rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256"
    policy = policy_of(owned_one(result, BUCKET_POLICY, by=SYNC).inputs)
    (deny,) = policy["Statement"]
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert sorted(deny["Resource"]) == sorted([bucket.outputs["arn"], f"{bucket.outputs['arn']}/*"])
    assert _env(result)["STATE_BUCKET"] == bucket.outputs["bucket"]


def test_initial_sync_runs_once_after_the_permissions_and_again_when_the_selection_moves(
    synth,
) -> None:
    result = synth(_sync())
    invocation = owned_one(result, INVOCATION, by=SYNC)
    function = _function(result)
    assert invocation.inputs["functionName"] == function.outputs["name"]
    assert invocation.inputs["triggers"] == {"stateKey": _env(result)["STATE_KEY"]}
    # The handler knows this event as the deploy-time run: a lease held by another run answers
    # "busy" to it instead of failing the deployment.
    trigger = handler_module.parse_event(json.loads(invocation.inputs["input"]))
    assert trigger.kind == "deploy" and trigger.kind in handler_module.SYNC_TRIGGERS
    assert invocation.inputs.get("lifecycleScope") in (None, "CREATE_ONLY")
    assert result.depends_on(invocation, function)
    for policy in owned(result, ROLE_POLICY, by=SYNC):
        assert result.depends_on(invocation, policy)
    assert owned(synth(_sync({"initialSync": False})), INVOCATION, by=SYNC) == []


def test_state_key_follows_the_selection(synth) -> None:
    first = _env(synth(_sync({"services": ["CLOUDFRONT"]})))["STATE_KEY"]
    again = _env(synth(_sync({"services": ["CLOUDFRONT"]})))["STATE_KEY"]
    other = _env(synth(_sync({"services": ["EC2"]})))["STATE_KEY"]
    assert first == again
    assert first != other


# -- the targets ------------------------------------------------------------------------------


def test_environment_satisfies_the_handler_contract(synth) -> None:
    config = {
        "services": ["AMAZON", "EC2"],
        "regions": ["eu-west-1", "GLOBAL"],
        "targets": ALL_TARGETS,
        "ports": [443, 8443],
        "rulesPerGroup": 55,
        "wafScope": "CLOUDFRONT",
    }
    result = synth(_sync(config))
    parsed = handler_module.Config.from_env(_env(result))
    lists = {
        r.inputs["addressFamily"]: r.outputs["id"] for r in owned(result, PREFIX_LIST, by=SYNC)
    }
    sets = {r.inputs["ipAddressVersion"]: r for r in owned(result, IP_SET, by=SYNC)}
    assert parsed.services == tuple(config["services"])
    assert parsed.regions == tuple(config["regions"])
    assert parsed.ipv6 is True
    assert parsed.prefix_list_ipv4_id == lists["IPv4"]
    assert parsed.prefix_list_ipv6_id == lists["IPv6"]
    assert parsed.security_group_ids == tuple(r.outputs["id"] for r in owned(result, SG, by=SYNC))
    assert parsed.ports == tuple(config["ports"])
    assert parsed.rules_per_group == config["rulesPerGroup"]
    for family, waf_set in ((4, parsed.waf_ipv4_set), (6, parsed.waf_ipv6_set)):
        ip_set = sets[f"IPV{family}"]
        assert waf_set is not None
        assert (waf_set.name, waf_set.id, waf_set.scope) == (
            ip_set.outputs["name"],
            ip_set.outputs["id"],
            config["wafScope"],
        )
    assert parsed.state_bucket == owned_one(result, BUCKET, by=SYNC).outputs["bucket"]
    # One lease for every selection: a run with the old selection and one with the new one
    # write the same targets, so they must serialize on the same object.
    other = handler_module.Config.from_env(_env(synth(_sync({**config, "services": ["S3"]}))))
    assert parsed.lease_key == other.lease_key != parsed.state_key
    assert other.state_key != parsed.state_key


def test_environment_has_no_ipv6_target_when_ipv6_is_off(synth) -> None:
    result = synth(_sync({"ipv6": False, "targets": ["prefixList", "wafIpSet"]}))
    parsed = handler_module.Config.from_env(_env(result))
    assert parsed.ipv6 is False
    assert parsed.prefix_list_ipv6_id == ""
    assert parsed.waf_ipv6_set is None
    assert [r.inputs["addressFamily"] for r in owned(result, PREFIX_LIST, by=SYNC)] == ["IPv4"]
    assert [r.inputs["ipAddressVersion"] for r in owned(result, IP_SET, by=SYNC)] == ["IPV4"]


def test_prefix_lists_start_minimal_and_leave_entries_to_the_function(synth) -> None:
    result = synth(_sync())
    prefix_lists = owned(result, PREFIX_LIST, by=SYNC)
    assert sorted(r.inputs["addressFamily"] for r in prefix_lists) == ["IPv4", "IPv6"]
    for prefix_list in prefix_lists:
        assert prefix_list.inputs["maxEntries"] >= 1
        assert not prefix_list.inputs.get("entries")
        assert set(prefix_list.ignore_changes) == {"entries", "maxEntries"}


def test_security_group_pool_comes_from_config_and_leaves_rules_to_the_function(synth) -> None:
    count = 3
    result = synth(_sync({"targets": ["securityGroup"], "securityGroupCount": count}))
    vpc = result.one(VPC)
    groups = owned(result, SG, by=SYNC)
    assert len(groups) == count
    for group in groups:
        assert group.inputs["vpcId"] == vpc.outputs["id"]
        assert not group.inputs.get("ingress")
        assert group.ignore_changes == ["ingress"]
    assert result.outputs["ipRangeSync"]["securityGroupIds"] == [g.outputs["id"] for g in groups]


def test_no_network_without_the_security_group_target(synth) -> None:
    result = synth(_sync({"targets": ["prefixList", "wafIpSet"]}))
    assert result.of_type(VPC) == []


@pytest.mark.parametrize(("scope", "region"), [("REGIONAL", None), ("CLOUDFRONT", "us-east-1")])
def test_waf_ip_sets_are_empty_and_cloudfront_scope_lives_in_us_east_1(
    synth, scope: str, region: str | None
) -> None:
    result = synth(_sync({"targets": ["wafIpSet"], "wafScope": scope}))
    ip_sets = owned(result, IP_SET, by=SYNC)
    assert sorted(s.inputs["ipAddressVersion"] for s in ip_sets) == ["IPV4", "IPV6"]
    for ip_set in ip_sets:
        assert ip_set.inputs["scope"] == scope
        assert ip_set.inputs.get("region") == region
        assert ip_set.inputs["addresses"] == []
        assert ip_set.ignore_changes == ["addresses"]


# -- outputs, warnings, config errors, the example ---------------------------------------------


def test_outputs_name_only_the_enabled_targets(synth) -> None:
    only_list = synth(_sync({"ipv6": False}))
    (prefix_list,) = owned(only_list, PREFIX_LIST, by=SYNC)
    assert only_list.outputs["ipRangeSync"] == {"prefixListId": prefix_list.outputs["id"]}

    everything = synth(_sync({"targets": ALL_TARGETS}))
    lists = {
        r.inputs["addressFamily"]: r.outputs["id"] for r in owned(everything, PREFIX_LIST, by=SYNC)
    }
    sets = {
        r.inputs["ipAddressVersion"]: r.outputs["arn"] for r in owned(everything, IP_SET, by=SYNC)
    }
    assert everything.outputs["ipRangeSync"] == {
        "prefixListId": lists["IPv4"],
        "prefixListIdIpv6": lists["IPv6"],
        "securityGroupIds": [g.outputs["id"] for g in owned(everything, SG, by=SYNC)],
        "wafIpSetArn": sets["IPV4"],
        "wafIpSetArnIpv6": sets["IPV6"],
    }


def test_cloudfront_global_only_is_warned_as_missing_regional_edges(synth) -> None:
    warned = synth(_sync({"services": ["CLOUDFRONT"], "regions": ["GLOBAL"]})).warnings
    assert any("ipRangeSync.regions" in w and "REGIONAL_EDGE" in w for w in warned)
    # The default (every region) selects both lists: nothing to warn about.
    default = synth({"ipRangeSync": {"enabled": True, "services": ["CLOUDFRONT"]}})
    assert not any("ipRangeSync.regions" in w for w in default.warnings)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            {"targets": ["securityGroup"], "ports": [80, 443, 8443], "rulesPerGroup": 2},
            "ipRangeSync.rulesPerGroup: 2 rules cannot hold one CIDR on 3 ports",
        ),
        ({"logRetentionDays": 10}, "ipRangeSync.logRetentionDays: 10 is not"),
        ({"targets": ["firewall"]}, "ipRangeSync.targets[0]"),
        ({"schedule": "every day"}, "ipRangeSync.schedule: 'every day' is not rate("),
        ({"initialSync": "soon"}, "ipRangeSync.initialSync"),
    ],
)
def test_bad_config_fails_before_any_resource(synth_error, config, message: str) -> None:
    assert message in synth_error(_sync(config))


def test_example_synthesizes_the_pattern(synth) -> None:
    config = load_stack_file(EXAMPLES / "ip-range-sync.yaml")
    result = synth(config)
    assert result.one(SYNC)
    settings = config["lambda-exposure:ipRangeSync"]
    assert _env(result)["SERVICES"] == ",".join(settings["services"])
    assert set(result.outputs["ipRangeSync"]) == {"prefixListId", "prefixListIdIpv6"}
    assert owned_one(result, TOPIC_SUBSCRIPTION, by=SYNC).inputs["topic"] == TOPIC
    assert not any("ipRangeSync.regions" in w for w in result.warnings)
