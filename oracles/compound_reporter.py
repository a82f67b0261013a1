"""Compound v2's Open Price Feed: a reporter's signed price, accepted only near a Uniswap anchor.

`UniswapAnchoredView` stores, per asset, the price a trusted reporter signed (Coinbase, for
Compound v2 from 2020) when a poster submits it, provided it is within the anchor tolerance of a
Uniswap TWAP: ``isWithinAnchor`` computes ``anchorRatio = anchorPrice · 1e18 / reporterPrice``
and accepts when ``lowerBoundAnchorRatio <= anchorRatio <= upperBoundAnchorRatio``, with
``upper = 1 + tolerance`` and ``lower = 1 − tolerance`` (20% on mainnet). Otherwise it emits
``PriceGuarded`` and the stored price stands. The check runs inside the posting transaction, so
the anchor is the TWAP at the block the post lands in.

On 26 Nov 2020 Coinbase printed DAI at ~$1.30; the Uniswap anchor had also moved up enough for
the post to pass, and 85.2M DAI of Compound borrowers were liquidated (crashes §4). Note the
ratio is anchor/reporter: with a 20% tolerance a reporter price passes up to ``anchor / 0.8``
(25% above the anchor) and down to ``anchor / 1.2``.

The anchor here is a Uniswap v3 tick TWAP over ``anchor_period_s`` of `anchor_venue`, computed
with the same tick math as `protosim.oracles.twap` (the contract's current `getUniswapTwap`).
The 2020 deployment used a Uniswap v2 arithmetic-mean cumulative price over a lagging window of
at least ``anchorPeriod`` (30 min in the repository's real-world test); the v3 tick form is a
geometric mean and reads slightly lower in a spike. The poster sends a post every
`update_interval_s`, skipping it when the reporter price is within ``min_delta_pct`` percent of
the last price it posted (the poster's ``price-deltas`` rule).

Sources: compound-finance/open-oracle ``contracts/Uniswap/UniswapAnchoredView.sol``
(``postPriceInternal``, ``isWithinAnchor``, constructor bounds; ``getUniswapTwap`` in the
current version), ``poster/src/poster.ts`` (``inDeltaRange``),
``tests/PostRealWorldPricesTest.js`` (``anchorPeriod = 30 * 60``).
"""

from __future__ import annotations

import simpy
from pydantic import Field

from protosim.clock import ProcessGenerator
from protosim.context import SimContext
from protosim.oracles.base import Feed, FeedParams, check_observed_venues, priced_feed_builder
from protosim.oracles.twap import TickAccumulator


def anchor_ratio_bounds(tolerance: float) -> tuple[float, float]:
    """Return ``(lower, upper)`` bounds of ``anchor / reporter``, as the constructor sets them.

    ``upper = 1 + tolerance``; ``lower = 1 − tolerance``, or 1e-18 (the contract's ``1``
    mantissa) when the tolerance is 100% or more.

    Examples
    --------
    >>> anchor_ratio_bounds(0.2)
    (0.8, 1.2)
    >>> anchor_ratio_bounds(1.5)
    (1e-18, 2.5)
    """
    if not tolerance >= 0:
        raise ValueError(f"expected a tolerance >= 0, was {tolerance}")
    lower = 1.0 - tolerance if tolerance < 1.0 else 1e-18
    return lower, 1.0 + tolerance


def is_within_anchor(reporter_price: float, anchor_price: float, tolerance: float) -> bool:
    """Return whether `reporter_price` passes ``isWithinAnchor`` against `anchor_price`.

    Parameters
    ----------
    reporter_price : float
        The reporter's signed price (USD).
    anchor_price : float
        The Uniswap TWAP anchor (USD).
    tolerance : float
        ``anchorToleranceMantissa`` as a fraction (0.2 = 20%).

    Returns
    -------
    bool
        ``lower <= anchor / reporter <= upper``; False for a reporter price <= 0.

    Examples
    --------
    DAI at 1.30 on Coinbase against an anchor of 1.10: 1.10 / 1.30 = 0.846 >= 0.8, accepted;
    against an anchor of 1.00: 1.00 / 1.30 = 0.769 < 0.8, guarded.

    >>> is_within_anchor(1.30, 1.10, 0.2), is_within_anchor(1.30, 1.00, 0.2)
    (True, False)
    """
    if not reporter_price > 0:
        return False
    lower, upper = anchor_ratio_bounds(tolerance)
    ratio = anchor_price / reporter_price
    return lower <= ratio <= upper


