"""Worked cases of the Compound v2 integer reference math.

Expected numbers come from compound-finance/compound-protocol @ a3214f67, file and case named in
each test, or are derived by hand in the test. Scenario files (``spec/scenario/*.scen``) write
exchange rates and prices as ``Exp`` numbers: "exchange rate 4e9" is the mantissa ``4e9 · 1e18``
(BAT-wei per cBAT unit), "price 0.002" is ``2e15``. ``PricedComptroller`` uses close factor 0.1.
"""

from __future__ import annotations

import dataclasses
from fractions import Fraction

import pytest

from protosim.protocols.lending.compound_v2.math import (
    BLOCKS_PER_YEAR,
    BORROW_RATE_MAX_MANTISSA,
    CompoundV2Reverted,
    ComptrollerError,
    CTokenMarket,
    JumpRateModel,
    LiquidationInput,
    MarketSnapshot,
    account_liquidity,
    accrue_interest,
    borrow_balance_stored,
    borrow_rate,
    exchange_rate_stored,
    is_deprecated,
    liquidate_borrow,
    liquidate_borrow_allowed,
    liquidate_calculate_seize_tokens,
    max_close,
    seize,
    supply_rate,
    underlying_price_mantissa,
    utilization_rate,
)
from protosim.units import MAX_UINT256

E18 = 10**18
CLOSE_FACTOR_SCEN = 10**17  # PricedComptroller closeFactor=0.1


def _signed_liquidity(
    markets: dict[str, MarketSnapshot],
    modify: str | None = None,
    redeem_tokens: int = 0,
    borrow_amount: int = 0,
) -> int:
    result = account_liquidity(
        markets, modify=modify, redeem_tokens=redeem_tokens, borrow_amount=borrow_amount
    )
    return result.liquidity - result.shortfall


# -- exchange rate and borrow balance ---------------------------------------------------------


def test_exchange_rate_in_kind_scenario_is_four_e9() -> None:
    """InKindLiquidation.scen: (99 cash + 101 borrows − 0 reserves) / 50e9 cBAT = 4e9 per unit."""
    market = CTokenMarket(
        cash=99 * E18, total_borrows=101 * E18, total_reserves=0, total_supply=50 * 10**9
    )
    assert exchange_rate_stored(market) == 4 * 10**9 * E18


def test_exchange_rate_without_supply_is_the_initial_rate() -> None:
    """exchangeRateStoredInternal returns initialExchangeRateMantissa while totalSupply is 0."""
    market = CTokenMarket(
        cash=5,
        total_borrows=0,
        total_reserves=0,
        total_supply=0,
        initial_exchange_rate_mantissa=2 * 10**26,
    )
    assert exchange_rate_stored(market) == 2 * 10**26


def test_exchange_rate_truncates() -> None:
    """(1 + 1 − 0) · 1e18 / 3 = 0.666… → 666…666 (rounded down, against redeemers)."""
    market = CTokenMarket(cash=1, total_borrows=1, total_reserves=0, total_supply=3)
    assert exchange_rate_stored(market) == 666_666_666_666_666_666


def test_exchange_rate_reverts_when_reserves_exceed_cash_plus_borrows() -> None:
    """liquidateCalculateAmountSeizeTest.js "reverts if it fails to calculate the exchange rate"."""
    market = CTokenMarket(cash=1, total_borrows=0, total_reserves=10, total_supply=1)
    with pytest.raises(CompoundV2Reverted, match=r"Panic\(0x11\)"):
        exchange_rate_stored(market)


def test_borrow_balance_stored_scales_by_index_ratio() -> None:
    """InKindLiquidation.scen: 1 BAT borrowed at index 1.0 is 101 BAT at index 101."""
    assert borrow_balance_stored(E18, E18, 101 * E18) == 101 * E18
    assert borrow_balance_stored(0, 0, 101 * E18) == 0  # no division by a zero index


# -- interest ---------------------------------------------------------------------------------


def test_accrue_interest_matches_accrue_interest_test_success_case() -> None:
    """accrueInterestTest.js "succeeds and saves updated values": 1e22 borrows at 1e-6 per block."""
    market = CTokenMarket(
        cash=0,
        total_borrows=10**22,
        total_reserves=10**20,
        total_supply=0,
        reserve_factor_mantissa=10**17,
    )
    accrual = accrue_interest(market, 10**12, 1)
    assert accrual.market.borrow_index == E18 + E18 * 10**12 // E18  # 1 + 1e-6
    assert accrual.market.total_borrows == 10**22 + 10**16
    assert accrual.market.total_reserves == 10**20 + 10**15  # 10 % of 1e16
    assert accrual.interest_accumulated == 10**16


