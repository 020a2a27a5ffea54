"""Certificates and DNS records for custom domains, shared by ``edge`` and ``ipRestrictedApi``.

- ``dns_validated_certificate``: an ACM certificate requested in an explicit region (us-east-1
  for CloudFront, the stack's for an API), one Route 53 validation record per distinct name, and
  the ``CertificateValidation`` that waits until ACM has issued it. Its ARN is what the
  distribution or the API domain takes, so neither is created with a certificate still pending.
- ``alias_records``: Route 53 alias A (and AAAA) records of names to a target (a distribution,
  a regional API domain, a VPC endpoint).

No resource is created inside ``.apply()``: ACM's validation options are known only after the
certificate exists, but how many records they need is known from the config (one per distinct
name, a wildcard sharing its base's record), so each record is declared up front and only its
name and value come from the certificate. The same rule as the ``terraform-aws-modules/acm``
module's ``distinct_domain_names``
(https://github.com/terraform-aws-modules/terraform-aws-acm, ``main.tf``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import pulumi
import pulumi_aws as aws

from components.config.domains import base_name

# Validation records change only when a name does; a short TTL lets ACM see a fixed one soon.
VALIDATION_TTL = 300


@dataclass(frozen=True)
class CertificateSpec:
    """A certificate for ``names``, validated by DNS in the hosted zone ``zone_id``."""

    name: str  # logical name prefix: <name>-cert, <name>-cert-validation[-<base>]
    names: Sequence[str]  # the first is the subject; wildcards allowed
    zone_id: str
    region: str | None  # where the certificate must live (None: the provider's region)
    parent: pulumi.Resource


def validation_names(names: Sequence[str]) -> list[str]:
    """The distinct names that each need one validation record, in config order.

    ACM asks for the same CNAME for ``*.example.com`` and ``example.com``: one record serves
    both, and a second one of the same name would fail ("already exists").
    """
    return list(dict.fromkeys(base_name(n) for n in names))


def _option_for(options: Sequence[Any], base: str) -> Any:
    for option in options:
        if base_name(option.domain_name) == base:
            return option
    raise ValueError(f"ACM returned no validation option for {base!r}")


def dns_validated_certificate(spec: CertificateSpec) -> pulumi.Output[str]:
    """The certificate's ARN, resolved only once ACM has issued it."""
    here = pulumi.ResourceOptions(parent=spec.parent)
    names = list(spec.names)
    certificate = aws.acm.Certificate(
        f"{spec.name}-cert",
        domain_name=names[0],
        subject_alternative_names=names[1:] or None,
        validation_method="DNS",
        region=spec.region,
        opts=here,
    )
    records = []
    for base in validation_names(names):
        option = certificate.domain_validation_options.apply(partial(_option_for, base=base))
        records.append(
            aws.route53.Record(
                f"{spec.name}-cert-validation-{base}",
                zone_id=spec.zone_id,
                name=option.apply(lambda o: o.resource_record_name),
                type=option.apply(lambda o: o.resource_record_type),
                records=[option.apply(lambda o: o.resource_record_value)],
                ttl=VALIDATION_TTL,
                # The record is ACM's, the same for every certificate of this name in the
                # account: another certificate (an earlier one of this stack, another stack's)
                # may have written it already.
                allow_overwrite=True,
                opts=here,
            )
        )
    validation = aws.acm.CertificateValidation(
        f"{spec.name}-cert-validation",
        certificate_arn=certificate.arn,
        validation_record_fqdns=[r.fqdn for r in records],
        region=spec.region,
        opts=here,
    )
    return validation.certificate_arn


@dataclass(frozen=True)
class AliasSpec:
    """Alias records of ``names`` in ``zone_id`` to one target."""

    name: str  # logical name prefix: <name>-a-<dns name>, <name>-aaaa-<dns name>
    names: Sequence[str]
    zone_id: str
    target_name: pulumi.Input[str]
    target_zone_id: pulumi.Input[str]
    ipv6: bool  # AAAA records too: the target answers IPv6
    parent: pulumi.Resource


def record_label(name: str) -> str:
    """A logical-name part for a DNS name: ``*.example.com`` -> ``_wildcard.example.com`` (a
    label no configured name can have, so two names never share a logical name)."""
    return "_wildcard" + name[1:] if name.startswith("*.") else name


def alias_records(spec: AliasSpec) -> list[aws.route53.Record]:
    """One A record per name (and one AAAA record with ``ipv6``), aliased to the target.

    No ``allow_overwrite``: a record of that name that someone else made (a website's, another
    stack's) makes ``pulumi up`` fail instead of being taken over silently.
    """
    here = pulumi.ResourceOptions(parent=spec.parent)
    types = ("A", "AAAA") if spec.ipv6 else ("A",)
    return [
        aws.route53.Record(
            f"{spec.name}-{record_type.lower()}-{record_label(dns_name)}",
            zone_id=spec.zone_id,
            name=dns_name,
            type=record_type,
            aliases=[
                {
                    "name": spec.target_name,
                    "zone_id": spec.target_zone_id,
                    # An alias to CloudFront, an API domain or an endpoint has no health of
                    # its own for Route 53 to evaluate: there is no other record to fail over to.
                    "evaluate_target_health": False,
                }
            ],
            opts=here,
        )
        for dns_name in spec.names
        for record_type in types
    ]


def viewer_certificate(
    certificate_arn: pulumi.Input[str],
) -> aws.cloudfront.DistributionViewerCertificateArgsDict:
    """CloudFront's certificate for the aliases: SNI (supported by clients released after
    2010; a dedicated IP per edge location carries a monthly charge: "Choose how CloudFront
    serves HTTPS requests",
    https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cnames-https-dedicated-ip-or-sni.html)
    and TLS 1.2 at least (security policy ``TLSv1.2_2021``)."""
    return {
        "acm_certificate_arn": certificate_arn,
        "ssl_support_method": "sni-only",
        "minimum_protocol_version": "TLSv1.2_2021",
    }
