"""The config contract: defaults, and every bad value stopping the program before any resource.

Each error test runs the real program under mocks (``synth_error``), which asserts a
``pulumi.RunError`` *and* that nothing was registered, then checks the message names the key
path a user would have to edit.
"""

from __future__ import annotations

import pytest

from components.config import (
    TOP_LEVEL_KEYS,
    ConfigError,
    StackConfig,
    parse_config,
)

EXISTING_FN = "arn:aws:lambda:eu-west-1:123456789012:function:existing"


def test_empty_config_gets_contract_defaults() -> None:
    config = parse_config({}, "eu-west-1")
    assert [(f.name, f.handler, f.path) for f in config.functions] == [("app", "app", "/")]
    assert config.network.cidr == "10.20.0.0/16"
    assert config.network.az_count == 2
    assert config.static_ip.entry == "global-accelerator"
    assert config.ip_restricted_api.endpoint_type == "REGIONAL"
    assert config.edge.signing == "oac"
    assert config.private_endpoint.private_dns is True
    assert config.static_egress.nat_per_az is False
    assert config.ip_range_sync.services == ["CLOUDFRONT"]
    assert config.ip_range_sync.regions == []  # all: CloudFront global + regional edges
    assert config.ip_range_sync.targets == ["prefixList"]
    assert config.ip_range_sync.ports == [443]
    # Every pattern is off unless a stack turns it on.
    assert config.patterns_needing_vpc() == []
    for key in ("static_ip", "ip_restricted_api", "edge", "private_endpoint", "static_egress"):
        assert getattr(config, key).enabled is False


def test_contract_keys_are_the_design_keys() -> None:
    assert TOP_LEVEL_KEYS == (
        "functions",
        "network",
        "staticIp",
        "ipRestrictedApi",
        "edge",
        "privateEndpoint",
        "staticEgress",
        "ipRangeSync",
        # Not in the first contract: an addition (raised AWS quotas), see docs/names-and-quotas.md.
        "quotas",
    )


def test_defaults_do_not_depend_on_pulumi_yaml(synth) -> None:
    # Under mocks Pulumi.yaml defaults are never applied; the program must still run.
    result = synth({})
    assert set(result.outputs) == {"functionArns"}
    assert list(result.outputs["functionArns"]) == ["app"]


def test_cidrs_are_normalized() -> None:
    config = parse_config(
        {"ipRestrictedApi": {"allow": ["2001:DB8::/32", "217.128.123.174/32"]}}, "eu-west-1"
    )
    assert config.ip_restricted_api.allow == ["2001:db8::/32", "217.128.123.174/32"]


@pytest.mark.parametrize("schedule", ["rate(1 day)", "rate(12 hours)", "cron(0 6 * * ? *)"])
def test_valid_schedules_are_accepted(schedule: str) -> None:
    config = parse_config({"ipRangeSync": {"schedule": schedule}}, "eu-west-1")
    assert config.ip_range_sync.schedule == schedule


def test_the_longest_function_path_fits_an_alb_path_pattern(synth) -> None:
    path = "/" + "a" * 125
    result = synth(
        {
            "functions": [{"name": "app", "handler": "app", "path": path}],
            "staticIp": {"enabled": True},
        }
    )
    (rule,) = result.of_type("aws:lb/listenerRule:ListenerRule")
    patterns = rule.inputs["conditions"][0]["pathPattern"]["values"]
    assert max(len(p) for p in patterns) == 128


def test_string_numbers_from_cli_are_accepted() -> None:
    config = parse_config(
        {"ipRangeSync": {"ports": ["443"]}, "network": {"azCount": "3"}}, "eu-west-1"
    )
    assert config.ip_range_sync.ports == [443] and config.network.az_count == 3


def test_string_booleans_from_cli_are_accepted() -> None:
    # `pulumi config set --path staticIp.enabled true` may store the string "true".
    assert parse_config({"staticIp": {"enabled": "true"}}, "eu-west-1").static_ip.enabled


