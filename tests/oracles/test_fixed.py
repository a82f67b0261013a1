"""Hardcoded peg: a constant, or Aave's USDe priced off the USDT/USD feed (mechanics §1.8, §9)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from protosim import Scenario, Simulation
from protosim.events import OracleUpdated
from protosim.oracles.fixed import FixedParams
from protosim.results import RunResult

BLOCK = 12.0


def _peg_run(usde: dict[str, Any], *, usdt_change: float = 0.0) -> RunResult:
    shocks: list[dict[str, Any]] = [
        # USDe depegs on the market by 35% (Binance's book printed 0.65 in Oct 2025).
        {"kind": "price_jump", "at_s": 50.0, "asset": "USDE", "change": -0.35},
    ]
    if usdt_change:
        shocks.append({"kind": "price_jump", "at_s": 100.0, "asset": "USDT", "change": usdt_change})
    data = {
        "name": "peg",
        "horizon_s": 600.0,
        "assets": [
            {"id": "USDE", "path": {"kind": "constant", "price": 1.0}},
            {"id": "USDT", "path": {"kind": "constant", "price": 1.0}},
        ],
        "chains": [{"id": "ethereum", "block_time_s": BLOCK}],
        "oracles": [
            {
                "id": "usdt-usd",
                "kind": "oracle.chainlink",
                "params": {
                    "asset": "USDT",
                    "chain": "ethereum",
                    "deviation_bps": 25.0,
                    "heartbeat_s": 86_400.0,
                    "latency_min_s": 0.0,
                    "latency_max_s": 0.0,
                },
            },
            {"id": "usde-usd", "kind": "oracle.fixed", "params": {"asset": "USDE", **usde}},
        ],
        "shocks": shocks,
    }
    return Simulation(Scenario.from_dict(data), seed=1).run()


def _updates(result: RunResult, oracle: str) -> list[OracleUpdated]:
    return [u for u in result.log.of_type(OracleUpdated) if u.oracle == oracle]


def test_fixed_peg_with_market_depeg_of_the_asset_stays_at_one() -> None:
    """A 35% market depeg of USDe moves nothing: the hardcoded answer is 1.0 for the run."""
    result = _peg_run({})
    assert _updates(result, "usde-usd") == []
    assert result.component_metrics["usde-usd"]["last_answer"] == 1.0


def test_fixed_constant_price_is_the_answer() -> None:
    """A constant of 0.999 is the answer from t = 0 whatever the market does."""
    result = _peg_run({"price": 0.999})
    assert _updates(result, "usde-usd") == []
    assert result.component_metrics["usde-usd"]["last_answer"] == 0.999


def test_fixed_follows_repeats_each_followed_answer_with_its_seq_as_cause() -> None:
    """USDT −1% lands on USDT/USD at t = 108; USDe repeats 0.99 at once, caused by that round."""
    result = _peg_run({"follows": "usdt-usd"}, usdt_change=-0.01)
    (usdt,) = _updates(result, "usdt-usd")
    (usde,) = _updates(result, "usde-usd")
    # The USDT move at t = 100 exceeds 25 bps; with zero latency it lands in the block at 108.
    assert usdt.t == 108.0
    assert usdt.answer == pytest.approx(0.99)
    assert usde.t == usdt.t
    assert usde.answer == usdt.answer
    assert usde.cause == usdt.seq
    assert usde.reason == "follows"


def test_fixed_params_price_and_follows_together_are_rejected() -> None:
    """A fixed feed is either a constant or a follower, not both."""
    with pytest.raises(ValidationError, match="either price or follows"):
        FixedParams(asset="USDE", price=1.0, follows="usdt-usd")
