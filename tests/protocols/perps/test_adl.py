"""ADL policies: who each one picks on a hand-built book, invariants and zero-sum on random books.

The hand-built book: a bankrupt *long* is deleveraged at its bankruptcy price 101 with the mark at
100, against three profitable shorts of 100 units each (maintenance margin 100 each):

====  =====  ======  ======  ======  ==========  ===========
row   entry  wallet  uPnL    equity  eff. lev.   PnL% (entry)
====  =====  ======  ======  ======  ==========  ===========
C1    200    500     10,000  10,500  0.952381    50 %
C2    110    500     1,000   1,500   6.666667    9.0909 %
C3    102    250     200     450     22.222222   1.9608 %
====  =====  ======  ======  ======  ==========  ===========

Row 3 is a long (the bankrupt side) that no policy may touch. Scores derived by hand:

- Binance ``(uPnL / wallet) · (MM / equity)``: C1 20 × 0.0095238 = 0.1905, C2 2 × 0.0667 = 0.1333,
  C3 0.8 × 0.2222 = 0.1778 → order C1, C3, C2.
- classic ``PnL% · lev``: C1 0.4762, C2 0.6061, C3 0.4357 → order C2, C1, C3.
- Hyperliquid ``(1 + PnL%) · lev``: C1 1.4286, C2 7.2727, C3 22.658 → order C3, C2, C1.

Each closed unit moves ``101 − 100 = 1`` of equity, so every short can give up its full 100
units (equity ≥ 100). Closing 150 units:

- the queues take 100 from the first-ranked row and 50 from the second;
- pro-rata takes 50 from each row;
- risk-aware pro-rata wants ``q ∝ lev · 100``, i.e. 0.952 : 6.667 : 22.22. That saturates C3 at
  100, and the other 50 split 1/10,500 : 1/1,500 = 1 : 7, so C1 gets 6.25 and C2 43.75.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from protosim.protocols.perps.adl import (
    AdlPolicy,
    PerpBook,
    binance_ranking,
    classic_ranking,
    deleverage,
    effective_leverage,
    hyperliquid_ranking,
)
from protosim.protocols.perps.insurance import settle_liquidation
from protosim.protocols.perps.math import (
    BINANCE_BTCUSDT,
    bankruptcy_price,
    maintenance_margin_many,
)

MARK = 100.0
QUEUES = (AdlPolicy.BINANCE, AdlPolicy.CLASSIC, AdlPolicy.HYPERLIQUID)


@pytest.fixture
def three_shorts() -> PerpBook:
    """The book of the module docstring (rows C1, C2, C3 and a long)."""
    return PerpBook.from_arrays(
        size=[-100.0, -100.0, -100.0, 50.0],
        entry_price=[200.0, 110.0, 102.0, 90.0],
        wallet_balance=[500.0, 500.0, 250.0, 100.0],
        maintenance_margin=100.0,
        mark=MARK,
    )


def test_binance_ranking_reproduces_forum_example() -> None:
    """dev.binance.vision t/17801: uPnL 40.2, wallet 4.27, margin ratio 13.42% → 9.41 × 0.1342."""
    book = PerpBook.from_arrays(
        size=1.0,
        entry_price=100.0,
        wallet_balance=4.27,
        maintenance_margin=0.1342 * (4.27 + 40.2),
        mark=140.2,
    )
    assert binance_ranking(book)[0] == pytest.approx(40.2 / 4.27 * 0.1342, rel=1e-12)
    assert round(40.2 / 4.27, 2) == 9.41


def test_rankings_of_the_three_shorts_match_hand_derivation(three_shorts: PerpBook) -> None:
    """Binance, classic and Hyperliquid scores as derived in the module docstring."""
    lev = np.array([10_000 / 10_500, 10_000 / 1_500, 10_000 / 450])
    pnl_pct = np.array([100 / 200, 10 / 110, 2 / 102])
    assert effective_leverage(three_shorts)[:3] == pytest.approx(lev, rel=1e-12)
    expected_binance = np.array([20 * 100 / 10_500, 2 * 100 / 1_500, 0.8 * 100 / 450])
    assert binance_ranking(three_shorts)[:3] == pytest.approx(expected_binance, rel=1e-12)
    assert classic_ranking(three_shorts)[:3] == pytest.approx(pnl_pct * lev, rel=1e-12)
    assert hyperliquid_ranking(three_shorts)[:3] == pytest.approx((1 + pnl_pct) * lev, rel=1e-12)


@pytest.mark.parametrize(
    ("policy", "expected", "overshoot"),
    [
        # Overshoot = PnL closed − 150 covered; PnL per unit is 100, 10 and 2.
        (AdlPolicy.BINANCE, [100.0, 0.0, 50.0, 0.0], 100 * 100 + 50 * 2 - 150),
        (AdlPolicy.CLASSIC, [50.0, 100.0, 0.0, 0.0], 50 * 100 + 100 * 10 - 150),
        (AdlPolicy.HYPERLIQUID, [0.0, 50.0, 100.0, 0.0], 50 * 10 + 100 * 2 - 150),
        (AdlPolicy.PRO_RATA, [50.0, 50.0, 50.0, 0.0], 50 * (100 + 10 + 2) - 150),
        (AdlPolicy.RISK_AWARE_PRO_RATA, [6.25, 43.75, 100.0, 0.0], 625 + 437.5 + 200 - 150),
    ],
)
def test_each_policy_picks_the_derived_counterparties(
    three_shorts: PerpBook, policy: AdlPolicy, expected: list[float], overshoot: float
) -> None:
    """Closing 150 units at 101 (mark 100) hits the rows and overshoots as derived by hand."""
    result = deleverage(policy, three_shorts, side=1, price=101.0, shortfall_qty=150.0)
    assert result.quantity == pytest.approx(expected, rel=1e-12, abs=1e-12)
    assert result.closed_quantity == pytest.approx(150.0, rel=1e-12)
    assert result.shortfall_covered_usd == pytest.approx(150.0, rel=1e-12)
    assert result.overshoot_usd == pytest.approx(overshoot, rel=1e-12)
    assert result.adl_notional == pytest.approx(150.0 * 101.0, rel=1e-12)
    assert result.accounts_hit == sum(q > 0 for q in expected)
    prices = result.prices
    assert np.all(prices[result.quantity > 0] == 101.0)
    assert np.all(np.isnan(prices[result.quantity == 0]))


def test_adl_closes_at_most_what_keeps_equity_non_negative() -> None:
    """A short with equity 100 closing at 3 above the mark gives up 33.33 units, not 100."""
    book = PerpBook.from_arrays(
        size=[-100.0], entry_price=101.0, wallet_balance=0.0, maintenance_margin=1.0, mark=MARK
    )
    result = deleverage("binance", book, side=1, price=103.0, shortfall_qty=100.0)
    assert result.quantity[0] == pytest.approx(100 / 3, rel=1e-12)
    assert result.equity_after[0] == pytest.approx(0.0, abs=1e-9)
    assert result.unfilled_quantity == pytest.approx(100 - 100 / 3, rel=1e-12)


def test_accounts_without_positive_equity_are_never_deleveraged() -> None:
    """A short already under water is not a counterparty, even when it is the only one."""
    book = PerpBook.from_arrays(
        size=[-10.0, -10.0],
        entry_price=[50.0, 120.0],
        wallet_balance=[100.0, 10.0],
        maintenance_margin=1.0,
        mark=MARK,
    )
    for policy in AdlPolicy:
        result = deleverage(policy, book, side=1, price=MARK, shortfall_qty=15.0)
        assert result.quantity[0] == 0.0
        assert result.quantity[1] == 10.0


def test_unprofitable_counterparties_only_after_profitable_ones() -> None:
    """Pro-rata fills the profitable short first; the losing short covers only the rest."""
    book = PerpBook.from_arrays(
        size=[-10.0, -10.0],
        entry_price=[90.0, 120.0],
        wallet_balance=[500.0, 10.0],
        maintenance_margin=1.0,
        mark=MARK,
    )
    result = deleverage("pro_rata", book, side=1, price=MARK, shortfall_qty=12.0)
    assert result.quantity == pytest.approx([2.0, 10.0], rel=1e-12)


def test_usd_shortfall_sets_quantity_through_price_gap(three_shorts: PerpBook) -> None:
    """A 30 USD shortfall at 2 above the mark needs 15 units; covered exactly 30."""
    result = deleverage("pro_rata", three_shorts, side=1, price=102.0, shortfall_usd=30.0)
    assert result.requested_quantity == pytest.approx(15.0, rel=1e-12)
    assert result.shortfall_covered_usd == pytest.approx(30.0, rel=1e-12)


def test_usd_shortfall_needs_a_price_worse_than_mark(three_shorts: PerpBook) -> None:
    """At or better than the mark for the counterparties no equity moves, so USD mode refuses."""
    with pytest.raises(ValueError, match="worse than the mark"):
        deleverage("binance", three_shorts, side=1, price=99.0, shortfall_usd=1.0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"side": 0, "price": 1.0, "shortfall_qty": 1.0}, "side"),
        ({"side": 1, "price": 1.0}, "exactly one"),
        ({"side": 1, "price": 1.0, "shortfall_qty": 1.0, "shortfall_usd": 1.0}, "exactly one"),
    ],
)
def test_deleverage_rejects_bad_arguments(
    three_shorts: PerpBook, kwargs: dict[str, float], match: str
) -> None:
    """Side is ±1 and exactly one of shortfall_qty and shortfall_usd is given."""
    with pytest.raises(ValueError, match=match):
        deleverage("binance", three_shorts, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"size": [1.0, 2.0], "entry_price": [1.0, 1.0, 1.0]},
        {"size": [1.0], "entry_price": [0.0]},
        {"size": [1.0], "entry_price": [np.nan]},
    ],
)
def test_book_rejects_inconsistent_arrays(kwargs: dict[str, list[float]]) -> None:
    """Arrays broadcast to one length, prices of open positions are positive and finite."""
    with pytest.raises(ValueError, match=r"expected|shape"):
        PerpBook.from_arrays(wallet_balance=1.0, maintenance_margin=0.0, mark=1.0, **kwargs)


def test_book_arrays_are_read_only_copies() -> None:
    """A book copies its inputs and forbids writes, so a result cannot alias a caller's array."""
    size = np.array([1.0, -1.0])
    book = PerpBook.from_arrays(
        size=size, entry_price=1.0, wallet_balance=1.0, maintenance_margin=0.0, mark=1.0
    )
    size[0] = 5.0
    assert book.size[0] == 1.0
    with pytest.raises(ValueError, match="read-only"):
        book.size[0] = 2.0


