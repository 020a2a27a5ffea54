"""The whoami sample app on real Lambda event samples (../shared/fixtures/events).

Expected values are read from each event's own structure here, never copied from the handler's
code path, so a handler that reads the wrong field fails even when the sample values coincide.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers import app
from tests.fixtures_path import require_fixture
from tests.strategies import json_values

# The real echo call, kept before the autouse fixture below replaces it in every test.
REAL_FETCH = app.fetch_egress_ip

ALB_KEYS = {"statusCode", "statusDescription", "isBase64Encoded", "headers", "body"}
ALB_MULTI_KEYS = {"statusCode", "statusDescription", "isBase64Encoded", "multiValueHeaders", "body"}
API_GATEWAY_KEYS = {"statusCode", "headers", "body", "isBase64Encoded"}
FUNCTION_URL_KEYS = {"statusCode", "headers", "body", "isBase64Encoded"}


def load_event(name: str) -> dict[str, Any]:
    with require_fixture("events", name).open(encoding="utf-8") as handle:
        return json.load(handle)


def call(event: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run the real handler; return the response and its parsed body."""
    response = app.handler(event, None)
    assert isinstance(response["body"], str)
    return response, json.loads(response["body"])


def assert_json_headers(headers: dict[str, Any], *, multi: bool = False) -> None:
    content_type = headers["content-type"]
    assert content_type == (["application/json"] if multi else "application/json")


