"""How tests run the program: once per distinct config when they only read the graph, and
expecting it to fail.

``tests/conftest.py`` turns these into the ``synth_shared``, ``synth_error`` and ``synth_failure``
fixtures; a module-level helper may call them directly.
"""

from __future__ import annotations

import copy
import json
from collections import OrderedDict
from typing import Any

import pytest

from tools.synth import ProgramFailed, Synth, synthesize

# The most recent runs only: tests reuse a graph within their module, and a larger heap makes
# every garbage collection of the worker slower.
_SHARED: OrderedDict[str, Synth] = OrderedDict()
_SHARED_RUNS = 24


def shared_synthesis(config: dict[str, Any] | None = None, **kwargs: Any) -> Synth:
    """``synthesize(config, **kwargs)``, run once per distinct arguments (of the recent ones).

    Each caller gets its own deep copy (a few ms, against 0.1-1 s for a synthesis), so a test
    may even mutate it. Only for tests that leave the program as it is: a test that patches a
    component, the SDK or the mocks must call ``synthesize`` (the ``synth`` fixture) itself.
    """
    assert "hook" not in kwargs, "a construction hook changes the program: use synthesize"
    key = json.dumps([config, kwargs], sort_keys=True, default=str)
    if key in _SHARED:
        _SHARED.move_to_end(key)
    else:
        _SHARED[key] = synthesize(config, **kwargs)
        if len(_SHARED) > _SHARED_RUNS:
            _SHARED.popitem(last=False)
    return copy.deepcopy(_SHARED[key])


def expect_failure(config: dict[str, Any], **kwargs: Any) -> ProgramFailed:
    """Run the program expecting it to fail; the failure, with what was sent before it."""
    with pytest.raises(ProgramFailed) as caught:
        synthesize(config, **kwargs)
    return caught.value


def expect_config_error(config: dict[str, Any], **kwargs: Any) -> str:
    """Run the program expecting a config error; its message. Nothing may have been created."""
    failure = expect_failure(config, **kwargs)
    assert failure.constructed == [], (
        f"resources constructed before the config error: {failure.constructed}"
    )
    return str(failure)
