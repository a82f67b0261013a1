"""Vectorized float64 Aave liquidation kernels for books of single-pair accounts.

Each row is one account holding exactly one collateral reserve and one debt reserve. Amounts are
whole tokens, prices USD, parameters fractions (``0.83``, ``1.05``, ``0.10``). The kernels follow
the integer reference math of :mod:`protosim.protocols.lending.aave_v3.math` (which mirrors
aave/protocol-v2 ``LendingPoolCollateralManager.sol``, aave/aave-v3-core and
aave-dao/aave-v3-origin v3.3.0 ``LiquidationLogic.sol``) with exact arithmetic in place of
Aave's base-unit rounding, and agree with it to 1e-9 relative (a few base units absolute) — see
``tests/protocols/lending/aave_v3/test_kernels.py``. Whether a call reverts can differ from the
integer path only when a compared quantity (HF against 1 or 0.95, a reserve against $2,000, a
leftover against $1,000) lies within rounding distance (~1e-8 USD, or one debt base unit) of its
threshold.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from protosim.protocols.lending.aave_v3.math import LiquidationRules

__all__ = [
    "CLOSE_FACTOR_HF_THRESHOLD",
    "MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD_USD",
    "MIN_LEFTOVER_BASE_USD",
    "LiquidationBatch",
    "health_factor",
    "liquidate",
    "liquidate_max",
    "liquidation_price",
]

CLOSE_FACTOR_HF_THRESHOLD = 0.95
MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD_USD = 2_000.0
MIN_LEFTOVER_BASE_USD = 1_000.0

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class LiquidationBatch:
    """What a batch of ``liquidationCall`` transactions moved, one row per account.

    Rows where the call would revert (``executed`` False) hold zeros.

    Attributes
    ----------
    debt_repaid : ndarray of float64
        Debt tokens repaid by the liquidator (whole tokens).
    collateral_seized : ndarray of float64
        Collateral tokens leaving the user (liquidator's share plus protocol fee).
    collateral_to_liquidator : ndarray of float64
        Collateral tokens received by the liquidator.
    protocol_fee : ndarray of float64
        Collateral tokens sent to the treasury.
    deficit : ndarray of float64
        Debt tokens burned into the reserve deficit (v3.3 rules), 0 otherwise.
    bad_debt : ndarray of float64
        Debt tokens left on an account with no collateral (v2 and v3.0 rules), 0 otherwise.
    executed : ndarray of bool
        False where the call reverts (HF ≥ 1, zero debt, no collateral, dust rule).
    """

    debt_repaid: FloatArray
    collateral_seized: FloatArray
    collateral_to_liquidator: FloatArray
    protocol_fee: FloatArray
    deficit: FloatArray
    bad_debt: FloatArray
    executed: NDArray[np.bool_]


def health_factor(
    collateral: ArrayLike,
    debt: ArrayLike,
    collateral_price: ArrayLike,
    debt_price: ArrayLike,
    liquidation_threshold: ArrayLike,
) -> FloatArray:
    """Return ``collateral · P_c · LT / (debt · P_d)`` per account, ``inf`` where debt is 0.

    Exact-arithmetic version of ``GenericLogic.calculateUserAccountData`` for one collateral and
    one debt reserve (mechanics §0.1).

    Parameters
    ----------
    collateral, debt : array_like of float
        Whole tokens.
    collateral_price, debt_price : array_like of float
        USD per token.
    liquidation_threshold : array_like of float
        Fraction (0.83).

    Returns
    -------
    ndarray of float64
        Health factor; ``inf`` where ``debt == 0``.

    Examples
    --------
    1 ETH at $2,000, LT 0.83, against 1,800 USDC: 1660 / 1800 = 0.9222…

    >>> health_factor([1.0, 1.0], [1_800.0, 0.0], 2_000.0, 1.0, 0.83).round(6)
    array([0.922222,      inf])
    """
    c = np.asarray(collateral, dtype=np.float64)
    d = np.asarray(debt, dtype=np.float64)
    numerator = (
        c
        * np.asarray(collateral_price, dtype=np.float64)
        * np.asarray(liquidation_threshold, dtype=np.float64)
    )
    denominator = d * np.asarray(debt_price, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        hf = np.where(d > 0, numerator / np.where(d > 0, denominator, 1.0), np.inf)
    return np.asarray(hf, dtype=np.float64)


def liquidation_price(
    collateral: ArrayLike,
    debt: ArrayLike,
    debt_price: ArrayLike,
    liquidation_threshold: ArrayLike,
) -> FloatArray:
    """Return the collateral price at which each account's health factor is exactly 1.

    ``debt · P_d / (collateral · LT)`` (mechanics §0.1). The account is liquidatable at any
    collateral price strictly below it.

    Parameters
    ----------
    collateral, debt : array_like of float
        Whole tokens.
    debt_price : array_like of float
        USD per debt token.
    liquidation_threshold : array_like of float
        Fraction.

    Returns
    -------
    ndarray of float64
        USD per collateral token; 0 where there is no debt (never liquidatable), ``inf`` where
        there is debt but no collateral.

    Examples
    --------
    1,660 USDC against 1 ETH at LT 0.83 is liquidatable below 1660 / 0.83 = $2,000:

    >>> liquidation_price([1.0, 1.0, 0.0], [1_660.0, 0.0, 5.0], 1.0, 0.83)
    array([2000.,    0.,   inf])
    """
    c = np.asarray(collateral, dtype=np.float64)
    d = np.asarray(debt, dtype=np.float64)
    numerator = d * np.asarray(debt_price, dtype=np.float64)
    denominator = c * np.asarray(liquidation_threshold, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        price = np.where(d > 0, numerator / np.where(denominator > 0, denominator, 1.0), 0.0)
    price = np.where((d > 0) & ~(denominator > 0), np.inf, price)
    return np.asarray(price, dtype=np.float64)


def liquidate(
    collateral: ArrayLike,
    debt: ArrayLike,
    collateral_price: ArrayLike,
    debt_price: ArrayLike,
    *,
    debt_to_cover: ArrayLike,
    liquidation_threshold: ArrayLike,
    liquidation_bonus: ArrayLike,
    protocol_fee: ArrayLike,
    rules: LiquidationRules | str,
) -> LiquidationBatch:
    """Apply one ``liquidationCall(debtToCover)`` to every account of a single-pair book.

    Rules by version (sources in :mod:`protosim.protocols.lending.aave_v3.math`):

    - close factor: v2 50 %; v3.0 50 % if HF > 0.95 else 100 %; v3.3 100 %, or 50 % when the
      collateral and the debt are each worth ≥ $2,000 and HF > 0.95;
    - seizure: ``repaid · P_d / P_c · LB``, capped at the balance, in which case the debt
      repaid becomes ``collateral · P_c / P_d / LB``; the fee is ``fee · (seized − seized / LB)``;
    - v3.3 dust rule: a call that leaves both debt and collateral must leave ≥ $1,000 of each;
    - no collateral left: v3.3 burns the rest of the debt into ``deficit``; v2 and v3.0 leave it
      as ``bad_debt``.

    Parameters
    ----------
    collateral, debt : array_like of float
        Whole tokens per account.
    collateral_price, debt_price : array_like of float
        USD per token (scalars or per-account arrays).
    debt_to_cover : array_like of float
        Debt tokens each liquidator offers (``inf`` for as much as allowed).
    liquidation_threshold : array_like of float
        Fraction (0.83).
    liquidation_bonus : array_like of float
        Multiplier (1.05 for a 5 % bonus), ≥ 1.
    protocol_fee : array_like of float
        Treasury share of the bonus (0.10); must be 0 under v2.
    rules : LiquidationRules or str
        Version of the rules (``"v2"``, ``"v3.0"``, ``"v3.3"``).

    Returns
    -------
    LiquidationBatch
        Per-account amounts; zeros where the call reverts.

    Raises
    ------
    ValueError
        If a protocol fee is given under v2, or a bonus is below 1.

    Examples
    --------
    Repay 1,000 of 1,800 USDC against 1 ETH at $2,000 (HF 0.922). Under v3.3, $800 of debt
    would be left, below $1,000, so the call reverts (``MustNotLeaveDust``); under v3.0 it
    executes: 1000 / 2000 × 1.05 = 0.525 ETH seized, fee (0.525 − 0.5) × 10 % = 0.0025 ETH:

    >>> b = liquidate([1.0], [1_800.0], 2_000.0, 1.0, debt_to_cover=[1_000.0],
    ...               liquidation_threshold=0.83, liquidation_bonus=1.05, protocol_fee=0.10,
    ...               rules=LiquidationRules.V3_3)
    >>> bool(b.executed[0]), float(b.debt_repaid[0])
    (False, 0.0)
    >>> b = liquidate([1.0], [1_800.0], 2_000.0, 1.0, debt_to_cover=[1_000.0],
    ...               liquidation_threshold=0.83, liquidation_bonus=1.05, protocol_fee=0.10,
    ...               rules=LiquidationRules.V3_0)
    >>> float(b.collateral_seized[0]), round(float(b.protocol_fee[0]), 12)
    (0.525, 0.0025)
    """
    rules = LiquidationRules(rules)
    lt = np.asarray(liquidation_threshold, dtype=np.float64)
    lb = np.asarray(liquidation_bonus, dtype=np.float64)
    fee_share = np.asarray(protocol_fee, dtype=np.float64)
    if np.any(lb < 1.0):
        raise ValueError(f"expected liquidation_bonus >= 1 (a multiplier), was {lb}")
    if rules is LiquidationRules.V2 and np.any(fee_share != 0.0):
        raise ValueError(
            f"expected protocol_fee == 0 under v2 rules (v2 has no protocol fee), was {fee_share}"
        )
    c, d, pc, pd, to_cover = np.broadcast_arrays(
        np.asarray(collateral, dtype=np.float64),
        np.asarray(debt, dtype=np.float64),
        np.asarray(collateral_price, dtype=np.float64),
        np.asarray(debt_price, dtype=np.float64),
        np.asarray(debt_to_cover, dtype=np.float64),
    )
    collateral_usd = c * pc
    debt_usd = d * pd
    hf = health_factor(c, d, pc, pd, lt)
    # ValidationLogic: HF < 1, the collateral is enabled with LT != 0 (a zero balance has its
    # collateral bit cleared), and the user owes the debt asset.
    executed = (hf < 1.0) & (c > 0.0) & (lt > 0.0) & (d > 0.0)

    if rules is LiquidationRules.V2:
        max_debt = 0.5 * d
    elif rules is LiquidationRules.V3_0:
        max_debt = np.where(hf > CLOSE_FACTOR_HF_THRESHOLD, 0.5 * d, d)
    else:
        # With one debt reserve, "this reserve's debt > 50 % of total debt" always holds, so the
        # cap is half of this reserve's debt.
        capped = (
            (collateral_usd >= MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD_USD)
            & (debt_usd >= MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD_USD)
            & (hf > CLOSE_FACTOR_HF_THRESHOLD)
        )
        max_debt = np.where(capped, 0.5 * d, d)
    offered = np.minimum(to_cover, max_debt)

    with np.errstate(divide="ignore", invalid="ignore"):
        max_collateral = offered * pd / pc * lb
        limited = max_collateral > c
        seized = np.where(limited, c, max_collateral)
        repaid = np.where(limited, c * pc / pd / lb, offered)
    fee = (seized - seized / lb) * fee_share

    if rules is LiquidationRules.V3_3:
        partial = (repaid < d) & (seized < c)
        leaves_enough = ((d - repaid) * pd >= MIN_LEFTOVER_BASE_USD) & (
            (c - seized) * pc >= MIN_LEFTOVER_BASE_USD
        )
        executed &= ~partial | leaves_enough

    no_collateral_left = executed & (seized >= c)
    left_unbacked = np.where(no_collateral_left, d - repaid, 0.0)
    zero = np.zeros_like(left_unbacked)
    deficit = left_unbacked if rules is LiquidationRules.V3_3 else zero
    bad_debt = zero if rules is LiquidationRules.V3_3 else left_unbacked

    def _mask(values: FloatArray) -> FloatArray:
        return np.where(executed, values, 0.0)

    return LiquidationBatch(
        debt_repaid=_mask(repaid),
        collateral_seized=_mask(seized),
        collateral_to_liquidator=_mask(seized - fee),
        protocol_fee=_mask(fee),
        deficit=_mask(deficit),
        bad_debt=_mask(bad_debt),
        executed=executed,
    )


def liquidate_max(
    collateral: ArrayLike,
    debt: ArrayLike,
    collateral_price: ArrayLike,
    debt_price: ArrayLike,
    *,
    liquidation_threshold: ArrayLike,
    liquidation_bonus: ArrayLike,
    protocol_fee: ArrayLike,
    rules: LiquidationRules | str,
) -> LiquidationBatch:
    """Apply ``liquidationCall(debtToCover = type(uint256).max)`` to every account.

    What a keeper asking for "as much as allowed" gets: `liquidate` with an infinite
    ``debt_to_cover``. Under v3.3 this can still revert on the dust rule (the 50 % cap can leave
    less than $1,000 of debt or collateral).

    Parameters
    ----------
    collateral, debt : array_like of float
        Whole tokens per account.
    collateral_price, debt_price : array_like of float
        USD per token.
    liquidation_threshold : array_like of float
        Fraction (0.83).
    liquidation_bonus : array_like of float
        Multiplier (1.05).
    protocol_fee : array_like of float
        Treasury share of the bonus (0.10); 0 under v2.
    rules : LiquidationRules or str
        Version of the rules (``"v2"``, ``"v3.0"``, ``"v3.3"``).

    Returns
    -------
    LiquidationBatch
        Per-account amounts; zeros where the call reverts.

    Examples
    --------
    Three accounts against ETH at $2,000, LT 0.83, bonus 5 %, fee 10 %, v3.3:

    1. 1 ETH, 1,800 USDC (HF 0.922): debt < $2,000, so 100 %: 1,800 repaid, 0.945 ETH seized.
    2. 10 ETH, 17,000 USDC (HF 0.976 > 0.95, both ≥ $2,000): 50 % = 8,500 repaid,
       8500 / 2000 × 1.05 = 4.4625 ETH seized; $8,500 of debt and $11,075 of collateral stay.
    3. 1 ETH, 2,100 USDC (HF 0.79): 100 %, but 2100 / 2000 × 1.05 = 1.1025 ETH > 1 ETH, so all
       1 ETH goes for 2000 / 1.05 = 1,904.76 USDC and the other 195.24 USDC become deficit.

    >>> b = liquidate_max([1.0, 10.0, 1.0], [1_800.0, 17_000.0, 2_100.0], 2_000.0, 1.0,
    ...                   liquidation_threshold=0.83, liquidation_bonus=1.05, protocol_fee=0.10,
    ...                   rules=LiquidationRules.V3_3)
    >>> b.debt_repaid.round(2).tolist(), b.collateral_seized.round(4).tolist()
    ([1800.0, 8500.0, 1904.76], [0.945, 4.4625, 1.0])
    >>> b.deficit.round(2).tolist(), b.executed.tolist()
    ([0.0, 0.0, 195.24], [True, True, True])
    """
    return liquidate(
        collateral,
        debt,
        collateral_price,
        debt_price,
        debt_to_cover=np.inf,
        liquidation_threshold=liquidation_threshold,
        liquidation_bonus=liquidation_bonus,
        protocol_fee=protocol_fee,
        rules=rules,
    )
