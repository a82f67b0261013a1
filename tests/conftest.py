"""Shared fixtures: small scenarios and the location of the shared data folder."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture
def shared_dir() -> Path:
    """The shared folder beside the repository (real price data); skip if absent."""
    if not SHARED.is_dir():
        pytest.skip(f"the shared folder is not beside the repository at {SHARED}")
    return SHARED
