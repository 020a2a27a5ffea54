"""``python -m tools.smoke`` against local servers that play each entry of a deployed stack.

Every server listens on 127.0.0.1 and answers through the real whoami handler
(``handlers.app.handler``) behind a small adapter that does what the AWS entry does: the ALB
appends the TCP peer to ``x-forwarded-for`` and sends a multi-value ALB event, API Gateway sends
a REST proxy event with ``identity.sourceIp`` and refuses a restricted route with its own 403
body, a function URL refuses an unsigned request, CloudFront adds ``via`` / ``x-amz-cf-id`` (and
``cloudfront-viewer-address``) and its WAF answers 403, a security group drops the connection.
The caller is this process, so the address every entry reports is 127.0.0.1, and the tool must
learn it from the answers. Each promise also has a server that breaks it, and the tool must fail
with the right row.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import json
import os
import re
import socket
import ssl
import stat
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from handlers import app as whoami
from tools import smoke

Reply = tuple[int, dict[str, str], bytes]
CLOSE = "close"  # drop the connection without an HTTP answer (a security group, seen outside)
HANG = "hang"  # accept and never answer
OUTSIDE = ["203.0.113.0/24"]  # an allow-list that does not hold 127.0.0.1
INSIDE = ["127.0.0.0/8"]


@dataclass(frozen=True)
class Request:
    path: str
    query: str
    headers: dict[str, str]
    client: str
    client_port: int


App = Callable[[Request], Reply | str]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Entry

    def do_GET(self) -> None:
        parts = urllib.parse.urlsplit(self.path)
        request = Request(
            parts.path,
            parts.query,
            {k.lower(): v for k, v in self.headers.items()},
            self.client_address[0],
            self.client_address[1],
        )
        self.server.seen.append(request)
        reply = self.server.app(request)
        if reply == CLOSE:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if reply == HANG:
            self.server.release.wait(30)
            self.close_connection = True
            return
        assert not isinstance(reply, str)
        status, headers, body = reply
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class Entry(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, app: App, tls: ssl.SSLContext | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.app = app
        self.seen: list[Request] = []
        self.release = threading.Event()
        self.scheme = "http"
        if tls is not None:
            self.socket = tls.wrap_socket(self.socket, server_side=True)
            self.scheme = "https"

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def serve() -> Iterator[Callable[..., Entry]]:
    """Start servers for one test; all of them are stopped (hanging ones released) after it."""
    started: list[Entry] = []

    def start(app: App, tls: ssl.SSLContext | None = None) -> Entry:
        entry = Entry(app, tls)
        threading.Thread(target=entry.serve_forever, args=(0.05,), daemon=True).start()
        started.append(entry)
        return entry

    yield start
    for entry in started:
        entry.release.set()
        entry.shutdown()
        entry.server_close()


@pytest.fixture(autouse=True)
def _no_echo_url(monkeypatch: pytest.MonkeyPatch) -> None:
    """The whoami app runs in this process: its egress check is off unless a test turns it on."""
    monkeypatch.delenv(whoami.EGRESS_URL_ENV, raising=False)


def _inside(client: str, cidrs: list[str]) -> bool:
    address = ipaddress.ip_address(client)
    return any(address in ipaddress.ip_network(c) for c in cidrs)


def _query_pairs(query: str) -> list[tuple[str, str]]:
    return [(name, value) for name, _, value in (p.partition("=") for p in query.split("&") if p)]


def _json(status: int, payload: Any, **headers: str) -> Reply:
    return status, {"content-type": "application/json", **headers}, json.dumps(payload).encode()


# --------------------------------------------------------------------------------------------
# the entries, as adapters around the real handler
# --------------------------------------------------------------------------------------------


def alb(allowed: list[str] | None = None, peer: str | None = None) -> App:
    """Global Accelerator (client IP preserved) → ALB → the whoami function.

    ``allowed``: the ALB's security group; anyone else gets no answer. ``peer``: the address the
    ALB sees instead of the caller (an NLB in front of it).
    """

    def app(request: Request) -> Reply | str:
        if allowed is not None and not _inside(request.client, allowed):
            return CLOSE
        seen = peer or request.client
        chain = request.headers.get("x-forwarded-for")
        headers = {k: [v] for k, v in request.headers.items() if k != "x-forwarded-for"}
        headers["x-forwarded-for"] = [f"{chain}, {seen}" if chain else seen]
        headers["x-forwarded-proto"] = ["http"]
        query: dict[str, list[str]] = {}
        for name, value in _query_pairs(request.query):  # ALB passes them still URL-encoded
            query.setdefault(name, []).append(value)
        event = {
            "requestContext": {
                "elb": {
                    "targetGroupArn": "arn:aws:elasticloadbalancing:eu-west-1:123456789012:"
                    "targetgroup/static-ip-tg-app/0123456789abcdef"
                }
            },
            "httpMethod": "GET",
            "path": request.path,
            "multiValueQueryStringParameters": query,
            "multiValueHeaders": headers,
            "body": "",
            "isBase64Encoded": False,
        }
        response = whoami.handler(event, None)
        out = {k: v[-1] for k, v in response["multiValueHeaders"].items()}
        return response["statusCode"], out, response["body"].encode()

    return app


def api_gateway(
    restricted: dict[str, list[str]] | None = None,
    iam: tuple[str, ...] = (),
    enforce: bool = True,
    stage: str = "api",
) -> App:
    """A REGIONAL REST API: a resource policy refusing ``restricted`` paths to sources outside
    their CIDRs (unless ``enforce`` is off: the broken policy), AWS_IAM routes ``iam``."""

    def app(request: Request) -> Reply | str:
        if not request.path.startswith(f"/{stage}"):
            return _json(403, {"message": "Missing Authentication Token"})
        path = request.path[len(stage) + 1 :] or "/"

        def covers(prefix: str) -> bool:
            return path == prefix or path.startswith(prefix.rstrip("/") + "/")

        for prefix, cidrs in (restricted or {}).items():
            if enforce and covers(prefix) and not _inside(request.client, cidrs):
                resource = (
                    f"arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/{stage}/GET{path}"
                )
                message = (
                    "User: anonymous is not authorized to perform: execute-api:Invoke on "
                    f"resource: {resource} with an explicit deny"
                )
                return _json(403, {"Message": message}, **{"x-amzn-errortype": "AccessDenied"})
        if any(covers(p) for p in iam) and "authorization" not in request.headers:
            return _json(403, {"message": "Missing Authentication Token"})
        pairs = [
            (urllib.parse.unquote_plus(k), urllib.parse.unquote_plus(v))
            for k, v in _query_pairs(request.query)
        ]
        multi: dict[str, list[str]] = {}
        for name, value in pairs:
            multi.setdefault(name, []).append(value)
        event = {
            "resource": "/{proxy+}",
            "path": path,
            "httpMethod": "GET",
            "headers": dict(request.headers),
            "multiValueHeaders": {k: [v] for k, v in request.headers.items()},
            "queryStringParameters": {k: v[-1] for k, v in multi.items()} or None,
            "multiValueQueryStringParameters": multi or None,
            "requestContext": {
                "identity": {
                    "sourceIp": request.client,
                    "userAgent": request.headers.get("user-agent"),
                },
                "requestId": str(uuid.uuid4()),
                "stage": stage,
                "path": request.path,
            },
            "body": None,
            "isBase64Encoded": False,
        }
        response = whoami.handler(event, None)
        return response["statusCode"], response["headers"], response["body"].encode()

    return app


def _function_url_event(
    request: Request, headers: dict[str, str], source_ip: str
) -> dict[str, Any]:
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": request.path,
        "rawQueryString": request.query,
        "headers": headers,
        "requestContext": {
            "http": {"method": "GET", "path": request.path, "sourceIp": source_ip},
            "requestId": str(uuid.uuid4()),
            "stage": "$default",
        },
        "isBase64Encoded": False,
    }


def function_url(open_: bool = False) -> App:
    """An AWS_IAM function URL: 403 without a SigV4 signature (``open_``: AuthType NONE)."""

    def app(request: Request) -> Reply | str:
        if not open_ and "authorization" not in request.headers:
            return _json(
                403, {"Message": "Forbidden"}, **{"x-amzn-errortype": "AccessDeniedException"}
            )
        event = _function_url_event(request, dict(request.headers), request.client)
        response = whoami.handler(event, None)
        return response["statusCode"], response["headers"], response["body"].encode()

    return app


INDEX_HTML = b"<!doctype html><title>static site</title><script src=/app.js></script>"


def cloudfront(
    waf_allowed: list[str] | None = None,
    static_site: str | None = None,
    adds_headers: bool = True,
) -> App:
    """CloudFront → the function URL (signed by OAC, so the function answers).

    ``waf_allowed``: the web ACL's allow-list (403 for anyone else). ``static_site``: the path
    prefix of the function; everything else is the S3 site's HTML. ``adds_headers`` off: a
    plain proxy that is not CloudFront.
    """

    def app(request: Request) -> Reply | str:
        cf = {}
        if adds_headers:
            cf = {
                "via": "1.1 0123456789abcdef0123456789abcdef.cloudfront.net (CloudFront)",
                "x-amz-cf-id": base64.b64encode(os.urandom(32)).decode(),
                "x-cache": "Miss from cloudfront",
            }
        if waf_allowed is not None and not _inside(request.client, waf_allowed):
            return (
                403,
                {"content-type": "text/html", **cf},
                b"<html><h1>403 ERROR</h1>Request blocked.</html>",
            )
        if static_site and not request.path.startswith(static_site):
            return 200, {"content-type": "text/html", **cf}, INDEX_HTML
        headers = dict(request.headers)
        if adds_headers:
            headers.update(
                {
                    "via": cf["via"],
                    "x-amz-cf-id": cf["x-amz-cf-id"],
                    "cloudfront-viewer-address": f"{request.client}:{request.client_port}",
                    "x-forwarded-for": request.client,
                }
            )
        # The function URL's TCP peer is the edge server, here this same host.
        event = _function_url_event(request, headers, "127.0.0.1")
        response = whoami.handler(event, None)
        return response["statusCode"], {**response["headers"], **cf}, response["body"].encode()

    return app


def static(status: int, content_type: str, body: bytes) -> App:
    return lambda request: (status, {"content-type": content_type}, body)


# --------------------------------------------------------------------------------------------
# outputs, as pulumi stack output --json prints them
# --------------------------------------------------------------------------------------------


def row(
    function: str,
    entry: str,
    url: str | list[str] | None,
    allowed: list[str] | None = None,
    path: str | None = "/",
    auth: str = "none",
) -> dict[str, Any]:
    sources = ", ".join(allowed) if allowed is not None else "anyone"
    return {
        "function": function,
        "entry": entry,
        "paths": "/*",
        "url": url,
        "sources": sources,
        "auth": auth,
        "via": entry,
        "allowedCidrs": allowed,
        "examplePath": path,
    }


def outputs_of(
    *,
    static_ip: Entry | None = None,
    static_allowed: list[str] | None = None,
    api: Entry | None = None,
    api_rows: Sequence[tuple[str, list[str] | None, str, str]] = (),
    edge: Entry | None = None,
    edge_path: str = "/",
    edge_allowed: list[str] | None = None,
    function_urls: dict[str, Entry] | None = None,
    egress_ips: list[str] | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "functionArns": {
            "app": "arn:aws:lambda:eu-west-1:123456789012:function:functions-app-c3450f3"
        }
    }
    rows: list[dict[str, Any]] = []
    if static_ip is not None:
        urls = [f"{static_ip.url}/"]
        out["staticIps"] = ["127.0.0.1"]
        out["staticIpUrls"] = urls
        rows.append(row("app", "staticIp", urls, static_allowed))
        rows.append(row("app", "internalAlb", None, ["10.20.0.0/16"]))
    if api is not None:
        out["apiUrl"] = f"{api.url}/api"
        for function, allowed, path, auth in api_rows or [("app", None, "/", "none")]:
            rows.append(row(function, "ipRestrictedApi", out["apiUrl"], allowed, path, auth))
    if edge is not None:
        out["edgeUrl"] = f"{edge.url}/"
        rows.append(
            row(
                "app",
                "edge",
                out["edgeUrl"],
                edge_allowed,
                edge_path,
                "none (CloudFront signs to the origin); signed by OAC",
            )
        )
    if function_urls:
        out["functionUrls"] = {name: f"{e.url}/" for name, e in function_urls.items()}
        for name, e in function_urls.items():
            rows.append(
                row(name, "functionUrl", f"{e.url}/", None, "/", "IAM: unsigned calls answer 403")
            )
    rows.append(row("app", "invokeApi", out["functionArns"]["app"], None, None, "IAM"))
    if egress_ips is not None:
        out["egressIps"] = egress_ips
    out["exposure"] = rows
    return out


def results(report: smoke.Report, check: str) -> list[smoke.Row]:
    return [r for r in report.rows if r.check == check]


def only(report: smoke.Report, check: str) -> smoke.Row:
    found = results(report, check)
    assert len(found) == 1, report.rows
    return found[0]


# --------------------------------------------------------------------------------------------
# a stack that keeps every promise
# --------------------------------------------------------------------------------------------


def test_a_stack_that_keeps_every_promise_passes(serve, tmp_path, capsys) -> None:
    ga, api, edge, url = (
        serve(alb()),
        serve(api_gateway({"/admin": OUTSIDE})),
        serve(cloudfront()),
        serve(function_url()),
    )
    outputs = outputs_of(
        static_ip=ga,
        api=api,
        api_rows=[("app", None, "/", "none"), ("admin", OUTSIDE, "/admin", "none")],
        edge=edge,
        function_urls={"app": url},
    )
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(outputs))

    assert smoke.main(["--outputs", str(path), "--timeout", "3"]) == 0
    printed = capsys.readouterr().out
    assert "caller address: 127.0.0.1 (from the entries' answers)" in printed
    assert "0 failed" in printed

    api.seen.clear()
    report = smoke.run(outputs, timeout=3)
    assert [str(a) for a in report.caller] == ["127.0.0.1"]
    static = only(report, "static IP")
    assert (static.result, static.target) == (smoke.PASS, f"{ga.url}/")
    assert "sourceIp 127.0.0.1" in static.detail
    assert only(report, "function URL").result == smoke.PASS
    assert only(report, "edge").result == smoke.PASS
    assert only(report, "edge").detail == "200; the function saw CloudFront's headers"
    api_row = only(report, "API")
    assert (api_row.result, api_row.target) == (smoke.PASS, f"{api.url}/api/")
    assert "whoami through API Gateway, sourceIp 127.0.0.1" in api_row.detail
    by_entry = {r.target.rsplit("(", 1)[-1]: r for r in results(report, "restriction")}
    admin = by_entry["ipRestrictedApi, admin)"]
    assert admin.result == smoke.PASS, admin
    assert (
        "caller 127.0.0.1 is outside 203.0.113.0/24; API Gateway 403: User: anonymous"
        in admin.detail
    )
    assert by_entry["internalAlb, app)"].result == smoke.SKIP
    # The restricted route was really asked, at its example path, and refused there.
    assert [r.path for r in api.seen].count("/api/admin") == 1


def test_the_table_has_one_row_per_check_with_its_columns(serve, tmp_path, capsys) -> None:
    url = serve(function_url())
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps({"functionUrls": {"app": f"{url.url}/"}}))
    assert smoke.main(["--outputs", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split() == ["check", "target", "result", "detail"]
    assert lines[3].split()[:4] == ["function", "URL", f"{url.url}/", "(app)"]
    assert lines[3].split()[4] == "PASS"
    assert lines[-1] == "1 checks: 1 passed, 0 failed, 0 skipped"


# --------------------------------------------------------------------------------------------
# each promise, broken
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("app", "detail"),
    [
        (static(200, "text/html", b"<html>It works!</html>"), "200 but not the whoami JSON"),
        (
            static(500, "application/json", b'{"error": "internal error"}'),
            "expected 200 with the whoami JSON: HTTP 500",
        ),
        (
            static(502, "text/html", b"<html>502 Bad Gateway</html>"),
            "expected 200 with the whoami JSON: HTTP 502",
        ),
    ],
    ids=["html", "500", "502"],
)
def test_a_static_ip_that_does_not_answer_the_whoami_json_fails(
    serve, tmp_path, app, detail
) -> None:
    ga = serve(app)
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(outputs_of(static_ip=ga)))
    assert smoke.main(["--outputs", str(path)]) == 1
    report = smoke.run(outputs_of(static_ip=ga))
    static_row = only(report, "static IP")
    assert static_row.result == smoke.FAIL
    assert static_row.detail.startswith(detail)


def test_a_static_ip_whose_answer_is_not_from_the_alb_fails(serve) -> None:
    # The whoami JSON, but through a function URL: the address does not lead to the ALB.
    wrong = serve(function_url(open_=True))
    static_row = only(smoke.run(outputs_of(static_ip=wrong)), "static IP")
    assert (static_row.result, static_row.detail) == (
        smoke.FAIL,
        "whoami says entry 'function-url', not alb",
    )


def test_a_function_url_that_answers_an_unsigned_request_fails(serve, tmp_path, capsys) -> None:
    url = serve(function_url(open_=True))
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(outputs_of(function_urls={"app": url})))
    assert smoke.main(["--outputs", str(path)]) == 1
    assert "200 to an unsigned GET: the function URL is open" in capsys.readouterr().out
    # The tool's request was unsigned: no credentials went out.
    assert all("authorization" not in r.headers for r in url.seen)


def test_a_function_url_answering_anything_but_403_fails(serve) -> None:
    url = serve(static(404, "application/json", b'{"Message": "Not Found"}'))
    fn = only(smoke.run(outputs_of(function_urls={"app": url})), "function URL")
    assert fn.result == smoke.FAIL
    assert fn.detail.startswith("expected 403 unsigned: HTTP 404")


def test_an_edge_url_that_is_not_cloudfront_fails(serve) -> None:
    proxy = serve(cloudfront(adds_headers=False))
    edge = only(smoke.run(outputs_of(edge=proxy)), "edge")
    assert edge.result == smoke.FAIL
    assert "the function saw no CloudFront headers" in edge.detail


def test_a_static_site_is_checked_at_the_paths_the_function_serves(serve) -> None:
    # The root is the site's HTML; the exposure row sends the check to the API path, where
    # the function answers through CloudFront.
    site = serve(cloudfront(static_site="/api"))
    report = smoke.run(outputs_of(edge=site, edge_path="/api"))
    edge = only(report, "edge")
    assert (edge.result, edge.target) == (smoke.PASS, f"{site.url}/api")
    assert edge.detail == "200; the function saw CloudFront's headers"
    assert [r.path for r in site.seen] == ["/api"]


def test_html_at_an_edge_path_passes_only_with_cloudfront_headers(serve) -> None:
    through = serve(cloudfront(static_site="/api"))
    assert only(smoke.run(outputs_of(edge=through, edge_path="/")), "edge").result == smoke.PASS
    around = serve(static(200, "text/html", INDEX_HTML))
    edge = only(smoke.run(outputs_of(edge=around, edge_path="/")), "edge")
    assert (edge.result, edge.detail) == (
        smoke.FAIL,
        "200 without CloudFront's via / x-amz-cf-id headers",
    )


def test_a_restricted_route_answering_an_outside_caller_fails(serve, tmp_path, capsys) -> None:
    api = serve(api_gateway({"/admin": OUTSIDE}, enforce=False))
    outputs = outputs_of(
        api=api, api_rows=[("app", None, "/", "none"), ("admin", OUTSIDE, "/admin", "none")]
    )
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(outputs))
    assert smoke.main(["--outputs", str(path)]) == 1
    assert "FAIL" in capsys.readouterr().out
    restriction = [r for r in results(smoke.run(outputs), "restriction") if "admin" in r.target]
    assert len(restriction) == 1
    assert restriction[0].result == smoke.FAIL
    assert restriction[0].detail.startswith(
        "caller 127.0.0.1 is outside 203.0.113.0/24; expected API Gateway's 403, got: HTTP 200"
    )


@pytest.mark.parametrize(
    ("body", "shown"),
    [
        (b"<html>Forbidden</html>", "<html>Forbidden</html>"),
        # What API Gateway says for a path it has no route for: the check hit the wrong URL.
        (
            b'{"message":"Missing Authentication Token"}',
            '{"message":"Missing Authentication Token"}',
        ),
    ],
    ids=["html", "no-such-route"],
)
def test_a_403_that_is_not_the_resource_policys_refusal_fails(serve, body, shown) -> None:
    api = serve(static(403, "application/json", body))
    outputs = outputs_of(api=api, api_rows=[("admin", OUTSIDE, "/admin", "none")])
    caller = [ipaddress.ip_address("127.0.0.1")]
    restriction = only(smoke.run(outputs, my_ip=caller), "restriction")
    assert restriction.result == smoke.FAIL
    assert f"expected API Gateway's 403, got: HTTP 403: {shown}" in restriction.detail


def test_a_private_apis_forbidden_outside_its_vpc_is_a_refusal(serve) -> None:
    api = serve(static(403, "application/json", b'{"message":"Forbidden"}'))
    outputs = outputs_of(api=api, api_rows=[("app", ["10.30.128.0/17"], "/", "none")])
    restriction = only(smoke.run(outputs, my_ip=[ipaddress.ip_address("127.0.0.1")]), "restriction")
    assert restriction.result == smoke.PASS
    assert restriction.detail.endswith("API Gateway 403: Forbidden")


def test_an_iam_route_must_refuse_an_unsigned_call(serve) -> None:
    iam_row = [
        ("app", None, "/admin/x", "IAM: principals of this account allowed execute-api:Invoke")
    ]
    good = serve(api_gateway(iam=("/admin",)))
    assert only(smoke.run(outputs_of(api=good, api_rows=iam_row)), "API (IAM)").result == smoke.PASS
    open_ = serve(api_gateway())
    broken = only(smoke.run(outputs_of(api=open_, api_rows=iam_row)), "API (IAM)")
    assert broken.result == smoke.FAIL
    assert broken.detail.startswith("expected 403 to an unsigned GET: HTTP 200")


# --------------------------------------------------------------------------------------------
# restrictions on the static IPs and the edge (network and WAF)
# --------------------------------------------------------------------------------------------


def test_a_security_group_that_drops_an_outside_caller_passes(serve) -> None:
    # The caller learns its address from the API, then the static IPs must not answer it.
    ga, api = serve(alb(allowed=OUTSIDE)), serve(api_gateway())
    report = smoke.run(outputs_of(static_ip=ga, static_allowed=OUTSIDE, api=api), timeout=2)
    restriction = [r for r in results(report, "restriction") if "staticIp" in r.target]
    assert len(restriction) == 1
    assert restriction[0].result == smoke.PASS
    assert restriction[0].detail == (
        "caller 127.0.0.1 is outside 203.0.113.0/24; no connection (connection closed without "
        "an HTTP answer)"
    )
    # Refused is what this door should do to this caller: no row claims it answered.
    assert results(report, "static IP") == []


def test_static_ips_that_answer_an_outside_caller_fail(serve) -> None:
    ga, api = serve(alb()), serve(api_gateway())
    report = smoke.run(outputs_of(static_ip=ga, static_allowed=OUTSIDE, api=api))
    restriction = [r for r in results(report, "restriction") if "staticIp" in r.target]
    assert restriction[0].result == smoke.FAIL
    assert restriction[0].detail.startswith(
        "caller 127.0.0.1 is outside 203.0.113.0/24, yet it answered: HTTP 200"
    )


def test_a_waf_that_blocks_an_outside_caller_passes_and_one_that_does_not_fails(serve) -> None:
    api = serve(api_gateway())
    blocked = serve(cloudfront(waf_allowed=OUTSIDE))
    report = smoke.run(outputs_of(api=api, edge=blocked, edge_allowed=OUTSIDE))
    [waf] = [r for r in results(report, "restriction") if "edge" in r.target]
    assert (waf.result, waf.detail) == (
        smoke.PASS,
        "caller 127.0.0.1 is outside 203.0.113.0/24; 403 from CloudFront",
    )
    assert results(report, "edge") == []

    unfiltered = serve(cloudfront())
    report = smoke.run(outputs_of(api=api, edge=unfiltered, edge_allowed=OUTSIDE))
    [waf] = [r for r in results(report, "restriction") if "edge" in r.target]
    assert waf.result == smoke.FAIL
    assert "expected 403, got: HTTP 200" in waf.detail


def test_a_caller_inside_the_allow_list_cannot_tell_but_the_door_must_answer(serve) -> None:
    ga = serve(alb(allowed=INSIDE))
    report = smoke.run(outputs_of(static_ip=ga, static_allowed=INSIDE))
    [restriction] = [r for r in results(report, "restriction") if "staticIp" in r.target]
    assert (restriction.result, restriction.detail) == (
        smoke.SKIP,
        "cannot tell from here: 127.0.0.1 is inside 127.0.0.0/8",
    )
    assert only(report, "static IP").result == smoke.PASS

    broken = serve(static(503, "text/html", b"<html>503</html>"))
    report = smoke.run(
        outputs_of(static_ip=broken, static_allowed=INSIDE),
        my_ip=[ipaddress.ip_address("127.0.0.1")],
    )
    assert only(report, "static IP").result == smoke.FAIL


def test_an_address_an_entry_sees_inside_aws_is_not_the_callers(serve) -> None:
    # Static IPs on an NLB: the ALB sees the NLB's private address, not the caller.
    nlb = serve(alb(peer="10.20.0.37"))
    report = smoke.run(outputs_of(static_ip=nlb))
    assert report.caller == []
    assert "sourceIp 10.20.0.37" in only(report, "static IP").detail


def test_without_the_callers_address_the_restrictions_are_skipped_until_my_ip_says(serve) -> None:
    api = serve(api_gateway({"/": OUTSIDE}))
    outputs = outputs_of(api=api, api_rows=[("app", OUTSIDE, "/", "none")])
    report = smoke.run(outputs)
    assert report.caller == []
    assert only(report, "restriction").result == smoke.SKIP
    assert "caller's address is unknown" in only(report, "restriction").detail
    assert only(report, "API").result == smoke.SKIP  # refused, and nobody can say whether rightly

    told = smoke.run(outputs, my_ip=[ipaddress.ip_address("127.0.0.1")])
    assert only(told, "restriction").result == smoke.PASS
    assert results(told, "API") == []  # refused, rightly: the restriction row said so
    assert told.caller_source == "--my-ip"


# --------------------------------------------------------------------------------------------
# egress
# --------------------------------------------------------------------------------------------


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "echo.pem", tmp_path / "echo.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def echo(serve, tmp_path, monkeypatch) -> Entry:
    """An https echo service (like checkip.amazonaws.com) the whoami function is configured
    with: it answers the address it sees, which is this host's."""
    cert, key = _self_signed(tmp_path)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    server = serve(
        lambda request: (200, {"content-type": "text/plain"}, f"{request.client}\n".encode()), tls
    )
    monkeypatch.setenv(whoami.EGRESS_URL_ENV, f"{server.url}/")
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the function trusts the echo's certificate
    return server


