"""Synthetic perp populations and the unified-margin reference: totals, caps, starting health,
stream independence, and the vectorized unified state against the scalar reference."""

from __future__ import annotations

import numpy as np
import pytest

from protosim.protocols.perps.math import HYPERLIQUID_TABLES
from protosim.protocols.perps.params import HyperliquidParams
from protosim.protocols.perps.population import build_book
from protosim.protocols.perps.unified import unified_adjusted_equity, unified_margin_ratio

MARKS = {"BTC": 100_000.0, "ETH": 4_000.0}


def _params(*populations: dict[str, object], collateral: bool = False) -> HyperliquidParams:
    markets = {
        m: {
            "asset": m,
            "index_oracle": f"{m}-index",
            "book": f"{m}-book",
            "table": f"hyperliquid.{m}",
        }
        for m in MARKS
    }
    data: dict[str, object] = {"markets": markets, "populations": list(populations)}
    if collateral:
        data["collateral"] = {"WBETH": {"oracle": "wbeth", "collateral_rate": 0.9}}
    return HyperliquidParams.model_validate(data)


def _pop(accounts: int, markets: list[str], **extra: object) -> dict[str, object]:
    return {
        "accounts": accounts,
        "markets": markets,
        "position_usd": {"kind": "lognormal", "median": 50_000.0, "sigma": 1.5},
        "leverage": {"kind": "uniform", "low": 5.0, "high": 60.0},
        **extra,
    }


def _streams(n: int, seed: int = 3) -> list[np.random.Generator]:
    return [np.random.default_rng([seed, i]) for i in range(n)]


def test_population_totals_sides_and_leverage_caps() -> None:
    """Notionals scale to the given open interest exactly; about `long_share` of positions are
    long; every account's equity covers the initial margin at its tier's max leverage (BTC
    40×, so the 60× draws are capped), and none is liquidatable at the starting marks."""
    pop = _pop(20_000, ["BTC"], notional_usd=1e9, long_share=0.7, entry_dispersion=0.03)
    book = build_book(_params(pop), marks=MARKS, collateral_prices={}, streams=_streams(1))
    btc = book.markets["BTC"]
    notional = np.abs(btc.size) * MARKS["BTC"]
    assert notional.sum() == pytest.approx(1e9, rel=1e-12)
    assert (btc.size > 0).mean() == pytest.approx(0.7, abs=0.02)
    equity = book.wallet + btc.unrealized(np.arange(len(btc)), MARKS["BTC"])
    table = HYPERLIQUID_TABLES["BTC"]
    im = notional / np.array([table.max_leverage(n) for n in notional])
    assert np.all(equity >= im * (1 - 1e-12))
    assert btc.liquidatable(MARKS["BTC"]).size == 0


def test_isolated_population_puts_the_equity_in_the_position_margin() -> None:
    """Isolated positions carry their margin (equity less the starting uPnL) themselves; the
    wallets stay empty."""
    pop = _pop(1_000, ["ETH"], margin_mode="isolated", entry_dispersion=0.05)
    book = build_book(_params(pop), marks=MARKS, collateral_prices={}, streams=_streams(1))
    eth = book.markets["ETH"]
    assert eth.isolated.all()
    assert np.all(book.wallet == 0.0)
    equity = eth.margin + eth.unrealized(np.arange(len(eth)), MARKS["ETH"])
    assert np.all(equity > 0.0)


def test_adding_a_population_leaves_the_others_unchanged() -> None:
    """Each population draws from its own stream: the first population's accounts are the same
    with or without a second one after it."""
    first = _pop(500, ["BTC"])
    alone = build_book(_params(first), marks=MARKS, collateral_prices={}, streams=_streams(1))
    both = build_book(
        _params(first, _pop(300, ["ETH"])), marks=MARKS, collateral_prices={}, streams=_streams(2)
    )
    np.testing.assert_array_equal(alone.markets["BTC"].size, both.markets["BTC"].size[:500])
    np.testing.assert_array_equal(alone.wallet, both.wallet[:500])


def test_vector_unified_state_matches_the_scalar_reference() -> None:
    """For random two-market unified accounts with wBETH collateral at a depressed price, the
    book's adjusted equity and health equal `unified_adjusted_equity` / `unified_margin_ratio`
    account by account to 1e-9."""
    pop = _pop(300, ["BTC", "ETH"], collateral={"WBETH": 0.7}, entry_dispersion=0.05)
    book = build_book(
        _params(pop, collateral=True),
        marks=MARKS,
        collateral_prices={"WBETH": 4_280.0},
        streams=_streams(1),
    )
    marks = {"BTC": 93_000.0, "ETH": 3_700.0}
    wbeth = 1_500.0
    state = book.complex_state(marks, np.array([wbeth]))
    for j, account in enumerate(book.complex.accounts[:60]):
        upnl = 0.0
        positions = []
        for market, mb in book.markets.items():
            row = book.complex.row_of[market][j]
            upnl += float(mb.size[row] * (marks[market] - mb.entry[row]))
            positions.append((float(mb.size[row]), marks[market], mb.table))
        adjusted = unified_adjusted_equity(
            wallet_usd=float(book.wallet[account]),
            unrealized_pnl=upnl,
            balances={"WBETH": float(book.collateral[0, account])},
            prices={"WBETH": wbeth},
            collateral_rates={"WBETH": 0.9},
        )
        ratio = unified_margin_ratio(adjusted_equity=adjusted, positions=positions)
        assert state.adjusted_equity[j] == pytest.approx(adjusted, rel=1e-9, abs=1e-6)
        assert state.health[j] * 1.05 == pytest.approx(ratio, rel=1e-9)
