"""staticIp: Global Accelerator or NLB + Elastic IPs → internal ALB → Lambda, under mocks.

Every expectation is derived from the config passed in or from other resources' outputs, so a
test fails when the wiring breaks, not when a name changes.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from components.function import ExposedFunction
from components.static_ip import (
    NLB_HEALTH_PATH,
    ipv4_addresses,
    routed_functions,
    urls_for,
)
from tests.graph import (
    ACCELERATOR,
    EGRESS,
    EIP,
    ENDPOINT_GROUP,
    FUNCTION,
    GA_LISTENER,
    INGRESS,
    INTERNET_GATEWAY,
    LB,
    LISTENER,
    LISTENER_RULE,
    PERMISSION,
    SG,
    STATIC_IP_COMPONENT,
    SUBNET,
    TARGET_GROUP,
    TARGET_GROUP_ATTACHMENT,
    VPC,
    alb,
    by_index,
    group_of,
    nlb,
    rules_of,
    subnet_ids,
)
from tests.samples import CERT, EXAMPLES, EXISTING_VPC, certificate_arn
from tools.synth import Resource, Synth, load_stack_file

CERT_US = certificate_arn("us-east-1")
TWO_FUNCTIONS = [
    {"name": "app", "handler": "app", "path": "/"},
    {"name": "api", "handler": "app", "path": "/api"},
]


@pytest.fixture
def synth(synth_shared):
    """No test here patches the program: every graph of this module is a shared synthesis."""
    return synth_shared


def static_ip(**settings: Any) -> dict[str, Any]:
    return {"enabled": True, **settings}


# -- helpers over the synthesized graph --------------------------------------------------------


def listeners_of(result: Synth, load_balancer: Resource) -> dict[int, Resource]:
    return {
        int(r.inputs["port"]): r
        for r in result.of_type(LISTENER)
        if r.inputs["loadBalancerArn"] == load_balancer.outputs["arn"]
    }


def function_arn(result: Synth, name: str, region: str | None = None) -> str:
    (fn,) = [
        f
        for f in result.of_type(FUNCTION)
        if f.name.endswith(f"-{name}") and f.inputs.get("region") == region
    ]
    return fn.outputs["arn"]


def lambda_target_groups(result: Synth, region: str | None = None) -> list[Resource]:
    return [
        t
        for t in result.of_type(TARGET_GROUP)
        if t.inputs["targetType"] == "lambda" and t.inputs.get("region") == region
    ]


def target_group_of(result: Synth, function_name: str) -> Resource:
    (tg,) = [
        t
        for t in lambda_target_groups(result)
        if t.inputs["tags"]["lambda-exposure:function"] == function_name
    ]
    return tg


def sources(rules: list[Resource]) -> set[tuple[int, str]]:
    return {
        (
            int(r.inputs["fromPort"]),
            r.inputs.get("cidrIpv4")
            or r.inputs.get("cidrIpv6")
            or r.inputs["referencedSecurityGroupId"],
        )
        for r in rules
    }


def all_open_world_inputs(result: Synth) -> list[str]:
    """Every access rule anywhere in the stack that admits the whole internet.

    Access rules: security groups and their rules, network ACLs, WAF (a route to 0.0.0.0/0
    admits nobody).
    """
    found = []
    for resource in result.resources:
        kind = resource.type.lower()
        if not any(k in kind for k in ("securitygroup", "networkacl", "wafv2")):
            continue
        text = repr(resource.inputs)
        if "0.0.0.0/0" in text or "'::/0'" in text:
            found.append(f"{resource.type}::{resource.name}")
    return found


# -- Global Accelerator (default) ----------------------------------------------------------------


def test_global_accelerator_is_the_default_entry(synth) -> None:
    result = synth({"staticIp": static_ip()})
    accelerator = result.one(ACCELERATOR)
    assert accelerator.inputs["ipAddressType"] == "IPV4"
    assert accelerator.inputs["enabled"] is True
    # A destroy or a replacement would hand out a new pair of IPs: protected by default.
    assert accelerator.protect is True
    assert result.of_type(EIP) == []
    assert [r.inputs["loadBalancerType"] for r in result.of_type(LB)] == ["application"]

    listener = result.one(GA_LISTENER)
    assert listener.inputs["acceleratorArn"] == accelerator.outputs["arn"]
    assert listener.inputs["protocol"] == "TCP"
    assert listener.inputs["portRanges"] == [{"fromPort": 80, "toPort": 80}]

    the_alb = alb(result)
    # Internal, in the private subnets: the static IPs are the only way in.
    assert the_alb.inputs["internal"] is True
    assert the_alb.inputs["subnets"] == subnet_ids(result, "private")
    assert the_alb.inputs["dropInvalidHeaderFields"] is True

    group = result.one(ENDPOINT_GROUP)
    assert group.inputs["listenerArn"] == listener.outputs["arn"]
    assert group.inputs["endpointGroupRegion"] == result.region
    assert group.inputs["trafficDialPercentage"] == 100
    (endpoint,) = group.inputs["endpointConfigurations"]
    assert endpoint["endpointId"] == the_alb.outputs["arn"]
    assert endpoint["clientIpPreservationEnabled"] is True
    # GA reaches an internal ALB only through a VPC with an internet gateway.
    igw = result.one(INTERNET_GATEWAY)
    assert result.depends_on(group, igw)
    assert all(result.depends_on(group, li) for li in listeners_of(result, the_alb).values())


def test_open_entry_admits_the_internet_on_the_listener_port_only(synth) -> None:
    result = synth({"staticIp": static_ip()})
    group = group_of(result, alb(result))
    rules = rules_of(result, group)
    assert sources(rules) == {(80, "0.0.0.0/0")}
    assert all(r.inputs["ipProtocol"] == "tcp" and r.inputs["toPort"] == 80 for r in rules)
    # The detector the allow-list tests rely on does see an open rule.
    assert all_open_world_inputs(result) == [f"{INGRESS}::{rules[0].name}"]
    # Lambda targets are invoked through the Lambda API, not the network: no outbound rule.
    assert rules_of(result, group, EGRESS) == []
    assert group.inputs.get("egress") in (None, [])
    assert group.inputs.get("ingress") in (None, [])


def test_lambda_target_group_permission_and_attachment(synth) -> None:
    result = synth({"staticIp": static_ip()})
    (tg,) = lambda_target_groups(result)
    assert tg.inputs["lambdaMultiValueHeadersEnabled"] is True
    # One region: health checks would only cost invocations (nowhere to fail over to).
    assert tg.inputs["healthCheck"]["enabled"] is False
    permission = result.one(PERMISSION)
    arn = function_arn(result, "app")
    assert permission.inputs["function"] == arn
    assert permission.inputs["principal"] == "elasticloadbalancing.amazonaws.com"
    assert permission.inputs["action"] == "lambda:InvokeFunction"
    assert permission.inputs["sourceArn"] == tg.outputs["arn"]
    attachment = result.one(TARGET_GROUP_ATTACHMENT)
    assert attachment.inputs["targetGroupArn"] == tg.outputs["arn"]
    assert attachment.inputs["targetId"] == arn
    (listener,) = listeners_of(result, alb(result)).values()
    assert listener.inputs["protocol"] == "HTTP"
    assert listener.inputs["defaultActions"] == [
        {"type": "forward", "targetGroupArn": tg.outputs["arn"]}
    ]


def test_permission_exists_before_the_attachment(synth) -> None:
    result = synth({"functions": TWO_FUNCTIONS, "staticIp": static_ip()})
    permissions = {p.inputs["sourceArn"]: p for p in result.of_type(PERMISSION)}
    attachments = result.of_type(TARGET_GROUP_ATTACHMENT)
    assert len(attachments) == len(permissions) == len(TWO_FUNCTIONS)
    for attachment in attachments:
        permission = permissions[attachment.inputs["targetGroupArn"]]
        assert result.depends_on(attachment, permission)


def test_outputs_are_the_accelerator_ipv4_addresses(synth) -> None:
    result = synth({"staticIp": static_ip()})
    accelerator = result.one(ACCELERATOR)
    expected = [
        ip
        for ip_set in accelerator.outputs["ipSets"]
        for ip in ip_set["ipAddresses"]
        if ipaddress.ip_address(ip).version == 4
    ]
    assert len(expected) == 2
    assert result.outputs["staticIps"] == expected
    assert result.outputs["staticIpUrls"] == [f"http://{ip}/" for ip in expected]
    assert "staticIpv6s" not in result.outputs


def test_dual_stack_accelerator_on_an_existing_ipv6_vpc(synth) -> None:
    v6 = "2001:db8:1234::/48"
    result = synth(
        {
            "network": EXISTING_VPC,
            "staticIp": static_ip(ipAddressType="DUAL_STACK", allowedCidrs=["198.51.100.0/24", v6]),
        }
    )
    assert result.one(ACCELERATOR).inputs["ipAddressType"] == "DUAL_STACK"
    the_alb = alb(result)
    # A dual-stack accelerator takes only dual-stack endpoints.
    assert the_alb.inputs["ipAddressType"] == "dualstack"
    rules = rules_of(result, group_of(result, the_alb))
    assert sources(rules) == {(80, "198.51.100.0/24"), (80, v6)}
    assert next(r for r in rules if r.inputs.get("cidrIpv6")).inputs["cidrIpv6"] == v6
    accelerator = result.one(ACCELERATOR)
    v6_ips = [
        ip
        for s in accelerator.outputs["ipSets"]
        for ip in s["ipAddresses"]
        if ipaddress.ip_address(ip).version == 6
    ]
    assert result.outputs["staticIpv6s"] == v6_ips
    assert all(ipaddress.ip_address(ip).version == 4 for ip in result.outputs["staticIps"])


def test_dual_stack_without_allow_list_also_opens_ipv6(synth) -> None:
    result = synth({"network": EXISTING_VPC, "staticIp": static_ip(ipAddressType="DUAL_STACK")})
    rules = rules_of(result, group_of(result, alb(result)))
    assert sources(rules) == {(80, "0.0.0.0/0"), (80, "::/0")}


def test_protect_can_be_turned_off(synth) -> None:
    result = synth({"staticIp": static_ip(protectStaticIps=False)})
    assert result.one(ACCELERATOR).protect is False
    result = synth({"staticIp": static_ip(entry="nlb", protectStaticIps=False)})
    assert not any(e.protect for e in result.of_type(EIP))


# -- NLB with Elastic IPs --------------------------------------------------------------------


def test_nlb_entry_one_protected_elastic_ip_per_zone(synth) -> None:
    az_count = 3
    result = synth({"network": {"azCount": az_count}, "staticIp": static_ip(entry="nlb")})
    assert result.of_type(ACCELERATOR) == []
    eips = by_index(result.of_type(EIP))
    assert len(eips) == az_count
    assert all(e.protect and e.inputs["domain"] == "vpc" for e in eips)

    the_nlb = nlb(result)
    assert the_nlb.inputs["internal"] is False
    # A replacement NLB needs the same Elastic IPs, which the old one holds until it is gone.
    assert the_nlb.delete_before_replace
    assert the_nlb.inputs["enableCrossZoneLoadBalancing"] is True
    public = subnet_ids(result, "public")
    assert the_nlb.inputs["subnetMappings"] == [
        {"subnetId": subnet, "allocationId": eip.outputs["allocationId"]}
        for subnet, eip in zip(public, eips, strict=True)
    ]
    igw = result.one(INTERNET_GATEWAY)
    assert result.depends_on(the_nlb, igw)
    assert result.outputs["staticIps"] == [e.outputs["publicIp"] for e in eips]
    assert result.outputs["staticIpUrls"] == [f"http://{e.outputs['publicIp']}/" for e in eips]

    the_alb = alb(result)
    assert the_alb.inputs["internal"] is True
    assert the_alb.inputs["subnets"] == subnet_ids(result, "private")


def test_nlb_forwards_tcp_to_the_alb_and_health_checks_it(synth) -> None:
    result = synth({"staticIp": static_ip(entry="nlb")})
    the_nlb, the_alb = nlb(result), alb(result)
    (alb_tg,) = [t for t in result.of_type(TARGET_GROUP) if t.inputs["targetType"] == "alb"]
    assert alb_tg.inputs["protocol"] == "TCP"
    assert alb_tg.inputs["port"] == 80
    assert alb_tg.inputs["vpcId"] == result.one(VPC).outputs["id"]
    health = alb_tg.inputs["healthCheck"]
    assert health["enabled"] is True
    assert (health["protocol"], health["path"]) == ("HTTP", NLB_HEALTH_PATH)

    (nlb_listener,) = listeners_of(result, the_nlb).values()
    assert nlb_listener.inputs["protocol"] == "TCP"
    assert nlb_listener.inputs["defaultActions"] == [
        {"type": "forward", "targetGroupArn": alb_tg.outputs["arn"]}
    ]
    (attachment,) = [
        a
        for a in result.of_type(TARGET_GROUP_ATTACHMENT)
        if a.inputs["targetGroupArn"] == alb_tg.outputs["arn"]
    ]
    assert attachment.inputs["targetId"] == the_alb.outputs["arn"]
    alb_listener = listeners_of(result, the_alb)[80]
    assert result.depends_on(attachment, alb_listener)

    # The ALB answers the health path itself: the NLB's checks never invoke the function.
    (health_rule,) = [r for r in result.of_type(LISTENER_RULE) if r.inputs["priority"] == 1]
    assert health_rule.inputs["listenerArn"] == alb_listener.outputs["arn"]
    assert health_rule.inputs["conditions"] == [{"pathPattern": {"values": [NLB_HEALTH_PATH]}}]
    assert health_rule.inputs["actions"][0]["type"] == "fixed-response"


def test_nlb_security_groups_chain_client_to_nlb_to_alb(synth) -> None:
    result = synth({"staticIp": static_ip(entry="nlb")})
    nlb_group, alb_group = group_of(result, nlb(result)), group_of(result, alb(result))
    assert nlb_group.outputs["id"] != alb_group.outputs["id"]
    assert sources(rules_of(result, nlb_group)) == {(80, "0.0.0.0/0")}
    # The ALB admits the NLB only (its security group), on the listener port.
    assert sources(rules_of(result, alb_group)) == {(80, nlb_group.outputs["id"])}
    assert sources(rules_of(result, nlb_group, EGRESS)) == {(80, alb_group.outputs["id"])}


# -- the client allow-list ------------------------------------------------------------------------


@pytest.mark.parametrize("entry", ["global-accelerator", "nlb"])
def test_allow_list_admits_only_the_listed_cidrs(synth, entry: str) -> None:
    cidrs = ["203.0.113.0/24", "198.51.100.7/32"]
    result = synth({"staticIp": static_ip(entry=entry, allowedCidrs=cidrs)})
    facing = nlb(result) if entry == "nlb" else alb(result)
    rules = rules_of(result, group_of(result, facing))
    assert sources(rules) == {(80, cidr) for cidr in cidrs}
    assert all_open_world_inputs(result) == []
    if entry == "nlb":
        assert sources(rules_of(result, group_of(result, alb(result)))) == {
            (80, group_of(result, nlb(result)).outputs["id"])
        }


def test_allow_list_with_https_covers_both_ports_and_nothing_else(synth) -> None:
    cidrs = ["203.0.113.0/24"]
    result = synth({"staticIp": static_ip(allowedCidrs=cidrs, certificateArn=CERT)})
    rules = rules_of(result, group_of(result, alb(result)))
    assert sources(rules) == {(port, cidr) for port in (80, 443) for cidr in cidrs}
    assert all_open_world_inputs(result) == []


# -- HTTPS ----------------------------------------------------------------------------------------


def test_https_listener_with_modern_policy_and_redirect(synth) -> None:
    result = synth({"staticIp": static_ip(certificateArn=CERT)})
    listeners = listeners_of(result, alb(result))
    assert set(listeners) == {80, 443}
    https = listeners[443]
    assert https.inputs["protocol"] == "HTTPS"
    assert https.inputs["certificateArn"] == CERT
    assert https.inputs["sslPolicy"].startswith("ELBSecurityPolicy-TLS13")
    (tg,) = lambda_target_groups(result)
    assert https.inputs["defaultActions"] == [
        {"type": "forward", "targetGroupArn": tg.outputs["arn"]}
    ]
    (redirect,) = listeners[80].inputs["defaultActions"]
    assert redirect["type"] == "redirect"
    assert redirect["redirect"] == {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}
    assert result.one(GA_LISTENER).inputs["portRanges"] == [
        {"fromPort": 80, "toPort": 80},
        {"fromPort": 443, "toPort": 443},
    ]
    assert all(url.startswith("https://") for url in result.outputs["staticIpUrls"])


def test_ssl_policy_is_configurable(synth) -> None:
    policy = "ELBSecurityPolicy-TLS13-1-3-2021-06"
    result = synth({"staticIp": static_ip(certificateArn=CERT, sslPolicy=policy)})
    assert listeners_of(result, alb(result))[443].inputs["sslPolicy"] == policy


def test_https_through_the_nlb_passes_tls_to_the_alb(synth) -> None:
    result = synth({"staticIp": static_ip(entry="nlb", certificateArn=CERT)})
    nlb_listeners = listeners_of(result, nlb(result))
    assert {p: li.inputs["protocol"] for p, li in nlb_listeners.items()} == {80: "TCP", 443: "TCP"}
    alb_tgs = {
        t.inputs["port"]: t for t in result.of_type(TARGET_GROUP) if t.inputs["targetType"] == "alb"
    }
    assert alb_tgs[443].inputs["healthCheck"]["protocol"] == "HTTPS"
    assert alb_tgs[80].inputs["healthCheck"]["protocol"] == "HTTP"
    # The health path is answered on both ALB listeners, the redirecting one included.
    alb_listeners = listeners_of(result, alb(result))
    health = [r for r in result.of_type(LISTENER_RULE) if r.inputs["priority"] == 1]
    assert sorted(r.inputs["listenerArn"] for r in health) == sorted(
        li.outputs["arn"] for li in alb_listeners.values()
    )


# -- several functions, paths ---------------------------------------------------------------------


def test_two_functions_two_target_groups_two_permissions_one_path_rule(synth) -> None:
    result = synth({"functions": TWO_FUNCTIONS, "staticIp": static_ip()})
    tgs = lambda_target_groups(result)
    assert len(tgs) == 2
    permissions = result.of_type(PERMISSION)
    assert len(permissions) == 2
    for fn in TWO_FUNCTIONS:
        tg = target_group_of(result, fn["name"])
        (permission,) = [p for p in permissions if p.inputs["sourceArn"] == tg.outputs["arn"]]
        assert permission.inputs["function"] == function_arn(result, fn["name"])
    (rule,) = result.of_type(LISTENER_RULE)
    api = next(f for f in TWO_FUNCTIONS if f["path"] != "/")
    assert rule.inputs["conditions"] == [
        {"pathPattern": {"values": [api["path"], f"{api['path']}/*"]}}
    ]
    assert rule.inputs["actions"] == [
        {"type": "forward", "targetGroupArn": target_group_of(result, api["name"]).outputs["arn"]}
    ]
    (listener,) = listeners_of(result, alb(result)).values()
    assert rule.inputs["listenerArn"] == listener.outputs["arn"]
    root = next(f for f in TWO_FUNCTIONS if f["path"] == "/")
    assert (
        listener.inputs["defaultActions"][0]["targetGroupArn"]
        == (target_group_of(result, root["name"]).outputs["arn"])
    )


def test_path_rules_go_on_the_https_listener(synth) -> None:
    result = synth({"functions": TWO_FUNCTIONS, "staticIp": static_ip(certificateArn=CERT)})
    (rule,) = result.of_type(LISTENER_RULE)
    assert rule.inputs["listenerArn"] == listeners_of(result, alb(result))[443].outputs["arn"]


def test_nested_paths_most_specific_first_and_no_root_answers_404(synth) -> None:
    functions = [
        {"name": "api", "handler": "app", "path": "/api"},
        {"name": "v2", "handler": "app", "path": "/api/v2"},
    ]
    result = synth({"functions": functions, "staticIp": static_ip()})
    rules = {
        r.inputs["actions"][0]["targetGroupArn"]: r.inputs["priority"]
        for r in result.of_type(LISTENER_RULE)
    }
    assert (
        rules[target_group_of(result, "v2").outputs["arn"]]
        < rules[target_group_of(result, "api").outputs["arn"]]
    )
    (listener,) = listeners_of(result, alb(result)).values()
    (default,) = listener.inputs["defaultActions"]
    assert default["type"] == "fixed-response"
    assert default["fixedResponse"]["statusCode"] == "404"


def test_routed_functions_order_is_by_depth_then_length() -> None:
    def fn(name: str, path: str) -> ExposedFunction:
        return ExposedFunction(name, path, True, None, None, None, "eu-west-1")  # type: ignore[arg-type]

    ordered = routed_functions([fn("a", "/a"), fn("r", "/"), fn("ab", "/a/b"), fn("long", "/abc")])
    assert [f.path for f in ordered] == ["/a/b", "/abc", "/a"]


def test_url_and_address_helpers() -> None:
    assert urls_for(["192.0.2.1", "2001:db8::1"], https=True) == [
        "https://192.0.2.1/",
        "https://[2001:db8::1]/",
    ]
    sets = [{"ipFamily": "IPv4", "ipAddresses": ["192.0.2.1"]}, {"ipAddresses": ["2001:db8::1"]}]
    assert ipv4_addresses(sets) == ["192.0.2.1"]


def test_existing_function_in_the_stack_region(synth) -> None:
    arn = "arn:aws:lambda:eu-west-1:123456789012:function:existing"
    result = synth(
        {"functions": [{"name": "legacy", "arn": arn, "path": "/"}], "staticIp": static_ip()}
    )
    assert result.of_type(FUNCTION) == []
    assert result.one(PERMISSION).inputs["function"] == arn
    assert result.one(TARGET_GROUP_ATTACHMENT).inputs["targetId"] == arn


# -- existing VPC ---------------------------------------------------------------------------------


@pytest.mark.parametrize("entry", ["global-accelerator", "nlb"])
def test_existing_vpc_is_used_not_created(synth, entry: str) -> None:
    result = synth({"network": EXISTING_VPC, "staticIp": static_ip(entry=entry)})
    assert result.of_type(VPC) == []
    assert result.of_type(SUBNET) == []
    assert alb(result).inputs["subnets"] == EXISTING_VPC["privateSubnetIds"]
    assert all(g.inputs["vpcId"] == EXISTING_VPC["vpcId"] for g in result.of_type(SG))
    if entry == "nlb":
        mappings = nlb(result).inputs["subnetMappings"]
        assert [m["subnetId"] for m in mappings] == EXISTING_VPC["publicSubnetIds"]
        assert len(result.of_type(EIP)) == len(EXISTING_VPC["publicSubnetIds"])


def test_nlb_with_one_public_subnet_warns(synth) -> None:
    network = {**EXISTING_VPC, "publicSubnetIds": EXISTING_VPC["publicSubnetIds"][:1]}
    result = synth({"network": network, "staticIp": static_ip(entry="nlb")})
    assert len(result.of_type(EIP)) == 1
    assert any("network.publicSubnetIds" in w and "one static IP" in w for w in result.warnings), (
        result.warnings
    )


# -- several regions behind one accelerator ------------------------------------------------------


def test_each_region_gets_its_own_alb_functions_and_endpoint_group(synth) -> None:
    regions = [
        {"region": "eu-west-1", "trafficDialPercentage": 60},
        {"region": "us-east-1", "trafficDialPercentage": 40},
    ]
    result = synth({"staticIp": static_ip(regions=regions)}, region="eu-west-1")
    groups = {g.inputs["endpointGroupRegion"]: g for g in result.of_type(ENDPOINT_GROUP)}
    assert set(groups) == {r["region"] for r in regions}
    listener = result.one(GA_LISTENER)
    for spec in regions:
        group = groups[spec["region"]]
        assert group.inputs["trafficDialPercentage"] == spec["trafficDialPercentage"]
        assert group.inputs["listenerArn"] == listener.outputs["arn"]
    # The stack region uses the stack's ALB (no region argument); the other has its own.
    assert (
        groups["eu-west-1"].inputs["endpointConfigurations"][0]["endpointId"]
        == (alb(result).outputs["arn"])
    )
    us_alb = alb(result, "us-east-1")
    assert (
        groups["us-east-1"].inputs["endpointConfigurations"][0]["endpointId"]
        == (us_alb.outputs["arn"])
    )
    assert us_alb.inputs["subnets"] == subnet_ids(result, "private", "us-east-1")
    assert us_alb.outputs["arn"].split(":")[3] == "us-east-1"
    # The function is deployed again in us-east-1 and only invoked by that region's ALB.
    us_arn = function_arn(result, "app", "us-east-1")
    assert us_arn.split(":")[3] == "us-east-1"
    (us_tg,) = lambda_target_groups(result, "us-east-1")
    (us_permission,) = [p for p in result.of_type(PERMISSION) if p.inputs.get("region")]
    assert us_permission.inputs["function"] == us_arn
    assert us_permission.inputs["sourceArn"] == us_tg.outputs["arn"]
    # With somewhere to fail over to, the Lambda targets are health checked in every region.
    for tg in lambda_target_groups(result) + lambda_target_groups(result, "us-east-1"):
        assert tg.inputs["healthCheck"]["enabled"] is True
    assert result.one(ACCELERATOR).inputs.get("region") is None
    assert len(result.of_type(VPC)) == 2
    # Everything regional built for us-east-1 (network, functions, ALB) says so; IAM is global.
    us_resources = [
        r
        for r in result.resources
        if r.custom
        and r.name.startswith("static-ip-us-east-1")
        and not r.type.startswith("aws:iam/")
    ]
    assert len(us_resources) > 10
    assert {r.inputs.get("region") for r in us_resources} == {"us-east-1"}
    us_zones = [args for token, args in result.calls if token.endswith("getAvailabilityZones")]
    assert {a.get("region") for a in us_zones} == {None, "us-east-1"}


def test_extra_region_given_as_a_name_defaults_to_full_dial(synth) -> None:
    result = synth({"staticIp": static_ip(regions=["us-west-2"])}, region="eu-west-1")
    dials = {
        g.inputs["endpointGroupRegion"]: g.inputs["trafficDialPercentage"]
        for g in result.of_type(ENDPOINT_GROUP)
    }
    # The stack region is always served; a listed extra region is added to it.
    assert dials == {"eu-west-1": 100, "us-west-2": 100}


def test_extra_region_https_uses_its_own_certificate(synth) -> None:
    regions = [{"region": "us-east-1", "certificateArn": CERT_US}]
    result = synth({"staticIp": static_ip(certificateArn=CERT, regions=regions)})
    assert listeners_of(result, alb(result))[443].inputs["certificateArn"] == CERT
    us_listeners = listeners_of(result, alb(result, "us-east-1"))
    assert us_listeners[443].inputs["certificateArn"] == CERT_US
    assert us_listeners[443].inputs["region"] == "us-east-1"


# -- examples ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("example", "entry"),
    [("static-ip-global-accelerator.yaml", "global-accelerator"), ("static-ip-nlb.yaml", "nlb")],
)
def test_example_synthesizes_its_entry(synth, example: str, entry: str) -> None:
    config = load_stack_file(EXAMPLES / example)
    settings = config["lambda-exposure:staticIp"]
    assert settings["entry"] == entry
    result = synth(config)
    assert result.one(STATIC_IP_COMPONENT)
    facing = nlb(result) if entry == "nlb" else alb(result)
    assert sources(rules_of(result, group_of(result, facing))) == {
        (80, cidr) for cidr in settings["allowedCidrs"]
    }
    assert len(result.outputs["staticIps"]) >= 2
    assert all_open_world_inputs(result) == []


# -- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "key", "words"),
    [
        (
            {"staticIp": static_ip(allowedCidrs=["203.0.113.0/24", "10.0.0.300/8"])},
            "staticIp.allowedCidrs[1]",
            "is not a CIDR",
        ),
        (
            {
                "staticIp": static_ip(
                    certificateArn="arn:aws:iam::123456789012:server-certificate/x"
                )
            },
            "staticIp.certificateArn",
            "is not an ACM certificate ARN",
        ),
        (
            {"network": {"azCount": 1}, "staticIp": static_ip(entry="nlb")},
            "network.azCount",
            "at least 2 availability zones",
        ),
        (
            {"network": {"azCount": 1}, "staticIp": static_ip()},
            "network.azCount",
            "at least 2 availability zones",
        ),
        (
            {
                "network": {**EXISTING_VPC, "privateSubnetIds": ["subnet-0bbbbbbbbbbbbbbb1"]},
                "staticIp": static_ip(),
            },
            "network.privateSubnetIds",
            "at least 2",
        ),
        (
            {"staticIp": static_ip(certificateArn=CERT_US)},
            "staticIp.certificateArn",
            "needs an ACM certificate of eu-west-1",
        ),
        (
            {
                "functions": [
                    {"name": "x", "arn": "arn:aws:lambda:us-east-1:123456789012:function:x"}
                ],
                "staticIp": static_ip(),
            },
            "functions[0].arn",
            "functions of its own region",
        ),
        (
            {"staticIp": static_ip(entry="nlb", ipAddressType="DUAL_STACK")},
            "staticIp.ipAddressType",
            "accelerator setting",
        ),
        (
            {"staticIp": static_ip(ipAddressType="DUAL_STACK")},
            "staticIp.ipAddressType",
            "IPv6 CIDR blocks",
        ),
        (
            {"staticIp": static_ip(entry="nlb", allowedCidrs=["2001:db8::/32"])},
            "staticIp.allowedCidrs[0]",
            "is IPv6",
        ),
        (
            {"network": EXISTING_VPC, "staticIp": static_ip(regions=["us-east-1"])},
            "staticIp.regions[0].region",
            "existing VPC",
        ),
        (
            {"staticIp": static_ip(certificateArn=CERT, regions=["us-east-1"])},
            "staticIp.regions[0].certificateArn",
            "needs an ACM certificate of us-east-1",
        ),
        (
            {"staticIp": static_ip(regions=[{"region": "us-east-1", "certificateArn": CERT_US}])},
            "staticIp.regions[0].certificateArn",
            "every region or none",
        ),
        (
            {
                "functions": [
                    {"name": "x", "arn": "arn:aws:lambda:eu-west-1:123456789012:function:x"}
                ],
                "staticIp": static_ip(regions=["us-east-1"]),
            },
            "functions[0].arn",
            "lives in one region",
        ),
        (
            {"staticIp": static_ip(entry="nlb", regions=["us-east-1"])},
            "staticIp.regions",
            "need entry: global-accelerator",
        ),
        (
            {
                "staticIp": static_ip(
                    regions=[{"region": "us-east-1", "trafficDialPercentage": 120}]
                )
            },
            "staticIp.regions[0].trafficDialPercentage",
            "100",
        ),
    ],
)
def test_bad_static_ip_config_is_a_clear_error(synth_error, config, key, words) -> None:
    message = synth_error(config)
    assert f"lambda-exposure:{key}:" in message, message
    assert words in message, message
