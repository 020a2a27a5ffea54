"""What every config model shares: the base model, the error type, the one way text is matched.

Nothing here knows a config key; the pattern modules and ``stack.py`` do.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, get_args, get_origin

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationInfo, field_validator

PROJECT = "lambda-exposure"
HANDLERS_DIR = Path(__file__).resolve().parents[2] / "handlers"

# The entries a function can be exposed through (functions[].expose), in contract order.
ENTRIES = ("staticIp", "ipRestrictedApi", "edge", "privateEndpoint")


class ConfigError(ValueError):
    """A config value the program cannot use; carries the key path for the message."""


def ascii_fullmatch(pattern: str, flags: int = 0) -> Callable[[str], re.Match[str] | None]:
    r"""The one way this package checks text against a pattern: all of it, with ASCII classes.

    ``re.match(r"...$")`` accepts a trailing newline ("eu-west-1\n"); ``\d``/``\w``/``\s`` match
    any Unicode digit, letter or space (a full-width "eu-west-\uff11"), in Python and in
    pydantic's ``Field(pattern=...)`` (its Rust engine is Unicode-aware too). Such values would
    pass and reach resource names, policies and schedules. So: ``fullmatch``, ``re.ASCII``,
    explicit classes, and no ``Field(pattern=...)`` (``matching`` instead).
    """
    return re.compile(pattern, re.ASCII | flags).fullmatch


def matching(rule: Callable[[str], object], what: str) -> AfterValidator:
    """A string constraint for ``Annotated[str, ...]``: ``rule`` must match the whole value."""

    def check(value: str) -> str:
        if not rule(value):
            raise ValueError(f"{value!r} is not {what}")
        return value

    return AfterValidator(check)


_DECIMAL_RE = ascii_fullmatch(r"-?[0-9]+")
_FLOAT_RE = ascii_fullmatch(r"-?[0-9]+(\.[0-9]+)?")


def _is_number_type(annotation: Any) -> bool:
    return annotation in (int, float)


def _plain_number(value: Any, kind: Any) -> None:
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    if isinstance(value, str) and not (_DECIMAL_RE if kind is int else _FLOAT_RE)(value):
        whole = "an integer" if kind is int else "a number"
        raise ValueError(f"{value!r} is not {whole} (plain digits 0-9)")


class ConfigModel(BaseModel):
    """Base: camelCase keys, unknown keys refused (a typo must not be silently ignored)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_as_number(cls, value: Any, info: ValidationInfo) -> Any:
        # pydantic's lax mode reads true/false as 1/0 for numbers: `ports: [true]` would open
        # port 1 and `azCount: true` build one zone. A boolean is never a number here. It also
        # reads " 443\n", "4_43", "+443" and "443.0" as 443: a number given as a string (as
        # `pulumi config set` may store it) is plain ASCII digits.
        if info.field_name is None:
            return value
        annotation = cls.model_fields[info.field_name].annotation
        if _is_number_type(annotation):
            _plain_number(value, annotation)
        item_type = get_args(annotation)[0] if get_origin(annotation) is list else None
        if _is_number_type(item_type) and isinstance(value, list):
            for index, item in enumerate(value):
                try:
                    _plain_number(item, item_type)
                except ValueError as exc:
                    raise ConfigError(f"[{index}]: {exc}") from None
        return value
