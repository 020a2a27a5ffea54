"""Shared test fixtures: the program under Pulumi mocks, and the policy helpers tests reuse."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pulumi
import pytest

from tools.synth import Synth, synthesize


@pytest.fixture
def synth() -> Callable[..., Synth]:
    """Run the real ``__main__.py`` under mocks: ``synth({"staticIp": {...}})``.

    Each call is an isolated run (fresh config, root stack, event loop and mocks).
    """
    return synthesize


@pytest.fixture
def synth_error() -> Callable[..., str]:
    """Run the program expecting a config error; returns the message, checks nothing registered."""

    def run(config: dict[str, Any], **kwargs: Any) -> str:
        from tools import synth as synth_module

        registered: list[str] = []
        original = synth_module.RecordingMonitor.RegisterResource

        def spy(self: Any, request: Any) -> Any:
            if request.type != "pulumi:pulumi:Stack":
                registered.append(f"{request.type}::{request.name}")
            return original(self, request)

        synth_module.RecordingMonitor.RegisterResource = spy  # type: ignore[method-assign]
        try:
            with pytest.raises(pulumi.RunError) as caught:
                synthesize(config, **kwargs)
        finally:
            synth_module.RecordingMonitor.RegisterResource = original  # type: ignore[method-assign]
        assert registered == [], f"resources registered before the config error: {registered}"
        return str(caught.value)

    return run


def policy_of(resource_inputs: dict[str, Any], key: str = "policy") -> dict[str, Any]:
    """A JSON policy input, parsed (policies are json.dumps-ed dicts, per DESIGN.md)."""
    value = resource_inputs[key]
    return json.loads(value) if isinstance(value, str) else value
