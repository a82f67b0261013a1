"""Insurance fund: fee inflows, bad-debt outflows, take-overs and exhaustion.

Numbers are derived by hand in each test. The rules are Binance's FAQ "Insurance Fund"
(360033525371) and "Liquidation" (360033525271) as summarised in mechanics §6.2, and dYdX's fee
cap from ``liquidations.go`` (§7.2).
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protosim.protocols.perps.insurance import InsuranceFund, settle_liquidation


def test_fee_goes_to_fund_when_fill_is_above_bankruptcy() -> None:
    """Long 1 from 100 with margin 10 filled at 95: equity 5, fee 1% × 95 = 0.95, keeps 4.05."""
    s = settle_liquidation(
        size=1.0, entry_price=100.0, margin=10.0, fill_price=95.0, fee_rate=0.01, fund_balance=0.0
    )
    assert s.fund_change == pytest.approx(0.95, rel=1e-12)
    assert s.fee == s.fund_change
    assert s.trader_equity == pytest.approx(4.05, rel=1e-12)
    assert (s.shortfall, s.bad_debt) == (0.0, 0.0)


def test_fee_is_capped_by_the_margin_left() -> None:
    """Filled at 90.5 the long keeps 0.5 < fee 0.905: the fund takes 0.5 and the trader 0."""
    s = settle_liquidation(
        size=1.0, entry_price=100.0, margin=10.0, fill_price=90.5, fee_rate=0.01, fund_balance=0.0
    )
    assert s.fund_change == pytest.approx(0.5, rel=1e-12)
    assert s.trader_equity == pytest.approx(0.0, abs=1e-12)


def test_fund_covers_bad_debt_up_to_its_balance() -> None:
    """Short 2 from 100 with margin 10 bought back at 108: deficit 6; a fund of 4 leaves 2."""
    s = settle_liquidation(
        size=-2.0, entry_price=100.0, margin=10.0, fill_price=108.0, fee_rate=0.01, fund_balance=4.0
    )
    assert s == (-4.0, 2.0, 0.0, 6.0, -2.0)


def test_negative_fund_balance_pays_nothing() -> None:
    """A fund with nothing available covers nothing; the whole deficit is left for ADL."""
    s = settle_liquidation(
        size=1.0, entry_price=100.0, margin=1.0, fill_price=98.0, fee_rate=0.0, fund_balance=-5.0
    )
    assert (s.fund_change, s.shortfall) == (0.0, 1.0)


@settings(max_examples=200, deadline=None)
@given(
    size=st.floats(1e-3, 1e3) | st.floats(-1e3, -1e-3),
    entry=st.floats(1.0, 1e5),
    margin=st.floats(0.0, 1e6),
    move=st.floats(-0.5, 0.5),
    fee_rate=st.floats(0.0, 0.02),
    fund=st.floats(-1e3, 1e6),
)
def test_settlement_conserves_the_account_equity(
    size: float, entry: float, margin: float, move: float, fee_rate: float, fund: float
) -> None:
    """trader_equity + fund_change = margin + realized PnL; shortfall = bad debt − fund paid."""
    fill = entry * (1 + move)
    s = settle_liquidation(
        size=size,
        entry_price=entry,
        margin=margin,
        fill_price=fill,
        fee_rate=fee_rate,
        fund_balance=fund,
    )
    equity = margin + size * (fill - entry)
    scale = abs(size) * entry + margin + 1.0
    assert s.trader_equity + s.fund_change == pytest.approx(equity, abs=1e-9 * scale)
    assert s.shortfall == pytest.approx(s.bad_debt + min(s.fund_change, 0.0), abs=1e-9 * scale)
    assert s.shortfall >= 0.0
    assert s.fee >= 0.0
    assert s.fund_change >= -max(fund, 0.0)


def test_fund_ledger_tracks_inflows_outflows_and_exhaustion() -> None:
    """Fee 0.95 in, then a deficit of 5 against 3.95: the fund pays 3.95 and is exhausted."""
    fund = InsuranceFund(3.0)
    fund.settle(size=1.0, entry_price=100.0, margin=10.0, fill_price=95.0, fee_rate=0.01)
    assert fund.balance == pytest.approx(3.95, rel=1e-12)
    assert not fund.exhausted
    s = fund.settle(size=1.0, entry_price=100.0, margin=10.0, fill_price=85.0, fee_rate=0.01)
    assert s.shortfall == pytest.approx(5.0 - 3.95, rel=1e-12)
    assert fund.balance == pytest.approx(0.0, abs=1e-12)
    assert fund.exhausted
    assert fund.inflows == pytest.approx(0.95, rel=1e-12)
    assert fund.outflows == pytest.approx(3.95, rel=1e-12)
    assert fund.uncovered == pytest.approx(1.05, rel=1e-12)
    assert fund.times_exhausted == 1


def test_fund_floor_is_never_paid_out() -> None:
    """With a floor of 80 a fund of 100 pays at most 20 of a 50 deficit and is then exhausted."""
    fund = InsuranceFund(100.0, floor=80.0)
    s = fund.settle(size=1.0, entry_price=100.0, margin=10.0, fill_price=40.0, fee_rate=0.0)
    assert (s.fund_change, s.shortfall) == (-20.0, 30.0)
    assert fund.balance == 80.0
    assert fund.exhausted
    assert fund.available == 0.0


def test_take_over_books_gain_or_loss_against_bankruptcy_price() -> None:
    """Short 2 bankrupt at 110: unwound at 108 the fund gains 4; long 1 bankrupt at 95 sold at
    85 costs 10, of which a 104 balance pays all."""
    fund = InsuranceFund(100.0)
    assert fund.take_over(size=-2.0, bankruptcy_price=110.0, fill_price=108.0).fund_change == 4.0
    loss = fund.take_over(size=1.0, bankruptcy_price=95.0, fill_price=85.0)
    assert (loss.fund_change, loss.shortfall, loss.bad_debt) == (-10.0, 0.0, 10.0)
    assert fund.balance == 94.0


def test_take_over_loss_beyond_the_fund_is_a_shortfall() -> None:
    """A 10 loss against a fund of 6 leaves 4 uncovered."""
    fund = InsuranceFund(6.0)
    s = fund.take_over(size=1.0, bankruptcy_price=95.0, fill_price=85.0)
    assert (s.fund_change, s.shortfall) == (-6.0, 4.0)
    assert fund.uncovered == 4.0


def test_take_over_gain_capped_by_dydx_fee_rate() -> None:
    """dYdX: a gain of 10 on 100 of quote is capped at 1.5% × 100 = 1.5."""
    fund = InsuranceFund(0.0)
    s = fund.take_over(size=-1.0, bankruptcy_price=110.0, fill_price=100.0, fee_cap_rate=0.015)
    assert s.fund_change == pytest.approx(1.5, rel=1e-12)


def test_take_over_limit_is_the_fund_size() -> None:
    """Binance: the fund takes over at most 100% of its size in net notional; none when empty."""
    fund = InsuranceFund(1_000.0)
    assert fund.can_take_over(1_000.0)
    assert not fund.can_take_over(1_000.01)
    assert not InsuranceFund(0.0).can_take_over(0.0)


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        ((-1.0,), {}),
        ((float("nan"),), {}),
        ((1.0,), {"floor": -1.0}),
        ((1.0,), {"max_position_ratio": -1.0}),
    ],
)
def test_fund_rejects_invalid_parameters(args: tuple[float], kwargs: dict[str, float]) -> None:
    """Balances and floors are finite and non-negative; the position ratio is non-negative."""
    with pytest.raises(ValueError, match="expected"):
        InsuranceFund(*args, **kwargs)