def test_the_egress_ip_the_function_reports_must_be_an_egress_ip(serve, echo) -> None:
    ga = serve(alb())
    report = smoke.run(outputs_of(static_ip=ga, egress_ips=["203.0.113.185", "127.0.0.1"]))
    egress = only(report, "egress")
    assert (egress.result, egress.target) == (smoke.PASS, f"{ga.url}/?egress=1")
    assert egress.detail == "egressIp 127.0.0.1 is one of egressIps"
    assert len(echo.seen) == 1  # the function really called out

    wrong = only(smoke.run(outputs_of(static_ip=ga, egress_ips=["203.0.113.185"])), "egress")
    assert (wrong.result, wrong.detail) == (
        smoke.FAIL,
        "egressIp 127.0.0.1 is not one of egressIps (203.0.113.185)",
    )


def test_egress_is_skipped_when_the_function_has_no_echo_url(serve) -> None:
    api = serve(api_gateway())
    egress = only(smoke.run(outputs_of(api=api, egress_ips=["203.0.113.185"])), "egress")
    assert egress.result == smoke.SKIP
    assert egress.target == f"{api.url}/api/?egress=1"
    assert egress.detail.startswith("egress check disabled: set EGRESS_ECHO_URL")


def test_egress_fails_when_the_echo_call_fails(serve, monkeypatch) -> None:
    dead = serve(lambda request: CLOSE)
    monkeypatch.setenv(whoami.EGRESS_URL_ENV, f"https://127.0.0.1:{dead.server_address[1]}/")
    ga = serve(alb())
    egress = only(smoke.run(outputs_of(static_ip=ga, egress_ips=["203.0.113.185"])), "egress")
    assert egress.result == smoke.FAIL
    assert egress.detail.startswith("the echo call failed: ")


