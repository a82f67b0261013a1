"""A forced seller sells its tranches on schedule, at any price, except on a halted venue."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from protosim import Scenario, Simulation
from protosim.errors import ScenarioError
from protosim.events import ROOT
from protosim.protocols.markets.forced_seller import ForcedSellerParams, Tranche
from protosim.results import RunResult


def _data(seller: dict[str, Any], shocks: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "name": "forced",
        "horizon_s": 10_000.0,
        "price_sample_s": 60.0,
        "assets": [{"id": "TOK", "path": {"kind": "constant", "price": 1.0}}],
        "markets": [
            {
                "id": "pool",
                "asset": "TOK",
                "impact": {"kind": "constant_product", "depth_usd": 1e6, "fee_bps": 0.0},
            }
        ],
        "agents": [{"id": "celsius", "kind": "agent.forced_seller", "params": seller}],
        "shocks": shocks or [],
    }


def _run(seller: dict[str, Any], shocks: list[dict[str, Any]] | None = None) -> RunResult:
    return Simulation(Scenario.from_dict(_data(seller, shocks)), seed=3).run()


def _tranche(start: float, end: float, quantity: float) -> dict[str, float]:
    return {"start_s": start, "end_s": end, "quantity": quantity}


def test_a_tranche_is_sold_in_equal_slices_at_its_interval() -> None:
    """60,000 tokens over [1,000, 4,600) at 600 s: six slices of 10,000 at 1,000, 1,600, ..."""
    result = _run({"venue": "pool", "tranches": [_tranche(1_000.0, 4_600.0, 60_000.0)]})
    trades = result.trades
    assert list(trades["t"]) == [1_000.0, 1_600.0, 2_200.0, 2_800.0, 3_400.0, 4_000.0]
    assert list(trades["quantity"]) == pytest.approx([-10_000.0] * 6)


def test_selling_into_a_constant_product_pool_moves_it_by_the_invariant() -> None:
    """x·y = k with 1M a side: after selling 60,000 tokens the pool holds 1.06M tokens and
    1M/1.06 USD, so the price is (1/1.06)² and the proceeds 1M − 1M/1.06 (hand derivation)."""
    result = _run({"venue": "pool", "tranches": [_tranche(0.0, 3_600.0, 60_000.0)]})
    trades = result.trades
    assert float(trades["price_after"].iloc[-1]) == pytest.approx(1 / 1.06**2, rel=1e-9)
    sold = result.component_metrics["celsius"]
    assert sold["sold"] == pytest.approx(60_000.0)
    assert sold["proceeds_usd"] == pytest.approx(1e6 - 1e6 / 1.06, rel=1e-9)


def test_a_halt_carries_the_blocked_slices_into_the_next_one() -> None:
    """A halt over the second and third slices (t = 600, 1,200) makes the fourth sell three
    slices at once; nothing is lost."""
    halt = {"kind": "market_halt", "at_s": 500.0, "venue": "pool", "duration_s": 1_000.0}
    result = _run({"venue": "pool", "tranches": [_tranche(0.0, 2_400.0, 4_000.0)]}, [halt])
    trades = result.trades
    assert list(trades["t"]) == [0.0, 1_800.0]
    assert list(trades["quantity"]) == pytest.approx([-1_000.0, -3_000.0])
    assert result.component_metrics["celsius"]["blocked_slices"] == 2.0


def test_a_limit_price_holds_back_sales_and_counts_them_unsold() -> None:
    """With a limit of 0.999 the first slice (price 1.0) sells and leaves the pool below the
    limit; no later slice sells and the rest is unsold."""
    seller = {
        "venue": "pool",
        "tranches": [_tranche(0.0, 2_400.0, 40_000.0)],
        "limit_price": 0.999,
    }
    result = _run(seller)
    metrics = result.component_metrics["celsius"]
    assert len(result.trades) == 1
    assert metrics["sold"] == pytest.approx(10_000.0)
    assert metrics["unsold"] == pytest.approx(30_000.0)


def test_a_buyer_lifts_the_pool_by_the_invariant() -> None:
    """A scheduled buyer of 50,000 tokens from a 1M/1M pool leaves 0.95M tokens and
    1M/0.95 USD: price (1/0.95)², paid 1M/0.95 − 1M (hand derivation)."""
    seller = {"venue": "pool", "side": "buy", "tranches": [_tranche(0.0, 3_000.0, 50_000.0)]}
    result = _run(seller)
    assert (result.trades["quantity"] > 0).all()
    assert float(result.trades["price_after"].iloc[-1]) == pytest.approx(1 / 0.95**2, rel=1e-9)
    assert result.component_metrics["celsius"]["proceeds_usd"] == pytest.approx(
        1e6 / 0.95 - 1e6, rel=1e-9
    )


def test_sales_are_exogenous_roots() -> None:
    """Each forced sale is a decision outside the model: its cause is the root (`ROOT`)."""
    result = _run({"venue": "pool", "tranches": [_tranche(0.0, 1_200.0, 100.0)]})
    events = result.events
    trades = events[events["kind"] == "TradeExecuted"]
    assert (trades["cause"] == ROOT).all()


def test_bad_parameters_are_named() -> None:
    """A tranche that ends before it starts, and an unknown venue, fail with the field named."""
    with pytest.raises(ValidationError, match="end_s > start_s"):
        Tranche(start_s=10.0, end_s=5.0, quantity=1.0)
    with pytest.raises(ValidationError, match="quantity"):
        ForcedSellerParams(venue="pool", tranches=(Tranche(start_s=0, end_s=1, quantity=-1),))
    with pytest.raises(ScenarioError, match="venue"):
        _run({"venue": "nowhere", "tranches": [_tranche(0.0, 100.0, 1.0)]})
