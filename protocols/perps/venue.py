"""A perpetual-futures exchange as a simulated off-chain venue: marks from index oracles, funding,
vectorized risk checks, and the liquidation ladder into the venue's own book.

The venue runs one process (no chain, DESIGN "Time"): every ``risk_interval_s`` it reads its
index oracles, sets each market's mark (mechanics §5.3 or §6.4, or the index itself), samples the
premium, settles funding when an interval ends, finds the liquidatable positions through the
book's indexes (`book.VenueBook`) and liquidates them by the ladder of mechanics §0.3:

1. *Backstop first* (Hyperliquid, §5.2): an account whose equity is below 2/3 of its maintenance
   margin is taken over by the liquidator vault, positions and margin, if the vault's capital
   allows.
2. *Book*: market orders for the positions (Hyperliquid: 20 % slices of positions above $100k,
   full size within 30 s of a slice) go to the market's trading venue as one order per side and
   instant; they fill with that venue's impact and move its price, which the index oracles
   observe. A position the book would close beyond its bankruptcy price (``mark − equity /
   size``, ``math.bankruptcy_price`` at the mark) does not go there as a market order:
3. *Insurance fund* (Binance, §6.2): it takes the position over at the bankruptcy price and
   unwinds it in the same order, paying the gap, while its balance covers the loss and the
   notional is within its take-over limit; Hyperliquid's vault plays this part.
4. *ADL*: what nobody took is closed against opposite-side positions at the bankruptcy price
   (the quantity-weighted price of one instant's batch) by the venue's policy
   (`adl.deleverage`); counterparties are never taken below zero equity. What they cannot
   absorb is left to the venue itself (``uncovered``).

Unified (portfolio-margin) accounts (§6.5) are liquidated whole: their collateral is sold into
each asset's spot book (which moves the very index that prices it, §6.6), then their positions
join the ladder with the account's equity split by notional.

Ordering rule at one instant: the venue's check at time t runs after every oracle observation
due at t (it waits for an observer slot twice, see `run`), so a mark always reflects the index
published at the same instant. Inside a check: funding, then complex accounts' collateral sales,
then each market in parameter order, longs (sell orders) before shorts (buy orders).

A halt (`on_event("halt", …)`) stops all of it, and margin transfers, until it ends; positions
carry through and are checked at the first tick after.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from protosim.clock import ProcessGenerator
from protosim.context import SimContext
from protosim.errors import SimulationError
from protosim.events import (
    ROOT,
    BadDebtRealized,
    LiquidationExecuted,
    PositionsBecameLiquidatable,
)
from protosim.interfaces import Oracle
from protosim.protocols.perps.adl import (
    AdlPolicy,
    PerpBook,
    binance_ranking,
    classic_ranking,
    deleverage,
    hyperliquid_ranking,
)
from protosim.protocols.perps.book import VenueBook
from protosim.protocols.perps.events import (
    AdlExecuted,
    BackstopTookOver,
    FundingSettled,
    InsuranceFundChanged,
    VenueHalted,
    VenueResumed,
)
from protosim.protocols.perps.ledger import BatchInsuranceFund, HouseLedger
from protosim.protocols.perps.math import binance_funding_rate, hyperliquid_funding_rate
from protosim.protocols.perps.params import (
    BinanceParams,
    CexPerpParams,
    CollateralParams,
    HyperliquidParams,
    PerpVenueParams,
)
from protosim.protocols.perps.population import build_book
from protosim.scenario import ComponentSpec

if TYPE_CHECKING:
    import pandas as pd

    from protosim.market import Market

__all__ = [
    "PerpVenue",
    "PerpVenueHaltedError",
    "build_binance",
    "build_cex",
    "build_hyperliquid",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

_BOOK, _FUND, _VAULT, _ADL = 0, 1, 2, 3
_ROUTE_NAMES = ("book", "insurance_fund", "vault", "adl")
_CHANGEABLE = ("collateral", "liquidation_fee_rate", "markets")
"""Parameters a running venue takes new values of (`PerpVenue.check_parameters`)."""
_BASIS_EMA_S = 150.0  # Hyperliquid mark: 150 s EMA of (mid − oracle), mechanics §5.3
_MID_EMA_S = 30.0  # Hyperliquid mark: 30 s EMA of the mid when only two inputs exist
_BASIS_MA_S = 30.0  # Binance mark: 30 s moving average of the basis (from 2025-09-18), §6.4


class PerpVenueHaltedError(SimulationError):
    """A margin transfer was sent to a halted perp venue."""

    def __init__(self, venue_id: str) -> None:
        super().__init__(f"perp venue {venue_id!r} is halted")
        self.venue_id = venue_id


def _venue_prices(market: Market, asset: str, venues: tuple[str, ...]) -> list[float]:
    # What `Market.price` gives on each venue (reference price times the venue's trade
    # displacement), from one `Market.price_state`: the reference price is read once.
    state = market.price_state(asset, venues)
    reference = market.reference_price(asset, state.t)
    return [reference * math.exp(log) for _, log in state.venue_logs]


@dataclass(slots=True)
class _MarkState:
    """Running state of one market's mark and premium."""

    basis_num: float = 0.0
    basis_den: float = 0.0
    mid_num: float = 0.0
    mid_den: float = 0.0
    basis: deque[float] = field(default_factory=deque)
    premium_sum: float = 0.0
    premium_n: int = 0
    last_rate: float = 0.0


@dataclass(slots=True)
class _Units:
    """Positions of one market and side being liquidated at one instant."""

    rows: NDArray[np.int32]
    account: IntArray
    size: FloatArray
    equity: FloatArray
    maintenance: FloatArray
    health: FloatArray
    cause: IntArray
    complex_: NDArray[np.bool_]

    def __len__(self) -> int:
        return int(self.rows.size)

    def take(self, which: NDArray[np.bool_] | IntArray) -> _Units:
        return _Units(
            self.rows[which],
            self.account[which],
            self.size[which],
            self.equity[which],
            self.maintenance[which],
            self.health[which],
            self.cause[which],
            self.complex_[which],
        )


_RANKINGS = {
    AdlPolicy.BINANCE: binance_ranking,
    AdlPolicy.CLASSIC: classic_ranking,
    AdlPolicy.HYPERLIQUID: hyperliquid_ranking,
}
_QUEUE_FIRST_CUT = 256


def _queue_subset(
    policy: AdlPolicy, book: PerpBook, side: int, price: float, quantity: float
) -> IntArray | None:
    """Return the rows a queue policy can reach, or None to use the whole book.

    A queue closes profitable rows by descending score until the quantity is met; the rows it
    reaches all score at least the k-th best score for some k whose rows' capacity covers the
    quantity. Passing only the rows scoring at least that (ties included, in book order) gives
    `deleverage` the same result without sorting the whole book.
    """
    ranking = _RANKINGS.get(policy)
    if ranking is None or book.size.size <= _QUEUE_FIRST_CUT:
        return None
    per_unit = side * (price - book.mark)
    equity = book.equity
    size = np.abs(book.size)
    capacity = np.minimum(size, equity / per_unit) if per_unit > 0.0 else size
    capacity = np.where(equity > 0.0, capacity, 0.0)
    profitable = book.unrealized_pnl > 0.0
    if float(capacity[profitable].sum()) < quantity:
        return None
    score = np.where(profitable, ranking(book), -np.inf)
    cut = _QUEUE_FIRST_CUT
    while cut < score.size:
        threshold = np.partition(score, score.size - cut)[score.size - cut]
        chosen = np.flatnonzero(profitable & (score >= threshold))
        if float(capacity[chosen].sum()) >= quantity:
            return chosen
        cut *= 4
    return None


def _cat_units(parts: list[_Units]) -> _Units:
    return _Units(
        np.concatenate([p.rows for p in parts]),
        np.concatenate([p.account for p in parts]),
        np.concatenate([p.size for p in parts]),
        np.concatenate([p.equity for p in parts]),
        np.concatenate([p.maintenance for p in parts]),
        np.concatenate([p.health for p in parts]),
        np.concatenate([p.cause for p in parts]),
        np.concatenate([p.complex_ for p in parts]),
    )


