"""After-deploy smoke check: does each entry of a deployed stack keep the promises of the docs?

Reads the stack outputs, calls every URL in them over HTTP(S), and prints one row per check::

    python -m tools.smoke --stack dev             # runs pulumi stack output --json --stack dev
    python -m tools.smoke --outputs outputs.json  # that JSON, saved earlier

What each row proves:

- ``static IP``: each ``staticIpUrls`` address answers ``GET`` with the whoami JSON from the ALB
  (``entry: alb``), at each function's ``examplePath``; its ``sourceIp`` is the caller's public
  address as the entry saw it, which the restriction rows reuse (``--my-ip`` gives it instead).
- ``function URL``: each direct ``functionUrls`` URL answers an unsigned ``GET`` with 403;
  anything else, 200 above all, means the URL is open.
- ``edge``: ``edgeUrl`` at each path edge serves answers 200 through CloudFront (the function saw
  CloudFront's headers, or the response carries CloudFront's ``via`` / ``x-amz-cf-id``).
- ``API``: ``apiUrl`` answers 200 from the function at its unrestricted paths, and 403 unsigned
  at its AWS_IAM routes.
- ``egress``: ``?egress=1`` through an entry that answered the whoami app reports an ``egressIp``
  that is one of ``egressIps`` (skipped when the function has no echo URL configured).
- ``restriction``: each ``exposure`` row with ``allowedCidrs`` refuses this caller when its
  address is outside them: 403 from API Gateway or CloudFront's WAF, no connection at all for a
  security group (static IPs). When the caller is inside, the tool cannot tell from here.

Every request has a timeout (``--timeout``, per request, default 5 s) and the whole run a bound
(``--max-time``, default 60 s); requests run concurrently. Exit 0 when nothing failed (skips
allowed), 1 on any failed check, 2 on bad usage (no outputs, no ``pulumi``, unreadable JSON).
Whatever scheme, host and port the outputs give is used as is. The tool needs the ``exposure``
rows' ``allowedCidrs`` and ``examplePath`` for the path and restriction checks; without the rows
it checks each entry at ``/`` as if it were open.
"""

from __future__ import annotations

import argparse
import http.client
import ipaddress
import json
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.synth import REPO_ROOT

DEFAULT_TIMEOUT = 5.0
DEFAULT_MAX_TIME = 60.0
PULUMI_TIMEOUT = 60.0
WORKERS = 8
# A whoami answer is a few KB; reading more only invites a huge body into memory.
MAX_BODY = 64 * 1024
USER_AGENT = "lambda-exposure-smoke/1"
PASS, FAIL, SKIP = "PASS", "FAIL", "SKIP"
HTTP_ENTRIES = ("staticIp", "ipRestrictedApi", "edge")
# The keys that make an answer the bundled whoami app's (handlers/app.py describe_request).
WHOAMI_KEYS = frozenset({"entry", "sourceIp", "method", "path", "viaCloudFront"})
# Addresses an entry reports for a hop inside AWS, never for the caller: the VPC's ranges (an
# NLB in front of the ALB shows up as one of them), link-local and unique-local.
_INTERNAL = tuple(
    ipaddress.ip_network(n)
    for n in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
        "169.254.0.0/16",
        "fc00::/7",
        "fe80::/10",
    )
)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class UsageError(Exception):
    """Bad usage: reported as one line, exit 2."""


# --------------------------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """What one GET got: an HTTP response, or why there was none."""

    url: str
    status: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)  # names lower-cased
    body: bytes = b""
    error: str | None = None
    # No HTTP response at all (refused, reset, closed, timed out): what a security group that
    # drops the caller looks like from outside.
    no_connection: bool = False

    def json(self) -> Any:
        try:
            return json.loads(self.body.decode("utf-8"))
        except ValueError:
            return None

    def whoami(self) -> dict[str, Any] | None:
        """The whoami app's answer, when this is one (status 200, its JSON keys)."""
        data = self.json() if self.status == 200 else None
        return data if isinstance(data, dict) and data.keys() >= WHOAMI_KEYS else None

    def via_cloudfront(self) -> bool:
        return "x-amz-cf-id" in self.headers or "cloudfront" in self.headers.get("via", "").lower()

    def summary(self) -> str:
        if self.status is None:
            return self.error or "no answer"
        text = self.body[:120].decode("utf-8", errors="replace").strip().replace("\n", " ")
        return f"HTTP {self.status}" + (f": {text}" if text else "")


