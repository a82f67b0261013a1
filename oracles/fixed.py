"""A hardcoded price: a constant, or another feed's answer repeated.

Two archetypes of "hardcoded peg" (crashes, cross-event notes): Compound v2 priced USDC at a
fixed $1 (``PriceSource.FIXED_USD`` in ``UniswapAnchoredView``), and Aave prices USDe and
sUSDe's base off the USDT/USD Chainlink feed since Feb 2025 (mechanics §1.8, §9: aave-proposals-v3
``src/20250213_Multi_SUSDeAndUSDePriceFeedUpdate``). Either way a market depeg of the asset
itself moves nothing: liquidations that a market price would trigger do not happen, and an
insolvency stays hidden.

With ``follows = "<oracle id>"`` the feed subscribes to that feed and repeats each of its
answers the moment it lands (an adapter contract reads its source in the same call, so there is
no transaction of its own: ``chain`` must stay unset), naming that answer's event as its cause.
Without it the answer is `price` (1.0 by default) for the whole run.

Failure modes: an outage or freeze stops the repeating (the last answer stays; on return to
``live`` the current source answer is taken); a bad print lands at once.
"""

from __future__ import annotations

from typing import Self

from pydantic import Field, model_validator

from protosim.clock import ProcessGenerator
from protosim.context import SimContext
from protosim.interfaces import Oracle, OracleReading
from protosim.oracles.base import Feed, FeedParams, priced_feed_builder


class FixedParams(FeedParams):
    """Parameters of a fixed or following feed."""

    price: float | None = Field(default=None, gt=0)
    """The constant answer (1.0 when neither `price` nor `follows` is given)."""
    follows: str | None = None
    """Id of an oracle (built earlier in the scenario) whose answers this feed repeats."""

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if self.price is not None and self.follows is not None:
            raise ValueError("expected either price or follows, not both")
        if self.chain is not None:
            raise ValueError(
                "expected no chain: a fixed or following adapter sends no transactions"
            )
        return self


class FixedFeed(Feed):
    """A constant answer, or the answers of another feed repeated.

    Parameters
    ----------
    ctx : SimContext
        The run's context.
    oracle_id : str
        The feed's id.
    params : FixedParams
        The constant, or the feed to follow.
    """

    def __init__(self, ctx: SimContext, oracle_id: str, params: FixedParams) -> None:
        self._source: Oracle | None = None
        if params.follows is not None:
            if params.follows == oracle_id:
                raise KeyError(f"follows: oracle {oracle_id!r} cannot follow itself")
            self._source = ctx.oracle(params.follows)
            initial = self._source.read().price
        else:
            initial = 1.0 if params.price is None else params.price
        super().__init__(ctx, oracle_id, params, initial)
        self._params = params
        self._followed_round = self._source.read().round_id if self._source else 0
        if self._source is not None:
            self._source.subscribe(self._on_source)

    def _on_source(self, reading: OracleReading) -> None:
        if self.state == "live":
            self._repeat(reading)

    def _repeat(self, reading: OracleReading) -> None:
        self._followed_round = reading.round_id
        self.publish(
            reading.price, observed_at=reading.observed_at, reason="follows", cause=reading.seq
        )

    def sources(self) -> tuple[tuple[str, str], ...]:
        """Return the feed it repeats, or the constant it answers: never the market."""
        p = self._params
        if p.follows:
            return (("oracle", p.follows),)
        return (("constant", str(p.price if p.price is not None else 1.0)),)

    def run(self) -> ProcessGenerator:
        """Wait for state changes and bad prints (answers arrive through the subscription)."""
        while True:
            yield self.state_changed
            bad = self.take_bad_print()
            if bad is not None:
                price, cause = bad
                now = self._ctx.clock.now
                self.publish(price, observed_at=now, reason="bad_print", cause=cause)
            elif self.state == "live" and self._source is not None:
                current = self._source.read()
                if current.round_id != self._followed_round:
                    self._repeat(current)


build = priced_feed_builder(FixedFeed)
"""Build a `FixedFeed` from its scenario entry."""
