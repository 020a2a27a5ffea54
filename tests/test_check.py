"""The deploy-readiness check (``tools.check``): what the mocks accept but ``pulumi up`` refuses.

Every shipped config and a matrix of configs (each pattern with each option, function names of
length 1 and the longest the config accepts, several regions including the longest names) must
pass. A component that writes a misspelled key in a nested plain dict, a wrong type, a value
outside an SDK enum or a physical name AWS refuses must fail, naming the property path.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from components import edge as edge_module
from components import function as function_module
from components import waf as waf_module
from tests.graph import (
    BUCKET,
    BUCKET_ENCRYPTION,
    LB,
    LOG_GROUP,
    NETWORK_COMPONENT,
    ROLE,
    synthetic_resource,
)
from tests.samples import EXISTING_VPC, SHIPPED, certificate_arn
from tools import check as check_module
from tools.check import NAME_RULES, Finding, check, check_resource, name_problems
from tools.pulumi_seam import wire_names
from tools.synth import Resource, Synth, load_stack_file

# The config accepts function names of 1 to 40 characters (FunctionConfig.name).
LONGEST_FUNCTION = "f" + "x" * 38 + "z"
CIDR = "198.51.100.0/24"
CIDR6 = "2001:db8::/32"
EXISTING_FUNCTION = "arn:aws:lambda:eu-west-1:123456789012:function:billing"
# The longest commercial region names are 14 characters (ap-southeast-N, ap-northeast-N).
REGIONS = ["us-east-1", "eu-central-1", "ap-southeast-2"]


def _case(case_id: str, config: dict[str, Any], region: str = "eu-west-1") -> Any:
    return pytest.param(config, region, id=case_id)


def _every_pattern(functions: list[dict[str, Any]], **overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "functions": functions,
        "staticIp": {"enabled": True, "allowedCidrs": [CIDR]},
        "ipRestrictedApi": {"enabled": True, "allow": [CIDR]},
        "edge": {"enabled": True, "signing": "lambda-edge", "allowedCidrs": [CIDR]},
        "privateEndpoint": {"enabled": True},
        "staticEgress": {"enabled": True},
        "ipRangeSync": {"enabled": True, "targets": ["prefixList", "securityGroup", "wafIpSet"]},
    }
    for key, value in overrides.items():
        config[key] = {**config[key], **value}
    return config


SHORT_AND_LONG = [
    {"name": "a", "handler": "app", "path": "/"},
    {"name": LONGEST_FUNCTION, "handler": "app", "path": "/long"},
]


def _functions(*specs: tuple[str, str]) -> list[dict[str, Any]]:
    return [
        {"name": name, "arn": EXISTING_FUNCTION, "path": path}
        if name == "billing"
        else {"name": name, "handler": "app", "path": path}
        for name, path in specs
    ]


HTTPS = {"certificateArn": certificate_arn()}
# Existing Elastic IPs (eipAllocationIds), in the 17- and the 8-hex-digit forms.
OWN_EIPS = ["eipalloc-0123456789abcdef0", "eipalloc-12345678", "eipalloc-0123456789abcdef2"]
# Every managed rule group the program accepts fits 5,000 WCUs; 1,500 takes a few of them.
WAF = {
    "enabled": True,
    "rateLimit": 100,
    "managedRules": ["AWSManagedRulesCommonRuleSet", "AWSManagedRulesAmazonIpReputationList"],
}
API_ONLY = {"functions": _functions(("api", "/api"))}
WITH_EXISTING = {"functions": _functions(("app", "/"), ("billing", "/billing"))}
ROUTES = [
    {"method": "GET", "path": "/index.html", "allow": [CIDR]},
    {"method": "ANY", "path": "/admin/*", "auth": "AWS_IAM"},
    {"method": "post", "path": "/hooks/*", "deny": ["203.0.113.0/24"]},
]
ZONE, PRIVATE_ZONE = "Z0123456789ABCDEFGHIJ", "Z0987654321ABCDEFGHIJ"  # the mocks' zones
PRIVATE_DOMAIN = {"name": "api.internal.example.com", **HTTPS}
VPCE_IDS = ["vpce-0123456789abcdef0", "vpce-0fedcba9876543210"]
CORS = {
    "allowOrigins": ["https://example.com"],
    "allowMethods": ["GET", "POST"],
    "allowHeaders": ["content-type"],
    "exposeHeaders": ["x-request-id"],
    "allowCredentials": True,
    "maxAge": 600,
}

# Per pattern: (case id, the pattern's options, other top-level keys the case needs).
OPTIONS: dict[str, list[tuple[str, dict[str, Any], dict[str, Any]]]] = {
    "staticIp": [
        ("global-accelerator", {}, {}),
        ("nlb", {"entry": "nlb"}, {}),
        ("allowedCidrs", {"allowedCidrs": [CIDR]}, {}),
        ("nlb-allowedCidrs", {"entry": "nlb", "allowedCidrs": [CIDR]}, {}),
        ("https", {**HTTPS, "sslPolicy": "ELBSecurityPolicy-TLS13-1-3-2021-06"}, {}),
        ("nlb-https", {"entry": "nlb", **HTTPS}, {}),
        (
            "dual-stack",
            {"ipAddressType": "DUAL_STACK", "allowedCidrs": [CIDR, CIDR6]},
            {"network": EXISTING_VPC},
        ),
        ("unprotected", {"protectStaticIps": False}, {}),
        ("nlb-existing-vpc", {"entry": "nlb"}, {"network": EXISTING_VPC}),
        ("nlb-own-eips", {"entry": "nlb", "eipAllocationIds": OWN_EIPS[:2]}, {}),
        (
            "nlb-own-eips-existing-vpc",
            {"entry": "nlb", "eipAllocationIds": OWN_EIPS[:2]},
            {"network": EXISTING_VPC},
        ),
        ("existing-function", {}, {"functions": _functions(("billing", "/"))}),
        (
            "regions",
            {
                "regions": [
                    REGIONS[0],
                    {"region": REGIONS[2], "trafficDialPercentage": 50},
                    REGIONS[1],
                ]
            },
            {},
        ),
        (
            "regions-https",
            {
                **HTTPS,
                "regions": [{"region": r, "certificateArn": certificate_arn(r)} for r in REGIONS],
            },
            {},
        ),
        ("waf", {"waf": WAF}, {}),
        ("nlb-waf", {"entry": "nlb", "waf": WAF}, {}),
        ("regions-waf", {"regions": REGIONS, "waf": WAF}, {}),
        ("access-logs", {"accessLogs": True, "accessLogRetentionDays": 30}, {}),
        ("nlb-access-logs", {"entry": "nlb", "accessLogs": True}, {}),
        ("regions-access-logs", {"regions": REGIONS, "accessLogs": True}, {}),
        (
            "access-logs-with-edge",
            {"accessLogs": True},
            {"edge": {"enabled": True, "accessLogs": True}},
        ),
    ],
    "ipRestrictedApi": [
        ("regional", {}, {}),
        ("allow-deny", {"allow": [CIDR], "deny": ["198.51.100.7/32"]}, {}),
        ("routes", {"routes": ROUTES}, {}),
        (
            "stage-throttling-logs",
            {
                "stageName": "v1",
                "throttling": {"burstLimit": 10, "rateLimit": 5.5},
                "logRetentionDays": 7,
                "accessLogs": True,
                "cloudWatchRole": True,
            },
            {},
        ),
        ("private", {"endpointType": "PRIVATE", "allow": ["10.20.0.0/16"]}, {}),
        ("private-existing-vpc", {"endpointType": "PRIVATE"}, {"network": EXISTING_VPC}),
        ("existing-function", {}, WITH_EXISTING),
        ("waf", {"waf": WAF}, {}),
        ("private-waf", {"endpointType": "PRIVATE", "waf": WAF}, {}),
        (
            "domain-regional",
            {
                "allow": [CIDR, CIDR6],
                "domain": {
                    "name": "api.example.com",
                    "hostedZoneId": ZONE,
                    "basePath": "v2.1_~-",
                    "disableDefaultEndpoint": True,
                },
            },
            {},
        ),
        ("domain-given-cert", {"domain": {"name": "api.example.com", **HTTPS}}, {}),
        (
            "domain-private",
            {"endpointType": "PRIVATE", "domain": {**PRIVATE_DOMAIN, "hostedZoneId": PRIVATE_ZONE}},
            {},
        ),
        (
            "vpc-endpoint-ids-domain",
            {"endpointType": "PRIVATE", "vpcEndpointIds": VPCE_IDS, "domain": PRIVATE_DOMAIN},
            {},
        ),
    ],
    "edge": [
        ("oac", {}, {}),
        ("lambda-edge", {"signing": "lambda-edge", "retainEdgeFunction": False}, {}),
        ("static-site", {"staticSite": True}, API_ONLY),
        ("static-site-lambda-edge", {"staticSite": True, "signing": "lambda-edge"}, API_ONLY),
        ("price-class", {"priceClass": "PriceClass_All"}, {}),
        ("cors", {"cors": CORS}, {}),
        ("allowed-cidrs", {"allowedCidrs": [CIDR, CIDR6], "rateLimit": 100}, {}),
        ("no-function-at-root", {}, API_ONLY),
        ("managed-rules", {"managedRules": WAF["managedRules"], "rateLimit": 100}, {}),
        (
            "allowed-cidrs-managed-rules",
            {"allowedCidrs": [CIDR, CIDR6], "managedRules": WAF["managedRules"]},
            {},
        ),
        ("vpc-origin", {"origin": "vpc"}, {}),
        (
            "vpc-origin-static-site-waf",
            {"origin": "vpc", "staticSite": True, "allowedCidrs": [CIDR, CIDR6]},
            API_ONLY,
        ),
        ("vpc-origin-existing-vpc", {"origin": "vpc"}, {"network": EXISTING_VPC}),
        ("vpc-origin-existing-function", {"origin": "vpc"}, WITH_EXISTING),
        ("vpc-origin-with-static-ip", {"origin": "vpc"}, {"staticIp": {"enabled": True}}),
        (
            "domain-requested",
            {
                "domain": {
                    "names": ["www.example.com", "*.example.com", "example.com"],
                    "hostedZoneId": ZONE,
                }
            },
            {},
        ),
        (
            "domain-given-cert",
            {
                "domain": {
                    "names": ["www.example.com"],
                    "certificateArn": certificate_arn("us-east-1"),
                }
            },
            {},
        ),
        ("access-logs", {"accessLogs": True, "accessLogRetentionDays": 7}, {}),
    ],
    "privateEndpoint": [
        ("defaults", {}, {}),
        (
            "options",
            {
                "allowedPrincipals": ["123456789012", "arn:aws:iam::123456789012:role/caller"],
                "privateDns": False,
                "allowedCidrs": ["10.30.0.0/16"],
                "allowedActions": ["lambda:GetFunction"],
            },
            {},
        ),
        ("existing-vpc", {"privateDns": True}, {"network": EXISTING_VPC}),
        ("existing-function", {}, WITH_EXISTING),
    ],
    "staticEgress": [
        ("defaults", {}, {}),
        (
            "options",
            {
                "natPerAz": True,
                "echoUrl": "https://checkip.amazonaws.com",
                "protectEgressIps": False,
            },
            {"network": {"azCount": 3}},
        ),
        ("regional", {"mode": "regional"}, {"network": {"azCount": 3}}),
        ("own-eips", {"natPerAz": True, "eipAllocationIds": OWN_EIPS[:2]}, {}),
        (
            "regional-own-eips",
            {"mode": "regional", "eipAllocationIds": OWN_EIPS},
            {"network": {"azCount": 3}},
        ),
    ],
    "ipRangeSync": [
        ("defaults", {}, {}),
        (
            "every-target",
            {
                "targets": ["prefixList", "securityGroup", "wafIpSet"],
                "ports": [443, 80],
                "securityGroupCount": 2,
                "rulesPerGroup": 100,
            },
            # Over AWS's default of 60 per family: the account declares its raised quota.
            {"quotas": {"securityGroupRules": 100}},
        ),
        (
            "selection",
            {
                "services": ["S3", "EC2"],
                "regions": ["us-east-1", "GLOBAL"],
                "ipv6": False,
                "schedule": "cron(0 6 * * ? *)",
                "initialSync": False,
                "logRetentionDays": 7,
            },
            {},
        ),
        ("waf-cloudfront", {"targets": ["wafIpSet"], "wafScope": "CLOUDFRONT"}, {}),
        ("existing-vpc", {"targets": ["securityGroup"]}, {"network": EXISTING_VPC}),
        (
            "every-target-synced",
            {"targets": ["prefixList", "securityGroup", "wafIpSet"], "managedPrefixList": "never"},
            {},
        ),
        (
            "aws-managed-lists",
            {"targets": ["prefixList", "securityGroup", "wafIpSet"], "ports": [443, 80, 8443]},
            {},
        ),
        (
            "share-with",
            {
                "services": ["API_GATEWAY"],
                "regions": ["eu-west-1"],
                "shareWith": [
                    "111122223333",
                    "arn:aws:organizations::111122223333:ou/o-exampleorgid/ou-ab12-34cd56ef",
                ],
                "allowExternalPrincipals": True,
            },
            {},
        ),
    ],
}


def matrix() -> list[Any]:
    """Each pattern alone with each of its options, then everything at once at the extremes."""
    cases = [
        _case(f"{pattern}-{case_id}", {pattern: {"enabled": True, **options}, **others})
        for pattern, variants in OPTIONS.items()
        for case_id, options, others in variants
    ]
    cases += [
        # Every pattern at once, with function names of length 1 and 40.
        _case("every-pattern-short-and-long-names", _every_pattern(SHORT_AND_LONG)),
        _case(
            "every-pattern-nlb-oac",
            _every_pattern(SHORT_AND_LONG, staticIp={"entry": "nlb"}, edge={"signing": "oac"}),
        ),
        _case(
            "every-pattern-regions", _every_pattern(SHORT_AND_LONG, staticIp={"regions": REGIONS})
        ),
    ]
    # The stack itself in each region, the longest names included.
    cases += [
        _case(f"every-pattern-in-{region}", _every_pattern(SHORT_AND_LONG), region=region)
        for region in REGIONS
    ]
    return cases


def _lines(findings: list[Finding]) -> str:
    return "\n".join(str(f) for f in findings)


# --------------------------------------------------------------------------------------------
# what ships, and the matrix, pass
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_example_and_the_dev_stack_pass_the_check(synth_shared, path: Path) -> None:
    result = synth_shared(load_stack_file(path))
    assert result.resources
    findings = check(result)
    assert findings == [], _lines(findings)


@pytest.mark.parametrize(("config", "region"), matrix())
def test_the_matrix_passes_the_check(synth_shared, config: dict[str, Any], region: str) -> None:
    result = synth_shared(config, region=region)
    findings = check(result)
    assert findings == [], _lines(findings)


# --------------------------------------------------------------------------------------------
# a component's mistake fails the check, at the right path
# --------------------------------------------------------------------------------------------


def _renamed(value: Any, path: list[str | int], new_key: str) -> Any:
    """A copy of ``value`` with the key at ``path`` renamed (containers copied along the way)."""
    head, *rest = path
    if isinstance(value, dict) and head not in value:
        return value  # another resource of the type, without this key
    if isinstance(value, list):
        assert isinstance(head, int)
        items = list(value)
        items[head] = _renamed(value[head], rest, new_key)
        return items
    mapping = dict(value)
    if rest:
        mapping[head] = _renamed(value[head], rest, new_key)
    else:
        mapping[new_key] = mapping.pop(head)
    return mapping


def _misspell(
    monkeypatch, owner: Any, class_name: str, argument: str, path: list[Any], new_key: str
) -> None:
    """Make every ``owner.<class_name>(...)`` a component creates carry ``new_key`` instead.

    The same as the component writing the typo in its dict: the SDK translates nested keys
    only when it serializes them, so a renamed key at construction ends up exactly as written.
    """
    original = getattr(owner, class_name)

    class Misspelled(original):  # type: ignore[misc, valid-type]
        def __init__(self, resource_name: str, *args: Any, **kwargs: Any) -> None:
            if kwargs.get(argument) is not None:
                kwargs[argument] = _renamed(kwargs[argument], path, new_key)
            super().__init__(resource_name, *args, **kwargs)

    monkeypatch.setattr(owner, class_name, Misspelled)


def _builder_misspelling(owner: Any, attribute: str, path: list[Any], new_key: str) -> Callable:
    """Wrap a component's dict builder so its result carries ``new_key`` at ``path``."""

    def patch(monkeypatch) -> None:
        original = getattr(owner, attribute)

        def misspelled(*args: Any, **kwargs: Any) -> Any:
            return _renamed(original(*args, **kwargs), path, new_key)

        monkeypatch.setattr(owner, attribute, misspelled)

    return patch


