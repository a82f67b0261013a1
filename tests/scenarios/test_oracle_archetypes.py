"""Oracle failure archetypes (crashes.md, end): each reproduced from the rules, not scripted."""

from __future__ import annotations

from typing import Any

from protosim import Scenario, Simulation
from protosim.results import RunResult
from protosim.testing import tiny_scenario_dict


def _run(data: dict[str, Any], seed: int = 8) -> RunResult:
    return Simulation(Scenario.from_dict(data), seed=seed).run()


def _crash(extra_shocks: list[dict[str, Any]]) -> dict[str, Any]:
    data = tiny_scenario_dict(accounts=800, depth_usd=500e6, horizon_s=10_000.0)
    # A 35% fall over ten minutes.
    data["shocks"] = [
        {
            "kind": "price_jump",
            "at_s": 1_000.0,
            "asset": "ETH",
            "change": -0.35,
            "duration_s": 600.0,
        },
        *extra_shocks,
    ]
    return data


def test_frozen_feed_during_a_crash_leaves_bad_debt() -> None:
    """A feed frozen through a crash lets positions sink below their debt before any
    liquidation; the same crash with a live feed is liquidated in 0.5% steps."""
    frozen = {
        "kind": "oracle_outage",
        "at_s": 900.0,
        "oracle": "eth-usd",
        "duration_s": 1_500.0,
        "mode": "frozen",
    }
    live = _run(_crash([])).summary()
    stuck = _run(_crash([frozen])).summary()
    assert stuck["bad_debt_usd"] > 2 * max(live["bad_debt_usd"], 1.0)
    assert stuck["bad_debt_usd"] > 100_000.0


def test_delayed_oracle_lets_positions_go_underwater_before_liquidation() -> None:
    """With rounds delayed by 30 minutes, the first liquidation waits for the late round, and
    the accounts it finds are deeper underwater than with a prompt feed."""
    delay = {
        "kind": "oracle_delay",
        "at_s": 0.0,
        "oracle": "eth-usd",
        "extra_latency_s": 1_800.0,
        "duration_s": 5_000.0,
    }
    prompt = _run(_crash([])).liquidations
    late = _run(_crash([delay])).liquidations
    assert late["t"].min() > prompt["t"].min() + 1_800.0
    assert late["health_before"].min() < prompt["health_before"].min()


def test_bad_print_liquidates_healthy_positions() -> None:
    """A single wrong print 30% low liquidates positions the market never put at risk."""
    bad = {"kind": "oracle_bad_print", "at_s": 500.0, "oracle": "eth-usd", "change": -0.3}
    data = tiny_scenario_dict(accounts=800, depth_usd=500e6, horizon_s=3_000.0)
    data["shocks"] = [bad]
    result = _run(data)
    assert len(result.liquidations) > 0
    assert result.summary()["min_price"]["ETH"] == 2000.0  # the market itself never moved
