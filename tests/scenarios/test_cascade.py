"""Seeded runs of the tiny cascade scenario asserting the loop price → oracle → venue → keeper
→ market impact → price, and that every liquidation traces back to the shock."""

from __future__ import annotations

import numpy as np
import pytest

from protosim import Scenario, Simulation
from protosim.events import ROOT, LiquidationExecuted, ShockApplied
from protosim.results import RunResult
from protosim.testing import tiny_scenario_dict


def _run(
    accounts: int = 1_500, *, sell: bool = True, seed: int = 3, **changes: object
) -> RunResult:
    data = tiny_scenario_dict(accounts=accounts, depth_usd=200e6)
    if not sell:
        data["agents"][0]["params"]["sell_on"] = {}
    for key, value in changes.items():
        data[key] = value
    return Simulation(Scenario.from_dict(data), seed=seed).run()


def _causes(result: RunResult) -> dict[int, int]:
    causes: dict[int, int] = {}
    for kind in result.log.kinds:
        seqs = result.log.column(kind, "seq")
        first = result.log.column(kind, "cause")
        causes.update(zip(seqs.tolist(), first.tolist(), strict=True))
    return causes


@pytest.fixture(scope="module")
def with_impact() -> RunResult:
    return _run(sell=True)


@pytest.fixture(scope="module")
def without_impact() -> RunResult:
    return _run(sell=False)


def test_cascade_with_impact_liquidates_more_than_without(
    with_impact: RunResult, without_impact: RunResult
) -> None:
    """Selling seized collateral into the pool the oracle watches liquidates strictly more debt."""
    on = with_impact.summary()["liquidated_debt_usd"]
    off = without_impact.summary()["liquidated_debt_usd"]
    assert off > 0
    assert on > off


def test_cascade_without_impact_stops_at_the_shock(without_impact: RunResult) -> None:
    """With no sales, only positions with HF·(1 − 20%) < 1 can be liquidated: HF below 1.25."""
    accounts = np.unique(without_impact.liquidations["account"].to_numpy())
    # The same seed builds the same population: read the health factors before any move.
    sim = Simulation(
        Scenario.from_dict(tiny_scenario_dict(accounts=1_500, depth_usd=200e6)), seed=3
    )
    book = sim.context.venues["aave"].books[0]
    hf0 = book.health_factors(2000.0 / 1.0, accounts)
    assert hf0.max() < 1 / 0.8


def test_every_liquidation_cause_chain_reaches_the_shock(with_impact: RunResult) -> None:
    """Each liquidation's first-named causes lead back to the price shock, the only root."""
    causes = _causes(with_impact)
    shocks = set(with_impact.log.column(ShockApplied, "seq").tolist())
    liquidations = with_impact.log.column(LiquidationExecuted, "seq").tolist()
    assert liquidations
    hops = []
    for seq in liquidations:
        steps = 0
        while causes[seq] != ROOT:
            seq = causes[seq]
            steps += 1
        assert seq in shocks
        hops.append(steps)
    # Some liquidations happen only after another liquidation's sale moved the oracle (at least
    # shock → oracle → liquidation → trade → oracle → liquidation = 5 hops).
    assert max(hops) >= 5


def test_cascade_second_round_caused_by_keeper_sale(with_impact: RunResult) -> None:
    """Some oracle updates are caused by a keeper's trade, not by the shock."""
    updates = with_impact.oracle_updates
    trades = set(with_impact.trades["seq"].tolist())
    assert any(cause in trades for cause in updates["cause"].tolist())


def test_oracle_outage_holds_liquidations_until_the_feed_resumes() -> None:
    """While the ETH feed is down no liquidation executes; they start once it resumes."""
    outage = {"kind": "oracle_outage", "at_s": 500.0, "oracle": "eth-usd", "duration_s": 3_000.0}
    data = tiny_scenario_dict(accounts=800, depth_usd=200e6)
    data["shocks"].append(outage)
    result = Simulation(Scenario.from_dict(data), seed=3).run()
    t = result.liquidations["t"].to_numpy()
    assert t.size > 0
    assert t.min() > 3_500.0


def test_congestion_delays_low_bidding_keepers() -> None:
    """A keeper bidding below the background priority fee waits until congestion ends."""
    congestion = {
        "kind": "chain_congestion",
        "at_s": 0.0,
        "chain": "ethereum",
        "duration_s": 4_000.0,
        "base_fee_multiplier": 5.0,
        "background_gas_share": 1.0,
        "background_priority_fee_gwei": 50.0,
    }
    data = tiny_scenario_dict(accounts=800, depth_usd=200e6)
    data["shocks"].append(congestion)
    # The oracle outbids the background traffic, the keeper (2 gwei) does not.
    data["oracles"][0]["params"]["priority_fee_gwei"] = 100.0
    result = Simulation(Scenario.from_dict(data), seed=3).run()
    assert (result.oracle_updates["t"] < 4_000.0).any()
    t = result.liquidations["t"].to_numpy()
    assert t.size > 0
    assert t.min() >= 4_000.0
