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


def _three_venue_scenario(sell_on: str = "dex") -> dict[str, Any]:
    """Two Aave markets with the same borrowers: one prices ETH off one venue's own book, the
    other off a weighted median of three venues; keepers sell seized ETH on `sell_on`."""
    data = tiny_scenario_dict(accounts=500, depth_usd=500e6, horizon_s=1_800.0)
    book = {"kind": "square_root", "daily_volume_usd": 1e9, "daily_volatility": 0.04}
    data["markets"] = [
        {"id": venue, "asset": "ETH", "impact": book, "recovery_half_life_s": 120.0}
        for venue in ("cex-a", "cex-b", "cex-c", "dex")
    ]
    data["oracles"][0] = {
        "id": "eth-own-book",
        "kind": "oracle.internal_book",
        "params": {"asset": "ETH", "venue": "cex-a"},
    }
    data["oracles"].append(
        {
            "id": "eth-median",
            "kind": "oracle.median_index",
            "params": {"asset": "ETH", "weights": {"cex-a": 1.0, "cex-b": 1.0, "cex-c": 1.0}},
        }
    )
    single = data["venues"][0]
    single["params"]["reserves"]["ETH"]["oracle"] = "eth-own-book"
    median = {**single, "id": "aave-median", "params": {**single["params"]}}
    median["params"]["reserves"] = {
        **single["params"]["reserves"],
        "ETH": {**single["params"]["reserves"]["ETH"], "oracle": "eth-median"},
    }
    data["venues"].append(median)
    data["agents"] = [
        {
            "id": f"keeper-{v}",
            "kind": "agent.lending_keeper",
            "params": {"venue": v, "sell_on": {"ETH": sell_on}},
        }
        for v in ("aave", "aave-median")
    ]
    # A bad print on venue A only: someone dumps ETH there, moving it 30% for two minutes.
    data["shocks"] = [
        {
            "kind": "market_trade",
            "at_s": 300.0,
            "venue": "cex-a",
            "target_change": -0.3,
            "hold_s": 120.0,
        }
    ]
    return data


def test_bad_print_liquidates_on_a_single_venue_oracle_and_not_on_a_median() -> None:
    """A 30% print on one venue liquidates the market that prices off that venue's own book;
    the market on a three-venue median, with the same borrowers, is untouched."""
    result = _run(_three_venue_scenario())
    venues = result.liquidations["venue"].astype(str)
    assert (venues == "aave").sum() > 0
    assert (venues == "aave-median").sum() == 0


def test_forced_selling_into_a_median_venue_carries_the_print_to_the_median_market() -> None:
    """When the own-book market's keepers sell into a venue the median also watches while the
    print lasts, two of three venues are down and the median market liquidates too."""
    result = _run(_three_venue_scenario(sell_on="cex-b"))
    venues = result.liquidations["venue"].astype(str)
    assert (venues == "aave").sum() > 0
    assert (venues == "aave-median").sum() > 0