def _sdk_misspelling(
    owner: Any, class_name: str, argument: str, path: list[Any], new_key: str
) -> Callable:
    return lambda monkeypatch: _misspell(monkeypatch, owner, class_name, argument, path, new_key)


MISSPELLINGS = [
    # (component, config, patch, resource name, expected property path)
    pytest.param(
        {"edge": {"enabled": True, "signing": "lambda-edge"}},
        _builder_misspelling(
            edge_module.EdgeProtectedUrl,
            "_api_behavior",
            ["lambda_function_associations", 0, "event_type"],
            "event_typ",
        ),
        "edge-cdn",
        "defaultCacheBehavior.lambdaFunctionAssociations[0].event_typ",
        id="edge-cloudfront-behavior",
    ),
    pytest.param(
        {"edge": {"enabled": True}},
        _builder_misspelling(
            edge_module.EdgeProtectedUrl, "_function_origin", ["origin_id"], "origin_idd"
        ),
        "edge-cdn",
        "origins[0].origin_idd",
        id="edge-cloudfront-origin",
    ),
    pytest.param(
        {"edge": {"enabled": True, "allowedCidrs": [CIDR]}},
        _builder_misspelling(waf_module, "_visibility", ["metric_name"], "metric_nam"),
        "edge-waf",
        "rules[0].visibilityConfig.metric_nam",
        id="edge-waf-rule",
    ),
    pytest.param(
        {"edge": {"enabled": True, "cors": {"allowOrigins": ["https://example.com"]}}},
        _builder_misspelling(edge_module, "_cors_args", ["allow_origins"], "allow_origin"),
        "edge-app-url",
        "cors.allow_origin",
        id="edge-function-url-cors",
    ),
    pytest.param(
        {"staticIp": {"enabled": True}},
        _sdk_misspelling(
            aws.lb, "Listener", "default_actions", [0, "target_group_arn"], "target_group_arm"
        ),
        "static-ip-http",
        "defaultActions[0].target_group_arm",
        id="staticIp-listener-action",
    ),
    pytest.param(
        {"staticIp": {"enabled": True}},
        _sdk_misspelling(
            aws.globalaccelerator,
            "EndpointGroup",
            "endpoint_configurations",
            [0, "endpoint_id"],
            "endpointID",
        ),
        "static-ip-endpoints-eu-west-1",
        "endpointConfigurations[0].endpointID",
        id="staticIp-accelerator-endpoint",
    ),
    pytest.param(
        {"staticIp": {"enabled": True, "entry": "nlb"}},
        _sdk_misspelling(aws.lb, "TargetGroup", "health_check", ["path"], "paht"),
        "static-ip-nlb-tg-80",
        "healthCheck.paht",
        id="staticIp-nlb-health-check",
    ),
    pytest.param(
        {"privateEndpoint": {"enabled": True}},
        _sdk_misspelling(aws.ec2, "SecurityGroup", "ingress", [0, "from_port"], "from_prot"),
        "private-endpoint-sg",
        "ingress[0].from_prot",
        id="privateEndpoint-security-group-ingress",
    ),
    pytest.param(
        {"ipRestrictedApi": {"enabled": True}},
        _sdk_misspelling(
            aws.apigateway,
            "MethodSettings",
            "settings",
            ["throttling_burst_limit"],
            "throttling_burst_limt",
        ),
        "ip-api-method-settings",
        "settings.throttling_burst_limt",
        id="ipRestrictedApi-stage-method-settings",
    ),
    pytest.param(
        {"ipRestrictedApi": {"enabled": True}},
        _sdk_misspelling(aws.apigateway, "RestApi", "endpoint_configuration", ["types"], "type"),
        "ip-api",
        "endpointConfiguration.type",
        id="ipRestrictedApi-endpoint-configuration",
    ),
    pytest.param(
        {"staticEgress": {"enabled": True}},
        _sdk_misspelling(aws.ec2, "SecurityGroup", "egress", [0, "cidr_blocks"], "cidr_blcks"),
        "static-egress-functions",
        "egress[0].cidr_blcks",
        id="staticEgress-security-group-egress",
    ),
    pytest.param(
        {"staticIp": {"enabled": True}},
        _sdk_misspelling(aws.ec2, "RouteTable", "routes", [0, "gateway_id"], "gateway"),
        "network-public",
        "routes[0].gateway",
        id="network-route",
    ),
    pytest.param(
        {},
        _sdk_misspelling(aws.lambda_, "Function", "logging_config", ["log_format"], "log_formt"),
        "functions-app",
        "loggingConfig.log_formt",
        id="functions-logging-config",
    ),
    pytest.param(
        {"ipRangeSync": {"enabled": True, "managedPrefixList": "never"}},
        _sdk_misspelling(
            aws.lambda_,
            "FunctionEventInvokeConfig",
            "destination_config",
            ["on_failure", "destination"],
            "destinaton",
        ),
        "ip-range-sync-on-failure",
        "destinationConfig.onFailure.destinaton",
        id="ipRangeSync-failure-destination",
    ),
    pytest.param(
        {"ipRangeSync": {"enabled": True, "managedPrefixList": "never"}},
        _sdk_misspelling(
            aws.s3,
            "BucketServerSideEncryptionConfiguration",
            "rules",
            [0, "apply_server_side_encryption_by_default", "sse_algorithm"],
            "sseAlgorythm",
        ),
        "ip-range-sync-state-encryption",
        "rules[0].applyServerSideEncryptionByDefault.sseAlgorythm",
        id="ipRangeSync-bucket-encryption",
    ),
]


