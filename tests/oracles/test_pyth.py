"""Pyth pull feed: vote aggregation, confidence, EMA, staleness until a pull (mechanics §4.3)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protosim import Scenario, Simulation
from protosim.events import OracleUpdated
from protosim.oracles.pyth import PythFeed, PythPrice, aggregate
from protosim.results import RunResult


def _pyth_sim(
    *, horizon_s: float, shocks: list[dict[str, Any]] | None = None, **params: Any
) -> tuple[Simulation, PythFeed]:
    data = {
        "name": "pyth",
        "horizon_s": horizon_s,
        "assets": [{"id": "ETH", "path": {"kind": "constant", "price": 2000.0}}],
        "oracles": [
            {"id": "eth-pyth", "kind": "oracle.pyth", "params": {"asset": "ETH", **params}}
        ],
        "shocks": shocks or [],
    }
    sim = Simulation(Scenario.from_dict(data), seed=1)
    feed = sim.context.oracles["eth-pyth"]
    assert isinstance(feed, PythFeed)
    return sim, feed


def _at(sim: Simulation, t: float, action: Callable[[], None]) -> None:
    sim.context.clock.call_at(t, f"test.{t}", action)


def test_aggregate_docs_example_is_median_of_votes_with_quartile_confidence() -> None:
    """Votes 99 100 100 100 101 101 102 110 120: median 101; quartile votes 100 and 102 → ±1."""
    assert aggregate([100.0, 101.0, 110.0], [1.0, 1.0, 10.0]) == (101.0, 1.0)


def test_aggregate_publishers_far_apart_widen_the_confidence() -> None:
    """Two publishers at 100 ± 1 and 110 ± 1: votes 99 100 101 109 110 111; the median is
    (101 + 109)/2 = 105 and the quartile votes (indices 1 and 4) are 100 and 110 → ±5.
    """
    assert aggregate([100.0, 110.0], [1.0, 1.0]) == (105.0, 5.0)


@given(
    st.lists(
        st.tuples(
            st.floats(min_value=1.0, max_value=1e6),
            st.floats(min_value=1e-6, max_value=1e3),
        ),
        min_size=1,
        max_size=32,
    )
)
def test_aggregate_any_quotes_price_lies_within_publishers_prices(
    quotes: list[tuple[float, float]],
) -> None:
    """At most one vote per publisher lies strictly below the lowest price (or above the
    highest), so at most N of 3N votes do: the median stays within the publishers' prices.
    """
    prices = [p for p, _ in quotes]
    result = aggregate(prices, [c for _, c in quotes])
    assert result is not None
    price, conf = result
    assert min(prices) <= price <= max(prices)
    assert conf >= 0


def test_pyth_aggregates_on_constant_market_cover_the_price_within_confidence() -> None:
    """Publishers off by 5 bps (1 USD) report ±1.96 USD: the aggregate's interval covers 2000.

    The median of 5 publishers' prices errs by about 1.25 · 1/√5 ≈ 0.56 USD (one sd), while
    the aggregate confidence is about the publishers' 1.96 USD: misses are rare, and over 500
    aggregates at least 95% cover the market price.
    """
    sim, feed = _pyth_sim(horizon_s=201.0)
    seen: list[PythPrice] = []

    def watch() -> Any:
        while True:
            yield sim.context.clock.timeout(0.4)
            seen.append(feed.aggregate())

    sim.context.clock.start("test.watch", watch())
    sim.run()
    assert len(seen) >= 500
    covered = sum(abs(a.price - 2000.0) <= a.conf for a in seen)
    assert covered / len(seen) >= 0.95
    assert all(0 < a.conf < 0.001 * 2000.0 for a in seen)


def test_pyth_ema_one_half_life_after_a_step_is_inverse_confidence_weighted() -> None:
    """Four half-lives at 2000 then one at 1800: equal decayed time in each era, weighted by
    1/conf with conf ∝ price, gives the harmonic mean 2/(1/2000 + 1/1800) = 1894.74, not the
    time-weighted midpoint 1900.
    """
    step = 4 * 3_600.0
    shock = {"kind": "price_jump", "at_s": step + 0.5, "asset": "ETH", "change": -0.1}
    sim, feed = _pyth_sim(horizon_s=step + 3_600.5, shocks=[shock], publish_interval_s=1.0)
    sim.run()
    latest = feed.aggregate()
    assert latest.publish_time == step + 3_600.0
    harmonic = 2.0 / (1 / 2000.0 + 1 / 1800.0)
    assert harmonic == pytest.approx(1894.7368, abs=1e-4)
    # Each aggregate's conf is a noisy sample (publisher noise): a tolerance of 1 USD, well
    # inside the 5.3 USD that separates the harmonic mean from the midpoint.
    assert latest.ema_price == pytest.approx(harmonic, abs=1.0)
    assert abs(latest.ema_price - 1900.0) > 4.0
    # The spot aggregate is at the new level, the EMA still between the two.
    assert latest.price == pytest.approx(1800.0, abs=2.0)


def test_pyth_staleness_age_grows_until_a_pull_lands_the_latest_aggregate() -> None:
    """No pusher: the answer of t = 0 ages; a pull at 500.1 lands the aggregate of t = 500."""
    sim, feed = _pyth_sim(horizon_s=600.0)
    ages: dict[str, float] = {}
    _at(sim, 400.1, lambda: ages.update(before=feed.age()))
    _at(sim, 500.1, lambda: (feed.pull(), ages.update(after=feed.age())))
    _at(sim, 550.0, lambda: ages.update(later=feed.age()))
    result = sim.run()
    assert ages["before"] == pytest.approx(400.1)
    # Aggregates are published every 0.4 s: the latest at or before 500.1 is 500.0.
    assert ages["after"] == pytest.approx(0.1, abs=1e-6)
    assert ages["later"] == pytest.approx(50.0, abs=1e-6)
    (update,) = result.log.of_type(OracleUpdated)
    assert update.t == 500.1
    assert update.reason == "pull"
    assert update.observed_at == pytest.approx(500.0)
    assert feed.read().updated_at == 500.1
    assert feed.confidence() > 0
    assert feed.ema_confidence() > 0


def test_pyth_outage_pull_cannot_refresh_and_age_keeps_growing() -> None:
    """Publishers down from 100.2: a pull at 600.1 lands the last aggregate (t = 100.0), aged
    500.1 s; a second pull at 700.1 finds nothing newer and lands nothing.
    """
    outage = {"kind": "oracle_outage", "at_s": 100.2, "oracle": "eth-pyth", "duration_s": 1e3}
    sim, feed = _pyth_sim(horizon_s=800.0, shocks=[outage])
    ages: list[float] = []
    for t in (600.1, 700.1):
        _at(sim, t, lambda: (feed.pull(), ages.append(feed.age())))
    result = sim.run()
    assert ages == [pytest.approx(500.1), pytest.approx(600.1)]
    assert result.log.count(OracleUpdated) == 1


def test_pyth_pull_of_an_older_aggregate_lands_the_pre_drop_price() -> None:
    """Adversarial selection: 20 s after a 10% drop a consumer may still land the aggregate
    published before it (any update younger than the 60 s history).
    """
    drop = {"kind": "price_jump", "at_s": 300.2, "asset": "ETH", "change": -0.1}
    sim, feed = _pyth_sim(horizon_s=400.0, shocks=[drop])
    _at(sim, 320.1, lambda: feed.pull(now=300.1))
    result = sim.run()
    (update,) = result.log.of_type(OracleUpdated)
    assert update.observed_at == pytest.approx(300.0)
    assert update.answer == pytest.approx(2000.0, abs=5.0)


def test_pyth_scheduled_pusher_lands_an_update_every_interval() -> None:
    """With update_interval_s = 10 the latest aggregate lands at 10, 20, …, 90 (off-chain)."""
    sim, _ = _pyth_sim(horizon_s=95.0, update_interval_s=10.0)
    result: RunResult = sim.run()
    updates = result.log.of_type(OracleUpdated)
    assert [u.t for u in updates] == [10.0 * k for k in range(1, 10)]
    assert {u.reason for u in updates} == {"scheduled"}
    assert all(u.t - 0.4 <= u.observed_at <= u.t for u in updates)
