"""Chainlink push feed: deviation and heartbeat, latency, bounds, outages (mechanics §4.1)."""

from __future__ import annotations

from typing import Any

import pytest

from protosim import Scenario, Simulation
from protosim.events import OracleRoundRejected, OracleStateChanged, OracleUpdated
from protosim.results import RunResult

BLOCK = 12.0


def _feed_run(
    *,
    shocks: list[dict[str, Any]] = (),  # type: ignore[assignment]
    horizon_s: float = 2_000.0,
    **params: Any,
) -> RunResult:
    feed = {
        "asset": "ETH",
        "chain": "ethereum",
        "deviation_bps": 50.0,
        "heartbeat_s": 3_600.0,
        "latency_min_s": 0.0,
        "latency_max_s": 0.0,
    }
    feed.update(params)
    data = {
        "name": "feed",
        "horizon_s": horizon_s,
        "assets": [{"id": "ETH", "path": {"kind": "constant", "price": 2000.0}}],
        "chains": [{"id": "ethereum", "block_time_s": BLOCK}],
        "oracles": [{"id": "eth-usd", "kind": "oracle.chainlink", "params": feed}],
        "shocks": list(shocks),
    }
    return Simulation(Scenario.from_dict(data), seed=1).run()


def _jump(change: float, at_s: float = 100.0) -> dict[str, Any]:
    return {"kind": "price_jump", "at_s": at_s, "asset": "ETH", "change": change}


def test_deviation_just_below_threshold_publishes_nothing_before_heartbeat() -> None:
    """A 0.49% move is inside a 0.5% band: no round until the heartbeat."""
    result = _feed_run(shocks=[_jump(-0.0049)])
    assert result.log.count(OracleUpdated) == 0


def test_deviation_just_above_threshold_publishes_in_the_next_block() -> None:
    """A 0.51% move triggers a round; with zero latency it lands in the first block after it."""
    result = _feed_run(shocks=[_jump(-0.0051)])
    (update,) = result.log.of_type(OracleUpdated)
    assert update.reason == "deviation"
    assert update.answer == pytest.approx(2000.0 * (1 - 0.0051), abs=1e-8)
    assert update.observed_at == 100.0
    # Blocks land at multiples of 12 s: the first one after t = 100 is t = 108.
    assert update.t == 108.0


def test_heartbeat_publishes_exactly_at_its_interval() -> None:
    """With a flat price, rounds are observed when now − updatedAt reaches the heartbeat."""
    result = _feed_run(heartbeat_s=600.0, horizon_s=1_900.0)
    updates = result.log.of_type(OracleUpdated)
    assert [u.reason for u in updates] == ["heartbeat"] * 3
    # Observed at 600 (updatedAt 0); a block includes only what arrived strictly before it, so
    # it lands at 612; the next is due at 612 + 600 = 1212, lands at 1224; the next at 1824.
    assert [u.observed_at for u in updates] == [600.0, 1212.0, 1824.0]
    assert [u.t for u in updates] == [612.0, 1224.0, 1836.0]
    assert [u.round_id for u in updates] == [2, 3, 4]


def test_publish_latency_delays_landing_to_a_later_block() -> None:
    """A round lands in the first block at or after observation + latency."""
    result = _feed_run(shocks=[_jump(-0.01)], latency_min_s=30.0, latency_max_s=30.0)
    (update,) = result.log.of_type(OracleUpdated)
    # Observed at 100, reaches the chain at 130, the next block is at 132.
    assert update.t == 132.0


def test_report_below_min_answer_is_rejected_and_last_answer_stands() -> None:
    """Below minAnswer the round is rejected; the feed keeps its last answer (LUNA/USD, 2022)."""
    # 2000 × 0.06 = 120 is above minAnswer 100 and lands; a further halving to 60 does not.
    result = _feed_run(shocks=[_jump(-0.94, at_s=100.0), _jump(-0.5, at_s=500.0)], min_answer=100.0)
    answers = [u.answer for u in result.log.of_type(OracleUpdated)]
    assert answers == [pytest.approx(120.0)]
    rejected = result.log.of_type(OracleRoundRejected)
    assert len(rejected) == 1
    assert rejected[0].observed == pytest.approx(60.0)
    assert rejected[0].reason == "below_min_answer"


def test_outage_publishes_no_round_until_it_ends() -> None:
    """During an outage no rounds land; the deviation is published once the feed resumes."""
    outage = {"kind": "oracle_outage", "at_s": 50.0, "oracle": "eth-usd", "duration_s": 1_000.0}
    result = _feed_run(shocks=[outage, _jump(-0.05)])
    updates = result.log.of_type(OracleUpdated)
    assert len(updates) == 1
    assert updates[0].observed_at == 1_050.0
    states = [e.state for e in result.log.of_type(OracleStateChanged)]
    assert states == ["outage", "live"]


def test_frozen_feed_repeats_its_answer_on_heartbeat() -> None:
    """A frozen feed keeps landing heartbeat rounds that repeat the frozen answer."""
    frozen = {
        "kind": "oracle_outage",
        "at_s": 50.0,
        "oracle": "eth-usd",
        "duration_s": 5_000.0,
        "mode": "frozen",
    }
    result = _feed_run(shocks=[frozen, _jump(-0.3)], heartbeat_s=600.0, horizon_s=1_500.0)
    updates = result.log.of_type(OracleUpdated)
    assert updates
    assert {u.reason for u in updates} == {"frozen"}
    assert {u.answer for u in updates} == {2000.0}


def test_update_names_the_shock_as_cause() -> None:
    """A deviation round caused by a price shock names the shock's event as its cause."""
    result = _feed_run(shocks=[_jump(-0.02)])
    (update,) = result.log.of_type(OracleUpdated)
    cause = result.log.get(update.cause)
    assert type(cause).__name__ == "ShockApplied"
