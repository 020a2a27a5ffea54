"""ipRestrictedApi.domain and ipRestrictedApi.vpcEndpointIds on the graph, through the real
``__main__.py``: the REGIONAL domain (certificate of the stack region, TLS 1.2, base path mapping,
alias records, the default endpoint turned off), the PRIVATE domain (its policy, the access
association, the mapping by domain id, the record in the private zone) and existing endpoints."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.api_policy import domain_policy
from components.config import parse_config
from components.quotas import api_policy_length
from tests.exposure_eval import GraphExposure
from tests.graph import DEPLOYMENT, REST_API, STAGE, VPC
from tests.graph import REST_API_POLICY as POLICY
from tests.graph import VPC_ENDPOINT as ENDPOINT
from tests.graph import VPC_ENDPOINT_POLICY as ENDPOINT_POLICY
from tests.policy_eval import Request, gateway_allows
from tests.samples import certificate_arn
from tools.synth import Synth

ZONE = "Z0123456789ABCDEFGHIJ"  # public example.com in the mocks' documentation zones
PRIVATE_ZONE = "Z0987654321ABCDEFGHIJ"  # private internal.example.com
CERT = certificate_arn("eu-west-1")  # the stack region of the tests
ENDPOINTS = ["vpce-0123456789abcdef0", "vpce-0fedcba9876543210"]
DOMAIN = "aws:apigateway/domainName:DomainName"
MAPPING = "aws:apigateway/basePathMapping:BasePathMapping"
ASSOCIATION = "aws:apigateway/domainNameAccessAssociation:DomainNameAccessAssociation"
CERTIFICATE = "aws:acm/certificate:Certificate"
VALIDATION = "aws:acm/certificateValidation:CertificateValidation"
RECORD = "aws:route53/record:Record"
GET_ENDPOINT = "aws:ec2/getVpcEndpoint:getVpcEndpoint"


@pytest.fixture
def synth(synth_shared):
    """No test here patches the program: every graph of this module is a shared synthesis."""
    return synth_shared


def api_with(**options: Any) -> dict[str, Any]:
    return {"ipRestrictedApi": {"enabled": True, **options}}


def regional(**domain: Any) -> dict[str, Any]:
    return {"name": "api.example.com", "hostedZoneId": ZONE, **domain}


def private(**domain: Any) -> dict[str, Any]:
    return {
        "name": "api.internal.example.com",
        "certificateArn": CERT,
        "hostedZoneId": PRIVATE_ZONE,
        **domain,
    }


def alias_records(result: Synth) -> dict[str, Any]:
    return {r.inputs["type"]: r for r in result.of_type(RECORD) if r.inputs["type"] != "CNAME"}


# -- REGIONAL ------------------------------------------------------------------------------------


def test_regional_domain_has_a_validated_certificate_of_the_stack_region(synth) -> None:
    result = synth(api_with(domain=regional()), region="eu-central-1")
    certificate, validation = result.one(CERTIFICATE), result.one(VALIDATION)
    # No region sent: the provider's, which is the stack's (where a REGIONAL domain needs it).
    assert certificate.inputs.get("region") is None and validation.inputs.get("region") is None
    assert certificate.outputs["arn"].split(":")[3] == "eu-central-1"
    assert certificate.inputs["domainName"] == "api.example.com"
    assert certificate.inputs["validationMethod"] == "DNS"
    (option,) = certificate.outputs["domainValidationOptions"]
    (cname,) = [r for r in result.of_type(RECORD) if r.inputs["type"] == "CNAME"]
    assert cname.inputs["name"] == option["resourceRecordName"]
    assert cname.inputs["records"] == [option["resourceRecordValue"]]
    assert cname.inputs["zoneId"] == ZONE
    domain = result.one(DOMAIN)
    assert domain.inputs["regionalCertificateArn"] == validation.outputs["certificateArn"]
    assert result.depends_on(domain, validation)


def test_regional_domain_inputs_mapping_and_alias_record(synth) -> None:
    result = synth(api_with(domain=regional(basePath="v1")))
    domain = result.one(DOMAIN)
    assert domain.inputs["domainName"] == "api.example.com"
    assert domain.inputs["endpointConfiguration"] == {"types": "REGIONAL", "ipAddressType": "ipv4"}
    assert domain.inputs["securityPolicy"] == "TLS_1_2"
    assert "certificateArn" not in domain.inputs and "policy" not in domain.inputs
    api, stage, mapping = result.one(REST_API), result.one(STAGE), result.one(MAPPING)
    assert mapping.inputs["restApi"] == api.outputs["id"]
    assert mapping.inputs["stageName"] == stage.inputs["stageName"]
    assert mapping.inputs["domainName"] == "api.example.com"
    assert mapping.inputs["basePath"] == "v1"
    assert "domainNameId" not in mapping.inputs
    records = alias_records(result)
    assert set(records) == {"A"}  # an IPv4-only API: no AAAA
    assert records["A"].inputs["zoneId"] == ZONE
    assert records["A"].inputs["name"] == "api.example.com"
    assert records["A"].inputs["aliases"] == [
        {
            "name": domain.outputs["regionalDomainName"],
            "zoneId": domain.outputs["regionalZoneId"],
            "evaluateTargetHealth": False,
        }
    ]
    assert result.outputs["apiDomainUrl"] == "https://api.example.com/v1"
    assert result.outputs["apiUrl"] == stage.outputs["invokeUrl"]


def test_an_ipv6_api_gets_a_dual_stack_domain_and_an_aaaa_record(synth) -> None:
    result = synth(api_with(allow=["198.51.100.0/24", "2001:db8::/32"], domain=regional()))
    assert result.one(REST_API).inputs["endpointConfiguration"]["ipAddressType"] == "dualstack"
    domain = result.one(DOMAIN)
    assert domain.inputs["endpointConfiguration"]["ipAddressType"] == "dualstack"
    records = alias_records(result)
    assert set(records) == {"A", "AAAA"}
    assert records["AAAA"].inputs["aliases"] == records["A"].inputs["aliases"]
    assert not result.one(MAPPING).inputs.get("basePath")  # the domain's root
    assert result.outputs["apiDomainUrl"] == "https://api.example.com"


def test_given_certificate_without_zone_requests_nothing_and_writes_no_record(synth) -> None:
    result = synth(api_with(domain={"name": "api.example.com", "certificateArn": CERT}))
    assert not result.of_type(CERTIFICATE) and not result.of_type(RECORD)
    assert result.one(DOMAIN).inputs["regionalCertificateArn"] == CERT
    assert result.one(MAPPING).inputs["domainName"] == "api.example.com"


def test_default_endpoint_off_is_sent_and_redeploys(synth) -> None:
    on = synth(api_with(domain=regional()))
    off = synth(api_with(domain=regional(disableDefaultEndpoint=True)))
    assert "disableExecuteApiEndpoint" not in on.one(REST_API).inputs
    assert off.one(REST_API).inputs["disableExecuteApiEndpoint"] is True
    # It takes effect with a new deployment: the triggers change with it.
    on_triggers = on.one(DEPLOYMENT).inputs["triggers"]
    off_triggers = off.one(DEPLOYMENT).inputs["triggers"]
    assert set(on_triggers) == {"policy", "routes"}
    assert off_triggers == {**on_triggers, "defaultEndpoint": "disabled"}


def test_the_resource_policy_binds_requests_through_the_domain(synth) -> None:
    # The same document with or without the domain: the API's policy is what authorizes the
    # requests the domain routes to the stage, so the allow-list holds on the domain URL.
    plain = synth(api_with(allow=["198.51.100.0/24"]))
    result = synth(
        api_with(allow=["198.51.100.0/24"], domain=regional(disableDefaultEndpoint=True))
    )
    assert result.one(POLICY).inputs["policy"] == plain.one(POLICY).inputs["policy"]
    policy = json.loads(result.one(POLICY).inputs["policy"])
    arn = f"{result.one(REST_API).outputs['executionArn']}/api/GET/orders"
    assert gateway_allows(policy, Request(resource=arn, source_ip="198.51.100.7"))
    assert not gateway_allows(policy, Request(resource=arn, source_ip="192.0.2.7"))
    graph = GraphExposure(result)
    assert graph.entry_urls("ipRestrictedApi") == {"https://api.example.com"}
    assert graph.api("app", "/orders", "GET", "198.51.100.7")
    assert not graph.api("app", "/orders", "GET", "192.0.2.7")
    (row,) = [r for r in result.outputs["exposure"] if r["entry"] == "ipRestrictedApi"]
    assert row["url"] == "https://api.example.com"


def test_exposure_row_lists_the_domain_and_the_default_url_while_both_answer(synth) -> None:
    result = synth(api_with(domain=regional()))
    (row,) = [r for r in result.outputs["exposure"] if r["entry"] == "ipRestrictedApi"]
    assert row["url"] == ["https://api.example.com", result.outputs["apiUrl"]]


# -- PRIVATE, with the stack's endpoint ------------------------------------------------------------


def test_private_domain_policy_association_mapping_and_private_record(synth) -> None:
    result = synth(api_with(endpointType="PRIVATE", domain=private()))
    endpoint = result.one(ENDPOINT)
    endpoint_id = endpoint.outputs["id"]
    domain = result.one(DOMAIN)
    assert domain.inputs["certificateArn"] == CERT  # given: ACM cannot validate in a private zone
    assert "regionalCertificateArn" not in domain.inputs
    assert domain.inputs["endpointConfiguration"] == {"types": "PRIVATE"}
    assert domain.inputs["securityPolicy"] == "TLS_1_2"
    assert json.loads(domain.inputs["policy"]) == domain_policy(endpoint_id)
    statements = {s["Sid"]: s for s in json.loads(domain.inputs["policy"])["Statement"]}
    assert statements["AllowInvokeThroughVpcEndpoint"]["Condition"] == {
        "StringEquals": {"aws:SourceVpce": endpoint_id}
    }
    assert statements["DenyOutsideVpcEndpoint"]["Effect"] == "Deny"
    assert statements["DenyOutsideVpcEndpoint"]["Condition"] == {
        "StringNotEquals": {"aws:SourceVpce": endpoint_id}
    }
    assert all(s["Resource"] == ["execute-api:/*"] for s in statements.values())
    association = result.one(ASSOCIATION)
    assert association.inputs == {
        "domainNameArn": domain.outputs["arn"],
        "accessAssociationSource": endpoint_id,
        "accessAssociationSourceType": "VPCE",
    }
    mapping = result.one(MAPPING)
    assert mapping.inputs["domainNameId"] == domain.outputs["domainNameId"]
    assert mapping.inputs["domainName"] == "api.internal.example.com"
    records = alias_records(result)
    assert set(records) == {"A"}
    entry = endpoint.outputs["dnsEntries"][0]
    assert records["A"].inputs["zoneId"] == PRIVATE_ZONE
    assert records["A"].inputs["aliases"] == [
        {"name": entry["dnsName"], "zoneId": entry["hostedZoneId"], "evaluateTargetHealth": False}
    ]
    assert not result.of_type(CERTIFICATE)
    assert result.outputs["apiDomainUrl"] == "https://api.internal.example.com"


def test_private_endpoint_policy_also_lets_the_domain_through(synth) -> None:
    result = synth(api_with(endpointType="PRIVATE", domain=private()))
    domain = result.one(DOMAIN)
    domain_arn = domain.outputs["arn"].replace(":apigateway:", ":execute-api:")
    (statement,) = json.loads(result.one(ENDPOINT_POLICY).inputs["policy"])["Statement"]
    api_arn = result.one(REST_API).outputs["executionArn"]
    assert statement["Resource"] == [f"{api_arn}/*", domain_arn, f"{domain_arn}/*"]
    # Without a domain the endpoint policy is what it was.
    plain = synth(api_with(endpointType="PRIVATE"))
    (statement,) = json.loads(plain.one(ENDPOINT_POLICY).inputs["policy"])["Statement"]
    assert statement["Resource"] == f"{plain.one(REST_API).outputs['executionArn']}/*"


# -- PRIVATE, through existing endpoints (vpcEndpointIds) ---------------------------------------


def test_existing_endpoints_replace_the_stacks_own(synth) -> None:
    result = synth(api_with(endpointType="PRIVATE", vpcEndpointIds=ENDPOINTS))
    assert not result.of_type(ENDPOINT) and not result.of_type(ENDPOINT_POLICY)
    assert not result.of_type(VPC)  # the API needs no network of its own
    assert result.one(REST_API).inputs["endpointConfiguration"] == {
        "types": "PRIVATE",
        "vpcEndpointIds": ENDPOINTS,
    }
    statements = {s["Sid"]: s for s in json.loads(result.one(POLICY).inputs["policy"])["Statement"]}
    assert statements["AllowInvoke"]["Condition"] == {"StringEquals": {"aws:SourceVpce": ENDPOINTS}}
    assert statements["DenyOutsideVpcEndpoint"]["Condition"] == {
        "StringNotEquals": {"aws:SourceVpce": ENDPOINTS}
    }
    # Each one was checked to be an execute-api endpoint before anything was registered.
    assert sorted(a["id"] for t, a in result.calls if t == GET_ENDPOINT) == sorted(ENDPOINTS)


def test_one_existing_endpoint_reads_like_the_stacks_own_in_the_policy(synth) -> None:
    result = synth(api_with(endpointType="PRIVATE", vpcEndpointIds=ENDPOINTS[:1]))
    statements = {s["Sid"]: s for s in json.loads(result.one(POLICY).inputs["policy"])["Statement"]}
    assert statements["AllowInvoke"]["Condition"] == {
        "StringEquals": {"aws:SourceVpce": ENDPOINTS[0]}
    }


def test_private_domain_on_existing_endpoints_associates_each_one(synth) -> None:
    result = synth(api_with(endpointType="PRIVATE", vpcEndpointIds=ENDPOINTS, domain=private()))
    domain = result.one(DOMAIN)
    associations = {a.inputs["accessAssociationSource"]: a for a in result.of_type(ASSOCIATION)}
    assert sorted(associations) == sorted(ENDPOINTS)
    assert all(a.inputs["domainNameArn"] == domain.outputs["arn"] for a in associations.values())
    assert json.loads(domain.inputs["policy"]) == domain_policy(ENDPOINTS)
    # The record points at the first endpoint, whose DNS name is looked up.
    from tools.synth import _get_vpc_endpoint

    entry = _get_vpc_endpoint({"id": ENDPOINTS[0]}, "eu-west-1")["dnsEntries"][0]
    (record,) = alias_records(result).values()
    assert record.inputs["aliases"][0]["name"] == entry["dnsName"]
    assert record.inputs["aliases"][0]["zoneId"] == entry["hostedZoneId"]


def test_policy_length_is_counted_with_the_listed_endpoints(synth) -> None:
    raw = api_with(endpointType="PRIVATE", vpcEndpointIds=ENDPOINTS, allow=["10.0.0.0/8"])
    result = synth(raw)
    config = parse_config(raw, "eu-west-1")
    assert api_policy_length(config) == len(result.one(POLICY).inputs["policy"])


def test_stack_endpoint_policy_is_unchanged_by_the_option(synth) -> None:
    result = synth(api_with(endpointType="PRIVATE"))
    endpoint_id = result.one(ENDPOINT).outputs["id"]
    statements = {s["Sid"]: s for s in json.loads(result.one(POLICY).inputs["policy"])["Statement"]}
    assert statements["AllowInvoke"]["Condition"] == {
        "StringEquals": {"aws:SourceVpce": endpoint_id}
    }
    assert GET_ENDPOINT not in [token for token, _ in result.calls]
