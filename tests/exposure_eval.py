"""Who can reach each function, read off the synthesized graph alone.

The test-side counterpart of ``components/exposure.py``: it never looks at the config or the model,
only at the resources ``tools.synth`` recorded, and follows a request the way AWS would:

- ``staticIp``: accelerator listener ports (client IP preserved) or NLB listeners and the NLB's
  security group (and, around them, a caller inside the VPC straight to the ALB) → the internal
  ALB's security group (``aws:vpc/securityGroupIngressRule`` and
  inline ``ingress``) → the ALB listener on that port (redirects followed) → listener rules by
  priority (ALB path patterns) → target group → attached function, with an
  ``elasticloadbalancing`` permission for that target group;
- ``ipRestrictedApi``: the API resource tree (literal segments first, then ``{proxy+}``), the
  method (verb, else ``ANY``) and its authorization, its integration's function, an
  ``apigateway`` permission whose source ARN covers the request, the resource policy evaluated
  with ``tests/policy_eval.py`` (``aws:SourceIp``, or the VPC endpoint, its security group and
  ``aws:VpcSourceIp`` for a PRIVATE API) and the endpoint's own policy;
- ``edge``: the web ACL (rules by priority: IP set references, ``or``; rate rules never match a
  normal caller; then the default action), the first cache behavior whose pattern matches, its
  origin's function URL and how CloudFront may call it (NONE, or AWS_IAM with OAC and a
  ``cloudfront`` permission for this distribution, or a Lambda@Edge signer whose role may invoke
  the URL);
- the IAM doors: the Lambda endpoint's policy and security group, function URL auth types, and
  every Lambda permission (a non-service principal, or one without a source, is a wider door).

``disagreements`` compares all of that with an ``ExposureModel`` on sample paths, verbs and
source addresses, and lists every point where they differ.
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tests.graph import (
    ACCELERATOR,
    API_RESOURCE,
    DISTRIBUTION,
    EGRESS,
    ENDPOINT_GROUP,
    FUNCTION,
    FUNCTION_URL,
    GA_LISTENER,
    GET_VPC,
    INGRESS,
    INTEGRATION,
    IP_SET,
    LB,
    LISTENER,
    LISTENER_RULE,
    METHOD,
    OAC,
    PERMISSION,
    REST_API,
    REST_API_POLICY,
    ROLE_POLICY,
    SG,
    STAGE,
    TARGET_GROUP_ATTACHMENT,
    VPC,
    VPC_ENDPOINT,
    VPC_ENDPOINT_POLICY,
    WEB_ACL,
)
from tests.policy_eval import Request, evaluate, gateway_allows
from tools.synth import Resource, Synth

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
ANON_ENTRIES = ("staticIp", "ipRestrictedApi", "edge")
SERVICE_ENTRIES = {
    "elasticloadbalancing.amazonaws.com": "staticIp",
    "apigateway.amazonaws.com": "ipRestrictedApi",
    "cloudfront.amazonaws.com": "edge",
}
PROXY = "{proxy+}"


def _policy(value: Any) -> dict[str, Any]:
    return json.loads(value) if isinstance(value, str) else value


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


@functools.lru_cache(maxsize=4096)
def _pattern(pattern: str) -> re.Pattern[str]:
    """ALB / CloudFront / IAM wildcards: '*' any run of characters, '?' exactly one."""
    return re.compile(
        "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    )


def _matches(pattern: str, value: str) -> bool:
    return _pattern(pattern).fullmatch(value) is not None


def in_cidrs(address: str, cidrs: Iterable[str]) -> bool:
    ip = ipaddress.ip_address(address)
    return any(
        ip.version == (n := ipaddress.ip_network(c, strict=False)).version and ip in n
        for c in cidrs
    )


def _port(value: Any) -> int:
    return int(float(value))


def _memo(method: Callable[..., Any]) -> Callable[..., Any]:
    """Cache a method's answers on its instance (the graph never changes under it)."""

    @functools.wraps(method)
    def cached(self: Any, *args: Any, **kwargs: Any) -> Any:
        memo = self.__dict__.setdefault("_memo", {})
        key = (method.__name__, args, tuple(sorted(kwargs.items())))
        if key not in memo:
            memo[key] = method(self, *args, **kwargs)
        return memo[key]

    return cached


