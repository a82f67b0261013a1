"""Vectorized position book of one (collateral, debt) reserve pair, with a sorted
liquidation-price index (DESIGN "Numbers and scale").

A position with collateral ``c``, debt ``d`` and liquidation threshold ``LT`` is liquidatable
iff ``c · P_c · LT / (d · P_d) < 1``, that is iff its *key* ``d / (c · LT)`` exceeds the price
ratio ``P_c / P_d`` (mechanics §0.1). Keys are sorted once; a price fall finds the newly
liquidatable positions with one ``searchsorted`` (O(log N + k)). Positions a liquidation
changes are "touched": they leave the sorted index and are checked directly until the next
rebuild, so a liquidation never re-sorts the book.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

_REBUILD_FRACTION = 0.25
_ROW_LOOP_MAX = 64
# Keys of up to this many positions are computed in a Python loop; beyond it the array path
# without `np.errstate` (about five array calls) is faster.
_KEY_LOOP_MAX = 24


class PairBook:
    """Positions that each hold one collateral reserve and one debt reserve.

    Parameters
    ----------
    collateral_asset, debt_asset : str
        Reserve ids.
    collateral, debt : ndarray of float64
        Whole tokens per position.
    liquidation_threshold : float
        The collateral reserve's LT as a fraction (0.83).
    first_account : int
        Account id of position 0; position ``i`` is account ``first_account + i``.
    """

    def __init__(
        self,
        collateral_asset: str,
        debt_asset: str,
        collateral: NDArray[np.float64],
        debt: NDArray[np.float64],
        liquidation_threshold: float,
        first_account: int = 0,
    ) -> None:
        if collateral.shape != debt.shape or collateral.ndim != 1:
            raise ValueError(f"expected equal 1-d arrays, were {collateral.shape} and {debt.shape}")
        if np.any(collateral < 0) or np.any(debt < 0):
            raise ValueError("expected collateral and debt >= 0")
        self.collateral_asset = collateral_asset
        self.debt_asset = debt_asset
        self.collateral = np.ascontiguousarray(collateral, dtype=np.float64)
        self.debt = np.ascontiguousarray(debt, dtype=np.float64)
        self.liquidation_threshold = liquidation_threshold
        self.first_account = first_account
        self.version = 0
        """Number of `update` calls so far: balances read at an equal version are unchanged."""
        self.keys = np.empty_like(self.debt)
        # Which positions are still in the sorted index (not touched since the last rebuild):
        # kept this way round, as the lookups select by it without inverting it first.
        self._untouched_mask = np.ones(len(self.debt), dtype=np.bool_)
        self._touched: list[NDArray[np.int64]] = []
        self._touched_count = 0
        self._refresh_keys(np.arange(len(self.debt)))
        self.rebuilds = 0
        self._order = np.argsort(self.keys, kind="stable").astype(np.int64)
        self._sorted_keys = self.keys[self._order]

    def __len__(self) -> int:
        return len(self.debt)

    def _refresh_keys(self, positions: NDArray[np.int64]) -> None:
        c = self.collateral[positions]
        d = self.debt[positions]
        if len(d) <= _KEY_LOOP_MAX:
            # A liquidation's few positions: `np.errstate` alone costs more than the loop.
            keys = _keys_rows(c.tolist(), d.tolist(), self.liquidation_threshold)
            if keys is not None:
                self.keys[positions] = keys
                return
        lt = self.liquidation_threshold
        divisor = c * lt
        if len(d) and lt > 0.0 and np.minimum.reduce(divisor) > 0.0:
            # Every divisor positive (so every collateral is): no division to guard and no
            # collateral to mask, a few array calls where `np.errstate` alone costs more.
            key = np.divide(d, divisor, out=divisor)
            if not np.minimum.reduce(d) > 0.0:
                key[d <= 0] = 0.0
            self.keys[positions] = key
            return
        with np.errstate(divide="ignore", invalid="ignore"):
            key = d / (c * self.liquidation_threshold)
        # No debt: never liquidatable. No collateral: nothing a liquidation could seize.
        key[(d <= 0) | (c <= 0)] = 0.0
        self.keys[positions] = key

    def _rebuild(self) -> None:
        # The untouched positions are still in key order, so sorting the touched ones and
        # merging two sorted runs (timsort's stable sort detects runs) costs O(N), not O(N log N).
        untouched = self._order[self._untouched_mask[self._order]]
        touched = np.concatenate(self._touched)
        touched = touched[np.argsort(self.keys[touched], kind="stable")]
        merged = np.concatenate([untouched, touched])
        self._order = merged[np.argsort(self.keys[merged], kind="stable")]
        self._sorted_keys = self.keys[self._order]
        self._untouched_mask[:] = True
        self._touched = []
        self._touched_count = 0
        self.rebuilds += 1

    def set_liquidation_threshold(self, liquidation_threshold: float) -> None:
        """Use `liquidation_threshold` from now on (a governance change): every key moves, so
        the index is rebuilt from scratch.
        """
        self.liquidation_threshold = liquidation_threshold
        self._refresh_keys(np.arange(len(self.debt)))
        self._order = np.argsort(self.keys, kind="stable").astype(np.int64)
        self._sorted_keys = self.keys[self._order]
        self._untouched_mask[:] = True
        self._touched = []
        self._touched_count = 0
        self.rebuilds += 1

    def liquidatable(self, price_ratio: float) -> NDArray[np.int64]:
        """Return the positions whose health factor is below 1 at
        ``P_collateral / P_debt == price_ratio``.

        Positions changed since the last index rebuild come first, then the rest from the
        lowest health factor up; the order is deterministic.
        """
        start = int(self._sorted_keys.searchsorted(price_ratio, side="right"))
        tail = self._order[start:][::-1]
        found = tail[self._untouched_mask[tail]]
        if self._touched_count:
            touched = np.concatenate(self._touched) if len(self._touched) > 1 else self._touched[0]
            self._touched = [touched]
            found = np.concatenate([touched[self.keys[touched] > price_ratio], found])
        return found

    def still_liquidatable(
        self, positions: NDArray[np.int64], price_ratio: float
    ) -> NDArray[np.int64]:
        """Return those of `positions` whose health factor is below 1 at `price_ratio`."""
        return positions[self.keys[positions] > price_ratio]

    def update(
        self,
        positions: NDArray[np.int64],
        collateral: NDArray[np.float64],
        debt: NDArray[np.float64],
    ) -> None:
        """Set the collateral and debt of `positions` and keep the index correct."""
        self.collateral[positions] = collateral
        self.debt[positions] = debt
        self.version += 1
        self._refresh_keys(positions)
        fresh = positions[self._untouched_mask[positions]]
        if fresh.size:
            self._untouched_mask[fresh] = False
            self._touched.append(fresh)
            self._touched_count += fresh.size
        if self._touched_count > _REBUILD_FRACTION * len(self.debt):
            self._rebuild()

    def health_factors(
        self, price_ratio: float, positions: NDArray[np.int64] | None = None
    ) -> NDArray[np.float64]:
        """Return the health factors of `positions` (all if None) at
        ``P_collateral / P_debt == price_ratio``; infinite where there is no debt.
        """
        c = self.collateral if positions is None else self.collateral[positions]
        d = self.debt if positions is None else self.debt[positions]
        return self.health_of(c, d, price_ratio)

    def health_of(
        self, c: NDArray[np.float64], d: NDArray[np.float64], price_ratio: float
    ) -> NDArray[np.float64]:
        """Return the health factors of positions holding collateral `c` and debt `d` (tokens)
        at ``P_collateral / P_debt == price_ratio`` (`health_factors` of balances already read).
        """
        if len(d) and np.minimum.reduce(d) > 0.0:
            # Every position has debt (a liquidation batch, a list of candidates): the same
            # operations as below without the masks, in three array passes.
            out: NDArray[np.float64] = c * price_ratio
            out *= self.liquidation_threshold
            out /= d
            return out
        if len(d) <= _ROW_LOOP_MAX:
            # Python floats are IEEE doubles too: the same operations give the same bits
            # without numpy's per-call overhead on a keeper's small batch.
            lt = self.liquidation_threshold
            return np.array(
                [
                    ci * price_ratio * lt / di if di > 0 else math.inf
                    for ci, di in zip(c.tolist(), d.tolist(), strict=True)
                ],
                dtype=np.float64,
            )
        with np.errstate(divide="ignore"):
            hf: NDArray[np.float64] = np.where(
                d > 0,
                c * price_ratio * self.liquidation_threshold / np.where(d > 0, d, 1.0),
                np.inf,
            )
        return hf

    @property
    def nbytes(self) -> int:
        """Bytes held by the book's arrays."""
        arrays = (
            self.collateral,
            self.debt,
            self.keys,
            self._order,
            self._sorted_keys,
            self._untouched_mask,
        )
        return sum(a.nbytes for a in arrays)


def _keys_rows(collateral: list[float], debt: list[float], lt: float) -> list[float] | None:
    """Return the keys ``d / (c · LT)`` of a few positions in Python floats (0 without debt
    or collateral), the same IEEE doubles as the array path at a fraction of its call cost;
    None if a divisor underflows to 0 (numpy's division by zero then decides).
    """
    out = []
    for c, d in zip(collateral, debt, strict=True):
        if d <= 0.0 or c <= 0.0:
            out.append(0.0)
            continue
        divisor = c * lt
        if divisor == 0.0:
            return None
        out.append(d / divisor)
    return out
