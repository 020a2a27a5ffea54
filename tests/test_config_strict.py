"""Strict config: every text value is checked whole, in ASCII, and refused at its own key.

``re.match(r"...$")`` lets a trailing newline through and ``\\d``/``\\w`` match any Unicode digit
or letter, so values like ``"eu-west-1\\n"`` or a full-width ``"eu-west-\\uff11"`` used to reach
resource inputs and policies. The string fields are found by walking the config model (a new
one fails ``test_every_string_field_has_valid_samples`` until it has a sample, then is covered
by the generated cases); each sample is accepted at its key, and hypothesis derives bad variants
from it: a control, format or space character before, after or inside it, a non-ASCII digit in
place of an ASCII one, a non-ASCII letter in place of an ASCII one. Each must be refused with a
message naming that key path.
"""

from __future__ import annotations

import ast
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from components import config as config_module
from components.config import ConfigError, StackConfig, is_account_id, parse_config
from components.private_endpoint import principal_arns

REGION = "eu-west-1"
CERT = "arn:aws:acm:eu-west-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"
CERT_US = "arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"
CIDRS = ("203.0.113.0/24", "2001:db8::/32")

# Valid values per key path ("[0]" = an item of a list). Literal fields and fields with a
# non-empty default get theirs from the model; every other string field needs an entry here.
SAMPLES: dict[str, tuple[str, ...]] = {
    "aws:region": ("eu-west-1", "us-gov-west-1", "ap-southeast-2"),
    "functions[0].name": ("orders-2", "a"),
    "functions[0].handler": ("app",),
    "functions[0].arn": ("arn:aws:lambda:eu-west-1:123456789012:function:legacy_Fn-1",),
    "functions[0].path": ("/api/v1", "/a.b_c~d-e"),
    "functions[0].expose[0]": ("ipRestrictedApi",),
    "functions[0].widerExposure[0]": ("ipRestrictedApi",),
    "network.vpcId": ("vpc-0123456789abcdef0",),
    "network.publicSubnetIds[0]": ("subnet-0123456789abcdef0",),
    "network.privateSubnetIds[0]": ("subnet-0a1b2c3d",),
    "staticIp.allowedCidrs[0]": CIDRS,
    "staticIp.certificateArn": (CERT,),
    "staticIp.sslPolicy": ("ELBSecurityPolicy-FS-1-2-Res-2020-10", "ELBSecurityPolicy-2016-08"),
    "staticIp.regions[0]": ("us-east-1",),  # the bare-string form of an entry
    "staticIp.regions[0].region": ("us-east-1",),
    "staticIp.regions[0].certificateArn": (CERT_US,),
    "ipRestrictedApi.allow[0]": CIDRS,
    "ipRestrictedApi.deny[0]": CIDRS,
    "ipRestrictedApi.routes[0].path": ("/admin/*", "/v1/users"),
    "ipRestrictedApi.routes[0].allow[0]": CIDRS,
    "ipRestrictedApi.routes[0].deny[0]": CIDRS,
    "ipRestrictedApi.stageName": ("prod_2",),
    "edge.cors.allowOrigins[0]": ("https://app.example.com:8443", "http://localhost:3000"),
    "edge.cors.allowMethods[0]": ("GET", "post"),
    "edge.cors.allowHeaders[0]": ("X-Custom-Header", "content-type"),
    "edge.cors.exposeHeaders[0]": ("X-Request-Id",),
    "edge.allowedCidrs[0]": CIDRS,
    "privateEndpoint.allowedPrincipals[0]": (
        "arn:aws:iam::111122223333:role/path/caller_1",
        "444455556666",
        "arn:aws:sts::111122223333:assumed-role/caller/session@x.y",
        "arn:aws-us-gov:iam::111122223333:user/ci+deploy=1",
    ),
    "privateEndpoint.allowedCidrs[0]": ("10.30.0.0/16",),
    "privateEndpoint.allowedActions[0]": ("lambda:GetFunction", "lambda:ListVersionsByFunction"),
    "staticEgress.echoUrl": ("https://checkip.amazonaws.com", "https://ip.example:8443/v1?f=t"),
    "ipRangeSync.services[0]": ("CLOUDFRONT", "ROUTE53_HEALTHCHECKS"),
    "ipRangeSync.regions[0]": ("GLOBAL", "us-east-1"),
    "ipRangeSync.schedule": (
        "rate(5 minutes)",
        "cron(0 6 * * ? *)",
        "cron(15 10 ? * MON-FRI 2030)",
    ),
    "ipRangeSync.shareWith[0]": (
        "111122223333",
        "arn:aws:organizations::111122223333:organization/o-exampleorgid",
        "arn:aws:organizations::111122223333:ou/o-exampleorgid/ou-ab12-34cd56ef",
    ),
    "staticEgress.eipAllocationIds[0]": ("eipalloc-0123456789abcdef0", "eipalloc-12345678"),
    "staticIp.eipAllocationIds[0]": ("eipalloc-0123456789abcdef0",),
}

