"""ipRestrictedApi: REST API whose resource policy allows / denies source CIDRs per route.

The policy the program registers is parsed and *evaluated* (tests/policy_eval.py) against
concrete requests: the assertions are about who gets in, not about the JSON's shape.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.graph import (
    API_ACCOUNT,
    API_RESOURCE,
    DEPLOYMENT,
    FUNCTION,
    GET_VPC,
    INTEGRATION,
    IP_API_COMPONENT,
    LOG_GROUP,
    METHOD,
    METHOD_SETTINGS,
    PERMISSION,
    REST_API,
    REST_API_POLICY,
    ROLE,
    SG,
    STAGE,
    SUBNET,
    VPC,
    VPC_ENDPOINT,
    VPC_ENDPOINT_POLICY,
)
from tests.harness import shared_synthesis
from tests.policy_eval import (
    Request,
    UnsupportedPolicy,
    evaluate,
    gateway_allows,
    matching_sids,
)
from tests.samples import EXAMPLES
from tools.synth import ACCOUNT, Synth, load_stack_file, synthesize

# The address of Yan Cui's example, "How to create IP-protected endpoints with API Gateway
# and Lambda" (https://theburningmonk.com/2018/07/how-to-create-ip-protected-endpoints-with-api-gateway-and-lambda/).
ARTICLE_IP = "217.128.123.174"
OTHER_ACCOUNT = "444455556666"


def api_on(**options: Any) -> dict[str, Any]:
    return {"ipRestrictedApi": {"enabled": True, **options}}


class Api:
    """One synthesized API: its policy, and requests against it."""

    def __init__(self, result: Synth) -> None:
        self.result = result
        self.policy = json.loads(result.one(REST_API_POLICY).inputs["policy"])
        self.execution_arn = result.one(REST_API).outputs["executionArn"]
        self.stage = result.one(STAGE).inputs["stageName"]

    def request(self, method: str, path: str, **fields: Any) -> Request:
        arn = f"{self.execution_arn}/{self.stage}/{method}/{path.lstrip('/')}"
        return Request(resource=arn, **fields)

    def lets_in(self, method: str, path: str, ip: str, **kwargs: Any) -> bool:
        """An anonymous call (method authorization NONE) from ``ip``."""
        return gateway_allows(self.policy, self.request(method, path, source_ip=ip), **kwargs)

    def decision(self, method: str, path: str, **fields: Any) -> str:
        return evaluate(self.policy, self.request(method, path, **fields))


def synth_api(**options: Any) -> Api:
    return Api(shared_synthesis(api_on(**options)))


def methods_by_key(result: Synth) -> dict[tuple[str, str], Any]:
    """(resource path, verb) -> Method resource, resolving each method's resource path."""
    api = result.one(REST_API)
    paths = {api.outputs["rootResourceId"]: "/"}
    resources = result.of_type(API_RESOURCE)
    while len(paths) < len(resources) + 1:
        for res in resources:
            parent = res.inputs["parentId"]
            if parent in paths and res.outputs["id"] not in paths:
                base = paths[parent]
                paths[res.outputs["id"]] = f"{base.rstrip('/')}/{res.inputs['pathPart']}"
    return {
        (paths[m.inputs["resourceId"]], m.inputs["httpMethod"]): m for m in result.of_type(METHOD)
    }


# -- the evaluator itself, on hand-made documents -------------------------------------------------

DOC_ARN = "arn:aws:execute-api:eu-west-1:111111111111:abc123"


def test_evaluator_on_the_aws_deny_list_example() -> None:
    # "Deny API traffic based on source IP address or range" (API Gateway developer guide).
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke",
             "Resource": [f"{DOC_ARN}/*"]},
            {"Effect": "Deny", "Principal": "*", "Action": "execute-api:Invoke",
             "Resource": [f"{DOC_ARN}/*"],
             "Condition": {"IpAddress": {"aws:SourceIp": ["192.0.2.0/24", "198.51.100.0/24"]}}},
        ],
    }  # fmt: skip
    get = f"{DOC_ARN}/prod/GET/pets"
    assert evaluate(policy, Request(get, source_ip="192.0.2.10")) == "EXPLICIT_DENY"
    assert evaluate(policy, Request(get, source_ip="203.0.113.9")) == "ALLOW"
    assert evaluate(policy, Request(f"{DOC_ARN}-other/prod/GET/pets", source_ip="203.0.113.9")) == (
        "IMPLICIT_DENY"
    )


