"""The edge pattern's graph under mocks: CloudFront → AWS_IAM function URLs.

Expected values come from the config passed in, from other resources' (mocked) outputs, or from
the mock's table of AWS-managed CloudFront policy IDs, never from the component's constants.
"""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlparse

import pytest

from tests.graph import (
    BUCKET,
    BUCKET_ENCRYPTION,
    BUCKET_OBJECT,
    BUCKET_OWNERSHIP,
    BUCKET_POLICY,
    BUCKET_PUBLIC_ACCESS_BLOCK,
    DISTRIBUTION,
    EDGE_COMPONENT,
    EDGE_SIGNER_COMPONENT,
    FUNCTION,
    FUNCTION_URL,
    IP_SET,
    OAC,
    PERMISSION,
    ROLE,
    ROLE_POLICY,
    WEB_ACL,
    behaviors,
    permissions,
    policy_of,
)
from tests.samples import EXAMPLES
from tools.synth import _MANAGED_POLICY_IDS, Resource, Synth, load_stack_file

THREE_FUNCTIONS = [
    {"name": "app", "handler": "app", "path": "/"},
    {"name": "api", "handler": "app", "path": "/api"},
    {"name": "apiv2", "handler": "app", "path": "/api/v2"},
]


@pytest.fixture
def synth(synth_shared):
    """No test here patches the program: every graph of this module is a shared synthesis."""
    return synth_shared


# -- helpers -----------------------------------------------------------------------------------


def exposed_functions(s: Synth) -> dict[str, Resource]:
    """Bundled functions by config name (children of ExposedFunctions named functions-<name>)."""
    return {
        r.name.removeprefix("functions-"): r
        for r in s.of_type(FUNCTION)
        if r.name.startswith("functions-") and not r.name.endswith("-logs")
    }


def urls_by_function_name(s: Synth) -> dict[str, Resource]:
    return {r.inputs["functionName"]: r for r in s.of_type(FUNCTION_URL)}


def origin_by_id(dist: Resource) -> dict[str, dict[str, Any]]:
    return {o["originId"]: o for o in dist.inputs["origins"]}


def function_origins(s: Synth, dist: Resource) -> dict[str, dict[str, Any]]:
    """Config function name → the origin whose domain is that function's URL host."""
    by_host = {o["domainName"]: o for o in dist.inputs["origins"]}
    urls = urls_by_function_name(s)
    result = {}
    for name, fn in exposed_functions(s).items():
        url = urls[fn.outputs["name"]].outputs["functionUrl"]
        result[name] = by_host[urlparse(url).hostname]
    return result


def api_behaviors(s: Synth, dist: Resource) -> list[dict[str, Any]]:
    ids = {o["originId"] for o in function_origins(s, dist).values()}
    return [b for b in behaviors(dist) if b["targetOriginId"] in ids]


def under_component(s: Synth, resource: Resource, component_type: str) -> bool:
    by_urn = {r.urn: r for r in s.resources}  # the root Stack is not among them
    parent = resource.parent
    while parent in by_urn:
        owner = by_urn[parent]
        if owner.type == component_type:
            return True
        parent = owner.parent
    return False


# -- signing: oac (default) -----------------------------------------------------------------------


def test_function_urls_are_aws_iam_for_every_function(synth):
    s = synth({"functions": THREE_FUNCTIONS, "edge": {"enabled": True}})
    functions = exposed_functions(s)
    urls = urls_by_function_name(s)
    assert set(urls) == {fn.outputs["name"] for fn in functions.values()}
    for url in urls.values():
        assert url.inputs["authorizationType"] == "AWS_IAM"
        assert url.inputs["region"] == s.region
        assert "cors" not in url.inputs
    assert s.outputs["functionUrls"] == {
        name: urls[fn.outputs["name"]].outputs["functionUrl"] for name, fn in functions.items()
    }


