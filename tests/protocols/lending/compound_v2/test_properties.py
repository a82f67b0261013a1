"""Invariants of the Compound v2 integer reference math, checked with hypothesis.

Rounding in Compound v2 truncates everywhere (``ExponentialNoError``), which is not always in
the protocol's favour: in ``liquidateCalculateSeizeTokens`` the truncated denominator
``D = priceCollateral · exchangeRate / 1e18`` *raises* the seizure, by a relative ``1 / D`` at
most (`test_seize_tokens_exceed_exact_amount_by_at_most_one_part_in_the_denominator`; a case
with D = 1 is `test_tiny_denominator_truncation_can_overpay_the_liquidator`). For mainnet
magnitudes D ≈ 1e29 and the downward truncations dominate. The protocol seize share is valued
at a truncated exchange rate, so burning it never lowers the exchange rate for suppliers.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from protosim.protocols.lending.compound_v2.math import (
    PROTOCOL_SEIZE_SHARE_MANTISSA,
    CompoundV2Reverted,
    CTokenMarket,
    JumpRateModel,
    LiquidationInput,
    LiquidationOutcome,
    MarketSnapshot,
    account_liquidity,
    accrue_interest,
    borrow_rate,
    exchange_rate_stored,
    liquidate_borrow,
    liquidate_calculate_seize_tokens,
    max_close,
    seize,
)

E18 = 10**18
PROPERTY_SETTINGS = settings(max_examples=100, deadline=None)


@st.composite
def markets(draw: st.DrawFn) -> CTokenMarket:
    """A cToken market with an exchange rate between 0.01 and 100 underlying units per cToken."""
    total_supply = draw(st.integers(10**8, 10**20))
    underlying = draw(st.integers(total_supply // 100 + 1, total_supply * 100))
    reserves = draw(st.integers(0, underlying // 10))
    borrows = draw(st.integers(0, underlying + reserves))
    return CTokenMarket(
        cash=underlying + reserves - borrows,
        total_borrows=borrows,
        total_reserves=reserves,
        total_supply=total_supply,
    )


@dataclass(frozen=True)
class Case:
    position: LiquidationInput
    repay: int


@st.composite
def cases(draw: st.DrawFn) -> Case:
    """A borrower in shortfall, a repayment within the close factor, and in-kind or not."""
    in_kind = draw(st.booleans())
    borrowed = draw(markets())
    collateral = None if in_kind else draw(markets())
    borrow_balance = draw(st.integers(1, max(1, borrowed.total_borrows)))
    assume(borrowed.total_borrows >= borrow_balance)
    close_factor = draw(st.integers(5 * 10**16, 9 * 10**17))
    repay = draw(st.integers(1, max(1, max_close(close_factor, borrow_balance))))
    assume(repay <= max_close(close_factor, borrow_balance))
    price_borrowed = draw(st.integers(10**12, 10**22))
    price_collateral = price_borrowed if in_kind else draw(st.integers(10**12, 10**22))
    position = LiquidationInput(
        borrowed=borrowed,
        collateral=collateral,
        borrow_balance=borrow_balance,
        # the borrower holds part of the collateral market's cToken supply
        borrower_collateral_tokens=draw(
            st.integers(0, (borrowed if collateral is None else collateral).total_supply)
        ),
        shortfall=draw(st.integers(1, 10**30)),
        price_borrowed_mantissa=price_borrowed,
        price_collateral_mantissa=price_collateral,
        close_factor_mantissa=close_factor,
        liquidation_incentive_mantissa=draw(st.integers(E18, 15 * 10**17)),
        protocol_seize_share_mantissa=draw(st.sampled_from([0, PROTOCOL_SEIZE_SHARE_MANTISSA])),
    )
    return Case(position, repay)


def _liquidate(case: Case) -> tuple[LiquidationInput, int, LiquidationOutcome]:
    try:
        return case.position, case.repay, liquidate_borrow(case.position, case.repay)
    except CompoundV2Reverted as reverted:
        assume(reverted.reason != "LIQUIDATE_SEIZE_TOO_MUCH")
        raise


@PROPERTY_SETTINGS
@given(cases())
def test_liquidation_conserves_collateral_ctokens(case: Case) -> None:
    """Borrower's cTokens lost = liquidator's cTokens + cTokens burned into reserves."""
    position, _, out = _liquidate(case)
    lost = position.borrower_collateral_tokens - out.borrower_collateral_tokens
    assert lost == out.seize_tokens
    assert lost == out.liquidator_seize_tokens + out.protocol_seize_tokens
    before = position.borrowed if position.collateral is None else position.collateral
    assert before.total_supply - out.collateral.total_supply == out.protocol_seize_tokens


@PROPERTY_SETTINGS
@given(cases())
def test_liquidation_adds_protocol_share_to_reserves_at_truncated_rate(case: Case) -> None:
    """Reserves grow by exactly truncate(exchangeRate · protocolSeizeTokens); nothing else moves."""
    position, repay, out = _liquidate(case)
    before = position.borrowed if position.collateral is None else position.collateral
    rate_at_seize = exchange_rate_stored(
        before
        if position.collateral is not None
        else CTokenMarket(
            cash=before.cash + repay,
            total_borrows=before.total_borrows - repay,
            total_reserves=before.total_reserves,
            total_supply=before.total_supply,
        )
    )
    added = out.collateral.total_reserves - before.total_reserves
    assert added == out.protocol_seize_amount == rate_at_seize * out.protocol_seize_tokens // E18


@PROPERTY_SETTINGS
@given(cases())
def test_liquidation_repays_cash_and_borrows_one_for_one(case: Case) -> None:
    """Cash rises and totalBorrows and the borrower's debt fall by the repaid amount; none < 0."""
    position, repay, out = _liquidate(case)
    assert out.borrowed.cash == position.borrowed.cash + repay
    assert out.borrowed.total_borrows == position.borrowed.total_borrows - repay
    assert out.borrow_balance == position.borrow_balance - repay >= 0
    assert out.borrower_collateral_tokens >= 0
    assert out.collateral.total_reserves >= 0


