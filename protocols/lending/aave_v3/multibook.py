"""Vectorized book of multi-collateral, multi-debt Aave accounts (DESIGN "Numbers and scale").

Struct of arrays: ``supplied`` (n × C) and ``borrowed`` (n × D) hold *scaled* balances (aToken
and variable-debt balances divided by the reserve's liquidity and borrow index, as the contracts
store them), ``emode`` the account's e-mode category (an index into the venue's table, 0 = none)
and ``enabled`` a bitmask of the collateral columns the account uses as collateral (its
``usingAsCollateral`` bits), ``isolated`` whether its only collateral is an isolated asset.

Health factor (mechanics §0.1, §1.2; ``GenericLogic.calculateUserAccountData``)::

    HF = Σ_c s_c · I_c · P_c · LT_c(emode, enabled) / Σ_d b_d · J_d · P_d

with ``I`` the liquidity index and ``J`` the variable borrow index, and the average threshold
floored to whole basis points as the contract does. No single sorted key exists
for several prices, so the book keeps each account's HF at a *reference* state (prices and
indexes) sorted once. Between references every collateral value can only have fallen by the
worst ratio ``w_c = min_c (I_c P_c)_now / (I_c P_c)_ref`` and every debt grown by at most
``w_d = max_d (J_d P_d)_now / (J_d P_d)_ref``, so ``HF_now ≥ HF_ref · w_c / w_d``: only
accounts with ``HF_ref < w_d / w_c`` can be below 1 (one vectorized comparison, no sort to
maintain); of those, only the ones holding an asset whose price or index moved (the
asset→account incidence) are computed. Accounts changed since the reference (liquidated,
opened, supplied to, borrowed by) are "touched" and always computed until the next reference.

The hot path computes ``HF`` with the exact average threshold from ``weighted`` — the supplied
balances already multiplied by each account's thresholds (one matrix-vector product per
side) — and only accounts within `margin` of the line get the contract's floored average
(`values`).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["MAX_COLLATERAL_COLUMNS", "MAX_DEBT_COLUMNS", "MultiBook"]

MAX_COLLATERAL_COLUMNS = 8
"""Collateral columns per book: the enabled-collateral bitmask is one byte."""
MAX_DEBT_COLUMNS = 8
"""Debt columns per book: with the collateral ones they fit the 16-bit incidence mask."""

_BPS_SLACK = 1e-6

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


class MultiBook:
    """Accounts holding any number of collateral and debt reserves.

    Parameters
    ----------
    collateral_assets, debt_assets : sequence of str
        Reserve ids of the columns (more can be added with `add_column`).
    first_account : int
        Account id of row 0; row ``i`` is account ``first_account + i``.
    capacity : int
        Rows to allocate up front (the arrays double when full).
    """

    def __init__(
        self,
        collateral_assets: list[str],
        debt_assets: list[str],
        first_account: int = 0,
        capacity: int = 16,
    ) -> None:
        if len(collateral_assets) > MAX_COLLATERAL_COLUMNS or len(debt_assets) > MAX_DEBT_COLUMNS:
            raise ValueError(
                f"expected at most {MAX_COLLATERAL_COLUMNS} collateral and {MAX_DEBT_COLUMNS} "
                f"debt reserves in one book, were {len(collateral_assets)} and "
                f"{len(debt_assets)}"
            )
        self.collateral_assets = list(collateral_assets)
        self.debt_assets = list(debt_assets)
        self.first_account = first_account
        cap = max(capacity, 1)
        self.n = 0
        self.supplied = np.zeros((cap, len(collateral_assets)), dtype=np.float64)
        self.borrowed = np.zeros((cap, len(debt_assets)), dtype=np.float64)
        self.emode = np.zeros(cap, dtype=np.uint8)
        self.enabled = np.zeros(cap, dtype=np.uint8)
        self.isolated = np.zeros(cap, dtype=np.bool_)
        self.hf_ref = np.zeros(cap, dtype=np.float64)
        self.weighted = np.zeros((cap, len(collateral_assets)), dtype=np.float64)
        """``supplied`` × the account's threshold per column (0 where not collateral)."""
        self.lt_table = np.zeros((1, 256, len(collateral_assets)), dtype=np.float64)
        self.margin = 0.0
        """Relative HF gap between the exact and the floored average threshold, at most."""
        self.held = np.zeros(cap, dtype=np.uint16)
        """Bitmask of the columns each account held at the reference (collateral columns
        first, then debt columns): the asset→account incidence."""
        self._fresh: list[IntArray] = []
        self._touched_mask = np.zeros(cap, dtype=np.bool_)
        self._touched: list[IntArray] = []
        self._n_ref = 0
        self.references = 0

    # -- shape --------------------------------------------------------------------------------

    def __len__(self) -> int:
        return self.n

    def _grow(self, rows: int) -> None:
        cap = len(self.emode)
        if self.n + rows <= cap:
            return
        new = max(2 * cap, self.n + rows)
        names = (
            "supplied",
            "borrowed",
            "emode",
            "enabled",
            "isolated",
            "hf_ref",
            "held",
            "weighted",
        )
        for name in names:
            old = getattr(self, name)
            grown = np.zeros((new, *old.shape[1:]), dtype=old.dtype)
            grown[: self.n] = old[: self.n]
            setattr(self, name, grown)
        mask = np.zeros(new, dtype=np.bool_)
        mask[: self.n] = self._touched_mask[: self.n]
        self._touched_mask = mask

    def append(
        self,
        supplied: FloatArray,
        borrowed: FloatArray,
        emode: NDArray[np.uint8] | int,
        enabled: NDArray[np.uint8] | int,
        isolated: NDArray[np.bool_] | bool = False,
    ) -> IntArray:
        """Add accounts (scaled balances, shape (k, C) and (k, D)); return their rows.

        The new rows are touched: risk checks compute them exactly until the next reference.
        """
        supplied = np.atleast_2d(np.asarray(supplied, dtype=np.float64))
        borrowed = np.atleast_2d(np.asarray(borrowed, dtype=np.float64))
        k = supplied.shape[0]
        if supplied.shape != (k, len(self.collateral_assets)) or borrowed.shape != (
            k,
            len(self.debt_assets),
        ):
            raise ValueError(
                f"expected balances of shape ({k}, {len(self.collateral_assets)}) and "
                f"({k}, {len(self.debt_assets)}), were {supplied.shape} and {borrowed.shape}"
            )
        if np.any(supplied < 0) or np.any(borrowed < 0):
            raise ValueError("expected balances >= 0")
        self._grow(k)
        rows = np.arange(self.n, self.n + k, dtype=np.int64)
        self.supplied[rows] = supplied
        self.borrowed[rows] = borrowed
        self.emode[rows] = emode
        self.enabled[rows] = enabled
        self.isolated[rows] = isolated
        self.n += k
        self.refresh(rows)
        self.touch(rows)
        return rows

    def set_thresholds(self, lt_table: FloatArray) -> None:
        """Use `lt_table` (categories × 256 enabled-masks × C, fractions) from now on."""
        self.lt_table = lt_table
        positive = lt_table[lt_table > 0]
        # The floored average loses < 1 bp of an average >= the smallest threshold.
        self.margin = 1.0 / (10_000 * positive.min()) + 1e-9 if positive.size else 0.0
        self.refresh(np.arange(self.n, dtype=np.int64))

    def refresh(self, rows: IntArray) -> None:
        """Recompute ``weighted`` of `rows` after their balances, e-mode or collateral bits
        changed.
        """
        self.weighted[rows] = (
            self.supplied[rows] * self.lt_table[self.emode[rows], self.enabled[rows]]
        )

    def add_column(self, asset: str, role: str) -> int:
        """Add a zero column for `asset` as ``"collateral"`` or ``"debt"``; return its index."""
        assets = self.collateral_assets if role == "collateral" else self.debt_assets
        if asset in assets:
            return assets.index(asset)
        limit = MAX_COLLATERAL_COLUMNS if role == "collateral" else MAX_DEBT_COLUMNS
        if len(assets) >= limit:
            raise ValueError(f"a book holds at most {limit} {role} reserves")
        names = ("supplied", "weighted") if role == "collateral" else ("borrowed",)
        for name in names:
            old = getattr(self, name)
            setattr(self, name, np.hstack([old, np.zeros((len(old), 1))]))
        assets.append(asset)
        return len(assets) - 1

    # -- valuation ----------------------------------------------------------------------------

    def values(
        self, rows: IntArray | None, collateral_unit: FloatArray, debt_unit: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Return ``(collateral_usd, threshold_weighted_usd, debt_usd)`` of `rows` (all if
        None) as ``calculateUserAccountData`` does (average threshold floored to basis points).

        Parameters
        ----------
        rows : ndarray of int64 or None
            Rows to value.
        collateral_unit, debt_unit : ndarray of float64
            USD per scaled unit of each column (index × price).
        """
        lt_table = self.lt_table
        if rows is None:
            s, b = self.supplied[: self.n], self.borrowed[: self.n]
            emode, enabled = self.emode[: self.n], self.enabled[: self.n]
        else:
            s, b = self.supplied[rows], self.borrowed[rows]
            emode, enabled = self.emode[rows], self.enabled[rows]
        lt = lt_table[emode, enabled]
        value = s * collateral_unit
        weighted: FloatArray = np.einsum("ij,ij->i", value, lt)
        collateral: FloatArray = np.einsum("ij,ij->i", value, (lt > 0).astype(np.float64))
        debt: FloatArray = b @ debt_unit
        # calculateUserAccountData floors the average threshold to whole basis points; the
        # slack keeps an exactly whole average (one collateral) from flooring a unit below.
        with np.errstate(divide="ignore", invalid="ignore"):
            avg = np.floor(weighted / collateral * 10_000 + _BPS_SLACK) / 10_000
        weighted = np.where(collateral > 0, collateral * avg, 0.0)
        return collateral, weighted, debt

    def fast_health(
        self, rows: IntArray | None, collateral_unit: FloatArray, debt_unit: FloatArray
    ) -> FloatArray:
        """Return the health factors of `rows` (all if None) with the exact average threshold:
        at or above the contract's, by at most ``margin`` relative.
        """
        if rows is None:
            weighted = self.weighted[: self.n] @ collateral_unit
            debt = self.borrowed[: self.n] @ debt_unit
        else:
            weighted = self.weighted[rows] @ collateral_unit
            debt = self.borrowed[rows] @ debt_unit
        return self.health(weighted, debt)

    def exact_health(
        self, rows: IntArray, collateral_unit: FloatArray, debt_unit: FloatArray
    ) -> FloatArray:
        """Return the contract's health factors of `rows` (floored average threshold)."""
        _, weighted, debt = self.values(rows, collateral_unit, debt_unit)
        return self.health(weighted, debt)

    def below_one(
        self, rows: IntArray | None, collateral_unit: FloatArray, debt_unit: FloatArray
    ) -> tuple[IntArray, FloatArray]:
        """Return those of `rows` (all if None) whose contract HF is below 1, most underwater
        first, with their (exact-average) HF. Only accounts within ``margin`` of the line need
        the floored average; the rest are decided by the fast HF.
        """
        fast = self.fast_health(rows, collateral_unit, debt_unit)
        idx = np.arange(fast.size) if rows is None else rows
        sure = fast < 1.0  # the floored HF is never above the exact one
        near = np.flatnonzero(~sure & (fast < 1.0 + self.margin))
        if near.size:
            exact = self.exact_health(idx[near], collateral_unit, debt_unit)
            sure[near[exact < 1.0]] = True
        found = np.flatnonzero(sure)
        order = np.argsort(fast[found], kind="stable")
        return idx[found[order]].astype(np.int64), fast[found[order]]

    @staticmethod
    def health(weighted: FloatArray, debt: FloatArray) -> FloatArray:
        """Return ``weighted / debt``, ``inf`` where there is no debt."""
        with np.errstate(divide="ignore", invalid="ignore"):
            hf: FloatArray = np.where(debt > 0, weighted / np.where(debt > 0, debt, 1.0), np.inf)
        return hf

    # -- index --------------------------------------------------------------------------------

    def reference(self, hf: FloatArray) -> None:
        """Store every account's (fast) health factor at a new reference state."""
        if hf.shape != (self.n,):
            raise ValueError(f"expected {self.n} health factors, were {hf.shape}")
        self.hf_ref[: self.n] = hf
        self._n_ref = self.n
        held = np.zeros(self.n, dtype=np.uint16)
        for j in range(self.supplied.shape[1]):
            held |= (self.supplied[: self.n, j] > 0).astype(np.uint16) << j
        offset = self.supplied.shape[1]
        for j in range(self.borrowed.shape[1]):
            held |= (self.borrowed[: self.n, j] > 0).astype(np.uint16) << (offset + j)
        self.held[: self.n] = held
        self._touched_mask[: self.n] = False
        self._touched = []
        self.references += 1

    def touch(self, rows: IntArray) -> None:
        """Mark `rows` as changed since the reference (computed exactly until the next) and
        since the last `take_fresh`.
        """
        self._fresh.append(rows)
        fresh = rows[~self._touched_mask[rows]]
        if fresh.size:
            self._touched_mask[fresh] = True
            self._touched.append(fresh)

    def take_fresh(self) -> IntArray:
        """Return the rows changed since the last call (sorted, unique) and forget them."""
        if not self._fresh:
            return np.zeros(0, dtype=np.int64)
        rows = np.unique(np.concatenate(self._fresh))
        self._fresh = []
        return rows

    @property
    def touched_count(self) -> int:
        """Accounts changed since the reference."""
        return sum(len(t) for t in self._touched)

    def band(self, threshold: float) -> IntArray:
        """Return the rows whose reference HF is below `threshold` or that were touched since
        the reference (which must be computed), in row order.
        """
        n = self.n
        out: IntArray = np.flatnonzero(
            (self.hf_ref[:n] < threshold) | self._touched_mask[:n]
        ).astype(np.int64)
        return out

    def holds(
        self, rows: IntArray, collateral_cols: IntArray, debt_cols: IntArray
    ) -> NDArray[np.bool_]:
        """Return whether each of `rows` held any of the given columns at the reference (the
        asset→account incidence; touched rows must be checked regardless).
        """
        mask = 0
        for j in collateral_cols:
            mask |= 1 << int(j)
        for j in debt_cols:
            mask |= 1 << (self.supplied.shape[1] + int(j))
        if mask == 0:
            return np.zeros(rows.size, dtype=np.bool_)
        out: NDArray[np.bool_] = (self.held[rows] & mask) != 0
        return out

    @property
    def nbytes(self) -> int:
        """Bytes held by the book's arrays."""
        arrays = (
            self.supplied,
            self.borrowed,
            self.emode,
            self.enabled,
            self.isolated,
            self.hf_ref,
            self.held,
            self.weighted,
            self._touched_mask,
        )
        return sum(a.nbytes for a in arrays)
