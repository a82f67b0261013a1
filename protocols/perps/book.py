"""Struct-of-arrays books of a perp venue: accounts, positions per market, and the indexes that
find liquidatable positions without sweeping the book (DESIGN "Numbers and scale").

Layout
------
- Accounts: a USD wallet (cross balance: deposits plus realized PnL, fees and funding) and, on a
  unified-margin venue, a quantity of each collateral asset.
- Markets: one `MarketBook` per perpetual market, one row per position: the account, the signed
  size, the entry price, the isolated margin (isolated positions only), and whether the position
  is *simple*.

A *simple* position is margined by something that does not move with any other price: an
isolated position (its own margin), or the only cross position of an account that holds no
collateral asset (the wallet). Its equity is linear in its own mark, ``m + size · (mark −
entry)``, so it has one exact liquidation price (mechanics §5.2, §6.1; ``math.liquidation_price``,
mirrored here by `liquidation_prices`). A long is liquidatable at marks ``≤`` it and a short at
marks ``≥`` it, so each side keeps its keys ``side · L`` sorted and a mark update finds the newly
liquidatable rows with one ``searchsorted`` (O(log N + k)).

A *complex* account has several cross positions or collateral assets: its equity depends on
several prices. `ComplexIndex` keeps, per such account, the slack ``adjEq − θ · MM`` at a set of
reference prices divided by a bound ``G`` on how fast any price move can eat it (``Σ |size| · p ·
(1 + θ · mmr_max) + Σ q · P · rate``): while every price is within a relative ``r`` of its
reference, an account with ``slack / G > r`` cannot be liquidatable. A mark update re-checks
exactly only the accounts with key ``≤ r`` (one ``searchsorted``), and the index is rebuilt at the
current prices when too many are watched.

Liquidation rule everywhere: liquidatable iff equity ``≤ θ ·`` maintenance margin with ``θ = 1``
(Binance: margin ratio ``MM / margin balance ≥ 100 %``; Hyperliquid's "less than" differs only on
a set of measure zero) and, for unified accounts, ``θ`` the liquidation uniMMR (1.05, §6.5).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from protosim.protocols.perps.math import MarginTable

__all__ = [
    "ComplexIndex",
    "ComplexState",
    "MarketBook",
    "TableArrays",
    "VenueBook",
    "liquidation_prices",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

_REBUILD_FRACTION = 0.25
_COMPLEX_WATCH_MIN = 256
_NONE: NDArray[np.int32] = np.empty(0, dtype=np.int32)
_NONE.flags.writeable = False


@dataclass(frozen=True, slots=True)
class TableArrays:
    """A `MarginTable` as arrays, for vectorized maintenance margins and liquidation prices.

    Attributes
    ----------
    floors, mmr, cums, max_leverage : ndarray of float64
        Per tier, as in the table.
    boundary_mm : ndarray of float64
        Maintenance margin at each upper tier boundary (``floors[i+1] · mmr[i] − cums[i]``), the
        value both neighbouring tiers give there.
    """

    floors: FloatArray
    mmr: FloatArray
    cums: FloatArray
    max_leverage: FloatArray
    boundary_mm: FloatArray

    @classmethod
    def of(cls, table: MarginTable) -> TableArrays:
        """Return the arrays of `table`."""
        floors = np.asarray(table.floors, dtype=np.float64)
        mmr = np.asarray([t.mmr for t in table.tiers], dtype=np.float64)
        cums = np.asarray(table.cums, dtype=np.float64)
        lev = np.asarray([t.max_leverage for t in table.tiers], dtype=np.float64)
        boundary = floors[1:] * mmr[:-1] - cums[:-1]
        return cls(floors, mmr, cums, lev, boundary)

    @property
    def mmr_max(self) -> float:
        """The highest maintenance rate of the table."""
        return float(self.mmr[-1])

    def tier_index(self, notional: ArrayLike) -> IntArray:
        """Return the tier of each ``|notional|`` (a floor belongs to the tier below it)."""
        n = np.abs(np.asarray(notional, dtype=np.float64))
        out: IntArray = np.clip(np.searchsorted(self.floors, n, side="left") - 1, 0, None)
        return out

    def maintenance(self, notional: ArrayLike) -> FloatArray:
        """Return ``|N| · mmr(tier) − cum(tier)`` per notional (``math.maintenance_margin``)."""
        n = np.abs(np.asarray(notional, dtype=np.float64))
        idx = self.tier_index(n)
        return np.asarray(n * self.mmr[idx] - self.cums[idx], dtype=np.float64)

    def max_leverage_at(self, notional: ArrayLike) -> FloatArray:
        """Return the maximum leverage allowed at each notional."""
        return np.asarray(self.max_leverage[self.tier_index(notional)], dtype=np.float64)


def liquidation_prices(constant: ArrayLike, size: ArrayLike, table: TableArrays) -> FloatArray:
    """Return, per position, the mark at which ``constant + size · P = MM(|size| · P)``.

    The vectorized twin of ``math.liquidation_price`` (tested against it): the root lies in the
    tier whose upper boundary is the first where ``side · (equity − MM)`` is not negative, and
    inside that tier ``P = (constant + cum) / (|size| · mmr − side · |size|)``, clamped to the
    tier's price interval (mechanics §6.1 "recalculate with that bracket"; Hyperliquid's "margin
    tier corresponding to the position value at the liquidation price", §5.2).

    Parameters
    ----------
    constant : array_like of float
        ``equity(P) − size · P``: margin (isolated margin or cross wallet) minus ``size ·
        entry``, USD.
    size : array_like of float
        Signed quantities; rows with size 0 get 0.
    table : TableArrays
        The market's margin table.

    Returns
    -------
    ndarray of float64
        USD; 0 where no positive price liquidates a long, or every price liquidates a short.

    Examples
    --------
    The Binance FAQ's cross long (wallet 500, 0.02 BTC at 50,000): 25,100.40.

    >>> from protosim.protocols.perps.math import BINANCE_BTCUSDT
    >>> t = TableArrays.of(BINANCE_BTCUSDT)
    >>> liquidation_prices([500.0 - 0.02 * 50_000.0], [0.02], t).round(2)
    array([25100.4])
    """
    c = np.asarray(constant, dtype=np.float64)
    s = np.asarray(size, dtype=np.float64)
    side = np.sign(s)
    q = np.abs(s)
    # side · (equity − MM) at an upper tier boundary F: equity there is c + side · F.
    tier = np.zeros(s.shape, dtype=np.int64)
    for i in range(table.floors.size - 1):
        upper = table.floors[i + 1]
        tier += side * (c + side * upper - table.boundary_mm[i]) < 0.0
    safe_q = np.where(q > 0.0, q, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        price = (c + table.cums[tier]) / (safe_q * (table.mmr[tier] - side))
    lower = table.floors[tier] / safe_q
    upper_floor = np.append(table.floors[1:], np.inf)[tier]
    price = np.minimum(np.maximum(price, lower), upper_floor / safe_q)
    out = np.where((q > 0.0) & (side * c < 0.0), price, 0.0)
    return np.asarray(out, dtype=np.float64)


class _SideIndex:
    """Rows of one side of a market sorted by ``side · L``; liquidatable iff key ``≥`` value.

    Rows at positions ``end`` and above are all touched (their current keys live in the
    market's touched set), so queries and the quick bound ignore them.
    """

    __slots__ = ("end", "keys_sorted", "rows")

    def __init__(self, rows: NDArray[np.int32], keys: FloatArray) -> None:
        order = np.argsort(keys[rows], kind="stable")
        self.rows: NDArray[np.int32] = rows[order]
        self.keys_sorted: FloatArray = keys[self.rows]
        self.end = int(self.rows.size)

    def resort(self, keys: FloatArray, alive: BoolArray) -> None:
        # The previous order is nearly right (funding shifts every key of a tier alike), and a
        # stable sort (timsort) of nearly sorted keys is close to linear.
        rows = self.rows[alive[self.rows]]
        order = np.argsort(keys[rows], kind="stable")
        self.rows = rows[order]
        self.keys_sorted = keys[self.rows]
        self.end = int(self.rows.size)

    @property
    def top(self) -> float:
        return float(self.keys_sorted[self.end - 1]) if self.end else -math.inf

    def at_or_above(self, value: float, touched: BoolArray) -> NDArray[np.int32]:
        start = int(np.searchsorted(self.keys_sorted[: self.end], value, side="left"))
        found = self.rows[start : self.end]
        fresh = ~touched[found]
        kept = np.flatnonzero(fresh)
        # Everything above the last untouched row is touched: stop looking there.
        self.end = start + int(kept[-1]) + 1 if kept.size else start
        return found[kept] if kept.size < found.size else found

    @property
    def nbytes(self) -> int:
        return int(self.rows.nbytes + self.keys_sorted.nbytes)


class MarketBook:
    """Positions of one perpetual market, one row each.

    Parameters
    ----------
    market_id : str
        The market.
    table : MarginTable
        Its margin tiers.
    account : array_like of int
        Account of each row.
    size, entry : array_like of float
        Signed quantity and entry price of each row.
    margin : array_like of float
        Isolated margin of each row (ignored where not `isolated`).
    isolated : array_like of bool
        Whether each row is isolated.

    Attributes
    ----------
    simple : ndarray of bool
        Rows margined by something no other price moves (set by `VenueBook`).
    key : ndarray of float64
        ``side · liquidation price`` of simple rows, ``−inf`` for the others and for flat rows.
    partial_at : ndarray of float64
        When each row was last partially liquidated (``−inf``: never).
    """

    def __init__(
        self,
        market_id: str,
        table: MarginTable,
        *,
        account: ArrayLike,
        size: ArrayLike,
        entry: ArrayLike,
        margin: ArrayLike,
        isolated: ArrayLike,
    ) -> None:
        self.market_id = market_id
        self.table = table
        self.tables = TableArrays.of(table)
        self.account: NDArray[np.int32] = np.ascontiguousarray(account, dtype=np.int32)
        self.size: FloatArray = np.ascontiguousarray(size, dtype=np.float64)
        self.entry: FloatArray = np.ascontiguousarray(entry, dtype=np.float64)
        self.margin: FloatArray = np.ascontiguousarray(margin, dtype=np.float64)
        self.isolated: BoolArray = np.ascontiguousarray(isolated, dtype=np.bool_)
        n = self.size.size
        shapes = {a.shape for a in (self.account, self.entry, self.margin, self.isolated)}
        if shapes != {(n,)}:
            raise ValueError(f"expected 1-d arrays of length {n}, were {shapes}")
        if np.any((self.size != 0.0) & ~(self.entry > 0.0)):
            raise ValueError("expected a positive entry price for every open position")
        self.margin[~self.isolated] = 0.0
        self.simple: BoolArray = np.zeros(n, dtype=np.bool_)
        self.key: FloatArray = np.full(n, -np.inf)
        self.partial_at: FloatArray = np.full(n, -np.inf)
        self._touched_mask: BoolArray = np.zeros(n, dtype=np.bool_)
        self._touched: list[NDArray[np.int32]] = []
        self._touched_count = 0
        # Upper bounds of the touched rows' keys per side: a mark outside them skips the rows.
        self._touched_long_max = -np.inf
        self._touched_short_max = -np.inf
        self._long: _SideIndex | None = None
        self._short: _SideIndex | None = None
        # The largest key of each sorted side, as Python floats, for a quick "nothing here".
        self._long_top = -math.inf
        self._short_top = -math.inf
        self.rebuilds = 0

    def __len__(self) -> int:
        return int(self.size.size)

    # -- simple rows --------------------------------------------------------------------------

    def margin_of(self, rows: ArrayLike, wallet: FloatArray) -> FloatArray:
        """Return what backs each row: its isolated margin, or its account's wallet."""
        r = np.asarray(rows, dtype=np.int64)
        return np.asarray(
            np.where(self.isolated[r], self.margin[r], wallet[self.account[r]]), dtype=np.float64
        )

    def refresh_keys(self, rows: ArrayLike, wallet: FloatArray) -> None:
        """Recompute the liquidation key of `rows` from their size, entry and margin."""
        r = np.asarray(rows, dtype=np.int64)
        if r.size == 0:
            return
        size = self.size[r]
        constant = self.margin_of(r, wallet) - size * self.entry[r]
        price = liquidation_prices(constant, size, self.tables)
        key = np.sign(size) * price
        self.key[r] = np.where(self.simple[r] & (size != 0.0), key, -np.inf)

    def build_index(self, wallet: FloatArray) -> None:
        """Compute every key and sort both sides (once, after the book is loaded)."""
        self.refresh_keys(np.arange(len(self)), wallet)
        rows = np.arange(len(self), dtype=np.int32)
        live = self.simple & (self.size != 0.0)
        self._long = _SideIndex(rows[live & (self.size > 0.0)], self.key)
        self._short = _SideIndex(rows[live & (self.size < 0.0)], self.key)
        self._clear_touched()
        self._set_tops()

    def _set_tops(self) -> None:
        assert self._long is not None
        assert self._short is not None
        self._long_top = self._long.top
        self._short_top = self._short.top

    def touch(self, rows: ArrayLike, wallet: FloatArray) -> None:
        """Refresh the keys of rows whose size, entry or margin changed."""
        r = np.asarray(rows, dtype=np.int32)
        if r.size == 0:
            return
        self.refresh_keys(r, wallet)
        keys, size = self.key[r], self.size[r]
        if np.any(size > 0.0):
            self._touched_long_max = max(self._touched_long_max, float(keys[size > 0.0].max()))
        if np.any(size < 0.0):
            self._touched_short_max = max(self._touched_short_max, float(keys[size < 0.0].max()))
        fresh = r[~self._touched_mask[r]]
        if fresh.size:
            self._touched_mask[fresh] = True
            self._touched.append(fresh)
            self._touched_count += int(fresh.size)
        if self._touched_count > _REBUILD_FRACTION * max(len(self), 1):
            self.resort()

    def resort(self) -> None:
        """Re-sort both sides with the current keys (after funding moved every margin)."""
        if self._long is None or self._short is None:
            raise RuntimeError("build_index must run before resort")
        alive = np.isfinite(self.key)
        self._long.resort(self.key, alive)
        self._short.resort(self.key, alive)
        self._clear_touched()
        self._set_tops()
        self.rebuilds += 1

    def _clear_touched(self) -> None:
        self._touched_mask[:] = False
        self._touched = []
        self._touched_count = 0
        self._touched_long_max = -np.inf
        self._touched_short_max = -np.inf

    def liquidatable(self, mark: float) -> NDArray[np.int32]:
        """Return the simple rows liquidatable at `mark`: longs with ``L ≥ mark``, shorts with
        ``L ≤ mark``; rows changed since the last sort first, then longs, then shorts.
        """
        if self._long is None or self._short is None:
            raise RuntimeError("build_index must run before liquidatable")
        if (
            mark > self._long_top
            and -mark > self._short_top
            and mark > self._touched_long_max
            and -mark > self._touched_short_max
        ):
            return _NONE
        parts: list[NDArray[np.int32]] = []
        if self._touched_count and (
            self._touched_long_max >= mark or self._touched_short_max >= -mark
        ):
            touched = np.concatenate(self._touched) if len(self._touched) > 1 else self._touched[0]
            self._touched = [touched]
            keys, size = self.key[touched], self.size[touched]
            longs, shorts = size > 0.0, size < 0.0
            hit = (longs & (keys >= mark)) | (shorts & (keys >= -mark))
            parts.append(touched[hit])
            # Tighten the bounds to the touched rows still open, so quiet marks skip them.
            self._touched_long_max = float(keys[longs].max()) if longs.any() else -math.inf
            self._touched_short_max = float(keys[shorts].max()) if shorts.any() else -math.inf
        for index, value in ((self._long, mark), (self._short, -mark)):
            if index.top < value:
                continue
            found = index.at_or_above(value, self._touched_mask)
            if found.size:
                parts.append(found)
        self._set_tops()
        if not parts:
            return np.empty(0, dtype=np.int32)
        return np.concatenate(parts) if len(parts) > 1 else parts[0]

    # -- any row ------------------------------------------------------------------------------

    def unrealized(self, rows: NDArray[np.integer[Any]] | slice, mark: float) -> FloatArray:
        """Return ``size · (mark − entry)`` of `rows`."""
        return np.asarray(self.size[rows] * (mark - self.entry[rows]), dtype=np.float64)

    def maintenance(self, rows: NDArray[np.integer[Any]] | slice, mark: float) -> FloatArray:
        """Return the maintenance margin of `rows` at `mark`."""
        return self.tables.maintenance(np.abs(self.size[rows]) * mark)

    @property
    def nbytes(self) -> int:
        """Bytes held by the market's arrays and indexes."""
        arrays = (
            self.account,
            self.size,
            self.entry,
            self.margin,
            self.isolated,
            self.simple,
            self.key,
            self.partial_at,
            self._touched_mask,
        )
        total = sum(int(a.nbytes) for a in arrays)
        for index in (self._long, self._short):
            if index is not None:
                total += index.nbytes
        return total


@dataclass(slots=True)
class ComplexState:
    """Exact margin state of some complex accounts at given prices.

    Attributes
    ----------
    local : ndarray of int64
        Indices into `ComplexIndex.accounts`.
    equity : ndarray of float64
        Wallet plus unrealized PnL of cross positions plus collateral at its index price, USD.
    adjusted_equity : ndarray of float64
        The same with each collateral balance haircut by its collateral rate (§6.5 ``ΣEquity``).
    maintenance : ndarray of float64
        Maintenance margin of the cross positions, USD.
    theta : ndarray of float64
        Liquidation threshold on ``adjusted_equity / maintenance``.
    notional : ndarray of float64
        Gross notional of the cross positions at the marks, USD.
    collateral_value : ndarray of float64
        Collateral at its index price, before haircuts, USD.
    """

    local: IntArray
    equity: FloatArray
    adjusted_equity: FloatArray
    maintenance: FloatArray
    theta: FloatArray
    notional: FloatArray
    collateral_value: FloatArray

    @property
    def liquidatable(self) -> BoolArray:
        """``adjusted_equity ≤ θ · MM`` with margin to maintain."""
        return np.asarray(
            (self.maintenance > 0.0) & (self.adjusted_equity <= self.theta * self.maintenance)
        )

    @property
    def health(self) -> FloatArray:
        """``adjusted_equity / (θ · MM)`` (liquidatable at ≤ 1), inf without margin to keep."""
        mm = self.theta * self.maintenance
        with np.errstate(divide="ignore", invalid="ignore"):
            h = np.where(mm > 0.0, self.adjusted_equity / np.where(mm > 0.0, mm, 1.0), np.inf)
        return np.asarray(h, dtype=np.float64)


@dataclass(slots=True)
class ComplexIndex:
    """Accounts whose equity depends on several prices, keyed by slack over sensitivity.

    Attributes
    ----------
    accounts : ndarray of int64
        Account ids, ascending.
    theta : ndarray of float64
        Liquidation threshold per account (1, or the liquidation uniMMR if it holds collateral).
    row_of : dict of str to ndarray of int32
        Per market, each account's cross row in that market's book (−1: none).
    reference : ndarray of float64
        Prices (marks, then collateral) the keys were computed at.
    order, keys_sorted : ndarray
        Accounts (local indices) in increasing key order, and the keys.
    """

    accounts: IntArray
    theta: FloatArray
    row_of: dict[str, NDArray[np.int32]]
    reference: FloatArray = field(default_factory=lambda: np.empty(0))
    order: IntArray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    keys_sorted: FloatArray = field(default_factory=lambda: np.empty(0))
    min_key: float = math.inf
    rebuilds: int = 0
    stale: bool = True
    work: int = 0
    """Accounts checked exactly since the last rebuild (a rebuild is worth it past a few
    times the book's size: the rent-or-buy rule)."""
    dirty: list[IntArray] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.accounts.size)