# --- random books ------------------------------------------------------------------------------


def _random_book(rng: np.random.Generator) -> PerpBook:
    n = int(rng.integers(2, 60))
    size = rng.choice([-1.0, 1.0], n) * rng.lognormal(1.0, 1.0, n)
    entry = MARK * np.exp(rng.normal(0.0, 0.2, n))
    wallet = np.abs(size) * entry / rng.uniform(1.0, 50.0, n)
    mm = maintenance_margin_many(size * MARK, BINANCE_BTCUSDT)
    return PerpBook.from_arrays(
        size=size, entry_price=entry, wallet_balance=wallet, maintenance_margin=mm, mark=MARK
    )


def _capacity(book: PerpBook, side: int, price: float) -> NDArray[np.float64]:
    per_unit = side * (price - MARK)
    eligible = (np.sign(book.size) == -side) & (book.equity > 0)
    room = np.abs(book.size)
    if per_unit > 0:
        room = np.minimum(room, np.maximum(book.equity, 0.0) / per_unit)
    return np.where(eligible, room, 0.0)


def _scores(policy: AdlPolicy, book: PerpBook) -> NDArray[np.float64]:
    rankings = {
        AdlPolicy.BINANCE: binance_ranking,
        AdlPolicy.CLASSIC: classic_ranking,
        AdlPolicy.HYPERLIQUID: hyperliquid_ranking,
    }
    return rankings[policy](book)


