"""Benchmark of the Lambda@Edge SigV4 signer: ``python -m bench.edge_signer``.

Prints the cold import time of ``handlers.edge_signer`` (fresh interpreter each run, median), the
signing throughput of the handler on a few realistic origin-request events next to botocore's
``SigV4Auth`` on the same requests, and the size of the deployment zip (the module alone,
deflated). Goals: import < 20 ms, signing < 0.2 ms per request.
"""

from __future__ import annotations

import base64
import io
import os
import statistics
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
MODULE_FILE = REPO_ROOT / "handlers" / "edge_signer.py"
HOST = "abcdefghijklmnop.lambda-url.eu-west-1.on.aws"
CREDS = (
    "ASIAEXAMPLEEDGE00001",
    "s3cr3t/Key+ForTheEdgeSigner0000000000000",
    "IQoJb3JpZ2luX2Vj" * 40,
)

_IMPORT_SNIPPET = (
    "import time; t = time.perf_counter(); import {module}; print((time.perf_counter() - t) * 1000)"
)


def cold_import_ms(module: str, runs: int = 15) -> float:
    """Median wall time of ``import module`` in a fresh interpreter.

    ``PYTHONDONTWRITEBYTECODE`` and ``-B`` make every run compile the source, as on Lambda where
    the zip holds only ``.py`` files and ``/var/task`` is read-only (no ``__pycache__``).
    """
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    times = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-B", "-c", _IMPORT_SNIPPET.format(module=module)],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        times.append(float(out.stdout.strip()))
    return statistics.median(times)


def zip_size(path: Path) -> int:
    """Bytes of a deflated zip holding just ``path`` (what the Lambda@Edge function deploys)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.write(path, arcname=path.name)
    return len(buffer.getvalue())


def _event(method: str, uri: str, query: str, body: bytes | None) -> dict:
    request: dict = {
        "clientIp": "203.0.113.10",
        "method": method,
        "uri": uri,
        "querystring": query,
        "headers": {
            "host": [{"key": "Host", "value": "d111111abcdef8.cloudfront.net"}],
            "user-agent": [{"key": "User-Agent", "value": "Mozilla/5.0 (X11; Linux x86_64)"}],
            "accept": [{"key": "Accept", "value": "application/json"}],
            "authorization": [{"key": "Authorization", "value": "Bearer eyJhbGciOi.x.y"}],
        },
        "origin": {"custom": {"domainName": HOST, "path": "", "port": 443, "protocol": "https"}},
    }
    if body is not None:
        request["body"] = {
            "action": "read-only",
            "data": base64.b64encode(body).decode(),
            "encoding": "base64",
            "inputTruncated": False,
        }
    return {"Records": [{"cf": {"config": {"eventType": "origin-request"}, "request": request}}]}


CASES = {
    "GET /books?limit=20&sort=title": ("GET", "/books", "limit=20&sort=title", None),
    "GET unicode path, 6 params": (
        "GET",
        "/caf%C3%A9/%E2%9C%93/items",
        "a=1&b=2&a=0&q=hello%20world&empty=&tag=%E2%9C%93",
        None,
    ),
    "POST 1 KB JSON": ("POST", "/books", "", b'{"title":"' + b"x" * 1000 + b'"}'),
    "POST 64 KB binary": ("POST", "/upload", "v=2", os.urandom(64 * 1024)),
}


def _per_call_us(fn: Callable[[], object], seconds: float = 0.5) -> float:
    """Median µs per call over several timed batches."""
    fn()
    batch = 1
    while True:
        start = time.perf_counter()
        for _ in range(batch):
            fn()
        if time.perf_counter() - start > 0.05:
            break
        batch *= 2
    samples: list[float] = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(samples) < 5:
        start = time.perf_counter()
        for _ in range(batch):
            fn()
        samples.append((time.perf_counter() - start) / batch * 1e6)
    return statistics.median(samples)


def signing_figures() -> list[tuple[str, float, float, float]]:
    """(case, our µs, our µs with the key derived every time, botocore µs) per request."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials as BotoCredentials

    from handlers import edge_signer

    os.environ.update(
        AWS_ACCESS_KEY_ID=CREDS[0], AWS_SECRET_ACCESS_KEY=CREDS[1], AWS_SESSION_TOKEN=CREDS[2]
    )
    boto_auth = SigV4Auth(BotoCredentials(*CREDS), "lambda", "eu-west-1")
    rows = []
    for name, (method, uri, query, body) in CASES.items():
        event = _event(method, uri, query, body)
        result = edge_signer.handler(event, None)
        assert "status" not in result, result

        def ours(event: dict[str, Any] = event) -> None:
            edge_signer.handler(event, None)

        def ours_cold_key(event: dict[str, Any] = event) -> None:
            edge_signer._KEY_CACHE.clear()
            edge_signer.handler(event, None)

        url = f"https://{HOST}{uri}" + (f"?{query}" if query else "")

        encoded = event["Records"][0]["cf"]["request"].get("body", {}).get("data", "")

        def theirs(method: str = method, url: str = url, encoded: str = encoded) -> None:
            # a botocore-based handler would have to decode CloudFront's base64 body too
            request = AWSRequest(method=method, url=url, data=base64.b64decode(encoded))
            request.headers["X-Amz-Content-SHA256"] = boto_auth.payload(request)
            boto_auth.add_auth(request)

        rows.append((name, _per_call_us(ours), _per_call_us(ours_cold_key), _per_call_us(theirs)))
    return rows


def main() -> None:
    print(f"python {sys.version.split()[0]} on {sys.platform}")
    ours_ms = cold_import_ms("handlers.edge_signer")
    boto_ms = cold_import_ms("botocore.auth", runs=7)
    print(f"cold import handlers.edge_signer: {ours_ms:.1f} ms (median, compiled from source)")
    print(f"cold import botocore.auth (for comparison): {boto_ms:.1f} ms")
    print()
    header = (
        f"{'request':32} {'signer µs':>10} {'signs/s':>9} {'no-cache µs':>12} "
        f"{'botocore µs':>12} {'signs/s':>9} {'speed-up':>9}"
    )
    print(header)
    print("-" * len(header))
    for name, ours, cold, theirs in signing_figures():
        print(
            f"{name:32} {ours:10.1f} {1e6 / ours:9.0f} {cold:12.1f} "
            f"{theirs:12.1f} {1e6 / theirs:9.0f} {theirs / ours:8.1f}x"
        )
    print()
    print("signer µs: whole handler (event in, signed request out), signing key cached per day")
    print("no-cache µs: same, signing key derived on every request")
    print("botocore µs: base64-decode the body + SigV4Auth.add_auth, same URL/body/headers signed")
    print()
    print(f"deployment zip (edge_signer.py alone, deflated): {zip_size(MODULE_FILE)} bytes")


if __name__ == "__main__":
    main()
