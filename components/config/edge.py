"""``lambda-exposure:edge``: CloudFront in front of AWS_IAM function URLs."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from components.config.access_logs import (
    DEFAULT_ACCESS_LOG_RETENTION_DAYS,
    AccessLogRetentionDays,
)
from components.config.base import ConfigError, ConfigModel, ascii_fullmatch
from components.config.domains import EdgeDomainConfig
from components.config.types import Cidr, check_unique, unique
from components.config.waf import ManagedRules

_CORS_METHODS = ("GET", "PUT", "HEAD", "POST", "PATCH", "DELETE", "*")
_ORIGIN_RE = ascii_fullmatch(r"\*|https?://[A-Za-z0-9*.-]+(:(?P<port>[0-9]{1,5}))?")
# An HTTP header name is a token (RFC 9110 section 5.6.2); function URLs take up to 1,024
# characters each: https://docs.aws.amazon.com/lambda/latest/api/API_Cors.html
_HEADER_NAME_RE = ascii_fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,1024}")


class CorsConfig(ConfigModel):
    """CORS of the edge pattern's function URLs (Lambda answers preflights itself)."""

    allow_origins: list[str] = Field(
        default_factory=list,
        alias="allowOrigins",
        description="Origins allowed to call, `scheme://host[:port]` (no path) or `*`",
    )
    allow_methods: list[str] = Field(
        default_factory=lambda: ["GET"],
        alias="allowMethods",
        description="Methods allowed cross-origin: any of `GET PUT HEAD POST PATCH DELETE *`",
    )
    allow_headers: list[str] = Field(
        default_factory=list,
        alias="allowHeaders",
        description="Request headers allowed cross-origin (HTTP header names, up to 1,024 "
        "characters)",
    )
    expose_headers: list[str] = Field(
        default_factory=list,
        alias="exposeHeaders",
        description="Response headers the browser lets the page read",
    )
    allow_credentials: bool = Field(
        default=False,
        alias="allowCredentials",
        description="Allow cookies and authorization headers cross-origin (not with the `*` "
        "origin)",
    )
    max_age: int = Field(
        default=300,
        ge=0,
        le=86400,
        alias="maxAge",
        description="Seconds a browser may cache a preflight answer",
    )

    @field_validator("allow_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        for index, origin in enumerate(value):
            match = _ORIGIN_RE(origin)
            port = int(match.group("port") or 443) if match else 0
            # Function URLs take origins of 253 characters at most (API_Cors, above).
            if not match or not 1 <= port <= 65535 or len(origin) > 253:
                raise ValueError(
                    f"[{index}]: {origin!r} is not an origin (scheme://host[:port], no path, "
                    "or '*')"
                )
        return check_unique(value, "origin")

    @field_validator("allow_methods", mode="before")
    @classmethod
    def _methods(cls, value: Any) -> Any:
        if not isinstance(value, list):
            return value
        # Only ASCII is uppercased: "po\u017ft".upper() is "POST" (the long s uppercases to S).
        methods = [m.upper() if isinstance(m, str) and m.isascii() else m for m in value]
        for index, method in enumerate(methods):
            if method not in _CORS_METHODS:
                raise ValueError(
                    f"[{index}]: {method!r} is not one of {', '.join(_CORS_METHODS)} "
                    "(function URLs answer OPTIONS preflights themselves)"
                )
        return check_unique(methods, "method")

    @field_validator("allow_headers", "expose_headers")
    @classmethod
    def _header_names(cls, value: list[str]) -> list[str]:
        for index, header in enumerate(value):
            if not _HEADER_NAME_RE(header):
                raise ConfigError(
                    f"[{index}]: {header!r} is not an HTTP header name (1 to 1024 letters, "
                    "digits and !#$%&'*+-.^_`|~)"
                )
        return check_unique(value, "header")

    @model_validator(mode="after")
    def _credentials_need_origins(self) -> CorsConfig:
        if self.allow_credentials and "*" in self.allow_origins:
            raise ConfigError(
                "allowOrigins: browsers refuse credentials with the '*' origin; list the origins"
            )
        return self


def _no_default_route(value: list[str]) -> list[str]:
    for index, cidr in enumerate(value):
        if cidr.endswith("/0"):
            # "AWS WAF supports all IPv4 and IPv6 CIDR ranges except for /0" (IP set docs).
            raise ConfigError(
                f"[{index}]: {cidr!r}: a WAF IP set cannot hold /0; leave edge.allowedCidrs "
                "empty to admit every source"
            )
    return value


# What a WAF IP set holds: CIDRs of both families, never /0, each once.
WafCidrs = Annotated[list[Cidr], AfterValidator(_no_default_route), unique("CIDR")]


class EdgeConfig(ConfigModel):
    """CloudFront in front of AWS_IAM function URLs, signed by OAC or a Lambda@Edge signer."""

    enabled: bool = Field(default=False, description="Create the distribution")
    signing: Literal["oac", "lambda-edge"] = Field(
        default="oac",
        description="Who signs requests to the function URLs: `oac` (CloudFront's Origin "
        "Access Control) or `lambda-edge` (a SigV4 signer at the edge, one invocation per "
        "request)",
    )
    static_site: bool = Field(
        default=False,
        alias="staticSite",
        description="A private S3 bucket with `site/index.html` becomes the default behavior "
        "(`/`); no function may then use path `/`",
    )
    price_class: Literal["PriceClass_100", "PriceClass_200", "PriceClass_All"] = Field(
        default="PriceClass_100",
        alias="priceClass",
        description="Edge locations used, and so the price: `PriceClass_100` is North America, "
        "Europe and Israel",
    )
    cors: CorsConfig | None = Field(
        default=None,
        description="CORS of the function URLs, which Lambda applies (and answers preflights "
        "with). Unset: no CORS headers; not needed when the page comes from the same "
        "distribution (`staticSite`)",
    )
    allowed_cidrs: WafCidrs = Field(
        default_factory=list,
        alias="allowedCidrs",
        description="Non-empty: a WAF web ACL admits only these source CIDRs (IPv4 and IPv6, "
        "not /0), everything else gets 403 at the edge; WAF is billed per ACL and request",
    )
    rate_limit: int = Field(
        default=2000,
        ge=10,
        le=2_000_000_000,
        alias="rateLimit",
        description="With `allowedCidrs` or `managedRules` (the web ACL): requests per source "
        "IP per 5 minutes before WAF blocks that IP",
    )
    retain_edge_function: bool = Field(
        default=True,
        alias="retainEdgeFunction",
        description="With `signing: lambda-edge`: `pulumi destroy` forgets the signer function "
        "instead of deleting it (its replicas take hours to go)",
    )
    managed_rules: ManagedRules = Field(
        default_factory=list,
        alias="managedRules",
        description="AWS managed rule group names added to the edge web ACL after the "
        "allow-list and the rate limit, in this order (like `AWSManagedRulesCommonRuleSet`); "
        "non-empty makes the web ACL even without `allowedCidrs`",
    )

    @property
    def web_acl(self) -> bool:
        """Whether the distribution gets a web ACL: an allow-list or managed rules ask for one."""
        return bool(self.allowed_cidrs or self.managed_rules)

    origin: Literal["function-url", "vpc"] = Field(
        default="function-url",
        description="What CloudFront sends requests to: `function-url` (an AWS_IAM function URL "
        "per function, signed per `signing`) or `vpc` (a CloudFront VPC origin to an internal "
        "ALB in the VPC's private subnets, which invokes the functions; no function URL)",
    )

    domain: EdgeDomainConfig = Field(
        default_factory=EdgeDomainConfig,
        description="Custom domain: the distribution's alternate names, their certificate "
        "(us-east-1; given, or requested and validated by DNS) and their Route 53 zone",
    )

    # Off by default: logs are billed by the GB stored.
    access_logs: bool = Field(
        default=False,
        alias="accessLogs",
        description="CloudFront standard logs (v2, W3C format) of the distribution into the "
        "stack's private log bucket of the stack region (output `logBuckets`); S3 storage is "
        "billed",
    )
    access_log_retention_days: AccessLogRetentionDays = Field(
        default=DEFAULT_ACCESS_LOG_RETENTION_DAYS,
        alias="accessLogRetentionDays",
        description="With `accessLogs`: days the log bucket keeps the distribution's logs "
        "before S3 deletes them (lifecycle expiry)",
    )

    @model_validator(mode="after")
    def _vpc_origin_has_no_function_url(self) -> EdgeConfig:
        """What only a function URL does cannot be asked of a VPC origin."""
        if self.origin != "vpc":
            return self
        if self.signing == "lambda-edge":
            # Nothing to sign without a function URL, and VPC origins do not run origin-request
            # or origin-response Lambda@Edge triggers at all ("Protocol and Feature
            # Restrictions"): https://docs.aws.amazon.com/AmazonCloudFront/latest/
            # DeveloperGuide/private-content-vpc-origins.html
            raise ConfigError(
                "signing: lambda-edge signs requests to function URLs, and edge.origin: vpc has "
                "none (VPC origins do not run origin-request Lambda@Edge triggers either); "
                "remove signing, or use origin: function-url"
            )
        if self.cors is not None:
            raise ConfigError(
                "cors: configures the function URLs, and edge.origin: vpc has none; answer CORS "
                "in the function (the ALB passes its headers through), or serve the page from "
                "the same distribution (staticSite)"
            )
        return self


# Regions where CloudFront VPC origins can reach a VPC, from the CloudFront Developer Guide,
# "Restrict access with VPC origins", section "Supported AWS Regions for VPC origins" (read
# 2026-12-01): https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/
# private-content-vpc-origins.html#vpc-origins-supported-regions
# Four regions exclude one Availability Zone each (use1-az3, usw1-az2, apne1-az3, cac1-az3);
# zone ids map to names per account, so that part is documented, not checked.
VPC_ORIGIN_REGIONS = frozenset(
    {
        "us-east-1",
        "us-east-2",
        "us-west-1",
        "us-west-2",
        "af-south-1",
        "ap-east-1",
        "ap-east-2",
        "ap-south-1",
        "ap-south-2",
        "ap-southeast-1",
        "ap-southeast-2",
        "ap-southeast-3",
        "ap-southeast-4",
        "ap-southeast-5",
        "ap-southeast-7",
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-northeast-3",
        "ca-central-1",
        "ca-west-1",
        "eu-central-1",
        "eu-central-2",
        "eu-north-1",
        "eu-south-1",
        "eu-south-2",
        "eu-west-1",
        "eu-west-2",
        "eu-west-3",
        "il-central-1",
        "me-central-1",
        "me-south-1",
        "mx-central-1",
        "sa-east-1",
    }
)
