"""Uniswap v3 TWAP oracle (mechanics §4.4).

A Uniswap v3 pool keeps ``tickCumulative``: the sum over time of the pool's current tick, where
the tick is the greatest integer with ``1.0001^tick <= price``. ``Oracle.transform`` adds
``tick · (t − t_last)`` each time an observation is written (at the first swap of a block), so
between two writes the accumulator grows linearly with the tick that was current after the
earlier one. ``OracleLibrary.consult`` turns two accumulator values into the arithmetic-mean tick
``(cum(t2) − cum(t1)) / (t2 − t1)``, rounded toward negative infinity, and the price
``1.0001^meanTick``: the geometric mean of the price over the window, quantized to one tick
(one basis point).

Here the accumulator follows one trading venue of the `Market`: it is written every
`observation_s` (the exogenous path and ramped shocks move the price between trades, and a pool
is re-arbitraged to it about once a block) and at every trade or shock on the asset, so a
trade's move is reflected from its own instant, as a swap is in the pool. Before t = 0 the pool
is taken to have sat at its initial price, so a window reaching back past the start is full.

The TWAP is a view a consumer reads on demand; the feed models that as an answer refreshed
every `update_interval_s` (off-chain by default: ``chain = None``).

Sources: Uniswap/v3-core ``contracts/libraries/Oracle.sol`` (``transform``,
``observeSingle`` interpolation), ``contracts/libraries/TickMath.sol`` (``getTickAtSqrtRatio``:
the greatest tick whose ratio is <= the price), Uniswap/v3-periphery
``contracts/libraries/OracleLibrary.sol`` (``consult``: "Always round to negative infinity").
"""

from __future__ import annotations

import bisect
import math

from pydantic import Field

from protosim.clock import Clock, ProcessGenerator
from protosim.context import SimContext
from protosim.market import Market
from protosim.oracles.base import Feed, FeedParams, check_observed_venues, priced_feed_builder

TICK_BASE = 1.0001
"""Price ratio between adjacent ticks."""
_LOG_TICK_BASE = math.log(TICK_BASE)


# -- tick math (pure) ---------------------------------------------------------------------------


def tick_to_price(tick: float) -> float:
    """Return the price at `tick`: ``1.0001 ** tick``.

    Parameters
    ----------
    tick : float
        A tick (an integer for a pool tick, any real for an interpolation).

    Returns
    -------
    float
        The price, token1 per token0 (here: USD per unit of the asset).

    Examples
    --------
    >>> tick_to_price(0)
    1.0
    >>> tick_to_price(6931) < 2.0 <= tick_to_price(6932)  # a doubling is ~6931.5 ticks
    True
    """
    return float(TICK_BASE**tick)


def price_to_tick(price: float) -> int:
    """Return the pool tick at `price`: the greatest integer ``t`` with ``1.0001^t <= price``.

    This is the tick `TickMath.getTickAtSqrtRatio` returns for ``sqrtPriceX96 = √price · 2^96``.
    The logarithm gives the tick to within one; the result is then checked against
    `tick_to_price` so that ``price_to_tick(tick_to_price(t)) == t`` holds exactly.

    Parameters
    ----------
    price : float
        A price > 0.

    Returns
    -------
    int
        The tick.

    Examples
    --------
    >>> price_to_tick(1.0)
    0
    >>> price_to_tick(tick_to_price(100))
    100
    >>> price_to_tick(0.999)  # below 1 the tick is negative: 1.0001^-11 <= 0.999 < 1.0001^-10
    -11
    """
    if not price > 0:
        raise ValueError(f"expected a price > 0, was {price}")
    tick = math.floor(math.log(price) / _LOG_TICK_BASE)
    # The float logarithm can land one tick off next to a tick boundary: fix it by comparison.
    while tick_to_price(tick + 1) <= price:
        tick += 1
    while tick_to_price(tick) > price:
        tick -= 1
    return tick


def arithmetic_mean_tick(tick_cumulative_delta: float, seconds: float) -> int:
    """Return ``tickCumulativeDelta / seconds`` rounded toward negative infinity.

    Solidity's integer division truncates toward zero, so `OracleLibrary.consult` subtracts one
    when the delta is negative and not a multiple of the window; that is a floor.

    Parameters
    ----------
    tick_cumulative_delta : float
        ``tickCumulative(now) − tickCumulative(now − seconds)`` in tick·seconds.
    seconds : float
        The window, > 0.

    Returns
    -------
    int
        The arithmetic-mean tick.

    Examples
    --------
    The worked example of issue 5: tick 100 for 600 s, then tick 200 for 1200 s:

    >>> arithmetic_mean_tick(100 * 600 + 200 * 1200, 1800)  # 166.67
    166
    >>> arithmetic_mean_tick(-7, 2)  # -3.5: Solidity gives -3, then the correction -4
    -4
    >>> arithmetic_mean_tick(-8, 2)
    -4
    """
    if not seconds > 0:
        raise ValueError(f"expected a window of seconds > 0, was {seconds}")
    return math.floor(tick_cumulative_delta / seconds)


def twap_price(tick_cumulative_delta: float, seconds: float) -> float:
    """Return the TWAP price ``1.0001 ** arithmetic_mean_tick(delta, seconds)``.

    Parameters
    ----------
    tick_cumulative_delta : float
        Change of the tick accumulator over the window, in tick·seconds.
    seconds : float
        The window, > 0.

    Returns
    -------
    float
        The time-weighted geometric-mean price, quantized to a tick.

    Examples
    --------
    >>> twap_price(100 * 600 + 200 * 1200, 1800) == tick_to_price(166)
    True
    """
    return tick_to_price(arithmetic_mean_tick(tick_cumulative_delta, seconds))