def test_evaluator_on_the_articles_policy_and_conditions() -> None:
    # The article's document (bare IP, no /32), a Null-conditioned Allow and a negated condition.
    article = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke",
                       "Resource": [f"{DOC_ARN}/*/GET/index.html"],
                       "Condition": {"IpAddress": {"aws:SourceIp": [ARTICLE_IP]}}}],
    }  # fmt: skip
    index = f"{DOC_ARN}/test/GET/index.html"
    assert evaluate(article, Request(index, source_ip=ARTICLE_IP)) == "ALLOW"
    assert evaluate(article, Request(index, source_ip="217.128.123.175")) == "IMPLICIT_DENY"
    assert evaluate(article, Request(f"{DOC_ARN}/test/POST/index.html", source_ip=ARTICLE_IP)) == (
        "IMPLICIT_DENY"
    )
    anonymous_only = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke",
             "Resource": [f"{DOC_ARN}/*"],
             "Condition": {"Null": {"aws:PrincipalArn": "true"}}},
            {"Effect": "Deny", "Principal": "*", "Action": "execute-api:Invoke",
             "Resource": f"{DOC_ARN}/*",
             "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-1"}}},
        ],
    }  # fmt: skip
    admin = f"{DOC_ARN}/s/GET/admin"
    assert evaluate(anonymous_only, Request(admin, source_vpce="vpce-1")) == "ALLOW"
    # A signed caller (aws:PrincipalArn present) gets no Allow from this policy.
    signed = Request(admin, source_vpce="vpce-1", principal_account=OTHER_ACCOUNT)
    assert evaluate(anonymous_only, signed) == "IMPLICIT_DENY"
    # A missing key satisfies a negated operator: a call not through any endpoint is denied.
    assert evaluate(anonymous_only, Request(admin)) == "EXPLICIT_DENY"
    assert evaluate(anonymous_only, Request(admin, source_vpce="vpce-2")) == "EXPLICIT_DENY"


def test_evaluator_refuses_not_resource() -> None:
    # Not documented for API Gateway resource policies: a document using it must not pass.
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke",
                       "NotResource": [f"{DOC_ARN}/*/GET/admin"]}],
    }  # fmt: skip
    with pytest.raises(UnsupportedPolicy):
        evaluate(policy, Request(f"{DOC_ARN}/s/POST/admin"))


def test_evaluator_matches_ipv6_and_keeps_families_apart() -> None:
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "execute-api:*",
                       "Resource": f"{DOC_ARN}/*",
                       "Condition": {"IpAddress": {"aws:SourceIp": ["2001:db8::/32"]}}}],
    }  # fmt: skip
    arn = f"{DOC_ARN}/s/GET/"
    assert evaluate(policy, Request(arn, source_ip="2001:db8:1::5")) == "ALLOW"
    assert evaluate(policy, Request(arn, source_ip="2001:db9::5")) == "IMPLICIT_DENY"
    assert evaluate(policy, Request(arn, source_ip="32.1.13.184")) == "IMPLICIT_DENY"


def test_evaluator_combines_iam_like_api_gateway_tables_a_and_b() -> None:
    silent = {"Version": "2012-10-17", "Statement": []}
    arn = f"{DOC_ARN}/s/GET/admin"
    own, other = DOC_ARN.split(":")[4], OTHER_ACCOUNT
    iam = {"authorization": "AWS_IAM"}
    # Table A (same account): either policy allowing is enough.
    assert gateway_allows(silent, Request(arn, principal_account=own), **iam,
                          identity_policy="ALLOW")  # fmt: skip
    assert not gateway_allows(silent, Request(arn, principal_account=own), **iam)
    # Table B (other account): both must allow.
    assert not gateway_allows(silent, Request(arn, principal_account=other), **iam,
                              identity_policy="ALLOW")  # fmt: skip
    # Unsigned calls never reach an IAM method.
    assert not gateway_allows(silent, Request(arn), **iam, identity_policy="ALLOW")