def test_oac_of_type_lambda_signs_every_function_origin(synth):
    s = synth({"functions": THREE_FUNCTIONS, "edge": {"enabled": True}})
    oac = s.one(OAC)
    assert oac.inputs["originAccessControlOriginType"] == "lambda"
    assert oac.inputs["signingBehavior"] == "always"
    assert oac.inputs["signingProtocol"] == "sigv4"
    dist = s.one(DISTRIBUTION)
    origins = function_origins(s, dist)
    assert len(origins) == len(THREE_FUNCTIONS)
    for origin in origins.values():
        assert origin["originAccessControlId"] == oac.outputs["id"]
        assert origin["customOriginConfig"]["originProtocolPolicy"] == "https-only"
        assert origin["customOriginConfig"]["originSslProtocols"] == ["TLSv1.2"]


def test_oac_permissions_cover_both_actions_scoped_to_this_distribution(synth):
    s = synth({"functions": THREE_FUNCTIONS, "edge": {"enabled": True}})
    dist_arn = s.one(DISTRIBUTION).outputs["arn"]
    for fn in exposed_functions(s).values():
        mine = permissions(s, function=fn.outputs["name"])
        by_action = {p.inputs["action"]: p for p in mine}
        assert set(by_action) == {"lambda:InvokeFunctionUrl", "lambda:InvokeFunction"}
        assert len(mine) == 2
        for p in mine:
            assert p.inputs["principal"] == "cloudfront.amazonaws.com"
            assert p.inputs["sourceArn"] == dist_arn
            assert p.inputs["region"] == s.region
        assert by_action["lambda:InvokeFunctionUrl"].inputs["functionUrlAuthType"] == "AWS_IAM"
        invoke = by_action["lambda:InvokeFunction"].inputs
        assert invoke["invokedViaFunctionUrl"] is True
        assert "functionUrlAuthType" not in invoke


def test_api_behaviors_forward_no_host_cache_nothing_and_allow_all_methods(synth):
    s = synth({"functions": THREE_FUNCTIONS, "edge": {"enabled": True}})
    dist = s.one(DISTRIBUTION)
    api = api_behaviors(s, dist)
    assert len(api) == len(behaviors(dist)) == 1 + 2 * (len(THREE_FUNCTIONS) - 1)
    for b in api:
        assert (
            b["originRequestPolicyId"] == _MANAGED_POLICY_IDS["Managed-AllViewerExceptHostHeader"]
        )
        assert b["cachePolicyId"] == _MANAGED_POLICY_IDS["Managed-CachingDisabled"]
        assert b["responseHeadersPolicyId"] == _MANAGED_POLICY_IDS["Managed-SecurityHeadersPolicy"]
        assert b["viewerProtocolPolicy"] == "redirect-to-https"
        assert set(b["allowedMethods"]) == {
            "GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"
        }  # fmt: skip
        assert "lambdaFunctionAssociations" not in b  # OAC signs; nothing runs at the edge


def test_one_behavior_pair_per_function_path_deepest_first(synth):
    s = synth({"functions": THREE_FUNCTIONS, "edge": {"enabled": True}})
    dist = s.one(DISTRIBUTION)
    origins = function_origins(s, dist)
    root = next(f for f in THREE_FUNCTIONS if f["path"] == "/")
    assert (
        dist.inputs["defaultCacheBehavior"]["targetOriginId"] == origins[root["name"]]["originId"]
    )
    ordered = dist.inputs["orderedCacheBehaviors"]
    routed = [f for f in THREE_FUNCTIONS if f["path"] != "/"]
    expected = {
        pattern: origins[f["name"]]["originId"]
        for f in routed
        for pattern in (f["path"], f"{f['path']}/*")
    }
    assert {b["pathPattern"]: b["targetOriginId"] for b in ordered} == expected
    patterns = [b["pathPattern"] for b in ordered]
    # /api/v2/* must be matched before /api/* swallows it.
    assert patterns.index("/api/v2/*") < patterns.index("/api/*")
    assert patterns.index("/api/v2") < patterns.index("/api/*")


