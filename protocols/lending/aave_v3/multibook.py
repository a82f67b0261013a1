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
asset→account incidence) are computed. An account changed since the reference (liquidated,
opened, supplied to, borrowed by) gets its reference HF and holdings recomputed at the
reference's prices and indexes when it changes, so the bound holds for it too.

Rows are gathered with `numpy.take` (several times faster than fancy indexing of 2-D arrays)
and every per-row quantity is computed the same way whichever subset of rows is asked for. The
rows whose reference HF is below a bound a little above the current band (the *near* rows, a few
percent of a large book) are also kept as a contiguous copy, ordered by reference HF (to 2^16
buckets of its range): the band is read off that copy and its rows gathered from it, which stays
in cache where gathers from the whole book miss on every row; and since the accounts found below
1 come about in reference-HF order, they are gathered nearly in memory order.

The collateral-wide arrays (balances, weighted balances, thresholds) are kept with their
columns padded with zeros to a power of two (`padded_width`): `numpy.take` copies a row of 2, 4
or 8 values by one typed load where 3 cost a ``memmove`` each, and BLAS reads the rows aligned,
so the book's gathers and matrix-vector products run about twice as fast; every computation
reads the first C columns, so each value is what it is without the padding.

The hot path computes ``HF`` with the exact average threshold from ``weighted`` — the supplied
balances already multiplied by each account's thresholds (one matrix-vector product per
side) — and only accounts within `margin` of the line get the contract's floored average
(`values`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "MAX_COLLATERAL_COLUMNS",
    "MAX_DEBT_COLUMNS",
    "MultiBook",
    "Valuation",
    "matvec",
    "padded_width",
    "positive",
    "put_rows",
    "row_argmax",
    "row_dot",
    "row_sums",
    "scale_columns",
]

MAX_COLLATERAL_COLUMNS = 8
"""Collateral columns per book: the enabled-collateral bitmask is one byte."""
MAX_DEBT_COLUMNS = 8
"""Debt columns per book."""

_BPS_SLACK = 1e-6
_NEAR_HEADROOM = 0.05
"""The near copy holds the rows with a reference HF up to this share above the band asked for
(prices can move that far before the copy is rebuilt)."""
_NEAR_MAX_SHARE = 2
"""No near copy of more than 1 / this of the book (gathers from the book are then as good)."""
_MATVEC_ROWS = 2048
"""Rows per BLAS call in `matvec`: below OpenBLAS's threading threshold for ≤ 4 columns."""
_TOTALS_ROWS = 16 * _MATVEC_ROWS
"""Rows per block in `MultiBook.totals`: a block's arrays stay in cache."""

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def _table_rows(emode: NDArray[np.uint8], enabled: NDArray[np.uint8]) -> NDArray[np.uint16]:
    """Return the rows of the threshold table (``emode × 256 + enabled``) of accounts."""
    code = emode.astype(np.uint16)
    code <<= 8
    code |= enabled
    return code


