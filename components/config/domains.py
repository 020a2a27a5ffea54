"""Custom domains: ``edge.domain`` and ``ipRestrictedApi.domain``, their field types and rules.

Two kinds of rule. What the config alone decides (a DNS name's syntax, a certificate in the wrong
region, a PRIVATE domain without a certificate) is checked by the models here and by
``StackConfig`` (the stack region). What only the account knows (is a name inside the hosted zone
given with it, is that zone public or private, is a ``vpcEndpointIds`` item an execute-api
endpoint) is looked up by ``components/preflight.py`` before any resource is registered; this
module says what to look up (``zone_uses``, ``endpoint_uses``) and words the messages
(``zone_problems``, ``endpoint_problems``), so every key name stays in this package.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated

from pydantic import AfterValidator, Field, field_validator, model_validator

from components.config.base import ConfigError, ConfigModel, ascii_fullmatch, matching
from components.config.types import AcmArn, check_unique

# CloudFront serves ACM certificates of us-east-1 only: "CloudFront only supports ACM
# certificates in the US East (N. Virginia) Region (us-east-1)" (API ViewerCertificate,
# https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_ViewerCertificate.html).
CLOUDFRONT_CERTIFICATE_REGION = "us-east-1"
# "Alternate domain names (CNAMEs) per distribution": 100 by default
# (https://docs.aws.amazon.com/general/latest/gr/cf_region.html).
MAX_ALIASES = 100
# "Number of domain names per ACM certificate": 10 by default; it applies to the certificates
# ACM issues, so to the one the program requests, not to one given by ARN
# (https://docs.aws.amazon.com/acm/latest/userguide/acm-limits.html).
MAX_REQUESTED_NAMES = 10

# A host name as ACM validates it (API DomainValidation: labels of letters, digits and inner
# hyphens, at most 63 characters each, 253 in all), with no trailing dot: CloudFront refuses
# "example.com." as an alias. Letters are ASCII only; the names are lowercased after the check
# (lowering first would turn the Kelvin sign into an ASCII k).
_HOST_RE = ascii_fullmatch(
    r"([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
)
# Route 53 hosted zone ids: "Z" and upper-case letters and digits (Z2FDTNDATAQYW2, Z0123...).
_ZONE_ID_RE = ascii_fullmatch(r"Z[A-Z0-9]{1,31}")
# A base path: one path segment ("v1"); "" maps the API at the root of the domain. Multi-level
# paths ("orders/v2") are API mappings of the v2 API, for REGIONAL domains only ("Use API
# mappings to connect API stages to a custom domain name for REST APIs",
# https://docs.aws.amazon.com/apigateway/latest/developerguide/rest-api-mappings.html), not
# base path mappings, which this program creates for both domain types.
_BASE_PATH_RE = ascii_fullmatch(r"[A-Za-z0-9._~-]{1,255}")
_VPC_ENDPOINT_ID_RE = ascii_fullmatch(r"vpce-([0-9a-f]{8}|[0-9a-f]{17})")


def _host(value: str, *, wildcard: bool) -> str:
    rest = value[2:] if wildcard and value.startswith("*.") else value
    if value.endswith("."):
        raise ValueError(f"{value!r}: write the name without the trailing dot")
    if not _HOST_RE(rest) or len(value) > 253:
        what = "a DNS name (like api.example.com" + (", or *.example.com)" if wildcard else ")")
        raise ValueError(f"{value!r} is not {what}")
    return value.lower()


def dns_name(value: str) -> str:
    return _host(value, wildcard=False)


def alias_name(value: str) -> str:
    return _host(value, wildcard=True)


def base_name(name: str) -> str:
    """``*.example.com`` -> ``example.com``: a wildcard shares its base's validation record."""
    return name.removeprefix("*.")


def in_zone(name: str, zone: str) -> bool:
    """Is ``name`` (maybe a wildcard) inside the zone named ``zone`` (the apex included)?"""
    zone = zone.rstrip(".").lower()
    host = base_name(name)
    return host == zone or host.endswith(f".{zone}")


AliasName = Annotated[str, AfterValidator(alias_name)]
DnsName = Annotated[str, AfterValidator(lambda v: dns_name(v) if v else v)]
HostedZoneId = Annotated[
    str,
    matching(
        lambda v: not v or _ZONE_ID_RE(v),
        "a Route 53 hosted zone id (Z and upper-case letters and digits, like "
        "Z0123456789ABCDEFGHIJ; not /hostedzone/...)",
    ),
]
BasePath = Annotated[
    str,
    matching(
        lambda v: not v or _BASE_PATH_RE(v),
        "a base path (one path segment: letters, digits and . _ ~ -, no '/')",
    ),
]
VpcEndpointId = Annotated[
    str,
    matching(_VPC_ENDPOINT_ID_RE, "a VPC endpoint id (vpce- and 8 or 17 hexadecimal digits)"),
]


