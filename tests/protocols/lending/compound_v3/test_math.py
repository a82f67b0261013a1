"""Worked cases of the Compound v3 (Comet) integer reference math.

Expected numbers come from compound-finance/comet @ d5a30b0a ``test/*.ts`` (file and case named
in each test) or are derived by hand in the test. The comet test market (``test/helpers.ts``
``makeProtocol``): USDC base (6 decimals) at $1; COMP $175 (18 decimals), WETH $3,000 (18), WBTC
$41,000 (8), in that asset order; by default borrowCF = 1 − 1e-18 (stored 0.9999),
liquidateCF = liquidationFactor = 1, storeFrontPriceFactor = 1; ``exp(x, d)`` keeps 6 decimals of
``x``. Prices are Chainlink answers with 8 decimals.
"""

from __future__ import annotations

import pytest

from protosim.protocols.lending.compound_v3.math import (
    BASE_INDEX_SCALE,
    FACTOR_SCALE,
    SECONDS_PER_YEAR,
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
    get_utilization,
    is_borrow_collateralized,
    is_liquidatable,
    present_value,
    principal_value,
    quote_collateral,
)

USD = 10**8
USDC = 10**6
E18 = 10**18
ONE = FACTOR_SCALE


def _asset(
    price_usd: int | float,
    decimals: int = 18,
    *,
    borrow_cf: int = ONE - 1,
    liquidate_cf: int = ONE,
    liquidation_factor: int = ONE,
) -> AssetInfo:
    return AssetInfo.from_config(
        price=round(price_usd * USD),
        decimals=decimals,
        borrow_collateral_factor=borrow_cf,
        liquidate_collateral_factor=liquidate_cf,
        liquidation_factor=liquidation_factor,
    )


COMP = _asset(175)
WETH = _asset(3_000)
WBTC = _asset(41_000, 8)


def _market(**kwargs: int) -> BaseMarket:
    return BaseMarket(base_scale=USDC, base_price=USD, **kwargs)


# -- asset configuration -------------------------------------------------------------------------


def test_from_config_keeps_four_decimals_of_each_factor() -> None:
    """getPackedAssetInternal stores factor / 1e14: ONE − 1 becomes 0.9999, 2/3 becomes 0.6666."""
    assert _asset(1).borrow_collateral_factor == 9_999 * 10**14
    asset = _asset(1, borrow_cf=5 * 10**17, liquidate_cf=666_666 * 10**12)
    assert asset.liquidate_collateral_factor == 6_666 * 10**14


def test_asset_info_rejects_borrow_factor_not_below_liquidate_factor() -> None:
    """Comet reverts BorrowCFTooLarge unless borrowCF < liquidateCF."""
    with pytest.raises(ValueError, match="BorrowCFTooLarge"):
        _asset(1, borrow_cf=8 * 10**17, liquidate_cf=8 * 10**17)


def test_asset_info_rejects_unpacked_factors() -> None:
    """Direct construction must use the stored 4-decimal factors (from_config packs them)."""
    with pytest.raises(ValueError, match="multiple of 1e14"):
        AssetInfo(
            price=USD,
            scale=E18,
            borrow_collateral_factor=1,
            liquidate_collateral_factor=ONE,
            liquidation_factor=ONE,
        )


# -- principal, present value, utilization, rates --------------------------------------------------


def test_principal_rounding_favours_the_protocol() -> None:
    """principalValueSupply rounds down, principalValueBorrow rounds up (CometCore.sol)."""
    market = _market(base_supply_index=3 * BASE_INDEX_SCALE, base_borrow_index=3 * BASE_INDEX_SCALE)
    assert principal_value(10, market) == 3  # 10 / 3 = 3.33 → 3, worth 9
    assert principal_value(-10, market) == -4  # → 4, owing 12
    assert present_value(3, market) == 9
    assert present_value(-4, market) == -12


def test_principal_overflow_reverts_invalid_uint104() -> None:
    """principalValueSupply reverts InvalidUInt104 past 2**104 − 1."""
    with pytest.raises(CometReverted, match="InvalidUInt104"):
        principal_value(2**104, _market())


RATE_PARAMS = CometRates.from_per_year(
    supply_kink=8 * 10**17,
    supply_base=0,
    supply_slope_low=4 * 10**16,
    supply_slope_high=4 * 10**17,
    borrow_kink=8 * 10**17,
    borrow_base=10**16,
    borrow_slope_low=5 * 10**16,
    borrow_slope_high=3 * 10**17,
)