def test_evaluator_refuses_what_it_does_not_model() -> None:
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke",
                       "Resource": "*",
                       "Condition": {"IpAddressIfExists": {"aws:SourceIp": "10.0.0.0/8"}}}],
    }  # fmt: skip
    with pytest.raises(UnsupportedPolicy):
        evaluate(policy, Request(f"{DOC_ARN}/s/GET/", source_ip="10.0.0.1"))


# -- who gets in: the generated policy, evaluated ----------------------------------------------


def test_the_articles_example_only_that_ip_may_get_index_html() -> None:
    config = load_stack_file(EXAMPLES / "ip-restricted-api.yaml")
    api = Api(shared_synthesis(config))
    (route,) = config["lambda-exposure:ipRestrictedApi"]["routes"]
    article_ip = route["allow"][0].split("/")[0]
    assert api.lets_in(route["method"], route["path"], article_ip)
    assert not api.lets_in(route["method"], route["path"], "217.128.123.175")
    assert api.decision(route["method"], route["path"], source_ip="198.51.100.7") == (
        "EXPLICIT_DENY"
    )
    # The restriction is on GET /index.html only; the rest of the API stays open.
    assert api.lets_in("POST", route["path"], "198.51.100.7")
    assert api.lets_in(route["method"], "/other.html", "198.51.100.7")
    assert api.lets_in(route["method"], "/", "198.51.100.7")
    # /index.html/ is the same page to many backends: it must not slip past the rule.
    assert not api.lets_in(route["method"], route["path"] + "/", "198.51.100.7")


def test_example_loads_and_enables_the_pattern() -> None:
    for name in ("ip-restricted-api.yaml", "ip-restricted-api-private.yaml"):
        config = load_stack_file(EXAMPLES / name)
        assert config["lambda-exposure:ipRestrictedApi"]["enabled"] is True
        result = shared_synthesis(config)
        assert result.one(IP_API_COMPONENT)
        assert result.outputs["apiUrl"] == result.one(STAGE).outputs["invokeUrl"]


def test_global_allow_list_admits_only_those_sources() -> None:
    allow = ["203.0.113.0/24", "198.51.100.7/32"]
    api = synth_api(allow=allow)
    for path in ("/", "/index.html", "/deep/path"):
        assert api.lets_in("GET", path, "203.0.113.200")
        assert api.lets_in("DELETE", path, "198.51.100.7")
        assert not api.lets_in("GET", path, "198.51.100.8")


def test_empty_lists_mean_any_source() -> None:
    api = synth_api()
    assert api.lets_in("GET", "/", "192.0.2.1")
    assert api.lets_in("PATCH", "/x/y", "2001:db8::1")


def test_deny_list_refuses_those_sources_everywhere() -> None:
    deny = ["192.0.2.0/24"]
    api = synth_api(deny=deny)
    for method, path in (("GET", "/"), ("POST", "/orders/1")):
        assert not api.lets_in(method, path, "192.0.2.55")
        assert api.decision(method, path, source_ip="192.0.2.55") == "EXPLICIT_DENY"
        assert api.lets_in(method, path, "192.0.3.1")


def test_deny_wins_over_allow() -> None:
    api = synth_api(allow=["10.0.0.0/8"], deny=["10.1.0.0/16"])
    assert api.lets_in("GET", "/", "10.2.3.4")
    assert not api.lets_in("GET", "/", "10.1.3.4")
    assert "DenyInDenyList" in matching_sids(
        api.policy, api.request("GET", "/", source_ip="10.1.3.4")
    )