def certificate_region(arn: str) -> str:
    return arn.split(":")[3]


class EdgeDomainConfig(ConfigModel):
    """Alternate domain names of the distribution, their certificate and their DNS zone."""

    names: list[AliasName] = Field(
        default_factory=list,
        description="Alternate domain names (aliases) of the distribution, like `www.example.com` "
        "or `*.example.com`; empty = the `*.cloudfront.net` name only. A name can be on one "
        "distribution only, in any account",
    )
    certificate_arn: AcmArn = Field(
        default="",
        alias="certificateArn",
        description="ACM certificate **of us-east-1** covering every name; empty = the program "
        "requests one (needs `hostedZoneId`, at most 10 names)",
    )
    hosted_zone_id: HostedZoneId = Field(
        default="",
        alias="hostedZoneId",
        description="Public Route 53 hosted zone holding every name: gets alias A and AAAA "
        "records to the distribution (and the certificate's validation records); empty = you "
        "manage DNS",
    )

    @field_validator("names")
    @classmethod
    def _unique_names(cls, value: list[str]) -> list[str]:
        if len(value) > MAX_ALIASES:
            raise ValueError(
                f"{len(value)} names; a distribution takes {MAX_ALIASES} alternate domain names "
                "(CloudFront's default quota)"
            )
        return check_unique(value, "name")

    @model_validator(mode="after")
    def _certificate(self) -> EdgeDomainConfig:
        if not self.names:
            if self.certificate_arn or self.hosted_zone_id:
                raise ConfigError(
                    "names: empty, so certificateArn and hostedZoneId have nothing to serve; "
                    "list the distribution's names, or remove them"
                )
            return self
        if self.certificate_arn:
            region = certificate_region(self.certificate_arn)
            if region != CLOUDFRONT_CERTIFICATE_REGION:
                raise ConfigError(
                    f"certificateArn: CloudFront uses ACM certificates of "
                    f"{CLOUDFRONT_CERTIFICATE_REGION} only; this one is in {region} (request or "
                    f"import it in {CLOUDFRONT_CERTIFICATE_REGION}, or leave certificateArn empty "
                    "and give hostedZoneId)"
                )
            return self
        if not self.hosted_zone_id:
            raise ConfigError(
                "certificateArn: the names need a certificate: give one of us-east-1, or give "
                "hostedZoneId and the program requests it, validated by DNS in that zone"
            )
        if len(self.names) > MAX_REQUESTED_NAMES:
            raise ConfigError(
                f"names: {len(self.names)} names; a certificate ACM issues holds "
                f"{MAX_REQUESTED_NAMES} by default: request one with more yourself (once AWS "
                "raised the quota) and give certificateArn"
            )
        return self

    @property
    def enabled(self) -> bool:
        return bool(self.names)

    @property
    def requests_certificate(self) -> bool:
        return self.enabled and not self.certificate_arn

    def urls(self) -> list[str]:
        """``https://<name>/`` per name a client can type (a wildcard is not one)."""
        return [f"https://{n}/" for n in self.names if not n.startswith("*.")]


class ApiDomainConfig(ConfigModel):
    """A custom domain name of the REST API: REGIONAL or PRIVATE, like the API."""

    name: DnsName = Field(
        default="",
        description="The API's custom domain name, like `api.example.com`; empty = no domain",
    )
    certificate_arn: AcmArn = Field(
        default="",
        alias="certificateArn",
        description="ACM certificate **of the stack region** covering `name`; empty = the "
        "program requests one (REGIONAL, with `hostedZoneId`). Required for PRIVATE",
    )
    hosted_zone_id: HostedZoneId = Field(
        default="",
        alias="hostedZoneId",
        description="Route 53 hosted zone holding `name` (public for REGIONAL, private for "
        "PRIVATE): gets an alias record to the domain (REGIONAL) or to the VPC endpoint "
        "(PRIVATE); empty = you manage DNS",
    )
    base_path: BasePath = Field(
        default="",
        alias="basePath",
        description="Path segment under the domain where the stage is mapped (`v1` serves "
        "`https://<name>/v1/...`); empty = the domain's root",
    )
    disable_default_endpoint: bool = Field(
        default=False,
        alias="disableDefaultEndpoint",
        description="REGIONAL: the `execute-api` URL (`apiUrl`) answers 403, so the domain is "
        "the only way in",
    )

    @model_validator(mode="after")
    def _needs_a_name(self) -> ApiDomainConfig:
        if not self.name:
            given = [
                key
                for key, value in (
                    ("certificateArn", self.certificate_arn),
                    ("hostedZoneId", self.hosted_zone_id),
                    ("basePath", self.base_path),
                    ("disableDefaultEndpoint", self.disable_default_endpoint),
                )
                if value
            ]
            if given:
                raise ConfigError(
                    f"name: empty, so there is no domain for {', '.join(given)}; give the "
                    "domain name, or remove them"
                )
        elif not self.certificate_arn and not self.hosted_zone_id:
            raise ConfigError(
                "certificateArn: the domain needs a certificate: give one of the stack region, "
                "or give hostedZoneId and the program requests it, validated by DNS in that zone"
            )
        return self

    @property
    def enabled(self) -> bool:
        return bool(self.name)

    @property
    def requests_certificate(self) -> bool:
        return self.enabled and not self.certificate_arn

    def url(self) -> str:
        """The mapped stage's base URL, like ``apiUrl`` (no trailing slash)."""
        return f"https://{self.name}" + (f"/{self.base_path}" if self.base_path else "")


