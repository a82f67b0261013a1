"""Invariants of the Comet integer reference math, checked with hypothesis.

Value accounting of ``absorb``, in base units: the debt removed equals the collateral credited
(at the liquidation factor) minus what the account keeps plus the shortfall, and the base the
reserves pay out is the credit plus the shortfall. `get_reserves` moves by ``−basePaidOut``
exactly at unit indices, and otherwise within the rounding of principals into the totals:
``−2 ≤ Δreserves + basePaidOut ≤ supplyIndex / 1e15 + 1`` (derived in
`test_absorb_reserves_move_by_base_paid_out_up_to_principal_rounding`).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from protosim.protocols.lending.compound_v3.math import (
    BASE_INDEX_SCALE,
    FACTOR_SCALE,
    AssetInfo,
    BaseMarket,
    CollateralBalance,
    CometRates,
    CometReverted,
    absorb,
    account_liquidity,
    accrue,
    buy_collateral,
    get_borrow_rate,
    get_reserves,
    get_supply_rate,
    is_borrow_collateralized,
    is_liquidatable,
    present_value_borrow,
    present_value_supply,
    principal_value_borrow,
    principal_value_supply,
    quote_collateral,
)

PROPERTY_SETTINGS = settings(max_examples=100, deadline=None)
STEP = 10**14  # Comet stores factors with 4 decimals


@st.composite
def assets(draw: st.DrawFn) -> AssetInfo:
    """A collateral asset: price $0.0001..$1M, 6/8/18 decimals, borrowCF < liquidateCF ≤ 1."""
    liquidate_steps = draw(st.integers(2, 10_000))
    return AssetInfo(
        price=draw(st.integers(10**4, 10**14)),
        scale=10 ** draw(st.sampled_from([6, 8, 18])),
        borrow_collateral_factor=draw(st.integers(0, liquidate_steps - 1)) * STEP,
        liquidate_collateral_factor=liquidate_steps * STEP,
        liquidation_factor=draw(st.integers(5_000, 10_000)) * STEP,
    )


@st.composite
def base_markets(draw: st.DrawFn, *, unit_indices: bool = False) -> BaseMarket:
    """A base market with 6/8/18 decimals, price $0.5..$5,000 and indices 1.0..5.0."""
    return BaseMarket(
        base_scale=10 ** draw(st.sampled_from([6, 8, 18])),
        base_price=draw(st.integers(5 * 10**7, 5 * 10**11)),
        base_supply_index=BASE_INDEX_SCALE
        if unit_indices
        else draw(st.integers(BASE_INDEX_SCALE, 5 * BASE_INDEX_SCALE)),
        base_borrow_index=BASE_INDEX_SCALE
        if unit_indices
        else draw(st.integers(BASE_INDEX_SCALE, 5 * BASE_INDEX_SCALE)),
        total_supply_base=draw(st.integers(0, 10**30)),
        base_balance=draw(st.integers(0, 10**30)),
    )


@dataclass(frozen=True)
class Account:
    principal: int
    collateral: list[CollateralBalance]
    market: BaseMarket


@st.composite
def underwater_accounts(draw: st.DrawFn, *, unit_indices: bool = False) -> Account:
    """An account whose debt is 0.5x to 3x its liquidation-weighted collateral value."""
    market = draw(base_markets(unit_indices=unit_indices))
    collateral = [
        CollateralBalance(draw(assets()), draw(st.integers(0, 10**24)))
        for _ in range(draw(st.integers(0, 3)))
    ]
    weighted_usd = account_liquidity(0, collateral, market, liquidate=True)
    ratio = draw(st.fractions(Fraction(1, 2), 3))
    debt = int(weighted_usd * market.base_scale * ratio / market.base_price) + draw(
        st.integers(1, 10**6)
    )
    assume(debt < 2**96)  # principals and totals are 104-bit
    principal = -principal_value_borrow(market.base_borrow_index, debt)
    extra_borrows = draw(st.integers(0, 10**24))
    market = BaseMarket(
        base_scale=market.base_scale,
        base_price=market.base_price,
        base_supply_index=market.base_supply_index,
        base_borrow_index=market.base_borrow_index,
        total_supply_base=market.total_supply_base,
        total_borrow_base=-principal + extra_borrows,
        base_balance=market.base_balance,
    )
    return Account(principal, collateral, market)


@PROPERTY_SETTINGS
@given(index=st.integers(BASE_INDEX_SCALE, 2**64 - 1), present=st.integers(0, 10**30))
def test_principal_round_trip_favours_the_protocol(index: int, present: int) -> None:
    """A supply converted to principal and back never grows; a debt never shrinks."""
    supplied = present_value_supply(index, principal_value_supply(index, present))
    owed = present_value_borrow(index, principal_value_borrow(index, present))
    assert present - Fraction(index, BASE_INDEX_SCALE) - 1 < supplied <= present
    assert present <= owed < present + Fraction(index, BASE_INDEX_SCALE) + 1


@PROPERTY_SETTINGS
@given(underwater_accounts())
def test_absorb_value_accounting_balances(account: Account) -> None:
    """Debt removed = credit − what the account keeps + shortfall; paid = credit + shortfall."""
    assume(is_liquidatable(account.principal, account.collateral, account.market))
    out = absorb(account.principal, account.collateral, account.market)
    assert out.debt_absorbed == out.delta_balance - out.new_balance + out.shortfall
    assert out.base_paid_out == out.delta_balance + out.shortfall
    assert out.new_balance == 0 or out.shortfall == 0


@PROPERTY_SETTINGS
@given(underwater_accounts())
def test_absorb_reserves_move_by_base_paid_out_up_to_principal_rounding(account: Account) -> None:
    """−2 ≤ Δreserves + basePaidOut ≤ supplyIndex/1e15 + 1 (floors of pv(totals ± principal))."""
    # ΔR = −[pvS(TS + n) − pvS(TS)] − [pvB(TB) − pvB(TB − m)], with m = |old principal| and
    # n = new principal. Each bracketed difference of floors is floor(pv) or floor(pv) + 1, so the
    # borrow side is debt or debt + 1; the supply side lies in [new_balance − i/1e15 − 1,
    # new_balance + 1] because n = floor(new_balance · 1e15 / i) loses less than one index step.
    assume(is_liquidatable(account.principal, account.collateral, account.market))
    out = absorb(account.principal, account.collateral, account.market)
    drift = out.reserves_change + out.base_paid_out
    assert -2 <= drift <= Fraction(account.market.base_supply_index, BASE_INDEX_SCALE) + 1


@PROPERTY_SETTINGS
@given(underwater_accounts(unit_indices=True))
def test_absorb_reserves_move_by_exactly_base_paid_out_at_unit_indices(account: Account) -> None:
    """With both indices at 1.0 principals equal present values, so Δreserves = −basePaidOut."""
    assume(is_liquidatable(account.principal, account.collateral, account.market))
    out = absorb(account.principal, account.collateral, account.market)
    assert out.reserves_change == -out.base_paid_out


@PROPERTY_SETTINGS
@given(underwater_accounts())
def test_absorb_leaves_no_negative_balance(account: Account) -> None:
    """The account ends with principal ≥ 0, no collateral, and the totals stay non-negative."""
    assume(is_liquidatable(account.principal, account.collateral, account.market))
    out = absorb(account.principal, account.collateral, account.market)
    assert out.new_balance >= 0
    assert out.new_principal >= 0
    assert out.market.total_borrow_base >= 0
    assert out.market.total_supply_base >= 0
    assert out.collateral_absorbed == tuple(held.balance for held in account.collateral)


@PROPERTY_SETTINGS
@given(underwater_accounts())
def test_absorb_credits_at_most_the_collateral_value(account: Account) -> None:
    """Credit Σ value · liquidationFactor (rounded down) never exceeds the collateral's value."""
    assume(is_liquidatable(account.principal, account.collateral, account.market))
    out = absorb(account.principal, account.collateral, account.market)
    assert out.delta_value <= sum(out.collateral_values)
    exact_credit = Fraction(out.delta_value * account.market.base_scale, account.market.base_price)
    assert out.delta_balance <= exact_credit


