"""functions[].expose, the exposure model, its consistency rule and the ``exposure`` output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from components import static_ip
from components.config import parse_config
from components.exposure import NLB_HEALTH_PATH, NetSet, Sources, exposure_model
from tests.exposure_eval import GraphExposure
from tools.synth import load_stack_file

ROOT = Path(__file__).resolve().parent.parent

# Pulumi.dev.yaml as it was before functions[].expose: /admin limited on the API only.
OLD_DEV_STACK: dict[str, Any] = {
    "functions": [{"name": "app", "handler": "app", "path": "/"}],
    "network": {"cidr": "10.20.0.0/16", "azCount": 2},
    "staticIp": {"enabled": True, "entry": "global-accelerator"},
    "ipRestrictedApi": {
        "enabled": True,
        "routes": [{"method": "ANY", "path": "/admin", "allow": ["203.0.113.0/24"]}],
    },
    "edge": {"enabled": True, "signing": "oac"},
    "ipRangeSync": {
        "enabled": True,
        "services": ["CLOUDFRONT"],
        "regions": [],
        "targets": ["prefixList"],
    },
}


def two_functions(**by_name: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"name": "app", "handler": "app", "path": "/", **by_name.get("app", {})},
        {"name": "api", "handler": "app", "path": "/api", **by_name.get("api", {})},
    ]


def model_of(config: dict[str, Any]):
    return exposure_model(parse_config(config, "eu-west-1"))


# -- the dev stack ---------------------------------------------------------------------------


def test_the_old_dev_stack_stops_naming_the_route_and_the_entries_that_widen_it(synth_error):
    message = synth_error(OLD_DEV_STACK)
    assert "lambda-exposure:ipRestrictedApi.routes[0]: ANY /admin admits only 203.0.113.0/24" in (
        message
    )
    assert "lambda-exposure:staticIp admits 0.0.0.0/0 on /admin through function app" in message
    assert "lambda-exposure:edge admits 0.0.0.0/0, ::/0 on /admin through function app" in message
    # The three ways out, with the exact keys.
    assert "narrow lambda-exposure:functions[0].expose (to [ipRestrictedApi])" in message
    assert "give staticIp.allowedCidrs / edge.allowedCidrs the same allow-list" in message
    assert "set lambda-exposure:functions[0].widerExposure: [staticIp, edge]" in message
    assert len(message.splitlines()) == 2  # "invalid stack config:" and the one line


def test_the_fixed_dev_stack_shows_what_its_comments_promise(synth):
    result = synth(load_stack_file(ROOT / "Pulumi.dev.yaml"))
    rows = result.outputs["exposure"]
    admin = [r for r in rows if r["function"] == "admin"]
    # "/admin ... is its own function, served by the API only" and "only the listed range".
    assert [(r["entry"], r["sources"], r["auth"].split(":")[0]) for r in admin] == [
        ("ipRestrictedApi", "203.0.113.0/24", "none"),
        ("invokeApi", "anyone", "IAM"),
    ]
    app = {(r["entry"], r["sources"]) for r in rows if r["function"] == "app"}
    # "The whoami app, open to anyone through every entry".
    assert {("staticIp", "any IPv4"), ("ipRestrictedApi", "any IPv4"), ("edge", "anyone")} <= app
    # "CloudFront is the only anonymous way to the function URL".
    (url,) = [r for r in rows if r["entry"] == "functionUrl"]
    assert url["auth"].startswith("IAM") and url["url"] == result.outputs["functionUrls"]["app"]
    # And the graph agrees: nobody outside the range reaches the admin function anonymously.
    graph = GraphExposure(result)
    for path in ("/admin", "/admin/", "/admin/users"):
        assert graph.api("admin", path, "DELETE", "203.0.113.20")
        for entry in ("staticIp", "ipRestrictedApi", "edge"):
            assert not graph.anonymous("admin", entry, path, "DELETE", "192.0.2.1")


def test_exposure_output_fills_each_url_from_the_stack_outputs(synth):
    result = synth(load_stack_file(ROOT / "Pulumi.dev.yaml"))
    outputs = result.outputs
    expected = {
        "staticIp": outputs["staticIpUrls"],
        "ipRestrictedApi": outputs["apiUrl"],
        "edge": outputs["edgeUrl"],
    }
    for row in outputs["exposure"]:
        if row["entry"] in expected:
            assert row["url"] == expected[row["entry"]], row
        elif row["entry"] == "invokeApi":
            assert row["url"] == outputs["functionArns"][row["function"]]
        assert set(row) >= {"function", "entry", "paths", "url", "sources", "auth", "via"}


def test_a_stack_without_entries_exports_no_exposure(synth):
    assert "exposure" not in synth({"staticEgress": {"enabled": True}}).outputs


# -- functions[].expose -------------------------------------------------------------------------


def test_each_component_receives_only_the_functions_it_exposes(synth):
    result = synth(
        {
            "functions": two_functions(app={"expose": ["edge"]}, api={"expose": ["staticIp"]}),
            "staticIp": {"enabled": True},
            "edge": {"enabled": True},
        }
    )
    urls = {r.name for r in result.of_type("aws:lambda/functionUrl:FunctionUrl")}
    assert urls == {"edge-app-url"}
    groups = {r.name for r in result.of_type("aws:lambda/permission:Permission")}
    assert "static-ip-invoke-api" in groups and "static-ip-invoke-app" not in groups
    assert "edge-api-cf-invoke-url" not in groups
    # Both functions still exist: ExposedFunctions builds every function.
    assert set(result.outputs["functionArns"]) == {"app", "api"}


def test_private_endpoint_policy_lists_only_its_functions(synth):
    result = synth(
        {
            "functions": two_functions(app={"expose": ["edge"]}),
            "edge": {"enabled": True},
            "privateEndpoint": {"enabled": True},
        }
    )
    endpoint = result.one("aws:ec2/vpcEndpoint:VpcEndpoint")
    resources = json.loads(endpoint.inputs["policy"])["Statement"][0]["Resource"]
    arns = result.outputs["functionArns"]
    assert resources == [arns["api"], f"{arns['api']}:*"]


def test_default_expose_is_every_enabled_entry():
    model = model_of({"staticIp": {"enabled": True}, "edge": {"enabled": True}})
    assert [d.entry for d in model.for_function("app")] == [
        "staticIp",
        "internalAlb",
        "edge",
        "functionUrl",
        "invokeApi",
    ]


@pytest.mark.parametrize(
    ("config", "key", "words"),
    [
        (
            {
                "functions": two_functions(api={"expose": ["edge", "staticIP"]}),
                "edge": {"enabled": True},
            },
            "lambda-exposure:functions[1].expose[1]:",
            "'staticIP' is not an entry (did you mean 'staticIp'?)",
        ),
        (
            {"functions": two_functions(api={"expose": []}), "edge": {"enabled": True}},
            "lambda-exposure:functions[1].expose:",
            "an empty list serves the function through no entry",
        ),
        (
            {"functions": two_functions(api={"expose": ["staticIp"]}), "edge": {"enabled": True}},
            "lambda-exposure:functions[1].expose[0]:",
            "staticIp is not enabled in this stack",
        ),
        (
            {
                "functions": two_functions(api={"expose": ["edge", "edge"]}),
                "edge": {"enabled": True},
            },
            "lambda-exposure:functions[1].expose:",
            "duplicate entry 'edge'",
        ),
        (
            {
                "functions": [
                    {"name": "app", "handler": "app", "path": "/"},
                    {
                        "name": "far",
                        "arn": "arn:aws:lambda:us-east-1:111122223333:function:far",
                        "path": "/far",
                        "expose": ["privateEndpoint"],
                    },
                ],
                "privateEndpoint": {"enabled": True},
            },
            "lambda-exposure:functions[1].expose[0]:",
            "privateEndpoint serves the Lambda API of eu-west-1; function 'far' is in us-east-1",
        ),
        (
            {
                "functions": two_functions(app={"expose": ["edge"]}, api={"expose": ["edge"]}),
                "edge": {"enabled": True},
                "staticIp": {"enabled": True},
            },
            "lambda-exposure:staticIp:",
            "enabled, but no function is exposed through it",
        ),
        (
            {
                "functions": two_functions(api={"expose": ["edge"], "widerExposure": ["staticIp"]}),
                "edge": {"enabled": True},
                "staticIp": {"enabled": True},
            },
            "lambda-exposure:functions[1].widerExposure[0]:",
            "staticIp does not serve function 'api'",
        ),
        (
            {
                "functions": two_functions(app={"widerExposure": ["privateEndpoint"]}),
                "privateEndpoint": {"enabled": True},
            },
            "lambda-exposure:functions[0].widerExposure[0]:",
            "privateEndpoint admits IAM principals only",
        ),
    ],
)
def test_bad_expose_is_one_message_naming_the_key(synth_error, config, key, words):
    message = synth_error(config)
    assert key in message and words in message, message


def test_cross_checks_consider_only_the_functions_an_entry_exposes(synth, synth_error):
    existing = {"name": "old", "arn": "arn:aws:lambda:us-east-1:111122223333:function:old"}
    # An existing function can sit next to edge (which would add a function URL to it) and
    # next to a staticIp ALB of another region, as long as neither exposes it.
    config = {
        "functions": [
            {"name": "app", "handler": "app", "path": "/"},
            {**existing, "path": "/old", "expose": ["ipRestrictedApi"]},
        ],
        "edge": {"enabled": True},
        "staticIp": {"enabled": True},
        "ipRestrictedApi": {"enabled": True},
    }
    result = synth(config)
    assert {r.name for r in result.of_type("aws:lambda/functionUrl:FunctionUrl")} == {
        "edge-app-url"
    }
    config["functions"][1]["expose"] = ["edge", "ipRestrictedApi"]
    assert "lambda-exposure:functions[1].arn: edge adds" in synth_error(config)
    config["functions"][1]["expose"] = ["staticIp"]
    assert "lambda-exposure:functions[1].arn: staticIp's ALB" in synth_error(config)
    # An API route must be served by a function the API exposes: the root function is
    # CloudFront's only, so /other routes nowhere on the API.
    routed = {
        "functions": two_functions(app={"expose": ["edge"]}, api={"expose": ["ipRestrictedApi"]}),
        "edge": {"enabled": True},
        "ipRestrictedApi": {
            "enabled": True,
            "routes": [{"method": "GET", "path": "/other", "auth": "AWS_IAM"}],
        },
    }
    message = synth_error(routed)
    assert "lambda-exposure:ipRestrictedApi.routes[0].path: '/other' is not served" in message
    assert "(function paths: /api)" in message


# -- the consistency rule ------------------------------------------------------------------------


def test_an_iam_route_is_widened_by_an_open_entry_on_the_same_path(synth_error):
    message = synth_error(
        {
            "ipRestrictedApi": {
                "enabled": True,
                "routes": [{"method": "ANY", "path": "/admin/*", "auth": "AWS_IAM"}],
            },
            "edge": {"enabled": True},
        }
    )
    assert (
        "lambda-exposure:ipRestrictedApi.routes[0]: ANY /admin/* is AWS_IAM (no anonymous caller)"
        in message
    )
    assert "lambda-exposure:edge admits 0.0.0.0/0, ::/0 on /admin/" in message


def test_an_entry_allow_list_is_widened_by_another_entry(synth_error):
    message = synth_error(
        {
            "staticIp": {"enabled": True, "allowedCidrs": ["203.0.113.0/24"]},
            "edge": {"enabled": True},
        }
    )
    assert "lambda-exposure:staticIp.allowedCidrs: staticIp admits only 203.0.113.0/24" in message
    assert "lambda-exposure:edge admits 0.0.0.0/0, ::/0 on / through function app" in message


def test_the_same_allow_list_everywhere_is_consistent(synth):
    cidrs = ["203.0.113.0/24"]
    result = synth(
        {
            "staticIp": {"enabled": True, "allowedCidrs": cidrs},
            "ipRestrictedApi": {"enabled": True, "allow": cidrs},
            "edge": {"enabled": True, "allowedCidrs": cidrs},
        }
    )
    anonymous = [r for r in result.outputs["exposure"] if not r["auth"].startswith("IAM")]
    assert {r["sources"] for r in anonymous} == {"203.0.113.0/24"}


def test_a_narrower_deny_on_one_entry_is_widened_by_the_others(synth_error):
    message = synth_error(
        {
            "ipRestrictedApi": {
                "enabled": True,
                "allow": ["203.0.113.0/24"],
                "deny": ["203.0.113.7/32"],
            },
            "staticIp": {"enabled": True, "allowedCidrs": ["203.0.113.0/24"]},
        }
    )
    assert "lambda-exposure:ipRestrictedApi.deny:" in message
    assert "lambda-exposure:staticIp admits 203.0.113.0/24 on / through function app" in message


def test_wider_exposure_accepts_the_widening_and_the_table_says_so(synth):
    config = dict(OLD_DEV_STACK)
    config["functions"] = [
        {"name": "app", "handler": "app", "path": "/", "widerExposure": ["staticIp", "edge"]}
    ]
    rows = synth(config).outputs["exposure"]
    marked = {r["entry"] for r in rows if r.get("widerExposure") == "intended"}
    assert marked == {"staticIp", "edge"}


def test_narrowing_expose_is_the_other_way_out(synth):
    config = dict(OLD_DEV_STACK)
    config["functions"] = [
        {"name": "app", "handler": "app", "path": "/", "expose": ["staticIp", "edge"]},
        {"name": "admin", "handler": "app", "path": "/admin", "expose": ["ipRestrictedApi"]},
    ]
    rows = synth(config).outputs["exposure"]
    assert {r["entry"] for r in rows if r["function"] == "admin"} == {
        "ipRestrictedApi",
        "invokeApi",
    }


def test_iam_doors_never_widen_a_restriction():
    # The private endpoint (IAM + VPC), the function URL and the Invoke API: shown, not counted.
    model = model_of(
        {
            "ipRestrictedApi": {"enabled": True, "allow": ["203.0.113.0/24"]},
            "edge": {"enabled": True, "allowedCidrs": ["203.0.113.0/24"]},
            "privateEndpoint": {"enabled": True, "allowedCidrs": ["10.30.0.0/16"]},
        }
    )
    assert model.widenings == []
    doors = {d.entry: d for d in model.for_function("app")}
    assert doors["privateEndpoint"].auth.kind == "iam"
    assert str(doors["privateEndpoint"].sources) == "10.20.0.0/16, 10.30.0.0/16 (inside the VPC)"
    assert doors["functionUrl"].auth.kind == doors["invokeApi"].auth.kind == "iam"
    assert doors["functionUrl"].side_door and not doors["privateEndpoint"].side_door


def test_a_private_api_admits_only_the_vpc_and_widens_an_entry_allow_list(synth_error):
    message = synth_error(
        {
            "ipRestrictedApi": {"enabled": True, "endpointType": "PRIVATE"},
            "staticIp": {"enabled": True, "allowedCidrs": ["203.0.113.0/24"]},
        }
    )
    assert "lambda-exposure:ipRestrictedApi admits 10.20.0.0/16 (inside the VPC) on /" in message


def test_routes_are_per_path_and_verb():
    model = model_of(
        {
            "functions": two_functions(),
            "ipRestrictedApi": {
                "enabled": True,
                "routes": [{"method": "GET", "path": "/api/report", "allow": ["203.0.113.0/24"]}],
            },
        }
    )
    restricted, _ = model.reach("api", "ipRestrictedApi", "/api/report", "HEAD")
    open_verb, _ = model.reach("api", "ipRestrictedApi", "/api/report", "POST")
    assert str(restricted) == "203.0.113.0/24" and str(open_verb) == "any IPv4"
    assert model.reach("app", "ipRestrictedApi", "/api/report", "GET") is None
    paths = {d.paths for d in model.for_function("api") if d.entry == "ipRestrictedApi"}
    assert paths == {"GET /api/report", "/api, /api/* (other paths)"}


def test_cloudfront_without_a_root_function_sends_unmatched_paths_to_its_first():
    model = model_of(
        {
            "functions": [{"name": "api", "handler": "app", "path": "/api"}],
            "edge": {"enabled": True},
        }
    )
    assert model.reach("api", "edge", "/elsewhere") is not None
    assert model.for_function("api")[0].paths == "/api, /api/*, unmatched paths"


def test_the_nlb_health_path_matches_the_component():
    assert NLB_HEALTH_PATH == static_ip.NLB_HEALTH_PATH
    model = model_of({"staticIp": {"enabled": True, "entry": "nlb"}})
    assert model.reach("app", "staticIp", NLB_HEALTH_PATH) is None
    assert model.reach("app", "staticIp", NLB_HEALTH_PATH + "x") is not None


def test_source_algebra_uses_networks_not_strings():
    wide = Sources(NetSet.anyone(), NetSet.of(["203.0.113.0/24"]))
    assert not wide.admits("203.0.113.9") and wide.admits("203.0.114.1") and wide.admits("::1")
    assert Sources(NetSet.of(["203.0.113.0/25", "203.0.113.128/25"])) <= Sources(
        NetSet.of(["203.0.113.0/24"])
    )
    assert not Sources(NetSet.of(["203.0.112.0/23"])) <= Sources(NetSet.of(["203.0.113.0/24"]))
    assert str(NetSet.of(["10.0.0.0/9", "10.128.0.0/9"])) == "10.0.0.0/8"
    inside = Sources(NetSet.of(["10.20.0.0/16"]), within_vpc=True)
    assert inside <= Sources(NetSet.anyone()) and not Sources(NetSet.of(["10.20.0.0/16"])) <= inside


def test_the_model_module_imports_no_pulumi():
    import subprocess
    import sys

    code = "import sys, components.exposure; sys.exit('pulumi' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=False).returncode == 0
