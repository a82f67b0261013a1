"""Single-venue book price: Binance's own USDe book in Oct 2025 (mechanics §6.6), Mango (§9)."""

from __future__ import annotations

from typing import Any

import pytest

from protosim import Scenario, Simulation
from protosim.events import OracleUpdated
from protosim.results import RunResult


def _book_run(
    *, shocks: list[dict[str, Any]] | None = None, horizon_s: float = 131.0, **params: Any
) -> RunResult:
    feed: dict[str, Any] = {"asset": "USDE", "venue": "binance-usde", "update_interval_s": 1.0}
    feed.update(params)
    data = {
        "name": "book",
        "horizon_s": horizon_s,
        "assets": [{"id": "USDE", "path": {"kind": "constant", "price": 1.0}}],
        "markets": [
            {
                "id": "binance-usde",
                "asset": "USDE",
                "impact": {"kind": "constant_product", "depth_usd": 1e7, "fee_bps": 0.0},
            }
        ],
        "oracles": [{"id": "usde-binance", "kind": "oracle.internal_book", "params": feed}],
        "shocks": shocks or [],
    }
    sim = Simulation(Scenario.from_dict(data), seed=1)
    market = sim.context.market

    def dump() -> None:
        impact = market.venues["binance-usde"].impact
        qty = impact.quantity_for_price(market.price("USDE", "binance-usde"), 0.65)
        market.trade("binance-usde", qty, trader="stale-bids")

    sim.context.clock.call_at(100.5, "test.dump", dump)
    return sim.run()


def test_internal_book_local_crash_is_the_collateral_price_at_next_refresh() -> None:
    """The venue's own book prints 0.65 at t = 100.5; the answer is 0.65 from t = 101."""
    result = _book_run()
    updates = result.log.of_type(OracleUpdated)
    # Rounds land every second; the answer only changes at 101.
    changed = [u for u in updates if u.answer != u.previous]
    assert [u.t for u in changed] == [101.0]
    assert changed[0].answer == pytest.approx(0.65)
    assert type(result.log.get(changed[0].cause)).__name__ == "TradeExecuted"


def test_internal_book_smoothing_window_averages_price_over_time() -> None:
    """60 s mean at t = 130: 30.5 s at 1.0 and 29.5 s at 0.65 → (30.5 + 19.175)/60 = 0.827917."""
    result = _book_run(smoothing_window_s=60.0)
    at_130 = next(u for u in result.log.of_type(OracleUpdated) if u.t == 130.0)
    assert at_130.answer == pytest.approx((30.5 * 1.0 + 29.5 * 0.65) / 60.0, abs=1e-8)


def test_internal_book_frozen_feed_repeats_last_answer() -> None:
    """Frozen from t = 50, the crash at 100.5 is not seen: rounds repeat 1.0."""
    frozen = {
        "kind": "oracle_outage",
        "at_s": 50.5,
        "oracle": "usde-binance",
        "duration_s": 1_000.0,
        "mode": "frozen",
    }
    result = _book_run(shocks=[frozen])
    # Repeating the same answer off chain refreshes it without a new round or event.
    assert [u for u in result.log.of_type(OracleUpdated) if u.t > 50.5] == []
    metrics = result.component_metrics["usde-binance"]
    assert metrics["last_answer"] == 1.0
    assert metrics["last_updated_at"] == 130.0  # the run stops before t = 131
