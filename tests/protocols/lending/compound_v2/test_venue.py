"""The Compound v2 venue's cToken state: exchange rate, borrow index and reserves."""

from __future__ import annotations

import numpy as np
import pytest

from protosim.protocols.lending.compound_v2.params import CTokenParams, JumpRateParams
from protosim.protocols.lending.compound_v2.venue import AccountBook, CTokenState


def _market(**kw: object) -> CTokenState:
    params = CTokenParams.model_validate(
        {
            "oracle": "x",
            "cash": 100.0,
            "borrows": 100.0,
            "exchange_rate": 0.02,
            "reserve_factor": 0.1,
            "interest_model": {
                "version": "v1",
                "base_rate_per_year": 0.05,
                "multiplier_per_year": 0.0,
                "jump_multiplier_per_year": 0.0,
                "kink": 0.8,
            },
            **kw,
        }
    )
    return CTokenState("DAI", params, supplied=0.0, borrowed=0.0)


def test_exchange_rate_starts_where_configured() -> None:
    """totalSupply is set so exchangeRateStored = (cash + borrows − reserves) / supply = 0.02."""
    assert _market().exchange_rate == pytest.approx(0.02, rel=1e-15)


def test_a_year_of_five_percent_simple_interest() -> None:
    """5 %/yr for 2,102,400 blocks: index 1.05, borrows 105, reserves 0.5 (RF 10 %).

    Per block 0.05e18 // 2,102,400 = 23,782,343,987 (0.823 wei truncated), so a year is
    0.823 · 2,102,400 = 1.73e6 wei = 1.7e-12 short of 5 % (JumpRateModel truncation).
    """
    m = _market()
    m.accrue(2_102_400)
    assert m.borrow_index == pytest.approx(1.05 - 1.73e-12, rel=1e-13)
    assert m.market.total_borrows / 1e18 == pytest.approx(105.0, rel=1e-11)
    assert m.reserves == pytest.approx(0.5, rel=1e-10)
    # Suppliers earn the rest: (100 + 105 − 0.5) / 10,000 cTokens.
    assert m.exchange_rate == pytest.approx(204.5 / 10_000, rel=1e-11)


def test_no_model_means_no_interest() -> None:
    """Without an interest model the stored index and totals stay put."""
    m = _market(interest_model=None)
    m.accrue(1_000_000)
    assert m.borrow_index == 1.0
    assert m.market.total_borrows == 100 * 10**18


def test_borrow_balance_scales_with_the_index() -> None:
    """borrowBalanceStored = principal · borrowIndex / interestIndex."""
    book = AccountBook("ETH", "DAI", np.array([1.0, 2.0]), np.array([100.0, 50.0]), 1.0, 0)
    np.testing.assert_allclose(book.borrow(1.1), [110.0, 55.0])


def test_jump_rate_params_reject_a_zero_kink() -> None:
    """A kink of 0 is refused (BaseJumpRateModelV2 divides by it)."""
    with pytest.raises(ValueError, match="kink"):
        JumpRateParams(
            base_rate_per_year=0, multiplier_per_year=0.1, jump_multiplier_per_year=1, kink=0
        )
