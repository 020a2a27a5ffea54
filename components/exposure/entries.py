"""Per entry: who it admits, the restrictions it makes, how it authenticates, its hops.

``Entries(config, layout).door(entry, function, cell, method)`` is the question everything else
asks: what one entry does with one request (a path cell and a verb) to one function.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from components.api_policy import route_methods
from components.config import ApiRoute, StackConfig, route_literal_prefix
from components.exposure.paths import (
    PROXY,
    Cell,
    DoorAt,
    Layout,
    Router,
    is_under,
    layout_of,
    route_label,
)
from components.exposure.sources import NOBODY, NONE, Auth, Limit, NetSet, Sources, Waf

_API_IAM = Auth("iam", ("principals of this account whose IAM policy allows execute-api:Invoke",))


def _iam_target(route: ApiRoute) -> str:
    """The API resource an AWS_IAM route's method is put on (ip_restricted_api.plan_methods)."""
    literal = route_literal_prefix(route.path)
    if route.path == literal:
        return literal
    return f"/{PROXY}" if literal == "/" else f"{literal}/{PROXY}"


def _uses_ipv6(cidrs: Iterable[str]) -> bool:
    return any(":" in c for c in cidrs)


def _api_cidrs(config: StackConfig) -> list[str]:
    api = config.ip_restricted_api
    return [*api.allow, *api.deny, *(c for r in api.routes for c in (*r.allow, *r.deny))]


def vpc_sources(config: StackConfig, extra: Sequence[str] = ()) -> Sources:
    """Callers inside the VPC: its CIDR when this stack creates it (an existing VPC's CIDR is
    not in the config: any address, but still only from inside)."""
    inside = (
        NetSet.anyone(ipv6=False) if config.network.existing else NetSet.of([config.network.cidr])
    )
    return Sources(inside | NetSet.of(extra), within_vpc=True)


def _listed(cidrs: Sequence[str], families: NetSet) -> NetSet:
    return NetSet.of(cidrs) if cidrs else families


@dataclass(frozen=True)
class Entries:
    """Per-entry sources and restrictions, independent of the path."""

    config: StackConfig
    layout: Layout

    def door(self, entry: str, function: str, cell: Cell, method: str) -> DoorAt | None:
        """What ``entry`` does with this request to ``function`` (None: routed elsewhere)."""
        key = (entry, function, cell, method)
        memo = self.layout.door_memo
        if key not in memo:
            memo[key] = self._door(entry, function, cell, method)
        return memo[key]

    def _door(self, entry: str, function: str, cell: Cell, method: str) -> DoorAt | None:
        if cell.function(entry) != function:
            return None
        if entry == "staticIp":
            sources, limits = self.static_ip()
            return sources, NONE, limits
        if entry == "edge":
            sources, limits = self.edge()
            return sources, edge_auth(self.config), limits
        if entry == "ipRestrictedApi":
            return self.api(cell.path, method, cell)
        return None

    def static_ip(self) -> tuple[Sources, list[Limit]]:
        sip = self.config.static_ip
        v6 = sip.entry == "global-accelerator" and sip.ip_address_type == "DUAL_STACK"
        sources = Sources(_listed(sip.allowed_cidrs, NetSet.anyone(ipv6=v6)))
        limits = []
        if sip.allowed_cidrs:
            limits.append(
                Limit("staticIp.allowedCidrs", sources, f"staticIp admits only {sources}")
            )
        return sources, limits

    def edge(self) -> tuple[Sources, list[Limit]]:
        cidrs = self.config.edge.allowed_cidrs
        sources = Sources(_listed(cidrs, NetSet.anyone()))  # CloudFront has IPv6 on
        limits = (
            [Limit("edge.allowedCidrs", sources, f"edge admits only {sources}")] if cidrs else []
        )
        return sources, limits

    def api_families(self) -> NetSet:
        return NetSet.anyone(ipv6=_uses_ipv6(_api_cidrs(self.config)))

    def api(self, path: str, method: str, cell: Cell) -> tuple[Sources, Auth, list[Limit]]:
        """The API's sources and authorization for one request (path, verb)."""
        api = self.config.ip_restricted_api
        families = self.api_families()
        reach = api_endpoint_sources(self.config) if api.private else Sources(families)
        limits: list[Limit] = []
        if api.allow:
            allowed = Sources(NetSet.of(api.allow))
            reach = reach & allowed
            limits.append(Limit("ipRestrictedApi.allow", allowed, f"the API admits only {allowed}"))
        if api.deny:
            refused = Sources(families, NetSet.of(api.deny))
            reach = reach & refused
            limits.append(Limit("ipRestrictedApi.deny", refused, f"the API admits {refused}"))
        for index in sorted({i for i, verb in cell.routes if verb == method}):
            route = api.routes[index]
            if route.allow or route.deny:
                own = Sources(_listed(route.allow, families), NetSet.of(route.deny))
                reach = reach & own
                if (index, method) not in cell.named:
                    continue  # the policy's reach beyond what the route names: not a promise
                limits.append(
                    Limit(
                        f"ipRestrictedApi.routes[{index}]",
                        own,
                        f"{route_label(route)} admits only {own}",
                    )
                )
        # Authorization is per API method, so an AWS_IAM route binds the resource it became
        # (``/a`` or ``/a/{proxy+}``), not every path its wildcard matches.
        for index, route in enumerate(api.routes):
            covers = route.method == "ANY" or method in route_methods(route)
            if route.auth == "AWS_IAM" and _iam_target(route) == cell.resource and covers:
                limits.append(
                    Limit(
                        f"ipRestrictedApi.routes[{index}]",
                        NOBODY,
                        f"{route_label(route)} is AWS_IAM (no anonymous caller)",
                    )
                )
                return reach, _API_IAM, limits
        return reach, NONE, limits