@dataclass
class GraphExposure:
    """Reachability of each function, from the resources of one synthesis."""

    synth: Synth
    names: dict[str, str] = field(init=False)  # function ARN or physical name -> config name

    def __post_init__(self) -> None:
        self.names = {}
        arns = dict(self.synth.outputs.get("functionArns", {}))
        for name, arn in arns.items():
            self.names[arn] = name
        for fn in self.synth.of_type(FUNCTION):
            arn, physical = str(fn.outputs.get("arn")), str(fn.outputs.get("name"))
            name = self.names.get(arn) or next(
                (n for n in arns if fn.name.endswith(f"functions-{n}")), None
            )
            if name is not None:
                self.names[arn] = name
                self.names[physical] = name

    # -- helpers over the graph -------------------------------------------------------------------

    @_memo
    def _all(self, type_: str) -> list[Resource]:
        return self.synth.of_type(type_)

    @_memo
    def _by_output(self, type_: str, key: str, value: Any) -> list[Resource]:
        return [r for r in self._all(type_) if r.outputs.get(key) == value]

    def function_of(self, reference: Any) -> str | None:
        return self.names.get(str(reference))

    @_memo
    def _permissions(self, function: str, principal: str) -> list[dict[str, Any]]:
        return [
            p.inputs
            for p in self._all(PERMISSION)
            if self.function_of(p.inputs.get("function")) == function
            and p.inputs.get("principal") == principal
        ]

    @_memo
    def sg_admits(self, group_id: str, port: int, source: str, *, group: bool = False) -> bool:
        """Does security group ``group_id`` admit ``source`` (an address, or a group id)?"""
        for rule in self._all(INGRESS):
            i = rule.inputs
            if i.get("securityGroupId") != group_id:
                continue
            if i.get("ipProtocol") != "-1" and not (
                _port(i.get("fromPort", 0)) <= port <= _port(i.get("toPort", 65535))
            ):
                continue
            if group and i.get("referencedSecurityGroupId") == source:
                return True
            cidrs = [c for c in (i.get("cidrIpv4"), i.get("cidrIpv6")) if c]
            if not group and in_cidrs(source, cidrs):
                return True
        for sg in self._by_output(SG, "id", group_id):
            for rule in sg.inputs.get("ingress") or []:
                if rule.get("protocol") != "-1" and not (
                    _port(rule.get("fromPort", 0)) <= port <= _port(rule.get("toPort", 0))
                ):
                    continue
                if group and source in (rule.get("securityGroups") or []):
                    return True
                cidrs = [*(rule.get("cidrBlocks") or []), *(rule.get("ipv6CidrBlocks") or [])]
                if not group and in_cidrs(source, cidrs):
                    return True
        return False

    # -- staticIp ---------------------------------------------------------------------------------

    @_memo
    def _fronts(self) -> list[tuple[str, int, str, str | None]]:
        """(ALB ARN, port, how the ALB's group sees the client: 'client' | 'any' | group id,
        family limit) for every way in from the internet."""
        fronts: list[tuple[str, int, str, str | None]] = []
        for accelerator in self._all(ACCELERATOR):
            family = "any" if accelerator.inputs.get("ipAddressType") == "DUAL_STACK" else "4"
            for listener in self._all(GA_LISTENER):
                if listener.inputs.get("acceleratorArn") != accelerator.outputs.get("arn"):
                    continue
                ports = [
                    p
                    for r in listener.inputs.get("portRanges") or []
                    for p in range(_port(r["fromPort"]), _port(r["toPort"]) + 1)
                ]
                for group in self._all(ENDPOINT_GROUP):
                    if group.inputs.get("listenerArn") != listener.outputs.get("arn"):
                        continue
                    for endpoint in group.inputs.get("endpointConfigurations") or []:
                        seen = "client" if endpoint.get("clientIpPreservationEnabled") else "any"
                        fronts += [(endpoint["endpointId"], p, seen, family) for p in ports]
        for nlb in self._all(LB):
            if nlb.inputs.get("loadBalancerType") != "network" or nlb.inputs.get("internal"):
                continue
            for listener in self._all(LISTENER):
                if listener.inputs.get("loadBalancerArn") != nlb.outputs.get("arn"):
                    continue
                port = _port(listener.inputs["port"])
                for action in listener.inputs.get("defaultActions") or []:
                    for attachment in self._all(TARGET_GROUP_ATTACHMENT):
                        if attachment.inputs.get("targetGroupArn") != action.get("targetGroupArn"):
                            continue
                        for group_id in nlb.inputs.get("securityGroups") or []:
                            fronts.append((attachment.inputs["targetId"], port, group_id, "4"))
        return fronts

    @_memo
    def _alb_listener(self, alb_arn: str, port: int) -> Resource | None:
        return next(
            (
                listener
                for listener in self._all(LISTENER)
                if listener.inputs.get("loadBalancerArn") == alb_arn
                and _port(listener.inputs.get("port")) == port
            ),
            None,
        )

    @_memo
    def _alb_target(
        self, alb_arn: str, port: int, path: str, depth: int = 0
    ) -> tuple[int, str] | None:
        """(port finally served, target group ARN) for a request, following redirects."""
        listener = self._alb_listener(alb_arn, port)
        if listener is None or depth > 3:
            return None
        rules = sorted(
            (
                r
                for r in self._all(LISTENER_RULE)
                if r.inputs.get("listenerArn") == listener.outputs.get("arn")
            ),
            key=lambda r: _port(r.inputs["priority"]),
        )
        actions = listener.inputs.get("defaultActions") or []
        for rule in rules:
            patterns = [
                v
                for c in rule.inputs.get("conditions") or []
                for v in (c.get("pathPattern") or {}).get("values") or []
            ]
            if any(_matches(p, path) for p in patterns):
                actions = rule.inputs.get("actions") or []
                break
        for action in actions:
            if action.get("type") == "forward":
                return port, action["targetGroupArn"]
            if action.get("type") == "redirect":
                return self._alb_target(alb_arn, int(action["redirect"]["port"]), path, depth + 1)
            return None
        return None

    def static_ip(self, function: str, path: str, address: str) -> bool:
        version = ipaddress.ip_address(address).version
        for alb_arn, port, seen, family in self._fronts():
            if family == "4" and version != 4:
                continue
            alb = next(iter(self._by_output(LB, "arn", alb_arn)), None)
            if alb is None:
                continue
            target = self._alb_target(alb_arn, port, path)
            if target is None:
                continue
            served_port, group_arn = target
            # A redirect sends the client back through the same front, on the new port.
            if served_port != port and not any(
                f[0] == alb_arn and f[1] == served_port and f[2] == seen for f in self._fronts()
            ):
                continue
            if self._front_admits(alb, seen, served_port, address) and self._group_invokes(
                group_arn, function
            ):
                return True
        return False

    def alb_direct(self, function: str, path: str, address: str) -> bool:
        """A caller inside the VPC that goes straight to an internal ALB, around its front."""
        for alb in self._all(LB):
            if alb.inputs.get("loadBalancerType") != "application" or not alb.inputs.get(
                "internal"
            ):
                continue
            if (
                ipaddress.ip_address(address).version == 6
                and alb.inputs.get("ipAddressType") != "dualstack"
            ):
                continue
            for listener in self._all(LISTENER):
                if listener.inputs.get("loadBalancerArn") != alb.outputs.get("arn"):
                    continue
                target = self._alb_target(alb.outputs["arn"], _port(listener.inputs["port"]), path)
                if target is None:
                    continue
                served_port, group_arn = target
                if not any(
                    self.sg_admits(g, served_port, address)
                    for g in alb.inputs.get("securityGroups") or []
                ):
                    continue
                if self._group_invokes(group_arn, function):
                    return True
        return False

    def _group_invokes(self, group_arn: str, function: str) -> bool:
        for attachment in self._all(TARGET_GROUP_ATTACHMENT):
            if attachment.inputs.get("targetGroupArn") != group_arn:
                continue
            if self.function_of(attachment.inputs.get("targetId")) != function:
                continue
            permissions = self._permissions(function, "elasticloadbalancing.amazonaws.com")
            if any(p.get("sourceArn") in (None, group_arn) for p in permissions):
                return True
        return False

    def _front_admits(self, alb: Resource, seen: str, port: int, address: str) -> bool:
        groups = alb.inputs.get("securityGroups") or []
        if seen == "client":
            return any(self.sg_admits(g, port, address) for g in groups)
        if seen == "any":
            return any(self.sg_admits(g, port, "0.0.0.0") for g in groups)
        # NLB: the client must pass the NLB's group, the NLB must be let out to the ALB's
        # group, and the ALB's group must admit the NLB's.
        egress = any(
            r.inputs.get("securityGroupId") == seen
            and r.inputs.get("referencedSecurityGroupId") in groups
            and _port(r.inputs["fromPort"]) <= port <= _port(r.inputs["toPort"])
            for r in self._all(EGRESS)
        )
        return (
            self.sg_admits(seen, port, address)
            and egress
            and any(self.sg_admits(g, port, seen, group=True) for g in groups)
        )

    # -- ipRestrictedApi -------------------------------------------------------------------------

    @functools.cached_property
    def _api(self) -> dict[str, Any] | None:
        apis = self._all(REST_API)
        if not apis:
            return None
        (api,) = apis
        api_id = api.outputs["id"]
        children: dict[str, dict[str, str]] = {}
        for resource in self._all(API_RESOURCE):
            if resource.inputs.get("restApi") == api_id:
                children.setdefault(resource.inputs["parentId"], {})[
                    resource.inputs["pathPart"]
                ] = resource.outputs["id"]
        methods = {
            (m.inputs["resourceId"], m.inputs["httpMethod"]): m.inputs["authorization"]
            for m in self._all(METHOD)
            if m.inputs.get("restApi") == api_id
        }
        integrations = {
            (i.inputs["resourceId"], i.inputs["httpMethod"]): i.inputs["uri"]
            for i in self._all(INTEGRATION)
            if i.inputs.get("restApi") == api_id
        }
        (stage,) = [s for s in self._all(STAGE) if s.inputs.get("restApi") == api_id]
        policies = [
            _policy(p.inputs["policy"])
            for p in self._all(REST_API_POLICY)
            if p.inputs.get("restApiId") == api_id
        ]
        config = api.inputs.get("endpointConfiguration") or {}
        return {
            "root": api.outputs["rootResourceId"],
            "arn": api.outputs["executionArn"],
            "stage": stage.inputs["stageName"],
            "children": children,
            "methods": methods,
            "integrations": integrations,
            "policy": policies[0] if policies else None,
            "private": config.get("types") == "PRIVATE",
            "endpoints": list(config.get("vpcEndpointIds") or []),
            "ipv6": config.get("ipAddressType") == "dualstack",
        }

    @_memo
    def _api_resource(self, path: str) -> str | None:
        api = self._api
        assert api is not None
        node = api["root"]
        for segment in [s for s in path.split("/") if s]:
            kids = api["children"].get(node, {})
            if segment in kids:
                node = kids[segment]
            elif PROXY in kids:
                return kids[PROXY]
            else:
                return None
        return node

    def api(self, function: str, path: str, method: str, address: str) -> bool:
        api = self._api
        if api is None:
            return False
        resource = self._api_resource(path)
        if resource is None:
            return False
        verb = method if (resource, method) in api["methods"] else "ANY"
        authorization = api["methods"].get((resource, verb))
        if authorization != "NONE":
            return False  # no method, or AWS_IAM: an anonymous request is refused
        uri = api["integrations"].get((resource, verb), "")
        found = re.search(r"functions/(arn:[^/]+)/invocations", uri)
        if found is None or self.function_of(found.group(1)) != function:
            return False
        arn = f"{api['arn']}/{api['stage']}/{method}/{path.lstrip('/')}"
        permissions = self._permissions(function, "apigateway.amazonaws.com")
        if not any(
            p.get("sourceArn") is None or _matches(p["sourceArn"], arn) for p in permissions
        ):
            return False
        if api["policy"] is None:
            return False
        if not api["private"]:
            if ipaddress.ip_address(address).version == 6 and not api["ipv6"]:
                return False
            return gateway_allows(api["policy"], Request(resource=arn, source_ip=address))
        for endpoint_id in api["endpoints"]:
            endpoints = self._by_output(VPC_ENDPOINT, "id", endpoint_id)
            if not any(
                self.sg_admits(g, 443, address)
                for e in endpoints
                for g in e.inputs.get("securityGroupIds") or []
            ):
                continue
            request = Request(resource=arn, vpc_source_ip=address, source_vpce=endpoint_id)
            endpoint_policies = [
                _policy(p.inputs["policy"])
                for p in self._all(VPC_ENDPOINT_POLICY)
                if p.inputs.get("vpcEndpointId") == endpoint_id
            ]
            if any(evaluate(p, request) != "ALLOW" for p in endpoint_policies):
                continue
            if gateway_allows(api["policy"], request):
                return True
        return False

    # -- edge -------------------------------------------------------------------------------------

    @_memo
    def _waf_allows(self, web_acl_arn: str | None, address: str) -> bool:
        if not web_acl_arn:
            return True
        (acl,) = self._by_output(WEB_ACL, "arn", web_acl_arn)

        def holds(statement: dict[str, Any]) -> bool:
            if "ipSetReferenceStatement" in statement:
                (ip_set,) = self._by_output(
                    IP_SET, "arn", statement["ipSetReferenceStatement"]["arn"]
                )
                return in_cidrs(address, ip_set.inputs.get("addresses") or [])
            if "orStatement" in statement:
                return any(holds(s) for s in statement["orStatement"]["statements"])
            if "rateBasedStatement" in statement:
                return False  # a caller within the rate is never blocked by it
            raise ValueError(f"WAF statement not modelled: {sorted(statement)}")

        for rule in sorted(acl.inputs.get("rules") or [], key=lambda r: _port(r["priority"])):
            action = rule.get("action") or {}
            if "count" in action or not holds(rule["statement"]):
                continue
            return "allow" in action
        return "allow" in (acl.inputs.get("defaultAction") or {})

    def edge(self, function: str, path: str, address: str) -> bool:
        for cdn in self._all(DISTRIBUTION):
            inputs = cdn.inputs
            if ipaddress.ip_address(address).version == 6 and not inputs.get("isIpv6Enabled"):
                continue
            if not self._waf_allows(inputs.get("webAclId"), address):
                continue
            behavior = next(
                (
                    b
                    for b in inputs.get("orderedCacheBehaviors") or []
                    if _matches(b["pathPattern"], path)
                ),
                inputs.get("defaultCacheBehavior"),
            )
            origin = next(
                o for o in inputs["origins"] if o["originId"] == behavior["targetOriginId"]
            )
            for url in self._all(FUNCTION_URL):
                host = str(url.outputs.get("functionUrl", "")).split("/")[2:3]
                if host != [origin["domainName"]]:
                    continue
                if self.function_of(url.inputs.get("functionName")) != function:
                    continue
                if url.inputs.get("authorizationType") == "NONE":
                    return True
                if self._cloudfront_signs(cdn, origin, behavior, function):
                    return True
        return False

    def _cloudfront_signs(
        self, cdn: Resource, origin: dict[str, Any], behavior: dict[str, Any], function: str
    ) -> bool:
        oac_id = origin.get("originAccessControlId")
        if oac_id:
            oacs = self._by_output(OAC, "id", oac_id)
            signs = any(
                o.inputs.get("originAccessControlOriginType") == "lambda"
                and o.inputs.get("signingBehavior") == "always"
                for o in oacs
            )
            allowed = any(
                p.get("action") == "lambda:InvokeFunctionUrl"
                and p.get("sourceArn") == cdn.outputs.get("arn")
                for p in self._permissions(function, "cloudfront.amazonaws.com")
            )
            return signs and allowed
        for association in behavior.get("lambdaFunctionAssociations") or []:
            if association.get("eventType") != "origin-request":
                continue
            signer = association["lambdaArn"].rsplit(":", 1)[0]
            for fn in self._by_output(FUNCTION, "arn", signer):
                role = str(fn.inputs.get("role")).rsplit("/", 1)[-1]
                for policy in self._all(ROLE_POLICY):
                    if policy.inputs.get("role") != role:
                        continue
                    for statement in _policy(policy.inputs["policy"])["Statement"]:
                        if (
                            statement.get("Effect") == "Allow"
                            and "lambda:InvokeFunctionUrl" in _as_list(statement["Action"])
                            and any(
                                self.function_of(r) == function
                                for r in _as_list(statement["Resource"])
                            )
                        ):
                            return True
        return False

    # -- one entry, and the IAM doors -------------------------------------------------------------

    @_memo
    def anonymous(self, function: str, entry: str, path: str, method: str, address: str) -> bool:
        if entry == "staticIp":
            return self.static_ip(function, path, address)
        if entry == "ipRestrictedApi":
            return self.api(function, path, method, address)
        return self.edge(function, path, address)

    def lambda_endpoint(self) -> dict[str, list[str]]:
        """{function: source CIDRs admitted to the endpoint} for the Lambda API endpoint."""
        found: dict[str, list[str]] = {}
        for endpoint in self._all(VPC_ENDPOINT):
            if not str(endpoint.inputs.get("serviceName", "")).endswith(".lambda"):
                continue
            cidrs = [
                c
                for g in endpoint.inputs.get("securityGroupIds") or []
                for sg in self._by_output(SG, "id", g)
                for rule in sg.inputs.get("ingress") or []
                for c in rule.get("cidrBlocks") or []
            ]
            for statement in _policy(endpoint.inputs["policy"])["Statement"]:
                if "lambda:InvokeFunction" in _as_list(statement["Action"]):
                    for arn in _as_list(statement["Resource"]):
                        name = self.function_of(arn)
                        if name is not None:
                            found[name] = cidrs
        return found

    def function_urls(self) -> dict[str, str]:
        return {
            name: url.inputs["authorizationType"]
            for url in self._all(FUNCTION_URL)
            if (name := self.function_of(url.inputs.get("functionName"))) is not None
        }

    def invoke_doors(self) -> list[tuple[str, str, bool]]:
        """(function, principal, scoped to a source) for every permission on an exposed one."""
        return [
            (
                name,
                p.inputs.get("principal"),
                bool(p.inputs.get("sourceArn") or p.inputs.get("sourceAccount")),
            )
            for p in self._all(PERMISSION)
            if (name := self.function_of(p.inputs.get("function"))) is not None
        ]

    def vpc_cidrs(self) -> list[str]:
        cidrs = [v.inputs["cidrBlock"] for v in self._all(VPC)]
        cidrs += [args["cidrBlock"] for token, args in self._vpc_lookups()]
        return cidrs

    def _vpc_lookups(self) -> list[tuple[str, dict[str, Any]]]:
        from tools.synth import _get_vpc

        return [
            (token, _get_vpc(args, self.synth.region))
            for token, args in self.synth.calls
            if token == GET_VPC
        ]

    # -- samples ----------------------------------------------------------------------------------

    def sample_paths(self) -> list[str]:
        patterns: set[str] = {"/", "/zz", "/zz/yy"}
        for rule in self._all(LISTENER_RULE):
            for condition in rule.inputs.get("conditions") or []:
                patterns.update((condition.get("pathPattern") or {}).get("values") or [])
        for cdn in self._all(DISTRIBUTION):
            patterns.update(b["pathPattern"] for b in cdn.inputs.get("orderedCacheBehaviors") or [])
        if self._api is not None:
            api = self._api
            parents = {
                kid: (parent, part)
                for parent, kids in api["children"].items()
                for part, kid in kids.items()
            }
            for node in parents:
                parts: list[str] = []
                while node in parents:
                    node, part = parents[node]
                    parts.insert(0, part)
                patterns.add("/" + "/".join(parts))
            for statement in (api["policy"] or {}).get("Statement", []):
                for resource in _as_list(statement["Resource"]):
                    tail = resource.split("/", 3)[3:]  # <api>/<stage>/<METHOD>/<path>
                    if tail:
                        patterns.add("/" + tail[0])
        paths: set[str] = set()
        for pattern in patterns:
            for filler in ("", "q", "q/r"):
                path = pattern.replace(PROXY, filler or "q").replace("*", filler).replace("?", "q")
                path = re.sub("/+", "/", path if path.startswith("/") else "/" + path)
                paths.update({path, path.rstrip("/") + "/" if path != "/" else path})
        return sorted(paths)

    def sample_addresses(self) -> list[str]:
        cidrs: set[str] = set(self.vpc_cidrs())
        for rule in self._all(INGRESS):
            cidrs.update(c for c in (rule.inputs.get("cidrIpv4"), rule.inputs.get("cidrIpv6")) if c)
        for sg in self._all(SG):
            for rule in sg.inputs.get("ingress") or []:
                cidrs.update(rule.get("cidrBlocks") or [])
                cidrs.update(rule.get("ipv6CidrBlocks") or [])
        for ip_set in self._all(IP_SET):
            cidrs.update(ip_set.inputs.get("addresses") or [])
        for p in self._all(REST_API_POLICY):
            for statement in _policy(p.inputs["policy"])["Statement"]:
                for operator in ("IpAddress", "NotIpAddress"):
                    for values in (statement.get("Condition") or {}).get(operator, {}).values():
                        cidrs.update(str(v) for v in _as_list(values))
        addresses = {"192.0.2.77", "100.64.1.1", "2001:db8:abcd::1", "2a05:d018::1"}
        for cidr in cidrs:
            network = ipaddress.ip_network(cidr, strict=False)
            if network.prefixlen == 0:
                continue
            first, last = network.network_address, network.broadcast_address
            addresses.update({str(first), str(last)})
            for outside in (int(first) - 1, int(last) + 1):
                with contextlib.suppress(ValueError):  # past the end of the address space
                    addresses.add(str(type(first)(outside)))
        return sorted(addresses)