@pytest.mark.parametrize(("config", "patch", "resource", "path"), MISSPELLINGS)
def test_a_misspelled_nested_key_fails_the_check_at_its_path(
    synth,
    synth_shared,
    monkeypatch,
    config: dict[str, Any],
    patch: Callable,
    resource: str,
    path: str,
) -> None:
    # Before the patch, so the unpatched graph may be a shared one.
    clean = [f for f in check(synth_shared(config)) if f.name == resource]
    assert clean == [], _lines(clean)
    patch(monkeypatch)
    findings = check(synth(config))
    at_path = [f for f in findings if f.name == resource and f.path == path]
    assert len(at_path) == 1, _lines(findings)
    assert "not an input of" in at_path[0].message
    assert "the provider refuses it" in at_path[0].message
    # The typo, and only the typo (wherever the builder is used): a misspelled required key is
    # not reported a second time as missing.
    typo = path.rsplit(".", 1)[-1].split("]")[-1]
    assert all(f.path.endswith(typo) for f in findings if f.name == resource), _lines(findings)


def test_a_misspelled_required_key_suggests_the_real_one(synth, monkeypatch) -> None:
    patch = _builder_misspelling(
        edge_module.EdgeProtectedUrl, "_function_origin", ["origin_id"], "origin_idd"
    )
    patch(monkeypatch)
    (finding,) = [f for f in check(synth({"edge": {"enabled": True}})) if f.name == "edge-cdn"]
    assert "DistributionOriginArgs" in finding.message
    assert "did you mean 'originId', which is required?" in finding.message
    assert str(finding).startswith(
        "aws:cloudfront/distribution:Distribution edge-cdn: origins[0].origin_idd: "
    )