@PROPERTY_SETTINGS
@given(cases())
def test_liquidation_never_lowers_the_collateral_exchange_rate(case: Case) -> None:
    """Burning the protocol share at a truncated price leaves suppliers no worse off."""
    position, _, out = _liquidate(case)
    before = position.borrowed if position.collateral is None else position.collateral
    assert exchange_rate_stored(out.collateral) >= exchange_rate_stored(before)


@PROPERTY_SETTINGS
@given(
    repay=st.integers(0, 10**30),
    price_borrowed=st.integers(1, 10**30),
    price_collateral=st.integers(1, 10**30),
    exchange_rate=st.integers(1, 10**30),
    incentive=st.integers(E18, 2 * E18),
)
def test_seize_tokens_exceed_exact_amount_by_at_most_one_part_in_the_denominator(
    repay: int, price_borrowed: int, price_collateral: int, exchange_rate: int, incentive: int
) -> None:
    """seizeTokens ≤ exact · (D + 1) / D, where D = truncate(priceCollateral · exchangeRate)."""
    denominator = price_collateral * exchange_rate // E18
    assume(denominator >= 1)  # a zero denominator reverts
    try:
        seized = liquidate_calculate_seize_tokens(
            actual_repay_amount=repay,
            price_borrowed_mantissa=price_borrowed,
            price_collateral_mantissa=price_collateral,
            exchange_rate_mantissa=exchange_rate,
            liquidation_incentive_mantissa=incentive,
        )
    except CompoundV2Reverted as reverted:
        assume(reverted.reason != "Panic(0x11)")  # ratio · repay beyond uint256 reverts
        raise
    exact = Fraction(repay * incentive * price_borrowed, price_collateral * exchange_rate)
    assert 0 <= seized <= exact * Fraction(denominator + 1, denominator)


def test_tiny_denominator_truncation_can_overpay_the_liquidator() -> None:
    """Pc · rate = 1.0000000000058e18 truncates to D = 1: 1 unit seized where 0.99999… is exact."""
    seized = liquidate_calculate_seize_tokens(
        actual_repay_amount=1,
        price_borrowed_mantissa=1,
        price_collateral_mantissa=616_825_715,
        exchange_rate_mantissa=1_621_203_487,
        liquidation_incentive_mantissa=E18,
    )
    exact = Fraction(E18, 616_825_715 * 1_621_203_487)
    assert exact < 1 == seized


