"""Depeg mechanisms: a peg holds exactly as well as its mint/redeem channel's rules allow."""

from __future__ import annotations

import math
from typing import Any

import pytest

from protosim import Scenario, Simulation
from protosim.errors import SimulationError
from protosim.results import RunResult


def _pool(depth: float, asset: str = "USDE", **extra: Any) -> dict[str, Any]:
    return {
        "asset": asset,
        "impact": {"kind": "constant_product", "depth_usd": depth, "fee_bps": 0.0},
        **extra,
    }


def _data(
    markets: dict[str, dict[str, Any]],
    agents: list[dict[str, Any]],
    shocks: list[dict[str, Any]],
    assets: list[dict[str, Any]] | None = None,
    horizon_s: float = 7_200.0,
) -> dict[str, Any]:
    return {
        "name": "peg",
        "horizon_s": horizon_s,
        "price_sample_s": 60.0,
        "assets": assets or [{"id": "USDE", "path": {"kind": "constant", "price": 1.0}}],
        "markets": [{"id": k, **v} for k, v in markets.items()],
        "agents": agents,
        "shocks": shocks,
    }


def _run(
    markets: dict[str, dict[str, Any]],
    agents: list[dict[str, Any]],
    shocks: list[dict[str, Any]],
    *,
    assets: list[dict[str, Any]] | None = None,
    horizon_s: float = 7_200.0,
) -> RunResult:
    data = _data(markets, agents, shocks, assets, horizon_s)
    return Simulation(Scenario.from_dict(data), seed=1).run()


def _price_at(result: RunResult, venue: str, t: float) -> float:
    prices = result.prices
    rows = prices[(prices["venue"] == venue) & (prices["t"] <= t)]
    return float(rows["price"].iloc[-1])


def _dump(venue: str, change: float, at_s: float = 600.0) -> dict[str, Any]:
    return {"kind": "market_trade", "at_s": at_s, "venue": venue, "target_change": change}


def _peg(agent_id: str, venue: str, **params: Any) -> dict[str, Any]:
    return {
        "id": agent_id,
        "kind": "agent.peg",
        "params": {"asset": "USDE", "venue": venue, **params},
    }


def test_usde_recovers_where_arbitrage_has_access_and_not_elsewhere() -> None:
    """Both USDe venues fall to 0.65 (Binance, 10 Oct 2025); only the one the redeemers can reach
    comes back to the redemption floor 1 − 10 bp."""
    markets = {"curve": _pool(50e6), "binance": _pool(20e6)}
    result = _run(
        markets, [_peg("minters", "curve")], [_dump("curve", -0.35), _dump("binance", -0.35)]
    )
    assert _price_at(result, "binance", 7_000.0) == pytest.approx(0.65, rel=1e-9)
    assert _price_at(result, "curve", 7_000.0) == pytest.approx(1.0 - 0.001, rel=1e-6)


def test_redemption_capacity_paces_the_recovery() -> None:
    """1M tokens per 12 s of capacity: lifting a 50M pool (k = 2.5e15) from 0.65 to 0.999 takes
    √(k/0.65) − √(k/0.999) ≈ 11.99M tokens, so ceil(11.99) = 12 redemptions, 12 s apart."""
    markets = {"curve": _pool(50e6)}
    agent = _peg("minters", "curve", capacity=1e6)
    result = _run(markets, [agent], [_dump("curve", -0.35)])
    trades = result.trades
    arb = trades[trades["trader"] == "minters"]
    k = (50e6) ** 2
    needed = math.sqrt(k / 0.65) - math.sqrt(k / 0.999)
    assert len(arb) == math.ceil(needed / 1e6)
    assert arb["quantity"].max() <= 1e6 * (1 + 1e-9)
    assert arb["t"].diff().dropna().min() >= 12.0


def test_closed_redemption_window_keeps_the_depeg_until_it_opens() -> None:
    """USDC on a weekend: redemptions closed until t = 5,000, so the discount lasts until then."""
    markets = {"usdc": _pool(50e6)}
    agent = _peg("circle", "usdc", closed=[[0.0, 5_000.0]])
    result = _run(markets, [agent], [_dump("usdc", -0.1)])
    assert _price_at(result, "usdc", 4_900.0) == pytest.approx(0.9, rel=1e-9)
    assert _price_at(result, "usdc", 6_000.0) == pytest.approx(0.999, rel=1e-6)


def test_collateral_loss_moves_the_peg_to_the_new_redemption_value() -> None:
    """A `target` event of 0.92 (SVB: 8% of reserves at risk) makes the channel hold the token
    at 0.92 · (1 − 10 bp) after a dump, not at 1."""
    markets = {"usdc": _pool(50e6)}
    loss = {
        "kind": "agent_event",
        "at_s": 100.0,
        "agent": "circle",
        "event": "target",
        "value": 0.92,
    }
    result = _run(markets, [_peg("circle", "usdc")], [loss, _dump("usdc", -0.2)])
    assert _price_at(result, "usdc", 7_000.0) == pytest.approx(0.92 * 0.999, rel=1e-6)


