"""``lambda-exposure:ipRestrictedApi``: a REST API whose resource policy filters source IPs."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from components.config.base import ConfigError, ConfigModel, ascii_fullmatch, matching
from components.config.domains import ApiDomainConfig, VpcEndpointId
from components.config.types import Cidr, Cidrs, LogRetentionDays, check_unique, unique
from components.config.waf import WafConfig

_ROUTE_PATH_RE = ascii_fullmatch(r"/([A-Za-z0-9._~*-]+(/[A-Za-z0-9._~*-]+)*)?")
_STAGE_NAME_RE = ascii_fullmatch(r"[A-Za-z0-9_]{1,128}")

HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY"]


class ApiRoute(ConfigModel):
    """A method + path with its own source lists and authorization."""

    method: HttpMethod = Field(description="HTTP method the route restricts (case-insensitive)")
    path: str = Field(
        description="Request path, `*` for any characters (like `/admin/*`); no path parameters"
    )
    # Repeats are accepted here (they only lengthen the policy), unlike the global lists.
    allow: list[Cidr] = Field(
        default_factory=list,
        description="This method and path also require one of these source CIDRs (on top of "
        "the global `allow`: a route never widens it)",
    )
    deny: list[Cidr] = Field(
        default_factory=list, description="This method and path also refuse these source CIDRs"
    )
    auth: Literal["NONE", "AWS_IAM"] = Field(
        default="NONE",
        description="`AWS_IAM`: the method needs a SigV4 signature of this account, as well as "
        "passing the lists",
    )

    @field_validator("method", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        # Only ASCII: "po\u017ft".upper() is "POST" (the long s uppercases to S).
        return value.upper() if isinstance(value, str) and value.isascii() else value

    @field_validator("path")
    @classmethod
    def _route_path(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError(f"{value!r} must start with '/'")
        if any(c in value for c in "{}+"):
            # The route becomes an IAM resource pattern on the *request* path, where a path
            # parameter template would match nothing: '*' is the only wildcard that works.
            raise ValueError(
                f"{value!r} uses a path parameter; write '*' for 'anything here' (like /users/*)"
            )
        if not _ROUTE_PATH_RE(value):
            raise ValueError(
                f"{value!r} is not a route path ('/' or /segment/..., no trailing '/', "
                "letters, digits, . _ ~ - and the wildcard *)"
            )
        return value

    @model_validator(mode="after")
    def _route_does_something(self) -> ApiRoute:
        if self.auth == "AWS_IAM":
            # An IAM route is a real API Gateway method (authorization is per method), so its
            # path must map onto resources: literal segments, optionally ending in /* ({proxy+}).
            segments = self.path.strip("/").split("/")
            if any("*" in s for s in segments[:-1]) or (
                "*" in segments[-1] and segments[-1] != "*"
            ):
                raise ConfigError(
                    f"path: {self.path!r}: an AWS_IAM route takes whole segments, with '*' "
                    "only as the last one (like /admin/*)"
                )
        elif not self.allow and not self.deny:
            raise ConfigError(
                "allow: this route has no allow, no deny and auth NONE, so it changes nothing; "
                "give it a list or auth: AWS_IAM, or remove it"
            )
        return self


def route_literal_prefix(path: str) -> str:
    """The whole leading segments of a route path without wildcards ('/admin' for /admin/*)."""
    literal: list[str] = []
    for segment in path.strip("/").split("/"):
        if not segment or "*" in segment:
            break
        literal.append(segment)
    return "/" + "/".join(literal)


class Throttling(ConfigModel):
    """Stage-wide request limits (API Gateway answers 429 above them)."""

    burst_limit: int = Field(
        default=100,
        ge=0,
        le=10000,
        alias="burstLimit",
        description="Stage-wide burst limit, in requests",
    )
    rate_limit: float = Field(
        default=50.0,
        ge=0,
        le=10000,
        alias="rateLimit",
        description="Stage-wide steady rate, in requests per second",
    )


class IpRestrictedApiConfig(ConfigModel):
    """API Gateway REST API whose resource policy allows / denies source CIDRs, per route."""

    enabled: bool = Field(default=False, description="Create the API")
    endpoint_type: Literal["REGIONAL", "PRIVATE"] = Field(
        default="REGIONAL",
        alias="endpointType",
        description="`REGIONAL`: a public endpoint. `PRIVATE`: only through the stack's "
        "execute-api VPC endpoint (needs the network: a new VPC, or `network.vpcId` with "
        "`privateSubnetIds` and DNS support and hostnames on)",
    )
    allow: Cidrs = Field(
        default_factory=list,
        description="Source CIDRs allowed to call anything; empty = any source",
    )
    deny: Cidrs = Field(
        default_factory=list,
        description="Source CIDRs refused everywhere, even if also allowed (an explicit Deny wins)",
    )
    routes: list[ApiRoute] = Field(
        default_factory=list,
        description="Per method and path: more lists and/or IAM authorization; each needs a "
        "list or `auth: AWS_IAM`",
    )
    stage_name: Annotated[
        str, matching(_STAGE_NAME_RE, "a stage name (1 to 128 of A-Z a-z 0-9 _)")
    ] = Field(
        default="api",
        alias="stageName",
        description="Stage name, the last segment of `apiUrl`",
    )
    throttling: Throttling = Field(default_factory=Throttling, description="Stage-wide throttling")
    log_retention_days: LogRetentionDays = Field(
        default=30,
        alias="logRetentionDays",
        description="Days CloudWatch Logs keeps the access-log group",
    )
    # Off by default only because API Gateway refuses them (and the stage, so `pulumi up`) in an
    # account/region whose API Gateway CloudWatch role was never set; see cloudWatchRole.
    access_logs: bool = Field(
        default=False,
        alias="accessLogs",
        description="A JSON access log line per request (request id, source IP, caller, method, "
        "path, status, error, VPC endpoint id for `PRIVATE`) into a log group of this stack",
    )
    # API Gateway writes logs with ONE role per account and region (account-wide state shared by
    # every API there): only set it when asked, since it replaces whatever role is set now.
    cloud_watch_role: bool = Field(
        default=False,
        alias="cloudWatchRole",
        description="With `accessLogs`: create the **account-wide** API Gateway CloudWatch Logs "
        "role and set it in this region's API Gateway account settings (replacing any role "
        "set there)",
    )

    @field_validator("routes")
    @classmethod
    def _unique_routes(cls, value: list[ApiRoute]) -> list[ApiRoute]:
        check_unique([(r.method, r.path) for r in value], "route (method, path)")
        return value

    @property
    def private(self) -> bool:
        return self.endpoint_type == "PRIVATE"

    waf: WafConfig = Field(
        default_factory=WafConfig,
        description="A REGIONAL web ACL on the stage, evaluated before the resource policy: a "
        "per-IP rate limit, then AWS managed rule groups. The source lists stay `allow`/`deny`",
    )
    domain: ApiDomainConfig = Field(
        default_factory=ApiDomainConfig,
        description="Custom domain name of the API (REGIONAL or PRIVATE, like the API): "
        "certificate, base path mapping to the stage, Route 53 alias record",
    )
    vpc_endpoint_ids: Annotated[list[VpcEndpointId], unique("VPC endpoint id")] = Field(
        default_factory=list,
        alias="vpcEndpointIds",
        description="PRIVATE: existing execute-api interface endpoints to admit instead of "
        "creating one (the stack then needs no network for the API)",
    )

    @model_validator(mode="after")
    def _domain_fits_endpoint_type(self) -> IpRestrictedApiConfig:
        if self.vpc_endpoint_ids and not self.private:
            raise ConfigError(
                "vpcEndpointIds: only a PRIVATE API is reached through VPC endpoints; set "
                "endpointType: PRIVATE, or remove vpcEndpointIds"
            )
        domain = self.domain
        if not domain.enabled or not self.private:
            return self
        if not domain.certificate_arn:
            # ACM validates by public DNS, and a PRIVATE domain's zone is private.
            raise ConfigError(
                "domain.certificateArn: a PRIVATE domain needs a certificate given by ARN (of "
                "the stack region, covering domain.name): its hosted zone is private, where "
                "ACM cannot validate one by DNS"
            )
        if domain.disable_default_endpoint:
            raise ConfigError(
                "domain.disableDefaultEndpoint: REGIONAL only; a PRIVATE API's default endpoint "
                "is reachable only through the same VPC endpoints as its domain, so turning it "
                "off closes no door"
            )
        return self
