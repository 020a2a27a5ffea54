"""Tests of the Lambda@Edge SigV4 signer (handlers/edge_signer.py).

Three independent references:

* the AWS SigV4 test suite (``../shared/fixtures/sigv4``): canonical request, string to sign and
  Authorization of every case, signing every header of the suite's raw request;
* botocore's ``SigV4Auth`` for the ``lambda`` service, given the same URL, body and credentials,
  on CloudFront origin-request events built from ``events/cloudfrontRequestEvent.json``;
* plain facts about the event shell (header moves, 413/502 answers) checked directly.
"""

from __future__ import annotations

import base64
import copy
import datetime
import hashlib
import json
import random
import re
from pathlib import Path
from unittest import mock
from urllib.parse import unquote

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials

from handlers import edge_signer
from tests.fixtures_path import fixtures_dir, require_fixture

# --------------------------------------------------------------------------------------------------
# AWS SigV4 test suite
# --------------------------------------------------------------------------------------------------
SUITE_ACCESS_KEY = "AKIDEXAMPLE"
SUITE_SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
SUITE_DATE = "20150830T123600Z"
SUITE_REGION = "us-east-1"
SUITE_SERVICE = "service"


def _suite_cases() -> list[str]:
    """Case directories (any directory holding a ``.req``), relative to the suite root."""
    base = fixtures_dir()
    root = base / "sigv4" if base else None
    if root is None or not root.is_dir():
        return ["<suite missing>"]
    return sorted(str(p.parent.relative_to(root)) for p in root.rglob("*.req"))


def parse_raw_request(raw: str) -> tuple[str, str, str, list[tuple[str, str]], bytes]:
    """Parse a suite ``.req``: method, path, query, header pairs in order, body.

    The request line is split at its first and last space, so a path with a raw space
    (``normalize-path/get-space``) parses; folded header lines continue the previous value.
    """
    lines = raw.replace("\r\n", "\n").split("\n")
    request_line = lines[0]
    method, _, rest = request_line.partition(" ")
    target = rest.rsplit(" ", 1)[0]
    path, _, query = target.partition("?")
    headers: list[tuple[str, str]] = []
    index = 1
    while index < len(lines) and lines[index] != "":
        line = lines[index]
        if line[:1] in (" ", "\t") and headers:
            name, value = headers[-1]
            headers[-1] = (name, f"{value} {line.strip()}")
        else:
            name, _, value = line.partition(":")
            headers.append((name, value))
        index += 1
    body = "\n".join(lines[index + 1 :]).encode("utf-8")
    return method, path, query, headers, body


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8").replace("\r", "")


def _added_session_token(stem: Path, headers: list[tuple[str, str]]) -> str | None:
    """The X-Amz-Security-Token of the suite's signed request when the raw request lacks it."""
    if any(name.lower() == "x-amz-security-token" for name, _ in headers):
        return None
    _, _, _, signed_headers, _ = parse_raw_request(_read(stem.with_suffix(".sreq")))
    return next((v for n, v in signed_headers if n.lower() == "x-amz-security-token"), None)