@pytest.mark.parametrize(
    ("indices", "totals", "utilization", "supply_apr", "borrow_apr"),
    [
        ((2, 4), (500, 25), 10**17, 4 * 10**15, 15 * 10**15),
        ((2, 3), (50, 30), 9 * 10**17, 72 * 10**15, 8 * 10**16),
        ((2, 3), (50, 0), 0, 0, 10**16),
    ],
)
def test_interest_rates_match_interest_rate_test(
    indices: tuple[int, int],
    totals: tuple[int, int],
    utilization: int,
    supply_apr: int,
    borrow_apr: int,
) -> None:
    """interest-rate-test.ts (below kink, above kink, zero): utilization exact, APR within 1e8."""
    market = _market(
        base_supply_index=indices[0] * BASE_INDEX_SCALE,
        base_borrow_index=indices[1] * BASE_INDEX_SCALE,
        total_supply_base=totals[0],
        total_borrow_base=totals[1],
    )
    assert get_utilization(market) == utilization
    assert abs(get_supply_rate(RATE_PARAMS, utilization) * SECONDS_PER_YEAR - supply_apr) <= 10**8
    assert abs(get_borrow_rate(RATE_PARAMS, utilization) * SECONDS_PER_YEAR - borrow_apr) <= 10**8


def test_rates_are_continuous_at_the_kink() -> None:
    """At u = kink both branches of getSupplyRate/getBorrowRate give base + slopeLow · kink."""
    kink = RATE_PARAMS.borrow_kink
    at_kink = get_borrow_rate(RATE_PARAMS, kink)
    assert at_kink == RATE_PARAMS.borrow_base + RATE_PARAMS.borrow_slope_low * kink // ONE
    assert get_borrow_rate(RATE_PARAMS, kink + 1) >= at_kink


DEFAULT_RATES = CometRates.from_per_year(
    supply_kink=8 * 10**17,
    supply_base=0,
    supply_slope_low=5 * 10**16,
    supply_slope_high=2 * ONE,
    borrow_kink=8 * 10**17,
    borrow_base=5 * 10**15,
    borrow_slope_low=10**17,
    borrow_slope_high=3 * ONE,
)


def test_accrue_projects_indices_by_simple_interest() -> None:
    """accrue-test.ts "time elapsed and less than min rewards": 11,000/11,000 for 1,000 s."""
    # u = 100 %. Per second: supply 0 + 1,585,489,599 · 0.8 + 63,419,583,967 · 0.2
    #   = 1,268,391,679 + 12,683,916,793 = 13,952,308,472;
    # borrow 158,548,959 + 3,170,979,198 · 0.8 + 95,129,375,951 · 0.2
    #   = 158,548,959 + 2,536,783,358 + 19,025,875,190 = 21,721,207,507.
    # index += 1e15 · rate · 1000 / 1e18 = rate.
    market = _market(total_supply_base=11_000, total_borrow_base=11_000)
    accrued = accrue(market, DEFAULT_RATES, 1_000)
    assert accrued.base_supply_index == BASE_INDEX_SCALE + 13_952_308_472
    assert accrued.base_borrow_index == BASE_INDEX_SCALE + 21_721_207_507
    assert (accrued.total_supply_base, accrued.total_borrow_base) == (11_000, 11_000)


def test_accrue_overflowing_the_index_reverts() -> None:
    """accrue-test.ts "reverts on overflows": an index increment past uint64 is InvalidUInt64."""
    market = _market(
        base_supply_index=2**63,
        base_borrow_index=2**63,
        total_supply_base=11_000,
        total_borrow_base=11_000,
    )
    with pytest.raises(CometReverted, match="InvalidUInt64"):
        accrue(market, DEFAULT_RATES, 10 * SECONDS_PER_YEAR)


# -- isBorrowCollateralized / isLiquidatable ----------------------------------------------------


ONE_DOLLAR_COMP = _asset(1)


@pytest.mark.parametrize(
    ("principal", "collateral", "expected"),
    [
        (0, [], False),
        (1_000_000, [], False),
        (-1_000_000, [], True),
        (-100_000 * USDC, [CollateralBalance(ONE_DOLLAR_COMP, 100_000 * E18)], False),
        (-100_000 * USDC, [CollateralBalance(ONE_DOLLAR_COMP, 95_000 * E18)], True),
        (
            -100_000 * USDC,
            [
                CollateralBalance(
                    _asset(1, borrow_cf=75 * 10**16, liquidate_cf=8 * 10**17), 100_000 * E18
                )
            ],
            True,
        ),
        (-100_000 * USDC, [CollateralBalance(_asset(0.5), 100_000 * E18)], True),
    ],
)
def test_is_liquidatable_matches_is_liquidatable_test(
    principal: int, collateral: list[CollateralBalance], expected: bool
) -> None:
    """is-liquidatable-test.ts: default, owed, owes, covered, uncovered, liquidateCF, price drop."""
    assert is_liquidatable(principal, collateral, _market()) is expected