def _counted(
    supplied: FloatArray,
    padded_lt: FloatArray,
    borrowed: FloatArray,
    collateral_unit: FloatArray,
    debt_unit: FloatArray,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Return accounts' collateral values (k × C), thresholds (k × C), USD of the collateral
    that counts (threshold > 0) and of the debt, from their padded balances and thresholds,
    as ``calculateUserAccountData`` adds them (see `MultiBook.values`).
    """
    c = collateral_unit.size
    lt = padded_lt[:, :c]
    value = scale_columns(supplied[:, :c], collateral_unit)
    collateral = row_dot(value, positive(lt).astype(np.float64))
    debt: FloatArray = matvec(borrowed, debt_unit)
    return value, lt, collateral, debt


def padded_width(columns: int) -> int:
    """Return the width the book keeps `columns` collateral columns in: the next power of two.

    >>> [padded_width(c) for c in range(6)]
    [0, 1, 2, 4, 4, 8]
    """
    return 1 << (columns - 1).bit_length() if columns else 0


def _pad_columns(a: FloatArray, width: int) -> FloatArray:
    """Return `a` (k × C) as a C-contiguous k × `width` array, zeros past column C."""
    out = np.zeros((a.shape[0], width), dtype=a.dtype)
    out[:, : a.shape[1]] = a
    return out


@dataclass(frozen=True, slots=True)
class Valuation:
    """Accounts valued at one instant's USD per scaled unit, as
    ``GenericLogic.calculateUserAccountData`` does (see `MultiBook.valued`).
    """

    supplied: FloatArray
    """Scaled collateral balances, k × `padded_width` (C): the first C columns are the
    reserves', the rest zero (as the book keeps them)."""
    borrowed: FloatArray
    """Scaled debt balances, k × D."""
    enabled: NDArray[np.bool_]
    """Whether each collateral counts (enabled, threshold > 0), k × C."""
    emode: NDArray[np.uint8]
    """E-mode category index."""
    collateral_usd: FloatArray
    """USD of each collateral that counts (0 where it does not), k × C."""
    debt_usd: FloatArray
    """USD of each debt, k × D."""
    total_debt_usd: FloatArray
    health: FloatArray
    """Health factor with the average threshold floored to basis points."""

    def pick(
        self, name: str, at: NDArray[np.intp] | None, column: int | None = None
    ) -> NDArray[Any]:
        """Return field `name` (its `column` if given) of the accounts at positions `at`
        (all if None).
        """
        values: NDArray[Any] = getattr(self, name)
        if column is not None:
            if at is not None:
                return _take_column(values, at, column)
            return values[:, column]
        if at is None:
            return values
        return np.take(values, at, axis=0)

    def columns_at(
        self, at: NDArray[np.intp] | None, column: int, *names: str
    ) -> list[NDArray[Any]]:
        """Return `column` of each field in `names` at positions `at` (all if None), as `pick`
        does, with the positions' offsets in the flat arrays computed once per width.
        """
        if at is None:
            return [getattr(self, name)[:, column] for name in names]
        flat: dict[int, NDArray[np.intp]] = {}
        out = []
        for name in names:
            values = getattr(self, name)
            width = values.shape[1]
            if width not in flat:
                flat[width] = at * width
            out.append(_take_column(values, at, column, flat[width]))
        return out

    def other_collateral_usd(self, at: NDArray[np.intp] | None, column: int) -> FloatArray:
        """Return the USD of the collateral that counts besides `column` of the accounts at
        positions `at` (all if None), summed without the column, so that "no other
        collateral" is exactly zero.
        """
        if at is None:
            return row_sums(self.collateral_usd, skip=column)
        # Each other column read at those rows, then added left to right as `row_sums` does.
        others = [j for j in range(self.collateral_usd.shape[1]) if j != column]
        if not others:
            return np.zeros(at.size)
        flat_at = at * self.collateral_usd.shape[1]
        out = _take_column(self.collateral_usd, at, others[0], flat_at)
        for j in others[1:]:
            out += _take_column(self.collateral_usd, at, j, flat_at)
        return out


def _take_column(
    values: NDArray[Any],
    at: NDArray[np.integer[Any]],
    column: int,
    flat_at: NDArray[np.integer[Any]] | None = None,
) -> NDArray[Any]:
    """Return ``values[at, column]``: from a C-contiguous `values` by `numpy.take` of the flat
    positions `flat_at` (``at`` times the row width, computed if None) in the flat array from
    `column` on (faster than indexing the 2-D array; `take` of a column view would copy the
    whole column first).
    """
    if values.flags.c_contiguous:
        if flat_at is None:
            flat_at = at * values.shape[1]
        out: NDArray[Any] = np.take(values.reshape(-1)[column:], flat_at)
        return out
    picked: NDArray[Any] = values[at, column]
    return picked


@dataclass(slots=True)
class _Columns:
    """A book's per-row arrays: the whole book's, or the near rows' contiguous copy
    (`supplied` and `weighted` `padded_width` wide).
    """

    supplied: FloatArray
    borrowed: FloatArray
    weighted: FloatArray
    emode: NDArray[np.uint8]
    enabled: NDArray[np.uint8]
    code: NDArray[np.uint16] | None = None
    """The rows' row of the threshold table (``emode × 256 + enabled``), kept by the near
    copy: one small gather instead of two and the arithmetic (None: worked out)."""


@dataclass(slots=True)
class _Near:
    """Contiguous copy of the rows whose reference HF is below `bound`, roughly by reference
    HF at the copy (in 2^16 buckets of its range, then row).
    """

    bound: float
    rows: IntArray
    hf_ref: FloatArray
    columns: _Columns


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
        width = padded_width(len(collateral_assets))
        self._supplied = np.zeros((cap, width), dtype=np.float64)
        self.borrowed = np.zeros((cap, len(debt_assets)), dtype=np.float64)
        self.emode = np.zeros(cap, dtype=np.uint8)
        self.enabled = np.zeros(cap, dtype=np.uint8)
        self.isolated = np.zeros(cap, dtype=np.bool_)
        self.hf_ref = np.zeros(cap, dtype=np.float64)
        self._weighted = np.zeros((cap, width), dtype=np.float64)
        self.lt_table = np.zeros((1, 256, len(collateral_assets)), dtype=np.float64)
        self._lt_flat = np.zeros((256, width), dtype=np.float64)
        """`lt_table` by ``emode × 256 + enabled``, `padded_width` wide."""
        self.margin = 0.0
        """Relative HF gap between the exact and the floored average threshold, at most."""
        self._fresh: list[IntArray] = []
        self._fresh_mask = np.zeros(cap, dtype=np.bool_)
        self.version = 0
        """Incremented whenever the thresholds or the columns change (what `valued` keeps is
        valid for one version; a changed row leaves it through `refresh` or `touch`)."""
        self._kept: tuple[int, FloatArray, FloatArray, IntArray, Valuation | None]
        self._kept = (-1, np.zeros(0), np.zeros(0), np.zeros(0, dtype=np.int64), None)
        self._slot = np.full(cap, -1, dtype=np.int32)
        """Position of each row in the kept valuation plus `_slot_base`; below the base if not
        there (kept earlier, changed since, or never)."""
        self._slot_base = 0
        """Slots of earlier kept valuations are below it: a new one need not clear them."""
        self._kept_whole = False
        """No kept row has changed since the valuation was kept."""
        self._kept_since_change = False
        """No row at all has changed since the valuation was kept."""
        self.ref_units: tuple[FloatArray, FloatArray] | None = None
        """USD per scaled unit of each column at the reference (None: no valid reference)."""
        self.references = 0
        self._near: _Near | None = None
        self._near_pos = np.full(cap, -1, dtype=np.int32)
        """Position of each row in the near copy, -1 if not there."""

    # -- shape --------------------------------------------------------------------------------

    def __len__(self) -> int:
        return self.n

    def _grow(self, rows: int) -> None:
        cap = len(self.emode)
        if self.n + rows <= cap:
            return
        new = max(2 * cap, self.n + rows)
        names = (
            "_supplied",
            "borrowed",
            "emode",
            "enabled",
            "isolated",
            "hf_ref",
            "_weighted",
        )
        for name in names:
            old = getattr(self, name)
            grown = np.zeros((new, *old.shape[1:]), dtype=old.dtype)
            grown[: self.n] = old[: self.n]
            setattr(self, name, grown)
        self._fresh_mask = np.zeros(new, dtype=np.bool_)
        self._slot = np.full(new, -1, dtype=np.int32)
        self._slot_base = 0
        self._kept = (-1, *self._kept[1:3], self._kept[3][:0], None)
        self._near = None
        self._near_pos = np.full(new, -1, dtype=np.int32)

    def append(
        self,
        supplied: FloatArray,
        borrowed: FloatArray,
        emode: NDArray[np.uint8] | int,
        enabled: NDArray[np.uint8] | int,
        isolated: NDArray[np.bool_] | bool = False,
    ) -> IntArray:
        """Add accounts (scaled balances, shape (k, C) and (k, D)); return their rows.

        The new rows are touched (see `touch`).
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
        # The new rows are one run: slices, not fancy indexing (a population is a million).
        start, stop = self.n, self.n + k
        rows = np.arange(start, stop, dtype=np.int64)
        self._supplied[start:stop, : supplied.shape[1]] = supplied
        self.borrowed[start:stop] = borrowed
        self.emode[start:stop] = emode
        self.enabled[start:stop] = enabled
        self.isolated[start:stop] = isolated
        self.n = stop
        # `refresh`: their weighted balances, from their thresholds.
        code = _table_rows(self.emode[start:stop], self.enabled[start:stop])
        np.multiply(
            self._supplied[start:stop],
            np.take(self._lt_flat, code, axis=0),
            out=self._weighted[start:stop],
        )
        self._unkeep(rows)
        self.touch(rows)
        return rows

    def set_thresholds(self, lt_table: FloatArray) -> None:
        """Use `lt_table` (categories × 256 enabled-masks × C, fractions) from now on (the
        reference no longer holds).
        """
        self.lt_table = lt_table
        self.version += 1
        self._lt_flat = _pad_columns(
            lt_table.reshape(lt_table.shape[0] * lt_table.shape[1], lt_table.shape[2]),
            self._supplied.shape[1],
        )
        self.ref_units = None
        self._drop_near()
        positive = lt_table[lt_table > 0]
        # The floored average loses < 1 bp of an average >= the smallest threshold.
        self.margin = 1.0 / (10_000 * positive.min()) + 1e-9 if positive.size else 0.0
        self.refresh(np.arange(self.n, dtype=np.int64))

    def refresh(self, rows: IntArray) -> None:
        """Recompute ``weighted`` of `rows` after their balances, e-mode or collateral bits
        changed.
        """
        put_rows(
            self._weighted,
            rows,
            np.take(self._supplied, rows, axis=0) * self._thresholds(self._columns(), rows),
        )
        self._unkeep(rows)

    def changed(self, rows: IntArray) -> None:
        """`refresh`, then `touch` `rows`, gathering each of their arrays from the book once."""
        emode = np.take(self.emode, rows)
        enabled = np.take(self.enabled, rows)
        code = _table_rows(emode, enabled)
        supplied = np.take(self._supplied, rows, axis=0)
        weighted = supplied * np.take(self._lt_flat, code, axis=0)
        put_rows(self._weighted, rows, weighted)
        borrowed = np.take(self.borrowed, rows, axis=0)
        self._touch(rows, _Columns(supplied, borrowed, weighted, emode, enabled, code))

    def rebalanced(self, rows: IntArray, supplied: FloatArray, borrowed: FloatArray) -> None:
        """Do what `changed` does for `rows` whose balances alone changed (a liquidation:
        e-mode and collateral bits as they were), given their balances as the book has them
        now.

        The thresholds come from the near copy when it holds every row, and only the
        balances, weighted balances and reference HFs of the copy are brought up to date:
        the same values as `changed`, without gathering each row from the whole book.
        `supplied` is k × C or, as a `Valuation` holds it, k × `padded_width` (C).
        """
        if supplied.shape[1] != self._supplied.shape[1]:
            supplied = _pad_columns(supplied, self._supplied.shape[1])
        near = self._near
        at = None if near is None or not rows.size else np.take(self._near_pos, rows)
        if near is not None and at is not None and int(at.min()) >= 0:
            lt = self._thresholds(near.columns, at)
        else:
            lt = self._thresholds(self._columns(), rows)
        weighted = supplied * lt
        put_rows(self._weighted, rows, weighted)
        self._fresh.append(rows)
        self._unkeep(rows)
        if self.ref_units is None or not rows.size:
            return
        cu, du = self.ref_units
        hf = self.health(matvec(weighted[:, : cu.size], cu), matvec(borrowed, du))
        self.hf_ref[rows] = hf
        if at is not None:
            self._sync_near(
                rows, hf, {"supplied": supplied, "borrowed": borrowed, "weighted": weighted}, at
            )

    def thresholds(self, rows: IntArray) -> FloatArray:
        """Return the liquidation threshold of each column for `rows` (k × C; 0 where the
        column is not collateral), for their e-mode and collateral bits.
        """
        return self._thresholds(self._columns(), rows)[:, : len(self.collateral_assets)]

    def _thresholds(self, columns: _Columns, at: NDArray[np.integer[Any]]) -> FloatArray:
        if columns.code is not None:
            code: NDArray[Any] = np.take(columns.code, at)
        else:
            code = _table_rows(np.take(columns.emode, at), np.take(columns.enabled, at))
        out: FloatArray = np.take(self._lt_flat, code, axis=0)
        return out

    def _columns(self) -> _Columns:
        return _Columns(self._supplied, self.borrowed, self._weighted, self.emode, self.enabled)

    @property
    def supplied(self) -> FloatArray:
        """Scaled collateral balances, rows × C (a view: writes go to the book)."""
        return self._supplied[:, : len(self.collateral_assets)]

    @property
    def weighted(self) -> FloatArray:
        """``supplied`` × the account's threshold per column (0 where not collateral), rows ×
        C (a view).
        """
        return self._weighted[:, : len(self.collateral_assets)]

    def _source(self, rows: IntArray) -> tuple[_Columns, NDArray[np.integer[Any]]]:
        """Return the arrays to gather `rows` from and their positions there: the near copy
        when it holds every one of them, else the whole book.
        """
        near = self._near
        if near is not None and rows.size:
            at = np.take(self._near_pos, rows)
            if int(at.min()) >= 0:
                return near.columns, at
        return self._columns(), rows

    def gather(
        self, rows: IntArray
    ) -> tuple[FloatArray, FloatArray, FloatArray, NDArray[np.uint8]]:
        """Return the scaled balances (k × C, k × D), thresholds (k × C) and e-mode index of
        `rows`.
        """
        supplied, borrowed, lt, emode = self._gather(*self._source(rows))
        c = len(self.collateral_assets)
        return supplied[:, :c], borrowed, lt[:, :c], emode

    def _gather(
        self, columns: _Columns, at: NDArray[np.integer[Any]]
    ) -> tuple[FloatArray, FloatArray, FloatArray, NDArray[np.uint8]]:
        return (
            np.take(columns.supplied, at, axis=0),
            np.take(columns.borrowed, at, axis=0),
            self._thresholds(columns, at),
            np.take(columns.emode, at),
        )

    def valuation(
        self, rows: IntArray, collateral_unit: FloatArray, debt_unit: FloatArray
    ) -> Valuation:
        """Return the `Valuation` of `rows` at USD per scaled unit `collateral_unit`,
        `debt_unit`.
        """
        return self._valuation(*self._source(rows), collateral_unit, debt_unit)

    def _valuation(
        self,
        columns: _Columns,
        at: NDArray[np.integer[Any]],
        collateral_unit: FloatArray,
        debt_unit: FloatArray,
    ) -> Valuation:
        supplied, borrowed, padded_lt, emode = self._gather(columns, at)
        lt = padded_lt[:, : collateral_unit.size]
        enabled = positive(lt)
        value = scale_columns(supplied[:, : collateral_unit.size], collateral_unit)
        counted = np.where(enabled, value, 0.0)
        collateral_usd = row_sums(counted)
        total_debt = matvec(borrowed, debt_unit)
        # calculateUserAccountData floors the average threshold to whole basis points; the
        # slack keeps an exactly whole average (one collateral) from flooring a unit below.
        # In place, in the order of floor(Σ value·LT / collateral · 10_000 + slack), then
        # collateral · avg / 10_000 (0 without collateral).
        weighted = row_dot(value, lt)
        with np.errstate(divide="ignore", invalid="ignore"):
            weighted /= collateral_usd
        weighted *= 10_000
        weighted += _BPS_SLACK
        np.floor(weighted, out=weighted)
        np.multiply(collateral_usd, weighted, out=weighted)
        weighted /= 10_000
        np.copyto(weighted, 0.0, where=~(collateral_usd > 0))
        return Valuation(
            supplied,
            borrowed,
            enabled,
            emode,
            counted,
            scale_columns(borrowed, debt_unit),
            total_debt,
            self.health(weighted, total_debt),
        )

    def valued(
        self,
        rows: IntArray,
        collateral_unit: FloatArray,
        debt_unit: FloatArray,
        kept_at: NDArray[np.intp] | None = None,
    ) -> tuple[Valuation, NDArray[np.intp] | None]:
        """Return a `Valuation` holding `rows` and their positions in it (None: all, in
        order).

        It is the one the last risk check kept when the book and the units are unchanged since
        (a liquidator choosing reserves, then quoting groups of the candidates, reads the
        fields it needs from the small kept arrays instead of valuing the rows again);
        otherwise `rows` are valued now.

        `kept_at`: where `rows` are among the accounts the last risk check found (the
        `below_one` answer a liquidator was handed), if the caller knows: while no row has
        changed since, it is checked against them, which is cheaper than looking each row up
        in the whole book. Wrong or stale positions are ignored.
        """
        version, cu, du, _, kept = self._kept
        if (
            kept is not None
            and version == self.version
            and rows.size
            and np.array_equal(cu, collateral_unit)
            and np.array_equal(du, debt_unit)
        ):
            if (
                self._kept_whole
                and rows.size == kept.health.size
                and np.array_equal(rows, self._kept[3])
            ):
                return kept, None
            if rows.size % _MATVEC_ROWS == 1 and not self._kept_since_change:
                # Valued anew, as they were before kept valuations outlived changes to other
                # rows: `matvec` then multiplies one row alone, which numpy does by its
                # dot-product path, and that can round the row's total debt differently from
                # the kept batch.
                return self.valuation(rows, collateral_unit, debt_unit), None
            if (
                kept_at is not None
                and self._kept_since_change
                and kept_at.size == rows.size
                and int(kept_at.min()) >= 0
                and int(kept_at.max()) < kept.health.size
                and np.array_equal(np.take(self._kept[3], kept_at), rows)
            ):
                return kept, kept_at
            # Only the kept rows have a slot at or above the base (`_unkeep` clears the changed
            # ones).
            slots = np.take(self._slot, rows)
            base = self._slot_base
            if int(slots.min()) >= base:
                idx = slots.astype(np.intp)
                if base:
                    idx -= base
                return kept, idx
        return self.valuation(rows, collateral_unit, debt_unit), None

    def _keep(
        self,
        rows: IntArray,
        columns: _Columns,
        at: NDArray[np.integer[Any]],
        collateral_unit: FloatArray,
        debt_unit: FloatArray,
    ) -> None:
        kept = self._valuation(columns, at, collateral_unit, debt_unit)
        # Slots past the last valuation's: its own fall below the new base unwritten (only
        # when int32 runs out are they all cleared).
        base = self._slot_base + self._kept[3].size
        if base + rows.size > np.iinfo(np.int32).max:
            self._slot.fill(-1)
            base = 0
        self._slot[rows] = np.arange(base, base + rows.size, dtype=np.int32)
        self._slot_base = base
        self._kept = (self.version, collateral_unit.copy(), debt_unit.copy(), rows.copy(), kept)
        self._kept_whole = True
        self._kept_since_change = True

    def add_column(self, asset: str, role: str) -> int:
        """Add a zero column for `asset` as ``"collateral"`` or ``"debt"``; return its index."""
        assets = self.collateral_assets if role == "collateral" else self.debt_assets
        if asset in assets:
            return assets.index(asset)
        limit = MAX_COLLATERAL_COLUMNS if role == "collateral" else MAX_DEBT_COLUMNS
        if len(assets) >= limit:
            raise ValueError(f"a book holds at most {limit} {role} reserves")
        if role == "debt":
            self.borrowed = np.hstack([self.borrowed, np.zeros((len(self.borrowed), 1))])
        elif padded_width(len(assets) + 1) > self._supplied.shape[1]:
            width = padded_width(len(assets) + 1)
            self._supplied = _pad_columns(self._supplied, width)
            self._weighted = _pad_columns(self._weighted, width)
            self._lt_flat = _pad_columns(self._lt_flat, width)
        # Otherwise the first padding column (zeros) becomes the new one.
        assets.append(asset)
        self.ref_units = None  # the reference no longer matches the columns
        self._drop_near()
        self.version += 1
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
        if rows is None:
            rows = np.arange(self.n, dtype=np.int64)
        return self._values(*self._source(rows), collateral_unit, debt_unit)

    def _values(
        self,
        columns: _Columns,
        at: NDArray[np.integer[Any]],
        collateral_unit: FloatArray,
        debt_unit: FloatArray,
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        s, b, padded_lt, _ = self._gather(columns, at)
        value, lt, collateral, debt = _counted(s, padded_lt, b, collateral_unit, debt_unit)
        weighted = row_dot(value, lt)
        # calculateUserAccountData floors the average threshold to whole basis points; the
        # slack keeps an exactly whole average (one collateral) from flooring a unit below.
        with np.errstate(divide="ignore", invalid="ignore"):
            avg = np.floor(weighted / collateral * 10_000 + _BPS_SLACK) / 10_000
        weighted = np.where(collateral > 0, collateral * avg, 0.0)
        return collateral, weighted, debt

    def totals(self, collateral_unit: FloatArray, debt_unit: FloatArray) -> tuple[float, float]:
        """Return the whole book's collateral that counts and debt, in USD: the sums of
        `values`' per-account ``collateral_usd`` and ``debt_usd`` of every row.

        Each account's figures are computed as `values` computes them, straight from the
        book's arrays in blocks of `_TOTALS_ROWS` (a multiple of `_MATVEC_ROWS`, so `matvec`
        slices every block as it would slice the whole book), without the threshold average
        `values` also works out; the sums are over the same per-account arrays.
        """
        n = self.n
        collateral = np.empty(n)
        debt = np.empty(n)
        for start in range(0, n, _TOTALS_ROWS):
            stop = min(start + _TOTALS_ROWS, n)
            code = _table_rows(self.emode[start:stop], self.enabled[start:stop])
            _, _, collateral[start:stop], debt[start:stop] = _counted(
                self._supplied[start:stop],
                np.take(self._lt_flat, code, axis=0),
                self.borrowed[start:stop],
                collateral_unit,
                debt_unit,
            )
        return float(collateral.sum()), float(debt.sum())

    def fast_health(
        self, rows: IntArray | None, collateral_unit: FloatArray, debt_unit: FloatArray
    ) -> FloatArray:
        """Return the health factors of `rows` (all if None) with the exact average threshold:
        at or above the contract's, by at most ``margin`` relative.
        """
        if rows is None:
            weighted = matvec(self._weighted[: self.n, : collateral_unit.size], collateral_unit)
            debt = matvec(self.borrowed[: self.n], debt_unit)
        else:
            return self._fast_health(*self._source(rows), collateral_unit, debt_unit)
        return self.health(weighted, debt)

    def _fast_health(
        self,
        columns: _Columns,
        at: NDArray[np.integer[Any]],
        collateral_unit: FloatArray,
        debt_unit: FloatArray,
    ) -> FloatArray:
        weighted = matvec(
            np.take(columns.weighted, at, axis=0)[:, : collateral_unit.size], collateral_unit
        )
        debt = matvec(np.take(columns.borrowed, at, axis=0), debt_unit)
        return self.health(weighted, debt)

    def exact_health(
        self, rows: IntArray, collateral_unit: FloatArray, debt_unit: FloatArray
    ) -> FloatArray:
        """Return the contract's health factors of `rows` (floored average threshold)."""
        _, weighted, debt = self.values(rows, collateral_unit, debt_unit)
        return self.health(weighted, debt)

    def below_one(
        self,
        rows: IntArray | None,
        collateral_unit: FloatArray,
        debt_unit: FloatArray,
        *,
        positions: NDArray[np.integer[Any]] | None = None,
    ) -> tuple[IntArray, FloatArray]:
        """Return those of `rows` (all if None) whose contract HF is below 1, most underwater
        first, with their (exact-average) HF. Only accounts within ``margin`` of the line need
        the floored average; the rest are decided by the fast HF.

        `positions`: where `rows` are in the near copy, as `band_positions` returned them
        (None: looked up).
        """
        at: NDArray[np.integer[Any]]
        if rows is None:
            columns, at = self._columns(), np.arange(self.n, dtype=np.int64)
            fast = self.fast_health(None, collateral_unit, debt_unit)
        else:
            if positions is None:
                columns, at = self._source(rows)
            else:
                columns, at = self._near_columns(), positions
            fast = self._fast_health(columns, at, collateral_unit, debt_unit)
        idx = np.arange(fast.size) if rows is None else rows
        sure = fast < 1.0  # the floored HF is never above the exact one
        near = np.flatnonzero(~sure & (fast < 1.0 + self.margin))
        if near.size:
            _, weighted, debt = self._values(columns, np.take(at, near), collateral_unit, debt_unit)
            exact = self.health(weighted, debt)
            sure[near[exact < 1.0]] = True
        found = np.flatnonzero(sure)
        found = np.take(found, _stable_order(np.take(fast, found)))
        keys = np.take(fast, found)
        if rows is not None and keys.size > 1 and bool((keys[1:] == keys[:-1]).any()):
            # Equal HFs go by row, whatever order `rows` came in.
            order = np.lexsort((np.take(idx, found), keys))
            found, keys = found[order], keys[order]
        out: IntArray = np.take(idx, found).astype(np.int64, copy=False)
        # Liquidators value and quote these next, in this order: value them now and keep that
        # (see `valued`), gathered from where their fast HF was.
        self._keep(out, columns, np.take(at, found), collateral_unit, debt_unit)
        return out, keys

    @staticmethod
    def health(weighted: FloatArray, debt: FloatArray) -> FloatArray:
        """Return ``weighted / debt``, ``inf`` where there is no debt."""
        owes = debt > 0
        # where(owes, weighted / debt, inf), in one fresh array: every row that owes divides
        # the same numbers, and the others are set to inf after (usually none is: the rows
        # asked about are those near the line).
        with np.errstate(divide="ignore", invalid="ignore"):
            hf: FloatArray = np.divide(weighted, debt)
        if not owes.all():
            np.copyto(hf, np.inf, where=~owes)
        return hf

    # -- index --------------------------------------------------------------------------------

    def reference(self, hf: FloatArray, collateral_unit: FloatArray, debt_unit: FloatArray) -> None:
        """Store every account's (fast) health factor `hf` at a new reference state (USD per
        scaled unit `collateral_unit`, `debt_unit`).
        """
        if hf.shape != (self.n,):
            raise ValueError(f"expected {self.n} health factors, were {hf.shape}")
        self.hf_ref[: self.n] = hf
        self.ref_units = (collateral_unit, debt_unit)
        self.references += 1
        self._drop_near()

    def touch(self, rows: IntArray) -> None:
        """Note that `rows` changed: recompute their reference HF at the reference's units (so
        the screening bound holds for them), and remember them for `take_fresh`.
        """
        self._touch(rows, None)

    def _touch(self, rows: IntArray, gathered: _Columns | None) -> None:
        """`touch` `rows`, whose arrays `gathered` holds as the book has them now (None: gather
        them).
        """
        self._fresh.append(rows)
        self._unkeep(rows)
        if self.ref_units is not None and rows.size:
            cu, du = self.ref_units
            if gathered is None:
                # From the book, not the near copy, which is brought up to date next.
                gathered = self._gather_columns(rows)
            hf = self.health(
                matvec(gathered.weighted[:, : cu.size], cu), matvec(gathered.borrowed, du)
            )
            self.hf_ref[rows] = hf
            self._sync_near(
                rows, hf, {name: getattr(gathered, name) for name in _Columns.__slots__}
            )

    def _gather_columns(self, rows: IntArray) -> _Columns:
        book = self._columns()
        emode = np.take(book.emode, rows)
        enabled = np.take(book.enabled, rows)
        return _Columns(
            np.take(book.supplied, rows, axis=0),
            np.take(book.borrowed, rows, axis=0),
            np.take(book.weighted, rows, axis=0),
            emode,
            enabled,
            _table_rows(emode, enabled),
        )

    def _unkeep(self, rows: IntArray) -> None:
        """Take changed `rows` out of the kept valuation (the rest of it still holds)."""
        if self._kept[4] is None or not rows.size:
            return
        self._kept_since_change = False
        if bool((np.take(self._slot, rows) >= self._slot_base).any()):
            self._slot[rows] = -1
            self._kept_whole = False

    def take_fresh(self) -> IntArray:
        """Return the rows changed since the last call (sorted, unique) and forget them."""
        if not self._fresh:
            return np.zeros(0, dtype=np.int64)
        rows = np.concatenate(self._fresh) if len(self._fresh) > 1 else self._fresh[0]
        self._fresh = []
        if rows.size * 32 < self.n:
            # A sort and a comparison with the neighbour: what np.unique gives, several times
            # faster (it hashes first).
            out: IntArray = np.sort(rows)
            if out.size > 1:
                first = np.empty(out.size, dtype=np.bool_)
                first[0] = True
                np.not_equal(out[1:], out[:-1], out=first[1:])
                out = out[first]
            return out
        # Many rows: a mask over the book dedupes and sorts in one linear pass.
        mask = self._fresh_mask
        mask[rows] = True
        out = np.flatnonzero(mask[: self.n]).astype(np.int64)
        mask[out] = False
        return out

    def band(self, threshold: float) -> IntArray:
        """Return the rows whose reference HF is below `threshold` (in no set order)."""
        return self.band_positions(threshold)[0]

    def band_positions(self, threshold: float) -> tuple[IntArray, NDArray[np.integer[Any]] | None]:
        """Return `band` and where those rows are in the near copy (None: there is no copy);
        the positions hold until the book changes.
        """
        near = self._near
        if near is None or not threshold <= near.bound:
            near = self._build_near(threshold * (1.0 + _NEAR_HEADROOM))
            if near is None:
                out: IntArray = np.flatnonzero(self.hf_ref[: self.n] < threshold).astype(np.int64)
                return out, None
        at = np.flatnonzero(near.hf_ref < threshold)
        return np.take(near.rows, at), at

    def _near_columns(self) -> _Columns:
        if self._near is None:
            raise ValueError("expected near-copy positions only while the book has a near copy")
        return self._near.columns

    def _build_near(self, bound: float) -> _Near | None:
        """Copy the rows whose reference HF is below `bound` (None: too many to be worth a
        copy, over a quarter of the book).
        """
        self._drop_near()
        rows = np.flatnonzero(self.hf_ref[: self.n] < bound).astype(np.int64)
        if rows.size * _NEAR_MAX_SHARE > self.n:
            return None
        # Only locality depends on this order (every answer is per row, and `below_one`
        # orders what it finds itself): buckets of reference HF are close enough.
        hf = np.take(self.hf_ref, rows)
        order = _coarse_order(hf)
        if order is not None:
            rows = np.take(rows, order)
            hf = np.take(hf, order)
        supplied = np.take(self._supplied, rows, axis=0)
        emode = np.take(self.emode, rows)
        enabled = np.take(self.enabled, rows)
        code = _table_rows(emode, enabled)
        # The book's weighted balances are these products (see `refresh`): computed from the
        # copy rather than gathered from the whole book.
        weighted = supplied * np.take(self._lt_flat, code, axis=0)
        columns = _Columns(
            supplied, np.take(self.borrowed, rows, axis=0), weighted, emode, enabled, code
        )
        self._near = _Near(bound, rows, hf, columns)
        self._near_pos[rows] = np.arange(rows.size, dtype=np.int32)
        return self._near

    def _drop_near(self) -> None:
        if self._near is not None:
            self._near_pos[self._near.rows] = -1
            self._near = None

    def _sync_near(
        self,
        rows: IntArray,
        hf: FloatArray,
        changed: dict[str, NDArray[Any]],
        at: NDArray[np.integer[Any]] | None = None,
    ) -> None:
        """Bring the near copy of touched `rows` up to date: their reference HF `hf` and the
        `changed` arrays (by `_Columns` field name; the others are as they were). `at`: where
        `rows` are in the copy, -1 outside it (None: looked up). The copy is dropped when a
        row outside it now belongs in it.
        """
        near = self._near
        if near is None:
            return
        if at is None:
            at = np.take(self._near_pos, rows)
        inside = at >= 0
        which: NDArray[np.intp] | None = None
        if not inside.all():
            if bool((hf[~inside] < near.bound).any()):
                self._drop_near()
                return
            which = np.flatnonzero(inside)
            at = at[which]
        columns = near.columns
        for name, values in changed.items():
            put_rows(getattr(columns, name), at, values if which is None else values[which])
        near.hf_ref[at] = hf if which is None else hf[which]

    def holds(
        self, rows: IntArray, collateral_cols: IntArray, debt_cols: IntArray
    ) -> NDArray[np.bool_]:
        """Return whether each of `rows` holds any of the given columns (the asset→account
        incidence). Balances change only where `touch` is called, which re-references the row,
        so what a row holds now is what its reference HF was computed with.
        """
        columns, at = self._source(rows)
        out = np.zeros(rows.size, dtype=np.bool_)
        for j in collateral_cols:
            out |= _take_column(columns.supplied, at, int(j)) > 0
        for j in debt_cols:
            out |= _take_column(columns.borrowed, at, int(j)) > 0
        return out

    @property
    def nbytes(self) -> int:
        """Bytes held by the book's arrays."""
        arrays = (
            self._supplied,
            self.borrowed,
            self.emode,
            self.enabled,
            self.isolated,
            self.hf_ref,
            self._weighted,
            self._fresh_mask,
            self._slot,
            self._near_pos,
        )
        near = self._near
        copy = (
            0
            if near is None
            else near.rows.nbytes
            + near.hf_ref.nbytes
            + sum(
                getattr(near.columns, name).nbytes
                for name in _Columns.__slots__
                if getattr(near.columns, name) is not None
            )
        )
        return sum(a.nbytes for a in arrays) + copy


