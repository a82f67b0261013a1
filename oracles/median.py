"""Multi-venue index: a weighted median (or mean) of several venues' prices.

Two documented indices are of this kind:

- Hyperliquid's oracle (mechanics §5.3): each validator takes the weighted median of spot mids
  (Binance 3, OKX 2, Bybit 2, Kraken 1, KuCoin 1, Gate 1, MEXC 1, Hyperliquid 1), published
  about every 3 s. The weighted median is the smallest price whose cumulative weight, with the
  prices sorted ascending, reaches half the total weight: a venue is ignored however far off it
  is, unless it carries half the weight.
- Binance's futures index (mechanics §6.4): a weighted average of ~10 exchanges' spot prices,
  about every second, where "if one source deviates > 5% from the median, its weight is 0; if
  several deviate, the median is used". `exclude_outliers_bps` and
  `median_if_outliers_exceed` model that rule; `method = "weighted_mean"` the average.

The index is computed off-chain (``chain = None`` by default) at every multiple of
`update_interval_s`. A venue here is a trading venue of the `Market`; validators' own stake-
weighted median over their slightly different views is not modelled (they all see the same
venue prices).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Literal

import numpy as np
from pydantic import Field, field_validator

from protosim.clock import ProcessGenerator
from protosim.context import SimContext
from protosim.oracles.base import Feed, FeedParams, check_observed_venues, priced_feed_builder

Method = Literal["weighted_median", "weighted_mean"]


def weighted_median(prices: Sequence[float], weights: Sequence[float]) -> float:
    """Return the smallest price whose cumulative weight reaches half the total weight.

    Parameters
    ----------
    prices : sequence of float
        One price per source.
    weights : sequence of float
        One weight > 0 per source.

    Returns
    -------
    float
        The weighted median.

    Examples
    --------
    Hyperliquid-style weights 3, 2, 2, 1 (total 8, half 4). Sorted: 1990 (w 2, cumulative 2),
    2000 (w 2, cumulative 4: reaches 4), 2010 (w 3), 5000 (w 1):

    >>> weighted_median([2010.0, 2000.0, 1990.0, 5000.0], [3.0, 2.0, 2.0, 1.0])
    2000.0

    A source with half the weight or more decides alone:

    >>> weighted_median([1.0, 9.0], [1.0, 1.0])
    1.0
    """
    if len(prices) != len(weights) or not prices:
        raise ValueError(
            f"expected as many weights as prices (>= 1), was {len(prices)} and {len(weights)}"
        )
    if any(not w > 0 for w in weights):
        raise ValueError(f"expected weights > 0, was {list(weights)}")
    order = sorted(range(len(prices)), key=lambda i: prices[i])
    half = sum(weights) / 2.0
    cumulative = 0.0
    for i in order:
        cumulative += weights[i]
        if cumulative >= half:
            return float(prices[i])
    return float(prices[order[-1]])  # pragma: no cover - the loop always reaches the total


def weighted_mean(prices: Sequence[float], weights: Sequence[float]) -> float:
    """Return ``Σ wᵢ pᵢ / Σ wᵢ``.

    Parameters
    ----------
    prices : sequence of float
        One price per source.
    weights : sequence of float
        One weight >= 0 per source, with a positive total.

    Returns
    -------
    float
        The weighted average.

    Examples
    --------
    >>> weighted_mean([2000.0, 2000.0, 2000.0, 20000.0], [3.0, 2.0, 2.0, 1.0])
    4250.0
    """
    if len(prices) != len(weights) or not prices:
        raise ValueError(
            f"expected as many weights as prices (>= 1), was {len(prices)} and {len(weights)}"
        )
    total = sum(weights)
    if not total > 0:
        raise ValueError(f"expected a total weight > 0, was {total}")
    return float(sum(p * w for p, w in zip(prices, weights, strict=True)) / total)


def index_price(
    prices: Mapping[str, float],
    weights: Mapping[str, float],
    *,
    method: Method = "weighted_median",
    exclude_outliers_bps: float | None = None,
    median_if_outliers_exceed: int | None = None,
) -> float:
    """Return the index of `prices` (by venue) with `weights` (by venue).

    Parameters
    ----------
    prices, weights : mapping of venue to float
        The venues' prices and weights (same keys).
    method : {"weighted_median", "weighted_mean"}
        How the kept prices are combined.
    exclude_outliers_bps : float, optional
        Give weight 0 to a venue farther than this from the plain median of all venues
        (Binance: 500 bps).
    median_if_outliers_exceed : int, optional
        If more venues than this deviate, return the plain median (Binance: 1, "if several
        deviate, the median is used").

    Returns
    -------
    float
        The index price.

    Examples
    --------
    One venue 10× off: a 5% exclusion drops it before averaging.

    >>> p = {"binance": 2000.0, "okx": 2000.0, "bybit": 2000.0, "kraken": 20000.0}
    >>> w = {"binance": 3.0, "okx": 2.0, "bybit": 2.0, "kraken": 1.0}
    >>> index_price(p, w, method="weighted_mean")
    4250.0
    >>> index_price(p, w, method="weighted_mean", exclude_outliers_bps=500.0)
    2000.0
    """
    venues = sorted(prices)
    if set(venues) != set(weights):
        raise ValueError(f"expected weights for the venues {venues}, was {sorted(weights)}")
    values = [prices[v] for v in venues]
    if exclude_outliers_bps is not None:
        median = float(np.median(values))
        band = exclude_outliers_bps / 10_000
        kept = [v for v in venues if abs(prices[v] / median - 1.0) <= band]
        outliers = len(venues) - len(kept)
        if not kept or (
            median_if_outliers_exceed is not None and outliers > median_if_outliers_exceed
        ):
            return median
        venues = kept
    kept_prices = [prices[v] for v in venues]
    kept_weights = [weights[v] for v in venues]
    if method == "weighted_median":
        return weighted_median(kept_prices, kept_weights)
    return weighted_mean(kept_prices, kept_weights)


class MedianIndexParams(FeedParams):
    """Parameters of a multi-venue index (defaults: Hyperliquid's oracle cadence)."""

    weights: dict[str, float] = Field(min_length=1)
    """Trading venue → weight (> 0)."""
    method: Method = "weighted_median"
    update_interval_s: float = Field(default=3.0, gt=0)
    """Hyperliquid ~3 s; Binance index ~1 s."""
    exclude_outliers_bps: float | None = Field(default=None, gt=0)
    """Binance: a source > 500 bps from the median gets weight 0 (mechanics §6.4)."""
    median_if_outliers_exceed: int | None = Field(default=None, ge=0)
    """Binance: 1 ("if several deviate, the median is used")."""

    @field_validator("weights")
    @classmethod
    def _positive(cls, value: dict[str, float]) -> dict[str, float]:
        bad = {v: w for v, w in value.items() if not (w > 0 and math.isfinite(w))}
        if bad:
            raise ValueError(f"expected finite weights > 0, was {bad}")
        return value


class MedianIndexFeed(Feed):
    """A weighted median (or mean) of several venues' prices, on a fixed cadence.

    Parameters
    ----------
    ctx : SimContext
        The run's context.
    oracle_id : str
        The feed's id.
    params : MedianIndexParams
        Venues, weights, rule and cadence.
    """

    def __init__(self, ctx: SimContext, oracle_id: str, params: MedianIndexParams) -> None:
        self._venues = tuple(sorted(params.weights))
        check_observed_venues(ctx, params.asset, self._venues)
        self._params = params
        self._market = ctx.market
        super().__init__(ctx, oracle_id, params, self.index())

    def index(self) -> float:
        """Return the index computed from the venues' prices now."""
        p = self._params
        market = self._market
        return index_price(
            {v: market.price(p.asset, v) for v in self._venues},
            p.weights,
            method=p.method,
            exclude_outliers_bps=p.exclude_outliers_bps,
            median_if_outliers_exceed=p.median_if_outliers_exceed,
        )

    def sources(self) -> tuple[tuple[str, str], ...]:
        """Return the venues the index weighs."""
        return tuple(("market", venue) for venue in self._params.weights)

    def combiner(self) -> Callable[[tuple[float, ...]], float]:
        """Return the index as a function of the venues' prices in `observed_venues` order.

        The same arithmetic as `index_price` in the same order (so the same float), with the
        per-call sorting of venue names, dict building and weight checks done once here.
        """
        p = self._params
        observed = self.observed_venues()
        positions = tuple(observed.index(v) for v in self._venues)  # index_price's name order
        weights = [p.weights[v] for v in self._venues]
        if p.exclude_outliers_bps is not None:

            def general(prices: tuple[float, ...]) -> float:
                return index_price(
                    {v: prices[i] for v, i in zip(self._venues, positions, strict=True)},
                    p.weights,
                    method=p.method,
                    exclude_outliers_bps=p.exclude_outliers_bps,
                    median_if_outliers_exceed=p.median_if_outliers_exceed,
                )

            return general
        if p.method == "weighted_mean":
            total = sum(weights)

            def mean(prices: tuple[float, ...]) -> float:
                values = [prices[i] for i in positions]
                return float(sum(v * w for v, w in zip(values, weights, strict=True)) / total)

            return mean
        half = sum(weights) / 2.0
        span = range(len(weights))

        def median(prices: tuple[float, ...]) -> float:
            values = [prices[i] for i in positions]
            cumulative = 0.0
            for i in sorted(span, key=values.__getitem__):
                cumulative += weights[i]
                if cumulative >= half:
                    return float(values[i])
            return float(max(values))  # pragma: no cover - the loop always reaches the total

        return median

    def run(self) -> ProcessGenerator:
        """Publish the index at every multiple of `update_interval_s`."""
        combine = self.combiner()
        return self.run_every(
            self._params.update_interval_s, lambda landed: self.report_venues(combine, landed)
        )


build = priced_feed_builder(MedianIndexFeed)
"""Build a `MedianIndexFeed` from its scenario entry."""
