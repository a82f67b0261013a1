"""Vectorized perp book: differential against the scalar reference math, index queries against
brute force, tier continuity, and the unified-margin state against hand-worked numbers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protosim.protocols.perps.book import MarketBook, TableArrays, VenueBook, liquidation_prices
from protosim.protocols.perps.math import (
    BINANCE_BTCUSDT,
    BINANCE_BTCUSDT_2021,
    HYPERLIQUID_TABLES,
    MarginTable,
    liquidation_price,
    maintenance_margin,
)

TABLES = [
    BINANCE_BTCUSDT,
    BINANCE_BTCUSDT_2021,
    HYPERLIQUID_TABLES["BTC"],
    HYPERLIQUID_TABLES["ARB"],
]


def _random_positions(
    rng: np.random.Generator, n: int, price: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    notional = np.exp(rng.uniform(np.log(1e2), np.log(2e9), n))
    size = np.where(rng.random(n) < 0.5, 1.0, -1.0) * notional / price
    entry = price * np.exp(rng.normal(0.0, 0.1, n))
    margin = notional / rng.uniform(1.0, 120.0, n)
    return size, entry, margin


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.name)
def test_vector_liquidation_prices_match_scalar_reference(table: MarginTable) -> None:
    """`liquidation_prices` equals `math.liquidation_price` row by row to 1e-9 relative,
    across every tier (notionals from $100 to $2B) and both sides."""
    rng = np.random.default_rng(11)
    size, entry, margin = _random_positions(rng, 3_000, 50_000.0)
    constant = margin - size * entry
    got = liquidation_prices(constant, size, TableArrays.of(table))
    want = np.array(
        [
            liquidation_price(constant=c, size=s, table=table)
            for c, s in zip(constant, size, strict=True)
        ]
    )
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.name)
def test_maintenance_is_continuous_at_every_tier_floor(table: MarginTable) -> None:
    """At each floor F the maintenance margin just below and just above differ by less than
    the rate jump times the step (the cumulative deduction makes MM continuous), and the
    vectorized MM equals the scalar one at F ± 1e-6."""
    arrays = TableArrays.of(table)
    for tier in table.tiers[1:]:
        f = tier.floor
        eps = 1e-6 * f
        below, above = arrays.maintenance([f - eps, f + eps])
        assert abs(above - below) < 2 * eps * table.tiers[-1].mmr + 1e-9 * f
        assert below == pytest.approx(maintenance_margin(f - eps, table), rel=1e-12)
        assert above == pytest.approx(maintenance_margin(f + eps, table), rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(
    margin=st.floats(10.0, 1e8),
    qty=st.floats(1e-3, 1e4),
    long=st.booleans(),
    nudge=st.floats(-1e-6, 1e-6),
)
def test_liquidation_price_continuous_in_margin(
    margin: float, qty: float, long: bool, nudge: float
) -> None:
    """A relative nudge of 1e-6 to the margin moves the liquidation price by at most a
    proportional amount, also where the root crosses a tier (no jump at boundaries)."""
    table = TableArrays.of(BINANCE_BTCUSDT)
    size = qty if long else -qty
    c0 = margin - size * 50_000.0
    c1 = margin * (1.0 + nudge) - size * 50_000.0
    p0, p1 = liquidation_prices([c0, c1], [size, size], table)
    # dP/dc = 1 / (q · (mmr − side)), at most 1 / (0.5 q) over the table's rates.
    assert abs(p1 - p0) <= abs(c1 - c0) / (0.5 * qty) + 1e-9 * max(p0, 1.0)


def _book(
    rng: np.random.Generator, n: int, price: float, table: MarginTable = BINANCE_BTCUSDT
) -> tuple[MarketBook, np.ndarray]:
    size, entry, margin = _random_positions(rng, n, price)
    isolated = rng.random(n) < 0.5
    book = MarketBook(
        "BTC",
        table,
        account=np.arange(n),
        size=size,
        entry=entry,
        margin=np.where(isolated, margin, 0.0),
        isolated=isolated,
    )
    wallet = np.where(isolated, 0.0, margin)
    book.simple[:] = True
    book.build_index(wallet)
    return book, wallet


def _brute(book: MarketBook, wallet: np.ndarray, mark: float) -> set[int]:
    rows = np.flatnonzero(book.size != 0.0)
    equity = book.margin_of(rows, wallet) + book.unrealized(rows, mark)
    return set(rows[equity <= book.maintenance(rows, mark)].tolist())


def test_sorted_index_finds_exactly_the_liquidatable_rows() -> None:
    """At twenty marks from −40 % to +40 %, the index returns exactly the rows whose equity is
    at or below their maintenance margin, and no row twice."""
    rng = np.random.default_rng(5)
    book, wallet = _book(rng, 20_000, 60_000.0)
    for mark in np.linspace(36_000.0, 84_000.0, 20):
        found = book.liquidatable(float(mark))
        assert len(set(found.tolist())) == found.size
        assert set(found.tolist()) == _brute(book, wallet, float(mark))


def test_sorted_index_stays_exact_after_touches_and_resort() -> None:
    """Rows whose size or margin change (partial liquidations, ADL fills) are found from their
    new keys before and after the index is re-sorted."""
    rng = np.random.default_rng(6)
    book, wallet = _book(rng, 5_000, 60_000.0)
    changed = rng.choice(5_000, 800, replace=False)
    book.size[changed[:400]] *= 0.3
    book.size[changed[400:500]] = 0.0
    book.margin[changed[500:]] = np.where(book.isolated[changed[500:]], 1.0, 0.0)
    wallet[book.account[changed[500:]]] = np.where(book.isolated[changed[500:]], 0.0, 1.0)
    book.touch(changed, wallet)
    for mark in (45_000.0, 60_000.0, 75_000.0):
        assert set(book.liquidatable(mark).tolist()) == _brute(book, wallet, mark)
    book.resort()
    for mark in (45_000.0, 60_000.0, 75_000.0):
        assert set(book.liquidatable(mark).tolist()) == _brute(book, wallet, mark)


def _complex_book(rng: np.random.Generator, n: int) -> tuple[VenueBook, dict[str, float]]:
    marks = {"BTC": 100_000.0, "ETH": 4_000.0}
    tables = {"BTC": BINANCE_BTCUSDT, "ETH": HYPERLIQUID_TABLES["ETH"]}
    books = {}
    equity = rng.uniform(1_000.0, 20_000.0, n)
    for market, mark in marks.items():
        notional = equity * rng.uniform(1.0, 12.0, n)
        size = np.where(rng.random(n) < 0.5, 1.0, -1.0) * notional / mark
        books[market] = MarketBook(
            market,
            tables[market],
            account=np.arange(n),
            size=size,
            entry=np.full(n, mark),
            margin=np.zeros(n),
            isolated=np.zeros(n, dtype=bool),
        )
    wbeth = rng.uniform(0.0, 2.0, n)
    venue = VenueBook(
        wallet=equity,
        collateral={"WBETH": wbeth},
        markets=books,
        collateral_rates={"WBETH": 0.9},
        liquidation_unimmr=1.05,
    )
    return venue, marks


def test_complex_watch_set_never_misses_a_liquidatable_account() -> None:
    """For random moves of both marks and the collateral price, every complex account that is
    liquidatable by an exact check is in the watched set of the slack index."""
    rng = np.random.default_rng(9)
    venue, marks = _complex_book(rng, 4_000)
    collateral = np.array([3_800.0])
    reference = np.array([marks["BTC"], marks["ETH"], 3_800.0])
    venue.rebuild_complex(marks, collateral, reference)
    for _ in range(30):
        factors = np.exp(rng.normal(0.0, 0.08, 3))
        moved = {"BTC": marks["BTC"] * factors[0], "ETH": marks["ETH"] * factors[1]}
        prices = np.array([moved["BTC"], moved["ETH"], 3_800.0 * factors[2]])
        exact = venue.complex_state(moved, prices[2:])
        truly = set(exact.local[exact.liquidatable].tolist())
        watched = set(venue.watched_complex(prices).tolist())
        assert truly <= watched


def test_unified_state_matches_a_hand_worked_account() -> None:
    """§6.5 by hand: wallet 1,000 USDT, 2 WBETH at 4,000 with rate 0.95, a BTC long of 0.6 from
    100,000 at mark 96,000 (uPnL −2,400; notional 57,600 is in bracket 2, so MM = 0.5 % ×
    57,600 − 50 = 238). Equity = 1,000 − 2,400 + 8,000 = 6,600; adjusted = 1,000 − 2,400 +
    7,600 = 6,200; uniMMR = 6,200 / 238 = 26.05; health = uniMMR / 1.05."""
    market = MarketBook(
        "BTC",
        BINANCE_BTCUSDT,
        account=[0, 0],
        size=[0.6, 0.0],
        entry=[100_000.0, 100_000.0],
        margin=[0.0, 0.0],
        isolated=[False, True],
    )
    eth = MarketBook(
        "ETH", BINANCE_BTCUSDT, account=[0], size=[0.0], entry=[1.0], margin=[0.0], isolated=[False]
    )
    venue = VenueBook(
        wallet=[1_000.0],
        collateral={"WBETH": [2.0]},
        markets={"BTC": market, "ETH": eth},
        collateral_rates={"WBETH": 0.95},
    )
    state = venue.complex_state({"BTC": 96_000.0, "ETH": 1.0}, np.array([4_000.0]))
    assert state.maintenance[0] == pytest.approx(238.0, rel=1e-12)
    assert state.equity[0] == pytest.approx(6_600.0, rel=1e-12)
    assert state.adjusted_equity[0] == pytest.approx(6_200.0, rel=1e-12)
    assert state.health[0] == pytest.approx(6_200.0 / 238.0 / 1.05, rel=1e-12)
    assert not state.liquidatable[0]
    # At WBETH = 40 the adjusted equity is 1,000 − 2,400 + 76 = −1,324: liquidatable.
    low = venue.complex_state({"BTC": 96_000.0, "ETH": 1.0}, np.array([40.0]))
    assert low.adjusted_equity[0] == pytest.approx(-1_324.0, rel=1e-12)
    assert low.liquidatable[0]


def test_book_bytes_per_position_stay_small() -> None:
    """A one-market book of 100,000 simple positions holds under 100 bytes per position in its
    arrays and indexes (the issue's budget is 256 bytes of process memory per position)."""
    rng = np.random.default_rng(1)
    book, wallet = _book(rng, 100_000, 60_000.0)
    venue = VenueBook(wallet=wallet, collateral={}, markets={"BTC": book}, collateral_rates={})
    assert venue.nbytes / 100_000 < 100