def matvec(a: FloatArray, x: FloatArray) -> FloatArray:
    """Return ``a @ x`` (rows of `a` times `x`), in slices small enough that OpenBLAS does not
    spread one call over threads: on a shared machine its waiting threads burn CPU time for
    nothing. Each row's result is the same as in one call, except a row alone in its slice:
    numpy multiplies it by its dot-product path, which may round the last bit differently
    (see `MultiBook.valued`).

    >>> matvec(np.arange(6.0).reshape(3, 2), np.array([1.0, 10.0])).tolist()
    [10.0, 32.0, 54.0]
    """
    n = a.shape[0]
    if n <= _MATVEC_ROWS:
        small: FloatArray = a @ x
        return small
    out = np.empty(n, dtype=np.result_type(a, x))
    for i in range(0, n, _MATVEC_ROWS):
        np.matmul(a[i : i + _MATVEC_ROWS], x, out=out[i : i + _MATVEC_ROWS])
    return out


def put_rows(a: NDArray[Any], at: NDArray[np.integer[Any]], values: NDArray[Any]) -> None:
    """Set ``a[at] = values`` (rows `at` of `a`), for a 2-D `a` by `numpy.put` of each row as
    one item, about twice as fast as assigning to fancy-indexed rows.

    >>> a = np.zeros((3, 2))
    >>> put_rows(a, np.array([2, 0]), np.array([[1.0, 2.0], [3.0, 4.0]]))
    >>> a.tolist()
    [[3.0, 4.0], [0.0, 0.0], [1.0, 2.0]]
    """
    if (
        a.ndim == 2
        and a.shape[1]
        and a.flags.c_contiguous
        and values.dtype == a.dtype
        and values.shape == (at.size, a.shape[1])
    ):
        row = np.dtype((np.void, a.itemsize * a.shape[1]))
        np.put(a.view(row).reshape(-1), at, np.ascontiguousarray(values).view(row).reshape(-1))
    else:
        a[at] = values


