"""Raw stack config -> ``StackConfig``, with one message per bad value naming its key path.

``load_config()`` is what ``__main__.py`` calls: it reads Pulumi's config, warns about keys the
program would never read, and stops the program with one ``pulumi.RunError`` listing every bad
value *before* any resource is registered. ``parse_config()`` is the same without Pulumi.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from components.config.base import PROJECT, ConfigError, ascii_fullmatch
from components.config.ip_range_sync import KNOWN_IP_RANGE_SERVICES
from components.config.private_endpoint import private_dns_effect
from components.config.stack import TOP_LEVEL_KEYS, StackConfig


def _format_location(loc: tuple[str | int, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif str(part).startswith("function-") or part in ("str", "RegionEndpoint"):
            # pydantic names union members / wrapped validators in the location; not a key.
            continue
        else:
            path += f".{part}" if path else str(part)
    return path


def _error_message(error: Mapping[str, Any], model_path: str) -> str:
    kind = error["type"]
    message = str(error["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    if kind == "extra_forbidden":
        bad_key = str(error["loc"][-1])
        allowed = _allowed_keys_at(error["loc"][:-1])
        suggestion = difflib.get_close_matches(bad_key, allowed, n=1)
        hint = f" (did you mean {suggestion[0]!r}?)" if suggestion else ""
        return f"unknown key {bad_key!r}{hint}; allowed keys: {', '.join(allowed)}"
    if kind == "string_pattern_mismatch":
        return f"{error['input']!r} does not match {error['ctx']['pattern']}"
    if kind.endswith(("_type", "_parsing")) or kind in ("literal_error", "enum"):
        return f"{message} (got {error['input']!r})"
    # A ConfigError raised by a model validator carries a sub-path: "allowedCidrs[1]: ...".
    return message


def _allowed_keys_at(loc: tuple[str | int, ...]) -> list[str]:
    """The keys a model accepts at a location, for the 'unknown key' message."""
    model: type[BaseModel] | None = StackConfig
    for part in loc:
        if isinstance(part, int) or model is None:
            continue
        field = next(
            (f for n, f in model.model_fields.items() if (f.alias or n) == part),
            None,
        )
        if field is None:
            return []
        model = model_in(field.annotation)
    if model is None:
        return []
    return [f.alias or n for n, f in model.model_fields.items()]


def model_in(annotation: Any) -> type[BaseModel] | None:
    """The model a field holds (``NetworkConfig``, ``list[ApiRoute]``, ``CorsConfig | None``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = model_in(arg)
        if found is not None:
            return found
    return None


# DOTALL: a message that quotes a value with a newline still has its sub-path read.
_SUB_PATH_RE = ascii_fullmatch(
    r"([A-Za-z]+(\.[A-Za-z]+|\[[0-9]+\])*|\[[0-9]+\](\.[A-Za-z]+)*): (.*)", re.DOTALL
)


def _messages(exc: ValidationError) -> list[str]:
    lines = []
    for error in exc.errors():
        path = _format_location(error["loc"])
        message = _error_message(error, path)
        # Model-level errors that name a sub-path ("allowedCidrs[1]: ...") extend the path.
        match = _SUB_PATH_RE(message)
        if match:
            sub, message = match.group(1), match.group(4)
            if sub.startswith("["):
                path = f"{path}{sub}"
            elif sub.split(".")[0].split("[")[0] in TOP_LEVEL_KEYS:
                path = sub
            else:
                path = f"{path}.{sub}" if path else sub
        lines.append(f"{PROJECT}:{path}: {message}" if path else f"{PROJECT}: {message}")
    return lines


def parse_config(raw: Mapping[str, Any], region: str | None) -> StackConfig:
    """Validate a dict of top-level keys (already JSON-decoded). Raises ConfigError."""
    unknown = sorted(set(raw) - set(TOP_LEVEL_KEYS))
    if unknown:
        lines = []
        for key in unknown:
            suggestion = difflib.get_close_matches(key, TOP_LEVEL_KEYS, n=1)
            hint = f" (did you mean {PROJECT}:{suggestion[0]}?)" if suggestion else ""
            lines.append(f"{PROJECT}:{key}: unknown config key{hint}")
        raise ConfigError("\n".join(lines))
    if not region:
        raise ConfigError("aws:region: not set (pulumi config set aws:region eu-west-1)")
    try:
        return StackConfig.model_validate({**raw, "region": region})
    except ValidationError as exc:
        messages = _messages(exc)
        for index, line in enumerate(messages):
            messages[index] = line.replace(f"{PROJECT}:region:", "aws:region:")
        raise ConfigError("\n".join(messages)) from None


def read_raw_config(all_config: Mapping[str, str]) -> dict[str, Any]:
    """This project's keys from Pulumi's flat ``{"ns:key": "json"}`` config map."""
    raw: dict[str, Any] = {}
    prefix = f"{PROJECT}:"
    for full_key, text in all_config.items():
        if not full_key.startswith(prefix):
            continue
        key = full_key[len(prefix) :]
        try:
            raw[key] = json.loads(text)
        except (json.JSONDecodeError, TypeError):
            raw[key] = text  # a plain string value (pulumi config set key value)
    return raw


def suspicious_config_keys(all_config: Mapping[str, Any]) -> list[str]:
    """Keys the program never reads but was probably meant to: one message per key.

    A key with no namespace, or in a namespace a typo away from this project's
    (``lambda-exposur:staticIp``), is silently ignored by ``pulumi up``: the stack would deploy
    the defaults. The program warns about them; the offline preview refuses them.
    """

    def edit_distance(a: str, b: str) -> int:
        previous = list(range(len(b) + 1))
        for i, char_a in enumerate(a, 1):
            current = [i]
            for j, char_b in enumerate(b, 1):
                current.append(
                    min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b))
                )
            previous = current
        return previous[-1]

    notes = []
    for full_key in sorted(all_config):
        namespace, colon, key = full_key.partition(":")
        if not colon:
            namespace, key = "", full_key
        if not namespace:
            notes.append(
                f"{full_key}: no namespace, so the program never reads it "
                f"(did you mean {PROJECT}:{key}?)"
            )
        elif namespace != PROJECT and edit_distance(namespace.lower(), PROJECT) <= 3:
            notes.append(
                f"{full_key}: namespace {namespace!r} is not {PROJECT!r}, so the program never "
                f"reads it (did you mean {PROJECT}:{key}?)"
            )
    return notes