@pytest.mark.parametrize(
    ("config", "key_path", "fragment"),
    [
        # a WAF IP set refuses /0 (admitting everyone is an empty allowedCidrs)
        (
            {"edge": {"allowedCidrs": ["10.0.0.0/8", "::/0"]}},
            "edge.allowedCidrs[1]",
            "a WAF IP set cannot hold /0",
        ),
        # the ALB path pattern "<path>/*" is at most 128 characters
        (
            {"functions": [{"name": "app", "handler": "app", "path": "/" + "a" * 126}]},
            "functions[0].path",
            "127 characters; a function path is at most 126",
        ),
        # invalid or host-bit CIDRs
        (
            {"staticIp": {"allowedCidrs": ["10.0.0.0/8", "10.0.0.300/8"]}},
            "staticIp.allowedCidrs[1]",
            "'10.0.0.300/8' is not a CIDR",
        ),
        (
            {"ipRestrictedApi": {"deny": ["192.168.1.7/24"]}},
            "ipRestrictedApi.deny[0]",
            "host bits set (did you mean 192.168.1.0/24?)",
        ),
        ({"ipRestrictedApi": {"allow": ["10.1.2.3"]}}, "ipRestrictedApi.allow[0]", "prefix"),
        ({"network": {"cidr": "10.0.0.0/33"}}, "network.cidr", "is not a CIDR"),
        # IPv4/IPv6 mix-ups
        (
            {"staticIp": {"entry": "nlb", "allowedCidrs": ["2001:db8::/32"]}},
            "staticIp.allowedCidrs[0]",
            "IPv6",
        ),
        ({"network": {"cidr": "fd00::/56"}}, "network.cidr", "only IPv4"),
        # unknown keys inside an object, and at the top level
        ({"staticIp": {"enabeld": True}}, "staticIp.enabeld", "did you mean 'enabled'"),
        (
            {"ipRestrictedApi": {"routes": [{"method": "GET", "path": "/", "alow": []}]}},
            "ipRestrictedApi.routes[0].alow",
            "unknown key",
        ),
        ({"staticIP": {"enabled": True}}, "staticIP", "did you mean lambda-exposure:staticIp"),
        # wrong types
        ({"staticIp": {"enabled": "maybe"}}, "staticIp.enabled", "boolean"),
        ({"network": {"azCount": "two"}}, "network.azCount", "integer"),
        ({"functions": "app"}, "functions", "list"),
        ({"ipRangeSync": {"ports": 443}}, "ipRangeSync.ports", "list"),
        # functions
        (
            {
                "functions": [
                    {"name": "a", "handler": "app"},
                    {"name": "a", "arn": EXISTING_FN, "path": "/b"},
                ]
            },
            "functions[1].name",
            "duplicate function name 'a'",
        ),
        (
            {"functions": [{"name": "a", "handler": "app"}, {"name": "b", "handler": "app"}]},
            "functions[1].path",
            "already served",
        ),
        (
            {"functions": [{"name": "a", "handler": "app", "arn": EXISTING_FN}]},
            "functions[0]",
            "not both",
        ),
        ({"functions": [{"name": "a"}]}, "functions[0]", "give 'handler'"),
        (
            {"functions": [{"name": "a", "arn": "arn:aws:s3:::bucket"}]},
            "functions[0].arn",
            "not an unqualified Lambda function ARN",
        ),
        (
            {"functions": [{"name": "a", "arn": EXISTING_FN + ":live"}]},
            "functions[0].arn",
            "unqualified",
        ),
        (
            {"functions": [{"name": "a", "handler": "nosuchmodule"}]},
            "functions[0].handler",
            "handlers/nosuchmodule.py",
        ),
        ({"functions": [{"name": "a", "handler": "../app"}]}, "functions[0].handler", "module"),
        (
            {"functions": [{"name": "A_b", "handler": "app"}]},
            "functions[0].name",
            "'A_b' is not a function name",
        ),
        (
            {"functions": [{"name": "a", "handler": "app", "path": "api"}]},
            "functions[0].path",
            "'/'",
        ),
        (
            {"functions": [{"name": "a", "handler": "app", "path": "/api/"}]},
            "functions[0].path",
            "trailing",
        ),
        ({"functions": []}, "functions", "at least 1"),
        (
            {"functions": [{"name": "a", "handler": "app", "logRetentionDays": 10}]},
            "functions[0].logRetentionDays",
            "retention",
        ),
        # unknown enum values
        ({"staticIp": {"entry": "alb"}}, "staticIp.entry", "'global-accelerator' or 'nlb'"),
        ({"edge": {"signing": "v4"}}, "edge.signing", "'oac' or 'lambda-edge'"),
        (
            {"ipRestrictedApi": {"endpointType": "EDGE"}},
            "ipRestrictedApi.endpointType",
            "'PRIVATE'",
        ),
        (
            {"ipRangeSync": {"targets": ["prefixList", "nacl"]}},
            "ipRangeSync.targets[1]",
            "wafIpSet",
        ),
        # other contract values
        (
            {"staticIp": {"certificateArn": "arn:aws:iam::123456789012:server-certificate/x"}},
            "staticIp.certificateArn",
            "not an ACM certificate ARN",
        ),
        (
            {"privateEndpoint": {"allowedPrincipals": ["bob"]}},
            "privateEndpoint.allowedPrincipals[0]",
            "not an IAM principal ARN",
        ),
        (
            {"privateEndpoint": {"allowedActions": ["lambda:DeleteFunction"]}},
            "privateEndpoint.allowedActions[0]",
            "read-only",
        ),
        ({"ipRangeSync": {"regions": ["europe"]}}, "ipRangeSync.regions[0]", "region"),
        ({"ipRangeSync": {"ports": [0]}}, "ipRangeSync.ports[0]", "not a TCP port"),
        ({"staticEgress": {"echoUrl": "http://checkip.example"}}, "staticEgress.echoUrl", "https"),
        (
            {"network": {"vpcId": "vpc-0123456789abcdef0", "cidr": "10.0.0.0/16"}},
            "network",
            "new VPC",
        ),
        (
            {"network": {"privateSubnetIds": ["subnet-0123456789abcdef0"]}},
            "network",
            "need 'vpcId'",
        ),
        ({"network": {"vpcId": "my-vpc"}}, "network.vpcId", "'my-vpc' is not a VPC id"),
        # booleans are not numbers (pydantic's lax mode would read true as 1)
        ({"ipRangeSync": {"ports": [443, True]}}, "ipRangeSync.ports[1]", "not a number"),
        ({"network": {"azCount": True}}, "network.azCount", "not a number"),
        (
            {"functions": [{"name": "a", "handler": "app", "timeout": True}]},
            "functions[0].timeout",
            "not a number",
        ),
        (
            {"ipRestrictedApi": {"throttling": {"rateLimit": False}}},
            "ipRestrictedApi.throttling.rateLimit",
            "not a number",
        ),
        # schedules EventBridge's PutRule would refuse in the middle of `pulumi up`
        ({"ipRangeSync": {"schedule": "rate(0 minutes)"}}, "ipRangeSync.schedule", "positive"),
        ({"ipRangeSync": {"schedule": "rate(1 days)"}}, "ipRangeSync.schedule", "rate(1 day)"),
        ({"ipRangeSync": {"schedule": "rate(6 hour)"}}, "ipRangeSync.schedule", "rate(6 hours)"),
        ({"ipRangeSync": {"schedule": "cron(0 6 * *)"}}, "ipRangeSync.schedule", "6 fields"),
        ({"ipRangeSync": {"schedule": "cron(0 6 * * * *)"}}, "ipRangeSync.schedule", "'?'"),
    ],
)
def test_bad_value_stops_before_any_resource(synth_error, config, key_path, fragment) -> None:
    message = synth_error(config)
    assert f"lambda-exposure:{key_path}:" in message
    assert fragment in message
    assert "Traceback" not in message