def scale_columns(a: FloatArray, unit: FloatArray) -> FloatArray:
    """Return ``a * unit`` (each column of `a` times its `unit`), column by column: numpy
    broadcasts a few columns one short row at a time, several times slower. Each element is the
    same product.

    >>> scale_columns(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([10.0, 0.5])).tolist()
    [[10.0, 1.0], [30.0, 2.0]]
    """
    out = np.empty(a.shape, dtype=np.result_type(a, unit))
    for j in range(a.shape[1]):
        np.multiply(a[:, j], unit[j], out=out[:, j])
    return out


def row_sums(a: FloatArray, skip: int | None = None) -> FloatArray:
    """Return the sum of each row of `a` (without column `skip`), adding the columns left to
    right as ``a.sum(axis=1)`` does for a few columns, several times faster: numpy reduces a
    short last axis one row at a time.

    >>> row_sums(np.array([[1.0, 2.0, 4.0], [8.0, 16.0, 32.0]])).tolist()
    [7.0, 56.0]
    >>> row_sums(np.array([[1.0, 2.0, 4.0]]), skip=1).tolist()
    [5.0]
    """
    columns = [j for j in range(a.shape[1]) if j != skip]
    if not columns:
        return np.zeros(a.shape[0])
    out: FloatArray = a[:, columns[0]].copy()
    for j in columns[1:]:
        out += a[:, j]
    return out


