"""Who can reach each function, through which entry, from where: one model of the whole stack.

Each pattern proves its own promise, but the functions are shared by every entry that serves
them, so a promise made by one entry ("only 203.0.113.0/24 may call /admin") holds only if no
other entry serving the same function and path admits more. ``exposure_model(config)`` derives,
from the validated config alone (no Pulumi, no AWS), every *door* to every function:

- the entries: ``staticIp`` (accelerator or NLB → internal ALB), ``ipRestrictedApi`` (REST API,
  per route and method where the resource policy or the authorization differ), ``edge``
  (CloudFront → AWS_IAM function URL, or with ``origin: vpc`` CloudFront → VPC origin → an
  internal ALB that admits only CloudFront) and ``privateEndpoint`` (Lambda API through a VPC
  endpoint);
- the side doors that exist whatever the entries say: the accelerator's internal ALB, which
  answers callers inside the VPC that its security group admits (anonymous, but never wider than
  ``staticIp`` itself, so the rule below needs no separate check for it), the function URL itself
  (edge with function URLs: AWS_IAM, so any IAM principal of the account allowed
  ``lambda:InvokeFunctionUrl`` can call it signed, from anywhere) and the Lambda Invoke API (IAM
  principals of the account holding ``lambda:InvokeFunction``).

For each door: the sources (a small algebra over ``ipaddress`` networks: anyone, a CIDR set by
family minus a deny set, optionally confined to the stack's VPC), the authentication (none,
CloudFront-signed, IAM with its principals), the hops a request takes, the names of the stack
outputs that hold its URLs or IPs (a custom domain's first: ``entries.entry_url``), and the WAF
web ACL in front of it, if any (``waf``: a per-IP rate limit and AWS managed rule groups, which
block requests but never change the sources; an allow-list in an ACL, ``edge.allowedCidrs``, is
part of the sources).

**The consistency rule** (``consistency_error``). A *restriction* limits which network sources may
reach a function path *anonymously* (without AWS credentials): ``staticIp.allowedCidrs``,
``edge.allowedCidrs``, ``ipRestrictedApi.allow``/``deny`` (every path of every function the API
serves) and ``ipRestrictedApi.routes[i]`` (its paths and methods; an ``AWS_IAM`` route admits no
anonymous caller at all). Another enabled entry that serves the same function on the same path
and admits an anonymous source outside the restriction *widens* it, and the program stops, unless
``functions[i].widerExposure`` names that entry (the wider exposure is intended). IAM-authenticated
doors never widen: a Lambda resource policy cannot deny, so an IP restriction never binds an IAM
principal of the account that holds ``lambda:InvokeFunction`` (the Invoke API is always there);
the private endpoint (IAM *and* the VPC) therefore adds no caller that the Invoke API does not
already admit, and does not count either. They are shown, with their principals, in the table.

Paths follow what each entry really routes: a function serves its prefix ``/p`` and ``/p/*``
(longest prefix wins: ``serving_function``) on the ALB, the API and CloudFront, except that
CloudFront without a function at ``/`` and without ``staticSite`` sends unmatched paths to its
first function (with function URLs; a VPC origin's ALB answers unmatched paths 404). API
routes are IAM-style wildcards on the request path (``*`` spans segments; a route without a
trailing ``*`` also covers ``<path>/``), as ``components/api_policy.py`` writes them; an
``AWS_IAM`` route authorizes only the API resource it becomes (``/a`` or ``/a/{proxy+}``).
The path space is split into *cells* (paths that every entry treats alike) by a search over the
product of these small automata, so the rule is checked on every cell with a real example path.

Modules, in the order they build on each other: ``sources`` (the algebra and the records),
``paths`` (routers, cells), ``entries`` (what each entry does with one request),
``consistency`` (the rule and its message), ``model`` (the doors, the model, the output).
"""

from components.exposure.consistency import find_conflicts, widening_message
from components.exposure.entries import Entries
from components.exposure.model import (
    ExposureModel,
    consistency_error,
    exposure_model,
    exposure_output,
)
from components.exposure.paths import (
    METHODS,
    NLB_HEALTH_PATH,
    PROXY,
    Cell,
    Layout,
    Router,
    layout_of,
    request_tail,
    route_label,
    route_paths,
    route_patterns,
)
from components.exposure.sources import (
    NOBODY,
    NONE,
    SIDE_DOORS,
    Auth,
    Conflict,
    Door,
    Limit,
    NetSet,
    Network,
    Sources,
    Waf,
)

__all__ = [
    "METHODS",
    "NLB_HEALTH_PATH",
    "NOBODY",
    "NONE",
    "PROXY",
    "SIDE_DOORS",
    "Auth",
    "Cell",
    "Conflict",
    "Door",
    "Entries",
    "ExposureModel",
    "Layout",
    "Limit",
    "NetSet",
    "Network",
    "Router",
    "Sources",
    "Waf",
    "consistency_error",
    "exposure_model",
    "exposure_output",
    "find_conflicts",
    "layout_of",
    "request_tail",
    "route_label",
    "route_paths",
    "route_patterns",
    "widening_message",
]
