"""Auto-deleveraging (ADL) policies over vectorized books, and one `deleverage` entry point.

ADL is the last rung of the bad-debt ladder (mechanics §0.3): when neither the book nor the
insurance fund (or Hyperliquid's liquidator vault) takes a bankrupt position, the venue closes
positions on the *opposite* side against it at a set price. This module models that step for
one market. A book row is one account holding one position in the market (its wallet balance is
the margin behind that position, as in isolated mode). Its equity at the mark is
``wallet + size · (mark − entry)``. Amounts are USD and float64, as in
:mod:`protosim.protocols.perps.math`.

Policies
--------
Queue policies rank the eligible counterparties and close them fully, best-ranked first,
until the quantity is met. Profitable positions always come before unprofitable ones; ties keep
book order.

- ``binance``: ``LeveragePnl = PnlPercent · MarginRatio`` (Binance FAQ "What Is
  Auto-Deleveraging (ADL)" 360033525471; formula quoted on dev.binance.vision t/17801; mechanics
  §6.3).
- ``classic``: ``PnL% · effective leverage`` if the PnL is positive, ``PnL% / effective
  leverage`` otherwise (BitMEX-style, used by Poloniex, Bybit and others; mechanics §6.3).
- ``hyperliquid``: the docs' sorting index ``(mark / entry) · (notional / account value)`` (docs
  ``trading/auto-deleveraging``; mechanics §5.2), with the price ratio mirrored for shorts (see
  `hyperliquid_ranking`).

Pro-rata policies spread the quantity over all profitable counterparties. Unprofitable ones are
used only if the profitable ones cannot cover it.

- ``pro_rata``: each position is cut in proportion to its *size*.
- ``risk_aware_pro_rata``: each position is cut in proportion to its size times its effective
  leverage.

A counterparty is never closed past the point where its own equity would turn negative. The
metrics follow the October 2025 post-mortems (crashes.md §1): ADL notional, accounts hit, and the
*overshoot*, the profit closed out beyond the shortfall the ADL actually covered. Chitra
(Gauntlet, 9 Dec 2025) put Hyperliquid's at "28× more than the minimal necessary".
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "AdlPolicy",
    "AdlResult",
    "PerpBook",
    "binance_ranking",
    "classic_ranking",
    "deleverage",
    "effective_leverage",
    "hyperliquid_ranking",
    "pro_rata",
    "queue",
    "risk_aware_pro_rata",
]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


class AdlPolicy(StrEnum):
    """Which rule picks the counterparties of an auto-deleveraging."""

    BINANCE = "binance"
    CLASSIC = "classic"
    HYPERLIQUID = "hyperliquid"
    PRO_RATA = "pro_rata"
    RISK_AWARE_PRO_RATA = "risk_aware_pro_rata"


def _frozen(values: ArrayLike) -> FloatArray:
    array = np.array(values, dtype=np.float64)  # a private copy, so the caller's array is safe
    array.flags.writeable = False
    return array


@dataclass(frozen=True, slots=True)
class PerpBook:
    """One market's positions, one account per row, as read-only float64 arrays.

    Build it with `from_arrays`, which broadcasts scalars and validates.

    Attributes
    ----------
    size : ndarray of float64
        Signed base quantity per account (positive long).
    entry_price : ndarray of float64
        USD; positive wherever ``size`` is non-zero.
    wallet_balance : ndarray of float64
        Margin behind the position, USD.
    maintenance_margin : ndarray of float64
        USD, ≥ 0 (used by the Binance ranking; see ``math.maintenance_margin_many``).
    mark : float
        Mark price of the market, USD, > 0.
    """

    size: FloatArray
    entry_price: FloatArray
    wallet_balance: FloatArray
    maintenance_margin: FloatArray
    mark: float

    @classmethod
    def from_arrays(
        cls,
        *,
        size: ArrayLike,
        entry_price: ArrayLike,
        wallet_balance: ArrayLike,
        maintenance_margin: ArrayLike,
        mark: float,
    ) -> PerpBook:
        """Return a validated book; scalars broadcast against the other arrays.

        Parameters
        ----------
        size, entry_price, wallet_balance, maintenance_margin : array_like of float
            One element per account (see the class attributes).
        mark : float
            USD.

        Returns
        -------
        PerpBook
            Read-only copies of the inputs.

        Examples
        --------
        >>> b = PerpBook.from_arrays(size=[1.0, -1.0], entry_price=100.0, wallet_balance=10.0,
        ...                          maintenance_margin=0.0, mark=90.0)
        >>> b.equity
        array([ 0., 20.])
        """
        arrays = np.broadcast_arrays(
            np.asarray(size, dtype=np.float64),
            np.asarray(entry_price, dtype=np.float64),
            np.asarray(wallet_balance, dtype=np.float64),
            np.asarray(maintenance_margin, dtype=np.float64),
        )
        s, e, w, m = (_frozen(np.atleast_1d(a)) for a in arrays)
        return cls(s, e, w, m, float(mark))

    def __post_init__(self) -> None:
        shapes = {a.shape for a in (self.size, self.entry_price, self.wallet_balance)}
        shapes.add(self.maintenance_margin.shape)
        if len(shapes) != 1 or self.size.ndim != 1:
            raise ValueError(f"expected four 1-D arrays of one length, were shaped {shapes}")
        if not (np.isfinite(self.mark) and self.mark > 0.0):
            raise ValueError(f"expected a finite mark > 0, was {self.mark}")
        arrays = (self.size, self.entry_price, self.wallet_balance, self.maintenance_margin)
        if not all(np.all(np.isfinite(a)) for a in arrays):
            raise ValueError("expected finite sizes, prices, balances and margins")
        if np.any((self.size != 0.0) & ~(self.entry_price > 0.0)):
            raise ValueError("expected a positive entry price for every open position")
        if np.any(self.maintenance_margin < 0.0):
            raise ValueError("expected maintenance margins >= 0")

    @property
    def side(self) -> FloatArray:
        """+1 long, −1 short, 0 flat."""
        return np.sign(self.size)

    @property
    def unrealized_pnl(self) -> FloatArray:
        """``size · (mark − entry)``, USD."""
        return np.asarray(self.size * (self.mark - self.entry_price), dtype=np.float64)

    @property
    def equity(self) -> FloatArray:
        """Wallet balance plus unrealized PnL (margin balance / account value), USD."""
        return np.asarray(self.wallet_balance + self.unrealized_pnl, dtype=np.float64)

    @property
    def notional(self) -> FloatArray:
        """``|size| · mark``, USD."""
        return np.asarray(np.abs(self.size) * self.mark, dtype=np.float64)


def effective_leverage(book: PerpBook) -> FloatArray:
    """Return ``|notional| / equity`` per account; ``inf`` where the equity is ≤ 0.

    With one position per account this is mechanics §6.3's ``|markValue| / (markValue −
    bankruptcyValue)``, because ``markValue − bankruptcyValue`` is the equity.

    Parameters
    ----------
    book : PerpBook
        The market.

    Returns
    -------
    ndarray of float64
        Dimensionless.

    Examples
    --------
    >>> b = PerpBook.from_arrays(size=[-100.0, 1.0], entry_price=[110.0, 200.0],
    ...                          wallet_balance=[500.0, 50.0], maintenance_margin=0.0, mark=100.0)
    >>> effective_leverage(b)
    array([6.66666667,        inf])
    """
    equity = book.equity
    safe = np.where(equity > 0.0, equity, 1.0)
    return np.asarray(np.where(equity > 0.0, book.notional / safe, np.inf), dtype=np.float64)


def binance_ranking(book: PerpBook) -> FloatArray:
    """Return Binance's ``LeveragePnl`` per account; higher is deleveraged first.

    ``PnlPercent = max(0, uPnL) / max(1, wallet)``, ``MarginRatio = MM / (wallet + uPnL)`` (0
    when that is ≤ 0), ``LeveragePnl = PnlPercent · MarginRatio``. Sources: Binance ADL FAQ
    360033525471 ("unrealized PnL/collateral multiplied by the margin ratio"), the exact form
    quoted on dev.binance.vision t/17801, and mechanics §6.3. Binance ranks accounts; here each
    row is one.

    Parameters
    ----------
    book : PerpBook
        The market.

    Returns
    -------
    ndarray of float64
        Scores, ≥ 0.

    Examples
    --------
    The forum thread's numbers: uPnL 40.2, wallet 4.27, margin ratio 13.42 % →
    9.4145… × 0.1342 = 1.2634.

    >>> b = PerpBook.from_arrays(size=1.0, entry_price=100.0, wallet_balance=4.27,
    ...                          maintenance_margin=0.1342 * 44.47, mark=140.2)
    >>> binance_ranking(b).round(4)
    array([1.2634])
    """
    upnl = book.unrealized_pnl
    pnl_percent = np.maximum(upnl, 0.0) / np.maximum(book.wallet_balance, 1.0)
    balance = book.wallet_balance + upnl
    ratio = np.where(balance > 0.0, book.maintenance_margin / np.where(balance > 0, balance, 1), 0)
    return np.asarray(pnl_percent * ratio, dtype=np.float64)


def classic_ranking(book: PerpBook) -> FloatArray:
    """Return the classic ``PnL% · leverage`` (or ``PnL% / leverage``) score per account.

    ``PnL% = side · (mark − entry) / entry`` (the return on the entry price), and the effective
    leverage is `effective_leverage`. The score is ``PnL% · lev`` when ``PnL% > 0``, else
    ``PnL% / lev`` (mechanics §6.3: the rule BitMEX published and Poloniex, Bybit and others
    copy). Accounts with no positive equity score ``-inf``.

    Parameters
    ----------
    book : PerpBook
        The market.

    Returns
    -------
    ndarray of float64
        Scores.

    Examples
    --------
    A short from 110 at mark 100 with 6.67x effective leverage: 10/110 × 6.667 = 0.6061.

    >>> b = PerpBook.from_arrays(size=-100.0, entry_price=110.0, wallet_balance=500.0,
    ...                          maintenance_margin=0.0, mark=100.0)
    >>> classic_ranking(b).round(4)
    array([0.6061])
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        pnl_pct = np.where(
            book.size != 0.0, book.side * (book.mark - book.entry_price) / book.entry_price, 0.0
        )
        lev = effective_leverage(book)
        score = np.where(pnl_pct > 0.0, pnl_pct * lev, pnl_pct / lev)
    return np.asarray(np.where(book.equity > 0.0, score, -np.inf), dtype=np.float64)


