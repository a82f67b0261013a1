"""The vectorized Comet kernels agree with the integer reference math to 1e-9 relative."""

from __future__ import annotations

import numpy as np
import pytest

from protosim.protocols.lending.compound_v3 import kernels
from protosim.protocols.lending.compound_v3 import math as cmath

# cUSDCv3 factors (mechanics §2.5): WETH 0.825/0.895/0.95, WBTC 0.70/0.77/0.95, COMP …/0.93.
FACTORS = [(0.825, 0.895, 0.95, 18), (0.70, 0.77, 0.95, 8), (0.50, 0.70, 0.93, 18)]


def _assets(prices: np.ndarray) -> list[cmath.AssetInfo]:
    return [
        cmath.AssetInfo.from_config(
            price=round(p * 1e8),
            decimals=dec,
            borrow_collateral_factor=int(b * 1e18),
            liquidate_collateral_factor=int(lcf * 1e18),
            liquidation_factor=int(lf * 1e18),
        )
        for p, (b, lcf, lf, dec) in zip(prices, FACTORS, strict=True)
    ]


@pytest.mark.parametrize("seed", [3, 4])
def test_absorb_matches_reference(seed: int) -> None:
    """isLiquidatable and absorb's credit, new balance and shortfall match math.absorb."""
    rng = np.random.default_rng(seed)
    market = cmath.BaseMarket(base_scale=10**6, base_price=10**8, total_borrow_base=10**20)
    for _ in range(200):
        prices = np.round(rng.uniform([500, 10_000, 20], [5_000, 80_000, 300]), 8)
        assets = _assets(prices)
        held = rng.uniform(0, 1, 3) * (rng.uniform(0, 1, 3) < 0.7) * [50, 3, 2_000]
        units = [int(q * 10**dec) for q, (*_, dec) in zip(held, FACTORS, strict=True)]
        q = np.array([u / 10**dec for u, (*_, dec) in zip(units, FACTORS, strict=True)])
        lcf = np.array([a.liquidate_collateral_factor / 1e18 for a in assets])
        lf = np.array([a.liquidation_factor / 1e18 for a in assets])
        value = float((q * prices * lcf).sum())
        if value == 0:
            continue
        debt_units = int(value / rng.uniform(0.6, 1.3) * 1e6)
        debt = debt_units / 1e6
        balances = [cmath.CollateralBalance(a, u) for a, u in zip(assets, units, strict=True)]
        ratio = kernels.liquidation_ratio([q], [debt], prices, 1.0, lcf)[0]
        liquidatable = cmath.is_liquidatable(-debt_units, balances, market)
        if abs(ratio - 1.0) > 1e-6:
            assert (ratio < 1.0) == liquidatable
        if not liquidatable:
            continue
        ref = cmath.absorb(-debt_units, balances, market)
        got = kernels.absorb([q], [debt], prices, 1.0, lf)
        np.testing.assert_allclose(got.delta_balance[0], ref.delta_balance / 1e6, rtol=1e-9)
        np.testing.assert_allclose(
            got.base_paid_out[0], ref.base_paid_out / 1e6, rtol=1e-9, atol=2e-6
        )
        np.testing.assert_allclose(got.shortfall[0], ref.shortfall / 1e6, rtol=1e-9, atol=2e-6)


def test_quote_matches_reference() -> None:
    """quote_collateral matches Comet.quoteCollateral (up to its 8-decimal price rounding)."""
    rng = np.random.default_rng(5)
    market = cmath.BaseMarket(base_scale=10**6, base_price=10**8)
    for _ in range(200):
        price = round(float(rng.uniform(1, 80_000)), 2)
        lf = int(rng.uniform(0.8, 1.0) * 1e4) / 1e4
        sf = int(rng.uniform(0, 1) * 1e4) / 1e4
        asset = cmath.AssetInfo.from_config(
            price=round(price * 1e8),
            decimals=18,
            borrow_collateral_factor=0,
            liquidate_collateral_factor=10**18,
            liquidation_factor=round(lf * 1e18),
        )
        base = int(rng.uniform(1e3, 1e7) * 1e6)
        ref = cmath.quote_collateral(asset, base, market, round(sf * 1e18))
        got = kernels.quote_collateral(base / 1e6, price, 1.0, lf, sf)
        # discountedPrice keeps 8 decimals: at most 1e-8 / price relative off (price >= $1).
        np.testing.assert_allclose(float(got), ref / 1e18, rtol=2e-8)
