"""Shared fixtures: small scenarios and the location of the shared data folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import settings

# Property tests draw the same examples on every run (a red CI must be reproducible, never a
# roll of the dice), and a slow shared machine must not fail them on time alone.
settings.register_profile("protosim", derandomize=True, deadline=None)
settings.load_profile("protosim")

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture
def shared_dir() -> Path:
    """The shared folder beside the repository (real price data); skip if absent."""
    if not SHARED.is_dir():
        pytest.skip(f"the shared folder is not beside the repository at {SHARED}")
    return SHARED