def test_egress_without_an_entry_to_call_through_is_skipped() -> None:
    egress = only(smoke.run({"egressIps": ["203.0.113.185"]}), "egress")
    assert (egress.result, egress.target) == (smoke.SKIP, "egressIps 203.0.113.185")


# --------------------------------------------------------------------------------------------
# bounded time
# --------------------------------------------------------------------------------------------


def test_a_server_that_hangs_fails_within_the_timeout(serve, tmp_path, capsys) -> None:
    hung = serve(lambda request: HANG)
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(outputs_of(static_ip=hung)))
    started = time.monotonic()
    assert smoke.main(["--outputs", str(path), "--timeout", "0.5"]) == 1
    elapsed = time.monotonic() - started
    assert elapsed < 3, elapsed
    assert "expected 200 with the whoami JSON: no answer within 0.5 s" in capsys.readouterr().out


def test_the_whole_run_is_bounded(serve) -> None:
    hung = [serve(lambda request: HANG) for _ in range(3)]
    outputs = {"functionUrls": {f"f{i}": f"{h.url}/" for i, h in enumerate(hung)}}
    started = time.monotonic()
    report = smoke.run(outputs, timeout=30, max_time=1)
    assert time.monotonic() - started < 3
    assert [r.result for r in report.rows] == [smoke.FAIL] * 3
    # Started and cut off, or (on a loaded machine) not started before the deadline: either way
    # the row says the run's bound stopped it.
    assert all(
        re.search(r"not (finished|started) within the run's --max-time", r.detail)
        for r in report.rows
    )