class PerpVenue:
    """A perp exchange: its markets, accounts, insurance fund or vault, and liquidation ladder.

    Parameters
    ----------
    ctx : SimContext
        The run's context (the index and collateral oracles must already be built).
    venue_id : str
        The venue's id.
    params : PerpVenueParams
        Markets, rules and accounts (`HyperliquidParams`, `BinanceParams` or `CexPerpParams`).
    """

    def __init__(self, ctx: SimContext, venue_id: str, params: PerpVenueParams) -> None:
        self.venue_id = venue_id
        self.params = params
        self._ctx = ctx
        market = ctx.market
        self.market_ids: tuple[str, ...] = tuple(params.markets)
        self.index_oracles: dict[str, Oracle] = {}
        for market_id, spec in params.markets.items():
            oracle = ctx.oracle(spec.index_oracle)
            if oracle.asset != spec.asset:
                raise KeyError(
                    f"markets.{market_id}.index_oracle: oracle {spec.index_oracle!r} prices "
                    f"{oracle.asset!r}, not {spec.asset!r}"
                )
            self.index_oracles[market_id] = oracle
            venue = market.venues.get(spec.book)
            if venue is None or venue.asset != spec.asset:
                raise KeyError(
                    f"markets.{market_id}.book: {spec.book!r} is not a trading venue of "
                    f"{spec.asset!r}"
                )
            for k, other in enumerate(spec.cex_perp_books):
                venue = market.venues.get(other)
                if venue is None or venue.asset != spec.asset:
                    raise KeyError(
                        f"markets.{market_id}.cex_perp_books[{k}]: {other!r} is not a trading "
                        f"venue of {spec.asset!r}"
                    )
        self.collateral_assets: tuple[str, ...] = tuple(params.collateral)
        self.collateral_oracles: dict[str, Oracle] = {
            asset: self._collateral_oracle(asset, coll) for asset, coll in params.collateral.items()
        }
        self.marks: dict[str, float] = {m: o.read().price for m, o in self.index_oracles.items()}
        self.index: dict[str, float] = dict(self.marks)
        self.collateral_prices: FloatArray = np.asarray(
            [self.collateral_oracles[a].read().price for a in self.collateral_assets],
            dtype=np.float64,
        )
        streams = [
            ctx.rng.stream(f"population.{venue_id}.{i}") for i in range(len(params.populations))
        ]
        self.book: VenueBook = build_book(
            params,
            marks=self.marks,
            collateral_prices=dict(
                zip(self.collateral_assets, self.collateral_prices, strict=True)
            ),
            streams=streams,
        )
        self.book.rebuild_complex(self.marks, self.collateral_prices, self._price_vector())
        # Prices at the start and at the previous check: what a unified account's liquidation
        # is attributed to (`_complex_causes`).
        self._start_prices: FloatArray = self._price_vector()
        self._prev_prices: FloatArray = self._start_prices
        self._change: tuple[int, FloatArray] | None = None
        """A governance change since the last check: its seq and, per collateral, how much
        it moved the value a unit counts for (haircut × price), for `_complex_causes`."""
        self.fund = BatchInsuranceFund(
            params.insurance_fund_usd, max_position_ratio=params.insurance_max_position_ratio
        )
        vault_usd = params.backstop.vault_usd if params.backstop is not None else 0.0
        self.vault = HouseLedger("vault", cash=vault_usd)
        self.uncovered = HouseLedger("uncovered")
        # The external side holds the open interest the accounts do not, entered at the marks.
        self.external = HouseLedger("external")
        for market_id, book in self.book.markets.items():
            net = float(book.size.sum())
            self.external.trade(market_id, -net, self.marks[market_id])
        self._mark_state = {m: _MarkState() for m in self.market_ids}
        self._mark_inputs: tuple[tuple[str, Oracle, str, tuple[str, ...], _MarkState], ...] | None
        self._mark_inputs = None
        window = max(1, round(_BASIS_MA_S / params.risk_interval_s))
        for state in self._mark_state.values():
            state.basis = deque(maxlen=window)
        self._seq: dict[str, int] = {m: o.read().seq for m, o in self.index_oracles.items()}
        self._vault_cause: dict[str, int] = {}
        self._next_funding = params.funding.interval_s
        self._last_tick: float | None = None
        self._halted_until = -math.inf
        self._halted = False
        self._adl_hit = np.zeros(len(self.book), dtype=np.bool_)
        # Accounts being liquidated in the current check: never ADL counterparties meanwhile.
        self._liquidating = np.zeros(len(self.book), dtype=np.bool_)
        self.totals: dict[str, float] = dict.fromkeys(
            (
                "liquidations",
                "partial_liquidations",
                "liquidated_notional_usd",
                "book_liquidations",
                "insurance_takeovers",
                "vault_takeovers",
                "adl_liquidations",
                "collateral_sold_usd",
                "fees_usd",
                "bad_debt_usd",
                "uncovered_usd",
                "adl_notional_usd",
                "adl_fills",
                "adl_overshoot_usd",
                "adl_pnl_closed_usd",
                "adl_transfers_usd",
                "funding_paid_by_longs_usd",
                "funding_settlements",
                "transfers_usd",
                "halts",
                "checks_skipped_halted",
            ),
            0.0,
        )
        # Collateral is a spot holding nobody in the venue is short: its price moves change
        # the total, by the (constant) quantity held across accounts and house ledgers.
        self._collateral_held = self.book.collateral.sum(axis=1)
        self._collateral_start = self.collateral_prices.copy()
        self._initial = self._system_value()

    # -- wiring -------------------------------------------------------------------------------

    @property
    def chain_id(self) -> str | None:
        """None: the venue is off-chain (a CEX or Hyperliquid's matching engine)."""
        return None

    def start(self) -> None:
        """Start the venue's risk process."""
        self._ctx.clock.start(f"venue.{self.venue_id}", self.run())

    def run(self) -> ProcessGenerator:
        """Check risk at every multiple of ``risk_interval_s``.

        The process waits for an observer slot (`Clock.observe_after`) and then for a second
        one at the same instant, which is scheduled after every observer slot that existed when
        the first fired: so every index oracle due at this instant has published first,
        whatever order the processes were started in.
        """
        clock = self._ctx.clock
        every = self.params.risk_interval_s
        while True:
            due = (math.floor(clock.now / every + 1e-9) + 1) * every
            yield clock.observe_after(due - clock.now)
            yield clock.observe_after(0.0)
            self.check()

    # -- halts and transfers ------------------------------------------------------------------

    @property
    def halted(self) -> bool:
        """Whether the venue is halted now."""
        return self._ctx.clock.now < self._halted_until

    def on_event(self, event: str, value: float, duration_s: float, *, cause: int) -> None:
        """Apply a scheduled venue event (the engine's ``venue_event`` shock calls this).

        Parameters
        ----------
        event : {"halt", "resume"}
            ``halt``: stop trading, liquidating and margin transfers for `duration_s`;
            ``resume``: end a halt now.
        value : float
            Unused by these events (kept for the shock signature).
        duration_s : float
            Length of a halt, seconds.
        cause : int
            ``seq`` of the shock.
        """
        del value
        if event == "halt":
            self.halt(duration_s, cause=cause)
        elif event == "resume":
            self.resume(cause=cause)
        else:
            raise SimulationError(
                f"perp venue {self.venue_id!r} takes events 'halt' and 'resume', was {event!r}"
            )

    def halt(self, duration_s: float, *, cause: int = ROOT) -> None:
        """Halt the venue for `duration_s` seconds from now (extends a running halt)."""
        if not duration_s > 0:
            raise ValueError(f"expected duration_s > 0, was {duration_s}")
        clock = self._ctx.clock
        until = max(self._halted_until, clock.now + duration_s)
        self._halted_until = until
        self._halted = True
        self.totals["halts"] += 1
        self._ctx.log.emit(VenueHalted, cause=cause, venue=self.venue_id, until_s=until)

        def end() -> None:
            if self._halted and clock.now >= self._halted_until:
                self._resume(cause)

        clock.call_at(until, f"venue.{self.venue_id}.resume", end)

    def resume(self, *, cause: int = ROOT) -> None:
        """End a halt now."""
        if self._halted:
            self._halted_until = self._ctx.clock.now
            self._resume(cause)

    def _resume(self, cause: int) -> None:
        self._halted = False
        self._ctx.log.emit(VenueResumed, cause=cause, venue=self.venue_id)

    def transfer_margin(
        self, account: int, amount_usd: float, *, market: str | None = None
    ) -> None:
        """Deposit (> 0) or withdraw (< 0) margin: to the cross wallet, or to the isolated
        margin of the account's position in `market`.

        A withdrawal must leave the margin unit's equity at or above its initial margin at the
        tiers' maximum leverage (Hyperliquid: "remaining margin >= IM required"; §5.2).

        Raises
        ------
        PerpVenueHaltedError
            While the venue is halted.
        ValueError
            When a withdrawal would leave less than the initial margin.
        """
        if self.halted:
            raise PerpVenueHaltedError(self.venue_id)
        book = self.book
        if market is None:
            rows = {
                m: np.flatnonzero((b.account == account) & ~b.isolated & (b.size != 0.0))
                for m, b in book.markets.items()
            }
            if amount_usd < 0:
                self._check_withdrawal(account, amount_usd, rows)
            book.wallet[account] += amount_usd
            for market_id, r in rows.items():
                book.markets[market_id].touch(r[book.markets[market_id].simple[r]], book.wallet)
            local = book.local_of(np.asarray([account]))
            book.mark_complex_dirty(local[local >= 0])
        else:
            mb = book.markets[market]
            r = np.flatnonzero((mb.account == account) & mb.isolated & (mb.size != 0.0))
            if r.size != 1:
                raise ValueError(f"account {account} has no isolated position in {market!r}")
            if amount_usd < 0:
                equity = float(mb.margin[r[0]] + mb.unrealized(r, self.marks[market])[0])
                notional = abs(float(mb.size[r[0]])) * self.marks[market]
                needed = notional / float(mb.tables.max_leverage_at(notional))
                if equity + amount_usd < needed:
                    raise ValueError(
                        f"withdrawal of {-amount_usd} leaves {equity + amount_usd}, "
                        f"below the initial margin {needed}"
                    )
            mb.margin[r] += amount_usd
            mb.touch(r, book.wallet)
        self.totals["transfers_usd"] += amount_usd

    def _check_withdrawal(self, account: int, amount: float, rows: Mapping[str, IntArray]) -> None:
        book = self.book
        equity = float(book.wallet[account])
        needed = 0.0
        for market_id, r in rows.items():
            mb = book.markets[market_id]
            mark = self.marks[market_id]
            equity += float(mb.unrealized(r, mark).sum())
            notional = np.abs(mb.size[r]) * mark
            needed += float((notional / mb.tables.max_leverage_at(notional)).sum())
        if book.collateral.size:
            held = book.collateral[:, account] * self.collateral_prices
            equity += float((held * book.collateral_rates).sum())
        if equity + amount < needed:
            raise ValueError(
                f"withdrawal of {-amount} leaves {equity + amount}, below the initial margin "
                f"{needed}"
            )

    # -- marks and funding --------------------------------------------------------------------

    def _price_vector(self) -> FloatArray:
        return np.asarray(
            [self.marks[m] for m in self.market_ids] + self.collateral_prices.tolist(),
            dtype=np.float64,
        )

    def _update_marks(self, now: float) -> None:
        dt = self.params.risk_interval_s if self._last_tick is None else now - self._last_tick
        self._last_tick = now
        rule = self.params.mark
        market = self._ctx.market
        inputs = self._mark_inputs
        if inputs is None:
            # Per market, what its mark reads, gathered once: this runs every second.
            gathered = []
            for market_id, oracle in self.index_oracles.items():
                spec = self.params.markets[market_id]
                books: tuple[str, ...] = (spec.book,)
                if rule == "hyperliquid":
                    books += spec.cex_perp_books
                gathered.append((market_id, oracle, spec.asset, books, self._mark_state[market_id]))
            inputs = self._mark_inputs = tuple(gathered)
        for market_id, oracle, asset, venues, state in inputs:
            reading = oracle.read()
            index = reading.price
            self._seq[market_id] = reading.seq
            self.index[market_id] = index
            if len(venues) == 1:
                mid = market.price(asset, venues[0])
                cex: tuple[float, ...] = ()
            else:
                mid, *others = _venue_prices(market, asset, venues)
                cex = tuple(others)
            state.premium_sum += (mid - index) / index
            state.premium_n += 1
            if rule == "index":
                self.marks[market_id] = index
            elif rule == "hyperliquid":
                self.marks[market_id] = self._hyperliquid_mark(state, index, mid, dt, cex)
            else:
                self.marks[market_id] = self._binance_mark(state, index, mid, now)
        for k, asset in enumerate(self.collateral_assets):
            self.collateral_prices[k] = self.collateral_oracles[asset].read().price

    @staticmethod
    def _hyperliquid_mark(
        state: _MarkState,
        oracle: float,
        mid: float,
        dt: float,
        cex_mids: Sequence[float] = (),
    ) -> float:
        # Mechanics §5.3: median of (i) oracle + 150 s EMA of (mid − oracle), (ii) the book's
        # mid and (iii) the median of the other exchanges' perp mids; only where the scenario
        # names none does a 30 s EMA of the mid stand in for (iii) ("if only two inputs
        # exist"). Without (iii) the mark is two parts Hyperliquid's own book, so liquidation
        # sales into a thin book drag it far from every other venue. EMA update as the docs
        # give it: num ← num·e^(−t/τ) + sample·t, den ← den·e^(−t/τ) + t.
        decay = math.exp(-dt / _BASIS_EMA_S)
        state.basis_num = state.basis_num * decay + (mid - oracle) * dt
        state.basis_den = state.basis_den * decay + dt
        first = oracle + state.basis_num / state.basis_den
        if cex_mids:
            # The median in plain Python: numpy's costs ~10 µs a call, once a second a market.
            ordered = sorted(cex_mids)
            half = len(ordered) // 2
            third = ordered[half] if len(ordered) % 2 else (ordered[half - 1] + ordered[half]) / 2
        else:
            decay = math.exp(-dt / _MID_EMA_S)
            state.mid_num = state.mid_num * decay + mid * dt
            state.mid_den = state.mid_den * decay + dt
            third = state.mid_num / state.mid_den
        return sorted((first, mid, third))[1]

    def _binance_mark(self, state: _MarkState, index: float, last: float, now: float) -> float:
        # Mechanics §6.4: median(P1, P2, last price) with P1 = index · (1 + last funding rate ·
        # time to funding / interval) and P2 = index + 30 s moving average of (last − index).
        interval = self.params.funding.interval_s
        state.basis.append(last - index)
        p1 = index * (1.0 + state.last_rate * max(self._next_funding - now, 0.0) / interval)
        p2 = index + sum(state.basis) / len(state.basis)
        return sorted((p1, p2, last))[1]

    def _settle_funding(self) -> None:
        spec = self.params.funding
        hours = spec.interval_s / 3600.0
        book = self.book
        log = self._ctx.log
        for market_id, mb in book.markets.items():
            state = self._mark_state[market_id]
            premium = state.premium_sum / state.premium_n if state.premium_n else 0.0
            state.premium_sum, state.premium_n = 0.0, 0
            if spec.rule == "hyperliquid":
                hourly = hyperliquid_funding_rate(
                    premium,
                    interest_rate=spec.interest_rate,
                    clamp=spec.clamp,
                    hourly_cap=spec.cap if spec.cap is not None else 0.04,
                )
                rate, price = hourly * hours, self.index[market_id]
            else:
                rate = binance_funding_rate(
                    premium,
                    interval_hours=hours,
                    interest_rate=spec.interest_rate,
                    clamp=spec.clamp,
                    cap=spec.cap,
                )
                price = self.marks[market_id]
            state.last_rate = rate
            pay = mb.size * (price * rate)
            iso = mb.isolated
            mb.margin -= np.where(iso, pay, 0.0)
            book.wallet -= np.bincount(mb.account, np.where(iso, 0.0, pay), minlength=len(book))
            house_pay = 0.0
            for ledger in (self.vault, self.uncovered):
                paid = ledger.positions.get(market_id, 0.0) * price * rate
                ledger.cash -= paid
                house_pay += paid
            self.external.cash += float(pay.sum()) + house_pay
            longs = float(pay[mb.size > 0.0].sum())
            self.totals["funding_paid_by_longs_usd"] += longs
            self.totals["funding_settlements"] += 1
            log.emit(
                FundingSettled,
                cause=self._seq[market_id],
                venue=self.venue_id,
                market=market_id,
                rate=rate,
                price=price,
                longs_paid_usd=longs,
            )
            mb.refresh_keys(np.flatnonzero(mb.simple), book.wallet)
            mb.resort()
        book.complex.stale = True

    def _collateral_oracle(self, asset: str, coll: CollateralParams) -> Oracle:
        """Return the oracle `coll` values `asset` by, after checking its wiring."""
        try:
            oracle = self._ctx.oracle(coll.oracle)
        except KeyError as exc:
            raise KeyError(f"collateral.{asset}.oracle: {exc.args[0]}") from None
        if oracle.asset != asset:
            raise KeyError(
                f"collateral.{asset}.oracle: oracle {coll.oracle!r} prices "
                f"{oracle.asset!r}, not {asset!r}"
            )
        if coll.book is not None:
            venue = self._ctx.market.venues.get(coll.book)
            if venue is None or venue.asset != asset:
                raise KeyError(
                    f"collateral.{asset}.book: {coll.book!r} is not a trading venue of {asset!r}"
                )
        return oracle

    # -- governance ---------------------------------------------------------------------------

    def check_parameters(self, params: PerpVenueParams) -> None:
        """Raise KeyError (its message starts with the key path) if `params` changes more than
        a running venue takes: how a collateral is valued (``collateral.<asset>.oracle``, as
        Binance moved wBETH, BNSOL and USDe to redemption-rate pricing after 10 October 2025),
        its haircut (``collateral_rate``) and the book it is sold on, and liquidation fees.
        """
        old = self.params
        for name in type(old).model_fields:
            if name not in _CHANGEABLE and getattr(old, name) != getattr(params, name):
                raise KeyError(
                    f"{name}: cannot change in a running venue (changeable: collateral.<asset>"
                    ".oracle, .collateral_rate and .book, liquidation_fee_rate and "
                    "markets.<id>.liquidation_fee_rate)"
                )
        if set(old.collateral) != set(params.collateral):
            raise KeyError("collateral: cannot add or remove a collateral asset in a running venue")
        for market_id, before in old.markets.items():
            after = params.markets[market_id]
            for name in type(before).model_fields:
                if name != "liquidation_fee_rate" and getattr(before, name) != getattr(after, name):
                    raise KeyError(f"markets.{market_id}.{name}: cannot change in a running venue")
        for asset, coll in params.collateral.items():
            self._collateral_oracle(asset, coll)

    def change_parameters(self, params: PerpVenueParams, *, cause: int) -> None:
        """Take `params` from now on (see `check_parameters`): collateral is valued by its new
        oracle and haircut from this instant, and every unified account is looked at again.
        """
        self.check_parameters(params)
        self.params = params
        book = self.book
        before = book.collateral_rates * self.collateral_prices
        for k, asset in enumerate(self.collateral_assets):
            coll = params.collateral[asset]
            self.collateral_oracles[asset] = self._collateral_oracle(asset, coll)
            self.collateral_prices[k] = self.collateral_oracles[asset].read().price
            book.collateral_rates[k] = coll.collateral_rate
        moved = book.collateral_rates * self.collateral_prices - before
        if self._change is not None:  # two changes before a check: both moves, the later seq
            moved = moved + self._change[1]
        self._change = (cause, moved)
        book.complex.stale = True

    # -- the risk check -----------------------------------------------------------------------

    def check(self) -> None:
        """Update marks, settle funding if due, and liquidate what is liquidatable now."""
        now = self._ctx.clock.now
        if self.halted:
            self.totals["checks_skipped_halted"] += 1
            # A funding interval that ends during a halt is not settled (no trading, no
            # settlement); the next one accrues from the resumption.
            while self._next_funding <= now:
                self._next_funding += self.params.funding.interval_s
            return
        if len(self.book.complex):
            self._prev_prices = self._price_vector()
        self._update_marks(now)
        if now >= self._next_funding - 1e-9:
            self._settle_funding()
            while self._next_funding <= now + 1e-9:
                self._next_funding += self.params.funding.interval_s
        simple = {m: self.book.markets[m].liquidatable(self.marks[m]) for m in self.market_ids}
        complex_local = self._complex_candidates()
        count = sum(int(r.size) for r in simple.values()) + int(complex_local.size)
        if count:
            self._liquidate(simple, complex_local)
        self._change = None
        if self._vault_cause:
            self._unwind_vault()

    def _unwind_vault(self) -> None:
        # The liquidator vault closes what it took over into the book, a share per check.
        backstop = self.params.backstop
        if backstop is None:
            return
        half_life = backstop.unwind_half_life_s
        share = (
            1.0
            if half_life == 0
            else -math.expm1(-math.log(2.0) * self.params.risk_interval_s / half_life)
        )
        market = self._ctx.market
        for market_id, cause in list(self._vault_cause.items()):
            held = self.vault.positions.get(market_id, 0.0)
            book_id = self.params.markets[market_id].book
            if market.halted(book_id):
                continue
            mark = self.marks[market_id]
            quantity = held if abs(held) * mark * (1.0 - share) < 1.0 else held * share
            if quantity == 0.0:
                del self._vault_cause[market_id]
                continue
            try:
                fill = market.trade(
                    book_id, -quantity, trader=f"{self.venue_id}.vault", cause=cause
                )
            except ValueError:
                continue  # the pool cannot deliver that much now; try again next check
            self.vault.trade(market_id, -quantity, fill.average_price)
            self.external.trade(market_id, quantity, fill.average_price)
            if quantity == held:
                del self._vault_cause[market_id]

    def _complex_candidates(self) -> IntArray:
        book = self.book
        if len(book.complex) == 0:
            return np.empty(0, dtype=np.int64)
        prices = self._price_vector()
        if book.complex.stale:
            book.rebuild_complex(self.marks, self.collateral_prices, prices)
        watched = book.watched_complex(prices)
        if watched.size and book.complex_rebuild_due(int(watched.size)):
            book.rebuild_complex(self.marks, self.collateral_prices, prices)
            watched = book.watched_complex(prices)
        if watched.size == 0:
            return watched
        state = book.complex_state(self.marks, self.collateral_prices, np.sort(watched))
        return state.local[state.liquidatable]

    def _cause_all(self) -> int:
        seqs = [self._seq[m] for m in self.market_ids]
        seqs += [o.read().seq for o in self.collateral_oracles.values()]
        return max(seqs)

    def _liquidate(self, simple: Mapping[str, NDArray[np.int32]], complex_local: IntArray) -> None:
        ctx = self._ctx
        market = ctx.market
        book = self.book
        # Markets whose book is halted wait (a VenueHaltedError would be raised).
        halted = {m for m in self.market_ids if market.halted(self.params.markets[m].book)}
        coll_halted = any(
            spec.book is not None and market.halted(spec.book)
            for spec in self.params.collateral.values()
        )
        if complex_local.size and (coll_halted or halted):
            # Retry them at the next check: their keys still bound them, but be exact.
            book.mark_complex_dirty(complex_local)
            complex_local = complex_local[:0]
        units: dict[str, list[_Units]] = {m: [] for m in self.market_ids}
        notional = 0.0
        count = 0
        for market_id, rows in simple.items():
            if rows.size == 0 or market_id in halted:
                continue
            mb = book.markets[market_id]
            mark = self.marks[market_id]
            r = rows.astype(np.int64)
            equity = mb.margin_of(r, book.wallet) + mb.unrealized(r, mark)
            mm = mb.maintenance(r, mark)
            with np.errstate(divide="ignore", invalid="ignore"):
                health = np.where(mm > 0.0, equity / np.where(mm > 0.0, mm, 1.0), np.inf)
            units[market_id].append(
                _Units(
                    rows,
                    mb.account[rows].astype(np.int64),
                    mb.size[rows].copy(),
                    equity,
                    mm,
                    health,
                    np.full(rows.size, self._seq[market_id], dtype=np.int64),
                    np.zeros(rows.size, dtype=np.bool_),
                )
            )
            notional += float(np.abs(mb.size[rows]).sum() * mark)
            count += int(rows.size)
        if complex_local.size:
            count += int(complex_local.size)
            notional += self._complex_notional(complex_local)
        if count == 0:
            return
        cause = max(
            [self._seq[m] for m in self.market_ids if units[m]]
            + ([self._cause_all()] if complex_local.size else [])
        )
        ctx.log.emit(
            PositionsBecameLiquidatable,
            cause=cause,
            venue=self.venue_id,
            count=count,
            debt_usd=notional,
        )
        involved = [p.account for parts in units.values() for p in parts]
        if complex_local.size:
            involved.append(book.complex.accounts[complex_local])
        flagged = np.concatenate(involved)
        self._liquidating[flagged] = True
        try:
            if complex_local.size:
                # Closed accounts keep their (now loose) keys: with no margin to maintain
                # they are never liquidatable, so the index needs no rebuild.
                self._liquidate_complex(complex_local, units)
            for market_id in self.market_ids:
                parts = units[market_id]
                if not parts:
                    continue
                merged = _cat_units(parts) if len(parts) > 1 else parts[0]
                for side in (1.0, -1.0):
                    keep = np.sign(merged.size) == side
                    if keep.any():
                        self._liquidate_side(market_id, merged.take(keep), int(side))
        finally:
            self._liquidating[flagged] = False

    def _complex_notional(self, local: IntArray) -> float:
        state = self.book.complex_state(self.marks, self.collateral_prices, local)
        return float(state.notional.sum())

    # -- unified / multi-position accounts ----------------------------------------------------

    def _liquidate_complex(self, local: IntArray, units: dict[str, list[_Units]]) -> None:
        ctx = self._ctx
        book = self.book
        cx = book.complex
        accounts = cx.accounts[local]
        state = book.complex_state(self.marks, self.collateral_prices, local)
        health = state.health
        causes = self._complex_causes(local)
        # 1. Sell every collateral asset into its spot book (or convert at the index).
        for k, asset in enumerate(self.collateral_assets):
            quantity = book.collateral[k, accounts]
            held = quantity > 0.0
            if not held.any():
                continue
            who = accounts[held]
            q = quantity[held]
            index_price = float(self.collateral_prices[k])
            spec = self.params.collateral[asset]
            total = float(q.sum())
            if spec.book is not None:
                fill = ctx.market.quote(spec.book, -total)
                price = fill.average_price
                liquidator = "book"
            else:
                price, liquidator = index_price, "index"
            proceeds = q * price
            first = ctx.log.emit_batch(
                LiquidationExecuted,
                int(who.size),
                cause=causes[held],
                venue=self.venue_id,
                account=who,
                liquidator=liquidator,
                collateral_asset=asset,
                debt_asset="USD",
                debt_repaid=proceeds,
                collateral_seized=q,
                protocol_fee=0.0,
                debt_repaid_usd=proceeds,
                collateral_seized_usd=q * index_price,
                health_before=health[held],
            )
            if spec.book is not None:
                done = ctx.market.trade(
                    spec.book,
                    -total,
                    trader=f"{self.venue_id}.liquidation",
                    cause=first,
                    cause_span=int(who.size),
                )
                price = done.average_price
                proceeds = q * price
            book.wallet[who] += proceeds
            book.collateral[k, who] = 0.0
            self.external.trade(asset, total, price)
            self.totals["collateral_sold_usd"] += float(proceeds.sum())
            self.totals["liquidations"] += who.size
        # 2. Their cross positions join the ladder, the account's equity split by notional.
        after = book.complex_state(self.marks, self.collateral_prices, local)
        weight = np.where(after.notional > 0.0, after.notional, 1.0)
        for market_id, mb in book.markets.items():
            rows = cx.row_of[market_id][local]
            pick = rows >= 0
            pick[pick] = mb.size[rows[pick]] != 0.0
            j = np.flatnonzero(pick)
            rows = rows[j]
            if rows.size == 0:
                continue
            mark = self.marks[market_id]
            share = np.abs(mb.size[rows]) * mark / weight[j]
            units[market_id].append(
                _Units(
                    rows,
                    mb.account[rows].astype(np.int64),
                    mb.size[rows].copy(),
                    after.equity[j] * share,
                    mb.maintenance(rows, mark),
                    health[j],
                    causes[j],
                    np.ones(rows.size, dtype=np.bool_),
                )
            )
        # The equity now lives in the units; each unit's residual is added back as it settles.
        book.wallet[accounts] = 0.0

    def _complex_causes(self, local: IntArray) -> IntArray:
        """Return, per complex account, the seq of the reading that made it liquidatable: of
        the index and collateral oracles it depends on, and a governance change since the
        previous check (a collateral's new oracle or haircut), the one whose move since then
        cost it most (exposure × move: a position's size, a collateral's haircut quantity; for
        the change, each collateral's quantity × the change in haircut × price); if nothing
        moved against it then (funding, an ADL fill), the oracle whose move since the start
        did. Taking the newest reading of any oracle instead would blame whichever oracle
        happened to publish last in the instant.
        """
        book = self.book
        cx = book.complex
        prices = self._price_vector()
        accounts = cx.accounts[local]
        n_markets = len(self.market_ids)
        exposure = np.zeros((prices.size, local.size))
        for j, market_id in enumerate(self.market_ids):
            rows = cx.row_of[market_id][local]
            has = rows >= 0
            exposure[j, has] = book.markets[market_id].size[rows[has]]
        for k in range(len(self.collateral_assets)):
            exposure[n_markets + k] = book.collateral[k, accounts] * book.collateral_rates[k]
        seqs = np.asarray(
            [self._seq[m] for m in self.market_ids]
            + [o.read().seq for o in self.collateral_oracles.values()],
            dtype=np.int64,
        )
        step = exposure * (prices - self._prev_prices)[:, None]
        since_start = exposure * (prices - self._start_prices)[:, None]
        if self._change is not None:
            # The check's previous prices already include the change's new collateral prices,
            # so no oracle's step holds what the change moved: it is a row of its own (and
            # never the fallback).
            change_seq, moved = self._change
            by_change = (book.collateral[:, accounts] * moved[:, None]).sum(axis=0)
            step = np.vstack([step, by_change[None, :]])
            seqs = np.append(seqs, change_seq)
            since_start = np.vstack([since_start, np.full((1, local.size), np.inf)])
        pick = np.where(
            step.min(axis=0) < 0.0, np.argmin(step, axis=0), np.argmin(since_start, axis=0)
        )
        out: IntArray = seqs[pick]
        return out

    # -- one market, one side -----------------------------------------------------------------

    def _vault_accepts(
        self, equity: FloatArray, candidates: NDArray[np.bool_], committed: float = 0.0
    ) -> NDArray[np.bool_]:
        # `committed`: equity of take-overs already accepted in this batch, not yet booked.
        backstop = self.params.backstop
        out = np.zeros(equity.size, dtype=np.bool_)
        if backstop is None or not candidates.any():
            return out
        idx = np.flatnonzero(candidates)
        # Gains first, then losses; accept the prefix the vault's equity can carry.
        order = idx[np.argsort(-equity[idx], kind="stable")]
        running = self.vault_equity() + committed + np.cumsum(equity[order])
        bad = np.flatnonzero(running < backstop.min_equity_usd)
        stop = int(bad[0]) if bad.size else order.size
        out[order[:stop]] = True
        return out

    def _fund_accepts(
        self, loss: FloatArray, notional: FloatArray, candidates: NDArray[np.bool_]
    ) -> NDArray[np.bool_]:
        out = np.zeros(loss.size, dtype=np.bool_)
        if not candidates.any():
            return out
        limit = self.fund.balance * self.params.insurance_max_position_ratio
        idx = np.flatnonzero(candidates & (notional <= limit))
        if self.fund.exhausted or idx.size == 0:
            return out
        order = idx[np.argsort(loss[idx], kind="stable")]
        running = np.cumsum(loss[order])
        stop = int(np.searchsorted(running, self.fund.available, side="right"))
        out[order[:stop]] = True
        return out

    def _book_price(self, book_id: str, quantity: float) -> float | None:
        if quantity == 0.0:
            return None
        try:
            return self._ctx.market.quote(book_id, quantity).average_price
        except ValueError:
            # The pool cannot deliver that much (a constant-product pool has finite inventory).
            return None

    def _route(
        self, market_id: str, u: _Units
    ) -> tuple[NDArray[np.int8], FloatArray, FloatArray, float | None]:
        """Decide who takes each position: vault first (weak accounts), then the book where
        it fills no worse than the bankruptcy price, then the fund or vault, then ADL.

        Returns the route per row, the quantity each row closes, its bankruptcy price and the
        book's quoted average price for the whole batch (None if the book cannot fill it).
        """
        mb = self.book.markets[market_id]
        mark = self.marks[market_id]
        n = len(u)
        route = np.full(n, _BOOK, dtype=np.int8)
        backstop = self.params.backstop
        if backstop is not None:
            weak = u.equity < backstop.equity_fraction_of_mm * u.maintenance
            route[self._vault_accepts(u.equity, weak)] = _VAULT
        x = u.size.copy()
        partial = self.params.partial
        if partial is not None:
            big = np.abs(u.size) * mark > partial.min_notional_usd
            cooled = self._ctx.clock.now - mb.partial_at[u.rows] >= partial.cooldown_s
            x = np.where(big & cooled & ~u.complex_, u.size * partial.fraction, u.size)
        in_book = route == _BOOK
        quote = self._book_price(self.params.markets[market_id].book, -float(x[in_book].sum()))
        with np.errstate(divide="ignore", invalid="ignore"):
            bankrupt_price = mark - u.equity / u.size
        # Without a quote the book cannot fill the batch: nothing goes there as market orders.
        solvent = np.zeros(n, np.bool_) if quote is None else u.equity + x * (quote - mark) >= 0.0
        insolvent = in_book & ~solvent
        if insolvent.any():
            if backstop is not None:
                committed = float(u.equity[route == _VAULT].sum())
                route[self._vault_accepts(u.equity, insolvent, committed)] = _VAULT
            elif quote is not None:
                loss = np.maximum(-u.size * (quote - bankrupt_price), 0.0)
                route[self._fund_accepts(loss, np.abs(u.size) * mark, insolvent)] = _FUND
            route[insolvent & (route == _BOOK)] = _ADL
        x = np.where(route == _BOOK, x, u.size)
        return route, x, bankrupt_price, quote

    def _liquidate_side(self, market_id: str, u: _Units, side: int) -> None:
        ctx = self._ctx
        spec = self.params.markets[market_id]
        mark = self.marks[market_id]
        route, x, bankrupt_price, _ = self._route(market_id, u)
        # Rows that trade come first, so the book order names a contiguous cause range.
        order = np.argsort(np.where(route <= _FUND, 0, route), kind="stable")
        u = u.take(order)
        route, x, bankrupt_price = route[order], x[order], bankrupt_price[order]
        traded = route <= _FUND
        trade_qty = -float(x[traded].sum())
        fill_price = mark
        if trade_qty != 0.0:
            # A quote is what the trade will do: nothing moves the book in between.
            fill_price = ctx.market.quote(spec.book, trade_qty).average_price
        price = np.where(
            route == _BOOK, fill_price, np.where(route == _VAULT, mark, bankrupt_price)
        )
        fee = np.zeros(len(u))
        residual = np.zeros(len(u))
        is_book = route == _BOOK
        if is_book.any():
            before_fee = u.equity[is_book] + x[is_book] * (fill_price - mark)
            rate = self.params.fee_rate(market_id)
            fee[is_book] = np.minimum(
                rate * np.abs(x[is_book]) * fill_price, np.maximum(before_fee, 0.0)
            )
            residual[is_book] = before_fee - fee[is_book]
        lost = u.equity - residual  # the equity each account gave up in this liquidation
        first = ctx.log.emit_batch(
            LiquidationExecuted,
            len(u),
            cause=u.cause,
            venue=self.venue_id,
            account=u.account,
            liquidator=np.asarray(_ROUTE_NAMES, dtype=object)[route],
            collateral_asset="USD",
            debt_asset=market_id,
            debt_repaid=np.abs(x),
            collateral_seized=lost,
            protocol_fee=fee,
            debt_repaid_usd=np.abs(x) * price,
            collateral_seized_usd=lost,
            health_before=u.health,
        )
        if trade_qty != 0.0:
            done = ctx.market.trade(
                spec.book,
                trade_qty,
                trader=f"{self.venue_id}.liquidation",
                cause=first,
                cause_span=int(traded.sum()),
            )
            fill_price = done.average_price
            self.external.trade(market_id, -trade_qty, fill_price)
        # Bad debt: what someone other than the trader absorbs (the fund at its fill; the
        # vault and ADL counterparties against the mark).
        deficit = np.maximum(-u.equity, 0.0)
        deficit[is_book] = 0.0
        fund_loss = self._settle_fund(u, route, fee, fill_price, bankrupt_price, first)
        deficit[route == _FUND] = fund_loss[route == _FUND]
        self._settle_vault(market_id, u, route, first)
        if (route == _ADL).any():
            self._deleverage(market_id, u, route == _ADL, bankrupt_price, side, first)
        self._emit_bad_debt(u, route, deficit, first)
        self._write_back(market_id, u, x, residual)
        self._count(market_id, u, route, x, price, fee)

    def _settle_fund(
        self,
        u: _Units,
        route: NDArray[np.int8],
        fee: FloatArray,
        fill_price: float,
        bankrupt_price: FloatArray,
        first: int,
    ) -> FloatArray:
        # Clearance fees in; a take-over at the bankruptcy price unwound at the fill: its
        # gain in, its loss out. Returns each row's loss.
        takeover = np.where(route == _FUND, u.size * (fill_price - bankrupt_price), 0.0)
        gains = float(fee.sum()) + float(np.maximum(takeover, 0.0).sum())
        losses = float(np.maximum(-takeover, 0.0).sum())
        if gains or losses:
            self.fund.collect([gains])
            _, left = self.fund.cover(losses)
            if left > 0.0:
                # Routing keeps the fund's losses within its balance; a float sliver is the
                # venue's own.
                self.uncovered.cash -= left
                self.totals["uncovered_usd"] += left
            self._ctx.log.emit(
                InsuranceFundChanged,
                cause=first,
                cause_span=len(u),
                venue=self.venue_id,
                amount_usd=gains - losses + left,
                balance_usd=self.fund.balance,
            )
        return np.asarray(np.maximum(-takeover, 0.0), dtype=np.float64)

    def _settle_vault(self, market_id: str, u: _Units, route: NDArray[np.int8], first: int) -> None:
        # The vault takes the positions at the mark together with the equity behind them.
        is_vault = route == _VAULT
        if not is_vault.any():
            return
        mark = self.marks[market_id]
        q = float(u.size[is_vault].sum())
        self.vault.positions[market_id] = self.vault.positions.get(market_id, 0.0) + q
        self.vault.cash += float(u.equity[is_vault].sum()) - q * mark
        hit = np.flatnonzero(is_vault)
        self._vault_cause[market_id] = first + int(hit[-1])
        self._ctx.log.emit_batch(
            BackstopTookOver,
            int(hit.size),
            cause=first + hit,
            venue=self.venue_id,
            market=market_id,
            account=u.account[hit],
            quantity=u.size[hit],
            price=mark,
            equity_usd=u.equity[hit],
        )

    def _emit_bad_debt(
        self, u: _Units, route: NDArray[np.int8], deficit: FloatArray, first: int
    ) -> None:
        hit = np.flatnonzero(deficit > 0.0)
        if not hit.size:
            return
        self._ctx.log.emit_batch(
            BadDebtRealized,
            int(hit.size),
            cause=first + hit,
            venue=self.venue_id,
            account=u.account[hit],
            asset="USD",
            amount=deficit[hit],
            amount_usd=deficit[hit],
            treatment=np.asarray(_ROUTE_NAMES, dtype=object)[route[hit]],
        )
        self.totals["bad_debt_usd"] += float(deficit[hit].sum())

    def _count(
        self,
        market_id: str,
        u: _Units,
        route: NDArray[np.int8],
        x: FloatArray,
        price: FloatArray,
        fee: FloatArray,
    ) -> None:
        t = self.totals
        t["liquidations"] += len(u)
        t["liquidated_notional_usd"] += float((np.abs(x) * price).sum())
        t["fees_usd"] += float(fee.sum())
        t["book_liquidations"] += int((route == _BOOK).sum())
        t["insurance_takeovers"] += int((route == _FUND).sum())
        t["vault_takeovers"] += int((route == _VAULT).sum())
        t["adl_liquidations"] += int((route == _ADL).sum())
        partial = (route == _BOOK) & (np.abs(x) < np.abs(u.size))
        t["partial_liquidations"] += int(partial.sum())
        mb = self.book.markets[market_id]
        mb.partial_at[u.rows[partial]] = self._ctx.clock.now

    def _write_back(
        self,
        market_id: str,
        u: _Units,
        x: FloatArray,
        residual: FloatArray,
    ) -> None:
        book = self.book
        mb = book.markets[market_id]
        mark = self.marks[market_id]
        new_size = u.size - x
        # Exact zero for closed positions, whatever the float arithmetic left.
        new_size[np.abs(new_size) <= 1e-12 * np.abs(u.size)] = 0.0
        backing = residual - new_size * (mark - mb.entry[u.rows])
        mb.size[u.rows] = new_size
        cx = u.complex_
        iso = mb.isolated[u.rows] & ~cx
        simple_cross = ~mb.isolated[u.rows] & ~cx
        mb.margin[u.rows[iso]] = backing[iso]
        book.wallet[u.account[simple_cross]] = backing[simple_cross]
        if cx.any():
            np.add.at(book.wallet, u.account[cx], residual[cx])
        mb.touch(u.rows[~cx], book.wallet)

    # -- auto-deleveraging --------------------------------------------------------------------

    def _deleverage(
        self,
        market_id: str,
        u: _Units,
        is_adl: NDArray[np.bool_],
        bankrupt_price: FloatArray,
        side: int,
        first: int,
    ) -> None:
        book = self.book
        mb = book.markets[market_id]
        mark = self.marks[market_id]
        idx = np.flatnonzero(is_adl)
        qty = np.abs(u.size[idx])
        total = float(qty.sum())
        price = float((qty * bankrupt_price[idx]).sum() / total)
        # Counterparties: open opposite-side rows of accounts not being liquidated now.
        rows = np.flatnonzero((np.sign(mb.size) == -side) & (mb.size != 0.0))
        rows = rows[~self._liquidating[mb.account[rows]]]
        wallet_row, mm_row = self._adl_rows(market_id, rows)
        equity = wallet_row + mb.unrealized(rows, mark)
        keep = equity > 0.0
        rows, wallet_row, mm_row = rows[keep], wallet_row[keep], mm_row[keep]
        policy = AdlPolicy(self.params.adl_policy)
        result = None
        closed = np.zeros(rows.size)
        if rows.size:
            adl_book = PerpBook.from_arrays(
                size=mb.size[rows],
                entry_price=mb.entry[rows],
                wallet_balance=wallet_row,
                maintenance_margin=mm_row,
                mark=mark,
            )
            subset = _queue_subset(policy, adl_book, side, price, total)
            if subset is not None:
                rows = rows[subset]
                adl_book = PerpBook.from_arrays(
                    size=adl_book.size[subset],
                    entry_price=adl_book.entry_price[subset],
                    wallet_balance=adl_book.wallet_balance[subset],
                    maintenance_margin=adl_book.maintenance_margin[subset],
                    mark=mark,
                )
            result = deleverage(policy, adl_book, side=side, price=price, shortfall_qty=total)
            closed = result.quantity
        filled = float(closed.sum())
        unfilled = max(total - filled, 0.0)
        hit = np.flatnonzero(closed > 0.0)
        if hit.size:
            cp_rows = rows[hit]
            c = closed[hit]
            realized = -side * c * (price - mb.entry[cp_rows])
            accounts = mb.account[cp_rows].astype(np.int64)
            cx = book.is_complex(accounts) & ~mb.isolated[cp_rows]
            iso = mb.isolated[cp_rows]
            mb.size[cp_rows] = mb.size[cp_rows] + side * c
            mb.margin[cp_rows[iso]] += realized[iso]
            plain = ~iso
            np.add.at(book.wallet, accounts[plain], realized[plain])
            mb.touch(cp_rows[~cx], book.wallet)
            book.mark_complex_dirty(book.local_of(accounts[cx]))
            self._adl_hit[accounts] = True
            assert result is not None
            pnl = result.pnl_closed[hit]
            transfer = result.transfer[hit]
            # Pair each counterparty fill with the bankrupt position(s) it took, in order.
            self._emit_adl(market_id, idx, qty, accounts, c, pnl, transfer, price, u, first)
            t = self.totals
            t["adl_notional_usd"] += result.adl_notional
            t["adl_overshoot_usd"] += result.overshoot_usd
            t["adl_pnl_closed_usd"] += float(pnl.sum())
            t["adl_transfers_usd"] += result.shortfall_covered_usd
        if unfilled > 0.0:
            # Nobody left to take it: the venue holds it at the same price (its own loss).
            self.uncovered.trade(market_id, side * unfilled, price)
            self.totals["uncovered_usd"] += max(unfilled * side * (price - mark), 0.0)

    def _adl_rows(self, market_id: str, rows: IntArray) -> tuple[FloatArray, FloatArray]:
        """Return, for ADL ranking, each row's margin and maintenance margin: simple rows
        their own backing; rows of complex accounts their share (by notional) of the account's
        equity less the row's own PnL, so no account can be taken below zero in total.
        """
        book = self.book
        mb = book.markets[market_id]
        mark = self.marks[market_id]
        wallet_row = mb.margin_of(rows, book.wallet)
        mm_row = mb.maintenance(rows, mark)
        cx = ~mb.simple[rows]
        if cx.any():
            state = book.complex_state(self.marks, self.collateral_prices)
            j = book.local_of(mb.account[rows[cx]])
            share = (
                np.abs(mb.size[rows[cx]])
                * mark
                / np.where(state.notional[j] > 0.0, state.notional[j], 1.0)
            )
            equity_share = np.maximum(state.adjusted_equity[j], 0.0) * share
            wallet_row[cx] = equity_share - mb.unrealized(rows[cx], mark)
        return wallet_row, mm_row

    def _emit_adl(
        self,
        market_id: str,
        idx: IntArray,
        qty: FloatArray,
        accounts: IntArray,
        closed: FloatArray,
        pnl: FloatArray,
        transfer: FloatArray,
        price: float,
        u: _Units,
        first: int,
    ) -> None:
        # Cumulative matching: counterparty fills in ADL order against bankrupt positions in
        # liquidation order; each overlap of the two cumulative ranges is one AdlExecuted.
        cp_end = np.cumsum(closed)
        cp_start = cp_end - closed
        bk_end = np.cumsum(qty)
        bk_start = bk_end - qty
        cuts = np.unique(np.concatenate([cp_start, cp_end, bk_start, bk_end]))
        cuts = cuts[cuts <= cp_end[-1] + 1e-12 * cp_end[-1]]
        lo, hi = cuts[:-1], cuts[1:]
        seg = hi - lo
        keep = seg > 1e-12 * max(float(cp_end[-1]), 1.0)
        lo, hi, seg = lo[keep], hi[keep], seg[keep]
        mid = (lo + hi) / 2.0
        i_cp = np.searchsorted(cp_end, mid, side="right")
        i_bk = np.searchsorted(bk_end, mid, side="right")
        i_cp = np.minimum(i_cp, closed.size - 1)
        i_bk = np.minimum(i_bk, qty.size - 1)
        frac = seg / closed[i_cp]
        self._ctx.log.emit_batch(
            AdlExecuted,
            int(seg.size),
            cause=first + idx[i_bk],
            venue=self.venue_id,
            market=market_id,
            account=accounts[i_cp],
            counterparty_of=u.account[idx[i_bk]],
            quantity=seg,
            price=price,
            pnl_usd=pnl[i_cp] * frac,
            transfer_usd=transfer[i_cp] * frac,
        )
        self.totals["adl_fills"] += int(seg.size)

    # -- values and reports -------------------------------------------------------------------

    def vault_equity(self) -> float:
        """Return the liquidator vault's equity at the current marks, USD."""
        return self.vault.value(self._house_prices())

    def _house_prices(self) -> dict[str, float]:
        prices = dict(self.marks)
        prices.update(zip(self.collateral_assets, self.collateral_prices.tolist(), strict=True))
        return prices

    def _system_value(self) -> dict[str, float]:
        prices = self._house_prices()
        equity = self.book.account_equity(self.marks, self.collateral_prices)
        return {
            "accounts": float(equity.sum()),
            "insurance_fund": self.fund.balance,
            "vault": self.vault.value(prices),
            "external": self.external.value(prices),
            "uncovered": self.uncovered.value(prices),
        }

    def conservation(self) -> dict[str, float]:
        """Return each participant's change of value since the start at the current marks.

        Keys: ``trader_pnl_usd`` (accounts' equity change less net deposits),
        ``insurance_fund_change_usd``, ``vault_pnl_usd``, ``external_pnl_usd`` (the book's
        counterparties and the open interest outside the accounts), ``uncovered_pnl_usd`` (the
        venue's own), ``collateral_revaluation_usd`` (the move of the collateral index prices
        times the collateral held, which nobody in the venue is short), and ``residual_usd``:
        the changes less the revaluation, zero up to rounding, because perp trading, funding,
        fees, take-overs, collateral sales and ADL only move value between participants.
        """
        now = self._system_value()
        start = self._initial
        out = {
            "trader_pnl_usd": now["accounts"] - start["accounts"] - self.totals["transfers_usd"],
            "insurance_fund_change_usd": now["insurance_fund"] - start["insurance_fund"],
            "vault_pnl_usd": now["vault"] - start["vault"],
            "external_pnl_usd": now["external"] - start["external"],
            "uncovered_pnl_usd": now["uncovered"] - start["uncovered"],
        }
        changes = sum(out.values())
        moved = self.collateral_prices - self._collateral_start
        revaluation = float(self._collateral_held @ moved) if moved.size else 0.0
        out["collateral_revaluation_usd"] = revaluation
        out["residual_usd"] = changes - revaluation
        return out

    def account_equity(self) -> FloatArray:
        """Return every account's equity at the current marks and collateral prices, USD."""
        return self.book.account_equity(self.marks, self.collateral_prices)

    def metrics(self) -> dict[str, float]:
        """Return liquidation, insurance, ADL, funding and conservation figures of the run."""
        out = dict(self.totals)
        out["accounts"] = float(len(self.book))
        out["positions"] = float(
            sum(int(np.count_nonzero(b.size)) for b in self.book.markets.values())
        )
        out["open_interest_usd"] = float(
            sum(np.abs(b.size).sum() * self.marks[m] for m, b in self.book.markets.items())
        )
        out["insurance_fund_usd"] = self.fund.balance
        out["insurance_inflows_usd"] = self.fund.inflows
        out["insurance_outflows_usd"] = self.fund.outflows
        out["insurance_exhausted"] = float(self.fund.exhausted)
        out["vault_equity_usd"] = self.vault_equity()
        out["adl_accounts_hit"] = float(np.count_nonzero(self._adl_hit))
        out.update(self.conservation())
        return out

    def _health_rows(
        self, marks: Mapping[str, float], collateral_prices: FloatArray
    ) -> pd.DataFrame:
        import pandas as pd

        book = self.book
        state = book.complex_state(marks, collateral_prices)
        frames = []
        for market_id, mb in book.markets.items():
            rows = np.flatnonzero(mb.size != 0.0)
            mark = marks[market_id]
            upnl = mb.unrealized(rows, mark)
            mm = mb.maintenance(rows, mark)
            notional = np.abs(mb.size[rows]) * mark
            equity = mb.margin_of(rows, book.wallet) + upnl
            with np.errstate(divide="ignore", invalid="ignore"):
                health = np.where(mm > 0.0, equity / np.where(mm > 0.0, mm, 1.0), np.inf)
            cx = ~mb.simple[rows]
            if cx.any():
                j = book.local_of(mb.account[rows[cx]])
                base = state.equity[j] - state.collateral_value[j]
                share = notional[cx] / np.where(state.notional[j] > 0, state.notional[j], 1.0)
                equity[cx] = base * share
                health[cx] = state.health[j]
            frames.append(
                pd.DataFrame(
                    {
                        "venue": self.venue_id,
                        "account": mb.account[rows].astype(np.int64),
                        "market": market_id,
                        "size": mb.size[rows],
                        "entry_price": mb.entry[rows],
                        "margin_mode": np.where(mb.isolated[rows], "isolated", "cross"),
                        "collateral_asset": "USD",
                        "debt_asset": self.params.markets[market_id].asset,
                        "collateral_usd": equity,
                        "debt_usd": notional,
                        "health_factor": health,
                    }
                )
            )
        for k, asset in enumerate(self.collateral_assets):
            held = np.flatnonzero(book.collateral[k] > 0.0)
            if held.size == 0:
                continue
            j = book.local_of(held)
            health = np.where(j >= 0, state.health[np.maximum(j, 0)], np.inf)
            frames.append(
                pd.DataFrame(
                    {
                        "venue": self.venue_id,
                        "account": held.astype(np.int64),
                        "market": "",
                        "size": 0.0,
                        "entry_price": 0.0,
                        "margin_mode": "cross",
                        "collateral_asset": asset,
                        "debt_asset": "",
                        "collateral_usd": book.collateral[k, held] * collateral_prices[k],
                        "debt_usd": 0.0,
                        "health_factor": health,
                    }
                )
            )
        if not frames:
            return pd.DataFrame()
        return pd.concat(frames, ignore_index=True)

    def positions_frame(self) -> pd.DataFrame:
        """Return one row per open position, then one per unified collateral holding.

        Columns: ``venue``, ``account``, ``market``, ``size``, ``entry_price``, ``margin_mode``,
        ``collateral_asset`` (``USD`` for a position; the asset for a holding),
        ``debt_asset`` (the market's underlying), ``collateral_usd`` (the equity behind the
        position, or the holding's value), ``debt_usd`` (notional) and ``health_factor``
        (equity over maintenance margin, liquidatable at or below 1; for unified accounts
        ``adjusted equity / (θ · MM)``).
        """
        return self._health_rows(self.marks, self.collateral_prices)

    def health_under(self, prices: Mapping[str, float]) -> FloatArray:
        """Return each `positions_frame` row's health if the index oracles answered `prices`
        (asset → USD; others keep their current value): mark = index, no liquidation.
        """
        marks = {
            m: float(prices.get(self.params.markets[m].asset, self.marks[m]))
            for m in self.market_ids
        }
        coll = np.asarray(
            [
                float(prices.get(a, self.collateral_prices[k]))
                for k, a in enumerate(self.collateral_assets)
            ],
            dtype=np.float64,
        )
        frame = self._health_rows(marks, coll)
        return frame["health_factor"].to_numpy(dtype=np.float64) if len(frame) else np.empty(0)

    def priced_by(self) -> dict[str, tuple[str, ...]]:
        """Return the oracle each market's underlying and each collateral asset is read from."""
        out: dict[str, tuple[str, ...]] = {
            spec.asset: (spec.index_oracle,) for spec in self.params.markets.values()
        }
        out.update({a: (c.oracle,) for a, c in self.params.collateral.items()})
        return out


def _build(ctx: SimContext, spec: ComponentSpec, params: PerpVenueParams) -> PerpVenue:
    return PerpVenue(ctx, spec.id, params)


def build_hyperliquid(
    ctx: SimContext, spec: ComponentSpec, params: HyperliquidParams, where: str
) -> PerpVenue:
    """Build a Hyperliquid-like `PerpVenue` (kind ``perps.hyperliquid``)."""
    del where
    return _build(ctx, spec, params)


def build_binance(
    ctx: SimContext, spec: ComponentSpec, params: BinanceParams, where: str
) -> PerpVenue:
    """Build a Binance-like `PerpVenue` (kind ``perps.binance``)."""
    del where
    return _build(ctx, spec, params)


def build_cex(ctx: SimContext, spec: ComponentSpec, params: CexPerpParams, where: str) -> PerpVenue:
    """Build a generic exchange `PerpVenue` (kind ``perps.cex``)."""
    del where
    return _build(ctx, spec, params)
