"""Fixtures of the contagion-graph tests: a two-venue scenario where A's forced selling moves
the price B's oracle reads."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from protosim import Scenario, Simulation
from protosim.results import RunResult
from protosim.testing import tiny_scenario_dict


def two_venue_scenario_dict(*, accounts: int = 300, depth_usd: float = 50e6) -> dict[str, Any]:
    """Return a scenario where venue A's forced selling is all that moves venue B's oracle.

    Two Aave v3 venues, ``aave-a`` and ``aave-b``, each with its own Chainlink ETH feed:
    ``eth-a`` observes pool ``pool-a`` only, ``eth-b`` observes ``pool-b`` only. The only
    shock is a sale on ``pool-a`` that moves its price down 25%. A's keeper sells the ETH it
    seizes into ``pool-b``; B's keeper sells into ``pool-b`` too. The reference ETH price is
    flat, so B's oracle moves only because of A's (and then B's own) sales.
    """
    data = tiny_scenario_dict(accounts=accounts, depth_usd=depth_usd, horizon_s=3_600.0)
    data["name"] = "two-venue-contagion"
    data["description"] = "A's liquidations sell into the pool B's oracle reads"
    pool = data["markets"][0]
    data["markets"] = [
        {**copy.deepcopy(pool), "id": "pool-a"},
        {**copy.deepcopy(pool), "id": "pool-b"},
    ]
    eth, usdc = data["oracles"]
    data["oracles"] = [
        _oracle(eth, "eth-a", "pool-a"),
        _oracle(eth, "eth-b", "pool-b"),
        usdc,
    ]
    aave = data["venues"][0]
    data["venues"] = [_venue(aave, "aave-a", "eth-a"), _venue(aave, "aave-b", "eth-b")]
    keeper = data["agents"][0]
    data["agents"] = [_keeper(keeper, "keeper-a", "aave-a"), _keeper(keeper, "keeper-b", "aave-b")]
    data["shocks"] = [
        {"kind": "market_trade", "at_s": 600.0, "venue": "pool-a", "target_change": -0.25}
    ]
    return data


def _oracle(spec: dict[str, Any], oracle_id: str, pool: str) -> dict[str, Any]:
    out = copy.deepcopy(spec)
    out["id"] = oracle_id
    out["params"]["observes"] = [pool]
    return out


def _venue(spec: dict[str, Any], venue_id: str, oracle_id: str) -> dict[str, Any]:
    out = copy.deepcopy(spec)
    out["id"] = venue_id
    out["params"]["reserves"]["ETH"]["oracle"] = oracle_id
    return out


def _keeper(spec: dict[str, Any], agent_id: str, venue_id: str) -> dict[str, Any]:
    out = copy.deepcopy(spec)
    out["id"] = agent_id
    out["params"]["venue"] = venue_id
    out["params"]["sell_on"] = {"ETH": "pool-b"}
    return out


@pytest.fixture(scope="session")
def two_venue_result() -> RunResult:
    """A seeded run of `two_venue_scenario_dict`."""
    return Simulation(Scenario.from_dict(two_venue_scenario_dict()), seed=3).run()
