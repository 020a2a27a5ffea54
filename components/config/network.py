"""``lambda-exposure:network``: a VPC this stack creates, or an existing one."""

from __future__ import annotations

import ipaddress
from typing import Annotated

from pydantic import Field, field_validator, model_validator

from components.config.base import ConfigModel, ascii_fullmatch, matching
from components.config.types import Ipv4Cidr, unique

_VPC_ID_RE = ascii_fullmatch(r"vpc-[0-9a-f]{8,17}")
_SUBNET_ID_RE = ascii_fullmatch(r"subnet-[0-9a-f]{8,17}")

VpcId = Annotated[str, matching(_VPC_ID_RE, "a VPC id (vpc-0123456789abcdef0)")]
SubnetId = Annotated[str, matching(_SUBNET_ID_RE, "a subnet id (subnet-0123456789abcdef0)")]
SubnetIds = Annotated[list[SubnetId], unique("subnet id")]


class NetworkConfig(ConfigModel):
    """A new VPC (cidr, azCount) or an existing one (vpcId and its subnets), never both."""

    cidr: Ipv4Cidr = Field(
        default="10.20.0.0/16",
        description="CIDR of the VPC this stack creates (/16 to /24), split into equal public "
        "and private subnets",
    )
    az_count: int = Field(
        default=2,
        ge=1,
        le=6,
        alias="azCount",
        description="Availability Zones of the new VPC (Local Zones are never used); "
        "`staticIp` needs 2 or more",
    )
    vpc_id: VpcId | None = Field(
        default=None,
        alias="vpcId",
        description="Use this existing VPC instead (looked up, never changed); then `cidr` and "
        "`azCount` are refused",
    )
    public_subnet_ids: SubnetIds = Field(
        default_factory=list,
        alias="publicSubnetIds",
        description="Public subnets of the existing VPC, one per zone (`staticIp` entry `nlb`, "
        "`staticEgress`)",
    )
    private_subnet_ids: SubnetIds = Field(
        default_factory=list,
        alias="privateSubnetIds",
        description="Private subnets of the existing VPC, one per zone (every pattern that "
        "puts something in the VPC)",
    )

    @field_validator("cidr")
    @classmethod
    def _vpc_size(cls, value: str) -> str:
        prefix = ipaddress.ip_network(value).prefixlen
        if not 16 <= prefix <= 24:
            raise ValueError(f"{value!r}: a VPC CIDR must be between /16 and /24")
        return value

    @model_validator(mode="after")
    def _new_or_existing(self) -> NetworkConfig:
        existing_only = {"publicSubnetIds", "privateSubnetIds"}
        given = {type(self).model_fields[f].alias or f for f in self.model_fields_set}
        if self.vpc_id is None and given & existing_only:
            raise ValueError("publicSubnetIds/privateSubnetIds need 'vpcId' (an existing VPC)")
        if self.vpc_id is not None and given & {"cidr", "azCount"}:
            raise ValueError("'cidr'/'azCount' describe a new VPC; remove them when 'vpcId' is set")
        return self

    @property
    def existing(self) -> bool:
        return self.vpc_id is not None