def positive(a: FloatArray) -> NDArray[np.bool_]:
    """Return ``a > 0`` (C-contiguous), column by column: `a` may be a column slice of a wider
    array, which numpy would compare a few elements per inner loop, several times slower.

    >>> positive(np.array([[1.0, 0.0, 5.0, 0.0]])[:, :3]).tolist()
    [[True, False, True]]
    """
    out = np.empty(a.shape, dtype=np.bool_)
    for j in range(a.shape[1]):
        np.greater(a[:, j], 0.0, out=out[:, j])
    return out


def row_dot(a: FloatArray, b: FloatArray) -> FloatArray:
    """Return ``np.einsum("ij,ij->i", a, b)`` (each row's dot product) of `a` and `b` of the
    same shape as einsum computes it for C-contiguous arrays, faster where `_einsum_lanes`
    found how einsum adds that many columns (several times slower for a few columns: it loops
    per row).

    >>> row_dot(np.array([[1.0, 2.0, 3.0]]), np.array([[1.0, 10.0, 100.0]])).tolist()
    [321.0]
    """
    lanes = _einsum_lanes(a.shape[1])
    if lanes is None:
        out: FloatArray = np.einsum("ij,ij->i", np.ascontiguousarray(a), np.ascontiguousarray(b))
        return out
    # The same products whatever the layouts: einsum's sums of them for C-contiguous inputs.
    return _lane_sums(a, b, lanes)


