"""The whole stack config: every pattern's model, and the rules that need more than one of them.

Each validator here names the key a user has to edit (``ConfigError("staticIp.regions[0]...")``);
the checks within one pattern live in that pattern's module. The last two validators run the
exposure model's consistency rule and the quota counts, on a config already valid in itself.
"""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from components.config.base import ENTRIES, ConfigError, ConfigModel
from components.config.domains import certificate_region
from components.config.edge import VPC_ORIGIN_REGIONS, EdgeConfig
from components.config.functions import FunctionConfig, default_functions
from components.config.ip_range_sync import IpRangeSyncConfig
from components.config.ip_restricted_api import IpRestrictedApiConfig, route_literal_prefix
from components.config.network import NetworkConfig
from components.config.private_endpoint import PrivateEndpointConfig, private_dns_effect
from components.config.quotas import QuotasConfig
from components.config.static_egress import StaticEgressConfig
from components.config.static_ip import StaticIpConfig
from components.config.types import Region, serving_function


class StackConfig(ConfigModel):
    """Everything the program needs, validated. Built only by ``parse_config``."""

    region: Region = Field(description="The stack's region (`aws:region`): where everything goes")
    functions: list[FunctionConfig] = Field(
        default_factory=default_functions,
        min_length=1,
        description="The functions to expose; default: the bundled whoami app at `/`",
    )
    network: NetworkConfig = Field(
        default_factory=NetworkConfig,
        description="The VPC, created or looked up only when an enabled pattern needs one",
    )
    static_ip: StaticIpConfig = Field(
        default_factory=StaticIpConfig,
        alias="staticIp",
        description="Fixed IPv4 entry (Global Accelerator or NLB) -> internal ALB -> Lambda",
    )
    ip_restricted_api: IpRestrictedApiConfig = Field(
        default_factory=IpRestrictedApiConfig,
        alias="ipRestrictedApi",
        description="API Gateway REST API with a source-IP resource policy, per route",
    )
    edge: EdgeConfig = Field(
        default_factory=EdgeConfig,
        description="CloudFront in front of AWS_IAM function URLs",
    )
    private_endpoint: PrivateEndpointConfig = Field(
        default_factory=PrivateEndpointConfig,
        alias="privateEndpoint",
        description="Interface VPC endpoint for the Lambda API, with a policy naming who may "
        "invoke which function",
    )
    static_egress: StaticEgressConfig = Field(
        default_factory=StaticEgressConfig,
        alias="staticEgress",
        description="Bundled functions behind NAT gateway(s) with Elastic IPs: a fixed outbound IP",
    )
    ip_range_sync: IpRangeSyncConfig = Field(
        default_factory=IpRangeSyncConfig,
        alias="ipRangeSync",
        description="Prefix lists, security groups and/or WAF IP sets kept equal to AWS's "
        "published IP ranges",
    )

    @field_validator("functions")
    @classmethod
    def _unique_names_and_paths(cls, value: list[FunctionConfig]) -> list[FunctionConfig]:
        for index, fn in enumerate(value):
            if fn.name in {f.name for f in value[:index]}:
                raise ConfigError(f"[{index}].name: duplicate function name {fn.name!r}")
            if fn.path in {f.path for f in value[:index]}:
                raise ConfigError(
                    f"[{index}].path: {fn.path!r} is already served by another function"
                )
        return value

    @model_validator(mode="after")
    def _expose_names_enabled_entries(self) -> StackConfig:
        """functions[].expose / widerExposure name entries this stack enables and can serve."""
        for index, fn in enumerate(self.functions):
            key = f"functions[{index}]"
            for j, entry in enumerate(fn.expose or ()):
                if not self.entry_enabled(entry):
                    raise ConfigError(
                        f"{key}.expose[{j}]: {entry} is not enabled in this stack "
                        f"({entry}.enabled: false); enable it, or remove it from expose"
                    )
                if entry == "privateEndpoint" and fn.arn and fn.arn.split(":")[3] != self.region:
                    raise ConfigError(
                        f"{key}.expose[{j}]: privateEndpoint serves the Lambda API of "
                        f"{self.region}; function {fn.name!r} is in {fn.arn.split(':')[3]}"
                    )
            entries = self.entries_of(fn)
            for j, entry in enumerate(fn.wider_exposure):
                if entry not in entries:
                    raise ConfigError(
                        f"{key}.widerExposure[{j}]: {entry} does not serve function "
                        f"{fn.name!r} (see {key}.expose), so it cannot widen its exposure"
                    )
                if entry == "privateEndpoint":
                    raise ConfigError(
                        f"{key}.widerExposure[{j}]: privateEndpoint admits IAM principals only, "
                        "never anonymous callers, so it cannot widen a source restriction"
                    )
        for entry in self.enabled_entries:
            if not self.functions_exposed_by(entry):
                raise ConfigError(
                    f"{entry}: enabled, but no function is exposed through it (every "
                    f"functions[].expose leaves it out); add {entry} to a function's expose, "
                    f"or set {entry}.enabled: false"
                )
        return self

    @model_validator(mode="after")
    def _cross_checks(self) -> StackConfig:
        net = self.network
        needs_private = [
            key
            for key, on in (
                ("staticIp", self.static_ip.enabled),
                ("privateEndpoint", self.private_endpoint.enabled),
                ("staticEgress", self.static_egress.enabled),
                (
                    "ipRestrictedApi",
                    self.ip_restricted_api.enabled
                    and self.ip_restricted_api.endpoint_type == "PRIVATE"
                    and not self.ip_restricted_api.vpc_endpoint_ids,
                ),
            )
            if on
        ]
        if net.existing and needs_private and not net.private_subnet_ids:
            raise ConfigError(
                f"network.privateSubnetIds: {', '.join(needs_private)} need private subnets "
                "of the existing VPC"
            )
        needs_public = [
            key
            for key, on in (
                ("staticIp (entry: nlb)", self.static_ip.enabled and self.static_ip.entry == "nlb"),
                ("staticEgress", self.static_egress.enabled),
            )
            if on
        ]
        if net.existing and needs_public and not net.public_subnet_ids:
            raise ConfigError(
                f"network.publicSubnetIds: {', '.join(needs_public)} need public subnets "
                "of the existing VPC"
            )
        if self.static_egress.enabled and net.existing:
            raise ConfigError(
                "staticEgress: needs a VPC this stack creates (it adds NAT gateways and routes to "
                "the private route tables); remove network.vpcId or route your existing private "
                "subnets through your own NAT"
            )
        return self

    @model_validator(mode="after")
    def _private_dns_chosen(self) -> StackConfig:
        """In someone else's VPC, capturing every Lambda API call is not a default to assume."""
        pe = self.private_endpoint
        if pe.enabled and self.network.existing and "private_dns" not in pe.model_fields_set:
            raise ConfigError(
                "privateEndpoint.privateDns: required with an existing VPC (network.vpcId); "
                f"choose one. {private_dns_effect(self.region)}"
            )
        return self

    @model_validator(mode="after")
    def _edge_functions(self) -> StackConfig:
        """The edge pattern adds a function URL to each function and routes '/' itself."""
        if not self.edge.enabled:
            return self
        for index, fn in self._indexed("edge"):
            if not fn.bundled and self.edge.origin == "function-url":
                # A function URL is function-level configuration (one per function), so
                # creating one would change a function this stack does not own, collide with a
                # URL it may already have, and delete that URL on `pulumi destroy`.
                raise ConfigError(
                    f"functions[{index}].arn: edge adds an AWS_IAM function URL to every "
                    f"function, which would modify the existing function {fn.name!r}; expose "
                    f"it with another pattern (functions[{index}].expose), use edge.origin: vpc "
                    "(an ALB invokes it, no function URL), or give it a function URL yourself "
                    "and put your own CloudFront in front"
                )
            if self.edge.static_site and fn.path == "/":
                raise ConfigError(
                    f"functions[{index}].path: edge.staticSite serves the site at '/', so "
                    f"function {fn.name!r} at '/' would be unreachable; give it a path such as "
                    "/api"
                )
        return self

    @model_validator(mode="after")
    def _edge_vpc_origin_fits(self) -> StackConfig:
        """edge.origin: vpc puts an internal ALB in the VPC: its region, subnets and functions."""
        edge = self.edge
        if not edge.enabled or edge.origin != "vpc":
            return self
        if self.region not in VPC_ORIGIN_REGIONS:
            raise ConfigError(
                f"edge.origin: CloudFront VPC origins are not available in {self.region} "
                f"(supported: {', '.join(sorted(VPC_ORIGIN_REGIONS))}); use origin: function-url"
            )
        # The ALB behind the VPC origin spans two zones or more, like staticIp's.
        self._alb_fits(
            "edge", "edge.origin: vpc", "the VPC origin's", "with edge.origin: vpc, the ALB"
        )
        return self

    def _alb_fits(self, entry: str, who: str, whose: str, alb: str) -> None:
        """The rules of an entry's internal ALB: subnets in two zones or more, and functions of
        the stack's region only (an ALB invokes functions of its own region)."""
        net = self.network
        if net.existing and len(net.private_subnet_ids) < 2:
            raise ConfigError(
                f"network.privateSubnetIds: {who} needs private subnets in at least 2 "
                f"availability zones ({whose} Application Load Balancer spans two zones or more)"
            )
        if not net.existing and net.az_count < 2:
            raise ConfigError(
                f"network.azCount: {who} needs at least 2 availability zones ({whose} "
                "Application Load Balancer spans two zones or more)"
            )
        for index, fn in self._indexed(entry):
            if fn.arn and fn.arn.split(":")[3] != self.region:
                raise ConfigError(
                    f"functions[{index}].arn: {alb} in {self.region} can only invoke functions "
                    f"of its own region; this one is in {fn.arn.split(':')[3]} (leave {entry} "
                    f"out of functions[{index}].expose)"
                )

    @model_validator(mode="after")
    def _static_ip_fits(self) -> StackConfig:
        """staticIp rules that need the network, the functions or the stack region."""
        sip = self.static_ip
        if not sip.enabled:
            return self
        net = self.network
        # An ALB needs subnets in two zones or more; with one zone neither entry can be built.
        self._alb_fits("staticIp", "staticIp", "its", "staticIp's ALB")
        if sip.https and sip.certificate_arn.split(":")[3] != self.region:
            raise ConfigError(
                f"staticIp.certificateArn: the ALB in {self.region} needs an ACM certificate of "
                f"{self.region}; this one is in {sip.certificate_arn.split(':')[3]}"
            )
        if sip.ip_address_type == "DUAL_STACK" and not net.existing:
            raise ConfigError(
                "staticIp.ipAddressType: DUAL_STACK needs a dual-stack ALB, whose subnets need "
                "IPv6 CIDR blocks; the VPC this stack creates is IPv4 only (use network.vpcId "
                "with IPv6 private subnets, or IPV4)"
            )
        for index, endpoint in enumerate(sip.regions):
            key = f"staticIp.regions[{index}]"
            if endpoint.region == self.region:
                if endpoint.certificate_arn:
                    raise ConfigError(
                        f"{key}.certificateArn: {self.region} is the stack region; its "
                        "certificate is staticIp.certificateArn"
                    )
                continue
            if net.existing:
                raise ConfigError(
                    f"{key}.region: an existing VPC (network.vpcId) is in {self.region} only; "
                    f"serving {endpoint.region} too needs a VPC this stack creates there"
                )
            existing = [i for i, fn in self._indexed("staticIp") if not fn.bundled]
            if existing:
                raise ConfigError(
                    f"functions[{existing[0]}].arn: staticIp.regions deploys the functions to "
                    f"{endpoint.region} too; an existing function (arn) lives in one region "
                    "only (use a bundled handler, or drop staticIp.regions)"
                )
            if sip.https and not endpoint.certificate_arn:
                raise ConfigError(
                    f"{key}.certificateArn: HTTPS is on (staticIp.certificateArn), so the ALB in "
                    f"{endpoint.region} needs an ACM certificate of {endpoint.region}"
                )
            if endpoint.certificate_arn and endpoint.certificate_arn.split(":")[3] != (
                endpoint.region
            ):
                raise ConfigError(
                    f"{key}.certificateArn: the ALB in {endpoint.region} needs a certificate of "
                    f"{endpoint.region}; this one is in {endpoint.certificate_arn.split(':')[3]}"
                )
        return self

    @model_validator(mode="after")
    def _own_elastic_ips_fit(self) -> StackConfig:
        """eipAllocationIds: one address per NAT gateway / NLB zone, each used once."""
        net, egress, sip = self.network, self.static_egress, self.static_ip
        given: dict[str, str] = {}
        if egress.enabled and egress.eip_allocation_ids:
            needed = egress.elastic_ip_count(net.az_count)
            if len(egress.eip_allocation_ids) != needed:
                zones = f"network.azCount: {net.az_count}"
                what = (
                    f"the regional NAT gateway takes one per zone ({zones})"
                    if egress.mode == "regional"
                    else f"one NAT gateway per zone (natPerAz: true, {zones})"
                    if egress.nat_per_az
                    else "one NAT gateway for every zone (natPerAz: false)"
                )
                raise ConfigError(
                    f"staticEgress.eipAllocationIds: {len(egress.eip_allocation_ids)} given, "
                    f"{needed} needed: {what}"
                )
            given = {
                a: f"staticEgress.eipAllocationIds[{i}]"
                for i, a in enumerate(egress.eip_allocation_ids)
            }
        if sip.enabled and sip.eip_allocation_ids:
            needed = len(net.public_subnet_ids) if net.existing else net.az_count
            if len(sip.eip_allocation_ids) != needed:
                zones = "network.publicSubnetIds" if net.existing else "network.azCount"
                raise ConfigError(
                    f"staticIp.eipAllocationIds: {len(sip.eip_allocation_ids)} given, {needed} "
                    f"needed: the NLB takes one Elastic IP per public subnet ({zones}: {needed})"
                )
            for index, allocation in enumerate(sip.eip_allocation_ids):
                if allocation in given:
                    raise ConfigError(
                        f"staticIp.eipAllocationIds[{index}]: {allocation} is also "
                        f"{given[allocation]}; an Elastic IP serves one NAT gateway or load "
                        "balancer at a time"
                    )
        return self

    @model_validator(mode="after")
    def _ip_restricted_api_routes(self) -> StackConfig:
        """Each ipRestrictedApi route must fall under a function's path, or it routes nowhere."""
        api = self.ip_restricted_api
        if not api.enabled:
            return self
        served = self.functions_exposed_by("ipRestrictedApi")
        for index, route in enumerate(api.routes):
            literal = route_literal_prefix(route.path)
            # A NONE route with a wildcard is only a policy pattern and may span functions.
            if "*" in route.path and route.auth == "NONE":
                continue
            if serving_function(literal, served) is None:
                paths = ", ".join(f.path for f in served)
                raise ConfigError(
                    f"ipRestrictedApi.routes[{index}].path: {route.path!r} is not served by any "
                    f"function (function paths: {paths}); the API would answer 403 there anyway"
                )
        return self

    @model_validator(mode="after")
    def _exposure_consistent(self) -> StackConfig:
        """No entry admits sources outside a restriction another entry puts on the same
        function and path, unless widerExposure says so (rule: components/exposure/)."""
        from components.exposure import consistency_error  # it reads this module's types

        message = consistency_error(self)
        if message:
            raise ConfigError(message)
        return self

    # Last: a config that is wrong in itself is reported as such before anything is counted.
    quotas: QuotasConfig = Field(
        default_factory=QuotasConfig,
        description="Account quotas raised in Service Quotas, declared so the program accepts a "
        "config that uses them; empty = AWS's defaults",
    )

    @model_validator(mode="after")
    def _within_quotas(self) -> StackConfig:
        """What the config makes AWS count (rules, behaviors, policy size) fits the quotas."""
        from components.quotas import first_exceeded

        over = first_exceeded(self)
        if over is not None:
            raise ConfigError(over.message())
        return self

    # -- what the program derives from the config --------------------------------------------

    def entry_enabled(self, entry: str) -> bool:
        return {
            "staticIp": self.static_ip.enabled,
            "ipRestrictedApi": self.ip_restricted_api.enabled,
            "edge": self.edge.enabled,
            "privateEndpoint": self.private_endpoint.enabled,
        }[entry]

    @property
    def enabled_entries(self) -> list[str]:
        return [e for e in ENTRIES if self.entry_enabled(e)]

    def entries_of(self, fn: FunctionConfig) -> list[str]:
        """The entries that serve ``fn``: its expose list, or every enabled entry."""
        return list(fn.expose) if fn.expose is not None else self.enabled_entries

    def functions_exposed_by(self, entry: str) -> list[FunctionConfig]:
        """The functions ``entry`` serves, in config order (what its component receives)."""
        if not self.entry_enabled(entry):
            return []
        return [fn for fn in self.functions if entry in self.entries_of(fn)]

    def _indexed(self, entry: str) -> list[tuple[int, FunctionConfig]]:
        """(index in functions, function) for the functions ``entry`` serves: for messages."""
        served = {fn.name for fn in self.functions_exposed_by(entry)}
        return [(i, fn) for i, fn in enumerate(self.functions) if fn.name in served]

    def patterns_needing_vpc(self) -> list[str]:
        """Keys of the enabled patterns that put something in a VPC (empty = no network)."""
        needs = []
        if self.static_ip.enabled:
            needs.append("staticIp")
        api = self.ip_restricted_api
        # With vpcEndpointIds the API is reached through endpoints that exist already.
        if api.enabled and api.endpoint_type == "PRIVATE" and not api.vpc_endpoint_ids:
            needs.append("ipRestrictedApi")
        if self.edge.enabled and self.edge.origin == "vpc":
            needs.append("edge")
        if self.private_endpoint.enabled:
            needs.append("privateEndpoint")
        if self.static_egress.enabled:
            needs.append("staticEgress")
        if self.ip_range_sync.enabled and "securityGroup" in self.ip_range_sync.targets:
            needs.append("ipRangeSync")
        return needs

    @property
    def bundled_functions(self) -> list[FunctionConfig]:
        return [f for f in self.functions if f.bundled]

    @model_validator(mode="after")
    def _domains_fit(self) -> StackConfig:
        """Custom domain rules that need the stack region or both patterns."""
        api, edge = self.ip_restricted_api, self.edge
        domain = api.domain
        if api.enabled and domain.certificate_arn:
            region = certificate_region(domain.certificate_arn)
            if region != self.region:
                # A REGIONAL custom domain takes an ACM certificate of the API's region, and so
                # does a PRIVATE one: "Set up a Regional custom domain name in API Gateway" and
                # "Custom domain names for private APIs", API Gateway developer guide.
                raise ConfigError(
                    f"ipRestrictedApi.domain.certificateArn: the API's domain in {self.region} "
                    f"needs an ACM certificate of {self.region}; this one is in {region}"
                )
        if api.enabled and edge.enabled and domain.name in edge.domain.names:
            raise ConfigError(
                f"ipRestrictedApi.domain.name: {domain.name!r} is also one of edge.domain.names; "
                "a DNS name points at the API's domain or at the distribution, not both"
            )
        return self


# Top-level keys, in contract order: the key set Pulumi.yaml declares and docs/ documents.
TOP_LEVEL_KEYS = tuple(
    (field.alias or name) for name, field in StackConfig.model_fields.items() if name != "region"
)
