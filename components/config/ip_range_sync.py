"""``lambda-exposure:ipRangeSync``: firewalls kept equal to AWS's published IP ranges."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from components.config.base import PROJECT, ConfigError, ConfigModel, ascii_fullmatch, matching
from components.config.types import LogRetentionDays, check_unique, is_account_id, region_name

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


# AWS's own lists of CloudFront's origin-facing addresses, IPv4 and IPv6 ("Use the CloudFront
# managed prefix list", https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/
# LocationsOfEdgeServers.html#managed-prefix-list). Each reference to one counts as its weight
# against the rules-per-security-group quota: "the weight of a Amazon CloudFront managed prefix
# list is 55" (https://docs.aws.amazon.com/vpc/latest/userguide/working-with-aws-managed-prefix-
# lists.html, which gives 55 for both lists).
CLOUDFRONT_ORIGIN_FACING_LISTS = {
    4: "com.amazonaws.global.cloudfront.origin-facing",
    6: "com.amazonaws.global.ipv6.cloudfront.origin-facing",
}
CLOUDFRONT_LIST_WEIGHT = 55

# What AWS RAM takes as a principal for a prefix list: an account id, an OU or the organization.
# Patterns of the Organizations API (API_OrganizationalUnit.html, API_Organization.html in
# https://docs.aws.amazon.com/organizations/latest/APIReference/).
_OU_ARN_RE = ascii_fullmatch(
    r"arn:aws(-[a-z]+)*:organizations::[0-9]{12}:ou/(?P<org>o-[a-z0-9]{10,32})/"
    r"ou-[0-9a-z]{4,32}-[0-9a-z]{8,32}"
)
_ORGANIZATION_ARN_RE = ascii_fullmatch(
    r"arn:aws(-[a-z]+)*:organizations::[0-9]{12}:organization/(?P<org>o-[a-z0-9]{10,32})"
)


def organization_of(principal: str) -> str | None:
    """The organization id an OU or organization ARN names; None for an account id."""
    match = _OU_ARN_RE(principal) or _ORGANIZATION_ARN_RE(principal)
    return match.group("org") if match else None


RamPrincipal = Annotated[
    str,
    matching(
        lambda value: is_account_id(value) or organization_of(value) is not None,
        "a 12-digit account id, an OU ARN (arn:aws:organizations::<account>:ou/o-.../ou-...) "
        "or an organization ARN (arn:aws:organizations::<account>:organization/o-...)",
    ),
]


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
        if "securityGroup" in self.synced_targets and self.rules_per_group < len(self.ports):
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

    managed_prefix_list: Literal["auto", "never"] = Field(
        default="auto",
        alias="managedPrefixList",
        description="`auto`: with `services: [CLOUDFRONT]` and `regions: []`, the `prefixList` "
        "and `securityGroup` targets use AWS's `com.amazonaws.global.cloudfront.origin-facing` "
        "lists (the addresses CloudFront connects to origins from) and nothing is synced for "
        "them. `never`: always lists of our own, kept equal to the selection",
    )
    share_with: list[RamPrincipal] = Field(
        default_factory=list,
        alias="shareWith",
        description="Share the prefix lists of our own through AWS RAM with these principals "
        "(12-digit account ids, OU ARNs, the organization ARN): their security groups and "
        "route tables reference the one synced list",
    )
    allow_external_principals: bool = Field(
        default=False,
        alias="allowExternalPrincipals",
        description="`shareWith` names an account outside this account's organization: say so. "
        "Off, RAM refuses to share with it",
    )

    @field_validator("share_with")
    @classmethod
    def _one_organization(cls, value: list[str]) -> list[str]:
        check_unique(value, "principal")
        organizations = [(i, organization_of(p)) for i, p in enumerate(value)]
        named = [(i, org) for i, org in organizations if org is not None]
        for index, org in named[1:]:
            if org != named[0][1]:
                # RAM shares with the OUs and the organization the sharing account belongs to.
                raise ConfigError(
                    f"[{index}]: {org} is not the organization of [{named[0][0]}] "
                    f"({named[0][1]}); RAM shares with one organization, the one this account "
                    "is in (other organizations' accounts are listed by account id)"
                )
        return value

    @model_validator(mode="after")
    def _addresses_fit_the_targets(self) -> IpRangeSyncConfig:
        if (
            self.aws_managed_lists
            and "securityGroup" in self.targets
            and self.rules_per_group < CLOUDFRONT_LIST_WEIGHT
        ):
            raise ConfigError(
                f"rulesPerGroup: {self.rules_per_group} rules cannot hold one reference to "
                f"AWS's CloudFront list, which weighs {CLOUDFRONT_LIST_WEIGHT} rules; raise "
                "rulesPerGroup, or set managedPrefixList: never"
            )
        if self.share_with and "prefixList" not in self.targets:
            raise ConfigError(
                "shareWith: RAM shares the prefix lists, and targets has no prefixList"
            )
        if self.share_with and self.aws_managed_lists:
            raise ConfigError(
                "shareWith: with managedPrefixList: auto this CLOUDFRONT selection uses AWS's "
                f"{CLOUDFRONT_ORIGIN_FACING_LISTS[4]} lists, which no one can share and every "
                "account can reference already (prefixListId names them); set "
                "managedPrefixList: never to share a synced list of your own"
            )
        if self.allow_external_principals and not any(map(is_account_id, self.share_with)):
            raise ConfigError(
                "allowExternalPrincipals: only an account can be outside the organization, and "
                "shareWith lists no account id; remove allowExternalPrincipals"
            )
        return self

    @property
    def aws_managed_lists(self) -> bool:
        """Whether AWS's origin-facing lists stand in for our prefixList/securityGroup targets.

        Only the whole CloudFront selection: AWS's lists cannot be narrowed to a region, so a
        region filter keeps the sync.
        """
        return (
            self.managed_prefix_list == "auto"
            and self.services == ["CLOUDFRONT"]
            and not self.regions
        )

    @property
    def synced_targets(self) -> list[SyncTarget]:
        """The targets the sync function fills; empty = no function at all."""
        taken = {"prefixList", "securityGroup"} if self.aws_managed_lists else set()
        return [t for t in self.targets if t not in taken]

    def origin_facing_groups(self) -> list[list[int]]:
        """The ports of each group referencing AWS's CloudFront lists (``securityGroup`` with
        ``aws_managed_lists``): as many references per group as ``rulesPerGroup`` can weigh."""
        per_group = max(1, self.rules_per_group // CLOUDFRONT_LIST_WEIGHT)
        return [self.ports[i : i + per_group] for i in range(0, len(self.ports), per_group)]