def test_steth_discount_widens_with_the_withdrawal_queue() -> None:
    """Redeeming through a queue of Q stETH processed at r per second waits Q/r; at 5% a year
    carry the floor is (1 − fee)/(1 + 0.05 · wait/year). A 5% dump is bought back only to it."""
    assets = [
        {"id": "ETH", "path": {"kind": "constant", "price": 2000.0}},
        {"id": "STETH", "path": {"kind": "constant", "price": 2000.0}},
    ]
    rate = 1_000.0 / 86_400  # 1,000 stETH a day
    markets = {"steth-curve": _pool(200e6, asset="STETH")}

    def run(queue: float) -> tuple[float, float]:
        agent = {
            "id": "lido",
            "kind": "agent.peg",
            "params": {
                "asset": "STETH",
                "venue": "steth-curve",
                "target_asset": "ETH",
                "queue_rate": rate,
                "mint": False,
            },
        }
        shocks = [
            {
                "kind": "agent_event",
                "at_s": 10.0,
                "agent": "lido",
                "event": "redemptions",
                "value": queue,
            },
            _dump("steth-curve", -0.05),
        ]
        result = Simulation(Scenario.from_dict(_data(markets, [agent], shocks, assets)), seed=1)
        result.run_until(3_500.0)
        price = result.context.market.price("STETH", "steth-curve") / 2000.0
        metrics = result.context.agents["lido"].metrics()
        # The arbitrageurs bought up to the floor of the queue they found, then joined it.
        return price, metrics["queue"] - metrics["redeemed"]

    (short, queue_short), (long, queue_long) = run(10_000.0), run(100_000.0)
    assert long < short

    def floor(queue: float) -> float:
        return 0.999 / (1 + 0.05 * (queue / rate) / (365 * 86_400))

    # Arbitrage lifts the price up to the floor set by the queue ahead of it.
    assert short == pytest.approx(floor(queue_short), rel=1e-4)
    assert long == pytest.approx(floor(queue_long), rel=1e-4)


def test_algorithmic_redemption_sells_the_twin() -> None:
    """UST below its peg is redeemed for LUNA, which is sold: LUNA falls by the CP impact of
    the USD value redeemed."""
    assets = [
        {"id": "UST", "path": {"kind": "constant", "price": 1.0}},
        {"id": "LUNA", "path": {"kind": "constant", "price": 80.0}},
    ]
    markets = {"ust-curve": _pool(100e6, asset="UST"), "luna-binance": _pool(200e6, asset="LUNA")}
    agent = {
        "id": "terra",
        "kind": "agent.peg",
        "params": {
            "asset": "UST",
            "venue": "ust-curve",
            "mint": False,
            "redeem_into": {"asset": "LUNA", "venue": "luna-binance"},
        },
    }
    result = _run(markets, [agent], [_dump("ust-curve", -0.3)], assets=assets)
    sold = result.component_metrics["terra"]["into_sold"]
    assert sold > 0
    luna = _price_at(result, "luna-binance", 7_000.0)
    # Selling LUNA for `sold` USD out of a 200M-deep pool: y' = y − sold, price = 80·(y'/y)².
    assert luna == pytest.approx(80.0 * ((200e6 - sold) / 200e6) ** 2, rel=1e-6)
    assert luna < 80.0 * math.exp(-0.01)


def test_usde_in_a_stableswap_pool_recovers_through_redemptions() -> None:
    """A Curve pool (A = 200) dumped to 0.9 is bought back to the redemption floor 1 − 10 bp."""
    markets = {
        "curve": {
            "asset": "USDE",
            "impact": {
                "kind": "stableswap",
                "amplification": 200.0,
                "depth_usd": 100e6,
                "fee_bps": 4.0,
            },
        }
    }
    result = _run(markets, [_peg("minters", "curve")], [_dump("curve", -0.1)])
    dump = result.trades.iloc[0]
    assert dump["trader"] == "shock"
    assert dump["price_after"] == pytest.approx(0.9, rel=1e-9)
    assert _price_at(result, "curve", 7_000.0) == pytest.approx(0.999, rel=1e-6)


def test_concentrated_liquidity_pool_runs_out_of_range_with_a_clear_error() -> None:
    """A dump beyond the pool's only range (±5%) stops the run with an error naming the venue
    and how much the ranges absorb (never a silent clamp)."""
    markets = {
        "univ3": {
            "asset": "USDE",
            "impact": {"kind": "concentrated", "depth_usd": 10e6, "width": 0.05},
        }
    }
    with pytest.raises(SimulationError, match=r"'univ3'.*absorb"):
        _run(markets, [], [_dump("univ3", -0.2)])
