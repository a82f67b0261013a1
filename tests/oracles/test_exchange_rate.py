"""Staked-asset feed: base × exchange ratio, capped by Aave CAPO (mechanics §1.8, §10).

CAPO (bgd-labs/aave-capo ``PriceCapAdapterBase._setCapParameters``)::

    maxRatioGrowthPerSecond = snapshotRatio · maxYearlyRatioGrowthPercent / 100_00 / 365 days

with ``maxYearlyRatioGrowthPercent`` in hundredths of a percent, so 9.68%/yr on a snapshot of
1.10 allows ``1.10 · 0.0968 / 31_536_000`` of ratio per second.
"""

from __future__ import annotations

from typing import Any

import pytest

from protosim import Scenario, Simulation
from protosim.events import ROOT, OracleUpdated, ShockApplied
from protosim.oracles.exchange_rate import ExchangeRateFeed, capped_ratio
from protosim.results import RunResult

BLOCK = 12.0
DAY = 86_400
YEAR = 365 * DAY
# 1.10 + 1.10 · 0.0968 · 30/365 = 1.10 + 0.0087517808… (hand arithmetic: 0.10648 · 30 / 365).
CAP_AFTER_30_DAYS = 1.10 + 0.10648 * 30 / 365


def test_capo_cap_thirty_days_after_snapshot_matches_hand_arithmetic() -> None:
    """Snapshot 1.10, 9.68%/yr: 30 days later the ratio is capped at 1.10875178…"""
    assert abs(CAP_AFTER_30_DAYS - 1.108751780821918) < 1e-15
    assert capped_ratio(1.20, 1.10, -30 * DAY, 968, 0.0) == pytest.approx(
        CAP_AFTER_30_DAYS, rel=1e-15
    )
    # The contract in integers (ratio in 1e18): per second floor(1.1e18 · 968 / 1e4 / 31536000)
    # = floor(106480000000000000 / 31536000) = 3376458650 wei; × 2592000 s = 8.7517808208e15.
    per_second = 1_100_000_000_000_000_000 * 968 // 10_000 // YEAR
    assert per_second == 3_376_458_650
    onchain = (1_100_000_000_000_000_000 + per_second * 30 * DAY) / 1e18
    # Truncating the per-second growth loses < 1 wei/s: < 2.6e-12 of ratio over 30 days.
    assert capped_ratio(1.20, 1.10, -30 * DAY, 968, 0.0) - onchain == pytest.approx(0, abs=2.6e-12)


def test_capo_ratio_under_the_cap_is_used_as_is() -> None:
    """min(current, cap): a current ratio of 1.105 < 1.1087 passes unchanged."""
    assert capped_ratio(1.105, 1.10, -30 * DAY, 968, 0.0) == 1.105


def _wsteth_run(
    *,
    shocks: list[dict[str, Any]] | None = None,
    actions: list[tuple[float, str]] | None = None,
    **params: Any,
) -> tuple[RunResult, ExchangeRateFeed]:
    rate: dict[str, Any] = {
        "asset": "WSTETH",
        "base": "eth-usd",
        "ratio": 1.20,
        "max_yearly_ratio_growth": 968,
        "snapshot_ratio": 1.10,
        "snapshot_time_s": -30 * DAY,
    }
    rate.update(params)
    data = {
        "name": "capo",
        "horizon_s": 600.0,
        "assets": [
            {"id": "ETH", "path": {"kind": "constant", "price": 2000.0}},
            {"id": "WSTETH", "path": {"kind": "constant", "price": 2400.0}},
        ],
        "chains": [{"id": "ethereum", "block_time_s": BLOCK}],
        "oracles": [
            {
                "id": "eth-usd",
                "kind": "oracle.chainlink",
                "params": {
                    "asset": "ETH",
                    "chain": "ethereum",
                    "latency_min_s": 0.0,
                    "latency_max_s": 0.0,
                },
            },
            {"id": "wsteth-usd", "kind": "oracle.exchange_rate", "params": rate},
        ],
        "shocks": shocks or [],
    }
    sim = Simulation(Scenario.from_dict(data), seed=1)
    feed = sim.context.oracles["wsteth-usd"]
    assert isinstance(feed, ExchangeRateFeed)
    log = sim.context.log
    for at_s, _ in actions or []:

        def slash() -> None:
            seq = log.emit(
                ShockApplied,
                cause=ROOT,
                shock="ratio_change",
                target="wsteth-usd",
                size=1.105,
                duration_s=0.0,
            )
            feed.set_ratio(1.105, cause=seq)

        sim.context.clock.call_at(at_s, "test.ratio", slash)
    return sim.run(), feed


def _updates(result: RunResult, oracle: str) -> list[OracleUpdated]:
    return [u for u in result.log.of_type(OracleUpdated) if u.oracle == oracle]


def test_exchange_rate_base_round_republishes_base_times_capped_ratio() -> None:
    """ETH −10% lands at t = 108; wstETH = 1800 × (1.10 + 1.10·0.0968·(30 d + 108 s)/365 d)."""
    drop = {"kind": "price_jump", "at_s": 100.0, "asset": "ETH", "change": -0.1}
    result, _ = _wsteth_run(shocks=[drop])
    (eth,) = _updates(result, "eth-usd")
    (wsteth,) = _updates(result, "wsteth-usd")
    assert eth.t == 108.0
    assert wsteth.t == 108.0
    assert wsteth.cause == eth.seq
    # The initial answer: 2000 × the cap at t = 0 (the current ratio 1.20 is above it).
    assert wsteth.previous == pytest.approx(2000.0 * CAP_AFTER_30_DAYS, abs=1e-8)
    cap_at_108 = 1.10 + 0.10648 * (30 * DAY + 108) / YEAR
    assert wsteth.answer == pytest.approx(1800.0 * cap_at_108, abs=1e-8)


def test_exchange_rate_market_discount_of_staked_asset_moves_nothing() -> None:
    """A 6% secondary-market discount of wstETH (June 2022) does not reach the CAPO price."""
    discount = {"kind": "price_jump", "at_s": 100.0, "asset": "WSTETH", "change": -0.06}
    result, feed = _wsteth_run(shocks=[discount])
    assert _updates(result, "wsteth-usd") == []
    assert feed.read().price == pytest.approx(2000.0 * CAP_AFTER_30_DAYS, abs=1e-8)


def test_exchange_rate_set_ratio_below_cap_republishes_with_given_cause() -> None:
    """A ratio change to 1.105 (under the cap) at t = 200 republishes 2000 × 1.105 at once."""
    result, _ = _wsteth_run(actions=[(200.0, "ratio_change")])
    (update,) = _updates(result, "wsteth-usd")
    assert update.t == 200.0
    assert update.reason == "ratio_change"
    assert update.answer == pytest.approx(2000.0 * 1.105, abs=1e-8)
    assert type(result.log.get(update.cause)).__name__ == "ShockApplied"


def test_exchange_rate_ratio_growth_compounds_yearly_rate() -> None:
    """Without a cap, a ratio of 1.10 growing 3.5%/yr is 1.10 × 1.035^(t/yr) at a base round."""
    drop = {"kind": "price_jump", "at_s": 100.0, "asset": "ETH", "change": -0.1}
    result, _ = _wsteth_run(
        shocks=[drop],
        ratio=1.10,
        ratio_growth_per_year=0.035,
        max_yearly_ratio_growth=None,
        snapshot_ratio=None,
    )
    (wsteth,) = _updates(result, "wsteth-usd")
    assert wsteth.answer == pytest.approx(1800.0 * 1.10 * 1.035 ** (108 / YEAR), abs=1e-8)