class CompoundReporterParams(FeedParams):
    """Parameters of a Compound v2 anchored reporter feed (defaults: mainnet 2020)."""

    chain: str  # the view is a contract: posts are transactions
    observes: tuple[str, ...] = Field(min_length=1)
    """Trading venue(s) the reporter signs (their median): Coinbase Pro."""
    anchor_venue: str
    """The trading venue standing for the Uniswap anchor pool."""
    anchor_tolerance: float = Field(default=0.20, gt=0)
    anchor_period_s: float = Field(default=1800.0, gt=0)
    anchor_observation_s: float = Field(default=12.0, gt=0)
    """How often the anchor pool's accumulator is written between trades."""
    update_interval_s: float = Field(default=60.0, gt=0)
    """How often the poster sends a post."""
    min_delta_pct: float = Field(default=0.0, ge=0, le=100)
    """Skip a post within this percentage of the last posted price (0: always post)."""


class CompoundReporterFeed(Feed):
    """A reporter price guarded by a Uniswap TWAP anchor.

    Parameters
    ----------
    ctx : SimContext
        The run's context.
    oracle_id : str
        The feed's id.
    params : CompoundReporterParams
        Reporter venue, anchor and cadence.
    """

    def __init__(self, ctx: SimContext, oracle_id: str, params: CompoundReporterParams) -> None:
        check_observed_venues(ctx, params.asset, params.observes)
        check_observed_venues(ctx, params.asset, (params.anchor_venue,))
        now = ctx.clock.now
        self.anchor = TickAccumulator(
            ctx.market,
            params.anchor_venue,
            now,
            keep_s=params.anchor_period_s + params.update_interval_s,
        )
        reporter = ctx.market.observe(params.asset, params.observes)
        super().__init__(ctx, oracle_id, params, reporter)
        self._params = params
        self._posted = self.read().price
        self.guarded = 0

    def start(self) -> None:
        """Start the anchor pool's accumulator and the poster."""
        self._ctx.clock.start(
            f"oracle.{self.oracle_id}.anchor",
            self.anchor.run(self._ctx.clock, self._params.anchor_observation_s),
        )
        super().start()

    def anchor_price(self) -> float:
        """Return the anchor now: the tick TWAP of the anchor venue over the anchor period."""
        now = self._ctx.clock.now
        self.anchor.write(now)
        return self.anchor.twap(now, self._params.anchor_period_s)

    def metrics(self) -> dict[str, float]:
        """Return the base metrics plus the number of posts guarded by the anchor."""
        return {**super().metrics(), "guarded_posts": float(self.guarded)}

    def admit(self, price: float, observed_at: float, cause: int, span: int) -> bool:
        """Accept a post only within the anchor (``postPriceInternal``, at the post's block)."""
        anchor = self.anchor_price()
        if not is_within_anchor(price, anchor, self._params.anchor_tolerance):
            self.guarded += 1
            self.reject(price, "outside_anchor", cause, span)
            return False
        return True

    def sources(self) -> tuple[tuple[str, str], ...]:
        """Return the reporter's venues and the anchor pool."""
        observed = super().sources()
        return (*observed, ("market", self._params.anchor_venue))

    def run(self) -> ProcessGenerator:
        """Post the reporter's price at every multiple of `update_interval_s`."""
        return self.run_every(self._params.update_interval_s, self._post)

    def _post(self, landed: simpy.Event | None) -> bool:
        p = self._params
        override = self.pending_override()
        if override is not None:
            price, reason, cause, span = override
            if reason == "frozen":
                price = self._posted  # a frozen poster repeats its own last post
        else:
            price, reason = self._ctx.market.observe(self.asset, p.observes), "reporter"
            # The poster's inDeltaRange: skip a post too close to the last one it sent.
            if p.min_delta_pct > 0 and abs(self._posted - price) <= self._posted * (
                p.min_delta_pct / 100
            ):
                return False
            cause, span = self.attribute_observation()
        self._posted = self._quantize(price)
        return self.publish(
            price,
            observed_at=self._ctx.clock.now,
            reason=reason,
            cause=cause,
            cause_span=span,
            landed=landed,
        )


build = priced_feed_builder(CompoundReporterFeed)
"""Build a `CompoundReporterFeed` from its scenario entry."""