@pytest.mark.parametrize(
    ("blocks", "expected_borrows"),
    [(19_600_000, 99 * E18), (20_000_000, 101 * E18), (200_000_000, 1_001 * E18)],
)
def test_accrue_interest_matches_in_kind_scenario_fast_forwards(
    blocks: int, expected_borrows: int
) -> None:
    """InKindLiquidation.scen: 1 BAT at 0.0005 %/block grows to 1 + blocks · 5e-6 BAT (simple)."""
    market = CTokenMarket(
        cash=99 * E18, total_borrows=E18, total_reserves=0, total_supply=50 * 10**9
    )
    accrual = accrue_interest(market, BORROW_RATE_MAX_MANTISSA, blocks)
    assert accrual.market.total_borrows == expected_borrows
    assert borrow_balance_stored(E18, E18, accrual.market.borrow_index) == expected_borrows


def test_accrue_interest_rejects_absurd_borrow_rate() -> None:
    """accrueInterestTest.js: a rate of 0.001 % per block exceeds borrowRateMaxMantissa."""
    market = CTokenMarket(cash=0, total_borrows=E18, total_reserves=0, total_supply=0)
    with pytest.raises(CompoundV2Reverted, match="borrow rate is absurdly high"):
        accrue_interest(market, 10**13, 1)


def test_accrue_interest_with_no_blocks_skips_the_rate_check() -> None:
    """accrueInterest returns before reading the rate when the block has not changed."""
    market = CTokenMarket(cash=0, total_borrows=E18, total_reserves=0, total_supply=0)
    accrual = accrue_interest(market, 10**13, 0)
    assert accrual.market == market
    assert accrual.interest_accumulated == 0


def test_accrue_interest_index_overflow_reverts() -> None:
    """accrueInterestTest.js "fails if new borrow interest index calculation fails"."""
    market = CTokenMarket(
        cash=0, total_borrows=0, total_reserves=0, total_supply=0, borrow_index=MAX_UINT256
    )
    with pytest.raises(CompoundV2Reverted, match=r"Panic\(0x11\)"):
        accrue_interest(market, 10**12, 1)


CUSDT_MODEL = JumpRateModel.v2(
    base_rate_per_year=0,
    multiplier_per_year=4 * 10**16,
    jump_multiplier_per_year=109 * 10**16,
    kink=8 * 10**17,
)


def test_jump_rate_v2_multiplier_is_the_rate_added_at_the_kink() -> None:
    """JumpRateModelV2: at util = kink the rate is base + multiplierPerYear (4 %/yr), truncated."""
    # 0.8e18 · 23,782,343,987 / 1e18 = 19,025,875,189.6 → 19,025,875,189 per block
    rate = borrow_rate(CUSDT_MODEL, 200, 800, 0)
    assert rate == 19_025_875_189
    assert abs(Fraction(rate * BLOCKS_PER_YEAR, E18) - Fraction(4, 100)) < Fraction(1, 10**9)


def test_utilization_rate_subtracts_reserves() -> None:
    """utilizationRate = borrows / (cash + borrows − reserves): 50 / (60 + 50 − 10) = 50 %."""
    assert utilization_rate(60, 50, 10) == 5 * 10**17


def test_utilization_rate_with_reserves_equal_to_cash_plus_borrows_divides_by_zero() -> None:
    """A zero denominator is a division-by-zero panic in Solidity 0.8."""
    with pytest.raises(CompoundV2Reverted, match=r"Panic\(0x12\)"):
        utilization_rate(0, 5, 5)


def test_supply_rate_is_borrow_rate_times_utilization_net_of_reserve_factor() -> None:
    """getSupplyRate at 90 %, RF 7.5 %: 70,871,385,082 · 0.925 → 65,556,031,200; × 0.9 → …080."""
    # 70,871,385,082 × 0.925 = 65,556,031,200.85 → 65,556,031,200
    # 65,556,031,200 × 0.9   = 59,000,428,080.0
    assert supply_rate(CUSDT_MODEL, 100, 900, 0, 75 * 10**15) == 59_000_428_080