_LANES: dict[int, int | None] = {}


def _einsum_lanes(columns: int) -> int | None:
    """Return how many interleaved accumulators numpy's einsum adds `columns` products with
    (column ``j`` into lane ``j % lanes``, each lane left to right, then the lanes' sums left to
    right), as found by comparing with einsum on varied numbers once; None if neither one nor
    two lanes reproduce it (then `row_dot` calls einsum).
    """
    if columns not in _LANES:
        rng = np.random.default_rng(columns)
        scale = np.array([1e-9, 1e-3, 1.0, 1e3, 1e9])
        a = rng.random((4_096, columns)) * rng.choice(scale, (4_096, columns))
        b = rng.random((4_096, columns)) * rng.choice(scale, (4_096, columns))
        want = np.einsum("ij,ij->i", a, b)
        _LANES[columns] = next(
            (lanes for lanes in (2, 1) if np.array_equal(_lane_sums(a, b, lanes), want)), None
        )
    return _LANES[columns]


def _lane_sums(a: FloatArray, b: FloatArray, lanes: int) -> FloatArray:
    # Each column's products on their own: `a` or `b` may be a column slice of a wider array,
    # where a 2-D product would run a few elements per inner loop.
    columns = a.shape[1]
    if columns == 0:
        return np.zeros(a.shape[0])
    sums = []
    for lane in range(min(lanes, columns)):
        total: FloatArray = a[:, lane] * b[:, lane]
        for j in range(lane + lanes, columns, lanes):
            total += a[:, j] * b[:, j]
        sums.append(total)
    out = sums[0]
    for total in sums[1:]:
        out += total
    return out