def hyperliquid_ranking(book: PerpBook) -> FloatArray:
    """Return Hyperliquid's ADL sorting index per account; higher is deleveraged first.

    The docs (``trading/auto-deleveraging``) rank "by unrealized pnl and leverage used" with the
    index ``(mark_price / entry_price) · (notional_position / account_value)``. Read literally,
    ``mark / entry`` *falls* as a short gains, which contradicts "ranked by unrealized pnl". So
    for a short we use the mirrored ratio ``1 + (entry − mark) / entry``. For a long that is
    exactly ``mark / entry``. Both are ``1 + PnL%``. The account value is the row's equity;
    accounts with no positive equity score ``-inf``.

    Parameters
    ----------
    book : PerpBook
        The market.

    Returns
    -------
    ndarray of float64
        Scores.

    Examples
    --------
    A long from 100 at mark 110 with notional 1,100 and account value 220: 1.1 × 5 = 5.5.

    >>> b = PerpBook.from_arrays(size=10.0, entry_price=100.0, wallet_balance=120.0,
    ...                          maintenance_margin=0.0, mark=110.0)
    >>> hyperliquid_ranking(b)
    array([5.5])
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(
            book.size != 0.0, 1.0 + book.side * (book.mark - book.entry_price) / book.entry_price, 0
        )
        score = ratio * effective_leverage(book)
    return np.asarray(np.where(book.equity > 0.0, score, -np.inf), dtype=np.float64)


def queue(scores: ArrayLike, book: PerpBook, capacity: ArrayLike, quantity: float) -> FloatArray:
    """Return the quantities a greedy queue closes: best score first, each up to its capacity.

    The order is profitable before unprofitable, then by score (highest first), then by book
    order. This is the "greedy Queue" that Binance and Hyperliquid run (Chitra, Gauntlet,
    9 Dec 2025).

    Parameters
    ----------
    scores : array_like of float
        One ranking per account (`binance_ranking` etc.).
    book : PerpBook
        The market.
    capacity : array_like of float
        Most each account may give up, ≥ 0 (0 for accounts not eligible).
    quantity : float
        Quantity to close, ≥ 0.

    Returns
    -------
    ndarray of float64
        Closed quantity per account, summing to ``min(quantity, Σ capacity)``.

    Examples
    --------
    >>> b = PerpBook.from_arrays(size=[-1.0, -2.0, -3.0], entry_price=[110.0, 120.0, 90.0],
    ...                          wallet_balance=100.0, maintenance_margin=0.0, mark=100.0)
    >>> queue([1.0, 0.5, 9.0], b, [1.0, 2.0, 3.0], 2.5)
    array([1. , 1.5, 0. ])
    """
    score = np.asarray(scores, dtype=np.float64)
    caps = np.asarray(capacity, dtype=np.float64)
    profitable = book.unrealized_pnl > 0.0
    # lexsort sorts by the last key first; it is stable, so equal keys keep book order.
    order = np.lexsort((-score, ~profitable))
    caps_sorted = caps[order]
    before = np.cumsum(caps_sorted) - caps_sorted
    closed_sorted = np.clip(max(quantity, 0.0) - before, 0.0, caps_sorted)
    closed = np.zeros_like(caps)
    closed[order] = closed_sorted
    return closed


def _water_fill(weights: FloatArray, caps: FloatArray, total: float) -> FloatArray:
    # Find the level κ with Σ min(cap_i, κ·w_i) = total. Items sorted by cap/w saturate first.
    # At candidate k the items before k are full, so κ_k = (total − their caps) / (the others'
    # weight). The first k whose own cap/w exceeds κ_k is where the level stops.
    out = np.zeros_like(caps)
    active = (caps > 0.0) & (weights > 0.0)
    if total <= 0.0 or not np.any(active):
        return out
    c, w = caps[active], weights[active]
    if total >= float(np.sum(c)):
        out[active] = c
        return out
    order = np.argsort(c / w, kind="stable")
    c_s, w_s = c[order], w[order]
    caps_before = np.cumsum(c_s) - c_s
    weight_from = float(np.sum(w_s)) - (np.cumsum(w_s) - w_s)
    level = (total - caps_before) / weight_from
    stops = np.flatnonzero(c_s / w_s > level)
    kappa = level[stops[0]] if stops.size else level[-1]
    out[active] = np.minimum(c, kappa * w)
    return out


def _pro_rata_by(
    weights: FloatArray, book: PerpBook, capacity: ArrayLike, quantity: float
) -> FloatArray:
    caps = np.asarray(capacity, dtype=np.float64)
    profitable = book.unrealized_pnl > 0.0
    first = _water_fill(weights, np.where(profitable, caps, 0.0), max(quantity, 0.0))
    rest = quantity - float(np.sum(first))
    # Water-filling rounds; a remainder of a few ulps is not a reason to touch the losers.
    if rest <= 1e-12 * max(quantity, 0.0):
        return first
    return first + _water_fill(weights, np.where(profitable, 0.0, caps), rest)


def pro_rata(book: PerpBook, capacity: ArrayLike, quantity: float) -> FloatArray:
    """Return quantities that cut every profitable counterparty in proportion to its size.

    Closed quantity ``q_i = min(cap_i, κ · |size_i|)``, with one κ chosen so that the total is
    met. Closing the same fraction of every position closes the same fraction of every winner's
    unrealized profit. That is the uniform profit haircut of Chitra's water-filling framing, in
    quantity form, and it needs no ranking. Accounts that hit their capacity drop out and the
    rest share what is left. Unprofitable counterparties are cut, in the same way, only if the
    profitable ones cannot cover the quantity.

    Parameters
    ----------
    book : PerpBook
        The market.
    capacity : array_like of float
        Most each account may give up, ≥ 0.
    quantity : float
        Quantity to close.

    Returns
    -------
    ndarray of float64
        Closed quantity per account, summing to ``min(quantity, Σ capacity)``.

    Examples
    --------
    Two profitable shorts of 1 and 3 share 2 units as 0.5 and 1.5; the losing short is spared:

    >>> b = PerpBook.from_arrays(size=[-1.0, -3.0, -5.0], entry_price=[110.0, 120.0, 90.0],
    ...                          wallet_balance=100.0, maintenance_margin=0.0, mark=100.0)
    >>> pro_rata(b, [1.0, 3.0, 5.0], 2.0)
    array([0.5, 1.5, 0. ])
    """
    return _pro_rata_by(np.abs(book.size), book, capacity, quantity)


def risk_aware_pro_rata(book: PerpBook, capacity: ArrayLike, quantity: float) -> FloatArray:
    """Return quantities that cut each profitable counterparty in proportion to its leverage.

    The fraction of position ``i`` that is closed is ``f_i = min(cap_i / |size_i|, κ · λ_i)``,
    where ``λ_i`` is its `effective_leverage`. So ``q_i = min(cap_i, κ · λ_i · |size_i|)``, with
    one κ solved so the total is met. The most levered winners give up the largest share of
    their positions, and nearly unlevered ones almost nothing. Chitra (Gauntlet, 9 Dec 2025)
    proposed a "risk-aware pro-rata" ADL that assigns the cuts by leverage. His exact weights are
    not reproduced here; this is our definition. The same profitable-first fallback as `pro_rata`
    applies.

    Parameters
    ----------
    book : PerpBook
        The market.
    capacity : array_like of float
        Most each account may give up, ≥ 0; must be 0 where the equity is ≤ 0.
    quantity : float
        Quantity to close.

    Returns
    -------
    ndarray of float64
        Closed quantity per account, summing to ``min(quantity, Σ capacity)``.

    Examples
    --------
    Shorts of 100 at 1x and 100 at 3x share 40 units as 10 and 30:

    >>> b = PerpBook.from_arrays(size=[-100.0, -100.0], entry_price=110.0,
    ...                          wallet_balance=[9_000.0, 2_333.3333333333335],
    ...                          maintenance_margin=0.0, mark=100.0)
    >>> risk_aware_pro_rata(b, [100.0, 100.0], 40.0).round(6)
    array([10., 30.])
    """
    lev = effective_leverage(book)
    weights = np.where(np.isfinite(lev), lev * np.abs(book.size), 0.0)
    return _pro_rata_by(weights, book, capacity, quantity)


@dataclass(frozen=True, slots=True, kw_only=True)
class AdlResult:
    """What one auto-deleveraging closed, one row per account of the book.

    Attributes
    ----------
    policy : AdlPolicy
        The rule used.
    side : int
        Side of the bankrupt position (+1 long, −1 short); counterparties hold the other side.
    price : float
        Price every ADL fill is at, USD.
    quantity : ndarray of float64
        Quantity closed per account, ≥ 0.
    transfer : ndarray of float64
        Equity each account gives up, valued at the mark: ``side · q · (price − mark)``, USD.
        This is what flows to the bankrupt side.
    pnl_closed : ndarray of float64
        Unrealized PnL at the mark of the closed quantity, USD (the "ADL'd PnL").
    new_size, new_wallet_balance, equity_after : ndarray of float64
        Positions, wallet balances (with the closed part's PnL realized at ``price``) and equity
        at the mark after the ADL.
    requested_quantity : float
        Quantity asked for: ``shortfall_qty``, or ``shortfall_usd / |price − mark|``.
    closed_quantity : float
        ``Σ quantity``.
    adl_notional : float
        ``closed_quantity · price``, USD.
    accounts_hit : int
        Accounts with a non-zero closed quantity.
    shortfall_covered_usd : float
        ``Σ transfer``, USD.
    overshoot_usd : float
        ``Σ max(pnl_closed, 0) − shortfall_covered_usd``: profit closed out beyond the shortfall
        covered, USD.
    """

    policy: AdlPolicy
    side: int
    price: float
    quantity: FloatArray
    transfer: FloatArray
    pnl_closed: FloatArray
    new_size: FloatArray
    new_wallet_balance: FloatArray
    equity_after: FloatArray
    requested_quantity: float
    closed_quantity: float
    adl_notional: float
    accounts_hit: int
    shortfall_covered_usd: float
    overshoot_usd: float

    @property
    def prices(self) -> FloatArray:
        """Fill price per account: ``price`` where something was closed, NaN elsewhere."""
        return np.where(self.quantity > 0.0, self.price, np.nan)

    @property
    def unfilled_quantity(self) -> float:
        """Quantity the eligible counterparties could not absorb (``requested − closed``)."""
        return max(self.requested_quantity - self.closed_quantity, 0.0)


def deleverage(
    policy: AdlPolicy | str,
    book: PerpBook,
    *,
    side: int,
    price: float,
    shortfall_qty: float | None = None,
    shortfall_usd: float | None = None,
) -> AdlResult:
    """Close opposite-side positions against a bankrupt position, by `policy`.

    Parameters
    ----------
    policy : AdlPolicy or str
        ``"binance"``, ``"classic"``, ``"hyperliquid"``, ``"pro_rata"`` or
        ``"risk_aware_pro_rata"`` (see the module docstring).
    book : PerpBook
        The market, without the bankrupt position (or with it: it is on ``side``, so it is never
        a counterparty).
    side : int
        Side of the bankrupt position: +1 long, −1 short.
    price : float
        ADL fill price, USD. Binance: "the bankruptcy price of the liquidated order" (mechanics
        §6.2; ``math.bankruptcy_price``). Hyperliquid: "the previous oracle price" (mechanics
        §5.2 and older docs; the current docs say "the previous mark price").
    shortfall_qty : float, optional
        Quantity to close: the part of the bankrupt position that nobody took.
    shortfall_usd : float, optional
        Instead of ``shortfall_qty``: the deficit to cover, USD. The quantity is then
        ``shortfall_usd / (side · (price − mark))``, because each unit closed moves that much
        equity from a counterparty to the bankrupt side. It needs a price worse than the mark
        for the counterparties.

    Returns
    -------
    AdlResult
        Per-account quantities, prices, transfers and the metrics.

    Notes
    -----
    Eligible counterparties hold the opposite side and have positive equity at the mark. Each
    may give up at most its whole position, and at most ``equity / (side · (price − mark))`` when
    that is positive, so no account ends with negative equity because of the ADL. The total
    closed is ``min(requested, Σ capacity)``.

    Examples
    --------
    A bankrupt long of 1.5 at its bankruptcy price 101, mark 100, against two profitable shorts.
    Binance's queue takes the more levered one (row 1) first:

    >>> b = PerpBook.from_arrays(size=[-1.0, -1.0], entry_price=[120.0, 105.0],
    ...                          wallet_balance=[50.0, 10.0], maintenance_margin=1.0, mark=100.0)
    >>> r = deleverage("binance", b, side=1, price=101.0, shortfall_qty=1.5)
    >>> r.quantity, r.transfer, r.accounts_hit, r.adl_notional
    (array([0.5, 1. ]), array([0.5, 1. ]), 2, 151.5)
    >>> r.pnl_closed, r.overshoot_usd
    (array([10.,  5.]), 13.5)
    """
    rule = AdlPolicy(policy)
    if side not in (1, -1):
        raise ValueError(f"expected side +1 or -1, was {side}")
    if (shortfall_qty is None) == (shortfall_usd is None):
        raise ValueError("expected exactly one of shortfall_qty and shortfall_usd")
    # Equity each unit closed moves from a counterparty (side −side) to the bankrupt side.
    per_unit = side * (price - book.mark)
    if shortfall_usd is not None:
        if not per_unit > 0.0:
            raise ValueError(
                f"a USD shortfall needs a price worse than the mark for the counterparties, "
                f"was price {price} vs mark {book.mark} for side {side}"
            )
        requested = max(shortfall_usd, 0.0) / per_unit
    else:
        requested = max(float(shortfall_qty or 0.0), 0.0)

    equity = book.equity
    eligible = (book.side == -side) & (equity > 0.0)
    size_abs = np.abs(book.size)
    if per_unit > 0.0:
        room = np.minimum(size_abs, np.where(eligible, equity, 0.0) / per_unit)
    else:
        room = size_abs
    capacity = np.where(eligible, room, 0.0)

    if rule is AdlPolicy.PRO_RATA:
        closed = pro_rata(book, capacity, requested)
    elif rule is AdlPolicy.RISK_AWARE_PRO_RATA:
        closed = risk_aware_pro_rata(book, capacity, requested)
    else:
        ranking = {
            AdlPolicy.BINANCE: binance_ranking,
            AdlPolicy.CLASSIC: classic_ranking,
            AdlPolicy.HYPERLIQUID: hyperliquid_ranking,
        }[rule]
        closed = queue(ranking(book), book, capacity, requested)

    transfer = closed * per_unit
    pnl_closed = closed * (-side) * (book.mark - book.entry_price)
    covered = float(np.sum(transfer))
    total = float(np.sum(closed))
    return AdlResult(
        policy=rule,
        side=side,
        price=float(price),
        quantity=closed,
        transfer=transfer,
        pnl_closed=pnl_closed,
        new_size=book.size + side * closed,
        new_wallet_balance=book.wallet_balance - side * closed * (price - book.entry_price),
        equity_after=equity - transfer,
        requested_quantity=requested,
        closed_quantity=total,
        adl_notional=total * float(price),
        accounts_hit=int(np.count_nonzero(closed > 0.0)),
        shortfall_covered_usd=covered,
        overshoot_usd=float(np.sum(np.maximum(pnl_closed, 0.0))) - covered,
    )