def test_route_allow_restricts_on_top_of_the_global_list() -> None:
    api = synth_api(
        allow=["10.0.0.0/8"],
        routes=[{"method": "POST", "path": "/orders", "allow": ["10.9.0.0/16"]}],
    )
    assert api.lets_in("POST", "/orders", "10.9.1.1")  # in both lists
    assert not api.lets_in("POST", "/orders", "10.8.1.1")  # global yes, route no
    assert api.lets_in("GET", "/orders", "10.8.1.1")  # another method: global list only
    assert api.lets_in("POST", "/orders/1", "10.8.1.1")  # another path: global list only
    # A route allow cannot widen the global list.
    api = synth_api(
        allow=["10.0.0.0/8"], routes=[{"method": "POST", "path": "/orders", "allow": ["0.0.0.0/0"]}]
    )
    assert not api.lets_in("POST", "/orders", "192.0.2.1")


def test_route_deny_and_wildcards() -> None:
    api = synth_api(
        routes=[
            {"method": "ANY", "path": "/internal/*", "deny": ["0.0.0.0/0", "::/0"]},
            {"method": "DELETE", "path": "/orders", "deny": ["192.0.2.0/24"]},
        ]
    )
    assert not api.lets_in("GET", "/internal/metrics", "203.0.113.1")
    assert not api.lets_in("POST", "/internal/a/b", "2001:db8::1")
    assert api.lets_in("GET", "/internal", "203.0.113.1")  # /* is what is *under* /internal
    assert not api.lets_in("DELETE", "/orders", "192.0.2.9")
    assert api.lets_in("GET", "/orders", "192.0.2.9")


def test_ipv6_sources_and_dual_stack_endpoint() -> None:
    api = synth_api(allow=["2001:db8:abcd::/48"], deny=["2001:db8:abcd:ff::/64"])
    assert api.lets_in("GET", "/", "2001:db8:abcd:1::10")
    assert not api.lets_in("GET", "/", "2001:db8:abcd:ff::10")  # denied subset
    assert not api.lets_in("GET", "/", "203.0.113.10")  # IPv4 is not in a v6-only allow list
    endpoint = api.result.one(REST_API).inputs["endpointConfiguration"]
    assert endpoint["types"] == "REGIONAL"
    assert endpoint["ipAddressType"] == "dualstack"
    v4_only = synth_api(allow=["203.0.113.0/24"]).result.one(REST_API)
    assert v4_only.inputs["endpointConfiguration"]["ipAddressType"] == "ipv4"


# -- IAM on one route ------------------------------------------------------------------------


def test_iam_on_one_route_only() -> None:
    route = {"method": "GET", "path": "/admin", "auth": "AWS_IAM"}
    api = synth_api(deny=["192.0.2.0/24"], routes=[route])
    methods = methods_by_key(api.result)
    assert methods[("/admin", "GET")].inputs["authorization"] == "AWS_IAM"
    # HEAD runs the function too (API Gateway only drops the body): it must not walk around GET.
    assert methods[("/admin", "HEAD")].inputs["authorization"] == "AWS_IAM"
    iam = {("/admin", "GET"), ("/admin", "HEAD")}
    others = [m for key, m in methods.items() if key not in iam]
    assert others and all(m.inputs["authorization"] == "NONE" for m in others)

    def iam_call(ip: str, account: str, identity: str) -> bool:
        request = api.request("GET", "/admin", source_ip=ip, principal_account=account)
        return gateway_allows(
            api.policy, request, authorization="AWS_IAM", identity_policy=identity
        )

    # Same account: the caller's own IAM policy decides (the resource policy stays silent).
    assert iam_call("203.0.113.5", ACCOUNT, "ALLOW")
    assert not iam_call("203.0.113.5", ACCOUNT, "IMPLICIT_DENY")
    # Other accounts: refused even when their IAM policy allows (no Allow here for them).
    assert not iam_call("203.0.113.5", OTHER_ACCOUNT, "ALLOW")
    # The IP lists still bind IAM callers: explicit deny wins over their IAM allow.
    assert not iam_call("192.0.2.5", ACCOUNT, "ALLOW")
    # Unsigned callers never get through the IAM method.
    assert not api.lets_in("GET", "/admin", "203.0.113.5", authorization="AWS_IAM")
    # The route's IP lists cover HEAD like GET.
    head = api.request("HEAD", "/admin", source_ip="192.0.2.5", principal_account=ACCOUNT)
    assert not gateway_allows(api.policy, head, authorization="AWS_IAM", identity_policy="ALLOW")
    # The rest of the API stays anonymous.
    assert api.lets_in("POST", "/admin", "203.0.113.5")
    assert api.lets_in("GET", "/admin/x", "203.0.113.5")
    assert api.lets_in("GET", "/", "203.0.113.5")


