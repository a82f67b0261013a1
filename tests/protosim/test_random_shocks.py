"""Shocks drawn per run: probability, distributions, named streams, validation."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from protosim import Scenario, ScenarioError, Simulation
from protosim.events import ShockApplied
from protosim.testing import tiny_scenario_dict


def _scenario(random: dict[str, Any]) -> Scenario:
    data = tiny_scenario_dict(accounts=50, horizon_s=3_600.0)
    data["shocks"] = []
    data["random_shocks"] = [random]
    return Scenario.from_dict(data)


JUMP = {
    "probability": 0.5,
    "shock": {
        "kind": "price_jump",
        "asset": "ETH",
        "at_s": {"uniform": [100.0, 200.0]},
        "change": {"uniform": [-0.4, -0.1]},
    },
}


def _drawn(seed: int, random: dict[str, Any] = JUMP) -> list[ShockApplied]:
    sim = Simulation(_scenario(random), seed=seed)
    sim.run_until(1_000.0)
    return sim.context.log.of_type(ShockApplied)


def test_draws_fall_inside_their_distributions() -> None:
    """Every drawn jump happens between 100 and 200 s with a size between −40% and −10%."""
    for seed in range(20):
        for event in _drawn(seed):
            assert 100.0 <= event.t <= 200.0
            assert -0.4 <= event.size <= -0.1


def test_probability_sets_how_often_the_shock_happens() -> None:
    """Over 200 seeds a probability-0.5 shock happens 100 ± 5·√50 times (5 standard errors)."""
    happened = sum(1 for seed in range(200) if _drawn(seed))
    assert abs(happened - 100) <= 5 * np.sqrt(200 * 0.25)


def test_same_seed_draws_the_same_shock() -> None:
    """A run's draws come from its own named stream: the same seed, the same shock."""
    assert [(e.t, e.size) for e in _drawn(7)] == [(e.t, e.size) for e in _drawn(7)]


def test_outage_with_lognormal_length() -> None:
    """An outage length drawn log-normally around 600 s is positive and applied."""
    outage = {
        "shock": {
            "kind": "oracle_outage",
            "oracle": "eth-usd",
            "at_s": 50.0,
            "duration_s": {"lognormal": [600.0, 0.5]},
        }
    }
    (event,) = _drawn(3, outage)
    assert event.duration_s > 0


@pytest.mark.parametrize(
    ("shock", "expected"),
    [
        (
            {"kind": "price_jump", "asset": "BTC", "at_s": 1.0, "change": -0.1},
            "random_shocks[0].shock.asset",
        ),
        (
            {"kind": "price_jump", "asset": "ETH", "at_s": {"gamma": [1, 2]}, "change": -0.1},
            "shock.at_s",
        ),
        (
            {"kind": "price_jump", "asset": "ETH", "at_s": {"uniform": [5, 1]}, "change": -0.1},
            "low <= high",
        ),
    ],
)
def test_invalid_random_shock_is_rejected_with_its_key(
    shock: dict[str, Any], expected: str
) -> None:
    """An unknown target, an unknown distribution or a reversed range names the key."""
    with pytest.raises(ScenarioError) as info:
        _scenario({"shock": shock})
    assert expected in str(info.value)
