"""Invoke an exposed function through the private Lambda endpoint, from inside the VPC.

Run it on a host in the stack's VPC (or a peered VPC listed in ``privateEndpoint.allowedCidrs``)
with credentials of a principal the endpoint policy allows. ``--function`` is a function ARN, or
a name from the stack's ``functionArns`` output (the config name such as ``app``, or the deployed
``functions-app-<suffix>``), resolved from ``--outputs FILE`` (that output saved as JSON) or, on a
host with the Pulumi CLI, from ``pulumi stack output functionArns --json`` (``--stack``)::

    pulumi stack output functionArns --json > function-arns.json     # where the stack is
    python -m tools.invoke_private --function app --outputs function-arns.json   # whoami GET /
    python -m tools.invoke_private --function app --stack dev --path /x --egress  # ?egress=1
    python -m tools.invoke_private --function arn:aws:lambda:eu-west-1:123456789012:function:x
    python -m tools.invoke_private --function app --outputs f.json --payload '{"any": "event"}'
    python -m tools.invoke_private --function app --outputs f.json --count 5  # one connection
    # privateDns: false → target the endpoint's own name (an entry of lambdaEndpointDns):
    python -m tools.invoke_private --function app --outputs f.json \\
        --endpoint-url https://vpce-0abc...-xyz.lambda.eu-west-1.vpce.amazonaws.com

With private DNS on, the SDK's default ``lambda.<region>.amazonaws.com`` already resolves to the
endpoint inside the VPC: no ``--endpoint-url`` is needed.

Lambda purges idle connections through the endpoint (the Lambda Developer Guide, "Connecting
inbound interface VPC endpoints for Lambda",
https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc-endpoints.html):
one client is created and reused for every call (its urllib3 pool keeps the TLS connection open
between calls), and TCP keep-alive is switched on so an idle pooled connection is kept alive
rather than silently dropped.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

# A handful of concurrent callers share the pool; more connections than this are not useful
# to a command-line check and would only open more TLS sessions to the endpoint.
MAX_POOL_CONNECTIONS = 10
CONNECT_TIMEOUT_SECONDS = 5
READ_TIMEOUT_SECONDS = 65  # above the functions' maximum configured timeout for a whoami call
PULUMI_TIMEOUT_SECONDS = 60


class ResolveError(Exception):
    """``--function`` names no function this tool can find; the message says what to do."""


def read_function_arns(outputs: str | None = None, stack: str | None = None) -> dict[str, str]:
    """The stack's ``functionArns`` output: from a saved JSON file, else from the Pulumi CLI.

    The file may hold ``pulumi stack output functionArns --json`` or the whole
    ``pulumi stack output --json``.
    """
    if outputs:
        try:
            text = Path(outputs).read_text(encoding="utf-8")
        except OSError as exc:
            raise ResolveError(f"--outputs {outputs}: {exc.strerror or exc}") from exc
        source = f"--outputs {outputs}"
    else:
        pulumi = shutil.which("pulumi")
        if pulumi is None:
            raise ResolveError(
                "the pulumi CLI is not installed here: pass the function ARN, or --outputs FILE "
                "with `pulumi stack output functionArns --json` saved where the stack is"
            )
        command = [pulumi, "stack", "output", "functionArns", "--json"]
        if stack:
            command += ["--stack", stack]
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=PULUMI_TIMEOUT_SECONDS
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ResolveError(f"{' '.join(command[1:])}: {exc}") from exc
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["failed"])[-1]
            raise ResolveError(f"pulumi {' '.join(command[1:])}: {last}")
        text, source = done.stdout, "pulumi stack output functionArns"
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ResolveError(f"{source} is not JSON: {exc}") from exc
    if isinstance(data, Mapping) and isinstance(data.get("functionArns"), Mapping):
        data = data["functionArns"]
    if not (
        isinstance(data, Mapping)
        and data
        and all(isinstance(k, str) and isinstance(v, str) for k, v in data.items())
    ):
        raise ResolveError(f"{source} is not a functionArns object ({{name: arn}})")
    return dict(data)


def _is_function_arn(value: str) -> bool:
    parts = value.split(":")
    return len(parts) >= 7 and parts[0] == "arn" and parts[2] == "lambda" and parts[5] == "function"


def arn_region(arn: str) -> str | None:
    """The region of a function ARN (the private endpoint serves its own region's API)."""
    return arn.split(":")[3] or None


def resolve_function(function: str, outputs: str | None = None, stack: str | None = None) -> str:
    """The ARN to invoke. An ARN is used as given; a name is looked up in ``functionArns``,
    by config name (``app``) or by deployed name (``functions-app-1a2b3c4``).

    A config name is not the deployed name (Pulumi autonames the function), so it is never sent
    to Lambda as it is: that call could only fail, or reach another function of that name."""
    if function.startswith("arn:"):
        if not _is_function_arn(function):
            raise ResolveError(f"--function {function!r} is not a Lambda function ARN")
        return function
    arns = read_function_arns(outputs, stack)
    if function in arns:
        arn = arns[function]
    else:
        deployed = {a.split(":")[6]: a for a in arns.values() if _is_function_arn(a)}
        if function not in deployed:
            known = ", ".join(sorted(arns))
            raise ResolveError(f"--function {function!r} is not in functionArns ({known})")
        arn = deployed[function]
    if not _is_function_arn(arn):
        raise ResolveError(f"functionArns[{function!r}] = {arn!r} is not a Lambda function ARN")
    return arn


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


def valid_endpoint_url(url: str) -> bool:
    """An endpoint URL botocore can sign for: https, a DNS host, nothing else (a path, a query or
    user info would be sent to the endpoint, or silently dropped)."""
    if not re.fullmatch(r"[!-~]+", url):  # urlsplit silently drops tabs and newlines
        return False
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    host = parts.hostname or ""
    return (
        parts.scheme == "https"
        and parts.path in ("", "/")
        and not (parts.query or parts.fragment or parts.username or parts.password)
        and port != 0
        and re.fullmatch(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+", host)
        is not None
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
    parser.add_argument(
        "--function",
        required=True,
        help="function ARN, or a name of the stack's functionArns output (see --outputs, --stack)",
    )
    names = parser.add_mutually_exclusive_group()
    names.add_argument(
        "--outputs",
        help="JSON file of `pulumi stack output functionArns --json` (for a name, off-stack)",
    )
    names.add_argument(
        "--stack",
        help="stack whose functionArns resolve a name, read with the pulumi CLI from the "
        "project directory (default: the selected stack)",
    )
    parser.add_argument("--payload", help="JSON event (default: a whoami GET event)")
    parser.add_argument("--path", default="/", help="path of the default whoami event")
    parser.add_argument("--egress", action="store_true", help="ask whoami for ?egress=1")
    parser.add_argument("--qualifier", help="version or alias (the policy allows :*)")
    parser.add_argument("--region", help="AWS region (default: the function ARN's)")
    parser.add_argument(
        "--endpoint-url",
        help="https://<endpoint DNS name> when the endpoint's private DNS is off",
    )
    parser.add_argument("--count", type=int, default=1, help="calls on the same connection")
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error("--count must be at least 1")
    if args.endpoint_url and not valid_endpoint_url(args.endpoint_url):
        parser.error(
            f"--endpoint-url {args.endpoint_url!r} is not https://<host>[:port] (an entry of "
            "lambdaEndpointDns, no path, query or credentials)"
        )
    if args.payload is not None:
        try:
            args.payload = json.loads(args.payload)
        except json.JSONDecodeError as exc:
            parser.error(f"--payload is not JSON: {exc}")
    return args


def main(argv: Sequence[str] | None = None, client: Any = None) -> int:
    """Exit status 0 when every call succeeded without a function error."""
    args = parse_args(argv)
    try:
        function = resolve_function(args.function, args.outputs, args.stack)
    except ResolveError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    payload = args.payload if args.payload is not None else whoami_event(args.path, args.egress)
    # The private endpoint serves its own region's Lambda API: the ARN says which one.
    region = args.region or arn_region(function)
    client = client or make_client(region, args.endpoint_url)
    failed = False
    for call in range(args.count):
        started = time.perf_counter()
        result = invoke(client, function, payload, args.qualifier)
        result["call"] = call + 1
        result["elapsedMs"] = round((time.perf_counter() - started) * 1000, 1)
        failed = failed or "functionError" in result or result["invokeStatus"] >= 300
        print(json.dumps(result, indent=2, default=str))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