def test_a_missing_nested_required_key_fails_the_check(synth, monkeypatch) -> None:
    original = edge_module.EdgeProtectedUrl._api_behavior

    def without_target(self: Any, fn: Any) -> dict[str, Any]:
        behavior = dict(original(self, fn))
        del behavior["target_origin_id"]
        return behavior

    monkeypatch.setattr(edge_module.EdgeProtectedUrl, "_api_behavior", without_target)
    findings = check(synth({"edge": {"enabled": True}}))
    assert [(f.name, f.path, f.message) for f in findings] == [
        (
            "edge-cdn",
            "defaultCacheBehavior.targetOriginId",
            "missing; DistributionDefaultCacheBehaviorArgs requires it",
        )
    ]


def test_a_value_of_the_wrong_type_fails_the_check(synth, monkeypatch) -> None:
    original = aws.lb.Listener

    class StringPort(original):  # type: ignore[misc, valid-type]
        def __init__(self, resource_name: str, *args: Any, **kwargs: Any) -> None:
            kwargs["port"] = str(kwargs["port"])
            super().__init__(resource_name, *args, **kwargs)

    monkeypatch.setattr(aws.lb, "Listener", StringPort)
    findings = [f for f in check(synth({"staticIp": {"enabled": True}})) if f.path == "port"]
    assert [str(f) for f in findings] == [
        "aws:lb/listener:Listener static-ip-http: port: expected an integer, got a string ('80')"
    ]