def _make_utilization(util: int) -> tuple[int, int, int]:
    # InterestRateModelTest.js makeUtilization: borrows = reserves = 1e18, cash = 1e36 / util.
    if util == 0:
        return 0, 0, 0
    return 10**36 // util, E18, E18


@pytest.mark.parametrize(
    ("jump", "kink", "util", "expected"),
    [
        (100, 90, 0, 10),
        (100, 90, 10, 12),
        (100, 90, 89, 27.8),
        (100, 90, 90, 28),
        (100, 90, 91, 29),
        (100, 90, 100, 38),
        (20, 90, 0, 10),
        (20, 90, 10, 12),
        (20, 90, 100, 30),
        (0, 90, 0, 10),
        (0, 90, 10, 12),
        (0, 90, 100, 28),
        (0, 110, 0, 10),
        (0, 110, 10, 12),
        (0, 110, 100, 30),
        (2000, 0, 0, 10),
        (2000, 0, 10, 210),
        (2000, 0, 100, 2010),
    ],
)
def test_jump_rate_v1_chosen_points(jump: int, kink: int, util: int, expected: float) -> None:
    """InterestRateModelTest.js "jump rate tests / chosen points" (base 10 %, slope 20 %), ±0.01."""
    model = JumpRateModel.v1(
        base_rate_per_year=10 * 10**16,
        multiplier_per_year=20 * 10**16,
        jump_multiplier_per_year=jump * 10**16,
        kink=kink * 10**16,
    )
    cash, borrows, reserves = _make_utilization(util * 10**16)
    annual_percent = borrow_rate(model, cash, borrows, reserves) / 1e16 * BLOCKS_PER_YEAR
    assert annual_percent == pytest.approx(expected, abs=1e-2)


# -- account liquidity --------------------------------------------------------------------------

# HypotheticalAccountLiquidity.scen: every market's initial exchange rate is 1e9 (mantissa 1e27).
_EX = 10**27
CZRX = MarketSnapshot(
    exchange_rate_mantissa=_EX,
    underlying_price_mantissa=2 * 10**15,
    collateral_factor_mantissa=4 * 10**17,
    c_token_balance=1_250 * 10**9,
)
CETH = MarketSnapshot(
    exchange_rate_mantissa=_EX,
    underlying_price_mantissa=E18,
    collateral_factor_mantissa=8 * 10**17,
    c_token_balance=25 * 10**8,
)
CBAT = MarketSnapshot(
    exchange_rate_mantissa=_EX,
    underlying_price_mantissa=15 * 10**14,
    collateral_factor_mantissa=3 * 10**17,
)
COMG = MarketSnapshot(
    exchange_rate_mantissa=_EX, underlying_price_mantissa=10**16, collateral_factor_mantissa=0
)


@pytest.mark.parametrize(
    ("markets", "modify", "redeem", "borrow", "expected"),
    [
        ({}, None, 0, 0, 0),
        ({"cZRX": CZRX}, None, 0, 0, E18),
        ({"cZRX": CZRX}, "cZRX", 1_000 * 10**9, 0, 2 * 10**17),
        ({"cZRX": CZRX}, "cZRX", 0, 1_000 * E18, -E18),
        ({"cZRX": CZRX}, "cETH", 2 * 10**6, 0, E18),  # not in cETH: no effect
        ({"cZRX": CZRX, "cETH": CETH}, None, 0, 0, 3 * E18),
        ({"cZRX": CZRX, "cETH": CETH}, "cZRX", 1_000 * 10**9, 0, 22 * 10**17),
        ({"cZRX": CZRX, "cETH": CETH}, "cZRX", 0, 1_000 * E18, E18),
        ({"cZRX": CZRX, "cETH": CETH}, "cETH", 2 * 10**9, 0, 14 * 10**17),
        ({"cZRX": CZRX, "cETH": CETH}, "cETH", 0, 2 * E18, E18),
        ({"cZRX": CZRX, "cETH": CETH, "cBAT": CBAT}, "cBAT", 1_000 * 10**9, 0, 255 * 10**16),
        ({"cZRX": CZRX, "cETH": CETH, "cBAT": CBAT}, "cBAT", 0, 1_000 * E18, 15 * 10**17),
        ({"cZRX": CZRX, "cETH": CETH, "cBAT": CBAT, "cOMG": COMG}, "cOMG", 100 * 10**9, 0, 3 * E18),
        ({"cZRX": CZRX, "cETH": CETH, "cBAT": CBAT, "cOMG": COMG}, "cOMG", 0, 100 * E18, 2 * E18),
    ],
)
def test_account_liquidity_matches_hypothetical_scenario(
    markets: dict[str, MarketSnapshot], modify: str | None, redeem: int, borrow: int, expected: int
) -> None:
    """HypotheticalAccountLiquidity.scen "Calculates hypothetical account liquidity", each step."""
    assert (
        _signed_liquidity(markets, modify=modify, redeem_tokens=redeem, borrow_amount=borrow)
        == expected
    )


