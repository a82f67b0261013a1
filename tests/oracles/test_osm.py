"""Maker OSM: consumers read the previous hop's source price; pokes are transactions (§4.5)."""

from __future__ import annotations

from typing import Any

import pytest

from protosim import Scenario, Simulation
from protosim.events import OracleUpdated, TransactionsDelayed
from protosim.oracles.osm import OsmFeed
from protosim.results import RunResult

BLOCK = 12.0


def _osm_run(
    *,
    shocks: list[dict[str, Any]] | None = None,
    bad_print: tuple[float, float] | None = None,
    horizon_s: float = 7_300.0,
) -> RunResult:
    data = {
        "name": "osm",
        "horizon_s": horizon_s,
        "assets": [{"id": "ETH", "path": {"kind": "constant", "price": 2000.0}}],
        "chains": [{"id": "ethereum", "block_time_s": BLOCK}],
        "oracles": [
            {
                "id": "eth-osm",
                "kind": "oracle.maker_osm",
                "params": {
                    "asset": "ETH",
                    "chain": "ethereum",
                    "latency_min_s": 0.0,
                    "latency_max_s": 0.0,
                },
            }
        ],
        "shocks": [
            {"kind": "price_jump", "at_s": 1_000.0, "asset": "ETH", "change": -0.1},
            *(shocks or []),
        ],
    }
    sim = Simulation(Scenario.from_dict(data), seed=1)
    if bad_print is not None:
        at_s, price = bad_print
        feed = sim.context.oracles["eth-osm"]
        assert isinstance(feed, OsmFeed)
        sim.context.clock.call_at(
            at_s, "test.bad_print", lambda: feed.inject_bad_print(price, cause=-1)
        )
    return sim.run()


def test_osm_after_a_drop_serves_the_previous_hops_price_for_one_more_hop() -> None:
    """A 10% drop at t = 1000 reaches consumers only at the second poke, one hop later."""
    result = _osm_run()
    updates = result.log.of_type(OracleUpdated)
    # Pokes are due at 3600 and 7200; each lands in the first 12 s block after it: 3612, 7212.
    assert [u.t for u in updates] == [3_612.0, 7_212.0]
    # The first poke promotes nxt read at t = 0 (2000) and reads 1800 into nxt; the second
    # promotes that 1800, read at 3612.
    assert [u.answer for u in updates] == [2000.0, pytest.approx(1800.0)]
    assert [u.observed_at for u in updates] == [0.0, 3_612.0]
    assert type(result.log.get(updates[1].cause)).__name__ == "ShockApplied"


def test_osm_poke_under_congestion_lands_late_and_next_hop_stays_on_schedule() -> None:
    """Full blocks from 3500 to 4700 hold the poke; zzz = prev(4704) = 3600 keeps 7200 due."""
    congestion = {
        "kind": "chain_congestion",
        "at_s": 3_500.0,
        "chain": "ethereum",
        "duration_s": 1_200.0,
        "base_fee_multiplier": 1.0,
        "background_gas_share": 1.0,
    }
    result = _osm_run(shocks=[congestion])
    updates = result.log.of_type(OracleUpdated)
    # Congestion ends at 4700; the first block after it is 392 × 12 = 4704.
    assert [u.t for u in updates] == [4_704.0, 7_212.0]
    assert [u.answer for u in updates] == [2000.0, pytest.approx(1800.0)]
    # The second poke promotes the source value read when the late poke landed.
    assert [u.observed_at for u in updates] == [0.0, 4_704.0]
    assert result.log.count(TransactionsDelayed) > 0


def test_osm_bad_source_print_reaches_consumers_one_hop_after_the_next_poke() -> None:
    """A wrong source value at t = 100 enters nxt at the 3612 poke and is served from 7212."""
    result = _osm_run(bad_print=(100.0, 50.0))
    updates = result.log.of_type(OracleUpdated)
    assert [u.t for u in updates] == [3_612.0, 7_212.0]
    assert [u.answer for u in updates] == [2000.0, 50.0]
    assert updates[1].reason == "bad_print"


def test_osm_outage_sends_no_poke_and_answer_stays() -> None:
    """With pokes stopped from t = 3000 for 5000 s, the answer of t = 0 stands."""
    outage = {"kind": "oracle_outage", "at_s": 3_000.0, "oracle": "eth-osm", "duration_s": 5e3}
    result = _osm_run(shocks=[outage])
    assert result.log.count(OracleUpdated) == 0
    assert result.component_metrics["eth-osm"]["last_answer"] == 2000.0