class VenueBook:
    """All accounts and positions of one perp venue.

    Parameters
    ----------
    wallet : array_like of float
        USD wallet per account.
    collateral : mapping of str to array_like of float
        Quantity of each collateral asset per account (unified margin; may be empty).
    markets : mapping of str to MarketBook
        The positions of each market.
    collateral_rates : mapping of str to float
        Haircut per collateral asset.
    liquidation_unimmr : float
        ``θ`` of accounts that hold collateral.
    """

    def __init__(
        self,
        *,
        wallet: ArrayLike,
        collateral: Mapping[str, ArrayLike],
        markets: Mapping[str, MarketBook],
        collateral_rates: Mapping[str, float],
        liquidation_unimmr: float = 1.05,
    ) -> None:
        self.wallet: FloatArray = np.ascontiguousarray(wallet, dtype=np.float64)
        n = self.wallet.size
        self.collateral_assets: tuple[str, ...] = tuple(collateral_rates)
        self.collateral_rates: FloatArray = np.asarray(
            [collateral_rates[a] for a in self.collateral_assets], dtype=np.float64
        )
        self.collateral: FloatArray = np.zeros((len(self.collateral_assets), n))
        for k, asset in enumerate(self.collateral_assets):
            if asset in collateral:
                self.collateral[k] = np.asarray(collateral[asset], dtype=np.float64)
        if np.any(self.collateral < 0.0):
            raise ValueError("expected collateral quantities >= 0")
        self.markets: dict[str, MarketBook] = dict(markets)
        for book in self.markets.values():
            if book.account.size and (book.account.min() < 0 or book.account.max() >= n):
                raise ValueError(f"market {book.market_id}: account ids outside 0..{n - 1}")
        # Classify: an account is complex if it has two or more cross positions, or collateral.
        cross_count = np.zeros(n, dtype=np.int64)
        for book in self.markets.values():
            live = (~book.isolated) & (book.size != 0.0)
            cross_count += np.bincount(book.account[live], minlength=n)
        holds = self.collateral.sum(axis=0) > 0.0 if self.collateral.size else np.zeros(n, bool)
        complex_mask = (cross_count >= 2) | (holds & (cross_count >= 1))
        accounts = np.flatnonzero(complex_mask).astype(np.int64)
        local_of = np.full(n, -1, dtype=np.int64)
        local_of[accounts] = np.arange(accounts.size)
        row_of: dict[str, NDArray[np.int32]] = {}
        for market_id, book in self.markets.items():
            in_complex = complex_mask[book.account] & ~book.isolated
            book.simple = ~in_complex
            r = np.flatnonzero(in_complex).astype(np.int32)
            row_of[market_id] = np.full(accounts.size, -1, dtype=np.int32)
            row_of[market_id][local_of[book.account[r]]] = r
        theta = np.where(holds[accounts], liquidation_unimmr, 1.0).astype(np.float64)
        self.complex = ComplexIndex(accounts, theta, row_of)
        self._local_of = local_of
        for book in self.markets.values():
            book.build_index(self.wallet)

    def __len__(self) -> int:
        return int(self.wallet.size)

    @property
    def positions(self) -> int:
        """Number of position rows across markets."""
        return sum(len(b) for b in self.markets.values())

    def is_complex(self, accounts: ArrayLike) -> BoolArray:
        """Return whether each account is complex."""
        return np.asarray(self._local_of[np.asarray(accounts, dtype=np.int64)] >= 0)

    def local_of(self, accounts: ArrayLike) -> IntArray:
        """Return each complex account's index in ``complex.accounts`` (−1 if not complex)."""
        return np.asarray(self._local_of[np.asarray(accounts, dtype=np.int64)], dtype=np.int64)

    # -- complex accounts ---------------------------------------------------------------------

    def complex_state(
        self,
        marks: Mapping[str, float],
        collateral_prices: FloatArray,
        local: IntArray | None = None,
    ) -> ComplexState:
        """Return the exact state of complex accounts (all, or `local` ones) at these prices.

        Parameters
        ----------
        marks : mapping of str to float
            Mark per market.
        collateral_prices : ndarray of float64
            Index price per collateral asset (order of ``collateral_assets``).
        local : ndarray of int64, optional
            Which complex accounts (indices into ``complex.accounts``); all by default. The
            work is proportional to their number, not to the book's.
        """
        cx = self.complex
        sel = np.arange(len(cx)) if local is None else np.asarray(local, dtype=np.int64)
        upnl = np.zeros(sel.size)
        mm = np.zeros(sel.size)
        notional = np.zeros(sel.size)
        for market_id, book in self.markets.items():
            rows = cx.row_of[market_id][sel]
            has = rows >= 0
            if not has.any():
                continue
            r = rows[has]
            mark = marks[market_id]
            upnl[has] += book.unrealized(r, mark)
            mm[has] += book.maintenance(r, mark)
            notional[has] += np.abs(book.size[r]) * mark
        accounts = cx.accounts[sel]
        base = self.wallet[accounts] + upnl
        if self.collateral.size:
            held = self.collateral[:, accounts] * collateral_prices[:, None]
            value = held.sum(axis=0)
            adjusted = (held * self.collateral_rates[:, None]).sum(axis=0)
        else:
            value = adjusted = np.zeros(sel.size)
        return ComplexState(sel, base + value, base + adjusted, mm, cx.theta[sel], notional, value)

    def rebuild_complex(
        self, marks: Mapping[str, float], collateral_prices: FloatArray, reference: FloatArray
    ) -> None:
        """Recompute every complex account's key at these prices; `reference` is the vector of
        prices the keys are relative to (see `watched_complex`).
        """
        cx = self.complex
        if len(cx) == 0:
            cx.stale = False
            return
        state = self.complex_state(marks, collateral_prices)
        sens = np.zeros(len(cx))
        for market_id, book in self.markets.items():
            rows = cx.row_of[market_id]
            has = rows >= 0
            r = rows[has]
            gross = np.abs(book.size[r]) * marks[market_id]
            sens[has] += gross * (1.0 + cx.theta[has] * book.tables.mmr_max)
        if self.collateral.size:
            held = self.collateral[:, cx.accounts] * collateral_prices[:, None]
            sens += (held * self.collateral_rates[:, None]).sum(axis=0)
        slack = state.adjusted_equity - state.theta * state.maintenance
        with np.errstate(divide="ignore", invalid="ignore"):
            key = np.where(sens > 0.0, slack / np.where(sens > 0.0, sens, 1.0), np.inf)
        # No margin to maintain (no open cross position): never liquidatable.
        key = np.where(state.maintenance > 0.0, key, np.inf)
        cx.order = np.argsort(key, kind="stable").astype(np.int64)
        cx.keys_sorted = key[cx.order]
        cx.min_key = float(cx.keys_sorted[0])
        cx.reference = np.asarray(reference, dtype=np.float64).copy()
        cx.rebuilds += 1
        cx.stale = False
        cx.work = 0
        cx.dirty = []

    def watched_complex(self, prices: FloatArray) -> IntArray:
        """Return the complex accounts (local indices) that the largest relative move of any
        price since the last rebuild may have made liquidatable, and those marked dirty.
        """
        cx = self.complex
        if len(cx) == 0:
            return np.empty(0, dtype=np.int64)
        move = float(np.max(np.abs(prices / cx.reference - 1.0))) if prices.size else 0.0
        found = cx.order[: int(np.searchsorted(cx.keys_sorted, move, side="right"))]
        if cx.dirty:
            dirty = np.unique(np.concatenate(cx.dirty))
            cx.dirty = [dirty]
            found = np.union1d(found, dirty)
        return found

    def mark_complex_dirty(self, local: IntArray) -> None:
        """Check these complex accounts exactly at every check until the next rebuild (their
        margin changed in a way their key does not bound: an ADL fill, a withdrawal).
        """
        if local.size:
            self.complex.dirty.append(np.asarray(local, dtype=np.int64))

    def complex_rebuild_due(self, watched: int) -> bool:
        """Count `watched` exact checks; return whether a rebuild now costs less than going on
        checking (the accounts checked since the last rebuild exceed four times the index).
        """
        cx = self.complex
        cx.work += watched
        return cx.work > 4 * len(cx) + _COMPLEX_WATCH_MIN

    # -- valuation ----------------------------------------------------------------------------

    def account_equity(
        self, marks: Mapping[str, float], collateral_prices: FloatArray
    ) -> FloatArray:
        """Return every account's equity: wallet, unrealized PnL of cross positions, isolated
        margins with their PnL, and collateral at its index price (no haircut), USD.
        """
        n = len(self)
        equity = self.wallet.copy()
        for market_id, book in self.markets.items():
            value = book.unrealized(slice(None), marks[market_id]) + book.margin
            equity += np.bincount(book.account, value, minlength=n)
        if self.collateral.size:
            equity += (self.collateral * collateral_prices[:, None]).sum(axis=0)
        return equity

    @property
    def nbytes(self) -> int:
        """Bytes held by the book's arrays (accounts, markets, indexes)."""
        cx = self.complex
        total = int(self.wallet.nbytes + self.collateral.nbytes + self._local_of.nbytes)
        total += sum(b.nbytes for b in self.markets.values())
        total += int(cx.accounts.nbytes + cx.theta.nbytes + cx.order.nbytes + cx.keys_sorted.nbytes)
        total += sum(int(r.nbytes) for r in cx.row_of.values())
        return total
