"""Vectorized float64 Comet kernels for books of accounts × collateral assets.

Rows are accounts, columns collateral assets. Amounts are whole tokens, prices USD per whole
token, factors fractions. Each kernel follows the integer reference math of
:mod:`protosim.protocols.lending.compound_v3.math` (``Comet.isLiquidatable``,
``absorbInternal``, ``quoteCollateral`` of compound-finance/comet) with exact arithmetic in place
of Comet's truncation, and agrees with it to 1e-9 relative
(``tests/protocols/lending/compound_v3/test_kernels.py``). Debts are present values: the base
indices are held at their starting value (rates constant over a run's horizon).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["AbsorbBatch", "absorb", "liquidation_ratio", "quote_collateral"]

FloatArray = NDArray[np.float64]


def liquidation_ratio(
    collateral: ArrayLike, debt: ArrayLike, prices: ArrayLike, base_price: float, factors: ArrayLike
) -> FloatArray:
    """Return ``Σ_i Q_i · P_i · factor_i / (debt · P_base)`` per account (inf without debt).

    With the liquidate collateral factors, an account is liquidatable (``isLiquidatable``) iff
    the ratio is below 1 (mechanics §2.2).

    Examples
    --------
    1 WETH at $2,000, liquidate CF 0.895, 1,800 USDC owed: 1,790 / 1,800 < 1:

    >>> float(liquidation_ratio([[1.0]], [1_800.0], [2_000.0], 1.0, [0.895])[0])
    0.9944444444444445
    """
    q = np.atleast_2d(np.asarray(collateral, dtype=np.float64))
    d = np.asarray(debt, dtype=np.float64)
    value = q @ (np.asarray(prices, dtype=np.float64) * np.asarray(factors, dtype=np.float64))
    with np.errstate(divide="ignore", invalid="ignore"):
        out: FloatArray = np.where(d > 0, value / (np.where(d > 0, d, 1.0) * base_price), np.inf)
    return out


@dataclass(frozen=True, slots=True)
class AbsorbBatch:
    """What ``absorb`` does to each account (base tokens).

    Attributes
    ----------
    delta_balance : ndarray
        Collateral value credited at the liquidation factors, in base.
    new_balance : ndarray
        ``max(−debt + delta_balance, 0)``: base the account keeps as a supply balance.
    base_paid_out : ndarray
        ``new_balance + debt``: what the reserves pay (``AbsorbDebt.basePaidOut``).
    shortfall : ndarray
        ``max(debt − delta_balance, 0)``: debt the credited collateral did not cover.
    """

    delta_balance: FloatArray
    new_balance: FloatArray
    base_paid_out: FloatArray
    shortfall: FloatArray


def absorb(
    collateral: ArrayLike,
    debt: ArrayLike,
    prices: ArrayLike,
    base_price: float,
    liquidation_factors: ArrayLike,
) -> AbsorbBatch:
    """Return what ``Comet.absorb`` does to each account: all collateral in, all debt out.

    Examples
    --------
    comet's cUSDCv3 case of `math.absorb`: 1 WETH at $2,000, liquidation factor 0.95, 1,800
    USDC owed → credit 1,900, the account keeps 100, the reserves pay 1,900:

    >>> b = absorb([[1.0]], [1_800.0], [2_000.0], 1.0, [0.95])
    >>> float(b.new_balance[0]), float(b.base_paid_out[0]), float(b.shortfall[0])
    (100.0, 1900.0, 0.0)
    """
    q = np.atleast_2d(np.asarray(collateral, dtype=np.float64))
    d = np.asarray(debt, dtype=np.float64)
    lf = np.asarray(liquidation_factors, dtype=np.float64)
    delta = q @ (np.asarray(prices, dtype=np.float64) * lf) / base_price
    new_balance = np.maximum(delta - d, 0.0)
    return AbsorbBatch(
        delta_balance=delta,
        new_balance=new_balance,
        base_paid_out=new_balance + d,
        shortfall=np.maximum(d - delta, 0.0),
    )


def quote_collateral(
    base_amount: ArrayLike,
    asset_price: float,
    base_price: float,
    liquidation_factor: float,
    store_front_price_factor: float,
) -> FloatArray:
    """Return the collateral `base_amount` buys at the storefront (``quoteCollateral``).

    ``discount = storeFrontPriceFactor · (1 − liquidationFactor)``;
    ``collateral = base_amount · P_base / (P_asset · (1 − discount))`` (mechanics §2.3).

    Examples
    --------
    comet ``test/quote-collateral-test.ts``: discount 0.5 × 0.4 = 20 %, COMP $200 → $160,
    200 USDC buys 1.25 COMP:

    >>> float(quote_collateral(200.0, 200.0, 1.0, 0.6, 0.5))
    1.25
    """
    discount = store_front_price_factor * (1.0 - liquidation_factor)
    out: FloatArray = np.asarray(base_amount, dtype=np.float64) * (
        base_price / (asset_price * (1.0 - discount))
    )
    return out
