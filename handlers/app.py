"""The bundled "who am I" sample app.

A person who has just deployed an exposure pattern calls it to check what the function really
sees: which entry the request came through (ALB, API Gateway REST, function URL), the source IP
as that entry reports it, the method, path, query and a few request headers. With ``?egress=1``
(and ``EGRESS_ECHO_URL`` set) it also asks an outside echo service which IP the function's
outbound traffic comes from, to prove the ``staticEgress`` NAT address.

Every entry wants its own response shape, and a wrong one fails far from here (ALB answers 502,
API Gateway answers 502 "Malformed Lambda proxy response"), so shape detection and the per-shape
response builders are small pure functions, each tested on real event samples.

Standard library only: this module is bundled as is, with no dependencies to package.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

LOG = logging.getLogger(__name__)

ENTRY_ALB = "alb"
ENTRY_API_GATEWAY = "api-gateway"
ENTRY_FUNCTION_URL = "function-url"
ENTRY_UNKNOWN = "unknown"

EGRESS_URL_ENV = "EGRESS_ECHO_URL"
EGRESS_TIMEOUT_ENV = "EGRESS_TIMEOUT_SECONDS"
# Below the default Lambda timeout (3 s), so a dead echo service costs an ``egressError``,
# not a timed-out invocation (which the entry would turn into a 502 with no explanation).
DEFAULT_EGRESS_TIMEOUT = 2.0
MAX_EGRESS_TIMEOUT = 10.0
# An IP address fits in 64 bytes; reading more only invites a huge answer into memory.
MAX_ECHO_BYTES = 256

# Request headers worth showing when checking a deployment: they tell which hops the request
# crossed (via, x-amz-cf-id, x-forwarded-*) and who the client was. Only these are echoed.
REPORTED_HEADERS = (
    "host",
    "user-agent",
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-forwarded-port",
    "via",
    "x-amz-cf-id",
    "cloudfront-viewer-address",
    "cloudfront-viewer-country",
    "x-amzn-trace-id",
)

# Header (and query parameter) names that carry credentials. Their values are never echoed: the
# answer only says they were present. A pattern rather than a list, so that e.g.
# ``x-viewer-authorization`` (the viewer's own Authorization, moved aside so CloudFront's origin
# signing can use ``authorization``) or a custom ``x-my-api-key`` is covered too.
_CREDENTIAL_NAME = re.compile(
    r"authorization|cookie|token|secret|password|passwd|api[-_]?key|signature|credential",
    re.IGNORECASE,
)
REDACTED = "[redacted]"

RESPONSE_HEADERS = {
    "content-type": "application/json",
    # The answer describes one caller; a cache (CloudFront in front of the function URL) must
    # never hand it to another one.
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
}

QueryValue = str | list[str]


# --------------------------------------------------------------------------------------------
# Event shape detection
# --------------------------------------------------------------------------------------------


def _mapping(value: Any) -> Mapping[str, Any]:
    """``value`` when it is a mapping, else an empty one: optional parts may be absent or wrong."""
    return value if isinstance(value, Mapping) else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def detect_entry(event: Any) -> str:
    """Which entry delivered ``event``: ``alb``, ``api-gateway``, ``function-url`` or ``unknown``.

    Decided by the keys that define each shape and nothing else, because the three integrations
    expect three different response shapes (guessing wrong turns into a 502 at the entry), while
    everything else in an event may be missing (a console or authorizer test event has no
    ``headers``, no ``identity``, no ``stage``):

    - ALB: ``requestContext.elb``;
    - payload 2.0 (function URL, HTTP API): ``version`` ``"2.0"`` and ``requestContext.http``;
    - API Gateway REST proxy (payload 1.0): ``httpMethod`` with a ``requestContext``.

    An API Gateway HTTP API with payload 2.0 is reported as ``function-url``: the event and the
    response format are the same.
    """
    if not isinstance(event, Mapping):
        return ENTRY_UNKNOWN
    context = event.get("requestContext")
    if not isinstance(context, Mapping):
        return ENTRY_UNKNOWN
    if isinstance(context.get("elb"), Mapping):
        return ENTRY_ALB
    if event.get("version") == "2.0":
        return ENTRY_FUNCTION_URL if isinstance(context.get("http"), Mapping) else ENTRY_UNKNOWN
    if isinstance(event.get("httpMethod"), str):
        return ENTRY_API_GATEWAY
    return ENTRY_UNKNOWN


def alb_multi_value(event: Mapping[str, Any]) -> bool:
    """Whether the ALB target group has multi-value headers turned on.

    Then ALB sends ``multiValueHeaders``/``multiValueQueryStringParameters`` instead of
    ``headers``/``queryStringParameters``, and reads only ``multiValueHeaders`` from the answer.
    """
    return isinstance(event.get("multiValueHeaders"), Mapping)


# --------------------------------------------------------------------------------------------
# Reading the request
# --------------------------------------------------------------------------------------------


def is_credential_name(name: str) -> bool:
    """Whether a header or query parameter name suggests its value is a secret."""
    return bool(_CREDENTIAL_NAME.search(name))


def request_headers(event: Mapping[str, Any]) -> dict[str, str]:
    """The request headers with lower-case names, multi-values joined with ``", "``.

    ``multiValueHeaders`` is preferred when present: in API Gateway's ``headers`` a repeated
    header keeps only its last value, and ALB in multi-value mode sends no ``headers`` at all.
    """
    headers: dict[str, str] = {}
    multi = event.get("multiValueHeaders")
    if isinstance(multi, Mapping):
        for name, values in multi.items():
            if isinstance(values, list):
                headers[str(name).lower()] = ", ".join(str(v) for v in values)
            elif values is not None:
                headers[str(name).lower()] = str(values)
        return headers
    single = event.get("headers")
    if isinstance(single, Mapping):
        for name, value in single.items():
            if value is not None:
                headers[str(name).lower()] = str(value)
    return headers


def _collapse(pairs: list[tuple[str, str]]) -> dict[str, QueryValue]:
    """Group ``(name, value)`` pairs: a string for one value, a list for a repeated parameter."""
    grouped: dict[str, list[str]] = {}
    for name, value in pairs:
        grouped.setdefault(name, []).append(value)
    return {name: values[0] if len(values) == 1 else values for name, values in grouped.items()}


def _pairs_from_mapping(params: Any, *, decode: bool) -> list[tuple[str, str]]:
    """Flatten a ``{name: value}`` or ``{name: [values]}`` mapping into pairs."""
    if not isinstance(params, Mapping):
        return []
    unquote = urllib.parse.unquote_plus if decode else (lambda s: s)
    pairs: list[tuple[str, str]] = []
    for name, value in params.items():
        values = value if isinstance(value, list) else [value]
        pairs.extend((unquote(str(name)), unquote(str(v))) for v in values if v is not None)
    return pairs


def request_query(event: Mapping[str, Any], entry: str) -> dict[str, QueryValue]:
    """The query string as a dict: a string per parameter, a list when it was repeated.

    Each entry hands the query over differently, and the answer should be the same whichever
    entry the same URL went through:

    - ALB passes names and values URL-encoded exactly as received, so they are decoded here. In
      single-value mode ALB keeps only the last value of a repeated parameter.
    - API Gateway REST has the decoded values, all of them in ``multiValueQueryStringParameters``.
    - A function URL joins repeated values with commas in ``queryStringParameters`` (ambiguous
      with a value containing a comma), so ``rawQueryString`` is parsed instead.
    """
    if entry == ENTRY_ALB:
        params = event.get("multiValueQueryStringParameters")
        if not isinstance(params, Mapping):
            params = event.get("queryStringParameters")
        return _collapse(_pairs_from_mapping(params, decode=True))
    if entry == ENTRY_API_GATEWAY:
        params = event.get("multiValueQueryStringParameters")
        if not isinstance(params, Mapping):
            params = event.get("queryStringParameters")
        return _collapse(_pairs_from_mapping(params, decode=False))
    if entry == ENTRY_FUNCTION_URL:
        raw = event.get("rawQueryString")
        if isinstance(raw, str):
            return _collapse(urllib.parse.parse_qsl(raw, keep_blank_values=True))
        return _collapse(_pairs_from_mapping(event.get("queryStringParameters"), decode=False))
    return {}


def redact_query(query: Mapping[str, QueryValue]) -> dict[str, QueryValue]:
    """The query with credential-like parameter values (presigned URL signatures, tokens) hidden."""
    return {
        name: (REDACTED if is_credential_name(name) else value) for name, value in query.items()
    }


def forwarded_for_chain(headers: Mapping[str, str]) -> list[str]:
    """Every ``x-forwarded-for`` entry, left to right, as received.

    Each proxy appends the address it saw; whatever is left of what your own proxies appended
    was written by the client and proves nothing.
    """
    return [part.strip() for part in headers.get("x-forwarded-for", "").split(",") if part.strip()]


def viewer_address_ip(value: str) -> str | None:
    """The IP in a ``cloudfront-viewer-address`` header: ``ip:port``, IPv6 without brackets.

    The port is always split off first: ``2001:db8::1:443`` is itself a valid IPv6 address, so
    parsing the whole value first would report the port as part of the address.
    """
    value = value.strip()
    host, sep, _port = value.rpartition(":")
    for candidate in (host.strip("[]") if sep else "", value):
        if candidate:
            try:
                return str(ipaddress.ip_address(candidate))
            except ValueError:
                continue
    return None


def is_via_cloudfront(headers: Mapping[str, str]) -> bool:
    """Whether CloudFront forwarded the request.

    CloudFront adds ``x-amz-cf-id`` and a ``via`` naming CloudFront to every origin request.
    """
    return "x-amz-cf-id" in headers or "cloudfront" in headers.get("via", "").lower()


def source_ip(event: Mapping[str, Any], entry: str, headers: Mapping[str, str]) -> str | None:
    """The address the entry itself saw the request come from.

    ALB puts it nowhere but in ``x-forwarded-for``, as the entry it appends: the right-most one
    (anything left of it came with the request, so a client can write it). With Global
    Accelerator client IP preservation that is the real client. API Gateway and function URLs
    report the TCP peer in the request context; behind CloudFront that peer is an edge server.
    """
    context = _mapping(event.get("requestContext"))
    if entry == ENTRY_ALB:
        chain = forwarded_for_chain(headers)
        return chain[-1] if chain else None
    if entry == ENTRY_API_GATEWAY:
        return _text(_mapping(context.get("identity")).get("sourceIp"))
    if entry == ENTRY_FUNCTION_URL:
        return _text(_mapping(context.get("http")).get("sourceIp"))
    return None


def request_method_path(event: Mapping[str, Any], entry: str) -> tuple[Any, Any]:
    """HTTP method and path for one entry (v2 events keep them under ``requestContext.http``)."""
    if entry == ENTRY_FUNCTION_URL:
        http = _mapping(_mapping(event.get("requestContext")).get("http"))
        return http.get("method"), event.get("rawPath") or http.get("path")
    return event.get("httpMethod"), event.get("path")


def describe_request(event: Mapping[str, Any], entry: str, context: Any = None) -> dict[str, Any]:
    """The whoami answer (without the egress part) for an event of a known entry."""
    headers = request_headers(event)
    method, path = request_method_path(event, entry)
    reported = {name: headers[name] for name in REPORTED_HEADERS if name in headers}
    answer: dict[str, Any] = {
        "entry": entry,
        "sourceIp": source_ip(event, entry, headers),
        "method": method,
        "path": path,
        "query": redact_query(request_query(event, entry)),
        "headers": {n: v for n, v in reported.items() if not is_credential_name(n)},
        # Names only: proves e.g. that the viewer's signature reached the function, without
        # putting the secret in a response a proxy or a browser history may keep.
        "credentialHeadersPresent": sorted(n for n in headers if is_credential_name(n)),
        "viaCloudFront": is_via_cloudfront(headers),
    }
    # Labelled apart from sourceIp: its left part is whatever the client sent.
    answer["forwardedForChain"] = forwarded_for_chain(headers)
    if answer["viaCloudFront"]:
        # The address CloudFront saw, from the header CloudFront adds; null without it (the
        # left-most x-forwarded-for entry would be the client's own claim).
        answer["viewerIp"] = viewer_address_ip(headers.get("cloudfront-viewer-address", ""))
    request_context = _mapping(event.get("requestContext"))
    request_id = _text(request_context.get("requestId"))
    if request_id:
        answer["requestId"] = request_id
    authorizer = _mapping(request_context.get("authorizer"))
    caller = _text(_mapping(authorizer.get("iam")).get("userArn"))
    if caller:
        answer["iamCallerArn"] = caller
    lambda_request_id = getattr(context, "aws_request_id", None)
    if isinstance(lambda_request_id, str):
        answer["lambdaRequestId"] = lambda_request_id
    return answer


# --------------------------------------------------------------------------------------------
# Egress check
# --------------------------------------------------------------------------------------------


class _HttpsOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Follows redirects only to https, so the "https only" rule survives a 301."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        if urllib.parse.urlsplit(newurl).scheme != "https":
            raise urllib.error.HTTPError(newurl, code, "refused non-https redirect", headers, fp)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def fetch_egress_ip(url: str, timeout: float) -> str:
    """Ask the echo service at ``url`` which IP it sees us coming from.

    https only: the answer is evidence about the network path, and a plain-http answer could be
    rewritten by anything on that path. Raises on any failure; the caller reports it.
    """
    if urllib.parse.urlsplit(url).scheme != "https":
        raise ValueError(f"{EGRESS_URL_ENV} must be an https:// URL")
    opener = urllib.request.build_opener(_HttpsOnlyRedirects)
    request = urllib.request.Request(url, headers={"user-agent": "lambda-exposure-whoami"})
    with opener.open(request, timeout=timeout) as response:
        text = response.read(MAX_ECHO_BYTES).decode("ascii", errors="replace").strip()
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise ValueError(f"echo service answered {text[:64]!r}, not an IP address") from None


def egress_timeout(environ: Mapping[str, str]) -> float:
    """The echo call timeout from ``EGRESS_TIMEOUT_SECONDS``, clamped to (0, 10] seconds."""
    try:
        value = float(environ.get(EGRESS_TIMEOUT_ENV, DEFAULT_EGRESS_TIMEOUT))
    except ValueError:
        return DEFAULT_EGRESS_TIMEOUT
    if not value > 0:
        return DEFAULT_EGRESS_TIMEOUT
    return min(value, MAX_EGRESS_TIMEOUT)


def egress_requested(query: Mapping[str, QueryValue]) -> bool:
    """Whether the caller asked for the egress check (``?egress=1``; last value wins)."""
    value = query.get("egress")
    if isinstance(value, list):
        value = value[-1] if value else None
    return value in ("1", "true")


def egress_report(environ: Mapping[str, str]) -> dict[str, Any]:
    """The egress part of the answer. Off unless ``EGRESS_ECHO_URL`` is set.

    Off by default because it is an outbound call to a third party on each request; failures
    are reported as ``egressError`` rather than failing the whole answer, whose other fields
    are still true.
    """
    url = environ.get(EGRESS_URL_ENV, "").strip()
    if not url:
        return {
            "egressIp": None,
            "note": f"egress check disabled: set {EGRESS_URL_ENV} (an https echo URL such as "
            "https://checkip.amazonaws.com) on the function to enable it",
        }
    try:
        return {"egressIp": fetch_egress_ip(url, egress_timeout(environ))}
    except Exception as exc:  # any failure of the echo call is the answer, not a crash
        return {"egressIp": None, "egressError": f"{type(exc).__name__}: {exc}"[:300]}


# --------------------------------------------------------------------------------------------
# Responses, one builder per entry
# --------------------------------------------------------------------------------------------


def _body(payload: Mapping[str, Any]) -> str:
    return json.dumps(payload, indent=2, sort_keys=True) + "\n"


def alb_response(status: int, payload: Mapping[str, Any], *, multi_value: bool) -> dict[str, Any]:
    """ALB target response.

    ALB needs ``statusDescription`` (it builds the status line from it). When the target group
    has multi-value headers on, ALB reads only ``multiValueHeaders`` (lists) and silently drops
    ``headers``, so exactly one of the two is returned, matching the request's mode.
    """
    status = int(status)
    response: dict[str, Any] = {
        "statusCode": status,
        "statusDescription": f"{status} {HTTPStatus(status).phrase}",
        "isBase64Encoded": False,
        "body": _body(payload),
    }
    if multi_value:
        response["multiValueHeaders"] = {k: [v] for k, v in RESPONSE_HEADERS.items()}
    else:
        response["headers"] = dict(RESPONSE_HEADERS)
    return response


def api_gateway_response(status: int, payload: Mapping[str, Any]) -> dict[str, Any]:
    """API Gateway REST (Lambda proxy, payload 1.0) response.

    Only the keys the proxy integration documents: anything API Gateway cannot parse becomes a
    502 "Malformed Lambda proxy response" that says nothing about why.
    """
    return {
        "statusCode": int(status),
        "headers": dict(RESPONSE_HEADERS),
        "body": _body(payload),
        "isBase64Encoded": False,
    }


def function_url_response(status: int, payload: Mapping[str, Any]) -> dict[str, Any]:
    """Function URL (payload 2.0) response, given in full rather than relying on the inference
    Lambda applies to a bare object, so the content type and status are always ours."""
    return {
        "statusCode": int(status),
        "headers": dict(RESPONSE_HEADERS),
        "body": _body(payload),
        "isBase64Encoded": False,
    }


def build_response(
    entry: str, event: Mapping[str, Any], status: int, payload: Mapping[str, Any]
) -> dict[str, Any]:
    """The response in the shape ``entry`` expects (v2 shape for an unknown entry)."""
    if entry == ENTRY_ALB:
        return alb_response(status, payload, multi_value=alb_multi_value(event))
    if entry == ENTRY_API_GATEWAY:
        return api_gateway_response(status, payload)
    return function_url_response(status, payload)


def unsupported_event_payload(event: Any) -> dict[str, Any]:
    """The 400 answer for an event no supported entry sends (SNS, Lambda@Edge, a test event)."""
    keys = sorted(str(k) for k in event)[:10] if isinstance(event, Mapping) else []
    return {
        "error": "unsupported event shape",
        "detail": "this function answers HTTP requests from an ALB, an API Gateway REST API "
        "(Lambda proxy) or a function URL; the event matched none of them",
        "eventKeys": keys,
    }


def handler(event: Any, context: Any) -> dict[str, Any]:
    """Lambda entry point: answer who the caller looks like from inside the function."""
    entry = detect_entry(event)
    if entry == ENTRY_UNKNOWN:
        return function_url_response(HTTPStatus.BAD_REQUEST, unsupported_event_payload(event))
    try:
        answer = describe_request(event, entry, context)
        if egress_requested(answer["query"]):
            answer.update(egress_report(os.environ))
        return build_response(entry, event, HTTPStatus.OK, answer)
    except Exception:  # a malformed event of a known shape: a clear 500, not a 502 at the entry
        LOG.exception("whoami failed on an event from entry %s", entry)
        return build_response(
            entry, event, HTTPStatus.INTERNAL_SERVER_ERROR, {"error": "internal error"}
        )
