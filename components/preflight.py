"""What only the account can tell about the config, asked before any resource is registered.

The config names a hosted zone by id, not by name, and existing VPC endpoints by id: whether the
domain names lie inside that zone, whether the zone is public or private, and whether each
endpoint is an execute-api interface endpoint are AWS's answers. ``preflight(config)`` asks
(read-only: ``route53:GetHostedZone``, ``ec2:DescribeVpcEndpoints``) and stops the program with
one message per problem, each naming its key, like a config error; ``pulumi preview`` already
shows them, since these lookups run before any resource. Only configs that use a domain with
a zone, or ``vpcEndpointIds``, look anything up.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.config import PROJECT, StackConfig
from components.config.domains import (
    Endpoint,
    Zone,
    endpoint_problems,
    zone_problems,
    zone_uses,
)


def _zone(zone_id: str) -> Zone | str:
    try:
        found = aws.route53.get_zone(zone_id=zone_id)
    except Exception as exc:  # the provider's own error names what went wrong
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return Zone(str(found.name or ""), bool(found.private_zone))


def _endpoint(endpoint_id: str) -> Endpoint | str:
    try:
        found = aws.ec2.get_vpc_endpoint(id=endpoint_id, region=None)
    except Exception as exc:
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return Endpoint(
        str(found.service_name or ""), str(found.vpc_endpoint_type or ""), str(found.state or "")
    )


def problems(config: StackConfig) -> list[str]:
    """One ``lambda-exposure:<key>: ...`` line per problem the account reveals."""
    edge, api = config.edge, config.ip_restricted_api
    uses = zone_uses(
        edge.domain if edge.enabled and edge.domain.enabled else None,
        api.domain if api.enabled and api.domain.enabled else None,
        api.private,
    )
    zones = {use.zone_id: _zone(use.zone_id) for use in uses}  # one lookup per zone
    lines = zone_problems(uses, zones)
    if api.enabled and api.vpc_endpoint_ids:
        from components.ip_restricted_api import execute_api_service_name

        endpoints = {i: _endpoint(i) for i in api.vpc_endpoint_ids}
        lines += endpoint_problems(
            api.vpc_endpoint_ids, endpoints, execute_api_service_name(config.region)
        )
    return [f"{PROJECT}:{line}" for line in lines]


def preflight(config: StackConfig) -> None:
    """Stop the program, before any resource, on what ``problems`` finds."""
    found = problems(config)
    if found:
        raise pulumi.RunError("invalid stack config:\n" + "\n".join(found))
