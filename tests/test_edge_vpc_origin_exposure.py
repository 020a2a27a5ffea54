"""edge.origin: vpc in the exposure model: the model and the graph agree, and a graph that admits
more than the model says is caught.

The graph side follows CloudFront → VPC origin → the ALB it names → its security group (which
must admit CloudFront's origin-facing prefix list) → listener rules → target group → function
(``tests/exposure_eval.py``); the model side reads only the config (``components/exposure/``).
"""

from __future__ import annotations

import copy
import os
import re
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, event, given, reject, settings

from components.config import ConfigError
from components.exposure import exposure_model
from tests.exposure_eval import GraphExposure
from tests.test_exposure_graph import agree, breaches, evaluate, stack_of, stacks
from tools.exposure_view import render_request_paths
from tools.synth import load_stack_file, synthesize

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
VPC_EDGE = {"enabled": True, "origin": "vpc"}


def _edge_rule(result: Any) -> Any:
    (rule,) = [r for r in result.of_type(INGRESS) if r.name.startswith("edge-origin-alb-in-")]
    return rule


def _wider(problems: list[str]) -> list[str]:
    return [p for p in problems if "model refuses, graph admits" in p or "wider door" in p]


# -- the evaluator sees the door, and only it ----------------------------------------------------


def test_the_graph_reaches_the_function_through_cloudfront_only() -> None:
    stack, model, graph = evaluate(load_stack_file(EXAMPLES / "edge-vpc-origin.yaml"))
    assert agree(stack, model, graph) == []
    assert graph.edge("app", "/", "192.0.2.77")
    assert graph.edge("app", "/any/path", "2001:db8:abcd::1")
    # Internal, and its group admits no VPC address: no side door from inside the VPC.
    assert not graph.alb_direct("app", "/", "10.20.0.9")
    assert {d.entry for d in model.doors} == {"edge", "invokeApi"}


def test_with_a_site_only_the_api_paths_reach_the_function_and_waf_applies() -> None:
    stack, model, graph = evaluate(load_stack_file(EXAMPLES / "edge-vpc-origin-static-site.yaml"))
    assert agree(stack, model, graph) == []
    assert breaches(stack, model, graph) == []
    assert graph.edge("api", "/api/x", "198.51.100.1")
    assert not graph.edge("api", "/api/x", "192.0.2.77")  # outside edge.allowedCidrs
    assert not graph.edge("api", "/index.html", "198.51.100.1")  # the bucket's
    (door,) = [d for d in model.doors if d.entry == "edge"]
    assert door.paths == "/api, /api/*"
    assert door.hops == ("CloudFront + WAF", "VPC origin", "internal ALB")


def test_without_a_function_at_root_unmatched_paths_reach_nobody() -> None:
    config = {"functions": [{"name": "api", "handler": "app", "path": "/api"}], "edge": VPC_EDGE}
    stack, model, graph = evaluate(config)
    assert agree(stack, model, graph) == []
    assert graph.edge("api", "/api", "192.0.2.77")
    assert not graph.edge("api", "/other", "192.0.2.77")
    assert model.reach("api", "edge", "/other") is None


def test_static_ip_and_the_vpc_origin_each_reach_only_their_functions() -> None:
    config = {
        "functions": [
            {"name": "app", "handler": "app", "path": "/", "widerExposure": ["edge"]},
            {"name": "ops", "handler": "app", "path": "/ops", "expose": ["staticIp"]},
            {"name": "web", "handler": "app", "path": "/web", "expose": ["edge"]},
        ],
        "staticIp": {"enabled": True, "allowedCidrs": ["198.51.100.0/24"]},
        "edge": VPC_EDGE,
    }
    stack, model, graph = evaluate(config)
    assert agree(stack, model, graph) == []
    # /ops through CloudFront lands on the edge ALB, which has no rule for it: app answers.
    assert not graph.edge("ops", "/ops", "198.51.100.1")
    assert graph.edge("app", "/ops", "198.51.100.1")
    assert not graph.static_ip("web", "/web", "198.51.100.1")
    assert graph.static_ip("ops", "/ops", "198.51.100.1")
    assert {d.entry for d in model.for_function("web")} == {"edge", "invokeApi"}


# -- mutations: the graph admitting more is caught ---------------------------------------------