@settings(max_examples=150, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    policy=st.sampled_from(list(AdlPolicy)),
    side=st.sampled_from([1, -1]),
    gap=st.floats(-2.0, 5.0),
    fraction=st.floats(0.0, 1.3),
)
def test_adl_invariants_on_random_books(
    seed: int, policy: AdlPolicy, side: int, gap: float, fraction: float
) -> None:
    """Closed = min(asked, capacity); only eligible rows; no flip; no equity below zero."""
    rng = np.random.default_rng(seed)
    book = _random_book(rng)
    price = MARK + side * gap  # gap > 0: worse than the mark for the counterparties
    caps = _capacity(book, side, price)
    asked = fraction * float(np.sum(np.abs(book.size[np.sign(book.size) == -side])))
    result = deleverage(policy, book, side=side, price=price, shortfall_qty=asked)
    q = result.quantity
    scale = float(np.sum(np.abs(book.size)) + 1.0)

    assert result.closed_quantity == pytest.approx(
        min(asked, float(np.sum(caps))), abs=1e-9 * scale
    )
    assert np.all(q >= 0.0)
    assert np.all(q <= caps * (1 + 1e-12) + 1e-12)
    assert np.all(q[caps == 0.0] == 0.0)
    assert np.all(result.new_size * book.size >= -1e-12)  # reduced, never flipped
    # ADL never pushes a hit account below zero and leaves everyone else untouched.
    equity_scale = np.abs(book.equity) + 1.0
    assert np.all(result.equity_after[q > 0] >= -1e-9 * equity_scale[q > 0])
    assert np.all(result.equity_after[q == 0] == book.equity[q == 0])
    recomputed = result.new_wallet_balance + result.new_size * (MARK - book.entry_price)
    assert result.equity_after == pytest.approx(recomputed, rel=1e-9, abs=1e-9)
    assert result.shortfall_covered_usd == pytest.approx(float(np.sum(q)) * gap, abs=1e-9 * scale)

    open_rows = (q < caps * (1 - 1e-9)) & (caps > 0)
    profitable = book.unrealized_pnl > 0
    if policy in QUEUES:
        # Nobody ranked after a row that still has room may have been closed.
        score = _scores(policy, book)
        key = np.where(profitable, 1, 0) * 1e300 + np.where(np.isfinite(score), score, -1e299)
        if np.any(open_rows):
            best_open = np.max(np.where(open_rows, key, -np.inf))
            assert np.all(q[(key < best_open) & (q > 0)] == 0.0)
    else:
        # Among profitable rows with room left, everyone lost the same quantity per weight.
        weight = np.abs(book.size)
        if policy is AdlPolicy.RISK_AWARE_PRO_RATA:
            weight = weight * effective_leverage(book)
        partial = open_rows & profitable & (q > 0)
        if np.count_nonzero(partial) > 1:
            level = q[partial] / weight[partial]
            assert level == pytest.approx(np.full_like(level, level[0]), rel=1e-9)


