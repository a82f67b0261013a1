"""The market: every asset's reference price and its price on each trading venue.

An asset's *reference* price is its exogenous `PricePath` times any scheduled price shocks.
A trading venue (a CEX book, an AMM pool) quotes the reference price displaced by the impact of
the trades made there: ``p_venue(t) = p_ref(t) · exp(d(t))``, where each trade adds to ``d``
through the venue's `ImpactModel` and ``d`` decays back towards zero with the venue's recovery
half-life (infinite by default: impact is permanent, as forced selling was on Black Thursday).
Oracles observe venues; keepers sell into them; that is how one liquidation's sale reaches the
next liquidation's price.
"""

from __future__ import annotations

import bisect
import dataclasses
import functools
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import simpy
from numpy.typing import NDArray

from protosim.clock import Clock
from protosim.errors import SimulationError
from protosim.eventlog import EventLog
from protosim.events import ROOT, TradeExecuted
from protosim.impact import Fill, ImpactModel, SquareRootBook
from protosim.paths import PricePath

_LOOKAHEAD_SAMPLES = 4096
_LOOKAHEAD_FIRST = 512
# Up to this sample number, the time k·dt computed in floats falls in sample k exactly (its
# relative error, 2⁻⁵², is below `PricePath.indices_at`'s 1e-9 grid tolerance): see
# `Market._grid_venue_prices`.
_EXACT_GRID_MAX = 2**22
_EXP_MEMO_SIZE = 64  # distinct log moves whose exp `Market._exp_factor` remembers


class VenueHaltedError(Exception):
    """A trade was sent to a halted venue."""

    def __init__(self, venue_id: str) -> None:
        super().__init__(f"trading venue {venue_id!r} is halted")
        self.venue_id = venue_id


@dataclass(frozen=True, slots=True, kw_only=True)
class TradingVenueParams:
    """A venue where an asset trades against USD, with its impact model."""

    venue_id: str
    asset: str
    impact: ImpactModel
    recovery_half_life_s: float = math.inf
    drain_usd: float = math.inf
    """One-sided flow (USD) that takes a side's depth down by a factor e; infinite: no drain."""
    depth_half_life_s: float = 3_600.0
    """Half-life with which drained or withdrawn depth comes back."""
    peg_to_reference: bool = False
    """Re-balance the model around the asset's reference price at every trade (a stableswap
    pool of a token against its underlying: balanced where the underlying is, not at a fixed
    price). The model must have a ``peg`` field."""

    def __post_init__(self) -> None:
        if not self.recovery_half_life_s > 0:
            raise ValueError(f"expected recovery_half_life_s > 0, was {self.recovery_half_life_s}")
        if not self.drain_usd > 0:
            raise ValueError(f"expected drain_usd > 0, was {self.drain_usd}")
        if not self.depth_half_life_s > 0:
            raise ValueError(f"expected depth_half_life_s > 0, was {self.depth_half_life_s}")


@dataclass(slots=True)
class _Displacement:
    log_offset: float = 0.0
    since_s: float = 0.0
    min_price: float = math.inf
    # Depth of each side as a share of normal (bids absorb sells, asks absorb buys).
    bid_depth: float = 1.0
    ask_depth: float = 1.0
    depth_since_s: float = 0.0
    halted_until: float = 0.0
    frozen_until: float = 0.0


@dataclass(slots=True)
class _Jump:
    start_s: float
    duration_s: float
    log_factor: float
    seq: int


@dataclass(slots=True)
class _Mover:
    t: float
    until: float  # a ramped shock keeps moving the price until its end
    seq: int
    span: int
    venue: str | None  # None: the reference price moved (a shock), so every venue moved
    log_move: float = 0.0  # a trade's own move of its venue's log price
    trader: str = ""


@dataclass(frozen=True, slots=True)
class PriceState:
    """An asset's observed price at one instant, split by what set it: the exogenous path, each
    price shock, and the trade impact on each watched venue (all in log terms).
    """

    t: float
    path_log: float
    jump_logs: tuple[tuple[int, float], ...]
    """``(seq of the shock, its log contribution)`` for every shock applied so far."""
    venue_logs: tuple[tuple[str, float], ...]
    """``(venue, log displacement from trades)`` for every watched venue."""


@dataclass(slots=True)
class _AssetState:
    path: PricePath
    jumps: list[_Jump] = field(default_factory=list)
    movers: list[_Mover] = field(default_factory=list)
    moved: simpy.Event | None = None
    price_memo: tuple[float, int, float] | None = None
    """The last `Market.reference_price` answer: ``(time, number of jumps, price)``."""


