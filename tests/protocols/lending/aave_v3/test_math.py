"""Worked cases of the Aave integer reference math, per rules version.

Every expected number is derived by hand in the test (the arithmetic is written out), or taken
from Aave's Foundry tests. Scenarios marked "aave-v3-origin" reuse the literal set-ups of
aave-dao/aave-v3-origin tag v3.3.0 ``tests/protocol/pool/Pool.Liquidations.t.sol`` and
``tests/protocol/pool/Pool.Liquidations.CloseFactor.t.sol``, whose test market
(``tests/mocks/AaveV3TestListing.sol``) is: USDX 6 decimals at $1, WBTC 8 decimals at $27,000,
WETH 18 decimals at $1,800, every reserve LT 86 %, bonus 5 % (10,500), protocol fee 10 %.
"""

from __future__ import annotations

import dataclasses

import pytest

from protosim.protocols.lending.aave_v3.math import (
    CLOSE_FACTOR_HF_THRESHOLD,
    LiquidationInput,
    LiquidationReverted,
    LiquidationRules,
    ReserveBalance,
    available_collateral_to_liquidate,
    burn_bad_debt,
    health_factor,
    liquidation_call,
    max_liquidatable_debt,
    user_account_data,
)
from protosim.units import MAX_UINT256, WAD

USD = 10**8  # AaveOracle base currency: USD with 8 decimals
USDX = 10**6
WBTC = 10**8
ETH = 10**18
V2, V3_0, V3_3 = LiquidationRules.V2, LiquidationRules.V3_0, LiquidationRules.V3_3


def _pair(
    *,
    collateral: int,
    debt: int,
    collateral_price: int,
    debt_price: int = USD,
    collateral_decimals: int = 18,
    debt_decimals: int = 6,
    lt: int = 8_300,
    lb: int = 10_500,
    fee: int = 1_000,
) -> LiquidationInput:
    return LiquidationInput.single_pair(
        collateral_balance=collateral,
        debt_balance=debt,
        collateral_price=collateral_price,
        debt_price=debt_price,
        collateral_decimals=collateral_decimals,
        debt_decimals=debt_decimals,
        liquidation_threshold_bps=lt,
        liquidation_bonus_bps=lb,
        liquidation_protocol_fee_bps=fee,
    )


