"""The ipRestrictedApi resource policy, as a pure function of the config.

Kept apart from the component so the document can be built, read and evaluated without Pulumi:
the tests evaluate it against concrete requests, and the deployment trigger hashes it.

Shape (every restriction is an explicit ``Deny``, so it also binds IAM-authorized methods,
where an ``Allow`` in this policy would *grant* access instead of restricting it):

- ``AllowInvoke``: anyone may invoke every method that is not IAM-authorized. With AWS_IAM
  routes, the Allow is limited to *unauthenticated* requests (``Null`` on ``aws:PrincipalArn``,
  a key API Gateway sets only for IAM-authorized methods), so it never reaches an IAM method:
  for a caller of the API owner's account, API Gateway lets in a request that *either* the
  caller's IAM policy *or* the resource policy allows, so an Allow with ``Principal: *`` would
  admit any signed principal. Without it, the caller's own IAM policy decides (same account);
  other accounts are refused (both policies must allow, and this one does not). A condition
  rather than ``NotResource`` = the IAM routes: API Gateway documents ``Resource`` only, and the
  condition also holds for a request ARN that a route's pattern fails to cover.
- ``DenyOutsideVpcEndpoint`` (PRIVATE): any request that did not come through our endpoint.
- ``DenyNotInAllowList`` / ``DenyInDenyList``: the global lists, on every route.
- ``Route<i>DenyNotInAllowList`` / ``Route<i>DenyInDenyList``: routes[i]'s own lists.

Resources are full ARNs built from the API's execution ARN (not the ``execute-api:/`` shorthand):
they need no expansion by API Gateway, what we register is what AWS stores (no perpetual diff), and
the tests evaluate exactly the document AWS evaluates. The stage segment is ``*``: a restriction
must hold on every stage of the API, not only the one this stack deploys.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from components.config import ApiRoute, IpRestrictedApiConfig

ACTION = "execute-api:Invoke"
# One endpoint id (the stack's own) or several (ipRestrictedApi.vpcEndpointIds).
VpcEndpoints = str | Sequence[str] | None
# Present only when API Gateway authenticated the caller (AWS_IAM methods): "API Gateway resource
# policies: AWS condition keys", aws:PrincipalArn needs AuthN, authorization type IAM.
UNAUTHENTICATED = {"Null": {"aws:PrincipalArn": "true"}}


def source_ip_key(private: bool) -> str:
    """The condition key carrying the caller's address.

    A private API is reached through an interface endpoint that rewrites the source address;
    ``aws:VpcSourceIp`` holds the caller's own (VPC) address there, ``aws:SourceIp`` does not.
    """
    return "aws:VpcSourceIp" if private else "aws:SourceIp"


def route_methods(route: ApiRoute) -> tuple[str, ...]:
    """The verbs a route covers. ``GET`` also covers ``HEAD``: API Gateway runs the function
    for a HEAD and only drops the body, so a GET rule that HEAD could walk around is no rule."""
    return ("GET", "HEAD") if route.method == "GET" else (route.method,)


def route_resources(api_arn: str, route: ApiRoute) -> list[str]:
    """The ARNs a route covers: ``<api>/*/<METHOD>/<path>`` (and ``<path>/``).

    The ARN carries the *request* path, so a route under a ``{proxy+}`` resource (GET
    /index.html served by the root function) is ``.../GET/index.html``. The trailing-slash
    variant keeps ``/admin/`` from slipping past a rule written for ``/admin``.
    """
    path = route.path.lstrip("/")
    arns: list[str] = []
    for method in route_methods(route):
        base = f"{api_arn}/*/{'*' if method == 'ANY' else method}/"
        if not path:
            arns.append(base)
            continue
        arns.append(base + path)
        if not path.endswith("*"):
            arns.append(base + path + "/")
    return arns


def _statement(
    sid: str,
    effect: str,
    resources: Sequence[str],
    condition: dict[str, Any] | None = None,
) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Sid": sid,
        "Effect": effect,
        "Principal": "*",
        "Action": ACTION,
        "Resource": list(resources),
    }
    if condition:
        statement["Condition"] = condition
    return statement