def test_iam_routes_use_only_documented_policy_elements_and_no_allow_for_signed_callers() -> None:
    api = synth_api(routes=[{"method": "ANY", "path": "/admin/*", "auth": "AWS_IAM"}])
    assert all("NotResource" not in s for s in api.policy["Statement"])
    assert all("Resource" in s for s in api.policy["Statement"])
    # Any signed request, on any path (even one no route pattern names), gets no Allow from
    # the resource policy: only the caller's own IAM policy can let it in.
    for method, path in (("GET", "/admin/x"), ("GET", "/admin/x/"), ("DELETE", "/admin/a/b")):
        request = api.request(method, path, source_ip="203.0.113.5", principal_account=ACCOUNT)
        assert api.policy and evaluate(api.policy, request) == "IMPLICIT_DENY", path
        assert not gateway_allows(
            api.policy, request, authorization="AWS_IAM", identity_policy="IMPLICIT_DENY"
        )
        assert gateway_allows(api.policy, request, authorization="AWS_IAM", identity_policy="ALLOW")
    # Anonymous callers keep the Allow on the NONE methods.
    assert api.lets_in("GET", "/admin", "203.0.113.5")
    assert api.lets_in("POST", "/", "203.0.113.5")


def test_iam_route_gets_its_own_resources_without_shadowing_the_proxy() -> None:
    result = shared_synthesis(
        api_on(routes=[{"method": "ANY", "path": "/admin/*", "auth": "AWS_IAM"}])
    )
    methods = methods_by_key(result)
    fn_invoke = result.one(FUNCTION).outputs["invokeArn"]
    assert methods[("/admin/{proxy+}", "ANY")].inputs["authorization"] == "AWS_IAM"
    # /admin itself and everything else keep a NONE method to the same function.
    for key in (("/", "ANY"), ("/{proxy+}", "ANY"), ("/admin", "ANY")):
        assert methods[key].inputs["authorization"] == "NONE", key
    integrations = result.of_type(INTEGRATION)
    assert len(integrations) == len(methods)
    assert {i.inputs["uri"] for i in integrations} == {fn_invoke}
    assert {i.inputs["type"] for i in integrations} == {"AWS_PROXY"}


# -- PRIVATE -------------------------------------------------------------------------------------


def test_private_api_requires_its_vpc_endpoint() -> None:
    api = synth_api(endpointType="PRIVATE", allow=["10.20.128.0/17"])
    endpoint = api.result.one(VPC_ENDPOINT)
    vpce = endpoint.outputs["id"]
    inside = {"vpc_source_ip": "10.20.130.4", "source_ip": "10.20.130.4"}
    assert api.decision("GET", "/", source_vpce=vpce, **inside) == "ALLOW"
    assert api.decision("GET", "/", source_vpce="vpce-0someoneelse0000", **inside) == (
        "EXPLICIT_DENY"
    )
    assert api.decision("GET", "/", **inside) == "EXPLICIT_DENY"  # not via an endpoint at all
    # The lists apply to aws:VpcSourceIp (the endpoint rewrites aws:SourceIp).
    assert (
        api.decision(
            "GET", "/", source_vpce=vpce, vpc_source_ip="10.20.1.4", source_ip="10.20.130.4"
        )
        == "EXPLICIT_DENY"
    )
    config = api.result.one(REST_API).inputs["endpointConfiguration"]
    assert config["types"] == "PRIVATE"
    assert config["vpcEndpointIds"] == [vpce]


