"""Multi-venue index: weighted median (Hyperliquid §5.3) and Binance's outlier rule (§6.4)."""

from __future__ import annotations

from typing import Any

import pytest

from protosim import Scenario, Simulation
from protosim.events import OracleUpdated
from protosim.oracles.median import index_price, weighted_median
from protosim.results import RunResult

# Hyperliquid's oracle weights for four of its sources (mechanics §5.3).
WEIGHTS = {"binance": 3.0, "okx": 2.0, "bybit": 2.0, "kraken": 1.0}


def _index_run(*, kraken_to: float, **params: Any) -> tuple[RunResult, float]:
    feed: dict[str, Any] = {"asset": "ETH", "weights": WEIGHTS, "update_interval_s": 3.0}
    feed.update(params)
    data = {
        "name": "index",
        "horizon_s": 20.0,
        "assets": [{"id": "ETH", "path": {"kind": "constant", "price": 2000.0}}],
        "markets": [
            {
                "id": venue,
                "asset": "ETH",
                "impact": {"kind": "constant_product", "depth_usd": 1e8, "fee_bps": 0.0},
            }
            for venue in WEIGHTS
        ],
        "oracles": [{"id": "eth-index", "kind": "oracle.median_index", "params": feed}],
    }
    sim = Simulation(Scenario.from_dict(data), seed=1)
    market = sim.context.market
    seen: list[float] = []

    def pump() -> None:
        impact = market.venues["kraken"].impact
        market.trade(
            "kraken",
            impact.quantity_for_price(market.price("ETH", "kraken"), kraken_to),
            trader="t",
        )
        seen.append(market.price("ETH", "kraken"))

    sim.context.clock.call_at(4.5, "test.pump", pump)
    return sim.run(), seen[0]


def test_weighted_median_with_one_venue_wildly_off_ignores_it() -> None:
    """Kraken pumped 10× carries weight 1 of 8: the weighted median stays at 2000."""
    result, kraken = _index_run(kraken_to=20_000.0)
    assert kraken == pytest.approx(20_000.0)
    # Rounds at 3, 6, …, 18 all republish 2000 (the pump at 4.5 is seen from 6 on): the
    # answer never changes, so no round is logged, yet the index stays fresh.
    assert result.log.of_type(OracleUpdated) == []
    assert result.component_metrics["eth-index"]["last_answer"] == 2000.0
    assert result.component_metrics["eth-index"]["last_updated_at"] == 18.0


def test_weighted_mean_with_one_venue_off_is_pulled_and_outlier_rule_restores_it() -> None:
    """Mean: (3·2000 + 2·2000 + 2·2000 + 1·20000)/8 = 4250; Binance's 5% rule gives 2000."""
    mean_run, _ = _index_run(kraken_to=20_000.0, method="weighted_mean")
    assert mean_run.log.of_type(OracleUpdated)[-1].answer == pytest.approx(4_250.0, rel=1e-9)
    guarded, _ = _index_run(kraken_to=20_000.0, method="weighted_mean", exclude_outliers_bps=500.0)
    assert guarded.log.of_type(OracleUpdated) == []  # never moved off 2000
    assert guarded.component_metrics["eth-index"]["last_answer"] == 2000.0


def test_weighted_median_distinct_prices_is_smallest_reaching_half_weight() -> None:
    """Sorted 1990 (w 2), 2000 (w 2), 2010 (w 3), 5000 (w 1): cumulative 2, 4 ≥ 8/2 → 2000."""
    assert weighted_median([2010.0, 2000.0, 1990.0, 5000.0], [3.0, 2.0, 2.0, 1.0]) == 2000.0


def test_weighted_median_heavy_venue_at_half_weight_decides_alone() -> None:
    """One venue with weight 4 of 8 at the lowest price: its cumulative weight is already 4."""
    assert weighted_median([1900.0, 2000.0, 2000.0], [4.0, 2.0, 2.0]) == 1900.0


def test_index_several_outliers_falls_back_to_plain_median() -> None:
    """Binance: one outlier is dropped; if several deviate, the median is used."""
    prices = {"a": 2000.0, "b": 2010.0, "c": 2020.0, "d": 10_000.0, "e": 20_000.0}
    weights = dict.fromkeys(prices, 1.0)
    # Plain median 2020; d and e are > 5% away. Dropping both: mean(2000, 2010, 2020) = 2010.
    dropped = index_price(prices, weights, method="weighted_mean", exclude_outliers_bps=500.0)
    assert dropped == pytest.approx(2010.0)
    fallback = index_price(
        prices,
        weights,
        method="weighted_mean",
        exclude_outliers_bps=500.0,
        median_if_outliers_exceed=1,
    )
    assert fallback == 2020.0


def _feed(weights: dict[str, float], **params: Any) -> Any:
    data = {
        "name": "index",
        "horizon_s": 10.0,
        "assets": [{"id": "ETH", "path": {"kind": "constant", "price": 2000.0}}],
        "markets": [
            {
                "id": venue,
                "asset": "ETH",
                "impact": {"kind": "constant_product", "depth_usd": 1e8, "fee_bps": 0.0},
            }
            for venue in weights
        ],
        "oracles": [
            {
                "id": "eth-index",
                "kind": "oracle.median_index",
                "params": {"asset": "ETH", "weights": weights, **params},
            }
        ],
    }
    return Simulation(Scenario.from_dict(data), seed=1).context.oracle("eth-index")


@pytest.mark.parametrize(
    "params",
    [
        {"method": "weighted_mean"},
        {"method": "weighted_median"},
        {"method": "weighted_mean", "exclude_outliers_bps": 1.0, "median_if_outliers_exceed": 1},
    ],
)
def test_per_tick_index_is_index_price_to_the_last_bit_whatever_the_weights_order(
    params: dict[str, Any],
) -> None:
    """The index each tick publishes is `index_price`'s (venues summed by name), bit for bit."""
    # Given out of name order: summed in the order given, this mean would be 2000.3430000000003
    # rather than 2000.3429999999998 (0.6·2000.24 + 0.3·2000.54 + 0.1·2000.37 ≈ 2000.343).
    weights = {"okx": 0.6, "binance": 0.3, "kraken": 0.1}
    prices = {"okx": 2000.24, "binance": 2000.54, "kraken": 2000.37}
    feed = _feed(weights, **params)
    observed = feed.observed_venues()
    got = feed.combiner()(tuple(prices[v] for v in observed))
    assert got == index_price(prices, weights, **params)
    # The median: okx alone carries 0.6 of the weight. The 1 bps rule drops nobody (2000.24
    # and 2000.54 are within 0.2 of the plain median 2000.37), so the mean stands.
    assert got == pytest.approx(2000.24 if params["method"] == "weighted_median" else 2000.343)