@PROPERTY_SETTINGS
@given(underwater_accounts())
def test_only_liquidatable_accounts_are_absorbed(account: Account) -> None:
    """absorb reverts NotLiquidatable exactly when isLiquidatable is false."""
    if is_liquidatable(account.principal, account.collateral, account.market):
        assert absorb(account.principal, account.collateral, account.market).base_paid_out > 0
        return
    with pytest.raises(CometReverted, match="NotLiquidatable"):
        absorb(account.principal, account.collateral, account.market)


@PROPERTY_SETTINGS
@given(underwater_accounts())
def test_collateral_checks_agree_with_full_liquidity(account: Account) -> None:
    """Early exits aside, the checks match the sign of the full sums; collateralized ⇒ safe."""
    args = (account.principal, account.collateral, account.market)
    liquidatable = is_liquidatable(*args)
    collateralized = is_borrow_collateralized(*args)
    assert liquidatable == (account_liquidity(*args, liquidate=True) < 0)
    assert collateralized == (account_liquidity(*args, liquidate=False) >= 0)
    assert not (collateralized and liquidatable)


@PROPERTY_SETTINGS
@given(
    asset=assets(),
    market=base_markets(),
    base_amount=st.integers(0, 10**30),
    store_front=st.integers(0, FACTOR_SCALE),
)
def test_quote_collateral_lies_between_market_price_and_stated_discount(
    asset: AssetInfo, market: BaseMarket, base_amount: int, store_front: int
) -> None:
    """Quote ≥ the amount at the oracle price; ≤ the stated discount up to one unit of price."""
    # discountFactor rounds down (against the buyer) but assetPriceDiscounted also rounds down
    # (for the buyer), by less than one unit of the 8-decimal price: hence the p_d / (p_d − 1).
    quoted = quote_collateral(asset, base_amount, market, store_front)
    discount = Fraction(store_front, FACTOR_SCALE) * Fraction(
        FACTOR_SCALE - asset.liquidation_factor, FACTOR_SCALE
    )
    base_value = Fraction(base_amount * market.base_price, market.base_scale)
    discounted_price = asset.price * (1 - discount)
    assert quoted >= int(base_value * asset.scale / asset.price)
    at_discount = base_value * asset.scale / discounted_price
    assert quoted <= at_discount * discounted_price / (discounted_price - 1)