# -- the accumulator ----------------------------------------------------------------------------


class TickAccumulator:
    """The ``tickCumulative`` of one trading venue's price, as a Uniswap v3 pool keeps it.

    Observations ``(t, tickCumulative, tick)`` are written on `write`; between two of them the
    accumulator grows with the tick current after the earlier one (`Oracle.transform`), so
    `cumulative` is exact at any time, as `Oracle.observeSingle` interpolates.

    Parameters
    ----------
    market : Market
        Where the venue's price is read.
    venue : str
        The trading venue (the pool).
    now : float
        Time of the first observation.
    keep_s : float
        How much history to keep (at least the longest window read).
    """

    def __init__(self, market: Market, venue: str, now: float, keep_s: float) -> None:
        self._market = market
        self.venue = venue
        self.asset = market.venues[venue].asset
        self._keep_s = keep_s
        tick = price_to_tick(market.price(self.asset, venue))
        self._times: list[float] = [now]
        self._cumulatives: list[float] = [0.0]
        self._ticks: list[int] = [tick]

    @property
    def tick(self) -> int:
        """The tick written last (current until the next write)."""
        return self._ticks[-1]

    def write(self, now: float) -> None:
        """Close the interval since the last write at its tick and take the venue's tick now."""
        tick = price_to_tick(self._market.price(self.asset, self.venue))
        last = self._times[-1]
        if now <= last:
            # A second write at the same instant (several moves in one block): the interval is
            # empty, only the current tick changes.
            self._ticks[-1] = tick
            return
        self._times.append(now)
        self._cumulatives.append(self._cumulatives[-1] + self._ticks[-1] * (now - last))
        self._ticks.append(tick)
        self._prune(now)

    def _prune(self, now: float) -> None:
        # Keep one observation at or before the oldest instant a window can reach.
        cut = bisect.bisect_right(self._times, now - self._keep_s) - 1
        if cut > 64:
            del self._times[:cut]
            del self._cumulatives[:cut]
            del self._ticks[:cut]

    def cumulative(self, t: float) -> float:
        """Return ``tickCumulative`` at time `t` (exact between writes; before the first
        observation the first tick is taken to have held since forever).
        """
        i = bisect.bisect_right(self._times, t) - 1
        i = max(i, 0)
        return self._cumulatives[i] + self._ticks[i] * (t - self._times[i])

    def mean_tick(self, now: float, window_s: float) -> int:
        """Return the arithmetic-mean tick over ``[now − window_s, now]`` (`consult`)."""
        return arithmetic_mean_tick(
            self.cumulative(now) - self.cumulative(now - window_s), window_s
        )

    def twap(self, now: float, window_s: float) -> float:
        """Return the geometric-mean price over ``[now − window_s, now]``."""
        return tick_to_price(self.mean_tick(now, window_s))

    def run(self, clock: Clock, observation_s: float) -> ProcessGenerator:
        """Write an observation every `observation_s` and at every move of the asset."""
        while True:
            timer = clock.observe_after(observation_s)
            yield clock.env.any_of([timer, self._market.moved(self.asset)])
            self.write(clock.now)


# -- the feed -----------------------------------------------------------------------------------


class TwapParams(FeedParams):
    """Parameters of a Uniswap v3 TWAP feed."""

    venue: str
    """The trading venue standing for the pool."""
    window_s: float = Field(default=1800.0, gt=0)
    """TWAP window (``secondsAgo``); 30 minutes is a common choice."""
    observation_s: float = Field(default=12.0, gt=0)
    """How often the pool is written between trades (about once a block on Ethereum)."""
    update_interval_s: float = Field(default=12.0, gt=0)
    """How often the answer consumers see is refreshed."""


class TwapFeed(Feed):
    """A Uniswap v3 geometric-mean TWAP of one venue's price.

    Parameters
    ----------
    ctx : SimContext
        The run's context.
    oracle_id : str
        The feed's id.
    params : TwapParams
        Venue, window and cadences.
    """

    def __init__(self, ctx: SimContext, oracle_id: str, params: TwapParams) -> None:
        check_observed_venues(ctx, params.asset, (params.venue,))
        now = ctx.clock.now
        self.accumulator = TickAccumulator(
            ctx.market, params.venue, now, keep_s=params.window_s + params.update_interval_s
        )
        super().__init__(ctx, oracle_id, params, self.accumulator.twap(now, params.window_s))
        self._params = params

    def start(self) -> None:
        """Start the pool's accumulator and the publishing process."""
        self._ctx.clock.start(
            f"oracle.{self.oracle_id}.accumulator",
            self.accumulator.run(self._ctx.clock, self._params.observation_s),
        )
        super().start()

    def twap(self, window_s: float | None = None) -> float:
        """Return the TWAP now over `window_s` (the feed's window by default), as `consult`
        would return it to a contract reading the pool directly.
        """
        now = self._ctx.clock.now
        self.accumulator.write(now)
        return self.accumulator.twap(now, self._params.window_s if window_s is None else window_s)

    def sources(self) -> tuple[tuple[str, str], ...]:
        """Return the pool whose price the TWAP averages."""
        return (("market", self._params.venue),)

    def run(self) -> ProcessGenerator:
        """Publish the TWAP at every multiple of `update_interval_s`."""
        return self.run_every(
            self._params.update_interval_s, lambda landed: self.report(self.twap, landed)
        )


build = priced_feed_builder(TwapFeed)
"""Build a `TwapFeed` from its scenario entry."""
