"""``lambda-exposure:staticEgress``: bundled functions behind NAT gateway(s) with Elastic IPs."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from components.config.base import ConfigError, ConfigModel, ascii_fullmatch
from components.config.types import EipAllocationIds

# Host, optional port, then a path/query of printable ASCII without spaces (no control or
# non-ASCII characters: the URL is passed to the functions as an environment variable).
_HTTPS_URL_RE = ascii_fullmatch(
    r"https://[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:(?P<port>[0-9]{1,5}))?([/?][!-~]*)?"
)


class StaticEgressConfig(ConfigModel):
    """Bundled functions in private subnets behind NAT gateway(s) with Elastic IPs."""

    enabled: bool = Field(
        default=False,
        description="Put the bundled functions in the VPC's private subnets behind NAT (a NAT "
        "gateway is billed per hour and per GB)",
    )
    nat_per_az: bool = Field(
        default=False,
        alias="natPerAz",
        description="`false`: one NAT gateway and **one IP** for every zone. `true`: one NAT "
        "gateway (and one IP) **per zone**, so a zone outage does not cut the others' egress, "
        "but there are `azCount` IPs to allow-list and pay for",
    )
    echo_url: str = Field(
        default="",
        alias="echoUrl",
        description='An https "what is my IP" service (like `https://checkip.amazonaws.com`): '
        "set, the whoami app answers `?egress=1` with the IP the outside sees (env "
        "`EGRESS_ECHO_URL`). Empty by default: it is an outbound call to a third party",
    )
    protect_egress_ips: bool = Field(
        default=True,
        alias="protectEgressIps",
        description="Pulumi-`protect` the Elastic IPs, so `pulumi destroy` (or a change that "
        "would delete them) stops there",
    )

    @field_validator("echo_url")
    @classmethod
    def _https_url(cls, value: str) -> str:
        match = _HTTPS_URL_RE(value)
        port = int(match.group("port") or 443) if match else 0
        if value and (not match or not 1 <= port <= 65535):
            raise ValueError(f"{value!r} is not an https:// URL")
        return value

    mode: Literal["zonal", "regional"] = Field(
        default="zonal",
        description="`zonal`: NAT gateway(s) in the public subnets (`natPerAz`). `regional`: "
        "one regional NAT gateway in **manual** mode serving every zone, one Elastic IP per "
        "zone (never automatic mode, whose addresses nobody allow-listed)",
    )
    eip_allocation_ids: EipAllocationIds = Field(
        default_factory=list,
        alias="eipAllocationIds",
        description="Existing Elastic IPs (`eipalloc-...`) to use instead of new ones: one per "
        "NAT gateway (`zonal`: 1, or `azCount` with `natPerAz`; `regional`: `azCount`), in zone "
        "order. The program never creates, protects or releases them",
    )

    @model_validator(mode="after")
    def _mode_fits(self) -> StaticEgressConfig:
        if self.mode == "regional" and self.nat_per_az:
            raise ConfigError(
                "natPerAz: a zonal setting; the regional NAT gateway (mode: regional) already "
                "serves every zone with one Elastic IP each (remove natPerAz, or mode: zonal)"
            )
        return self

    def elastic_ip_count(self, az_count: int) -> int:
        """Elastic IPs the NAT gateway(s) use: one per zonal NAT, or one per zone (regional)."""
        return az_count if self.nat_per_az or self.mode == "regional" else 1