@PROPERTY_SETTINGS
@given(market=markets(), fraction=st.fractions(0, 1), share=st.integers(0, E18))
def test_seize_split_is_exhaustive(market: CTokenMarket, fraction: Fraction, share: int) -> None:
    """Liquidator tokens + protocol tokens = seized tokens, and the protocol part is ≤ share."""
    tokens = int(market.total_supply * fraction)  # the borrower holds part of the supply
    out = seize(
        market, seize_tokens=tokens, borrower_tokens=tokens, protocol_seize_share_mantissa=share
    )
    assert out.liquidator_seize_tokens + out.protocol_seize_tokens == tokens
    assert out.protocol_seize_tokens <= Fraction(tokens * share, E18)
    assert out.borrower_tokens == 0


@PROPERTY_SETTINGS
@given(
    market=markets(),
    rate=st.integers(0, 5 * 10**12),
    blocks=st.integers(0, 10**7),
    reserve_factor=st.integers(0, E18),
)
def test_accrual_rounds_interest_down(
    market: CTokenMarket, rate: int, blocks: int, reserve_factor: int
) -> None:
    """interestAccumulated ≤ exact, reserves take ≤ their share of it, nothing decreases."""
    market = CTokenMarket(
        cash=market.cash,
        total_borrows=market.total_borrows,
        total_reserves=market.total_reserves,
        total_supply=market.total_supply,
        reserve_factor_mantissa=reserve_factor,
    )
    accrual = accrue_interest(market, rate, blocks)
    interest = accrual.interest_accumulated
    assert 0 <= interest <= Fraction(rate * blocks * market.total_borrows, E18)
    assert accrual.market.total_borrows == market.total_borrows + interest
    reserve_gain = accrual.market.total_reserves - market.total_reserves
    assert 0 <= reserve_gain <= Fraction(interest * reserve_factor, E18)
    assert accrual.market.borrow_index >= market.borrow_index


@PROPERTY_SETTINGS
@given(
    balance=st.integers(0, 10**20),
    debt=st.integers(0, 10**24),
    price_low=st.integers(1, 10**20),
    bump=st.integers(0, 10**20),
)
def test_shortfall_grows_with_the_debt_price(
    balance: int, debt: int, price_low: int, bump: int
) -> None:
    """Raising the borrowed asset's oracle price never reduces the shortfall (the DAI incident)."""
    collateral = MarketSnapshot(
        exchange_rate_mantissa=2 * 10**26,
        underlying_price_mantissa=516 * E18,
        collateral_factor_mantissa=75 * 10**16,
        c_token_balance=balance,
    )

    def shortfall(price: int) -> int:
        borrowed = MarketSnapshot(
            exchange_rate_mantissa=2 * 10**26,
            underlying_price_mantissa=price,
            collateral_factor_mantissa=75 * 10**16,
            borrow_balance=debt,
        )
        result = account_liquidity({"cETH": collateral, "cDAI": borrowed})
        assert result.liquidity == 0 or result.shortfall == 0
        return result.shortfall

    assert shortfall(price_low + bump) >= shortfall(price_low)


@PROPERTY_SETTINGS
@given(
    base=st.integers(0, 10**11),
    multiplier=st.integers(0, 10**12),
    jump=st.integers(0, 10**13),
    kink=st.integers(1, E18),
    cash=st.integers(0, 10**24),
    borrows=st.integers(1, 10**24),
    extra=st.integers(0, 10**24),
)
def test_borrow_rate_rises_with_utilization(
    base: int, multiplier: int, jump: int, kink: int, cash: int, borrows: int, extra: int
) -> None:
    """Moving cash into borrows (higher utilization) never lowers the jump-rate borrow rate."""
    model = JumpRateModel(
        base_rate_per_block=base,
        multiplier_per_block=multiplier,
        jump_multiplier_per_block=jump,
        kink=kink,
    )
    moved = min(extra, cash)
    assert borrow_rate(model, cash - moved, borrows + moved, 0) >= borrow_rate(
        model, cash, borrows, 0
    )
