"""Chainlink L2 sequencer uptime feed (mechanics §4.2).

The answer is 0 while the monitored chain's sequencer is up and 1 while it is down; the
reading's ``observed_at`` is the feed's ``startedAt``: when the status last changed. Consumers
(Aave's PriceOracleSentinel, Chainlink's ``DataConsumerWithSequencerCheck``) revert while it is
down and for a grace period after it comes back. The down flag reaches the L2 through L1 and is
processed before queued user transactions when the sequencer restarts, so a consumer can never
act on a stale "up"; the model publishes both flags at the instant of the change.

Source: smartcontractkit/documentation ``data-feeds/l2-sequencer-feeds.mdx`` and the sample
``DataConsumerWithSequencerCheck.sol``.
"""

from __future__ import annotations

from pydantic import Field

from protosim.clock import ProcessGenerator
from protosim.context import SimContext
from protosim.oracles.base import Feed, FeedParams
from protosim.scenario import ComponentSpec

UP = 0.0
DOWN = 1.0


class SequencerUptimeParams(FeedParams):
    """Which chain's sequencer the feed reports on."""

    asset: str = "SEQUENCER"
    monitors: str = Field(min_length=1)
    """The chain whose sequencer is watched."""


class SequencerUptimeFeed(Feed):
    """Answers 0 (up) or 1 (down) with the time of the last change."""

    def __init__(self, ctx: SimContext, oracle_id: str, params: SequencerUptimeParams) -> None:
        super().__init__(ctx, oracle_id, params, UP)
        self._params = params
        ctx.chain(params.monitors).on_sequencer_change(self._changed)

    def _changed(self, up: bool, at_s: float, cause: int) -> None:
        self.publish(
            UP if up else DOWN, observed_at=at_s, reason="up" if up else "down", cause=cause
        )

    def sources(self) -> tuple[tuple[str, str], ...]:
        """Return the chain whose sequencer the feed reads (it reads no price)."""
        return (("chain", self._params.monitors),)

    def run(self) -> ProcessGenerator:
        """Nothing to poll: the chain reports its sequencer's changes."""
        yield self._ctx.clock.env.event()


def build(
    ctx: SimContext, spec: ComponentSpec, params: SequencerUptimeParams, where: str
) -> SequencerUptimeFeed:
    """Build a `SequencerUptimeFeed` from its scenario entry."""
    del where
    return SequencerUptimeFeed(ctx, spec.id, params)