def test_account_liquidity_with_a_zero_price_is_a_price_error() -> None:
    """HypotheticalAccountLiquidity.scen: cOMG without a price fails with error code 13."""
    no_price = MarketSnapshot(
        exchange_rate_mantissa=_EX, underlying_price_mantissa=0, collateral_factor_mantissa=0
    )
    with pytest.raises(CompoundV2Reverted) as raised:
        account_liquidity({"cZRX": CZRX, "cOMG": no_price}, modify="cOMG", redeem_tokens=10**11)
    assert raised.value.code is ComptrollerError.PRICE_ERROR


def test_account_liquidity_truncates_each_market_separately() -> None:
    """Each market's sumCollateral term is truncated on its own: two halves of a unit give 0."""
    half = MarketSnapshot(
        exchange_rate_mantissa=E18,
        underlying_price_mantissa=E18,
        collateral_factor_mantissa=5 * 10**17,
        c_token_balance=1,
    )
    result = account_liquidity({"a": half, "b": half})
    assert result.sum_collateral == 0  # 0.5 + 0.5 would be 1 if summed before truncating


@pytest.mark.parametrize(
    ("blocks", "liquidity", "shortfall"),
    [(0, 49 * E18, 0), (19_600_000, 0, 0), (20_000_000, 0, E18)],
)
def test_account_liquidity_in_kind_scenario(blocks: int, liquidity: int, shortfall: int) -> None:
    """InKindLiquidation.scen: liquidity 49e18 at start, exactly 0 at 19.6M blocks, −1e18 at 20M."""
    market = CTokenMarket(
        cash=99 * E18, total_borrows=E18, total_reserves=0, total_supply=50 * 10**9
    )
    market = accrue_interest(market, BORROW_RATE_MAX_MANTISSA, blocks).market
    cbat = MarketSnapshot(
        exchange_rate_mantissa=exchange_rate_stored(market),
        underlying_price_mantissa=E18,
        collateral_factor_mantissa=5 * 10**17,
        c_token_balance=50 * 10**9,
        borrow_balance=borrow_balance_stored(E18, E18, market.borrow_index),
    )
    result = account_liquidity({"cBAT": cbat})
    assert (result.liquidity, result.shortfall) == (liquidity, shortfall)


# -- liquidateBorrowAllowed ------------------------------------------------------------------------


def test_liquidate_borrow_allowed_at_exactly_zero_shortfall_rejects() -> None:
    """InKindLiquidation.scen "Insufficient in-kind shortfall": LiquidateComptrollerRejection(3)."""
    with pytest.raises(CompoundV2Reverted) as raised:
        liquidate_borrow_allowed(
            shortfall=0,
            borrow_balance=99 * E18,
            repay_amount=10 * E18,
            close_factor_mantissa=CLOSE_FACTOR_SCEN,
        )
    assert raised.value.reason == "LiquidateComptrollerRejection"
    assert raised.value.code is ComptrollerError.INSUFFICIENT_SHORTFALL


def test_liquidate_borrow_allowed_beyond_close_factor_rejects() -> None:
    """InKindLiquidation.scen "Liqidate in-kind beyond max close": 20 > 0.1 · 101 → code 17."""
    with pytest.raises(CompoundV2Reverted) as raised:
        liquidate_borrow_allowed(
            shortfall=E18,
            borrow_balance=101 * E18,
            repay_amount=20 * E18,
            close_factor_mantissa=CLOSE_FACTOR_SCEN,
        )
    assert raised.value.code is ComptrollerError.TOO_MUCH_REPAY


