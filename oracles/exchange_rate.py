"""A staked-asset feed: base feed × exchange ratio, with Aave's CAPO growth cap (mechanics §1.8).

Aave prices wstETH as ``ETH/USD × stETH-per-wstETH`` and sUSDe, weETH, rETH … alike, through a
Correlated-Asset Price Oracle adapter (bgd-labs/aave-capo ``PriceCapAdapterBase``)::

    maxRatioGrowthPerSecond = snapshotRatio · maxYearlyRatioGrowthPercent / 100_00 / 365 days
    maxRatio = snapshotRatio + maxRatioGrowthPerSecond · (block.timestamp − snapshotTimestamp)
    ratio    = min(getRatio(), maxRatio)
    price    = BASE_TO_USD.latestAnswer() · ratio

``maxYearlyRatioGrowthPercent`` is in hundredths of a percent (``100_00`` = 100%), so the cap
grows linearly at a yearly fraction of the *snapshot* ratio: 968 (9.68%, wstETH on Ethereum)
lets a ratio of 1.10 reach ``1.10 · (1 + 0.0968 · Δt / 365 days)``. The consequence for depeg
scenarios: a secondary-market discount of the staked asset does not move this price at all
(mechanics §10); only the base feed and the ratio do.

The current ratio is a scenario parameter (`ratio`), optionally growing at
`ratio_growth_per_year` (a factor ``(1 + g)^years`` since it was last set);
`set_ratio` changes it later (a slashing, a shock). The adapter is a view: it has no
transactions (``chain`` must stay unset) and its answer is republished whenever the base feed
lands a round, naming that round as cause, and when the ratio is set. Between those instants the
real view would drift with the cap's and the ratio's growth; that drift is seconds of yield and
is not published.

Source: bgd-labs/aave-capo ``src/contracts/PriceCapAdapterBase.sol`` (``latestAnswer``,
``_setCapParameters``; ``SECONDS_PER_YEAR = 365 days``, ``PERCENTAGE_FACTOR = 1e4``).
"""

from __future__ import annotations

import math
from typing import Self

from pydantic import Field, model_validator

from protosim.clock import ProcessGenerator
from protosim.context import SimContext
from protosim.events import ROOT
from protosim.interfaces import Oracle, OracleReading
from protosim.oracles.base import Feed, FeedParams, priced_feed_builder

SECONDS_PER_YEAR = 365 * 86_400
"""CAPO's ``SECONDS_PER_YEAR = 365 days``."""
PERCENTAGE_FACTOR = 10_000
"""CAPO's ``PERCENTAGE_FACTOR``: ``100_00`` is 100%."""


def max_ratio_growth_per_second(snapshot_ratio: float, max_yearly_growth: float) -> float:
    """Return CAPO's ``maxRatioGrowthPerSecond``.

    Parameters
    ----------
    snapshot_ratio : float
        The snapshot exchange ratio.
    max_yearly_growth : float
        ``maxYearlyRatioGrowthPercent`` in CAPO's units: hundredths of a percent (968 = 9.68%).

    Returns
    -------
    float
        Ratio units per second: ``snapshot · growth / 1e4 / 31_536_000``.

    Examples
    --------
    >>> round(max_ratio_growth_per_second(1.10, 968) * SECONDS_PER_YEAR, 12)  # 9.68% of 1.10
    0.10648
    """
    if not snapshot_ratio > 0:
        raise ValueError(f"expected snapshot_ratio > 0, was {snapshot_ratio}")
    if not max_yearly_growth >= 0:
        raise ValueError(f"expected max_yearly_growth >= 0, was {max_yearly_growth}")
    return snapshot_ratio * max_yearly_growth / PERCENTAGE_FACTOR / SECONDS_PER_YEAR


def capped_ratio(
    current_ratio: float,
    snapshot_ratio: float,
    snapshot_time_s: float,
    max_yearly_growth: float,
    now: float,
) -> float:
    """Return ``min(current_ratio, snapshot + maxRatioGrowthPerSecond · (now − snapshot_time))``.

    Parameters
    ----------
    current_ratio : float
        ``getRatio()``: the exchange ratio now.
    snapshot_ratio : float
        CAPO's snapshot ratio.
    snapshot_time_s : float
        When the snapshot was taken (simulated seconds).
    max_yearly_growth : float
        ``maxYearlyRatioGrowthPercent`` (hundredths of a percent: 968 = 9.68%).
    now : float
        ``block.timestamp`` (simulated seconds).

    Returns
    -------
    float
        The ratio the adapter multiplies the base price by.

    Examples
    --------
    A snapshot of 1.10 thirty days ago with a 9.68%/yr cap allows
    ``1.10 + 1.10 · 0.0968 · 30/365 = 1.1087517…``; a current ratio of 1.20 is capped there:

    >>> round(capped_ratio(1.20, 1.10, -30 * 86_400, 968, 0.0), 9)
    1.108751781
    >>> capped_ratio(1.105, 1.10, -30 * 86_400, 968, 0.0)  # under the cap: unchanged
    1.105
    """
    growth = max_ratio_growth_per_second(snapshot_ratio, max_yearly_growth)
    return min(current_ratio, snapshot_ratio + growth * (now - snapshot_time_s))


