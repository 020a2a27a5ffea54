"""The exposure model agrees with the graph: on every shipped config, on a few hundred generated
configs, and a graph mutated to admit more than the model says is caught.

The graph side is ``tests/exposure_eval.py`` (it reads only the synthesized resources); the model
side is ``components/exposure.py`` (it reads only the config).
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, event, given, reject, settings
from hypothesis import strategies as st

from components.config import PROJECT, ConfigError, StackConfig, parse_config
from components.exposure import ExposureModel, exposure_model
from tests.exposure_eval import ANON_ENTRIES, METHODS, GraphExposure, disagreements, in_cidrs
from tests.graph import FUNCTION_URL, INGRESS, REST_API_POLICY, WEB_ACL, permissions
from tests.harness import shared_synthesis
from tests.samples import DEV_STACK, ROOT, SHIPPED
from tools.synth import Synth, load_stack_file, synthesize


def stack_of(config: dict[str, Any]) -> StackConfig:
    raw, region = {}, "eu-west-1"
    for key, value in config.items():
        if key == "aws:region":
            region = value
        elif key.startswith(f"{PROJECT}:"):
            raw[key.split(":", 1)[1]] = value
        elif ":" not in key:
            raw[key] = value
    return parse_config(raw, region)


def evaluate(
    config: dict[str, Any], run: Callable[..., Synth] = synthesize
) -> tuple[StackConfig, ExposureModel, GraphExposure]:
    stack = stack_of(config)
    return stack, exposure_model(stack), GraphExposure(run(config))


def agree(stack: StackConfig, model: ExposureModel, graph: GraphExposure) -> list[str]:
    names = [f.name for f in stack.functions]
    return disagreements(model, graph, names, [c.path for c in model.cells])


def breaches(stack: StackConfig, model: ExposureModel, graph: GraphExposure) -> list[str]:
    """Where the *graph* lets an entry admit a source outside a restriction another entry puts on
    the same function, path and verb, widerExposure aside. The model promises there is none."""
    found = []
    addresses = graph.sample_addresses()
    vpc = graph.vpc_cidrs()
    for fn in stack.functions:
        for cell in model.cells:
            for method in METHODS:
                for entry in ANON_ENTRIES:
                    for limit in model.limits(fn.name, entry, cell.path, method):
                        for other in ANON_ENTRIES:
                            if other == entry or other in fn.wider_exposure:
                                continue
                            for address in addresses:
                                inside = in_cidrs(address, vpc)
                                if not limit.sources.admits(
                                    address, inside_vpc=inside
                                ) and graph.anonymous(fn.name, other, cell.path, method, address):
                                    found.append(
                                        f"{limit.key}: {other} admits {address} on {method} "
                                        f"{cell.path} to {fn.name}"
                                    )
    return found


# -- every shipped config ----------------------------------------------------------------------


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_model_and_graph_agree_on_every_shipped_config(path: Path) -> None:
    stack, model, graph = evaluate(load_stack_file(path), shared_synthesis)
    assert agree(stack, model, graph) == []
    assert breaches(stack, model, graph) == []


def test_the_evaluator_sees_real_doors_on_the_dev_stack() -> None:
    # Agreement would be empty praise if the graph side admitted nothing: it must see the open
    # entries, the admin range, and nobody else on the admin function.
    _, _, graph = evaluate(load_stack_file(DEV_STACK), shared_synthesis)
    assert graph.static_ip("app", "/admin", "192.0.2.77")
    assert graph.edge("app", "/x", "2001:db8:abcd::1")
    assert graph.api("app", "/x", "POST", "192.0.2.77")
    assert graph.api("admin", "/admin/users", "DELETE", "203.0.113.9")
    for entry in ANON_ENTRIES:
        for path in ("/admin", "/admin/", "/admin/users"):
            assert not graph.anonymous("admin", entry, path, "GET", "192.0.2.77"), (entry, path)


# -- generated configs -------------------------------------------------------------------------

FUNCTION_PATHS = ["/", "/a", "/a/b", "/b"]
NONE_ROUTE_PATHS = ["/", "/a", "/a/*", "/a/b", "/*", "/b*", "/a*b"]
IAM_ROUTE_PATHS = ["/a", "/a/*", "/a/b", "/*", "/b/*"]
CIDRS = ["203.0.113.0/24", "203.0.113.0/25", "198.51.100.0/24", "10.20.0.0/16", "0.0.0.0/0"]
CIDRS_ANY = [*CIDRS, "2001:db8::/32"]


def _cidrs(draw: Any, pool: list[str], most: int = 2) -> list[str]:
    return draw(st.lists(st.sampled_from(pool), max_size=most, unique=True))


@st.composite
def stacks(draw: Any) -> dict[str, Any]:
    """Small stacks: 1-3 functions, any entries, allow-lists and routes from small pools."""
    paths = draw(st.lists(st.sampled_from(FUNCTION_PATHS), min_size=1, max_size=3, unique=True))
    entries = draw(
        st.lists(
            st.sampled_from(["staticIp", "ipRestrictedApi", "edge", "privateEndpoint"]),
            min_size=1,
            max_size=4,
            unique=True,
        )
    )
    config: dict[str, Any] = {}
    if "staticIp" in entries:
        config["staticIp"] = {
            "enabled": True,
            "entry": draw(st.sampled_from(["global-accelerator", "nlb"])),
            "allowedCidrs": _cidrs(draw, CIDRS),
        }
    if "ipRestrictedApi" in entries:
        routes = []
        for _ in range(draw(st.integers(0, 2))):
            auth = draw(st.sampled_from(["NONE", "AWS_IAM"]))
            pool = IAM_ROUTE_PATHS if auth == "AWS_IAM" else NONE_ROUTE_PATHS
            route = {
                "method": draw(st.sampled_from(["ANY", "GET", "POST"])),
                "path": draw(st.sampled_from(pool)),
                "auth": auth,
                "allow": _cidrs(draw, CIDRS_ANY, 1),
                "deny": _cidrs(draw, ["203.0.113.128/25", "2001:db8::/48"], 1),
            }
            if auth == "NONE" and not route["allow"] and not route["deny"]:
                route["allow"] = ["203.0.113.0/24"]
            if all((r["method"], r["path"]) != (route["method"], route["path"]) for r in routes):
                routes.append(route)
        config["ipRestrictedApi"] = {
            "enabled": True,
            "endpointType": draw(st.sampled_from(["REGIONAL", "PRIVATE"])),
            "allow": _cidrs(draw, CIDRS, 1),
            "deny": _cidrs(draw, ["203.0.113.7/32", "10.20.5.0/24"], 1),
            "routes": routes,
        }
    if "edge" in entries:
        config["edge"] = {
            "enabled": True,
            "signing": draw(st.sampled_from(["oac", "lambda-edge"])),
            "allowedCidrs": _cidrs(draw, CIDRS_ANY),
            "staticSite": "/" not in paths and draw(st.booleans()),
        }
    if "privateEndpoint" in entries:
        config["privateEndpoint"] = {
            "enabled": True,
            "allowedCidrs": _cidrs(draw, ["10.30.0.0/16"]),
        }
    functions = []
    for index, path in enumerate(paths):
        fn: dict[str, Any] = {"name": f"f{index}", "handler": "app", "path": path}
        if draw(st.booleans()):
            fn["expose"] = draw(st.lists(st.sampled_from(entries), min_size=1, unique=True))
        if draw(st.integers(0, 3)) == 0:
            fn["widerExposure"] = [e for e in fn.get("expose", entries) if e != "privateEndpoint"]
        functions.append(fn)
    config["functions"] = functions
    return config


def _accept_every_widening(config: dict[str, Any]) -> dict[str, Any]:
    wider = copy.deepcopy(config)
    for fn in wider["functions"]:
        served = fn.get("expose") or [
            k for k in ("staticIp", "ipRestrictedApi", "edge") if k in wider
        ]
        fn["widerExposure"] = [e for e in served if e != "privateEndpoint"]
    return wider


@settings(
    max_examples=int(os.environ.get("EXPOSURE_EXAMPLES", "200")),
    deadline=None,
    derandomize=True,
    # A failing example is printed as drawn: shrinking a synthesis-heavy case takes minutes.
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(stacks())
def test_model_and_graph_agree_on_generated_configs(config: dict[str, Any]) -> None:
    try:
        stack = stack_of(config)
    except ConfigError as exc:
        if "Ways out:" not in str(exc):
            reject()  # a config the contract refuses for another reason
        event("refused: an entry widens a restriction")
        # The program refused a widening: with it declared intended, the graph must show an
        # entry that really admits a source outside the restriction the message names.
        stack, model, graph = evaluate(_accept_every_widening(config))
        assert agree(stack, model, graph) == []
        key = str(exc).split(": ", 1)[0].removeprefix(f"{PROJECT}:")
        shown = [c for c in model.conflicts if c.limit.key == key]
        assert shown, (key, model.conflicts)
        conflict = shown[0]
        outside = (conflict.sources.addresses - conflict.limit.sources.addresses).networks()
        address = str(outside[0].network_address) if outside else "10.20.0.9"
        assert graph.anonymous(
            conflict.function, conflict.entry, conflict.path, conflict.method, address
        ), conflict
        return
    model = exposure_model(stack)
    event(f"synthesized: {len(stack.enabled_entries)} entries, {len(model.cells)} cells")
    graph = GraphExposure(synthesize(config))
    assert agree(stack, model, graph) == []
    assert breaches(stack, model, graph) == []


# -- mutations: a graph that admits more than the model says is caught ---------------------------


def _mutated(path: str, mutate: Any) -> tuple[StackConfig, ExposureModel, GraphExposure]:
    config = load_stack_file(ROOT / path)
    stack = stack_of(config)
    result = shared_synthesis(config)  # a copy of its own: mutated below
    assert agree(stack, exposure_model(stack), GraphExposure(result)) == []
    mutate(result)
    return stack, exposure_model(stack), GraphExposure(result)


def _wider(problems: list[str]) -> list[str]:
    return [p for p in problems if "model refuses, graph admits" in p or "wider door" in p]


def test_opening_one_security_group_rule_is_caught() -> None:
    def open_rule(result: Any) -> None:
        rule = result.of_type(INGRESS)[0]
        assert rule.inputs["cidrIpv4"] == "203.0.113.0/24"
        rule.inputs["cidrIpv4"] = "0.0.0.0/0"

    stack, model, graph = _mutated("examples/static-ip-global-accelerator.yaml", open_rule)
    assert any("via staticIp" in p for p in _wider(agree(stack, model, graph)))


def test_opening_the_nlb_security_group_is_caught() -> None:
    def open_nlb(result: Any) -> None:
        (rule,) = [r for r in result.of_type(INGRESS) if r.name.startswith("static-ip-nlb-in-")]
        rule.inputs["cidrIpv4"] = "0.0.0.0/0"

    stack, model, graph = _mutated("examples/static-ip-nlb.yaml", open_nlb)
    assert any("via staticIp" in p for p in _wider(agree(stack, model, graph)))


@pytest.mark.parametrize("how", ["drop the condition's allow-list", "drop the deny statement"])
def test_dropping_one_policy_deny_condition_is_caught(how: str) -> None:
    def weaken(result: Any) -> None:
        policy = result.one(REST_API_POLICY)
        document = json.loads(policy.inputs["policy"])
        (deny,) = [s for s in document["Statement"] if s["Sid"] == "Route1DenyNotInAllowList"]
        if how == "drop the deny statement":
            document["Statement"].remove(deny)
        else:
            # NotIpAddress of everything: the Deny still exists but matches no source.
            deny["Condition"]["NotIpAddress"]["aws:SourceIp"] = ["0.0.0.0/0"]
        policy.inputs["policy"] = json.dumps(document)

    stack, model, graph = _mutated("Pulumi.dev.yaml", weaken)
    wider = _wider(agree(stack, model, graph))
    assert any(p.startswith("admin via ipRestrictedApi") and "/admin/" in p for p in wider)


def test_an_open_web_acl_is_caught() -> None:
    def open_acl(result: Any) -> None:
        acl = result.one(WEB_ACL)
        acl.inputs["defaultAction"] = {"allow": {}}

    stack, model, graph = _mutated("examples/edge-lambda-edge.yaml", open_acl)
    assert any("via edge" in p for p in _wider(agree(stack, model, graph)))


def test_an_unauthenticated_function_url_is_caught() -> None:
    def no_auth(result: Any) -> None:
        for url in result.of_type(FUNCTION_URL):
            url.inputs["authorizationType"] = "NONE"

    stack, model, graph = _mutated("examples/edge-oac.yaml", no_auth)
    assert any("function URL is NONE" in p for p in agree(stack, model, graph))


def test_a_permission_without_a_source_is_caught() -> None:
    def unscoped(result: Any) -> None:
        permission = permissions(result, principal="apigateway.amazonaws.com")[0]
        del permission.inputs["sourceArn"]

    stack, model, graph = _mutated("examples/ip-restricted-api.yaml", unscoped)
    assert any("wider door" in p for p in agree(stack, model, graph))


def test_extra_region_copies_follow_expose() -> None:
    config = {
        "functions": [
            {"name": "app", "handler": "app", "path": "/"},
            {"name": "api", "handler": "app", "path": "/api", "expose": ["edge"]},
        ],
        "staticIp": {"enabled": True, "regions": ["us-east-1"]},
        "edge": {"enabled": True},
    }
    assert agree(*evaluate(config)) == []