@pytest.mark.parametrize(
    ("principal", "collateral", "expected"),
    [
        (0, [], True),
        (1_000_000, [], True),
        (-1_000_000, [], False),
        (-USDC, [CollateralBalance(_asset(1, borrow_cf=9 * 10**17), 12 * 10**17)], True),
        (-USDC, [CollateralBalance(_asset(1, borrow_cf=9 * 10**17), E18)], False),
        (-USDC, [CollateralBalance(_asset(1, borrow_cf=2 * 10**17), 5 * E18)], True),
        (-USDC, [CollateralBalance(_asset(0.5, borrow_cf=2 * 10**17), 5 * E18)], False),
    ],
)
def test_is_borrow_collateralized_matches_is_borrow_collateralized_test(
    principal: int, collateral: list[CollateralBalance], expected: bool
) -> None:
    """is-borrow-collateralized-test.ts cases, including "changes when the price changes"."""
    assert is_borrow_collateralized(principal, collateral, _market()) is expected


def test_signed_liquidity_truncates_toward_zero() -> None:
    """signedMulPrice(−1 wei of an 18-decimal base, $1) truncates to 0, not −1: not absorbable."""
    market = BaseMarket(base_scale=E18, base_price=USD)
    assert account_liquidity(-1, [], market, liquidate=True) == 0
    assert not is_liquidatable(-1, [], market)
    assert not is_borrow_collateralized(-(10**10), [], market)  # −1e10 · 1e8 / 1e18 = −1


def test_is_liquidatable_stops_reading_prices_once_covered() -> None:
    """The loop returns before reading a later asset's price: a bad price there does not revert."""
    broken = AssetInfo(
        price=0,
        scale=E18,
        borrow_collateral_factor=0,
        liquidate_collateral_factor=ONE,
        liquidation_factor=ONE,
    )
    held = [CollateralBalance(ONE_DOLLAR_COMP, 2 * E18), CollateralBalance(broken, E18)]
    assert not is_liquidatable(-USDC, held, _market())
    with pytest.raises(CometReverted, match="BadPrice"):
        is_liquidatable(-3 * USDC, held, _market())


# -- absorb ---------------------------------------------------------------------------------


def test_absorb_one_account_without_collateral() -> None:
    """absorb-test.ts "absorbs 1 account": debt 100 → 0, totalBorrowBase 0, reserves 100 → 0."""
    out = absorb(-100, [], _market(total_borrow_base=100))
    assert (out.reserves_before, out.reserves_after) == (100, 0)
    assert (out.market.total_supply_base, out.market.total_borrow_base) == (0, 0)
    assert (out.new_principal, out.base_paid_out) == (0, 100)
    assert out.value_of_base_paid_out == 100 * USD // USDC


def test_absorb_two_accounts_in_sequence() -> None:
    """absorb-test.ts "absorbs 2 accounts": borrows 2000 − 100 − 700 = 1200, reserves 1200."""
    first = absorb(-100, [], _market(total_borrow_base=2_000))
    second = absorb(-700, [], first.market)
    assert (first.base_paid_out, second.base_paid_out) == (100, 700)
    assert second.market.total_borrow_base == 1_200
    assert get_reserves(second.market) == 1_200


def test_absorb_three_accounts_with_collateral() -> None:
    """absorb-test.ts "absorbs 3 accounts with collateral": reserves −1e21 − 1e6 − 1e12 − 1e18."""
    market = _market(total_borrow_base=3 * 10**21, total_supply_base=4 * 10**21)
    assert get_reserves(market) == -(10**21)
    accounts = [
        (-USDC, [CollateralBalance(COMP, 10**12)]),
        (-(10**12), [CollateralBalance(COMP, 10 * E18), CollateralBalance(WETH, E18)]),
        (
            -E18,
            [
                CollateralBalance(COMP, 10_000 * E18),
                CollateralBalance(WETH, 50 * E18),
                CollateralBalance(WBTC, 50 * 10**8),
            ],
        ),
    ]
    for principal, collateral in accounts:
        out = absorb(principal, collateral, market)
        assert out.new_principal == 0
        assert out.base_paid_out == -principal  # the whole debt: collateral is worth far less
        assert out.collateral_absorbed == tuple(held.balance for held in collateral)
        market = out.market
    assert market.total_supply_base == 4 * 10**21
    assert market.total_borrow_base == 3 * 10**21 - E18 - 10**12 - USDC
    assert get_reserves(market) == -(10**21) - USDC - 10**12 - E18


