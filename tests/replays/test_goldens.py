"""Golden replay summaries: every fixture with a reported.toml replays to its stored text.

A golden is regenerated only on purpose, with the command each failure prints. Replays slower
than ~20 s run under ``-m slow``; each has a fast representative (the same fixture with small
populations and, where it keeps the event, a shorter window) in the default run.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from protosim.catalog import fixtures_root
from protosim.replay import replay

GOLDENS = Path(__file__).parent / "goldens"

# Fixtures whose full replay is slow, and the --set assignments of their fast case.
_OCT_FAST = ["horizon_s=23400"] + [  # to 22:30 UTC: past the 21:36-22:16 depeg window
    f"venues.{venue}.params.populations[{i}].accounts={n}"
    for venue, sizes in {
        "binance": (600, 500, 300, 150, 450),
        "hyperliquid": (400, 400, 200),
        "other-cex": (500, 400, 200, 50),
        "aave-v3": (100,),
    }.items()
    for i, n in enumerate(sizes)
]
FAST: dict[str, list[str]] = {"oct-2025": _OCT_FAST}
SLOW = {"oct-2025"}


def _events() -> list[str]:
    return sorted(p.parent.name for p in fixtures_root().glob("*/reported.toml"))


def _command(event: str, overrides: list[str], suffix: str | None) -> str:
    sets = "".join(f" --set '{o}'" for o in overrides)
    tail = f" --golden-suffix {suffix}" if suffix else ""
    return f"protosim replay {event}{sets} --write-golden{tail}"


def _check(event: str, overrides: list[str], suffix: str | None) -> None:
    name = f"{event}.{suffix}.txt" if suffix else f"{event}.txt"
    golden = GOLDENS / name
    command = _command(event, overrides, suffix)
    if not golden.is_file():
        pytest.fail(f"no golden {golden}; create it on purpose with: {command}")
    text = replay(event, overrides=overrides).to_text()
    assert text == golden.read_text(encoding="utf-8"), (
        f"replay of {event} differs from {golden}; if the change is intended: {command}"
    )


def _full_params() -> list[object]:
    return [
        pytest.param(e, marks=pytest.mark.slow, id=e) if e in SLOW else pytest.param(e, id=e)
        for e in _events()
    ]


@pytest.mark.parametrize("event", _full_params())
def test_replay_matches_golden(event: str) -> None:
    """The seeded replay of each fixture prints exactly its golden summary."""
    _check(event, [], None)


@pytest.mark.parametrize("event", sorted(FAST))
def test_fast_replay_matches_golden(event: str) -> None:
    """The fast representative of a slow fixture prints exactly its golden summary."""
    _check(event, FAST[event], "fast")


def test_every_reported_fixture_is_covered() -> None:
    """Each fixture with reported figures has a default-run golden test (full or fast)."""
    assert "oct-2025" in _events()
    for event in _events():
        assert event not in SLOW or event in FAST, f"{event} is slow and has no fast case"
