"""The Compound DAI oracle incident of 26 November 2020, worked through the v2 integer math.

Figures from /work/shared/reference/crashes.md §4: the Open Price Feed posted DAI at ~$1.30
(Coinbase Pro), ETH closed the 07:00 UTC hour at $516.01 (Binance, data file D6), the liquidation
incentive was 8 %, and the largest liquidation repaid ~46M DAI while a liquidator earned ~$4M.

Assumptions, not from crashes.md (verify on chain before quoting): ETH and DAI collateral
factors 75 %, close factor 50 %, cETH and cDAI exchange rates 0.02 and 0.0208 underlying per
cToken (8-decimal cTokens), and no protocol seize share (``protocolSeizeShareMantissa`` came with
the 2021 cToken upgrade). The borrower — 100 ETH supplied, 35,000 DAI borrowed — is illustrative.
"""

from __future__ import annotations

import pytest

from protosim.protocols.lending.compound_v2.math import (
    CompoundV2Reverted,
    ComptrollerError,
    CTokenMarket,
    LiquidationInput,
    MarketSnapshot,
    account_liquidity,
    liquidate_borrow,
    liquidate_calculate_seize_tokens,
    max_close,
    underlying_price_mantissa,
)

E18 = 10**18
ETH_PRICE = underlying_price_mantissa("516.01", 18)  # 516.01e18
DAI_BEFORE = underlying_price_mantissa("1.00", 18)
DAI_SPIKE = underlying_price_mantissa("1.30", 18)
CETH_RATE = 2 * 10**26  # 0.02 ETH per cETH: 1e18 · 0.02 · 1e18 / 1e8
CDAI_RATE = 208 * 10**24  # 0.0208 DAI per cDAI
CF = 75 * 10**16
INCENTIVE = 108 * 10**16
CLOSE_FACTOR = 5 * 10**17
CETH_HELD = 5_000 * 10**8  # 100 ETH / 0.02 = 5,000 cETH
DAI_OWED = 35_000 * E18


def _account(
    dai_price: int, ceth: int = CETH_HELD, dai_owed: int = DAI_OWED
) -> dict[str, MarketSnapshot]:
    return {
        "cETH": MarketSnapshot(
            exchange_rate_mantissa=CETH_RATE,
            underlying_price_mantissa=ETH_PRICE,
            collateral_factor_mantissa=CF,
            c_token_balance=ceth,
        ),
        "cDAI": MarketSnapshot(
            exchange_rate_mantissa=CDAI_RATE,
            underlying_price_mantissa=dai_price,
            collateral_factor_mantissa=CF,
            borrow_balance=dai_owed,
        ),
    }


def test_dai_borrower_is_healthy_at_one_dollar() -> None:
    """At DAI $1.00: collateral 100 · 516.01 · 0.75 = $38,700.75 covers $35,000 of debt."""
    # tokensToDenom = (0.75 · 2e26 / 1e18) · 516.01e18 / 1e18 = 7.740150e28
    # sumCollateral = 7.740150e28 · 5e11 / 1e18 = 38,700.75e18
    result = account_liquidity(_account(DAI_BEFORE))
    assert result.sum_collateral == 38_700_75 * 10**16
    assert (result.liquidity, result.shortfall) == (3_700_75 * 10**16, 0)


def test_dai_price_of_1_30_makes_eth_collateral_borrower_liquidatable() -> None:
    """At DAI $1.30 the debt is worth $45,500 > $38,700.75: shortfall $6,799.25."""
    result = account_liquidity(_account(DAI_SPIKE))
    assert result.sum_borrow_plus_effects == 45_500 * E18
    assert result.shortfall == 6_799_25 * 10**16


def test_liquidation_is_rejected_before_the_spike() -> None:
    """With DAI at $1.00 there is no shortfall, so liquidateBorrow reverts with code 3."""
    position = _position(account_liquidity(_account(DAI_BEFORE)).shortfall, DAI_BEFORE)
    with pytest.raises(CompoundV2Reverted) as raised:
        liquidate_borrow(position, E18)
    assert raised.value.code is ComptrollerError.INSUFFICIENT_SHORTFALL