def _mutated(config: dict[str, Any], mutate: Any) -> list[str]:
    stack = stack_of(config)
    result = synthesize(config)
    assert agree(stack, exposure_model(stack), GraphExposure(result)) == []
    mutate(result)
    return agree(stack, exposure_model(stack), GraphExposure(result))


def test_an_alb_group_opened_to_the_vpc_is_a_side_door_the_model_does_not_have() -> None:
    def open_to_vpc(result: Any) -> None:
        rule = _edge_rule(result)
        del rule.inputs["prefixListId"]
        rule.inputs["cidrIpv4"] = "10.20.0.0/16"

    problems = _mutated({"edge": VPC_EDGE}, open_to_vpc)
    assert any("via the internal ALB" in p for p in _wider(problems)), problems


def test_an_alb_group_without_the_cloudfront_list_breaks_the_door() -> None:
    def other_list(result: Any) -> None:
        _edge_rule(result).inputs["prefixListId"] = "pl-00000000"

    problems = _mutated({"edge": VPC_EDGE}, other_list)
    assert any("via edge" in p and "model admits, graph refuses" in p for p in problems)


def test_a_target_group_permission_without_a_source_is_caught() -> None:
    def unscoped(result: Any) -> None:
        for permission in result.of_type("aws:lambda/permission:Permission"):
            del permission.inputs["sourceArn"]

    problems = _mutated({"edge": VPC_EDGE}, unscoped)
    assert any("wider door" in p for p in problems)


# -- the table and the diagram -------------------------------------------------------------------


def test_the_diagram_draws_cloudfront_vpc_origin_and_its_own_alb() -> None:
    config = {
        "functions": [
            {"name": "app", "handler": "app", "path": "/"},
            {"name": "web", "handler": "app", "path": "/web", "expose": ["edge"]},
        ],
        "staticIp": {"enabled": True},
        "edge": VPC_EDGE,
    }
    chart = render_request_paths(synthesize(config).outputs["exposure"])
    labels = dict(re.findall(r"^\s+(\w+)[\[(]+\"([^\"]+)\"[\])]+$", chart, flags=re.M))
    edges = {
        (labels[a], labels[b])
        for a, b in re.findall(r"^\s+(\w+) -->(?:\|\"[^\"]*\"\|)? (\w+)$", chart, flags=re.M)
    }
    assert ("CloudFront", "VPC origin") in edges
    assert ("VPC origin", "internal ALB") in edges
    assert ("Global Accelerator", "internal ALB") in edges
    # Two ALBs, two nodes: the accelerator's and the VPC origin's.
    assert sorted(v for v in labels.values() if v == "internal ALB") == ["internal ALB"] * 2
    assert "function URL (AWS_IAM)" not in labels.values()


# -- generated configs ---------------------------------------------------------------------------


def _through_vpc_origin(config: dict[str, Any]) -> dict[str, Any]:
    """The same stack with its edge entry through a VPC origin (nothing to sign there)."""
    moved = copy.deepcopy(config)
    moved["edge"].update(origin="vpc", signing="oac")
    return moved


@settings(
    max_examples=int(os.environ.get("EXPOSURE_EXAMPLES_VPC_ORIGIN", "40")),
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(stacks())
def test_model_and_graph_agree_on_generated_configs_through_a_vpc_origin(
    config: dict[str, Any],
) -> None:
    if "edge" not in config:
        reject()
    config = _through_vpc_origin(config)
    try:
        stack = stack_of(config)
    except ConfigError:
        reject()  # a widening (tests/test_exposure_graph.py checks those), or another refusal
    event(f"{len(stack.enabled_entries)} entries")
    graph = GraphExposure(synthesize(config))
    model = exposure_model(stack)
    assert agree(stack, model, graph) == []
    assert breaches(stack, model, graph) == []


def test_a_vpc_origin_next_to_the_nlb_entry_agrees() -> None:
    combined = {
        "functions": [{"name": "f0", "handler": "app", "path": "/a"}],
        "staticIp": {"enabled": True, "entry": "nlb"},
        "edge": {"enabled": True, "staticSite": True},
    }
    stack, model, graph = evaluate(_through_vpc_origin(combined))
    assert agree(stack, model, graph) == []