def test_liquidate_borrow_allowed_up_to_max_close() -> None:
    """repay ≤ truncate(closeFactor · borrowBalance) passes; one unit more does not."""
    limit = max_close(CLOSE_FACTOR_SCEN, 101 * E18)
    assert limit == 101 * 10**17
    liquidate_borrow_allowed(
        shortfall=1,
        borrow_balance=101 * E18,
        repay_amount=limit,
        close_factor_mantissa=CLOSE_FACTOR_SCEN,
    )
    with pytest.raises(CompoundV2Reverted):
        liquidate_borrow_allowed(
            shortfall=1,
            borrow_balance=101 * E18,
            repay_amount=limit + 1,
            close_factor_mantissa=CLOSE_FACTOR_SCEN,
        )


def test_deprecated_market_can_be_liquidated_while_healthy() -> None:
    """liquidateTest.js "liquidateBorrowAllowed allows deprecated markets to be liquidated"."""
    assert is_deprecated(0, True, E18)
    with pytest.raises(CompoundV2Reverted) as raised:
        liquidate_borrow_allowed(
            shortfall=0, borrow_balance=2, repay_amount=2, close_factor_mantissa=5 * 10**17
        )
    assert raised.value.code is ComptrollerError.INSUFFICIENT_SHORTFALL
    liquidate_borrow_allowed(
        shortfall=0,
        borrow_balance=2,
        repay_amount=2,
        close_factor_mantissa=5 * 10**17,
        deprecated=True,
    )
    with pytest.raises(CompoundV2Reverted, match="Can not repay more than the total borrow"):
        liquidate_borrow_allowed(
            shortfall=0,
            borrow_balance=2,
            repay_amount=4,
            close_factor_mantissa=5 * 10**17,
            deprecated=True,
        )


# -- liquidateCalculateSeizeTokens ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("exchange_rate", "borrowed_price", "collateral_price", "incentive", "repay"),
    [
        (E18, E18, E18, E18, E18),
        (2 * E18, E18, E18, E18, E18),
        (2 * E18, 2 * E18, 142 * 10**16, 13 * 10**17, 245 * 10**16),
        (2_789 * 10**15, 5_230_480_842 * 10**9, 77_132 * 10**16, 13 * 10**17, 1_000_245 * 10**16),
        (
            7_009_232_529_961_056 * 10**9,
            2_527_872_631_724_044_5 * 10**8,
            2_617_711_209_324_258_5 * 10**7,
            1_179_713_989_619_784_000,
            7_790_468_414_639_561 * 10**9,
        ),
    ],
)
def test_seize_tokens_match_calculate_amount_seize_test(
    exchange_rate: int, borrowed_price: int, collateral_price: int, incentive: int, repay: int
) -> None:
    """liquidateCalculateAmountSeizeTest.js cases: within 1e7 below the exact value, never above."""
    seized = liquidate_calculate_seize_tokens(
        actual_repay_amount=repay,
        price_borrowed_mantissa=borrowed_price,
        price_collateral_mantissa=collateral_price,
        exchange_rate_mantissa=exchange_rate,
        liquidation_incentive_mantissa=incentive,
    )
    exact = Fraction(repay * incentive * borrowed_price, collateral_price * exchange_rate)
    assert seized <= exact
    assert exact - seized < 10**7