def test_requests_run_concurrently(serve) -> None:
    slow = [
        serve(lambda request: (time.sleep(0.6), _json(403, {"Message": "Forbidden"}))[1])
        for _ in range(4)
    ]
    outputs = {"functionUrls": {f"f{i}": f"{s.url}/" for i, s in enumerate(slow)}}
    started = time.monotonic()
    report = smoke.run(outputs)
    assert time.monotonic() - started < 2.0  # four 0.6 s answers, not one after the other
    assert [r.result for r in report.rows] == [smoke.PASS] * 4


# --------------------------------------------------------------------------------------------
# --stack, and bad usage
# --------------------------------------------------------------------------------------------


def _fake_pulumi(bin_dir: Path, script: str) -> None:
    bin_dir.mkdir()
    pulumi = bin_dir / "pulumi"
    pulumi.write_text("#!/bin/sh\n" + script)
    pulumi.chmod(pulumi.stat().st_mode | stat.S_IXUSR)


def test_stack_reads_the_outputs_with_pulumi_without_secrets(
    serve, tmp_path, monkeypatch, capsys
) -> None:
    url = serve(function_url())
    (tmp_path / "outputs.json").write_text(json.dumps({"functionUrls": {"app": f"{url.url}/"}}))
    _fake_pulumi(
        tmp_path / "bin",
        f'printf "%s\\n" "$@" > "{tmp_path}/args"\ncat "{tmp_path}/outputs.json"\n',
    )
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    assert smoke.main(["--stack", "dev"]) == 0
    assert (tmp_path / "args").read_text().split() == [
        "stack",
        "output",
        "--json",
        "--stack",
        "dev",
    ]
    assert "1 passed, 0 failed" in capsys.readouterr().out


