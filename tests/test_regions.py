"""Every reference across regions, asserted on the synthesized graph.

pulumi-aws 7 sends a resource (or a lookup) to the stack's region unless it says otherwise
(``region``); the mocks record both, so a resource that would land in the wrong region shows here
as a wrong or missing ``region`` input. The stack region is ``ap-southeast-2`` throughout, so
nothing that must be elsewhere can be right by coincidence.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from components.ip_range_sync import IP_SPACE_CHANGED_TOPIC_ARN
from tests.graph import (
    BUCKET,
    DISTRIBUTION,
    ENDPOINT_GROUP,
    FUNCTION,
    FUNCTION_URL,
    GET_AVAILABILITY_ZONES,
    GET_FUNCTION,
    INTEGRATION,
    IP_SET,
    LB,
    LISTENER,
    OAC,
    PERMISSION,
    TOPIC_SUBSCRIPTION,
    VPC_ENDPOINT,
    WEB_ACL,
    behaviors,
    permissions,
)
from tests.samples import certificate_arn
from tools.synth import Resource, Synth, synthesize

STACK_REGION = "ap-southeast-2"
ELSEWHERE = "us-west-2"
EXISTING_ARN = f"arn:aws:lambda:{ELSEWHERE}:123456789012:function:billing-api"
GLOBAL_TYPES = ("aws:iam/",)  # IAM has no region
GLOBAL_ACCELERATOR = "aws:globalaccelerator/"  # the provider sends these to us-west-2 itself
CERT = certificate_arn(STACK_REGION)


def run(config: dict[str, Any]) -> Synth:
    return synthesize(config, region=STACK_REGION)


def region_of_arn(arn: str) -> str:
    return arn.split(":")[3]


def calls(result: Synth, token: str) -> list[dict[str, Any]]:
    return [args for t, args in result.calls if t == token]


# -- existing functions are looked up, and granted, where they live ------------------------------


def test_an_existing_function_elsewhere_is_looked_up_in_its_own_region() -> None:
    result = run({"functions": [{"name": "billing", "arn": EXISTING_ARN}]})
    assert calls(result, GET_FUNCTION) == [
        {"functionName": EXISTING_ARN, "region": region_of_arn(EXISTING_ARN)}
    ]
    assert result.outputs["functionArns"] == {"billing": EXISTING_ARN}


def test_an_existing_function_elsewhere_behind_the_api() -> None:
    config = {
        "functions": [
            {"name": "app", "handler": "app", "path": "/"},
            {"name": "billing", "arn": EXISTING_ARN, "path": "/billing"},
        ],
        "ipRestrictedApi": {"enabled": True},
    }
    result = run(config)
    # The API (stack region) may invoke it: the permission is added in the function's region.
    (grant,) = permissions(result, function=EXISTING_ARN)
    assert grant.region == ELSEWHERE
    assert region_of_arn(grant.inputs["sourceArn"]) == STACK_REGION
    # Its integrations call the Lambda API of the function's region.
    uris = {r.inputs["uri"] for r in result.of_type(INTEGRATION) if EXISTING_ARN in r.inputs["uri"]}
    assert uris and all(u.startswith(f"arn:aws:apigateway:{ELSEWHERE}:lambda:") for u in uris)
    # The bundled function and its grant stay in the stack region.
    (own,) = result.of_type(FUNCTION)
    assert own.region is None
    (own_grant,) = [p for p in result.of_type(PERMISSION) if p.inputs["function"] != EXISTING_ARN]
    assert own_grant.region == STACK_REGION


def test_an_existing_function_elsewhere_is_refused_by_the_alb_and_left_out_of_the_endpoint(
    synth_error,
) -> None:
    functions = [
        {"name": "app", "handler": "app", "path": "/"},
        {"name": "billing", "arn": EXISTING_ARN, "path": "/billing"},
    ]
    message = synth_error(
        {"functions": functions, "staticIp": {"enabled": True}}, region=STACK_REGION
    )
    assert "lambda-exposure:functions[1].arn:" in message and ELSEWHERE in message
    result = run({"functions": functions, "privateEndpoint": {"enabled": True}})
    policy = result.one(VPC_ENDPOINT).inputs["policy"]
    assert EXISTING_ARN not in policy
    assert any(ELSEWHERE in w and "billing" in w for w in result.warnings)


# -- edge: Lambda@Edge and CloudFront's WAF live in us-east-1 ------------------------------------


def test_lambda_edge_signer_is_created_in_us_east_1() -> None:
    result = run({"edge": {"enabled": True, "signing": "lambda-edge"}})
    (signer,) = [f for f in result.of_type(FUNCTION) if f.region]
    assert signer.region == "us-east-1"
    qualified = signer.outputs["qualifiedArn"]
    assert region_of_arn(qualified) == "us-east-1"
    associations = [
        a["lambdaArn"]
        for b in behaviors(result.one(DISTRIBUTION))
        for a in b.get("lambdaFunctionAssociations", [])
    ]
    assert associations and set(associations) == {qualified}
    # The functions it signs for, and their URLs, stay in the stack region.
    (url,) = result.of_type(FUNCTION_URL)
    assert url.region == STACK_REGION
    assert f".lambda-url.{STACK_REGION}." in url.outputs["functionUrl"]


def test_cloudfront_waf_and_its_ip_sets_are_in_us_east_1() -> None:
    result = run({"edge": {"enabled": True, "allowedCidrs": ["10.0.0.0/8", "2001:db8::/32"]}})
    for type_ in (IP_SET, WEB_ACL):
        found = result.of_type(type_)
        assert found and {(r.region, r.inputs["scope"]) for r in found} == {
            ("us-east-1", "CLOUDFRONT")
        }
    distribution = result.one(DISTRIBUTION)
    assert distribution.inputs["webAclId"] == result.one(WEB_ACL).outputs["arn"]


def test_cloudfront_itself_takes_no_region_and_no_regional_certificate() -> None:
    # CloudFront is global; with its default certificate there is no ACM certificate to place in
    # us-east-1 (the edge pattern has no custom domain yet).
    result = run({"edge": {"enabled": True, "staticSite": True, "signing": "oac"},
                  "functions": [{"name": "app", "handler": "app", "path": "/api"}]})  # fmt: skip
    distribution = result.one(DISTRIBUTION)
    assert distribution.region is None
    assert distribution.inputs["viewerCertificate"] == {"cloudfrontDefaultCertificate": True}
    for oac in result.of_type(OAC):
        assert oac.region is None
    # The site bucket sits next to the functions, in the stack region.
    bucket = result.one(BUCKET)
    assert bucket.region == STACK_REGION
    assert f".s3.{STACK_REGION}." in bucket.outputs["bucketRegionalDomainName"]


def test_oac_grants_are_made_in_each_functions_region() -> None:
    result = run({"edge": {"enabled": True}})
    grants = permissions(result, principal="cloudfront.amazonaws.com")
    assert len(grants) == 2
    assert {g.region for g in grants} == {STACK_REGION}


# -- ipRangeSync: the topic is in us-east-1, the function in the stack region --------------------


def test_sns_subscription_is_made_in_us_east_1_for_a_function_in_the_stack_region() -> None:
    # A selection AWS publishes no list for (API_GATEWAY), so the sync function exists.
    result = run({"ipRangeSync": {"enabled": True, "services": ["API_GATEWAY"]}})
    subscription = result.one(TOPIC_SUBSCRIPTION)
    assert subscription.region == region_of_arn(IP_SPACE_CHANGED_TOPIC_ARN) == "us-east-1"
    assert subscription.inputs["topic"] == IP_SPACE_CHANGED_TOPIC_ARN
    function = result.named("ip-range-sync-function")
    assert function.region is None  # the stack region
    assert subscription.inputs["endpoint"] == function.outputs["arn"]
    assert region_of_arn(function.outputs["arn"]) == STACK_REGION
    (from_sns,) = permissions(result, principal="sns.amazonaws.com")
    assert from_sns.region is None
    assert from_sns.inputs["sourceArn"] == IP_SPACE_CHANGED_TOPIC_ARN


@pytest.mark.parametrize(("scope", "region"), [("CLOUDFRONT", "us-east-1"), ("REGIONAL", None)])
def test_sync_waf_ip_sets_follow_their_scope(scope: str, region: str | None) -> None:
    result = run({"ipRangeSync": {"enabled": True, "targets": ["wafIpSet"], "wafScope": scope}})
    ip_sets = result.of_type(IP_SET)
    assert len(ip_sets) == 2
    assert {s.region for s in ip_sets} == {region}


# -- staticIp.regions: each region's resources in that region, IAM and GA global ----------------

EXTRA = ["us-east-1", "eu-central-1", "us-isof-south-1"]


@pytest.fixture(scope="module")
def multi_region() -> Synth:
    return run(
        {
            "functions": [
                {"name": "app", "handler": "app", "path": "/"},
                {"name": "api", "handler": "app", "path": "/api"},
            ],
            "staticIp": {"enabled": True, "regions": EXTRA},
        }
    )


def built_for(result: Synth, region: str) -> list[Resource]:
    return [r for r in result.resources if r.custom and r.name.startswith(f"static-ip-{region}-")]


@pytest.mark.parametrize("region", EXTRA)
def test_every_regional_resource_of_an_extra_region_is_in_it(multi_region, region: str) -> None:
    resources = built_for(multi_region, region)
    regional = [r for r in resources if not r.type.startswith(GLOBAL_TYPES)]
    types = {r.type.split(":")[-1] for r in regional}
    expected = {"Vpc", "Subnet", "LoadBalancer", "TargetGroup", "Function", "LogGroup",
                "Permission", "Listener", "ListenerRule", "SecurityGroup",
                "SecurityGroupIngressRule"}  # fmt: skip
    assert expected <= types
    assert {r.region for r in regional} == {region}
    # Their ARNs say so too (the target of a permission is that region's copy of the function).
    for permission in [r for r in regional if r.type == PERMISSION]:
        assert region_of_arn(permission.inputs["function"]) == region
        assert region_of_arn(permission.inputs["sourceArn"]) == region
    iam = [r for r in resources if r.type.startswith(GLOBAL_TYPES)]
    assert iam and {r.region for r in iam} == {None}


def test_the_stack_regions_resources_take_no_region_argument(multi_region) -> None:
    prefixes = tuple(f"static-ip-{r}-" for r in EXTRA)
    home = [
        r
        for r in multi_region.resources
        if r.custom
        and not r.name.startswith(prefixes)
        and not r.type.startswith(GLOBAL_ACCELERATOR)
    ]
    assert home and {r.region for r in home} == {None}


def test_each_region_gets_an_endpoint_group_for_its_own_alb(multi_region) -> None:
    albs = {(r.region or STACK_REGION): r.outputs["arn"] for r in multi_region.of_type(LB)}
    groups = multi_region.of_type(ENDPOINT_GROUP)
    by_region = {g.inputs["endpointGroupRegion"]: g for g in groups}
    assert set(by_region) == {STACK_REGION, *EXTRA}
    for region, group in by_region.items():
        (endpoint,) = group.inputs["endpointConfigurations"]
        assert endpoint["endpointId"] == albs[region]
        assert region_of_arn(albs[region]) == region
        assert group.region is None
    for global_resource in multi_region.resources:
        if global_resource.type.startswith(GLOBAL_ACCELERATOR):
            assert global_resource.region is None


def test_zones_are_looked_up_in_each_region(multi_region) -> None:
    assert sorted(
        (a.get("region") or STACK_REGION) for a in calls(multi_region, GET_AVAILABILITY_ZONES)
    ) == sorted([STACK_REGION, *EXTRA])


def test_https_listeners_use_a_certificate_of_their_own_region() -> None:
    uuid = "0f0e0d0c-1b2a-4c3d-8e9f-a0b1c2d3e4f"
    certs = {
        region: f"arn:aws:acm:{region}:123456789012:certificate/{uuid}{i}"
        for i, region in enumerate(EXTRA)
    }
    result = run(
        {
            "staticIp": {
                "enabled": True,
                "certificateArn": CERT,
                "regions": [{"region": r, "certificateArn": c} for r, c in certs.items()],
            }
        }
    )
    https = [r for r in result.of_type(LISTENER) if r.inputs["port"] == 443]
    assert len(https) == 1 + len(EXTRA)
    for listener in https:
        assert region_of_arn(listener.inputs["certificateArn"]) == (listener.region or STACK_REGION)


PROGRAM = """
from components.config import load_config
from components.function import ExposedFunctions, ExposedFunctionsArgs
from components.network import Network, NetworkArgs
from components.region import Region
from components.static_ip import StaticIpEntry, StaticIpEntryArgs

config = load_config()
network = Network("network", NetworkArgs(config.network, needed_by=["staticIp"]))
functions = ExposedFunctions(
    "functions", ExposedFunctionsArgs(config.functions, Region(config.region))
).functions
StaticIpEntry(
    "static-ip",
    StaticIpEntryArgs(
        config.static_ip,
        [f for f in functions if f.name == "api"],
        network,
        config.region,
        network_config=config.network,
        function_configs=[f for f in config.functions if f.name == "api"],
    ),
)
"""


def test_extra_regions_copy_only_the_functions_the_entry_serves(tmp_path: Path) -> None:
    # A component given some of the stack's functions copies those, not every function.
    program = tmp_path / "program.py"
    program.write_text(PROGRAM)
    config = {
        "functions": [
            {"name": "app", "handler": "app", "path": "/"},
            {"name": "api", "handler": "app", "path": "/api"},
        ],
        "staticIp": {"enabled": True, "regions": ["us-east-1"]},
    }
    result = synthesize(config, region=STACK_REGION, program=program)
    copies = [f.name for f in result.of_type(FUNCTION) if f.region == "us-east-1"]
    assert copies == ["static-ip-us-east-1-functions-api"]