def region_label(router: Router, name: str, fn_path: str) -> str:
    own = [fn_path, f"{fn_path}/*"] if fn_path != "/" else ["/*"]
    carved = sorted(
        p for p, n in router.prefixes if n != name and is_under(p, fn_path) and p != fn_path
    )
    text = ", ".join(own)
    if router.default == name and fn_path != "/":
        text += ", unmatched paths"
    return f"{text} except {', '.join(carved)}" if carved else text


def waf_of(config: StackConfig, entry: str) -> Waf | None:
    """The web ACL ``entry`` puts in front of its doors (the internal ALB's is staticIp's: the
    association is on the ALB, so a caller around the accelerator meets it too)."""
    edge, api = config.edge, config.ip_restricted_api
    sip = config.static_ip
    if entry in ("staticIp", "internalAlb") and sip.enabled and sip.waf.enabled:
        return Waf(sip.waf.rate_limit, tuple(sip.waf.managed_rules))
    if entry == "ipRestrictedApi" and api.enabled and api.waf.enabled:
        return Waf(api.waf.rate_limit, tuple(api.waf.managed_rules))
    if entry == "edge" and edge.enabled and edge.web_acl:
        return Waf(edge.rate_limit, tuple(edge.managed_rules))
    return None


def entry_hops(config: StackConfig, entry: str) -> tuple[str, ...]:
    waf = " + WAF" if waf_of(config, entry) is not None else ""
    if entry == "staticIp":
        sip = config.static_ip
        first = "Global Accelerator" if sip.entry == "global-accelerator" else "NLB (Elastic IPs)"
        return (first, f"internal ALB{waf}")
    if entry == "internalAlb":
        return (f"internal ALB{waf}",)
    if entry == "ipRestrictedApi":
        if config.ip_restricted_api.private:
            return ("execute-api VPC endpoint", f"REST API (PRIVATE){waf}")
        return (f"REST API (REGIONAL){waf}",)
    if entry == "edge":
        if config.edge.origin == "vpc":
            return (f"CloudFront{waf}", "VPC origin", "internal ALB")
        return (f"CloudFront{waf}", "function URL (AWS_IAM)")
    if entry == "privateEndpoint":
        return ("Lambda VPC endpoint", "Lambda Invoke API")
    if entry == "functionUrl":
        return ("function URL (AWS_IAM)",)
    return ("Lambda Invoke API",)


URLS = {
    "staticIp": "staticIpUrls",
    "ipRestrictedApi": "apiUrl",
    "edge": "edgeUrl",
    "privateEndpoint": "lambdaEndpointDns",
}


def entry_url(config: StackConfig, entry: str) -> str:
    """The stack outputs holding the URLs that reach ``entry``, space-separated, custom domain
    first: a distribution keeps answering on its ``*.cloudfront.net`` name, and the API on its
    ``execute-api`` URL unless ``domain.disableDefaultEndpoint`` turns that off."""
    if entry == "edge" and config.edge.domain.enabled:
        return "edgeDomainUrls edgeUrl"
    domain = config.ip_restricted_api.domain
    if entry == "ipRestrictedApi" and domain.enabled:
        return "apiDomainUrl" if domain.disable_default_endpoint else "apiDomainUrl apiUrl"
    return URLS[entry]


def api_endpoint_sources(config: StackConfig) -> Sources:
    """Who reaches a PRIVATE API: callers inside the VPC of an endpoint it admits. The VPCs of
    ``vpcEndpointIds`` are not in the config: any address, but only from inside."""
    if config.ip_restricted_api.vpc_endpoint_ids:
        return Sources(NetSet.anyone(ipv6=False), within_vpc=True)
    return vpc_sources(config)


def internal_alb(config: StackConfig) -> Sources | None:
    """Who reaches the accelerator's internal ALB around the accelerator: callers inside the
    VPC that its security group admits (the same rules as the clients'). None for entry nlb,
    whose ALB admits only the NLB's group."""
    if not config.static_ip.enabled or config.static_ip.entry != "global-accelerator":
        return None
    # An existing VPC may carry IPv6 (DUAL_STACK needs it): any address, from inside.
    net = config.network
    inside = NetSet.anyone() if net.existing else NetSet.of([net.cidr])
    return Entries(config, layout_of(config)).static_ip()[0] & Sources(inside, within_vpc=True)


def edge_auth(config: StackConfig) -> Auth:
    if config.edge.origin == "vpc":
        # Nothing is signed: the ALB is internal and its group admits only CloudFront's
        # origin-facing addresses, so CloudFront is the only way to it (no side door).
        return Auth("none", note="through the VPC origin; the ALB admits only CloudFront")
    how = "OAC" if config.edge.signing == "oac" else "Lambda@Edge SigV4 signer"
    return Auth("cloudfront-signed", note=f"signed by {how}")