def test_a_value_outside_an_sdk_enum_fails_the_check(synth, monkeypatch) -> None:
    monkeypatch.setattr(function_module, "RUNTIME", "python3.99")
    findings = [f for f in check(synth({})) if f.path == "runtime"]
    assert len(findings) == 1
    assert findings[0].name == "functions-app"
    assert "'python3.99' is not one of the Runtime values pulumi-aws declares" in (
        findings[0].message
    )


def test_numbers_come_back_as_floats_and_integral_ones_are_integers(synth_shared) -> None:
    result = synth_shared({})
    function = result.named("functions-app")
    assert function.inputs["memorySize"] == 256.0  # what the mocks record
    assert check_resource(function) == []
    half = Resource(**{**function.__dict__, "inputs": {**function.inputs, "memorySize": 256.5}})
    assert [f.message for f in check_resource(half)] == [
        "expected an integer, got a number (256.5)"
    ]


# --------------------------------------------------------------------------------------------
# region and engine keys, on synthetic resources (the SDK cannot even construct these)
# --------------------------------------------------------------------------------------------


def _resource(type_: str, name: str, inputs: dict[str, Any]) -> Resource:
    return synthetic_resource(type_, name, inputs)


POLICY = '{"Version": "2012-10-17", "Statement": []}'