def row_argmax(a: FloatArray, maxima: FloatArray | None = None) -> IntArray:
    """Return ``a.argmax(axis=1)`` (the first column of each row's largest value) for arrays
    without NaN, column by column (numpy's row-at-a-time reduction is slow for a few columns).
    `maxima`, if given, receives each row's largest value (``a.max(axis=1)``).

    >>> row_argmax(np.array([[1.0, 3.0, 3.0], [-np.inf, -np.inf, -np.inf]])).tolist()
    [1, 0]
    >>> best = np.empty(2)
    >>> _ = row_argmax(np.array([[1.0, 3.0], [-np.inf, -2.0]]), best)
    >>> best.tolist()
    [3.0, -2.0]
    """
    best = a[:, 0].copy() if maxima is None else maxima
    if maxima is not None:
        best[:] = a[:, 0]
    if a.shape[1] < 2:
        return np.zeros(a.shape[0], dtype=np.int64)
    # Column 1 where it is larger than column 0: the comparison itself, as 0 or 1.
    out: IntArray = (a[:, 1] > best).astype(np.int64)
    np.maximum(best, a[:, 1], out=best)
    for j in range(2, a.shape[1]):
        # putmask: about twice as fast as assigning to the masked elements.
        np.putmask(out, a[:, j] > best, j)
        np.maximum(best, a[:, j], out=best)
    return out