@pytest.mark.parametrize("case", _suite_cases())
def test_aws_sigv4_suite(case: str) -> None:
    case_dir = require_fixture("sigv4", *case.split("/"))
    stem = case_dir / case_dir.name
    method, path, query, headers, body = parse_raw_request(_read(stem.with_suffix(".req")))
    expected_creq = _read(stem.with_suffix(".creq"))
    expected_sts = _read(stem.with_suffix(".sts"))
    expected_authz = _read(stem.with_suffix(".authz")).strip()

    # A session token the signer adds (it is in the signed request, not in the raw one) is signed
    # like any header, as the handler does; except in post-sts-header-after, which per the suite's
    # readme models services where the token is appended *after* signing.
    token = _added_session_token(stem, headers)
    if token and case != "post-sts-token/post-sts-header-after":
        headers.append(("X-Amz-Security-Token", token))

    payload_hash = hashlib.sha256(body).hexdigest()
    creq, signed = edge_signer.canonical_request(method, path, query, headers, payload_hash)
    assert creq == expected_creq

    scope = edge_signer.credential_scope(SUITE_DATE[:8], SUITE_REGION, SUITE_SERVICE)
    sts = edge_signer.string_to_sign(SUITE_DATE, scope, creq)
    assert sts == expected_sts

    key = edge_signer.signing_key(SUITE_SECRET_KEY, SUITE_DATE[:8], SUITE_REGION, SUITE_SERVICE)
    sig = edge_signer.signature(key, sts)
    assert sig == re.search(r"Signature=([0-9a-f]{64})", expected_authz).group(1)
    assert edge_signer.authorization_header(SUITE_ACCESS_KEY, scope, signed, sig) == expected_authz

    # The one-call signer gives the same header (the token, when the suite signs it, is simply
    # one more header of the request).
    creds = edge_signer.Credentials(SUITE_ACCESS_KEY, SUITE_SECRET_KEY)
    got = edge_signer.sign(
        method,
        path,
        query,
        headers,
        payload_hash,
        creds,
        SUITE_REGION,
        SUITE_SERVICE,
        SUITE_DATE,
    )
    assert got == expected_authz


def test_suite_is_complete_on_disk() -> None:
    """Guard: the parametrisation really found the nested cases (not a silent empty run)."""
    root = require_fixture("sigv4")
    cases = {str(p.parent.relative_to(root)) for p in root.rglob("*.req")}
    assert {"normalize-path/get-space", "post-sts-token/post-sts-header-before"} <= cases
    assert {c for c in cases if c.startswith("get-vanilla-query-order-")} == {
        "get-vanilla-query-order-encoded",
        "get-vanilla-query-order-key",
        "get-vanilla-query-order-key-case",
        "get-vanilla-query-order-value",
    }


# --------------------------------------------------------------------------------------------------
# Pure helpers on data made here
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("host", "region"),
    [
        ("abcdefghijklmnop.lambda-url.eu-west-1.on.aws", "eu-west-1"),
        ("ABCDEF0123.lambda-url.ap-southeast-2.on.aws", "ap-southeast-2"),
        ("x1.lambda-url.us-gov-west-1.on.aws.", "us-gov-west-1"),
    ],
)
def test_region_from_function_url_host(host: str, region: str) -> None:
    assert edge_signer.region_from_function_url_host(host) == region


@pytest.mark.parametrize(
    "host",
    [
        "example.com",
        "my-bucket.s3.amazonaws.com",
        "abc.lambda-url.eu-west-1.on.aws.evil.com",
        "abc.lambda-url..on.aws",
        "a.b.lambda-url.eu-west-1.on.aws",
        "abc.execute-api.eu-west-1.amazonaws.com",
    ],
)
def test_region_from_non_function_url_host_is_refused(host: str) -> None:
    with pytest.raises(edge_signer.SigningError):
        edge_signer.region_from_function_url_host(host)


def test_uri_decode_keeps_plus_and_bad_escapes() -> None:
    assert edge_signer.uri_decode("a+b%2Bc%20d") == b"a+b+c d"
    assert edge_signer.uri_decode("100%") == b"100%"
    assert edge_signer.uri_decode("%zz%4") == b"%zz%4"
    assert edge_signer.uri_decode("%ff%FE") == b"\xff\xfe"
    assert edge_signer.uri_decode("caf\u00e9") == "caf\u00e9".encode()


def test_canonical_query_keeps_repeats_and_empty_values() -> None:
    got = edge_signer.canonical_query_string("b=2&a&a=&c=%7e&b=1&&A=z")
    assert got == "A=z&a=&a=&b=1&b=2&c=~"


def test_canonical_query_encodes_plus_as_literal_plus() -> None:
    assert edge_signer.canonical_query_string("q=a+b") == "q=a%2Bb"
    assert edge_signer.canonical_query_string("q=a%20b") == "q=a%20b"


