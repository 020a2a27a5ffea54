"""``lambda-exposure:privateEndpoint``: an interface VPC endpoint for the Lambda API."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from components.config.base import ConfigModel, ascii_fullmatch
from components.config.types import IamPrincipal, Ipv4Cidrs, unique

# Read-only Lambda actions that do not act on a function (account, layer, event source mapping
# or code signing config resources): the endpoint policy grants actions on the exposed functions'
# ARNs only, so these would silently never match.
_NOT_FUNCTION_ACTIONS = frozenset(
    {
        "lambda:GetAccountSettings", "lambda:ListFunctions", "lambda:ListEventSourceMappings",
        "lambda:GetEventSourceMapping", "lambda:ListLayers", "lambda:ListLayerVersions",
        "lambda:GetLayerVersion", "lambda:GetLayerVersionPolicy", "lambda:ListCodeSigningConfigs",
        "lambda:GetCodeSigningConfig", "lambda:ListFunctionsByCodeSigningConfig",
    }
)  # fmt: skip


_READ_ACTION_RE = ascii_fullmatch(r"lambda:(Get|List)[A-Za-z]+")


def _read_only_lambda_action(value: str) -> str:
    if not _READ_ACTION_RE(value):
        raise ValueError(f"{value!r} is not a read-only Lambda action (lambda:Get*/lambda:List*)")
    if value in _NOT_FUNCTION_ACTIONS:
        raise ValueError(
            f"{value!r} does not act on a function; the endpoint policy only grants actions on "
            "the exposed functions (like lambda:GetFunction, lambda:GetFunctionConfiguration)"
        )
    return value


ReadOnlyLambdaAction = Annotated[str, AfterValidator(_read_only_lambda_action)]


class PrivateEndpointConfig(ConfigModel):
    """Interface VPC endpoint for the Lambda API, with a policy naming who may invoke what."""

    enabled: bool = Field(
        default=False, description="Create the endpoint (billed per hour and zone, and per GB)"
    )
    allowed_principals: Annotated[list[IamPrincipal], unique("principal")] = Field(
        default_factory=list,
        alias="allowedPrincipals",
        description="Who the endpoint policy lets invoke: IAM principal ARNs (`:root`, "
        "`:role/..`, `:user/..`, `sts::..:assumed-role/..`) or 12-digit account ids (written "
        "as their `:root` ARN); empty = this account",
    )
    private_dns: bool = Field(
        default=True,
        alias="privateDns",
        description="`true`: `lambda.<region>.amazonaws.com` resolves to the endpoint for the "
        "whole VPC, so *every* Lambda API call from it goes through the endpoint and its policy "
        "(needs the VPC's DNS support and DNS hostnames). `false`: only clients that call the "
        "endpoint's own DNS name (output `lambdaEndpointDns`, as `endpoint_url`) use it. "
        "**Required** with `network.vpcId`: the default holds only in a VPC this stack creates",
    )
    # IPv4 only: the endpoint is created IPv4-only, like the VPC.
    allowed_cidrs: Ipv4Cidrs = Field(
        default_factory=list,
        alias="allowedCidrs",
        description="IPv4 CIDRs admitted on 443 besides the VPC's own: peered VPCs, VPN or "
        "Direct Connect ranges",
    )
    allowed_actions: Annotated[list[ReadOnlyLambdaAction], unique("action")] = Field(
        default_factory=list,
        alias="allowedActions",
        description="Read-only actions also allowed on the exposed functions (like "
        "`lambda:GetFunction`, `lambda:GetFunctionConfiguration`): only `lambda:Get*`/"
        "`lambda:List*` actions that act on a function, since the policy names function ARNs "
        "only (`lambda:ListFunctions`, layer and event-source-mapping actions are refused)",
    )


def private_dns_effect(region: str) -> str:
    """What privateEndpoint.privateDns true/false means, for the messages that ask to choose."""
    # Private DNS is a private hosted zone for the service's default name, associated with the
    # whole VPC (CreateVpcEndpoint, PrivateDnsEnabled); a request through an endpoint needs its
    # policy's Allow as well as the caller's own:
    # https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateVpcEndpoint.html
    # https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-access.html
    return (
        f"true: lambda.{region}.amazonaws.com resolves to the endpoint for the whole VPC, so "
        "every Lambda API call from it goes through the endpoint, whose policy allows only "
        "invoking the exposed functions (and privateEndpoint.allowedActions on them): any other "
        "Lambda call from that VPC (deployments from CI, functions there that call Lambda, "
        "lambda:GetFunction) is denied. false: that name keeps resolving to Lambda's public "
        "endpoint, and only "
        "clients that call the endpoint's own DNS name (output lambdaEndpointDns, as "
        "endpoint_url) use it"
    )