def _half_up(numerator: int, denominator: int) -> int:
    # Written out here so expected values do not call the code under test.
    return (numerator + denominator // 2) // denominator


# -- account data ------------------------------------------------------------------------------


def test_health_factor_is_half_up_percent_mul_then_wad_div() -> None:
    """HF = (C·LT/1e4 half up)·1e18/D half up: $1 at 83.33 % over $3 = 0.2777666…67."""
    # 1e8 × 8333 / 1e4 = 83,330,000 exactly; × 1e18 / 3e8 = 277,766,666,666,666,666.67 → …667
    assert health_factor(USD, 8_333, 3 * USD) == 277_766_666_666_666_667


def test_health_factor_without_debt_is_max_uint256() -> None:
    """A user with no debt has HF = type(uint256).max."""
    assert health_factor(1_000 * USD, 8_300, 0) == MAX_UINT256


def test_user_account_data_average_threshold_rounds_down() -> None:
    """avgLT = Σ value·LT // Σ value: values 1 and 2 base units at 80.00 % and 80.01 % → 8000."""
    reserves = [
        ReserveBalance(price=1, decimals=0, liquidation_threshold_bps=8_000, supplied=1),
        ReserveBalance(price=1, decimals=0, liquidation_threshold_bps=8_001, supplied=2),
        ReserveBalance(price=1, decimals=0, liquidation_threshold_bps=0, borrowed=3),
    ]
    data = user_account_data(reserves)
    # (1·8000 + 2·8001) / 3 = 24002 / 3 = 8000.67 → 8000
    assert data.avg_liquidation_threshold_bps == 8_000
    assert (data.total_collateral_base, data.total_debt_base) == (3, 3)


def test_user_account_data_skips_zero_threshold_and_disabled_collateral() -> None:
    """Only reserves with LT ≠ 0 that the user enabled count as collateral."""
    reserves = [
        ReserveBalance(price=USD, decimals=6, liquidation_threshold_bps=0, supplied=5 * USDX),
        ReserveBalance(
            price=USD,
            decimals=6,
            liquidation_threshold_bps=8_000,
            supplied=7 * USDX,
            is_collateral=False,
        ),
        ReserveBalance(price=2 * USD, decimals=6, liquidation_threshold_bps=8_000, supplied=USDX),
    ]
    data = user_account_data(reserves)
    assert data.total_collateral_base == 2 * USD  # only the last reserve: 1 token × $2
    assert data.health_factor == MAX_UINT256


def test_user_account_data_rounds_each_reserve_down() -> None:
    """Each balance·price/unit is floored on its own: 1 wei at $1,800 is worth 0 base units."""
    reserves = [
        ReserveBalance(price=1_800 * USD, decimals=18, liquidation_threshold_bps=8_600, supplied=1),
        ReserveBalance(price=1_800 * USD, decimals=18, liquidation_threshold_bps=8_600, supplied=1),
    ]
    assert user_account_data(reserves).total_collateral_base == 0  # 1.8e11 / 1e18 → 0, twice


# -- close factor ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hf", "expected"),
    [
        (CLOSE_FACTOR_HF_THRESHOLD + 1, 500 * USDX),  # HF > 0.95 → 50 %
        (CLOSE_FACTOR_HF_THRESHOLD, 1_000 * USDX),  # HF = 0.95 → 100 % (threshold inclusive)
        (CLOSE_FACTOR_HF_THRESHOLD - 1, 1_000 * USDX),
    ],
)
def test_v3_0_close_factor_is_half_above_hf_095_and_full_at_or_below(
    hf: int, expected: int
) -> None:
    """v3.0: close factor 50 % if HF > 0.95e18, else 100 %, on 1,000 USDX of debt."""
    got = max_liquidatable_debt(
        V3_0,
        user_reserve_debt=1_000 * USDX,
        health_factor=hf,
        debt_price=USD,
        debt_decimals=6,
        user_reserve_collateral_base=0,
        total_debt_base=1_000 * USD,
    )
    assert got == expected