class ExchangeRateParams(FeedParams):
    """Parameters of a staked-asset (exchange-rate) feed (defaults: no cap)."""

    base: str
    """Id of the base feed (built earlier in the scenario): ETH/USD for wstETH."""
    ratio: float = Field(gt=0)
    """The exchange ratio at t = 0 (stETH per wstETH)."""
    ratio_growth_per_year: float = Field(default=0.0, gt=-1)
    """Yearly growth of the ratio (staking yield): a factor ``(1 + g)`` per 365 days."""
    max_yearly_ratio_growth: float | None = Field(default=None, ge=0)
    """CAPO ``maxYearlyRatioGrowthPercent`` (hundredths of a percent: 968 = 9.68%); None: no cap."""
    snapshot_ratio: float | None = Field(default=None, gt=0)
    """CAPO snapshot ratio; the ratio at t = 0 by default."""
    snapshot_time_s: float = Field(default=0.0, le=0)
    """When the snapshot was taken (<= 0: before the run; Aave uses one about 7 days old)."""

    @model_validator(mode="after")
    def _adapter(self) -> Self:
        if self.chain is not None:
            raise ValueError("expected no chain: an exchange-rate adapter sends no transactions")
        return self


class ExchangeRateFeed(Feed):
    """Base feed answer × (capped) exchange ratio.

    Parameters
    ----------
    ctx : SimContext
        The run's context.
    oracle_id : str
        The feed's id.
    params : ExchangeRateParams
        Base feed, ratio and cap.
    """

    def __init__(self, ctx: SimContext, oracle_id: str, params: ExchangeRateParams) -> None:
        if params.base == oracle_id:
            raise KeyError(f"base: oracle {oracle_id!r} cannot be its own base")
        self._source: Oracle = ctx.oracle(params.base)
        self._params = params
        self._ratio = params.ratio
        self._ratio_set_at = ctx.clock.now
        self._clock = ctx.clock
        super().__init__(ctx, oracle_id, params, self._source.read().price * self.ratio())
        self._followed_round = self._source.read().round_id
        self._source.subscribe(self._on_base)

    def current_ratio(self) -> float:
        """Return the uncapped exchange ratio now (``getRatio()``)."""
        years = (self._clock.now - self._ratio_set_at) / SECONDS_PER_YEAR
        growth = self._params.ratio_growth_per_year
        if growth == 0 or years == 0:
            return self._ratio
        return self._ratio * math.exp(math.log1p(growth) * years)

    def ratio(self) -> float:
        """Return the ratio the adapter applies now: the current ratio, capped by CAPO."""
        p = self._params
        current = self.current_ratio()
        if p.max_yearly_ratio_growth is None:
            return current
        snapshot = p.ratio if p.snapshot_ratio is None else p.snapshot_ratio
        return capped_ratio(
            current, snapshot, p.snapshot_time_s, p.max_yearly_ratio_growth, self._clock.now
        )

    def set_ratio(self, value: float, cause: int = ROOT) -> None:
        """Set the current exchange ratio to `value` now and republish (a ``ratio_change``).

        Parameters
        ----------
        value : float
            The new ratio (> 0); it grows at ``ratio_growth_per_year`` from now on.
        cause : int
            ``seq`` of the event that changed it (a shock), named as the new round's cause.
        """
        if not value > 0:
            raise ValueError(f"expected a ratio > 0, was {value}")
        self._ratio = value
        self._ratio_set_at = self._clock.now
        if self.state == "live":
            base = self._source.read()
            self.publish(
                base.price * self.ratio(),
                observed_at=self._clock.now,
                reason="ratio_change",
                cause=cause,
            )

    def _on_base(self, reading: OracleReading) -> None:
        if self.state == "live":
            self._republish(reading)

    def _republish(self, reading: OracleReading) -> None:
        self._followed_round = reading.round_id
        self.publish(
            reading.price * self.ratio(),
            observed_at=reading.observed_at,
            reason="base_round",
            cause=reading.seq,
        )

    def sources(self) -> tuple[tuple[str, str], ...]:
        """Return the base feed the answer is a multiple of (the ratio is not a market price)."""
        return (("oracle", self._params.base),)

    def run(self) -> ProcessGenerator:
        """Wait for state changes and bad prints (base rounds arrive through the subscription)."""
        while True:
            yield self.state_changed
            bad = self.take_bad_print()
            if bad is not None:
                price, cause = bad
                self.publish(price, observed_at=self._clock.now, reason="bad_print", cause=cause)
            elif self.state == "live":
                current = self._source.read()
                if current.round_id != self._followed_round:
                    self._republish(current)


build = priced_feed_builder(ExchangeRateFeed)
"""Build a `ExchangeRateFeed` from its scenario entry."""