def _stable_order(keys: FloatArray) -> IntArray:
    """Return ``argsort(keys, kind="stable")``, faster: a stable radix sort of the keys
    bucketed into 32 bits of their range (two passes of 16 bits, least significant first:
    numpy sorts 16-bit integers by radix), then a stable sort of the keys in that order, which
    is sorted but for keys sharing a bucket (timsort's runs). Stable sorts compose, so equal
    keys keep their order. 32 bits because the keys crowd: half the accounts just found below
    1 are within 0.3 % of it, where 16 bits of the range leave many to a bucket.

    >>> _stable_order(np.array([0.5, 0.0, 0.5, 0.0])).tolist()
    [1, 3, 0, 2]
    >>> keys = np.random.default_rng(0).random(1_000)
    >>> bool((_stable_order(keys) == np.argsort(keys, kind="stable")).all())
    True
    """
    if keys.size < 2:
        return np.zeros(keys.size, dtype=np.int64)
    low, high = float(keys.min()), float(keys.max())
    if not (math.isfinite(low) and math.isfinite(high)) or high == low:
        order: IntArray = np.argsort(keys, kind="stable")
        return order
    buckets = ((keys - low) * (4_294_967_295.0 / (high - low))).astype(np.uint32)
    coarse: IntArray = np.argsort(buckets.astype(np.uint16), kind="stable")
    buckets >>= 16
    coarse = coarse[np.argsort(buckets.astype(np.uint16)[coarse], kind="stable")]
    out: IntArray = coarse[np.argsort(keys[coarse], kind="stable")]
    return out


def _coarse_order(keys: FloatArray) -> IntArray | None:
    """Return a stable order of `keys` bucketed into 16 bits (a radix sort; keys in one bucket
    stay in their order), or None when they have no finite range to bucket.

    >>> _coarse_order(np.array([0.5, 0.0, 0.5, 0.0])).tolist()
    [1, 3, 0, 2]
    """
    if keys.size < 2:
        return np.zeros(keys.size, dtype=np.int64)
    low, high = float(keys.min()), float(keys.max())
    if not (math.isfinite(low) and math.isfinite(high)) or high == low:
        return None
    buckets = ((keys - low) * (65_535.0 / (high - low))).astype(np.uint16)
    out: IntArray = np.argsort(buckets, kind="stable")
    return out
