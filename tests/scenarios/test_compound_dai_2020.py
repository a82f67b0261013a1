"""The compound-dai-2020 fixture shows the mechanism of crashes.md §4: DAI borrowers are
liquidated only while Compound's reporter posts Coinbase's inflated DAI price."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from protosim import Scenario, Simulation
from protosim.catalog import resolve_scenario
from protosim.events import LiquidationExecuted, OracleUpdated
from protosim.results import RunResult

START = datetime(2020, 11, 26, 6, tzinfo=UTC)


def _t(hour: int, minute: int = 0) -> float:
    return (datetime(2020, 11, 26, hour, minute, tzinfo=UTC) - START).total_seconds()


@pytest.fixture(scope="module")
def result() -> RunResult:
    scenario = Scenario.from_toml(resolve_scenario("compound-dai-2020"))
    assert scenario.start_utc == START
    return Simulation(scenario).run()


def test_dai_borrowers_are_liquidated(result: RunResult) -> None:
    """The $1.30 print liquidates USDC-collateral DAI borrowers (crashes.md §4)."""
    liq = result.liquidations
    assert len(liq) > 0
    assert set(liq["debt_asset"]) == {"DAI"}
    assert (liq["health_before"] < 1.0).all()


def test_liquidations_only_while_reporter_dai_is_above_a_dollar(result: RunResult) -> None:
    """Every liquidation happens while the reporter's stored DAI price is >= 1.05, inside the
    spike (no liquidation before the 08:00 UTC premium, none after the price is back at $1)."""
    updates = result.log.frame(OracleUpdated)
    dai = updates[updates["oracle"] == "dai-reporter"].sort_values("seq")
    liq = result.liquidations
    # The stored answer each liquidation read: the last DAI post before it in the log.
    at = np.searchsorted(dai["seq"].to_numpy(), liq["seq"].to_numpy()) - 1
    assert (at >= 0).all()
    stored = dai["answer"].to_numpy()[at]
    assert (stored >= 1.05).all()
    assert liq["t"].min() >= _t(8, 0)
    back = dai[(dai["t"] > _t(9, 0)) & (dai["answer"] < 1.01)]["t"].min()
    assert liq["t"].max() < back
    assert dai["answer"].max() == pytest.approx(1.30, abs=0.005)


def test_every_liquidation_traces_to_a_dai_reporter_update(result: RunResult) -> None:
    """Each liquidation's cause chain reaches an OracleUpdated of the DAI reporter."""
    log = result.log
    for seq in result.liquidations["seq"].to_numpy():
        chain = log.cause_chain(int(seq))
        assert any(isinstance(e, OracleUpdated) and e.oracle == "dai-reporter" for e in chain), (
            f"liquidation {seq} does not trace to the DAI reporter"
        )


def test_no_liquidation_without_the_premium() -> None:
    """Without the DAI shocks the same market and borrowers see no liquidation at all."""
    scenario = Scenario.from_toml(resolve_scenario("compound-dai-2020"))
    calm = scenario.model_copy(update={"shocks": ()})
    assert Simulation(calm).run().log.count(LiquidationExecuted) == 0