@settings(max_examples=150, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    policy=st.sampled_from(list(AdlPolicy)),
    filled=st.floats(0.0, 1.0),
    fund=st.floats(0.0, 2_000.0),
)
def test_liquidation_plus_adl_is_zero_sum(
    seed: int, policy: AdlPolicy, filled: float, fund: float
) -> None:
    """Trader PnL + book taker PnL + fund change + ADL transfers = 0 (equity valued at the mark).

    A bankrupt long L (size s, entry e, margin m, bankruptcy price BP above the mark) sells a
    fraction to a taker in the book at F; that part is settled with the clearance fee or the fund.
    The rest is deleveraged at BP, where it is worth exactly zero to L. The fee is an internal
    transfer from L to the fund, and any shortfall the fund cannot pay stays as L's negative
    equity.
    """
    rng = np.random.default_rng(seed)
    book = _random_book(rng)
    s = float(rng.uniform(1.0, 20.0))
    e = MARK * float(rng.uniform(1.02, 1.3))
    m = s * (e - MARK) * float(rng.uniform(0.1, 0.95))
    bp = bankruptcy_price(size=s, entry_price=e, margin=m)
    assert bp > MARK
    equity_before = m + s * (MARK - e)

    q1 = filled * s
    fill = MARK * float(rng.uniform(0.97, 1.03))
    settled = settle_liquidation(
        size=q1,
        entry_price=e,
        margin=m * filled,
        fill_price=fill,
        fee_rate=0.005,
        fund_balance=fund,
    )
    adl = deleverage(policy, book, side=1, price=bp, shortfall_qty=s - q1)
    unfilled = adl.unfilled_quantity
    # What L still holds after the ADL: the unfilled part, with its share of the margin.
    left_over = unfilled / s * m + unfilled * (MARK - e)

    trader_change = settled.trader_equity + left_over - equity_before
    taker_change = q1 * (MARK - fill)
    adl_change = float(np.sum(adl.equity_after - book.equity))
    total = trader_change + taker_change + settled.fund_change + adl_change
    assert total == pytest.approx(0.0, abs=1e-9 * (s * e + m + 1.0))
    assert adl_change == pytest.approx(-adl.shortfall_covered_usd, abs=1e-9 * (s * e))


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), policy=st.sampled_from(list(AdlPolicy)))
def test_usd_mode_adl_makes_the_bankrupt_account_whole(seed: int, policy: AdlPolicy) -> None:
    """Hyperliquid-style: a short with equity −D at the mark, ADL'd at the previous price p.

    Closing Q = D / (mark − p) of it at p moves Q · (mark − p) = D from the longs, so its equity
    ends at 0, the longs lose exactly D together, and the sum over everyone is zero.
    """
    rng = np.random.default_rng(seed)
    book = _random_book(rng)
    deficit = float(rng.uniform(1.0, 50.0))
    previous = MARK * float(rng.uniform(0.95, 0.999))
    result = deleverage(policy, book, side=-1, price=previous, shortfall_usd=deficit)
    gained = result.closed_quantity * (MARK - previous)  # what the short receives
    assert float(np.sum(result.equity_after - book.equity)) + gained == pytest.approx(0.0, abs=1e-9)
    if result.unfilled_quantity <= 1e-12:
        assert gained == pytest.approx(deficit, rel=1e-9)