# Other keys a sample needs to be valid where it is (the value is merged into these).
CONTEXT: dict[str, dict[str, Any]] = {
    "staticIp.allowedCidrs[0]": {"staticIp": {"ipAddressType": "DUAL_STACK"}},
    "functions[0].expose[0]": {"ipRestrictedApi": {"enabled": True}},
    "functions[0].widerExposure[0]": {"ipRestrictedApi": {"enabled": True}},
    # shareWith needs synced prefix lists; eipAllocationIds belong to entry nlb.
    "ipRangeSync.shareWith[0]": {"ipRangeSync": {"managedPrefixList": "never"}},
    "staticIp.eipAllocationIds[0]": {"staticIp": {"entry": "nlb"}},
}


# -- the string fields of the model -----------------------------------------------------------


def _walk(annotation: Any, path: str, default: Any = None) -> Iterator[tuple[str, tuple[str, ...]]]:
    """(key path, samples the model itself gives) of every string value under ``annotation``."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        yield from _walk(args[0], path, default)
    elif origin in (Union, types.UnionType):
        for arg in args:
            if arg is not type(None):
                yield from _walk(arg, path, default)
    elif origin is list:
        yield from _walk(args[0], f"{path}[0]")
    elif origin is Literal:
        if all(isinstance(a, str) for a in args):
            yield path, tuple(args)
    elif annotation is str:
        yield path, (default,) if isinstance(default, str) and default else ()
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
        for name, field in annotation.model_fields.items():
            key = field.alias or name
            yield from _walk(field.annotation, f"{path}.{key}" if path else key, field.default)


def string_fields() -> dict[str, tuple[str, ...]]:
    found: dict[str, tuple[str, ...]] = {}
    for path, from_model in _walk(StackConfig, ""):
        path = "aws:region" if path == "region" else path
        found[path] = tuple(dict.fromkeys(from_model + SAMPLES.get(path, ())))
    # Not a model field of its own: a bare region name stands for {region: <name>}.
    found["staticIp.regions[0]"] = SAMPLES["staticIp.regions[0]"]
    return found


FIELDS = string_fields()


def test_every_string_field_has_valid_samples() -> None:
    missing = sorted(path for path, samples in FIELDS.items() if not samples)
    assert not missing, f"add valid samples to SAMPLES for {missing}"
    stale = sorted(set(SAMPLES) - set(FIELDS))
    assert not stale, f"SAMPLES names keys the model does not have: {stale}"
    # The walk finds the fields it must (a broken walk would silently test nothing).
    assert {"aws:region", "functions[0].name", "staticIp.entry", "edge.cors.allowOrigins[0]"} <= (
        set(FIELDS)
    )
    assert len(FIELDS) >= 40


# -- placing one value at its key ---------------------------------------------------------------


def _tokens(path: str) -> list[str | int]:
    tokens: list[str | int] = []
    for part in path.split("."):
        name, _, index = part.partition("[")
        tokens.append(name)
        if index:
            tokens.append(int(index.rstrip("]")))
    return tokens


def _nest(tokens: list[str | int], value: Any) -> Any:
    if not tokens:
        return value
    head, rest = tokens[0], tokens[1:]
    inner = _nest(rest, value)
    return [inner] if isinstance(head, int) else {head: inner}


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        both = isinstance(value, dict) and isinstance(merged.get(key), dict)
        merged[key] = _merge(merged[key], value) if both else value
    return merged


def refusal(path: str, value: str) -> str:
    """The config error lines naming ``path`` when ``value`` is put there ('' if none)."""
    if path == "aws:region":
        raw: dict[str, Any] = {}
        region = value
    else:
        raw, region = _merge(CONTEXT.get(path, {}), _nest(_tokens(path), value)), REGION
    try:
        parse_config(raw, region)
    except ConfigError as exc:
        prefix = "aws:region:" if path == "aws:region" else f"lambda-exposure:{path}:"
        return "\n".join(line for line in str(exc).splitlines() if line.startswith(prefix))
    return ""


CASES = [(path, sample) for path, samples in FIELDS.items() for sample in samples]


@pytest.mark.parametrize(("path", "sample"), CASES)
def test_valid_sample_is_accepted_at_its_key(path: str, sample: str) -> None:
    assert refusal(path, sample) == ""


# -- what makes a value bad ------------------------------------------------------------------

# Control (Cc: NUL, \n, \r, \x85, DEL...), format (Cf: zero-width space, BOM...), separators;
# half of the draws from the ones most likely to slip through ($ matches before a final "\n").
KNOWN = "\n\r\x00\t\x0b\x0c\x1f\x7f\x85\xa0\u200b\u2028\u3000\ufeff"
INVISIBLE = st.sampled_from(KNOWN) | st.characters(categories=["Cc", "Cf", "Zs", "Zl", "Zp"])
# Inside a value, no ASCII space: a space is what separates the fields of cron(...).
INSIDE = (
    st.sampled_from(KNOWN)
    | st.characters(categories=["Cc", "Cf", "Zl", "Zp"])
    | st.characters(categories=["Zs"], min_codepoint=0x80)
)
DIGITS = st.sampled_from("\uff10\uff15\u0661\u0967\u09e6\U0001d7ce") | st.characters(
    categories=["Nd"], min_codepoint=0x80
)
# The long s and dotless i uppercase to ASCII S and I; the Kelvin sign lowercases to k.
LETTERS = st.sampled_from("\u017f\u0131\u212a\uff21\uff41\u0430\u0435\u043e") | st.characters(
    categories=["Lu", "Ll"], min_codepoint=0x80
)


@st.composite
def spoiled(draw: st.DrawFn, sample: str) -> str:
    """``sample`` with one change that makes it invalid, whatever the field."""
    kinds = ["append", "prepend", "insert"]
    if any(c.isascii() and c.isdigit() for c in sample):
        kinds.append("digit")
    if any(c.isascii() and c.isalpha() for c in sample):
        kinds.append("letter")
    kind = draw(st.sampled_from(kinds))
    if kind == "append":
        return sample + draw(INVISIBLE)
    if kind == "prepend":
        return draw(INVISIBLE) + sample
    if kind == "insert":
        at = draw(st.integers(0, len(sample)))
        return sample[:at] + draw(INSIDE) + sample[at:]
    wanted = str.isdigit if kind == "digit" else str.isalpha
    spots = [i for i, c in enumerate(sample) if c.isascii() and wanted(c)]
    at = draw(st.sampled_from(spots))
    return sample[:at] + draw(DIGITS if kind == "digit" else LETTERS) + sample[at + 1 :]


@pytest.mark.parametrize(("path", "sample"), CASES)
@settings(max_examples=25, deadline=None, database=None)
@given(data=st.data())
def test_spoiled_value_is_refused_at_its_key(path: str, sample: str, data: st.DataObject) -> None:
    bad = data.draw(spoiled(sample), label="bad value")
    message = refusal(path, bad)
    assert message, f"{path}: {bad!r} was accepted"
    assert "Traceback" not in message


# -- the cases the issue names, end to end (nothing registered before the error) -------------


@pytest.mark.parametrize(
    ("config", "key"),
    [
        ({"aws:region": "eu-west-1\n"}, "aws:region"),
        ({"aws:region": "eu-west-\uff11"}, "aws:region"),
        (
            {
                "functions": [
                    {"name": "x", "arn": "arn:aws:lambda:eu-west-1:12345678901\uff12:function:x"}
                ]
            },
            "lambda-exposure:functions[0].arn",
        ),
        (
            {"functions": [{"name": "x", "handler": "app", "path": "/api\n"}]},
            "lambda-exposure:functions[0].path",
        ),
        (
            {"ipRangeSync": {"schedule": "rate(\uff15 minutes)"}},
            "lambda-exposure:ipRangeSync.schedule",
        ),
        (
            {"privateEndpoint": {"allowedActions": ["lambda:GetFunction\n"]}},
            "lambda-exposure:privateEndpoint.allowedActions[0]",
        ),
        (
            {"ipRangeSync": {"services": ["CLOUDFRONT\n"]}},
            "lambda-exposure:ipRangeSync.services[0]",
        ),
        (
            {"privateEndpoint": {"allowedPrincipals": ["\uff11" * 12]}},
            "lambda-exposure:privateEndpoint.allowedPrincipals[0]",
        ),
        (
            {"staticIp": {"sslPolicy": "ELBSecurityPolicy-TLS13-1-2-2021-06\n"}},
            "lambda-exposure:staticIp.sslPolicy",
        ),
        (
            {"staticEgress": {"echoUrl": "https://checkip.amazonaws.com/\x00"}},
            "lambda-exposure:staticEgress.echoUrl",
        ),
    ],
)
def test_named_cases_stop_before_any_resource(synth_error, config: dict, key: str) -> None:
    assert f"{key}:" in synth_error(config)


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        # str.upper() maps these to ASCII: u+017f (long s) -> S, u+0131 (dotless i) -> I.
        (
            {
                "ipRestrictedApi": {
                    "routes": [{"method": "po\u017ft", "path": "/", "allow": CIDRS[:1]}]
                }
            },
            "ipRestrictedApi.routes[0].method",
        ),
        (
            {
                "ipRestrictedApi": {
                    "routes": [{"method": "opt\u0131ons", "path": "/", "allow": CIDRS[:1]}]
                }
            },
            "ipRestrictedApi.routes[0].method",
        ),
        ({"edge": {"cors": {"allowMethods": ["GET", "po\u017ft"]}}}, "edge.cors.allowMethods[1]"),
        # ipaddress reads a zone id and keeps it in the normalized text.
        ({"ipRestrictedApi": {"allow": ["fe80::%eth0/64"]}}, "ipRestrictedApi.allow[0]"),
        # An IPv4 client never matches the IPv6 spelling of its address.
        ({"edge": {"allowedCidrs": ["::ffff:10.0.0.0/104"]}}, "edge.allowedCidrs[0]"),
        ({"staticIp": {"sslPolicy": "ELBSecurityX"}}, "staticIp.sslPolicy"),
        (
            {"edge": {"cors": {"allowOrigins": ["https://a.example:70000"]}}},
            "edge.cors.allowOrigins[0]",
        ),
        ({"staticEgress": {"echoUrl": "https://ip.example:0/"}}, "staticEgress.echoUrl"),
        ({"edge": {"cors": {"allowHeaders": ["X-A", "x a"]}}}, "edge.cors.allowHeaders[1]"),
        ({"ipRangeSync": {"schedule": "cron(0 6 * * ? *\u00a0)"}}, "ipRangeSync.schedule"),
    ],
)
def test_other_lenient_parsers_are_strict(raw: dict, key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, REGION)
    assert f"lambda-exposure:{key}:" in str(caught.value)


@pytest.mark.parametrize("text", [" 443", "443\n", "4_43", "+443", "443.0", "\uff14\uff14\uff13"])
def test_numbers_given_as_text_are_plain_ascii_digits(text: str) -> None:
    # pydantic's lax mode would read every one of these as 443.
    with pytest.raises(ConfigError, match=r"ipRangeSync\.ports\[0\]: .* is not an integer"):
        parse_config({"ipRangeSync": {"ports": [text]}}, REGION)
    with pytest.raises(ConfigError, match=r"network\.azCount: .* is not an integer"):
        parse_config({"network": {"azCount": text.replace("443", "3")}}, REGION)


def test_numbers_given_as_plain_text_still_work() -> None:
    config = parse_config(
        {
            "ipRangeSync": {"ports": ["8443"]},
            "ipRestrictedApi": {"throttling": {"rateLimit": "2.5"}},
        },
        REGION,
    )
    assert config.ip_range_sync.ports == [8443]
    assert config.ip_restricted_api.throttling.rate_limit == 2.5


def test_account_ids_are_ascii_digits() -> None:
    assert is_account_id("123456789012")
    assert not is_account_id("\uff11" * 12)  # "\uff11".isdigit() is True
    assert not is_account_id("123456789012\n")
    # Only a real account id becomes a :root ARN in the endpoint policy.
    assert principal_arns(["123456789012"], "1", "aws") == ["arn:aws:iam::123456789012:root"]


CONFIG_MODULES = sorted(Path(config_module.__file__).parent.glob("*.py"))


def test_config_checks_text_one_way_only() -> None:
    """Guard for the rule above: a new pattern in components/config/ goes through
    ``ascii_fullmatch``."""
    # The walk finds the package's modules (a broken one would silently check nothing).
    assert {"base.py", "types.py", "stack.py", "loading.py"} <= {m.name for m in CONFIG_MODULES}
    helpers = 0
    for module in CONFIG_MODULES:
        tree = ast.parse(module.read_text(encoding="utf-8"))
        defined = [
            n
            for n in ast.walk(tree)
            if isinstance(n, ast.FunctionDef) and n.name == "ascii_fullmatch"
        ]
        helpers += len(defined)
        inside_helper = {id(n) for helper in defined for n in ast.walk(helper)}
        for node in ast.walk(tree):
            where = f"{module.name}:{getattr(node, 'lineno', '?')}"
            if isinstance(node, ast.ImportFrom):
                assert node.module != "re", f"{where}: from re import ...; use ascii_fullmatch"
            if not isinstance(node, ast.Call) or id(node) in inside_helper:
                continue
            func = node.func
            if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
                assert func.value.id != "re", f"{where}: re.{func.attr}; use ascii_fullmatch"
            if isinstance(func, ast.Attribute) and func.attr in ("match", "search"):
                raise AssertionError(f"{where}: .{func.attr}(); use ascii_fullmatch")
            assert "pattern" not in {k.arg for k in node.keywords}, (
                f"{where}: Field(pattern=...); use matching"
            )
            if isinstance(func, ast.Name) and func.id == "ascii_fullmatch":
                pattern = ast.literal_eval(node.args[0])
                for unicode_class in ("\\d", "\\w", "\\s", "\\D", "\\W", "\\S", "\\b"):
                    assert unicode_class not in pattern, f"{where}: {unicode_class}"
                # fullmatch anchors both ends; a "$" of its own would be dead weight or a mistake.
                assert not pattern.endswith("$"), f"{where}: trailing $"
    assert helpers == 1, "ascii_fullmatch is defined once (components/config/base.py)"