def test_origin_domain_is_the_function_url_host(synth):
    s = synth({"edge": {"enabled": True}})
    dist = s.one(DISTRIBUTION)
    url = s.one(FUNCTION_URL).outputs["functionUrl"]
    (origin,) = dist.inputs["origins"]
    assert url.startswith("https://") and url.endswith("/")
    assert origin["domainName"] == url.removeprefix("https://").rstrip("/")


def test_distribution_defaults_and_edge_url_output(synth):
    s = synth({"edge": {"enabled": True, "priceClass": "PriceClass_200"}})
    dist = s.one(DISTRIBUTION)
    assert dist.inputs["enabled"] is True
    assert dist.inputs["httpVersion"] == "http2and3"
    assert dist.inputs["isIpv6Enabled"] is True
    assert dist.inputs["priceClass"] == "PriceClass_200"
    assert dist.inputs["viewerCertificate"] == {"cloudfrontDefaultCertificate": True}
    assert "webAclId" not in dist.inputs
    assert "defaultRootObject" not in dist.inputs
    assert s.outputs["edgeUrl"] == f"https://{dist.outputs['domainName']}/"
    assert not s.of_type(WEB_ACL) and not s.of_type(BUCKET)


def test_without_a_root_function_the_first_function_is_the_default(synth):
    functions = [
        {"name": "first", "handler": "app", "path": "/first"},
        {"name": "second", "handler": "app", "path": "/second"},
    ]
    s = synth({"functions": functions, "edge": {"enabled": True}})
    dist = s.one(DISTRIBUTION)
    origins = function_origins(s, dist)
    assert dist.inputs["defaultCacheBehavior"]["targetOriginId"] == origins["first"]["originId"]
    assert len(dist.inputs["orderedCacheBehaviors"]) == 4


def test_cors_comes_from_config(synth):
    cors = {
        "allowOrigins": ["https://app.example.com"],
        "allowMethods": ["get", "POST"],
        "allowHeaders": ["content-type"],
        "maxAge": 600,
    }
    s = synth({"edge": {"enabled": True, "cors": cors}})
    got = s.one(FUNCTION_URL).inputs["cors"]
    assert got["allowOrigins"] == cors["allowOrigins"]
    assert got["allowMethods"] == [m.upper() for m in cors["allowMethods"]]
    assert got["allowHeaders"] == cors["allowHeaders"]
    assert got["maxAge"] == cors["maxAge"]
    assert got["allowCredentials"] is False


def test_every_edge_resource_is_inside_the_component(synth):
    s = synth({"functions": THREE_FUNCTIONS, "edge": {"enabled": True, "staticSite": False}})
    edge_types = {FUNCTION_URL, OAC, PERMISSION, DISTRIBUTION}
    for r in s.resources:
        if r.type in edge_types:
            assert under_component(s, r, EDGE_COMPONENT), r.name
            assert r.name.startswith("edge-")


def test_edge_disabled_registers_nothing_of_it(synth):
    s = synth({"edge": {"enabled": False, "signing": "lambda-edge", "staticSite": True}})
    assert not [r for r in s.resources if r.type == EDGE_COMPONENT or r.type == DISTRIBUTION]
    assert "edgeUrl" not in s.outputs and "functionUrls" not in s.outputs


# -- signing: lambda-edge ------------------------------------------------------------------------


def signer_function(s: Synth) -> Resource:
    (fn,) = [r for r in s.of_type(FUNCTION) if under_component(s, r, EDGE_SIGNER_COMPONENT)]
    return fn


def test_signer_is_a_published_us_east_1_function_without_env_or_layers(synth):
    s = synth({"functions": THREE_FUNCTIONS, "edge": {"enabled": True, "signing": "lambda-edge"}})
    fn = signer_function(s)
    assert s.region != "us-east-1"  # the stack is elsewhere; only the signer moves
    assert fn.inputs["region"] == "us-east-1"
    assert fn.inputs["publish"] is True
    assert fn.inputs["handler"] == "edge_signer.handler"
    assert not fn.inputs.get("environment")
    assert not fn.inputs.get("layers")
    assert fn.inputs["architectures"] == ["x86_64"]
    assert fn.inputs["timeout"] <= 30  # origin-request limit
    assert set(fn.inputs["code"].assets) == {"edge_signer.py"}
    assert fn.retain_on_delete is True  # retainEdgeFunction defaults to true
    for r in exposed_functions(s).values():
        assert r.inputs.get("region") in (None, s.region)


