"""``lambda-exposure:ipRangeSync``: firewalls kept equal to AWS's published IP ranges."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from components.config.base import PROJECT, ConfigError, ConfigModel, ascii_fullmatch, matching
from components.config.types import LogRetentionDays, check_unique, region_name

# Service identifiers seen in ip-ranges.json (2026-07). AWS adds new ones without notice, so an
# identifier outside this list is accepted with a warning rather than refused.
KNOWN_IP_RANGE_SERVICES = frozenset(
    {
        "AMAZON", "AMAZON_APPFLOW", "AMAZON_CONNECT", "API_GATEWAY", "AURORA_DSQL",
        "CHIME_MEETINGS", "CHIME_VOICECONNECTOR", "CLOUD9", "CLOUDFRONT",
        "CLOUDFRONT_ORIGIN_FACING", "CODEBUILD", "DYNAMODB", "EBS", "EC2", "EC2_INSTANCE_CONNECT",
        "EFS", "GLOBALACCELERATOR", "IVS_LOW_LATENCY", "IVS_REALTIME", "KINESIS_VIDEO_STREAMS",
        "MEDIA_PACKAGE_V2", "ROUTE53", "ROUTE53_HEALTHCHECKS", "ROUTE53_HEALTHCHECKS_PUBLISHING",
        "ROUTE53_RESOLVER", "S3", "WORKSPACES_GATEWAYS",
    }
)  # fmt: skip

# CLOUDFRONT is both CLOUDFRONT_GLOBAL_IP_LIST (region GLOBAL) and CLOUDFRONT_REGIONAL_EDGE_IP_LIST
# (entries that carry a real region), and a firewall must allow both: "How do I manage dynamic
# IP address changes in API Gateway?", AWS re:Post Knowledge Center,
# https://repost.aws/knowledge-center/api-gateway-manage-ip-changes
_SERVICE_RE = ascii_fullmatch(r"[A-Z0-9_]+")


def _ip_range_region(value: str) -> str:
    return value if value == "GLOBAL" else region_name(value)


IpRangeService = Annotated[
    str, matching(_SERVICE_RE, "an ip-ranges.json service identifier (like CLOUDFRONT)")
]


_RATE_RE = ascii_fullmatch(r"rate\(([0-9]+) (minute|hour|day)(s?)\)")
# Six fields of what EventBridge cron fields are made of: digits, names (JAN, MON), L, W and
# , - * ? / #: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html
_CRON_RE = ascii_fullmatch(r"cron\(([A-Za-z0-9,*?/#-]+( [A-Za-z0-9,*?/#-]+){5})\)")


def _schedule_expression(value: str) -> str:
    """An EventBridge schedule that PutRule accepts (checked here, not at deploy time)."""
    rate, cron = _RATE_RE(value), _CRON_RE(value)
    if rate:
        count, unit, plural = int(rate.group(1)), rate.group(2), rate.group(3)
        if count < 1:
            raise ValueError(f"{value!r}: the rate must be a positive number")
        if (count == 1) == bool(plural):
            raise ValueError(
                f"{value!r}: write rate(1 {unit}) or rate({max(count, 2)} {unit}s) "
                "(singular unit for 1, plural otherwise)"
            )
        return value
    if cron:
        fields = cron.group(1).split(" ")
        if (fields[2] == "?") == (fields[4] == "?"):
            raise ValueError(
                f"{value!r}: one of day-of-month (3rd field) and day-of-week (5th) must be '?'"
            )
        return value
    raise ValueError(
        f"{value!r} is not rate(<n> minute(s)|hour(s)|day(s)) or cron(<6 fields>), "
        "like rate(1 day) or cron(0 6 * * ? *)"
    )


SyncTarget = Literal["prefixList", "securityGroup", "wafIpSet"]


def _default_services() -> list[str]:
    return ["CLOUDFRONT"]


def _default_targets() -> list[SyncTarget]:
    return ["prefixList"]


def _default_ports() -> list[int]:
    return [443]


class IpRangeSyncConfig(ConfigModel):
    """Keep a prefix list / security groups / WAF IP set equal to AWS's published ranges."""

    enabled: bool = Field(default=False, description="Create the sync function and its targets")
    services: list[IpRangeService] = Field(
        default_factory=_default_services,
        min_length=1,
        description="`ip-ranges.json` service identifiers to select (like `CLOUDFRONT`, "
        "`EC2`); an unknown one is warned about, not refused",
    )
    # Empty = every region: for CLOUDFRONT its global edge list (region GLOBAL) *and* its
    # regional edge caches (entries that carry a real region), as the article above asks.
    regions: list[Annotated[str, AfterValidator(_ip_range_region)]] = Field(
        default_factory=list,
        description="`region` values to keep (`GLOBAL` is one); empty = every region",
    )
    ipv6: bool = Field(
        default=True,
        description="Also select the IPv6 prefixes: a second prefix list / WAF IP set, IPv6 "
        "rules in the security groups",
    )
    targets: list[SyncTarget] = Field(
        default_factory=_default_targets,
        min_length=1,
        description="What the function keeps equal to the selection",
    )
    ports: list[int] = Field(
        default_factory=_default_ports,
        min_length=1,
        description="TCP ports opened for each CIDR in the security groups (`securityGroup` "
        "only); each port is one rule per CIDR",
    )
    security_group_count: int = Field(
        default=4,
        ge=1,
        le=50,
        alias="securityGroupCount",
        description="Security groups in the pool (`securityGroup` only), fixed at deploy: a "
        "selection that does not fit is refused by the function before any write",
    )
    rules_per_group: int = Field(
        default=60,
        ge=1,
        le=1000,
        alias="rulesPerGroup",
        description="Inbound rules the function puts in one group, per address family; at "
        "least the number of ports. Above 60, declare the raised quota "
        "(`quotas.securityGroupRules`)",
    )
    waf_scope: Literal["REGIONAL", "CLOUDFRONT"] = Field(
        default="REGIONAL",
        alias="wafScope",
        description="`REGIONAL`: IP sets for an ALB, API Gateway... in the stack's region; "
        "`CLOUDFRONT`: IP sets created in us-east-1 for CloudFront",
    )
    schedule: str = Field(
        default="rate(1 day)",
        description="EventBridge `rate(...)` or `cron(...)` expression of the safety-net run "
        "(AWS's change notification triggers the others), checked against EventBridge's rules "
        "at preview",
    )
    # A failed sync fails the deployment instead of leaving empty allow-lists behind.
    initial_sync: bool = Field(
        default=True,
        alias="initialSync",
        description="Run the function once during `pulumi up` (and again when the selection or "
        "a target changes), so the targets are filled before anyone attaches them",
    )
    log_retention_days: LogRetentionDays = Field(
        default=30,
        alias="logRetentionDays",
        description="Days CloudWatch Logs keeps the function's log group",
    )

    @field_validator("services", "regions", "targets")
    @classmethod
    def _no_duplicates(cls, value: list[str]) -> list[str]:
        return check_unique(value, "value")

    @field_validator("schedule")
    @classmethod
    def _schedule_expression(cls, value: str) -> str:
        return _schedule_expression(value)

    @field_validator("ports")
    @classmethod
    def _valid_ports(cls, value: list[int]) -> list[int]:
        for index, port in enumerate(value):
            if not 1 <= port <= 65535:
                raise ConfigError(f"[{index}]: {port} is not a TCP port")
        return check_unique(value, "port")

    @model_validator(mode="after")
    def _pool_fits_one_prefix(self) -> IpRangeSyncConfig:
        # The handler places every port of a CIDR in the same group; a group that cannot hold
        # one CIDR on all ports can hold nothing (the handler refuses to start).
        if "securityGroup" in self.targets and self.rules_per_group < len(self.ports):
            raise ConfigError(
                f"rulesPerGroup: {self.rules_per_group} rules cannot hold one CIDR on "
                f"{len(self.ports)} ports; raise rulesPerGroup or use fewer ports"
            )
        return self

    def coverage_notes(self) -> list[str]:
        """Valid selections that probably miss addresses (warned at deploy, not refused)."""
        notes = []
        if "CLOUDFRONT" in self.services and self.regions == ["GLOBAL"]:
            # Both CloudFront lists must be allowed (the re:Post article above).
            notes.append(
                f"{PROJECT}:ipRangeSync.regions: [GLOBAL] selects CloudFront's global edge "
                "ranges only, not its regional edge caches (CLOUDFRONT_REGIONAL_EDGE_IP_LIST); "
                "set regions: [] to allow both"
            )
        return notes
