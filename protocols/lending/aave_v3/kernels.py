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

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from protosim.protocols.lending.aave_v3.math import LiquidationRules

__all__ = [
    "CLOSE_FACTOR_HF_THRESHOLD",
    "MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD_USD",
    "MIN_LEFTOVER_BASE_USD",
    "LiquidationBatch",
    "PairTerms",
    "compounded_interest",
    "health_factor",
    "interest_rates",
    "liquidate",
    "liquidate_accounts",
    "liquidate_max",
    "liquidate_max_pair",
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

    def arrays(self) -> tuple[NDArray[Any], ...]:
        """Return every field's array, in field order."""
        # Spelled out, not read off ``__slots__``: a quote and a liquidation ask for these.
        return (
            self.debt_repaid,
            self.collateral_seized,
            self.collateral_to_liquidator,
            self.protocol_fee,
            self.deficit,
            self.bad_debt,
            self.executed,
        )

    def take(self, rows: NDArray[np.integer[Any]]) -> LiquidationBatch:
        """Return the batch of the calls at positions `rows`."""
        return LiquidationBatch(*[array[rows] for array in self.arrays()])


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
    if (
        type(collateral) is np.ndarray
        and type(debt) is np.ndarray
        and collateral.dtype == np.float64
        and debt.dtype == np.float64
        and collateral.ndim == 1
        and collateral.shape == debt.shape
    ):
        scalars = _as_floats(
            collateral_price,
            debt_price,
            debt_to_cover,
            liquidation_threshold,
            liquidation_bonus,
            protocol_fee,
        )
        if scalars is not None:
            p_c, p_d, cover, lt_f, lb_f, fee_f = scalars
            return _liquidate_book(collateral, debt, p_c, p_d, cover, lt_f, lb_f, fee_f, rules)
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
    seized, repaid, fee = _seize(
        np.minimum(to_cover, max_debt), c, d, pc, pd, lb, fee_share, rules, executed
    )
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


def _seize(
    offered: FloatArray,
    c: FloatArray,
    d: FloatArray,
    pc: FloatArray,
    pd: FloatArray,
    lb: FloatArray,
    fee_share: FloatArray,
    rules: LiquidationRules,
    executed: NDArray[np.bool_],
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Return ``(seized, repaid, protocol fee)`` of calls offering `offered` debt tokens
    (``_calculateAvailableCollateralToLiquidate``: the bonus applies to the debt's value; when
    the collateral falls short, all of it goes for what it covers), and clear `executed` where
    v3.3's dust rule reverts the call (both debt and collateral left, either under $1,000).
    """
    # Each expression is evaluated in place in fresh arrays: the same operations in the same
    # order (the same values), without a temporary per operation.
    shape = np.shape(c)
    if np.shape(offered) != shape or np.shape(lb) != shape or np.ndim(pc) or np.ndim(pd):
        # Not a venue's batch (per-account arrays of one shape, one price per side).
        shape = np.broadcast_shapes(*(np.shape(v) for v in (offered, c, pc, pd, lb)))
    with np.errstate(divide="ignore", invalid="ignore"):
        seized = np.multiply(offered, pd, out=np.empty(shape))  # the collateral it buys
        seized /= pc
        seized *= lb
        limited = seized > c
        repaid = np.multiply(c, pc, out=np.empty(shape))  # the debt all of it covers
        repaid /= pd
        repaid /= lb
        np.copyto(seized, c, where=limited)
        np.copyto(repaid, offered, where=~limited)
    fee = np.divide(seized, lb, out=np.empty(shape))
    np.subtract(seized, fee, out=fee)
    fee = np.multiply(fee, fee_share, out=fee) if np.ndim(fee_share) == 0 else fee * fee_share
    if rules is LiquidationRules.V3_3:
        partial = repaid < d
        partial &= seized < c
        left = d - repaid
        left *= pd
        leaves_enough = left >= MIN_LEFTOVER_BASE_USD
        np.subtract(c, seized, out=left)
        left *= pc
        leaves_enough &= left >= MIN_LEFTOVER_BASE_USD
        np.invert(partial, out=partial)
        partial |= leaves_enough
        executed &= partial
    return seized, repaid, fee


_SCALAR_TYPES = (float, int, np.float64)

# A book's batch asks a few of these per call: the bare functions, not the ndarray methods'
# wrappers. On booleans, "any" is a nonzero count and "all" a full one.
_count = np.count_nonzero
_min = np.minimum.reduce


def _as_floats(*values: ArrayLike) -> tuple[float, ...] | None:
    """Return `values` as Python floats if each is a real scalar, else None."""
    out = []
    for v in values:
        if type(v) in _SCALAR_TYPES:
            out.append(float(v))  # type: ignore[arg-type]
        elif isinstance(v, np.ndarray) and v.ndim == 0 and v.dtype.kind in "fiu":
            out.append(float(v))
        else:
            return None
    return tuple(out)


def _liquidate_book(
    c: FloatArray,
    d: FloatArray,
    pc: float,
    pd: float,
    to_cover: float,
    lt: float,
    lb: float,
    fee_share: float,
    rules: LiquidationRules,
) -> LiquidationBatch:
    """`liquidate` for 1-d balances and scalar prices and parameters (a book's batch).

    The same float operations in the same order as the general path, without broadcasting
    copies or masking passes where every call executes: each result is bit-identical.
    """
    if lb < 1.0:
        raise ValueError(f"expected liquidation_bonus >= 1 (a multiplier), was {lb}")
    if rules is LiquidationRules.V2 and fee_share != 0.0:
        raise ValueError(
            f"expected protocol_fee == 0 under v2 rules (v2 has no protocol fee), was {fee_share}"
        )
    if len(c) <= _ROW_LOOP_MAX and to_cover == np.inf and pc != 0.0 and pd != 0.0:
        rows = _liquidate_rows(c.tolist(), d.tolist(), pc, pd, lt, lb, fee_share, rules)
        if rows is not None:
            return rows
    collateral_usd = c * pc
    debt_usd = d * pd
    with np.errstate(divide="ignore", invalid="ignore"):
        # health_factor: c · P_c · LT / (d · P_d), inf without debt. (The smallest debt
        # answers for all in one pass; NaN fails it and takes the masks.)
        if not len(d) or _min(d) > 0.0:
            hf = collateral_usd * lt
            hf /= debt_usd
        else:
            has_debt = d > 0.0
            hf = np.where(has_debt, collateral_usd * lt / np.where(has_debt, debt_usd, 1.0), np.inf)
        # HF < 1 implies debt > 0 (no debt gives inf).
        executed = hf < 1.0
        executed &= c > 0.0
        if not lt > 0.0:
            executed[:] = False

        max_debt = _max_debt(d, collateral_usd, debt_usd, hf, rules)
        # min(inf, x) is x, NaN included.
        offered = max_debt if to_cover == np.inf else np.minimum(to_cover, max_debt)

        max_collateral = offered * pd
        max_collateral /= pc
        max_collateral *= lb
        limited = max_collateral > c
        if _count(limited):
            seized = np.where(limited, c, max_collateral)
            # c · P_c / P_d / LB, with c · P_c already at hand.
            by_collateral = collateral_usd / pd
            by_collateral /= lb
            repaid = np.where(limited, by_collateral, offered)
        else:
            seized, repaid = max_collateral, offered
    fee = seized - seized / lb
    fee *= fee_share

    left_debt = d - repaid
    if rules is LiquidationRules.V3_3:
        _apply_dust_rule(executed, c, d, pc, pd, seized, repaid, left_debt)

    no_collateral_left = seized >= c
    no_collateral_left &= executed
    # Both are already 0.0 where the call reverts (`no_collateral_left` implies `executed`).
    deficit, bad_debt = _unbacked(no_collateral_left, left_debt, rules)
    to_liquidator = seized - fee

    if _count(executed) == executed.size:
        # Masking would copy every value unchanged.
        return LiquidationBatch(repaid, seized, to_liquidator, fee, deficit, bad_debt, executed)
    return LiquidationBatch(
        debt_repaid=np.where(executed, repaid, 0.0),
        collateral_seized=np.where(executed, seized, 0.0),
        collateral_to_liquidator=np.where(executed, to_liquidator, 0.0),
        protocol_fee=np.where(executed, fee, 0.0),
        deficit=deficit,
        bad_debt=bad_debt,
        executed=executed,
    )


def _max_debt(
    d: FloatArray,
    collateral_usd: FloatArray,
    debt_usd: FloatArray,
    hf: FloatArray,
    rules: LiquidationRules,
) -> FloatArray:
    """Return the close factor's cap on the debt repaid (as in `liquidate`)."""
    if rules is LiquidationRules.V2:
        return 0.5 * d
    if rules is LiquidationRules.V3_0:
        return np.where(hf > CLOSE_FACTOR_HF_THRESHOLD, 0.5 * d, d)
    # min(a, b) >= x iff both are (a NaN fails both ways: np.minimum propagates it).
    capped = np.minimum(collateral_usd, debt_usd) >= MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD_USD
    capped &= hf > CLOSE_FACTOR_HF_THRESHOLD
    return np.where(capped, 0.5 * d, d)


def _apply_dust_rule(
    executed: NDArray[np.bool_],
    c: FloatArray,
    d: FloatArray,
    pc: float,
    pd: float,
    seized: FloatArray,
    repaid: FloatArray,
    left_debt: FloatArray,
) -> None:
    """Clear `executed` where a v3.3 call leaves both debt and collateral, not both ≥ $1,000."""
    partial = repaid < d
    partial &= seized < c
    if not _count(partial):
        return
    # Both leftovers >= $1,000 iff the smaller is (a NaN fails both ways).
    left_usd = c - seized
    left_usd *= pc
    np.minimum(left_usd, left_debt * pd, out=left_usd)
    leaves_enough = left_usd >= MIN_LEFTOVER_BASE_USD
    # On booleans a > b is a & ~b: the partial calls leaving too little revert.
    np.greater(partial, leaves_enough, out=partial)
    np.greater(executed, partial, out=executed)


# Up to about this many rows a Python loop beats the ~35 ufunc calls of the array path.
_ROW_LOOP_MAX = 48


def _liquidate_rows(
    collateral: list[float],
    debt: list[float],
    pc: float,
    pd: float,
    lt: float,
    lb: float,
    fee_share: float,
    rules: LiquidationRules,
) -> LiquidationBatch | None:
    """`_liquidate_book` with ``debt_to_cover = inf`` one row at a time in Python floats.

    Python and numpy float64 share IEEE-754 double arithmetic, so the same operations in the
    same order give the same bits. Returns None where a division would raise in Python
    (a zero debt value), leaving the row to numpy's inf/NaN semantics.
    """
    v2 = rules is LiquidationRules.V2
    v3_0 = rules is LiquidationRules.V3_0
    v3_3 = rules is LiquidationRules.V3_3
    lt_ok = lt > 0.0
    # Locals: the loop runs per row.
    cf_threshold = CLOSE_FACTOR_HF_THRESHOLD
    cf_base = MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD_USD
    leftover = MIN_LEFTOVER_BASE_USD
    inf = math.inf
    n = len(collateral)
    repaid_out = [0.0] * n
    seized_out = [0.0] * n
    to_liquidator_out = [0.0] * n
    fee_out = [0.0] * n
    unbacked_out = [0.0] * n
    executed_out = [False] * n
    for i, (c, d) in enumerate(zip(collateral, debt, strict=True)):
        collateral_usd = c * pc
        debt_usd = d * pd
        if d > 0.0:
            if debt_usd == 0.0:
                return None
            hf = collateral_usd * lt / debt_usd
        else:
            hf = inf
        if not (hf < 1.0 and c > 0.0 and lt_ok):
            continue
        if v2:
            offered = 0.5 * d
        elif v3_0:
            offered = 0.5 * d if hf > cf_threshold else d
        elif collateral_usd >= cf_base and debt_usd >= cf_base and hf > cf_threshold:
            offered = 0.5 * d
        else:
            offered = d
        max_collateral = offered * pd / pc * lb
        if max_collateral > c:
            seized = c
            repaid = collateral_usd / pd / lb
        else:
            seized = max_collateral
            repaid = offered
        fee = (seized - seized / lb) * fee_share
        if (
            v3_3
            and (repaid < d and seized < c)
            and not ((d - repaid) * pd >= leftover and (c - seized) * pc >= leftover)
        ):
            continue
        executed_out[i] = True
        repaid_out[i] = repaid
        seized_out[i] = seized
        to_liquidator_out[i] = seized - fee
        fee_out[i] = fee
        if seized >= c:
            unbacked_out[i] = d - repaid
    # One conversion for the five amount columns (rows of one array) instead of five.
    amounts = np.array(
        [repaid_out, seized_out, to_liquidator_out, fee_out, unbacked_out], dtype=np.float64
    )
    zero = np.zeros(n, dtype=np.float64)
    return LiquidationBatch(
        debt_repaid=amounts[0],
        collateral_seized=amounts[1],
        collateral_to_liquidator=amounts[2],
        protocol_fee=amounts[3],
        deficit=amounts[4] if v3_3 else zero,
        bad_debt=zero if v3_3 else amounts[4],
        executed=np.array(executed_out, dtype=np.bool_),
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


@dataclass(frozen=True, slots=True)
class PairTerms:
    """The fixed liquidation terms of a single-pair book, checked once.

    Attributes
    ----------
    liquidation_threshold : float
        The collateral's LT as a fraction (0.83).
    liquidation_bonus : float
        Multiplier (1.05), >= 1.
    protocol_fee : float
        Treasury share of the bonus (0.10); 0 under v2.
    rules : LiquidationRules
        Version of the rules.

    Raises
    ------
    ValueError
        As `liquidate`: a bonus below 1, or a protocol fee under v2.

    Examples
    --------
    >>> PairTerms(0.83, 1.05, 0.1, LiquidationRules.V2)
    Traceback (most recent call last):
    ...
    ValueError: expected protocol_fee == 0 under v2 rules (v2 has no protocol fee), was 0.1
    """

    liquidation_threshold: float
    liquidation_bonus: float
    protocol_fee: float
    rules: LiquidationRules

    def __post_init__(self) -> None:
        if self.liquidation_bonus < 1.0:
            raise ValueError(
                f"expected liquidation_bonus >= 1 (a multiplier), was {self.liquidation_bonus}"
            )
        if self.rules is LiquidationRules.V2 and self.protocol_fee != 0.0:
            raise ValueError(
                "expected protocol_fee == 0 under v2 rules (v2 has no protocol fee), "
                f"was {self.protocol_fee}"
            )


def liquidate_max_pair(
    collateral: FloatArray,
    debt: FloatArray,
    collateral_price: float,
    debt_price: float,
    terms: PairTerms,
) -> LiquidationBatch:
    """`liquidate_max` for a book's batch: 1-d float64 balances, scalar prices and the book's
    `PairTerms`, without re-checking the terms and the argument types at every call (a keeper
    quotes and liquidates hundreds of times a run). Bit-identical to `liquidate_max`.

    Examples
    --------
    The second account of the `liquidate_max` example (v3.3, the 50 % close factor):

    >>> terms = PairTerms(0.83, 1.05, 0.10, LiquidationRules.V3_3)
    >>> b = liquidate_max_pair(np.array([10.0]), np.array([17_000.0]), 2_000.0, 1.0, terms)
    >>> float(b.debt_repaid[0]), float(b.collateral_seized[0])
    (8500.0, 4.4625)
    """
    return _liquidate_book(
        collateral,
        debt,
        float(collateral_price),
        float(debt_price),
        math.inf,
        terms.liquidation_threshold,
        terms.liquidation_bonus,
        terms.protocol_fee,
        terms.rules,
    )


def liquidate_accounts(
    collateral: ArrayLike,
    debt: ArrayLike,
    collateral_price: ArrayLike,
    debt_price: ArrayLike,
    *,
    other_collateral_usd: ArrayLike,
    total_debt_usd: ArrayLike,
    health: ArrayLike,
    collateral_enabled: ArrayLike,
    liquidation_bonus: ArrayLike,
    protocol_fee: ArrayLike,
    rules: LiquidationRules | str,
    debt_to_cover: ArrayLike = np.inf,
) -> tuple[LiquidationBatch, NDArray[np.bool_]]:
    """Apply one ``liquidationCall`` to multi-reserve accounts, one (collateral, debt) pair each.

    The float counterpart of `math.liquidate_account` (aave-dao/aave-v3-origin v3.3.0
    ``LiquidationLogic.executeLiquidationCall``; aave-v3-core for v3.0; protocol-v2): as
    `liquidate`, except that the v3.3 close factor caps the repayment at half of the account's
    *total* debt (all reserves) when this collateral and this debt are each worth ≥ $2,000, HF >
    0.95 and this debt is more than half the total; and "no collateral left" means this
    collateral is all taken *and* the account has no other collateral.

    Parameters
    ----------
    collateral, debt : array_like of float
        Tokens of the chosen collateral and debt reserve per account.
    collateral_price, debt_price : array_like of float
        USD per token.
    other_collateral_usd : array_like of float
        Value of the account's other enabled collateral (LT > 0), USD.
    total_debt_usd : array_like of float
        The account's debt over all reserves, USD.
    health : array_like of float
        The account's health factor over all reserves.
    collateral_enabled : array_like of bool
        Whether the chosen collateral is enabled with LT > 0 (else the call reverts with
        ``CollateralCannotBeLiquidated``).
    liquidation_bonus : array_like of float
        Multiplier (1.05), the e-mode one where it applies.
    protocol_fee : array_like of float
        Treasury share of the bonus; 0 under v2.
    rules : LiquidationRules or str
        ``"v2"``, ``"v3.0"`` or ``"v3.3"``.
    debt_to_cover : array_like of float
        Debt tokens offered, default as much as allowed.

    Returns
    -------
    LiquidationBatch
        Amounts for the chosen pair (``deficit`` / ``bad_debt``: this debt reserve's share).
    ndarray of bool
        Executed calls that left the account with no collateral: under v3.3 its other debts are
        burned into deficits too; under v2 and v3.0 they stay as bad debt.

    Examples
    --------
    The `math.liquidate_account` example: 1 WETH ($2,000) and $1,000 of USDC collateral, 2,200
    USDC and 600 USDT of debt, HF 0.8714: all 2,200 USDC may go, 1 WETH is seized for
    2000 / 1.05 = 1,904.76 USDC; USDC collateral is left, so nothing is burned:

    >>> b, burned = liquidate_accounts([1.0], [2_200.0], 2_000.0, 1.0,
    ...     other_collateral_usd=[1_000.0], total_debt_usd=[2_800.0], health=[0.87139],
    ...     collateral_enabled=[True], liquidation_bonus=1.05, protocol_fee=0.1, rules="v3.3")
    >>> round(float(b.debt_repaid[0]), 4), float(b.collateral_seized[0]), bool(burned[0])
    (1904.7619, 1.0, False)
    """
    if type(rules) is not LiquidationRules:
        rules = LiquidationRules(rules)
    lb = np.asarray(liquidation_bonus, dtype=np.float64)
    fee_share = np.asarray(protocol_fee, dtype=np.float64)
    # The smallest bonus decides (one pass, no mask); NaN fails neither test.
    if lb.size and float(lb.min()) < 1.0:
        raise ValueError(f"expected liquidation_bonus >= 1 (a multiplier), was {lb}")
    if rules is LiquidationRules.V2 and np.any(fee_share != 0.0):
        raise ValueError("expected protocol_fee == 0 under v2 rules (v2 has no protocol fee)")
    per_account = (
        np.asarray(collateral, dtype=np.float64),
        np.asarray(debt, dtype=np.float64),
        np.asarray(other_collateral_usd, dtype=np.float64),
        np.asarray(total_debt_usd, dtype=np.float64),
        np.asarray(health, dtype=np.float64),
        np.asarray(collateral_enabled, dtype=np.bool_),
    )
    scalars = _as_floats(collateral_price, debt_price, debt_to_cover)
    if (
        scalars is not None
        and scalars[2] == math.inf
        and per_account[0].ndim == 1
        and len({a.shape for a in per_account}) == 1
        and (lb.ndim == 0 or lb.shape == per_account[0].shape)
        and fee_share.ndim == 0
    ):
        # A venue's batch offering the most it may: the same operations, fewer passes.
        return _liquidate_accounts_batch(
            *per_account, scalars[0], scalars[1], lb, float(fee_share), rules
        )
    if scalars is not None and len({a.shape for a in per_account}) == 1:
        # A venue's batch: one price per side. Scalars broadcast in the arithmetic give the
        # same values as broadcast copies, without the copies.
        c, d, other, total_debt, hf, enabled = per_account
        pc, pd, to_cover = (np.asarray(v, dtype=np.float64) for v in scalars)
    else:
        c, d, pc, pd, other, total_debt, hf, enabled, to_cover = np.broadcast_arrays(
            *per_account[:2],
            np.asarray(collateral_price, dtype=np.float64),
            np.asarray(debt_price, dtype=np.float64),
            *per_account[2:],
            np.asarray(debt_to_cover, dtype=np.float64),
        )
    executed = hf < 1.0
    executed &= c > 0.0
    executed &= enabled
    executed &= d > 0.0
    if rules is LiquidationRules.V2:
        max_debt = 0.5 * d
    elif rules is LiquidationRules.V3_0:
        max_debt = np.where(hf > CLOSE_FACTOR_HF_THRESHOLD, 0.5 * d, d)
    else:
        debt_usd = d * pd
        capped = c * pc >= MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD_USD
        capped &= debt_usd >= MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD_USD
        capped &= hf > CLOSE_FACTOR_HF_THRESHOLD
        half_total = np.multiply(0.5, total_debt, out=np.empty(np.shape(total_debt)))
        capped &= debt_usd > half_total
        # where(capped, half_total / pd, d), in place.
        max_debt = np.divide(half_total, pd, out=half_total)
        np.copyto(max_debt, d, where=~capped)
    # The maximum (the default offer of every debt) is min(inf, max_debt): max_debt itself.
    offered = (
        max_debt
        if to_cover.ndim == 0 and float(to_cover) == math.inf
        else np.minimum(to_cover, max_debt)
    )
    seized, repaid, fee = _seize(offered, c, d, pc, pd, lb, fee_share, rules, executed)
    no_collateral_left = executed & (seized >= c) & (other <= 0.0)
    # Zero wherever the call reverts already (no collateral left implies executed): no mask.
    # Usually every account keeps other collateral: then both are zeros, without a pass.
    shape = np.shape(seized)
    left_unbacked = (
        np.where(no_collateral_left, d - repaid, 0.0)
        if no_collateral_left.any()
        else np.zeros(shape)
    )
    zero = np.zeros(shape)
    deficit = left_unbacked if rules is LiquidationRules.V3_3 else zero
    bad_debt = zero if rules is LiquidationRules.V3_3 else left_unbacked
    to_liquidator = np.subtract(seized, fee, out=np.empty(shape))
    reverts = None if executed.all() else ~executed

    def _mask(values: FloatArray) -> FloatArray:
        # `values` are this call's own arrays: zeroed in place where the call reverts (when
        # none does, every value stays as it is).
        if reverts is not None:
            np.copyto(values, 0.0, where=reverts)
        return values

    batch = LiquidationBatch(
        debt_repaid=_mask(repaid),
        collateral_seized=_mask(seized),
        collateral_to_liquidator=_mask(to_liquidator),
        protocol_fee=_mask(fee),
        deficit=deficit,
        bad_debt=bad_debt,
        executed=executed,
    )
    return batch, no_collateral_left


def _unbacked(
    no_collateral_left: NDArray[np.bool_], left_debt: FloatArray, rules: LiquidationRules
) -> tuple[FloatArray, FloatArray]:
    """Return ``(deficit, bad_debt)`` of a book's batch (1-d): `left_debt` where a call
    leaves no collateral, as the reserve's deficit under v3.3 (``_burnBadDebt``) or as bad
    debt left on the account under v2 and v3.0; zeros elsewhere.

    >>> _unbacked(np.array([True, False]), np.array([5.0, 7.0]), LiquidationRules.V3_3)
    (array([5., 0.]), array([0., 0.]))
    """
    n = len(left_debt)
    # Usually every account keeps collateral: zeros, without a pass over the mask. np.zeros
    # rather than np.zeros_like: the same float64 zeros at a fraction of the call cost.
    if _count(no_collateral_left):
        left = np.where(no_collateral_left, left_debt, 0.0)
    else:
        left = np.zeros(n)
    zero = np.zeros(n)
    return (left, zero) if rules is LiquidationRules.V3_3 else (zero, left)


def _liquidate_accounts_batch(
    c: FloatArray,
    d: FloatArray,
    other: FloatArray,
    total_debt: FloatArray,
    hf: FloatArray,
    enabled: NDArray[np.bool_],
    pc: float,
    pd: float,
    lb: FloatArray,
    fee_share: float,
    rules: LiquidationRules,
) -> tuple[LiquidationBatch, NDArray[np.bool_]]:
    """`liquidate_accounts` for 1-d per-account arrays, one price per side, a scalar fee and
    the maximum offer (a venue's batch), as `_liquidate_book` is for `liquidate`.

    The same float operations in the same order as the general path, without the passes
    whose outcome is known (a bonus for all, collateral all taken or never, no account
    without other collateral, the dust rule where every call takes all of the collateral):
    each result is bit-identical.
    """
    executed = hf < 1.0
    executed &= c > 0.0
    executed &= enabled
    executed &= d > 0.0
    collateral_usd = c * pc
    debt_usd = d * pd
    with np.errstate(divide="ignore", invalid="ignore"):
        if rules is LiquidationRules.V3_3:
            # min(a, b) >= x iff both are (a NaN fails both ways: np.minimum propagates it).
            capped = np.minimum(collateral_usd, debt_usd)
            capped = capped >= MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD_USD
            capped &= hf > CLOSE_FACTOR_HF_THRESHOLD
            max_debt = np.multiply(0.5, total_debt)
            capped &= debt_usd > max_debt
            max_debt /= pd
            # Masked copies in place beat `numpy.where`'s fresh array.
            np.copyto(max_debt, d, where=~capped)
        else:
            max_debt = _max_debt(d, collateral_usd, debt_usd, hf, rules)
        # ``_seize``: the collateral the offer buys, or all of it for what it covers.
        seized = max_debt * pd
        seized /= pc
        seized *= lb
        limited = seized > c
        taken = _count(limited)
        if taken:
            repaid = collateral_usd / pd
            repaid /= lb
            if taken == limited.size:
                seized = c.copy()
            else:
                np.copyto(seized, c, where=limited)
                np.copyto(repaid, max_debt, where=~limited)
        else:
            repaid = max_debt if max_debt is not d else d.copy()
    fee = seized / lb
    np.subtract(seized, fee, out=fee)
    fee *= fee_share
    left_debt = d - repaid
    if rules is LiquidationRules.V3_3 and taken < limited.size:
        # A call taking all of the collateral leaves none: the dust rule cannot apply.
        _apply_dust_rule(executed, c, d, pc, pd, seized, repaid, left_debt)
    # No collateral left: this one all taken and no other (usually some other is left).
    no_collateral_left = other <= 0.0
    if _count(no_collateral_left):
        no_collateral_left &= executed
        no_collateral_left &= seized >= c
    # Both are already 0.0 where the call reverts (`no_collateral_left` implies `executed`).
    deficit, bad_debt = _unbacked(no_collateral_left, left_debt, rules)
    to_liquidator = seized - fee
    if _count(executed) < executed.size:
        reverts = ~executed
        for values in (repaid, seized, to_liquidator, fee):
            np.copyto(values, 0.0, where=reverts)
    batch = LiquidationBatch(repaid, seized, to_liquidator, fee, deficit, bad_debt, executed)
    return batch, no_collateral_left


def compounded_interest(rate: ArrayLike, elapsed_s: ArrayLike) -> FloatArray:
    """Return ``MathUtils.calculateCompoundedInterest`` in floats: ``1 + x + x(x/2 + x²/6)``
    with ``x = rate · Δt / year`` (rate per year as a fraction).

    >>> float(compounded_interest(0.08, 7 * 365 * 86_400).round(12))
    1.746069333333
    """
    x = np.asarray(rate, dtype=np.float64) * np.asarray(elapsed_s, dtype=np.float64) / 31_536_000
    return np.asarray(1.0 + x + x * (x / 2 + x * x / 6), dtype=np.float64)


def interest_rates(
    total_debt: float,
    available_liquidity: float,
    *,
    optimal_usage: float,
    base_rate: float,
    slope1: float,
    slope2: float,
    reserve_factor: float,
) -> tuple[float, float]:
    """Return ``(liquidity_rate, variable_borrow_rate)`` per year as fractions, the float
    counterpart of `math.calculate_interest_rates` (``DefaultReserveInterestRateStrategyV2``).

    >>> liquidity, borrow = interest_rates(90.0, 10.0, optimal_usage=0.8, base_rate=0.0,
    ...                                    slope1=0.01, slope2=0.4, reserve_factor=0.35)
    >>> round(liquidity, 12), round(borrow, 12)
    (0.12285, 0.21)
    """
    if total_debt <= 0:
        return 0.0, base_rate
    usage = total_debt / (available_liquidity + total_debt)
    if usage > optimal_usage:
        borrow = base_rate + slope1 + slope2 * (usage - optimal_usage) / (1.0 - optimal_usage)
    else:
        borrow = base_rate + slope1 * usage / optimal_usage
    return borrow * usage * (1.0 - reserve_factor), borrow
