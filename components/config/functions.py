"""``lambda-exposure:functions``: the functions the entries expose, bundled or existing."""

from __future__ import annotations

import difflib
from typing import Annotated

from pydantic import Field, ValidationInfo, field_validator, model_validator

from components.config.base import (
    ENTRIES,
    HANDLERS_DIR,
    ConfigError,
    ConfigModel,
    ascii_fullmatch,
    matching,
)
from components.config.types import FunctionArn, LogRetentionDays, PathPrefix, check_unique

_FUNCTION_NAME_RE = ascii_fullmatch(r"[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?")
_MODULE_NAME_RE = ascii_fullmatch(r"[a-z_][a-z0-9_]*")

FunctionName = Annotated[
    str,
    matching(
        _FUNCTION_NAME_RE,
        "a function name (1 to 40 of a-z 0-9 -, starting and ending with a letter or digit)",
    ),
]


class FunctionConfig(ConfigModel):
    """One exposed function: a bundled handler module, or an existing function by ARN."""

    name: FunctionName = Field(
        description="Unique name (`a-z 0-9 -`, 1 to 40): names the function's resources and "
        "its `functionArns` key"
    )
    handler: str | None = Field(
        default=None,
        description="A bundled module `handlers/<handler>.py` exposing `handler(event, "
        "context)`: the stack deploys it. Exactly one of `handler` and `arn`",
    )
    arn: FunctionArn | None = Field(
        default=None,
        description="An existing function (unqualified ARN): looked up, never modified. "
        "Exactly one of `handler` and `arn`",
    )
    path: PathPrefix = Field(
        default="/",
        description="Path prefix the function serves, with everything under it, on every "
        "entry that exposes it; unique (at most 126 characters)",
    )
    memory_size: int = Field(
        default=256,
        ge=128,
        le=10240,
        alias="memorySize",
        description="Memory in MB (bundled only); Lambda bills by MB-second",
    )
    timeout: int = Field(
        default=10, ge=1, le=900, description="Run time limit in seconds (bundled only)"
    )
    log_retention_days: LogRetentionDays = Field(
        default=14,
        alias="logRetentionDays",
        description="Days CloudWatch Logs keeps the function's own log group (bundled only)",
    )
    # None = every enabled entry (see StackConfig.entries_of).
    expose: list[str] | None = Field(
        default=None,
        description="The entries that serve it, any of `staticIp`, `ipRestrictedApi`, `edge`, "
        "`privateEndpoint`; each must be enabled. Unset: every enabled entry",
    )
    # The explicit "the wider exposure is intended" that the consistency check asks for.
    wider_exposure: list[str] = Field(
        default_factory=list,
        alias="widerExposure",
        description="Entries of this function that may admit sources outside a restriction "
        "another entry puts on the same path (the program stops otherwise); `privateEndpoint` "
        "never widens",
    )

    @field_validator("expose", "wider_exposure")
    @classmethod
    def _entry_names(cls, value: list[str] | None, info: ValidationInfo) -> list[str] | None:
        if value is None:
            return value
        for index, entry in enumerate(value):
            if entry not in ENTRIES:
                suggestion = difflib.get_close_matches(str(entry), ENTRIES, n=1)
                hint = f" (did you mean {suggestion[0]!r}?)" if suggestion else ""
                raise ConfigError(
                    f"[{index}]: {entry!r} is not an entry{hint}; entries: {', '.join(ENTRIES)}"
                )
        if info.field_name == "expose" and not value:
            raise ValueError(
                "an empty list serves the function through no entry; name at least one of "
                f"{', '.join(ENTRIES)}, or remove expose (default: every enabled entry)"
            )
        return check_unique(value, "entry")

    @field_validator("handler")
    @classmethod
    def _handler_module_exists(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if not _MODULE_NAME_RE(value):
            raise ValueError(f"{value!r} is not a Python module name")
        if not (HANDLERS_DIR / f"{value}.py").is_file():
            bundled = sorted(p.stem for p in HANDLERS_DIR.glob("*.py") if p.stem != "__init__")
            raise ValueError(
                f"no bundled handler module handlers/{value}.py (bundled: {', '.join(bundled)})"
            )
        return value

    @model_validator(mode="after")
    def _handler_xor_arn(self) -> FunctionConfig:
        if self.handler and self.arn:
            raise ValueError("give either 'handler' (bundled) or 'arn' (existing), not both")
        if not self.handler and not self.arn:
            raise ValueError("give 'handler' (a module in handlers/) or 'arn' (existing function)")
        return self

    @property
    def bundled(self) -> bool:
        return self.handler is not None


def default_functions() -> list[FunctionConfig]:
    """The bundled whoami app at '/': what a stack without ``functions`` exposes."""
    return [FunctionConfig(name="app", handler="app", path="/")]