def test_region_is_an_input_of_regional_resources_only() -> None:
    regional = _resource(LOG_GROUP, "logs", {"region": "us-east-1", "retentionInDays": 7})
    assert check_resource(regional) == []
    global_role = _resource(ROLE, "role", {"assumeRolePolicy": POLICY, "region": "us-east-1"})
    (finding,) = check_resource(global_role)
    assert (finding.path, finding.message) == (
        "region",
        "not an input of RoleArgs; the provider refuses it",
    )


def test_engine_keys_are_not_provider_inputs() -> None:
    role = _resource(ROLE, "role", {"assumeRolePolicy": POLICY, "__defaults": ["name"]})
    assert check_resource(role) == []


def test_a_missing_top_level_required_input_fails_the_check() -> None:
    (finding,) = check_resource(_resource(ROLE, "role", {}))
    assert (finding.path, finding.message) == ("assumeRolePolicy", "missing; RoleArgs requires it")


def test_a_type_no_sdk_declares_is_a_finding() -> None:
    (finding,) = check_resource(_resource("aws:lb/listner:Listner", "x", {}))
    assert str(finding) == (
        "aws:lb/listner:Listner x: no installed Pulumi SDK declares this resource type"
    )


def test_components_are_not_checked() -> None:
    component = _resource(NETWORK_COMPONENT, "network", {"anything": 1})
    component.custom = False
    assert check_resource(component) == []


