"""Lambda@Edge origin-request handler: SigV4-sign requests for an AWS_IAM Lambda function URL.

CloudFront sits in front of a function URL whose auth type is ``AWS_IAM``. This function runs on
the *origin-request* event of the behaviours that point at that URL and adds a Signature
Version 4 ``Authorization`` header computed with its own role credentials, so only requests that
went through CloudFront can invoke the function (as in the AWS Compute Blog's "Protecting an AWS
Lambda function URL with Amazon CloudFront and Lambda@Edge",
https://aws.amazon.com/blogs/compute/protecting-an-aws-lambda-function-url-with-amazon-cloudfront-and-lambdaedge/).

Why it looks the way it does:

* Lambda@Edge allows no environment variables and no layers, and its cold starts sit on the
  viewer's critical path. So the module imports only cheap standard-library modules (no
  ``urllib.parse``, no ``re``, no ``botocore``: importing it costs about as much as the whole
  request budget) and implements SigV4 itself. The credentials are the ones the Lambda runtime
  puts in ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` / ``AWS_SESSION_TOKEN``.
* Everything that computes something is a pure function (canonical URI, query string, headers,
  canonical request, string to sign, signing key, signature); :func:`handler` is only the shell
  that reads the event, calls them, and turns failures into generated responses.
* The canonicalisation is the one the ``lambda`` service verifies, i.e. the standard non-S3 one
  that botocore's ``SigV4Auth`` and the AWS SDK for JavaScript implement (tests cross-check
  every case against botocore):

  - **Path**: the URI CloudFront hands us is already percent-encoded and is forwarded unchanged.
    For the signature it is dot-segment/duplicate-slash normalised and percent-encoded once more
    (so ``%20`` becomes ``%2520``), exactly like botocore for every service but S3. The service
    does the same with the path it receives, so both sides agree even for ``/a/../b`` or ``//``.
  - **Query**: CloudFront gives the raw query string. It is canonicalised as *parameters*: split
    on ``&``, each ``k=v`` (or bare ``k`` = empty value) percent-decoded and re-encoded with the
    RFC 3986 unreserved set, sorted by key then value, repeated keys and empty values kept.
    ``+`` is a literal plus (RFC 3986, not form encoding), so it is signed as ``%2B``.
    For a query that is already canonically encoded this equals botocore's result on the raw
    URL; for one that is not (``~`` sent as ``%7E``, lower-case hex, raw ``+``, ``:``) it equals
    botocore's parameter canonicalisation of the decoded values, which is what a server that
    parses the query before verifying computes.
  - **Headers**: only ``host``, ``x-amz-content-sha256``, ``x-amz-date`` and
    ``x-amz-security-token`` are signed. CloudFront adds headers after this function runs
    (``Via``, ``X-Amz-Cf-Id``, ``X-Forwarded-For``...), so signing anything else would break.
  - **Payload**: the SHA-256 of the raw body bytes (base64-decoded when CloudFront sent base64),
    so binary bodies work. The behaviour must have *include body* enabled; bodies over 1 MB are
    truncated by CloudFront and cannot be signed, so they get a 413 here.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import os
import time

TYPE_CHECKING = (
    False  # typing/collections.abc/datetime are for the type checker only: no import cost
)
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from datetime import datetime

ALGORITHM = "AWS4-HMAC-SHA256"
SERVICE = "lambda"
AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
FUNCTION_URL_SUFFIX = ".on.aws"
FUNCTION_URL_LABEL = "lambda-url"
VIEWER_AUTHORIZATION = "x-viewer-authorization"

# Headers this function owns in the forwarded request: whatever the viewer sent under these names
# is dropped (an unsigned, viewer-chosen x-amz-security-token must not reach the service).
_OWNED_HEADERS = (
    "authorization",
    "host",
    "x-amz-content-sha256",
    "x-amz-date",
    "x-amz-security-token",
    VIEWER_AUTHORIZATION,
)
_CANONICAL_CASE = {
    "authorization": "Authorization",
    "host": "Host",
    "x-amz-content-sha256": "X-Amz-Content-SHA256",
    "x-amz-date": "X-Amz-Date",
    "x-amz-security-token": "X-Amz-Security-Token",
    VIEWER_AUTHORIZATION: "X-Viewer-Authorization",
}

# --- percent-encoding (RFC 3986), without urllib.parse ------------------------------------------
# A latin-1 str.translate table turns "bytes -> encoded text" into one C call.
_UNRESERVED = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~"
_ENCODE_ALL = {c: f"%{c:02X}" for c in range(256) if c not in _UNRESERVED}
_ENCODE_PATH = {c: v for c, v in _ENCODE_ALL.items() if c != ord("/")}
_HEX = frozenset(b"0123456789abcdefABCDEF")


def uri_encode(data: bytes, *, keep_slash: bool = False) -> str:
    """Percent-encode every byte outside the RFC 3986 unreserved set, hex in upper case.

    SigV4 wants ``%20`` for a space (never ``+``) and upper-case hex; ``/`` is kept only in paths.
    """
    return data.decode("latin-1").translate(_ENCODE_PATH if keep_slash else _ENCODE_ALL)


def uri_decode(text: str) -> bytes:
    """Percent-decode to bytes; a ``%`` not followed by two hex digits stays literal.

    Decoding to bytes (not str) keeps values that are not UTF-8 exactly as sent, so re-encoding
    gives back the bytes the service will decode. ``+`` is left alone: RFC 3986 has no
    space-as-plus (that is HTML form encoding).
    """
    raw = text.encode("utf-8")
    if b"%" not in raw:
        return raw
    first, *rest = raw.split(b"%")
    out = [first]
    for chunk in rest:
        if len(chunk) >= 2 and chunk[0] in _HEX and chunk[1] in _HEX:
            out.append(bytes((int(chunk[:2], 16),)))
            out.append(chunk[2:])
        else:
            out.append(b"%" + chunk)
    return b"".join(out)


# --- canonical request ----------------------------------------------------------------------------
def normalize_path(path: str) -> str:
    """Remove ``.``/``..`` segments and empty segments (``//``), keeping a trailing slash.

    This is RFC 3986 "remove dot segments" plus the slash collapsing that AWS applies to every
    service but S3 (the suite's ``normalize-path`` cases, botocore's ``normalize_url_path``).
    It only shapes the canonical request: the forwarded URI is not rewritten.
    """
    if not path:
        return "/"
    out: list[str] = []
    for segment in path.split("/"):
        if not segment or segment == ".":
            continue
        if segment == "..":
            if out:
                out.pop()
        else:
            out.append(segment)
    normalized = "/" + "/".join(out)
    if path.endswith("/") and normalized != "/":
        normalized += "/"
    return normalized


def canonical_uri(path: str) -> str:
    """Canonical URI: the normalised path, percent-encoded once more (non-S3 SigV4).

    The path is used as it arrives (CloudFront's ``uri`` is already encoded), so an encoded
    ``%20`` becomes ``%2520``: the "encode twice" rule, and byte-for-byte what botocore's
    ``SigV4Auth`` produces for ``https://host<path>``.
    """
    return uri_encode(normalize_path(path).encode("utf-8"), keep_slash=True)


def canonical_query_string(querystring: str) -> str:
    """Canonical query: decode and re-encode each parameter, sort by key then value.

    Repeated keys and empty values are kept (``a&a=`` gives ``a=&a=``); empty pieces from ``&&``
    are not parameters and are dropped.
    """
    if not querystring:
        return ""
    pairs = []
    for piece in querystring.split("&"):
        if not piece:
            continue
        key, _, value = piece.partition("=")
        pairs.append((uri_encode(uri_decode(key)), uri_encode(uri_decode(value))))
    pairs.sort()
    return "&".join(f"{k}={v}" for k, v in pairs)


def _trim_all(value: str) -> str:
    """SigV4 Trimall: strip, and collapse runs of whitespace to one space."""
    return " ".join(value.split())


def canonical_headers(headers: Iterable[tuple[str, str]]) -> tuple[str, str]:
    """Return ``(canonical header block, signed header list)`` for the given name/value pairs.

    Names are lower-cased and sorted; repeated names are joined with ``,`` in the order given
    (SigV4 keeps value order). The caller chooses *which* headers to sign.
    """
    grouped: dict[str, list[str]] = {}
    for name, value in headers:
        grouped.setdefault(name.strip().lower(), []).append(_trim_all(value))
    names = sorted(grouped)
    block = "".join(f"{n}:{','.join(grouped[n])}\n" for n in names)
    return block, ";".join(names)


def canonical_request(
    method: str,
    path: str,
    querystring: str,
    headers: Iterable[tuple[str, str]],
    payload_hash: str,
) -> tuple[str, str]:
    """Build the SigV4 canonical request; returns ``(canonical request, signed headers)``."""
    block, signed = canonical_headers(headers)
    creq = "\n".join(
        (
            method.upper(),
            canonical_uri(path),
            canonical_query_string(querystring),
            block,
            signed,
            payload_hash,
        )
    )
    return creq, signed


def credential_scope(date: str, region: str, service: str) -> str:
    """``yyyymmdd/region/service/aws4_request``."""
    return f"{date}/{region}/{service}/aws4_request"


def string_to_sign(amz_date: str, scope: str, creq: str) -> str:
    """The SigV4 string to sign for a canonical request."""
    digest = hashlib.sha256(creq.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{amz_date}\n{scope}\n{digest}"


_KEY_CACHE: dict[tuple[str, str, str, str], bytes] = {}


def signing_key(secret_key: str, date: str, region: str, service: str) -> bytes:
    """Derive the SigV4 signing key (four chained HMACs), cached per day/region/service.

    A warm Lambda@Edge container signs many requests with the same key; caching it saves four
    of the five HMACs per request. The cache is bounded by clearing it when it grows.
    """
    cache_key = (secret_key, date, region, service)
    key = _KEY_CACHE.get(cache_key)
    if key is None:
        key = hmac.digest(("AWS4" + secret_key).encode("utf-8"), date.encode(), "sha256")
        for part in (region, service, "aws4_request"):
            key = hmac.digest(key, part.encode("utf-8"), "sha256")
        if len(_KEY_CACHE) >= 32:
            _KEY_CACHE.clear()
        _KEY_CACHE[cache_key] = key
    return key


def signature(key: bytes, sts: str) -> str:
    """Hex HMAC-SHA256 of the string to sign."""
    return hmac.digest(key, sts.encode("utf-8"), "sha256").hex()


def authorization_header(access_key: str, scope: str, signed_headers: str, sig: str) -> str:
    """The ``Authorization`` header value for a computed signature."""
    return (
        f"{ALGORITHM} Credential={access_key}/{scope}, "
        f"SignedHeaders={signed_headers}, Signature={sig}"
    )


def amz_date(now: datetime | None = None) -> str:
    """``yyyymmddThhmmssZ`` for ``now`` (a UTC ``datetime``) or the current time.

    ``time.gmtime`` avoids importing ``datetime`` on the hot path; tests pass a datetime. It gets
    ``time.time()`` explicitly: ``time.gmtime()`` alone reads glibc's ``time(NULL)``, a coarse
    clock that lags ``time.time()`` / ``datetime.now()`` by a few ms across a second boundary.
    """
    if now is None:
        return time.strftime(AMZ_DATE_FORMAT, time.gmtime(time.time()))
    return now.strftime(AMZ_DATE_FORMAT)


class Credentials:
    """AWS credentials; ``token`` is the session token (always set for a Lambda role)."""

    __slots__ = ("access_key", "secret_key", "token")

    def __init__(self, access_key: str, secret_key: str, token: str | None = None) -> None:
        self.access_key = access_key
        self.secret_key = secret_key
        self.token = token or None

    def __repr__(self) -> str:  # never print the secret
        return f"Credentials(access_key={self.access_key!r}, token={'set' if self.token else None})"


def credentials_from_env(environ: Mapping[str, str] | None = None) -> Credentials | None:
    """The role credentials the Lambda runtime provides, or None when they are missing."""
    env = os.environ if environ is None else environ
    access_key = env.get("AWS_ACCESS_KEY_ID")
    secret_key = env.get("AWS_SECRET_ACCESS_KEY")
    if not access_key or not secret_key:
        return None
    return Credentials(access_key, secret_key, env.get("AWS_SESSION_TOKEN"))


def sign(
    method: str,
    path: str,
    querystring: str,
    headers: Iterable[tuple[str, str]],
    payload_hash: str,
    credentials: Credentials,
    region: str,
    service: str,
    amz_date_value: str,
) -> str:
    """Sign exactly ``headers`` (which must include host and the date); return ``Authorization``.

    The header set is the caller's choice: the AWS test suite signs every header of its requests,
    the handler signs its minimal set.
    """
    creq, signed = canonical_request(method, path, querystring, headers, payload_hash)
    scope = credential_scope(amz_date_value[:8], region, service)
    sts = string_to_sign(amz_date_value, scope, creq)
    key = signing_key(credentials.secret_key, amz_date_value[:8], region, service)
    return authorization_header(credentials.access_key, scope, signed, signature(key, sts))


# --- CloudFront specifics -------------------------------------------------------------------------
class SigningError(Exception):
    """The request cannot be signed correctly; it must not be forwarded."""


def region_from_function_url_host(host: str) -> str:
    """Region of a function URL host ``<url-id>.lambda-url.<region>.on.aws``.

    The region must come from the origin, not from where Lambda@Edge runs: the replica executes
    in the viewer's nearest region, the function URL lives in one region.
    """
    labels = host.lower().rstrip(".").split(".")
    if (
        len(labels) != 5
        or labels[1] != FUNCTION_URL_LABEL
        or labels[3:] != ["on", "aws"]
        or not labels[0].isalnum()
        or not labels[2]
        or not all(c.isalnum() or c == "-" for c in labels[2])
    ):
        raise SigningError(f"origin {host!r} is not a Lambda function URL host")
    return labels[2]


def body_bytes(body: Mapping[str, object] | None) -> bytes:
    """The raw request body CloudFront exposed: base64-decoded, UTF-8 text, or empty."""
    if not body:
        return b""
    data = body.get("data") or ""
    if not isinstance(data, str):
        raise SigningError("body.data is not a string")
    if body.get("encoding", "base64") == "base64":
        try:
            return binascii.a2b_base64(data)  # accepts ASCII str: saves a copy of a large body
        except ValueError as exc:  # binascii.Error, or non-ASCII characters
            raise SigningError("body.data is not valid base64") from exc
    return data.encode("utf-8")


def _header(name: str, value: str) -> list[dict[str, str]]:
    return [{"key": _CANONICAL_CASE.get(name, name), "value": value}]


def sign_origin_request(
    request: dict, credentials: Credentials, now: datetime | None = None
) -> dict:
    """Return a copy of a CloudFront origin-request ``request`` with SigV4 headers added.

    Pure apart from the clock (``now`` pins it). The viewer's ``Authorization`` moves to
    ``x-viewer-authorization``; ``host`` becomes the origin's domain, since the service checks
    the signature against the Host it receives; every other header is left as it was.
    """
    origin = (request.get("origin") or {}).get("custom") or {}
    host = origin.get("domainName")
    if not host:
        raise SigningError("origin-request has no custom origin domainName")
    region = region_from_function_url_host(host)
    body = request.get("body")
    if body and body.get("inputTruncated"):
        raise SigningError("body truncated by CloudFront")  # handler answers 413 before this
    payload_hash = hashlib.sha256(body_bytes(body)).hexdigest()
    date = amz_date(now)

    old = request.get("headers") or {}
    headers = {k: v for k, v in old.items() if k not in _OWNED_HEADERS}
    viewer_auth = old.get("authorization")
    if viewer_auth:
        headers[VIEWER_AUTHORIZATION] = [
            {"key": _CANONICAL_CASE[VIEWER_AUTHORIZATION], "value": h["value"]} for h in viewer_auth
        ]

    to_sign = [("host", host), ("x-amz-content-sha256", payload_hash), ("x-amz-date", date)]
    if credentials.token:
        to_sign.append(("x-amz-security-token", credentials.token))
    auth = sign(
        request.get("method", "GET"),
        request.get("uri") or "/",
        request.get("querystring") or "",
        to_sign,
        payload_hash,
        credentials,
        region,
        SERVICE,
        date,
    )
    for name, value in to_sign:
        headers[name] = _header(name, value)
    headers["authorization"] = _header("authorization", auth)
    signed = dict(request)
    signed["headers"] = headers
    return signed


def generated_response(status: int, description: str, message: str) -> dict:
    """A CloudFront generated response (the request is not forwarded); never cached."""
    return {
        "status": str(status),
        "statusDescription": description,
        "headers": {
            "content-type": [{"key": "Content-Type", "value": "text/plain; charset=utf-8"}],
            "cache-control": [{"key": "Cache-Control", "value": "no-store"}],
        },
        "body": message,
    }


def _log_failure(message: str, *, with_traceback: bool = False) -> None:
    # logging is imported only on the failure path: it is the most expensive import otherwise.
    import logging

    logger = logging.getLogger(__name__)
    (logger.exception if with_traceback else logger.error)(message)


def handler(event: dict, context: object = None, now: datetime | None = None) -> dict:
    """Origin-request entry point: the signed request, or a 413/502 generated response."""
    try:
        request = event["Records"][0]["cf"]["request"]
    except (KeyError, IndexError, TypeError):
        _log_failure("not a CloudFront request event")
        return generated_response(502, "Bad Gateway", "Request could not be signed.\n")
    body = request.get("body")
    if body and body.get("inputTruncated"):
        return generated_response(
            413, "Payload Too Large", "Request body over 1 MB cannot be signed.\n"
        )
    credentials = credentials_from_env()
    if credentials is None:
        _log_failure("no AWS credentials in the environment")
        return generated_response(502, "Bad Gateway", "Request could not be signed.\n")
    try:
        return sign_origin_request(request, credentials, now)
    except Exception:
        _log_failure("could not sign origin request", with_traceback=True)
        return generated_response(502, "Bad Gateway", "Request could not be signed.\n")