def test_body_bytes() -> None:
    raw = bytes(range(256))
    assert edge_signer.body_bytes(None) == b""
    assert edge_signer.body_bytes({"data": "", "encoding": "base64"}) == b""
    encoded = base64.b64encode(raw).decode()
    assert edge_signer.body_bytes({"data": encoded, "encoding": "base64"}) == raw
    assert edge_signer.body_bytes({"data": "h\u00e9", "encoding": "text"}) == "h\u00e9".encode()
    with pytest.raises(edge_signer.SigningError):
        edge_signer.body_bytes({"data": "not base64!!", "encoding": "base64"})


def test_amz_date_uses_the_given_clock() -> None:
    when = datetime.datetime(2024, 2, 29, 23, 59, 58)
    assert edge_signer.amz_date(when) == "20240229T235958Z"
    assert re.fullmatch(r"\d{8}T\d{6}Z", edge_signer.amz_date())


# --------------------------------------------------------------------------------------------------
# CloudFront origin-request events, cross-checked against botocore
# --------------------------------------------------------------------------------------------------
ACCESS_KEY = "ASIAEXAMPLEEDGE00001"
SECRET_KEY = "s3cr3t/Key+ForTheEdgeSigner0000000000000"
TOKEN = "IQoJb3JpZ2luX2VjEXAMPLE//////////token+with/odd=chars=="
FUNCTION_HOST = "abcdefghijklmnop.lambda-url.eu-west-1.on.aws"
WHEN = datetime.datetime(2026, 7, 20, 12, 34, 56)


@pytest.fixture
def base_event() -> dict:
    path = require_fixture("events", "cloudfrontRequestEvent.json")
    event = json.loads(path.read_text(encoding="utf-8"))
    cf = event["Records"][0]["cf"]
    cf["config"]["eventType"] = "origin-request"
    origin = cf["request"]["origin"]["custom"]
    origin.update(domainName=FUNCTION_HOST, path="", port=443, protocol="https")
    cf["request"]["origin"] = {"custom": origin}
    return event


@pytest.fixture
def role_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_SESSION_TOKEN", TOKEN)


def _request(event: dict) -> dict:
    return event["Records"][0]["cf"]["request"]


def _event(
    base: dict,
    *,
    method: str = "GET",
    uri: str = "/",
    query: str = "",
    body: dict | None = None,
    host: str = FUNCTION_HOST,
) -> dict:
    event = copy.deepcopy(base)
    request = _request(event)
    request.update(method=method, uri=uri, querystring=query)
    request["origin"]["custom"]["domainName"] = host
    if body is None:
        request.pop("body", None)
    else:
        request["body"] = body
    return event


def _botocore_authorization(
    method: str,
    url: str,
    body: bytes,
    *,
    token: str | None,
    region: str,
    params: list[tuple[str, str]] | None = None,
) -> str:
    """botocore's Authorization for the same request, signing host, date, token, content hash."""
    request = AWSRequest(method=method, url=url, data=body, params=params or {})
    auth = SigV4Auth(BotoCredentials(ACCESS_KEY, SECRET_KEY, token), "lambda", region)
    # botocore hashes the body itself; putting its hash in the header makes it a signed header
    # (the Lambda@Edge signer signs x-amz-content-sha256 too).
    request.headers["X-Amz-Content-SHA256"] = auth.payload(request)
    with mock.patch("botocore.auth.get_current_datetime", return_value=WHEN):
        auth.add_auth(request)
    return request.headers["Authorization"]


def _decoded_params(query: str) -> list[tuple[str, str]]:
    pairs = []
    for piece in query.split("&"):
        if piece:
            key, _, value = piece.partition("=")
            pairs.append((unquote(key, errors="strict"), unquote(value, errors="strict")))
    return pairs


