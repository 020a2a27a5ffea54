"""``ipRestrictedApi.domain``: the REST API's custom domain name, REGIONAL or PRIVATE.

Built in two steps, because the domain and the stage need each other's neighbours: the domain
(and its certificate) before the VPC endpoint's policy, which names a PRIVATE domain, and the
base path mapping and DNS records after the stage they point at.

- REGIONAL: a regional domain name (certificate of the stack region, TLS 1.2 security policy,
  IPv6 when the API has it), the stage mapped under ``basePath``, an alias A (and AAAA) record to
  the domain's regional endpoint. The API's own resource policy still decides who gets in: API
  Gateway strips the base path and invokes the mapped stage's resource ("Use API mappings to
  connect API stages to a custom domain name for REST APIs",
  https://docs.aws.amazon.com/apigateway/latest/developerguide/rest-api-mappings.html), which
  the API's policy authorizes as ``<api>/<stage>/<METHOD>/<path>``, as for a request to the
  ``execute-api`` URL (resource policies apply to "any API endpoint type",
  https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-resource-policies.html;
  that the policy binds the custom domain's requests is how we read the two, not a sentence of
  the docs).
- PRIVATE: a private custom domain name with its own ``execute-api`` policy (only through the
  admitted VPC endpoints), a domain name access association per endpoint (without one an
  endpoint cannot reach the domain), the mapping with the domain's id, and an alias record in a
  private hosted zone to the first endpoint's DNS name ("Custom domain names for private APIs",
  https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-private-custom-domains.html;
  Route 53: "You create a Route 53 alias record that routes traffic to your private API endpoint
  using an interface VPC endpoint for API Gateway in a private hosted zone",
  https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/routing-to-api-gateway.html).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.api_policy import domain_policy
from components.certificates import (
    AliasSpec,
    CertificateSpec,
    alias_records,
    dns_validated_certificate,
)
from components.config import ApiDomainConfig, IpRestrictedApiConfig

# Clients need TLS 1.2 or later (API DomainName, securityPolicy:
# https://docs.aws.amazon.com/apigateway/latest/api/API_DomainName.html). The newer
# "SecurityPolicy_*" policies (TLS 1.3) come with an endpoint access mode this program does
# not manage; a change here is one constant.
SECURITY_POLICY = "TLS_1_2"


@dataclass(frozen=True)
class ApiDomainSpec:
    """What the domain needs of the API around it."""

    name: str  # the component's name: <name>-domain, <name>-base-path, ...
    config: ApiDomainConfig
    private: bool
    dualstack: bool  # REGIONAL: the API takes IPv6 clients, so the domain does too
    # PRIVATE: (logical-name suffix, endpoint id) of every endpoint admitted to the domain;
    # the first one also gets the DNS record.
    endpoints: Sequence[tuple[str, pulumi.Input[str]]]
    parent: pulumi.Resource


def domain_spec(
    name: str,
    config: IpRestrictedApiConfig,
    own_endpoint: pulumi.Input[str] | None,
    *,
    dualstack: bool,
    parent: pulumi.Resource,
) -> ApiDomainSpec:
    """The spec of the API's domain; ``own_endpoint``: the stack's endpoint, if it made one."""
    endpoints: list[tuple[str, pulumi.Input[str]]] = []
    if config.private:
        # Logical names: the stack's endpoint has one association, existing ones one each.
        endpoints = (
            [("", own_endpoint)]
            if own_endpoint is not None
            else [(f"-{i}", i) for i in config.vpc_endpoint_ids]
        )
    return ApiDomainSpec(name, config.domain, config.private, dualstack, endpoints, parent)


def endpoint_dns(
    spec: ApiDomainSpec, own_endpoint: aws.ec2.VpcEndpoint | None
) -> pulumi.Output[tuple[str, str]] | None:
    """PRIVATE: (DNS name, hosted zone id) of the first admitted endpoint, the record's target."""
    if not spec.private:
        return None
    if own_endpoint is not None:
        entries = own_endpoint.dns_entries
    else:
        _, first = spec.endpoints[0]
        entries = aws.ec2.get_vpc_endpoint_output(
            id=first, region=None, opts=pulumi.InvokeOutputOptions(parent=spec.parent)
        ).dns_entries
    # The first entry is the endpoint's regional name (the others are per zone).
    return entries.apply(lambda e: (str(e[0].dns_name), str(e[0].hosted_zone_id)))