@pytest.fixture(autouse=True)
def _no_egress_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test depends on the environment it runs in, and none can reach the network."""
    monkeypatch.delenv(app.EGRESS_URL_ENV, raising=False)
    monkeypatch.delenv(app.EGRESS_TIMEOUT_ENV, raising=False)

    def _no_network(url: str, timeout: float) -> str:
        raise AssertionError(f"unexpected network call to {url}")

    monkeypatch.setattr(app, "fetch_egress_ip", _no_network)


# --------------------------------------------------------------------------------------------
# Shape detection
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "entry"),
    [
        ("albEvent.json", "alb"),
        ("albMultiValueHeadersEvent.json", "alb"),
        ("apiGatewayProxyEvent.json", "api-gateway"),
        ("lambdaFunctionUrlEvent.json", "function-url"),
        ("lambdaFunctionUrlIAMEvent.json", "function-url"),
        ("snsEvent.json", "unknown"),
        ("cloudfrontRequestEvent.json", "unknown"),
    ],
)
def test_detect_entry_on_real_samples(fixture: str, entry: str) -> None:
    assert app.detect_entry(load_event(fixture)) == entry


@pytest.mark.parametrize("event", [None, [], "GET /", {}, {"requestContext": "x"}, {"x": 1}])
def test_detect_entry_on_non_http_events(event: Any) -> None:
    assert app.detect_entry(event) == "unknown"


# --------------------------------------------------------------------------------------------
# ALB
# --------------------------------------------------------------------------------------------


def test_alb_single_value() -> None:
    event = load_event("albEvent.json")
    response, body = call(event)

    assert set(response) == ALB_KEYS
    assert response["statusCode"] == 200
    assert response["statusDescription"] == "200 OK"
    assert response["isBase64Encoded"] is False
    assert_json_headers(response["headers"])
    assert all(isinstance(v, str) for v in response["headers"].values())

    assert body["entry"] == "alb"
    assert body["sourceIp"] == event["headers"]["x-forwarded-for"].split(",")[0].strip()
    assert body["method"] == event["httpMethod"]
    assert body["path"] == event["path"]
    assert body["query"] == event["queryStringParameters"]
    assert body["headers"]["user-agent"] == event["headers"]["user-agent"]
    assert body["headers"]["host"] == event["headers"]["host"]
    assert body["viaCloudFront"] is False
    assert "requestId" not in body  # ALB events carry none


def test_alb_multi_value_answers_with_multi_value_headers_only() -> None:
    event = load_event("albMultiValueHeadersEvent.json")
    response, body = call(event)

    # ALB reads only multiValueHeaders when the target group has multi-value headers on.
    assert set(response) == ALB_MULTI_KEYS
    assert "headers" not in response
    assert response["statusCode"] == 200
    assert response["statusDescription"] == "200 OK"
    assert response["isBase64Encoded"] is False
    assert all(isinstance(v, list) for v in response["multiValueHeaders"].values())
    assert_json_headers(response["multiValueHeaders"], multi=True)

    headers = event["multiValueHeaders"]
    assert body["entry"] == "alb"
    assert body["sourceIp"] == headers["x-forwarded-for"][0].split(",")[0].strip()
    assert body["method"] == event["httpMethod"]
    assert body["path"] == event["path"]
    assert body["query"] == event["multiValueQueryStringParameters"]
    assert body["headers"]["user-agent"] == headers["user-agent"][0]


def test_alb_source_ip_is_the_entry_alb_appended_not_the_clients_claim() -> None:
    """Issue 12.5: a client that sends its own X-Forwarded-For gets it kept on the left; ALB
    appends the address it saw on the right. Only that one is reported as sourceIp."""
    event = load_event("albEvent.json")
    seen_by_alb = event["headers"]["x-forwarded-for"]
    event["headers"]["x-forwarded-for"] = f"203.0.113.66, 198.51.100.1, {seen_by_alb}"
    _, body = call(event)
    assert body["sourceIp"] == seen_by_alb
    assert body["forwardedForChain"] == ["203.0.113.66", "198.51.100.1", seen_by_alb]


def test_alb_multi_value_source_ip_is_the_right_most_entry() -> None:
    event = load_event("albMultiValueHeadersEvent.json")
    seen_by_alb = event["multiValueHeaders"]["x-forwarded-for"][0]
    event["multiValueHeaders"]["x-forwarded-for"] = ["203.0.113.66", seen_by_alb]
    _, body = call(event)
    assert body["sourceIp"] == seen_by_alb
    assert body["forwardedForChain"] == ["203.0.113.66", seen_by_alb]


@pytest.mark.parametrize(
    ("fixture", "reported"),
    [
        ("apiGatewayProxyEvent.json", lambda e: e["requestContext"]["identity"]["sourceIp"]),
        ("lambdaFunctionUrlEvent.json", lambda e: e["requestContext"]["http"]["sourceIp"]),
        ("lambdaFunctionUrlIAMEvent.json", lambda e: e["requestContext"]["http"]["sourceIp"]),
    ],
)
def test_forwarded_for_never_replaces_the_peer_the_entry_saw(fixture: str, reported: Any) -> None:
    event = load_event(fixture)
    event["headers"]["X-Forwarded-For"] = "203.0.113.66"
    if "multiValueHeaders" in event:
        event["multiValueHeaders"]["X-Forwarded-For"] = ["203.0.113.66"]
    _, body = call(event)
    assert body["sourceIp"] == reported(event) != "203.0.113.66"
    assert body["forwardedForChain"] == ["203.0.113.66"]


def test_alb_query_is_url_decoded() -> None:
    """ALB hands the query over as received; the answer shows it decoded."""
    event = load_event("albEvent.json")
    event["queryStringParameters"] = {"q": "a%20b%2Fc", "name%5B%5D": "x+y"}
    _, body = call(event)
    assert body["query"] == {"q": "a b/c", "name[]": "x y"}


def test_alb_multi_value_query_keeps_repeated_values() -> None:
    event = load_event("albMultiValueHeadersEvent.json")
    event["multiValueQueryStringParameters"] = {"tag": ["a%2C1", "b"], "one": ["%C3%A9"]}
    _, body = call(event)
    assert body["query"] == {"tag": ["a,1", "b"], "one": "é"}


# --------------------------------------------------------------------------------------------
# API Gateway REST (v1)
# --------------------------------------------------------------------------------------------


def test_api_gateway_v1() -> None:
    event = load_event("apiGatewayProxyEvent.json")
    response, body = call(event)

    assert set(response) == API_GATEWAY_KEYS
    assert response["statusCode"] == 200
    assert response["isBase64Encoded"] is False
    assert_json_headers(response["headers"])

    multi_query = event["multiValueQueryStringParameters"]
    expected_query = {k: v[0] if len(v) == 1 else v for k, v in multi_query.items()}
    assert body["entry"] == "api-gateway"
    assert body["sourceIp"] == event["requestContext"]["identity"]["sourceIp"]
    assert body["method"] == event["httpMethod"]
    assert body["path"] == event["path"]
    assert body["query"] == expected_query
    assert isinstance(body["query"]["parameter1"], list)  # the sample repeats it
    assert body["requestId"] == event["requestContext"]["requestId"]


def test_api_gateway_v1_without_multi_value_fields() -> None:
    event = load_event("apiGatewayProxyEvent.json")
    del event["multiValueHeaders"], event["multiValueQueryStringParameters"]
    event["headers"]["User-Agent"] = "curl/8.0"
    _, body = call(event)
    assert body["query"] == event["queryStringParameters"]
    assert body["headers"]["user-agent"] == "curl/8.0"  # names are reported lower-case


# --------------------------------------------------------------------------------------------
# Function URL (v2)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fixture", ["lambdaFunctionUrlEvent.json", "lambdaFunctionUrlIAMEvent.json"]
)
def test_function_url(fixture: str) -> None:
    event = load_event(fixture)
    response, body = call(event)

    assert set(response) == FUNCTION_URL_KEYS
    assert response["statusCode"] == 200
    assert response["isBase64Encoded"] is False
    assert_json_headers(response["headers"])

    # queryStringParameters joins repeated values with commas; split them back here.
    expected_query = {
        k: v.split(",") if "," in v else v
        for k, v in (event.get("queryStringParameters") or {}).items()
    }
    assert body["entry"] == "function-url"
    assert body["sourceIp"] == event["requestContext"]["http"]["sourceIp"]
    assert body["method"] == event["requestContext"]["http"]["method"]
    assert body["path"] == event["rawPath"]
    assert body["query"] == expected_query
    assert body["requestId"] == event["requestContext"]["requestId"]
    assert body["viaCloudFront"] is False
    assert "viewerIp" not in body


def test_function_url_iam_reports_the_caller_arn() -> None:
    event = load_event("lambdaFunctionUrlIAMEvent.json")
    _, body = call(event)
    iam = event["requestContext"]["authorizer"]["iam"]
    assert body["iamCallerArn"] == iam["userArn"]
    assert iam["accessKey"] not in response_text(event)


def forwarded_by_cloudfront(event: dict[str, Any], viewer_address: str | None) -> dict[str, Any]:
    """A function URL event as it looks when CloudFront (OAC) forwarded it."""
    forwarded = copy.deepcopy(event)
    headers = forwarded["headers"]
    headers["via"] = "2.0 0123456789abcdef0123456789abcdef.cloudfront.net (CloudFront)"
    headers["x-amz-cf-id"] = "Pvzx5x0Jd9zVbQ7sQ6kHAyDx2ozBvB5V2WqEXAMPLE=="
    headers["x-forwarded-for"] = "198.51.100.7, 64.252.128.1"
    if viewer_address is not None:
        headers["cloudfront-viewer-address"] = viewer_address
    forwarded["requestContext"]["http"]["sourceIp"] = "64.252.128.1"  # the edge server
    return forwarded


def test_function_url_via_cloudfront_reports_the_viewer_address() -> None:
    event = forwarded_by_cloudfront(load_event("lambdaFunctionUrlEvent.json"), "203.0.113.9:46532")
    response, body = call(event)

    assert set(response) == FUNCTION_URL_KEYS
    assert response["statusCode"] == 200
    assert body["viaCloudFront"] is True
    assert body["sourceIp"] == event["requestContext"]["http"]["sourceIp"]
    viewer = event["headers"]["cloudfront-viewer-address"].rsplit(":", 1)[0]
    assert body["viewerIp"] == viewer
    assert body["headers"]["via"] == event["headers"]["via"]
    assert (
        body["headers"]["cloudfront-viewer-address"]
        == event["headers"]["cloudfront-viewer-address"]
    )


def test_function_url_via_cloudfront_ipv6_viewer_address() -> None:
    event = forwarded_by_cloudfront(
        load_event("lambdaFunctionUrlIAMEvent.json"), "2001:db8:85a3::8a2e:370:7334:443"
    )
    _, body = call(event)
    assert body["viewerIp"] == "2001:db8:85a3::8a2e:370:7334"


def test_function_url_via_cloudfront_without_viewer_address_claims_no_viewer() -> None:
    """Without CloudFront's viewer address header, the left-most x-forwarded-for entry is all
    there is, and a client writes that one: viewerIp is null, the chain is shown apart."""
    event = forwarded_by_cloudfront(load_event("lambdaFunctionUrlEvent.json"), None)
    del event["headers"]["via"]  # x-amz-cf-id alone is enough
    _, body = call(event)
    assert body["viaCloudFront"] is True
    assert body["viewerIp"] is None
    chain = [p.strip() for p in event["headers"]["x-forwarded-for"].split(",")]
    assert body["forwardedForChain"] == chain
    assert body["sourceIp"] == event["requestContext"]["http"]["sourceIp"]


# --------------------------------------------------------------------------------------------
# Secrets
# --------------------------------------------------------------------------------------------


def response_text(event: dict[str, Any]) -> str:
    return json.dumps(app.handler(event, None))


SECRET = (
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/lambda/aws4_request, Sig=s3cr3t"
)


@pytest.mark.parametrize(
    "fixture",
    [
        "albEvent.json",
        "apiGatewayProxyEvent.json",
        "lambdaFunctionUrlEvent.json",
        "lambdaFunctionUrlIAMEvent.json",
    ],
)
def test_authorization_values_are_never_echoed(fixture: str) -> None:
    event = load_event(fixture)
    event["headers"]["Authorization"] = SECRET
    event["headers"]["x-viewer-authorization"] = SECRET + "-viewer"
    event["headers"]["x-api-key"] = "key-" + "k3y"
    if "multiValueHeaders" in event:
        event["multiValueHeaders"]["Authorization"] = [SECRET]
        event["multiValueHeaders"]["x-viewer-authorization"] = [SECRET + "-viewer"]
        event["multiValueHeaders"]["x-api-key"] = ["key-" + "k3y"]
    response, body = call(event)
    text = json.dumps(response)
    assert "s3cr3t" not in text
    assert "k3y" not in text
    assert set(body["credentialHeadersPresent"]) >= {
        "authorization",
        "x-viewer-authorization",
        "x-api-key",
    }


def test_alb_multi_value_authorization_is_never_echoed() -> None:
    event = load_event("albMultiValueHeadersEvent.json")
    event["multiValueHeaders"]["authorization"] = [SECRET]
    response, body = call(event)
    assert "s3cr3t" not in json.dumps(response)
    assert body["credentialHeadersPresent"] == ["authorization"]


def test_credential_like_query_values_are_redacted() -> None:
    event = load_event("lambdaFunctionUrlEvent.json")
    event["rawQueryString"] = "X-Amz-Signature=s3cr3t&access_token=s3cr3t&page=2"
    _, body = call(event)
    assert "s3cr3t" not in json.dumps(body)
    assert body["query"] == {
        "X-Amz-Signature": app.REDACTED,
        "access_token": app.REDACTED,
        "page": "2",
    }


# --------------------------------------------------------------------------------------------
# Unsupported and malformed events
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", ["snsEvent.json", "cloudfrontRequestEvent.json"])
def test_unknown_event_shape_is_a_400(fixture: str) -> None:
    response, body = call(load_event(fixture))
    assert set(response) == FUNCTION_URL_KEYS
    assert response["statusCode"] == 400
    assert_json_headers(response["headers"])
    assert body["error"] == "unsupported event shape"


@pytest.mark.parametrize("event", [None, [], "text", 42, {}])
def test_non_mapping_events_do_not_raise(event: Any) -> None:
    response = app.handler(event, None)
    assert response["statusCode"] == 400
    assert json.loads(response["body"])["error"] == "unsupported event shape"


def test_malformed_known_shape_is_a_500_in_that_shape(caplog: pytest.LogCaptureFixture) -> None:
    event = load_event("albMultiValueHeadersEvent.json")
    event["path"] = object()  # a value the answer cannot be serialised with
    response, body = call(event)
    assert set(response) == ALB_MULTI_KEYS
    assert response["statusCode"] == 500
    assert response["statusDescription"] == "500 Internal Server Error"
    assert body == {"error": "internal error"}
    assert "whoami failed on an event from entry alb" in caplog.text


def authorizer_test_event() -> dict[str, Any]:
    """The REST proxy sample as a custom authorizer test sends it: no headers, no identity,
    no stage, no query, no request id."""
    event = load_event("apiGatewayProxyEvent.json")
    for key in ("headers", "multiValueHeaders", "queryStringParameters"):
        event.pop(key)
    event.pop("multiValueQueryStringParameters")
    for key in ("identity", "stage", "requestId", "authorizer"):
        event["requestContext"].pop(key)
    return event


def test_rest_event_without_its_optional_parts_is_answered() -> None:
    """Issue 12.6: recognized by httpMethod and requestContext, not by identity or stage."""
    event = authorizer_test_event()
    response, body = call(event)
    assert set(response) == API_GATEWAY_KEYS
    assert response["statusCode"] == 200
    assert body["entry"] == "api-gateway"
    assert (body["method"], body["path"]) == (event["httpMethod"], event["path"])
    assert body["sourceIp"] is None and body["query"] == {} and body["headers"] == {}
    assert body["forwardedForChain"] == [] and "requestId" not in body


@pytest.mark.parametrize(
    ("fixture", "drop", "entry"),
    [
        ("albEvent.json", ["headers", "queryStringParameters", "body"], "alb"),
        ("albMultiValueHeadersEvent.json", ["multiValueHeaders"], "alb"),
        ("lambdaFunctionUrlEvent.json", ["headers", "rawQueryString", "rawPath"], "function-url"),
        ("lambdaFunctionUrlIAMEvent.json", ["cookies", "queryStringParameters"], "function-url"),
        ("apiGatewayProxyEvent.json", ["resource", "version", "pathParameters"], "api-gateway"),
    ],
)
def test_events_without_optional_parts_keep_their_shape(
    fixture: str, drop: list[str], entry: str
) -> None:
    event = load_event(fixture)
    for key in drop:
        event.pop(key)
    response, body = call(event)
    assert response["statusCode"] == 200 and body["entry"] == entry


@pytest.mark.parametrize(
    ("fixture", "path", "value"),
    [
        ("apiGatewayProxyEvent.json", ("requestContext", "identity"), "nobody"),
        ("apiGatewayProxyEvent.json", ("requestContext", "identity", "sourceIp"), 5),
        ("apiGatewayProxyEvent.json", ("requestContext", "authorizer"), ["x"]),
        ("apiGatewayProxyEvent.json", ("headers",), "x"),
        ("apiGatewayProxyEvent.json", ("multiValueHeaders",), [1, 2]),
        ("apiGatewayProxyEvent.json", ("multiValueQueryStringParameters",), 3),
        ("lambdaFunctionUrlIAMEvent.json", ("requestContext", "authorizer", "iam"), 5),
        ("lambdaFunctionUrlIAMEvent.json", ("requestContext", "authorizer"), "x"),
        ("lambdaFunctionUrlIAMEvent.json", ("requestContext", "http", "sourceIp"), None),
        ("lambdaFunctionUrlIAMEvent.json", ("requestContext", "requestId"), {"a": 1}),
        ("lambdaFunctionUrlEvent.json", ("rawQueryString",), ["egress=1"]),
        ("albEvent.json", ("headers", "x-forwarded-for"), None),
        ("albEvent.json", ("queryStringParameters",), "q=1"),
    ],
)
def test_nested_values_of_the_wrong_type_never_raise(
    fixture: str, path: tuple[str, ...], value: Any
) -> None:
    event = load_event(fixture)
    node = event
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    response, body = call(event)
    assert response["statusCode"] == 200
    assert body["entry"] == app.detect_entry(load_event(fixture))
    assert body["sourceIp"] is None or isinstance(body["sourceIp"], str)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*prefix, index))
    return found


HTTP_FIXTURES = [
    "albEvent.json",
    "albMultiValueHeadersEvent.json",
    "apiGatewayProxyEvent.json",
    "lambdaFunctionUrlEvent.json",
    "lambdaFunctionUrlIAMEvent.json",
]
SHAPES = {
    "alb": (ALB_KEYS, ALB_MULTI_KEYS),
    "api-gateway": (API_GATEWAY_KEYS,),
    "function-url": (FUNCTION_URL_KEYS,),
    "unknown": (FUNCTION_URL_KEYS,),
}
JSON_VALUES = json_values(text_size=12, leaves=8)


@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_any_value_anywhere_in_a_real_event_gets_an_answer_in_its_shape(data: Any) -> None:
    """Replace or delete any nested part of a real sample: the handler answers 200, 400 or a
    JSON 500 in the shape of the entry the event still looks like, and never raises."""
    event = load_event(data.draw(st.sampled_from(HTTP_FIXTURES)))
    path = data.draw(st.sampled_from(_paths(event)))
    node = event
    for step in path[:-1]:
        node = node[step]
    if data.draw(st.booleans()):
        node[path[-1]] = data.draw(JSON_VALUES)
    elif isinstance(node, dict):
        del node[path[-1]]
    else:
        node.pop(path[-1])
    response = app.handler(event, None)
    entry = app.detect_entry(event)
    assert response["statusCode"] in (200, 400, 500)
    assert frozenset(response) in {frozenset(k) for k in SHAPES[entry]}
    body = json.loads(response["body"])
    assert isinstance(body, dict)
    if response["statusCode"] == 200:
        assert body["entry"] == entry
        assert body["sourceIp"] is None or isinstance(body["sourceIp"], str)
        assert all(isinstance(ip, str) for ip in body["forwardedForChain"])


def test_lambda_request_id_from_context() -> None:
    class Context:
        aws_request_id = "c6af9ac6-7b61-11e6-9a41-93e812345678"

    response = app.handler(load_event("albEvent.json"), Context())
    assert json.loads(response["body"])["lambdaRequestId"] == Context.aws_request_id


# --------------------------------------------------------------------------------------------
# ?egress=1
# --------------------------------------------------------------------------------------------


def with_egress_query(fixture: str) -> dict[str, Any]:
    event = load_event(fixture)
    if fixture.startswith("lambdaFunctionUrl"):
        event["rawQueryString"] = "egress=1"
    elif "multiValueHeaders" in event and fixture.startswith("alb"):
        event["multiValueQueryStringParameters"] = {"egress": ["1"]}
    else:
        event["queryStringParameters"] = {"egress": "1"}
        event.pop("multiValueQueryStringParameters", None)
    return event


EGRESS_FIXTURES = [
    "albEvent.json",
    "albMultiValueHeadersEvent.json",
    "apiGatewayProxyEvent.json",
    "lambdaFunctionUrlEvent.json",
]


@pytest.mark.parametrize("fixture", EGRESS_FIXTURES)
def test_egress_enabled_reports_the_fetched_ip(
    fixture: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, float]] = []

    def fake_fetch(url: str, timeout: float) -> str:
        calls.append((url, timeout))
        return "203.0.113.77"

    monkeypatch.setenv(app.EGRESS_URL_ENV, "https://checkip.amazonaws.com")
    monkeypatch.setattr(app, "fetch_egress_ip", fake_fetch)
    response, body = call(with_egress_query(fixture))

    assert response["statusCode"] == 200
    assert body["egressIp"] == "203.0.113.77"
    assert "egressError" not in body
    assert calls == [("https://checkip.amazonaws.com", app.DEFAULT_EGRESS_TIMEOUT)]


def test_egress_timeout_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[float] = []
    monkeypatch.setenv(app.EGRESS_URL_ENV, "https://checkip.amazonaws.com")
    monkeypatch.setenv(app.EGRESS_TIMEOUT_ENV, "0.5")
    monkeypatch.setattr(
        app, "fetch_egress_ip", lambda url, timeout: seen.append(timeout) or "1.2.3.4"
    )
    call(with_egress_query("lambdaFunctionUrlEvent.json"))
    assert seen == [0.5]


@pytest.mark.parametrize(
    ("raw", "expected"), [("0.5", 0.5), ("60", 10.0), ("-1", 2.0), ("nan", 2.0), ("x", 2.0)]
)
def test_egress_timeout_is_clamped(raw: str, expected: float) -> None:
    assert app.egress_timeout({app.EGRESS_TIMEOUT_ENV: raw}) == expected


@pytest.mark.parametrize("fixture", EGRESS_FIXTURES)
def test_egress_disabled_does_not_call_out(fixture: str, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(app, "fetch_egress_ip", lambda url, timeout: calls.append(url) or "x")
    response, body = call(with_egress_query(fixture))

    assert calls == []
    assert response["statusCode"] == 200
    assert body["egressIp"] is None
    assert app.EGRESS_URL_ENV in body["note"]


def test_egress_not_requested_does_not_call_out(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setenv(app.EGRESS_URL_ENV, "https://checkip.amazonaws.com")
    monkeypatch.setattr(app, "fetch_egress_ip", lambda url, timeout: calls.append(url) or "x")
    _, body = call(load_event("lambdaFunctionUrlEvent.json"))
    assert calls == []
    assert "egressIp" not in body
    assert "note" not in body


def test_egress_failure_is_reported_and_the_rest_still_answers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def failing_fetch(url: str, timeout: float) -> str:
        raise TimeoutError("timed out")

    monkeypatch.setenv(app.EGRESS_URL_ENV, "https://checkip.amazonaws.com")
    monkeypatch.setattr(app, "fetch_egress_ip", failing_fetch)
    event = with_egress_query("lambdaFunctionUrlEvent.json")
    response, body = call(event)

    assert response["statusCode"] == 200
    assert body["egressIp"] is None
    assert body["egressError"] == "TimeoutError: timed out"
    assert body["sourceIp"] == event["requestContext"]["http"]["sourceIp"]


def test_real_fetch_refuses_plain_http_before_any_network_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_open(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("network call attempted")

    monkeypatch.setattr(app.urllib.request, "build_opener", no_open)
    with pytest.raises(ValueError, match="https"):
        REAL_FETCH("http://checkip.amazonaws.com", 1.0)


def test_redirects_to_plain_http_are_refused() -> None:
    request = app.urllib.request.Request("https://checkip.amazonaws.com")
    redirects = app._HttpsOnlyRedirects()
    with pytest.raises(app.urllib.error.HTTPError, match="non-https"):
        redirects.redirect_request(request, None, 301, "Moved", {}, "http://checkip.example/")
    followed = redirects.redirect_request(request, None, 301, "Moved", {}, "https://x.example/")
    assert followed.full_url == "https://x.example/"


def test_real_fetch_validates_the_echo_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    """The real function, with the opener replaced: no socket is opened."""

    class FakeResponse:
        def __init__(self, text: bytes) -> None:
            self.text = text

        def __enter__(self) -> FakeResponse:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

        def read(self, limit: int) -> bytes:
            return self.text[:limit]

    answers = iter([b"198.51.100.23\n", b"<html>captive portal</html>"])

    class FakeOpener:
        def open(self, request: Any, timeout: float) -> FakeResponse:
            assert request.full_url.startswith("https://")
            return FakeResponse(next(answers))

    monkeypatch.setattr(app.urllib.request, "build_opener", lambda *handlers: FakeOpener())
    assert REAL_FETCH("https://checkip.amazonaws.com", 1.0) == "198.51.100.23"
    with pytest.raises(ValueError, match="not an IP address"):
        REAL_FETCH("https://checkip.amazonaws.com", 1.0)


# --------------------------------------------------------------------------------------------
# Pure helpers
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("203.0.113.9:46532", "203.0.113.9"),
        ("2001:db8::1:443", "2001:db8::1"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("203.0.113.9", "203.0.113.9"),
        ("2001:db8::1", "2001:db8::1"),
        ("", None),
        ("garbage", None),
    ],
)
def test_viewer_address_ip(value: str, expected: str | None) -> None:
    assert app.viewer_address_ip(value) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"egress": "1"}, True),
        ({"egress": ["0", "1"]}, True),
        ({"egress": "0"}, False),
        ({}, False),
    ],
)
def test_egress_requested(query: dict[str, Any], expected: bool) -> None:
    assert app.egress_requested(query) is expected


def test_every_answer_field_is_documented_in_the_readme() -> None:
    """The whoami page's table names every field the answer can carry (egress aside)."""
    from pathlib import Path

    page = Path(__file__).resolve().parent.parent / "docs" / "internals" / "whoami.md"
    text = page.read_text(encoding="utf-8")
    section = text[text.index("## The answer") : text.index("## `?egress=1`")]
    documented = {
        name for row in section.splitlines() for name in re.findall(r"`([A-Za-z]+)`", row[:60])
    }

    class Context:
        aws_request_id = "c6af9ac6-7b61-11e6-9a41-93e812345678"

    event = forwarded_by_cloudfront(load_event("lambdaFunctionUrlIAMEvent.json"), "192.0.2.1:1")
    body = json.loads(app.handler(event, Context())["body"])
    assert set(body) <= documented, set(body) - documented