def warnings_for(config: StackConfig) -> list[str]:
    """Valid but suspicious settings: reported, not refused."""
    notes = []
    for index, service in enumerate(config.ip_range_sync.services):
        if service not in KNOWN_IP_RANGE_SERVICES:
            notes.append(
                f"{PROJECT}:ipRangeSync.services[{index}]: {service!r} is not a service identifier "
                "seen in ip-ranges.json so far; it will select nothing until AWS publishes it"
            )
    if config.static_ip.enabled and config.static_ip.entry == "nlb" and _az_count(config) < 2:
        # Reachable with an existing VPC only: a new one with azCount 1 is refused (the ALB
        # behind the NLB needs two zones), but one public subnet still makes a working NLB.
        notes.append(
            f"{PROJECT}:network.publicSubnetIds: entry nlb with one public subnet gives one "
            "static IP and no zone redundancy; give a public subnet in each ALB zone for "
            "production"
        )
    pe = config.private_endpoint
    if pe.enabled and not config.network.existing and "private_dns" not in pe.model_fields_set:
        notes.append(
            f"{PROJECT}:privateEndpoint.privateDns: not set, so true in the VPC this stack "
            f"creates. {private_dns_effect(config.region)}. Set it to say which you want"
        )
    existing = [f.name for f in config.functions if not f.bundled]
    if config.static_egress.enabled and existing:
        notes.append(
            f"{PROJECT}:staticEgress: existing functions ({', '.join(existing)}) are not modified "
            "and do not get the static egress IP; put them in the VPC yourself"
        )
    return notes


def _az_count(config: StackConfig) -> int:
    net = config.network
    return len(net.public_subnet_ids) if net.existing else net.az_count


def load_config() -> StackConfig:
    """Read and validate the stack config; stop the program cleanly on any bad value."""
    import pulumi
    from pulumi.runtime.config import CONFIG, get_config_env

    region = (
        pulumi.Config("aws").get("region")
        or os.environ.get("AWS_REGION")
        or os.environ.get("AWS_DEFAULT_REGION")
    )
    all_config = {**get_config_env(), **CONFIG.get()}
    for note in suspicious_config_keys(all_config):
        pulumi.log.warn(note)
    try:
        config = parse_config(read_raw_config(all_config), region)
    except ConfigError as exc:
        raise pulumi.RunError(f"invalid stack config:\n{exc}") from None
    for note in warnings_for(config):
        pulumi.log.warn(note)
    return config
