"""PrivateLambdaEndpoint: an interface VPC endpoint for the Lambda API, and who may use it.

After the Lambda guide's *Connecting inbound interface VPC endpoints for Lambda*:
callers inside the VPC (or a peered VPC) invoke the functions through an AWS
PrivateLink endpoint for ``com.amazonaws.<region>.lambda``, without an internet gateway or NAT.
The endpoint policy names the principals, the actions and the functions: both the unqualified
ARN and ``<arn>:*`` (every version and alias), as that guide requires.

The guide's arrows, in build order:
  caller (VPC CIDR, peered CIDRs) → security group (443) → endpoint ENIs, one per private
  subnet / AZ → endpoint policy → Lambda API (Invoke) → exposed functions.

Only the Lambda *API* goes through this endpoint: function URLs (``*.lambda-url.*.on.aws``) are
public-internet only and are not reachable through it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.component import Component
from components.config import PrivateEndpointConfig, is_account_id
from components.function import ExposedFunction
from components.network import InterfaceEndpointSpec, Network, interface_endpoint

INVOKE_ACTION = "lambda:InvokeFunction"


@dataclass(frozen=True)
class PrivateLambdaEndpointArgs:
    config: PrivateEndpointConfig
    functions: Sequence[ExposedFunction]
    network: Network
    region: str  # the stack's: the endpoint serves this region's Lambda API


def lambda_endpoint_service_name(region: str) -> str:
    """The PrivateLink service name of the Lambda API in ``region``.

    The China regions prefix the reverse-DNS name with ``cn.`` (``cn.com.amazonaws.cn-north-1.
    lambda``, as DescribeVpcEndpointServices lists it); every other partition uses
    ``com.amazonaws.<region>.lambda``.
    """
    prefix = "cn.com.amazonaws" if region.startswith("cn-") else "com.amazonaws"
    return f"{prefix}.{region}.lambda"


def principal_arns(configured: Sequence[str], account_id: str, partition: str) -> list[str]:
    """The endpoint policy's principals: the configured ones, or this account by default.

    A bare account id is written as its ``:root`` ARN, the form AWS stores: a policy written
    with the bare id would read back different from what the program sent, and show a diff on
    every ``pulumi up``.
    """
    chosen = list(configured) or [account_id]
    return [f"arn:{partition}:iam::{p}:root" if is_account_id(p) else p for p in chosen]


def function_resources(function_arns: Sequence[str]) -> list[str]:
    """Each function unqualified (``$LATEST``) and qualified (``:*``, any version or alias)."""
    resources: list[str] = []
    for arn in function_arns:
        resources += [arn, f"{arn}:*"]
    return resources


def endpoint_policy(
    principals: Sequence[str],
    function_arns: Sequence[str],
    read_actions: Sequence[str] = (),
) -> dict[str, Any]:
    """The endpoint policy document: invoke (and optional read actions) on these functions only.

    Anything not allowed here is refused at the endpoint, whatever the caller's IAM policy
    says: the endpoint policy and the caller's identity policy must both allow a request.
    """
    resources = function_resources(function_arns)
    principal = {"AWS": list(principals)}
    statements: list[dict[str, Any]] = [
        {
            "Sid": "InvokeExposedFunctions",
            "Effect": "Allow",
            "Principal": principal,
            "Action": [INVOKE_ACTION],
            "Resource": resources,
        }
    ]
    if read_actions:
        statements.append(
            {
                "Sid": "ReadExposedFunctions",
                "Effect": "Allow",
                "Principal": principal,
                "Action": list(read_actions),
                "Resource": resources,
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


class PrivateLambdaEndpoint(Component[PrivateLambdaEndpointArgs]):
    """Interface endpoint for the Lambda API in the private subnets, with its policy and SG."""

    TYPE = "lambda-exposure:index:PrivateLambdaEndpoint"
    endpoint_id: pulumi.Output[str]
    dns_names: pulumi.Output[list[str]]
    security_group_id: pulumi.Output[str]
    policy: pulumi.Output[str]

    def _build(self) -> pulumi.Inputs:
        config, network = self._args.config, self._args.network
        self.policy = self._policy()
        private_dns: pulumi.Input[bool] = config.private_dns and network.private_dns(
            "privateEndpoint.privateDns",
            remedy=", or set privateDns: false and call the endpoint's own DNS name "
            "(lambdaEndpointDns)",
        )
        # On: SDK calls to lambda.<region>.amazonaws.com from inside the VPC resolve to the
        # endpoint's private IPs, with no client change; so do all the VPC's other Lambda API
        # calls, which the policy refuses. Hence an explicit choice in an existing VPC
        # (config.private_dns_effect). Peered VPCs come in via allowedCidrs.
        endpoint, security_group = interface_endpoint(
            InterfaceEndpointSpec(
                name=self._name,
                parent=self,
                network=network,
                service_name=lambda_endpoint_service_name(self._args.region),
                private_dns=private_dns,
                description="lambda-exposure privateEndpoint: HTTPS to the Lambda API endpoint",
                extra_cidrs=config.allowed_cidrs,
                policy=self.policy,
                tags={"lambda-exposure:pattern": "privateEndpoint"},
            )
        )
        self.endpoint_id = endpoint.id
        self.security_group_id = security_group.id
        self.dns_names = endpoint.dns_entries.apply(_dns_names)
        return {
            "endpointId": self.endpoint_id,
            "dnsNames": self.dns_names,
            "securityGroupId": self.security_group_id,
        }

    def _policy(self) -> pulumi.Output[str]:
        """Who may invoke which of the functions through the endpoint (``endpoint_policy``)."""
        config = self._args.config
        invoke_here = pulumi.InvokeOutputOptions(parent=self)
        identity = aws.get_caller_identity_output(opts=invoke_here)
        partition = aws.get_partition_output(opts=invoke_here)
        principals = pulumi.Output.all(identity.account_id, partition.partition).apply(
            lambda found: principal_arns(config.allowed_principals, found[0], found[1])
        )
        arns = pulumi.Output.all(*[fn.arn for fn in self._reachable()])
        return pulumi.Output.all(principals, arns).apply(
            lambda parts: json.dumps(endpoint_policy(parts[0], parts[1], config.allowed_actions))
        )

    def _reachable(self) -> list[ExposedFunction]:
        """The functions in the stack's region: this endpoint serves that region's Lambda API
        (no cross-region service region is set), so an existing function elsewhere cannot be
        invoked through it; it is left out of the policy rather than listed as if reachable."""
        region = self._args.region
        for fn in self._args.functions:
            if fn.region != region:
                pulumi.log.warn(
                    f"lambda-exposure:privateEndpoint: function {fn.name!r} is in {fn.region}, "
                    f"not {region}; it cannot be invoked through this endpoint and is left out "
                    "of its policy",
                    resource=self,
                )
        reachable = [fn for fn in self._args.functions if fn.region == region]
        if not reachable:
            raise pulumi.RunError(
                f"lambda-exposure:privateEndpoint: no function is in {region}, the region "
                "whose Lambda API this endpoint serves"
            )
        return reachable


def _dns_names(
    entries: Sequence[aws.ec2.outputs.VpcEndpointDnsEntry | Mapping[str, str]] | None,
) -> list[str]:
    """The endpoint's DNS names (regional, zonal, and the private one when enabled)."""
    names = []
    for entry in entries or []:
        name = entry.get("dns_name") if isinstance(entry, Mapping) else entry.dns_name
        if name:
            names.append(name)
    return names