def test_private_iam_route_still_needs_the_endpoint() -> None:
    api = synth_api(
        endpointType="PRIVATE", routes=[{"method": "GET", "path": "/admin", "auth": "AWS_IAM"}]
    )
    vpce = api.result.one(VPC_ENDPOINT).outputs["id"]

    def iam_call(**fields: Any) -> bool:
        request = api.request("GET", "/admin", principal_account=ACCOUNT, **fields)
        return gateway_allows(api.policy, request, authorization="AWS_IAM", identity_policy="ALLOW")

    assert iam_call(source_vpce=vpce, vpc_source_ip="10.20.130.4")
    assert not iam_call(source_ip="203.0.113.9")


def test_private_endpoint_placement_dns_and_security_group() -> None:
    result = shared_synthesis(api_on(endpointType="PRIVATE"))
    endpoint = result.one(VPC_ENDPOINT)
    subnets = {
        r.outputs["id"]
        for r in result.of_type(SUBNET)
        if r.inputs["tags"].get("lambda-exposure:tier") == "private"
    }
    assert endpoint.inputs["serviceName"] == f"com.amazonaws.{result.region}.execute-api"
    assert endpoint.inputs["vpcEndpointType"] == "Interface"
    assert set(endpoint.inputs["subnetIds"]) == subnets
    assert endpoint.inputs["privateDnsEnabled"] is True
    (group,) = [
        g for g in result.of_type(SG) if g.outputs["id"] in endpoint.inputs["securityGroupIds"]
    ]
    vpc_cidr = result.one(VPC).inputs["cidrBlock"]
    (rule,) = group.inputs["ingress"]
    assert (rule["fromPort"], rule["toPort"], rule["protocol"]) == (443, 443, "tcp")
    assert rule["cidrBlocks"] == [vpc_cidr]
    assert not group.inputs.get("egress")
    endpoint_policy = json.loads(result.one(VPC_ENDPOINT_POLICY).inputs["policy"])
    execution_arn = result.one(REST_API).outputs["executionArn"]
    (statement,) = endpoint_policy["Statement"]
    assert statement["Resource"] == f"{execution_arn}/*"
    assert statement["Action"] == "execute-api:Invoke"


def test_regional_api_has_no_network_and_no_endpoint() -> None:
    result = shared_synthesis(api_on())
    assert not result.of_type(VPC_ENDPOINT)
    assert not result.of_type(VPC)


def test_private_dns_on_an_existing_vpc_without_dns_is_refused(synth_failure) -> None:
    network = {
        "vpcId": "vpc-0123456789abcdef0",
        "privateSubnetIds": ["subnet-0123456789abcdef0"],
    }
    overrides = {
        GET_VPC: {
            "id": network["vpcId"],
            "cidrBlock": "10.50.0.0/16",
            "enableDnsSupport": True,
            "enableDnsHostnames": False,
        }
    }
    failure = synth_failure(
        {"network": network, **api_on(endpointType="PRIVATE")}, call_overrides=overrides
    )
    message = str(failure)
    assert "lambda-exposure:ipRestrictedApi.endpointType" in message
    assert network["vpcId"] in message and "enableDnsHostnames" in message
    assert VPC_ENDPOINT not in failure.registered_types()


# -- deployment, stage, permissions --------------------------------------------------------------


def test_changing_only_allow_redeploys() -> None:
    before = shared_synthesis(api_on(allow=["203.0.113.0/24"]))
    after = shared_synthesis(api_on(allow=["203.0.113.0/24", "198.51.100.0/24"]))
    old, new = (r.one(DEPLOYMENT).inputs["triggers"] for r in (before, after))
    assert old["policy"] != new["policy"]
    assert old["routes"] == new["routes"]  # nothing else changed
    # And the hash follows the policy actually registered, not some other input.
    # A run of its own: the same config must give the same hash.
    same = synthesize(api_on(allow=["203.0.113.0/24"])).one(DEPLOYMENT).inputs["triggers"]
    assert same == old


def test_changing_routes_redeploys() -> None:
    before = shared_synthesis(api_on()).one(DEPLOYMENT).inputs["triggers"]
    after = (
        shared_synthesis(api_on(routes=[{"method": "GET", "path": "/admin", "auth": "AWS_IAM"}]))
        .one(DEPLOYMENT)
        .inputs["triggers"]
    )
    assert before["routes"] != after["routes"]