def test_retain_edge_function_false_lets_destroy_delete_it(synth):
    s = synth({"edge": {"enabled": True, "signing": "lambda-edge", "retainEdgeFunction": False}})
    assert signer_function(s).retain_on_delete is False


def test_every_api_behavior_runs_the_published_version_with_the_body(synth):
    s = synth({"functions": THREE_FUNCTIONS, "edge": {"enabled": True, "signing": "lambda-edge"}})
    fn = signer_function(s)
    qualified = fn.outputs["qualifiedArn"]
    assert qualified == f"{fn.outputs['arn']}:{fn.outputs['version']}"
    assert fn.outputs["version"] != "$LATEST"
    dist = s.one(DISTRIBUTION)
    api = api_behaviors(s, dist)
    assert len(api) == len(behaviors(dist))
    for b in api:
        assert b["lambdaFunctionAssociations"] == [
            {"eventType": "origin-request", "lambdaArn": qualified, "includeBody": True}
        ]
        assert (
            b["originRequestPolicyId"] == _MANAGED_POLICY_IDS["Managed-AllViewerExceptHostHeader"]
        )


def test_signer_role_is_trusted_by_lambda_and_edgelambda(synth):
    s = synth({"edge": {"enabled": True, "signing": "lambda-edge"}})
    fn = signer_function(s)
    role = next(r for r in s.of_type(ROLE) if r.outputs["arn"] == fn.inputs["role"])
    (statement,) = policy_of(role.inputs, "assumeRolePolicy")["Statement"]
    assert statement["Action"] == "sts:AssumeRole"
    assert set(statement["Principal"]["Service"]) == {
        "lambda.amazonaws.com",
        "edgelambda.amazonaws.com",
    }


def signer_policies(s: Synth) -> list[dict[str, Any]]:
    fn = signer_function(s)
    role = next(r for r in s.of_type(ROLE) if r.outputs["arn"] == fn.inputs["role"])
    attached = [p for p in s.of_type(ROLE_POLICY) if p.inputs["role"] == role.outputs["id"]]
    return [policy_of(p.inputs) for p in attached]


def test_signer_may_invoke_exactly_the_exposed_functions_through_their_urls_only(synth):
    s = synth({"functions": THREE_FUNCTIONS, "edge": {"enabled": True, "signing": "lambda-edge"}})
    statements = [st for p in signer_policies(s) for st in p["Statement"]]

    def actions(st: dict[str, Any]) -> list[str]:
        return [st["Action"]] if isinstance(st["Action"], str) else st["Action"]

    invoke = [st for st in statements if any(a.startswith("lambda:") for a in actions(st))]
    assert all(st["Effect"] == "Allow" for st in invoke)
    by_action = {a: st for st in invoke for a in actions(st)}
    assert set(by_action) == {"lambda:InvokeFunctionUrl", "lambda:InvokeFunction"}
    expected = {r.outputs["arn"] for r in exposed_functions(s).values()}
    for st in invoke:
        assert set(st["Resource"]) == expected
    # Without the condition the signer's credentials could call the Invoke API directly,
    # around CloudFront and its WAF (issue 12.4); the OAC permissions carry the same limit.
    assert by_action["lambda:InvokeFunction"]["Condition"] == {
        "Bool": {"lambda:InvokedViaFunctionUrl": "true"}
    }
    assert actions(by_action["lambda:InvokeFunction"]) == ["lambda:InvokeFunction"]
    for st in statements:
        assert "*" not in actions(st) and st["Resource"] != "*"