def test_every_error_is_reported_at_once(synth_error) -> None:
    message = synth_error(
        {"staticIp": {"entry": "alb", "allowedCidrs": ["nope"]}, "edge": {"signing": "x"}}
    )
    assert "staticIp.entry" in message
    assert "staticIp.allowedCidrs[0]" in message
    assert "edge.signing" in message


def test_missing_region_names_aws_region() -> None:
    with pytest.raises(ConfigError, match=r"^aws:region: not set"):
        parse_config({}, None)


def test_bad_region_names_aws_region() -> None:
    with pytest.raises(ConfigError, match=r"aws:region: 'Ireland' is not an AWS region"):
        parse_config({}, "Ireland")


def test_existing_network_without_private_subnets_is_refused_for_private_patterns(synth_error):
    message = synth_error(
        {
            "network": {"vpcId": "vpc-0123456789abcdef0", "publicSubnetIds": ["subnet-0aaaaaaa"]},
            "privateEndpoint": {"enabled": True},
        }
    )
    assert "lambda-exposure:network.privateSubnetIds:" in message
    assert "privateEndpoint" in message


def test_config_objects_are_frozen() -> None:
    config = parse_config({}, "eu-west-1")
    with pytest.raises(Exception, match="frozen"):
        config.edge.enabled = True  # type: ignore[misc]
    assert isinstance(config, StackConfig)


CERT = "arn:aws:acm:eu-west-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"
CERT_US = "arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"


@pytest.mark.parametrize(
    ("regions", "key", "fragment"),
    [
        # Once taken for a region, then refused as a missing certificate of "us-east-1\n".
        (["us-east-1\n"], "staticIp.regions[0]", "'us-east-1\\n' is not an AWS region name"),
        (["us-east-\uff11"], "staticIp.regions[0]", "is not an AWS region name"),
        # Once also "Input should be a valid string", from the other member of a union.
        ([{"region": "europe"}], "staticIp.regions[0].region", "'europe' is not an AWS region"),
        (["europe"], "staticIp.regions[0]", "'europe' is not an AWS region name"),
        ([5], "staticIp.regions[0]", "5 is not a region name or a {region, trafficDialPercentage"),
        (
            [{"region": "us-east-1", "certficateArn": CERT_US}],
            "staticIp.regions[0].certficateArn",
            "did you mean 'certificateArn'?); allowed keys: region, trafficDialPercentage",
        ),
    ],
)
def test_a_bad_region_entry_is_refused_once_at_its_own_key(
    synth_error, regions: list, key: str, fragment: str
) -> None:
    message = synth_error(
        {"staticIp": {"enabled": True, "certificateArn": CERT, "regions": regions}}
    )
    (line,) = message.splitlines()[1:]
    assert line.startswith(f"lambda-exposure:{key}: ")
    assert fragment in line


def test_a_bad_region_value_comes_before_the_checks_across_keys(synth_error) -> None:
    # entry nlb takes no regions, but the bad name is what to fix first, where it is written.
    message = synth_error(
        {"staticIp": {"enabled": True, "entry": "nlb", "regions": ["eu-west-1 "]}}
    )
    assert message.splitlines()[1:] == [
        "lambda-exposure:staticIp.regions[0]: 'eu-west-1 ' is not an AWS region name "
        "(like eu-west-1)"
    ]