def test_deployment_waits_for_policy_and_methods_and_stage_uses_it() -> None:
    result = shared_synthesis(api_on(stageName="v1", endpointType="PRIVATE"))
    deployment = result.one(DEPLOYMENT)
    assert result.depends_on(deployment, result.one(REST_API_POLICY))
    for method in result.of_type(METHOD) + result.of_type(INTEGRATION):
        assert result.depends_on(deployment, method), method.name
    stage = result.one(STAGE)
    assert stage.inputs["deployment"] == deployment.outputs["id"]
    assert stage.inputs["stageName"] == "v1"
    assert result.outputs["apiUrl"] == stage.outputs["invokeUrl"]
    assert result.outputs["apiUrl"].endswith("/v1")


def test_stage_access_logs_and_throttling_follow_config() -> None:
    result = shared_synthesis(
        api_on(throttling={"burstLimit": 7, "rateLimit": 3.5}, logRetentionDays=90, accessLogs=True)
    )
    stage = result.one(STAGE)
    component = result.one(IP_API_COMPONENT)
    (log_group,) = [g for g in result.of_type(LOG_GROUP) if g.parent == component.urn]
    assert log_group.inputs["retentionInDays"] == 90
    settings = stage.inputs["accessLogSettings"]
    assert settings["destinationArn"] == log_group.outputs["arn"]
    assert "$context.identity.sourceIp" in json.loads(settings["format"]).values()
    method_settings = result.one(METHOD_SETTINGS)
    assert method_settings.inputs["methodPath"] == "*/*"
    assert method_settings.inputs["stageName"] == stage.outputs["stageName"]
    assert method_settings.inputs["settings"]["throttlingBurstLimit"] == 7
    assert method_settings.inputs["settings"]["throttlingRateLimit"] == 3.5
    assert method_settings.inputs["settings"]["dataTraceEnabled"] is False