def test_signer_logs_only_to_its_own_edge_log_groups(synth):
    s = synth({"edge": {"enabled": True, "signing": "lambda-edge"}})
    fn = signer_function(s)
    account = fn.outputs["arn"].split(":")[4]
    statements = [st for p in signer_policies(s) for st in p["Statement"]]
    (logs,) = [st for st in statements if all(a.startswith("logs:") for a in st["Action"])]
    group = f"log-group:/aws/lambda/us-east-1.{fn.outputs['name']}"
    for resource in logs["Resource"]:
        parts = resource.split(":")
        assert parts[3] == "*"  # replicas log in whichever region served the viewer
        assert parts[4] == account
        assert resource.split(f":{account}:", 1)[1] in (group, f"{group}:*")


def test_lambda_edge_has_no_oac_and_no_cloudfront_permissions(synth):
    s = synth({"functions": THREE_FUNCTIONS, "edge": {"enabled": True, "signing": "lambda-edge"}})
    assert not s.of_type(OAC)
    assert not [p for p in s.of_type(PERMISSION) if p.inputs["principal"].startswith("cloudfront")]
    dist = s.one(DISTRIBUTION)
    for origin in function_origins(s, dist).values():
        assert "originAccessControlId" not in origin
    for url in s.of_type(FUNCTION_URL):
        assert url.inputs["authorizationType"] == "AWS_IAM"


def test_distribution_waits_for_the_signer_policies(synth):
    s = synth({"edge": {"enabled": True, "signing": "lambda-edge"}})
    dist = s.one(DISTRIBUTION)
    policies = [p for p in s.of_type(ROLE_POLICY) if under_component(s, p, EDGE_SIGNER_COMPONENT)]
    assert len(policies) == 2
    for p in policies:
        assert s.depends_on(dist, p)


# -- staticSite ----------------------------------------------------------------------------------

SITE_FUNCTIONS = [
    {"name": "api", "handler": "app", "path": "/api"},
    {"name": "books", "handler": "app", "path": "/books"},
]


def site(synth: Any) -> Synth:
    return synth({"functions": SITE_FUNCTIONS, "edge": {"enabled": True, "staticSite": True}})


def test_site_bucket_is_private_owner_enforced_and_encrypted(synth):
    s = site(synth)
    bucket = s.one(BUCKET)
    name = bucket.outputs["bucket"]
    pab = s.one(BUCKET_PUBLIC_ACCESS_BLOCK).inputs
    assert pab["bucket"] == name
    for flag in (
        "blockPublicAcls",
        "blockPublicPolicy",
        "ignorePublicAcls",
        "restrictPublicBuckets",
    ):
        assert pab[flag] is True
    ownership = s.one(BUCKET_OWNERSHIP).inputs
    assert ownership["bucket"] == name
    assert ownership["rule"]["objectOwnership"] == "BucketOwnerEnforced"
    sse = s.one(BUCKET_ENCRYPTION).inputs
    assert sse["bucket"] == name
    (rule,) = sse["rules"]
    assert rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"] in ("AES256", "aws:kms")
    assert "acl" not in bucket.inputs and "policy" not in bucket.inputs