def _endpoint_ids(spec: ApiDomainSpec) -> pulumi.Output[list[str]]:
    return pulumi.Output.all(*[endpoint_id for _, endpoint_id in spec.endpoints]).apply(list)


def api_domain_name(spec: ApiDomainSpec) -> aws.apigateway.DomainName:
    """The domain name (and its certificate, when the program requests it)."""
    config, here = spec.config, pulumi.ResourceOptions(parent=spec.parent)
    certificate: pulumi.Input[str] = config.certificate_arn
    if not certificate:
        # The config refuses a PRIVATE domain without certificateArn: its zone is private.
        certificate = dns_validated_certificate(
            CertificateSpec(
                f"{spec.name}-domain",
                [config.name],
                config.hosted_zone_id,
                region=None,
                parent=spec.parent,
            )
        )
    if spec.private:
        return aws.apigateway.DomainName(
            f"{spec.name}-domain",
            domain_name=config.name,
            certificate_arn=certificate,
            endpoint_configuration={"types": "PRIVATE"},
            security_policy=SECURITY_POLICY,
            policy=_endpoint_ids(spec).apply(lambda ids: json.dumps(domain_policy(ids))),
            region=None,
            opts=here,
        )
    return aws.apigateway.DomainName(
        f"{spec.name}-domain",
        domain_name=config.name,
        regional_certificate_arn=certificate,
        endpoint_configuration={
            "types": "REGIONAL",
            "ip_address_type": "dualstack" if spec.dualstack else "ipv4",
        },
        security_policy=SECURITY_POLICY,
        region=None,
        opts=here,
    )


def execute_api_arn(domain: aws.apigateway.DomainName) -> pulumi.Output[str]:
    """A PRIVATE domain's ARN as ``execute-api`` policies name it: its management ARN
    (``arn:<p>:apigateway:<region>:<account>:/domainnames/<name>+<id>``) under the
    ``execute-api`` service."""
    return domain.arn.apply(lambda arn: arn.replace(":apigateway:", ":execute-api:", 1))


def map_api_domain(
    spec: ApiDomainSpec,
    domain: aws.apigateway.DomainName,
    api: aws.apigateway.RestApi,
    stage: aws.apigateway.Stage,
    endpoint_dns: pulumi.Output[tuple[str, str]] | None,
) -> None:
    """The stage under the domain, the associations (PRIVATE) and the DNS record.

    ``endpoint_dns``: PRIVATE, the (DNS name, hosted zone id) of the first endpoint.
    """
    config, here = spec.config, pulumi.ResourceOptions(parent=spec.parent)
    if spec.private:
        for suffix, endpoint_id in spec.endpoints:
            aws.apigateway.DomainNameAccessAssociation(
                f"{spec.name}-domain-access{suffix}",
                domain_name_arn=domain.arn,
                access_association_source=endpoint_id,
                access_association_source_type="VPCE",
                region=None,
                opts=here,
            )
    aws.apigateway.BasePathMapping(
        f"{spec.name}-base-path",
        rest_api=api.id,
        stage_name=stage.stage_name,
        domain_name=domain.domain_name,
        # A private domain name is not unique in the region (other accounts may share it):
        # its mapping names the domain by id as well.
        domain_name_id=domain.domain_name_id if spec.private else None,
        base_path=config.base_path or None,
        region=None,
        opts=here,
    )
    if not config.hosted_zone_id:
        return
    if spec.private:
        assert endpoint_dns is not None, "a PRIVATE domain's record points at its endpoint"
        target_name = endpoint_dns.apply(lambda dns: dns[0])
        target_zone = endpoint_dns.apply(lambda dns: dns[1])
    else:
        target_name, target_zone = domain.regional_domain_name, domain.regional_zone_id
    alias_records(
        AliasSpec(
            f"{spec.name}-domain",
            [config.name],
            config.hosted_zone_id,
            target_name=target_name,
            target_zone_id=target_zone,
            # A PRIVATE endpoint answers IPv6 only in dual-stack subnets; the stack's VPC
            # is IPv4, so one A record.
            ipv6=spec.dualstack and not spec.private,
            parent=spec.parent,
        )
    )
