"""The sorted liquidation-price index finds exactly the positions with HF < 1."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protosim.protocols.lending.aave_v3.book import PairBook


def _brute_force(book: PairBook, ratio: float) -> set[int]:
    hf = book.health_factors(ratio)
    return set(np.flatnonzero((hf < 1.0) & (book.collateral > 0)).tolist())


def test_liquidatable_at_hand_derived_liquidation_price() -> None:
    """1 ETH against 1,660 USDC at LT 83% has HF 1 at 2,000: liquidatable below, not at it."""
    # HF = 1 · P · 0.83 / 1660 = 1  ⇔  P = 1660 / 0.83 = 2000.
    book = PairBook("ETH", "USDC", np.array([1.0]), np.array([1660.0]), 0.83)
    assert book.liquidatable(1999.99).tolist() == [0]
    assert book.liquidatable(2000.0).tolist() == []


def test_positions_without_debt_or_collateral_are_never_candidates() -> None:
    """No debt means nothing to liquidate; no collateral means nothing to seize."""
    book = PairBook("ETH", "USDC", np.array([1.0, 0.0]), np.array([0.0, 100.0]), 0.83)
    assert book.liquidatable(1e-9).tolist() == []


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    ratios=st.lists(st.floats(500.0, 4000.0), min_size=1, max_size=6),
)
def test_liquidatable_matches_brute_force_through_updates(seed: int, ratios: list[float]) -> None:
    """After any sequence of position updates the index agrees with a full HF sweep."""
    rng = np.random.default_rng(seed)
    n = 400
    coll = rng.uniform(0.1, 50.0, n)
    debt = coll * 2000.0 * 0.83 / rng.uniform(0.8, 2.5, n)
    book = PairBook("ETH", "USDC", coll, debt, 0.83)
    for ratio in ratios:
        found = book.liquidatable(ratio)
        assert len(set(found.tolist())) == found.size
        assert set(found.tolist()) == _brute_force(book, ratio)
        # Change a random fifth of the book, some up and some down, as liquidations would.
        touched = rng.choice(n, size=n // 5, replace=False)
        book.update(
            touched,
            book.collateral[touched] * rng.uniform(0.0, 1.2, touched.size),
            book.debt[touched] * rng.uniform(0.0, 1.5, touched.size),
        )
    assert set(book.liquidatable(ratios[0]).tolist()) == _brute_force(book, ratios[0])


def test_rebuild_keeps_answers_identical() -> None:
    """Touching over a quarter of the book rebuilds the index without changing any answer."""
    rng = np.random.default_rng(5)
    n = 1_000
    coll = rng.uniform(1.0, 10.0, n)
    debt = coll * 1500.0
    book = PairBook("ETH", "USDC", coll, debt, 0.83)
    before = book.rebuilds
    touched = np.arange(0, n, 3)  # a third of the book
    book.update(touched, coll[touched] / 2, debt[touched])
    assert book.rebuilds == before + 1
    for ratio in (1000.0, 1800.0, 2500.0, 4000.0):
        assert set(book.liquidatable(ratio).tolist()) == _brute_force(book, ratio)


def test_version_counts_updates_and_health_of_matches_the_hand_formula() -> None:
    """Each update bumps the version (reads do not); health is c · ratio · LT / d, inf
    without debt: 2 · 2,000 · 0.8 / 1,600 = 2 and 1 · 2,000 · 0.8 / 2,000 = 0.8."""
    book = PairBook("ETH", "USDC", np.array([2.0, 1.0, 1.0]), np.array([1600.0, 2000.0, 0.0]), 0.8)
    assert book.version == 0
    book.health_factors(2_000.0)
    book.liquidatable(2_000.0)
    assert book.version == 0
    book.update(np.array([1]), np.array([1.0]), np.array([2000.0]))
    assert book.version == 1
    assert book.health_factors(2_000.0).tolist() == [2.0, 0.8, float("inf")]
    assert book.health_factors(2_000.0, np.array([0, 1])).tolist() == [2.0, 0.8]


@pytest.mark.parametrize("n", [5, 40, 200])
def test_update_keys_equal_the_masked_formula_bit_for_bit(n: int) -> None:
    """After an update the keys are d / (c · LT) bit for bit, 0 without debt or collateral,
    for a few positions (Python floats) and for many (the unguarded array path)."""
    rng = np.random.default_rng(n)
    coll = rng.uniform(0.1, 10.0, 1_000)
    debt = coll * 1_500.0 * rng.uniform(0.2, 1.0, 1_000)
    book = PairBook("ETH", "USDC", coll.copy(), debt.copy(), 0.83)
    rows = np.sort(rng.choice(1_000, n, replace=False))
    new_coll = rng.uniform(0.1, 10.0, n)
    new_debt = rng.uniform(100.0, 9_000.0, n)
    new_debt[::4] = 0.0  # fully liquidated: no debt left
    new_debt[1::4] = -0.0  # as `np.maximum(-0.0, 0.0)` leaves a rounding to zero
    for c, d in ((new_coll, new_debt), (new_coll, new_debt + 1.0)):
        book.update(rows, c, d)
        expected = [
            di / (ci * 0.83) if di > 0 and ci > 0 else 0.0 for ci, di in zip(c, d, strict=True)
        ]
        # Bits, not values: a key of -0.0 would equal 0.0.
        assert book.keys[rows].tobytes() == np.array(expected).tobytes()
    # No collateral left (keys 0), through the guarded path.
    zero_coll = new_coll.copy()
    zero_coll[1::3] = 0.0
    book.update(rows, zero_coll, new_debt + 1.0)
    expected = [
        di / (ci * 0.83) if ci > 0 else 0.0
        for ci, di in zip(zero_coll, new_debt + 1.0, strict=True)
    ]
    assert book.keys[rows].tobytes() == np.array(expected).tobytes()
    for ratio in (500.0, 1_000.0, 1_500.0):
        assert set(book.liquidatable(ratio).tolist()) == _brute_force(book, ratio)
