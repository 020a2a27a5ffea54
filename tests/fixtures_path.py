"""Where the shared, third-party fixtures live.

They are never copied into the project: tests read them from ``../shared/fixtures`` next to the
repository, or from the directory named by ``LAMBDA_EXPOSURE_FIXTURES``, and skip with a reason
when neither exists, so a fresh clone elsewhere still passes.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
ENV_VAR = "LAMBDA_EXPOSURE_FIXTURES"


def fixtures_dir() -> Path | None:
    """The shared fixtures directory, or None when it is not on this machine."""
    configured = os.environ.get(ENV_VAR)
    candidate = Path(configured) if configured else REPO_ROOT.parent / "shared" / "fixtures"
    return candidate if candidate.is_dir() else None


def require_fixture(*parts: str) -> Path:
    """Path of one shared fixture; skips the calling test when it is absent."""
    base = fixtures_dir()
    if base is None:
        pytest.skip(
            f"shared fixtures not found (set {ENV_VAR} or place them at ../shared/fixtures)"
        )
    path = base.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared fixture {'/'.join(parts)} not found under {base}")
    return path
