"""Tests of protosim.engine and protosim.results on the tiny cascade scenario (protosim.testing).

Determinism is checked byte for byte (DESIGN "Randomness": same scenario + same seed = identical
event log). Table columns are the fields of the event kinds as documented in protosim.events;
counts are checked against the log and the files written, never against remembered numbers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from protosim.engine import Simulation
from protosim.events import ShockApplied
from protosim.results import RunResult
from protosim.scenario import Scenario
from protosim.testing import tiny_scenario, tiny_scenario_dict

ACCOUNTS = 300
BASE = ["seq", "t", "block", "cause", "cause_span"]


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return tiny_scenario(accounts=ACCOUNTS)


@pytest.fixture(scope="module")
def result(scenario: Scenario) -> RunResult:
    return Simulation(scenario, seed=1).run()


def test_simulation_same_seed_twice_writes_byte_identical_jsonl(
    tmp_path: Path, scenario: Scenario
) -> None:
    """Two runs of one scenario with one seed write the same event log, byte for byte."""
    a = Simulation(scenario, seed=11).run().to_jsonl(tmp_path / "a.jsonl").read_bytes()
    b = Simulation(scenario, seed=11).run().to_jsonl(tmp_path / "b.jsonl").read_bytes()
    assert a == b
    assert a.count(b"\n") > 10  # a cascade happened: a shock, oracle rounds, liquidations, trades


def test_simulation_different_seed_draws_a_different_population(scenario: Scenario) -> None:
    """Another seed draws other borrowers (collateral and debt); the same seed the same ones."""
    one, again, two = (
        Simulation(scenario, seed=seed).context.venues["aave"].books[0] for seed in (1, 1, 2)
    )
    assert np.array_equal(one.collateral, again.collateral)
    assert np.array_equal(one.debt, again.debt)
    assert not np.array_equal(one.collateral, two.collateral)
    assert not np.array_equal(one.debt, two.debt)
    assert len(one) == len(two) == ACCOUNTS


def test_simulation_seed_defaults_to_scenario_seed(scenario: Scenario) -> None:
    """Without a seed argument the run uses scenario.seed (1 in the tiny scenario)."""
    implicit = Simulation(scenario).context.venues["aave"].books[0]
    explicit = Simulation(scenario, seed=scenario.seed).context.venues["aave"].books[0]
    assert scenario.seed == 1
    assert np.array_equal(implicit.collateral, explicit.collateral)


def test_simulation_added_population_leaves_first_population_unchanged() -> None:
    """A second population draws from its own stream: the first one's draws do not shift."""
    one = tiny_scenario_dict(accounts=ACCOUNTS)
    two = tiny_scenario_dict(accounts=ACCOUNTS)
    population = dict(two["venues"][0]["params"]["populations"][0], accounts=50)
    two["venues"][0]["params"]["populations"].append(population)
    first = Simulation(Scenario.from_dict(one), seed=5).context.venues["aave"].books
    second = Simulation(Scenario.from_dict(two), seed=5).context.venues["aave"].books
    assert len(first) == 1
    assert len(second) == 2
    assert np.array_equal(first[0].collateral, second[0].collateral)
    assert np.array_equal(first[0].debt, second[0].debt)


def test_runresult_tables_have_event_fields_as_columns(result: RunResult) -> None:
    """Each table has the base event fields, then the kind's own (as in protosim.events)."""
    expected = {
        "liquidations": [
            *BASE,
            "venue", "account", "liquidator", "collateral_asset", "debt_asset", "debt_repaid",
            "collateral_seized", "protocol_fee", "debt_repaid_usd", "collateral_seized_usd",
            "health_before",
        ],
        "oracle_updates": [
            *BASE, "oracle", "asset", "answer", "previous", "round_id", "observed_at", "reason",
        ],
        "bad_debt": [*BASE, "venue", "account", "asset", "amount", "amount_usd", "treatment"],
        "trades": [
            *BASE,
            "venue", "asset", "trader", "quantity", "notional_usd", "price_before", "price_after",
        ],
        "prices": ["t", "asset", "venue", "price"],
    }  # fmt: skip
    for table, columns in expected.items():
        frame = getattr(result, table)
        assert isinstance(frame, pd.DataFrame)
        assert list(frame.columns) == columns, table
        assert len(frame) > 0, table  # the tiny cascade produces some of each