# --------------------------------------------------------------------------------------------
# what only the account knows: what to look up, and what to say about the answers
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ZoneUse:
    """One hosted zone the config names, and what it must hold."""

    key: str  # the hostedZoneId key path
    zone_id: str
    names: tuple[tuple[str, str], ...]  # (key path, DNS name) that must be inside it
    private: bool  # the zone must be private (True) or public (False)
    why: str  # what needs that kind of zone


@dataclass(frozen=True)
class Zone:
    """What Route 53 says of a zone: its name and whether it is private."""

    name: str
    private: bool


def zone_uses(
    edge: EdgeDomainConfig | None, api: ApiDomainConfig | None, private_api: bool
) -> list[ZoneUse]:
    """The zones to look up for the enabled domains (``None``: that pattern is off)."""
    uses: list[ZoneUse] = []
    if edge is not None and edge.hosted_zone_id:
        names = tuple((f"edge.domain.names[{i}]", n) for i, n in enumerate(edge.names))
        uses.append(
            ZoneUse(
                "edge.domain.hostedZoneId",
                edge.hosted_zone_id,
                names,
                private=False,
                # "You can't create an alias resource record set in a private hosted zone to
                # route traffic to a CloudFront distribution" (API AliasTarget), and ACM
                # validates by public DNS only.
                why="CloudFront aliases and ACM validation need public DNS",
            )
        )
    if api is not None and api.hosted_zone_id:
        uses.append(
            ZoneUse(
                "ipRestrictedApi.domain.hostedZoneId",
                api.hosted_zone_id,
                (("ipRestrictedApi.domain.name", api.name),),
                private=private_api,
                why=(
                    "a PRIVATE API's domain must resolve inside the VPC only"
                    if private_api
                    else "a REGIONAL domain is called from the internet (and ACM validates by "
                    "public DNS)"
                ),
            )
        )
    return uses


def zone_problems(uses: Sequence[ZoneUse], zones: Mapping[str, Zone | str]) -> list[str]:
    """One line per wrong zone or name; ``zones`` maps each zone id to what Route 53 answered,
    or to the lookup's error text."""
    lines: list[str] = []
    for use in uses:
        zone = zones[use.zone_id]
        if isinstance(zone, str):
            lines.append(
                f"{use.key}: hosted zone {use.zone_id} could not be read ({zone}); check the id "
                "and that the deploying credentials may call route53:GetHostedZone"
            )
            continue
        if zone.private != use.private:
            kind = "private" if zone.private else "public"
            lines.append(
                f"{use.key}: {use.zone_id} ({zone.name}) is a {kind} hosted zone; {use.why}, so "
                f"give a {'private' if use.private else 'public'} one"
            )
        for key, name in use.names:
            if not in_zone(name, zone.name):
                lines.append(
                    f"{key}: {name!r} is not in hosted zone {use.zone_id} ({zone.name}); give "
                    f"the zone that holds it (its records are created there)"
                )
    return lines


@dataclass(frozen=True)
class Endpoint:
    """What EC2 says of a VPC endpoint."""

    service_name: str
    endpoint_type: str
    state: str


def endpoint_problems(
    endpoint_ids: Sequence[str], endpoints: Mapping[str, Endpoint | str], service: str
) -> list[str]:
    """One line per ``ipRestrictedApi.vpcEndpointIds`` item that cannot carry the API."""
    lines = []
    for index, endpoint_id in enumerate(endpoint_ids):
        key = f"ipRestrictedApi.vpcEndpointIds[{index}]"
        found = endpoints[endpoint_id]
        if isinstance(found, str):
            lines.append(
                f"{key}: {endpoint_id} could not be read ({found}); give an execute-api "
                "interface endpoint of this account and region"
            )
        elif found.service_name != service or found.endpoint_type != "Interface":
            lines.append(
                f"{key}: {endpoint_id} is a {found.endpoint_type} endpoint for "
                f"{found.service_name}, not for {service}: a PRIVATE API (and its domain) is "
                "reached only through execute-api interface endpoints"
            )
        elif found.state.lower() in ("deleted", "deleting", "rejected", "failed", "expired"):
            lines.append(f"{key}: {endpoint_id} is {found.state}; give an available endpoint")
    return lines