def test_check_lists_every_resources_findings_in_order() -> None:
    synth = Synth(
        resources=[
            _resource(ROLE, "first", {}),
            _resource(ROLE, "ok", {"assumeRolePolicy": POLICY}),
            _resource(ROLE, "last", {"assumeRolePolicy": 1}),
        ],
        outputs={},
        calls=[],
        warnings=[],
        region="eu-west-1",
    )
    assert [(f.name, f.path) for f in check(synth)] == [
        ("first", "assumeRolePolicy"),
        ("last", "assumeRolePolicy"),
    ]


# --------------------------------------------------------------------------------------------
# the schema comes from the SDK, and agrees with it
# --------------------------------------------------------------------------------------------


def _types_in_use(synth) -> set[str]:
    everything = synth(_every_pattern(SHORT_AND_LONG, staticIp={"regions": REGIONS}))
    return {r.type for r in everything.resources if r.custom}


def test_the_schema_of_every_type_in_use_is_its_constructors(synth_shared) -> None:
    for type_ in sorted(_types_in_use(synth_shared)):
        args = check_module.args_class(type_)
        assert args is not None, type_
        python_names = set(wire_names(args))
        assert python_names == check_module.constructor_inputs(type_) - {"__props__"}, type_


def test_required_keys_agree_with_the_sdks_typed_dicts(synth_shared) -> None:
    seen: set[type] = set()
    pending = [check_module.args_class(t) for t in _types_in_use(synth_shared)]
    while pending:
        cls = pending.pop()
        if cls is None or cls in seen:
            continue
        seen.add(cls)
        schema = check_module.object_schema(cls)
        typed_dict = getattr(sys.modules[cls.__module__], f"{cls.__name__}Dict", None)
        if typed_dict is not None:
            required = {schema.python_names[k] for k in typed_dict.__required_keys__}
            assert required == set(schema.required), cls.__name__
        shapes = list(schema.properties.values())
        while shapes:
            shape = shapes.pop()
            if isinstance(shape, check_module.ObjectShape):
                pending.append(shape.cls)
            elif isinstance(shape, check_module.Array):
                shapes.append(shape.item)
            elif isinstance(shape, check_module.MapShape):
                shapes.append(shape.value)
            elif isinstance(shape, check_module.OneOf):
                shapes.extend(shape.options)
    assert len(seen) > 50  # nested types were followed, not just the resources


def test_a_resource_whose_args_name_collides_with_a_nested_type_gets_its_own() -> None:
    # s3's nested BucketServerSideEncryptionConfigurationArgs (of the legacy Bucket) is not the
    # resource's input type; the SDK names that one ...InitArgs.
    args = check_module.args_class(BUCKET_ENCRYPTION)
    assert args is aws.s3.BucketServerSideEncryptionConfigurationInitArgs
    assert {"bucket", "rules"} <= check_module.object_schema(args).required


def test_a_union_of_string_and_policy_document_takes_either() -> None:
    role = _resource(ROLE, "role", {"assumeRolePolicy": {"Version": "2012-10-17", "Statement": []}})
    assert check_resource(role) == []
    role.inputs["assumeRolePolicy"] = {"Version": "2012-10-17", "Statment": []}
    assert [f.path for f in check_resource(role)] == ["assumeRolePolicy.Statment"]


