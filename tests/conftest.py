"""Shared fixtures: the program under Pulumi mocks, and the program failing.

``synth`` runs the real ``__main__.py`` (``tools.synth.synthesize``); ``synth_shared`` does the
same once per distinct config for tests that only read the graph. A failed run raises
``tools.synth.ProgramFailed``, which lists every resource the program had constructed and every
registration that had reached the engine: ``synth_error`` (a config error: nothing at all) and
``synth_failure`` (an error found later, e.g. inside an ``apply``: the test asserts what was kept
out) both read it. The implementations are in ``tests/harness.py``; graph helpers and type tokens
in ``tests/graph.py``.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.harness import expect_config_error, expect_failure, shared_synthesis
from tools.synth import ProgramFailed, Synth, synthesize


@pytest.fixture
def synth() -> Callable[..., Synth]:
    """Run the real ``__main__.py`` under mocks: ``synth({"staticIp": {...}})``.

    Each call is an isolated run (fresh config, root stack, event loop and mocks).
    """
    return synthesize


@pytest.fixture
def synth_shared() -> Callable[..., Synth]:
    """Like ``synth``, but one run per distinct arguments, each caller getting a copy: for tests
    that do not patch the program (``tests/harness.py``)."""
    return shared_synthesis


@pytest.fixture
def synth_error() -> Callable[..., str]:
    """``synth_error(config, **synthesize_kwargs)``: the config error's message; asserts that
    no resource was constructed (so none registered) before it."""
    return expect_config_error


@pytest.fixture
def synth_failure() -> Callable[..., ProgramFailed]:
    """``synth_failure(config, **synthesize_kwargs)``: the failure (``.registered`` lists the
    ``type::name`` of each registration that reached the engine before it)."""
    return expect_failure
