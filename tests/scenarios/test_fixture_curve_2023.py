"""The Curve-2023 fixture: Egorov's CRV loans (Delphi, 31 Jul 2023) stay above their liquidation
lines on the reported path, the drained pool's print never reaches the oracle, and a fall to the
lows would leave positions no keeper can profitably liquidate in the drained CRV market."""

from __future__ import annotations

import math
from typing import Any

import pytest

from protosim import Scenario, Simulation
from protosim.catalog import resolve_scenario
from protosim.events import (
    BadDebtRealized,
    LiquidationExecuted,
    LiquidationsDeclined,
    OracleUpdated,
    PositionsBecameLiquidatable,
)
from protosim.results import RunResult

# Delphi Digital, 31 Jul 2023 (crashes.md §10): CRV collateral, debt, liquidation threshold.
POSITIONS = {
    "aave-v2": (305e6, 63.2e6, 0.55, "USDT"),
    "fraxlend": (59e6, 15.8e6, 0.75, "FRAX"),
    "abracadabra": (427.5e6 - 305e6 - 59e6, 18.76e6, 0.75, "MIM"),
}
P_OPEN = 0.725  # the path's opening price
DEPTH = 32.3e6  # CRV market USD depth at P_OPEN (AIP-13 slippage figure)


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return Scenario.from_toml(resolve_scenario("curve-2023"))


@pytest.fixture(scope="module")
def result(scenario: Scenario) -> RunResult:
    return Simulation(scenario).run()


def test_liquidation_prices_follow_from_the_reported_positions() -> None:
    """debt / (CRV · LT): Aave 63.2M / (305M · 0.55) = 0.3767 as Delphi reports; Fraxlend
    0.357; Abracadabra 0.394 — all below the $0.48 low and the $0.40 OTC price but one."""
    trigger = {v: d / (c * lt) for v, (c, d, lt, _) in POSITIONS.items()}
    assert trigger["aave-v2"] == pytest.approx(0.3767, abs=1e-4)
    assert trigger["fraxlend"] == pytest.approx(0.3571, abs=1e-4)
    assert trigger["abracadabra"] == pytest.approx(0.3939, abs=1e-4)
    assert max(trigger.values()) < 0.40 < 0.48


@pytest.mark.parametrize("price", [0.48, 0.40, 0.109])
def test_the_venues_hold_the_reported_positions(scenario: Scenario, price: float) -> None:
    """Each venue's health factor at a reported low equals CRV · p · LT / debt by hand."""
    sim = Simulation(scenario)
    for venue_id, (crv, debt, lt, stable) in POSITIONS.items():
        health = sim.context.venues[venue_id].health_under({"CRV": price, stable: 1.0})
        assert health.shape == (1,)
        assert health[0] == pytest.approx(crv * price * lt / debt, rel=1e-9)


def test_no_liquidation_and_no_bad_debt_on_the_reported_path(result: RunResult) -> None:
    """On the reported path (low $0.48) no position crosses its line: no liquidation, no bad
    debt, as happened (crashes.md §10 'Outcome')."""
    for kind in (PositionsBecameLiquidatable, LiquidationExecuted, BadDebtRealized):
        assert result.log.count(kind) == 0


def test_the_drained_pool_print_never_reaches_the_lending_oracle(result: RunResult) -> None:
    """The CRV/ETH pool prints $0.109 but the feed watches the CRV market only: its lowest
    answer is the market low, $0.48."""
    assert result.min_prices()["CRV@curve-crv-eth"] == pytest.approx(0.109, rel=1e-3)
    answers = result.log.frame(OracleUpdated)
    crv = answers[answers["oracle"].astype(str) == "chainlink-crv-usd"]["answer"]
    assert crv.min() >= 0.48 - 1e-9


def _with_fall(scenario: Scenario, to_price: float) -> RunResult:
    shocks: list[dict[str, Any]] = [s.model_dump(exclude_none=True) for s in scenario.shocks]
    # At 12:00 UTC on 1 Aug the path is at 0.58 + (0.48 - 0.58)/2 within the bridged bar; the
    # jump takes the reference there times (to_price / 0.48) at the day's low.
    shocks.append(
        {
            "kind": "price_jump",
            "at_utc": "2023-08-01T12:00:00Z",
            "asset": "CRV",
            "change": to_price / 0.48 - 1.0,
            "duration_s": 3600.0,
        }
    )
    return Simulation(scenario.replace(shocks=shocks)).run()


def test_a_fall_below_the_lines_meets_keepers_that_cannot_sell(scenario: Scenario) -> None:
    """Counterfactual: CRV 37.5% lower (0.30 at the low). All three loans cross their lines, but
    no keeper can liquidate at a profit. Selling the collateral for a repay R at bonus b into a
    constant-product market of USD reserve y fetches y·R·b / (y + R·b) (the price cancels), which
    beats R only if R < y·(b − 1)/b. Here y <= D · 0.45 · √(0.394/0.725) (at most 45% of the
    depth back 1.5 days after the drain, at the highest trigger price), so R < $1.0M at b <= 1.10;
    the smallest repay (50% close factor) is 0.5 · $15.8M = $7.9M: every venue declines."""
    result = _with_fall(scenario, 0.30)
    flagged = {str(v) for v in result.log.frame(PositionsBecameLiquidatable)["venue"]}
    assert flagged == set(POSITIONS)
    assert result.log.count(LiquidationExecuted) == 0
    declined = result.log.frame(LiquidationsDeclined)
    assert set(declined["reason"].astype(str)) == {"unprofitable"}
    assert {str(v) for v in declined["venue"]} == set(POSITIONS)
    y_max = DEPTH * 0.45 * math.sqrt(0.394 / P_OPEN)
    profitable_below = y_max * 0.10 / 1.10
    assert profitable_below < 1.0e6
    assert declined["debt_usd"].min() >= 0.5 * 15.8e6 - 1.0