def _signed(event: dict) -> dict:
    result = edge_signer.handler(event, None, now=WHEN)
    assert "status" not in result, result
    return result


def _authorization(result: dict) -> str:
    return result["headers"]["authorization"][0]["value"]


# Raw CloudFront query strings. "canonical" ones are already in SigV4 form, so botocore's
# raw-URL canonicalisation must agree too; the others only via decoded parameters.
QUERIES = [
    pytest.param("", True, id="empty"),
    pytest.param("size=large", True, id="fixture"),
    pytest.param("b=2&a=1&A=0&a=0", True, id="repeated-and-case"),
    pytest.param("empty=&flag&x=1", False, id="empty-values"),
    pytest.param("q=a%2Bb&r=%20x&s=%25", True, id="encoded-reserved"),
    pytest.param("path=%2Fa%2Fb&colon=%3A&at=%40&amp=%26&eq=%3D", True, id="encoded-delims"),
    pytest.param("q=a+b&plus=+", False, id="plus"),
    pytest.param("raw=a/b:c@d,e;f!g*h'i(j)", False, id="raw-reserved"),
    pytest.param("tilde=%7E&lower=%2f%3a", False, id="non-canonical-escapes"),
    pytest.param("%E1%88%B4=%E2%9C%93&k=caf%C3%A9", True, id="utf8-encoded"),
    pytest.param("k=-_.~AZaz09", True, id="unreserved"),
]

PATHS = [
    "/",
    "/picture.jpg",
    "/a%20b/c",
    "/caf%C3%A9/%E2%9C%93",
    "/a/./b/../c",
    "//double//slash/",
    "/with(paren)*!'",
    "/%2Fencoded-slash/%24delete",
    "/$delete/~user",
]


@pytest.mark.parametrize(("query", "canonical"), QUERIES)
def test_query_strings_match_botocore(
    base_event: dict, role_env: None, query: str, canonical: bool
) -> None:
    result = _signed(_event(base_event, uri="/books", query=query))
    url = f"https://{FUNCTION_HOST}/books"
    got = _authorization(result)
    params = _decoded_params(query)
    assert got == _botocore_authorization(
        "GET", url, b"", token=TOKEN, region="eu-west-1", params=params
    )
    if canonical:
        raw_url = f"{url}?{query}" if query else url
        assert got == _botocore_authorization("GET", raw_url, b"", token=TOKEN, region="eu-west-1")
    # the query string is forwarded exactly as received
    assert result["querystring"] == query


def test_non_utf8_query_matches_botocore_raw_url(base_event: dict, role_env: None) -> None:
    query = "bin=%FF%FE%00&z=%C3"
    got = _authorization(_signed(_event(base_event, uri="/b", query=query)))
    url = f"https://{FUNCTION_HOST}/b?{query}"
    assert got == _botocore_authorization("GET", url, b"", token=TOKEN, region="eu-west-1")


@pytest.mark.parametrize("uri", PATHS)
def test_paths_match_botocore(base_event: dict, role_env: None, uri: str) -> None:
    result = _signed(_event(base_event, uri=uri, query="x=1"))
    expected = _botocore_authorization(
        "GET", f"https://{FUNCTION_HOST}{uri}?x=1", b"", token=TOKEN, region="eu-west-1"
    )
    assert _authorization(result) == expected
    assert result["uri"] == uri  # forwarded as received, never normalised


def _bodies() -> list:
    rng = random.Random(20260720)
    binary = bytes([0xFF, 0xFE, 0x00, 0xC3]) + rng.randbytes(4096)
    return [
        pytest.param(None, b"", id="absent"),
        pytest.param({"action": "read-only", "data": "", "encoding": "base64"}, b"", id="empty"),
        pytest.param(
            {"action": "read-only", "data": '{"t":"h\u00e9llo \u2713"}', "encoding": "text"},
            '{"t":"h\u00e9llo \u2713"}'.encode(),
            id="text-utf8",
        ),
        pytest.param(
            {
                "action": "read-only",
                "data": base64.b64encode(binary).decode(),
                "encoding": "base64",
                "inputTruncated": False,
            },
            binary,
            id="binary-random",
        ),
    ]


