"""edge.origin: vpc under mocks: CloudFront → VPC origin → internal ALB → Lambda, and its errors.

Expected values come from the config, from other resources' (mocked) outputs, or from what the
program looked up (the origin-facing prefix list id the lookup returned), never from the
component's constants: a test fails when the graph stops giving AWS what it needs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from components.config import parse_config
from components.quotas import usages
from tests.graph import (
    BUCKET_POLICY,
    DISTRIBUTION,
    FUNCTION_URL,
    INGRESS,
    LB,
    LISTENER,
    OAC,
    PERMISSION,
    SG,
    SUBNET,
    TARGET_GROUP,
    VPC,
    WEB_ACL,
)
from tests.graph import INTERNET_GATEWAY as IGW
from tests.graph import LISTENER_RULE as RULE
from tests.graph import TARGET_GROUP_ATTACHMENT as ATTACHMENT
from tests.samples import EXISTING_VPC
from tools import cost
from tools.check import check
from tools.synth import Resource, Synth, load_stack_file, synthesize

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"

# Not in tests.graph yet (the harness owns it); the lead may move them there when merging.
VPC_ORIGIN = "aws:cloudfront/vpcOrigin:VpcOrigin"
PREFIX_LIST_LOOKUP = "aws:ec2/getManagedPrefixList:getManagedPrefixList"
# What the lookup answers in these tests: the rule must carry exactly the id AWS answered.
ORIGIN_FACING_LIST = {
    "id": "pl-4fa04526",
    "name": "com.amazonaws.global.cloudfront.origin-facing",
    "addressFamily": "IPv4",
    "maxEntries": 55,
    "ownerId": "AWS",
    "arn": "arn:aws:ec2:eu-west-1:aws:prefix-list/pl-4fa04526",
    "entries": [],
    "version": 1,
}
SIGNER = "lambda-exposure:index:EdgeSignerFunction"

VPC_EDGE = {"enabled": True, "origin": "vpc"}
THREE_FUNCTIONS = [
    {"name": "app", "handler": "app", "path": "/"},
    {"name": "api", "handler": "app", "path": "/api"},
    {"name": "apiv2", "handler": "app", "path": "/api/v2"},
]
API_ONLY = [{"name": "api", "handler": "app", "path": "/api"}]
BILLING = "arn:aws:lambda:eu-west-1:123456789012:function:billing"


# -- helpers -----------------------------------------------------------------------------------


def edge_alb(result: Synth) -> Resource:
    """The ALB the VPC origin names (found through the VPC origin, not by logical name)."""
    arn = result.one(VPC_ORIGIN).inputs["vpcOriginEndpointConfig"]["arn"]
    (alb,) = [r for r in result.of_type(LB) if r.outputs["arn"] == arn]
    return alb


def ingress_of(result: Synth, group_id: str) -> list[Resource]:
    return [r for r in result.of_type(INGRESS) if r.inputs["securityGroupId"] == group_id]


def listeners_of(result: Synth, alb: Resource) -> list[Resource]:
    return [
        r for r in result.of_type(LISTENER) if r.inputs["loadBalancerArn"] == alb.outputs["arn"]
    ]


@pytest.fixture
def synth(synth_shared):
    """No test here patches the program; the prefix-list lookup answers ORIGIN_FACING_LIST."""

    def run(*args: Any, **kwargs: Any) -> Synth:
        kwargs.setdefault("call_overrides", {PREFIX_LIST_LOOKUP: ORIGIN_FACING_LIST})
        return synth_shared(*args, **kwargs)

    return run


def function_arns(result: Synth) -> dict[str, str]:
    return dict(result.outputs["functionArns"])


def target_group_for(result: Synth, function_arn: str) -> Resource:
    (attachment,) = [a for a in result.of_type(ATTACHMENT) if a.inputs["targetId"] == function_arn]
    (group,) = [
        g
        for g in result.of_type(TARGET_GROUP)
        if g.outputs["arn"] == attachment.inputs["targetGroupArn"]
    ]
    return group


def private_subnet_ids(result: Synth) -> list[str]:
    return [
        s.outputs["id"]
        for s in result.of_type(SUBNET)
        if s.inputs["tags"].get("lambda-exposure:tier") == "private"
    ]


# -- the path: VPC origin → internal ALB ---------------------------------------------------------


def test_the_vpc_origin_names_the_internal_alb_in_the_private_subnets_over_http(synth) -> None:
    result = synth({"edge": VPC_EDGE})
    alb = edge_alb(result)
    assert alb.inputs["loadBalancerType"] == "application"
    assert alb.inputs["internal"] is True
    assert alb.inputs["subnets"] == private_subnet_ids(result)
    assert len(alb.inputs["subnets"]) >= 2
    endpoint = result.one(VPC_ORIGIN).inputs["vpcOriginEndpointConfig"]
    # http-only on 80, where the ALB listens; the HTTPS port and TLS list are required inputs.
    assert endpoint["originProtocolPolicy"] == "http-only"
    (listener,) = listeners_of(result, alb)
    assert listener.inputs["protocol"] == "HTTP"
    assert endpoint["httpPort"] == listener.inputs["port"] == 80
    assert endpoint["httpsPort"] == 443
    assert endpoint["originSslProtocols"] == {"items": ["TLSv1.2"], "quantity": 1}
    assert endpoint["name"] == "lambda-exposure-test-edge-origin"


def test_the_alb_admits_only_cloudfront_origin_facing_addresses_on_the_origin_port(synth) -> None:
    result = synth({"edge": VPC_EDGE})
    alb = edge_alb(result)
    (group_id,) = alb.inputs["securityGroups"]
    (group,) = [g for g in result.of_type(SG) if g.outputs["id"] == group_id]
    # No inline rules: the one rule below is all it admits, and an ALB needs no egress to Lambda.
    assert not group.inputs.get("ingress")
    assert not group.inputs.get("egress")
    (rule,) = ingress_of(result, group_id)
    port = result.one(VPC_ORIGIN).inputs["vpcOriginEndpointConfig"]["httpPort"]
    assert (rule.inputs["ipProtocol"], rule.inputs["fromPort"], rule.inputs["toPort"]) == (
        "tcp",
        port,
        port,
    )
    assert rule.inputs["prefixListId"] == ORIGIN_FACING_LIST["id"]
    for other in ("cidrIpv4", "cidrIpv6", "referencedSecurityGroupId"):
        assert other not in rule.inputs
    # Looked up in the ALB's region (the provider's: the stack's), by AWS's exact name.
    ((_, args),) = [c for c in result.calls if c[0] == PREFIX_LIST_LOOKUP]
    assert args["name"] == "com.amazonaws.global.cloudfront.origin-facing"
    assert args.get("region") is None


def test_the_distribution_has_one_origin_the_vpc_origin_at_the_alb_dns_name(synth) -> None:
    result = synth({"edge": VPC_EDGE})
    dist = result.one(DISTRIBUTION)
    (origin,) = dist.inputs["origins"]
    assert origin["vpcOriginConfig"] == {"vpcOriginId": result.one(VPC_ORIGIN).outputs["id"]}
    assert origin["domainName"] == edge_alb(result).outputs["dnsName"]
    assert "customOriginConfig" not in origin
    assert "originAccessControlId" not in origin
    # Without a site CloudFront sends every path to the ALB, which routes them.
    default = dist.inputs["defaultCacheBehavior"]
    assert default["targetOriginId"] == origin["originId"]
    assert not dist.inputs.get("orderedCacheBehaviors")
    assert "lambdaFunctionAssociations" not in default
    assert default["viewerProtocolPolicy"] == "redirect-to-https"
    assert set(default["allowedMethods"]) == {
        "GET",
        "HEAD",
        "OPTIONS",
        "PUT",
        "POST",
        "PATCH",
        "DELETE",
    }


def test_no_function_url_no_signing_and_only_the_target_groups_may_invoke(synth) -> None:
    result = synth({"functions": THREE_FUNCTIONS, "edge": VPC_EDGE})
    types = result.types()
    assert FUNCTION_URL not in types
    assert OAC not in types
    assert SIGNER not in types
    assert result.outputs["functionUrls"] == {}
    permissions = result.of_type(PERMISSION)
    assert len(permissions) == len(THREE_FUNCTIONS)
    for name, arn in function_arns(result).items():
        (permission,) = [p for p in permissions if p.inputs["function"] == arn]
        assert permission.inputs["principal"] == "elasticloadbalancing.amazonaws.com", name
        assert permission.inputs["action"] == "lambda:InvokeFunction"
        assert permission.inputs["sourceArn"] == target_group_for(result, arn).outputs["arn"]


def test_the_alb_routes_each_function_path_deepest_first_and_root_by_default(synth) -> None:
    result = synth({"functions": THREE_FUNCTIONS, "edge": VPC_EDGE})
    (listener,) = listeners_of(result, edge_alb(result))
    arns = function_arns(result)
    (default,) = listener.inputs["defaultActions"]
    assert default == {
        "type": "forward",
        "targetGroupArn": target_group_for(result, arns["app"]).outputs["arn"],
    }
    rules = sorted(
        (r for r in result.of_type(RULE) if r.inputs["listenerArn"] == listener.outputs["arn"]),
        key=lambda r: r.inputs["priority"],
    )
    routed = [
        (
            r.inputs["conditions"][0]["pathPattern"]["values"],
            r.inputs["actions"][0]["targetGroupArn"],
        )
        for r in rules
    ]
    assert routed == [
        (["/api/v2", "/api/v2/*"], target_group_for(result, arns["apiv2"]).outputs["arn"]),
        (["/api", "/api/*"], target_group_for(result, arns["api"]).outputs["arn"]),
    ]
    for group in result.of_type(TARGET_GROUP):
        assert group.inputs["targetType"] == "lambda"
        # Nothing to fail over to: health checks would only cost invocations.
        assert group.inputs["healthCheck"] == {"enabled": False}


def test_without_a_function_at_root_the_alb_answers_404_itself(synth) -> None:
    result = synth({"functions": API_ONLY, "edge": VPC_EDGE})
    (listener,) = listeners_of(result, edge_alb(result))
    (default,) = listener.inputs["defaultActions"]
    assert default["type"] == "fixed-response"
    assert default["fixedResponse"]["statusCode"] == "404"
    # CloudFront's default behavior still goes to the ALB (there is no other origin).
    dist = result.one(DISTRIBUTION)
    assert dist.inputs["defaultCacheBehavior"]["targetOriginId"] == "vpc-origin"


def test_the_vpc_origin_waits_for_the_listener_and_the_internet_gateway(synth) -> None:
    result = synth({"edge": VPC_EDGE})
    vpc_origin = result.one(VPC_ORIGIN)
    (listener,) = listeners_of(result, edge_alb(result))
    assert result.depends_on(vpc_origin, listener)
    assert result.depends_on(vpc_origin, result.one(IGW))
    # The distribution needs the deployed VPC origin's id: it is created after it.
    assert result.depends_on(result.one(DISTRIBUTION), vpc_origin)


def test_the_stack_creates_the_vpc_for_edge_and_tags_who_asked(synth) -> None:
    result = synth({"edge": VPC_EDGE})
    (vpc,) = result.of_type(VPC)
    assert vpc.inputs["tags"]["lambda-exposure:usedBy"] == "edge"
    assert synth({"edge": {"enabled": True}}).of_type(VPC) == []


def test_an_existing_vpc_gets_the_alb_in_its_private_subnets(synth) -> None:
    result = synth({"network": EXISTING_VPC, "edge": VPC_EDGE})
    alb = edge_alb(result)
    assert alb.inputs["subnets"] == EXISTING_VPC["privateSubnetIds"]
    (group_id,) = alb.inputs["securityGroups"]
    (group,) = [g for g in result.of_type(SG) if g.outputs["id"] == group_id]
    assert group.inputs["vpcId"] == EXISTING_VPC["vpcId"]
    # Not ours to change: no internet gateway is created (the README says it must exist).
    assert IGW not in result.types()


def test_an_existing_function_of_the_region_is_invoked_by_the_alb(synth) -> None:
    functions = [
        {"name": "app", "handler": "app", "path": "/"},
        {"name": "billing", "arn": BILLING, "path": "/billing"},
    ]
    result = synth({"functions": functions, "edge": VPC_EDGE})
    assert FUNCTION_URL not in result.types()
    group = target_group_for(result, BILLING)
    (permission,) = [p for p in result.of_type(PERMISSION) if p.inputs["function"] == BILLING]
    assert permission.inputs["sourceArn"] == group.outputs["arn"]


def test_static_site_keeps_its_bucket_and_sends_function_paths_to_the_vpc_origin(synth) -> None:
    result = synth(load_stack_file(EXAMPLES / "edge-vpc-origin-static-site.yaml"))
    dist = result.one(DISTRIBUTION)
    origins = {o["originId"]: o for o in dist.inputs["origins"]}
    (vpc_origin_id,) = [i for i, o in origins.items() if "vpcOriginConfig" in o]
    (site_id,) = [i for i, o in origins.items() if "originAccessControlId" in o]
    (oac,) = result.of_type(OAC)
    assert oac.inputs["originAccessControlOriginType"] == "s3"
    assert origins[site_id]["originAccessControlId"] == oac.outputs["id"]
    assert dist.inputs["defaultCacheBehavior"]["targetOriginId"] == site_id
    ordered = [
        (b["pathPattern"], b["targetOriginId"]) for b in dist.inputs["orderedCacheBehaviors"]
    ]
    assert ordered == [("/api", vpc_origin_id), ("/api/*", vpc_origin_id)]
    assert dist.inputs["defaultRootObject"] == "index.html"
    assert result.of_type(BUCKET_POLICY)


def test_the_edge_web_acl_still_guards_cloudfront(synth) -> None:
    result = synth(load_stack_file(EXAMPLES / "edge-vpc-origin-static-site.yaml"))
    acl = result.one(WEB_ACL)
    assert acl.inputs["scope"] == "CLOUDFRONT"
    assert acl.inputs["region"] == "us-east-1"
    assert result.one(DISTRIBUTION).inputs["webAclId"] == acl.outputs["arn"]


def test_with_static_ip_each_entry_has_its_own_alb_serving_only_its_functions(synth) -> None:
    functions = [
        {"name": "app", "handler": "app", "path": "/"},
        {"name": "ops", "handler": "app", "path": "/ops", "expose": ["staticIp"]},
        {"name": "web", "handler": "app", "path": "/web", "expose": ["edge"]},
    ]
    result = synth(
        {
            "functions": functions,
            "staticIp": {"enabled": True, "allowedCidrs": ["198.51.100.0/24"]},
            # The same allow-list at the edge: app is served by both (the consistency rule).
            "edge": {**VPC_EDGE, "allowedCidrs": ["198.51.100.0/24"]},
        }
    )
    albs = [r for r in result.of_type(LB) if r.inputs["loadBalancerType"] == "application"]
    assert len(albs) == 2
    edge = edge_alb(result)
    (other,) = [a for a in albs if a is not edge]
    assert set(edge.inputs["securityGroups"]).isdisjoint(other.inputs["securityGroups"])
    (edge_group,) = edge.inputs["securityGroups"]
    (static_group,) = other.inputs["securityGroups"]
    # Each group admits its own entry's sources only.
    assert {r.inputs.get("prefixListId") for r in ingress_of(result, edge_group)} == {
        ORIGIN_FACING_LIST["id"]
    }
    assert {r.inputs.get("cidrIpv4") for r in ingress_of(result, static_group)} == {
        "198.51.100.0/24"
    }

    def invoked_through(alb: Resource) -> set[str]:
        listener_arns = {lsn.outputs["arn"] for lsn in listeners_of(result, alb)}
        groups = {
            action.get("targetGroupArn")
            for lsn in listeners_of(result, alb)
            for action in lsn.inputs["defaultActions"]
        } | {
            r.inputs["actions"][0]["targetGroupArn"]
            for r in result.of_type(RULE)
            if r.inputs["listenerArn"] in listener_arns
        }
        names = {arn: name for name, arn in function_arns(result).items()}
        return {
            names[a.inputs["targetId"]]
            for a in result.of_type(ATTACHMENT)
            if a.inputs["targetGroupArn"] in groups
        }

    assert invoked_through(edge) == {"app", "web"}
    assert invoked_through(other) == {"app", "ops"}


def test_the_vpc_origin_name_stays_within_64_characters_and_differs_per_stack() -> None:
    long_stack = "production-" + "x" * 80
    names = [
        synthesize({"edge": VPC_EDGE}, stack=stack)
        .one(VPC_ORIGIN)
        .inputs["vpcOriginEndpointConfig"]["name"]
        for stack in (long_stack, long_stack + "y")
    ]
    assert all(len(n) <= 64 for n in names)
    assert all(n.startswith("lambda-exposure-production-x") for n in names)
    assert names[0] != names[1]


def test_the_fixed_cost_is_the_alb(synth) -> None:
    rows = cost.estimate(synth(load_stack_file(EXAMPLES / "edge-vpc-origin.yaml")))
    assert {r.kind: r.count for r in rows} == {"applicationLoadBalancer": 1}


@pytest.mark.parametrize("region", ["us-east-1", "eu-central-1", "ap-southeast-2"])
def test_the_deploy_check_passes_in_each_region_with_the_longest_function_names(
    synth, region: str
) -> None:
    functions = [
        {"name": "a", "handler": "app", "path": "/"},
        {"name": "f" + "x" * 38 + "z", "handler": "app", "path": "/long"},
    ]
    result = synth({"functions": functions, "edge": VPC_EDGE}, region=region)
    assert check(result) == []


# -- the exposure output -----------------------------------------------------------------------


def test_the_exposure_output_shows_the_vpc_origin_path_and_no_function_url_door(synth) -> None:
    result = synth({"functions": THREE_FUNCTIONS, "edge": VPC_EDGE})
    rows = result.outputs["exposure"]
    assert {r["entry"] for r in rows} == {"edge", "invokeApi"}
    edge = [r for r in rows if r["entry"] == "edge"]
    assert {r["function"] for r in edge} == {"app", "api", "apiv2"}
    for row in edge:
        assert row["via"] == "CloudFront → VPC origin → internal ALB"
        assert row["url"] == result.outputs["edgeUrl"]
        assert row["sources"] == "anyone"
        assert "signed" not in row["auth"]


# -- quotas ------------------------------------------------------------------------------------


def _usage_rows(raw: dict[str, Any]) -> list[tuple[str, str, int]]:
    return [(u.key, u.quota.name, u.used) for u in usages(parse_config(raw, "eu-west-1"))]


def test_the_prefix_list_reference_counts_55_rules_and_the_alb_its_rules_and_targets() -> None:
    found = _usage_rows({"functions": THREE_FUNCTIONS, "edge": VPC_EDGE})
    assert ("edge.origin", "Inbound or outbound rules per security group", 55) in found
    assert (
        "functions",
        "Rules per Application Load Balancer (excluding default rules)",
        2,
    ) in found
    assert ("functions", "Target Groups per Application Load Balancer", 3) in found
    # No site: one default behavior, whatever the number of functions.
    assert ("functions", "Cache behaviors per distribution", 0) in found
    assert ("functions", "Cache behaviors per distribution", 4) in _usage_rows(
        {"functions": THREE_FUNCTIONS, "edge": {"enabled": True}}
    )


def test_without_a_site_more_functions_fit_than_cloudfront_behaviors_allow() -> None:
    many = [{"name": f"f{i}", "handler": "app", "path": f"/p{i}"} for i in range(20)]
    parse_config({"functions": many, "edge": VPC_EDGE}, "eu-west-1")
    from components.config import ConfigError

    with pytest.raises(ConfigError, match="Cache behaviors per distribution"):
        parse_config({"functions": many, "edge": {"enabled": True}}, "eu-west-1")


# -- config errors, before any resource ----------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "key", "says"),
    [
        (
            {"edge": {**VPC_EDGE, "signing": "lambda-edge"}},
            "lambda-exposure:edge.signing: ",
            "origin-request Lambda@Edge",
        ),
        (
            {"edge": {**VPC_EDGE, "cors": {"allowOrigins": ["https://app.example.com"]}}},
            "lambda-exposure:edge.cors: ",
            "has none",
        ),
        (
            {"aws:region": "us-gov-west-1", "edge": VPC_EDGE},
            "lambda-exposure:edge.origin: ",
            "not available in us-gov-west-1",
        ),
        (
            {"network": {"azCount": 1}, "edge": VPC_EDGE},
            "lambda-exposure:network.azCount: ",
            "at least 2 availability zones",
        ),
        (
            {
                "network": {**EXISTING_VPC, "privateSubnetIds": ["subnet-0123456789abcdef2"]},
                "edge": VPC_EDGE,
            },
            "lambda-exposure:network.privateSubnetIds: ",
            "at least 2",
        ),
        (
            {"network": {"vpcId": "vpc-0123456789abcdef0"}, "edge": VPC_EDGE},
            "lambda-exposure:network.privateSubnetIds: ",
            "at least 2",
        ),
        (
            {
                "functions": [
                    {"name": "app", "handler": "app", "path": "/"},
                    {
                        "name": "far",
                        "arn": "arn:aws:lambda:us-east-1:123456789012:function:far",
                        "path": "/far",
                    },
                ],
                "edge": VPC_EDGE,
            },
            "lambda-exposure:functions[1].arn: ",
            "only invoke functions of its own region",
        ),
    ],
    ids=[
        "lambda-edge",
        "cors",
        "unsupported-region",
        "one-zone",
        "one-existing-subnet",
        "no-existing-subnets",
        "function-in-another-region",
    ],
)
def test_bad_config_is_refused_naming_the_key(synth_error, config, key: str, says: str) -> None:
    message = synth_error(config)
    (line,) = [line for line in message.splitlines() if line.startswith(key)]
    assert says in line


def test_an_existing_function_still_needs_origin_vpc(synth_error) -> None:
    functions = [{"name": "billing", "arn": BILLING, "path": "/"}]
    message = synth_error({"functions": functions, "edge": {"enabled": True}})
    (line,) = [
        x for x in message.splitlines() if x.startswith("lambda-exposure:functions[0].arn: ")
    ]
    assert "edge adds an AWS_IAM function URL" in line
    assert "edge.origin: vpc" in line  # the way out this feature adds