def test_seize_tokens_for_half_the_debt_at_the_spike_price() -> None:
    """Repay 17,500 DAI (close factor 50 %): 238,076,772,500 cETH units = 47.6153545 ETH."""
    # numerator   = 1.08e18 · 1.30e18 / 1e18      = 1.404e18
    # denominator = 516.01e18 · 2e26 / 1e18       = 1.03202e29
    # ratio       = 1.404e18 · 1e18 / 1.03202e29  = 13,604,387.51… → 13,604,387
    # seizeTokens = 13,604,387 · 17,500e18 / 1e18 = 238,076,772,500 (2,380.767725 cETH)
    # Exact: 17,500 · 1.08 · 1.30 / 516.01 = 47.6153563 ETH; truncating the ratio costs 1.8e-6 ETH.
    repay = max_close(CLOSE_FACTOR, DAI_OWED)
    assert repay == 17_500 * E18
    seized = liquidate_calculate_seize_tokens(
        actual_repay_amount=repay,
        price_borrowed_mantissa=DAI_SPIKE,
        price_collateral_mantissa=ETH_PRICE,
        exchange_rate_mantissa=CETH_RATE,
        liquidation_incentive_mantissa=INCENTIVE,
    )
    assert seized == 238_076_772_500
    assert seized * CETH_RATE // E18 == 47_615_354_500 * 10**9  # ETH wei


def _position(shortfall: int, dai_price: int) -> LiquidationInput:
    cdai = CTokenMarket(
        cash=300_000_000 * E18, total_borrows=1_300_000_000 * E18, total_reserves=0, total_supply=0
    )
    ceth = CTokenMarket(
        cash=2_000_000 * E18, total_borrows=0, total_reserves=0, total_supply=10**16
    )
    return LiquidationInput(
        borrowed=cdai,
        collateral=ceth,
        borrow_balance=DAI_OWED,
        borrower_collateral_tokens=CETH_HELD,
        shortfall=shortfall,
        price_borrowed_mantissa=dai_price,
        price_collateral_mantissa=ETH_PRICE,
        close_factor_mantissa=CLOSE_FACTOR,
        liquidation_incentive_mantissa=INCENTIVE,
        protocol_seize_share_mantissa=0,
    )


def test_first_liquidation_shrinks_the_shortfall_but_leaves_it_positive() -> None:
    """HF 0.8506 > CF · LI = 0.81, so repaying half cuts the shortfall to $2,476.75, not to zero."""
    # cETH market: 2,000,000 ETH of cash over 1e16 units (1e8 cETH) → exchange rate 0.02 (2e26).
    position = _position(account_liquidity(_account(DAI_SPIKE)).shortfall, DAI_SPIKE)
    out = liquidate_borrow(position, 17_500 * E18)
    assert out.seize_tokens == out.liquidator_seize_tokens == 238_076_772_500
    assert out.borrower_collateral_tokens == 261_923_227_500  # 52.384645500 ETH left
    # 52.3846455 · 516.01 · 0.75 = 20,273.2506933…; debt 17,500 · 1.30 = 22,750
    after = account_liquidity(
        _account(DAI_SPIKE, out.borrower_collateral_tokens, out.borrow_balance)
    )
    assert after.sum_collateral == 20_273_250_693_341_250_000_000
    assert after.shortfall == 2_476_749_306_658_750_000_000
    assert 0 < after.shortfall < position.shortfall


@pytest.mark.parametrize("dai_price", [DAI_BEFORE, DAI_SPIKE])
def test_largest_in_kind_liquidation_bonus_does_not_depend_on_the_dai_price(dai_price: int) -> None:
    """Repaying 46M DAI against cDAI seizes 49.68M DAI of cDAI: an 8 % bonus of 3.68M DAI."""
    # numerator / denominator = 1.08 · P / (P · 0.0208): P cancels. 51.923… cDAI per DAI is the
    # per-wei mantissa 5,192,307,692 (1.08e36 / 2.08e26 and 1.404e36 / 2.704e26 truncate alike).
    # seizeTokens = 5,192,307,692 · 46e24 / 1e18 = 238,846,153,832,000,000 cDAI units.
    seized = liquidate_calculate_seize_tokens(
        actual_repay_amount=46_000_000 * E18,
        price_borrowed_mantissa=dai_price,
        price_collateral_mantissa=dai_price,
        exchange_rate_mantissa=CDAI_RATE,
        liquidation_incentive_mantissa=INCENTIVE,
    )
    assert seized == 238_846_153_832_000_000
    bonus_dai = seized * CDAI_RATE // E18 - 46_000_000 * E18
    # 3,679,999.99 DAI: ≈ $4.0M at ~$1.08 per DAI, the "~$4M" liquidator profit of crashes.md §4.
    assert 3_679_999 * E18 < bonus_dai <= 3_680_000 * E18