def test_seize_tokens_hand_derivation_of_case_three() -> None:
    """Case [2, 2, 1.42, 1.3, 2.45]e18: ratio 2.6/2.84 truncated to 0.915492957746478873."""
    ratio = (13 * 10**17 * 2 * E18 // E18) * E18 // (142 * 10**16 * 2 * E18 // E18)
    assert ratio == 915_492_957_746_478_873
    seized = liquidate_calculate_seize_tokens(
        actual_repay_amount=245 * 10**16,
        price_borrowed_mantissa=2 * E18,
        price_collateral_mantissa=142 * 10**16,
        exchange_rate_mantissa=2 * E18,
        liquidation_incentive_mantissa=13 * 10**17,
    )
    assert seized == ratio * 245 * 10**16 // E18 == 2_242_957_746_478_873_238


@pytest.mark.parametrize(("borrowed_price", "collateral_price"), [(0, E18), (2 * 10**10, 0)])
def test_seize_tokens_with_a_zero_price_fail(borrowed_price: int, collateral_price: int) -> None:
    """liquidateCalculateAmountSeizeTest.js "fails if either asset price is 0": PRICE_ERROR."""
    with pytest.raises(CompoundV2Reverted) as raised:
        liquidate_calculate_seize_tokens(
            actual_repay_amount=E18,
            price_borrowed_mantissa=borrowed_price,
            price_collateral_mantissa=collateral_price,
            exchange_rate_mantissa=2 * 10**26,
            liquidation_incentive_mantissa=11 * 10**17,
        )
    assert raised.value.code is ComptrollerError.PRICE_ERROR


@pytest.mark.parametrize(
    ("repay", "borrowed_price"), [(MAX_UINT256, 2 * 10**10), (E18, MAX_UINT256)]
)
def test_seize_tokens_overflow_reverts(repay: int, borrowed_price: int) -> None:
    """liquidateCalculateAmountSeizeTest.js: repayAmount or borrowed price of uint max overflows."""
    with pytest.raises(CompoundV2Reverted, match=r"Panic\(0x11\)"):
        liquidate_calculate_seize_tokens(
            actual_repay_amount=repay,
            price_borrowed_mantissa=borrowed_price,
            price_collateral_mantissa=E18,
            exchange_rate_mantissa=E18,
            liquidation_incentive_mantissa=11 * 10**17,
        )


# -- seize and liquidateBorrow ------------------------------------------------------------------

# liquidateTest.js: exchange rate 0.2 (cash 2e18 over 10e18 cTokens), 40e18 cTokens seized.
COLLATERAL = CTokenMarket(cash=2 * E18, total_borrows=0, total_reserves=0, total_supply=10 * E18)


def test_seize_splits_protocol_share_into_reserves() -> None:
    """liquidateTest.js "seize … succeeds": 2.8 % of 40e18 = 1.12e18 burned, 0.224e18 reserves."""
    out = seize(COLLATERAL, seize_tokens=40 * E18, borrower_tokens=40 * E18)
    assert out.protocol_seize_tokens == 112 * 10**16
    assert out.liquidator_seize_tokens == 3_888 * 10**16
    assert out.protocol_seize_amount == 224 * 10**15  # 1.12e18 · 0.2
    assert out.borrower_tokens == 0
    assert out.market.total_supply == 10 * E18 - 112 * 10**16
    assert out.market.total_reserves == 224 * 10**15


def test_seize_more_than_the_borrower_holds_reverts() -> None:
    """liquidateTest.js "fails if cTokenBalances[borrower] < amount"."""
    with pytest.raises(CompoundV2Reverted, match=r"Panic\(0x11\)"):
        seize(COLLATERAL, seize_tokens=40 * E18, borrower_tokens=1)


def test_seize_before_v2_1_has_no_protocol_share() -> None:
    """Before protocolSeizeShareMantissa existed, the liquidator received every seized cToken."""
    out = seize(
        COLLATERAL, seize_tokens=40 * E18, borrower_tokens=40 * E18, protocol_seize_share_mantissa=0
    )
    assert (out.liquidator_seize_tokens, out.protocol_seize_amount) == (40 * E18, 0)


def _liquidate_test_position() -> LiquidationInput:
    # liquidateTest.js forces seizeTokens = 4 · repay; prices 0.8 : 1 with incentive 1.0 and the
    # 0.2 exchange rate give the same ratio: 0.8 / (1 · 0.2) = 4.
    borrowed = CTokenMarket(cash=0, total_borrows=10 * E18, total_reserves=0, total_supply=0)
    return LiquidationInput(
        borrowed=borrowed,
        collateral=COLLATERAL,
        borrow_balance=10 * E18,
        borrower_collateral_tokens=40 * E18,
        shortfall=1,
        price_borrowed_mantissa=8 * 10**17,
        price_collateral_mantissa=E18,
        close_factor_mantissa=E18,
        liquidation_incentive_mantissa=E18,
    )


def test_liquidate_borrow_moves_cash_borrows_and_tokens() -> None:
    """liquidateTest.js "transfers the cash, borrows, tokens": repay 10e18, seize 40e18."""
    out = liquidate_borrow(_liquidate_test_position(), 10 * E18)
    assert out.seize_tokens == 40 * E18
    assert out.borrowed.cash == 10 * E18
    assert out.borrowed.total_borrows == 0
    assert out.borrow_balance == 0
    assert out.liquidator_seize_tokens == 3_888 * 10**16
    assert out.borrower_collateral_tokens == 0
    assert out.collateral.total_reserves == 224 * 10**15
    assert out.collateral.total_supply == 10 * E18 - 112 * 10**16


def test_liquidate_borrow_with_zero_repay_reverts() -> None:
    """liquidateTest.js "fails if repayAmount = 0": LiquidateCloseAmountIsZero."""
    with pytest.raises(CompoundV2Reverted, match="LiquidateCloseAmountIsZero"):
        liquidate_borrow(_liquidate_test_position(), 0)


def test_liquidate_borrow_with_uint_max_repay_reverts() -> None:
    """repayAmount = type(uint).max passes a deprecated market's check, then is refused."""
    deprecated = dataclasses.replace(
        _liquidate_test_position(), borrowed_deprecated=True, borrow_balance=MAX_UINT256
    )
    with pytest.raises(CompoundV2Reverted, match="LiquidateCloseAmountIsUintMax"):
        liquidate_borrow(deprecated, MAX_UINT256)


def test_liquidate_borrow_seizing_more_than_held_reverts() -> None:
    """InKindLiquidation.scen "When there's insufficient collateral": LIQUIDATE_SEIZE_TOO_MUCH."""
    # 1,001 BAT owed, close factor 0.9, incentive 1.5, collateral factor 0; exchange rate
    # (99 + 1001) / 50e9 = 22e9. 900 BAT · 1.5 / 22e9 = 61.36e9 cBAT > the 50e9 held.
    market = CTokenMarket(
        cash=99 * E18, total_borrows=1_001 * E18, total_reserves=0, total_supply=50 * 10**9
    )
    position = LiquidationInput(
        borrowed=market,
        collateral=None,
        borrow_balance=1_001 * E18,
        borrower_collateral_tokens=50 * 10**9,
        shortfall=1_001 * E18,
        price_borrowed_mantissa=E18,
        price_collateral_mantissa=E18,
        close_factor_mantissa=9 * 10**17,
        liquidation_incentive_mantissa=15 * 10**17,
    )
    with pytest.raises(CompoundV2Reverted, match="LIQUIDATE_SEIZE_TOO_MUCH"):
        liquidate_borrow(position, 900 * E18)


def test_in_kind_liquidation_scenario_end_state() -> None:
    """InKindLiquidation.scen "Proper In-Kind Liquidation": balances, rate 4e9, liquidity −0.1."""
    market = CTokenMarket(
        cash=99 * E18, total_borrows=101 * E18, total_reserves=0, total_supply=50 * 10**9
    )
    position = LiquidationInput(
        borrowed=market,
        collateral=None,
        borrow_balance=101 * E18,
        borrower_collateral_tokens=50 * 10**9,
        shortfall=E18,
        price_borrowed_mantissa=E18,
        price_collateral_mantissa=E18,
        close_factor_mantissa=CLOSE_FACTOR_SCEN,
        liquidation_incentive_mantissa=11 * 10**17,
    )
    out = liquidate_borrow(position, 2 * E18)
    assert out.borrower_collateral_tokens == 4_945 * 10**7
    assert out.liquidator_seize_tokens == 5_346 * 10**5
    assert out.collateral is out.borrowed
    assert out.borrowed.cash == 101 * E18
    assert out.borrowed.total_borrows == 99 * E18
    assert exchange_rate_stored(out.borrowed) == 4 * 10**9 * E18
    after = MarketSnapshot(
        exchange_rate_mantissa=exchange_rate_stored(out.borrowed),
        underlying_price_mantissa=E18,
        collateral_factor_mantissa=5 * 10**17,
        c_token_balance=out.borrower_collateral_tokens,
        borrow_balance=out.borrow_balance,
    )
    assert _signed_liquidity({"cBAT": after}) == -(10**17)


def test_underlying_price_mantissa_scales_by_decimals() -> None:
    """getUnderlyingPrice is USD per base unit × 1e18: $1 WBTC-like (8 dec) is 1e28."""
    assert underlying_price_mantissa(1, 8) == 10**28
    assert underlying_price_mantissa("516.01", 18) == 51_601 * 10**16
    with pytest.raises(TypeError):
        underlying_price_mantissa(1.3, 18)  # type: ignore[arg-type]
