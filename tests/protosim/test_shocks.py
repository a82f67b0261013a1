"""Scheduled shocks: each logs a root event and acts exactly as specified."""

from __future__ import annotations

from typing import Any

import pytest

from protosim import Scenario, Simulation
from protosim.events import ChainStateChanged, OracleUpdated, ShockApplied, TradeExecuted
from protosim.results import RunResult


def _run(
    shocks: list[dict[str, Any]], *, horizon_s: float = 3_000.0, recovery_s: float | None = None
) -> RunResult:
    data = {
        "name": "shocks",
        "horizon_s": horizon_s,
        "assets": [{"id": "ETH", "path": {"kind": "constant", "price": 1000.0}}],
        "chains": [{"id": "l2", "block_time_s": 2.0}],
        "markets": [
            {
                "id": "pool",
                "asset": "ETH",
                "impact": {"kind": "constant_product", "depth_usd": 100_000.0, "fee_bps": 0.0},
            }
        ],
        "oracles": [
            {
                "id": "feed",
                "kind": "oracle.chainlink",
                "params": {
                    "asset": "ETH",
                    "chain": "l2",
                    "observes": ["pool"],
                    "latency_min_s": 0.0,
                    "latency_max_s": 0.0,
                    "heartbeat_s": 86_400.0,
                },
            }
        ],
        "shocks": shocks,
    }
    if recovery_s is not None:
        data["markets"][0]["recovery_half_life_s"] = recovery_s  # type: ignore[index]
    return Simulation(Scenario.from_dict(data), seed=1).run()


def test_bad_print_publishes_once_then_the_feed_corrects() -> None:
    """A bad print lands the wrong value once; the next round puts the market price back."""
    result = _run([{"kind": "oracle_bad_print", "at_s": 100.0, "oracle": "feed", "price": 500.0}])
    answers = [(u.reason, u.answer) for u in result.log.of_type(OracleUpdated)]
    assert answers == [("bad_print", 500.0), ("deviation", 1000.0)]


def test_bad_print_change_is_relative_to_the_current_answer() -> None:
    """`change = -0.3` prints 70% of the answer standing at the time."""
    result = _run([{"kind": "oracle_bad_print", "at_s": 100.0, "oracle": "feed", "change": -0.3}])
    first = result.log.of_type(OracleUpdated)[0]
    assert first.answer == pytest.approx(700.0)


def test_oracle_delay_adds_latency_only_inside_its_window() -> None:
    """Rounds started inside the delay window land `extra_latency_s` later (next 2 s block)."""
    shocks = [
        {
            "kind": "oracle_delay",
            "at_s": 0.0,
            "oracle": "feed",
            "extra_latency_s": 61.0,
            "duration_s": 500.0,
        },
        {"kind": "price_jump", "at_s": 100.0, "asset": "ETH", "change": -0.1},
        {"kind": "price_jump", "at_s": 1_000.0, "asset": "ETH", "change": -0.1},
    ]
    updates = _run(shocks).log.of_type(OracleUpdated)
    # Observed at 100, arrives at 161, first block strictly after: 162.
    # Observed at 1000 (window over), arrives at 1000, lands at 1002.
    assert [u.t for u in updates] == [162.0, 1_002.0]


def test_market_trade_to_target_moves_the_pool_price_by_that_much() -> None:
    """`target_change = 0.5` buys exactly enough to lift the pool price 50%."""
    shocks = [{"kind": "market_trade", "at_s": 100.0, "venue": "pool", "target_change": 0.5}]
    (trade,) = _run(shocks).log.of_type(TradeExecuted)
    assert trade.price_after == pytest.approx(1500.0)
    # x = 100 tokens at 1000 USD in a 100,000 USD pool; x' = 100/√1.5 tokens remain.
    assert trade.quantity == pytest.approx(100 - 100 / 1.5**0.5)


def test_manipulation_without_arbitrage_round_trips_at_no_cost() -> None:
    """Buying up a fee-less pool nobody arbitrages and selling back later returns to the same
    reserves: the manipulator gets back what it paid, and the oracle followed the spike."""
    shocks = [
        {
            "kind": "market_trade",
            "at_s": 100.0,
            "venue": "pool",
            "target_change": 1.0,
            "hold_s": 600.0,
        }
    ]
    result = _run(shocks)
    buy, sell = result.log.of_type(TradeExecuted)
    assert sell.quantity == pytest.approx(-buy.quantity)
    assert sell.notional_usd == pytest.approx(buy.notional_usd)
    assert max(u.answer for u in result.log.of_type(OracleUpdated)) == pytest.approx(2000.0)


def test_sequencer_outage_stops_blocks_and_logs_down_and_up() -> None:
    """No block is produced while the sequencer is down; it resumes at the end of the outage."""
    shocks = [
        {"kind": "sequencer_outage", "at_s": 100.0, "chain": "l2", "duration_s": 500.0},
        {"kind": "price_jump", "at_s": 200.0, "asset": "ETH", "change": -0.2},
    ]
    result = _run(shocks)
    states = [e.state for e in result.log.of_type(ChainStateChanged)]
    assert states == ["down", "up"]
    (update,) = result.log.of_type(OracleUpdated)
    # Observed at 200 during the outage; the first block after it is at t = 600.
    assert update.t == 600.0
    assert len(result.log.of_type(ShockApplied)) == 2


def test_manipulation_costs_what_arbitrage_takes_while_held() -> None:
    """When arbitrage restores the pool while the manipulator holds, the sale back returns
    less: the cost of moving the oracle, worked from x·y = k."""
    shocks = [
        {
            "kind": "market_trade",
            "at_s": 100.0,
            "venue": "pool",
            "target_change": 1.0,
            "hold_s": 1_200.0,
        }
    ]
    buy, sell = _run(shocks, recovery_s=60.0).log.of_type(TradeExecuted)
    # 100 tokens and 100,000 USD: doubling the price leaves 100/√2 tokens, so the buy takes
    # q = 100 − 70.711 = 29.289 tokens for 100000·q/70.711 = 41,421 USD. Twenty half-lives
    # later the pool is back at 1,000 (within 1e-6) and q sells for 100000·q/(100 + q).
    q = 100 - 100 / 2**0.5
    assert buy.notional_usd == pytest.approx(100_000 * q / (100 - q), rel=1e-9)
    assert sell.notional_usd == pytest.approx(100_000 * q / (100 + q), rel=1e-5)


def test_a_venue_without_parameter_changes_refuses_them_naming_the_shock() -> None:
    """A venue (a plugin's, say) with no `check_parameters` takes no parameter_change: the
    run is refused when built, naming the shock's venue key."""
    from types import SimpleNamespace

    from protosim.errors import ScenarioError
    from protosim.scenario import ParameterChangeSpec
    from protosim.shocks import check_shock

    class PluginVenue:
        params = None

    ctx: Any = SimpleNamespace(venue=lambda venue_id: PluginVenue())
    shock = ParameterChangeSpec(
        kind="parameter_change", at_s=60.0, venue="plugin", changes={"fee_bps": 5}
    )
    with pytest.raises(ScenarioError, match="takes no parameter changes") as err:
        check_shock(ctx, shock, "shocks[3]")
    assert err.value.key_path == "shocks[3].venue"
