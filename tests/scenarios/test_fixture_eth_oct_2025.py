"""The shipped main-job fixture: the real ETH path of 9-12 Oct 2025 through an Aave v3 market."""

from __future__ import annotations

import csv
from datetime import UTC, datetime

import numpy as np
import pytest

from protosim import Scenario, Simulation
from protosim.catalog import fixtures_root, resolve_scenario
from protosim.results import RunResult


@pytest.fixture(scope="module")
def result() -> RunResult:
    return Simulation(Scenario.from_toml(resolve_scenario("eth-oct-2025-aave"))).run()


def test_replayed_path_keeps_the_recorded_low(result: RunResult) -> None:
    """The OHLC bridge keeps the data's lowest low, read here straight from the CSV."""
    data = fixtures_root() / "eth-oct-2025-aave" / "data" / "binance_ETHUSDT_5m.csv"
    with data.open(encoding="utf-8") as fh:
        lowest = min(float(row["low"]) for row in csv.DictReader(fh))
    assert result.summary()["min_price"]["ETH"] == lowest


def test_liquidations_peak_in_the_crash_hour(result: RunResult) -> None:
    """More debt is liquidated between 21:00 and 22:00 UTC on 10 Oct than in any other hour."""
    liq = result.liquidations
    start = datetime(2025, 10, 9, tzinfo=UTC).timestamp()
    crash_hour = (datetime(2025, 10, 10, 21, tzinfo=UTC).timestamp() - start) // 3600
    hours = (liq["t"].to_numpy() // 3600).astype(int)
    per_hour = np.bincount(hours, weights=liq["debt_repaid_usd"].to_numpy())
    assert int(np.argmax(per_hour)) == crash_hour


def test_keepers_selling_push_the_oracle_below_the_market(result: RunResult) -> None:
    """The feed's lowest ETH answer is below the market's own low: keepers' sales displaced
    the venues the nodes watch, so the answer sits below the reference price at the very
    instant it was observed (the gap is the displacement; no trade, no gap)."""
    answers = result.oracle_updates
    eth = answers[answers["asset"] == "ETH"]
    lowest = eth.loc[eth["answer"].idxmin()]
    assert lowest["answer"] < result.summary()["min_price"]["ETH"]
    market = result.market
    reference = market.reference_price("ETH", float(lowest["observed_at"]))
    assert lowest["answer"] < reference * (1 - 1e-4)
    sales = result.trades
    assert ((sales["t"] <= lowest["observed_at"]) & (sales["quantity"] < 0)).any()