# --------------------------------------------------------------------------------------------
# model vs graph
# --------------------------------------------------------------------------------------------


def disagreements(
    model: Any,
    graph: GraphExposure,
    functions: Sequence[str],
    extra_paths: Iterable[str] = (),
) -> list[str]:
    """Every sample point where the model and the graph disagree (empty = they agree)."""
    problems: list[str] = []
    paths = sorted({*graph.sample_paths(), *extra_paths})
    addresses = graph.sample_addresses()
    vpc = graph.vpc_cidrs()
    inside = {a: in_cidrs(a, vpc) for a in addresses}
    for function in functions:
        for entry in ANON_ENTRIES:
            for path in paths:
                for method in METHODS if entry == "ipRestrictedApi" else ("GET",):
                    reach = model.reach(function, entry, path, method)
                    for address in addresses:
                        said = (
                            reach is not None
                            and reach[1].anonymous
                            and reach[0].admits(address, inside_vpc=inside[address])
                        )
                        seen = graph.anonymous(function, entry, path, method, address)
                        if said != seen:
                            problems.append(
                                f"{function} via {entry} {method} {path} from {address}: "
                                f"model {'admits' if said else 'refuses'}, graph "
                                f"{'admits' if seen else 'refuses'}"
                            )
    for function in functions:
        for path in paths:
            reach = model.reach(function, "internalAlb", path)
            for address in (a for a in addresses if inside[a]):
                said = reach is not None and reach[0].admits(address, inside_vpc=True)
                if said != graph.alb_direct(function, path, address):
                    problems.append(
                        f"{function} via the internal ALB {path} from {address} (in the VPC): "
                        f"model {'admits' if said else 'refuses'}, graph "
                        f"{'refuses' if said else 'admits'}"
                    )
    doors = {(d.function, d.entry): d for d in model.doors}
    endpoint = graph.lambda_endpoint()
    for function in functions:
        door = doors.get((function, "privateEndpoint"))
        if (door is not None) != (function in endpoint):
            problems.append(
                f"{function}: privateEndpoint door: model {door is not None}, "
                f"graph {function in endpoint}"
            )
        elif door is not None:
            for address in addresses:
                if door.sources.admits(address, inside_vpc=True) != in_cidrs(
                    address, endpoint[function]
                ):
                    problems.append(
                        f"{function} via privateEndpoint from {address}: sources differ"
                    )
    urls = graph.function_urls()
    for function in functions:
        door = doors.get((function, "functionUrl"))
        if (door is not None) != (function in urls):
            problems.append(
                f"{function}: function URL model={door is not None} graph={function in urls}"
            )
        elif door is not None and urls[function] != "AWS_IAM":
            problems.append(f"{function}: function URL is {urls[function]}, the model says AWS_IAM")
    for function, principal, scoped in graph.invoke_doors():
        served_by = SERVICE_ENTRIES.get(str(principal))
        if served_by is None or not scoped:
            problems.append(
                f"{function}: permission for {principal} (scoped={scoped}) is a wider door"
            )
        elif (function, served_by) not in doors:
            problems.append(
                f"{function}: {principal} may invoke it, but the model has no {served_by}"
            )
    return problems
