"""Invoke an exposed function through the private Lambda endpoint, from inside the VPC.

Run it on a host in the stack's VPC (or a peered VPC listed in ``privateEndpoint.allowedCidrs``)
with credentials of a principal the endpoint policy allows::

    python -m tools.invoke_private --function <name or ARN>            # whoami GET /
    python -m tools.invoke_private --function app --path /x --egress   # ...?egress=1
    python -m tools.invoke_private --function app --payload '{"any": "event"}'
    python -m tools.invoke_private --function app --count 5            # reuses one connection
    # privateDns: false → target the endpoint's own name (an entry of lambdaEndpointDns):
    python -m tools.invoke_private --function app \\
        --endpoint-url https://vpce-0abc...-xyz.lambda.eu-west-1.vpce.amazonaws.com

With private DNS on, the SDK's default ``lambda.<region>.amazonaws.com`` already resolves to the
endpoint inside the VPC: no ``--endpoint-url`` is needed.

Lambda purges idle connections through the endpoint (seed 004): one client is created and
reused for every call (its urllib3 pool keeps the TLS connection open between calls), and TCP
keep-alive is switched on so an idle pooled connection is kept alive rather than silently
dropped.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from typing import Any

import boto3
from botocore.config import Config

# A handful of concurrent callers share the pool; more connections than this are not useful
# to a command-line check and would only open more TLS sessions to the endpoint.
MAX_POOL_CONNECTIONS = 10
CONNECT_TIMEOUT_SECONDS = 5
READ_TIMEOUT_SECONDS = 65  # above the functions' maximum configured timeout for a whoami call


def client_config(region: str | None) -> Config:
    """The botocore settings for calls through the endpoint: keep-alive and a reusable pool."""
    return Config(
        region_name=region,
        tcp_keepalive=True,
        max_pool_connections=MAX_POOL_CONNECTIONS,
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=READ_TIMEOUT_SECONDS,
        # "standard" retries a connection reset once the endpoint has purged an idle connection.
        retries={"mode": "standard", "max_attempts": 3},
    )


def make_client(
    region: str | None = None,
    endpoint_url: str | None = None,
    session: boto3.session.Session | None = None,
) -> Any:
    """A Lambda client for the private endpoint; create it once and reuse it for every call."""
    session = session or boto3.session.Session()
    kwargs: dict[str, Any] = {"config": client_config(region)}
    if endpoint_url:
        kwargs["endpoint_url"] = endpoint_url
    return session.client("lambda", **kwargs)


def whoami_event(path: str = "/", egress: bool = False) -> dict[str, Any]:
    """A minimal function-URL (payload 2.0) GET event, the shape the bundled whoami answers."""
    query = {"egress": "1"} if egress else {}
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "&".join(f"{k}={v}" for k, v in query.items()),
        "headers": {"user-agent": "lambda-exposure-invoke-private"},
        "queryStringParameters": query,
        "requestContext": {"http": {"method": "GET", "path": path, "protocol": "HTTP/1.1"}},
        "isBase64Encoded": False,
    }


def invoke(
    client: Any, function: str, payload: Any, qualifier: str | None = None
) -> dict[str, Any]:
    """One synchronous invocation: status, function error (if any) and the decoded payload."""
    kwargs: dict[str, Any] = {
        "FunctionName": function,
        "InvocationType": "RequestResponse",
        "Payload": json.dumps(payload).encode(),
    }
    if qualifier:
        kwargs["Qualifier"] = qualifier
    response = client.invoke(**kwargs)
    raw = response["Payload"].read()
    try:
        body: Any = json.loads(raw) if raw else None
    except json.JSONDecodeError:
        body = raw.decode(errors="replace")
    result = {"invokeStatus": response["StatusCode"], "payload": body}
    if response.get("FunctionError"):
        result["functionError"] = response["FunctionError"]
    return result


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tools.invoke_private",
        description="Invoke a function through the private Lambda endpoint (run inside the VPC).",
    )
    parser.add_argument("--function", required=True, help="function name or ARN")
    parser.add_argument("--payload", help="JSON event (default: a whoami GET event)")
    parser.add_argument("--path", default="/", help="path of the default whoami event")
    parser.add_argument("--egress", action="store_true", help="ask whoami for ?egress=1")
    parser.add_argument("--qualifier", help="version or alias (the policy allows :*)")
    parser.add_argument("--region", help="AWS region (default: from the environment)")
    parser.add_argument(
        "--endpoint-url",
        help="https://<endpoint DNS name> when the endpoint's private DNS is off",
    )
    parser.add_argument("--count", type=int, default=1, help="calls on the same connection")
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error("--count must be at least 1")
    if args.endpoint_url and not args.endpoint_url.startswith("https://"):
        parser.error("--endpoint-url must be an https:// URL")
    if args.payload is not None:
        try:
            args.payload = json.loads(args.payload)
        except json.JSONDecodeError as exc:
            parser.error(f"--payload is not JSON: {exc}")
    return args


def main(argv: Sequence[str] | None = None, client: Any = None) -> int:
    """Exit status 0 when every call succeeded without a function error."""
    args = parse_args(argv)
    payload = args.payload if args.payload is not None else whoami_event(args.path, args.egress)
    client = client or make_client(args.region, args.endpoint_url)
    failed = False
    for call in range(args.count):
        started = time.perf_counter()
        result = invoke(client, args.function, payload, args.qualifier)
        result["call"] = call + 1
        result["elapsedMs"] = round((time.perf_counter() - started) * 1000, 1)
        failed = failed or "functionError" in result or result["invokeStatus"] >= 300
        print(json.dumps(result, indent=2, default=str))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
