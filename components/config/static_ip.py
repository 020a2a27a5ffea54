"""``lambda-exposure:staticIp``: fixed IPs (Global Accelerator or NLB) -> internal ALB -> Lambda."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, field_validator, model_validator

from components.config.access_logs import (
    DEFAULT_ACCESS_LOG_RETENTION_DAYS,
    AccessLogRetentionDays,
)
from components.config.base import ConfigError, ConfigModel, ascii_fullmatch, matching
from components.config.types import (
    AcmArn,
    Cidrs,
    EipAllocationIds,
    Region,
    check_unique,
    region_name,
)
from components.config.waf import WafConfig

# ALBs take predefined policies only (no custom ones), all named ELBSecurityPolicy-...:
# https://docs.aws.amazon.com/elasticloadbalancing/latest/application/describe-ssl-policies.html
_SSL_POLICY_RE = ascii_fullmatch(r"ELBSecurityPolicy-[A-Za-z0-9]+(-[A-Za-z0-9]+)*")


class RegionEndpoint(ConfigModel):
    """One region of a multi-region static IP entry."""

    region: Region = Field(description="The region (like `us-east-1`)")
    traffic_dial_percentage: int = Field(
        default=100,
        ge=0,
        le=100,
        alias="trafficDialPercentage",
        description="Share of the traffic Global Accelerator sends to this region's endpoint "
        "group, in percent",
    )
    # An ALB only takes an ACM certificate of its own region: each extra region names its own.
    certificate_arn: AcmArn = Field(
        default="",
        alias="certificateArn",
        description="ACM certificate of this region for its ALB; required there when HTTPS is "
        "on (`staticIp.certificateArn`)",
    )


def _region_entry(value: Any) -> Any:
    """A bare region name is the short form of ``{region: <name>}``, checked here at its own key
    (``staticIp.regions[i]``): as one member of a ``str | object`` union, a bad name was reported
    once per member, and one that slipped through was refused later under another key."""
    if isinstance(value, str):
        return {"region": region_name(value)}
    if not isinstance(value, Mapping | RegionEndpoint):
        raise ValueError(
            f"{value!r} is not a region name or a {{region, trafficDialPercentage, "
            "certificateArn} object"
        )
    return value


class StaticIpConfig(ConfigModel):
    """Global Accelerator (2 anycast IPs) or NLB with one Elastic IP per AZ, then ALB → Lambda."""

    enabled: bool = Field(default=False, description="Create the entry")
    entry: Literal["global-accelerator", "nlb"] = Field(
        default="global-accelerator",
        description="`global-accelerator`: 2 anycast IPv4 addresses from every edge location; "
        "`nlb`: one Elastic IP per zone, announced from the stack's region only",
    )
    allowed_cidrs: Cidrs = Field(
        default_factory=list,
        alias="allowedCidrs",
        description="Client CIDRs allowed in; empty = the whole internet, on the listener ports "
        "only. IPv6 CIDRs only with `global-accelerator` and `DUAL_STACK`",
    )
    certificate_arn: AcmArn = Field(
        default="",
        alias="certificateArn",
        description="ACM certificate **of the stack's region**: HTTPS on 443, and HTTP 80 "
        "redirecting (301) to it. Empty: HTTP 80 only",
    )
    ip_address_type: Literal["IPV4", "DUAL_STACK"] = Field(
        default="IPV4",
        alias="ipAddressType",
        description="`DUAL_STACK`: the accelerator also gets 2 IPv6 addresses and the ALB is "
        "dual-stack. `global-accelerator` only; needs an existing VPC (`network.vpcId`) whose "
        "private subnets have IPv6 CIDR blocks (the VPC this stack creates is IPv4-only)",
    )
    ssl_policy: Annotated[
        str, matching(_SSL_POLICY_RE, "an ELB security policy name (ELBSecurityPolicy-...)")
    ] = Field(
        default="ELBSecurityPolicy-TLS13-1-2-2021-06",
        alias="sslPolicy",
        description="TLS policy of the HTTPS listener; the default allows TLS 1.3 and 1.2 only",
    )
    protect_static_ips: bool = Field(
        default=True,
        alias="protectStaticIps",
        description="Pulumi-`protect` the accelerator / the Elastic IPs, so `pulumi destroy` (or "
        "a change that would delete them) stops there. Set `false` and `pulumi up` before "
        "tearing down for good",
    )
    regions: list[Annotated[RegionEndpoint, BeforeValidator(_region_entry)]] = Field(
        default_factory=list,
        description="`global-accelerator` only: more regions behind the same accelerator, each "
        "a region name or an object (the stack region is always served; listing it only sets "
        "its traffic dial). Each extra region gets its own VPC (same `network.cidr`/`azCount`) "
        "and its own copy of the **bundled** functions, ALB and endpoint group, and their cost",
    )

    @field_validator("regions")
    @classmethod
    def _regions_as_objects(cls, value: list[RegionEndpoint]) -> list[RegionEndpoint]:
        check_unique([e.region for e in value], "region")
        return value

    @model_validator(mode="after")
    def _families_match_entry(self) -> StaticIpConfig:
        v6_allowed = self.entry == "global-accelerator" and self.ip_address_type == "DUAL_STACK"
        if not v6_allowed:
            for index, cidr in enumerate(self.allowed_cidrs):
                if ipaddress.ip_network(cidr).version == 6:
                    raise ConfigError(
                        f"allowedCidrs[{index}]: {cidr!r} is IPv6, but this entry only carries "
                        "IPv4 (IPv6 clients need entry: global-accelerator with "
                        "ipAddressType: DUAL_STACK)"
                    )
        if self.regions and self.entry != "global-accelerator":
            raise ConfigError("regions: several regions need entry: global-accelerator")
        if self.ip_address_type == "DUAL_STACK" and self.entry != "global-accelerator":
            raise ConfigError(
                "ipAddressType: DUAL_STACK is an accelerator setting; entry nlb has IPv4 "
                "Elastic IPs only (use entry: global-accelerator, or IPV4)"
            )
        for index, endpoint in enumerate(self.regions):
            if endpoint.certificate_arn and not self.https:
                raise ConfigError(
                    f"regions[{index}].certificateArn: HTTPS is on for every region or none; "
                    "set staticIp.certificateArn (the stack region's certificate) too"
                )
        return self

    @property
    def https(self) -> bool:
        return bool(self.certificate_arn)

    eip_allocation_ids: EipAllocationIds = Field(
        default_factory=list,
        alias="eipAllocationIds",
        description="`nlb` only: existing Elastic IPs (`eipalloc-...`), one per public subnet in "
        "zone order, used instead of new ones so the published addresses outlive the stack. "
        "The program never creates, protects or releases them",
    )

    @model_validator(mode="after")
    def _own_addresses_need_nlb(self) -> StaticIpConfig:
        if self.eip_allocation_ids and self.entry != "nlb":
            raise ConfigError(
                "eipAllocationIds: Elastic IPs are the NLB's addresses (entry: nlb); a Global "
                "Accelerator has its own two anycast IPs"
            )
        return self

    waf: WafConfig = Field(
        default_factory=WafConfig,
        description="A REGIONAL web ACL on the ALB of every region of the entry (the stack's and "
        "each of `regions`): a per-IP rate limit, then AWS managed rule groups. The allow-list "
        "stays `allowedCidrs` (security groups)",
    )

    # Off by default: logs are billed by the GB stored (S3) and, for flow logs, delivered.
    access_logs: bool = Field(
        default=False,
        alias="accessLogs",
        description="Access logs of every ALB of the entry, and the accelerator's flow logs "
        "with `global-accelerator`, into the stack's private log bucket of each ALB's region "
        "(output `logBuckets`); S3 storage is billed, flow logs also per GB delivered",
    )
    access_log_retention_days: AccessLogRetentionDays = Field(
        default=DEFAULT_ACCESS_LOG_RETENTION_DAYS,
        alias="accessLogRetentionDays",
        description="With `accessLogs`: days the log bucket keeps this entry's logs before S3 "
        "deletes them (lifecycle expiry)",
    )
