"""Compound v2 anchored reporter: the Nov 2020 DAI incident (crashes §4).

``UniswapAnchoredView.isWithinAnchor`` accepts a reporter price when
``0.8 <= anchor / reporter <= 1.2`` (20% tolerance), so DAI at 1.30 on Coinbase passes once the
Uniswap anchor is at least 1.30 · 0.8 = 1.04.
"""

from __future__ import annotations

import math

import pytest

from protosim import Scenario, Simulation
from protosim.events import OracleRoundRejected, OracleUpdated
from protosim.oracles.compound_reporter import anchor_ratio_bounds, is_within_anchor
from protosim.results import RunResult

BLOCK = 12.0


def _dai_run(moves: list[tuple[str, float]], *, horizon_s: float = 900.0) -> RunResult:
    pool = {"kind": "constant_product", "depth_usd": 1e8, "fee_bps": 0.0}
    data = {
        "name": "dai-2020",
        "horizon_s": horizon_s,
        "assets": [{"id": "DAI", "path": {"kind": "constant", "price": 1.0}}],
        "chains": [{"id": "ethereum", "block_time_s": BLOCK}],
        "markets": [
            {"id": "coinbase", "asset": "DAI", "impact": pool},
            {"id": "uniswap", "asset": "DAI", "impact": pool},
        ],
        "oracles": [
            {
                "id": "dai-open-oracle",
                "kind": "oracle.compound_reporter",
                "params": {
                    "asset": "DAI",
                    "chain": "ethereum",
                    "observes": ["coinbase"],
                    "anchor_venue": "uniswap",
                    "anchor_tolerance": 0.2,
                    "anchor_period_s": 1_800.0,
                    "update_interval_s": 60.0,
                    "latency_min_s": 0.0,
                    "latency_max_s": 0.0,
                    "decimals": 6,
                },
            }
        ],
    }
    sim = Simulation(Scenario.from_dict(data), seed=1)
    market = sim.context.market

    def move() -> None:
        for venue, target in moves:
            impact = market.venues[venue].impact
            qty = impact.quantity_for_price(market.price("DAI", venue), target)
            market.trade(venue, qty, trader="test")

    sim.context.clock.call_at(100.0, "test.move", move)
    return sim.run()


def test_reporter_at_1_30_with_anchor_at_1_00_is_guarded_and_old_price_stands() -> None:
    """1.00 / 1.30 = 0.769 < 0.8: every post of 1.30 is guarded; the answer stays 1.00."""
    result = _dai_run([("coinbase", 1.30)])
    answers = {u.answer for u in result.log.of_type(OracleUpdated)}
    assert answers == {1.0}
    guarded = result.log.of_type(OracleRoundRejected)
    assert guarded
    assert {g.reason for g in guarded} == {"outside_anchor"}
    assert {g.observed for g in guarded} == {1.3}  # quantized to the view's 6 decimals
    # Posts at 120, 180, …, 840 land in the next block: 13 posts guarded.
    assert len(guarded) == 13


def test_reporter_at_1_30_accepted_once_anchor_twap_within_20_percent() -> None:
    """Uniswap at 1.10 from t = 100: the first post to pass is the one landing at t = 852."""
    result = _dai_run([("uniswap", 1.10), ("coinbase", 1.30)])
    accepted = [u for u in result.log.of_type(OracleUpdated) if u.answer > 1.2]
    assert accepted
    first = accepted[0]
    assert first.answer == pytest.approx(1.30)
    # tick(1.10) = floor(ln 1.10 / ln 1.0001) = 953; before t = 100 the tick is 0. At a block
    # time t the 1800 s mean tick is floor(953 · (t − 100) / 1800). It passes when
    # 1.0001^meanTick / 1.30 >= 0.8, i.e. 1.0001^meanTick >= 1.04, i.e. meanTick >= 393
    # (1.0001^392 = 1.0400 − and 1.0001^393 = 1.0401): t − 100 >= 393 · 1800 / 953 = 742.3.
    # Posts land at 12 s after each minute: 792 gives 366 (guarded), 852 gives 398 (accepted).
    assert 1.0001**392 < 1.04 <= 1.0001**393
    assert math.floor(953 * (792 - 100) / 1800) == 366
    assert math.floor(953 * (852 - 100) / 1800) == 398
    assert first.t == 852.0


def test_is_within_anchor_reporter_1_30_accepted_at_anchor_1_10_rejected_at_1_00() -> None:
    """anchor/reporter: 1.10/1.30 = 0.846 is inside [0.8, 1.2]; 1.00/1.30 = 0.769 is not."""
    assert anchor_ratio_bounds(0.2) == (0.8, 1.2)
    assert is_within_anchor(1.30, 1.10, 0.2)
    assert not is_within_anchor(1.30, 1.00, 0.2)
    # The band is asymmetric in reporter terms: up to anchor/0.8 = 1.25×, down to anchor/1.2.
    assert is_within_anchor(1.249, 1.0, 0.2)
    assert not is_within_anchor(1.251, 1.0, 0.2)
    assert is_within_anchor(0.834, 1.0, 0.2)
    assert not is_within_anchor(0.833, 1.0, 0.2)
