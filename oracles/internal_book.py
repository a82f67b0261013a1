"""A venue priced off a single order book: its own, or one thin market.

This is the oracle archetype "single-venue print" (crashes, cross-event notes): Binance marked
USDe collateral in unified accounts off its own USDe/USDT spot book, which printed ≈ $0.65 on
10 Oct 2025 while other venues stayed near $1 (mechanics §6.6); Mango Markets valued MNGO off
a thin spot market an attacker could pump (crashes §9).

The answer is the venue's price, refreshed at every multiple of `update_interval_s` (off-chain
by default). With ``smoothing_window_s > 0`` it is instead the time-weighted arithmetic mean of
the venue's price over that window: the price is sampled at every refresh and at every trade or
shock on the asset, and held constant between samples, so a trade counts from its own instant.
A smoothing window is how a venue can blunt a short spike; it is off (0) by default because the
historical cases above used the last price.
"""

from __future__ import annotations

import bisect

from pydantic import Field

from protosim.clock import ProcessGenerator
from protosim.context import SimContext
from protosim.market import Market
from protosim.oracles.base import Feed, FeedParams, check_observed_venues, priced_feed_builder


class PriceIntegral:
    """The running integral of one venue's price over time, held constant between samples.

    Parameters
    ----------
    market : Market
        Where the price is read.
    venue : str
        The trading venue.
    now : float
        Time of the first sample.
    keep_s : float
        How much history to keep (at least the longest window read).

    Examples
    --------
    A price of 1 for 30 s then 0.5 for 30 s averages 0.75 over the minute:

    >>> from protosim.clock import Clock
    >>> from protosim.eventlog import EventLog
    >>> from protosim.impact import ConstantProductPool
    >>> from protosim.market import Market, TradingVenueParams
    >>> from protosim.paths import constant_path
    >>> clock = Clock()
    >>> log = EventLog(now=lambda: clock.now, block=lambda: 0)
    >>> pool = ConstantProductPool(depth_usd=1e6, reference_price=1.0, fee_bps=0.0)
    >>> venue = TradingVenueParams(venue_id="book", asset="USDE", impact=pool)
    >>> market = Market(clock, log, {"USDE": constant_path(1.0, 100.0)}, [venue])
    >>> integral = PriceIntegral(market, "book", 0.0, keep_s=60.0)
    >>> clock.env.run(until=30.0)
    >>> fill = market.trade("book", pool.quantity_for_price(1.0, 0.5), trader="doc")
    >>> integral.sample(30.0)
    >>> round(integral.mean(60.0, 60.0), 12)
    0.75
    """

    def __init__(self, market: Market, venue: str, now: float, keep_s: float) -> None:
        self._market = market
        self.venue = venue
        self.asset = market.venues[venue].asset
        self._keep_s = keep_s
        self._times: list[float] = [now]
        self._integrals: list[float] = [0.0]
        self._prices: list[float] = [market.price(self.asset, venue)]

    def sample(self, now: float) -> None:
        """Close the interval since the last sample at its price and read the price now."""
        price = self._market.price(self.asset, self.venue)
        last = self._times[-1]
        if now <= last:
            self._prices[-1] = price
            return
        self._times.append(now)
        self._integrals.append(self._integrals[-1] + self._prices[-1] * (now - last))
        self._prices.append(price)
        cut = bisect.bisect_right(self._times, now - self._keep_s) - 1
        if cut > 64:
            del self._times[:cut]
            del self._integrals[:cut]
            del self._prices[:cut]

    def integral(self, t: float) -> float:
        """Return ∫ price dt from the first sample to `t` (the first price extends backwards)."""
        i = max(bisect.bisect_right(self._times, t) - 1, 0)
        return self._integrals[i] + self._prices[i] * (t - self._times[i])

    def mean(self, now: float, window_s: float) -> float:
        """Return the time-weighted mean price over ``[now − window_s, now]``."""
        if not window_s > 0:
            raise ValueError(f"expected window_s > 0, was {window_s}")
        return (self.integral(now) - self.integral(now - window_s)) / window_s


class InternalBookParams(FeedParams):
    """Parameters of a single-venue price."""

    venue: str
    """The trading venue whose book prices the asset."""
    update_interval_s: float = Field(default=1.0, gt=0)
    smoothing_window_s: float = Field(default=0.0, ge=0)
    """Time-weighted mean over this window; 0: the last price."""


class InternalBookFeed(Feed):
    """One venue's price (optionally time-averaged), on a fixed cadence.

    Parameters
    ----------
    ctx : SimContext
        The run's context.
    oracle_id : str
        The feed's id.
    params : InternalBookParams
        Venue, cadence and smoothing.
    """

    def __init__(self, ctx: SimContext, oracle_id: str, params: InternalBookParams) -> None:
        check_observed_venues(ctx, params.asset, (params.venue,))
        now = ctx.clock.now
        self._integral = PriceIntegral(
            ctx.market,
            params.venue,
            now,
            keep_s=params.smoothing_window_s + params.update_interval_s,
        )
        super().__init__(ctx, oracle_id, params, ctx.market.price(params.asset, params.venue))
        self._params = params

    def start(self) -> None:
        """Start the sampler (if smoothing) and the publishing process."""
        if self._params.smoothing_window_s > 0:
            self._ctx.clock.start(f"oracle.{self.oracle_id}.sampler", self._sample())
        super().start()

    def _sample(self) -> ProcessGenerator:
        clock = self._ctx.clock
        market = self._ctx.market
        while True:
            timer = clock.observe_after(self._params.update_interval_s)
            yield clock.env.any_of([timer, market.moved(self.asset)])
            self._integral.sample(clock.now)

    def book_price(self) -> float:
        """Return the price the feed would report now (last or time-averaged)."""
        p = self._params
        now = self._ctx.clock.now
        if p.smoothing_window_s == 0:
            return self._ctx.market.price(p.asset, p.venue)
        self._integral.sample(now)
        return self._integral.mean(now, p.smoothing_window_s)

    def sources(self) -> tuple[tuple[str, str], ...]:
        """Return the venue whose own book the feed reads."""
        return (("market", self._params.venue),)

    def run(self) -> ProcessGenerator:
        """Publish the book price at every multiple of `update_interval_s`."""
        if self._params.smoothing_window_s == 0:
            # The last price is the venue's price: read with the attribution's market state.
            return self.run_every(
                self._params.update_interval_s,
                lambda landed: self.report_venues(_only, landed),
            )
        return self.run_every(
            self._params.update_interval_s, lambda landed: self.report(self.book_price, landed)
        )


def _only(prices: tuple[float, ...]) -> float:
    return prices[0]


build = priced_feed_builder(InternalBookFeed)
"""Build a `InternalBookFeed` from its scenario entry."""