def test_access_logs_and_account_cloudwatch_role_are_opt_in() -> None:
    # The default must deploy on an account that never set API Gateway's CloudWatch role.
    default = shared_synthesis(api_on())
    assert "accessLogSettings" not in default.one(STAGE).inputs
    assert not default.of_type(API_ACCOUNT)
    assert not [r for r in default.of_type(ROLE) if "cloudwatch" in r.name]
    opted = shared_synthesis(api_on(accessLogs=True, cloudWatchRole=True))
    account = opted.one(API_ACCOUNT)
    (role,) = [
        r for r in opted.of_type(ROLE) if r.outputs["arn"] == account.inputs["cloudwatchRoleArn"]
    ]
    trust = json.loads(role.inputs["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"] == {"Service": "apigateway.amazonaws.com"}
    assert opted.depends_on(opted.one(STAGE), account)
    no_logs = shared_synthesis(api_on(accessLogs=False, cloudWatchRole=True))
    assert "accessLogSettings" not in no_logs.one(STAGE).inputs
    assert not no_logs.of_type(API_ACCOUNT)


def test_each_function_serves_its_prefix_with_a_scoped_permission() -> None:
    functions = [
        {"name": "web", "handler": "app", "path": "/"},
        {"name": "orders", "handler": "app", "path": "/orders"},
    ]
    result = shared_synthesis({"functions": functions, **api_on(stageName="live")})
    invoke = {
        fn.name.removeprefix("functions-"): fn.outputs["invokeArn"]
        for fn in result.of_type(FUNCTION)
    }
    key_of = {
        (m.inputs["resourceId"], m.inputs["httpMethod"]): key
        for key, m in methods_by_key(result).items()
    }
    uri_of = {
        key_of[(i.inputs["resourceId"], i.inputs["httpMethod"])]: i.inputs["uri"]
        for i in result.of_type(INTEGRATION)
    }
    assert uri_of[("/", "ANY")] == uri_of[("/{proxy+}", "ANY")] == invoke["web"]
    assert uri_of[("/orders", "ANY")] == uri_of[("/orders/{proxy+}", "ANY")] == invoke["orders"]
    execution_arn = result.one(REST_API).outputs["executionArn"]
    permissions = result.of_type(PERMISSION)
    assert len(permissions) == len(functions)
    function_arns = set(result.outputs["functionArns"].values())
    for permission in permissions:
        assert permission.inputs["principal"] == "apigateway.amazonaws.com"
        assert permission.inputs["sourceArn"] == f"{execution_arn}/live/*/*"
        assert permission.inputs["function"] in function_arns


def test_everything_is_a_child_of_the_component() -> None:
    result = shared_synthesis(api_on(endpointType="PRIVATE", accessLogs=True, cloudWatchRole=True))
    component = result.one(IP_API_COMPONENT)
    mine = [
        r
        for r in result.resources
        if r.type.startswith(("aws:apigateway", "aws:lambda/permission"))
        or r.type in (VPC_ENDPOINT, VPC_ENDPOINT_POLICY)
    ]
    assert mine and all(r.parent == component.urn for r in mine)
    assert all(r.name.startswith("ip-api") for r in mine)


# -- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"allow": ["10.0.0.300/8"]}, "ipRestrictedApi.allow[0]: '10.0.0.300/8' is not a CIDR"),
        ({"deny": ["10.0.0.1/8"]}, "ipRestrictedApi.deny[0]: '10.0.0.1/8' has host bits set"),
        (
            {"routes": [{"method": "GET", "path": "/a", "allow": ["2001:db8::/129"]}]},
            "ipRestrictedApi.routes[0].allow[0]: '2001:db8::/129' is not a CIDR",
        ),
        (
            {"routes": [{"method": "FETCH", "path": "/a", "deny": ["192.0.2.0/24"]}]},
            "ipRestrictedApi.routes[0].method: Input should be",
        ),
        (
            {"routes": [{"method": "GET", "path": "index.html", "deny": ["192.0.2.0/24"]}]},
            "ipRestrictedApi.routes[0].path: 'index.html' must start with '/'",
        ),
        (
            {"routes": [{"method": "GET", "path": "/users/{id}", "deny": ["192.0.2.0/24"]}]},
            "ipRestrictedApi.routes[0].path: '/users/{id}' uses a path parameter",
        ),
        (
            {"routes": [{"method": "GET", "path": "/a*/b", "auth": "AWS_IAM"}]},
            "ipRestrictedApi.routes[0].path: '/a*/b': an AWS_IAM route takes whole segments",
        ),
        (
            {"routes": [{"method": "GET", "path": "/a"}]},
            "ipRestrictedApi.routes[0].allow: this route has no allow, no deny and auth NONE",
        ),
        (
            {"routes": [
                {"method": "GET", "path": "/a", "deny": ["192.0.2.0/24"]},
                {"method": "get", "path": "/a", "deny": ["192.0.3.0/24"]},
            ]},
            "ipRestrictedApi.routes: duplicate route (method, path) ('GET', '/a')",
        ),
        ({"endpointType": "EDGE"}, "ipRestrictedApi.endpointType: Input should be"),
        ({"stageName": "my stage"}, "ipRestrictedApi.stageName"),
    ],
)  # fmt: skip
def test_bad_config_is_refused_with_the_key_path(synth_error, options, expected) -> None:
    message = synth_error(api_on(**options))
    assert f"lambda-exposure:{expected}" in message


def test_private_with_existing_network_lacking_private_subnets(synth_error) -> None:
    message = synth_error(
        {
            "network": {
                "vpcId": "vpc-0123456789abcdef0",
                "publicSubnetIds": ["subnet-0123456789abcdef0"],
            },
            **api_on(endpointType="PRIVATE"),
        }
    )
    assert "lambda-exposure:network.privateSubnetIds:" in message
    assert "ipRestrictedApi" in message


def test_route_outside_every_function_is_refused(synth_error) -> None:
    message = synth_error(
        {
            "functions": [{"name": "orders", "handler": "app", "path": "/orders"}],
            **api_on(routes=[{"method": "GET", "path": "/admin", "auth": "AWS_IAM"}]),
        }
    )
    assert "lambda-exposure:ipRestrictedApi.routes[0].path: '/admin' is not served" in message
    assert "/orders" in message
