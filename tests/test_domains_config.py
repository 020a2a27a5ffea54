"""Custom domain config errors: each names its key and stops the program before any resource
(``synth_error`` checks nothing was registered), whether the config alone shows it (a certificate
in the wrong region, a PRIVATE domain without a certificate) or only the account does (a name
outside the given zone, a zone of the wrong kind, an endpoint that is not execute-api), which
``components/preflight.py`` looks up first."""

from __future__ import annotations

from typing import Any

import pytest

from components.config.domains import (
    Endpoint,
    Zone,
    ZoneUse,
    endpoint_problems,
    in_zone,
    zone_problems,
)

ZONE = "Z0123456789ABCDEFGHIJ"  # public example.com in the mocks
PRIVATE_ZONE = "Z0987654321ABCDEFGHIJ"  # private internal.example.com
CERT = "arn:aws:acm:{region}:111122223333:certificate/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"
GET_ZONE = "aws:route53/getZone:getZone"
GET_ENDPOINT = "aws:ec2/getVpcEndpoint:getVpcEndpoint"


def edge(**domain: Any) -> dict[str, Any]:
    return {"edge": {"enabled": True, "domain": domain}}


def api(**options: Any) -> dict[str, Any]:
    return {"ipRestrictedApi": {"enabled": True, **options}}


def zone_answer(name: str, private: bool) -> dict[str, Any]:
    return {GET_ZONE: {"id": ZONE, "zoneId": ZONE, "name": name, "privateZone": private}}


# -- what the config alone shows ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "key", "says"),
    [
        (
            edge(names=["www.example.com"], certificateArn=CERT.format(region="eu-west-1")),
            "edge.domain.certificateArn",
            "us-east-1 only; this one is in eu-west-1",
        ),
        (edge(names=["www.example.com"]), "edge.domain.certificateArn", "need a certificate"),
        (
            edge(names=[f"n{i}.example.com" for i in range(11)], hostedZoneId=ZONE),
            "edge.domain.names",
            "holds 10 by default",
        ),
        (edge(names=["www.example.com."], hostedZoneId=ZONE), "edge.domain.names[0]", "dot"),
        (
            edge(names=["a.example.com", "A.example.com"], hostedZoneId=ZONE),
            "edge.domain.names",
            "duplicate name 'a.example.com' at [1]",
        ),
        (edge(names=["bad_name.example.com"], hostedZoneId=ZONE), "edge.domain.names[0]", "not"),
        (edge(hostedZoneId=ZONE), "edge.domain.names", "nothing to serve"),
        (
            edge(names=["www.example.com"], hostedZoneId="/hostedzone/Z1"),
            "edge.domain.hostedZoneId",
            "hosted zone id",
        ),
        (
            api(
                domain={
                    "name": "api.example.com",
                    "certificateArn": CERT.format(region="us-east-1"),
                }
            ),
            "ipRestrictedApi.domain.certificateArn",
            "needs an ACM certificate of eu-west-1; this one is in us-east-1",
        ),
        (
            api(domain={"name": "api.example.com"}),
            "ipRestrictedApi.domain.certificateArn",
            "needs a certificate",
        ),
        (
            api(
                endpointType="PRIVATE",
                domain={"name": "api.internal.example.com", "hostedZoneId": PRIVATE_ZONE},
            ),
            "ipRestrictedApi.domain.certificateArn",
            "a PRIVATE domain needs a certificate given by ARN",
        ),
        (
            api(
                endpointType="PRIVATE",
                domain={
                    "name": "api.internal.example.com",
                    "certificateArn": CERT.format(region="eu-west-1"),
                    "disableDefaultEndpoint": True,
                },
            ),
            "ipRestrictedApi.domain.disableDefaultEndpoint",
            "REGIONAL only",
        ),
        (
            api(domain={"basePath": "v1", "hostedZoneId": ZONE}),
            "ipRestrictedApi.domain.name",
            "there is no domain for hostedZoneId, basePath",
        ),
        (
            api(domain={"name": "api.example.com", "hostedZoneId": ZONE, "basePath": "/v1"}),
            "ipRestrictedApi.domain.basePath",
            "not a base path",
        ),
        (
            api(domain={"name": "api.example.com", "hostedZoneId": ZONE, "basePath": "v1/orders"}),
            "ipRestrictedApi.domain.basePath",
            "one path segment",
        ),
        (
            api(vpcEndpointIds=["vpce-0123456789abcdef0"]),
            "ipRestrictedApi.vpcEndpointIds",
            "only a PRIVATE API",
        ),
        (
            api(endpointType="PRIVATE", vpcEndpointIds=["vpce-01234"]),
            "ipRestrictedApi.vpcEndpointIds[0]",
            "not a VPC endpoint id",
        ),
        (
            {
                **api(domain={"name": "www.example.com", "hostedZoneId": ZONE}),
                **edge(names=["www.example.com"], hostedZoneId=ZONE),
            },
            "ipRestrictedApi.domain.name",
            "also one of edge.domain.names",
        ),
    ],
)
def test_config_errors_name_the_key(synth_error, config: dict, key: str, says: str) -> None:
    message = synth_error(config)
    assert f"lambda-exposure:{key}: " in message
    assert says in message


# -- what only the account shows (looked up before any resource) ---------------------------------