@PROPERTY_SETTINGS
@given(
    market=base_markets(),
    asset=assets(),
    base_amount=st.integers(0, 10**24),
    target=st.integers(0, 10**30),
)
def test_buy_collateral_adds_exactly_the_base_paid_to_reserves(
    market: BaseMarket, asset: AssetInfo, base_amount: int, target: int
) -> None:
    """Reserves rise by the base received, and sales happen only below targetReserves."""
    reserves = get_reserves(market)
    quoted = quote_collateral(asset, base_amount, market, 5 * 10**17)
    assume(quoted < 2**128)  # safe128 in doTransferOut
    kwargs = {
        "base_amount": base_amount,
        "min_amount": quoted,
        "collateral_reserves": quoted,
        "store_front_price_factor": 5 * 10**17,
        "target_reserves": target,
    }
    if reserves >= 0 and reserves >= target:
        with pytest.raises(CometReverted, match="NotForSale"):
            buy_collateral(market, asset, **kwargs)
        return
    out = buy_collateral(market, asset, **kwargs)
    assert out.collateral_amount == quoted
    assert out.reserves_after - out.reserves_before == base_amount


RATES = st.builds(
    CometRates,
    supply_kink=st.integers(0, 10**18),
    supply_base=st.integers(0, 10**10),
    supply_slope_low=st.integers(0, 10**11),
    supply_slope_high=st.integers(0, 10**12),
    borrow_kink=st.integers(0, 10**18),
    borrow_base=st.integers(0, 10**10),
    borrow_slope_low=st.integers(0, 10**11),
    borrow_slope_high=st.integers(0, 10**12),
)


@PROPERTY_SETTINGS
@given(rates=RATES, low=st.integers(0, 2 * 10**18), step=st.integers(0, 10**18))
def test_rates_never_fall_as_utilization_rises(rates: CometRates, low: int, step: int) -> None:
    """getSupplyRate and getBorrowRate are non-decreasing in utilization, across the kink."""
    high = low + step
    assert get_supply_rate(rates, high) >= get_supply_rate(rates, low)
    assert get_borrow_rate(rates, high) >= get_borrow_rate(rates, low)


@PROPERTY_SETTINGS
@given(rates=RATES, market=base_markets(), seconds=st.integers(0, 10**7))
def test_accrual_only_raises_indices(rates: CometRates, market: BaseMarket, seconds: int) -> None:
    """Indices never decrease and the principals are untouched by accrual."""
    accrued = accrue(market, rates, seconds)
    assert accrued.base_supply_index >= market.base_supply_index
    assert accrued.base_borrow_index >= market.base_borrow_index
    assert accrued.total_supply_base == market.total_supply_base
