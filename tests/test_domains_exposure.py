"""Custom domains in the exposure model and the graph evaluator: the table's URLs become the
domain's (the execute-api URL goes when the default endpoint is off), both sides agree on who
gets in through the domain, and a graph that strays from the model is caught."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from components.exposure import exposure_model
from tests.exposure_eval import GraphExposure, disagreements
from tests.test_exposure_graph import agree, breaches, evaluate, stack_of
from tools.synth import load_stack_file, synthesize

ROOT = Path(__file__).resolve().parent.parent
ZONE = "Z0123456789ABCDEFGHIJ"
PRIVATE_ZONE = "Z0987654321ABCDEFGHIJ"
CERT = "arn:aws:acm:eu-west-1:111122223333:certificate/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"
EXAMPLES = [
    "edge-domain.yaml",
    "ip-restricted-api-domain.yaml",
    "ip-restricted-api-private-domain.yaml",
    "ip-restricted-api-vpc-endpoint-ids.yaml",
]


def url_of(config: dict[str, Any], entry: str) -> set[str]:
    return {d.url for d in exposure_model(stack_of(config)).doors if d.entry == entry}


def test_the_model_names_the_outputs_that_reach_each_entry() -> None:
    api = {"enabled": True, "domain": {"name": "api.example.com", "hostedZoneId": ZONE}}
    assert url_of({"ipRestrictedApi": api}, "ipRestrictedApi") == {"apiDomainUrl apiUrl"}
    api["domain"]["disableDefaultEndpoint"] = True
    assert url_of({"ipRestrictedApi": api}, "ipRestrictedApi") == {"apiDomainUrl"}
    assert url_of({"ipRestrictedApi": {"enabled": True}}, "ipRestrictedApi") == {"apiUrl"}
    edge = {"enabled": True, "domain": {"names": ["www.example.com"], "hostedZoneId": ZONE}}
    assert url_of({"edge": edge}, "edge") == {"edgeDomainUrls edgeUrl"}
    assert url_of({"edge": {"enabled": True}}, "edge") == {"edgeUrl"}


@pytest.mark.parametrize("name", EXAMPLES)
def test_model_and_graph_agree_on_the_domain_examples(name: str) -> None:
    stack, model, graph = evaluate(load_stack_file(ROOT / "examples" / name))
    assert agree(stack, model, graph) == []
    assert breaches(stack, model, graph) == []


@pytest.mark.parametrize(
    "config",
    [
        # IPv6 sources through a dual-stack domain, the default endpoint off.
        {
            "ipRestrictedApi": {
                "enabled": True,
                "allow": ["198.51.100.0/24", "2001:db8::/32"],
                "routes": [{"method": "GET", "path": "/admin/*", "allow": ["198.51.100.0/25"]}],
                "domain": {
                    "name": "api.example.com",
                    "hostedZoneId": ZONE,
                    "disableDefaultEndpoint": True,
                },
            }
        },
        # A PRIVATE domain on the stack's endpoint, with an IAM route.
        {
            "ipRestrictedApi": {
                "enabled": True,
                "endpointType": "PRIVATE",
                "routes": [{"method": "ANY", "path": "/admin/*", "auth": "AWS_IAM"}],
                "domain": {
                    "name": "api.internal.example.com",
                    "certificateArn": CERT,
                    "hostedZoneId": PRIVATE_ZONE,
                },
            }
        },
        # Existing endpoints next to a stack VPC: callers inside a VPC, through them.
        {
            "ipRestrictedApi": {
                "enabled": True,
                "endpointType": "PRIVATE",
                "vpcEndpointIds": ["vpce-0123456789abcdef0"],
                "allow": ["10.20.128.0/17"],
                "domain": {"name": "api.internal.example.com", "certificateArn": CERT},
            },
            "privateEndpoint": {"enabled": True},
            "functions": [
                {"name": "app", "handler": "app", "path": "/", "expose": ["ipRestrictedApi"]},
                {"name": "ops", "handler": "app", "path": "/ops", "expose": ["privateEndpoint"]},
            ],
        },
        # Both domains in one stack, every entry on.
        {
            "edge": {
                "enabled": True,
                "domain": {"names": ["www.example.com", "*.example.com"], "hostedZoneId": ZONE},
            },
            "ipRestrictedApi": {
                "enabled": True,
                "domain": {"name": "api.example.com", "hostedZoneId": ZONE, "basePath": "v1"},
            },
            "staticIp": {"enabled": True},
        },
    ],
    ids=["regional-ipv6", "private-iam", "existing-endpoints", "both-domains"],
)
def test_model_and_graph_agree_with_domains(config: dict[str, Any]) -> None:
    stack, model, graph = evaluate(config)
    assert agree(stack, model, graph) == []
    assert breaches(stack, model, graph) == []


def test_the_evaluator_sees_callers_inside_the_vpc_through_existing_endpoints() -> None:
    # Agreement is no praise if the graph admits nobody: through vpcEndpointIds it must see the
    # VPC's callers the allow-list names, and nobody else.
    _, _, graph = evaluate(
        {
            "ipRestrictedApi": {
                "enabled": True,
                "endpointType": "PRIVATE",
                "vpcEndpointIds": ["vpce-0123456789abcdef0"],
                "allow": ["10.20.128.0/17"],
            },
            "privateEndpoint": {"enabled": True},
        }
    )
    assert graph.api("app", "/x", "GET", "10.20.130.1")
    assert not graph.api("app", "/x", "GET", "10.20.1.1")  # inside the VPC, not in the list
    assert not graph.api("app", "/x", "GET", "198.51.100.7")  # outside any VPC


def test_the_evaluator_walks_the_private_domain() -> None:
    _, _, graph = evaluate(load_stack_file(ROOT / "examples/ip-restricted-api-private-domain.yaml"))
    api = graph._api
    assert api is not None and len(api["domains"]) == 1
    (domain,) = api["domains"]
    assert domain["private"] and domain["associations"] == api["endpoints"]
    assert graph._api_via("app", "/x", "GET", "10.30.130.1", 0)  # through the domain
    assert not graph._api_via("app", "/x", "GET", "10.30.1.1", 0)  # not in allow


# -- a graph that strays from the model is caught ---------------------------------------------


def _mutated(path: str, mutate: Any) -> list[str]:
    config = load_stack_file(ROOT / path)
    stack = stack_of(config)
    result = synthesize(config)
    names = [f.name for f in stack.functions]
    model = exposure_model(stack)
    assert disagreements(model, GraphExposure(result), names) == []
    mutate(result)
    return disagreements(model, GraphExposure(result), names)


def test_a_default_endpoint_left_on_is_caught() -> None:
    def turn_on(result: Any) -> None:
        del result.one("aws:apigateway/restApi:RestApi").inputs["disableExecuteApiEndpoint"]

    problems = _mutated("examples/ip-restricted-api-domain.yaml", turn_on)
    assert any("via ipRestrictedApi: the table gives" in p for p in problems)


def test_a_missing_base_path_mapping_is_caught() -> None:
    def unmap(result: Any) -> None:
        mapping = result.one("aws:apigateway/basePathMapping:BasePathMapping")
        result.resources.remove(mapping)

    problems = _mutated("examples/ip-restricted-api-domain.yaml", unmap)
    # No URL serves the API any more: the model's sources are refused on the graph, and the
    # table's domain URL is served by nothing.
    assert any("via ipRestrictedApi GET" in p and "graph refuses" in p for p in problems)
    assert any("the graph serves []" in p for p in problems)


def test_an_alias_the_distribution_lacks_is_caught() -> None:
    def drop_alias(result: Any) -> None:
        cdn = result.one("aws:cloudfront/distribution:Distribution")
        cdn.inputs["aliases"] = cdn.inputs["aliases"][:1]

    problems = _mutated("examples/edge-domain.yaml", drop_alias)
    assert any("via edge: the table gives" in p for p in problems)


def test_an_ipv4_only_domain_in_front_of_ipv6_sources_is_caught() -> None:
    config = {
        "ipRestrictedApi": {
            "enabled": True,
            "allow": ["2001:db8::/32"],
            "domain": {
                "name": "api.example.com",
                "hostedZoneId": ZONE,
                "disableDefaultEndpoint": True,
            },
        }
    }
    stack = stack_of(config)
    result = synthesize(config)
    model = exposure_model(stack)
    assert disagreements(model, GraphExposure(result), ["app"]) == []
    domain = result.one("aws:apigateway/domainName:DomainName")
    domain.inputs["endpointConfiguration"] = {"types": "REGIONAL", "ipAddressType": "ipv4"}
    problems = disagreements(model, GraphExposure(result), ["app"])
    assert any("from 2001:db8" in p and "graph refuses" in p for p in problems)


def test_a_private_domain_policy_open_to_another_endpoint_is_still_bound_by_the_api() -> None:
    # The domain's policy is one gate of two: opening it alone admits nobody new.
    def open_domain(result: Any) -> None:
        domain = result.one("aws:apigateway/domainName:DomainName")
        domain.inputs["policy"] = (
            '{"Version": "2012-10-17", "Statement": [{"Sid": "All", "Effect": "Allow", '
            '"Principal": "*", "Action": "execute-api:Invoke", "Resource": "execute-api:/*"}]}'
        )

    assert _mutated("examples/ip-restricted-api-private-domain.yaml", open_domain) == []


def test_a_private_domain_that_refuses_its_endpoint_is_caught_only_through_the_url() -> None:
    # The execute-api URL still answers (a PRIVATE API keeps it), so reach is unchanged; the
    # evaluator sees the domain way closed.
    config = load_stack_file(ROOT / "examples/ip-restricted-api-private-domain.yaml")
    result = synthesize(config)
    domain = result.one("aws:apigateway/domainName:DomainName")
    domain.inputs["policy"] = domain.inputs["policy"].replace(
        '"StringEquals"', '"StringNotEquals"', 1
    )
    graph = GraphExposure(result)
    assert graph.api("app", "/x", "GET", "10.30.130.1")  # the default endpoint
    assert not graph._api_via("app", "/x", "GET", "10.30.130.1", 0)  # the domain