def test_assets_and_archives_are_recognized(synth_shared) -> None:
    function = synth_shared({}).named("functions-app")
    assert isinstance(function.inputs["code"], pulumi.Archive)
    wrong = _resource(
        function.type, "f", {**function.inputs, "code": "app.zip", "role": function.inputs["role"]}
    )
    assert [(f.path, f.message) for f in check_resource(wrong)] == [
        ("code", "expected an archive, got a string ('app.zip')")
    ]


# --------------------------------------------------------------------------------------------
# physical names: each rule at its limit passes, one past it fails
# --------------------------------------------------------------------------------------------


def _valid_name(type_: str, length: int) -> str:
    # A letter run fits every rule's character set; S3 needs lowercase.
    return "a" * length


@pytest.mark.parametrize("type_", sorted(NAME_RULES))
def test_an_explicit_name_at_the_limit_passes_and_one_past_it_fails(type_: str) -> None:
    rule = NAME_RULES[type_]
    at_limit = _resource(type_, "x", {rule.property: _valid_name(type_, rule.limit)})
    assert name_problems(at_limit) == []
    past = _resource(type_, "x", {rule.property: _valid_name(type_, rule.limit + 1)})
    ((path, message),) = name_problems(past)
    assert path == rule.property
    assert f"is {rule.limit + 1} characters; AWS allows {rule.limit}" in message
    assert rule.doc in message


@pytest.mark.parametrize("type_", sorted(NAME_RULES))
def test_an_autoname_at_the_limit_passes_and_one_past_it_fails(type_: str) -> None:
    rule = NAME_RULES[type_]
    # Pulumi appends "-" and 7 random characters: a logical name of limit - 8 just fits.
    assert name_problems(_resource(type_, "a" * (rule.limit - 8), {})) == []
    ((path, message),) = name_problems(_resource(type_, "a" * (rule.limit - 7), {}))
    assert path == rule.property
    assert f"autonamed '{'a' * (rule.limit - 7)}-' + 7 random characters" in message
    assert f"is {rule.limit + 1} characters; AWS allows {rule.limit}" in message


@pytest.mark.parametrize(
    "type_", sorted(t for t, rule in NAME_RULES.items() if rule.prefix_property)
)
def test_a_name_prefix_at_its_limit_passes_and_one_past_it_fails(type_: str) -> None:
    rule = NAME_RULES[type_]
    assert rule.prefix_property is not None
    fits = _resource(type_, "x", {rule.prefix_property: "a" * rule.prefix_limit})
    assert name_problems(fits) == []
    ((path, message),) = name_problems(
        _resource(type_, "x", {rule.prefix_property: "a" * (rule.prefix_limit + 1)})
    )
    assert path == rule.prefix_property
    assert f"the longest prefix this resource takes is {rule.prefix_limit}" in message


def test_name_characters_case_and_reserved_prefixes() -> None:
    assert name_problems(_resource(LB, "x", {"name": "internal-api"})) == [
        (
            "name",
            f"'internal-api' starts with 'internal-', which AWS reserves ({NAME_RULES[LB].doc})",
        )
    ]
    assert [p for _, p in name_problems(_resource(LB, "x", {"name": "api-"}))] == [
        f"'api-': AWS allows letters, digits and hyphens, no hyphen first or last here "
        f"({NAME_RULES[LB].doc})"
    ]
    # An underscore in a logical name makes an autoname no load balancer takes.
    assert name_problems(_resource(LB, "static_ip", {}))
    # Pulumi lowercases an S3 autoname; an explicit bucket name must already be lowercase.
    assert name_problems(_resource(BUCKET, "Site", {})) == []
    assert name_problems(_resource(BUCKET, "x", {"bucket": "Site"}))
    assert name_problems(_resource(ROLE, "x", {"name": "a role"}))


def test_the_longest_function_name_the_config_accepts_is_named_within_limits(
    synth, synth_error
) -> None:
    # Functions and roles alone (no pattern): functions-<40 characters>-<7> is 58 characters.
    result = synth({"functions": [{"name": LONGEST_FUNCTION, "handler": "app", "path": "/"}]})
    assert check(result) == []
    message = synth_error(
        {"functions": [{"name": LONGEST_FUNCTION + "y", "handler": "app", "path": "/"}]}
    )
    assert "lambda-exposure:functions[0].name" in message