def test_only_this_distribution_may_read_the_bucket(synth):
    s = site(synth)
    bucket = s.one(BUCKET)
    dist = s.one(DISTRIBUTION)
    policy_resource = s.one(BUCKET_POLICY)
    assert policy_resource.inputs["bucket"] == bucket.outputs["bucket"]
    statements = policy_of(policy_resource.inputs)["Statement"]
    allows = [st for st in statements if st["Effect"] == "Allow"]
    assert allows == [
        {
            "Sid": allows[0]["Sid"],
            "Effect": "Allow",
            "Principal": {"Service": "cloudfront.amazonaws.com"},
            "Action": "s3:GetObject",
            "Resource": f"{bucket.outputs['arn']}/*",
            "Condition": {"StringEquals": {"AWS:SourceArn": dist.outputs["arn"]}},
        }
    ]
    denies = [st for st in statements if st["Effect"] == "Deny"]
    assert any(st["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for st in denies)
    # The policy follows the public access block (S3 rejects concurrent bucket changes).
    pab = s.one(BUCKET_PUBLIC_ACCESS_BLOCK)
    assert s.depends_on(policy_resource, pab)


def test_site_is_the_default_behavior_through_an_s3_oac(synth):
    s = site(synth)
    bucket = s.one(BUCKET)
    dist = s.one(DISTRIBUTION)
    oacs = {r.inputs["originAccessControlOriginType"]: r for r in s.of_type(OAC)}
    assert set(oacs) == {"s3", "lambda"}
    origins = origin_by_id(dist)
    default = dist.inputs["defaultCacheBehavior"]
    site_origin = origins[default["targetOriginId"]]
    assert site_origin["domainName"] == bucket.outputs["bucketRegionalDomainName"]
    assert site_origin["originAccessControlId"] == oacs["s3"].outputs["id"]
    assert "customOriginConfig" not in site_origin
    assert set(default["allowedMethods"]) == {"GET", "HEAD", "OPTIONS"}
    assert default["viewerProtocolPolicy"] == "redirect-to-https"
    assert default["cachePolicyId"] == _MANAGED_POLICY_IDS["Managed-CachingOptimized"]
    assert dist.inputs["defaultRootObject"] == "index.html"
    # Every function keeps its behavior pair, signed by the lambda OAC.
    routed = {b["pathPattern"] for b in dist.inputs["orderedCacheBehaviors"]}
    assert routed == {p for f in SITE_FUNCTIONS for p in (f["path"], f"{f['path']}/*")}
    for origin in function_origins(s, dist).values():
        assert origin["originAccessControlId"] == oacs["lambda"].outputs["id"]


def test_site_page_is_uploaded_with_the_configured_api_paths(synth):
    s = site(synth)
    bucket = s.one(BUCKET)
    page = s.one(BUCKET_OBJECT).inputs
    assert page["bucket"] == bucket.outputs["bucket"]
    assert page["key"] == s.one(DISTRIBUTION).inputs["defaultRootObject"]
    assert page["contentType"].startswith("text/html")
    for f in SITE_FUNCTIONS:
        assert f'"path": "{f["path"]}"' in page["content"]
    assert "fetch(" in page["content"] and "x-amz-content-sha256" in page["content"]


def test_site_with_a_function_at_root_is_refused(synth_error):
    message = synth_error({"edge": {"enabled": True, "staticSite": True}})
    assert "lambda-exposure:functions[0].path:" in message
    assert "staticSite" in message


# -- allowedCidrs → WAF ---------------------------------------------------------------------------


def test_allowed_cidrs_make_a_cloudfront_web_acl_in_us_east_1(synth):
    cidrs = ["198.51.100.0/24", "203.0.113.7/32"]
    s = synth({"edge": {"enabled": True, "allowedCidrs": cidrs, "rateLimit": 500}})
    (ip_set,) = s.of_type(IP_SET)
    assert ip_set.inputs["scope"] == "CLOUDFRONT"
    assert ip_set.inputs["region"] == "us-east-1"
    assert ip_set.inputs["ipAddressVersion"] == "IPV4"
    assert sorted(ip_set.inputs["addresses"]) == sorted(cidrs)
    acl = s.one(WEB_ACL)
    assert acl.inputs["scope"] == "CLOUDFRONT"
    assert acl.inputs["region"] == "us-east-1"
    assert "block" in acl.inputs["defaultAction"] and "allow" not in acl.inputs["defaultAction"]
    rules = sorted(acl.inputs["rules"], key=lambda r: r["priority"])
    rate, allow = rules
    # Rate limit first: an allow ends evaluation, so a later rate rule would never apply.
    assert "block" in rate["action"]
    assert rate["statement"]["rateBasedStatement"]["limit"] == 500
    assert rate["statement"]["rateBasedStatement"]["aggregateKeyType"] == "IP"
    assert "allow" in allow["action"]
    assert allow["statement"] == {"ipSetReferenceStatement": {"arn": ip_set.outputs["arn"]}}
    assert s.one(DISTRIBUTION).inputs["webAclId"] == acl.outputs["arn"]


def test_mixed_families_get_one_ip_set_each(synth):
    cidrs = ["198.51.100.0/24", "2001:db8::/32"]
    s = synth({"edge": {"enabled": True, "allowedCidrs": cidrs}})
    sets = {r.inputs["ipAddressVersion"]: r for r in s.of_type(IP_SET)}
    assert set(sets) == {"IPV4", "IPV6"}
    for version, ip_set in sets.items():
        family = 4 if version == "IPV4" else 6
        assert ip_set.inputs["addresses"] == [
            c for c in cidrs if ipaddress.ip_network(c).version == family
        ]
    allow = next(r for r in s.one(WEB_ACL).inputs["rules"] if "allow" in r["action"])
    referenced = {
        st["ipSetReferenceStatement"]["arn"]
        for st in allow["statement"]["orStatement"]["statements"]
    }
    assert referenced == {r.outputs["arn"] for r in sets.values()}


# -- config errors -------------------------------------------------------------------------------


def test_existing_function_is_refused_before_anything_is_created(synth_error):
    arn = "arn:aws:lambda:eu-west-1:210987654321:function:theirs"
    message = synth_error(
        {
            "functions": [
                {"name": "app", "handler": "app"},
                {"name": "theirs", "arn": arn, "path": "/theirs"},
            ],
            "edge": {"enabled": True},
        }
    )
    assert "lambda-exposure:functions[1].arn:" in message
    assert "'theirs'" in message


@pytest.mark.parametrize(
    ("edge", "path", "fragment"),
    [
        ({"signing": "sigv4"}, "edge.signing", "sigv4"),
        ({"allowedCidrs": ["10.0.0.300/8"]}, "edge.allowedCidrs[0]", "is not a CIDR"),
        ({"priceClass": "PriceClass_1"}, "edge.priceClass", "PriceClass_1"),
        ({"rateLimit": 5}, "edge.rateLimit", "10"),
        ({"cors": {"allowMethods": ["TRACE"]}}, "edge.cors.allowMethods[0]", "TRACE"),
        (
            {"cors": {"allowOrigins": ["https://a.example/x"]}},
            "edge.cors.allowOrigins[0]",
            "origin",
        ),
        (
            {"cors": {"allowOrigins": ["*"], "allowCredentials": True}},
            "edge.cors.allowOrigins",
            "credentials",
        ),
        ({"signer": "oac"}, "edge.signer", "did you mean 'signing'"),
    ],
)
def test_bad_edge_config_names_the_key(synth_error, edge, path, fragment):
    message = synth_error({"edge": {"enabled": True, **edge}})
    assert f"lambda-exposure:{path}:" in message
    assert fragment in message


# -- examples ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("example", "signing", "static_site"),
    [
        ("edge-oac.yaml", "oac", False),
        ("edge-lambda-edge.yaml", "lambda-edge", False),
        ("edge-static-site.yaml", "oac", True),
    ],
)
def test_examples_synthesize_the_edge_pattern(synth, example, signing, static_site):
    config = load_stack_file(EXAMPLES / example)
    edge = config["lambda-exposure:edge"]
    assert edge["enabled"] is True
    s = synth(config)
    assert s.of_type(EDGE_COMPONENT)
    dist = s.one(DISTRIBUTION)
    assert s.outputs["edgeUrl"] == f"https://{dist.outputs['domainName']}/"
    assert bool(s.of_type(EDGE_SIGNER_COMPONENT)) == (signing == "lambda-edge")
    assert bool(s.of_type(OAC)) == (signing == "oac" or static_site)
    assert bool(s.of_type(BUCKET)) == static_site
    assert bool(s.of_type(WEB_ACL)) == bool(edge.get("allowedCidrs"))