@pytest.mark.parametrize(("body", "raw"), _bodies())
@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_bodies_match_botocore(
    base_event: dict, role_env: None, body: dict | None, raw: bytes, method: str
) -> None:
    result = _signed(_event(base_event, method=method, uri="/books", query="v=2", body=body))
    expected = _botocore_authorization(
        method, f"https://{FUNCTION_HOST}/books?v=2", raw, token=TOKEN, region="eu-west-1"
    )
    assert _authorization(result) == expected
    content_sha = result["headers"]["x-amz-content-sha256"][0]["value"]
    assert content_sha == hashlib.sha256(raw).hexdigest()
    assert result.get("body") == body  # body forwarded untouched


def test_fixture_event_as_is_matches_botocore(base_event: dict, role_env: None) -> None:
    """The fixture's own request (GET with a base64 JSON body, ?size=large) signs like botocore."""
    request = _request(base_event)
    raw = base64.b64decode(request["body"]["data"])
    result = _signed(copy.deepcopy(base_event))
    url = f"https://{FUNCTION_HOST}{request['uri']}?{request['querystring']}"
    assert _authorization(result) == _botocore_authorization(
        "GET", url, raw, token=TOKEN, region="eu-west-1"
    )


def test_without_session_token_matches_botocore(
    base_event: dict, role_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_SESSION_TOKEN")
    result = _signed(_event(base_event, uri="/x", query="a=1"))
    expected = _botocore_authorization(
        "GET", f"https://{FUNCTION_HOST}/x?a=1", b"", token=None, region="eu-west-1"
    )
    assert _authorization(result) == expected
    assert "SignedHeaders=host;x-amz-content-sha256;x-amz-date," in _authorization(result)
    assert "x-amz-security-token" not in result["headers"]


# --------------------------------------------------------------------------------------------------
# The event shell
# --------------------------------------------------------------------------------------------------
def test_region_comes_from_the_origin_host(base_event: dict, role_env: None) -> None:
    other_host = "qrstuvwxyz012345.lambda-url.ap-northeast-1.on.aws"
    eu = _authorization(_signed(_event(base_event, uri="/r")))
    ap = _authorization(_signed(_event(base_event, uri="/r", host=other_host)))
    assert f"/{WHEN:%Y%m%d}/eu-west-1/lambda/aws4_request" in eu
    assert f"/{WHEN:%Y%m%d}/ap-northeast-1/lambda/aws4_request" in ap
    assert eu.rsplit("Signature=", 1)[1] != ap.rsplit("Signature=", 1)[1]
    assert ap == _botocore_authorization(
        "GET", f"https://{other_host}/r", b"", token=TOKEN, region="ap-northeast-1"
    )


def test_headers_are_set_moved_and_left_alone(base_event: dict, role_env: None) -> None:
    event = _event(base_event, uri="/h", query="a=1")
    headers = _request(event)["headers"]
    headers["authorization"] = [{"key": "Authorization", "value": "Bearer viewer-token"}]
    headers["accept"] = [
        {"key": "Accept", "value": "application/json"},
        {"key": "Accept", "value": "text/plain"},
    ]
    headers["x-amz-security-token"] = [{"key": "X-Amz-Security-Token", "value": "forged"}]
    headers["x-viewer-authorization"] = [{"key": "X-Viewer-Authorization", "value": "spoofed"}]
    before = copy.deepcopy(headers)

    result = _signed(event)
    out = result["headers"]
    assert out["host"] == [{"key": "Host", "value": FUNCTION_HOST}]
    assert out["x-viewer-authorization"] == [
        {"key": "X-Viewer-Authorization", "value": "Bearer viewer-token"}
    ]
    assert out["x-amz-security-token"] == [{"key": "X-Amz-Security-Token", "value": TOKEN}]
    assert out["x-amz-date"] == [{"key": "X-Amz-Date", "value": WHEN.strftime("%Y%m%dT%H%M%SZ")}]
    auth = out["authorization"]
    assert len(auth) == 1
    assert auth[0]["key"] == "Authorization"
    assert auth[0]["value"].startswith(f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/")
    signed = re.search(r"SignedHeaders=([^,]+),", auth[0]["value"]).group(1)
    assert signed == "host;x-amz-content-sha256;x-amz-date;x-amz-security-token"
    for name in ("user-agent", "accept"):
        assert out[name] == before[name]
    assert set(out) == {
        "host",
        "user-agent",
        "accept",
        "authorization",
        "x-viewer-authorization",
        "x-amz-date",
        "x-amz-content-sha256",
        "x-amz-security-token",
    }
    # the input event is not mutated
    assert _request(event)["headers"] == before


def test_no_viewer_authorization_means_no_moved_header(base_event: dict, role_env: None) -> None:
    out = _signed(_event(base_event))["headers"]
    assert "x-viewer-authorization" not in out


def test_truncated_body_gets_413(base_event: dict, role_env: None) -> None:
    body = {"action": "read-only", "data": "AAAA", "encoding": "base64", "inputTruncated": True}
    result = edge_signer.handler(_event(base_event, method="POST", body=body), None, now=WHEN)
    assert result["status"] == "413"
    assert result["statusDescription"]
    assert "uri" not in result and "origin" not in result  # a response, not a request
    assert "authorization" not in result["headers"]


@pytest.mark.parametrize("missing", ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"])
def test_no_credentials_gets_502(
    base_event: dict, role_env: None, monkeypatch: pytest.MonkeyPatch, missing: str
) -> None:
    monkeypatch.delenv(missing)
    result = edge_signer.handler(_event(base_event), None, now=WHEN)
    assert result["status"] == "502"
    assert "uri" not in result


@pytest.mark.parametrize(
    "host", ["example.com", "my-bucket.s3.amazonaws.com", "abc.lambda-url.eu-west-1.on.aws.x.io"]
)
def test_origin_not_a_function_url_gets_502(base_event: dict, role_env: None, host: str) -> None:
    result = edge_signer.handler(_event(base_event, host=host), None, now=WHEN)
    assert result["status"] == "502"


def test_s3_origin_gets_502(base_event: dict, role_env: None) -> None:
    event = _event(base_event)
    _request(event)["origin"] = {"s3": {"domainName": "my-bucket.s3.amazonaws.com"}}
    assert edge_signer.handler(event, None, now=WHEN)["status"] == "502"


def test_any_signing_failure_gets_502(base_event: dict, role_env: None) -> None:
    event = _event(base_event, method="POST", body={"data": "@@not-base64@@", "encoding": "base64"})
    assert edge_signer.handler(event, None, now=WHEN)["status"] == "502"
    with mock.patch.object(edge_signer, "signature", side_effect=RuntimeError("boom")):
        assert edge_signer.handler(_event(base_event), None, now=WHEN)["status"] == "502"


def test_not_an_event_gets_502(role_env: None) -> None:
    assert edge_signer.handler({"Records": []}, None)["status"] == "502"


def test_handler_uses_the_real_clock_by_default(
    base_event: dict, role_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Deterministic: time.time is pinned just before a second boundary. The handler must read
    # that clock; a bare time.gmtime() reads glibc's coarse time(NULL), which lags time.time()
    # by a few ms and made the old before <= date <= after version of this test flaky.
    pinned = datetime.datetime(2015, 8, 30, 12, 35, 59, 999000, tzinfo=datetime.UTC)
    monkeypatch.setattr(edge_signer.time, "time", lambda: pinned.timestamp())
    result = edge_signer.handler(_event(base_event), None)
    assert result["headers"]["x-amz-date"][0]["value"] == "20150830T123559Z"