def fetch(url: str, timeout: float, insecure: bool = False) -> Answer:
    """GET ``url`` within ``timeout`` seconds in all (connect, send, every read)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return Answer(url, error=f"not an http(s) URL: {url!r}")
    deadline = time.monotonic() + timeout
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        port = parts.port
    except ValueError:
        return Answer(url, error=f"bad port in {url!r}")
    conn: http.client.HTTPConnection
    if parts.scheme == "https":
        conn = http.client.HTTPSConnection(
            parts.hostname, port, timeout=timeout, context=_tls_context(parts.hostname, insecure)
        )
    else:
        conn = http.client.HTTPConnection(parts.hostname, port, timeout=timeout)
    try:
        conn.request("GET", target, headers={"user-agent": USER_AGENT, "accept": "*/*"})
        response = conn.getresponse()
        chunks: list[bytes] = []
        size = 0
        while size < MAX_BODY:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            if conn.sock is not None:
                conn.sock.settimeout(left)
            chunk = response.read1(MAX_BODY - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        headers = {k.lower(): v for k, v in response.getheaders()}
        return Answer(url, response.status, headers, b"".join(chunks))
    except TimeoutError:
        return Answer(url, error=f"no answer within {timeout:g} s", no_connection=True)
    except ssl.SSLCertVerificationError as exc:
        return Answer(url, error=f"TLS certificate refused: {exc.verify_message}")
    except socket.gaierror as exc:
        return Answer(url, error=f"cannot resolve {parts.hostname}: {exc.strerror}")
    except ConnectionRefusedError:
        return Answer(url, error="connection refused", no_connection=True)
    except (ConnectionError, http.client.RemoteDisconnected, http.client.BadStatusLine):
        return Answer(url, error="connection closed without an HTTP answer", no_connection=True)
    except ssl.SSLError as exc:
        # A TLS handshake cut short (the accelerator closing a connection the ALB never took).
        return Answer(url, error=f"TLS handshake failed: {exc.reason}", no_connection=True)
    except OSError as exc:
        return Answer(url, error=f"{exc.strerror or exc}", no_connection=True)
    except http.client.HTTPException as exc:
        return Answer(url, error=f"not HTTP: {type(exc).__name__}")
    finally:
        conn.close()


def _tls_context(host: str, insecure: bool) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif _is_ip(host):
        # staticIpUrls are https://<ip>/ with a certificate for the service's domain name: the
        # chain is still verified, the name cannot be.
        context.check_hostname = False
    return context


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


class Prober:
    """Concurrent GETs, each bounded by ``timeout`` and all of them by one deadline.

    Daemon threads rather than an executor: a lookup stuck in the resolver cannot be cancelled,
    and an executor's workers would hold the process at exit past the deadline.
    """

    def __init__(self, timeout: float, deadline: float, insecure: bool = False):
        self.timeout = timeout
        self.deadline = deadline
        self.insecure = insecure
        self.answers: dict[str, Answer] = {}
        self._lock = threading.Lock()
        self._slots = threading.Semaphore(WORKERS)

    def fetch_all(self, urls: Iterable[str]) -> dict[str, Answer]:
        pending = [u for u in dict.fromkeys(urls) if u not in self.answers]
        threads = [threading.Thread(target=self._one, args=(u,), daemon=True) for u in pending]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(max(0.0, self.deadline - time.monotonic()))
        with self._lock:
            for url in pending:
                self.answers.setdefault(
                    url, Answer(url, error="not finished within the run's --max-time")
                )
        return self.answers

    def _one(self, url: str) -> None:
        with self._slots:
            left = self.deadline - time.monotonic()
            answer = (
                fetch(url, min(self.timeout, left), self.insecure)
                if left > 0
                else Answer(url, error="not started within the run's --max-time")
            )
        with self._lock:
            self.answers.setdefault(url, answer)


# --------------------------------------------------------------------------------------------
# what to check, from the outputs
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Door:
    """One URL of one exposure row: a way in to a function through an HTTP entry."""

    entry: str
    function: str
    url: str
    allowed: tuple[Network, ...] | None  # None: any source
    anonymous: bool


def _join(base: str, path: str) -> str:
    return base.rstrip("/") + "/" + path.lstrip("/")


def _urls(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def _networks(value: Any) -> tuple[Network, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise UsageError(f"exposure: allowedCidrs must be a list of CIDRs or null, not {value!r}")
    try:
        return tuple(ipaddress.ip_network(str(c), strict=False) for c in value)
    except ValueError as exc:
        raise UsageError(f"exposure: allowedCidrs: {exc}") from None


def _not_gettable(row: Mapping[str, Any]) -> bool:
    """A row the program says has no path a GET reaches (``examplePath: null``, as for an API
    door of POST routes only): the tool cannot call it without changing something, so it
    leaves it alone. A row without the key (an older program) is checked at ``/``."""
    return "examplePath" in row and row["examplePath"] is None


def _example_path(row: Mapping[str, Any]) -> str:
    path = row.get("examplePath")
    return path if isinstance(path, str) and path.startswith("/") else "/"


_FALLBACK = {"staticIp": "staticIpUrls", "ipRestrictedApi": "apiUrl", "edge": "edgeUrl"}


def doors(outputs: Mapping[str, Any]) -> list[Door]:
    """The HTTP doors: each exposure row of an HTTP entry at its examplePath, for each URL.

    An entry with an output but no exposure row (outputs of an older program) is checked once,
    at ``/``, as if open.
    """
    rows = outputs.get("exposure")
    rows = [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []
    found: list[Door] = []
    for row in rows:
        entry = row.get("entry")
        if entry not in HTTP_ENTRIES or _not_gettable(row):
            continue
        bases = _urls(row.get("url")) or _urls(outputs.get(_FALLBACK[entry]))
        path = _example_path(row)
        allowed = _networks(row.get("allowedCidrs"))
        anonymous = str(row.get("auth", "none")).startswith("none")
        found += [
            Door(entry, str(row.get("function", "?")), _join(b, path), allowed, anonymous)
            for b in bases
        ]
    for entry, key in _FALLBACK.items():
        if not any(d.entry == entry for d in found):
            found += [Door(entry, "?", _join(b, "/"), None, True) for b in _urls(outputs.get(key))]
    return found


@dataclass(frozen=True)
class Restriction:
    """An exposure row with allowedCidrs: who it must refuse."""

    entry: str
    function: str
    urls: tuple[str, ...]
    allowed: tuple[Network, ...]


def restrictions(outputs: Mapping[str, Any]) -> list[Restriction]:
    rows = outputs.get("exposure")
    found = []
    for row in rows if isinstance(rows, list) else []:
        if not isinstance(row, dict) or row.get("allowedCidrs") is None or _not_gettable(row):
            continue
        allowed = _networks(row.get("allowedCidrs"))
        assert allowed is not None
        urls = tuple(_join(u, _example_path(row)) for u in _urls(row.get("url")))
        found.append(
            Restriction(str(row.get("entry")), str(row.get("function", "?")), urls, allowed)
        )
    return found


# --------------------------------------------------------------------------------------------
# checks
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    check: str
    target: str
    result: str
    detail: str


def _cidrs(networks: Sequence[Network]) -> str:
    return ", ".join(map(str, networks))


def _caller(own: Sequence[Address]) -> str:
    return ", ".join(map(str, own))


def admitted(allowed: Sequence[Network] | None, own: Sequence[Address]) -> bool | None:
    """Whether the caller is inside ``allowed``: True, False, or None when it cannot tell."""
    if allowed is None:
        return True
    if not own:
        return None
    return any(a.version == n.version and a in n for a in own for n in allowed)


def is_internal(address: Address) -> bool:
    return any(address.version == n.version and address in n for n in _INTERNAL) or (
        address.is_unspecified
    )


def learn_caller(answers: Iterable[Answer]) -> list[Address]:
    """The caller's public address(es) as the entries reported them in whoami answers.

    The ALB (with Global Accelerator's client IP preservation) and API Gateway report the TCP
    peer as ``sourceIp``; behind CloudFront that peer is an edge server, and ``viewerIp`` is
    the caller. Addresses inside AWS's hops (an NLB in front of the ALB) are not the caller.
    """
    found: dict[str, Address] = {}
    for answer in answers:
        body = answer.whoami()
        if body is None:
            continue
        candidates = []
        if body.get("entry") in ("alb", "api-gateway") and not body.get("viaCloudFront"):
            candidates.append(body.get("sourceIp"))
        if body.get("viaCloudFront"):
            candidates.append(body.get("viewerIp"))
        for candidate in candidates:
            try:
                address = ipaddress.ip_address(str(candidate))
            except ValueError:
                continue
            if not is_internal(address):
                found.setdefault(str(address), address)
    return list(found.values())


def _outside(door_allowed: Sequence[Network], own: Sequence[Address]) -> str:
    return f"caller {_caller(own)} is outside {_cidrs(door_allowed)}"


def _unknown(door_allowed: Sequence[Network]) -> str:
    return (
        f"restricted to {_cidrs(door_allowed)} and the caller's address is unknown (no entry "
        "reported it; pass --my-ip)"
    )


def check_static_ip(door: Door, answer: Answer, own: Sequence[Address]) -> Row | None:
    inside = admitted(door.allowed, own)
    if inside is False:
        return None  # outside the allow-list: the restriction row checks the refusal
    body = answer.whoami()
    if body is not None:
        if body.get("entry") != "alb":
            return Row(
                "static IP", door.url, FAIL, f"whoami says entry {body.get('entry')!r}, not alb"
            )
        return Row(
            "static IP", door.url, PASS, f"whoami from the ALB, sourceIp {body.get('sourceIp')}"
        )
    if inside is None and answer.status is None:
        assert door.allowed is not None
        return Row("static IP", door.url, SKIP, f"{answer.summary()}; {_unknown(door.allowed)}")
    if answer.status == 200:
        return Row("static IP", door.url, FAIL, f"200 but not the whoami JSON: {answer.summary()}")
    return Row(
        "static IP", door.url, FAIL, f"expected 200 with the whoami JSON: {answer.summary()}"
    )


def check_function_url(name: str, answer: Answer) -> Row:
    target = f"{answer.url} ({name})"
    if answer.status == 403:
        return Row("function URL", target, PASS, f"unsigned GET refused: {answer.summary()}")
    if answer.status == 200:
        return Row("function URL", target, FAIL, "200 to an unsigned GET: the function URL is open")
    return Row("function URL", target, FAIL, f"expected 403 unsigned: {answer.summary()}")


def check_edge(door: Door, answer: Answer, own: Sequence[Address]) -> Row | None:
    inside = admitted(door.allowed, own)
    if inside is False:
        return None  # outside the allow-list: the restriction row checks the refusal
    if answer.status == 200:
        body = answer.whoami()
        if body is not None:
            if body.get("viaCloudFront") is True:
                return Row("edge", door.url, PASS, "200; the function saw CloudFront's headers")
            return Row(
                "edge",
                door.url,
                FAIL,
                "200, but the function saw no CloudFront headers: the request did not cross "
                "CloudFront",
            )
        if answer.via_cloudfront():
            return Row("edge", door.url, PASS, "200 with CloudFront's via / x-amz-cf-id")
        return Row("edge", door.url, FAIL, "200 without CloudFront's via / x-amz-cf-id headers")
    if inside is None and answer.status in (403, None):
        assert door.allowed is not None
        return Row("edge", door.url, SKIP, f"{answer.summary()}; {_unknown(door.allowed)}")
    return Row("edge", door.url, FAIL, f"expected 200 through CloudFront: {answer.summary()}")


def check_api(door: Door, answer: Answer, own: Sequence[Address]) -> Row | None:
    if not door.anonymous:
        if answer.status == 403:
            return Row("API (IAM)", door.url, PASS, f"unsigned GET refused: {answer.summary()}")
        return Row(
            "API (IAM)", door.url, FAIL, f"expected 403 to an unsigned GET: {answer.summary()}"
        )
    inside = admitted(door.allowed, own)
    if inside is False:
        return None  # outside the allow-list: the restriction row checks the refusal
    if answer.status == 200:
        body = answer.whoami()
        if body is None:
            return Row("API", door.url, PASS, "200 from the function")
        if body.get("entry") != "api-gateway":
            return Row(
                "API", door.url, FAIL, f"whoami says entry {body.get('entry')!r}, not api-gateway"
            )
        return Row(
            "API", door.url, PASS, f"whoami through API Gateway, sourceIp {body.get('sourceIp')}"
        )
    if inside is None and answer.status in (403, None):
        assert door.allowed is not None
        return Row("API", door.url, SKIP, f"{answer.summary()}; {_unknown(door.allowed)}")
    return Row("API", door.url, FAIL, f"expected 200 from the function: {answer.summary()}")


def _api_gateway_refusal(answer: Answer) -> str | None:
    """API Gateway's own 403 body: the resource policy's "not authorized to perform" (or a
    PRIVATE API's "Forbidden" outside its VPC). "Missing Authentication Token" is not one: API
    Gateway says that for a path or method it has no route for, so it proves nothing here."""
    body = answer.json()
    if answer.status == 403 and isinstance(body, dict):
        message = body.get("Message", body.get("message"))
        if isinstance(message, str) and "Missing Authentication Token" not in message:
            return message
    return None


def check_restriction(
    rule: Restriction, url: str, answer: Answer | None, own: Sequence[Address]
) -> Row:
    target = f"{url} ({rule.entry}, {rule.function})"
    cidrs = _cidrs(rule.allowed)
    if answer is None:
        reason = {
            "privateEndpoint": "not checked from outside: the endpoint's names resolve to "
            "addresses inside the VPC (use python -m tools.invoke_private from there)",
            "internalAlb": "not checked from outside: the internal ALB has no public address",
        }.get(rule.entry, f"no check for a {rule.entry} row from outside")
        return Row("restriction", target, SKIP, reason)
    inside = admitted(rule.allowed, own)
    if inside is None:
        return Row("restriction", target, SKIP, _unknown(rule.allowed))
    if inside:
        return Row(
            "restriction", target, SKIP, f"cannot tell from here: {_caller(own)} is inside {cidrs}"
        )
    outside = _outside(rule.allowed, own)
    if answer.status is None and not answer.no_connection:
        return Row("restriction", target, FAIL, f"{outside}; not checked: {answer.error}")
    if rule.entry == "staticIp":
        if answer.no_connection:
            return Row("restriction", target, PASS, f"{outside}; no connection ({answer.error})")
        return Row("restriction", target, FAIL, f"{outside}, yet it answered: {answer.summary()}")
    if rule.entry == "ipRestrictedApi":
        message = _api_gateway_refusal(answer)
        if message is not None:
            return Row("restriction", target, PASS, f"{outside}; API Gateway 403: {message[:100]}")
        return Row(
            "restriction",
            target,
            FAIL,
            f"{outside}; expected API Gateway's 403, got: {answer.summary()}",
        )
    if answer.status == 403:
        who = "CloudFront" if answer.via_cloudfront() else "the entry"
        return Row("restriction", target, PASS, f"{outside}; 403 from {who}")
    return Row("restriction", target, FAIL, f"{outside}; expected 403, got: {answer.summary()}")


def check_egress(url: str | None, answer: Answer | None, egress_ips: Sequence[str]) -> Row:
    expected = ", ".join(egress_ips)
    if url is None or answer is None:
        return Row(
            "egress",
            f"egressIps {expected}",
            SKIP,
            "no entry answered the whoami app: nothing to call ?egress=1 through",
        )
    body = answer.whoami()
    if body is None:
        return Row("egress", url, FAIL, f"expected the whoami JSON: {answer.summary()}")
    seen = body.get("egressIp")
    if seen is None:
        if body.get("egressError"):
            return Row("egress", url, FAIL, f"the echo call failed: {body['egressError']}")
        return Row("egress", url, SKIP, str(body.get("note") or "the answer has no egressIp"))
    if str(seen) in egress_ips:
        return Row("egress", url, PASS, f"egressIp {seen} is one of egressIps")
    return Row("egress", url, FAIL, f"egressIp {seen} is not one of egressIps ({expected})")


def _with_egress(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    query = f"{parts.query}&egress=1" if parts.query else "egress=1"
    return urllib.parse.urlunsplit(parts._replace(query=query))


@dataclass
class Report:
    rows: list[Row]
    caller: list[Address]
    caller_source: str

    @property
    def failed(self) -> bool:
        return any(r.result == FAIL for r in self.rows)


def run(
    outputs: Mapping[str, Any],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    max_time: float = DEFAULT_MAX_TIME,
    my_ip: Sequence[Address] = (),
    insecure: bool = False,
) -> Report:
    """Every check the outputs allow, in the order of the table."""
    prober = Prober(timeout, time.monotonic() + max_time, insecure)
    entry_doors = doors(outputs)
    rules = restrictions(outputs)
    function_urls = outputs.get("functionUrls")
    function_urls = function_urls if isinstance(function_urls, dict) else {}
    urls = [d.url for d in entry_doors]
    urls += [u for u in function_urls.values() if isinstance(u, str)]
    urls += [u for r in rules if r.entry in HTTP_ENTRIES for u in r.urls]
    answers = prober.fetch_all(urls)

    own = list(my_ip)
    source = "--my-ip"
    if not own:
        own = learn_caller(answers.values())
        source = "the entries' answers" if own else "unknown"

    rows: list[Row] = []
    checks = {"staticIp": check_static_ip, "edge": check_edge, "ipRestrictedApi": check_api}
    for door in entry_doors:
        checked = checks[door.entry](door, answers[door.url], own)
        if checked is not None:
            rows.append(checked)
    for name, url in function_urls.items():
        if isinstance(url, str):
            rows.append(check_function_url(str(name), answers[url]))

    egress_ips = outputs.get("egressIps")
    if isinstance(egress_ips, list):
        through = next(
            (
                d.url
                for d in entry_doors
                if d.anonymous
                and admitted(d.allowed, own) is not False
                and answers[d.url].whoami() is not None
            ),
            None,
        )
        # The whoami app behind an entry that admitted this caller: its ?egress=1 answer tells
        # the address its outbound calls leave from.
        answer = None
        if through is not None:
            through = _with_egress(through)
            answer = prober.fetch_all([through])[through]
        rows.append(check_egress(through, answer, [str(ip) for ip in egress_ips]))

    for rule in rules:
        if rule.entry not in HTTP_ENTRIES or not rule.urls:
            rows.append(check_restriction(rule, rule.urls[0] if rule.urls else "-", None, own))
            continue
        rows += [check_restriction(rule, url, answers[url], own) for url in rule.urls]
    return Report(list(dict.fromkeys(rows)), own, source)


# --------------------------------------------------------------------------------------------
# command line
# --------------------------------------------------------------------------------------------


def load_outputs(path: Path | None, stack: str | None) -> dict[str, Any]:
    if path is not None:
        try:
            text = path.read_text()
        except OSError as exc:
            raise UsageError(f"cannot read {path}: {exc.strerror}") from None
        where = str(path)
    else:
        assert stack is not None
        text = _pulumi_outputs(stack)
        where = f"pulumi stack output --json --stack {stack}"
    try:
        outputs = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"{where}: not JSON ({exc})") from None
    if not isinstance(outputs, dict):
        raise UsageError(f"{where}: not a JSON object of stack outputs")
    known = ("staticIpUrls", "functionUrls", "edgeUrl", "apiUrl", "egressIps", "exposure")
    if not any(k in outputs for k in known):
        raise UsageError(f"{where}: nothing to check (none of {', '.join(known)})")
    return outputs


def _pulumi_outputs(stack: str) -> str:
    pulumi = shutil.which("pulumi")
    if pulumi is None:
        raise UsageError(
            "pulumi not found on PATH: install the Pulumi CLI, or save the outputs elsewhere "
            "(pulumi stack output --json > outputs.json) and pass --outputs"
        )
    # Without --show-secrets: a secret output prints as "[secret]" and is not checked.
    command = [pulumi, "stack", "output", "--json", "--stack", stack]
    try:
        done = subprocess.run(
            command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=PULUMI_TIMEOUT
        )
    except subprocess.TimeoutExpired:
        raise UsageError(f"pulumi stack output did not finish in {PULUMI_TIMEOUT:g} s") from None
    except OSError as exc:
        raise UsageError(f"cannot run {pulumi}: {exc.strerror}") from None
    if done.returncode != 0:
        first = next((ln for ln in done.stderr.splitlines() if ln.strip()), "no error output")
        raise UsageError(f"pulumi stack output --stack {stack} failed: {first.strip()}")
    return done.stdout


def render(report: Report) -> list[str]:
    header = ("check", "target", "result", "detail")
    cells = [(r.check, r.target, r.result, r.detail) for r in report.rows]
    widths = [max(len(c[i]) for c in [header, *cells]) for i in range(3)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            [*(v.ljust(w) for v, w in zip(values[:3], widths, strict=True)), values[3]]
        )

    counts = {k: sum(1 for r in report.rows if r.result == k) for k in (PASS, FAIL, SKIP)}
    caller = _caller(report.caller) or "unknown"
    return [
        f"caller address: {caller} (from {report.caller_source})",
        line(header),
        line(["-" * w for w in widths] + ["-" * 6]),
        *(line(c).rstrip() for c in cells),
        f"{len(report.rows)} checks: {counts[PASS]} passed, {counts[FAIL]} failed, "
        f"{counts[SKIP]} skipped",
    ]


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value < 3600:
        raise argparse.ArgumentTypeError(f"{text!r}: give seconds between 0 and 3600")
    return value


def _address(text: str) -> Address:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an IP address") from None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.smoke", description=__doc__.split("\n")[0]
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--stack", help="read the outputs with pulumi stack output --json")
    source.add_argument("--outputs", type=Path, help="a saved pulumi stack output --json")
    parser.add_argument(
        "--timeout", type=_positive, default=DEFAULT_TIMEOUT, help="seconds per request (5)"
    )
    parser.add_argument(
        "--max-time", type=_positive, default=DEFAULT_MAX_TIME, help="seconds for the run (60)"
    )
    parser.add_argument(
        "--my-ip",
        type=_address,
        action="append",
        default=[],
        help="this caller's public address, for the restriction checks (repeatable); default: "
        "what the entries report",
    )
    parser.add_argument(
        "--insecure", action="store_true", help="do not verify TLS certificates (test setups)"
    )
    args = parser.parse_args(argv)
    try:
        outputs = load_outputs(args.outputs, args.stack)
        report = run(
            outputs,
            timeout=args.timeout,
            max_time=args.max_time,
            my_ip=args.my_ip,
            insecure=args.insecure,
        )
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print("\n".join(render(report)))
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