def test_edge_name_outside_the_zone(synth_error) -> None:
    message = synth_error(edge(names=["www.example.com", "www.example.org"], hostedZoneId=ZONE))
    assert (
        "lambda-exposure:edge.domain.names[1]: 'www.example.org' is not in hosted zone "
        f"{ZONE} (example.com)"
    ) in message
    assert "names[0]" not in message


def test_a_name_that_only_ends_like_the_zone_is_outside_it(synth_error) -> None:
    message = synth_error(edge(names=["badexample.com"], hostedZoneId=ZONE))
    assert "lambda-exposure:edge.domain.names[0]: 'badexample.com' is not in hosted zone" in message


def test_edge_zone_must_be_public(synth_error) -> None:
    message = synth_error(
        edge(names=["www.example.com"], hostedZoneId=ZONE),
        call_overrides=zone_answer("example.com", private=True),
    )
    assert f"lambda-exposure:edge.domain.hostedZoneId: {ZONE} (example.com) is a private" in message


def test_api_name_outside_the_zone(synth_error) -> None:
    message = synth_error(
        api(domain={"name": "api.example.com", "hostedZoneId": ZONE}),
        call_overrides=zone_answer("other.example", private=False),
    )
    assert "lambda-exposure:ipRestrictedApi.domain.name: 'api.example.com' is not in" in message


def test_regional_domain_needs_a_public_zone(synth_error) -> None:
    message = synth_error(
        api(domain={"name": "api.internal.example.com", "hostedZoneId": PRIVATE_ZONE})
    )
    assert "lambda-exposure:ipRestrictedApi.domain.hostedZoneId:" in message
    assert "is a private hosted zone" in message


def test_private_domain_needs_a_private_zone(synth_error) -> None:
    domain = {
        "name": "api.example.com",
        "certificateArn": CERT.format(region="eu-west-1"),
        "hostedZoneId": ZONE,
    }
    message = synth_error(api(endpointType="PRIVATE", domain=domain))
    assert "lambda-exposure:ipRestrictedApi.domain.hostedZoneId:" in message
    assert "is a public hosted zone" in message


def test_private_domain_on_an_endpoint_that_is_not_execute_api(synth_error) -> None:
    # vpcEndpointIds pointing elsewhere: a Lambda endpoint cannot carry the API or its domain.
    lambda_endpoint = {
        "id": "vpce-0123456789abcdef0",
        "serviceName": "com.amazonaws.eu-west-1.lambda",
        "vpcEndpointType": "Interface",
        "state": "available",
        "dnsEntries": [],
    }
    domain = {"name": "api.internal.example.com", "certificateArn": CERT.format(region="eu-west-1")}
    message = synth_error(
        api(endpointType="PRIVATE", vpcEndpointIds=["vpce-0123456789abcdef0"], domain=domain),
        call_overrides={GET_ENDPOINT: lambda_endpoint},
    )
    assert (
        "lambda-exposure:ipRestrictedApi.vpcEndpointIds[0]: vpce-0123456789abcdef0 is a Interface "
        "endpoint for com.amazonaws.eu-west-1.lambda, not for com.amazonaws.eu-west-1.execute-api"
    ) in message


def test_an_endpoint_of_another_region_is_refused(synth_error) -> None:
    other = {
        "id": "vpce-0123456789abcdef0",
        "serviceName": "com.amazonaws.us-east-1.execute-api",
        "vpcEndpointType": "Interface",
        "state": "available",
    }
    message = synth_error(
        api(endpointType="PRIVATE", vpcEndpointIds=["vpce-0123456789abcdef0"]),
        call_overrides={GET_ENDPOINT: other},
    )
    assert "lambda-exposure:ipRestrictedApi.vpcEndpointIds[0]:" in message


def test_every_account_problem_is_reported_at_once(synth_error) -> None:
    message = synth_error(
        {
            **edge(names=["www.example.org"], hostedZoneId=ZONE),
            **api(domain={"name": "api.example.net", "hostedZoneId": ZONE}),
        }
    )
    assert "edge.domain.names[0]" in message and "ipRestrictedApi.domain.name" in message


# -- the rules themselves -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "zone", "inside"),
    [
        ("example.com", "example.com", True),
        ("www.example.com", "example.com", True),
        ("*.example.com", "example.com", True),
        ("a.b.example.com", "example.com.", True),
        ("www.example.com", "Example.COM", True),
        ("badexample.com", "example.com", False),
        ("example.com", "www.example.com", False),
        ("*.example.org", "example.com", False),
    ],
)
def test_in_zone(name: str, zone: str, inside: bool) -> None:
    assert in_zone(name, zone) is inside


def test_an_unreadable_zone_or_endpoint_names_its_key() -> None:
    use = ZoneUse("edge.domain.hostedZoneId", ZONE, (), private=False, why="")
    (line,) = zone_problems([use], {ZONE: "no matching Route 53 Hosted Zone found"})
    assert line.startswith(f"edge.domain.hostedZoneId: hosted zone {ZONE} could not be read")
    assert "route53:GetHostedZone" in line
    (line,) = endpoint_problems(["vpce-1a2b3c4d"], {"vpce-1a2b3c4d": "not found"}, "x")
    assert line.startswith("ipRestrictedApi.vpcEndpointIds[0]: vpce-1a2b3c4d could not be read")
    gone = {"vpce-1a2b3c4d": Endpoint("x", "Interface", "deleted")}
    (line,) = endpoint_problems(["vpce-1a2b3c4d"], gone, "x")
    assert "is deleted" in line
    assert zone_problems([use], {ZONE: Zone("example.com", private=False)}) == []
