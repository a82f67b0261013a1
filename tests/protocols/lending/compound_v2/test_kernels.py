"""The vectorized Compound v2 kernels agree with the integer reference math to 1e-9 relative."""

from __future__ import annotations

import numpy as np
import pytest

from protosim.protocols.lending.compound_v2 import kernels
from protosim.protocols.lending.compound_v2 import math as cmath

E18 = 10**18
CTOKEN = 10**8


def _random_accounts(seed: int, n: int = 300) -> list[dict[str, int]]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        dec_c, dec_d = (int(x) for x in rng.choice([6, 8, 18], 2))
        out.append(
            {
                "dec_c": dec_c,
                "dec_d": dec_d,
                # Exchange rate 0.02-0.03 underlying per cToken, as mantissa of base units.
                "rate": int(rng.uniform(0.02, 0.03) * 10 ** (18 + dec_c - 8)),
                "p_c": cmath.underlying_price_mantissa(
                    str(round(rng.uniform(0.5, 50_000), 6)), dec_c
                ),
                "p_d": cmath.underlying_price_mantissa(str(round(rng.uniform(0.5, 2.0), 6)), dec_d),
                "cf": int(rng.uniform(0.5, 0.85) * 1e4) * 10**14,
                "ctokens": int(rng.uniform(1e3, 1e9) * CTOKEN),
                "hf": float(rng.uniform(0.3, 1.2)),
            }
        )
    return out


def _floats(a: dict[str, int]) -> tuple[float, float, float, float]:
    rate = a["rate"] / 10 ** (18 + a["dec_c"] - 8)
    p_c = a["p_c"] / 10 ** (36 - a["dec_c"])
    p_d = a["p_d"] / 10 ** (36 - a["dec_d"])
    return rate, p_c, p_d, a["ctokens"] / CTOKEN


@pytest.mark.parametrize("seed", [1, 2])
def test_liquidity_and_seizure_match_reference(seed: int) -> None:
    """Shortfall sign, repay, seize tokens and reserve share agree with liquidate_borrow."""
    for a in _random_accounts(seed):
        rate, p_c, p_d, ctokens = _floats(a)
        coll_usd = ctokens * rate * p_c * a["cf"] / E18
        borrow = coll_usd / a["hf"] / p_d
        borrow_units = int(borrow * 10 ** a["dec_d"])
        borrow = borrow_units / 10 ** a["dec_d"]
        snap = {
            "c": cmath.MarketSnapshot(
                exchange_rate_mantissa=a["rate"],
                underlying_price_mantissa=a["p_c"],
                collateral_factor_mantissa=a["cf"],
                c_token_balance=a["ctokens"],
            ),
            "d": cmath.MarketSnapshot(
                exchange_rate_mantissa=10**18,
                underlying_price_mantissa=a["p_d"],
                collateral_factor_mantissa=0,
                borrow_balance=borrow_units,
            ),
        }
        ref = cmath.account_liquidity(snap)
        sums = kernels.account_liquidity([ctokens], [borrow], p_c, p_d, rate, a["cf"] / E18)
        np.testing.assert_allclose(sums[0][0], ref.sum_collateral / E18, rtol=1e-9)
        np.testing.assert_allclose(sums[1][0], ref.sum_borrow_plus_effects / E18, rtol=1e-9)
        batch = kernels.liquidate_max(
            [ctokens],
            [borrow],
            p_c,
            p_d,
            rate,
            collateral_factor=a["cf"] / E18,
            close_factor=0.5,
            liquidation_incentive=1.08,
            protocol_seize_share=0.028,
            debt_decimals=a["dec_d"],
        )
        if abs(a["hf"] - 1.0) < 1e-6:
            continue  # within rounding of the line
        assert bool(batch.executed[0]) == (ref.shortfall > 0)
        if not batch.executed[0]:
            continue
        # The largest repayment the contract accepts: the close factor, or what the
        # collateral can pay for (a seizure above the balance reverts), less rounding units.
        repay = int(batch.debt_repaid[0] * 10 ** a["dec_d"] * (1 - 1e-12))
        repay = min(repay, cmath.max_close(5 * 10**17, borrow_units))
        supply = a["ctokens"] * 10  # the borrower holds a tenth of the market
        market_c = cmath.CTokenMarket(
            cash=supply * a["rate"] // E18, total_borrows=0, total_reserves=0, total_supply=supply
        )
        market_d = cmath.CTokenMarket(
            cash=0, total_borrows=borrow_units, total_reserves=0, total_supply=0
        )
        out = cmath.liquidate_borrow(
            cmath.LiquidationInput(
                borrowed=market_d,
                collateral=market_c,
                borrow_balance=borrow_units,
                borrower_collateral_tokens=a["ctokens"],
                shortfall=ref.shortfall,
                price_borrowed_mantissa=a["p_d"],
                price_collateral_mantissa=a["p_c"],
                close_factor_mantissa=5 * 10**17,
                liquidation_incentive_mantissa=108 * 10**16,
                protocol_seize_share_mantissa=28 * 10**15,
            ),
            repay,
        )
        rate_c = cmath.exchange_rate_stored(market_c) / 10 ** (18 + a["dec_c"] - 8)
        np.testing.assert_allclose(batch.debt_repaid[0], repay / 10 ** a["dec_d"], rtol=1e-9)
        np.testing.assert_allclose(batch.seize_tokens[0], out.seize_tokens / CTOKEN, rtol=1e-9)
        np.testing.assert_allclose(
            batch.protocol_seize_tokens[0], out.protocol_seize_tokens / CTOKEN, rtol=1e-9
        )
        np.testing.assert_allclose(
            batch.protocol_fee[0] * rate_c / rate,
            out.protocol_seize_amount / 10 ** a["dec_c"],
            rtol=1e-9,
        )


def test_seize_is_capped_by_the_collateral() -> None:
    """Deep under water: repay = what the collateral pays for, and all of it is seized."""
    # 10 cTokens at 0.02 = 0.2 ETH at $1,000 = $200 of collateral against $1,000 owed:
    # repay = 200 / 1.08 = 185.185…, below the close-factor 500.
    b = kernels.liquidate_max(
        [10.0],
        [1_000.0],
        1_000.0,
        1.0,
        0.02,
        collateral_factor=0.75,
        close_factor=0.5,
        liquidation_incentive=1.08,
        protocol_seize_share=0.0,
    )
    np.testing.assert_allclose(b.debt_repaid[0], 200.0 / 1.08)
    np.testing.assert_allclose(b.seize_tokens[0], 10.0)