@pytest.mark.parametrize("hf", [WAD // 2, CLOSE_FACTOR_HF_THRESHOLD, WAD - 1])
def test_v2_close_factor_is_always_half(hf: int) -> None:
    """v2: LIQUIDATION_CLOSE_FACTOR_PERCENT = 5000 whatever the HF (1,001 units → 500.5 → 501)."""
    got = max_liquidatable_debt(
        V2,
        user_reserve_debt=1_001,
        health_factor=hf,
        debt_price=USD,
        debt_decimals=6,
        user_reserve_collateral_base=0,
        total_debt_base=0,
    )
    assert got == 501  # percentMul half up: (1001·5000 + 5000) // 10000


@pytest.mark.parametrize(
    ("collateral_base", "debt", "hf", "expected"),
    [
        # both reserves ≥ $2,000 and HF > 0.95 → half of the $10,000 total debt
        (2_000 * USD, 10_000 * USDX, CLOSE_FACTOR_HF_THRESHOLD + 1, 5_000 * USDX),
        # collateral reserve one base unit ($1e-8) short of $2,000 → 100 %
        (2_000 * USD - 1, 10_000 * USDX, CLOSE_FACTOR_HF_THRESHOLD + 1, 10_000 * USDX),
        # HF exactly 0.95 → 100 %
        (50_000 * USD, 10_000 * USDX, CLOSE_FACTOR_HF_THRESHOLD, 10_000 * USDX),
        # debt reserve worth exactly $2,000 → capped at $1,000
        (50_000 * USD, 2_000 * USDX, CLOSE_FACTOR_HF_THRESHOLD + 1, 1_000 * USDX),
        # debt reserve worth $1,999.999999 → 100 %
        (50_000 * USD, 2_000 * USDX - 1, CLOSE_FACTOR_HF_THRESHOLD + 1, 2_000 * USDX - 1),
    ],
)
def test_v3_3_close_factor_around_2000_usd_and_hf_095(
    collateral_base: int, debt: int, hf: int, expected: int
) -> None:
    """v3.3: 50 % of total debt only if both reserves are ≥ $2,000 and HF > 0.95."""
    got = max_liquidatable_debt(
        V3_3,
        user_reserve_debt=debt,
        health_factor=hf,
        debt_price=USD,
        debt_decimals=6,
        user_reserve_collateral_base=collateral_base,
        total_debt_base=debt * USD // USDX,
    )
    assert got == expected


@pytest.mark.parametrize(
    ("reserve_debt_usd", "total_debt_usd", "expected_usdx"),
    [
        (4_000, 6_000, 3_000),  # 4000 > 6000/2 → capped at $3,000
        (3_000, 6_000, 3_000),  # 3000 is not > 3000 → the whole 3,000 (no cap)
        (2_500, 10_000, 2_500),  # well under half the total → the whole reserve debt
    ],
)
def test_v3_3_cap_is_half_of_total_debt_over_all_reserves(
    reserve_debt_usd: int, total_debt_usd: int, expected_usdx: int
) -> None:
    """v3.3's 50 % cap is of the user's total debt in base currency, not of this reserve's."""
    got = max_liquidatable_debt(
        V3_3,
        user_reserve_debt=reserve_debt_usd * USDX,
        health_factor=CLOSE_FACTOR_HF_THRESHOLD + 1,
        debt_price=USD,
        debt_decimals=6,
        user_reserve_collateral_base=100_000 * USD,
        total_debt_base=total_debt_usd * USD,
    )
    assert got == expected_usdx * USDX


# -- seizure, bonus and protocol fee -----------------------------------------------------------


@pytest.mark.parametrize("rules", [V3_0, V3_3])
def test_bonus_and_protocol_fee_split_on_1000_usdc_at_2000_eth(rules: LiquidationRules) -> None:
    """Repay 1,000 USDC for ETH at $2,000, LB 5 %, fee 10 % of the bonus: 0.5225 + 0.0025 ETH."""
    got = available_collateral_to_liquidate(
        rules,
        collateral_price=2_000 * USD,
        collateral_decimals=18,
        debt_price=USD,
        debt_decimals=6,
        debt_to_cover=1_000 * USDX,
        user_collateral_balance=10 * ETH,
        liquidation_bonus_bps=10_500,
        liquidation_protocol_fee_bps=1_000,
    )
    # 1000 / 2000 = 0.5 ETH; × 1.05 = 0.525; bonus 0.525 − 0.5 = 0.025; fee 10 % = 0.0025
    assert got.collateral_amount == 525 * ETH // 1_000
    assert got.protocol_fee == 25 * ETH // 10_000
    assert got.collateral_to_liquidator == 5_225 * ETH // 10_000
    assert got.debt_amount == 1_000 * USDX
    assert got.collateral_base == 1_050 * USD  # 0.525 ETH × $2,000


def test_v3_3_partial_liquidation_of_wbtc_matches_hand_derivation() -> None:
    """aave-v3-origin test_partial_liquidate_variable_borrow: 106 USDX for WBTC at −25 %."""
    # 1 WBTC supplied, 20,500 USDX borrowed, WBTC 27,000 → 27000 × 0.75 = 20,250.
    p = _pair(
        collateral=WBTC,
        debt=20_500 * USDX,
        collateral_price=20_250 * USD,
        collateral_decimals=8,
        lt=8_600,
    )
    # HF = 20250 × 0.86 / 20500 = 0.8495… ≤ 0.95, so the whole 106 USDX may be repaid.
    assert p.health_factor == _half_up(20_250 * 86 * USD // 100 * WAD, 20_500 * USD)
    out = liquidation_call(p, V3_3, 106 * USDX)
    base = 10**8 * 106 * USDX * WBTC // (20_250 * USD * USDX)  # 523,456.79 → 523,456 sats
    assert base == 523_456
    seized = _half_up(base * 10_500, 10_000)  # 549,628.8 → 549,629
    bonus = seized - _half_up(seized * 10_000, 10_500)  # 549,629 − 523,456 = 26,173
    fee = _half_up(bonus * 1_000, 10_000)  # 2,617.3 → 2,617
    assert (seized, bonus, fee) == (549_629, 26_173, 2_617)
    assert out.debt_repaid == 106 * USDX
    assert out.collateral_seized_total == 549_629
    assert out.protocol_fee == 2_617
    assert out.collateral_to_liquidator == 549_629 - 2_617
    assert out.remaining_collateral == WBTC - 549_629
    assert out.remaining_debt == 20_394 * USDX
    assert out.deficit == 0


def test_v2_applies_bonus_before_dividing_and_v3_after() -> None:
    """Same call, x = 10 collateral units exactly: v2 floor(10 × 1.05) = 10, v3 round(10.5) = 11."""
    v2, v3 = (
        available_collateral_to_liquidate(
            rules,
            collateral_price=USD,
            collateral_decimals=6,
            debt_price=USD,
            debt_decimals=6,
            debt_to_cover=10,
            user_collateral_balance=1_000,
            liquidation_bonus_bps=10_500,
            liquidation_protocol_fee_bps=0,
        )
        for rules in (V2, V3_0)
    )
    assert (v2.collateral_amount, v3.collateral_amount) == (10, 11)


def test_v2_rejects_a_protocol_fee() -> None:
    """v2 has no liquidation protocol fee; passing one is an error, not silently ignored."""
    with pytest.raises(ValueError, match="v2 has no protocol fee"):
        liquidation_call(
            _pair(collateral=ETH, debt=1_800 * USDX, collateral_price=2_000 * USD), V2, 1
        )


def test_collateral_limited_seizure_takes_all_and_repays_its_value_over_bonus() -> None:
    """Debt worth more than collateral × LB: all collateral goes for collateral value / LB."""
    # 1 ETH at $2,000 vs 2,100 USDC (HF 0.79): 2100/2000 × 1.05 = 1.1025 ETH > 1 ETH.
    p = _pair(collateral=ETH, debt=2_100 * USDX, collateral_price=2_000 * USD)
    out = liquidation_call(p, V3_0, MAX_UINT256)
    # 2000 USDX / 1.05 = 1904.761904(76) → half up 1,904,761,905 units
    assert out.debt_repaid == _half_up(2_000 * USDX * 10_000, 10_500) == 1_904_761_905
    assert out.collateral_seized_total == ETH
    assert out.remaining_collateral == 0


# -- deficit and bad debt ----------------------------------------------------------------------


def _bad_debt_position() -> LiquidationInput:
    # aave-v3-origin test_liquidate_borrow_bad_debt without its 30-day warp: 0.5 WBTC, 11,000
    # USDX borrowed, WBTC −20 % → 21,600. HF = 10800 × 0.86 / 11000 = 0.844.
    return _pair(
        collateral=WBTC // 2,
        debt=11_000 * USDX,
        collateral_price=21_600 * USD,
        collateral_decimals=8,
        lt=8_600,
    )


def test_v3_3_creates_deficit_when_all_collateral_is_taken() -> None:
    """v3.3: no collateral left → the rest of the debt is burned into the reserve deficit."""
    out = liquidation_call(_bad_debt_position(), V3_3, MAX_UINT256)
    # 0.5 WBTC × 21,600 = 10,800 USDX of value; / 1.05 = 10,285.714285(71) → …286 half up
    repaid = _half_up(10_800 * USDX * 10_000, 10_500)
    assert repaid == 10_285_714_286
    # bonus = 5e7 − round(5e7 / 1.05) = 5e7 − 47,619,048 = 2,380,952; fee = 238,095.2 → 238,095
    assert out.protocol_fee == 238_095
    assert out.collateral_to_liquidator == 50_000_000 - 238_095
    assert out.debt_repaid == repaid
    assert out.deficit == 11_000 * USDX - repaid == 714_285_714
    assert out.remaining_debt == 0
    assert out.remaining_collateral == 0
    assert out.burn_other_debts


def test_v3_0_leaves_residual_debt_as_bad_debt() -> None:
    """v3.0: the same liquidation seizes everything and leaves 714.285714 USDX on the account."""
    out = liquidation_call(_bad_debt_position(), V3_0, MAX_UINT256)
    assert out.deficit == 0
    assert out.remaining_debt == 11_000 * USDX - 10_285_714_286
    assert out.remaining_collateral == 0
    assert not out.burn_other_debts


def test_v2_leaves_bad_debt_with_half_close_factor() -> None:
    """v2: 50 % of 11,000 = 5,500 USDX buys 5500/21600 × 1.05 = 0.2674 WBTC; no deficit."""
    p = dataclasses.replace(_bad_debt_position(), liquidation_protocol_fee_bps=0)
    out = liquidation_call(p, V2, MAX_UINT256)
    # v2: (1e8 × 5500e6 × 1e8).percentMul(10500) // (21600e8 × 1e6) = 26,736,111.1 → 26,736,111
    assert out.debt_repaid == 5_500 * USDX
    assert out.collateral_seized_total == 26_736_111
    assert out.protocol_fee == 0
    assert (out.deficit, out.remaining_debt) == (0, 5_500 * USDX)


def test_v3_3_deficit_only_when_no_collateral_left_in_any_reserve() -> None:
    """Seizing all of one collateral while another remains creates no deficit (multi-reserve)."""
    base = _bad_debt_position()
    # The same user also holds $5,000 of another collateral (LT 86 %): total collateral $15,800.
    p = dataclasses.replace(
        base,
        total_collateral_base=base.total_collateral_base + 5_000 * USD,
        health_factor=health_factor(15_800 * USD, 8_600, 11_000 * USD),  # 1.235 → not liquidatable
    )
    with pytest.raises(LiquidationReverted, match="HealthFactorNotBelowThreshold"):
        liquidation_call(p, V3_3, MAX_UINT256)
    # At HF 0.9 (say the other collateral's price fell), the call seizes all WBTC: no deficit.
    p = dataclasses.replace(p, health_factor=9 * WAD // 10)
    out = liquidation_call(p, V3_3, MAX_UINT256)
    assert out.remaining_collateral == 0
    assert out.deficit == 0
    assert out.remaining_debt == 11_000 * USDX - 10_285_714_286
    assert not out.burn_other_debts


def test_burn_bad_debt_moves_every_other_debt_into_deficit() -> None:
    """_burnBadDebt burns the whole debt of every other borrowed reserve (aave-v3-origin
    test_liquidate_borrow_burn_multiple_assets_bad_debt: WETH and WBTC debts go to zero)."""
    assert burn_bad_debt({"WETH": 2 * 10**15, "WBTC": 200_000, "DAI": 0}) == {
        "WETH": 2 * 10**15,
        "WBTC": 200_000,
    }


# -- dust rule ---------------------------------------------------------------------------------


def _required_borrow_base(total_collateral_base: int, avg_lt: int, desired_hf: int) -> int:
    # aave-v3-origin Pool.Liquidations.CloseFactor.t.sol _getRequiredBorrowsForHfBelow:
    # totalCollateralBase.percentMul(LT + 1) × 1e18 / desiredHf (then minus existing borrows).
    return _half_up(total_collateral_base * (avg_lt + 1), 10_000) * WAD // desired_hf


def test_dust_rule_reverts_when_collateral_left_is_below_1000_usd() -> None:
    """aave-v3-origin test_shouldRevertIfCloseFactorIs100ButCollateralIsBelowThreshold."""
    # 2,000 USDX and 4 WETH ($7,200) supplied; USDX borrowed to HF < 0.93.
    total_collateral = 2_000 * USD + 4 * 1_800 * USD
    borrow_base = _required_borrow_base(total_collateral, 8_600, 93 * WAD // 100)
    borrowed = borrow_base * USDX // USD  # 8,508.516129 USDX
    assert borrowed == 8_508_516_129
    account = user_account_data(
        [
            ReserveBalance(
                price=USD,
                decimals=6,
                liquidation_threshold_bps=8_600,
                supplied=2_000 * USDX,
                borrowed=borrowed,
            ),
            ReserveBalance(
                price=1_800 * USD, decimals=18, liquidation_threshold_bps=8_600, supplied=4 * ETH
            ),
        ]
    )
    assert account.health_factor < 93 * WAD // 100
    p = LiquidationInput(
        collateral_balance=2_000 * USDX,
        debt_balance=borrowed,
        collateral_price=USD,
        debt_price=USD,
        collateral_decimals=6,
        debt_decimals=6,
        collateral_liquidation_threshold_bps=8_600,
        liquidation_bonus_bps=10_500,
        liquidation_protocol_fee_bps=1_000,
        total_collateral_base=account.total_collateral_base,
        total_debt_base=account.total_debt_base,
        health_factor=account.health_factor,
    )
    # 956 USDX repaid seizes 956 × 1.05 = 1,003.8 USDX, leaving 996.2 < 1,000 of collateral.
    with pytest.raises(LiquidationReverted) as excinfo:
        liquidation_call(p, V3_3, (2_000 * USDX // 2) - 44 * USDX)
    assert excinfo.value.reason == "MustNotLeaveDust"
    # v3.0 has no dust rule: the same call executes.
    assert liquidation_call(p, V3_0, 956 * USDX).collateral_seized_total == 1_003_800_000
    # Exemption: taking all the USDX collateral is allowed (debt 2000 / 1.05 = 1,904.761905).
    out = liquidation_call(p, V3_3, MAX_UINT256)
    assert out.remaining_collateral == 0
    assert out.debt_repaid == _half_up(2_000 * USDX * 10_000, 10_500)
    assert out.deficit == 0  # the 4 WETH are still there


def _edge_range_position() -> LiquidationInput:
    # aave-v3-origin test_liquidationdataprovider_edge_range: 8,000 USDX supplied, 4,200 USDX
    # borrowed, then WETH borrowed down to HF 0.98.
    weth_base = _required_borrow_base(8_000 * USD, 8_600, 98 * WAD // 100) - 4_200 * USD
    weth_borrowed = weth_base * ETH // (1_800 * USD)
    account = user_account_data(
        [
            ReserveBalance(
                price=USD,
                decimals=6,
                liquidation_threshold_bps=8_600,
                supplied=8_000 * USDX,
                borrowed=4_200 * USDX,
            ),
            ReserveBalance(
                price=1_800 * USD,
                decimals=18,
                liquidation_threshold_bps=8_600,
                borrowed=weth_borrowed,
            ),
        ]
    )
    return LiquidationInput(
        collateral_balance=8_000 * USDX,
        debt_balance=4_200 * USDX,
        collateral_price=USD,
        debt_price=USD,
        collateral_decimals=6,
        debt_decimals=6,
        collateral_liquidation_threshold_bps=8_600,
        liquidation_bonus_bps=10_500,
        liquidation_protocol_fee_bps=1_000,
        total_collateral_base=account.total_collateral_base,
        total_debt_base=account.total_debt_base,
        health_factor=account.health_factor,
    )


def test_dust_rule_reverts_max_liquidation_at_50_percent_cap() -> None:
    """aave-v3-origin test_liquidationdataprovider_edge_range: uint.max reverts MustNotLeaveDust."""
    p = _edge_range_position()
    assert CLOSE_FACTOR_HF_THRESHOLD < p.health_factor < WAD
    # Cap = 50 % of ~$7,021 total debt = ~$3,510.6 < $4,200 of USDX debt; $689 would be left.
    with pytest.raises(LiquidationReverted, match="MustNotLeaveDust"):
        liquidation_call(p, V3_3, MAX_UINT256)


def test_dust_rule_accepts_exactly_1000_usd_left_and_refuses_one_unit_less() -> None:
    """The leftover test is >= $1,000: 3,200 of 4,200 USDX passes, 3,200.000001 reverts."""
    p = _edge_range_position()
    out = liquidation_call(p, V3_3, 3_200 * USDX)
    assert out.remaining_debt == 1_000 * USDX
    with pytest.raises(LiquidationReverted, match="MustNotLeaveDust"):
        liquidation_call(p, V3_3, 3_200 * USDX + 1)


def test_dust_rule_reverts_max_liquidation_in_reverse_edge_range() -> None:
    """aave-v3-origin test_liquidationdataprovider_edge_range_reverse: collateral left < $1,000."""
    weth = 4_000 * USD * ETH // (1_800 * USD)  # $4,000 of WETH
    supplied = [
        ReserveBalance(
            price=USD, decimals=6, liquidation_threshold_bps=8_600, supplied=4_200 * USDX
        ),
        ReserveBalance(
            price=1_800 * USD, decimals=18, liquidation_threshold_bps=8_600, supplied=weth
        ),
    ]
    collateral_base = user_account_data(supplied).total_collateral_base
    borrowed = _required_borrow_base(collateral_base, 8_600, 98 * WAD // 100) * USDX // USD
    account = user_account_data([dataclasses.replace(supplied[0], borrowed=borrowed), supplied[1]])
    p = LiquidationInput(
        collateral_balance=4_200 * USDX,
        debt_balance=borrowed,
        collateral_price=USD,
        debt_price=USD,
        collateral_decimals=6,
        debt_decimals=6,
        collateral_liquidation_threshold_bps=8_600,
        liquidation_bonus_bps=10_500,
        liquidation_protocol_fee_bps=1_000,
        total_collateral_base=account.total_collateral_base,
        total_debt_base=account.total_debt_base,
        health_factor=account.health_factor,
    )
    # Cap ≈ 7,196.76 / 2 = 3,598.38 USDX; × 1.05 = 3,778.3 seized of 4,200 → $421.7 left.
    with pytest.raises(LiquidationReverted, match="MustNotLeaveDust"):
        liquidation_call(p, V3_3, MAX_UINT256)


def test_dust_rule_exempts_clearing_all_debt() -> None:
    """Repaying the whole reserve debt is allowed even if < $1,000 of collateral would remain."""
    # 1 ETH at $2,000 vs 1,800 USDC: all repaid, 0.055 ETH ($110) left.
    out = liquidation_call(
        _pair(collateral=ETH, debt=1_800 * USDX, collateral_price=2_000 * USD), V3_3, MAX_UINT256
    )
    assert out.remaining_debt == 0
    assert out.remaining_collateral == 55 * ETH // 1_000


# -- validation --------------------------------------------------------------------------------


def test_healthy_position_reverts_health_factor_not_below_threshold() -> None:
    """aave-v3-origin test_reverts_liquidation_hf_gt_liquidation_threshold: 1 WBTC vs 2 WETH."""
    p = _pair(
        collateral=WBTC,
        debt=2 * ETH,
        collateral_price=27_000 * USD,
        debt_price=1_800 * USD,
        collateral_decimals=8,
        debt_decimals=18,
        lt=8_600,
    )
    # HF = 27000 × 0.86 / 3600 = 6.45
    assert p.health_factor == 645 * WAD // 100
    for rules in (V2, V3_0, V3_3):
        with pytest.raises(LiquidationReverted) as excinfo:
            liquidation_call(dataclasses.replace(p, liquidation_protocol_fee_bps=0), rules, 1)
        assert excinfo.value.reason == "HealthFactorNotBelowThreshold"


def test_hf_exactly_one_is_not_liquidatable() -> None:
    """Liquidation needs HF strictly below 1e18."""
    p = dataclasses.replace(_bad_debt_position(), health_factor=WAD)
    with pytest.raises(LiquidationReverted, match="HealthFactorNotBelowThreshold"):
        liquidation_call(p, V3_3, MAX_UINT256)


def test_zero_debt_in_reserve_reverts() -> None:
    """aave-v3-origin test_reverts_liquidation_invalid_borrow: no debt in that reserve."""
    p = dataclasses.replace(_bad_debt_position(), debt_balance=0)
    with pytest.raises(LiquidationReverted, match="SpecifiedCurrencyNotBorrowedByUser"):
        liquidation_call(p, V3_3, MAX_UINT256)


@pytest.mark.parametrize(
    "change", [{"collateral_enabled": False}, {"collateral_liquidation_threshold_bps": 0}]
)
def test_collateral_not_enabled_or_zero_threshold_reverts(change: dict[str, object]) -> None:
    """A collateral the user disabled, or with LT 0, cannot be liquidated."""
    p = dataclasses.replace(_bad_debt_position(), **change)  # type: ignore[arg-type]
    with pytest.raises(LiquidationReverted, match="CollateralCannotBeLiquidated"):
        liquidation_call(p, V3_3, MAX_UINT256)


def test_rules_accept_plain_strings() -> None:
    """Rules given as "v3.0" (from a scenario file) behave as LiquidationRules.V3_0."""
    p = _bad_debt_position()
    assert liquidation_call(p, "v3.0", MAX_UINT256) == liquidation_call(p, V3_0, MAX_UINT256)
