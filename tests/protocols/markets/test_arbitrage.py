"""Cross-venue arbitrage closes a gap as fast as its capital and latency allow, and no faster."""

from __future__ import annotations

import itertools
import math
from typing import Any

import pytest

from protosim import Scenario, Simulation
from protosim.events import TradeExecuted
from protosim.results import RunResult

DEPTH = 10e6  # USD per side of each pool at ETH 2,000: k = 1e14 / 2,000, x = 5,000 ETH


def _run(shocks: list[dict[str, Any]], **arb: Any) -> RunResult:
    params: dict[str, Any] = {
        "asset": "ETH",
        "venues": ["pool-a", "pool-b"],
        "threshold_bps": 20.0,
        "latency_s": 5.0,
        "transfer_s": 60.0,
    }
    params.update(arb)
    pool = {"kind": "constant_product", "depth_usd": DEPTH, "fee_bps": 0.0}
    data = {
        "name": "arb",
        "horizon_s": 600.0,
        "assets": [{"id": "ETH", "path": {"kind": "constant", "price": 2000.0}}],
        "markets": [{"id": v, "asset": "ETH", "impact": pool} for v in ("pool-a", "pool-b")],
        "agents": [{"id": "arb", "kind": "agent.arbitrage", "params": params}],
        "shocks": shocks,
    }
    return Simulation(Scenario.from_dict(data), seed=1).run()


DUMP = {"kind": "market_trade", "at_s": 100.0, "venue": "pool-a", "target_change": -0.1}


def _arb_trades(result: RunResult) -> list[TradeExecuted]:
    return [t for t in result.log.of_type(TradeExecuted) if t.trader == "arb"]


def test_unlimited_capital_closes_the_gap_after_one_latency() -> None:
    """With no capital limit, one pair of trades 5 s after the dump leaves the pools exactly 20 bp
    apart: with x_A = √(k/1800) tokens in A and 5,000 in B, buying q in A and selling q in B gives
    ((x_A − q)/(5000 + q))² = 1.002, so q = (x_A − 5000·√1.002)/(1 + √1.002)."""
    trades = _arb_trades(_run([DUMP]))
    assert len(trades) == 2
    buy, sell = trades
    assert buy.t == sell.t == 105.0
    k = DEPTH**2 / 2000.0
    x_a = math.sqrt(k / 1800.0)
    q = (x_a - 5000.0 * math.sqrt(1.002)) / (1 + math.sqrt(1.002))
    assert buy.quantity == pytest.approx(q, rel=1e-9)
    assert sell.price_after / buy.price_after == pytest.approx(1.002, rel=1e-9)


def test_capital_limited_arbitrage_takes_one_latency_per_trade() -> None:
    """At most $50,000 a trade: ~133 ETH must move at ≥ $1,800 each, so at least
    ceil(133 · 1800 / 50000) = 5 trades, one per 5 s latency: not closed before t = 125."""
    trades = _arb_trades(_run([DUMP], max_trade_usd=50_000.0))
    buys = [t for t in trades if t.quantity > 0]
    assert len(buys) >= 5
    times = [t.t for t in buys]
    assert all(b - a >= 5.0 for a, b in itertools.pairwise(times))
    assert times[0] == 105.0
    assert max(t.notional_usd for t in buys) <= 50_000.0


def test_halted_venue_cannot_be_arbitraged() -> None:
    """While pool B is halted the gap stays; it closes right after B reopens."""
    halt = {"kind": "market_halt", "at_s": 50.0, "venue": "pool-b", "duration_s": 300.0}
    trades = _arb_trades(_run([halt, DUMP]))
    assert trades
    assert min(t.t for t in trades) >= 350.0


def test_frozen_withdrawals_stop_rebalancing() -> None:
    """Funds cannot leave a venue whose withdrawals are frozen: the transfer is blocked."""
    freeze = {"kind": "withdrawal_freeze", "at_s": 0.0, "venue": "pool-a", "duration_s": 500.0}
    result = _run([freeze, DUMP])
    assert result.component_metrics["arb"]["blocked_transfers"] >= 1