def test_runresult_events_table_has_every_event_in_seq_order(result: RunResult) -> None:
    """The events table has one row per logged event, in seq order, with its kind."""
    events = result.events
    assert events["seq"].tolist() == list(range(len(result.log)))
    assert "kind" in events.columns


def test_runresult_shock_applied_at_scenario_time(result: RunResult, scenario: Scenario) -> None:
    """The scenario's price jump is logged once, at its at_s (600 s), as a root event."""
    (shock,) = result.log.of_type(ShockApplied)
    assert (shock.t, shock.shock, shock.target, shock.size, shock.duration_s) == (
        600.0,
        "price_jump",
        "ETH",
        -0.2,
        300.0,
    )
    assert shock.cause == -1


def test_runresult_min_reference_price_is_shocked_price(result: RunResult) -> None:
    """ETH's lowest reference price is 2,000 · (1 − 0.2) = 1,600; USDC's stays 1."""
    mins = result.min_prices()
    assert mins["ETH"] == pytest.approx(2_000.0 * (1 - 0.2), rel=1e-12)
    assert mins["USDC"] == 1.0
    assert mins["ETH@uniswap"] <= mins["ETH"]  # keepers' sales push the pool below the reference


def test_runresult_prices_sampled_every_price_sample_s(
    result: RunResult, scenario: Scenario
) -> None:
    """The three price series (ETH, USDC, ETH on uniswap) share one 60 s grid from 0."""
    prices = result.prices
    series = prices.groupby(["asset", "venue"])["t"].apply(list)
    assert sorted(series.index) == [("ETH", "reference"), ("ETH", "uniswap"), ("USDC", "reference")]
    grids = {tuple(ts) for ts in series}
    assert len(grids) == 1
    (grid,) = grids
    assert grid[0] == 0.0
    assert np.allclose(np.diff(grid), scenario.price_sample_s)
    assert grid[-1] <= scenario.horizon_s


def test_runresult_to_parquet_files_read_back_with_same_row_counts(
    tmp_path: Path, result: RunResult
) -> None:
    """to_parquet writes one file per kind plus prices; each reads back with its rows."""
    written = result.to_parquet(tmp_path / "out")
    names = sorted(p.name for p in written)
    assert names == sorted([f"{k.__name__}.parquet" for k in result.log.kinds] + ["prices.parquet"])
    for kind in result.log.kinds:
        frame = pd.read_parquet(tmp_path / "out" / f"{kind.__name__}.parquet")
        assert len(frame) == result.log.count(kind)
        assert list(frame.columns) == list(result.log.frame(kind).columns)
    prices = pd.read_parquet(tmp_path / "out" / "prices.parquet")
    assert len(prices) == len(result.price_samples.t)
    assert not list((tmp_path / "out").glob("*.tmp"))


def test_runresult_summary_counts_agree_with_tables(result: RunResult) -> None:
    """summary() counts and totals equal those of the tables they summarize."""
    summary = result.summary()
    liquidations = result.liquidations
    assert summary["liquidations"] == len(liquidations) > 0
    assert summary["trades"] == len(result.trades)
    assert summary["oracle_updates"] == len(result.oracle_updates)
    assert summary["events"] == len(result.log)
    assert summary["liquidated_debt_usd"] == pytest.approx(
        liquidations["debt_repaid_usd"].sum(), rel=1e-12
    )
    assert summary["collateral_seized_usd"] == pytest.approx(
        liquidations["collateral_seized_usd"].sum(), rel=1e-12
    )
    assert summary["bad_debt_usd"] == pytest.approx(result.bad_debt["amount_usd"].sum(), rel=1e-12)
    pairs = set(zip(liquidations["venue"].astype(str), liquidations["account"], strict=True))
    assert summary["accounts_liquidated"] == len(pairs)
    assert (summary["scenario"], summary["seed"], summary["scenario_id"]) == (
        "tiny-cascade",
        1,
        result.scenario.id,
    )


def test_runresult_write_produces_summary_and_event_files(
    tmp_path: Path, result: RunResult
) -> None:
    """write() puts Parquet tables, events.jsonl and summary.json in one folder."""
    written = {p.name for p in result.write(tmp_path / "run")}
    assert {
        "events.jsonl",
        "summary.json",
        "prices.parquet",
        "LiquidationExecuted.parquet",
    } <= written
    lines = (tmp_path / "run" / "events.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(result.log)
