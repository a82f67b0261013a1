"""Maker's Oracle Security Module: the source price, delayed by one hop (mechanics §4.5).

The OSM holds two values: ``cur``, which consumers read (``peek``), and ``nxt``, which will be
``cur`` after the next ``poke``. ``poke`` may be called by anyone once ``pass()`` holds, that
is once ``era() >= zzz + hop``; it moves ``nxt`` into ``cur``, reads the source (the median
oracle) into ``nxt``, and sets ``zzz = prev(era())``, the start of the current hop. So consumers
see the source price read at the previous poke: about an hour old with ``hop = 3600``.

Here the source is the median of the `observes` venues (the Medianizer), or the reference
price. The poke is a transaction like any feed round: a keeper sends it when the hop has
passed; it reaches the chain after the publish latency and waits in the queue under congestion.
A poke included late still sets ``zzz`` to the start of the hop it lands in, so the next one is
due at the following hop boundary, and the value it promotes is older still: on Black Thursday
stuck oracle transactions and the hour's delay left Maker's price ~$30 above the market
(crashes §3).

Failure modes: an outage stops the pokes; ``frozen`` freezes the source (each poke reads the
value it read last); a bad print is a wrong source value, read into ``nxt`` at the next poke and
served one hop later (the delay is the OSM's protection: governance can ``stop`` it meanwhile).

Source: makerdao/osm ``src/osm.sol`` (``prev``, ``pass``, ``poke``, ``peek``, ``peep``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pydantic import Field

from protosim.clock import ProcessGenerator
from protosim.context import SimContext
from protosim.events import ROOT
from protosim.interfaces import OracleReading
from protosim.oracles.base import Feed, FeedParams, check_observed_venues, priced_feed_builder


def hop_start(ts: float, hop_s: float) -> float:
    """Return OSM's ``prev(ts)``: `ts` rounded down to a multiple of `hop_s`.

    Parameters
    ----------
    ts : float
        A time in seconds.
    hop_s : float
        The hop, > 0.

    Returns
    -------
    float
        ``ts − (ts mod hop_s)``.

    Examples
    --------
    >>> hop_start(3612.0, 3600.0)
    3600.0
    >>> hop_start(7199.0, 3600.0)
    3600.0
    >>> hop_start(7200.0, 3600.0)
    7200.0
    """
    if not hop_s > 0:
        raise ValueError(f"expected hop_s > 0, was {hop_s}")
    return math.floor(ts / hop_s) * hop_s


@dataclass(frozen=True, slots=True)
class _Queued:
    price: float
    observed_at: float
    reason: str
    cause: int
    span: int


class OsmParams(FeedParams):
    """Parameters of an Oracle Security Module."""

    chain: str  # the OSM is a contract: pokes are transactions
    observes: tuple[str, ...] = ()
    """Trading venues whose median is the source (the Medianizer); empty: the reference price."""
    hop_s: float = Field(default=3600.0, gt=0)
    """The delay, ``hop`` (``ONE_HOUR`` in osm.sol)."""


class OsmFeed(Feed):
    """An OSM: consumers read the source price of the previous hop.

    Parameters
    ----------
    ctx : SimContext
        The run's context.
    oracle_id : str
        The feed's id.
    params : OsmParams
        Source, hop and poke-transaction parameters.
    """

    def __init__(self, ctx: SimContext, oracle_id: str, params: OsmParams) -> None:
        check_observed_venues(ctx, params.asset, params.observes)
        source = ctx.market.observe(params.asset, params.observes)
        super().__init__(ctx, oracle_id, params, source)
        self._params = params
        now = ctx.clock.now
        # As the original osm.sol constructor: cur = nxt = the source, zzz = prev(now).
        self._nxt = _Queued(self._quantize(source), now, "poke", ROOT, 0)
        self._zzz = hop_start(now, params.hop_s)
        self._source_state = ctx.market.price_state(params.asset, params.observes)

    @property
    def zzz(self) -> float:
        """Start of the hop of the last poke."""
        return self._zzz

    def peep(self) -> float:
        """Return ``nxt``, the value the next poke makes current."""
        return self._nxt.price

    def passed(self, now: float | None = None) -> bool:
        """Return OSM's ``pass()``: whether a poke is allowed at `now` (default: now)."""
        when = self._ctx.clock.now if now is None else now
        return when >= self._zzz + self._params.hop_s

    def run(self) -> ProcessGenerator:
        """Send a poke whenever the hop has passed; wait for it to be included."""
        clock = self._ctx.clock
        while True:
            if self.state == "outage":
                yield self.state_changed
                continue
            due = self._zzz + self._params.hop_s
            if due > clock.now:
                timer = clock.observe_after(due - clock.now)
                woke = yield clock.env.any_of([timer, self.state_changed])
                if timer not in woke:
                    continue
            landed = clock.env.event()
            queued = self._nxt
            if self.publish(
                queued.price,
                observed_at=queued.observed_at,
                reason=queued.reason,
                cause=queued.cause,
                cause_span=max(queued.span, 1),
                landed=landed,
            ):
                yield landed
            else:
                # Outside the configured answer bounds: the poke still happened on chain.
                self._read_source()

    def on_landed(self, reading: OracleReading) -> None:
        """Read the source into ``nxt`` once a poke has executed (``cur = nxt`` is done)."""
        del reading
        self._read_source()

    def _read_source(self) -> None:
        now = self._ctx.clock.now
        market = self._ctx.market
        p = self._params
        bad = self.take_bad_print()
        if bad is not None:
            self._nxt = _Queued(self._quantize(bad[0]), now, "bad_print", bad[1], 1)
        elif self.state == "frozen":
            self._nxt = _Queued(self._nxt.price, now, "frozen", self._state_cause, 1)
        else:
            cause, span = market.attribute(self.asset, p.observes, self._source_state)
            self._source_state = market.price_state(self.asset, p.observes)
            price = self._quantize(market.observe(self.asset, p.observes))
            self._nxt = _Queued(price, now, "poke", cause, span)
        # zzz = prev(era()): a late poke still only moves zzz to the start of its own hop.
        self._zzz = hop_start(now, p.hop_s)


build = priced_feed_builder(OsmFeed)
"""Build a `OsmFeed` from its scenario entry."""
