"""Consumer guards: stale answers pause or fall back, the L2 sentinel holds liquidations
during its grace period (mechanics §1.2, §1.8, §4.2)."""

from __future__ import annotations

from typing import Any

from protosim import Scenario, Simulation
from protosim.events import OracleGuardTriggered
from protosim.results import RunResult
from protosim.testing import tiny_scenario_dict


def _scenario(**venue_params: Any) -> dict[str, Any]:
    data = tiny_scenario_dict(accounts=600, depth_usd=200e6, horizon_s=12_000.0)
    data["venues"][0]["params"].update(venue_params)
    return data


def _run(data: dict[str, Any]) -> RunResult:
    return Simulation(Scenario.from_dict(data), seed=5).run()


def _usdc_outage_scenario(max_age: float | None) -> dict[str, Any]:
    data = _scenario()
    data["oracles"][1]["params"]["heartbeat_s"] = 3_000.0
    if max_age is not None:
        data["venues"][0]["params"]["reserves"]["USDC"]["max_oracle_age_s"] = max_age
    data["shocks"] = [
        {"kind": "oracle_outage", "at_s": 2_000.0, "oracle": "usdc-usd", "duration_s": 7_000.0},
        {"kind": "price_jump", "at_s": 7_000.0, "asset": "ETH", "change": -0.2, "duration_s": 60.0},
    ]
    return data


def test_stale_debt_feed_pauses_liquidations_until_it_updates() -> None:
    """With a 1 h limit, the USDC answer of t≈3000 is stale from t≈6600; the ETH crash at 7000
    liquidates nothing until the feed is back at 9000 and lands a round."""
    result = _run(_usdc_outage_scenario(max_age=3_600.0))
    t = result.liquidations["t"]
    assert len(t) > 0
    assert t.min() > 9_000.0
    actions = [(e.asset, e.condition, e.action) for e in result.log.of_type(OracleGuardTriggered)]
    assert ("USDC", "stale", "pause") in actions
    assert actions[-1] == ("USDC", "ok", "use")


def test_without_staleness_check_liquidations_use_the_stale_answer() -> None:
    """AaveOracle has no staleness check: the same crash liquidates right away (§1.8)."""
    result = _run(_usdc_outage_scenario(max_age=None))
    t = result.liquidations["t"]
    assert t.min() < 7_200.0
    assert result.log.count(OracleGuardTriggered) == 0


def test_stale_primary_switches_to_the_fallback_oracle() -> None:
    """When the ETH feed has been silent longer than 30 minutes, the fallback feed prices ETH."""
    data = _scenario()
    fallback = {
        "id": "eth-fallback",
        "kind": "oracle.chainlink",
        "params": {"asset": "ETH", "chain": "ethereum", "deviation_bps": 100.0},
    }
    data["oracles"].append(fallback)
    eth = data["venues"][0]["params"]["reserves"]["ETH"]
    eth.update(fallback_oracle="eth-fallback", max_oracle_age_s=1_800.0)
    data["venues"][0]["params"]["oracle_guard"] = {"on_stale": "fallback"}
    data["shocks"] = [
        {"kind": "oracle_outage", "at_s": 300.0, "oracle": "eth-usd", "duration_s": 10_000.0},
        {"kind": "price_jump", "at_s": 600.0, "asset": "ETH", "change": -0.2, "duration_s": 60.0},
    ]
    result = _run(data)
    t = result.liquidations["t"]
    # The primary's last answer is from t = 0: stale after 1,800 s, long before it resumes.
    assert 1_800.0 < t.min() < 2_000.0
    actions = [(e.asset, e.condition, e.action) for e in result.log.of_type(OracleGuardTriggered)]
    assert ("ETH", "stale", "fallback") in actions


def test_sentinel_grace_period_allows_only_health_below_095() -> None:
    """For an hour after the sequencer is back, only positions with HF < 0.95 are liquidated."""
    data = _scenario(oracle_guard={"sentinel_grace_period_s": 3_600.0})
    data["chains"][0]["block_time_s"] = 2.0
    data["shocks"] = [
        {"kind": "sequencer_outage", "at_s": 100.0, "chain": "ethereum", "duration_s": 900.0},
        {"kind": "price_jump", "at_s": 1_100.0, "asset": "ETH", "change": -0.2, "duration_s": 60.0},
    ]
    liq = _run(data).liquidations
    during = liq[liq["t"] <= 1_000.0 + 3_600.0]
    after = liq[liq["t"] > 1_000.0 + 3_600.0]
    assert len(during) > 0
    assert (during["health_before"] < 0.95).all()
    assert (after["health_before"] >= 0.95).any()


def test_sentinel_reading_the_sequencer_uptime_feed_holds_the_same_grace() -> None:
    """Through the Chainlink uptime feed (answer 0 = up, startedAt = when it came back), the
    sentinel allows only HF < 0.95 for the grace period after the outage."""
    data = _scenario(
        oracle_guard={"sentinel_grace_period_s": 3_600.0, "sequencer_oracle": "l2-sequencer"}
    )
    data["chains"][0]["block_time_s"] = 2.0
    data["oracles"].append(
        {
            "id": "l2-sequencer",
            "kind": "oracle.sequencer_uptime",
            "params": {"monitors": "ethereum"},
        }
    )
    data["shocks"] = [
        {"kind": "sequencer_outage", "at_s": 100.0, "chain": "ethereum", "duration_s": 900.0},
        {"kind": "price_jump", "at_s": 1_100.0, "asset": "ETH", "change": -0.2, "duration_s": 60.0},
    ]
    result = _run(data)
    answers = result.oracle_updates
    feed = answers[answers["oracle"] == "l2-sequencer"]
    assert feed["answer"].tolist() == [1.0, 0.0]
    assert feed["observed_at"].tolist() == [100.0, 1_000.0]
    liq = result.liquidations
    during = liq[liq["t"] <= 1_000.0 + 3_600.0]
    assert len(during) > 0
    assert (during["health_before"] < 0.95).all()


def test_stale_pause_names_the_outage_as_its_cause() -> None:
    """A stale answer pauses the asset because the feed stopped: the guard's event names the
    oracle-outage shock, not the last good round."""
    result = _run(_usdc_outage_scenario(max_age=3_600.0))
    stale = [e for e in result.log.of_type(OracleGuardTriggered) if e.condition == "stale"]
    assert stale
    assert result.log.get(stale[0].cause).shock == "oracle_outage"  # type: ignore[attr-defined]


def test_sentinel_events_name_the_sequencer_outage() -> None:
    """The sentinel's grace and its end are caused by the sequencer outage shock (through the
    chain's halt), so the contagion graph reaches the outage; a chain running at the start of
    the run is not in a grace period."""
    data = _scenario(oracle_guard={"sentinel_grace_period_s": 3_600.0})
    data["chains"][0]["block_time_s"] = 2.0
    data["shocks"] = [
        {"kind": "sequencer_outage", "at_s": 100.0, "chain": "ethereum", "duration_s": 900.0},
    ]
    result = _run(data)
    sentinel = [e for e in result.log.of_type(OracleGuardTriggered) if e.oracle == "sequencer"]
    assert [e.condition for e in sentinel] == ["sequencer_grace", "ok"]
    for event in sentinel:
        assert result.log.get(event.cause).shock == "sequencer_outage"  # type: ignore[attr-defined]
