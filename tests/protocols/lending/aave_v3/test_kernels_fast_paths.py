"""The book fast paths of `kernels.liquidate` (a Python row loop for small batches, an array
path without broadcasting for large ones) and of `PairBook.health_factors` against the general
broadcasting path, bit for bit.

The expected values come from the general path (list inputs and array-valued prices take it),
an independent implementation of the same formulas; the fast paths promise the same float
operations in the same order, so any difference, even in the last bit or the sign of a zero,
is a failure.
"""

from __future__ import annotations

import numpy as np
import pytest

from protosim.protocols.lending.aave_v3 import kernels
from protosim.protocols.lending.aave_v3.book import PairBook
from protosim.protocols.lending.aave_v3.math import LiquidationRules

FIELDS = (
    "debt_repaid",
    "collateral_seized",
    "collateral_to_liquidator",
    "protocol_fee",
    "deficit",
    "bad_debt",
    "executed",
)


def _book(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Accounts around HF 1 with a sprinkling of empty, tiny and non-finite balances."""
    c = rng.lognormal(0.0, 1.5, n)
    d = c * 2_000.0 * 0.83 / rng.uniform(0.5, 1.1, n)
    odd = rng.random(n)
    c[odd < 0.03] = 0.0
    d[(odd >= 0.03) & (odd < 0.06)] = 0.0
    d[(odd >= 0.06) & (odd < 0.07)] = 5e-324
    c[(odd >= 0.07) & (odd < 0.08)] = np.nan
    return c, d


@pytest.mark.parametrize("rules", list(LiquidationRules))
@pytest.mark.parametrize("n", [1, 7, kernels._ROW_LOOP_MAX, kernels._ROW_LOOP_MAX + 1, 600])
@pytest.mark.parametrize("cover", [np.inf, 700.0])
def test_book_fast_path_is_bit_identical_to_general_path(
    rules: LiquidationRules, n: int, cover: float
) -> None:
    """A book's batch (1-d balances, scalar prices) equals the broadcasting path bit for bit."""
    rng = np.random.default_rng(n)
    fee = 0.0 if rules is LiquidationRules.V2 else 0.1
    for trial in range(20):
        c, d = _book(rng, n)
        p_c = float(rng.choice([1_500.0, 2_000.0, 3_000.0]))
        kw = {
            "debt_to_cover": cover,
            "liquidation_threshold": 0.83,
            "liquidation_bonus": 1.05,
            "protocol_fee": fee,
            "rules": rules,
        }
        with np.errstate(all="ignore"):  # the odd balances overflow and divide by zero
            fast = kernels.liquidate(c, d, p_c, 1.0, **kw)
            # A per-account price array forces the general path.
            general = kernels.liquidate(c, d, np.full(n, p_c), 1.0, **kw)
        for name in FIELDS:
            got, want = getattr(fast, name), getattr(general, name)
            assert got.dtype == want.dtype, (trial, name)
            assert got.shape == want.shape, (trial, name)
            assert got.tobytes() == want.tobytes(), (trial, name)


def test_fast_path_rejects_what_the_general_path_rejects() -> None:
    """A bonus below 1 and a v2 protocol fee raise on the fast path too."""
    c, d = np.array([1.0]), np.array([1_800.0])
    with pytest.raises(ValueError, match="liquidation_bonus"):
        kernels.liquidate_max(
            c, d, 2_000.0, 1.0, liquidation_threshold=0.83, liquidation_bonus=0.9,
            protocol_fee=0.0, rules="v3.3",
        )  # fmt: skip
    with pytest.raises(ValueError, match="protocol_fee"):
        kernels.liquidate_max(
            c, d, 2_000.0, 1.0, liquidation_threshold=0.83, liquidation_bonus=1.05,
            protocol_fee=0.1, rules="v2",
        )  # fmt: skip


@pytest.mark.parametrize("rules", list(LiquidationRules))
@pytest.mark.parametrize("n", [1, kernels._ROW_LOOP_MAX, kernels._ROW_LOOP_MAX + 1, 600])
def test_pair_terms_entry_is_bit_identical_to_liquidate_max(
    rules: LiquidationRules, n: int
) -> None:
    """`liquidate_max_pair` with a book's `PairTerms` equals `liquidate_max` bit for bit."""
    rng = np.random.default_rng(n)
    fee = 0.0 if rules is LiquidationRules.V2 else 0.1
    terms = kernels.PairTerms(0.83, 1.05, fee, rules)
    for trial in range(10):
        c, d = _book(rng, n)
        with np.errstate(all="ignore"):  # the odd balances overflow and divide by zero
            got = kernels.liquidate_max_pair(c, d, 2_000.0, 1.0, terms)
            want = kernels.liquidate_max(
                c, d, 2_000.0, 1.0, liquidation_threshold=0.83, liquidation_bonus=1.05,
                protocol_fee=fee, rules=rules,
            )  # fmt: skip
        for name in FIELDS:
            assert getattr(got, name).tobytes() == getattr(want, name).tobytes(), (trial, name)


def test_pair_terms_reject_what_liquidate_rejects() -> None:
    """A bonus below 1 and a v2 protocol fee raise when a book's terms are built."""
    with pytest.raises(ValueError, match="liquidation_bonus"):
        kernels.PairTerms(0.83, 0.9, 0.0, LiquidationRules.V3_3)
    with pytest.raises(ValueError, match="protocol_fee"):
        kernels.PairTerms(0.83, 1.05, 0.1, LiquidationRules.V2)


@pytest.mark.parametrize("n", [3, 64, 65, 500])
def test_health_factors_small_and_large_batches_agree_bit_for_bit(n: int) -> None:
    """`PairBook.health_factors` gives the same bits for any batch size (loop or numpy)."""
    rng = np.random.default_rng(7)
    c, d = _book(rng, 1_000)
    c = np.nan_to_num(c)
    book = PairBook("ETH", "USDC", c, d, 0.83)
    positions = rng.choice(1_000, n, replace=False).astype(np.int64)
    ratio = 1_987.654321
    with np.errstate(all="ignore"):  # tiny debts overflow the ratio to inf
        got = book.health_factors(ratio, positions)
        want = np.where(d[positions] > 0, c[positions] * ratio * 0.83 / d[positions], np.inf)
    assert got.dtype == np.float64
    assert got.tobytes() == want.tobytes()


@pytest.mark.parametrize("rules", list(LiquidationRules))
@pytest.mark.parametrize("zero_collateral", [None, 0, 77])
def test_array_path_with_every_or_not_every_collateral_positive_is_bit_identical(
    rules: LiquidationRules, zero_collateral: int | None
) -> None:
    """The array path (no masks where every call executes) with no, or one, empty collateral
    equals the general path bit for bit (the empty one reverts); an empty batch gives empty
    columns."""
    rng = np.random.default_rng(3)
    n = 120
    c = rng.lognormal(0.0, 1.0, n)
    d = c * 2_000.0 * 0.83 / rng.uniform(0.5, 1.1, n)
    if zero_collateral is not None:
        c[zero_collateral] = 0.0
    fee = 0.0 if rules is LiquidationRules.V2 else 0.1
    kw = {"liquidation_threshold": 0.83, "liquidation_bonus": 1.05, "protocol_fee": fee}
    terms = kernels.PairTerms(0.83, 1.05, fee, rules)
    fast = kernels.liquidate_max_pair(c, d, 2_000.0, 1.0, terms)
    general = kernels.liquidate_max(c, d, np.full(n, 2_000.0), 1.0, rules=rules, **kw)
    for name in FIELDS:
        assert getattr(fast, name).tobytes() == getattr(general, name).tobytes(), name
    if zero_collateral is not None:
        assert not fast.executed[zero_collateral]
    empty = kernels.liquidate_max_pair(np.zeros(0), np.zeros(0), 2_000.0, 1.0, terms)
    assert [a.size for a in empty.arrays()] == [0] * len(FIELDS)