def test_absorb_three_accounts_reports_collateral_usd_values() -> None:
    """absorb-test.ts AbsorbCollateral events: usdValue = mulPrice(amount, price, scale)."""
    out = absorb(
        -E18,
        [
            CollateralBalance(COMP, 10_000 * E18),
            CollateralBalance(WETH, 50 * E18),
            CollateralBalance(WBTC, 50 * 10**8),
        ],
        _market(total_borrow_base=E18),
    )
    assert out.collateral_values == (1_750_000 * USD, 150_000 * USD, 2_050_000 * USD)
    assert out.delta_value == 3_950_000 * USD  # liquidationFactor 1
    assert out.delta_balance == 3_950_000 * USDC
    assert out.shortfall == E18 - 3_950_000 * USDC


def test_absorb_account_with_more_than_enough_collateral() -> None:
    """absorb-test.ts "more than enough collateral": the account keeps 1 unit, reserves −1."""
    # borrowCF 0.5, liquidateCF factor(2/3) = 0.666666 → stored 0.6666. Debt 44,175 USDC − 1
    # unit; liquidation liquidity (175 + 3,000 + 41,000) · 0.6666 − 44,174.999999 < 0.
    # Credit at liquidationFactor 1: 44,175 USDC → new balance 1 unit.
    assets = [
        _asset(price, decimals, borrow_cf=5 * 10**17, liquidate_cf=666_666 * 10**12)
        for price, decimals in ((175, 18), (3_000, 18), (41_000, 8))
    ]
    collateral = [
        CollateralBalance(assets[0], E18),
        CollateralBalance(assets[1], E18),
        CollateralBalance(assets[2], 10**8),
    ]
    starting_debt = 1 - (41_000 + 3_000 + 175) * USDC
    market = _market(total_borrow_base=-starting_debt)
    out = absorb(starting_debt, collateral, market)
    assert out.reserves_before == -starting_debt
    assert (out.market.total_supply_base, out.market.total_borrow_base) == (1, 0)
    assert out.reserves_after == -1
    assert out.new_principal == 1
    assert out.base_paid_out == 1 - starting_debt


def test_absorb_healthy_account_reverts_not_liquidatable() -> None:
    """absorb-test.ts "reverts if an account is not underwater"."""
    with pytest.raises(CometReverted, match="NotLiquidatable"):
        absorb(0, [], _market())


def test_absorb_with_total_borrows_below_the_debt_underflows() -> None:
    """absorb-test.ts "reverts if total borrows underflows": principal −100, totalBorrowBase 0."""
    with pytest.raises(CometReverted, match=r"Panic\(0x11\)"):
        absorb(-100, [], _market())


def test_absorb_credits_collateral_at_the_liquidation_factor() -> None:
    """cUSDCv3 WETH: 1 WETH at $1,000 (LF 0.95) vs 1,800 USDC: $950 credited, $850 bad debt."""
    weth = _asset(
        1_000, borrow_cf=825 * 10**15, liquidate_cf=895 * 10**15, liquidation_factor=95 * 10**16
    )
    out = absorb(
        -1_800 * USDC, [CollateralBalance(weth, E18)], _market(total_borrow_base=1_800 * USDC)
    )
    assert out.delta_balance == 950 * USDC
    assert out.shortfall == 850 * USDC
    assert (out.new_balance, out.base_paid_out) == (0, 1_800 * USDC)
    assert out.reserves_change == -1_800 * USDC  # pays the whole debt, holds 1 WETH to sell


# -- quoteCollateral and buyCollateral ------------------------------------------------------


@pytest.mark.parametrize(
    ("price", "liquidation_factor", "store_front", "base_amount", "expected"),
    [
        (200, 6 * 10**17, 5 * 10**17, 200 * USDC, 125 * 10**16),
        (200, ONE, ONE, 0, 0),
        (200, 6 * 10**17, 0, 200 * USDC, E18),
        (9, 8 * 10**17, 5 * 10**17, 810 * USDC, 100 * E18),
        (200, 75 * 10**16, 8 * 10**17, 10**15 * USDC, 625 * 10**10 * E18),
    ],
)
def test_quote_collateral_matches_quote_collateral_test(
    price: int, liquidation_factor: int, store_front: int, base_amount: int, expected: int
) -> None:
    """quote-collateral-test.ts: positive, zero, no discount, no intermediate truncation, huge."""
    asset = _asset(price, borrow_cf=0, liquidate_cf=ONE, liquidation_factor=liquidation_factor)
    assert quote_collateral(asset, base_amount, _market(), store_front) == expected


