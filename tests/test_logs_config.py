"""Bad access-log config stops the program at its own key, before any resource is registered."""

from __future__ import annotations

from typing import Any

import pytest

PREFIX = "lambda-exposure:"


@pytest.mark.parametrize(
    ("config", "path", "why"),
    [
        (
            {"staticIp": {"enabled": True, "accessLogs": True, "accessLogRetentionDays": 0}},
            "staticIp.accessLogRetentionDays",
            "greater than or equal to 1",
        ),
        (
            {"edge": {"enabled": True, "accessLogs": True, "accessLogRetentionDays": -30}},
            "edge.accessLogRetentionDays",
            "greater than or equal to 1",
        ),
        # A boolean is never a number here (pydantic would read true as 1 day).
        (
            {"staticIp": {"enabled": True, "accessLogs": True, "accessLogRetentionDays": True}},
            "staticIp.accessLogRetentionDays",
            "not a number",
        ),
        (
            {"edge": {"enabled": True, "accessLogs": True, "accessLogRetentionDays": "3_0"}},
            "edge.accessLogRetentionDays",
            "plain digits",
        ),
        (
            {"staticIp": {"enabled": True, "accessLogs": True, "accessLogRetentionDays": 1.5}},
            "staticIp.accessLogRetentionDays",
            "fractional part",
        ),
        (
            {"edge": {"enabled": True, "accessLogs": "maybe"}},
            "edge.accessLogs",
            "valid boolean",
        ),
        (
            {"staticIp": {"enabled": True, "accessLogs": None}},
            "staticIp.accessLogs",
            "valid boolean",
        ),
        # A typo must not silently leave the logs off.
        (
            {"staticIp": {"enabled": True, "accesslogs": True}},
            "staticIp.accesslogs",
            "did you mean 'accessLogs'?",
        ),
        (
            {"edge": {"enabled": True, "accessLogRetention": 30}},
            "edge.accessLogRetention",
            "did you mean 'accessLogRetentionDays'?",
        ),
    ],
    ids=[
        "static-ip-zero-days",
        "edge-negative-days",
        "bool-as-days",
        "underscored-digits",
        "fractional-days",
        "not-a-boolean",
        "null",
        "misspelled-access-logs",
        "misspelled-retention",
    ],
)
def test_bad_access_log_values_name_their_key(
    synth_error, config: dict[str, Any], path: str, why: str
) -> None:
    message = synth_error(config)
    line = next((ln for ln in message.splitlines() if ln.startswith(f"{PREFIX}{path}:")), None)
    assert line is not None, message
    assert why in line, line


def test_every_bad_access_log_value_is_reported_at_once(synth_error) -> None:
    message = synth_error(
        {
            "staticIp": {"enabled": True, "accessLogs": True, "accessLogRetentionDays": 0},
            "edge": {"enabled": True, "accessLogs": "sometimes"},
        }
    )
    assert f"{PREFIX}staticIp.accessLogRetentionDays:" in message
    assert f"{PREFIX}edge.accessLogs:" in message