def _settled_log_move(jumps: list[_Jump], times: NDArray[np.float64], head: bool) -> float | None:
    """Return the log move `Market._jump_log_multiplier` gives at every one of `times` when
    each of `jumps` is either not started at all of them or fully applied at all of them (the
    same float operations on the one fraction, 0 or 1, each then has); None when one is
    ramping. `times` are increasing, after a first one (`head`) that may be anywhere.
    """
    t_first = float(times[0])
    t_second = float(times[1]) if times.size > 1 else t_first
    return _settled_log_move_at(jumps, t_first, t_second, float(times[-1]), head)


def _settled_log_move_at(
    jumps: list[_Jump], t_first: float, t_second: float, t_last: float, head: bool
) -> float | None:
    """`_settled_log_move` of increasing times from `t_second` (the first when there is one
    time) to `t_last`, after a first one `t_first` that may be anywhere if `head`.
    """
    t_max = max(t_first, t_last)
    t_min = min(t_first, t_second) if head else t_first
    total = 0.0
    for jump in jumps:
        if jump.duration_s > 0:
            if t_max < jump.start_s:
                frac = 0.0  # (t − start) / duration < 0 everywhere, clipped to 0
            elif t_min - jump.start_s >= jump.duration_s:
                frac = 1.0  # the rounded (t − start) / duration is >= 1 everywhere: clipped to 1
            else:
                return None
        elif t_max < jump.start_s:
            frac = 0.0
        elif t_min >= jump.start_s:
            frac = 1.0
        else:
            return None
        total += jump.log_factor * frac
    return total


def _chunk_log_move(
    jumps: list[_Jump], t_from: float, head: bool, start: int, stop: int, step: float
) -> float | None:
    """`_settled_log_move` of the times of a `Market._grid_crossing` chunk: `t_from` if `head`,
    then ``k · step`` for k in ``[start, stop)``.
    """
    if not jumps:
        return 0.0
    t_first = t_from if head else start * step
    t_second = start * step if head else t_first
    return _settled_log_move_at(jumps, t_first, t_second, (stop - 1) * step, head)


def _scaled_outside(
    base: NDArray[np.float64],
    jumped: bool,
    jump_factor: float,
    offset_factor: float,
    low: float,
    high: float,
) -> int | None:
    """Return the first index of ``(base · jump_factor) · offset_factor`` (the jump factor
    only if `jumped`) outside ``[low, high]``, or None.
    """
    prices = base * jump_factor if jumped else base * offset_factor
    if jumped:
        prices *= offset_factor
    outside = ((prices < low) | (prices > high)).nonzero()[0]
    return int(outside[0]) if outside.size else None


def _jump_fraction(jump: _Jump, t: float) -> float:
    """Return how much of `jump` has happened at time `t`, as `Market._jump_log_multiplier`
    computes it element by element.
    """
    if jump.duration_s > 0:
        return min(max((t - jump.start_s) / jump.duration_s, 0.0), 1.0)
    return 1.0 if t >= jump.start_s else 0.0


def _grid_fraction(jump: _Jump, grid: NDArray[np.float64], k: int) -> float:
    return _jump_fraction(jump, float(grid[k]))


