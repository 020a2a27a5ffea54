"""edge.domain on the graph: aliases, the us-east-1 certificate (given, or requested and validated
by DNS), the viewer certificate settings and the Route 53 alias records, through the real
``__main__.py`` (``synth``)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.graph import DISTRIBUTION
from tests.samples import certificate_arn
from tools.synth import Synth

ZONE = "Z0123456789ABCDEFGHIJ"  # example.com in the mocks' documentation zones
CERT_US = certificate_arn("us-east-1")
CERTIFICATE = "aws:acm/certificate:Certificate"
VALIDATION = "aws:acm/certificateValidation:CertificateValidation"
RECORD = "aws:route53/record:Record"
GET_ZONE = "aws:route53/getZone:getZone"
CLOUDFRONT_ZONE = "Z2FDTNDATAQYW2"  # the hosted zone of every CloudFront distribution


@pytest.fixture
def synth(synth_shared):
    """No test here patches the program: every graph of this module is a shared synthesis."""
    return synth_shared


def edge_with(**domain: Any) -> dict[str, Any]:
    return {"edge": {"enabled": True, "domain": domain}}


def records(result: Synth, record_type: str) -> dict[str, Any]:
    return {r.inputs["name"]: r for r in result.of_type(RECORD) if r.inputs["type"] == record_type}


def test_requested_certificate_is_made_in_us_east_1_whatever_the_stack_region(synth) -> None:
    names = ["www.example.com", "*.example.com", "example.com"]
    result = synth(edge_with(names=names, hostedZoneId=ZONE), region="eu-central-1")
    certificate = result.one(CERTIFICATE)
    assert certificate.inputs["region"] == "us-east-1"
    assert certificate.inputs["domainName"] == "www.example.com"
    assert certificate.inputs["subjectAlternativeNames"] == ["*.example.com", "example.com"]
    assert certificate.inputs["validationMethod"] == "DNS"
    validation = result.one(VALIDATION)
    assert validation.inputs["region"] == "us-east-1"
    assert validation.inputs["certificateArn"] == certificate.outputs["arn"]


def test_one_validation_record_per_distinct_name_with_acms_values(synth) -> None:
    # *.example.com and example.com share ACM's record: two records for three names.
    names = ["www.example.com", "*.example.com", "example.com"]
    result = synth(edge_with(names=names, hostedZoneId=ZONE))
    options = {
        o["domainName"]: o for o in result.one(CERTIFICATE).outputs["domainValidationOptions"]
    }
    cnames = records(result, "CNAME")
    assert len(cnames) == 2
    for base in ("www.example.com", "example.com"):
        option = options[base]
        record = cnames[option["resourceRecordName"]]
        assert record.inputs["zoneId"] == ZONE
        assert record.inputs["records"] == [option["resourceRecordValue"]]
        assert record.inputs["type"] == option["resourceRecordType"] == "CNAME"
        assert record.inputs["allowOverwrite"] is True
    assert (
        options["*.example.com"]["resourceRecordName"]
        == (options["example.com"]["resourceRecordName"])
    )
    validation = result.one(VALIDATION)
    assert sorted(validation.inputs["validationRecordFqdns"]) == sorted(
        r.outputs["fqdn"] for r in cnames.values()
    )


def test_distribution_takes_the_names_the_validated_certificate_and_tls_1_2(synth) -> None:
    names = ["www.example.com", "example.com"]
    result = synth(edge_with(names=names, hostedZoneId=ZONE))
    distribution = result.one(DISTRIBUTION)
    validation = result.one(VALIDATION)
    assert distribution.inputs["aliases"] == names
    assert distribution.inputs["viewerCertificate"] == {
        "acmCertificateArn": validation.outputs["certificateArn"],
        "sslSupportMethod": "sni-only",
        "minimumProtocolVersion": "TLSv1.2_2021",
    }
    # CloudFront refuses a certificate ACM has not issued: the distribution waits for it.
    assert result.depends_on(distribution, validation)


def test_alias_a_and_aaaa_records_point_the_names_at_the_distribution(synth) -> None:
    names = ["www.example.com", "*.example.com"]
    result = synth(edge_with(names=names, hostedZoneId=ZONE))
    distribution = result.one(DISTRIBUTION)
    assert distribution.inputs["isIpv6Enabled"] is True  # so AAAA records too
    for record_type in ("A", "AAAA"):
        found = records(result, record_type)
        assert sorted(found) == sorted(names)
        for record in found.values():
            assert record.inputs["zoneId"] == ZONE
            assert record.inputs["aliases"] == [
                {
                    "name": distribution.outputs["domainName"],
                    "zoneId": CLOUDFRONT_ZONE,
                    "evaluateTargetHealth": False,
                }
            ]
            # Someone else's record of that name is never taken over silently.
            assert not record.inputs.get("allowOverwrite")
    assert distribution.outputs["hostedZoneId"] == CLOUDFRONT_ZONE
    # The wildcard's records get logical names no configured name can collide with.
    assert {r.name for r in result.of_type(RECORD) if r.inputs["name"] == "*.example.com"} == {
        "edge-alias-a-_wildcard.example.com",
        "edge-alias-aaaa-_wildcard.example.com",
    }


def test_given_certificate_is_used_as_is_and_nothing_is_requested(synth) -> None:
    result = synth(edge_with(names=["www.example.com"], certificateArn=CERT_US))
    assert not result.of_type(CERTIFICATE) and not result.of_type(VALIDATION)
    assert result.one(DISTRIBUTION).inputs["viewerCertificate"]["acmCertificateArn"] == CERT_US
    # Without a zone the program neither looks one up nor writes records: DNS is yours.
    assert not result.of_type(RECORD)
    assert GET_ZONE not in [token for token, _ in result.calls]


def test_given_certificate_with_a_zone_gets_alias_records_only(synth) -> None:
    result = synth(edge_with(names=["www.example.com"], certificateArn=CERT_US, hostedZoneId=ZONE))
    assert not result.of_type(CERTIFICATE)
    assert sorted(r.inputs["type"] for r in result.of_type(RECORD)) == ["A", "AAAA"]
    assert (GET_ZONE, {"zoneId": ZONE}) in result.calls


def test_outputs_list_the_domain_urls_and_the_exposure_row_names_them(synth) -> None:
    names = ["www.example.com", "*.example.com", "example.com"]
    result = synth(edge_with(names=names, hostedZoneId=ZONE))
    urls = ["https://www.example.com/", "https://example.com/"]  # a wildcard is not a URL
    assert result.outputs["edgeDomainUrls"] == urls
    (row,) = [r for r in result.outputs["exposure"] if r["entry"] == "edge"]
    # The distribution's own name keeps answering too.
    assert row["url"] == [*urls, result.outputs["edgeUrl"]]


def test_without_a_domain_nothing_changes(synth) -> None:
    result = synth({"edge": {"enabled": True}})
    distribution = result.one(DISTRIBUTION)
    assert distribution.inputs["viewerCertificate"] == {"cloudfrontDefaultCertificate": True}
    assert "aliases" not in distribution.inputs
    assert not result.of_type(CERTIFICATE) and not result.of_type(RECORD)
    assert "edgeDomainUrls" not in result.outputs
    assert GET_ZONE not in [token for token, _ in result.calls]


def test_domain_of_a_disabled_edge_creates_nothing(synth) -> None:
    result = synth({"edge": {"domain": {"names": ["www.example.com"], "hostedZoneId": ZONE}}})
    assert not result.of_type(DISTRIBUTION) and not result.of_type(RECORD)
    assert GET_ZONE not in [token for token, _ in result.calls]
