"""Vectorized float64 Compound v2 liquidation kernels for books of two-market accounts.

Each row is one account that supplies one cToken market (its collateral) and borrows another.
cToken balances are whole cTokens, borrows whole underlying tokens, prices USD per whole token,
exchange rates underlying per cToken, factors fractions (``0.75``, ``1.08``, ``0.028``). The
kernels follow the integer reference math of :mod:`protosim.protocols.lending.compound_v2.math`
(``Comptroller.getHypotheticalAccountLiquidityInternal``, ``liquidateBorrowAllowed``,
``liquidateCalculateSeizeTokens`` and ``CToken.seizeInternal`` of compound-finance/
compound-protocol) with exact arithmetic in place of ``ExponentialNoError``'s truncation, and agree
with it to 1e-9 relative (``tests/protocols/lending/compound_v2/test_kernels.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["LiquidationBatch", "account_liquidity", "liquidate_max"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class LiquidationBatch:
    """What a batch of ``liquidateBorrow`` calls moves, one row per account (zeros where the call
    would revert, ``executed`` False).

    Attributes
    ----------
    debt_repaid : ndarray of float64
        Underlying of the borrowed market repaid by the liquidator.
    seize_tokens : ndarray of float64
        Collateral cTokens taken from the borrower.
    protocol_seize_tokens : ndarray of float64
        Of those, cTokens burned into the collateral market's reserves.
    collateral_seized : ndarray of float64
        ``seize_tokens`` in collateral underlying (at the exchange rate).
    collateral_to_liquidator : ndarray of float64
        Collateral underlying the liquidator can redeem its cTokens for.
    protocol_fee : ndarray of float64
        Collateral underlying added to ``totalReserves`` (``protocolSeizeAmount``).
    executed : ndarray of bool
        False where the call reverts: no shortfall, no borrow or no collateral.
    """

    debt_repaid: FloatArray
    seize_tokens: FloatArray
    protocol_seize_tokens: FloatArray
    collateral_seized: FloatArray
    collateral_to_liquidator: FloatArray
    protocol_fee: FloatArray
    executed: NDArray[np.bool_]


def account_liquidity(
    c_tokens: ArrayLike,
    borrow: ArrayLike,
    price_collateral: float,
    price_debt: float,
    exchange_rate: float,
    collateral_factor: float,
) -> tuple[FloatArray, FloatArray]:
    """Return ``(sumCollateral, sumBorrowPlusEffects)`` in USD per account.

    ``sumCollateral = cTokens · exchangeRate · price · collateralFactor`` and
    ``sumBorrow = borrow · price``; the account has a shortfall (is liquidatable) iff
    ``sumBorrow > sumCollateral``.

    Examples
    --------
    The DAI incident borrower of ``test_dai_incident.py``: 5,000 cETH at 0.02 ETH, ETH $516.01,
    CF 75 %, 35,000 DAI owed at $1.30 → 38,700.75 against 45,500:

    >>> coll, debt = account_liquidity([5_000.0], [35_000.0], 516.01, 1.30, 0.02, 0.75)
    >>> round(float(coll[0]), 2), round(float(debt[0]), 2)
    (38700.75, 45500.0)
    """
    c = np.asarray(c_tokens, dtype=np.float64)
    d = np.asarray(borrow, dtype=np.float64)
    return c * (exchange_rate * price_collateral * collateral_factor), d * price_debt


def liquidate_max(
    c_tokens: ArrayLike,
    borrow: ArrayLike,
    price_collateral: float,
    price_debt: float,
    exchange_rate: float,
    *,
    collateral_factor: float,
    close_factor: float,
    liquidation_incentive: float,
    protocol_seize_share: float,
    debt_decimals: int | None = None,
) -> LiquidationBatch:
    """Return what the largest allowed ``liquidateBorrow`` does to each account.

    The repayment is ``closeFactor · borrow`` (``liquidateBorrowAllowed``'s ceiling), cut to what
    the borrower's collateral can pay for: a seizure above the balance reverts
    ``LIQUIDATE_SEIZE_TOO_MUCH``, so a liquidator repays at most
    ``cTokens · exchangeRate · priceCollateral / (incentive · priceBorrowed)``. Then::

        seizeTokens = repay · incentive · priceBorrowed / (priceCollateral · exchangeRate)
        protocolSeizeTokens = seizeTokens · protocolSeizeShare      # burned into reserves

    With `debt_decimals` the ratio ``incentive · priceBorrowed / (priceCollateral ·
    exchangeRate)`` is truncated to 18 decimals of cToken units per borrowed base unit, as
    ``liquidateCalculateSeizeTokens`` does; for a high collateral price against a 6-decimal
    cToken rate this truncation alone costs the liquidator up to ``1 / ratio`` of the seizure
    (about 1e-5 for $50,000 collateral), far above float rounding.

    Examples
    --------
    ``InKindLiquidation.scen`` proportions: 101 owed, close factor 0.1, incentive 1.1, exchange
    rate 4e-10 → 10.1 repaid seizes 10.1 · 1.1 / 4e-10 = 2.7775e10 cTokens; 2.8 % are burned:

    >>> b = liquidate_max([50e9], [101.0], 1.0, 1.0, 4e-10, collateral_factor=0.5,
    ...                   close_factor=0.1, liquidation_incentive=1.1, protocol_seize_share=0.028)
    >>> round(float(b.debt_repaid[0]), 9), round(float(b.seize_tokens[0]))
    (10.1, 27775000000)
    >>> round(float(b.protocol_fee[0]), 9)
    0.31108
    """
    c = np.asarray(c_tokens, dtype=np.float64)
    d = np.asarray(borrow, dtype=np.float64)
    coll_usd, debt_usd = account_liquidity(
        c, d, price_collateral, price_debt, exchange_rate, collateral_factor
    )
    executed = (debt_usd > coll_usd) & (d > 0) & (c > 0)
    # USD of collateral one unit of repaid debt takes, over the USD of one cToken.
    tokens_per_repaid = liquidation_incentive * price_debt / (price_collateral * exchange_rate)
    if debt_decimals is not None:
        # ratio mantissa = cToken units (1e-8) per debt base unit × 1e18, truncated.
        scale = 10.0 ** (18 + 8 - debt_decimals)
        tokens_per_repaid = np.floor(tokens_per_repaid * scale) / scale
    repay = np.minimum(close_factor * d, c / tokens_per_repaid)
    repay = np.where(executed, repay, 0.0)
    executed &= repay > 0
    seize = np.where(executed, np.minimum(repay * tokens_per_repaid, c), 0.0)
    protocol_tokens = seize * protocol_seize_share
    return LiquidationBatch(
        debt_repaid=repay,
        seize_tokens=seize,
        protocol_seize_tokens=protocol_tokens,
        collateral_seized=seize * exchange_rate,
        collateral_to_liquidator=(seize - protocol_tokens) * exchange_rate,
        protocol_fee=protocol_tokens * exchange_rate,
        executed=executed,
    )