class Market:
    """Reference and venue prices of every asset; trades move venue prices.

    Parameters
    ----------
    clock : Clock
        Simulated time.
    log : EventLog
        Where trades are recorded.
    paths : mapping of asset id to PricePath
        The exogenous reference price of each asset.
    venues : sequence of TradingVenueParams
        The trading venues.
    """

    def __init__(
        self,
        clock: Clock,
        log: EventLog,
        paths: dict[str, PricePath],
        venues: Sequence[TradingVenueParams] = (),
    ) -> None:
        self._clock = clock
        self._log = log
        self._assets = {asset: _AssetState(path) for asset, path in paths.items()}
        self._exp_memo: dict[float, float] = {}
        """``np.exp`` of recent log moves (`_exp_factor`)."""
        self.venues: dict[str, TradingVenueParams] = {}
        self._displacement: dict[str, _Displacement] = {}
        for venue in venues:
            if venue.venue_id in self.venues:
                raise ValueError(f"trading venue {venue.venue_id!r} is defined twice")
            if venue.asset not in self._assets:
                raise ValueError(
                    f"trading venue {venue.venue_id!r} trades unknown asset {venue.asset!r}"
                )
            self.venues[venue.venue_id] = venue
            self._displacement[venue.venue_id] = _Displacement()

    # -- prices -------------------------------------------------------------------------------

    @property
    def assets(self) -> tuple[str, ...]:
        """Asset ids with a price."""
        return tuple(self._assets)

    def path(self, asset: str) -> PricePath:
        """Return the exogenous path of `asset`."""
        return self._state(asset).path

    def _state(self, asset: str) -> _AssetState:
        try:
            return self._assets[asset]
        except KeyError:
            raise KeyError(
                f"unknown asset {asset!r}; the market prices {sorted(self._assets)}"
            ) from None

    def _jump_log_multiplier(
        self, state: _AssetState, t: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        total = np.zeros(t.shape, dtype=t.dtype)
        for jump in state.jumps:
            if jump.duration_s > 0:
                # np.clip's values at half its call overhead on the few samples a lookup asks
                # for (NaN propagates; only the sign of a zero may differ, lost in the sum).
                frac = np.minimum(np.maximum((t - jump.start_s) / jump.duration_s, 0.0), 1.0)
            else:
                frac = (t >= jump.start_s).astype(np.float64)
            total += jump.log_factor * frac
        return total

    def reference_prices(self, asset: str, t: NDArray[np.float64]) -> NDArray[np.float64]:
        """Return the reference price of `asset` at each time in `t` (known shocks included)."""
        state = self._state(asset)
        if t.shape == (1,):
            return np.array([self._one_reference_price(state, float(t[0]))])
        base = state.path.prices_at(t)
        if not state.jumps:
            return base
        out: NDArray[np.float64] = base * np.exp(self._jump_log_multiplier(state, t))
        return out

    def _one_reference_price(self, state: _AssetState, t: float) -> float:
        """Return the element `reference_prices` computes at the one time `t` (the engine's
        price sampler asks for one at a time): the same float operations on Python floats,
        and ``np.exp`` of the log move as on an array, so the same bits at a fraction of the
        cost of a dozen one-element array operations.
        """
        price = float(state.path.prices[state.path.index_at(t)])
        if not state.jumps:
            return price
        log_multiplier = 0.0
        for jump in state.jumps:
            log_multiplier += jump.log_factor * _jump_fraction(jump, t)
        return price * self._exp_factor(log_multiplier)

    def reference_price(self, asset: str, t: float | None = None) -> float:
        """Return the reference price of `asset` now, or at time `t`."""
        when = self._clock.now if t is None else t
        state = self._state(asset)
        # Gas, sale quotes, trades and feeds ask for the same instant many times; the price
        # is a function of the time and the (append-only) shocks applied so far.
        memo = state.price_memo
        if memo is not None and memo[0] == when and memo[1] == len(state.jumps):
            return memo[2]
        price = state.path.price_at(when)
        log_multiplier = 0.0
        for jump in state.jumps:
            if jump.duration_s > 0:
                log_multiplier += jump.log_factor * min(
                    max((when - jump.start_s) / jump.duration_s, 0.0), 1.0
                )
            elif when >= jump.start_s:
                log_multiplier += jump.log_factor
        if log_multiplier:
            price *= math.exp(log_multiplier)
        state.price_memo = (when, len(state.jumps), price)
        return price

    def _venue_log_offset(self, venue_id: str, t: float) -> float:
        disp = self._displacement[venue_id]
        half_life = self.venues[venue_id].recovery_half_life_s
        if disp.log_offset == 0.0 or math.isinf(half_life):
            return disp.log_offset
        return float(disp.log_offset * 2.0 ** (-(t - disp.since_s) / half_life))

    def min_reference_price(self, asset: str, horizon_s: float) -> float:
        """Return the lowest reference price of `asset` over ``[0, horizon_s)``: at every path
        sample and at the start and end of every known shock.
        """
        state = self._state(asset)
        grid = np.arange(0.0, horizon_s, state.path.dt_s)
        marks = [
            t for j in state.jumps for t in (j.start_s, j.start_s + j.duration_s) if t < horizon_s
        ]
        lowest = float(self.reference_prices(asset, np.asarray(marks)).min()) if marks else math.inf
        if grid.size > state.path.prices.size or grid.size >= _EXACT_GRID_MAX:
            return min(lowest, float(self.reference_prices(asset, grid).min()))
        # The grid's k-th time is k · dt_s, in sample k. Between the samples where a shock
        # starts or ends its ramp, every shock adds the same log move (none or all of it) to
        # each sample: the lowest price there is the lowest sample times that one factor
        # (rounding keeps the order of products by a positive factor). Only ramps are priced
        # sample by sample.
        prices = state.path.prices
        bounds = {0, grid.size}
        samples = range(grid.size)
        for jump in state.jumps:
            # The fraction only grows with time: the first sample with some of the jump, and
            # the first with all of it.
            fraction = functools.partial(_grid_fraction, jump, grid)
            bounds.add(bisect.bisect_left(samples, True, key=lambda k: fraction(k) > 0.0))
            bounds.add(bisect.bisect_left(samples, True, key=lambda k: fraction(k) >= 1.0))
        for start, stop in itertools.pairwise(sorted(bounds)):
            fractions = [_jump_fraction(jump, float(grid[start])) for jump in state.jumps]
            if any(0.0 < f < 1.0 for f in fractions):
                low = float(self.reference_prices(asset, grid[start:stop]).min())
            else:
                low = float(prices[start:stop].min())
                log_move = 0.0
                for jump, share in zip(state.jumps, fractions, strict=True):
                    log_move += jump.log_factor * share
                if state.jumps:
                    low *= self._exp_factor(log_move)
            lowest = min(lowest, low)
        return lowest

    def _venue_log_offsets(self, venue_id: str, t: NDArray[np.float64]) -> NDArray[np.float64]:
        disp = self._displacement[venue_id]
        half_life = self.venues[venue_id].recovery_half_life_s
        if disp.log_offset == 0.0 or math.isinf(half_life):
            return np.full_like(t, disp.log_offset)
        out: NDArray[np.float64] = disp.log_offset * np.exp2(-(t - disp.since_s) / half_life)
        return out

    def venue_prices(self, venue_id: str, t: NDArray[np.float64]) -> NDArray[np.float64]:
        """Return the price on `venue_id` at times `t`, given the trades made so far."""
        venue = self._venue(venue_id)
        if t.shape == (1,):
            # One time (the engine's sampler): the same operations in floats, as above.
            when = float(t[0])
            reference = self._one_reference_price(self._state(venue.asset), when)
            disp = self._displacement[venue_id]
            half_life = venue.recovery_half_life_s
            if disp.log_offset == 0.0 or math.isinf(half_life):
                return np.array([reference * self._exp_factor(disp.log_offset)])
            decay = float(np.exp2(np.full(1, -(when - disp.since_s) / half_life))[0])
            offset = float(np.exp(np.full(1, disp.log_offset * decay))[0])
            return np.array([reference * offset])
        out: NDArray[np.float64] = self.reference_prices(venue.asset, t) * np.exp(
            self._venue_log_offsets(venue_id, t)
        )
        return out

    def price(self, asset: str, venue: str | None = None) -> float:
        """Return the price of `asset` now: on `venue`, or the reference price if None."""
        now = self._clock.now
        if venue is None:
            return self.reference_price(asset, now)
        if self._venue(venue).asset != asset:
            raise ValueError(f"venue {venue!r} trades {self.venues[venue].asset!r}, not {asset!r}")
        return self.reference_price(asset, now) * math.exp(self._venue_log_offset(venue, now))

    def observed_prices(
        self, asset: str, venues: Sequence[str], t: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        """Return the median over `venues` of the price of `asset` (reference if none)."""
        if not venues:
            return self.reference_prices(asset, t)
        if len(venues) == 1:
            return self.venue_prices(venues[0], t)
        stacked = np.vstack([self.venue_prices(v, t) for v in venues])
        out: NDArray[np.float64] = np.median(stacked, axis=0)
        return out

    def observe(self, asset: str, venues: Sequence[str]) -> float:
        """Return the median price of `asset` over `venues` now (reference if none)."""
        if not venues:
            return self.price(asset)
        if len(venues) == 1:
            return self.price(asset, venues[0])
        return float(np.median([self.price(asset, v) for v in venues]))

    def next_crossing(
        self,
        asset: str,
        venues: Sequence[str],
        *,
        low: float,
        high: float,
        t_from: float,
        t_to: float,
        resolution_s: float = 1.0,
    ) -> float | None:
        """Return the first observation time in ``[t_from, t_to]`` at which the observed price
        is outside the closed band ``[low, high]``, assuming no further trades; None if it stays
        inside.

        Observations are `t_from` and then every multiple of the finer of the path's sample
        spacing and `resolution_s`: a coarse path still moves in between through ramped shocks
        and the decay of trade impact, and an observer sees those at its own cadence.
        """
        if t_to < t_from:
            return None
        state = self._state(asset)
        step = min(state.path.dt_s, resolution_s)
        first = math.floor(t_from / step) + 1
        last = math.floor(t_to / step + 1e-9)  # t_to itself counts despite float error
        # One watched venue on a path sampled every `step` (a feed watching a pool at 1 s):
        # the same prices from the path's samples by number (this runs after every trade).
        if len(venues) == 1 and state.path.dt_s == step and last < _EXACT_GRID_MAX:
            return self._grid_crossing(state, venues[0], low, high, t_from, first, last, step)
        # Most crossings come within a few hundred samples: look ahead in chunks growing to
        # _LOOKAHEAD_SAMPLES, `t_from` itself priced with the first. Each time's price is
        # computed element-wise, so neither the chunking nor that changes the answer.
        start, size = first, _LOOKAHEAD_FIRST
        stop = min(start + size, last + 1)
        times = np.concatenate(([t_from], np.arange(start, stop, dtype=np.float64) * step))
        prices = self.observed_prices(asset, venues, times)
        if not low <= prices[0] <= high:
            return t_from
        while True:
            outside = ((prices < low) | (prices > high)).nonzero()[0]
            if outside.size:
                return float(times[outside[0]])
            start, size = stop, min(4 * size, _LOOKAHEAD_SAMPLES)
            if start > last:
                return None
            stop = min(start + size, last + 1)
            times = np.arange(start, stop, dtype=np.float64) * step
            prices = self.observed_prices(asset, venues, times)

    def _grid_crossing(  # noqa: C901 - a fast and a general path per chunk
        self,
        state: _AssetState,
        venue_id: str,
        low: float,
        high: float,
        t_from: float,
        first: int,
        last: int,
        step: float,
    ) -> float | None:
        """`next_crossing` on the path's own grid for one venue: the same prices as
        `_grid_venue_prices` gives, in the same chunks, with fewer array passes.

        Where every time of a chunk gets the same settled shock move and the same trade
        displacement, each price is ``(p_k · e_jump) · e_offset`` with the two factors the
        one-element ``np.exp`` results `_grid_venue_prices` multiplies by: a product of two
        doubles is correctly rounded in Python as in numpy, so `t_from`'s own price is checked
        first in floats, and a chunk is a slice of the path times two scalars. A time is
        ``k · step`` with k the sample number, as ``np.arange(…, dtype=float64) * step``
        computes it (exact integers below `_EXACT_GRID_MAX`). Anything else (a shock ramping
        during the chunk, a decaying displacement, the path's end) takes `_grid_venue_prices`.
        """
        path_prices = state.path.prices
        disp = self._displacement[venue_id]
        offset_factor: float | None = None
        if disp.log_offset == 0.0 or math.isinf(self._venue(venue_id).recovery_half_life_s):
            offset_factor = self._exp_factor(disp.log_offset)
        head: int | None = state.path.index_at(t_from)
        start, size = first, _LOOKAHEAD_FIRST
        stop = min(start + size, last + 1)
        while True:
            log_move: float | None = None
            if offset_factor is not None and stop <= path_prices.size:
                log_move = _chunk_log_move(state.jumps, t_from, head is not None, start, stop, step)
            if log_move is None:
                times = np.arange(start, stop, dtype=np.float64) * step
                if head is not None:
                    times = np.concatenate(([t_from], times))
                prices = self._grid_venue_prices(state, venue_id, times, start, stop, head)
                if head is not None and not low <= prices[0] <= high:
                    return t_from
                outside = ((prices < low) | (prices > high)).nonzero()[0]
                if outside.size:
                    return float(times[outside[0]])
            else:
                assert offset_factor is not None
                jump_factor = self._exp_factor(log_move) if log_move != 0.0 else 1.0
                if head is not None:
                    price = float(path_prices[head])
                    if log_move != 0.0:
                        price *= jump_factor
                    if not low <= price * offset_factor <= high:
                        return t_from
                found = _scaled_outside(
                    path_prices[start:stop], log_move != 0.0, jump_factor, offset_factor, low, high
                )
                if found is not None:
                    return (start + found) * step
            head = None
            start, size = stop, min(4 * size, _LOOKAHEAD_SAMPLES)
            if start > last:
                return None
            stop = min(start + size, last + 1)

    def _exp_factor(self, log_move: float) -> float:
        """Return ``np.exp`` of `log_move` as the array paths compute it (on an array, not a
        numpy scalar), remembering the last few: the same moves recur in every lookahead.
        """
        factor = self._exp_memo.get(log_move)
        if factor is None:
            if len(self._exp_memo) >= _EXP_MEMO_SIZE:
                self._exp_memo.clear()
            factor = self._exp_memo[log_move] = float(np.exp(np.full(1, log_move))[0])
        return factor

    def _grid_venue_prices(
        self,
        state: _AssetState,
        venue_id: str,
        times: NDArray[np.float64],
        start: int,
        stop: int,
        head: int | None = None,
    ) -> NDArray[np.float64]:
        """Return `venue_prices` of `venue_id` at `times`, which are the path's sample times
        ``k · dt_s`` for k in ``[start, stop)`` (below `_EXACT_GRID_MAX`), preceded by one time
        in sample `head` if given.

        The same values by the same float operations, with fewer array passes: the sample of
        ``k · dt_s`` is k (what `PricePath.indices_at` computes there); a shock that has not
        started at any of the times, or has finished its ramp at all of them, adds the same
        log move (0, or all of it) at each, so one ``exp`` serves them all (np.exp is
        element-wise) and a sum of zeros is left out (``p · exp(0) = p``); so does a constant
        trade displacement.
        """
        venue = self._venue(venue_id)
        prices = state.path.prices
        index = np.arange(start, stop)
        np.minimum(index, prices.size - 1, out=index)
        if head is not None:
            index = np.concatenate(([head], index))
        base = prices[index]
        if state.jumps:
            log_move = _settled_log_move(state.jumps, times, head is not None)
            if log_move is None:  # a shock ramping during these times
                base = base * np.exp(self._jump_log_multiplier(state, times))
            elif log_move != 0.0:
                base = base * np.exp(np.full(1, log_move))
        disp = self._displacement[venue_id]
        if disp.log_offset == 0.0 or math.isinf(venue.recovery_half_life_s):
            # np.exp is element-wise: the exp of the one offset is each element's exp.
            out: NDArray[np.float64] = base * np.exp(np.full(1, disp.log_offset))
        else:
            out = base * np.exp(self._venue_log_offsets(venue_id, times))
        return out

    def _venue(self, venue_id: str) -> TradingVenueParams:
        try:
            return self.venues[venue_id]
        except KeyError:
            raise KeyError(
                f"unknown trading venue {venue_id!r}; known: {sorted(self.venues)}"
            ) from None

    # -- moves --------------------------------------------------------------------------------

    def moved(self, asset: str) -> simpy.Event:
        """Return an event that fires the next time a trade or shock moves `asset`."""
        state = self._state(asset)
        if state.moved is None:
            state.moved = self._clock.env.event()
        return state.moved

    def _record_move(
        self,
        asset: str,
        seq: int,
        span: int,
        venue: str | None,
        duration_s: float = 0.0,
        *,
        log_move: float = 0.0,
        trader: str = "",
    ) -> None:
        state = self._state(asset)
        now = self._clock.now
        state.movers.append(_Mover(now, now + duration_s, seq, span, venue, log_move, trader))
        if state.moved is not None:
            event, state.moved = state.moved, None
            event.succeed(seq)

    def price_state(self, asset: str, venues: Sequence[str]) -> PriceState:
        """Return the current observed price of `asset` on `venues`, split by cause."""
        state = self._state(asset)
        now = self._clock.now
        jumps = []
        for jump in state.jumps:
            if jump.duration_s > 0:
                frac = min(max((now - jump.start_s) / jump.duration_s, 0.0), 1.0)
            else:
                frac = 1.0 if now >= jump.start_s else 0.0
            jumps.append((jump.seq, jump.log_factor * frac))
        return PriceState(
            t=now,
            path_log=math.log(state.path.price_at(now)),
            jump_logs=tuple(jumps),
            venue_logs=tuple((v, self._venue_log_offset(v, now)) for v in venues),
        )

    def attribute(
        self,
        asset: str,
        venues: Sequence[str],
        before: PriceState,
        now: PriceState | None = None,
    ) -> tuple[int, int]:
        """Return ``(seq, span)`` of the cause of the observed move of `asset` since `before`.

        The move is split into the exogenous path, each price shock and the trade impact on the
        watched venues (their mean displacement, as the median of a few venues moves with it);
        the largest part is the cause: ``ROOT`` for the path, the shock's event, or the latest
        trade on a watched venue (which names the liquidations it sold for, if any).
        `now` is this instant's `price_state` of `asset` on `venues`, if the caller has
        already taken it.
        """
        if now is None:
            now = self.price_state(asset, venues)
        earlier = dict(before.jump_logs)
        best: tuple[float, int, int] = (abs(now.path_log - before.path_log), ROOT, 0)
        for seq, value in now.jump_logs:
            delta = abs(value - earlier.get(seq, 0.0))
            if delta > best[0]:
                best = (delta, seq, 1)
        if now.venue_logs:
            was = dict(before.venue_logs)
            impact = abs(
                sum(v - was.get(name, 0.0) for name, v in now.venue_logs) / len(now.venue_logs)
            )
            if impact > best[0]:
                trade = self._largest_trade(asset, [n for n, _ in now.venue_logs], before.t)
                if trade is not None:
                    best = (impact, trade.seq, trade.span)
        return best[1], best[2]

    def _largest_trade(self, asset: str, venues: Sequence[str], since_s: float) -> _Mover | None:
        # The trade on a watched venue that moved its price most since `since_s` (or, if none
        # traded since, the latest before: its impact is what is still decaying).
        watched = set(venues)
        best: _Mover | None = None
        latest: _Mover | None = None
        for mover in reversed(self._state(asset).movers):
            if mover.venue is None or mover.venue not in watched:
                continue
            if mover.t < since_s:
                latest = latest or mover
                break
            if best is None or abs(mover.log_move) > abs(best.log_move):
                best = mover
        return best or latest

    def last_mover(
        self, asset: str, venues: Sequence[str], since_s: float, *, excluding: str = ""
    ) -> tuple[int, int]:
        """Return ``(seq, span)`` of the latest event after `since_s` that moved `asset` where
        `venues` observe it (a shock moves every venue), or ``(ROOT, 0)`` if only the exogenous
        path moved it. Trades by the trader `excluding` are passed over (an agent reacting to
        a gap is not caused by its own last trade).
        """
        watched = set(venues)
        for mover in reversed(self._state(asset).movers):
            if mover.until < since_s or (excluding and mover.trader == excluding):
                continue
            if mover.venue is None or mover.venue in watched:
                return mover.seq, mover.span
        return ROOT, 0

    def apply_jump(self, asset: str, factor: float, duration_s: float, *, seq: int) -> None:
        """Multiply the reference price of `asset` by `factor`, linearly in log over `duration_s`.

        `seq` is the event that applied it (a `ShockApplied`), recorded as the mover.
        """
        if not factor > 0:
            raise ValueError(f"expected a price factor > 0, was {factor}")
        if duration_s < 0:
            raise ValueError(f"expected duration_s >= 0, was {duration_s}")
        state = self._state(asset)
        state.jumps.append(_Jump(self._clock.now, duration_s, math.log(factor), seq))
        self._record_move(asset, seq, 1, None, duration_s)

    # -- liquidity and availability ------------------------------------------------------------

    def depth(self, venue_id: str) -> tuple[float, float]:
        """Return the (bid, ask) depth of `venue_id` now as shares of its normal depth."""
        venue = self._venue(venue_id)
        disp = self._displacement[venue_id]
        if disp.bid_depth == 1.0 and disp.ask_depth == 1.0:
            # Nothing drained or withdrawn: 1 − 0 · decay is 1 (the decay is finite, as time
            # never runs back past `depth_since_s`); every trade and quote asks this.
            return 1.0, 1.0
        decay = 2.0 ** (-(self._clock.now - disp.depth_since_s) / venue.depth_half_life_s)
        return 1.0 - (1.0 - disp.bid_depth) * decay, 1.0 - (1.0 - disp.ask_depth) * decay

    def _set_depth(self, venue_id: str, bid: float, ask: float) -> None:
        disp = self._displacement[venue_id]
        disp.bid_depth, disp.ask_depth, disp.depth_since_s = bid, ask, self._clock.now

    def withdraw_liquidity(self, venue_id: str, factor: float, side: str = "both") -> None:
        """Multiply the depth of `side` (``bid``, ``ask`` or ``both``) of `venue_id` by `factor`."""
        if not 0 < factor <= 1:
            raise ValueError(f"expected 0 < factor <= 1, was {factor}")
        if side not in {"bid", "ask", "both"}:
            raise ValueError(f"expected side bid, ask or both, was {side!r}")
        bid, ask = self.depth(venue_id)
        self._set_depth(
            venue_id,
            bid * factor if side in {"bid", "both"} else bid,
            ask * factor if side in {"ask", "both"} else ask,
        )

    def halt(self, venue_id: str, until_s: float) -> None:
        """Stop all trading on `venue_id` until `until_s`."""
        disp = self._displacement[self._venue(venue_id).venue_id]
        disp.halted_until = max(disp.halted_until, until_s)

    def halted(self, venue_id: str) -> bool:
        """Return whether `venue_id` is halted now."""
        return self._clock.now < self._displacement[self._venue(venue_id).venue_id].halted_until

    def freeze_withdrawals(self, venue_id: str, until_s: float) -> None:
        """Stop funds leaving `venue_id` until `until_s` (trading may go on)."""
        disp = self._displacement[self._venue(venue_id).venue_id]
        disp.frozen_until = max(disp.frozen_until, until_s)

    def withdrawals_frozen(self, venue_id: str) -> bool:
        """Return whether funds can leave `venue_id` now."""
        return self._clock.now < self._displacement[self._venue(venue_id).venue_id].frozen_until

    def _model(self, venue: TradingVenueParams, quantity: float) -> ImpactModel:
        bid, ask = self.depth(venue.venue_id)
        factor = bid if quantity < 0 else ask
        model = venue.impact if factor == 1.0 else venue.impact.scaled(factor)
        if isinstance(model, SquareRootBook):
            # A book's trades continue the metaorder whose impact is still in its price.
            offset = self._venue_log_offset(venue.venue_id, self._clock.now)
            if offset:
                model = model.continuing(offset)
        if venue.peg_to_reference:
            model = dataclasses.replace(model, peg=self.reference_price(venue.asset))  # type: ignore[type-var]
        return model

    def trade(
        self,
        venue_id: str,
        quantity: float,
        *,
        trader: str,
        cause: int = ROOT,
        cause_span: int = 1,
    ) -> Fill:
        """Trade signed `quantity` of the venue's asset against USD and move its price.

        Raises
        ------
        VenueHaltedError
            If the venue is halted.
        """
        venue = self._venue(venue_id)
        if self.halted(venue_id):
            raise VenueHaltedError(venue_id)
        now = self._clock.now
        disp = self._displacement[venue_id]
        offset_now = self._venue_log_offset(venue_id, now)
        ref = self.reference_price(venue.asset)
        price_before = ref * math.exp(offset_now)
        try:
            fill = self._model(venue, quantity).fill(price_before, quantity)
        except ValueError as exc:
            raise SimulationError(
                f"trading venue {venue_id!r}: {trader} traded {quantity:g} {venue.asset} at "
                f"t = {now:g}: {exc}"
            ) from None
        disp.log_offset = offset_now + math.log(fill.price_after / price_before)
        disp.since_s = now
        disp.min_price = min(disp.min_price, fill.price_after)
        if math.isfinite(venue.drain_usd):
            # One-sided flow eats the side it trades against; the other side is untouched.
            bid, ask = self.depth(venue_id)
            drained = math.exp(-fill.notional_usd / venue.drain_usd)
            if quantity < 0:
                bid *= drained
            else:
                ask *= drained
            self._set_depth(venue_id, bid, ask)
        seq = self._log.emit(
            TradeExecuted,
            cause=cause,
            cause_span=cause_span,
            venue=venue_id,
            asset=venue.asset,
            trader=trader,
            quantity=quantity,
            notional_usd=fill.notional_usd,
            price_before=price_before,
            price_after=fill.price_after,
        )
        self._record_move(
            venue.asset,
            seq,
            1,
            venue_id,
            log_move=math.log(fill.price_after / price_before),
            trader=trader,
        )
        return fill

    def sell_proceeds(self, venue_id: str, quantities: NDArray[np.float64]) -> NDArray[np.float64]:
        """Return the USD each of `quantities` would fetch if sold alone on `venue_id` now."""
        venue = self._venue(venue_id)
        model = self._model(venue, -1.0)
        return model.sell_proceeds(self.price(venue.asset, venue_id), quantities)

    def quote(self, venue_id: str, quantity: float) -> Fill:
        """Return what trading signed `quantity` on `venue_id` would do now, without doing it."""
        venue = self._venue(venue_id)
        return self._model(venue, quantity).fill(self.price(venue.asset, venue_id), quantity)

    def quantity_for_price(self, venue_id: str, target: float) -> float:
        """Return the signed quantity one trade on `venue_id` needs to reach price `target`."""
        venue = self._venue(venue_id)
        price = self.price(venue.asset, venue_id)
        try:
            return self._model(venue, target - price).quantity_for_price(price, target)
        except ValueError as exc:
            raise SimulationError(f"trading venue {venue_id!r}: {exc}") from None

    def min_trade_price(self, venue_id: str) -> float:
        """Return the lowest price a trade left on `venue_id` (inf if none traded)."""
        return self._displacement[venue_id].min_price