def build_policy(
    api_arn: str, config: IpRestrictedApiConfig, vpc_endpoint_id: VpcEndpoints = None
) -> dict[str, Any]:
    """The resource policy document for the API whose execution ARN is ``api_arn``.

    ``vpc_endpoint_id``: the stack's endpoint, or the ``vpcEndpointIds`` it admits instead.
    """
    if config.private and not vpc_endpoint_id:
        raise ValueError("a PRIVATE API's policy needs the VPC endpoint id")
    vpc_endpoint_id = _one_or_list(vpc_endpoint_id)
    everything = [f"{api_arn}/*"]
    ip_key = source_ip_key(config.private)
    allow_condition: dict[str, Any] = {}
    if config.private:
        allow_condition["StringEquals"] = {"aws:SourceVpce": vpc_endpoint_id}
    if any(r.auth == "AWS_IAM" for r in config.routes):
        allow_condition.update(UNAUTHENTICATED)
    statements = [_statement("AllowInvoke", "Allow", everything, allow_condition or None)]
    if config.private:
        # The Allow above already requires the endpoint; this Deny makes it hold for the IAM
        # routes too (a caller's IAM policy could otherwise let it in from anywhere).
        statements.append(
            _statement(
                "DenyOutsideVpcEndpoint",
                "Deny",
                everything,
                {"StringNotEquals": {"aws:SourceVpce": vpc_endpoint_id}},
            )
        )
    if config.allow:
        statements.append(
            _statement(
                "DenyNotInAllowList", "Deny", everything, {"NotIpAddress": {ip_key: config.allow}}
            )
        )
    if config.deny:
        statements.append(
            _statement("DenyInDenyList", "Deny", everything, {"IpAddress": {ip_key: config.deny}})
        )
    for index, route in enumerate(config.routes):
        resources = route_resources(api_arn, route)
        if route.allow:
            statements.append(
                _statement(
                    f"Route{index}DenyNotInAllowList",
                    "Deny",
                    resources,
                    {"NotIpAddress": {ip_key: route.allow}},
                )
            )
        if route.deny:
            statements.append(
                _statement(
                    f"Route{index}DenyInDenyList",
                    "Deny",
                    resources,
                    {"IpAddress": {ip_key: route.deny}},
                )
            )
    return {"Version": "2012-10-17", "Statement": statements}


def policy_json(
    api_arn: str, config: IpRestrictedApiConfig, vpc_endpoint_id: VpcEndpoints = None
) -> str:
    """The policy as the JSON string registered on the API (stable key order, for the hash).

    Compact: API Gateway limits the document's length in characters (8,192 by default), so
    whitespace would only spend it; ``components/quotas.py`` measures this very string.
    """
    return json.dumps(
        build_policy(api_arn, config, vpc_endpoint_id), sort_keys=True, separators=(",", ":")
    )


def digest(text: str) -> str:
    """Short content hash used in the deployment triggers."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _one_or_list(endpoints: VpcEndpoints) -> str | list[str] | None:
    """A single id stays a string: the policy of a stack with its own endpoint is unchanged."""
    if endpoints is None or isinstance(endpoints, str):
        return endpoints
    ids = list(endpoints)
    return ids[0] if len(ids) == 1 else ids


def domain_policy(vpc_endpoint_ids: VpcEndpoints) -> dict[str, Any]:
    """The ``execute-api`` policy of a PRIVATE custom domain name: invoked through these VPC
    endpoints only (the API's own policy is evaluated as well).

    ``execute-api:/*`` is API Gateway's shorthand for "this domain name": its ARN carries the
    domain name id, which exists only once the domain does, and the policy is an input of the
    domain itself ("Tutorial: Create and invoke a custom domain name for private APIs",
    https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-private-custom-domains-tutorial.html).
    """
    endpoints = _one_or_list(vpc_endpoint_ids)
    if not endpoints:
        raise ValueError("a PRIVATE domain's policy needs the VPC endpoint ids")
    resource = ["execute-api:/*"]
    return {
        "Version": "2012-10-17",
        "Statement": [
            _statement(
                "AllowInvokeThroughVpcEndpoint",
                "Allow",
                resource,
                {"StringEquals": {"aws:SourceVpce": endpoints}},
            ),
            _statement(
                "DenyOutsideVpcEndpoint",
                "Deny",
                resource,
                {"StringNotEquals": {"aws:SourceVpce": endpoints}},
            ),
        ],
    }
