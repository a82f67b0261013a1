"""Liquidity that drains under one-sided flow and recovers, withdrawn depth, venue halts."""

from __future__ import annotations

import math
from typing import Any

import pytest

from protosim import Scenario, Simulation
from protosim.market import VenueHaltedError


def _sim(shocks: list[dict[str, Any]] | None = None, **venue: Any) -> Simulation:
    market = {
        "id": "pool",
        "asset": "ETH",
        "impact": {"kind": "constant_product", "depth_usd": 1e6, "fee_bps": 0.0},
        **venue,
    }
    data = {
        "name": "liquidity",
        "horizon_s": 10_000.0,
        "assets": [{"id": "ETH", "path": {"kind": "constant", "price": 1000.0}}],
        "markets": [market],
        "shocks": shocks or [],
    }
    return Simulation(Scenario.from_dict(data), seed=1)


def test_one_sided_flow_drains_that_side_and_it_recovers_with_a_half_life() -> None:
    """Selling 50,000 USD with drain_usd 100,000 leaves bids at e^(−0.5); one half-life later
    the missing part has halved: 1 − (1 − e^(−0.5))/2. Asks are untouched."""
    sim = _sim(drain_usd=100_000.0, depth_half_life_s=600.0)
    market = sim.context.market
    fill = market.trade("pool", -market.quantity_for_price("pool", 1000.0) - 50.0, trader="t")
    bid, ask = market.depth("pool")
    assert bid == pytest.approx(math.exp(-fill.notional_usd / 100_000.0))
    assert ask == 1.0
    sim.run_until(600.0)
    bid_later, _ = market.depth("pool")
    assert bid_later == pytest.approx(1 - (1 - math.exp(-fill.notional_usd / 100_000.0)) / 2)


def test_withdrawn_liquidity_makes_the_same_sale_move_the_price_more() -> None:
    """With 80% of depth pulled, the pool acts as one of 200,000 USD: selling 10 ETH into
    x = 200 tokens (k = 200,000²/1,000) leaves the price at 1000·(200/210)²."""
    # A recovery half-life so long that nothing comes back within the test.
    drain = [{"kind": "liquidity_drain", "at_s": 1.0, "venue": "pool", "factor": 0.2}]
    sim = _sim(drain, depth_half_life_s=1e15)
    sim.run_until(2.0)
    fill = sim.context.market.trade("pool", -10.0, trader="t")
    assert fill.price_after == pytest.approx(1000.0 * (200.0 / 210.0) ** 2)


def test_halted_venue_refuses_trades_until_it_reopens() -> None:
    """A trade on a halted venue raises; after the halt it fills."""
    sim = _sim([{"kind": "market_halt", "at_s": 1.0, "venue": "pool", "duration_s": 100.0}])
    sim.run_until(50.0)
    with pytest.raises(VenueHaltedError, match="pool"):
        sim.context.market.trade("pool", -1.0, trader="t")
    sim.run_until(150.0)
    assert sim.context.market.trade("pool", -1.0, trader="t").notional_usd > 0


def test_attribution_names_the_trade_that_moved_the_price_most() -> None:
    """A large sale followed by a small buy: the observed move is credited to the sale."""
    sim = _sim()
    market = sim.context.market
    before = market.price_state("ETH", ["pool"])
    sim.run_until(1.0)
    sale = market.trade("pool", -500.0, trader="keeper")
    market.trade("pool", 1.0, trader="arb")
    cause, _ = market.attribute("ETH", ["pool"], before)
    trades = sim.result().trades
    assert sale.price_after < 1000.0
    assert cause == int(trades.loc[trades["trader"] == "keeper", "seq"].iloc[0])
