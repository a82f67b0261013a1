"""Chainlink-style push feed (mechanics §4.1).

Off-chain nodes watch the market and start a new round when the observed price deviates from
the on-chain answer by more than the deviation threshold, or when the heartbeat has passed since
the last update, whichever comes first. The round's transaction reaches the chain after a
publish latency and lands in the next block's ORACLE phase. One round is in flight at a time.
Answers are kept at the feed's decimals (8 for USD feeds). Where an aggregator still has
``minAnswer``/``maxAnswer``, a report outside them is rejected (the OCR aggregator's
``transmit`` requires ``minAnswer <= median <= maxAnswer``) and the last answer stands: that is
how Chainlink's LUNA/USD feed stayed at $0.107 in May 2022 while LUNA traded far lower
(crashes §5). Nodes then treat the rejected report as their new reference, so they retry on the
next deviation from it or on the heartbeat, not in a loop.

Source: smartcontractkit/documentation, ``architecture-decentralized-model.mdx`` (deviation and
heartbeat triggers); ``latestRoundData`` semantics in ``data-feeds/api-reference.mdx``.
"""

from __future__ import annotations

from pydantic import Field

from protosim.clock import ProcessGenerator
from protosim.context import SimContext
from protosim.interfaces import OracleReading
from protosim.oracles.base import Feed, FeedParams, check_observed_venues, priced_feed_builder


class ChainlinkParams(FeedParams):
    """Parameters of a Chainlink push feed (defaults: ETH/USD on Ethereum, mechanics §4.1)."""

    chain: str  # a push feed always publishes on a chain
    observes: tuple[str, ...] = ()
    """Trading venues whose median price the nodes report; empty: the reference price."""
    deviation_bps: float = Field(default=50.0, gt=0, lt=10_000)
    heartbeat_s: float = Field(default=3600.0, gt=0)
    observation_s: float = Field(default=1.0, gt=0)
    """How often the nodes look at their sources (finer paths are seen at their own spacing)."""


class ChainlinkFeed(Feed):
    """A push feed for one asset, publishing on deviation or heartbeat.

    Parameters
    ----------
    ctx : SimContext
        The run's context.
    oracle_id : str
        The feed's id.
    params : ChainlinkParams
        Update rule and publication parameters.
    """

    def __init__(self, ctx: SimContext, oracle_id: str, params: ChainlinkParams) -> None:
        check_observed_venues(ctx, params.asset, params.observes)
        super().__init__(ctx, oracle_id, params, ctx.market.observe(params.asset, params.observes))
        self._params = params
        # The last report the nodes made, accepted or not: the reference of their triggers.
        self._reported_price: float | None = None
        self._reported_at = 0.0

    def on_landed(self, reading: OracleReading) -> None:
        """Once a round lands, the on-chain answer is the nodes' reference again."""
        del reading
        self._reported_price = None

    def run(self) -> ProcessGenerator:
        """Watch the market; submit a round on deviation or heartbeat; wait for it to land."""
        clock = self._ctx.clock
        market = self._ctx.market
        p = self._params
        band = p.deviation_bps / 10_000
        while True:
            if self.state == "outage":
                yield self.state_changed
                continue
            now = clock.now
            reading = self.read()
            answer = reading.price if self._reported_price is None else self._reported_price
            heartbeat_at = max(reading.updated_at, self._reported_at) + p.heartbeat_s
            due = heartbeat_at
            if self._bad_print is not None:
                due = now
            elif self.state == "live":
                crossing = market.next_crossing(
                    self.asset,
                    p.observes,
                    low=answer * (1 - band),
                    high=answer * (1 + band),
                    t_from=now,
                    t_to=heartbeat_at,
                    resolution_s=p.observation_s,
                )
                if crossing is not None:
                    due = crossing
            if due > now:
                timer = clock.observe_after(due - now)
                if not (
                    yield from clock.wait_timer_or(
                        timer, market.moved(self.asset), self.state_changed
                    )
                ):
                    continue  # a trade, shock or state change came first: look again
            landed = clock.env.event()
            if self._report(landed):
                yield landed

    def _report(self, landed: object) -> bool:
        now = self._ctx.clock.now
        p = self._params
        market = self._ctx.market
        override = self.pending_override()
        if override is not None:
            price, reason, cause, span = override
        else:
            price = self._quantize(market.observe(self.asset, p.observes))
            moved = abs(price / self.read().price - 1) > p.deviation_bps / 10_000
            reason = "deviation" if moved else "heartbeat"
            cause, span = self.attribute_observation()
        self._reported_price, self._reported_at = self._quantize(price), now
        return self.publish(
            price,
            observed_at=now,
            reason=reason,
            cause=cause,
            cause_span=span,
            landed=landed,  # type: ignore[arg-type]
        )


build = priced_feed_builder(ChainlinkFeed)
"""Build a `ChainlinkFeed` from its scenario entry."""