def test_a_failing_pulumi_is_bad_usage(tmp_path, monkeypatch, capsys) -> None:
    _fake_pulumi(tmp_path / "bin", "echo \"error: no stack named 'nope' found\" >&2\nexit 255\n")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    assert smoke.main(["--stack", "nope"]) == 2
    err = capsys.readouterr().err.strip()
    assert (
        err == "error: pulumi stack output --stack nope failed: error: no stack named 'nope' found"
    )


def test_pulumi_not_on_path_is_bad_usage(tmp_path, monkeypatch, capsys) -> None:
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert smoke.main(["--stack", "dev"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("error: pulumi not found on PATH")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read"),
        ("{not json", "not JSON"),
        ("[1, 2]", "not a JSON object of stack outputs"),
        (
            '{"functionArns": {"app": "arn:aws:lambda:eu-west-1:123456789012:function:x"}}',
            "nothing to check",
        ),
        (
            json.dumps(
                {
                    "exposure": [
                        {"entry": "staticIp", "url": ["http://127.0.0.1:9/"], "allowedCidrs": ["x"]}
                    ]
                }
            ),
            "exposure: allowedCidrs",
        ),
    ],
    ids=["missing", "not-json", "not-an-object", "nothing-to-check", "bad-cidr"],
)
def test_unreadable_outputs_are_bad_usage(tmp_path, capsys, content, message) -> None:
    path = tmp_path / "outputs.json"
    if content is not None:
        path.write_text(content)
    assert smoke.main(["--outputs", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0], err


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["--stack", "dev", "--outputs", "x.json"],
        ["--outputs", "x.json", "--timeout", "0"],
        ["--outputs", "x.json", "--my-ip", "nope"],
    ],
    ids=["no-source", "both-sources", "zero-timeout", "bad-my-ip"],
)
def test_bad_arguments_exit_2(argv) -> None:
    with pytest.raises(SystemExit) as caught:
        smoke.main(argv)
    assert caught.value.code == 2


def test_the_module_runs_as_a_command(tmp_path) -> None:
    import subprocess
    import sys

    path = tmp_path / "outputs.json"
    path.write_text("[]")
    done = subprocess.run(
        [sys.executable, "-m", "tools.smoke", "--outputs", str(path)],
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("error: ")
