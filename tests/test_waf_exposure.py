"""The exposure model knows the WAF in front of each door, and the graph evaluator agrees.

A web ACL's rate limit and managed rule groups block floods and attack patterns, never a source
set: the doors' sources are what they were without WAF, and a widening stays a widening. What
the model records per door (``waf``), the evaluator reads off the graph (associations, ACL
rules); a graph that drops or misplaces an association, or defuses a rule, is caught.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from components.config import parse_config
from components.exposure import exposure_model
from tests.exposure_eval import GraphExposure, disagreements
from tools.exposure_view import markdown_table, render_table
from tools.synth import Synth

REGION = "eu-west-1"
GROUPS = ["AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"]
LABEL = f"1000 requests per IP per 5 min; {', '.join(GROUPS)}"
OPEN_APP = [{"name": "app", "handler": "app", "path": "/"}]


@pytest.fixture
def synth(synth_shared):
    """No test here patches the program: every graph of this module is a shared synthesis."""
    return synth_shared


def waf() -> dict[str, Any]:
    return {"enabled": True, "rateLimit": 1000, "managedRules": GROUPS}


def everything_behind_waf(**static_ip: Any) -> dict[str, Any]:
    return {
        "functions": OPEN_APP,
        "staticIp": {"enabled": True, "waf": waf(), **static_ip},
        "ipRestrictedApi": {"enabled": True, "waf": waf()},
        "edge": {"enabled": True, "managedRules": GROUPS, "rateLimit": 1000},
        "privateEndpoint": {"enabled": True},
    }


def problems(config: dict[str, Any], result: Synth) -> list[str]:
    stack = parse_config(config, REGION)
    model = exposure_model(stack)
    names = [f.name for f in stack.functions]
    return disagreements(model, GraphExposure(result), names, [c.path for c in model.cells])


def rows_of(config: dict[str, Any]) -> dict[str, dict[str, str]]:
    return {r["entry"]: r for r in exposure_model(parse_config(config, REGION)).rows()}


# -- the model -----------------------------------------------------------------------------------


def test_every_entry_door_records_its_web_acl_and_only_those() -> None:
    rows = rows_of(everything_behind_waf())
    for entry in ("staticIp", "internalAlb", "ipRestrictedApi", "edge"):
        assert rows[entry]["waf"] == LABEL, entry
    for side_door in ("privateEndpoint", "functionUrl", "invokeApi"):
        assert "waf" not in rows[side_door], side_door
    assert rows["staticIp"]["via"] == "Global Accelerator → internal ALB + WAF"
    assert rows["internalAlb"]["via"] == "internal ALB + WAF"
    assert rows["ipRestrictedApi"]["via"] == "REST API (REGIONAL) + WAF"
    assert rows["edge"]["via"] == "CloudFront + WAF → function URL (AWS_IAM)"


def test_the_private_api_and_the_nlb_say_where_their_web_acl_sits() -> None:
    config = everything_behind_waf(entry="nlb")
    config["ipRestrictedApi"]["endpointType"] = "PRIVATE"
    rows = rows_of(config)
    assert rows["staticIp"]["via"] == "NLB (Elastic IPs) → internal ALB + WAF"
    assert rows["ipRestrictedApi"]["via"] == "execute-api VPC endpoint → REST API (PRIVATE) + WAF"


def test_waf_rules_change_no_source_set() -> None:
    with_waf = rows_of(everything_behind_waf())
    plain = copy.deepcopy(everything_behind_waf())
    plain["staticIp"].pop("waf")
    plain["ipRestrictedApi"].pop("waf")
    plain["edge"].pop("managedRules")
    without = rows_of(plain)
    assert {e: r["sources"] for e, r in with_waf.items()} == {
        e: r["sources"] for e, r in without.items()
    }
    assert all("waf" not in r for r in without.values())


def test_the_edge_allow_list_acl_is_its_door_waf_too() -> None:
    config = {"edge": {"enabled": True, "allowedCidrs": ["198.51.100.0/24"], "rateLimit": 300}}
    row = rows_of(config)["edge"]
    assert row["waf"] == "300 requests per IP per 5 min"
    assert row["sources"] == "198.51.100.0/24"


def test_a_web_acl_does_not_make_a_widening_acceptable(synth_error) -> None:
    # edge admits only 198.51.100.0/24; the static IPs admit everyone, rate-limited or not.
    config = {
        "staticIp": {"enabled": True, "waf": waf()},
        "edge": {"enabled": True, "allowedCidrs": ["198.51.100.0/24"], "managedRules": GROUPS},
    }
    message = synth_error(config)
    assert "lambda-exposure:edge.allowedCidrs:" in message
    assert "lambda-exposure:staticIp admits" in message and "Ways out:" in message


# -- the table -----------------------------------------------------------------------------------


def test_the_table_gets_a_waf_column_only_when_a_door_has_one(synth) -> None:
    rows = synth(everything_behind_waf()).outputs["exposure"]
    lines = render_table(rows)
    assert lines[0].split()[-1] == "WAF"
    assert any(line.endswith(LABEL) and " staticIp " in line for line in lines)
    assert markdown_table(rows).splitlines()[0].endswith("| WAF |")
    plain = synth({"staticIp": {"enabled": True}}).outputs["exposure"]
    assert "WAF" not in render_table(plain)[0]
    assert "WAF" not in markdown_table(plain)


# -- the evaluator agrees, and catches a graph that does not -------------------------------------


@pytest.mark.parametrize(
    "static_ip",
    [{}, {"entry": "nlb"}, {"regions": ["us-east-1"]}],
    ids=["global-accelerator", "nlb", "regions"],
)
def test_model_and_graph_agree_with_waf_everywhere(synth, static_ip: dict[str, Any]) -> None:
    config = everything_behind_waf(**static_ip)
    assert problems(config, synth(config)) == []


def test_model_and_graph_agree_on_a_private_api_behind_waf(synth) -> None:
    config = {"ipRestrictedApi": {"enabled": True, "endpointType": "PRIVATE", "waf": waf()}}
    assert problems(config, synth(config)) == []


def _acl_problems(found: list[str], entry: str) -> list[str]:
    return [p for p in found if f"via {entry}: web ACL" in p]


def test_a_region_whose_alb_lost_its_association_is_caught(synth) -> None:
    config = everything_behind_waf(regions=["us-east-1"])
    result = synth(config)
    result.resources = [r for r in result.resources if r.name != "static-ip-us-east-1-waf-alb"]
    assert _acl_problems(problems(config, result), "staticIp")
    assert _acl_problems(problems(config, result), "internalAlb")


def test_an_acl_of_another_region_protects_nothing(synth) -> None:
    config = everything_behind_waf(regions=["us-east-1"])
    result = synth(config)
    stack_acl = result.named("static-ip-waf").outputs["arn"]
    extra = result.named("static-ip-us-east-1-waf-alb")
    # AWS refuses to associate an ALB with an ACL of another region.
    extra.inputs["webAclArn"] = stack_acl
    assert _acl_problems(problems(config, result), "staticIp")


def test_a_managed_group_switched_to_count_is_caught(synth) -> None:
    config = everything_behind_waf()
    result = synth(config)
    acl = result.named("ip-api-waf")
    for rule in acl.inputs["rules"]:
        if rule["name"] == GROUPS[0]:
            rule["overrideAction"] = {"count": {}}
    found = problems(config, result)
    assert _acl_problems(found, "ipRestrictedApi")
    assert not _acl_problems(found, "staticIp")


def test_a_dropped_stage_association_is_caught(synth) -> None:
    config = everything_behind_waf()
    result = synth(config)
    result.resources = [r for r in result.resources if r.name != "ip-api-waf-stage"]
    assert _acl_problems(problems(config, result), "ipRestrictedApi")


def test_a_regional_acl_that_blocks_is_read_on_the_way_to_the_function(synth) -> None:
    config = everything_behind_waf()
    result = synth(config)
    for name in ("static-ip-waf", "ip-api-waf"):
        acl = result.named(name)
        acl.inputs["defaultAction"] = {"block": {}}
    found = problems(config, result)
    refused = [p for p in found if "model admits, graph refuses" in p]
    assert any(p.startswith("app via staticIp ") for p in refused)
    assert any(p.startswith("app via ipRestrictedApi ") for p in refused)
    assert any("via the internal ALB" in p for p in found)