COMP_AT_ONE_LF_08 = _asset(1, borrow_cf=0, liquidate_cf=ONE, liquidation_factor=8 * 10**17)
COMP_AT_ONE_LF_1 = _asset(1, borrow_cf=0, liquidate_cf=ONE, liquidation_factor=ONE)


def test_buy_collateral_below_target_reserves() -> None:
    """buy-collateral-test.ts "allows buying … reserves < target": 55.555… COMP, reserves 0 → 50."""
    out = buy_collateral(
        _market(),
        COMP_AT_ONE_LF_08,
        base_amount=50 * USDC,
        min_amount=50 * E18,
        collateral_reserves=60 * E18,
        store_front_price_factor=5 * 10**17,
        target_reserves=100,
    )
    assert out.collateral_amount == 55_555_555_555_555_555_555
    assert (out.reserves_before, out.reserves_after) == (0, 50 * USDC)


def test_buy_collateral_with_negative_reserves_and_zero_target() -> None:
    """buy-collateral-test.ts "reserves < 0 and target reserves is 0": −100 → −50 USDC."""
    out = buy_collateral(
        _market(total_supply_base=100 * USDC),
        COMP_AT_ONE_LF_08,
        base_amount=50 * USDC,
        min_amount=50 * E18,
        collateral_reserves=60 * E18,
        store_front_price_factor=5 * 10**17,
        target_reserves=0,
    )
    assert out.collateral_amount == 55_555_555_555_555_555_555
    assert (out.reserves_before, out.reserves_after) == (-100 * USDC, -50 * USDC)


def test_buy_collateral_of_excess_collateral_without_discount() -> None:
    """buy-collateral-test.ts "can buy any excess collateral": LF 1 means no discount, 50 COMP."""
    out = buy_collateral(
        _market(),
        COMP_AT_ONE_LF_1,
        base_amount=50 * USDC,
        min_amount=50 * E18,
        collateral_reserves=50 * E18,  # 60 held, 10 belong to users
        store_front_price_factor=5 * 10**17,
        target_reserves=100 * 10**6 * USDC,
    )
    assert out.collateral_amount == 50 * E18


@pytest.mark.parametrize(
    ("market", "min_amount", "base_amount", "collateral_reserves", "target", "error"),
    [
        (_market(), 50 * E18, 50 * USDC, 40 * E18, 100 * 10**6 * USDC, "InsufficientReserves"),
        (_market(base_balance=100 * USDC), 50 * E18, 50 * USDC, 50 * E18, 0, "NotForSale"),
        (_market(), 100 * E18, 50 * USDC, 50 * E18, 100, "TooMuchSlippage"),
        (_market(), 200 * E18, 200 * USDC, 50 * E18, 100, "InsufficientReserves"),
    ],
)
def test_buy_collateral_reverts_match_buy_collateral_test(
    market: BaseMarket,
    min_amount: int,
    base_amount: int,
    collateral_reserves: int,
    target: int,
    error: str,
) -> None:
    """buy-collateral-test.ts: belongs to users, above target, slippage, not enough collateral."""
    with pytest.raises(CometReverted, match=error):
        buy_collateral(
            market,
            COMP_AT_ONE_LF_1,
            base_amount=base_amount,
            min_amount=min_amount,
            collateral_reserves=collateral_reserves,
            store_front_price_factor=5 * 10**17,
            target_reserves=target,
        )


def test_buy_collateral_with_fee_token_quotes_the_amount_received() -> None:
    """buy-collateral-test.ts "fee-like situation": 49.5 USDT received buys 49.5 / 0.9 = 55 COMP."""
    out = buy_collateral(
        _market(),
        COMP_AT_ONE_LF_08,
        base_amount=495 * USDC // 10,
        min_amount=50 * E18,
        collateral_reserves=60 * E18,
        store_front_price_factor=5 * 10**17,
        target_reserves=100,
    )
    assert out.collateral_amount == 55 * E18  # the buyer then receives 99 % of it (token fee)
    assert out.reserves_after == 495 * USDC // 10
