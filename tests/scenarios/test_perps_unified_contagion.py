"""Seeded scenario of 10 October 2025 (crashes.md §1, mechanics §6.6): wBETH collateral priced
off the venue's own spot book collapses there and nowhere else.

Two Binance-like venues hold the same 300 unified-margin accounts: an ETH perp position
(notional log-normal around $40k, leverage 15–45×, MMR 0.5 %) backed only by wBETH worth the
equity at the start (4,280 = 1.07 × 4,000, collateral rate 0.95). Venue ``own`` prices wBETH by
its own wBETH/USD book, as Binance did until 14 Oct 2025; venue ``redeem`` by the conversion
ratio times the ETH index, as it does since. At t = 60 someone sells wBETH on the own book until
it is 85 % down (about the $430 print against ETH at $3,800) and nothing else moves.

By hand: an account of leverage L starts at ``uniMMR = (N/L) / (0.5 % · N) = 200 / L``; with
wBETH at 15 % of its value its uniMMR is ``30 / L``, so every account with ``L ≥ 30 / 1.05 =
28.6`` must be liquidated; an account with lower leverage only if wBETH falls further, which
only the venue's own collateral sales into that book can do.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from protosim import Scenario, Simulation
from protosim.events import ROOT, LiquidationExecuted, ShockApplied, TradeExecuted
from protosim.protocols.perps.kinds import register
from protosim.protocols.perps.venue import PerpVenue
from protosim.registry import Registry
from protosim.results import RunResult

REGISTRY = Registry().load_entry_points()
register(REGISTRY)

ETH, RATIO, RATE, MMR = 4_000.0, 1.07, 0.95, 0.005
WBETH = ETH * RATIO


def _accounts(n: int = 300, seed: int = 2025) -> tuple[list[dict[str, Any]], np.ndarray]:
    rng = np.random.default_rng(seed)
    notional = 40_000.0 * np.exp(0.8 * rng.standard_normal(n))
    leverage = rng.uniform(15.0, 45.0, n)
    side = np.where(rng.random(n) < 0.5, 1.0, -1.0)
    equity = notional / leverage
    accounts = [
        {
            "wallet_usd": 0.0,
            "collateral": {"WBETH": float(e / (WBETH * RATE))},
            "positions": [{"market": "ETH", "size": float(s * q / ETH), "entry_price": ETH}],
        }
        for e, s, q in zip(equity, side, notional, strict=True)
    ]
    return accounts, leverage


def _venue(venue_id: str, oracle: str, book: str, accounts: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": venue_id,
        "kind": "perps.binance",
        "params": {
            "markets": {
                "ETH": {
                    "asset": "ETH",
                    "index_oracle": "eth-index",
                    "book": f"eth-perp-{venue_id}",
                    "tiers": [{"floor": 0.0, "max_leverage": 100.0, "mmr": MMR}],
                }
            },
            "collateral": {"WBETH": {"oracle": oracle, "collateral_rate": RATE, "book": book}},
            "accounts": accounts,
        },
    }


def _scenario(accounts: list[dict[str, Any]]) -> Scenario:
    deep = {"kind": "constant_product", "depth_usd": 1e12, "fee_bps": 0.0}
    return Scenario.from_dict(
        {
            "name": "perps-unified-contagion",
            "seed": 10,
            "horizon_s": 600.0,
            "assets": [
                {"id": "ETH", "path": {"kind": "constant", "price": ETH}},
                {
                    "id": "WBETH",
                    "underlying": "ETH",
                    "path": {"kind": "constant", "price": WBETH},
                },
            ],
            "markets": [
                {"id": "eth-spot", "asset": "ETH", "impact": deep},
                {"id": "eth-perp-own", "asset": "ETH", "impact": deep},
                {"id": "eth-perp-redeem", "asset": "ETH", "impact": deep},
                {
                    "id": "wbeth-own",
                    "asset": "WBETH",
                    "impact": {"kind": "constant_product", "depth_usd": 500_000.0, "fee_bps": 0.0},
                },
                {"id": "wbeth-dex", "asset": "WBETH", "impact": deep},
            ],
            "oracles": [
                {
                    "id": "eth-index",
                    "kind": "oracle.internal_book",
                    "params": {"asset": "ETH", "venue": "eth-spot"},
                },
                {
                    "id": "wbeth-own-book",
                    "kind": "oracle.internal_book",
                    "params": {"asset": "WBETH", "venue": "wbeth-own"},
                },
                {
                    "id": "wbeth-conversion",
                    "kind": "oracle.exchange_rate",
                    "params": {"asset": "WBETH", "base": "eth-index", "ratio": RATIO},
                },
            ],
            "venues": [
                _venue("own", "wbeth-own-book", "wbeth-own", accounts),
                _venue("redeem", "wbeth-conversion", "wbeth-dex", accounts),
            ],
            "shocks": [
                {
                    "kind": "market_trade",
                    "at_s": 60.0,
                    "venue": "wbeth-own",
                    "target_change": -0.85,
                    "hold_s": 2_400.0,
                }
            ],
        },
        registry=REGISTRY,
    )


@pytest.fixture(scope="module")
def run() -> tuple[RunResult, Simulation, np.ndarray]:
    accounts, leverage = _accounts()
    sim = Simulation(_scenario(accounts), registry=REGISTRY)
    before = sim.context.venues["redeem"].positions_frame()["health_factor"].to_numpy()
    result = sim.run()
    return result, sim, np.vstack([leverage, before[: len(leverage)]])


def test_own_book_depeg_liquidates_unified_accounts_there_only(
    run: tuple[RunResult, Simulation, np.ndarray],
) -> None:
    """Every account with leverage ≥ 28.6 is liquidated on ``own``; nothing is liquidated on
    ``redeem``, whose accounts keep their starting health (same collateral, other index)."""
    result, sim, data = run
    leverage, health_before = data
    liq = result.liquidations
    venues = liq["venue"].astype(str)
    assert (venues == "redeem").sum() == 0
    hit = set(liq.loc[venues == "own", "account"].tolist())
    must = set(np.flatnonzero(leverage >= 30.0 / 1.05).tolist())
    assert must
    assert must <= hit
    redeem = sim.context.venues["redeem"]
    np.testing.assert_allclose(
        redeem.positions_frame()["health_factor"].to_numpy()[: leverage.size], health_before
    )
    assert sim.context.oracles["wbeth-conversion"].read().price == pytest.approx(WBETH)


def test_collateral_sales_into_the_own_book_deepen_the_depeg_and_spread_it(
    run: tuple[RunResult, Simulation, np.ndarray],
) -> None:
    """The venue sells the seized wBETH into the very book its index reads: that book ends
    below the shock's 15 %, and accounts the shock alone left above uniMMR 1.05 (leverage
    under 28.6) are liquidated too."""
    result, _, data = run
    leverage = data[0]
    liq = result.liquidations
    own = liq[liq["venue"].astype(str) == "own"]
    sold = own[own["collateral_asset"].astype(str) == "WBETH"]
    assert len(sold) > 0
    trades = result.trades
    sales = trades[trades["trader"].astype(str) == "own.liquidation"]
    assert (sales["venue"].astype(str) == "wbeth-own").any()
    assert result.min_prices()["WBETH@wbeth-own"] < 0.15 * WBETH * 0.99
    hit = set(own["account"].tolist())
    spread = {a for a in hit if leverage[a] < 30.0 / 1.05}
    assert spread


def test_every_liquidation_on_the_own_venue_traces_back_to_the_depeg(
    run: tuple[RunResult, Simulation, np.ndarray],
) -> None:
    """Each liquidation's first-named cause chain ends at the market-trade shock."""
    result, _, _ = run
    log = result.log
    seqs = log.column(LiquidationExecuted, "seq")
    roots = {log.root_of(int(s)).seq for s in seqs[:: max(1, len(seqs) // 25)]}
    shocks = {e.seq for e in log.of_type(ShockApplied)}
    assert roots == shocks
    assert all(e.cause != ROOT for e in log.of_type(TradeExecuted) if e.trader == "own.liquidation")


def test_own_venue_keeps_its_books_balanced(
    run: tuple[RunResult, Simulation, np.ndarray],
) -> None:
    """Conservation on both venues: accounts, fund, and the book's counterparties change by
    amounts that sum to zero; no account ends below zero."""
    _, sim, _ = run
    for venue_id in ("own", "redeem"):
        venue = sim.context.venues[venue_id]
        assert isinstance(venue, PerpVenue)
        assert venue.metrics()["residual_usd"] == pytest.approx(0.0, abs=1e-6)
        assert venue.account_equity().min() >= -1e-9
