"""Uniswap v3 TWAP: tick accumulator, floor of the mean tick, geometric mean (mechanics §4.4)."""

from __future__ import annotations

import math
from typing import Any

import pytest

from protosim import Scenario, Simulation
from protosim.events import OracleUpdated
from protosim.oracles.twap import arithmetic_mean_tick, price_to_tick, tick_to_price
from protosim.results import RunResult

# Prices in the middle of a tick (100.5, not 100) keep float rounding away from tick boundaries.
P0 = 1.0001**100.5


def _twap_run(
    *,
    price: float = P0,
    shocks: list[dict[str, Any]] | None = None,
    trades: list[tuple[float, float]] | None = None,
    horizon_s: float = 1_800.5,
    **params: Any,
) -> RunResult:
    feed = {
        "asset": "TKN",
        "venue": "pool",
        "window_s": 1_800.0,
        "update_interval_s": 1_800.0,
        "observation_s": 12.0,
    }
    feed.update(params)
    data = {
        "name": "twap",
        "horizon_s": horizon_s,
        "assets": [{"id": "TKN", "path": {"kind": "constant", "price": price}}],
        "markets": [
            {
                "id": "pool",
                "asset": "TKN",
                "impact": {"kind": "constant_product", "depth_usd": 1e9, "fee_bps": 0.0},
            }
        ],
        "oracles": [{"id": "tkn-twap", "kind": "oracle.uniswap_twap", "params": feed}],
        "shocks": shocks or [],
    }
    sim = Simulation(Scenario.from_dict(data), seed=1)
    ctx = sim.context
    for at_s, target in trades or []:

        def move(target: float = target) -> None:
            impact = ctx.market.venues["pool"].impact
            qty = impact.quantity_for_price(ctx.market.price("TKN", "pool"), target)
            ctx.market.trade("pool", qty, trader="test")

        ctx.clock.call_at(at_s, "test.trade", move)
    return sim.run()


def test_twap_known_tick_path_publishes_floor_of_mean_tick() -> None:
    """Tick 100 for 600 s then tick 200 for 1200 s: mean tick 166.67 → 166, price 1.0001^166."""
    # The reference moves by 1.0001^100 at t = 600: from inside tick 100 to inside tick 200.
    jump = {"kind": "price_jump", "at_s": 600.0, "asset": "TKN", "change": 1.0001**100 - 1}
    result = _twap_run(shocks=[jump])
    (update,) = result.log.of_type(OracleUpdated)
    assert update.t == 1_800.0
    # (100·600 + 200·1200) / 1800 = 300000 / 1800 = 166.67, floored to 166.
    assert update.answer == pytest.approx(1.0001**166, abs=1e-8)


def test_twap_trade_mid_window_counts_from_its_own_instant() -> None:
    """A trade at t = 300.5 moves the tick from 0 to 1000: (1000·299.5)/600 = 499.17 → 499."""
    result = _twap_run(
        price=1.0001**0.5,
        trades=[(300.5, 1.0001**1000.5)],
        window_s=600.0,
        update_interval_s=600.0,
        horizon_s=600.5,
    )
    (update,) = result.log.of_type(OracleUpdated)
    assert update.t == 600.0
    assert update.answer == pytest.approx(1.0001**499, abs=1e-8)
    assert type(result.log.get(update.cause)).__name__ == "TradeExecuted"


def test_twap_window_reaching_before_start_uses_initial_price() -> None:
    """Before t = 0 the pool sat at its initial tick: at t = 900 after a jump to tick 200 at
    t = 600, the 1800 s window holds 1500 s of tick 100 and 300 s of tick 200 → 116.67 → 116.
    """
    jump = {"kind": "price_jump", "at_s": 600.0, "asset": "TKN", "change": 1.0001**100 - 1}
    result = _twap_run(shocks=[jump], update_interval_s=900.0, horizon_s=900.5)
    (update,) = result.log.of_type(OracleUpdated)
    assert update.t == 900.0
    # (100·1500 + 200·300) / 1800 = 210000 / 1800 = 116.67.
    assert update.answer == pytest.approx(1.0001**116, abs=1e-8)


def test_arithmetic_mean_tick_negative_delta_rounds_toward_negative_infinity() -> None:
    """consult truncates toward zero then subtracts one for a negative non-multiple: a floor."""
    # Solidity: int(-7 / 2) = -3, and -7 % 2 != 0, so -3 - 1 = -4.
    assert arithmetic_mean_tick(-7, 2) == -4
    assert arithmetic_mean_tick(-8, 2) == -4
    assert arithmetic_mean_tick(7, 2) == 3


@pytest.mark.parametrize("tick", [-887_272 // 100, -11, 0, 1, 953, 6_931])
def test_price_to_tick_of_tick_price_returns_the_tick(tick: int) -> None:
    """getTickAtSqrtRatio returns the greatest tick whose price is <= the given price."""
    assert price_to_tick(tick_to_price(tick)) == tick
    assert price_to_tick(tick_to_price(tick) * (1 - 1e-12)) == tick - 1


def test_price_to_tick_known_prices_match_logarithm() -> None:
    """tick(1.10) = floor(ln 1.10 / ln 1.0001) = floor(953.1) = 953; tick(0.999) = -11."""
    assert math.floor(math.log(1.10) / math.log(1.0001)) == 953
    assert price_to_tick(1.10) == 953
    assert price_to_tick(0.999) == -11
